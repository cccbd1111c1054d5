"""What the renderers (leaderboard, report, export, card) and the console share: suite titles, the one
markdown table writer, and the cells they all write (a score, with its interval; a data source).

One writer keeps every table in the project's generated pages alike, so a change to the table
format is made once and the pages stay byte-for-byte reproducible.
"""
from __future__ import annotations

import math
import statistics

SUITE_TITLES = {"glue": "GLUE", "superglue": "SuperGLUE", "klue": "KLUE"}
UNDEFINED = "undefined"  # a score that cannot be measured on its evaluation (NaN in memory, null in results)


def score_text(value: float | None, digits: int = 2) -> str:
    """A score as every page and the console write it: "–" where there is none, "undefined" where it cannot be
    measured (a correlation of a constant column), else `digits` decimals."""
    if value is None:
        return "–"
    if math.isnan(value):
        return UNDEFINED
    return f"{value:.{digits}f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """The lines of a pipe table; cells are written as given (callers escape any `|` in free text)."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(row) + " |" for row in rows]


def score_cell(values: list[float], interval=None) -> str:
    """A score (the mean over seeds, ± their sample std where several) and its interval [low, high] (an
    harness.uncertainty.Interval) where there is one; "undefined" alone where any seed's score is."""
    if any(math.isnan(value) for value in values):
        return UNDEFINED
    text = f"{sum(values) / len(values):.2f}"
    if len(values) > 1:
        text += f" ± {statistics.stdev(values):.2f}"
    if interval is not None:
        text += f" [{interval.low:.2f}, {interval.high:.2f}]"
    return text


def describe(value) -> str:
    """A recorded value in a few words: a dict as key=value pairs in key order."""
    if isinstance(value, dict):
        return ", ".join(f"{key}={value[key]}" for key in sorted(value))
    return str(value)


def source_text(split: str, source: dict) -> str:
    """One split's origin in a few words: the file and its hash, or the Hub dataset and its fingerprint."""
    if source.get("kind") == "file":
        return f"{split} `{source.get('path')}` (sha256 `{str(source.get('sha256'))[:12]}`)"
    if source.get("kind") == "hub":
        name = "/".join(str(source[k]) for k in ("path", "name") if source.get(k))
        revision = f", revision `{source['revision']}`" if source.get("revision") else ""
        fingerprint = str(source.get("fingerprint"))[:12]
        return f"{split} Hub `{name}` split `{source.get('split')}` (fingerprint `{fingerprint}`{revision})"
    return f"{split} {describe(source)}"
