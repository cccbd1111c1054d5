"""What the renderers (leaderboard, report, export) and the console share: suite titles, how a score is
written, and the one markdown table writer.

One writer keeps every table in the project's generated pages alike, so a change to the table
format is made once and the pages stay byte-for-byte reproducible.
"""
from __future__ import annotations

import math

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
