"""Resuming a fine-tune: checkpoints written by time as well as steps, half-written ones skipped, and
continued only with the settings that made them (tiny random BERT, STS-B-layout files)."""
from __future__ import annotations

import json
import logging
import shutil
from types import SimpleNamespace

import pytest
from conftest import write_glue_dir

from harness import evaluate
from harness.cli import main
from harness.errors import ConfigError
from harness.results import read_result
from harness.runners import checkpoints

# 64 training rows in batches of 16 for 2 epochs: 8 steps, a checkpoint after each.
FAST = dict(epochs=2, min_steps=0, learning_rate=1e-4, batch_size=16, quiet=True, device="cpu", checkpoint_minutes=0)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_glue_dir(tmp_path_factory.mktemp("resume") / "data")


def _run(model, data, out, **settings):
    (result,) = evaluate(str(model), tasks=["stsb"], mode="finetune", data_dir=data, output_dir=out,
                         **{**FAST, **settings}).results
    return result


def _folder(out):
    return next(out.rglob("finetune-seed42"))


def _predictions(out) -> list[dict]:
    return [json.loads(line) for line in (_folder(out) / "predictions.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def uninterrupted(tiny_model_dir, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    return _run(tiny_model_dir, data, out), _predictions(out), out


def _interrupted(monkeypatch, model, data, out, step: int, **settings):
    """A run stopped right after it wrote the checkpoint of `step`, as a kill then would leave it."""
    import harness.runners.finetune as finetune

    real = finetune.checkpoint_callback

    def stopping(minutes):
        callback = real(minutes)
        saved = callback.on_save

        def on_save(args, state, control, **kwargs):
            saved(args, state, control, **kwargs)
            if state.global_step == step:
                raise KeyboardInterrupt

        callback.on_save = on_save
        return callback

    with monkeypatch.context() as patch:
        patch.setattr(finetune, "checkpoint_callback", stopping)
        with pytest.raises(KeyboardInterrupt):
            _run(model, data, out, **settings)
    return _folder(out) / "checkpoints"


def test_a_resumed_run_says_where_it_resumes_and_ends_as_an_uninterrupted_one(
        tiny_model_dir, data, uninterrupted, tmp_path, monkeypatch, caplog):
    expected, expected_rows, _ = uninterrupted
    saved = _interrupted(monkeypatch, tiny_model_dir, data, tmp_path, step=6)  # midway through the second epoch
    assert [p.name for p in saved.glob("checkpoint-*")] == ["checkpoint-6"]  # older ones deleted once it was whole
    assert not (_folder(tmp_path) / "result.json").exists()
    with caplog.at_level(logging.INFO, logger="harness"):
        result = _run(tiny_model_dir, data, tmp_path, resume=True)
    assert "glue/stsb finetune: resuming from step 6 of 8" in caplog.text
    assert result.timings["resumed_from_step"] == 6
    assert result.scores == expected.scores and _predictions(tmp_path) == expected_rows
    assert not saved.exists()


def test_checkpoints_are_written_by_time_as_well_as_steps(tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(checkpoints.time, "monotonic", lambda: clock[0])
    callback = checkpoints.checkpoint_callback(5)
    args = SimpleNamespace(world_size=1, output_dir=str(tmp_path))
    state = SimpleNamespace(global_step=7, is_world_process_zero=True)
    callback.on_train_begin(args, state, SimpleNamespace(should_save=False))

    def saves_after(minutes: float) -> bool:
        clock[0] += minutes * 60
        control = SimpleNamespace(should_save=False)
        callback.on_step_end(args, state, control)
        return control.should_save

    assert not saves_after(4.9)
    assert saves_after(0.2)  # 5.1 minutes since training began
    (tmp_path / "checkpoint-7").mkdir()
    (tmp_path / "checkpoint-2").mkdir()
    callback.on_save(args, state, None)  # the clock restarts; the new checkpoint is marked whole, the old one goes
    assert (tmp_path / "checkpoint-7" / checkpoints.COMPLETE).is_file() and not (tmp_path / "checkpoint-2").exists()
    assert not saves_after(4.9)
    assert saves_after(0.2)


def test_resume_with_other_settings_stops_naming_them_or_starts_afresh_with_overwrite(
        tiny_model_dir, data, uninterrupted, tmp_path, monkeypatch, capsys):
    saved = _interrupted(monkeypatch, tiny_model_dir, data, tmp_path, step=3)
    with pytest.raises(ConfigError, match=r"checkpoint-3 \(step 3 of 8\) was trained with other settings: "
                                          r"--learning-rate 0.0001 \(now 0.0002\); rerun with those"):
        _run(tiny_model_dir, data, tmp_path, resume=True, learning_rate=2e-4)
    with pytest.raises(ConfigError, match=r"--max-train-samples None \(now 48\); the training examples"):
        _run(tiny_model_dir, data, tmp_path, resume=True, max_train_samples=48)
    with pytest.raises(ConfigError, match="holds the checkpoints of an interrupted fine-tune .* rerun with --resume"):
        _run(tiny_model_dir, data, tmp_path)  # without --resume: never discarded unasked
    cli = ["eval", "--model", str(tiny_model_dir), "--tasks", "stsb", "--mode", "finetune", "--data-dir", str(data),
           "--output-dir", str(tmp_path), "--epochs", "2", "--min-steps", "0", "--batch-size", "16", "--device", "cpu", "--quiet",
           "--resume", "--learning-rate", "2e-4"]
    assert main(cli) == 2
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("harness: error:")]
    assert "--learning-rate 0.0001 (now 0.0002)" in line and "--overwrite" in line and "Traceback" not in err
    assert [p.name for p in saved.glob("checkpoint-*")] == ["checkpoint-3"]  # nothing lost

    # A finished result kept by --resume must match as well.
    _, _, finished = uninterrupted
    with pytest.raises(ConfigError, match=r"result.json was run with other settings: --learning-rate 0.0001 "
                                          r"\(now 0.0002\)"):
        _run(tiny_model_dir, data, finished, resume=True, learning_rate=2e-4)

    result = _run(tiny_model_dir, data, tmp_path, resume=True, overwrite=True, learning_rate=2e-4)
    assert result.timings.get("resumed_from_step") is None
    assert result.provenance["hyperparameters"]["learning_rate"] == 2e-4
    assert read_result(_folder(tmp_path) / "result.json").scores == result.scores and not saved.exists()


def test_an_incomplete_checkpoint_is_skipped_with_a_warning(tiny_model_dir, data, uninterrupted, tmp_path,
                                                            monkeypatch, caplog):
    expected, expected_rows, _ = uninterrupted
    saved = _interrupted(monkeypatch, tiny_model_dir, data, tmp_path / "a", step=3)
    half = shutil.copytree(saved / "checkpoint-3", saved / "checkpoint-5")  # killed while writing step 5's:
    (half / checkpoints.COMPLETE).unlink()  # no mark, no trainer state
    (half / checkpoints.TRAINER_STATE).unlink()
    with caplog.at_level(logging.INFO, logger="harness"):
        result = _run(tiny_model_dir, data, tmp_path / "a", resume=True)
    assert f"skipping the incomplete checkpoint {half}" in caplog.text
    assert result.timings["resumed_from_step"] == 3
    assert result.scores == expected.scores and _predictions(tmp_path / "a") == expected_rows

    # With no whole checkpoint at all, training starts from scratch, to the same result.
    saved = _interrupted(monkeypatch, tiny_model_dir, data, tmp_path / "b", step=2)
    (saved / "checkpoint-2" / checkpoints.COMPLETE).unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="harness"):
        result = _run(tiny_model_dir, data, tmp_path / "b", resume=True)
    assert "skipping the incomplete checkpoint" in caplog.text and "resuming" not in caplog.text
    assert result.timings.get("resumed_from_step") is None
    assert result.scores == expected.scores and _predictions(tmp_path / "b") == expected_rows


def test_a_checkpoint_whose_random_states_hold_a_pickle_is_skipped_with_a_warning(
        tiny_model_dir, data, uninterrupted, tmp_path, monkeypatch, caplog):
    """Trainer loads rng_state.pth weights-only and would stop with a traceback: the checkpoint is skipped,
    as an incomplete one is, and the run resumes from the whole one before it."""
    import datetime

    import torch

    expected, expected_rows, _ = uninterrupted
    saved = _interrupted(monkeypatch, tiny_model_dir, data, tmp_path, step=3)
    tampered = shutil.copytree(saved / "checkpoint-3", saved / "checkpoint-5")
    state = json.loads((tampered / checkpoints.TRAINER_STATE).read_text())
    (tampered / checkpoints.TRAINER_STATE).write_text(json.dumps({**state, "global_step": 5}))
    torch.save({"python": datetime.datetime(2026, 1, 1)}, tampered / "rng_state.pth")  # an object, not a tensor
    with caplog.at_level(logging.INFO, logger="harness"):
        result = _run(tiny_model_dir, data, tmp_path, resume=True)
    assert f"skipping the checkpoint {tampered}: its rng_state.pth does not load as plain tensors" in caplog.text
    assert result.timings["resumed_from_step"] == 3
    assert result.scores == expected.scores and _predictions(tmp_path) == expected_rows
