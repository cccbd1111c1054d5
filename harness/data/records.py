"""Mapping records (JSON objects, Hub rows) -> examples, through the task's (dotted) field names.

The token-tag and reading-comprehension examples are built here too (tagged_example, span_example), below
both the KLUE reader that builds them and the shapes (tags, spans) that build them from a record.

The task fields are gathered here; the task's shape (harness/shapes) turns them into an example of
its schema, each shape's module docstring says what its examples hold.

A task field given as a list of record fields reads their values joined by a space (MultiRC's
question and answer option as one second segment).
"""
from __future__ import annotations

from fnmatch import fnmatchcase

from harness.data.values import is_integer, require
from harness.errors import DataError
from harness.shape_registry import schema_of
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
    """One example from one record; a missing field, or a text field that is not text, is named with where it is."""
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected an object with fields {sorted(map(str, fields.values()))}, "
                        f"got {type(record).__name__}")
    text_fields = schema_of(task).text_fields
    values = {}
    for key, names in fields.items():
        is_text = any(fnmatchcase(key, pattern) for pattern in text_fields)
        parts = []
        for name in names if isinstance(names, list) else [names]:
            value = lookup(record, name)
            if value is _MISSING:
                raise DataError(f"{where}: field {name!r} is missing (needed for {key!r} of {task.id})")
            parts.append(require(value, str, name, where) if is_text else value)
        values[key] = " ".join(map(str, parts)) if isinstance(names, list) else parts[0]
    return schema_of(task).read(task, values, example_id, where)


# Typed entity markers in punctuation (Zhou & Chen, 2022): they need no new tokens, so a frozen encoder,
# which cannot learn embeddings for added special tokens, reads them as well as a fine-tuned one.
SUBJECT_MARKS, OBJECT_MARKS = ("@ * {type} * ", " @"), ("# ^ {type} ^ ", " #")


def mark_entities(values: dict, where: str) -> str:
    """The sentence with `@ * TYPE * subject @` and `# ^ TYPE ^ object #` around the two entities.

    Entities are {word, start_idx, end_idx, type} with an inclusive end, as KLUE-RE stores them; each
    span must lie inside the sentence and spell the entity's word.
    """
    text = values["text"]
    spans = []
    for role, marks in (("subject", SUBJECT_MARKS), ("object", OBJECT_MARKS)):
        entity = values[role] if isinstance(values[role], dict) else {}
        start, end, word, kind = (entity.get(key) for key in ("start_idx", "end_idx", "word", "type"))
        if not (is_integer(start) and is_integer(end) and isinstance(word, str) and isinstance(kind, str)):
            raise DataError(f"{where}: the {role} entity needs word, start_idx, end_idx (integers) and type; "
                            f"found {values[role]!r}")
        if not 0 <= start <= end < len(text):
            raise DataError(f"{where}: {role} entity span {start}..{end} lies outside the sentence of {len(text)} "
                            "characters (start_idx and end_idx are inclusive character offsets)")
        if text[start:end + 1] != word:
            raise DataError(f"{where}: {role} entity span {start}..{end} reads {text[start:end + 1]!r}, "
                            f"not its word {word!r}; fix the offsets (inclusive end)")
        spans.append((start, end + 1, marks[0].format(type=kind), marks[1]))
    if spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]:
        raise DataError(f"{where}: the subject and object entity spans overlap")
    for start, end, opening, closing in sorted(spans, reverse=True):  # later span first: offsets stay valid
        text = text[:start] + opening + text[start:end] + closing + text[end:]
    return text


def tagged_example(task: TaskSpec, example_id: str, chars: list[str], labels: list[int]) -> dict:
    """The N2N schema, from characters and their (already validated) tag indices."""
    return {"id": example_id, "text": "".join(chars), "chars": list(chars),
            "tags": [task.labels[label] for label in labels], "label": list(labels)}


def span_example(guid: str, context, question, answers, question_type, where: str) -> dict:
    """An MRC question; each answer must be a string found in the context at its answer_start."""
    if not isinstance(context, str) or not isinstance(question, str):
        raise DataError(f"{where}: needs a context and a question (strings)")
    if question_type is not None and not is_integer(question_type):
        raise DataError(f"{where}: question_type must be KLUE's integer type of the question, found {question_type!r}")
    checked = []
    for n, answer in enumerate(answers or []):
        text, start = (answer.get("text"), answer.get("answer_start")) if isinstance(answer, dict) else (None, None)
        if not (isinstance(text, str) and is_integer(start)):
            raise DataError(f"{where}: answer {n} needs text and an integer answer_start, found {answer!r}")
        if not 0 <= start <= len(context) - len(text):
            raise DataError(f"{where}: answer {n} {text!r} at {start} lies outside the context of {len(context)} "
                            "characters")
        if context[start:start + len(text)] != text:
            raise DataError(f"{where}: answer {n} is {text!r} but the context at {start} reads "
                            f"{context[start:start + len(text)]!r}; fix answer_start")
        checked.append({"text": text, "answer_start": start})
    return {"id": guid, "question": question, "context": context, "answers": checked,
            "question_type": question_type, "label": [a["text"] for a in checked]}
