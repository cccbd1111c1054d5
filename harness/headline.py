"""README's headline results: per suite and model, the suite score frozen and fine-tuned, from the results.

`python -m harness.headline` rewrites the table between README's markers from the committed reports/;
`python -m harness.headline --check` exits 1 when README's table differs from what they give (a test runs the
same check), so the front page never states a score the results no longer give. The per-task tables, the
intervals and the notes are the leaderboards'.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import ConfigError
from harness.leaderboard import MODES, delta_text, model_labels, results_frame, suite_scores
from harness.render import SUITE_TITLES, markdown_table, score_text
from harness.results import ResultSet, task_spec
from harness.tasks import REGISTRY, TaskRegistry

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def headline_table(reports: str | Path, registry: TaskRegistry = REGISTRY) -> str:
    """Per suite (linked to its leaderboard) and model: the suite score of each mode and the tasks it averages,
    and fine-tuned minus frozen; the suites in SUITE_TITLES' order, then any other."""
    frame = results_frame(ResultSet.load(reports, registry).results, registry)
    present = set(frame["suite"])
    suites = [suite for suite in SUITE_TITLES if suite in present] + sorted(present - set(SUITE_TITLES))
    rows = []
    for suite in suites:
        runs = frame[frame["suite"] == suite]
        counted = runs[[getattr(task_spec(registry, suite, task), "in_suite_score", True) for task in runs["task"]]]
        overall, labels = suite_scores(runs, registry), model_labels(runs)
        title = SUITE_TITLES.get(suite, suite)
        for model in sorted(runs["model"].unique()):
            frozen, tuned = (overall.get((model, mode)) for mode in MODES)
            tasks = [counted[(counted["model"] == model) & (counted["mode"] == mode)]["task"].nunique()
                     for mode in MODES]
            rows.append([f"[{title}](leaderboards/{suite}.md)", labels[model], score_text(frozen), score_text(tuned),
                         delta_text(frozen, tuned), " / ".join(str(count) if count else "–" for count in tasks)])
    header = ["suite", "model", "frozen", "fine-tuned", "Δ (fine-tuned − frozen)", "tasks (frozen / fine-tuned)"]
    return "\n".join(markdown_table(header, rows))


def with_headline(readme: str, table: str) -> str:
    """README's text with `table` between its markers, everything else as it was."""
    if START not in readme or END not in readme:
        raise ConfigError(f"README has no {START} ... {END} markers to hold the headline results")
    before, rest = readme.split(START, 1)
    return f"{before}{START}\n{table}\n{END}{rest.split(END, 1)[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.headline", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when README's table is stale")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    current = with_headline(text, headline_table(ROOT / "reports"))
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
