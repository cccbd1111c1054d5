"""The run store: one folder per (model, task, mode, seed) holding result.json and predictions.jsonl,
and the one atomic writer every file the project writes goes through.

Files are written atomically (temporary file + rename) so an interrupted run never leaves a
half-written result, and a finished result is never lost to a later crash; leaderboards, reports
and exports use the same writer, so a reader never sees half of one either.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from harness.config import SPLIT_STRATEGIES
from harness.errors import ConfigError, DataError
from harness.models import MODEL_KINDS, PRETRAINED, UNSHOWABLE

SCHEMA = "harness.run/1"
RESULT_FILE = "result.json"
PREDICTIONS_FILE = "predictions.jsonl"
RUN_MODES = ("frozen", "finetune")
# Suite and task names as results may hold them: leaderboards are written to <suite>.md, so a name is a file
# name, never a path ("../README" stops here).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass
class RunResult:
    suite: str
    task: str
    task_version: int
    model: str
    mode: str  # frozen | finetune
    seed: int
    # metric -> value on a 0-100 scale; NaN where the metric is undefined on the evaluation (a correlation of a
    # constant column), written as null: never a number that was not measured
    scores: dict[str, float]
    main_score: float  # NaN (null) when a main metric is undefined
    split_strategy: str  # official | holdout | kfold
    num_train: int
    num_eval: int
    provenance: dict
    timings: dict  # extraction_s, training_s, evaluation_s, total_s, *_examples_per_s, extracted_inputs, ...
    split_note: str = ""
    capped: dict = field(default_factory=dict)  # sample caps in force, e.g. {"max_train_samples": 2000}
    scores_std: dict[str, float] = field(default_factory=dict)  # across k folds (kfold only)
    flags: list[dict] = field(default_factory=list)  # {"code", "message"}: caveats about the scores
    # --layer-sweep (frozen): {"main_score": [metric, ...], "layers": [{"layer": 0, "main": ..., "scores": {...}}, ...]}
    layer_sweep: dict = field(default_factory=dict)
    predictions_file: str = PREDICTIONS_FILE
    train_size: int | None = None  # a learning curve's nested subset of the train split; None: all of it
    # pretrained | majority | random-init (harness.models.MODEL_KINDS): baselines and controls are marked by it;
    # results written before it was recorded are a pretrained model's
    model_kind: str = PRETRAINED
    # {"flops": total, "flops_by_phase": {"extraction", "training", "head", "evaluation"}}; {} before it was counted
    compute: dict = field(default_factory=dict)
    # {"tokens_per_word", "unknown_share", "truncated_share", "truncated_share_by_side", "warning"}; {}: not measured
    tokenizer_fit: dict = field(default_factory=dict)
    schema: str = SCHEMA

    @property
    def task_id(self) -> str:
        return f"{self.suite}/{self.task}"

    def epochs_run(self, default: float) -> float:
        """The epochs a fine-tune ran: what its recipe chose for its train size (--min-steps), else its --epochs,
        else `default` (results written before either was recorded)."""
        recipe = self.provenance.get("hyperparameters", {})
        chosen = recipe.get("chosen")
        chosen = chosen[0] if isinstance(chosen, list) and chosen else chosen  # k-fold: the first fold's
        chosen = chosen if isinstance(chosen, dict) else {}
        return float(chosen.get("epochs") or recipe.get("epochs") or default)

    def to_dict(self) -> dict:
        """The result as JSON holds it: undefined (NaN) values, wherever they are, as null."""
        return _nulls_for_nan(dataclasses.asdict(self))


def _nulls_for_nan(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _nulls_for_nan(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nulls_for_nan(item) for item in value]
    return value


def run_dir(output_dir: Path, model_slug: str, suite: str, task: str, mode: str, seed: int,
            train_size: int | None = None) -> Path:
    """<output>/<model>/<suite>/<task>/<mode>-seed<seed>, with -n<size> for a learning curve's smaller sizes."""
    size = f"-n{train_size}" if train_size is not None else ""
    return Path(output_dir) / model_slug / suite / task / f"{mode}-seed{seed}{size}"


def writable_folder(path: str | Path, option: str, create: bool = True) -> Path:
    """`path` checked (and made, with `create`) as a folder files can be written into, before any compute:
    ConfigError naming `option` when it is a file or cannot be written, rather than a failure after the run."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path} is a file, not a folder; pass a folder")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path):
                pass
        except OSError as err:
            raise ConfigError(f"{option} {path} cannot be written ({err.strerror or err}); "
                              "pass a folder you can write to") from err
    return path


def writable_file(path: str | Path, option: str) -> Path:
    """`path` checked as a file to write, before anything is computed: not a folder, in a folder that can be
    written (made if missing)."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; name a file in it, e.g. {path / 'results.csv'}")
    writable_folder(path.parent, f"{option} {path}: its folder")
    return path


def atomic_write(path: Path, content: bytes) -> None:
    """Write `content` to `path` whole or not at all: a temporary file beside it, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """atomic_write for text, always UTF-8 whatever the locale says."""
    atomic_write(path, text.encode("utf-8"))


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_run(directory: Path, result: RunResult, predictions: list[dict]) -> Path:
    """Predictions first, then the result that points at them: a result file implies a complete run. The
    result passes the checks every reader makes, or nothing is written."""
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in predictions)
    raw = result.to_dict()
    _check_fields(raw, directory / RESULT_FILE)
    summary = json.dumps(raw, indent=2, ensure_ascii=False, sort_keys=True, allow_nan=False) + "\n"
    atomic_write_text(directory / PREDICTIONS_FILE, lines)
    path = directory / RESULT_FILE
    atomic_write_text(path, summary)
    return path


def read_result(path: Path) -> RunResult:
    """Parse one result file; a truncated or foreign file raises DataError naming it."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not a readable JSON result ({err})") from err
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise DataError(f"{path}: not a harness result (expected \"schema\": \"{SCHEMA}\")")
    names = {f.name for f in dataclasses.fields(RunResult)}
    missing = [f.name for f in dataclasses.fields(RunResult) if f.name not in raw and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise DataError(f"{path}: result is missing field(s) {', '.join(missing)}")
    _check_fields(raw, Path(path))
    kept = {k: v for k, v in raw.items() if k in names}
    kept["scores"] = _nan_for_nulls(kept["scores"])
    kept["main_score"] = math.nan if kept["main_score"] is None else kept["main_score"]
    for optional in ("compute", "tokenizer_fit"):
        kept[optional] = kept.get(optional) or {}  # null, as a writer may leave it: not measured
    if "scores_std" in kept:
        kept["scores_std"] = _nan_for_nulls(kept["scores_std"])
    for layer in kept.get("layer_sweep", {}).get("layers", []):
        layer["main"] = math.nan if layer["main"] is None else layer["main"]
        layer["scores"] = _nan_for_nulls(layer.get("scores", {}))
    return RunResult(**kept)


def _nan_for_nulls(scores: dict) -> dict:
    return {name: math.nan if value is None else value for name, value in scores.items()}


# --- the checks of a result's fields -------------------------------------------------------------
# Every renderer reads these fields as typed here; a file that passes the schema check but holds, say,
# "scores": "high" is skipped with its name like any unreadable file, never a traceback.


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _score(value) -> bool:
    return value is None or _number(value)


def _table(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """An object of string keys whose every value passes `check`."""
    return lambda value: isinstance(value, dict) and all(isinstance(k, str) and check(v) for k, v in value.items())


def _flag(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("code"), str) and isinstance(value.get("message"), str)


def _layer_sweep(value) -> bool:
    """{} (no sweep), or layers each with a main score (null where undefined) and their scores."""
    if not isinstance(value, dict):
        return False
    layers = value.get("layers", [])
    return isinstance(layers, list) and all(
        isinstance(layer, dict) and _score(layer.get("main")) and _table(_score)(layer.get("scores", {}))
        for layer in layers)


def _compute(value) -> bool:
    """{} or null (not counted), or a total of at least 0 (its `flops_by_phase` beside it, an object)."""
    if value is None:
        return True
    return isinstance(value, dict) and (not value or (_number(value.get("flops")) and value["flops"] >= 0)) and (
        isinstance(value.get("flops_by_phase", {}), dict))


def _tokenizer_fit(value) -> bool:
    """{} or null (not measured), or the measures renderers show as numbers (null where unknown), a warning as text
    or null, and the truncated share per side as an object."""
    if value is None:
        return True
    return (isinstance(value, dict)
            and all(value.get(k) is None or _number(value[k])
                    for k in ("tokens_per_word", "unknown_share", "truncated_share"))
            and isinstance(value.get("truncated_share_by_side") or {}, dict)
            and (value.get("warning") is None or isinstance(value["warning"], str)))


def _relative_file(value) -> bool:
    """A path below the run folder: relative, without '..', in POSIX and Windows readings alike."""
    if not isinstance(value, str) or not value or "\\" in value:
        return False
    posix = PurePosixPath(value)
    return not posix.is_absolute() and not PureWindowsPath(value).drive and ".." not in posix.parts


FIELD_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "suite": (lambda v: isinstance(v, str) and bool(NAME.fullmatch(v)),
              "a suite name such as glue (letters, digits, '.', '_' and '-')"),
    "task": (lambda v: isinstance(v, str) and bool(NAME.fullmatch(v)),
             "a task name such as sst2 (letters, digits, '.', '_' and '-')"),
    "task_version": (_count, "a whole number"),
    "model": (lambda v: isinstance(v, str) and bool(v.strip()) and not UNSHOWABLE.search(v),
              "a model name on one line, without ` or |"),
    "mode": (lambda v: v in RUN_MODES, f"one of {', '.join(RUN_MODES)}"),
    "seed": (_count, "a whole number of at least 0"),
    "scores": (lambda v: _table(_score)(v) and bool(v), "an object of metric -> number (null where undefined)"),
    "main_score": (_score, "a number (null where undefined)"),
    "split_strategy": (lambda v: v in SPLIT_STRATEGIES, f"one of {', '.join(SPLIT_STRATEGIES)}"),
    "num_train": (_count, "a whole number of at least 0"),
    "num_eval": (_count, "a whole number of at least 0"),
    "provenance": (lambda v: isinstance(v, dict), "an object"),
    "timings": (_table(lambda x: x is None or _number(x)), "an object of measure -> number"),
    "split_note": (lambda v: isinstance(v, str), "a string"),
    "capped": (_table(_count), "an object of cap -> whole number"),
    "scores_std": (_table(_score), "an object of metric -> number"),
    "flags": (lambda v: isinstance(v, list) and all(_flag(item) for item in v),
              "a list of objects with a string code and message"),
    "layer_sweep": (_layer_sweep, "an object whose layers each hold a main score"),
    "predictions_file": (_relative_file, "a file inside the run folder"),
    "train_size": (lambda v: v is None or (_count(v) and v > 0), "a whole number of training examples, or null"),
    "model_kind": (lambda v: v in MODEL_KINDS, f"one of {', '.join(MODEL_KINDS)}"),
    "compute": (_compute, "an object with flops, a number of at least 0, and its flops_by_phase"),
    "tokenizer_fit": (_tokenizer_fit, "an object of tokenizer measures (numbers) and a warning (text or null)"),
}


def _check_fields(raw: dict, path: Path) -> None:
    """DataError naming the file and the first field that is not what readers take it to be."""
    for name, (check, says) in FIELD_CHECKS.items():
        if name in raw and not check(raw[name]):
            shown = json.dumps(raw[name], ensure_ascii=False, default=str)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise DataError(f"{path}: field {name!r} must be {says}, got {shown}; rerun the evaluation to "
                            "rewrite it, or remove the file")
    predictions = raw.get("predictions_file", PREDICTIONS_FILE)
    folder = path.parent.resolve()
    if not (folder / predictions).resolve().is_relative_to(folder):  # a link out of the run folder
        raise DataError(f"{path}: field 'predictions_file' leads out of the run folder ({predictions}); "
                        "rerun the evaluation to rewrite it, or remove the file")
