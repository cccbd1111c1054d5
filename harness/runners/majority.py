"""The majority baseline's runner (`--model majority`): no model, no features; the task's shape says the rule
(Shape.baseline: the most frequent class, the mean score, the most frequent tag or head rule, the first
candidate, the empty answer), learnt from the training examples and applied to the evaluation examples."""
from __future__ import annotations

from harness.runners.base import Runner
from harness.shape_registry import shape_of
from harness.tasks import TaskSpec


class MajorityRunner(Runner):
    # Nothing trains an encoder: recorded as a frozen run, so the baseline is one run per task, read against the
    # frozen and the fine-tuned scores of the same leaderboard row.
    mode = "frozen"

    def __init__(self, task: TaskSpec):
        super().__init__()
        self.task = task
        self._predict = None

    def fit(self, train: list[dict]) -> None:
        with self.timed("training_s"):
            self._predict = shape_of(self.task).baseline(self.task, train)

    def predict(self, examples: list[dict], split: str = "eval"):
        with self.timed("evaluation_s"):
            return self._predict(examples)

    @property
    def trainable_parameters(self) -> int:
        return 0

    @property
    def fingerprint(self) -> dict:
        return {}  # no weights
