"""The numbers README and docs/ state about committed runs, and their notes about ../shared/data, checked against
what they describe.

A number a page states about a committed run carries a marker naming the result it comes from:

    <!-- claims "GLUE STS-B": reports/minilm/glue/stsb/frozen-seed42 scores.pearson scores.spearman -->

The claimed line is the nearest one at or above the marker that contains the quoted text; each field (a dotted
path into the run's result.json, optionally `:format`, default `.2f`; `:sci` writes 0.001 as 1e-3, `:x100` 0.5433 as 54.33) must appear in
it as the result has it. A note about the data says which tasks of a suite lack a split:

    <!-- data "glue" train-absent: cola qnli wnli -->

meaning: among the suite's tasks whose validation file is in ../shared/data, exactly these lack their train file
(tasks with no file at all are listed with `absent:` instead of `train-absent:`).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import SHARED_DATA

from harness.tasks import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TEXTS = {page.relative_to(ROOT).as_posix(): page.read_text(encoding="utf-8") for page in PAGES}
CLAIM = re.compile(r'<!-- claims "(?P<line>[^"]+)": (?P<body>.*?) -->', re.S)
DATA_NOTE = re.compile(r'<!-- data "(?P<suite>\w+)" (?P<kind>train-absent|absent): (?P<tasks>[\w ]*?) -->')


def _claims(page: str) -> list[tuple[str, str, str, str]]:
    """(claimed line, result folder, field, format) per field of every marker of one page."""
    lines = page.splitlines()
    found = []
    for marker in CLAIM.finditer(page):
        at = page.count("\n", 0, marker.start())
        claimed = next((lines[i] for i in range(at, -1, -1) if marker["line"] in lines[i].split("<!--")[0]), None)
        assert claimed is not None, f"line {at + 1}: no line above the marker contains {marker['line']!r}"
        for source in marker["body"].split(";"):
            folder, *fields = source.split()
            for field in fields:
                name, _, fmt = field.partition(":")
                found.append((claimed, folder, name, fmt or ".2f"))
    return found


def _value(result: dict, dotted: str):
    value = result
    for part in dotted.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _stated(value, fmt: str) -> str:
    """The value as the pages write it."""
    if isinstance(value, str):
        return value
    if fmt == "x100":  # a 0-1 score as the pages' 0-100 scale writes it
        return f"{100 * value:.2f}"
    if fmt == "sci":  # 0.001 -> 1e-3, 31622.8 -> 3.2e4
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa.removesuffix('.0')}e{int(exponent)}"
    return format(value, fmt)


def check_claims(page: str, root: Path) -> list[str]:
    """Each claimed number that its line does not state as its result has it."""
    problems = []
    for line, folder, field, fmt in _claims(page):
        path = root / folder / "result.json"
        if not path.is_file():
            problems.append(f"{folder}: no result.json")
            continue
        stated = _stated(_value(json.loads(path.read_text(encoding="utf-8")), field), fmt)
        if stated not in line.split("<!--")[0]:
            problems.append(f"{folder} {field} is {stated}, not stated in: {line.strip()[:120]}")
    return problems


def test_every_claimed_number_is_its_results():
    assert sum(len(_claims(text)) for text in TEXTS.values()) >= 40  # the markers are there to be checked
    assert {page: check_claims(text, ROOT) for page, text in TEXTS.items()} == {page: [] for page in TEXTS}


def test_a_number_that_differs_from_its_result_fails_the_check():
    folder = "reports/minilm/glue/stsb/finetune-seed42"
    spearman = json.loads((ROOT / folder / "result.json").read_text())["scores"]["spearman"]
    good = f'| STS-B | {spearman:.2f} |\n<!-- claims "STS-B": {folder} scores.spearman -->\n'
    assert check_claims(good, ROOT) == []
    bad = good.replace(f"{spearman:.2f}", f"{spearman + 1:.2f}")
    assert check_claims(bad, ROOT) and "scores.spearman" in check_claims(bad, ROOT)[0]


def test_formats_write_numbers_as_the_pages_do():
    assert _stated(0.001, "sci") == "1e-3" and _stated(31622.776, "sci") == "3.2e4"
    assert _stated(3714.059, ",.0f") == "3,714" and _stated("last7-concat", ".2f") == "last7-concat"


def _present(task, split: str) -> bool:
    entry = task.files.get(split)
    return entry is not None and (SHARED_DATA / entry.path).is_file()


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} is absent")
@pytest.mark.parametrize("note", [note for text in TEXTS.values() for note in DATA_NOTE.findall(text)],
                         ids=lambda note: f"{note[0]}-{note[1]}")
def test_data_notes_match_shared_data(note):
    suite, kind, listed = note
    tasks = [REGISTRY.get(name) for name in REGISTRY.names(suite)]
    if kind == "train-absent":  # tasks that train (not those scored with another's model)
        actual = {task.name for task in tasks if "train" in task.files and _present(task, "validation")
                  and not _present(task, "train")}
    else:
        actual = {task.name for task in tasks if not any(_present(task, split) for split in task.files)}
    assert set(listed.split()) == actual


def test_the_pages_have_data_notes_for_each_suite():
    assert {suite for text in TEXTS.values() for suite, _, _ in DATA_NOTE.findall(text)} == {"glue", "superglue", "klue"}
