"""torchrun with two CPU processes (gloo): a small fine-tune, and a frozen run whose extraction the two share;
one result each, written by rank 0."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from harness.results import read_result


@pytest.mark.slow
def test_torchrun_two_processes_write_one_complete_result(tiny_model_dir, glue_dir, tmp_path):
    if shutil.which("torchrun") is None:
        pytest.skip("torchrun is not on PATH")
    out = tmp_path / "reports"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    command = [
        "torchrun", "--nproc_per_node=2", "--master_port=29533", "-m", "harness.cli", "eval",
        "--model", str(tiny_model_dir), "--tasks", "glue/sst2", "--mode", "finetune", "--device", "cpu",
        "--data-dir", str(glue_dir), "--output-dir", str(out), "--epochs", "1", "--min-steps", "0", "--batch-size", "8", "--quiet",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = list(out.rglob("result.json"))
    assert len(results) == 1
    result = read_result(results[0])
    assert result.provenance["device"]["world_size"] == 2
    predictions = (results[0].parent / "predictions.jsonl").read_text().splitlines()
    # gathered from both ranks without duplicates or losses, in example order
    ids = [json.loads(line)["id"] for line in predictions]
    assert len(ids) == 32 and ids == sorted(ids, key=lambda i: int(i.rsplit(":", 1)[1]))
    assert not list(out.rglob("*.tmp"))


# Each rank keeps its own feature cache and output folder, so that anything rank 1 wrote would show.
_PER_RANK = """
import os, sys
from harness.cli import main
root, rank = sys.argv[1], os.environ["RANK"]
os.environ["HARNESS_CACHE_DIR"] = os.path.join(root, f"cache-{rank}")
sys.exit(main(sys.argv[2:] + ["--output-dir", os.path.join(root, f"out-{rank}")]))
"""


@pytest.mark.slow
def test_torchrun_shares_frozen_extraction_and_rank_0_alone_writes(tiny_model_dir, glue_dir, tmp_path, monkeypatch):
    import numpy as np

    from harness.api import evaluate

    if shutil.which("torchrun") is None:
        pytest.skip("torchrun is not on PATH")
    script = tmp_path / "per_rank.py"
    script.write_text(_PER_RANK)
    argv = ["eval", "--model", str(tiny_model_dir), "--tasks", "glue/sst2,glue/stsb", "--mode", "frozen",
            "--device", "cpu", "--data-dir", str(glue_dir), "--eval-batch-size", "8", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    command = ["torchrun", "--standalone", "--nproc-per-node=2", str(script), str(tmp_path / "launch"), *argv]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "launch").iterdir()) == ["cache-0", "out-0"]  # rank 1 wrote nothing

    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "alone"))
    alone = evaluate(str(tiny_model_dir), tasks=["glue/sst2", "glue/stsb"], mode="frozen", data_dir=glue_dir,
                     output_dir=tmp_path / "alone-out", device="cpu", eval_batch_size=8, quiet=True)
    shared = {p.name: p for p in (tmp_path / "launch/cache-0/features").glob("*.npy")}
    single = {p.name: p for p in (tmp_path / "alone/features").glob("*.npy")}
    assert shared.keys() == single.keys() and len(single) == 8  # train and dev of sst2, stsb and its 2 sides
    for name in single:
        rows, expected = np.load(shared[name]), np.load(single[name])
        assert rows.dtype == expected.dtype == np.float32
        np.testing.assert_array_equal(rows, expected)
    launched = {result.task: result for result in map(read_result, (tmp_path / "launch/out-0").rglob("result.json"))}
    for result in alone.results:
        assert launched[result.task].scores == result.scores
        assert launched[result.task].provenance["device"]["world_size"] == 2
