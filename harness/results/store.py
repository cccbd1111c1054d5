"""The run store: one folder per (model, task, mode, seed) holding result.json and predictions.jsonl,
and the one atomic writer every file the project writes goes through.

Files are written atomically (temporary file + rename) so an interrupted run never leaves a
half-written result, and a finished result is never lost to a later crash; leaderboards, reports
and exports use the same writer, so a reader never sees half of one either.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import DataError

SCHEMA = "harness.run/1"
RESULT_FILE = "result.json"
PREDICTIONS_FILE = "predictions.jsonl"


@dataclass
class RunResult:
    suite: str
    task: str
    task_version: int
    model: str
    mode: str  # frozen | finetune
    seed: int
    scores: dict[str, float]  # metric -> value on a 0-100 scale
    main_score: float
    split_strategy: str  # official | holdout | kfold
    num_train: int
    num_eval: int
    provenance: dict
    timings: dict  # extraction_s, training_s, evaluation_s, total_s, examples_per_s, trainable_parameters
    split_note: str = ""
    capped: dict = field(default_factory=dict)  # sample caps in force, e.g. {"max_train_samples": 2000}
    scores_std: dict[str, float] = field(default_factory=dict)  # across k folds (kfold only)
    flags: list[dict] = field(default_factory=list)  # {"code", "message"}: caveats about the scores
    # --layer-sweep (frozen): {"main_score": [metric, ...], "layers": [{"layer": 0, "main": ..., "scores": {...}}, ...]}
    layer_sweep: dict = field(default_factory=dict)
    predictions_file: str = PREDICTIONS_FILE
    train_size: int | None = None  # a learning curve's nested subset of the train split; None: all of it
    schema: str = SCHEMA

    @property
    def task_id(self) -> str:
        return f"{self.suite}/{self.task}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def run_dir(output_dir: Path, model_slug: str, suite: str, task: str, mode: str, seed: int,
            train_size: int | None = None) -> Path:
    """<output>/<model>/<suite>/<task>/<mode>-seed<seed>, with -n<size> for a learning curve's smaller sizes."""
    size = f"-n{train_size}" if train_size is not None else ""
    return Path(output_dir) / model_slug / suite / task / f"{mode}-seed{seed}{size}"


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
    """Predictions first, then the result that points at them: a result file implies a complete run."""
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in predictions)
    summary = json.dumps(result.to_dict(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"  # fails before any write
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
    return RunResult(**{k: v for k, v in raw.items() if k in names})


def read_prediction_rows(path: Path) -> list[dict]:
    """Every row of a predictions file as written, in file order; an unreadable file or line raises
    DataError naming it. (harness.uncertainty reads the same file into arrays for the bootstrap.)"""
    rows = []
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise DataError(f"{path}:{number}: not a JSON prediction row ({err})") from err
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read the predictions ({err}); rerun the evaluation to rewrite it") from err
    return rows
