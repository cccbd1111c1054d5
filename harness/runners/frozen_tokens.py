"""Frozen runners of the token-level shapes (tags, spans, span pairs, arcs): heads on every token's cached states.

The span-pair runner pools each example's two spans from every hidden state's token states for a pooled head
(frozen.py's); the others train a torch head (heads/token_encoders.py's FrozenHead) on the token states: a tag
scorer whose token predictions decode back to characters (FrozenTokenRunner), the fine-tuning mode's biaffine
parser on word vectors (FrozenDependencyRunner), the start/end scorer (FrozenSpanRunner). They live apart from frozen.py
because they import torch and re-tokenize their examples on every run: a pooled run whose features are cached
loads neither torch nor transformers.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from tqdm.auto import tqdm

from harness.formats import dependency, n2n, span_pairs, spans
from harness.heads.arcs import BiaffineParser
from harness.heads.span_pairs import pool_spans
from harness.heads.spans import SpanHead
from harness.heads.tags import TagScorer
from harness.heads.token_encoders import FrozenHead
from harness.models import MIXES, layer_states, widened
from harness.runners.frozen import FrozenRunner


class FrozenSpanPairRunner(FrozenRunner):
    """WiC / WSC: the head learns on pool_spans of each example's cached token states, pooled from
    every hidden state, so that inner CV chooses the layer (and --layer-sweep sweeps them) as for any pair."""

    encodes_sides = False  # the spans lie in the pair's own encoding: no side is encoded alone

    def _pooled_states(self, examples: list[dict], split: str) -> np.ndarray:
        """Every hidden state's pooled spans, (examples, states, 4 x width)."""
        features, self.truncated = span_pairs.encode(self.extractor.tokenizer, examples, self.config.max_length,
                                                     with_labels=False)
        states, offsets = self.extractor.token_states(self.task, examples, split, [model_inputs(f) for f in features])
        pooled = []
        with torch.inference_mode():
            for chunk in _chunks(np.arange(len(features)), 256):
                tokens, _ = pad_vectors([states[offsets[i]:offsets[i + 1]] for i in chunk])  # (n, tokens, states, w)
                positions = torch.tensor([features[i]["span_positions"] for i in chunk])
                pooled.append(self.pool_every_state(tokens, positions).numpy())
        return np.concatenate(pooled)

    @staticmethod
    def pool_every_state(tokens, positions):
        """(n, tokens, states, width) -> (n, states, 4 x width): pool_spans of each state, in one
        pooling of every state's width side by side, each state's four parts regrouped after."""
        n, length, states, width = tokens.shape
        spans = pool_spans(tokens.reshape(n, length, states * width), positions)
        return spans.reshape(n, 4, states, width).transpose(1, 2).reshape(n, states, 4 * width)


class TorchHeadRunner(FrozenRunner):
    """A frozen runner whose head (heads/token_encoders.py's FrozenHead: a scalar mix of every layer under
    --layers auto or mix, the --token-head encoder, then the task's scorer) trains with torch on cached token
    states, a variable-length array per item; what training chose is recorded with the run (`choices`)."""

    batch_size = 32
    mixes_layers = True
    field = "tokens"  # the batch key the task's scorer reads the states from
    inputs_per_example = True  # _encode gives one input per example, so a subset's rows are its examples'

    @property
    def mixes(self) -> bool:
        return self.config.layers in MIXES

    def _token_states(self, examples: list[dict], split: str, inputs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """Every token's states, (tokens, hidden states, width) to mix, or (tokens, width) from the layers named."""
        states, offsets = self.extractor.token_states(self.task, examples, split, inputs)
        return (states if self.mixes else layer_states(states, self.config.layers)), offsets

    def _build(self, items: list[np.ndarray], scorer) -> None:
        """The head for these items' states; `scorer(width)` makes the task's scorer."""
        torch.manual_seed(self.config.seed)  # the head's initial weights
        layers = items[0].shape[-2] if self.mixes else None
        self.head = FrozenHead(self.field, items[0].shape[-1], layers, self.config.token_head, scorer)
        for part in self.head.children():  # each part counted its own way (flops.count_forward)
            self.flops.watch(part)

    def _encode(self, examples: list[dict], with_labels: bool) -> tuple[list[dict], list]:
        """The examples' model inputs, one or more each (with training targets under `with_labels`), and what
        decoding needs of each."""
        raise NotImplementedError

    def _item(self, states: np.ndarray, feature: dict) -> np.ndarray:
        """What the head reads of one input: by default its every token's states."""
        return states

    def _items(self, examples: list[dict], split: str, with_labels: bool) -> tuple[list[dict], list, list[np.ndarray]]:
        """The examples' inputs and decoding aids (cheap, always recomputed) and what the head reads of each
        input (cached states). A learning curve's smaller train set reads its rows of the whole train split's
        states (draws_from), so every size shares one extraction."""
        features, aligned = self._encode(examples, with_labels)
        drawn = self._drawn(examples, split) if self.inputs_per_example else None
        source, source_features, rows = (examples, features, range(len(features))) if drawn is None else \
            (drawn[0], self._encode(drawn[0], False)[0], drawn[1])
        states, offsets = self._token_states(source, split, [model_inputs(f) for f in source_features])
        return features, aligned, [self._item(states[offsets[r]:offsets[r + 1]], source_features[r]) for r in rows]

    def _batch(self, items: list[np.ndarray], chunk, targets: list[dict] | None = None) -> dict:
        raise NotImplementedError

    def _train(self, items: list[np.ndarray], targets: list[dict]) -> None:
        with self.timed("training_s"):
            schedule = train_torch_head(self.head, lambda chunks: (self._batch(items, chunk, targets) for chunk in chunks),
                                        len(items), self.batch_size, self.config)
        self._choices = {"token_head": self.config.token_head, "layers": "mix" if self.mixes else self.config.layers,
                         **schedule, **self.head.summary()}

    def _infer(self, items: list[np.ndarray], fills: dict[str, float]) -> dict[str, np.ndarray]:
        """The head's outputs named in `fills`, each (items, positions), padded with its fill value."""
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


class FrozenTokenRunner(TorchHeadRunner):
    """N2N tagging: a tag per token from its states (heads/tags.py); predictions go back to characters."""

    def fit(self, train: list[dict]) -> None:
        features, _, items = self._items(train, "train", with_labels=True)
        self._build(items, lambda width: TagScorer(width, len(self.task.labels)))
        self._train(items, features)

    def predict(self, examples: list[dict], split: str = "eval") -> list[np.ndarray]:
        _, alignments, items = self._items(examples, split, with_labels=False)
        tags = self._infer(items, {"predicted_tags": 0})["predicted_tags"].astype(np.int64)
        self.truncated = sum(alignment.truncated for alignment in alignments)
        return n2n.decode(self.task, list(tags), examples, alignments)  # decode stops at each example's tokens

    def _encode(self, examples, with_labels):
        return n2n.encode(self.extractor.tokenizer, examples, self.config.max_length, with_labels)

    def _batch(self, items, chunk, targets=None) -> dict:
        tokens, mask = pad_vectors([items[i] for i in chunk])
        batch = {"tokens": tokens, "token_mask": mask, "lengths": mask.sum(1)}
        if targets is not None:
            batch["labels"] = dependency.pad_integers([targets[i]["labels"] for i in chunk], n2n.IGNORE)
        return batch


class FrozenDependencyRunner(TorchHeadRunner):
    """DP: the biaffine parser trains on each word's cached first-token states (the first token as root)."""

    field = "words"

    def fit(self, train: list[dict]) -> None:
        features, _, words = self._items(train, "train", with_labels=True)
        self._build(words, lambda width: BiaffineParser(width, len(self.task.labels)))
        self._train(words, features)

    def predict(self, examples: list[dict], split: str = "eval") -> tuple[list[np.ndarray], list[np.ndarray]]:
        _, alignments, words = self._items(examples, split, with_labels=False)
        output = self._infer(words, {"predicted_heads": 0, "predicted_relations": 0})
        self.truncated = sum(alignment.truncated for alignment in alignments)
        return dependency.decode(output["predicted_heads"].astype(np.int64),
                                 output["predicted_relations"].astype(np.int64), alignments)

    def _encode(self, examples, with_labels):
        return dependency.encode(self.extractor.tokenizer, examples, self.config.max_length,
                                 self.task.label_ids if with_labels else None)

    def _item(self, states: np.ndarray, feature: dict) -> np.ndarray:
        """(1 + words, ...): the first token's states as root, then each word's first token's."""
        return states[np.array([0, *feature["word_starts"]], dtype=np.int64)]

    def _batch(self, items, chunk, targets=None) -> dict:
        words, mask = pad_vectors([items[i] for i in chunk])
        batch = {"words": words, "word_mask": mask[:, 1:], "lengths": mask.sum(1)}  # position 0 is the root
        if targets is not None:
            for key in ("head_labels", "relation_labels"):
                batch[key] = dependency.pad_integers([targets[i][key] for i in chunk], n2n.IGNORE)
        return batch


class FrozenSpanRunner(TorchHeadRunner):
    """Span extraction: the start/end scorer trains on every window's cached token states."""

    inputs_per_example = False  # a long context gives several windows

    def fit(self, train: list[dict]) -> None:
        features, _, tokens = self._items(train, "train", with_labels=True)
        self._build(tokens, SpanHead)
        self._train(tokens, features)

    def predict(self, examples: list[dict], split: str = "eval") -> list[str]:
        _, windows, tokens = self._items(examples, split, with_labels=False)
        output = self._infer(tokens, {"start_logits": -np.inf, "end_logits": -np.inf})
        return spans.decode(output["start_logits"], output["end_logits"], windows, examples)

    def _encode(self, examples, with_labels):
        return spans.encode(self.extractor.tokenizer, examples, self.config.max_length, self.config.doc_stride,
                            with_labels=with_labels)

    def _batch(self, items, chunk, targets=None) -> dict:
        tokens, mask = pad_vectors([items[i] for i in chunk])
        batch = {"tokens": tokens, "token_mask": mask, "lengths": mask.sum(1)}
        if targets is not None:
            for key in ("start_positions", "end_positions"):
                batch[key] = torch.tensor([targets[i][key] for i in chunk])
        return batch


def model_inputs(feature: dict) -> dict:
    """What the encoder reads of an encoded input (not its targets, offsets or word starts)."""
    return {key: feature[key] for key in ("input_ids", "attention_mask", "token_type_ids") if key in feature}


def _chunks(indices, size: int):
    return [indices[i:i + size] for i in range(0, len(indices), size)]


def pad_vectors(arrays: list[np.ndarray]):
    """(length, ...) arrays (float32, or the cache's bf16 bits) -> a zero-padded (n, longest, ...) float32 tensor
    and its (n, longest) mask."""
    longest = max(len(a) for a in arrays)
    padded = np.zeros((len(arrays), longest, *arrays[0].shape[1:]), np.float32)
    mask = np.zeros((len(arrays), longest), bool)
    for row, array in enumerate(arrays):
        padded[row, :len(array)] = widened(array)
        mask[row, :len(array)] = True
    return torch.from_numpy(padded), torch.from_numpy(mask)


INNER_HOLDOUT = 0.1  # share of the training items whose loss picks the epoch kept
PATIENCE = 5  # passes without a better inner-holdout loss before training stops
MIN_STEPS = 200  # small training sets get more passes, up to this many optimisation steps in all


def train_torch_head(head, batches, size: int, batch_size: int, config) -> dict:
    """AdamW for at most `config.head_epochs` shuffled passes over 90% of the items (more on a small set, up
    to MIN_STEPS steps); after each pass the loss on the other 10% (an inner holdout of the training
    items: the eval split never takes part) decides which pass's weights are kept and when to stop.
    `batches(chunks)` yields the batch of each chunk of the `size` items' indices.

    A pass's batches are consecutive runs of its shuffled order, whatever their lengths: batches drawn from
    length-sorted pools (each of like lengths, a third less padding) cost KLUE-DP's parser 2.5 and 3.7 points
    at seeds 42 and 1 (inner-holdout loss 1.08-1.14 over three seeds against 1.04-1.08; fewer passes run).

    Returns the schedule it chose, for the run's record.
    """
    torch.manual_seed(config.seed)
    generator = np.random.default_rng(config.seed)
    order = generator.permutation(size)
    held = order[:int(size * INNER_HOLDOUT)] if size >= 1 / INNER_HOLDOUT else order[:0]
    fitted = order[len(held):]
    optimizer = torch.optim.AdamW(head.parameters(), lr=config.head_learning_rate)
    best = {"loss": np.inf, "epoch": 0, "state": None}
    epoch = 0
    per_pass = -(-len(fitted) // batch_size)
    passes = max(config.head_epochs, -(-MIN_STEPS // max(per_pass, 1)))
    for epoch in tqdm(range(1, passes + 1), desc="head", disable=config.quiet, leave=False):
        head.train()
        for batch in batches(_chunks(fitted[generator.permutation(len(fitted))], batch_size)):
            loss = head(**batch)["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if not len(held):
            continue
        loss = _mean_loss(head, batches(_chunks(held, batch_size)))
        if loss < best["loss"]:
            best = {"loss": loss, "epoch": epoch, "state": copy.deepcopy(head.state_dict())}
        elif epoch - best["epoch"] >= PATIENCE:
            break
    if best["state"] is not None:
        head.load_state_dict(best["state"])
    head.eval()
    return {"epochs_run": epoch, "epoch_kept": best["epoch"] or epoch, "inner_holdout": len(held),
            "inner_holdout_loss": round(float(best["loss"]), 4) if len(held) else None}


def _mean_loss(head, batches) -> float:
    """The head's loss over these batches, weighting each by its size, without training."""
    head.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for batch in batches:
            size = len(batch["lengths"])
            total += float(head(**batch)["loss"]) * size
            count += size
    return total / count
