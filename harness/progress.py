"""Suite-level progress: one line before each work unit starts, with its estimated time and the time left.

Estimates scale measured throughput, each phase by what its time grows with: fine-tuning by optimisation steps
(the learning-rate search's too, where --learning-rate is unset), feature extraction by the examples encoded, a
frozen head by its training examples, evaluation by the examples scored, plus the fixed cost of a run (loading,
tokenising). A task's features are extracted once per seed: its first frozen unit encodes the whole train split (a
learning curve's smaller sizes read their rows of it) and the later ones read the cache. The measurements are runs
of the same mode, the same task's first (its texts have its lengths), this run's finished units before the earlier
results of the same model in --output-dir. A unit whose data is not read yet is sized from an earlier result of its
task under the same caps, else by the caps themselves. A fine-tune of a model no run has fine-tuned yet is
estimated from the model's size: the FLOPs of its steps at this machine's FLOP/s, measured by any earlier run's
counted compute. With nothing to scale from, the line says so.
"""
from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from harness.config import RunConfig
from harness.data.splits import KFOLD_K, SplitPlan
from harness.errors import DataError
from harness.learning_rate import search_steps
from harness.models import MAJORITY, ModelRef, weight_count
from harness.results import RESULT_FILE, RunResult, read_result
from harness.runners.base import LR_SEARCH_PHASE
from harness.runners.finetune import train_epochs
from harness.shape_registry import shape_of
from harness.tasks import REGISTRY, TaskRegistry
from harness.work_units import WorkUnit, resume_keeps

log = logging.getLogger("harness")


@dataclass(frozen=True)
class Rows:
    """How big a task's run is: its folds, each fold's training examples, and the evaluation examples of all."""

    folds: int
    train: int
    eval: int

    def sized(self, train_size: int | None) -> "Rows":
        return self if train_size is None else Rows(self.folds, min(train_size, self.train), self.eval)

    def work(self, mode: str, epochs: float, batch_size: int, encoded: int | None = None,
             searched: float = 0) -> dict[str, float]:
        """What each timed phase (harness.runners.base.PHASES) of a run this size has to get through; `encoded`:
        the examples its extraction encodes, where that is not its own train and eval examples; `searched`: the
        optimisation steps of a fine-tune's learning-rate search (every rate's, every fold's)."""
        if mode == "finetune":
            return {"training_s": self.folds * epochs * math.ceil(self.train / batch_size), LR_SEARCH_PHASE: searched,
                    "evaluation_s": self.eval}
        return {"extraction_s": self.folds * self.train + self.eval if encoded is None else encoded,
                "training_s": self.folds * self.train, "evaluation_s": self.eval}


@dataclass(frozen=True)
class Measured:
    """A finished run, as throughput: the work of each phase, its seconds, and the rest of its wall time."""

    task: str
    mode: str
    work: dict[str, float]
    seconds: dict[str, float]
    fixed: float

    @classmethod
    def of(cls, result: RunResult) -> "Measured":
        recipe = result.provenance.get("hyperparameters", {})
        rows = Rows(KFOLD_K if result.split_strategy == "kfold" else 1, result.num_train, result.num_eval)
        encoded = result.timings.get("extracted_inputs")
        if encoded is None and result.train_size is not None:  # written before the count: a curve's first frozen
            encoded = 0  # unit encoded the whole train split, not its own rows, so its time measures nothing
        batch_size = recipe.get("batch_size", RunConfig.batch_size)
        work = rows.work(result.mode, result.epochs_run(RunConfig.epochs), batch_size, encoded, _searched(result))
        seconds = {phase: float(result.timings.get(phase) or 0.0) for phase in work}
        fixed = max(0.0, float(result.timings.get("total_s") or 0.0) - sum(seconds.values()))
        return cls(result.task_id, result.mode, work, seconds, fixed)


def _searched(result: RunResult) -> float:
    """The optimisation steps a fine-tune's learning-rate search trained (every rate's, every fold's), where it ran
    rather than read its choice back from the cache (its timing then is a lookup's, far below the search's own)."""
    chosen = result.provenance.get("hyperparameters", {}).get("chosen")
    folds = chosen if isinstance(chosen, list) else [chosen]
    searches = [fold["learning_rate_search"] for fold in folds
                if isinstance(fold, dict) and "learning_rate_search" in fold]
    spent = float(result.timings.get(LR_SEARCH_PHASE) or 0.0)
    if not searches or spent < 0.5 * sum(search.get("search_s", 0.0) for search in searches):
        return 0.0
    return float(sum(search.get("steps_per_rate", 0) * len(search.get("grid", [])) for search in searches))


class Progress:
    """Says, before each unit of a run starts, which it is of how many, how long it should take and how long
    the run has left; units kept by --resume, skipped for missing data or merged into another are not counted."""

    def __init__(self, units: list[WorkUnit], output_dir: str | Path, model: ModelRef, config: RunConfig,
                 registry: TaskRegistry = REGISTRY):
        self.config, self.model, self.output_dir, self.registry = config, model, Path(output_dir), registry
        model_slug = model.slug
        self.pending = [unit for unit in units
                        if not resume_keeps(config.resume, unit.folder(output_dir, model_slug), bool(unit.scored))]
        self.several_seeds = len({unit.seed for unit in units}) > 1
        self.started = 0
        self.running: WorkUnit | None = None  # the unit started last, unless --resume kept its result
        self.earlier = _earlier_results(Path(output_dir) / model_slug)
        self.measured = [Measured.of(result) for result in self.earlier]
        self.this_run: list[Measured] = []
        self.ran: list[RunResult] = []  # this run's results, which measure this machine's FLOP/s too
        self.rows: dict[str, Rows] = {}  # task id -> its size at the whole train split, once its data is read
        self.extracted: set[tuple[str, int]] = set()  # (task, seed) of the frozen units started: features cached
        kept = len(units) - len(self.pending)
        again = sum((unit.folder(output_dir, model_slug) / RESULT_FILE).is_file() for unit in self.pending)
        log.info("%d work unit(s) to run%s", len(self.pending),
                 f"; {kept} finished earlier and kept (--resume)" if kept else
                 f", {again} of them finished earlier and run again (--resume keeps them)" if again else "")

    def read(self, task: str, plan: SplitPlan) -> None:
        """A task's data is read: the size of its runs is now known."""
        folds = plan.folds
        self.rows[task] = Rows(len(folds), min(len(f.train) for f in folds), sum(len(f.eval) for f in folds))

    def starting(self, unit: WorkUnit, config: RunConfig, kept: bool = False) -> None:
        """Log "[3/14] glue/rte finetune, 2,490 train rows, est. 6 min; about 40 min left in all", unless
        --resume keeps the unit's finished result (its run logs that)."""
        self.config = config
        self.not_running([unit])
        self.running = None if kept else unit
        if kept:
            return
        self.started += 1
        rows = self._rows(unit)
        seconds = self._estimate(unit, rows, self.extracted)
        if unit.mode == "frozen":
            self.extracted.add((unit.task, unit.seed))
        left = [seconds] + self.estimates()
        folds = f" x {rows.folds} folds" if rows.folds > 1 else ""
        log.info("[%d/%d] %s, %s train rows%s, est. %s; %s", self.started, self.started + len(self.pending),
                 unit.describe(with_seed=self.several_seeds), f"{rows.train:,}", folds,
                 "unknown" if seconds is None else duration(seconds), time_left(left))

    def estimates(self) -> list[float | None]:
        """Each unit still to run, in seconds (None where nothing scales to it yet)."""
        extracted, estimates = set(self.extracted), []
        for unit in self.pending:
            estimates.append(self._estimate(unit, self._rows(unit), extracted))
            if unit.mode == "frozen":
                extracted.add((unit.task, unit.seed))
        return estimates

    def finished(self, unit: WorkUnit, result: RunResult) -> None:
        """A unit is done: if it ran, its timings are this run's measurement of its mode."""
        if unit == self.running:
            self.this_run.append(Measured.of(result))
            self.ran.append(result)

    def not_running(self, units: list[WorkUnit]) -> None:
        """Units that will not run after all (kept, skipped, or the same run as another unit)."""
        self.pending = [unit for unit in self.pending if unit not in units]

    def _rows(self, unit: WorkUnit) -> Rows | None:
        """A unit's size."""
        whole = self._whole(unit.task)
        return None if whole is None else whole.sized(unit.train_size)

    def _whole(self, task: str) -> Rows | None:
        """A task's size at its whole train split: from its data once read, else from an earlier result of it,
        else, where both caps are given and folds are not asked for, the caps (what a capped run is at most)."""
        if task in self.rows:
            return self.rows[task]
        for result in self.earlier:
            if result.task_id == task and result.train_size is None:
                rows = _rows_under_caps(result, self.config)
                if rows is not None:
                    return rows
        caps = self.config.max_train_samples, self.config.max_eval_samples
        if all(caps) and self.config.split_strategy != "kfold":
            return Rows(1, *caps)
        return None

    def _estimate(self, unit: WorkUnit, rows: Rows | None, extracted: set[tuple[str, int]]) -> float | None:
        """Seconds the unit should take, or None when its size or its mode's throughput is unknown (a fine-tune's:
        also the model's size or this machine's FLOP/s). Each phase scales the first of these that timed it: the
        task's runs of this mode in this run, its earlier ones, then every task's of this mode in this run, and
        earlier. `extracted`: the (task, seed) whose features an earlier unit of this run extracts."""
        mode = [[m for m in runs if m.mode == unit.mode] for runs in (self.this_run, self.measured)]
        pools = [pool for pool in [[m for m in runs if m.task == unit.task] for runs in mode] + mode if pool]
        if rows is None:
            return None
        epochs = train_epochs(self.config, rows.train)
        encoded = None
        if (unit.task, unit.seed) in extracted:
            encoded = 0
        elif unit.train_size is not None:  # a curve's first frozen unit encodes the whole train split
            whole = self._whole(unit.task)
            encoded = whole.folds * whole.train + whole.eval
        work = rows.work(unit.mode, epochs, self.config.batch_size, encoded, self._searched(unit, rows))
        if not pools:
            return self._by_model_size(work) if unit.mode == "finetune" else None
        seconds = sum(m.fixed for m in pools[0]) / len(pools[0])
        for phase, amount in work.items():
            # a search's step, where no search was timed yet, as long as a final run's (its model builds and
            # holdout predictions left out); another phase never timed (features read from the cache) adds nothing
            per_unit = _per_unit(pools, phase) or (_per_unit(pools, "training_s") if phase == LR_SEARCH_PHASE else 0.0)
            seconds += amount * per_unit
        return seconds

    def _searched(self, unit: WorkUnit, rows: Rows) -> float:
        """The optimisation steps of the learning-rate search a fine-tune runs before training (harness.learning_rate:
        each rate of the grid, on each fold's train part), where --learning-rate is unset and its runner searches."""
        if unit.mode != "finetune" or self.config.learning_rate is not None or self.model.kind == MAJORITY:
            return 0.0
        if not shape_of(self.registry.get(unit.task)).runner_class(unit.mode).searches_learning_rate:
            return 0.0
        return float(rows.folds * len(self.config.learning_rate_grid) * search_steps(self.config, rows.train))

    def _by_model_size(self, work: dict[str, float]) -> float | None:
        """A fine-tune of a model no run has fine-tuned yet, from the model's size: 6 FLOPs per weight and token
        trained (2 forward, 4 backward), 2 per token evaluated, every example counted at --max-length tokens (padded
        to its batch's longest, none is longer: an upper bound), at this machine's measured FLOP/s."""
        rate = self._flop_rate()
        weights = self._weights if rate else None
        if not weights:
            return None
        trained = (work["training_s"] + work[LR_SEARCH_PHASE]) * self.config.batch_size
        return weights * self.config.max_length * (6 * trained + 2 * work["evaluation_s"]) / rate

    @functools.cached_property
    def _weights(self) -> int | None:
        return weight_count(self.model)

    @functools.cached_property
    def _every_model_earlier(self) -> list[RunResult]:
        return _earlier_results(self.output_dir)

    def _flop_rate(self) -> float | None:
        """This machine's FLOP/s: the counted FLOPs of fine-tunes' training over its seconds, in this run or earlier
        in --output-dir (any model), else of frozen feature extraction's (forward passes alone, which run faster
        than training's); None where no run counted any."""
        results = self.ran + self._every_model_earlier
        for mode, phase in (("finetune", "training"), ("frozen", "extraction")):
            timed = [(result.compute.get("flops_by_phase", {}).get(phase) or 0.0,
                      result.timings.get(f"{phase}_s") or 0.0) for result in results if result.mode == mode]
            timed = [(flops, seconds) for flops, seconds in timed if flops > 0 and seconds > 0]
            if timed:
                return sum(flops for flops, _ in timed) / sum(seconds for _, seconds in timed)
        return None


def _per_unit(pools: list[list[Measured]], phase: str) -> float:
    """Seconds per unit of a phase's work in the first pool that timed it (0 where none did)."""
    timed = next((found for pool in pools
                  if (found := [m for m in pool if m.seconds.get(phase, 0) > 0 and m.work.get(phase, 0) > 0])), [])
    return sum(m.seconds[phase] for m in timed) / sum(m.work[phase] for m in timed) if timed else 0.0


def _earlier_results(folder: Path) -> list[RunResult]:
    """Every readable result under a model's folder of --output-dir; an unreadable one only measures nothing."""
    results = []
    for path in sorted(folder.rglob(RESULT_FILE)) if folder.is_dir() else []:
        try:
            results.append(read_result(path))
        except DataError:
            continue
    return results


def _rows_under_caps(result: RunResult, config: RunConfig) -> Rows | None:
    """The size a run of the result's task has under the current caps and split strategy, where the result
    tells: it ran uncapped (the caps then cut it) or under the same caps, with the strategy this run would use."""
    caps = {"max_train_samples": config.max_train_samples, "max_eval_samples": config.max_eval_samples}
    if result.split_strategy not in ("official", config.split_strategy):
        return None
    if result.capped and result.capped != {k: v for k, v in caps.items() if v}:
        return None
    folds = KFOLD_K if result.split_strategy == "kfold" else 1
    per_fold_eval = result.num_eval // folds
    return Rows(folds, min(result.num_train, caps["max_train_samples"] or result.num_train),
                folds * min(per_fold_eval, caps["max_eval_samples"] or per_fold_eval))


def time_planned(estimates: list[float | None], output_dir: str | Path) -> str:
    """How long the units still to run should take, or why nothing says (`harness plan`, a curve's announcement)."""
    if not estimates:
        return "nothing left to run"
    if any(seconds is not None for seconds in estimates):
        return time_left(estimates)
    return f"no estimate (no earlier run of these tasks in {output_dir}, nor both caps, to scale from)"


def time_left(estimates: list[float | None]) -> str:
    known = [seconds for seconds in estimates if seconds is not None]
    if not known:
        return "time left unknown"
    unknown = len(estimates) - len(known)
    if unknown:
        return f"at least {duration(sum(known))} left in all ({unknown} unit(s) with nothing to scale from yet)"
    return f"about {duration(sum(known))} left in all"


def duration(seconds: float) -> str:
    """42 s, 6 min, 1 h 05 min."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60:02d} min"
