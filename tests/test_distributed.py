"""A small fine-tune under torchrun with two CPU processes (gloo): one result, written by rank 0."""
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
        "--data-dir", str(glue_dir), "--output-dir", str(out), "--epochs", "1", "--batch-size", "8", "--quiet",
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
