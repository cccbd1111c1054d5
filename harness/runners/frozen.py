"""Frozen mode: the encoder never trains; a head learns on cached features.

N21 tasks train an sklearn head on pooled vectors, with pairs also encoded side by side and the layer and
regularisation chosen on train (heads/pooled_probes.py). Token shapes train torch heads on every token's cached
states (frozen_tokens.py): this module imports neither torch nor transformers, so a pooled run whose features are
all cached loads neither.

--layer-sweep trains each of these heads again on every hidden state alone (`layer_sweep`): the same
runner with `--layers <i>`, reading the features the run already loaded or cached.
"""
from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator

import numpy as np

from harness.data.splits import group_ids
from harness.flops import counting_fits, mlp_fit_flops, predict_flops, record_fit
from harness.formats.n21 import single_texts
from harness.heads.pooled_probes import (CHOSEN, SEARCH, build_mlp, choose_layer, cv_scoring, fit_head, head_choices,
                                         head_parameters, head_sizes, layer_candidates, pair_features, select_layers)
from harness.metrics import score_examples
from harness.metrics.generation import SignedScores
from harness.runners.base import Runner
from harness.runners.features import FeatureExtractor
from harness.tasks import TaskSpec


class FrozenRunner(Runner):
    """A head on pooled features of the frozen encoder: the layer (or layers) and, for pairs, each side
    encoded alone beside the pair (heads/pooled_probes.py); choices made on train only are reported in `choices`."""

    mode = "frozen"
    reads_features = True
    COUNTED = {**Runner.COUNTED, "training_s": "head"}  # the encoder never trains: training is the head's
    encodes_sides = True  # a pair's sides may also be encoded alone (--pair-features)
    sweeps_layers = True

    def __init__(self, task: TaskSpec, extractor: FeatureExtractor, checkpoint_dir=None):
        # checkpoint_dir: unused by heads that train in one call (the torch heads retrain from scratch)
        super().__init__()
        self.task, self.extractor, self.config = task, extractor, extractor.config
        self.head = None
        self.layer = None  # the --layers value the head reads, once fit has resolved `best` / `auto`
        self._loaded: dict[tuple, np.ndarray] = {}
        # the extractor is shared: this runner's share of its time, of the inputs it encoded and of its compute
        self._extracted_before = (extractor.seconds, extractor.extracted,
                                  extractor.flops.by_phase["extraction"] + extractor.recalled_flops,
                                  extractor.uncounted_hits)

    @property
    def timings(self) -> dict[str, float]:
        seconds, inputs, _, _ = self._extracted_before
        return {**super().timings, "extraction_s": self.extractor.seconds - seconds,
                "extracted_inputs": self.extractor.extracted - inputs}

    @property
    def compute(self) -> dict[str, float]:
        # features read from the cache count what they cost when computed: the protocol's work, whatever the cache held
        extracted = self.extractor.flops.by_phase["extraction"] + self.extractor.recalled_flops
        return {**super().compute, "extraction": extracted - self._extracted_before[2]}

    @property
    def compute_note(self) -> str:
        if self.extractor.uncounted_hits > self._extracted_before[3]:
            return ("features read from a feature cache written before their FLOPs were kept count 0: the encoder "
                    "did not run for them")
        return ""

    @property
    def fingerprint(self) -> dict:
        return self.extractor.fingerprint

    @property
    def device(self) -> str:
        """The encoder's device where this process loaded it; else the CPU, where every head trains (a run whose
        features were all cached never loads the encoder, nor torch for a pooled head)."""
        return self.extractor.device if self.extractor.encoder_loaded else "cpu"

    def layer_features(self, examples: list[dict], split: str) -> np.ndarray:
        """Every hidden state pooled, (examples, states, width), read once per set of examples and kept; the
        rows of the population's features when the examples were drawn from it (draws_from)."""
        key = (split, tuple(ex["id"] for ex in examples))
        if key not in self._loaded:
            drawn = self._drawn(examples, split)
            if drawn is None:
                self._loaded[key] = self._pooled_states(examples, split)
            else:
                population, rows = drawn
                self._loaded[key] = self.layer_features(population, split)[rows]
        return self._loaded[key]

    def _drawn(self, examples: list[dict], split: str) -> tuple[list[dict], np.ndarray] | None:
        """The training population these examples are a strict subset of, and their rows in it; None otherwise.
        A pair's sides ("train-text") are drawn from the population's sides."""
        if self.population is None or split.split("-")[0] != "train" or len(examples) >= len(self.population):
            return None
        side = split.partition("-")[2]
        population = single_texts(self.population, side) if side else self.population
        where = {ex["id"]: row for row, ex in enumerate(population)}
        rows = [where.get(ex["id"]) for ex in examples]
        return None if None in rows else (population, np.array(rows))

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
        groups = group_ids(self.task, train)  # inner folds keep a premise's hypotheses together, as splits do
        scoring = cv_scoring(self.task.main_score)
        regression = self.task.kind == "regression"
        self.features(train, "train", "last")  # extracts (or loads) every array the head may read: not training
        with self.timed("training_s"), counting_fits() as fits:
            self._choices = {"pair_features": self.config.pair_features} if self._pairs_apart(train) else {}
            self.layer = self.config.layers
            states = self.layer_features(train, "train").shape[1]
            chooses_layer = self.layer in CHOSEN and states > 1  # one state (a single-layer model): nothing to choose
            key = self._search_key(train, y, groups, scoring)
            searched = self._searched(key, states, chooses_layer, regression, scoring)
            fitted = None  # the ridge head the layer search fitted on the chosen layer, when it ran
            if chooses_layer:
                self.layer, score, fitted = (searched["layer"], searched["layer_cv_score"], None) if searched else \
                    choose_layer(lambda layer: self.features(train, "train", layer), states, y, regression,
                                 self.config.seed, groups, scoring)
                self._choices.update(layer=self.layer, layer_cv_score=round(score, 4))
            x = self.features(train, "train")
            if self.config.head == "mlp":
                self.head = build_mlp(self.task, self.config.seed).fit(x, y)
                record_fit(mlp_fit_flops(len(x), head_sizes(self.head), self.head[-1].n_iter_))
            else:
                self.head, chosen = fit_head(x, y, regression, self.config.seed, groups, scoring,
                                             searched and head_choices(searched, regression, scoring), fitted)
                self._choices.update(chosen)
            if not searched:
                self.extractor.cache.put_record(key, self._choices)
        self.flops.add(sum(fits), phase="head")

    def _search_key(self, train: list[dict], y: np.ndarray, groups: np.ndarray | None, scoring: str) -> str:
        """Everything the inner-CV searches depend on: an identical run (a cached re-run, a report regenerated)
        reads their choices back instead of searching again, and fits the same head."""
        digest = hashlib.sha256(np.ascontiguousarray(y).tobytes())
        if groups is not None:
            digest.update(np.ascontiguousarray(groups).tobytes())
        # every field but the label, the encoder's and those heads may read besides (spans): one fingerprint
        fields = tuple(sorted(name for name in train[0] if name != "label")) if train else None
        return "search-" + self.extractor.cache.key(
            features=self.extractor.features_key(self.task, train, "train", fields), runner=type(self).__name__,
            labels=digest.hexdigest(), seed=self.config.seed, scoring=scoring, layers=self.config.layers,
            pair_features=self.config.pair_features, head=self.config.head, search=SEARCH)

    def _searched(self, key: str, states: int, chooses_layer: bool, regression: bool, scoring: str) -> dict | None:
        """The choices an identical earlier search recorded under `key`, or None (none yet, or not all it needs)."""
        record = self.extractor.cache.record(key)
        if record is None:
            return None
        layer_ok = not chooses_layer or (record.get("layer") in layer_candidates(states)
                                         and isinstance(record.get("layer_cv_score"), (int, float)))
        head_ok = self.config.head == "mlp" or head_choices(record, regression, scoring) is not None
        return record if layer_ok and head_ok else None

    def predict(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        predictions = self._predict_head(self.features(examples, split))
        return predictions.astype(float) if self.task.kind == "regression" else predictions.astype(int)

    def _predict_head(self, x: np.ndarray) -> np.ndarray:
        self.flops.add(predict_flops(len(x), head_sizes(self.head)), phase="evaluation")
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

    def layer_sweep(self, train: list[dict], examples: list[dict]) -> Iterator[tuple[int, object]]:
        """Per hidden state, this runner's protocol restricted to it (`--layers <i>`: the pooled head's L2 still
        tuned by inner CV on train; a token head without its scalar mix), trained on `train` and predicting
        `examples`, from the features `fit` read (the encoder runs no further forward pass)."""
        for layer in range(self.extractor.hidden_states):
            probe = self._reading(str(layer))
            probe.fit(train)
            yield layer, probe.predict(examples)

    def _reading(self, layers: str) -> FrozenRunner:
        """An untrained copy of this runner whose head reads `layers`; it shares the features loaded so far."""
        probe = copy.copy(self)
        Runner.__init__(probe)  # timings and choices of its own
        probe.config = self.config.replace(layers=layers)
        probe.head = probe.layer = None
        return probe


class FrozenProbabilityRunner(FrozenRunner):
    """Classification whose predictions are class probabilities (examples, classes), for ranking metrics."""

    def predict(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        x = self.features(examples, split)
        self.flops.add(predict_flops(len(x), head_sizes(self.head)), phase="evaluation")
        with self.timed("evaluation_s"):
            seen = self.head.predict_proba(x)
        probabilities = np.zeros((len(x), len(self.task.labels)))
        probabilities[:, self.head.classes_] = seen  # classes absent from training get probability 0
        return probabilities
