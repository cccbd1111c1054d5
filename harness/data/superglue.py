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
from harness.data.values import field_of, is_integer, optional_id
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


def read_multirc(task: TaskSpec, entry: FileSplit, path: Path) -> Iterator[tuple[str, dict]]:
    """One example per answer option: {passage: {text, questions: [{question, idx, answers: [{text, idx, label}]}]}}."""
    fields = entry.fields or task.fields
    for where, record in jsonl_records(path):
        passage = field_of(record, "passage", dict, where)
        text = field_of(passage, "text", str, f"{where}: passage")
        for q, question in enumerate(field_of(passage, "questions", list, f"{where}: passage")):
            here = f"{where}: question {q}"
            answers = field_of(question, "answers", list, here)
            for a, answer in enumerate(answers):
                spot = f"{here}, answer {a}"
                option = field_of(answer, "text", str, spot)  # checks first that the answer is an object
                idx = {"paragraph": optional_id(record, "idx", where), "question": optional_id(question, "idx", here),
                       "answer": optional_id(answer, "idx", spot)}
                row = {"paragraph": text, "question": field_of(question, "question", str, here), "answer": option,
                       "label": answer.get("label"), "idx": idx}
                example_id = f"{entry.path}#{idx['paragraph']}-{idx['question']}-{idx['answer']}"
                yield spot, record_example(task, row, fields, example_id, spot)


def read_record(task: TaskSpec, entry: FileSplit, path: Path) -> Iterator[tuple[str, dict]]:
    """One example per query: {passage: {text, entities: [{start, end}]}, qas: [{query, idx, answers}]}.

    Entity and answer offsets are inclusive character ranges of the passage; every entity must lie
    inside it, and every answer's text must be what its offsets read.
    """
    fields = entry.fields or task.fields
    for where, record in jsonl_records(path):
        passage = field_of(record, "passage", dict, where)
        text = field_of(passage, "text", str, f"{where}: passage")
        entities = [_passage_span(text, span, f"{where}: entity {n}")
                    for n, span in enumerate(field_of(passage, "entities", list, f"{where}: passage"))]
        for q, qa in enumerate(field_of(record, "qas", list, where)):
            here = f"{where}: query {q}"
            query = field_of(qa, "query", str, here)
            answers = []
            for a, answer in enumerate(field_of(qa, "answers", list, here) if qa.get("answers") is not None else []):
                spot = f"{here}, answer {a}"
                read = _passage_span(text, answer, spot)
                if answer.get("text") != read:
                    raise DataError(f"{spot}: text {answer.get('text')!r} but the passage at {answer.get('start')}.."
                                    f"{answer.get('end')} reads {read!r}; fix start / end (inclusive)")
                answers.append(read)
            row = {"passage": text, "query": query, "entities": entities,
                   "answers": answers, "idx": {"passage": optional_id(record, "idx", where),
                                               "query": optional_id(qa, "idx", here)}}
            yield here, record_example(task, row, fields, f"{entry.path}#{row['idx']['passage']}-{row['idx']['query']}",
                                       here)


def _passage_span(text: str, span, where: str) -> str:
    start, end = (span.get("start"), span.get("end")) if isinstance(span, dict) else (None, None)
    if not (is_integer(start) and is_integer(end)):
        raise DataError(f"{where}: needs integer start and end, found {span!r}")
    if not 0 <= start <= end < len(text):
        raise DataError(f"{where}: {start}..{end} lies outside the passage of {len(text)} characters "
                        "(start and end are inclusive character offsets)")
    return text[start:end + 1]
