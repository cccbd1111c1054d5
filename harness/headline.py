"""README's headline results, from the results: per suite and model, the suite score frozen and fine-tuned, and
what the rows say (which model leads, where fine-tuning pays, what pretraining buys over a random-weights control,
what a tokenizer that fits badly costs), each a sentence whose numbers come from the results.

`python -m harness.headline` rewrites both between README's markers from the committed reports/;
`python -m harness.headline --check` exits 1 when README's table differs from what they give (a test runs the
same check), so the front page never states a score the results no longer give. The per-task tables, the
intervals and the notes are the leaderboards'.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from harness.errors import ConfigError
from harness.leaderboard_cells import MODE_WORDS, MODES, model_labels, suite_delta_text, versus_text
from harness.models import MAJORITY, RANDOM_INIT, RANDOM_PREFIX
from harness.render import SUITE_TITLES, markdown_table, score_text
from harness.results import ResultSet
from harness.results.frame import results_frame
from harness.suite_scores import ranked_runs, suite_coverage, suite_score_runs, suite_scores
from harness.tasks import REGISTRY, TaskRegistry

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
FINDINGS = ("<!-- findings:start -->", "<!-- findings:end -->")


def headline_table(reports: str | Path, registry: TaskRegistry = REGISTRY) -> str:
    """Per suite (linked to its leaderboard) and model: the suite score of each mode where it ran the mode's full task
    set (the leaderboard's rule; else how many of those tasks it ran, and no score), the tasks it averages, and
    fine-tuned minus frozen; the suites in SUITE_TITLES' order, then any other."""
    frame = results_frame(ResultSet.load(reports, registry).results, registry)
    rows = []
    for suite in _suites(frame):
        runs = frame[frame["suite"] == suite]
        scored, coverage = ranked_runs(runs, registry), suite_coverage(runs, registry)
        overall, labels = suite_scores(runs, registry), model_labels(runs)
        title = SUITE_TITLES.get(suite, suite)
        for model in sorted(runs["model"].unique()):
            frozen, tuned = (overall.get((model, mode)) for mode in MODES)
            found = [coverage.get((model, mode)) for mode in MODES]
            rows.append([f"[{title}](leaderboards/{suite}.md)", labels[model],
                         *(("partial" if cover and not cover.complete else score_text(score))
                           for score, cover in zip((frozen, tuned), found)),
                         suite_delta_text(frozen, tuned, scored[scored["model"] == model]),
                         " / ".join("–" if cover is None else str(len(cover.full)) if cover.complete
                                    else cover.share() for cover in found)])
    header = ["suite", "model", "frozen", "fine-tuned", "Δ (fine-tuned − frozen)", "tasks (frozen / fine-tuned)"]
    return "\n".join(markdown_table(header, rows))


def _suites(frame: pd.DataFrame) -> list[str]:
    present = set(frame["suite"])
    return [suite for suite in SUITE_TITLES if suite in present] + sorted(present - set(SUITE_TITLES))


def findings(reports: str | Path, registry: TaskRegistry = REGISTRY) -> str:
    """What the rows say, one bullet per finding, per suite: the suite ranking of the models that ran the full task
    set (the leaderboard's), the leader on the tasks several pretrained models ran, where fine-tuning beats frozen
    features, pretrained minus its random-weights control (and whether the control sits above the majority
    baseline), and the gap of a model whose tokenizer fits the texts badly."""
    results = ResultSet.load(reports, registry)
    everything = results_frame(results.results, registry)
    ranked = {suite: _ranking(everything[everything["suite"] == suite], suite, registry, results.intervals())
              for suite in _suites(everything)}
    frame = suite_score_runs(everything, registry)
    frame = frame.groupby(["suite", "task", "model", "mode"], as_index=False).agg(
        main_score=("main_score", "mean"), model_kind=("model_kind", "first"),
        fit_warning=("tokenizer_fit", lambda fits: any((fit or {}).get("warning") for fit in fits)))
    frame = frame[frame["main_score"].notna()]
    lines = []
    for suite in [suite for suite in SUITE_TITLES if suite in set(frame["suite"])]:
        runs = frame[frame["suite"] == suite]
        title = SUITE_TITLES[suite]
        lines += (ranked.get(suite, []) + _leaders(runs, title) + _fine_tuning(runs, title) + _controls(runs, title)
                  + _misfits(runs, title))
    return "\n".join(f"- {line}" for line in lines) or "- (no results)"


def _ranking(runs: pd.DataFrame, suite: str, registry: TaskRegistry, intervals) -> list[str]:
    """Per mode where several models ran the suite's tasks: the suite scores of those that ran the full task set,
    best first, each other against the best with its paired interval (the leaderboard's Ranking), then the models
    left unranked and how many of those tasks they ran; no score is compared over other tasks."""
    overall, coverage, labels = suite_scores(runs, registry), suite_coverage(runs, registry), model_labels(runs)
    title, lines = SUITE_TITLES.get(suite, suite), []
    for mode in MODES:
        mine = {model: found for (model, of), found in sorted(coverage.items()) if of == mode}
        scored = sorted((model for model, found in mine.items()
                         if found.complete and not pd.isna(overall[(model, mode)])),
                        key=lambda model: (-overall[(model, mode)], model))
        unranked = [f"{labels[model]} {found.share()}" for model, found in mine.items()
                    if not found.complete]
        if not scored or (len(scored) < 2 and not unranked):
            continue
        full = next(iter(mine.values())).full
        ranked = [f"{labels[model]} {score_text(overall[(model, mode)])}"
                  + ("" if model == scored[0] else f" ({versus_text(intervals, model, suite, None, mode)})")
                  for model in scored]
        lines.append(f"{title}, {MODE_WORDS[mode]}, ranked on the full set of {len(full)} tasks "
                     f"({', '.join(sorted(full))}): {', '.join(ranked)}"
                     + (f"; unranked, having run only some of them: {', '.join(unranked)}" if unranked else "") + ".")
    return lines


def _scores(runs: pd.DataFrame, model: str, mode: str) -> dict[str, float]:
    chosen = runs[(runs["model"] == model) & (runs["mode"] == mode)]
    return dict(zip(chosen["task"], chosen["main_score"]))


def _pretrained(runs: pd.DataFrame) -> list[str]:
    kinds = runs.groupby("model")["model_kind"].first()
    return sorted(model for model, kind in kinds.items() if kind not in (MAJORITY, RANDOM_INIT))


def _leaders(runs: pd.DataFrame, title: str) -> list[str]:
    lines = []
    for mode in MODES:
        table = pd.DataFrame({model: _scores(runs, model, mode) for model in _pretrained(runs)})
        table = table[table.notna().sum(axis=1) >= 2]  # tasks more than one pretrained model ran
        if table.empty:
            continue
        best = {task: sorted(scores[scores == scores.max()].index) for task, scores in table.iterrows()}
        wins = pd.Series([models[0] for models in best.values() if len(models) == 1], dtype=object).value_counts()
        counts = ", ".join(f"`{model}` {count}" for model, count in wins.items())
        ties = len(table) - int(wins.sum())
        tasks = ", ".join(f"{task} " + " = ".join(f"`{model}`" for model in models) for task, models in best.items())
        lines.append(f"{title}, {MODE_WORDS[mode]}: of the {len(table)} task{'s' * (len(table) > 1)} more than one "
                     f"pretrained model ran, the best score is {counts or 'nobody alone'}"
                     f"{f' ({ties} tied)' if ties else ''} ({tasks}).")
    return lines


def _fine_tuning(runs: pd.DataFrame, title: str) -> list[str]:
    lines = []
    for model in _pretrained(runs):
        frozen, tuned = _scores(runs, model, "frozen"), _scores(runs, model, "finetune")
        both = sorted(set(frozen) & set(tuned))
        if both:
            ahead = [task for task in both if tuned[task] > frozen[task]]
            mean = sum(tuned[task] - frozen[task] for task in both) / len(both)
            lines.append(f"{title}, `{model}`: fine-tuning beats its frozen features on {len(ahead)} of {len(both)} "
                         f"tasks ({', '.join(ahead) or 'none'}); mean fine-tuned − frozen {mean:+.2f}.")
    return lines


def _controls(runs: pd.DataFrame, title: str) -> list[str]:
    lines = []
    majority = runs[runs["model_kind"] == MAJORITY]
    for control in sorted(set(runs.loc[runs["model_kind"] == RANDOM_INIT, "model"])):
        model = control[len(RANDOM_PREFIX):]
        for mode in MODES:
            random, trained = _scores(runs, control, mode), _scores(runs, model, mode)
            both = sorted(set(random) & set(trained))
            if not both:
                continue
            gaps = [trained[task] - random[task] for task in both]
            floor = dict(zip(majority["task"], majority["main_score"]))
            between = [task for task in both if task in floor and floor[task] <= random[task] <= trained[task]]
            lines.append(f"{title}, {MODE_WORDS[mode]}: pretraining buys `{model}` {sum(gaps) / len(gaps):+.2f} over "
                         f"`{control}` on average over {len(both)} tasks ({min(gaps):+.2f} to {max(gaps):+.2f}); the "
                         f"control sits between the majority baseline and the pretrained model on {len(between)} of "
                         f"{sum(task in floor for task in both)} ({', '.join(between) or 'none'}).")
    return lines


def _misfits(runs: pd.DataFrame, title: str) -> list[str]:
    """A pretrained model whose tokenizer fit warns on most of its tasks, against the best-fitting other model on
    the tasks both ran."""
    lines = []
    pretrained = runs[runs["model"].isin(_pretrained(runs))]
    warned = pretrained.groupby("model")["fit_warning"].mean()
    for model in sorted(warned[warned > 0.5].index):
        for other in sorted(warned[warned == 0].index):
            for mode in MODES:
                mine, theirs = _scores(runs, model, mode), _scores(runs, other, mode)
                both = sorted(set(mine) & set(theirs))
                if both:
                    gap = sum(mine[task] - theirs[task] for task in both) / len(both)
                    lines.append(f"{title}, {MODE_WORDS[mode]}: `{model}`, whose tokenizer fits these texts badly (the "
                                 f"leaderboard's fit columns), scores {gap:+.2f} against `{other}` on average over "
                                 f"{len(both)} tasks ({', '.join(f'{task} {mine[task] - theirs[task]:+.2f}' for task in both)}).")
    return lines


def with_headline(readme: str, table: str, found: str | None = None) -> str:
    """README's text with `table` between its results markers (and `found` between its findings markers, where
    given), everything else as it was."""
    readme = _between(readme, (START, END), table)
    return readme if found is None else _between(readme, FINDINGS, found)


def _between(text: str, markers: tuple[str, str], content: str) -> str:
    start, end = markers
    if start not in text or end not in text:
        raise ConfigError(f"README has no {start} ... {end} markers to hold the headline results")
    before, rest = text.split(start, 1)
    return f"{before}{start}\n{content}\n{end}{rest.split(end, 1)[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.headline", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when README's table is stale")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    current = with_headline(text, headline_table(ROOT / "reports"), findings(ROOT / "reports"))
    if args.check:
        if current != text:
            print("harness: README's headline results are out of date; run `python -m harness.headline` and commit",
                  file=sys.stderr)
            return 1
        print("README's headline results are current")
        return 0
    README.write_text(current, encoding="utf-8")
    print(f"wrote the headline results into {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
