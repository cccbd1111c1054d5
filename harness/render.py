"""What the renderers (leaderboard, report, export) share: suite titles and the one markdown table writer.

One writer keeps every table in the project's generated pages alike, so a change to the table
format is made once and the pages stay byte-for-byte reproducible.
"""
from __future__ import annotations

SUITE_TITLES = {"glue": "GLUE", "superglue": "SuperGLUE", "klue": "KLUE"}


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """The lines of a pipe table; cells are written as given (callers escape any `|` in free text)."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(row) + " |" for row in rows]
