"""Official raw files in a data dir (laid out like ../shared/data) -> DataSplit in the format schema.

A reader yields (where, example) pairs, `where` naming the file and line (or example) for messages;
read_split checks what spans rows (unique ids, gold on every example or none) in one place for all.
"""
from __future__ import annotations

import csv
import hashlib
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from harness.data import DataSplit, has_gold, load_json
from harness.data.klue import read_klue_dp, read_klue_mrc, read_klue_ner, read_klue_wos
from harness.data.records import record_example
from harness.data.superglue import jsonl_records, read_multirc, read_record
from harness.data.values import optional_id
from harness.errors import DataError, TaskError
from harness.shape_registry import schema_of
from harness.tasks import FileSplit, TaskSpec

csv.field_size_limit(sys.maxsize)  # QNLI and MNLI rows hold long passages


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """--data-dir, else $HARNESS_DATA_DIR, else None (read from the Hub)."""
    chosen = data_dir or os.environ.get("HARNESS_DATA_DIR")
    if not chosen:
        return None
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataError(f"data dir {path} does not exist; pass --data-dir with the folder that holds glue/ ...")
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_split(task: TaskSpec, split: str, data_dir: Path) -> DataSplit | None:
    """The split's examples from its official file, or None when the file is not in the data dir."""
    entry = task.files.get(split)
    if entry is None:
        return None
    path = data_dir / entry.path
    if not path.is_file():
        return None
    if entry.reader is not None:
        if entry.reader not in NAMED_READERS:
            raise TaskError(f"{task.source}: files.{split}.reader {entry.reader!r} is not one of "
                            f"{', '.join(sorted(NAMED_READERS))}")
        reader = NAMED_READERS[entry.reader]
    elif path.suffix in SUFFIX_READERS:
        reader = SUFFIX_READERS[path.suffix]
    else:
        raise DataError(f"{path}: no reader for '{path.suffix}' files in {task.id}")
    examples = checked_examples(reader(task, entry, path))
    return DataSplit(split, examples, {"kind": "file", "path": entry.path, "sha256": file_sha256(path)})


def checked_examples(read: Iterable[tuple[str, dict]]) -> list[dict]:
    """A reader's (where, example) pairs -> its examples, once each id is unique and gold is on every example
    or on none.

    A duplicate id would merge two examples in a report; a row without gold among labelled ones is a
    malformed row, not an unlabelled file (taken as one, the whole split would look missing).
    """
    examples, seen = [], {}
    labelled, unlabelled = None, None  # where the first example with and without gold is
    for where, example in read:
        if example["id"] in seen:
            raise DataError(f"{where}: example id {example['id']!r} repeats the one at {seen[example['id']]}; "
                            "ids (idx, guid) must be unique within a file")
        seen[example["id"]] = where
        if has_gold(example):
            labelled = labelled or where
        else:
            unlabelled = unlabelled or where
        examples.append(example)
    if labelled and unlabelled:
        raise DataError(f"{unlabelled}: no gold label, while other examples have one ({labelled}); "
                        "an empty or missing label in a labelled file is an error: fix the line")
    return examples


def _read_tsv(task: TaskSpec, entry: FileSplit, path: Path) -> Iterator[tuple[str, dict]]:
    """GLUE TSV: tab-separated, no quoting (quotes are part of the text), optional header row; every row has
    as many columns as the header (or, without one, as the first row): a row with more is shifted."""
    fields = entry.fields or task.fields
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{path}: cannot read ({err}); is it a UTF-8 GLUE TSV file?") from err
    first_line, header = 1, None
    if entry.header:
        if not rows:
            raise DataError(f"{path}: empty file, expected a header row")
        header, rows, first_line = rows[0], rows[1:], 2
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:  # which of the namesakes holds the field is anyone's guess
            raise DataError(f"{path}:1: the header repeats column name(s) {', '.join(map(repr, repeated))}; every "
                            "column needs its own name: fix the header row")
        columns = {}
        for key, name in fields.items():
            if name not in header:
                raise DataError(f"{path}:1: header has no column {name!r} (field {key!r}); columns are {header}")
            columns[key] = header.index(name)
    else:
        columns = {key: int(index) for key, index in fields.items()}
    width = max(columns.values()) + 1
    for line, row in enumerate(rows, start=first_line):
        if not row:
            continue
        header = header or row  # a headerless file: the first row sets the width
        if len(row) < width:
            raise DataError(
                f"{path}:{line}: expected at least {width} tab-separated columns, found {len(row)}; "
                "the line may be truncated or use spaces instead of tabs"
            )
        if len(row) != len(header):
            raise DataError(f"{path}:{line}: {len(row)} tab-separated columns where the "
                            f"{'header' if entry.header else 'first row'} has {len(header)}; a truncated line, "
                            "a tab inside a text or a repeated column shifts the fields")
        values = {key: row[index] for key, index in columns.items()}
        yield f"{path}:{line}", schema_of(task).read(task, values, f"{entry.path}:{line}", f"{path}:{line}")


def _read_json(task: TaskSpec, entry: FileSplit, path: Path) -> Iterator[tuple[str, dict]]:
    """KLUE JSON: one array of objects; an example's id is its `guid` where the file has one."""
    records = load_json(path, "KLUE")
    if not isinstance(records, list):
        raise DataError(f"{path}: expected a JSON array of examples, found a {type(records).__name__}")
    fields = entry.fields or task.fields
    for index, record in enumerate(records):
        where = f"{path}: example {index}"
        guid = optional_id(record, "guid", where) if isinstance(record, dict) else None
        where += f" ({guid})" if guid else ""
        yield where, record_example(task, record, fields, guid or f"{entry.path}#{index}", where)


def _read_jsonl(task: TaskSpec, entry: FileSplit, path: Path) -> Iterator[tuple[str, dict]]:
    """SuperGLUE JSONL: one object per line; an example's id is its `idx`, else its file and line."""
    fields = entry.fields or task.fields
    for where, record in jsonl_records(path):
        idx = optional_id(record, "idx", where) or where.rsplit(":", 1)[1]
        yield where, record_example(task, record, fields, f"{entry.path}#{idx}", where)


SUFFIX_READERS = {".tsv": _read_tsv, ".json": _read_json, ".jsonl": _read_jsonl}
# A task file picks one with `reader:` under files.<split> (KLUE's TSVs are not GLUE's).
NAMED_READERS = {"klue_ner": read_klue_ner, "klue_dp": read_klue_dp, "klue_mrc": read_klue_mrc,
                 "klue_wos": read_klue_wos, "superglue_multirc": read_multirc, "superglue_record": read_record}
