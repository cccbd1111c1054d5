"""kill -9 at random moments of a fine-tune, then --resume: always the uninterrupted run's result, no cleanup by hand."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import cli_flags, run_outcome, write_glue_dir

from harness import evaluate
from harness.models import resolve_model
from harness.results.lock import LOCK_FILE

# 64 STS-B rows in batches of 8 for 2 epochs: 16 steps, a checkpoint after each (so kills land in writes too).
SETTINGS = dict(epochs=2, min_steps=0, learning_rate=1e-4, batch_size=8, checkpoint_minutes=0, device="cpu", quiet=True)
STEPS = 16
TRIALS, ROUNDS = 2, 2  # runs killed side by side, and how often each is killed before the last resume


def _cli(model, data, out) -> list[str]:
    """`harness eval ... --resume` with SETTINGS, in a process of its own."""
    return [sys.executable, "-m", "harness.cli", "eval", "--model", str(model), "--tasks", "stsb", "--mode", "finetune",
            "--data-dir", str(data), "--output-dir", str(out), *cli_flags(SETTINGS), "--resume"]


def _kill_at_random(processes: list[subprocess.Popen], folders, moments: list[int], rng: random.Random) -> None:
    """SIGKILL each process once its run holds its folder and has got as far as its moment (see _progress),
    then a little later still, so that kills land between and inside writes, whatever the machine's speed."""
    delays = [rng.uniform(0, 0.1) for _ in processes]
    running, deadline = set(range(len(processes))), time.monotonic() + 300
    while running and time.monotonic() < deadline:
        for i in sorted(running):
            if processes[i].poll() is not None:
                running.discard(i)
            elif _holds_lock(folders[i], processes[i].pid) and _progress(folders[i]) >= moments[i]:
                time.sleep(delays[i])
                processes[i].send_signal(signal.SIGKILL)
                running.discard(i)
        time.sleep(0.005)
    for process in processes:
        process.kill()
        process.wait(timeout=60)


def _holds_lock(folder, pid: int) -> bool:
    try:
        return json.loads((folder / LOCK_FILE).read_text())["pid"] == pid
    except (OSError, ValueError, KeyError):
        return False


def _progress(folder) -> int:
    """How far the run in `folder` has got: the step of its latest checkpoint (whole or being written),
    0 before the first, STEPS + 1 once it writes its result."""
    if (folder / "predictions.jsonl").exists():
        return STEPS + 1
    return max((int(p.name.rsplit("-", 1)[1]) for p in (folder / "checkpoints").glob("checkpoint-*")), default=0)


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_gives_the_uninterrupted_result(tiny_model_dir, tmp_path):
    data = write_glue_dir(tmp_path / "data")
    evaluate(str(tiny_model_dir), tasks=["stsb"], mode="finetune", data_dir=data, output_dir=tmp_path / "whole",
             **SETTINGS)
    expected = run_outcome(next((tmp_path / "whole").rglob("finetune-seed42")))

    rng = random.Random(7)
    outs = [tmp_path / f"killed-{i}" for i in range(TRIALS)]
    slug = resolve_model(str(tiny_model_dir)).slug
    folders = [out / slug / "glue" / "stsb" / "finetune-seed42" for out in outs]
    project = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [project, os.environ.get("PYTHONPATH")]))}
    for _ in range(ROUNDS):  # each kill lands somewhere between where the run stands and its end
        moments = [rng.randint(_progress(folder), STEPS + 1) for folder in folders]
        processes = [subprocess.Popen(_cli(tiny_model_dir, data, out), env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) for out in outs]
        _kill_at_random(processes, folders, moments, rng)

    for out, folder in zip(outs, folders):
        evaluate(str(tiny_model_dir), tasks=["stsb"], mode="finetune", data_dir=data, output_dir=out, resume=True,
                 **SETTINGS)
        assert run_outcome(folder) == expected
        assert sorted(p.name for p in folder.iterdir()) == ["predictions.jsonl", "result.json"]  # nothing left over
