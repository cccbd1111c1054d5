"""`harness export --format card`: a model card for one model's results, ready as a Hub repository's README.md.

Its metadata is the model-index (harness.export, built and checked through huggingface_hub); its section
shows, per suite and task, every official metric frozen and fine-tuned with 95% bootstrap intervals, the
main score's difference with its paired interval, and where the numbers come from (model weights, harness
commits, data files or Hub datasets, seeds, split strategies, libraries).
"""
from __future__ import annotations

from collections import defaultdict

import yaml

from harness import uncertainty
from harness.render import SUITE_TITLES, markdown_table, score_cell, source_text
from harness.results import ResultSet, RunResult

MODES = ("frozen", "finetune")


def model_card(result_set: ResultSet, model: str, metadata: dict,
               resamples: int = uncertainty.DEFAULT_RESAMPLES) -> str:
    """The card: the metadata as YAML front matter, then the results section."""
    runs = [run for run in result_set.runs if run.result.model == model]
    intervals = result_set.intervals(resamples)
    by_task: dict[tuple[str, str], dict[str, list[RunResult]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        by_task[(run.result.suite, run.result.task)][run.result.mode].append(run.result)
    suites = sorted({suite for suite, _ in by_task}, key=lambda s: (list(SUITE_TITLES).index(s)
                                                                   if s in SUITE_TITLES else len(SUITE_TITLES), s))
    lines = ["---", yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
             "## Evaluation results", "",
             f"`{model}` evaluated with harness on {', '.join(SUITE_TITLES.get(s, s) for s in suites)}, each task in "
             "two modes on the same splits and seeds: **frozen encoder** (the encoder never trains; a head learns "
             "on its features) and **fine-tuned** (every weight trains). Scores are 0-100 on the official "
             "metrics, with 95% bootstrap intervals over the evaluation examples in brackets (several seeds: "
             "mean ± std, and the interval of the mean); Δ is fine-tuned minus frozen on the main score, with its "
             "paired bootstrap interval."]
    for suite in suites:
        lines += ["", f"### {SUITE_TITLES.get(suite, suite)}", ""]
        lines += markdown_table(["task", "metric", "frozen encoder", "fine-tuned", "Δ main [95% interval]"],
                                _rows(suite, by_task, result_set, model, intervals))
        lines += _notes(suite, by_task)
    lines += ["", "### Provenance", "", *_provenance([run.result for run in runs])]
    return "\n".join(lines) + "\n"


def _rows(suite: str, by_task: dict, result_set: ResultSet, model: str, intervals: uncertainty.Intervals
          ) -> list[list[str]]:
    """Per task: its main score (with Δ), then each official metric, frozen and fine-tuned."""
    rows = []
    for (task_suite, task), modes in sorted(by_task.items()):
        if task_suite != suite:
            continue
        spec = result_set.spec(next(iter(modes.values()))[0])
        names = list(spec.metrics) if spec else sorted({n for runs in modes.values() for n in runs[0].scores})
        main = " + ".join(spec.main_score) if spec else "as recorded"
        delta = intervals.deltas.get((model, suite, task))
        delta_text = f"{delta.estimate:+.2f} [{delta.low:+.2f}, {delta.high:+.2f}]" if delta else "–"
        cells = {mode: intervals.scores.get((model, suite, task, mode), {}) for mode in MODES}
        rows.append([f"{task}{_marks(modes)}", f"**main** ({main})",
                     *(score_cell([r.main_score for r in modes[m]], cells[m].get(uncertainty.MAIN))
                       if m in modes else "–" for m in MODES), delta_text])
        for name in names:
            values = {m: [r.scores[name] for r in modes[m] if name in r.scores] for m in MODES if m in modes}
            if not any(values.values()):
                continue
            rows.append(["", name, *(score_cell(values[m], cells[m].get(name))
                                     if values.get(m) and len(values[m]) == len(modes[m]) else "–" for m in MODES), ""])
    return rows


def _marks(modes: dict[str, list[RunResult]]) -> str:
    """† for a split other than the official one, ‡ for sample caps, § for flagged scores (see the notes)."""
    results = [r for runs in modes.values() for r in runs]
    return ((" †" if any(r.split_strategy != "official" for r in results) else "")
            + (" ‡" if any(r.capped for r in results) else "") + (" §" if any(r.flags for r in results) else ""))


def _notes(suite: str, by_task: dict) -> list[str]:
    """What the marks of the suite's tasks stand for, task by task."""
    notes = []
    for (task_suite, task), modes in sorted(by_task.items()):
        if task_suite != suite:
            continue
        results = [r for mode in MODES for r in modes.get(mode, [])]
        said = []
        strategies = sorted({r.split_strategy for r in results} - {"official"})
        if strategies:
            said.append(f"† trained and scored on a {'/'.join(strategies)} split of the labelled validation data "
                        "(no official train split at hand)")
        caps = sorted({", ".join(f"{k}={v}" for k, v in sorted(r.capped.items())) for r in results if r.capped})
        if caps:
            said.append(f"‡ sample caps {'; '.join(caps)}")
        said += [f"§ {flag['message']}" for flag in {f["code"]: f for r in results for f in r.flags}.values()]
        if said:
            notes.append(f"- `{task}`: {'; '.join(said)}")
    return ["", *notes] if notes else []


def _provenance(results: list[RunResult]) -> list[str]:
    """Model weights, harness versions and commits, seeds, data sources and library versions of the runs."""
    models = sorted({_model_text(r.provenance.get("model", {})) for r in results})
    commits: dict[str, set] = defaultdict(set)
    for r in results:
        commits[str(r.provenance.get("harness_version", "?"))].add(f"`{str(r.provenance.get('git_commit'))[:12]}`")
    harness = [f"{version} (commits {', '.join(sorted(found))})" for version, found in sorted(commits.items())]
    sources = sorted({f"{r.suite}/{r.task}: {source_text(split, source)}" for r in results
                      for split, source in sorted(r.provenance.get("data", {}).items())})
    libraries: dict[str, set] = defaultdict(set)
    for r in results:
        for name, version in r.provenance.get("libraries", {}).items():
            libraries[name].add(str(version))
    versions = ", ".join(f"{name} {'/'.join(sorted(found))}" for name, found in sorted(libraries.items()))
    return [f"- Model: {'; '.join(models)}",
            f"- harness: {', '.join(harness)}",
            f"- Seeds: {', '.join(map(str, sorted({r.seed for r in results})))}",
            f"- Libraries: {versions or 'not recorded'}",
            "- Data:", *(f"  - {source}" for source in sources)]


def _model_text(model: dict) -> str:
    """The evaluated weights: Hub id and revision, and their sha256 where recorded."""
    text = f"`{model.get('hub_id') or model.get('name', '?')}`"
    if model.get("revision"):
        text += f" revision `{model['revision']}`"
    if model.get("weights_sha256"):
        text += f", weights sha256 `{model['weights_sha256'][:16]}`"
    return text
