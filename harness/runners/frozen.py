"""Frozen mode: the encoder never trains; a light head (sklearn) learns on cached features."""
from __future__ import annotations

import time

import numpy as np

from harness.formats.n21 import single_texts
from harness.runners.features import FeatureExtractor
from harness.tasks import TaskSpec


def build_head(task: TaskSpec, kind: str, seed: int):
    """Logistic / linear regression on standardised features (default), or a one-hidden-layer MLP."""
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    regression = task.kind == "regression"
    if kind == "mlp":
        mlp = MLPRegressor if regression else MLPClassifier
        head = mlp(hidden_layer_sizes=(256,), early_stopping=True, max_iter=300, random_state=seed)
    elif regression:
        head = RidgeCV(alphas=np.logspace(-2, 4, 13))  # L2 strength by efficient leave-one-out
    else:
        head = LogisticRegression(max_iter=2000)
    return make_pipeline(StandardScaler(), head)


def head_parameters(pipeline) -> int:
    head = pipeline[-1]
    if hasattr(head, "coefs_"):
        return int(sum(w.size for w in head.coefs_) + sum(b.size for b in head.intercepts_))
    return int(np.size(head.coef_) + np.size(head.intercept_))


class FrozenRunner:
    mode = "frozen"

    def __init__(self, task: TaskSpec, extractor: FeatureExtractor):
        self.task, self.extractor, self.config = task, extractor, extractor.config
        self.head = None
        self.timings = {"training_s": 0.0, "evaluation_s": 0.0}

    def features(self, examples: list[dict], split: str) -> np.ndarray:
        return self.extractor.features(self.task.id, self.task.version, examples, split)

    def fit(self, train: list[dict]) -> None:
        x = self.features(train, "train")
        y = np.array([ex["label"] for ex in train])
        start = time.perf_counter()
        self.head = build_head(self.task, self.config.head, self.config.seed).fit(x, y)
        self.timings["training_s"] += time.perf_counter() - start

    def predict(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        x = self.features(examples, split)
        start = time.perf_counter()
        predictions = self.head.predict(x)
        self.timings["evaluation_s"] += time.perf_counter() - start
        return predictions.astype(float) if self.task.kind == "regression" else predictions.astype(int)

    def cosine_similarity(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        """Training-free similarity: cosine between the two sentences' own pooled embeddings."""
        left = self.features(single_texts(examples, "text"), f"{split}-text")
        right = self.features(single_texts(examples, "text_pair"), f"{split}-text_pair")
        norms = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
        return (left * right).sum(1) / np.maximum(norms, 1e-12)

    @property
    def trainable_parameters(self) -> int:
        return head_parameters(self.head) if self.head is not None else 0
