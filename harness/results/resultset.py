"""A result set: every run under a reports folder, read once, for the renderers to share.

Leaderboards, reports and exports all render from a ResultSet, so each result file is parsed in one
place, bad files are skipped the same way everywhere (and named with the reason), a run's
predictions are read at most once however many sections use them, and the bootstrap intervals of
a set are computed once.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from harness import uncertainty
from harness.errors import DataError, HarnessError
from harness.results import verify
from harness.results.store import RESULT_FILE, RunResult, read_result
from harness.tasks import REGISTRY, TaskRegistry, TaskSpec

log = logging.getLogger("harness")


class Run(NamedTuple):
    """A run folder and the result in it (a plain pair where harness.uncertainty expects one)."""

    folder: Path
    result: RunResult

    @property
    def predictions_path(self) -> Path:
        return self.folder / self.result.predictions_file


class ResultSet:
    """The readable runs of a reports folder in sorted path order, with the problems of the unreadable ones."""

    def __init__(self, runs: list[Run], problems: list[str], registry: TaskRegistry = REGISTRY,
                 curve_runs: list[Run] | None = None):
        self.runs = runs  # runs on the whole train split: what leaderboards, exports and intervals show
        self.curve_runs = curve_runs or []  # a learning curve's smaller train sizes (harness.curves draws them)
        self.problems = problems  # one message per skipped file, naming it and saying what is wrong
        self.registry = registry
        self._rows: dict[Path, list[dict]] = {}
        self._samples: dict[Path, uncertainty.Predictions | uncertainty.UnitSample] = {}
        self._intervals: dict[int, uncertainty.Intervals] = {}

    @classmethod
    def load(cls, reports: str | Path, registry: TaskRegistry = REGISTRY) -> ResultSet:
        """Every result under `reports`; unreadable files are skipped, logged and kept in `problems`. Runs on
        a subset of the train split (learning curves) are kept apart, in `curve_runs`."""
        root = Path(reports)
        if not root.is_dir():
            raise DataError(f"reports folder {root} does not exist; run `harness eval` first or pass the right folder")
        runs, problems = [], []
        for path in sorted(root.rglob(RESULT_FILE)):
            try:
                runs.append(Run(path.parent, read_result(path)))
            except DataError as err:
                problems.append(str(err))
                log.warning("skipped %s", err)
        _tell_namesakes_apart(runs)
        _refuse_duplicates(runs)
        whole = [run for run in runs if run.result.train_size is None]
        return cls(whole, problems, registry, [run for run in runs if run.result.train_size is not None]).verified()

    @classmethod
    def of_run(cls, folder: str | Path, registry: TaskRegistry = REGISTRY) -> ResultSet:
        """The one run in a run folder; unlike load, an unreadable result raises: there is nothing else to show."""
        folder = Path(folder)
        if not (folder / RESULT_FILE).is_file():
            raise DataError(f"{folder} holds no {RESULT_FILE}; pass a run folder such as "
                            "reports/<model>/glue/sst2/frozen-seed42")
        return cls([Run(folder, read_result(folder / RESULT_FILE))], [], registry).verified()

    def verified(self) -> ResultSet:
        """This set, once every run has proved itself (harness.results.verify): its folder is its own, and its
        recorded scores and row count are what its predictions give. DataError naming the first that is not."""
        for run in [*self.runs, *self.curve_runs]:
            verify.check_folder(run.folder, run.result)
            rows = verify.prediction_rows(run.folder, run.result)
            if rows is not None:
                self._rows[run.folder] = rows
            verify.check_scores(run.folder, run.result, self.spec(run.result), rows)
        return self

    @property
    def results(self) -> list[RunResult]:
        return [run.result for run in self.runs]

    def spec(self, result: RunResult) -> TaskSpec | None:
        return task_spec(self.registry, result.suite, result.task)

    def rows(self, run: Run) -> list[dict]:
        """The run's prediction rows as written, read on first use."""
        if run.folder not in self._rows:
            self._rows[run.folder] = uncertainty.read_prediction_rows(run.predictions_path)
        return self._rows[run.folder]

    def sample(self, run: Run) -> uncertainty.Predictions | uncertainty.UnitSample:
        """What the bootstrap resamples for this run (harness.uncertainty.read_sample), read on first use."""
        if run.folder not in self._samples:
            self._samples[run.folder] = uncertainty.read_sample(run.predictions_path, self.spec(run.result))
        return self._samples[run.folder]

    def intervals(self, resamples: int = uncertainty.DEFAULT_RESAMPLES) -> uncertainty.Intervals:
        """Bootstrap intervals of every (model, task, mode) and paired deltas, computed once per resample count."""
        if resamples not in self._intervals:
            self._intervals[resamples] = uncertainty.run_intervals(self.runs, self.registry, resamples)
        return self._intervals[resamples]


def _tell_namesakes_apart(runs: list[Run]) -> None:
    """Results name their model by its folder's name, so two local models in folders of one name (two
    checkpoints called `model`) share it; their run folders do not (<model slug>/<suite>/<task>/<run>). Where
    one name spans several slugs, each of its results goes by its slug, so no table mixes the two models."""
    slugs = defaultdict(set)
    for run in runs:
        slugs[run.result.model].add(run.folder.parents[2].name)
    for run in runs:
        if len(slugs[run.result.model]) > 1:
            run.result.model = run.folder.parents[2].name


def _refuse_duplicates(runs: list[Run]) -> None:
    """DataError naming two result files of one run (model, task, mode, seed, train size): a copied folder would
    count as another seed and shrink its spread."""
    seen: dict[tuple, Path] = {}
    for run in runs:
        r = run.result
        key = (r.model, r.suite, r.task, r.mode, r.seed, r.train_size)
        if key in seen:
            raise DataError(f"{seen[key] / RESULT_FILE} and {run.folder / RESULT_FILE} are results of one run ({r.model} "
                            f"{r.suite}/{r.task} {r.mode} seed {r.seed}); keep one of them (a copied folder?)")
        seen[key] = run.folder


def load_results(reports: str | Path) -> tuple[list[RunResult], list[str]]:
    """Every result under `reports` and the problems of the files skipped, for callers that need no more."""
    results = ResultSet.load(reports)
    return results.results, results.problems


def task_spec(registry: TaskRegistry, suite: str, task: str) -> TaskSpec | None:
    """The definition of a result's task, or None where this checkout does not define it: results outlive
    task files, and a renderer then shows what the result itself holds."""
    try:
        return registry.get(f"{suite}/{task}")
    except HarnessError:
        return None
