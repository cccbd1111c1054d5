"""Leaderboards: a pure function of a reports folder -> one markdown file (and its PNG plots) per suite.

Deterministic: results are read in sorted path order, rows and columns sorted, floats formatted
with a fixed precision, bootstrap intervals drawn with a fixed seed, and nothing time-dependent is
written, so regenerating from the same reports gives the same bytes and `--check` can compare.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness import plots, uncertainty
from harness.curves import Curve, curve_file_stem, curve_png, curve_table, curves
from harness.errors import DataError
from harness.models import MAJORITY
from harness.metrics import suite_main_score
from harness.precision import recorded_precision
from harness.render import SUITE_TITLES, UNDEFINED, describe, markdown_table, score_cell, score_text, source_text
from harness.results import RUN_MODES, ResultSet, RunResult, atomic_write, task_spec
from harness.results.recipe import trained_recipe
from harness.uncertainty import MAIN, Intervals
from harness.shapes import shape_of
from harness.tasks import REGISTRY, TaskRegistry, TaskSpec

MODES = RUN_MODES
NO_MODEL = "no model: the training split's majority"  # the recipe of the majority baseline (--model majority)
FLAG_MARK = "§"  # beside a score whose run carries caveats (RunResult.flags)
FIT_MARK = "¶"  # beside a model whose tokenizer fits the task's texts badly (its tokenizer_fit's warning)
KIND_TAGS = {"majority": "baseline", "random-init": "control"}  # model kinds other than pretrained, as rows show them
MODE_WORDS = {"frozen": "frozen", "finetune": "fine-tuned"}  # the modes as sentences name them


def results_frame(results: list[RunResult], registry: TaskRegistry = REGISTRY) -> pd.DataFrame:
    """One row per result; seeds are averaged later, per (model, task, mode)."""
    specs = {(r.suite, r.task): task_spec(registry, r.suite, r.task) for r in results}
    rows = [
        {
            "suite": r.suite, "task": r.task, "model": r.model, "mode": r.mode, "seed": r.seed,
            "main_score": r.main_score, "split_strategy": r.split_strategy, "split_note": r.split_note,
            "capped": bool(r.capped), "caps": r.capped, "num_train": r.num_train,
            "num_eval": r.num_eval, "trainable_parameters": r.timings.get("trainable_parameters"),
            "wall_s": r.timings.get("total_s"),
            "scores": r.scores,
            "recipe": NO_MODEL if r.model_kind == MAJORITY else _recipe(r, specs[(r.suite, r.task)]),
            "precision": recorded_precision(r.provenance.get("hyperparameters", {})),
            "data": r.provenance.get("data") or {},
            "flagged": bool(r.flags),
            "flag_note": "; ".join(f"{r.mode} seed {r.seed}: {item['message']}" for item in r.flags),
            "layer_sweep": r.layer_sweep,
            "model_kind": r.model_kind,
            "flops": r.compute.get("flops"),
            "tokenizer_fit": r.tokenizer_fit,
        }
        for r in results
    ]
    columns = ["suite", "task", "model", "mode", "seed", "main_score", "split_strategy", "split_note", "capped",
               "caps", "num_train", "num_eval", "trainable_parameters", "wall_s", "scores", "recipe", "precision",
               "data", "flagged", "flag_note", "layer_sweep", "model_kind", "flops", "tokenizer_fit"]
    return pd.DataFrame(rows, columns=columns).astype({"flops": "float64"})


def _generates(spec: TaskSpec | None) -> bool:
    """Whether the task trains a decoder (its frozen recipe is the decoder's); unknown tasks do not."""
    return spec is not None and shape_of(spec).generates


def _pools(spec: TaskSpec | None) -> bool:
    """Whether the task's fine-tuned head reads the pooled sequence (--finetune-pooling applies); unknown tasks'
    results show the pooling they recorded."""
    return spec is None or shape_of(spec).runner_class("finetune").sequence_head


def _recipe(result: RunResult, spec: TaskSpec | None) -> str:
    """What trained, as the result says it ran: the fine-tuning recipe (results/recipe.py), the frozen head, or
    (text to text, frozen) the decoder's recipe; then the precision where it was not fp32 (results from before it
    was recorded ran in fp32)."""
    h = result.provenance.get("hyperparameters", {})
    precision = recorded_precision(h)
    return _trained(result, h, spec) + ("" if precision == "fp32" else f", {precision}")


def _trained(result: RunResult, h: dict, spec: TaskSpec | None) -> str:
    if result.mode == "finetune":
        return trained_recipe(result).text(pooled=_pools(spec))
    if _generates(spec):
        return f"decoder only: {trained_recipe(result).text(pooled=False)}"
    chosen = h.get("chosen")
    if isinstance(chosen, dict) and "token_head" in chosen:  # a token shape's torch head, as it trained
        return f"{chosen['token_head']} head, {chosen['layers']} layers"
    return f"{h.get('head', '?')} head{_chosen_text(chosen)}" if h else "–"


def _chosen_text(chosen: dict | list | None) -> str:
    """What a pooled frozen head read of a pair, and what inner cross-validation on train chose for it (the
    first fold's, under k-fold)."""
    if isinstance(chosen, list):
        chosen = chosen[0]
    if not chosen:
        return ""
    by_cv = [f"{name} {chosen[key]:g}" if isinstance(chosen[key], float) else f"{name} {chosen[key]}"
             for key, name in (("layer", "layer"), ("alpha", "alpha"), ("C", "C")) if key in chosen]
    parts = ([f"pairs: {chosen['pair_features']}"] if "pair_features" in chosen else []) + (
        [f"by inner CV: {', '.join(by_cv)}"] if by_cv else [])
    return f" ({'; '.join(parts)})"


def suite_scores(frame: pd.DataFrame, registry: TaskRegistry) -> pd.Series:
    """Suite score per (model, mode) that ran its mode's full task set (suite_coverage): the mean of those tasks' main
    scores, tasks of one group averaged first. A model that ran only some of them has none: a mean over other tasks
    would rank tasks, not models."""
    frame = ranked_runs(frame, registry)
    specs = [task_spec(registry, suite, task) for suite, task in zip(frame["suite"], frame["task"])]
    frame = frame.assign(main_score=[score for score, _ in _suite_main_scores(frame, specs)])
    scores = {}
    # Seeds first (a task run with more seeds must not weigh more), then score groups, then the suite; an
    # undefined score leaves every average above it undefined.
    for (model, mode), runs in frame.groupby(["model", "mode"], sort=True):
        per_task = runs.groupby(["suite", "task"], sort=True)["main_score"].agg(_strict_mean)
        for suite, tasks in per_task.groupby(level="suite"):
            values = tasks.droplevel("suite").to_dict()
            groups = uncertainty.suite_groups(registry, suite, values)
            if groups:
                scores[(model, mode)] = uncertainty.grouped_mean({t: values[t] for t in groups}, groups)
    return pd.Series(scores, dtype="float64")


def _suite_main_scores(frame: pd.DataFrame, specs: list[TaskSpec | None]) -> list[tuple[float, bool]]:
    """Each run's main score as its suite score takes it in, and whether GLUE's rule (an undefined MCC or R3
    counts 0) set it; the task's own cell keeps the undefined score."""
    return [suite_main_score(scores, spec.main_score)
            if pd.isna(main) and spec and all(name in scores for name in spec.main_score) else (main, False)
            for main, scores, spec in zip(frame["main_score"], frame["scores"], specs)]


def _strict_mean(values: pd.Series) -> float:
    """The mean, undefined (NaN) when any value is: pandas' own means skip NaN, which would average an
    undefined score away."""
    return values.mean(skipna=False)


def render_suite(frame: pd.DataFrame, suite: str, registry: TaskRegistry = REGISTRY,
                 intervals: Intervals | None = None, plot: str | None = None,
                 resamples: int = uncertainty.DEFAULT_RESAMPLES, learning_curves: list[Curve] = (),
                 curve_plots: bool = False, compute_plot: str | None = None) -> str:
    """The markdown leaderboard of one suite; `plot` names the PNG beside it, None when none was drawn;
    `learning_curves` (with a PNG each when `curve_plots`) fill its Data efficiency section; `compute_plot` names
    the score-against-compute PNG, None when none was drawn."""
    intervals = intervals or Intervals()
    title = SUITE_TITLES.get(suite, suite)
    # Seeds average into one number per (model, task, mode).
    agg = (frame.groupby(["model", "task", "mode"], sort=True)
           .agg(main_score=("main_score", _strict_mean), seeds=("seed", "nunique"),
                split_strategy=("split_strategy", "first"), capped=("capped", "any"),
                trainable_parameters=("trainable_parameters", "max"), wall_s=("wall_s", "sum"),
                flops=("flops", _strict_mean), flagged=("flagged", "any"))
           .reset_index())
    tasks = sorted(agg["task"].unique())
    models = sorted(agg["model"].unique())
    labels = model_labels(frame)
    flagged = {t: _marks(agg[agg["task"] == t]) for t in tasks}
    overall, coverage = suite_scores(frame, registry), suite_coverage(frame, registry)
    counted = [t for t in tasks if getattr(task_spec(registry, suite, t), "in_suite_score", True)]

    lines = [f"# {title} leaderboard", "",
             "Generated by `harness leaderboard` from the results in the reports folder; do not edit by hand.",
             "Each task cell: frozen / fine-tuned (fine-tuned minus frozen). Scores on a 0-100 scale.", ""]
    if plot:
        lines += [f"![{title}: frozen vs fine-tuned main score per task, with 95% intervals]({plot})", ""]
    else:
        lines += [f"Plot not drawn: {plots.MISSING}.", ""]
    header = ["model"] + [f"{t}{flagged[t]}" for t in tasks] + [
        f"{title} frozen", f"{title} fine-tuned", "Δ", "trainable params (frozen / fine-tuned)",
        "compute, one seed (frozen / fine-tuned)", "wall time s (frozen / fine-tuned)"]
    table = []
    for model in models:
        cells = [labels[model]]
        per_model = agg[agg["model"] == model]
        for task in tasks:
            by_mode = per_model[per_model["task"] == task].set_index("mode")
            scores, marked = by_mode["main_score"].to_dict(), by_mode["flagged"].to_dict()
            cells.append(_pair(scores.get("frozen"), scores.get("finetune"), {m for m in MODES if marked.get(m)}))
        frozen, tuned = overall.get((model, "frozen")), overall.get((model, "finetune"))
        in_suite = _suite_part(per_model[per_model["task"].isin(counted)], coverage)  # views, diagnostics left out
        cells += [suite_cell(frozen, coverage.get((model, "frozen"))),
                  suite_cell(tuned, coverage.get((model, "finetune"))), suite_delta_text(frozen, tuned, in_suite)]
        params = in_suite.groupby("mode")["trainable_parameters"].max().to_dict()
        wall = in_suite.groupby("mode")["wall_s"].sum().to_dict()
        flops = _suite_flops(in_suite)
        cells.append(f"{_int(params.get('frozen'))} / {_int(params.get('finetune'))}")
        cells.append(f"{flop_text(flops.get('frozen'))} / {flop_text(flops.get('finetune'))}")
        cells.append(f"{_fmt(wall.get('frozen'), 0)} / {_fmt(wall.get('finetune'), 0)}")
        table.append(cells)
    lines += markdown_table(header, table)
    lines += _ranking(agg[agg["task"].isin(counted)], suite, title, overall, coverage, labels, intervals, compute_plot)
    lines += _comparison(frame, suite, flagged, intervals, labels)
    lines += _task_tables(frame, suite, registry, flagged, intervals, labels)
    lines += _data_efficiency(learning_curves, curve_plots)
    lines += _layer_sweeps(frame, flagged)
    lines += ["", "## Runs", ""]
    detail = frame.sort_values(["model", "task", "mode", "seed"], kind="stable")
    run_rows = [
        [f"`{r.model}`", r.task, r.mode, str(r.seed), score_text(r.main_score) + (FLAG_MARK if r.flagged else ""),
         ", ".join(f"{k} {score_text(v)}" for k, v in sorted(r.scores.items())),
         r.split_strategy, str(r.num_train), str(r.num_eval), r.recipe,
         _int(r.trainable_parameters), _fmt(r.wall_s, 1)]
        for r in detail.itertuples()
    ]
    lines += markdown_table(["model", "task", "mode", "seed", "main", "all scores", "split", "train n", "eval n",
                             "recipe", "trainable params", "wall s"], run_rows)
    lines += ["", "## Notes", "",
              f"- {title} score: mean of the tasks' main scores; multi-metric tasks average their metrics first, "
              "tasks sharing a score group (MNLI matched and mismatched) count as one, diagnostics and text-to-text "
              "views (`<task>-n2m`) are left out, as they are of the overview's parameter and wall-time columns. "
              "It is given only for a model that ran the mode's full task set, and averages those tasks alone.",
              *_full_set_legend(coverage, labels, title),
              "- † the train split was missing: trained and scored on a stratified holdout (or k-fold) of the "
              "labelled validation split, so not comparable with official dev scores.",
              *_task_notes(frame, "split_note"),
              "- ‡ sample caps (--max-train-samples / --max-eval-samples) were in force.",
              *_task_notes(frame, "caps"),
              *_flag_legend(frame),
              *_undefined_legend(frame),
              *_not_run_legend(frame, registry),
              *_suite_rule_legend(frame, registry),
              *_precision_legend(frame),
              "- Seeds: a cell is the mean over the seeds run; where a task has several, the task tables show "
              "mean ± sample standard deviation across seeds.",
              f"- Intervals: [low, high] is a 95% percentile bootstrap interval over evaluation examples "
              f"({resamples:,} resamples, seed {uncertainty.DEFAULT_SEED}), recomputed from each run's predictions; "
              "with several seeds it is the interval of the seed mean (each seed's predictions resampled with the "
              "same indices, in id order); k-fold runs are resampled over their pooled out-of-fold predictions; no interval "
              "where a run's predictions file is missing or unreadable.",
              "- \\* the 95% paired bootstrap interval of fine-tuned minus frozen (both modes scored on the same "
              "resampled examples) excludes zero.",
              "- Ranking: per mode, since the question a rank answers is which model to take for a protocol (frozen "
              "features, or fine-tuning); whether fine-tuning pays is the Δ above and the compute plot. The best is the "
              "highest main score (mean over seeds; the first by name among equals); every other model gets the 95% "
              "paired bootstrap interval of its score minus the best's, both resampled on the same draws of the same "
              "examples: \\* where it excludes zero, \"tied for best\" where it does not. Runs that evaluated other "
              "examples (sample caps, holdouts of other seeds) are never paired: the cell says so and gives no interval. "
              "The suite score's interval resamples each task on its own examples, independently of the others; its "
              "difference from the best averages the per-task paired differences the same way, over the full task "
              "set, and needs the same examples.",
              "- (baseline): a majority-class model (`--model majority`); (control): the model with random weights "
              "(`--model random:<model>`). Both rank like any row (in the suite table, where they ran the full task "
              "set).",
              "- Compute: floating-point operations the run did (result.json `compute`), per run, or for one seed of "
              "every task in the suite score; – where a run did not record it. Wall times depend on the machine and "
              "what else ran on it, and a cache hit; compute does not.",
              "- Tokenizer fit (task tables): tokens per word of the task's texts, the share of unknown tokens, and "
              "the share of examples cut by --max-length (per side of a pair where recorded); – where not measured.",
              *_fit_legend(frame),
              "- Data sources (file sha256 or Hub fingerprint, first 12 characters):",
              *_source_notes(frame)]
    return "\n".join(lines) + "\n"


def _comparison(frame: pd.DataFrame, suite: str, flagged: dict, intervals: Intervals, labels: dict[str, str]
                ) -> list[str]:
    """Per (model, task): main score of each mode, the difference and its paired interval, cost of each mode."""
    rows = []
    for (model, task), runs in frame.groupby(["model", "task"], sort=True):
        by_mode = {mode: group for mode, group in runs.groupby("mode")}
        means = {mode: _strict_mean(group["main_score"]) for mode, group in by_mode.items()}
        delta = intervals.deltas.get((model, suite, task))
        marker = " \\*" if delta is not None and delta.excludes_zero() else ""
        difference = delta_text(means.get("frozen"), means.get("finetune"))
        rows.append([labels[model], f"{task}{flagged[task]}", score_text(means.get("frozen")),
                     score_text(means.get("finetune")), difference + (marker if difference != "–" else ""),
                     f"[{delta.low:+.2f}, {delta.high:+.2f}]" if delta is not None else "–",
                     " / ".join(_int(by_mode[m]["trainable_parameters"].max()) if m in by_mode else "–"
                                for m in MODES),
                     " / ".join(flop_text(_strict_mean(by_mode[m]["flops"])) if m in by_mode else "–" for m in MODES),
                     " / ".join(_fmt(by_mode[m]["wall_s"].mean(), 1) if m in by_mode else "–" for m in MODES)])
    return ["", "## Frozen vs fine-tuned", "",
            "Main score per task (mean over seeds); Δ = fine-tuned minus frozen with its 95% paired bootstrap "
            "interval, \\* where the interval excludes zero.", ""] + markdown_table(
        ["model", "task", "frozen", "fine-tuned", "Δ", "Δ 95% interval", "trainable params (frozen / fine-tuned)",
         "compute per run (frozen / fine-tuned)", "wall time s per run (frozen / fine-tuned)"], rows)


def _data_efficiency(learning_curves: list[Curve], drawn: bool) -> list[str]:
    """Per learning curve: its table (score per train size and mode, paired difference) and crossover size."""
    if not learning_curves:
        return []
    lines = ["", "## Data efficiency", "",
             "Learning curves (`harness eval --train-sizes`): each size is a nested seeded subset of the train split "
             "(every smaller set inside the next), the evaluation examples unchanged; fine-tuning runs at least "
             "`--min-steps` optimisation steps at every size (the epochs per run are in its result). Scores are "
             "seed means with 95% bootstrap intervals; Δ is paired on the examples both modes scored."]
    for curve in learning_curves:
        lines += ["", f"### {curve.task}: `{curve.model}`", ""]
        if drawn:
            lines += [f"![{curve.task} learning curve of {curve.model}]({curve_file_stem(curve)}.png)", ""]
        lines += curve_table(curve)
    return lines


def _task_tables(frame: pd.DataFrame, suite: str, registry: TaskRegistry, flagged: dict,
                 intervals: Intervals, labels: dict[str, str]) -> list[str]:
    """One table per task: the models ranked per mode, each against the best, every official metric (and any extra
    score, e.g. cosine) with its interval, the compute per run and the tokenizer's fit to the task's texts."""
    lines = ["", "## Tasks", "",
             "Per mode, models ranked by main score; every metric: score [95% interval], several seeds: mean ± std "
             "[interval of the mean]; \"vs best\": the difference from the mode's best model on this task, with its "
             "paired interval (see Notes)."]
    for task, runs in frame.groupby("task", sort=True):
        spec = task_spec(registry, suite, task)
        recorded = sorted({name for scores in runs["scores"] for name in scores})
        official = [m for m in spec.metrics if m in recorded] if spec else []
        columns = official + [name for name in recorded if name not in official]
        main = (" + ".join(spec.main_score) + (" (averaged)" if len(spec.main_score) > 1 else "")
                if spec else "as recorded in each result")
        rows, warnings = [], []
        for mode, rank, model, group in _ranked(runs):
            cell_intervals = intervals.scores.get((model, suite, task, mode), {})
            fit = group["tokenizer_fit"].iloc[0]
            warned = bool(fit.get("warning"))
            if warned and model not in [name for name, _ in warnings]:
                warnings.append((model, fit["warning"]))
            cells = [mode, rank, labels[model] + (f" {FIT_MARK}" if warned else ""), ", ".join(map(str, group["seed"])),
                     score_cell(list(group["main_score"]), cell_intervals.get(MAIN)),
                     versus_text(intervals, model, suite, task, mode)]
            for name in columns:
                values = [scores[name] for scores in group["scores"] if name in scores]
                cells.append(score_cell(values, cell_intervals.get(name)) if len(values) == len(group) else "–")
            rows.append(cells + [flop_text(_strict_mean(group["flops"])), *_fit_cells(fit)])
        lines += ["", f"### {task}{flagged[task]}", "", f"Main score: {main}.", ""]
        lines += markdown_table(["mode", "rank", "model", "seeds", "main", "vs best (95% paired interval)", *columns,
                                 "compute per run", "tokens per word", "unknown tokens", "truncated"], rows)
        if warnings:
            lines += [""] + [f"{FIT_MARK} `{model}`: {_one_line(warning)}" for model, warning in warnings]
    return lines


def _ranked(runs: pd.DataFrame):
    """(mode, rank, model, runs) per (model, mode), frozen first, then by main score (mean over seeds), highest first;
    a model whose score is undefined comes last, unranked ("–")."""
    for mode in MODES:
        groups = [(model, group.sort_values("seed")) for model, group in runs[runs["mode"] == mode].groupby("model")]
        scored = sorted(groups, key=lambda item: _rank_key(item[0], _strict_mean(item[1]["main_score"])))
        for position, (model, group) in enumerate(scored, 1):
            yield mode, "–" if pd.isna(_strict_mean(group["main_score"])) else str(position), model, group


def _rank_key(model: str, score: float) -> tuple:
    """Highest score first, undefined last, ties by name: the order harness.uncertainty.best_model picks the best by."""
    return (pd.isna(score), -score if not pd.isna(score) else 0.0, model)


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


def _fit_cells(fit: dict) -> list[str]:
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


def _one_line(text: str) -> str:
    """Free text for a markdown line: one line, no table pipes."""
    return " ".join(str(text).split()).replace("|", "/")


def _ranking(agg: pd.DataFrame, suite: str, title: str, overall: pd.Series, coverage: dict[tuple[str, str], Coverage],
             labels: dict[str, str], intervals: Intervals, plot: str | None) -> list[str]:
    """The suite table ranked: per mode, each model that ran the full task set with its suite score and interval,
    its difference from the mode's best with the paired interval and its compute; below them, unranked, the models
    that ran only some of those tasks, with how many and which they lack."""
    lines = ["", "## Ranking", "",
             f"Per mode, the models that ran every task of the mode's full task set (see Notes), ranked by {title} "
             f"score over those tasks [95% interval, each task resampled on its own examples]; \"vs best\": the "
             f"difference from the mode's best {title} score, its paired interval averaging the per-task paired "
             "differences. Below them, unranked, the models that ran only some of those tasks: a mean over other "
             f"tasks is no {title} score, so none is given.", ""]
    if plot:
        lines += [f"![{title}: main score against compute, frozen and fine-tuned]({plot})", ""]
    rows = []
    for mode in MODES:
        mine = _suite_part(agg[agg["mode"] == mode], coverage)
        models = mine["model"].unique()
        ranked = sorted((m for m in models if coverage[(m, mode)].complete),
                        key=lambda m: _rank_key(m, overall.get((m, mode), float("nan"))))
        partial = sorted((m for m in models if not coverage[(m, mode)].complete),
                         key=lambda m: (-len(coverage[(m, mode)].ran & coverage[(m, mode)].full), m))
        for position, model in enumerate(ranked, 1):
            score = overall.get((model, mode))
            rows.append([mode, "–" if pd.isna(score) else str(position), labels[model],
                         score_cell([score], intervals.suites.get((model, suite, mode))),
                         _tasks_text(coverage[(model, mode)]), versus_text(intervals, model, suite, None, mode),
                         flop_text(_suite_flops(mine[mine["model"] == model]).get(mode))])
        for model in partial:
            found = coverage[(model, mode)]
            rows.append([mode, "–", labels[model], "–", found.text().removesuffix(" tasks"), _unranked_text(found),
                         flop_text(_suite_flops(mine[mine["model"] == model]).get(mode))])
    return lines + markdown_table(["mode", "rank", "model", f"{title} score", "tasks", "vs best (95% paired interval)",
                                   "compute, one seed"], rows)


def _tasks_text(coverage: Coverage) -> str:
    """A ranked model's tasks: all n of the full set, and how many others it ran that its score leaves out."""
    others = len(coverage.ran - coverage.full)
    return f"{len(coverage.full)} of {len(coverage.full)}" + (f" (+{others} not counted)" if others else "")


def _unranked_text(coverage: Coverage) -> str:
    """Why a model is not ranked: the tasks of the full set it lacks (or that there is no full set)."""
    if not coverage.full:
        return "unranked: the best-covered models share no task"
    return f"unranked: lacks {', '.join(coverage.missing)}"


def _suite_part(runs: pd.DataFrame, coverage: dict[tuple[str, str], Coverage]) -> pd.DataFrame:
    """Of in-suite runs (or per-task rows), those a (model, mode)'s suite columns add up: the full task set's where
    it ran all of it (its score's tasks), every one where it did not (its own, shown as such)."""
    return _where(runs, [not coverage[(model, mode)].complete or task in coverage[(model, mode)].full
                         for model, mode, task in zip(runs["model"], runs["mode"], runs["task"])])


def model_labels(frame: pd.DataFrame) -> dict[str, str]:
    """Model -> its cell: the name, tagged where it is a baseline or a control (its results' model_kind)."""
    kinds = frame.groupby("model")["model_kind"].first().to_dict()
    return {model: f"`{model}`" + (f" ({KIND_TAGS[kind]})" if kind in KIND_TAGS else "") for model, kind in kinds.items()}


def _suite_flops(runs: pd.DataFrame) -> dict[str, float]:
    """Mode -> the compute of one seed of the suite: the tasks' compute per run (mean over seeds) added up; NaN
    where any run did not record it (a partial sum would understate it)."""
    per_task = runs.groupby(["mode", "task"])["flops"].agg(_strict_mean)
    return per_task.groupby(level="mode").agg(lambda values: values.sum(skipna=False)).to_dict()


def flop_text(flops: float | None) -> str:
    """Floating-point operations in TFLOP (PFLOP from 1,000 TFLOP on), three significant digits; "–" where not
    recorded."""
    if flops is None or pd.isna(flops):
        return "–"
    if flops >= 1e15:
        return f"{flops / 1e15:.3g} PFLOP"
    return f"{flops / 1e12:.3g} TFLOP" if flops >= 1e9 else ("0 TFLOP" if flops == 0 else "< 0.001 TFLOP")


def _layer_sweeps(frame: pd.DataFrame, flagged: dict) -> list[str]:
    """The "Where does the task live" section: per (model, task) whose frozen runs have a layer sweep, the main
    score of the head trained on each hidden state alone (mean over those runs' seeds), the best in bold, beside
    the runs' own head; nothing when no run has one, so boards without sweeps keep their bytes."""
    swept = frame[(frame["mode"] == "frozen") & frame["layer_sweep"].map(bool)]
    if swept.empty:
        return []
    rows = []
    for (model, task), runs in swept.groupby(["model", "task"], sort=True):
        curve = [sum(values) / len(values) for values in
                 zip(*([layer["main"] for layer in sweep["layers"]] for sweep in runs["layer_sweep"]))]
        defined = [layer for layer, score in enumerate(curve) if not pd.isna(score)]  # NaN: undefined there
        best = max(defined, key=curve.__getitem__) if defined else None
        cells = [f"**{score_text(score)}**" if layer == best else score_text(score) for layer, score in enumerate(curve)]
        rows.append((f"`{model}`", f"{task}{flagged[task]}", ", ".join(map(str, sorted(runs["seed"]))), cells,
                     f"{best} ({curve[best]:.2f})" if best is not None else UNDEFINED,
                     score_text(_strict_mean(runs["main_score"]))))
    states = max(len(row[3]) for row in rows)
    table = [[model, task, seeds, *cells, *["–"] * (states - len(cells)), best, own]
             for model, task, seeds, cells, best, own in rows]
    return ["", "## Where does the task live", "",
            "Frozen runs made with `--layer-sweep`: the run's head trained again on each hidden state alone "
            "(`--layers <i>`; 0 = the embeddings), every choice made on train, and scored on the evaluation split "
            "with the task's main score (mean over seeds); **bold**: the best layer. \"own head\": the run's main "
            "score, its head reading the layers its protocol chose.", ""] + markdown_table(
        ["model", "task", "seeds", *map(str, range(states)), "best layer", "own head"], table)


def _task_notes(frame: pd.DataFrame, column: str) -> list[str]:
    """Sub-bullets naming, per task, the split notes or sample caps its runs had."""
    lines = []
    for task, runs in frame.groupby("task", sort=True):
        found = sorted({describe(value) for value in runs[column] if value})
        if found:
            lines.append(f"  - `{task}`: {'; '.join(found)}")
    return lines


def _flag_legend(frame: pd.DataFrame) -> list[str]:
    """The legend of FLAG_MARK and each flagged run's caveats; nothing when no run is flagged,
    so leaderboards without flags keep their bytes."""
    if not frame["flagged"].any():
        return []
    return [f"- {FLAG_MARK} the run's scores carry a caveat, e.g. a score set by a convention rather than "
            "measured (the run's result.json lists its `flags`):", *_task_notes(frame, "flag_note")]


def _full_set_legend(coverage: dict[tuple[str, str], Coverage], labels: dict[str, str], title: str) -> list[str]:
    """What the full task set of each mode is, and who ran all of it; nothing where no suite task ran."""
    parts = []
    for mode in MODES:
        mine = {model: found for (model, of), found in sorted(coverage.items()) if of == mode}
        if not mine:
            continue
        full = next(iter(mine.values())).full
        complete = [labels[model] for model, found in mine.items() if found.complete]
        parts.append(f"{MODE_WORDS[mode]}: {', '.join(sorted(full))} ({len(full)}; run in full by "
                     f"{', '.join(complete)})" if full else f"{MODE_WORDS[mode]}: none (the best-covered models "
                     "share no task, so no model is ranked)")
    if not parts:
        return []
    return [f"- Full task set, per mode: the {title} tasks of the pretrained model that ran the most of them (where "
            "several ran as many, the tasks all of them ran); baselines and controls, cheap to run everywhere, do not "
            "widen it. Only a model that ran all of them is ranked; one that ran some is listed below, unranked, with "
            "how many (k of n) and which it lacks, and its mean over other tasks is not given. Here: "
            + "; ".join(parts) + "."]


def _fit_legend(frame: pd.DataFrame) -> list[str]:
    """What FIT_MARK means, where a run's tokenizer fits its task badly; nothing otherwise."""
    if not any(fit.get("warning") for fit in frame["tokenizer_fit"]):
        return []
    return [f"- {FIT_MARK} the model's tokenizer fits the task's texts badly (its result's `tokenizer_fit` warning, "
            "under the task's table): many tokens per word, unknown tokens or examples cut by --max-length lower "
            "the score for reasons other than the model."]


def _precision_legend(frame: pd.DataFrame) -> list[str]:
    """What a precision after a recipe means, where a run was not fp32; nothing otherwise, so leaderboards of fp32
    runs keep their bytes."""
    if (frame["precision"] == "fp32").all():
        return []
    return ["- bf16 / fp16 after a run's recipe: the precision its model computed in (`--precision`: autocast for "
            "forward passes, mixed precision for training); runs without one ran in fp32."]


def suite_score_runs(frame: pd.DataFrame, registry: TaskRegistry) -> pd.DataFrame:
    """The runs of tasks a suite score counts: a task's other formats (`<task>-n2m`) and diagnostics are left out."""
    return _where(frame, [getattr(task_spec(registry, suite, task), "in_suite_score", True)
                          for suite, task in zip(frame["suite"], frame["task"])])


def _where(frame: pd.DataFrame, keep: list[bool]) -> pd.DataFrame:
    """The rows where `keep` holds (a plain list of no rows would select columns instead)."""
    return frame.loc[pd.Series(keep, index=frame.index, dtype=bool)]


@dataclass(frozen=True)
class Coverage:
    """The suite-score tasks a model ran in one mode, against that mode's full task set (uncertainty.full_task_set):
    only a model that ran every one of them has a suite score, ranked over those tasks."""

    ran: frozenset[str]
    full: frozenset[str]

    @property
    def complete(self) -> bool:
        return bool(self.full) and self.full <= self.ran

    @property
    def missing(self) -> list[str]:
        return sorted(self.full - self.ran)

    def text(self) -> str:
        """How much of the full set it ran: "k of n tasks", or its own count where the best-covered models share no
        task (no full set)."""
        if not self.full:
            return f"{len(self.ran)} task{'s' * (len(self.ran) != 1)}, no full set"
        return f"{len(self.ran & self.full)} of {len(self.full)} tasks"


def suite_coverage(frame: pd.DataFrame, registry: TaskRegistry) -> dict[tuple[str, str], Coverage]:
    """(model, mode) -> its Coverage of the mode's full task set (one suite's frame, as suite_scores takes); the same
    rule decides which models the intervals rank (uncertainty._compare_suite)."""
    counted = suite_score_runs(frame, registry)
    coverage = {}
    for (_, mode), runs in counted.groupby(["suite", "mode"], sort=True):
        ran = {model: set(tasks) for model, tasks in runs.groupby("model")["task"]}
        full = uncertainty.full_task_set(ran, runs.groupby("model")["model_kind"].first().to_dict())
        coverage.update({(model, mode): Coverage(frozenset(tasks), full) for model, tasks in ran.items()})
    return coverage


def ranked_runs(frame: pd.DataFrame, registry: TaskRegistry) -> pd.DataFrame:
    """The runs suite scores average: of each (model, mode) that ran its mode's full task set, the runs of those
    tasks (not of any other it ran too)."""
    counted = suite_score_runs(frame, registry)
    coverage = suite_coverage(counted, registry)
    return _where(counted, [coverage[(model, mode)].complete and task in coverage[(model, mode)].full
                            for model, mode, task in zip(counted["model"], counted["mode"], counted["task"])])


def suite_cell(score, coverage: Coverage | None) -> str:
    """A suite score as tables show it: the score of a model that ran the full task set, else how much of it it ran
    (no mean over other tasks is shown beside the ranked ones); "–" where it ran none of the suite's tasks."""
    if coverage is None:
        return "–"
    return score_text(score) if coverage.complete else coverage.text()


def _not_run_legend(frame: pd.DataFrame, registry: TaskRegistry) -> list[str]:
    """Which cells of the overview are "–" because the run was not made: per model and mode, the suite-score tasks
    another model ran that it did not (a baseline runs one mode by design, so only its tasks count)."""
    counted = suite_score_runs(frame, registry)
    tasks = sorted(set(counted["task"]))
    missing = []
    for model, runs in counted.groupby("model", sort=True):
        modes = [MODES[0]] if runs["model_kind"].iloc[0] == MAJORITY else MODES
        for mode in modes:
            absent = [task for task in tasks if task not in set(runs.loc[runs["mode"] == mode, "task"])]
            if absent and len(absent) < len(tasks):
                missing.append(f"`{model}` {mode}: {', '.join(absent)}")
            elif absent:
                missing.append(f"`{model}` {mode}: every task")
    if not missing:
        return []
    return ["- –: no result: the run was not made (not yet, or too costly for the CPU these results ran on; no cell "
            "is filled from a capped run). Not run: " + "; ".join(missing) + "."]


def _undefined_legend(frame: pd.DataFrame) -> list[str]:
    """What "undefined" means, where a score is; nothing otherwise, so other leaderboards keep their bytes."""
    if not any(pd.isna(value) for scores in frame["scores"] for value in scores.values()):
        return []
    return [f"- {UNDEFINED}: the score cannot be measured on the run's evaluation examples (a correlation of a "
            "constant column: one class or value predicted, one in the gold labels, or a single example), so no "
            "number and no interval is given (null in result.json); its run is flagged §, and every mean that "
            "takes it in (seeds, the main score, the suite score) is undefined too, but where a suite score counts an "
            "undefined MCC or R3 as 0 (GLUE's rule, below)."]


def _suite_rule_legend(frame: pd.DataFrame, registry: TaskRegistry) -> list[str]:
    """Where GLUE's rule set a suite score's term; nothing otherwise, so other leaderboards keep their bytes."""
    specs = [task_spec(registry, suite, task) for suite, task in zip(frame["suite"], frame["task"])]
    ruled = sorted({f"`{task}` {mode} seed {seed}" for (_, ruled), task, mode, seed
                    in zip(_suite_main_scores(frame, specs), frame["task"], frame["mode"], frame["seed"]) if ruled})
    if not ruled:
        return []
    return ["- Suite scores count an undefined MCC or R3 as 0, the rule of GLUE's official scorer (scikit-learn's "
            f"matthews_corrcoef); the task's own cell stays undefined: {', '.join(ruled)}."]


def _source_notes(frame: pd.DataFrame) -> list[str]:
    lines = []
    for task, runs in frame.groupby("task", sort=True):
        found = sorted({source_text(split, source) for data in runs["data"] for split, source in sorted(data.items())})
        lines.append(f"  - `{task}`: {'; '.join(found) if found else 'not recorded'}")
    return lines


def _marks(rows: pd.DataFrame) -> str:
    marks = ""
    if (rows["split_strategy"] != "official").any():
        marks += " †"
    if rows["capped"].any():
        marks += " ‡"
    return marks


def _fmt(value, digits: int = 2) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _int(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"


def suite_delta_text(frozen, tuned, runs: pd.DataFrame) -> str:
    """A suite score's Δ, or "other tasks" where its two modes average different tasks (a difference of those
    would compare tasks, not modes); `runs`: one model's in-suite runs."""
    if frozen is not None and tuned is not None and len({frozenset(runs.loc[runs["mode"] == mode, "task"])
                                                         for mode in MODES}) > 1:
        return "other tasks"
    return delta_text(frozen, tuned)


def delta_text(frozen, tuned) -> str:
    if frozen is None or tuned is None:
        return "–"
    if pd.isna(frozen) or pd.isna(tuned):
        return UNDEFINED
    return f"{tuned - frozen:+.2f}"


def _pair(frozen, tuned, flagged: set[str] = frozenset()) -> str:
    """The overview cell; a mode whose run carries flags gets FLAG_MARK."""
    marks = {mode: FLAG_MARK if mode in flagged else "" for mode in MODES}
    return (f"{score_text(frozen)}{marks['frozen']} / {score_text(tuned)}{marks['finetune']} "
            f"({delta_text(frozen, tuned)})")


def render_leaderboards(reports: str | Path, registry: TaskRegistry = REGISTRY,
                        resamples: int = uncertainty.DEFAULT_RESAMPLES) -> dict[str, bytes]:
    """File name -> content of every leaderboard file the reports produce: <suite>.md, and <suite>.png (and
    <suite>-compute.png where runs recorded their compute) when matplotlib is installed."""
    results = ResultSet.load(reports, registry)
    if not results.runs:
        raise DataError(f"no readable results under {reports}; run `harness eval` first")
    frame = results_frame(results.results, registry)
    intervals = results.intervals(resamples)
    learning_curves = curves(results, resamples)
    drawing = plots.available()
    files = {}
    for suite in sorted(frame["suite"].unique()):
        subset = frame[frame["suite"] == suite]
        plot = f"{suite}.png" if drawing else None
        mine = [curve for curve in learning_curves if curve.suite == suite]
        costs = _costs(subset, suite, registry, intervals)
        compute_plot = f"{suite}-compute.png" if drawing and costs else None
        files[f"{suite}.md"] = render_suite(subset, suite, registry, intervals, plot, resamples, mine,
                                            drawing, compute_plot).encode("utf-8")
        if plot:
            files[plot] = plots.suite_plot(SUITE_TITLES.get(suite, suite), _bars(subset, suite, intervals))
            files.update({f"{curve_file_stem(curve)}.png": curve_png(curve) for curve in mine})
        if compute_plot:
            files[compute_plot] = plots.compute_plot(SUITE_TITLES.get(suite, suite), costs)
    return files


def _costs(frame: pd.DataFrame, suite: str, registry: TaskRegistry, intervals: Intervals) -> list[plots.Cost]:
    """The points of the score-against-compute plot: per (model, mode) that ran the full task set the suite score
    against one seed's compute of those tasks, then each task's main score against its compute per run; a point
    whose compute or score is missing is left out."""
    overall = suite_scores(frame, registry)
    costs = []
    for (model, mode), runs in ranked_runs(frame, registry).groupby(["model", "mode"], sort=True):
        flops = _suite_flops(runs).get(mode)
        found = intervals.suites.get((model, suite, mode))
        costs.append(plots.Cost(model, f"{SUITE_TITLES.get(suite, suite)} score", mode, overall.get((model, mode)),
                                found.low if found else None, found.high if found else None, flops))
    for (task, model, mode), runs in frame.groupby(["task", "model", "mode"], sort=True):
        main = intervals.scores.get((model, suite, task, mode), {}).get(MAIN)
        costs.append(plots.Cost(model, task, mode, _strict_mean(runs["main_score"]), main.low if main else None,
                                main.high if main else None, _strict_mean(runs["flops"])))
    return [cost for cost in costs if not (cost.flops is None or cost.score is None or pd.isna(cost.flops)
                                           or pd.isna(cost.score))]


def _bars(frame: pd.DataFrame, suite: str, intervals: Intervals) -> list[plots.Bar]:
    bars = []
    for (model, task, mode), group in frame.groupby(["model", "task", "mode"], sort=True):
        if group["main_score"].isna().any():
            continue  # an undefined score has no bar
        main = intervals.scores.get((model, suite, task, mode), {}).get(MAIN)
        bars.append(plots.Bar(model, task, mode, float(group["main_score"].mean()),
                              main.low if main else None, main.high if main else None))
    return bars


def write_leaderboards(reports: str | Path, out_dir: str | Path, registry: TaskRegistry = REGISTRY,
                       resamples: int = uncertainty.DEFAULT_RESAMPLES) -> list[Path]:
    """Write <suite>.md (and <suite>.png) for every suite with results; returns the files written."""
    written = []
    for name, content in render_leaderboards(reports, registry, resamples).items():
        path = Path(out_dir) / name
        atomic_write(path, content)
        written.append(path)
    return written


def check_leaderboards(reports: str | Path, out_dir: str | Path, registry: TaskRegistry = REGISTRY,
                       resamples: int = uncertainty.DEFAULT_RESAMPLES) -> list[Path]:
    """The files in `out_dir` that differ from what the reports produce (empty when all are current).

    Markdown must match byte for byte, and a leaderboard of a suite that no longer has results is
    stale too. A plot only has to exist: PNG bytes vary with the matplotlib and FreeType versions,
    and every number a plot shows is also in its markdown file, which is compared.
    """
    expected = render_leaderboards(reports, registry, resamples)
    out = Path(out_dir)
    stale = [out / name for name, content in expected.items()
             if not (out / name).is_file() or (name.endswith(".md") and (out / name).read_bytes() != content)]
    known = set(registry.suites()) | set(SUITE_TITLES)
    stale += [out / f"{suite}.md" for suite in sorted(known)
              if f"{suite}.md" not in expected and (out / f"{suite}.md").is_file()]
    return stale

