"""SIGTERM, as a cluster sends it before a kill: one last checkpoint, the lock released, one line, status 143;
the requeued run (--resume, another host) continues from that checkpoint to the uninterrupted result."""
from __future__ import annotations

import json
import os
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
from harness.runners import checkpoints

# 64 STS-B rows in batches of 16 for 40 epochs: 160 steps, long enough to be stopped midway; no checkpoint by
# time or step before the end, so the one found after SIGTERM is the one SIGTERM asked for.
SETTINGS = dict(epochs=40, min_steps=0, batch_size=16, checkpoint_minutes=600, device="cpu", quiet=True,
                learning_rate=1e-4)  # a rate fixed: the signal lands in the final training, not a rate search
PROJECT = str(Path(__file__).resolve().parents[1])
# The first run as a job on another node: its lock names host "node-a"; it marks the file named by $TRAINING
# once its training has taken a step, so that the signal lands midway through training.
ON_NODE_A = """
import os, socket, sys
socket.gethostname = lambda: "node-a"
from harness.runners import finetune
real = finetune.checkpoint_callback
def marking(minutes):
    callback = real(minutes)
    step_end = callback.on_step_end
    def on_step_end(args, state, control, **kwargs):
        step_end(args, state, control, **kwargs)
        if state.global_step == 2:
            open(os.environ["TRAINING"], "w").close()
    callback.on_step_end = on_step_end
    return callback
finetune.checkpoint_callback = marking
from harness.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _argv(model, data, out) -> list[str]:
    return ["eval", "--model", str(model), "--tasks", "stsb", "--mode", "finetune", "--data-dir", str(data),
            "--output-dir", str(out), *cli_flags(SETTINGS), "--resume"]


@pytest.mark.slow
def test_sigterm_checkpoints_releases_the_lock_and_a_requeue_on_another_host_continues(tiny_model_dir, tmp_path):
    data = write_glue_dir(tmp_path / "data")
    evaluate(str(tiny_model_dir), tasks=["stsb"], mode="finetune", data_dir=data, output_dir=tmp_path / "whole",
             **SETTINGS)
    expected = run_outcome(next((tmp_path / "whole").rglob("finetune-seed42")))

    out = tmp_path / "preempted"
    folder = out / resolve_model(str(tiny_model_dir)).slug / "glue" / "stsb" / "finetune-seed42"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [PROJECT, os.environ.get("PYTHONPATH")])),
           "TRAINING": str(tmp_path / "training")}
    job = subprocess.Popen([sys.executable, "-c", ON_NODE_A, *_argv(tiny_model_dir, data, out)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (tmp_path / "training").exists():
        assert job.poll() is None and time.monotonic() < deadline, job.communicate()
        time.sleep(0.005)
    assert json.loads((folder / LOCK_FILE).read_text())["host"] == "node-a"
    job.send_signal(signal.SIGTERM)
    _, err = job.communicate(timeout=120)

    assert job.returncode == 143, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["harness: terminated (SIGTERM); finished results and the last checkpoint are kept, the run folder "
                     "is released: rerun with --resume to continue"]
    assert not (folder / LOCK_FILE).exists()
    (saved,) = (folder / "checkpoints").glob("checkpoint-*")
    assert (saved / checkpoints.COMPLETE).is_file()
    step = int(saved.name.rsplit("-", 1)[1])
    assert 2 <= step < 160

    (result,) = evaluate(str(tiny_model_dir), tasks=["stsb"], mode="finetune", data_dir=data, output_dir=out,
                         resume=True, **SETTINGS).results  # the requeue, on this host
    assert result.timings["resumed_from_step"] == step
    assert run_outcome(folder) == expected


def test_sigterm_outside_training_stops_at_once_with_the_same_line(tmp_path, monkeypatch, capsys):
    """Before any training (reading data, extracting features) there is no checkpoint to wait for."""
    from harness import cli

    def terminated(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        return 0

    monkeypatch.setattr(cli, "_list", terminated)
    previous = signal.getsignal(signal.SIGTERM)
    assert cli.main(["list", "models"]) == 143
    assert capsys.readouterr().err.startswith("harness: terminated (SIGTERM)")
    assert signal.getsignal(signal.SIGTERM) is previous  # the CLI's handler lasts as long as its command
