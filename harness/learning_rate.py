"""The fine-tuning learning rate chosen on train, as frozen heads choose their L2 strength by inner CV.

Where --learning-rate is not given, each rate of --learning-rates fine-tunes a fresh copy of the model on most
of the training examples with a short schedule (the final run's warm-up and linear decay, compressed into a
share of its steps), is scored by the task's main score on the rest of them (an inner holdout, stratified and
grouped as --split-strategy holdout splits), and the best-scoring rate trains the final run. Nothing here sees an
evaluation example. Under k-fold each fold searches on its own train part: a rate chosen on one fold's train
would have seen the other folds' eval rows. The choice is recorded under the result's `chosen`, and cached (a
JSON record in the feature cache, keyed by the training examples, the model and every training setting), so a
--resume or a rerun reads it back instead of searching again.

Cost: every rate runs SEARCH_SHARE of the final run's steps split over the grid (MIN_STEPS each at least, so
that rates separate), plus a prediction over the holdout (HOLDOUT_CAP examples at most).
"""
from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from harness.config import RunConfig
from harness.data.splits import inner_holdout
from harness.runners.base import Runner
from harness.runners.checkpoints import training_record
from harness.runners.features import FeatureCache
from harness.runners.finetune import train_epochs
from harness.tasks import TaskSpec

INNER_FRACTION = 0.15  # of the training examples held out to score each rate
HOLDOUT_CAP = 2000  # examples held out at most: enough to rank rates, little to predict
SEARCH_SHARE = 0.2  # of the final run's optimisation steps, shared among the grid's rates
MIN_EXAMPLES = 40  # training examples the search needs at least (a holdout of 6); fewer take the grid's middle rate
MIN_STEPS = 30  # per rate at least: fewer leave every rate near its initial weights
SEARCH = 1  # bumped when the search changes what it chooses, so cached choices of the old search are not read


def search_steps(config: RunConfig, train_examples: int) -> int:
    """Optimisation steps each rate trains for: SEARCH_SHARE of the final run's, split over the grid."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    final = math.ceil(train_epochs(config, train_examples) * math.ceil(train_examples / (config.batch_size * world)))
    return max(MIN_STEPS, round(SEARCH_SHARE * final / len(config.learning_rate_grid)))


def choose_learning_rate(task: TaskSpec, train: list[dict], config: RunConfig, *, model: str, cache: FeatureCache,
                         build: Callable[[RunConfig, Path], Runner], score: Callable[[list[dict], object], float],
                         workdir: Path) -> dict:
    """`chosen`'s learning-rate entries for fine-tuning on `train`: an identical earlier search's (cached), else a
    new search's. `build(config, folder)` makes an untrained runner; `score(examples, predictions)` is the task's
    main score; `model` fingerprints the model (encoding_fingerprint); `workdir` holds the search's checkpoints
    while it runs."""
    key = "lr-search-" + cache.key(search=SEARCH, grid=list(config.learning_rate_grid), task=task.id,
                                   version=task.version, **training_record(config.replace(learning_rate=None),
                                                                           model, train))
    record = cache.record(key)
    if record is None or record.get("learning_rate") not in config.learning_rate_grid:
        record = _search(task, train, config, build, score, workdir)
        cache.put_record(key, record)
    return record


def _search(task: TaskSpec, train: list[dict], config: RunConfig, build, score, workdir: Path) -> dict:
    started = time.perf_counter()
    split = _inner_split(task, train, config.seed)
    if split is None:  # nothing to rank rates on: the grid's middle rate, said so
        grid = sorted(config.learning_rate_grid)
        return {"learning_rate": grid[len(grid) // 2], "learning_rate_search": {
            "grid": list(config.learning_rate_grid), "inner_scores": {},
            "reason": f"{len(train)} training examples are too few to hold some out: the grid's middle rate",
            "search_s": 0.0}}
    inner, held = split
    steps = search_steps(config, len(train))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    epochs = steps / math.ceil(len(inner) / (config.batch_size * world))  # Trainer runs ceil(epochs * per epoch)
    scores = {}
    try:
        for rate in config.learning_rate_grid:
            short = config.replace(learning_rate=rate, epochs=epochs, min_steps=0, resume=False, overwrite=True)
            runner = build(short, workdir / f"lr-{rate:g}")
            runner.fit(inner)
            scores[rate] = score(held, runner.predict(held, split="inner-holdout"))
            del runner
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    best = max(config.learning_rate_grid, key=lambda rate: (_comparable(scores[rate]), -rate))
    return {"learning_rate": best, "learning_rate_search": {
        "grid": list(config.learning_rate_grid),
        "inner_scores": {f"{rate:g}": round(value, 4) for rate, value in scores.items()},
        "reason": f"best main score on an inner holdout of train ({len(held)} of {len(train)} examples) after "
                  f"{steps} steps per rate",
        "steps_per_rate": steps, "inner_train": len(inner), "inner_holdout": len(held),
        "search_s": round(time.perf_counter() - started, 3)}}


def _inner_split(task: TaskSpec, train: list[dict], seed: int) -> tuple[list[dict], list[dict]] | None:
    """Train's inner part and holdout, or None where train is too small (or in too few groups) to split."""
    if len(train) < MIN_EXAMPLES:
        return None
    try:
        inner, held = inner_holdout(task, train, seed, min(INNER_FRACTION, HOLDOUT_CAP / len(train)))
    except ValueError:  # sklearn: too few groups to hold one out
        return None
    return (inner, held) if inner and held else None


def _comparable(value: float) -> float:
    """A score to rank by: NaN (an undefined metric, e.g. MCC of one predicted class) ranks last."""
    return value if math.isfinite(value) else -math.inf
