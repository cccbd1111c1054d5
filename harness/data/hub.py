"""Hub datasets (datasets.load_dataset) -> DataSplit in the same schema as the official files."""
from __future__ import annotations

import os

from harness.data import DataSplit
from harness.data.records import record_example
from harness.errors import DataError
from harness.hub import hub_unreachable
from harness.tasks import TaskSpec


def load_hub_split(task: TaskSpec, split: str, revision: str | None = None) -> DataSplit | None:
    """The split from the Hub, or None when the dataset has no such split."""
    if not task.hub:
        return None
    hub_split = task.hub_splits.get(split, split)
    unreachable = None if _offline() else hub_unreachable()
    if unreachable is not None:
        raise DataError(f"{task.id}: cannot load {hub_dataset(task)} split {hub_split!r}: the Hub is unreachable "
                        f"({unreachable}); pass --data-dir with the official files (or set HARNESS_DATA_DIR), or set "
                        "HF_HUB_OFFLINE=1 to read the datasets cache")
    import datasets  # heavy; only the Hub path needs it

    try:
        dataset = datasets.load_dataset(task.hub["path"], task.hub.get("name"), split=hub_split, revision=revision)
    except ValueError as err:  # the dataset exists but lacks this split
        if "split" in str(err).lower():
            return None
        raise DataError(f"{task.id}: cannot load {hub_dataset(task)} from the Hub ({err})") from err
    except Exception as err:  # network, auth, missing dataset: all need the same advice
        raise DataError(
            f"{task.id}: cannot load {hub_dataset(task)} split {hub_split!r} from the Hub "
            f"({type(err).__name__}: {err}). Offline? Pass --data-dir with the official files "
            "(or set HARNESS_DATA_DIR)."
        ) from err
    examples = [
        record_example(task, row, task.hub_fields, f"{hub_split}:{row_index}",
                       f"hub {task.hub['path']}/{task.hub.get('name')}[{hub_split}] row {row_index}")
        for row_index, row in enumerate(dataset)
    ]
    source = {
        "kind": "hub",
        "path": task.hub["path"],
        "name": task.hub.get("name"),
        "split": hub_split,
        "revision": revision,
        "fingerprint": dataset._fingerprint,
    }
    return DataSplit(split, examples, source)


def _offline() -> bool:
    """Whether the user said so, in which case datasets reads its cache alone (the Hub is never asked)."""
    return "1" in (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("HF_DATASETS_OFFLINE"))


def hub_dataset(task: TaskSpec) -> str:
    """The Hub dataset in words: its path, and its config where it has one."""
    return task.hub["path"] + (f" ({task.hub['name']})" if task.hub.get("name") else "")
