"""The fine-tuning learning rate chosen on train, as frozen heads choose their L2 strength by inner CV.

Where --learning-rate is not given, each rate of --learning-rates fine-tunes a fresh copy of the model on most
of the training examples with a short schedule (the final run's warm-up and linear decay, compressed into a
share of its steps), is scored by the task's main score on the rest of them (an inner holdout, stratified and
grouped as --split-strategy holdout splits), and the best-scoring rate (see Ties) trains the final run. Nothing here
sees an evaluation example. Under k-fold each fold searches on its own train part: a rate chosen on one fold's train
would have seen the other folds' eval rows. The choice is recorded under the result's `chosen`, and cached (a
JSON record in the feature cache, keyed by the training examples, the model and every training setting), so a
--resume or a rerun reads it back instead of searching again.

Ties: a short schedule measures rates on a small holdout, so several rates often score within noise of the best
(MRPC's four, committed, within 1.4 points on 551 examples). A rate is within noise of the best where the best beats
it in fewer than TIE_CONFIDENCE of the paired bootstrap resamples of the holdout (the same resamples for every
rate). Of the rates within noise, the lower median is chosen: a short schedule favours larger rates, so of rates
that tie after it a lower one is no worse after the full schedule, and the median keeps away from the grid's edges
where nothing separates the rates (an edge rate would then win by chance). `chosen` records the rates within noise
and the rule.

Cost: the rates share SEARCH_SHARE of the final run's optimisation steps (each MIN_STEPS at least, which the
defaults always afford a 4-rate grid: their fewest final steps are 200, 100 epochs of 2 batches), plus a prediction
over the holdout (HOLDOUT_CAP examples at most) per rate; the short runs write no checkpoints. Where the time goes
(all-MiniLM-L6-v2, 600 training rows, seed 42, one thread, cProfile and CPU seconds per phase): training steps,
about 90% of the search, each costing about as much as a final step (13% more in CPU: a fresh model's first steps);
predictions 4-8%; model loads and Trainer setup under 1%; checkpoint writes under 1% (now none). Before this budget
the search ran 30 steps per rate whatever the final run's length (50 when MRPC, RTE and STS-B were committed), so
under --min-steps 300 it took 40% of a 304-step final run's steps and more of a shorter one's: GLUE STS-B (600 rows,
defaults, 304 final steps) searched 120 steps in 150 CPU s beside 330 CPU s of final training (0.46; wall 1,032 s
beside 1,192 s, 0.87, on a 2-core machine under 5x load); now 60 steps in 81 CPU s beside 321 (0.25; wall 241 s
beside 505 s), choosing 2e-4 both times. On GLUE MRPC (600 rows, defaults) 15 steps per rate chose 2e-4 as 30 had
(inner 78.4 against 74.3, the majority's, for the three others; 30 steps: 79.9 against 74.3-76.8). GLUE MRPC (600
rows, --epochs 4 --min-steps 0, 76 final steps, where the floor binds): 120 steps, wall 1,210 s beside 817 s (1.48)
before; 40 steps, 91 CPU s beside 133 (0.68; wall 548 s beside 486 s) now, and there 10 steps separated no rate (all
four at the majority's 74.3, so the tie rule took 5e-5) where 30 had put 2e-4 ahead. The wall seconds the results
record (timings.learning_rate_search_s, training_s) follow the machine's load: the committed MRPC search's 1,025 s
beside 1,289 s ran 200 of 460 steps.
"""
from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from harness.config import RunConfig
from harness.data.splits import inner_holdout
from harness.errors import HarnessError
from harness.runners.base import Runner
from harness.runners.checkpoints import training_record
from harness.runners.features import FeatureCache
from harness.runners.finetune import train_epochs
from harness.shapes import shape_of
from harness.tasks import TaskSpec
from harness.uncertainty import MAIN, sample_of, score_distributions

INNER_FRACTION = 0.15  # of the training examples held out to score each rate
HOLDOUT_CAP = 2000  # examples held out at most: enough to rank rates, little to predict
SEARCH_SHARE = 0.2  # of the final run's optimisation steps, shared among the grid's rates
MIN_EXAMPLES = 40  # training examples the search needs at least (a holdout of 6); fewer take the grid's middle rate
MIN_STEPS = 10  # per rate at least: SEARCH_SHARE of the fewest final steps the defaults give (200), over 4 rates
TIE_RESAMPLES = 1000  # paired bootstrap resamples of the holdout that say which rates are within noise of the best
TIE_CONFIDENCE = 0.95  # the best must beat a rate in this share of them for the rate to count as worse
SEARCH = 2  # bumped when the search changes what it chooses, so cached choices of the old search are not read


def search_steps(config: RunConfig, train_examples: int) -> int:
    """Optimisation steps each rate trains for: SEARCH_SHARE of the final run's, split over the grid."""
    share = SEARCH_SHARE * final_steps(config, train_examples) / len(config.learning_rate_grid)
    return max(MIN_STEPS, math.floor(share))


def final_steps(config: RunConfig, train_examples: int) -> int:
    """Optimisation steps the final run takes on `train_examples` (Trainer's: whole epochs of whole batches)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return math.ceil(train_epochs(config, train_examples) * math.ceil(train_examples / (config.batch_size * world)))


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
    scores, draws = {}, {}
    try:
        for rate in config.learning_rate_grid:
            short = config.replace(learning_rate=rate, epochs=epochs, min_steps=0, resume=False, overwrite=True)
            runner = build(short, workdir / f"lr-{rate:g}")
            runner.keeps_checkpoints = False  # a short run that nothing resumes
            runner.fit(inner)
            predictions = runner.predict(held, split="inner-holdout")
            scores[rate], draws[rate] = score(held, predictions), _resampled(task, held, predictions)
            del runner
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    best = max(config.learning_rate_grid, key=lambda rate: (_comparable(scores[rate]), -rate))
    tied = sorted(rate for rate in config.learning_rate_grid
                  if rate == best or _within_noise(draws[best], draws[rate]))
    chosen = tied[(len(tied) - 1) // 2]
    reason = (f"best main score on an inner holdout of train ({len(held)} of {len(train)} examples) after {steps} "
              f"steps per rate" + (f"; {len(tied)} rates within noise of the best ({_tie_rule()}): their lower median"
                                   if len(tied) > 1 else ""))
    if not any(math.isfinite(value) for value in scores.values()):  # nothing ranks them: say so, as for too few
        grid = sorted(config.learning_rate_grid)
        chosen, tied = grid[len(grid) // 2], grid
        reason = (f"no rate's main score is defined on the inner holdout ({len(held)} of {len(train)} examples) "
                  f"after {steps} steps per rate (e.g. one class predicted throughout): the grid's middle rate")
    final = final_steps(config, len(train))
    return {"learning_rate": chosen, "learning_rate_search": {
        "grid": list(config.learning_rate_grid),
        "inner_scores": {f"{rate:g}": round(value, 4) for rate, value in scores.items()},
        "within_noise": [f"{rate:g}" for rate in tied],
        "reason": reason,
        "steps_per_rate": steps, "search_steps_share": round(steps * len(config.learning_rate_grid) / final, 4),
        "inner_train": len(inner), "inner_holdout": len(held),
        "search_s": round(time.perf_counter() - started, 3)}}


def _tie_rule() -> str:
    return f"beaten in under {TIE_CONFIDENCE:.0%} of {TIE_RESAMPLES} paired bootstrap resamples"


def _resampled(task: TaskSpec, held: list[dict], predictions) -> np.ndarray | None:
    """The main score on each paired bootstrap resample of the holdout (every rate's on the same resamples), or None
    where the task's main score cannot be recomputed from its prediction rows."""
    try:
        sample = sample_of(shape_of(task).rows(task, held, predictions, 0), task, Path("inner holdout"))
        return score_distributions(sample, list(task.main_score), task.main_score, TIE_RESAMPLES).get(MAIN)
    except HarnessError:
        return None


def _within_noise(best: np.ndarray | None, other: np.ndarray | None) -> bool:
    """Whether `other`'s resampled scores are within noise of the best's: the best beats it in under TIE_CONFIDENCE
    of the resamples (an undefined score, NaN, counts as beaten). Without resamples, none is."""
    if best is None or other is None:
        return False
    beaten = np.nan_to_num(best, nan=-np.inf) > np.nan_to_num(other, nan=-np.inf)
    return bool(np.mean(beaten | np.isnan(other)) < TIE_CONFIDENCE)


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
