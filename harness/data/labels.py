"""Turning a raw label (a file's string, the Hub's index) into the task's label index or score."""
from __future__ import annotations

from harness.data.values import finite_number
from harness.errors import DataError
from harness.tasks import TaskSpec


def encode_label(task: TaskSpec, raw, where: str):
    """Map a raw label to an index into task.labels (classification) or a float (regression).

    `where` names the file and line (or Hub row) so a bad label can be found and fixed.
    """
    if raw is None or raw == "" or raw == -1:
        return None  # unlabelled (test splits)
    if task.kind == "regression":
        return _score(task, raw, where)
    raw = task.label_map.get(str(raw), raw) if isinstance(raw, str) else raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        if 0 <= raw < len(task.labels):
            return raw
    elif str(raw) in task.labels:
        return task.labels.index(str(raw))
    raise DataError(
        f"{where}: label {raw!r} is not in {task.id}'s label set {list(task.labels)}; "
        "fix the file or the task's `labels` list"
    )


def _score(task: TaskSpec, raw, where: str) -> float:
    """A finite score inside the task's declared `range` (a NaN gold would score as a valid-looking 0)."""
    score = finite_number(raw, "score", where)
    if task.score_range is not None:
        low, high = task.score_range
        if not low <= score <= high:
            raise DataError(f"{where}: score {raw!r} is outside {task.id}'s range {low:g}..{high:g} "
                            f"(`range` in {task.source or 'its task file'}); fix the file")
    return score
