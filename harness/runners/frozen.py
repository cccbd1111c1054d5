"""Frozen mode: the encoder never trains; a light head (sklearn) learns on cached features.

N21 tasks train the head on one pooled vector per example; N2N tagging tasks train the same head on
every token's vector (FrozenTokenRunner) and decode its token predictions back to characters; DP
trains the fine-tuning mode's biaffine parser, alone, on cached word vectors (FrozenDependencyRunner).
"""
from __future__ import annotations

import numpy as np

from harness.formats import dependency, n2n, span_pairs, spans
from harness.formats.n21 import single_texts
from harness.metrics import score_examples
from harness.metrics.generation import SignedScores
from harness.runners.base import Runner
from harness.runners.features import FeatureExtractor
from harness.runners.probes import CHOSEN, choose_layer, fit_head, pair_features, select_layers
from harness.tasks import TaskSpec


def build_mlp(task: TaskSpec, seed: int):
    """The `--head mlp` option: one hidden layer, early stopping on a slice of train, on standardised features."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    mlp = MLPRegressor if task.kind == "regression" else MLPClassifier
    return make_pipeline(StandardScaler(), mlp(hidden_layer_sizes=(256,), early_stopping=True, max_iter=300,
                                               random_state=seed))


def head_parameters(pipeline) -> int:
    head = pipeline[-1]
    if hasattr(head, "coefs_"):
        return int(sum(w.size for w in head.coefs_) + sum(b.size for b in head.intercepts_))
    return int(np.size(head.coef_) + np.size(head.intercept_))


class FrozenRunner(Runner):
    """A head on pooled features of the frozen encoder: the layer (or layers) and, for pairs, each side
    encoded alone beside the pair (probes.py); choices made on train only are reported in `choices`."""

    mode = "frozen"
    encodes_sides = True  # a pair's sides may also be encoded alone (--pair-features)

    def __init__(self, task: TaskSpec, extractor: FeatureExtractor, checkpoint_dir=None):
        # checkpoint_dir: unused by heads that train in one call (the torch heads retrain from scratch)
        super().__init__()
        self.task, self.extractor, self.config = task, extractor, extractor.config
        self.head = None
        self.layer = None  # the --layers value the head reads, once fit has resolved `best` / `auto`
        self.choices: dict = {}
        self._loaded: dict[tuple, np.ndarray] = {}
        self._extracted_before = extractor.seconds  # the extractor is shared: this runner's share of its time

    @property
    def timings(self) -> dict[str, float]:
        return {**super().timings, "extraction_s": self.extractor.seconds - self._extracted_before}

    @property
    def fingerprint(self) -> dict:
        return self.extractor.fingerprint

    def layer_features(self, examples: list[dict], split: str) -> np.ndarray:
        """Every hidden state pooled, (examples, states, width), read once per set of examples and kept."""
        key = (split, tuple(ex["id"] for ex in examples))
        if key not in self._loaded:
            self._loaded[key] = self._pooled_states(examples, split)
        return self._loaded[key]

    def _pooled_states(self, examples: list[dict], split: str) -> np.ndarray:
        return self.extractor.features(self.task, examples, split)

    def features(self, examples: list[dict], split: str, layer: str | None = None) -> np.ndarray:
        """What the head reads: the layer's pooled vector, and for a pair each side's and their interactions
        as --pair-features asks."""
        layer = layer or self.layer
        mode = self.config.pair_features if self._pairs_apart(examples) else "joint"
        joint = select_layers(self.layer_features(examples, split), layer) if mode != "separate" else None
        if mode == "joint":
            return joint
        left = select_layers(self.layer_features(single_texts(examples, "text"), f"{split}-text"), layer)
        right = select_layers(self.layer_features(single_texts(examples, "text_pair"), f"{split}-text_pair"), layer)
        return pair_features(joint, left, right)

    def _pairs_apart(self, examples: list[dict]) -> bool:
        """Whether these are pairs whose sides --pair-features may encode alone."""
        return self.encodes_sides and bool(examples) and "text_pair" in examples[0]

    def fit(self, train: list[dict]) -> None:
        y = np.array([ex["label"] for ex in train])
        regression = self.task.kind == "regression"
        self.features(train, "train", "last")  # extracts (or loads) every array the head may read: not training
        with self.timed("training_s"):
            self.choices = {"pair_features": self.config.pair_features} if self._pairs_apart(train) else {}
            self.layer = self.config.layers
            if self.layer in CHOSEN:
                states = self.layer_features(train, "train").shape[1]
                self.layer, score = choose_layer(lambda layer: self.features(train, "train", layer), states, y,
                                                 regression, self.config.seed)
                self.choices.update(layer=self.layer, layer_cv_score=round(score, 4))
            x = self.features(train, "train")
            if self.config.head == "mlp":
                self.head = build_mlp(self.task, self.config.seed).fit(x, y)
            else:
                self.head, chosen = fit_head(x, y, regression, self.config.seed)
                self.choices.update(chosen)

    def predict(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        predictions = self._predict_head(self.features(examples, split))
        return predictions.astype(float) if self.task.kind == "regression" else predictions.astype(int)

    def _predict_head(self, x: np.ndarray) -> np.ndarray:
        with self.timed("evaluation_s"):
            return self.head.predict(x)

    def cosine_similarity(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        """Training-free similarity: cosine between the two sentences' own pooled embeddings (last layer)."""
        left = select_layers(self.layer_features(single_texts(examples, "text"), f"{split}-text"), "last")
        right = select_layers(self.layer_features(single_texts(examples, "text_pair"), f"{split}-text_pair"), "last")
        norms = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
        return (left * right).sum(1) / np.maximum(norms, 1e-12)

    def extra_scores(self, examples: list[dict]) -> SignedScores:
        """Similarity tasks: the cosine's Pearson and Spearman against the gold scores, and each cosine."""
        if not self.task.similarity:
            return SignedScores()
        cosine = self.cosine_similarity(examples)
        scores = score_examples(("pearson", "spearman"), examples, cosine)
        return SignedScores({f"cosine_{k}": v for k, v in scores.items()},
                            per_example={"cosine": [float(value) for value in cosine]})

    @property
    def trainable_parameters(self) -> int:
        return head_parameters(self.head) if self.head is not None else 0


class FrozenProbabilityRunner(FrozenRunner):
    """Classification whose predictions are class probabilities (examples, classes), for ranking metrics."""

    def predict(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        x = self.features(examples, split)
        with self.timed("evaluation_s"):
            seen = self.head.predict_proba(x)
        probabilities = np.zeros((len(x), len(self.task.labels)))
        probabilities[:, self.head.classes_] = seen  # classes absent from training get probability 0
        return probabilities


class FrozenTokenRunner(FrozenRunner):
    """N2N: the head learns on each labelled token's cached vector; predictions go back to characters."""

    def fit(self, train: list[dict]) -> None:
        features, _, vectors, _ = self._tokens(train, "train", with_labels=True)
        labels = np.concatenate([feature["labels"] for feature in features])
        labelled = labels != n2n.IGNORE
        with self.timed("training_s"):
            self.head = _token_head(self.task, self.config).fit(vectors[labelled], labels[labelled])

    def predict(self, examples: list[dict], split: str = "eval") -> list[np.ndarray]:
        _, alignments, vectors, offsets = self._tokens(examples, split, with_labels=False)
        tokens = self._predict_head(vectors).astype(int)
        self.truncated = sum(alignment.truncated for alignment in alignments)
        return n2n.decode(self.task, np.split(tokens, offsets[1:-1]), examples, alignments)

    def _tokens(self, examples: list[dict], split: str, with_labels: bool):
        """The examples' tokens and alignments (cheap, always recomputed) and their vectors (cached)."""
        features, alignments = n2n.encode(self.extractor.tokenizer, examples, self.config.max_length, with_labels)
        inputs = [{key: value for key, value in feature.items() if key != "labels"} for feature in features]
        vectors, offsets = self.extractor.token_features(self.task, examples, split, inputs)
        return features, alignments, vectors, offsets


def _token_head(task: TaskSpec, config):
    """A per-token classifier on standardised token vectors: logistic regression, or the MLP option."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if config.head == "mlp":
        return build_mlp(task, config.seed)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


class FrozenSpanPairRunner(FrozenRunner):
    """WiC / WSC: the head learns on span_pairs.pool_spans of each example's cached token vectors."""

    encodes_sides = False  # the spans lie in the pair's own encoding: no side is encoded alone

    def _pooled_states(self, examples: list[dict], split: str) -> np.ndarray:
        """The pooled spans of the token features' layers, as one state (examples, 1, width)."""
        import torch

        features, self.truncated = span_pairs.encode(self.extractor.tokenizer, examples, self.config.max_length,
                                                     with_labels=False)
        inputs = [{k: v for k, v in f.items() if k != "span_positions"} for f in features]
        vectors, offsets = self.extractor.token_features(self.task, examples, split, inputs)
        pooled = []
        with torch.inference_mode():
            for chunk in _chunks(np.arange(len(features)), 256):
                tokens, _ = pad_vectors([vectors[offsets[i]:offsets[i + 1]] for i in chunk])
                positions = torch.tensor([features[i]["span_positions"] for i in chunk])
                pooled.append(span_pairs.pool_spans(tokens, positions).numpy())
        return np.concatenate(pooled)[:, None]


class TorchHeadRunner(FrozenRunner):
    """A frozen runner whose head is a torch module trained on cached vectors, a variable-length array per item."""

    batch_size = 32

    def _batch(self, items: list[np.ndarray], chunk, targets: list[dict] | None = None) -> dict:
        raise NotImplementedError

    def _train(self, items: list[np.ndarray], targets: list[dict]) -> None:
        with self.timed("training_s"):
            train_torch_head(self.head, lambda order: (self._batch(items, chunk, targets)
                                                       for chunk in _chunks(order, self.batch_size)),
                             len(items), self.config)

    def _infer(self, items: list[np.ndarray], fills: dict[str, float]) -> dict[str, np.ndarray]:
        """The head's outputs named in `fills`, each (items, positions), padded with its fill value."""
        import torch

        width = max((len(item) for item in items), default=0)
        out = {key: np.full((len(items), width), fill) for key, fill in fills.items()}
        with self.timed("evaluation_s"), torch.inference_mode():
            for chunk in _chunks(np.arange(len(items)), self.batch_size):
                output = self.head(**self._batch(items, chunk))
                for key in fills:
                    values = output[key].numpy()
                    out[key][chunk, :values.shape[1]] = values
        return out

    @property
    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.head.parameters()) if self.head is not None else 0


class FrozenDependencyRunner(TorchHeadRunner):
    """DP: the biaffine parser trains on each word's cached first-token vector (the first token as root)."""

    def fit(self, train: list[dict]) -> None:
        features, _ = dependency.encode(self.extractor.tokenizer, train, self.config.max_length, self.task.label_ids)
        words = self._word_vectors(train, "train", features)
        self.head = dependency.BiaffineParser(words[0].shape[1], len(self.task.labels))
        self._train(words, features)

    def predict(self, examples: list[dict], split: str = "eval") -> tuple[list[np.ndarray], list[np.ndarray]]:
        features, alignments = dependency.encode(self.extractor.tokenizer, examples, self.config.max_length)
        output = self._infer(self._word_vectors(examples, split, features),
                             {"predicted_heads": 0, "predicted_relations": 0})
        self.truncated = sum(alignment.truncated for alignment in alignments)
        return dependency.decode(output["predicted_heads"].astype(np.int64),
                                 output["predicted_relations"].astype(np.int64), alignments)

    def _word_vectors(self, examples: list[dict], split: str, features: list[dict]) -> list[np.ndarray]:
        """Per sentence: (1 + words, width), the first token's vector as root, then each word's first token."""
        inputs = [{"input_ids": f["input_ids"], "attention_mask": f["attention_mask"]} for f in features]
        vectors, offsets = self.extractor.token_features(self.task, examples, split, inputs)
        return [vectors[offsets[i] + np.array([0, *f["word_starts"]], dtype=np.int64)] for i, f in enumerate(features)]

    def _batch(self, items, chunk, targets=None) -> dict:
        words, mask = pad_vectors([items[i] for i in chunk])
        batch = {"words": words, "word_mask": mask[:, 1:]}  # position 0 is the root, not a word
        if targets is not None:
            for key in ("head_labels", "relation_labels"):
                batch[key] = dependency.pad_integers([targets[i][key] for i in chunk], n2n.IGNORE)
        return batch


class FrozenSpanRunner(TorchHeadRunner):
    """Span extraction: a linear start/end scorer trains on every window's cached token vectors."""

    def fit(self, train: list[dict]) -> None:
        features, _ = spans.encode(self.extractor.tokenizer, train, self.config.max_length, self.config.doc_stride)
        tokens = self._token_vectors(train, "train", features)
        self.head = spans.SpanHead(tokens[0].shape[1])
        self._train(tokens, features)

    def predict(self, examples: list[dict], split: str = "eval") -> list[str]:
        features, windows = spans.encode(self.extractor.tokenizer, examples, self.config.max_length,
                                         self.config.doc_stride, with_labels=False)
        output = self._infer(self._token_vectors(examples, split, features),
                             {"start_logits": -np.inf, "end_logits": -np.inf})
        return spans.decode(output["start_logits"], output["end_logits"], windows, examples)

    def _token_vectors(self, examples: list[dict], split: str, features: list[dict]) -> list[np.ndarray]:
        inputs = [{k: v for k, v in f.items() if k not in ("start_positions", "end_positions")} for f in features]
        vectors, offsets = self.extractor.token_features(self.task, examples, split, inputs)
        return [vectors[offsets[i]:offsets[i + 1]] for i in range(len(features))]

    def _batch(self, items, chunk, targets=None) -> dict:
        import torch

        tokens, mask = pad_vectors([items[i] for i in chunk])
        batch = {"tokens": tokens, "token_mask": mask}
        if targets is not None:
            for key in ("start_positions", "end_positions"):
                batch[key] = torch.tensor([targets[i][key] for i in chunk])
        return batch


def _chunks(indices, size: int):
    return [indices[i:i + size] for i in range(0, len(indices), size)]


def pad_vectors(arrays: list[np.ndarray]):
    """(length, width) arrays -> a zero-padded (n, longest, width) float tensor and its (n, longest) mask."""
    import torch

    longest = max(len(a) for a in arrays)
    padded = np.zeros((len(arrays), longest, arrays[0].shape[1]), np.float32)
    mask = np.zeros((len(arrays), longest), bool)
    for row, array in enumerate(arrays):
        padded[row, :len(array)] = array
        mask[row, :len(array)] = True
    return torch.from_numpy(padded), torch.from_numpy(mask)


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
