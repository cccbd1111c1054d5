"""Frozen mode: the encoder never trains; a light head (sklearn) learns on cached features.

N21 tasks train the head on one pooled vector per example; N2N tagging tasks train the same head on
every token's vector (FrozenTokenRunner) and decode its token predictions back to characters; DP
trains the fine-tuning mode's biaffine parser, alone, on cached word vectors (FrozenDependencyRunner).
"""
from __future__ import annotations

import time

import numpy as np

from harness.formats import dependency, n2n, spans
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


class FrozenProbabilityRunner(FrozenRunner):
    """Classification whose predictions are class probabilities (examples, classes), for ranking metrics."""

    def predict(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        x = self.features(examples, split)
        start = time.perf_counter()
        seen = self.head.predict_proba(x)
        self.timings["evaluation_s"] += time.perf_counter() - start
        probabilities = np.zeros((len(x), len(self.task.labels)))
        probabilities[:, self.head.classes_] = seen  # classes absent from training get probability 0
        return probabilities


class FrozenTokenRunner(FrozenRunner):
    """N2N: the head learns on each labelled token's cached vector; predictions go back to characters."""

    truncated = 0  # in the last predict: characters max_length left without a token (scored as O)

    def fit(self, train: list[dict]) -> None:
        features, _, vectors, _ = self._tokens(train, "train", with_labels=True)
        labels = np.concatenate([feature["labels"] for feature in features])
        labelled = labels != n2n.IGNORE
        self._fit_head(vectors[labelled], labels[labelled])

    def predict(self, examples: list[dict], split: str = "eval") -> list[np.ndarray]:
        _, alignments, vectors, offsets = self._tokens(examples, split, with_labels=False)
        tokens = self._predict_head(vectors).astype(int)
        self.truncated = sum(alignment.truncated for alignment in alignments)
        return n2n.decode(self.task, np.split(tokens, offsets[1:-1]), examples, alignments)

    def _tokens(self, examples: list[dict], split: str, with_labels: bool):
        """The examples' tokens and alignments (cheap, always recomputed) and their vectors (cached)."""
        features, alignments = n2n.encode(self.extractor.tokenizer, examples, self.config.max_length, with_labels)
        inputs = [{key: value for key, value in feature.items() if key != "labels"} for feature in features]
        vectors, offsets = self.extractor.token_features(self.task.id, self.task.version, examples, split, inputs)
        return features, alignments, vectors, offsets


class FrozenDependencyRunner(FrozenRunner):
    """DP: the biaffine parser trains on each word's cached first-token vector (the first token as root)."""

    truncated = 0  # in the last predict: words max_length left without a token (scored as wrong)
    batch_size = 32

    def fit(self, train: list[dict]) -> None:
        relations = {label: i for i, label in enumerate(self.task.labels)}
        features, _ = dependency.encode(self.extractor.tokenizer, train, self.config.max_length, relations)
        words = self._word_vectors(train, "train", features)
        labels = [(f["head_labels"], f["relation_labels"]) for f in features]
        self.head = dependency.BiaffineParser(words[0].shape[1], len(self.task.labels))
        start = time.perf_counter()
        train_torch_head(self.head, lambda order: (self._batch(words, order[i:i + self.batch_size], labels)
                                                   for i in range(0, len(order), self.batch_size)),
                         len(words), self.config)
        self.timings["training_s"] += time.perf_counter() - start

    def predict(self, examples: list[dict], split: str = "eval") -> tuple[list[np.ndarray], list[np.ndarray]]:
        import torch

        features, alignments = dependency.encode(self.extractor.tokenizer, examples, self.config.max_length)
        words = self._word_vectors(examples, split, features)
        width = max((len(a.starts) for a in alignments), default=0)
        heads = np.zeros((len(words), width), np.int64)
        relations = np.zeros((len(words), width), np.int64)
        start = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, len(words), self.batch_size):
                chunk = list(range(i, min(i + self.batch_size, len(words))))
                output = self.head(**self._batch(words, chunk))
                found = output["predicted_heads"].shape[1]
                heads[chunk, :found] = output["predicted_heads"].numpy()
                relations[chunk, :found] = output["predicted_relations"].numpy()
        self.timings["evaluation_s"] += time.perf_counter() - start
        self.truncated = sum(alignment.truncated for alignment in alignments)
        return dependency.decode(heads, relations, alignments)

    def _word_vectors(self, examples: list[dict], split: str, features: list[dict]) -> list[np.ndarray]:
        """Per sentence: (1 + words, width), the first token's vector as root, then each word's first token."""
        inputs = [{"input_ids": f["input_ids"], "attention_mask": f["attention_mask"]} for f in features]
        vectors, offsets = self.extractor.token_features(self.task.id, self.task.version, examples, split, inputs)
        return [vectors[offsets[i] + np.array([0, *f["word_starts"]], dtype=np.int64)] for i, f in enumerate(features)]

    @staticmethod
    def _batch(words: list[np.ndarray], chunk, labels=None) -> dict:
        import torch

        width = max(len(words[i]) for i in chunk)
        padded = np.zeros((len(chunk), width, words[chunk[0]].shape[1]), np.float32)
        mask = np.zeros((len(chunk), width - 1), bool)
        for row, i in enumerate(chunk):
            padded[row, :len(words[i])] = words[i]
            mask[row, :len(words[i]) - 1] = True
        batch = {"words": torch.from_numpy(padded), "word_mask": torch.from_numpy(mask)}
        if labels is not None:
            for key, column in (("head_labels", 0), ("relation_labels", 1)):
                values = np.full((len(chunk), width - 1), n2n.IGNORE, np.int64)
                for row, i in enumerate(chunk):
                    values[row, :len(labels[i][column])] = labels[i][column]
                batch[key] = torch.from_numpy(values)
        return batch

    @property
    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.head.parameters()) if self.head is not None else 0


class FrozenSpanRunner(FrozenRunner):
    """Span extraction: a linear start/end scorer trains on every window's cached token vectors."""

    batch_size = 32

    def fit(self, train: list[dict]) -> None:
        features, _ = spans.encode(self.extractor.tokenizer, train, self.config.max_length, self.config.doc_stride)
        tokens = self._token_vectors(train, "train", features)
        positions = [(f["start_positions"], f["end_positions"]) for f in features]
        self.head = spans.SpanHead(tokens[0].shape[1])
        start = time.perf_counter()
        train_torch_head(self.head, lambda order: (self._batch(tokens, order[i:i + self.batch_size], positions)
                                                   for i in range(0, len(order), self.batch_size)),
                         len(tokens), self.config)
        self.timings["training_s"] += time.perf_counter() - start

    def predict(self, examples: list[dict], split: str = "eval") -> list[str]:
        import torch

        features, windows = spans.encode(self.extractor.tokenizer, examples, self.config.max_length,
                                         self.config.doc_stride, with_labels=False)
        tokens = self._token_vectors(examples, split, features)
        width = max(len(t) for t in tokens)
        start_logits = np.full((len(tokens), width), -np.inf)
        end_logits = np.full((len(tokens), width), -np.inf)
        begin = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, len(tokens), self.batch_size):
                chunk = list(range(i, min(i + self.batch_size, len(tokens))))
                output = self.head(**self._batch(tokens, chunk))
                found = output["start_logits"].shape[1]
                start_logits[chunk, :found] = output["start_logits"].numpy()
                end_logits[chunk, :found] = output["end_logits"].numpy()
        self.timings["evaluation_s"] += time.perf_counter() - begin
        return spans.decode(start_logits, end_logits, windows, examples)

    def _token_vectors(self, examples: list[dict], split: str, features: list[dict]) -> list[np.ndarray]:
        inputs = [{k: v for k, v in f.items() if k not in ("start_positions", "end_positions")} for f in features]
        vectors, offsets = self.extractor.token_features(self.task.id, self.task.version, examples, split, inputs)
        return [vectors[offsets[i]:offsets[i + 1]] for i in range(len(features))]

    @staticmethod
    def _batch(tokens: list[np.ndarray], chunk, positions=None) -> dict:
        import torch

        width = max(len(tokens[i]) for i in chunk)
        padded = np.zeros((len(chunk), width, tokens[chunk[0]].shape[1]), np.float32)
        mask = np.zeros((len(chunk), width), bool)
        for row, i in enumerate(chunk):
            padded[row, :len(tokens[i])] = tokens[i]
            mask[row, :len(tokens[i])] = True
        batch = {"tokens": torch.from_numpy(padded), "token_mask": torch.from_numpy(mask)}
        if positions is not None:
            batch["start_positions"] = torch.tensor([positions[i][0] for i in chunk])
            batch["end_positions"] = torch.tensor([positions[i][1] for i in chunk])
        return batch

    @property
    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.head.parameters()) if self.head is not None else 0


def train_torch_head(head, batches, size: int, config) -> None:
    """AdamW over `config.head_epochs` shuffled passes; `batches(order)` yields the batches of one pass."""
    import torch
    from tqdm.auto import tqdm

    torch.manual_seed(config.seed)
    generator = np.random.default_rng(config.seed)
    optimizer = torch.optim.AdamW(head.parameters(), lr=config.head_learning_rate)
    head.train()
    for _ in tqdm(range(config.head_epochs), desc="head", disable=config.quiet, leave=False):
        for batch in batches(generator.permutation(size)):
            loss = head(**batch)["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    head.eval()
