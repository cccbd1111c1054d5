"""Frozen mode: the encoder never trains; a light head (sklearn) learns on cached features.

N21 tasks train the head on one pooled vector per example; N2N tasks train the same head on every
token's vector (FrozenTokenRunner) and decode its token predictions back to characters.
"""
from __future__ import annotations

import time

import numpy as np

from harness.formats import n2n
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
        self._fit_head(self.features(train, "train"), np.array([ex["label"] for ex in train]))

    def predict(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        predictions = self._predict_head(self.features(examples, split))
        return predictions.astype(float) if self.task.kind == "regression" else predictions.astype(int)

    def _fit_head(self, x: np.ndarray, y: np.ndarray) -> None:
        start = time.perf_counter()
        self.head = build_head(self.task, self.config.head, self.config.seed).fit(x, y)
        self.timings["training_s"] += time.perf_counter() - start

    def _predict_head(self, x: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        predictions = self.head.predict(x)
        self.timings["evaluation_s"] += time.perf_counter() - start
        return predictions

    def cosine_similarity(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        """Training-free similarity: cosine between the two sentences' own pooled embeddings."""
        left = self.features(single_texts(examples, "text"), f"{split}-text")
        right = self.features(single_texts(examples, "text_pair"), f"{split}-text_pair")
        norms = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
        return (left * right).sum(1) / np.maximum(norms, 1e-12)

    @property
    def trainable_parameters(self) -> int:
        return head_parameters(self.head) if self.head is not None else 0


class FrozenTokenRunner(FrozenRunner):
    """N2N: the head learns on each labelled token's cached vector; predictions go back to characters."""

    truncated_characters = 0  # in the last predict: characters max_length left without a token (scored as O)

    def fit(self, train: list[dict]) -> None:
        features, _, vectors, _ = self._tokens(train, "train", with_labels=True)
        labels = np.concatenate([feature["labels"] for feature in features])
        labelled = labels != n2n.IGNORE
        self._fit_head(vectors[labelled], labels[labelled])

    def predict(self, examples: list[dict], split: str = "eval") -> list[np.ndarray]:
        _, alignments, vectors, offsets = self._tokens(examples, split, with_labels=False)
        tokens = self._predict_head(vectors).astype(int)
        self.truncated_characters = sum(alignment.truncated for alignment in alignments)
        return n2n.decode(self.task, np.split(tokens, offsets[1:-1]), examples, alignments)

    def _tokens(self, examples: list[dict], split: str, with_labels: bool):
        """The examples' tokens and alignments (cheap, always recomputed) and their vectors (cached)."""
        features, alignments = n2n.encode(self.extractor.tokenizer, examples, self.config.max_length, with_labels)
        inputs = [{key: value for key, value in feature.items() if key != "labels"} for feature in features]
        vectors, offsets = self.extractor.token_features(self.task.id, self.task.version, examples, split, inputs)
        return features, alignments, vectors, offsets
