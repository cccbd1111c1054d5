"""The Notes under each leaderboard: what its marks, columns and rules mean. A legend that only some runs need
(flags, undefined scores, runs not made, precision, tokenizer fit) is written only where they occur, so leaderboards
without them keep their bytes.
"""
from __future__ import annotations

import pandas as pd

from harness import uncertainty
from harness.leaderboard_cells import FIT_MARK, FLAG_MARK, MODE_WORDS, MODES
from harness.models import MAJORITY
from harness.render import UNDEFINED, describe, source_text
from harness.results import task_spec
from harness.suite_scores import Coverage, suite_main_scores, suite_score_runs
from harness.tasks import TaskRegistry


def notes(frame: pd.DataFrame, registry: TaskRegistry, coverage: dict[tuple[str, str], Coverage],
          labels: dict[str, str], title: str, resamples: int) -> list[str]:
    """The Notes section of one suite's leaderboard: the suite score's rule, the marks, seeds, intervals, ranking,
    baselines, compute, tokenizer fit and data sources, each legend that only some runs need where they do."""
    return ["", "## Notes", "",
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
            "same indices, in id order); k-fold runs are resampled over their pooled out-of-fold predictions; no "
            "interval where a run's predictions file is missing or unreadable.",
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
                    in zip(suite_main_scores(frame, specs), frame["task"], frame["mode"], frame["seed"]) if ruled})
    if not ruled:
        return []
    return ["- Suite scores count an undefined MCC or R3 as 0, the rule of GLUE's official scorer (scikit-learn's "
            f"matthews_corrcoef); the task's own cell stays undefined: {', '.join(ruled)}."]


def _flag_legend(frame: pd.DataFrame) -> list[str]:
    """The legend of FLAG_MARK and each flagged run's caveats; nothing when no run is flagged,
    so leaderboards without flags keep their bytes."""
    if not frame["flagged"].any():
        return []
    return [f"- {FLAG_MARK} the run's scores carry a caveat, e.g. a score set by a convention rather than "
            "measured (the run's result.json lists its `flags`):", *_task_notes(frame, "flag_note")]


def _task_notes(frame: pd.DataFrame, column: str) -> list[str]:
    """Sub-bullets naming, per task, the split notes or sample caps its runs had."""
    lines = []
    for task, runs in frame.groupby("task", sort=True):
        found = sorted({describe(value) for value in runs[column] if value})
        if found:
            lines.append(f"  - `{task}`: {'; '.join(found)}")
    return lines


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


def _source_notes(frame: pd.DataFrame) -> list[str]:
    lines = []
    for task, runs in frame.groupby("task", sort=True):
        found = sorted({source_text(split, source) for data in runs["data"] for split, source in sorted(data.items())})
        lines.append(f"  - `{task}`: {'; '.join(found) if found else 'not recorded'}")
    return lines
