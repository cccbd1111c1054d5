"""SuperGLUE's nested JSONL files (MultiRC, ReCoRD): one passage per line, several examples in each.

Each passage is flattened into the rows the Hub's super_glue configs serve (MultiRC: paragraph,
question, answer, idx, label per answer option; ReCoRD: passage, query, entities, answers, idx per
query), so the task's fields read a file and the Hub alike.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from harness.data.records import record_example
from harness.errors import DataError
from harness.tasks import FileSplit, TaskSpec


def jsonl_records(path: Path) -> Iterator[tuple[str, dict]]:
    """(where, object) per non-empty line; bad JSON names the file, line and column."""
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(f"{path}:{number}:{err.colno}: not valid JSON ({err.msg}); "
                                    "a JSONL file holds one object per line") from err
                if not isinstance(record, dict):
                    raise DataError(f"{path}:{number}: expected a JSON object, found {type(record).__name__}")
                yield f"{path}:{number}", record
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read ({err}); is it a UTF-8 JSONL file?") from err


def _field(record: dict, key: str, kind: type, where: str):
    value = record.get(key)
    if not isinstance(value, kind):
        raise DataError(f"{where}: field {key!r} is missing or not a {kind.__name__} (found {value!r})")
    return value


def read_multirc(task: TaskSpec, entry: FileSplit, path: Path) -> list[dict]:
    """One example per answer option: {passage: {text, questions: [{question, idx, answers: [{text, idx, label}]}]}}."""
    fields = entry.fields or task.fields
    examples = []
    for where, record in jsonl_records(path):
        passage = _field(record, "passage", dict, where)
        text = _field(passage, "text", str, f"{where}: passage")
        for q, question in enumerate(_field(passage, "questions", list, f"{where}: passage")):
            here = f"{where}: question {q}"
            answers = _field(question, "answers", list, here)
            for a, answer in enumerate(answers):
                spot = f"{here}, answer {a}"
                row = {"paragraph": text, "question": _field(question, "question", str, here),
                       "answer": _field(answer, "text", str, spot), "label": answer.get("label"),
                       "idx": {"paragraph": record.get("idx"), "question": question.get("idx"),
                               "answer": answer.get("idx")}}
                example_id = f"{entry.path}#{row['idx']['paragraph']}-{row['idx']['question']}-{row['idx']['answer']}"
                examples.append(record_example(task, row, fields, example_id, spot))
    return examples


def read_record(task: TaskSpec, entry: FileSplit, path: Path) -> list[dict]:
    """One example per query: {passage: {text, entities: [{start, end}]}, qas: [{query, idx, answers}]}.

    Entity and answer offsets are inclusive character ranges of the passage; every entity must lie
    inside it, and every answer's text must be what its offsets read.
    """
    fields = entry.fields or task.fields
    examples = []
    for where, record in jsonl_records(path):
        passage = _field(record, "passage", dict, where)
        text = _field(passage, "text", str, f"{where}: passage")
        entities = [_passage_span(text, span, f"{where}: entity {n}")
                    for n, span in enumerate(_field(passage, "entities", list, f"{where}: passage"))]
        for q, qa in enumerate(_field(record, "qas", list, where)):
            here = f"{where}: query {q}"
            answers = []
            for a, answer in enumerate(qa.get("answers") or []):
                spot = f"{here}, answer {a}"
                read = _passage_span(text, answer, spot)
                if answer.get("text") != read:
                    raise DataError(f"{spot}: text {answer.get('text')!r} but the passage at {answer.get('start')}.."
                                    f"{answer.get('end')} reads {read!r}; fix start / end (inclusive)")
                answers.append(read)
            row = {"passage": text, "query": _field(qa, "query", str, here), "entities": entities,
                   "answers": answers, "idx": {"passage": record.get("idx"), "query": qa.get("idx")}}
            examples.append(record_example(task, row, fields, f"{entry.path}#{record.get('idx')}-{qa.get('idx')}", here))
    return examples


def _passage_span(text: str, span, where: str) -> str:
    try:
        start, end = int(span["start"]), int(span["end"])
    except (TypeError, KeyError, ValueError):
        raise DataError(f"{where}: needs integer start and end, found {span!r}") from None
    if not 0 <= start <= end < len(text):
        raise DataError(f"{where}: {start}..{end} lies outside the passage of {len(text)} characters "
                        "(start and end are inclusive character offsets)")
    return text[start:end + 1]
