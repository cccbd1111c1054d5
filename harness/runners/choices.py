"""Multiple choice in both modes: the task's pair classification runners, on one pair per candidate."""
from __future__ import annotations

import numpy as np

from harness.formats.n21 import RIGHT, candidate_pairs, candidate_task, pick_choices
from harness.runners.finetune import FinetuneProbabilityRunner
from harness.runners.frozen import FrozenProbabilityRunner
from harness.tasks import TaskSpec


class ChoiceRanking:
    """Trains the wrapped runner on candidate pairs; predicts each example's best candidate index."""

    def __init__(self, task: TaskSpec, *args, **kwargs):
        super().__init__(candidate_task(task), *args, **kwargs)

    def fit(self, train: list[dict]) -> None:
        super().fit(candidate_pairs(train))

    def predict(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        return pick_choices(super().predict(candidate_pairs(examples), split)[:, RIGHT], examples)


class FrozenChoiceRunner(ChoiceRanking, FrozenProbabilityRunner):
    """Candidate pairs' pooled features, a logistic regression of right vs wrong on them."""


class FinetuneChoiceRunner(ChoiceRanking, FinetuneProbabilityRunner):
    """A fine-tuned sequence classifier of right vs wrong candidate pairs."""
