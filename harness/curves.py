"""Learning curves: a task's main score per training size in each mode, fine-tuned minus frozen with its paired
interval per size, and the crossover size from which fine-tuning wins.

A curve is read from ordinary runs: those with a `train_size` (a nested subset, `harness eval --train-sizes`)
and the task's full-train runs as its last point. Each size's intervals are computed exactly as a
leaderboard computes a task's (seed means, pairs resampled on the examples both modes scored), so a
curve point and a leaderboard cell of the same runs agree.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness import uncertainty
from harness.render import markdown_table, score_text
from harness.results.resultset import Run, ResultSet
from harness.uncertainty import MAIN, Interval

MODES = ("frozen", "finetune")
MODE_TITLES = {"frozen": "frozen", "finetune": "fine-tuned"}


@dataclass
class CurvePoint:
    """One training size: the seed-mean main score of each mode run there, intervals where computable."""

    size: int | None  # None: the whole train split
    train_examples: int
    scores: dict[str, float] = field(default_factory=dict)
    seeds: dict[str, int] = field(default_factory=dict)
    intervals: dict[str, Interval] = field(default_factory=dict)
    delta: Interval | None = None  # fine-tuned minus frozen, paired


@dataclass
class Curve:
    model: str
    suite: str
    task: str
    points: list[CurvePoint]

    @property
    def crossover(self) -> CurvePoint | None:
        """The smallest size from which fine-tuned beats frozen at every size run, each time with the paired
        interval above zero; None when no size is (or the largest is not) such a size."""
        found = None
        for point in reversed(self.points):
            if point.delta is None or point.delta.low <= 0:
                break
            found = point
        return found


def curves(results: ResultSet, resamples: int = uncertainty.DEFAULT_RESAMPLES) -> list[Curve]:
    """A curve for every (model, suite, task) with runs at a smaller train size, its full-train runs last."""
    sized: dict[tuple, dict[int | None, list[Run]]] = defaultdict(lambda: defaultdict(list))
    for run in results.curve_runs:
        r = run.result
        sized[(r.model, r.suite, r.task)][r.train_size].append(run)
    for run in results.runs:
        r = run.result
        if (r.model, r.suite, r.task) in sized:
            sized[(r.model, r.suite, r.task)][None].append(run)
    out = []
    for (model, suite, task), by_size in sorted(sized.items()):
        points = [_point(size, runs, results, resamples) for size, runs in by_size.items()]
        out.append(Curve(model, suite, task, sorted(points, key=lambda p: p.train_examples)))
    return out


def _point(size: int | None, runs: list[Run], results: ResultSet, resamples: int) -> CurvePoint:
    point = CurvePoint(size, int(np.mean([run.result.num_train for run in runs])))
    for mode in MODES:
        mine = [run.result for run in runs if run.result.mode == mode]
        if mine:
            point.scores[mode] = float(np.mean([result.main_score for result in mine]))
            point.seeds[mode] = len(mine)
    intervals = uncertainty.run_intervals(runs, results.registry, resamples)
    first = runs[0].result
    for mode in point.scores:
        found = intervals.scores.get((first.model, first.suite, first.task, mode), {}).get(MAIN)
        if found is not None:
            point.intervals[mode] = found
    point.delta = intervals.deltas.get((first.model, first.suite, first.task))
    return point


def curve_table(curve: Curve) -> list[str]:
    """Markdown: one row per size, each mode's score with its 95% interval and the paired difference."""
    rows = []
    for point in curve.points:
        size = f"{point.train_examples:,}" + (" (all)" if point.size is None else "")
        cells = [size]
        for mode in MODES:
            cells.append(_scored(point, mode))
        cells.append(_interval(point.delta, signed=True) if point.delta else "–")
        rows.append(cells)
    header = ["train examples", "frozen", "fine-tuned", "Δ fine-tuned − frozen"]
    return markdown_table(header, rows) + ["", crossover_text(curve)]


def crossover_text(curve: Curve) -> str:
    point = curve.crossover
    if point is None:
        return ("Crossover: none within the sizes run (fine-tuned does not beat frozen with the paired 95% interval "
                "above zero from any size on).")
    return (f"Crossover: {point.train_examples:,} training examples (from this size on, fine-tuned beats frozen "
            "with the paired 95% interval above zero).")


def _scored(point: CurvePoint, mode: str) -> str:
    if mode not in point.scores:
        return "–"
    seeds = f" (mean of {point.seeds[mode]} seeds)" if point.seeds[mode] > 1 else ""
    found = point.intervals.get(mode)
    text = score_text(point.scores[mode])  # "undefined" where a seed's score is: no interval then
    return (f"{text} [{found.low:.2f}, {found.high:.2f}]" if found else text) + seeds


def _interval(found: Interval, signed: bool = False) -> str:
    sign = "+" if signed and found.estimate >= 0 else ""
    return f"{sign}{found.estimate:.2f} [{found.low:.2f}, {found.high:.2f}]"


def curve_png(curve: Curve) -> bytes:
    """The curve drawn (harness.plots.curve_plot): score against training examples, interval bands per mode."""
    from harness import plots

    series = defaultdict(list)
    for point in curve.points:
        for mode, score in point.scores.items():
            found = point.intervals.get(mode)
            series[mode].append(plots.Point(point.train_examples, score, found and found.low, found and found.high))
    crossover = curve.crossover
    title = f"{curve.suite}/{curve.task}: {curve.model}"
    return plots.curve_plot(title, dict(series), crossover.train_examples if crossover else None)


def curve_file_stem(curve: Curve) -> str:
    """<suite>-<task>-<model>-curve: the name a curve's files take in a leaderboard folder. The names come from
    result files, so anything but letters, digits, '.', '_' and '-' becomes '_': the stem never leaves the folder."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{curve.suite}-{curve.task}-{curve.model}-curve")


def write_task_curves(reports: str | Path, resamples: int = uncertainty.DEFAULT_RESAMPLES) -> list[Path]:
    """curve.md (and curve.png, with matplotlib) in each task folder of `reports` that holds a learning curve,
    beside its runs; returns the files written."""
    from harness import plots
    from harness.results import atomic_write

    results = ResultSet.load(reports)
    written = []
    for curve in curves(results, resamples):
        folder = next(run.folder.parent for run in results.curve_runs
                      if (run.result.model, run.result.suite, run.result.task) == (curve.model, curve.suite, curve.task))
        title = f"# Learning curve: {curve.suite}/{curve.task}, `{curve.model}`"
        files = {"curve.md": "\n".join([title, "", *curve_table(curve)]) + "\n"}
        if plots.available():
            files["curve.png"] = curve_png(curve)
            files["curve.md"] = files["curve.md"].replace("\n\n", "\n\n![learning curve](curve.png)\n\n", 1)
        for name, content in files.items():
            atomic_write(folder / name, content if isinstance(content, bytes) else content.encode("utf-8"))
            written.append(folder / name)
    return written


def plan_text(task_ids: list[str], sizes: list[int | None], modes: list[str], seeds: list[int]) -> str:
    """What a learning-curve eval will run, said before it starts."""
    shown = ", ".join("all" if size is None else f"{size:,}" for size in sizes)
    runs = len(task_ids) * len(sizes) * len(modes) * len(seeds)
    return (f"learning curve: {len(task_ids)} task(s) x {len(sizes)} sizes ({shown}) x {len(modes)} mode(s) "
            f"x {len(seeds)} seed(s) = {runs} runs at most (sizes at or above a task's train split run once, as "
            "'all'; with --resume, finished runs are kept)")
