"""Nested training subsets for learning curves: every smaller set inside the next, for each seed.

One seeded order of the training examples is drawn per seed and each size takes a prefix of it, so a
curve measures more of the same data rather than other data. Where labels stratify, the order
interleaves the classes in proportion (each class shuffled, then merged by its members' relative
rank), so every prefix keeps the class balance of the whole train split as closely as its size allows.
"""
from __future__ import annotations

import logging

import numpy as np

from harness.data.splits import Fold, SplitPlan, strata_of
from harness.tasks import TaskSpec

log = logging.getLogger("harness")


def nested_order(task: TaskSpec, examples: list[dict], seed: int) -> np.ndarray:
    """A seeded permutation of the examples' indices whose every prefix is (close to) stratified."""
    rng = np.random.default_rng(seed)
    strata = strata_of(task, examples)
    if strata is None:
        return rng.permutation(len(examples))
    position = np.empty(len(examples))
    for stratum in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == stratum))
        # the k-th of n members sits at (k + u) / n of the way through the order: classes interleave in proportion
        position[members] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.argsort(position, kind="stable")


def sized_plan(task: TaskSpec, plan: SplitPlan, size: int, seed: int) -> SplitPlan:
    """The plan with each fold's training examples cut to the first `size` of its nested order (in file
    order); a size at or above a fold's train size keeps all of it."""
    folds = []
    for fold in plan.folds:
        keep = np.sort(nested_order(task, fold.train, seed)[:size])
        folds.append(Fold([fold.train[i] for i in keep], fold.eval))
    note = f"{plan.note}; " if plan.note else ""
    return SplitPlan(plan.strategy, folds, plan.sources, f"{note}{size} training examples (nested, seeded)")


def clamp_sizes(sizes: list[int | None], train_size: int, task_id: str) -> list[int | None]:
    """The sizes to run, smallest first, each once: None is the whole train split, and a size at or beyond it
    becomes None with a warning (it would repeat the full run)."""
    kept = []
    for size in sizes:
        if size is not None and size >= train_size:
            log.warning("%s: train size %d is not below the %d training examples; running the full train split "
                        "instead", task_id, size, train_size)
            size = None
        if size not in kept:
            kept.append(size)
    return sorted(kept, key=lambda size: (size is None, size or 0))
