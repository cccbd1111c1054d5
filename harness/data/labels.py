"""Turning a raw label (a file's string, the Hub's index) into the task's label index or score."""
from __future__ import annotations

from harness.errors import DataError
from harness.tasks import TaskSpec


def encode_label(task: TaskSpec, raw, where: str):
    """Map a raw label to an index into task.labels (classification) or a float (regression).

    `where` names the file and line (or Hub row) so a bad label can be found and fixed.
    """
    if raw is None or raw == "" or raw == -1:
        return None  # unlabelled (test splits)
    if task.kind == "regression":
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise DataError(f"{where}: score {raw!r} is not a number") from None
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
