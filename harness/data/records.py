"""Mapping records (JSON objects, Hub rows) -> examples, through the task's (dotted) field names."""
from __future__ import annotations

from harness.data.labels import encode_label
from harness.errors import DataError
from harness.tasks import TaskSpec

_MISSING = object()


def lookup(record: dict, dotted: str):
    """`labels.label` reaches into nested objects, as KLUE-STS stores its score."""
    value = record
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def record_example(task: TaskSpec, record: dict, fields: dict, example_id: str, where: str) -> dict:
    """One example from one record; a missing field is named with where it is missing."""
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected an object with fields {sorted(fields.values())}, got {type(record).__name__}")
    values = {}
    for key, name in fields.items():
        value = lookup(record, name)
        if value is _MISSING:
            raise DataError(f"{where}: field {name!r} is missing (needed for {key!r} of {task.id})")
        values[key] = value
    example = {"id": example_id, "text": values["text"]}
    if "text_pair" in values:
        example["text_pair"] = values["text_pair"]
    example["label"] = encode_label(task, values["label"], where) if "label" in values else None
    return example
