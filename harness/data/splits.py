"""Which examples train and which evaluate: official splits, or holdout / k-fold when train is missing."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.config import SPLIT_STRATEGIES
from harness.data import DataSplit
from harness.data.files import read_split
from harness.data.hub import hub_dataset, load_hub_split
from harness.errors import ConfigError, DataError
from harness.shape_registry import schema_of
from harness.tasks import TaskSpec

HOLDOUT_FRACTION = 0.2
KFOLD_K = 5


@dataclass
class Fold:
    train: list[dict]
    eval: list[dict]


@dataclass
class SplitPlan:
    """The folds a run trains and evaluates on, and how they were made (recorded in every result)."""

    strategy: str
    folds: list[Fold]
    sources: dict[str, dict] = field(default_factory=dict)
    note: str = ""


def load_splits(task: TaskSpec, data_dir: Path | None, splits=("train", "validation")) -> dict[str, DataSplit | None]:
    """Read each split from the data dir when one is given, else from the Hub."""
    if data_dir is not None:
        return {name: read_split(task, name, data_dir) for name in splits}
    return {name: load_hub_split(task, name) for name in splits}


def plan_splits(
    task: TaskSpec,
    splits: dict[str, DataSplit | None],
    strategy: str,
    seed: int,
    max_train_samples: int | None = None,
    max_eval_samples: int | None = None,
) -> SplitPlan:
    """Official train/validation where both exist; otherwise holdout or k-fold of the labelled validation."""
    if strategy not in SPLIT_STRATEGIES:
        raise ConfigError(f"split strategy {strategy!r} is not one of {', '.join(SPLIT_STRATEGIES)}")
    train, validation = splits.get("train"), splits.get("validation")
    missing = missing_splits(task, train is not None, validation is not None, strategy)
    if missing:
        raise DataError(missing)
    for split in (train, validation):  # a train split that is there but unusable is no missing one
        if split is not None and not split.labelled:
            raise DataError(f"{task.id}: no labelled {split.name} split: {_origin(split)} holds "
                            f"{'no labels' if split.examples else 'no examples'}; train and validation need gold "
                            "on every example")
    sources = {name: split.source for name, split in splits.items() if split is not None}
    rng = random.Random(seed)
    if train is not None:
        folds = [Fold(train.examples, validation.examples)]
        used, note = "official", ""
    elif strategy == "holdout":
        train_idx, eval_idx = _stratified_holdout(task, validation.examples, seed)
        folds = [Fold([validation.examples[i] for i in train_idx], [validation.examples[i] for i in eval_idx])]
        used, note = "holdout", f"train missing: {_how(task)} {1 - HOLDOUT_FRACTION:.0%}/{HOLDOUT_FRACTION:.0%} of validation"
    else:
        folds = [
            Fold([validation.examples[i] for i in tr], [validation.examples[i] for i in ev])
            for tr, ev in _stratified_kfold(task, validation.examples, seed)
        ]
        used, note = "kfold", f"train missing: {_how(task)} {KFOLD_K}-fold over validation"
    folds = [Fold(_cap(f.train, max_train_samples, rng), _cap(f.eval, max_eval_samples, rng)) for f in folds]
    return SplitPlan(used, folds, sources, note)


def missing_splits(task: TaskSpec, has_train: bool, has_validation: bool, strategy: str | None) -> str | None:
    """Why a task cannot run for want of a split, or None: a validation split always, a train split under the
    official strategy (`strategy` None: a task scored with another's model, which needs validation alone)."""
    if not has_validation:
        return f"{task.id}: no labelled validation split found; {_how_to_get(task, 'validation')}"
    if not has_train and strategy == "official":
        return (f"{task.id}: the train split is missing; {_how_to_get(task, 'train')}, or rerun with "
                "--split-strategy holdout (80/20 of the labelled validation) or --split-strategy kfold")
    return None


def absent_data(task: TaskSpec, data_dir: Path | None, strategy: str | None) -> str | None:
    """Why a task cannot run from the data dir, known from which of its files are there before any is read
    (missing_splits); None where they are, or where the data comes from the Hub (known only once it loads)."""
    if data_dir is None:
        return None
    there = {split: task.files.get(split) is not None and (data_dir / task.files[split].path).is_file()
             for split in ("train", "validation")}
    return missing_splits(task, there["train"], there["validation"], strategy)


def _how_to_get(task: TaskSpec, split: str) -> str:
    """What gives a task its split, in words: the official file under --data-dir, the Hub dataset."""
    ways = []
    if task.files.get(split) is not None:
        ways.append(f"put the official {task.files[split].path} under --data-dir")
    if task.hub:
        ways.append(f"read the Hub's {hub_dataset(task)} online, without --data-dir")
    return " or ".join(ways) or f"{task.source} names neither a file nor a Hub dataset for it"


def _origin(split: DataSplit) -> str:
    """Where a split was read from, in words."""
    source = split.source
    if source.get("kind") == "hub":
        return f"the Hub's {source.get('path')}/{source.get('name')} [{source.get('split')}]"
    return source.get("path") or f"the {split.name} split"


def eval_only_plan(task: TaskSpec, splits: dict[str, DataSplit | None], max_eval_samples: int | None, seed: int) -> SplitPlan:
    """For tasks scored with another task's model (AX with MNLI's): the whole labelled validation."""
    validation = splits.get("validation")
    if validation is None or not validation.labelled:
        raise DataError(f"{task.id}: no labelled validation split found; {_how_to_get(task, 'validation')}")
    examples = _cap(validation.examples, max_eval_samples, random.Random(seed))
    sources = {name: split.source for name, split in splits.items() if split is not None}
    return SplitPlan("official", [Fold([], examples)], sources, f"scored with the {task.model_from} model")


def _cap(examples: list[dict], limit: int | None, rng: random.Random) -> list[dict]:
    """A seeded random subset (files may be sorted by label or source, so never just the head)."""
    if limit is None or limit >= len(examples):
        return examples
    keep = sorted(rng.sample(range(len(examples)), limit))
    return [examples[i] for i in keep]


def _stratifies(task: TaskSpec) -> bool:
    """One label or score per example stratifies splits (a text-to-text view splits as its task does);
    tags, arcs and spans have no single class to stratify by."""
    return schema_of(task).label_per_example


def _how(task: TaskSpec) -> str:
    how = "stratified" if _stratifies(task) else "seeded random"
    return f"{how}, grouped by {task.split_groups}," if task.split_groups else how


def strata_of(task: TaskSpec, examples: list[dict]) -> np.ndarray | None:
    """Classes (or score quintiles) to stratify by; None where the task's labels cannot stratify."""
    return schema_of(task).strata(task, examples)


def _stratifiable(strata: np.ndarray | None, per_stratum: int, eval_size: int) -> bool:
    """sklearn needs enough members in every stratum, and room for each stratum in the eval part."""
    if strata is None:
        return False
    counts = np.unique(strata, return_counts=True)[1]
    return counts.min() >= per_stratum and eval_size >= len(counts)


def group_ids(task: TaskSpec, examples: list[dict]) -> np.ndarray | None:
    """Examples sharing the task's `split_groups` field (KLUE-NLI's premise) land on one side of every split.

    Without this, a premise seen in training with its other two hypotheses is scored again in eval:
    a frozen head then learns "this premise, those labels" and scores below chance.
    """
    if not task.split_groups:
        return None
    values = [str(ex.get(task.split_groups)) for ex in examples]
    return np.unique(values, return_inverse=True)[1]


def inner_holdout(task: TaskSpec, examples: list[dict], seed: int, fraction: float) -> tuple[list[dict], list[dict]]:
    """Training examples split as --split-strategy holdout splits a validation set (stratified, grouped by the
    task's `split_groups`), `fraction` of them held out: what chooses a setting on train alone."""
    keep, held = _stratified_holdout(task, examples, seed, fraction)
    return [examples[i] for i in sorted(keep)], [examples[i] for i in sorted(held)]


def _stratified_holdout(task: TaskSpec, examples: list[dict], seed: int, fraction: float = HOLDOUT_FRACTION):
    from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold, train_test_split

    indices = np.arange(len(examples))
    strata = strata_of(task, examples)
    eval_size = int(np.ceil(fraction * len(examples)))
    if len(examples) < 2:
        raise DataError(f"{task.id}: {len(examples)} labelled example(s) cannot be split into train and eval")
    stratify = strata if _stratifiable(strata, 2, eval_size) else None  # else a plain seeded shuffle
    groups = group_ids(task, examples)
    if groups is None:
        return train_test_split(indices, test_size=fraction, random_state=seed, stratify=stratify)
    if stratify is not None:  # the first of 1/fraction stratified group folds is the eval part
        folds = StratifiedGroupKFold(n_splits=round(1 / fraction), shuffle=True, random_state=seed)
        return next(folds.split(indices, stratify, groups))
    return next(GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed).split(indices, groups=groups))


def _stratified_kfold(task: TaskSpec, examples: list[dict], seed: int):
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    if len(examples) < KFOLD_K:
        raise DataError(f"{task.id}: {len(examples)} labelled examples are too few for {KFOLD_K}-fold")
    strata = strata_of(task, examples)
    groups = group_ids(task, examples)
    if groups is not None:
        if _stratifiable(strata, KFOLD_K, len(examples) // KFOLD_K):
            return StratifiedGroupKFold(n_splits=KFOLD_K, shuffle=True, random_state=seed).split(groups, strata, groups)
        return GroupKFold(n_splits=KFOLD_K, shuffle=True, random_state=seed).split(groups, groups=groups)
    if _stratifiable(strata, KFOLD_K, len(examples) // KFOLD_K):
        return StratifiedKFold(n_splits=KFOLD_K, shuffle=True, random_state=seed).split(np.zeros(len(strata)), strata)
    return KFold(n_splits=KFOLD_K, shuffle=True, random_state=seed).split(np.zeros(len(examples)))
