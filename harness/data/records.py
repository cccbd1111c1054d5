"""Mapping records (JSON objects, Hub rows) -> examples, through the task's (dotted) field names.

N21 examples hold `text`, optional `text_pair` and `label`; N2N (character tagging) examples hold the
sentence as `text`, its `chars`, and one tag per character as names (`tags`) and indices (`label`);
dependency examples hold `words`, `pos`, `heads` (0 = root) and `deprels` (names), as KLUE-DP's reader
makes them.
"""
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
    if task.head == "tags":
        return _tagged_record(task, values, example_id, where)
    if task.head == "arcs":
        return _arcs_record(task, values, example_id, where)
    example = {"id": example_id, "text": values["text"]}
    if "text_pair" in values:
        example["text_pair"] = values["text_pair"]
    example["label"] = encode_label(task, values["label"], where) if "label" in values else None
    return example


def tagged_example(task: TaskSpec, example_id: str, chars: list[str], labels: list[int]) -> dict:
    """The N2N schema, from characters and their (already validated) tag indices."""
    return {"id": example_id, "text": "".join(chars), "chars": list(chars),
            "tags": [task.labels[label] for label in labels], "label": list(labels)}


def _tagged_record(task: TaskSpec, values: dict, example_id: str, where: str) -> dict:
    """A Hub row with characters and one tag per character (ClassLabel indices or names)."""
    chars, tags = list(values["chars"]), list(values["label"])
    if len(chars) != len(tags):
        raise DataError(f"{where}: {len(chars)} characters but {len(tags)} tags; every character needs exactly one tag")
    labels = []
    for position, (char, tag) in enumerate(zip(chars, tags)):
        here = f"{where}, character {position} ({char!r})"
        if len(char) != 1:
            raise DataError(f"{here}: expected one character per position, found {len(char)}")
        label = encode_label(task, tag, here)
        if label is None:
            raise DataError(f"{here}: no tag; every character needs one (O outside entities)")
        labels.append(label)
    return tagged_example(task, example_id, chars, labels)


def _arcs_record(task: TaskSpec, values: dict, example_id: str, where: str) -> dict:
    """A Hub row with a word form, head and relation per word (relations as names or ClassLabel indices)."""
    words, heads, deprels = list(values["words"]), [int(h) for h in values["heads"]], list(values["deprels"])
    if not len(words) == len(heads) == len(deprels):
        raise DataError(f"{where}: {len(words)} words, {len(heads)} heads and {len(deprels)} relations; "
                        "every word needs exactly one head and one relation")
    deprels = [task.labels[d] if isinstance(d, int) else d for d in deprels]
    for position, (head, deprel) in enumerate(zip(heads, deprels), start=1):
        if not 0 <= head <= len(words):
            raise DataError(f"{where}, word {position}: head {head} points outside its sentence of {len(words)} "
                            f"words; a head is a word index 1..{len(words)}, or 0 for the root")
        if deprel not in task.labels:
            raise DataError(f"{where}, word {position}: relation {deprel!r} is not in {task.id}'s label set")
    return {"id": example_id, "text": " ".join(words), "words": words, "pos": list(values.get("pos", [])),
            "heads": heads, "deprels": deprels, "label": None}
