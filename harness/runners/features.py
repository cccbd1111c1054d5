"""Frozen-encoder features: computed once under inference mode, in length buckets, cached on disk.

The cache holds plain .npy arrays (read with allow_pickle=False) named by a hash of everything that
changes the numbers: model weights, task and version, split, pooling, layers, max length and the
examples themselves. A second identical run reads them back and runs no forward pass.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from harness.formats.n21 import length_buckets, tokenize
from harness.models import ModelRef, load_model, load_tokenizer, model_key, pool, weights_fingerprint



def default_cache_dir() -> Path:
    """$HARNESS_CACHE_DIR/features, else ~/.cache/harness/features."""
    return Path(os.environ.get("HARNESS_CACHE_DIR", Path.home() / ".cache" / "harness")) / "features"


def examples_fingerprint(examples: list[dict]) -> str:
    digest = hashlib.sha256()
    for ex in examples:
        digest.update(json.dumps([ex["id"], ex["text"], ex.get("text_pair")], ensure_ascii=False).encode())
    return digest.hexdigest()


class FeatureCache:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_cache_dir()

    @staticmethod
    def key(**parts) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        path = self.path(key)
        return np.load(path, allow_pickle=False) if path.is_file() else None

    def put(self, key: str, array: np.ndarray) -> None:
        """Write to a temporary file and rename, so an interrupted run never leaves half an array."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=self.root, suffix=".npy.tmp")
        with os.fdopen(handle, "wb") as out:
            np.save(out, array, allow_pickle=False)
        os.replace(tmp, self.path(key))


@torch.inference_mode()
def extract_features(
    model, tokenizer, examples: list[dict], *, max_length: int, batch_size: int, pooling: str, layers: str,
    device: str, quiet: bool = False,
) -> np.ndarray:
    """Pooled hidden states, one row per example, in the examples' order."""
    model.eval().to(device)
    features = tokenize(tokenizer, examples, max_length, with_labels=False)
    output = None
    for batch_indices in tqdm(length_buckets(features, batch_size), desc="features", disable=quiet, leave=False):
        batch = tokenizer.pad([features[i] for i in batch_indices], return_tensors="pt").to(device)
        hidden = model(**batch, output_hidden_states=True).hidden_states
        vectors = pool(hidden, batch["attention_mask"], pooling, layers).float().cpu().numpy()
        if output is None:
            output = np.empty((len(examples), vectors.shape[1]), dtype=np.float32)
        output[batch_indices] = vectors
    return output if output is not None else np.empty((0, 0), dtype=np.float32)


class FeatureExtractor:
    """One frozen encoder shared by every task of a run; weights load only on a cache miss."""

    def __init__(self, model_ref: ModelRef, config, cache: FeatureCache | None = None):
        self.model_ref, self.config = model_ref, config
        self.cache = cache or FeatureCache()
        self.device = config.torch_device()
        self.tokenizer = load_tokenizer(model_ref)
        self.fingerprint = weights_fingerprint(model_ref)  # a Hub checkpoint's commit is known once loaded
        self._encoder = None
        self.seconds = 0.0
        self.extracted = 0
        self.cache_hits = 0

    @property
    def encoder(self):
        if self._encoder is None:
            self._encoder = load_model(self.model_ref)
            if not self.model_ref.is_local:
                self.fingerprint = weights_fingerprint(self.model_ref, self._encoder)
        return self._encoder

    def features(self, task_id: str, task_version: int, examples: list[dict], split: str) -> np.ndarray:
        cfg = self.config
        key = self.cache.key(
            model=model_key(self.fingerprint) if self.model_ref.is_local else self.model_ref.location,
            revision=self.model_ref.revision, task=task_id, version=task_version, split=split,
            pooling=cfg.pooling, layers=cfg.layers, max_length=cfg.max_length, data=examples_fingerprint(examples),
        )
        cached = self.cache.get(key)
        if cached is not None:
            self.cache_hits += 1
            return cached
        start = time.perf_counter()
        array = extract_features(
            self.encoder, self.tokenizer, examples, max_length=cfg.max_length, batch_size=cfg.eval_batch_size,
            pooling=cfg.pooling, layers=cfg.layers, device=self.device, quiet=cfg.quiet,
        )
        self.seconds += time.perf_counter() - start
        self.extracted += len(examples)
        self.cache.put(key, array)
        return array
