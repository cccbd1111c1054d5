"""evaluate(): the one entry point. A run is a model, a task and a mode; the CLI only calls this.

Flow: TaskSpec -> data (splits) -> runner (frozen or finetune) -> predictions -> metrics -> RunResult.
"""
from __future__ import annotations

import functools
import logging
import os
import shutil
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from harness.config import (BEHAVIOUR_ONLY, FINETUNE_ONLY, FROZEN_ONLY, MODEL_ONLY, MODES, RunConfig, Selection,
                            differing_settings)
from harness.curves import plan_text
from harness.data.files import resolve_data_dir
from harness.data.sizes import clamp_sizes, sized_plan
from harness.data.splits import SplitPlan, absent_data, eval_only_plan, load_splits, plan_splits
from harness.errors import ConfigError, DataError, HarnessError, TaskError, interruptible
from harness.flops import PHASES as COMPUTE_PHASES
from harness.flops import compute_record
from harness.learning_rate import choose_learning_rate
from harness.metrics import main_score
from harness.metrics.generation import SignedScores
from harness.models import (MAJORITY, ModelRef, check_bertscore_layer, check_layers, check_max_length,
                            finetune_pooling, resolve_model)
from harness.precision import check_precision, resolve_precision
from harness.progress import Progress, time_planned
from harness.render import score_text
from harness.results import (RESULT_FILE, RunResult, device_info, environment, read_result, run_dir, writable_folder,
                             write_run)
from harness.results.lock import run_lock
from harness.results.verify import why_unfinished
from harness.runners import is_main_process
from harness.runners.base import LR_SEARCH_PHASE, PHASES, Runner
from harness.runners.features import FeatureCache, FeatureExtractor, examples_fingerprint
from harness.runners.finetune import train_epochs
from harness.runners.majority import MajorityRunner
from harness.shapes import shape_of
from harness.tasks import GENERATION_SUFFIX, REGISTRY, TaskRegistry, TaskSpec, generation_view
from harness.tokenizer_fit import FIT_METHOD, tokenizer_fit
from harness.work_units import WorkUnit, resume_keeps, share, unit_of_run, work_units

log = logging.getLogger("harness")
CHECKPOINTS = "checkpoints"  # inside a run's folder, one sub-folder per fold under k-fold
CAPS = ("max_train_samples", "max_eval_samples")  # settings that cap the examples, recorded when set
LR_SEARCH = "lr-search"  # inside a run's folder while the learning rate is searched (learning_rate.py)


@dataclass
class Evaluation:
    """What a call to evaluate() produced: results (every seed's, in the order they ran), the tasks it skipped with
    the reason, and the files it wrote besides the runs' own (learning curves, leaderboards)."""

    results: list[RunResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)


@interruptible
def evaluate(
    model: str | None = None,
    tasks: list[str] | None = None,
    suite: str | None = None,
    mode: str = "both",
    *,
    data_dir: str | Path | None = None,
    output_dir: str | Path = "runs",
    config: RunConfig | None = None,
    revision: str | None = None,
    trust_remote_code: bool = False,
    seeds: list[int] | None = None,
    train_sizes: list[int | None] | None = None,
    shard: tuple[int, int] | None = None,
    leaderboard_dir: str | Path | None = None,
    registry: TaskRegistry = REGISTRY,
    cache: FeatureCache | None = None,
    units: list[WorkUnit] | None = None,
    say: Callable[[str], None] | None = None,
    **overrides,
) -> Evaluation:
    """Run `model` on the tasks of `suite` (or the named `tasks`) in frozen, finetune or both modes: everything
    `harness eval` does, whose options (Selection's fields) are this call's keywords and RunConfig's the `config`
    or `overrides` (e.g. epochs=1).

    Tasks without usable data are skipped with a reason when a whole suite was asked for, but a suite of which
    no task could run is an error, as is a task named explicitly that cannot. Every finished run is written
    before the next one starts. `seeds` runs the whole evaluation once per seed (default: the config's seed);
    `train_sizes` (a learning curve) runs every mode at each size, a nested seeded subset of the train split
    (None: all), then writes each task's curve; `shard` (I, N) runs only the I-th of N shares of the work units
    plan_units() lists, `units` only those given; `leaderboard_dir` is rewritten from `output_dir` at the end.
    `say` receives the lines said before the runs (a shard's share, a learning curve's plan and estimate):
    print for a console, the log by default. Ctrl-C raises harness.errors.Interrupted, a KeyboardInterrupt
    saying how to continue.
    """
    if seeds and "seed" in overrides:
        raise ConfigError("pass seeds (several) or seed (one), not both")
    config = (config or RunConfig()).replace(**overrides)
    check_precision(config.precision, config.device)  # before anything loads
    if config.device == "cuda":
        config.torch_device()  # refused here where torch sees no GPU; `auto` resolves where a model runs
    # the same checks as `harness eval`'s options, before anything loads
    Selection(model=model, revision=revision, suite=suite, tasks=tasks, mode=mode, data_dir=data_dir,
              output_dir=output_dir, seeds=seeds, train_sizes=train_sizes, trust_remote_code=trust_remote_code,
              leaderboard_dir=leaderboard_dir, shard=shard)
    say = say or log.info
    if leaderboard_dir:  # under a launch, rank 0 alone writes
        writable_folder(leaderboard_dir, "--leaderboard-dir", create=is_main_process())
    seeds = seeds or [config.seed]
    plan = plan_units(tasks, suite, mode, data_dir=data_dir, seeds=seeds, train_sizes=train_sizes, config=config,
                      registry=registry, model=model, shard=shard)
    if plan.shard_note:
        say(plan.shard_note)
    mine = plan.units if units is None else [unit for unit in plan.units if unit in set(units)]
    evaluation = Evaluation(skipped=dict(plan.skipped))
    if not mine:  # another share holds every unit
        return evaluation
    progress = Progress(mine, output_dir, resolve_model(model, revision, trust_remote_code), config, registry)
    if train_sizes:
        say(_curve_plan(registry.select(suite, tasks), train_sizes, run_modes(mode, model), seeds, progress,
                        output_dir))
    for seed in seeds:  # results are one folder per seed, so each seed is a whole evaluation of its own
        if not any(unit.seed == seed for unit in mine):  # another share's
            continue
        ran = _evaluate_seed(model, tasks, suite, mode, data_dir=data_dir, output_dir=output_dir,
                             config=config.replace(seed=seed), revision=revision,
                             trust_remote_code=trust_remote_code, registry=registry, cache=cache,
                             train_sizes=train_sizes, units=mine, progress=progress)
        evaluation.results.extend(ran.results)
        evaluation.skipped.update(ran.skipped)
    if is_main_process():  # under a launch, rank 0 alone writes
        if train_sizes:
            from harness.curves import write_task_curves

            evaluation.written.extend(write_task_curves(output_dir))
        if leaderboard_dir:
            from harness.leaderboard import write_leaderboards

            evaluation.written.extend(write_leaderboards(output_dir, leaderboard_dir))
    return evaluation


def _curve_plan(specs: list[TaskSpec], train_sizes: list[int | None], modes: list[str], seeds: list[int],
                progress: Progress, output_dir: str | Path) -> str:
    """What a learning curve will run and how long it should take (harness.progress scales earlier runs in
    `output_dir`)."""
    sizes = sorted(set(train_sizes), key=lambda size: (size is None, size or 0))
    return (plan_text([spec.id for spec in specs], sizes, modes, seeds) + "\n  " +
            time_planned(progress.estimates(), output_dir))


def _evaluate_seed(model: str | None, tasks: list[str] | None, suite: str | None, mode: str, *,
                   data_dir: str | Path | None, output_dir: str | Path, config: RunConfig, revision: str | None,
                   trust_remote_code: bool, registry: TaskRegistry, cache: FeatureCache | None,
                   train_sizes: list[int | None] | None, units: list[WorkUnit], progress: Progress) -> Evaluation:
    """One seed's evaluation (config.seed): those of `units` that are its, each reported to `progress`."""
    evaluation = Evaluation()
    groups = _groups(suite, tasks, mode, config, registry, evaluation, data_dir)
    source_dir = resolve_data_dir(data_dir)
    if not groups:
        raise _nothing_ran(suite, evaluation.skipped)
    model_ref = resolve_model(model, revision, trust_remote_code).seeded(config.seed)
    if config.format == "n2m" and config.bertscore_model is None and model_ref.kind == MAJORITY:
        raise ConfigError("--model majority has no model for BERTScore to read text-to-text views with; pass "
                          "--bertscore-model (the model the runs it is compared with use)")
    if config.format == "n2m" and config.bertscore_model is None:  # BERTScore with the evaluated model as loaded
        config = config.replace(bertscore_model=model_ref.location, bertscore_revision=model_ref.revision,
                                bertscore_trust_remote_code=model_ref.trust_remote_code)
    # here, not after the compute, when the result is written (by rank 0 alone, under a launch)
    writable_folder(output_dir, "--output-dir", create=is_main_process())
    context = _Context(model_ref, config, Path(output_dir), cache)
    modes = run_modes(mode, model)
    if model_ref.kind != MAJORITY:  # the baseline reads no tokens and caches no features
        if "frozen" in modes and is_main_process():  # rank 0 alone writes the cache under a launch
            context.extractor.cache.check_writable()  # given up, with a warning, before any compute where it cannot be
            _check_layers(config.layers, model_ref,
                          [spec for base, dependents in groups for spec in (base, *dependents)])
        check_max_length(model_ref, config.max_length, context.extractor.facts)
    if config.bertscore_model is not None and config.bertscore_layer is not None:
        check_bertscore_layer(config.bertscore_layer, resolve_model(
            config.bertscore_model, config.bertscore_revision, config.bertscore_trust_remote_code))
    planned = work_units(_group_ids(groups), modes, [config.seed], train_sizes)
    wanted = set(units)
    mine = [unit for unit in planned if unit in wanted]
    context.refuse_replacing(groups, mine)

    for base, dependents in groups:
        group_units = [unit for unit in mine if unit.task == base.id]
        if not group_units:  # another share's
            continue
        try:
            plan = plan_splits(base, load_splits(base, source_dir), config.split_strategy, config.seed,
                               config.max_train_samples, config.max_eval_samples)
            sizes = clamp_sizes(train_sizes or [None], min(len(f.train) for f in plan.folds), base.id)
            sized = {size: plan if size is None else sized_plan(base, plan, size, config.seed) for size in sizes}
            for size, each in sized.items():
                _check_trainable(base, each, modes, config, size)
        except DataError as err:
            if tasks:  # the user named this task: a missing dataset is an error, not a skip
                raise
            for spec in (base, *dependents):
                evaluation.skipped[spec.id] = str(err)
            progress.not_running(group_units)
            continue
        progress.read(base.id, plan)
        context.measure_fit(base, plan)
        dependent_plans = {}
        for spec in dependents:
            try:
                dependent_plans[spec.id] = (spec, eval_only_plan(spec, load_splits(spec, source_dir, ("validation",)),
                                                               config.max_eval_samples, config.seed))
            except DataError as err:
                evaluation.skipped[spec.id] = str(err)
                continue
            context.measure_fit(spec, dependent_plans[spec.id][1])
        train_rows = min(len(f.train) for f in plan.folds)
        for size, each in sized.items():
            with context.locked([base, *(spec for spec, _ in dependent_plans.values())], modes, size):
                for run_mode in modes:
                    unit = unit_of_run(planned, base.id, run_mode, config.seed, size, train_rows)
                    if unit not in group_units:
                        continue
                    folder = run_dir(output_dir, model_ref.slug, base.suite, base.name, run_mode, config.seed, size)
                    progress.starting(unit, config, kept=_finished(config.resume, folder, bool(dependent_plans), base))
                    results = context.run(base, each, run_mode, list(dependent_plans.values()), size, population=plan)
                    progress.finished(unit, results[0])
                    evaluation.results.extend(results)
        progress.not_running(group_units)  # those a larger size ran as the whole split
    if tasks and evaluation.skipped:
        raise DataError("; ".join(f"{name}: {why}" for name, why in evaluation.skipped.items()))
    if not evaluation.results:
        raise _nothing_ran(suite, evaluation.skipped)
    return evaluation


def _finished(resume: bool, folder: Path, scores_others: bool, task: TaskSpec) -> bool:
    """Whether --resume finds the unit finished (its result there, proving itself): what progress counts as kept."""
    if not resume_keeps(resume, folder, scores_others):
        return False
    try:
        return why_unfinished(folder, read_result(folder / RESULT_FILE), task) is None
    except DataError:
        return False


def _nothing_ran(suite: str | None, skipped: dict[str, str]) -> DataError:
    reasons = dict.fromkeys(skipped.values())  # tasks scored with another's model share its reason
    return DataError(f"no task of --suite {suite} could run ({len(skipped)} skipped): " + "; ".join(reasons))


def _check_trainable(task: TaskSpec, plan: SplitPlan, modes: list[str], config: RunConfig,
                     size: int | None = None) -> None:
    """DataError when a fold's training examples (at a learning curve's `size`) cannot train the task's model in
    a mode (one class, say), before anything trains on them."""
    for fold in plan.folds:
        for mode in modes:
            problem = shape_of(task).training_problem(task, fold.train, mode)
            if problem:
                advice = (f"use train sizes above {size}" if size is not None else
                          f"raise --max-train-samples (now {config.max_train_samples})" if config.max_train_samples
                          else "check the training data's labels")
                raise DataError(f"{task.id}: {problem}; {advice}")


@dataclass
class Plan:
    """The work units evaluate() runs, in order, and the tasks it skips before anything loads, with the reason;
    with a shard, that share of the units and a line saying so."""

    units: list[WorkUnit]
    skipped: dict[str, str] = field(default_factory=dict)
    shard_note: str = ""


def plan_units(tasks: list[str] | None = None, suite: str | None = None, mode: str = "both", *,
               data_dir: str | Path | None = None, seeds: list[int] | None = None,
               train_sizes: list[int | None] | None = None, config: RunConfig | None = None,
               registry: TaskRegistry = REGISTRY, model: str | None = None, shard: tuple[int, int] | None = None,
               **overrides) -> Plan:
    """The work units evaluate() runs with the same arguments, for each of `seeds` (default: the config's), in
    the order it runs them (with `shard` (I, N): the I-th of N shares of them), and the tasks it skips; nothing is
    read but the task files and which data files are there: a suite's tasks whose files are not in the data dir
    are skipped, as evaluate skips them (from the Hub, that is known only once the data loads), and a suite of
    which none can run is the same error."""
    config = (config or RunConfig()).replace(**overrides)
    evaluation = Evaluation()
    groups = _groups(suite, tasks, mode, config, registry, evaluation, data_dir)
    if not groups:
        raise _nothing_ran(suite, evaluation.skipped)
    planned = work_units(_group_ids(groups), run_modes(mode, model), seeds or [config.seed], train_sizes)
    if shard is None:
        return Plan(planned, evaluation.skipped)
    mine = share(planned, *shard)
    return Plan(mine, evaluation.skipped,
                f"shard {shard[0]}/{shard[1]}: {len(mine)} of the plan's {len(planned)} work units")


def _groups(suite, tasks, mode: str, config: RunConfig, registry: TaskRegistry, evaluation: Evaluation,
            data_dir: str | Path | None) -> list[tuple[TaskSpec, list[TaskSpec]]]:
    """The trained tasks a run asks for, each with the tasks scored by its model, checked before anything
    loads (the options before the data dir); a suite's tasks without a text-to-text view (--format n2m) or
    without their files in the data dir go to `evaluation.skipped` (a named one is an error)."""
    if mode not in MODES:
        raise ConfigError(f"--mode {mode!r} is not one of {', '.join(MODES)}")
    if not suite and not tasks:
        raise ConfigError("say which tasks to run: --suite glue or --tasks glue/sst2,glue/mrpc")
    specs = registry.select(suite, tasks)
    if config.format == "n2m":
        specs = _views(specs, evaluation, named=bool(tasks))
    if config.layer_sweep:
        _check_layer_sweep(specs, mode, named=bool(tasks))
    return _with_data(_training_groups(specs, registry), resolve_data_dir(data_dir), config.split_strategy,
                      evaluation, named=bool(tasks))


def _with_data(groups: list[tuple[TaskSpec, list[TaskSpec]]], data_dir: Path | None, strategy: str,
               evaluation: Evaluation, named: bool) -> list[tuple[TaskSpec, list[TaskSpec]]]:
    """The groups, each without the tasks whose files are not in the data dir (a trained task's missing takes
    the tasks scored by its model along): those go to `evaluation.skipped`, or, named, stop the run."""
    kept, absent = [], {}
    for base, dependents in groups:
        why = absent_data(base, data_dir, strategy)
        if why:
            absent.update(dict.fromkeys([base.id, *(spec.id for spec in dependents)], why))
            continue
        for spec in dependents:
            if why := absent_data(spec, data_dir, None):
                absent[spec.id] = why
        kept.append((base, [spec for spec in dependents if spec.id not in absent]))
    if named and absent:
        raise DataError("; ".join(dict.fromkeys(absent.values())))
    evaluation.skipped.update(absent)
    return kept


def _group_ids(groups: list[tuple[TaskSpec, list[TaskSpec]]]) -> list[tuple[str, list[str]]]:
    return [(base.id, [spec.id for spec in dependents]) for base, dependents in groups]


def run_modes(mode: str, model: str | None) -> list[str]:
    """The modes a run of `model` (as --model names it) makes for --mode: both is frozen then finetune. The majority
    baseline trains nothing, so it runs once whatever the mode, recorded as frozen (MajorityRunner.mode): one
    folder per task and seed for --resume, one result per leaderboard row."""
    if model == MAJORITY:
        return [MajorityRunner.mode]
    return ["frozen", "finetune"] if mode == "both" else [mode]


def _views(specs: list[TaskSpec], evaluation: Evaluation, named: bool) -> list[TaskSpec]:
    """Each task's text-to-text view; in a whole suite, a task without one is skipped with the reason."""
    views = []
    for spec in specs:
        try:
            views.append(generation_view(spec))
        except TaskError as err:
            if named:
                raise
            evaluation.skipped[spec.id] = str(err)
    return views


def _check_layer_sweep(specs: list[TaskSpec], mode: str, named: bool) -> None:
    """--layer-sweep retrains a frozen head per hidden state: refuse, before any compute, a run with no frozen
    side or a named task whose frozen runner has no head that reads one state alone; in a whole suite, those
    tasks run without the sweep and a warning says so."""
    if mode == "finetune":
        raise ConfigError("--layer-sweep retrains the frozen head on each layer; use it with --mode frozen or both")
    unswept = [spec for spec in specs if not shape_of(spec).frozen_runner.sweeps_layers]
    if not unswept:
        return
    which = ", ".join(f"{spec.id} ({shape_of(spec).name} shape)" for spec in unswept)
    if named:
        raise ConfigError(f"--layer-sweep: no frozen head of {which} reads one hidden state alone; "
                          "run it without --layer-sweep")
    log.warning("--layer-sweep: no frozen head of %s reads one hidden state alone; it runs without the sweep", which)


def _check_layers(layers: str, model_ref: ModelRef, specs: list[TaskSpec]) -> None:
    """--layers against the model's config and the tasks' frozen heads, before any forward pass: only the token
    heads learn a scalar mix."""
    runners = {spec.id: shape_of(spec).frozen_runner for spec in specs}
    if not any(runner.reads_features for runner in runners.values()):
        return  # a decoder trained on the frozen encoder reads no --layers
    check_layers(layers, model_ref)
    pooled = [task for task, runner in runners.items() if runner.reads_features and not runner.mixes_layers]
    if layers == "mix" and pooled:
        raise ConfigError(f"--layers mix (a learned scalar mix) is trained by the token-level heads; the pooled heads "
                          f"of {', '.join(pooled)} choose their layer by inner cross-validation: use --layers best "
                          "(or auto)")


def _training_groups(specs: list[TaskSpec], registry: TaskRegistry) -> list[tuple[TaskSpec, list[TaskSpec]]]:
    """Pair each trained task with the tasks scored by its model (MNLI with MNLI-mm and AX)."""
    groups: dict[str, tuple[TaskSpec, list[TaskSpec]]] = {}
    for spec in specs:
        view = GENERATION_SUFFIX if spec.name.endswith(GENERATION_SUFFIX) else ""  # a view is scored by a view
        base = registry.get(spec.model_from + view) if spec.model_from else spec
        groups.setdefault(base.id, (base, []))
        if spec.model_from:
            groups[base.id][1].append(spec)
    return list(groups.values())


class _Context:
    """What every run of one evaluate() call shares: the model, the settings, the frozen encoder."""

    def __init__(self, model_ref: ModelRef, config: RunConfig, output_dir: Path, cache: FeatureCache | None):
        self.model_ref, self.config, self.output_dir = model_ref, config, output_dir
        self.extractor = FeatureExtractor(model_ref, config, cache)  # loads nothing until a frozen runner reads
        self.environment = environment()
        self.majority = model_ref.kind == MAJORITY  # the baseline: no model, MajorityRunner runs every task
        self.fits: dict[str, dict | None] = {}  # task id -> its tokenizer fit (measure_fit)

    def runner_class(self, task: TaskSpec, mode: str) -> type[Runner]:
        """What makes the task's run in `mode`: its shape's runner, or the majority baseline's (no model)."""
        return MajorityRunner if self.majority else shape_of(task).runner_class(mode)

    def measure_fit(self, task: TaskSpec, plan: SplitPlan) -> None:
        """How the model's tokenizer fits the texts the task's runs encode (every fold's training and evaluation
        examples), measured by tokenizing them once, before anything computes; a poor fit is warned of in one line.
        The majority baseline reads no text through a tokenizer: nothing to measure."""
        if self.majority:
            return
        examples = list({id(ex): ex for fold in plan.folds for ex in (*fold.train, *fold.eval)}.values())
        fields, cache = shape_of(task).input_fields, self.extractor.cache
        # kept beside the features, so a rerun whose features are all cached loads no tokenizer
        key = "fit-" + cache.key(model=self.extractor.encoding, data=examples_fingerprint(examples, fields),
                                 max_length=self.config.max_length, seed=self.config.seed, method=FIT_METHOD)
        kept = cache.record(key)
        if kept is not None and "fit" in kept and (kept["fit"] is None or isinstance(kept["fit"], dict)):
            fit = kept["fit"]
        else:
            fit = tokenizer_fit(self.extractor.tokenizer, examples, fields, self.config.max_length, self.config.seed)
            if is_main_process():
                cache.put_record(key, {"fit": fit})
        self.fits[task.id] = fit
        if fit and fit["warning"]:
            log.warning("%s: %s", task.id, fit["warning"])

    def mode_config(self, task: TaskSpec, mode: str) -> RunConfig:
        """The settings of the task's run in `mode`, with --precision and --finetune-pooling as its runner resolves
        them: what the run records, --resume compares and its scoring (BERTScore) runs in (the majority baseline runs
        no model: its settings as given)."""
        if self.majority:
            return self.config
        runner = self.runner_class(task, mode)
        precision = resolve_precision(self.config.precision, self.config.device, training=runner.backpropagates)
        pooling = self.finetune_pooling if runner.sequence_head else self.config.finetune_pooling
        return self.config.replace(precision=precision, finetune_pooling=pooling)

    @functools.cached_property
    def finetune_pooling(self) -> str:
        """--finetune-pooling resolved for this model (auto: what it declares), read once per call."""
        return finetune_pooling(self.config.finetune_pooling, self.model_ref)

    def directory(self, task: TaskSpec, mode: str, train_size: int | None = None) -> Path:
        return run_dir(self.output_dir, self.model_ref.slug, task.suite, task.name, mode, self.config.seed,
                       train_size)

    @contextmanager
    def locked(self, tasks: list[TaskSpec], modes: list[str], train_size: int | None = None):
        """Hold the run folders of these tasks and modes while the block runs, so that a second process
        running any of them into the same folder stops before it computes anything (rank 0 alone writes)."""
        with ExitStack() as held:
            if is_main_process():
                for task in tasks:
                    for mode in modes:
                        held.enter_context(run_lock(self.directory(task, mode, train_size)))
            yield

    def refuse_replacing(self, groups: list[tuple[TaskSpec, list[TaskSpec]]], units: list[WorkUnit]) -> None:
        """Stop before any compute where a folder these units write holds a finished result made with other
        settings than asked now, unless --overwrite: nothing replaces a result unasked, whatever the folder."""
        if self.config.overwrite:
            return
        trained = {base.id: (base, *dependents) for base, dependents in groups}
        for unit in units:
            config = self.mode_config(trained[unit.task][0], unit.mode)
            for spec in trained[unit.task]:
                path = self.directory(spec, unit.mode, unit.train_size) / RESULT_FILE
                differs = _differing(read_result(path), unit.mode, config, self.majority) if path.is_file() else []
                if differs:
                    raise ConfigError(f"{path} was run with other settings: {'; '.join(differs)}; rerun with those "
                                      "(--resume keeps it), choose another --output-dir, or add --overwrite to "
                                      "replace it")

    def run(self, task: TaskSpec, plan: SplitPlan, mode: str, dependents, train_size: int | None = None,
            population: SplitPlan | None = None) -> list[RunResult]:
        """Train on each fold, score the task (and the tasks scored with its model), write results. With a
        `train_size`, each fold's train set is a subset of `population`'s (a learning curve's smaller size).

        Under a launch (torchrun), a run whose runner reads the shared features is rank 0's: the other ranks
        extract their shares of its features, then return its results (runners/ranks.py)."""
        shards = self.extractor.shards if self.runner_class(task, mode).reads_features else None
        if shards is None:
            return self._run(task, plan, mode, dependents, train_size, population)
        if not shards.main:
            return self.extractor.serve()
        results = None
        try:
            results = self._run(task, plan, mode, dependents, train_size, population)
        finally:
            shards.finish(results)
        return results

    def _run(self, task: TaskSpec, plan: SplitPlan, mode: str, dependents, train_size: int | None,
             population: SplitPlan | None) -> list[RunResult]:
        directory = self.directory(task, mode, train_size)
        config = self.mode_config(task, mode)
        if resume_keeps(config.resume, directory, bool(dependents)):
            finished = read_result(directory / RESULT_FILE)
            unfinished = why_unfinished(directory, finished, task)
            if unfinished:  # its predictions do not read back whole: the unit runs again
                log.warning("%s %s: running again (--resume): %s", task.id, mode, unfinished)
            else:
                kept = self._kept(task, mode, finished, directory, config)
                if kept is not None:
                    return [kept]
        started = time.perf_counter()
        shape = shape_of(task)
        fold_scores, rows, runner, truncated, chosen, sweeps, steps = [], [], None, 0, [], [], []
        phases = dict.fromkeys(PHASES, 0.0)
        flops, compute_notes = dict.fromkeys(COMPUTE_PHASES, 0.0), []
        sweep_seconds = 0.0
        for fold_index, fold in enumerate(plan.folds):
            fold_name = f"fold-{fold_index}" if len(plan.folds) > 1 else ""
            searching = time.perf_counter()
            rate = self._learning_rate(task, mode, fold.train, config, directory / LR_SEARCH / fold_name)
            fold_config = config
            if rate:  # each fold searches on its own train part (learning_rate.py says why)
                phases[LR_SEARCH_PHASE] = phases.get(LR_SEARCH_PHASE, 0.0) + time.perf_counter() - searching
                fold_config = config.replace(learning_rate=rate["learning_rate"])
            runner = self._runner(task, mode, directory / CHECKPOINTS / fold_name, fold_config)
            if train_size is not None:
                runner.draws_from(population.folds[fold_index].train)
            runner.fit(fold.train)
            predictions = runner.predict(fold.eval)
            if self.config.layer_sweep and runner.sweeps_layers:
                swept = time.perf_counter()
                sweeps.append({layer: dict(shape.score(task, fold.eval, layer_predictions, config))
                               for layer, layer_predictions in runner.layer_sweep(fold.train, fold.eval)})
                sweep_seconds += time.perf_counter() - swept
            truncated += runner.truncated
            chosen.append({**rate, **runner.choices})
            steps.append(runner.train_steps)
            scores = SignedScores.of(shape.score(task, fold.eval, predictions, config))
            scores.merge(runner.extra_scores(fold.eval))
            fold_rows = shape.rows(task, fold.eval, predictions, fold_index)
            for name, values in scores.per_example.items():  # for the bootstrap of mean scores
                for row, value in zip(fold_rows, values):
                    row[name] = value
            fold_scores.append(scores)
            rows.extend(fold_rows)
            if fold_index == 0:
                dependent_outputs = [(spec, dplan, runner.predict(dplan.folds[0].eval)) for spec, dplan in dependents]
            for phase, seconds in runner.timings.items():
                phases[phase] = phases.get(phase, 0) + seconds  # PHASES, and a frozen run's extracted_inputs
            for phase, count in runner.compute.items():
                flops[phase] += count
            compute_notes.append(runner.compute_note)
        timings = {
            **{k: round(v, 3) for k, v in phases.items()},
            # the run's own protocol: the sweep, an analysis beside it, is timed apart (layer_sweep_s)
            "total_s": round(time.perf_counter() - started - sweep_seconds, 3),
            "trainable_parameters": runner.trainable_parameters,
        }
        if sweeps:
            timings["layer_sweep_s"] = round(sweep_seconds, 3)
        if steps[0] is not None:  # the first fold's, as its epochs are the run's (RunResult.epochs_run)
            timings["train_steps"] = steps[0]
        if runner.resumed_from_step is not None:
            timings["resumed_from_step"] = runner.resumed_from_step
        if shape.truncated_unit:
            timings[f"truncated_{shape.truncated_unit}"] = truncated  # scored as wrong; the baseline drops them
            if truncated:
                log.warning("%s %s: %d %s lay past --max-length %d and were scored as unpredicted; "
                            "raise --max-length", task.id, mode, truncated, shape.truncated_unit,
                            self.config.max_length)
        timings.update(_throughput(mode, plan, timings, chosen[0].get("epochs", self.config.epochs)))
        compute = compute_record(flops, "; ".join(dict.fromkeys(note for note in compute_notes if note)))
        results = [self._write(task, plan, mode, config, fold_scores, rows, timings, runner, chosen, train_size,
                               compute, _swept_layers(sweeps, task.main_score))]
        for spec, dplan, predictions in dependent_outputs:
            dependent_shape = shape_of(spec)
            scores = SignedScores.of(dependent_shape.score(spec, dplan.folds[0].eval, predictions, config))
            drows = dependent_shape.rows(spec, dplan.folds[0].eval, predictions, 0)
            results.append(self._write(spec, dplan, mode, config, [scores], drows, timings, runner, chosen,
                                       train_size, compute))
        if is_main_process():
            remove_checkpoints(directory)
        return results

    def _kept(self, task: TaskSpec, mode: str, result: RunResult, directory: Path,
              config: RunConfig) -> RunResult | None:
        """--resume keeps a finished result as it is where it ran with the settings asked for now (`config`, the
        mode's); one that ran with others is run again (None): refuse_replacing let it through, so --overwrite
        was given."""
        differs = _differing(result, mode, config, self.majority)
        if differs:
            log.warning("%s %s: running again (--overwrite): the finished result had %s", task.id, mode,
                        "; ".join(differs))
            return None
        if is_main_process():
            remove_checkpoints(directory)  # left over where a run was killed while deleting them
        log.info("%s %s: finished result kept (--resume)", task.id, mode)
        return result

    def _learning_rate(self, task: TaskSpec, mode: str, train: list[dict], config: RunConfig, workdir: Path) -> dict:
        """Where the runner trains at --learning-rate and none was given: the rate an inner holdout of `train`
        chooses and how (learning_rate.py), for the run's `chosen`; else nothing."""
        if config.learning_rate is not None or not shape_of(task).runner_class(mode).searches_learning_rate:
            return {}
        shape = shape_of(task)
        return choose_learning_rate(
            task, train, config, model=self.extractor.encoding, cache=self.extractor.cache, workdir=workdir,
            build=lambda short, folder: self._runner(task, mode, folder, short),
            score=lambda examples, predictions: main_score(dict(shape.score(task, examples, predictions, config)),
                                                           task.main_score))

    def _runner(self, task: TaskSpec, mode: str, checkpoints: Path, config: RunConfig) -> Runner:
        if self.majority:
            return MajorityRunner(task)
        return shape_of(task).runner(task, mode, extractor=self.extractor, model_ref=self.model_ref,
                                     config=config, checkpoints=checkpoints)

    def _write(self, task, plan, mode, config: RunConfig, fold_scores: list[SignedScores], rows, timings,
               runner: Runner, chosen: list[dict], train_size: int | None, compute: dict,
               sweep: dict | None = None) -> RunResult:
        """The run's result, written with `config` (the mode's) as its hyperparameters; `chosen` holds each fold's
        runner.choices (recorded when any is set), `compute` its counted FLOPs (flops.compute_record), `sweep` the
        run's layer sweep (_swept_layers)."""
        scores = {k: float(np.mean([s[k] for s in fold_scores])) for k in fold_scores[0]}
        std = {k: float(np.std([s[k] for s in fold_scores])) for k in fold_scores[0]} if len(fold_scores) > 1 else {}
        capped = {k: v for k, v in self.config.as_dict().items() if k in CAPS and v}
        signed = bool(fold_scores[0].signatures or fold_scores[0].notes)  # what computed them, where known
        for note in fold_scores[0].notes:
            log.warning("%s %s: %s", task.id, mode, note)
        result = RunResult(
            suite=task.suite, task=task.name, task_version=task.version, model=self.model_ref.name,
            model_kind=self.model_ref.kind, mode=mode,
            seed=self.config.seed, scores=scores, main_score=main_score(scores, task.main_score),
            split_strategy=plan.strategy, split_note=plan.note, capped=capped, scores_std=std,
            flags=_flags(fold_scores), layer_sweep=sweep or {},
            num_train=sum(len(f.train) for f in plan.folds) // len(plan.folds),
            num_eval=sum(len(f.eval) for f in plan.folds),
            timings=timings,
            train_size=train_size,
            tokenizer_fit=self.fits.get(task.id) or {},
            compute=compute or {},
            provenance={
                **self.environment,
                "model": {"name": self.model_ref.name, "location": self.model_ref.location,
                          "hub_id": self.model_ref.hub_id, "revision": self.model_ref.revision,
                          **runner.fingerprint},
                "data": plan.sources,
                "split_strategy": plan.strategy,
                "seed": self.config.seed,
                "hyperparameters": {**config.as_dict(), **_chosen(chosen)},
                "device": device_info(runner.device),
                **({"metrics": {"signatures": fold_scores[0].signatures, "notes": fold_scores[0].notes}}
                   if signed else {}),
            },
        )
        if is_main_process():
            path = write_run(self.directory(task, mode, train_size), result, rows)
            log.info("%s %s: %s -> %s", task.id, mode, _summary(result), path)
        return result


def _swept_layers(per_fold: list[dict[int, dict[str, float]]], main: tuple[str, ...]) -> dict:
    """The result's `layer_sweep`: the task's main metrics and, per hidden state in order, its head's scores
    (each metric's mean over folds) and main score; empty when there was no sweep."""
    if not per_fold:
        return {}
    layers = []
    for layer in sorted(per_fold[0]):
        scores = {name: float(np.mean([fold[layer][name] for fold in per_fold])) for name in per_fold[0][layer]}
        layers.append({"layer": layer, "main": main_score(scores, main), "scores": scores})
    return {"main_score": list(main), "layers": layers}


def _differing(result: RunResult, mode: str, config: RunConfig, majority: bool = False) -> list[str]:
    """The settings a finished result ran with otherwise than `config` asks, among those its mode reads (the
    majority baseline's: none that only a model reads). --min-steps counts by what it changes, the epochs run: a
    full train set's fine-tune runs the same with or without it, so a learning curve's full size keeps the
    committed full-train run."""
    recorded = result.provenance.get("hyperparameters", {})
    other_mode = FINETUNE_ONLY if mode == "frozen" else FROZEN_ONLY + ("min_steps",)
    differs = differing_settings(recorded, config, BEHAVIOUR_ONLY + (MODEL_ONLY if majority else other_mode))
    if mode == "finetune":
        ran, now = result.epochs_run(config.epochs), train_epochs(config, result.num_train)
        if ran != now:
            differs.append(f"--min-steps {recorded.get('min_steps', 0)} (now {config.min_steps}): {ran:g} epochs "
                           f"(now {now:g})")
    return differs


def _chosen(per_fold: list[dict]) -> dict:
    """What the runners chose on train (inner cross-validation), as `chosen`: one fold's choices, or a list
    of each fold's under k-fold; nothing when they chose nothing."""
    if not any(per_fold):
        return {}
    return {"chosen": per_fold[0] if len(per_fold) == 1 else per_fold}


def _flags(fold_scores: list[SignedScores]) -> list[dict]:
    """What scoring flagged (Scores.flags) in any fold, each flag once."""
    found = {}
    for scores in fold_scores:
        for item in scores.flags:
            found.setdefault((item["code"], item["message"]), item)
    return list(found.values())


def remove_checkpoints(directory: Path) -> None:
    """Checkpoints exist to resume an interrupted run; once its result is written they go, renamed away
    first, so that a kill while deleting them leaves nothing that passes for a checkpoint."""
    doomed = directory / f".{CHECKPOINTS}-deleted"
    shutil.rmtree(doomed, ignore_errors=True)
    if (directory / CHECKPOINTS).exists():
        os.replace(directory / CHECKPOINTS, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def _throughput(mode: str, plan: SplitPlan, timings: dict, epochs: float) -> dict:
    """Examples per second of the phase that dominates each mode (fine-tuning: over the epochs it ran)."""
    train_examples = sum(len(f.train) for f in plan.folds)
    out = {}
    if mode == "finetune" and timings["training_s"] > 0:
        out["train_examples_per_s"] = round(train_examples * epochs / timings["training_s"], 2)
    if mode == "frozen" and timings["extraction_s"] > 0:  # the inputs it encoded: a curve's whole train split
        out["extraction_examples_per_s"] = round(timings["extracted_inputs"] / timings["extraction_s"], 2)
    return out


def _summary(result: RunResult) -> str:
    return ", ".join(f"{k} {score_text(v)}" for k, v in result.scores.items())


__all__ = ["evaluate", "plan_units", "Evaluation", "HarnessError", "Plan", "WorkUnit"]
