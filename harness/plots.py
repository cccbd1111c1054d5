"""Frozen vs fine-tuned bar charts, score against compute and learning curves (PNG) for the leaderboards, and a frozen run's layer
curve (--layer-sweep) for its report; matplotlib is optional (the `plots` extra).

Drawn with matplotlib's object API and its default style (no pyplot, no global state, the user's
matplotlibrc ignored) and saved without the Software tag, so the same numbers give the same bytes
with the same matplotlib.
"""
from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass

MISSING = 'matplotlib is not installed (`pip install -e ".[plots]"`)'
COLOURS = {"frozen": "#4c72b0", "finetune": "#dd8452"}
LABELS = {"frozen": "frozen", "finetune": "fine-tuned"}
MARKERS = {"frozen": "o", "finetune": "s"}
MODE_ORDER = {"frozen": 0, "finetune": 1}


@dataclass(frozen=True)
class Bar:
    """One model's main score on one task in one mode, with its interval where known."""

    model: str
    task: str
    mode: str
    score: float
    low: float | None = None
    high: float | None = None


def available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def suite_plot(title: str, bars: list[Bar]) -> bytes:
    """PNG bytes: one panel per model, a frozen and a fine-tuned bar per task, 95% intervals as error bars."""
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    models = sorted({bar.model for bar in bars})
    tasks = sorted({bar.task for bar in bars})
    lowest = min([0.0] + [bar.low if bar.low is not None else bar.score for bar in bars])
    with matplotlib.style.context("default"):
        figure = Figure(figsize=(max(6.0, 0.9 * len(tasks) + 2), 2.8 * len(models)), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        panels = figure.subplots(len(models), 1, squeeze=False)[:, 0]
        for axes, model in zip(panels, models):
            for offset, mode in ((-0.2, "frozen"), (0.2, "finetune")):
                mine = {bar.task: bar for bar in bars if bar.model == model and bar.mode == mode}
                xs = [i + offset for i, task in enumerate(tasks) if task in mine]
                shown = [mine[task] for task in tasks if task in mine]
                # k-fold scores (mean of folds) can sit just outside the pooled interval: clip, never negative
                errors = [[max(0.0, b.score - b.low) if b.low is not None else 0.0 for b in shown],
                          [max(0.0, b.high - b.score) if b.high is not None else 0.0 for b in shown]]
                axes.bar(xs, [b.score for b in shown], width=0.4, color=COLOURS[mode], label=LABELS[mode],
                         yerr=errors, capsize=3, error_kw={"elinewidth": 1})
            axes.set_xticks(range(len(tasks)), tasks, rotation=30, ha="right")
            bottom = min(0.0, lowest - 5)
            axes.set_ylim(bottom, 115)  # headroom above 100 for the legend
            axes.set_yticks([tick for tick in range(-100, 101, 20) if tick >= bottom])
            axes.set_ylabel("main score")
            axes.set_title(f"{title}: {model}", fontsize=10)
            axes.axhline(0, color="black", linewidth=0.5)
            axes.legend(loc="upper left", ncols=2, fontsize=8, frameon=False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


@dataclass(frozen=True)
class Point:
    """One mode's main score at one training size, with its interval where known."""

    train_examples: int
    score: float
    low: float | None = None
    high: float | None = None


def curve_plot(title: str, series: dict[str, list[Point]], crossover: int | None = None) -> bytes:
    """PNG bytes: main score against training examples (log scale), one line per mode with its 95% interval
    as a band, and the crossover size marked where there is one."""
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.style.context("default"):
        figure = Figure(figsize=(6.0, 3.6), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots()
        for mode, points in sorted(series.items()):
            points = sorted(points, key=lambda point: point.train_examples)
            xs = [point.train_examples for point in points]
            axes.plot(xs, [point.score for point in points], marker="o", color=COLOURS[mode], label=LABELS[mode])
            banded = [point for point in points if point.low is not None]
            if banded:
                axes.fill_between([p.train_examples for p in banded], [p.low for p in banded],
                                  [p.high for p in banded], color=COLOURS[mode], alpha=0.2, linewidth=0)
        if crossover is not None:
            axes.axvline(crossover, color="black", linestyle=":", linewidth=1, label="crossover")
        axes.set_xscale("log")
        axes.set_xlabel("training examples")
        axes.set_ylabel("main score")
        axes.set_title(title, fontsize=10)
        axes.legend(loc="lower right", fontsize=8, frameon=False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def layer_plot(title: str, metric: str, scores: list[float], own: float | None = None) -> bytes:
    """PNG bytes: the main score of the head trained on each hidden state alone (0 = embeddings), the best
    layer marked, and the run's own head's score as a dashed line where given."""
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    best = max(range(len(scores)), key=scores.__getitem__)
    with matplotlib.style.context("default"):
        figure = Figure(figsize=(max(6.0, 0.45 * len(scores) + 2), 3.2), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots()
        axes.plot(range(len(scores)), scores, marker="o", color=COLOURS["frozen"], label="head on one layer")
        axes.plot([best], [scores[best]], marker="*", markersize=14, color=COLOURS["finetune"], linestyle="none",
                  label=f"best: layer {best} ({scores[best]:.2f})")
        if own is not None:
            axes.axhline(own, color="black", linewidth=1, linestyle="--", label=f"the run's own head ({own:.2f})")
        axes.set_xticks(range(len(scores)))
        axes.set_xlabel("hidden state (0 = embeddings)")
        axes.set_ylabel(metric)
        axes.set_title(title, fontsize=10)
        axes.legend(loc="best", fontsize=8, frameon=False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


@dataclass(frozen=True)
class Cost(Bar):
    """A Bar (its task: a task, or the suite score) placed at the compute its run did."""

    flops: float = 0.0


def compute_plot(title: str, costs: list[Cost]) -> bytes:
    """PNG bytes: one panel per task (the suite score first), main score against compute (log scale), a frozen and a
    fine-tuned point per model joined by a line, so what fine-tuning buys and costs is one look; 95% intervals as
    error bars. A run that did no floating-point work (a majority baseline) cannot sit on a log axis: its score is
    a dotted line across the panel."""
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    panels = list(dict.fromkeys(cost.task for cost in costs))
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    with matplotlib.style.context("default"):
        figure = Figure(figsize=(4.2 * columns, 3.4 * rows), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        grid = figure.subplots(rows, columns, squeeze=False).ravel()
        for axes, panel in zip(grid, panels):
            mine = [cost for cost in costs if cost.task == panel]
            for model in sorted({cost.model for cost in mine}):
                points = sorted((c for c in mine if c.model == model and c.flops > 0), key=lambda c: MODE_ORDER[c.mode])
                if len(points) > 1:
                    axes.plot([c.flops for c in points], [c.score for c in points], color="grey", linewidth=0.8)
                for cost in points:
                    errors = [[max(0.0, cost.score - cost.low) if cost.low is not None else 0.0],
                              [max(0.0, cost.high - cost.score) if cost.high is not None else 0.0]]
                    axes.errorbar([cost.flops], [cost.score], yerr=errors, fmt=MARKERS[cost.mode],
                                  color=COLOURS[cost.mode], capsize=3, elinewidth=1)
                if points:
                    axes.annotate(model, (points[-1].flops, points[-1].score), xytext=(4, 2),
                                  textcoords="offset points", fontsize=7)
                for cost in (c for c in mine if c.model == model and c.flops <= 0):
                    axes.axhline(cost.score, color=COLOURS[cost.mode], linestyle=":", linewidth=1)
                    axes.annotate(f"{model} (no compute)", (0.01, cost.score), xycoords=("axes fraction", "data"),
                                  xytext=(0, 2), textcoords="offset points", fontsize=7)
            axes.set_xscale("log")
            axes.xaxis.set_minor_formatter(NullFormatter())  # within a decade, minor labels overprint each other
            axes.set_xlabel("compute (FLOP)")
            axes.set_ylabel("main score")
            axes.set_title(f"{title}: {panel}", fontsize=10)
        for axes in grid[len(panels):]:
            axes.set_visible(False)
        grid[0].legend(handles=[
            grid[0].plot([], [], MARKERS[mode], color=COLOURS[mode], label=LABELS[mode])[0] for mode in MARKERS],
            loc="best", fontsize=8, frameon=False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
