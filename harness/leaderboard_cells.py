"""The cells of the leaderboards' tables and of README's headline: scores, differences, counts, compute, marks and
model labels as text, "–" where a value was not recorded. The cells every renderer shares are render.py's.
"""
from __future__ import annotations

import pandas as pd

from harness.render import UNDEFINED, score_text
from harness.results import RUN_MODES
from harness.suite_scores import Coverage
from harness.uncertainty import Intervals

MODES = RUN_MODES  # in the order a cell shows them: frozen / fine-tuned
FLAG_MARK = "§"  # beside a score whose run carries caveats (RunResult.flags)
FIT_MARK = "¶"  # beside a model whose tokenizer fits the task's texts badly (its tokenizer_fit's warning)
KIND_TAGS = {"majority": "baseline", "random-init": "control"}  # model kinds other than pretrained, as rows show them
MODE_WORDS = {"frozen": "frozen", "finetune": "fine-tuned"}  # the modes as sentences name them


def model_labels(frame: pd.DataFrame) -> dict[str, str]:
    """Model -> its cell: the name, tagged where it is a baseline or a control (its results' model_kind)."""
    kinds = frame.groupby("model")["model_kind"].first().to_dict()
    return {model: f"`{model}`" + (f" ({KIND_TAGS[kind]})" if kind in KIND_TAGS else "")
            for model, kind in kinds.items()}


def pair_cell(frozen, tuned, flagged: set[str] = frozenset()) -> str:
    """The overview cell; a mode whose run carries flags gets FLAG_MARK."""
    marks = {mode: FLAG_MARK if mode in flagged else "" for mode in MODES}
    return (f"{score_text(frozen)}{marks['frozen']} / {score_text(tuned)}{marks['finetune']} "
            f"({delta_text(frozen, tuned)})")


def delta_text(frozen, tuned) -> str:
    if frozen is None or tuned is None:
        return "–"
    if pd.isna(frozen) or pd.isna(tuned):
        return UNDEFINED
    return f"{tuned - frozen:+.2f}"


def suite_delta_text(frozen, tuned, runs: pd.DataFrame) -> str:
    """A suite score's Δ, or "other tasks" where its two modes average different tasks (a difference of those
    would compare tasks, not modes); `runs`: one model's in-suite runs."""
    if frozen is not None and tuned is not None and len({frozenset(runs.loc[runs["mode"] == mode, "task"])
                                                         for mode in MODES}) > 1:
        return "other tasks"
    return delta_text(frozen, tuned)


def suite_cell(score, coverage: Coverage | None) -> str:
    """A suite score as tables show it: the score of a model that ran the full task set, else how much of it it ran
    (no mean over other tasks is shown beside the ranked ones); "–" where it ran none of the suite's tasks."""
    if coverage is None:
        return "–"
    return score_text(score) if coverage.complete else coverage.text()


def versus_text(intervals: Intervals, model: str, suite: str, task: str | None, mode: str) -> str:
    """The "vs best" cell: best; tied for best (the paired interval takes in zero); the difference with its interval
    and \\* (it excludes zero); or the difference and why it has no interval (not paired: other examples...)."""
    if intervals.best.get((suite, task, mode)) == model:
        return "best"
    versus = intervals.versus.get((model, suite, task, mode))
    if versus is None:
        return "–"
    shown = f"{versus.difference:+.2f}"
    if versus.interval is None:
        return f"{shown}, {versus.unpaired}"
    span = f"{shown} [{versus.interval.low:+.2f}, {versus.interval.high:+.2f}]"
    return f"tied for best: {span}" if versus.tied() else f"{span} \\*"


def tasks_text(coverage: Coverage) -> str:
    """A ranked model's tasks: all n of the full set, and how many others it ran that its score leaves out."""
    others = len(coverage.ran - coverage.full)
    return f"{len(coverage.full)} of {len(coverage.full)}" + (f" (+{others} not counted)" if others else "")


def unranked_text(coverage: Coverage) -> str:
    """Why a model is not ranked: the tasks of the full set it lacks (or that there is no full set)."""
    if not coverage.full:
        return "unranked: the best-covered models share no task"
    return f"unranked: lacks {', '.join(coverage.missing)}"


def flop_text(flops: float | None) -> str:
    """Floating-point operations in TFLOP (PFLOP from 1,000 TFLOP on), three significant digits; "–" where not
    recorded."""
    if flops is None or pd.isna(flops):
        return "–"
    if flops >= 1e15:
        return f"{flops / 1e15:.3g} PFLOP"
    return f"{flops / 1e12:.3g} TFLOP" if flops >= 1e9 else ("0 TFLOP" if flops == 0 else "< 0.001 TFLOP")


def number_text(value, digits: int = 2) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def count_text(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"


def task_marks(rows: pd.DataFrame) -> str:
    marks = ""
    if (rows["split_strategy"] != "official").any():
        marks += " †"
    if rows["capped"].any():
        marks += " ‡"
    return marks


def fit_cells(fit: dict) -> list[str]:
    """Tokens per word, the share of unknown tokens, and the share of examples cut by --max-length (per side of a
    pair where recorded), "–" where not measured (results from before it was)."""
    def percent(value) -> str:
        return f"{100 * value:.1f}%" if _is_share(value) else "–"

    sides = {side: value for side, value in (fit.get("truncated_share_by_side") or {}).items() if _is_share(value)}
    truncated = percent(fit.get("truncated_share"))
    if sides and truncated != "–":
        truncated += " (" + ", ".join(f"{side} {percent(value)}" for side, value in sorted(sides.items())) + ")"
    words = fit.get("tokens_per_word")
    return ["–" if words is None else f"{words:.2f}", percent(fit.get("unknown_share")), truncated]


def _is_share(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def one_line(text: str) -> str:
    """Free text for a markdown line: one line, no table pipes."""
    return " ".join(str(text).split()).replace("|", "/")
