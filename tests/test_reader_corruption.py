"""Every reader fed randomly corrupted copies of real files: each copy reads as the clean file does on
the rows it left alone, or fails with one DataError line naming the file; never another exception.

A copy is the first rows ("units": a TSV or JSONL line, a KLUE sentence block, an element of a JSON
array) of a real file, corrupted one way, seeded: truncated at a random byte, a column (TSV cell or JSON
key) dropped or duplicated, a value swapped for one of another type, random bytes written over it.
What each unit reads as alone is the reference. A corruption that changes only what a text says (a cut
or overwritten sentence) cannot be told from a real text, so those units may read differently; a
dropped, duplicated or retyped field must give the clean examples or an error. Ids and groups are left
out of the comparison: an id that moves from an `idx` to a line number, or from 7 to "x", names the same
example.
"""
from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.data.files import read_split
from harness.errors import DataError
from harness.tasks import REGISTRY

FIXTURES = Path(__file__).parent / "fixtures"
KINDS = ("truncate", "drop", "duplicate", "swap", "bytes")
SEEDS = range(6)

# (task, split, where the file is, layout, units kept)
SOURCES = [
    ("glue/cola", "validation", "shared", "tsv", 25),  # no header
    ("glue/mrpc", "validation", "shared", "tsv", 25),  # a BOM before the header
    ("glue/stsb", "validation", "shared", "tsv", 25),  # scores
    ("glue/rte", "validation", "shared", "tsv", 25),
    ("superglue/boolq", "validation", "shared", "jsonl", 15),  # boolean labels
    ("superglue/cb", "validation", "shared", "jsonl", 25),
    ("superglue/copa", "validation", "shared", "jsonl", 25),  # choices
    ("superglue/wic", "validation", "shared", "jsonl", 25),  # character spans
    ("superglue/wsc", "validation", "shared", "jsonl", 25),  # nested word spans
    ("superglue/multirc", "validation", "shared", "jsonl", 4),  # a paragraph per line, many examples each
    ("superglue/record", "train", "fixtures", "jsonl", 25),
    ("superglue/axg", "validation", "fixtures", "jsonl", 25),  # groups
    ("klue/nli", "validation", "shared", "json", 25),
    ("klue/sts", "validation", "shared", "json", 25),  # nested scores
    ("klue/re", "train", "fixtures", "json", 25),  # entity offsets
    ("klue/wos", "validation", "fixtures", "json", 25),  # dialogues, an ontology beside them
    ("klue/mrc", "train", "fixtures", "mrc", 25),
    ("klue/ner", "validation", "shared", "blocks", 12),  # a character per line
    ("klue/dp", "validation", "shared", "blocks", 12),  # a word per line
]
# Values a swap puts in place of one of another type: none of them is valid where the original was.
JSON_SWAPS = [None, [], [1, "x"], {}, {"k": "v"}, "x", "", 12345, -7, 2.5]
CELL_SWAPS = ["", "nan", "inf", "true", "9e9", "-3", "x", "None", "[]"]


@dataclass
class Layout:
    """A file as a prefix (header, comments), its units and what joins them."""

    prefix: str
    units: list[str]
    sep: str
    suffix: str
    tabbed: bool  # units are tab-separated cells (else JSON)

    def render(self, units: list[str] | None = None) -> bytes:
        return (self.prefix + self.sep.join(self.units if units is None else units) + self.suffix).encode("utf-8")

    def units_at(self, offset: int) -> set[int]:
        """The units a byte of the rendered file belongs to: a separator's to the units on both sides, the
        suffix's to the last one, the prefix's to every one (a header holds every row's columns)."""
        sep, start = len(self.sep.encode("utf-8")), len(self.prefix.encode("utf-8"))
        if offset < start:
            return set(range(len(self.units)))
        hit = set()
        for u, unit in enumerate(self.units):
            end = start + len(unit.encode("utf-8"))
            last = u == len(self.units) - 1
            if start - sep <= offset and (last or offset < end + sep):
                hit.add(u)
            start = end + sep
        return hit


@dataclass
class Corruption:
    data: bytes
    what: str
    touched: set[int]  # units whose examples may be missing (cut, dropped, overwritten)
    may_differ: bool = False  # a touched unit may read as other valid examples (its text changed)
    repeated: set[int] = field(default_factory=set)  # units written twice


def load_layout(path: Path, layout: str, count: int, header: bool) -> Layout:
    text = path.read_text(encoding="utf-8")
    if layout in ("tsv", "jsonl"):
        lines = [line for line in text.split("\n") if line.strip()]
        prefix = lines.pop(0) + "\n" if header and layout == "tsv" else ""
        return Layout(prefix, lines[:count], "\n", "\n", tabbed=layout == "tsv")
    if layout == "blocks":  # leading comment lines, then sentences (a `## guid` comment and unit lines) apart
        lines = text.split("\n")
        first = next(i for i, line in enumerate(lines) if not line.startswith("##"))
        blocks = [b.strip("\n") for b in "\n".join(lines[first - 1:]).split("\n\n") if b.strip("\n")]
        return Layout("\n".join(lines[:first - 1]) + "\n", blocks[:count], "\n\n", "\n", tabbed=True)
    document = json.loads(text)
    items = document["data"] if layout == "mrc" else document
    units = [json.dumps(item, ensure_ascii=False) for item in items[:count]]
    prefix = '{"version": "1.1", "data": [\n' if layout == "mrc" else "[\n"
    return Layout(prefix, units, ",\n", "\n]}\n" if layout == "mrc" else "\n]\n", tabbed=False)


def corrupt(layout: Layout, kind: str, rng: random.Random) -> Corruption:
    data = layout.render()
    if kind == "truncate":
        cut = rng.randrange(len(data))
        first = min(layout.units_at(cut))
        return Corruption(data[:cut], f"truncated at byte {cut}", set(range(first, len(layout.units))),
                          may_differ=True)
    if kind == "bytes":
        mutable = bytearray(data)
        spots = [rng.randrange(len(data)) for _ in range(rng.randint(1, 3))]
        for spot in spots:
            mutable[spot] = rng.randrange(256)
        return Corruption(bytes(mutable), f"random bytes at {spots}", set().union(*map(layout.units_at, spots)),
                          may_differ=True)
    units = list(layout.units)
    u = rng.randrange(len(units))
    if layout.tabbed:
        return _corrupt_cells(layout, units, u, kind, rng)
    if kind == "duplicate":
        units.insert(u + 1, units[u])
        return Corruption(layout.render(units), f"unit {u} written twice", {u}, repeated={u})
    holder = [json.loads(units[u])]  # the unit itself may be swapped too
    if kind == "drop":
        parent, key = rng.choice([(node, key) for node in _nodes(holder) if isinstance(node, dict) for key in node])
        del parent[key]
        what = f"unit {u}: key {key!r} dropped"
    else:
        parent, key = rng.choice(_slots(holder))
        original = parent[key]
        parent[key] = rng.choice([v for v in JSON_SWAPS if type(v) is not type(original)])
        what = f"unit {u}: {key!r} {original!r:.40} swapped for {parent[key]!r}"
    units[u] = json.dumps(holder[0], ensure_ascii=False)
    return Corruption(layout.render(units), what, {u})


def _corrupt_cells(layout: Layout, units: list[str], u: int, kind: str, rng: random.Random) -> Corruption:
    """A cell dropped, doubled or retyped in one line of unit u (a TSV dropping or doubling a column for
    every row, header included, now and then)."""
    lines = units[u].split("\n")
    row = rng.choice([i for i, line in enumerate(lines) if not line.startswith("##")])
    cells = lines[row].split("\t")
    column = rng.randrange(len(cells))
    if kind == "swap":
        original = cells[column]
        cells[column] = rng.choice([v for v in CELL_SWAPS if v != original])
        lines[row] = "\t".join(cells)
        units[u] = "\n".join(lines)
        numeric = _is_number(original)  # a label, score or index; any other cell is a text, which may change
        return Corruption(layout.render(units), f"unit {u} line {row} cell {column} {original!r:.40} -> "
                          f"{cells[column]!r}", {u}, may_differ=not numeric)
    edit = (lambda c: c.pop(column)) if kind == "drop" else (lambda c: c.insert(column, c[column]))
    done = "dropped" if kind == "drop" else "doubled"
    if layout.prefix and layout.sep == "\n" and rng.random() < 0.3:  # every row of a TSV with a header
        header = layout.prefix.rstrip("\n").split("\t")
        rows = [header] + [unit.split("\t") for unit in units]
        if all(len(r) > column for r in rows):
            for r in rows:
                edit(r)
            data = ("\n".join("\t".join(r) for r in rows) + "\n").encode("utf-8")
            return Corruption(data, f"column {column} {done} in every row", set(range(len(units))))
    edit(cells)
    lines[row] = "\t".join(cells)
    units[u] = "\n".join(lines)
    return Corruption(layout.render(units), f"unit {u} line {row}: cell {column} {done}", {u})


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _nodes(value):
    """Every object and list in a JSON value, the value itself first."""
    yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        yield from _nodes(child)


def _slots(value) -> list[tuple]:
    """(container, key or index) of every value inside a JSON value."""
    return [(node, key) for node in _nodes(value) if isinstance(node, (dict, list))
            for key in (node if isinstance(node, dict) else range(len(node)))]


def _content(example: dict) -> str:
    """An example less its id and group, comparable across copies."""
    return json.dumps({k: v for k, v in example.items() if k not in ("id", "group")}, sort_keys=True,
                      ensure_ascii=False, default=repr)


def _read(task, split: str, root: Path, data: bytes, source_dir: Path):
    target = root / task.files[split].path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    for beside in source_dir.glob("ontology.json"):  # KLUE-WoS reads its ontology beside the dialogues
        shutil.copy(beside, target.parent / beside.name)
    return target, read_split(task, split, root)


@pytest.mark.parametrize("task_name, split, home, layout_name, count", SOURCES,
                         ids=[f"{s[0]}-{s[1]}" for s in SOURCES])
def test_corrupted_copies_read_as_the_clean_rows_or_fail_in_one_line(task_name, split, home, layout_name, count,
                                                                     tmp_path, request):
    root = request.getfixturevalue("shared_data") if home == "shared" else FIXTURES
    task = REGISTRY.get(task_name)
    source = root / task.files[split].path
    if not source.is_file():
        pytest.skip(f"{source} not found")
    layout = load_layout(source, layout_name, count, task.files[split].header)
    clean = [[_content(ex) for ex in _read(task, split, tmp_path / f"unit{u}", layout.render([unit]),
                                           source.parent)[1].examples]
             for u, unit in enumerate(layout.units)]
    assert all(clean), "every clean unit reads as at least one example"
    outcomes = Counter()
    for kind in KINDS:
        for seed in SEEDS:
            rng = random.Random(f"{task_name}/{kind}/{seed}")
            case = corrupt(layout, kind, rng)
            what = f"{task_name} {kind} seed {seed}: {case.what}"
            try:
                path, split_read = _read(task, split, tmp_path / f"{kind}{seed}", case.data, source.parent)
            except DataError as err:
                assert "\n" not in str(err), f"{what}: a multi-line message: {err}"
                assert str(tmp_path / f"{kind}{seed}") in str(err), f"{what}: the message names no file: {err}"
                outcomes["error"] += 1
                continue
            except Exception as err:  # noqa: BLE001 - what this test exists to catch
                pytest.fail(f"{what}: {type(err).__name__}: {err}")
            read = Counter(_content(ex) for ex in split_read.examples)
            kept = Counter(c for u, examples in enumerate(clean) if u not in case.touched for c in examples)
            assert not kept - read, f"{what}: rows it left alone read differently or went missing"
            allowed = Counter(c for u in case.touched for c in clean[u] * (2 if u in case.repeated else 1))
            novel = read - kept - allowed
            if case.may_differ:
                assert sum(novel.values()) <= sum(len(clean[u]) + 2 for u in case.touched), what
            else:
                assert not novel, f"{what}: read as examples the clean file does not hold: {list(novel)[:2]}"
            outcomes["read"] += 1
    assert outcomes["error"] > 0, "some corruption must be caught"
