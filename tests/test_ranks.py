"""Frozen extraction shared out over a launch's ranks: the shares, and rows that equal one process's.

The ranks here are simulated in one process (every share extracted in turn, as its rank would); the transport
between real processes is test_distributed.py's.
"""
from __future__ import annotations

import numpy as np

from harness.config import RunConfig
from harness.formats.n21 import length_buckets
from harness.models import load_tokenizer, resolve_model
from harness.runners.features import FeatureCache, FeatureExtractor
from harness.runners.ranks import Shards, launched, rank_device
from harness.tasks import REGISTRY

SST2 = REGISTRY.get("glue/sst2")
WORDS = "the movie film plot was very really good great bad awful not a dog sits on mat".split()


def _examples(count: int) -> list[dict]:
    rng = np.random.default_rng(0)
    return [{"id": str(i), "text": " ".join(rng.choice(WORDS, size=int(rng.integers(1, 30)))), "label": i % 2}
            for i in range(count)]


class InOneProcess(Shards):
    """`world` ranks simulated by rank 0: it extracts every rank's share itself, in rank order."""

    def gather(self, rows_of, extract, kwargs, items, shares, place):
        self.shares = shares
        for share in shares:
            if share:
                place(share, rows_of(extract, [items[i] for i in share], kwargs))


def _extractor(folder, cache_dir, shards: Shards | None = None) -> FeatureExtractor:
    extractor = FeatureExtractor(resolve_model(str(folder)), RunConfig(quiet=True, device="cpu", eval_batch_size=8),
                                 FeatureCache(cache_dir))
    extractor.shards = shards
    return extractor


def test_ranks_get_the_length_ordered_batches_in_turn():
    batches = [[5, 0], [3, 1], [2, 4], [6]]
    assert Shards(0, 2).deal(batches) == [[5, 0, 2, 4], [3, 1, 6]]
    assert Shards(0, 3).deal(batches) == [[5, 0, 6], [3, 1], [2, 4]]
    assert Shards(0, 5).deal(batches)[4] == []  # more ranks than batches: the last has nothing to do


def test_each_share_cut_again_gives_the_batches_one_process_runs(tiny_model_dir):
    tokenizer = load_tokenizer(resolve_model(str(tiny_model_dir)))
    features = [dict(tokenizer(ex["text"])) for ex in _examples(61)]
    batches = length_buckets(features, 8)
    for share in Shards(0, 3).deal(batches):
        own = length_buckets([features[i] for i in share], 8)
        assert [[share[i] for i in batch] for batch in own] == [b for b in batches if b[0] in share]


def test_shared_extraction_gives_one_process_rows_exactly(tiny_model_dir, tmp_path):
    examples = _examples(61)
    alone = _extractor(tiny_model_dir, tmp_path / "alone")
    shards = InOneProcess(0, 3)
    shared = _extractor(tiny_model_dir, tmp_path / "shared", shards)

    pooled = shared.features(SST2, examples, "train")
    assert pooled.dtype == np.float32
    np.testing.assert_array_equal(pooled, alone.features(SST2, examples, "train"))
    assert all(shards.shares) and sorted(sum(shards.shares, [])) == list(range(len(examples)))

    tokenizer = alone.tokenizer
    features = [dict(tokenizer(ex["text"])) for ex in examples]
    vectors, offsets = shared.token_states(SST2, examples, "train", features)
    expected_vectors, expected_offsets = alone.token_states(SST2, examples, "train", features)
    np.testing.assert_array_equal(offsets, expected_offsets)
    np.testing.assert_array_equal(vectors, expected_vectors)
    assert shared.extracted == alone.extracted == 2 * len(examples)


def test_one_process_is_no_launch(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert not launched() and rank_device("cuda") == "cuda"
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert launched() and rank_device("cuda") == "cuda:1" and rank_device("cpu") == "cpu"
