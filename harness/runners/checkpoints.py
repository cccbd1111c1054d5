"""A fine-tune's checkpoints: what made them, which are whole, and when to write one.

Trainer writes `checkpoint-N/` file by file, so a run killed meanwhile leaves a folder that cannot be
resumed. A checkpoint counts only once COMPLETE is in it, written after Trainer has written the rest;
older checkpoints go only after that, so once training has saved, one whole checkpoint always exists.
Checkpoints are written every --checkpoint-minutes as well as every 500 steps, so a short run killed
midway loses minutes, not all of its training.

Beside them, SETTINGS_FILE records what shapes the weights: the settings, the model's files and the
training examples. --resume continues only checkpoints made the same way and otherwise names what
differs; a run without --resume never silently discards an interrupted run's checkpoints either.
Both stop with ConfigError before any training, unless --overwrite asks to start afresh. On SIGTERM the
callback saves one last checkpoint and stops training (harness.preemption).
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
from pathlib import Path

from harness import preemption
from harness.config import BEHAVIOUR_ONLY, RunConfig, differing_settings
from harness.errors import ConfigError
from harness.runners import is_main_process

log = logging.getLogger("harness")
SETTINGS_FILE = "settings.json"
COMPLETE = "checkpoint-complete"
TRAINER_STATE = "trainer_state.json"
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")
# Settings that fine-tuned weights do not depend on: behaviour, what evaluation alone reads (caps,
# generation, BERTScore) and what only frozen heads read.
NOT_TRAINING = BEHAVIOUR_ONLY + (
    "max_eval_samples", "num_beams", "max_new_tokens", "length_penalty", "bertscore_model", "bertscore_revision",
    "bertscore_trust_remote_code", "bertscore_layer", "bertscore_idf", "bertscore_rescale", "bertscore_baseline",
    "pooling", "layers", "pair_features", "head", "token_head", "head_epochs",
)


def training_record(config: RunConfig, model: str, train: list[dict]) -> dict:
    """What the weights of a fine-tune depend on: its settings, the model (encoding_fingerprint) and the
    training examples in their order."""
    digest = hashlib.sha256()
    for example in train:
        digest.update(json.dumps(example, sort_keys=True, ensure_ascii=False, default=str).encode())
    settings = {k: v for k, v in config.as_dict().items() if k not in NOT_TRAINING}
    return {"settings": settings, "model": model, "train_sha256": digest.hexdigest()}


def resume_point(directory: Path, record: dict, config: RunConfig) -> tuple[Path, dict] | None:
    """The whole checkpoint to continue from and its trainer state, or None to train afresh.

    Readies `directory` for training: incomplete checkpoints are deleted with a warning, and a fresh
    start clears it and writes `record`. Raises ConfigError where it holds checkpoints that this run
    must neither continue nor discard unasked.
    """
    whole = _whole_checkpoints(directory)
    if whole:
        latest, state = whole[-1]
        problem = _why_not_continue(directory, latest, state, record, config)
        if problem is None:
            return latest, state
        if not config.overwrite:
            raise ConfigError(f"{problem}, or add --overwrite to start afresh")
        log.warning("%s; starting afresh (--overwrite)", problem)
    if is_main_process():
        for leftover in directory.glob("checkpoint-*"):
            _delete(leftover)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / SETTINGS_FILE).write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
    return None


def _why_not_continue(directory: Path, latest: Path, state: dict, record: dict, config: RunConfig) -> str | None:
    """Why this run may not continue `latest`, as the start of a message; None when it may."""
    progress = f"step {state['global_step']} of {state.get('max_steps', '?')}"
    if not config.resume:
        return (f"{directory} holds the checkpoints of an interrupted fine-tune ({latest.name}, {progress}); "
                "rerun with --resume to continue it")
    try:
        recorded = json.loads((directory / SETTINGS_FILE).read_text(encoding="utf-8"))
        differs = differing_settings(recorded["settings"], config, NOT_TRAINING)
        if recorded["model"] != record["model"]:
            differs.append("the model's weights, config or tokenizer files")
        if recorded["train_sha256"] != record["train_sha256"]:
            differs.append("the training examples (the data files, --split-strategy or --max-train-samples)")
    except (OSError, ValueError, KeyError, TypeError):
        differs = [f"unknown settings ({directory / SETTINGS_FILE} is missing or unreadable)"]
    if differs:
        return (f"{latest} ({progress}) was trained with other settings: {'; '.join(differs)}; rerun with "
                "those to continue it")
    return None


def _whole_checkpoints(directory: Path) -> list[tuple[Path, dict]]:
    """(folder, trainer state) of each whole checkpoint, oldest first; incomplete ones are deleted with a warning."""
    found = []
    for folder in sorted(directory.glob("checkpoint-*"), key=_step):
        state = _trainer_state(folder)
        unsafe = _unsafe_rng_state(folder) if state is not None else None
        if state is not None and unsafe is None:
            found.append((folder, state))
            continue
        if unsafe is None:
            log.warning("skipping the incomplete checkpoint %s (its run stopped while writing it); deleting it", folder)
        else:
            log.warning("skipping the checkpoint %s: %s; deleting it", folder, unsafe)
        if is_main_process():
            _delete(folder)
    return found


def _unsafe_rng_state(folder: Path) -> str | None:
    """Why Trainer would refuse the checkpoint's random states on resume (its weights-only load, which reads no
    pickled objects), or None where they load."""
    import pickle

    import torch
    from transformers.trainer_pt_utils import safe_globals  # what Trainer allows in them

    for path in sorted(folder.glob("rng_state*.pth")):
        try:
            with safe_globals():
                torch.load(path, weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, OSError, EOFError, ValueError) as err:
            return f"its {path.name} does not load as plain tensors and arrays ({type(err).__name__})"
    return None


def _step(folder: Path) -> int:
    match = _CHECKPOINT.fullmatch(folder.name)
    return int(match.group(1)) if match else -1


def _trainer_state(folder: Path) -> dict | None:
    """The checkpoint's trainer state where the checkpoint is whole (marked COMPLETE, state readable)."""
    if _step(folder) < 0 or not (folder / COMPLETE).is_file():
        return None
    try:
        state = json.loads((folder / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("global_step"), int) else None


def _delete(folder: Path) -> None:
    """The mark first: a kill midway through the deletion must not leave a folder that passes for whole."""
    (folder / COMPLETE).unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)


def checkpoint_callback(minutes: float):
    """A Trainer callback that saves every `minutes` (besides Trainer's own steps), marks each checkpoint
    whole once Trainer has written it, then deletes the older ones (Trainer's own rotation would delete
    them before the new one is whole)."""
    from transformers import TrainerCallback

    class Checkpoints(TrainerCallback):
        def __init__(self):
            self.last_save = time.monotonic()

        def on_train_begin(self, args, state, control, **kwargs):
            self.last_save = time.monotonic()

        def on_step_end(self, args, state, control, **kwargs):
            stop = preemption.requested()  # SIGTERM: one last checkpoint, then stop (harness.preemption)
            if _on_any_process(stop or time.monotonic() - self.last_save >= minutes * 60, args):
                control.should_save = True
            if stop:
                control.should_training_stop = True

        def on_save(self, args, state, control, **kwargs):
            self.last_save = time.monotonic()
            if not state.is_world_process_zero:
                return
            newest = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            (newest / COMPLETE).touch()
            for older in Path(args.output_dir).glob("checkpoint-*"):
                if older != newest:
                    _delete(older)

    return Checkpoints()


def _on_any_process(flag: bool, args) -> bool:
    """Whether any process says so: every process must save at the same step (saving is collective)."""
    import torch
    import torch.distributed as dist

    if args.world_size <= 1 or not dist.is_initialized():
        return flag
    value = torch.tensor([int(flag)], device=args.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
