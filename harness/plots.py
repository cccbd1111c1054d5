"""Frozen vs fine-tuned bar charts and learning curves (PNG) for the leaderboards, and a frozen run's layer
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
