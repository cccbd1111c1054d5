"""A result proves itself before any renderer shows it: the scores it records are recomputed from the
predictions beside it, its row count is theirs, and the folder it lies in is its own.

A result.json is written by harness beside the predictions it was scored from, so a disagreement means it
was edited, its predictions were cut, or it was moved: a renderer that showed it would show numbers no
predictions support. Each check raises DataError in one line naming the file. Predictions that are absent,
or written in a form no shape scores, leave only the checks that need none (folder, main score): their runs
get no intervals either, and the renderers say so.

Under k-fold the recorded scores are means over folds, so each fold's rows are scored alone and averaged,
as harness scored them. Scores that predictions alone cannot give (BERTScore, the count of unreadable
generations) are not recomputed.

May import: harness.errors, harness.metrics, harness.uncertainty, harness.tasks, harness.results.store.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

from harness import uncertainty
from harness.errors import DataError
from harness.metrics import main_score
from harness.results.store import RESULT_FILE, RunResult, run_dir
from harness.tasks import TaskSpec

RELATIVE_TOLERANCE = 1e-6  # float rounding (a mean over folds summed in another order), never a real change
RUN_FOLDER = re.compile(r"(?:frozen|finetune)-seed\d+(?:-n\d+)?")  # as store.run_dir names them
ADVICE = "rerun the evaluation (harness eval --resume reruns it) or remove the run folder"


def check_folder(folder: Path, result: RunResult) -> None:
    """DataError where the run folder's path (<suite>/<task>/<mode>-seed<seed>[-n<size>]) names another run
    than the result does: a result moved or copied into another run's folder. A folder not named as a run
    folder is any folder a user keeps one run in, and names nothing to disagree with."""
    if not RUN_FOLDER.fullmatch(folder.name):
        return
    expected = run_dir(Path("."), "", result.suite, result.task, result.mode, result.seed, result.train_size)
    found = Path(*folder.parts[-3:]) if len(folder.parts) >= 3 else folder
    if found != expected:
        raise DataError(f"{folder / RESULT_FILE}: the result is of {result.suite}/{result.task} {result.mode} seed "
                        f"{result.seed}{'' if result.train_size is None else f' at {result.train_size} examples'} "
                        f"but lies in {found}, another run's folder; move it back or {ADVICE}")


def check_scores(folder: Path, result: RunResult, spec: TaskSpec | None, rows: list[dict] | None) -> None:
    """DataError where the recorded main score is not the mean of its main metrics, or where the predictions
    (`rows`, None where there are none) hold another number of rows than the result evaluated or score
    otherwise than it records."""
    path = folder / RESULT_FILE
    main = spec.main_score if spec else ()
    if main and all(name in result.scores for name in main):
        _compare(path, "main_score", result.main_score, main_score(result.scores, main), "its main metrics' mean")
    if rows is None:
        return
    samples = _fold_samples(rows, spec, folder / result.predictions_file)
    if samples is None:
        return
    if len(rows) != result.num_eval:
        raise DataError(f"{path}: records {result.num_eval} evaluation examples but {result.predictions_file} holds "
                        f"{len(rows)} rows; {ADVICE}")
    per_fold = [uncertainty.recomputed_scores(sample, list(result.scores)) for sample in samples]
    for name in sorted(set.intersection(*(set(scores) for scores in per_fold))):
        recomputed = math.fsum(scores[name] for scores in per_fold) / len(per_fold)
        _compare(path, name, result.scores[name], recomputed, f"what {result.predictions_file} scores")


def prediction_rows(folder: Path, result: RunResult) -> list[dict] | None:
    """The run's prediction rows, None where the file is absent; DataError naming the result where the file
    does not read back whole (cut mid-line, say)."""
    path = folder / result.predictions_file
    if not path.exists():
        return None
    try:
        return uncertainty.read_prediction_rows(path)
    except DataError as err:
        raise DataError(f"{folder / RESULT_FILE}: its predictions do not read back whole ({err}); {ADVICE}") from err


def why_unfinished(folder: Path, result: RunResult, spec: TaskSpec | None) -> str | None:
    """Why a finished run's result may not be kept as it is (--resume): its predictions are missing, do not read
    back whole, hold another number of rows or score otherwise; None where it proves itself."""
    try:
        rows = prediction_rows(folder, result)
        if rows is None:
            return f"{folder / result.predictions_file} is missing"
        if len(rows) != result.num_eval:
            return (f"{folder / result.predictions_file} holds {len(rows)} rows where {result.num_eval} examples were "
                    "evaluated")
        check_scores(folder, result, spec, rows)
    except DataError as err:
        return str(err).split("; rerun the evaluation")[0]
    return None


def _fold_samples(rows: list[dict], spec: TaskSpec | None, path: Path) -> list | None:
    """What each fold's rows score as (uncertainty.sample_of), in fold order; None where the rows are in a form
    no shape scores."""
    folds: dict = defaultdict(list)
    for row in rows:
        folds[row.get("fold", 0) if isinstance(row, dict) else 0].append(row)
    try:
        return [uncertainty.sample_of(folds[fold], spec, path) for fold in sorted(folds, key=str)] if rows else None
    except (DataError, KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None


def _compare(path: Path, name: str, recorded: float, recomputed: float, source: str) -> None:
    undefined = (math.isnan(recorded), math.isnan(recomputed))
    if undefined == (True, True) or (not any(undefined) and math.isclose(
            recorded, recomputed, rel_tol=RELATIVE_TOLERANCE, abs_tol=RELATIVE_TOLERANCE)):
        return
    shown = lambda value: "undefined" if math.isnan(value) else f"{value:.4f}"  # noqa: E731
    raise DataError(f"{path}: {name} is recorded as {shown(recorded)} but {source} gives {shown(recomputed)}; "
                    f"the file was edited or its predictions changed: {ADVICE}")
