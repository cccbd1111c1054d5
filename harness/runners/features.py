"""Frozen-encoder features: computed once under inference mode, in length buckets, cached on disk.

The cache holds plain .npy arrays (read with allow_pickle=False) named by a hash of everything that
changes the numbers: model weights, config and tokenizer files, task and version, split, pooling,
layers, max length, the precision (bf16 features are other numbers) and the examples themselves. A
second identical run reads them back and runs no forward pass; an entry that does not read back as
the array expected (truncated, tampered with) is discarded with a warning and computed again.

N21 tasks get one pooled vector per example. N2N tasks get every token's states, un-pooled and from
every hidden state (embeddings first): one flat (tokens, hidden states, width) array of all examples'
tokens, and beside it the offsets where each example starts. Keeping every layer lets a second run
with another --layers or head read the same file; it is written and read as a memory map, so a
split's states never need to fit in memory at once, and held in bfloat16 (models.bf16_bits), which
halves the file and its reads (KLUE-NER's 4,000 training sentences through multilingual-e5-small:
1.4 GB, 2.8 GB in float32). Measured on the full holdout runs (seed 42, issue 24), the rounding moved
the frozen KLUE-NER entity macro F1 by 0.00 (the same predictions) and KLUE-DP's score by +0.01.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import math
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from harness.flops import PhaseFlops
from harness.formats.n21 import length_buckets, tokenize
from harness.models import (BF16_BITS, ModelFacts, ModelRef, bf16_bits, encoding_fingerprint, facts_digest,
                            inference_mode, layer_states, load_model, load_tokenizer, model_facts, pool, pool_states,
                            weights_fingerprint)
from harness.precision import autocast, resolve_precision
from harness.runners import is_main_process
from harness.runners.ranks import Shards, launched, rank_device
from harness.shape_registry import shape_of
from harness.tasks import TaskSpec

log = logging.getLogger("harness")


def default_cache_dir() -> Path:
    """$HARNESS_CACHE_DIR/features, else ~/.cache/harness/features."""
    return Path(os.environ.get("HARNESS_CACHE_DIR", Path.home() / ".cache" / "harness")) / "features"


def examples_fingerprint(examples: list[dict], fields: tuple[str, ...]) -> str:
    """What the encoder reads of the examples: their ids and the fields named (labels never change features)."""
    digest = hashlib.sha256()
    for ex in examples:
        digest.update(json.dumps([ex["id"], *(ex.get(name) for name in fields)], ensure_ascii=False).encode())
    return digest.hexdigest()


class FeatureCache:
    """Extracted features on disk, keyed by what they depend on. A cache that cannot be written (a read-only
    mount, a full disk, a path that is a file) is given up with one warning, and the run goes on without
    caching: features are computed in memory, and no temporary file is left behind."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_cache_dir()
        self.writable = True  # until a write fails (check_writable tries one up front)

    def check_writable(self) -> None:
        """Try a write before any compute, so that a cache that cannot take one is given up at the start."""
        if not self.writable:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as err:
            self._give_up(err)

    def _give_up(self, err: OSError) -> None:
        if self.writable:
            log.warning("feature cache %s cannot be written (%s); running without caching features (set "
                        "HARNESS_CACHE_DIR to a folder you can write to, to cache them)", self.root, err.strerror or err)
        self.writable = False

    @staticmethod
    def key(**parts) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npy"

    def get(self, key: str, mmap_mode: str | None = None, expected=lambda array: True) -> np.ndarray | None:
        """The array cached under `key`, or None where there is none. An entry that does not load as a plain
        array (truncated, pickled objects, an archive) or that `expected(array)` rejects is deleted with a
        warning, so the caller computes it again."""
        path = self.path(key)
        if not path.is_file():
            return None
        problem = _not_whole(path)
        if problem is None:
            array = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
            if expected(array):
                return array
            problem = f"holds a {array.dtype} array of shape {array.shape}, not the one expected"
        log.warning("feature cache entry %s %s; deleting it and computing the features again", path, problem)
        path.unlink(missing_ok=True)
        return None

    def put(self, key: str, array: np.ndarray) -> None:
        """Write to a temporary file and rename, so an interrupted run never leaves half an array."""
        self._replace(self.path(key), lambda out: np.save(out, array, allow_pickle=False))

    def record(self, key: str) -> dict | None:
        """The JSON object cached under `key` (runs keep what a model's tokenizer and config say), or None; one that
        does not parse as an object is deleted with a warning."""
        path = self.root / f"{key}.json"
        try:
            record = json.loads(path.read_bytes())
        except OSError:  # none there (or no folder: a cache root that is a file)
            return None
        except ValueError:
            record = None
        if not isinstance(record, dict):
            problem = "is not a JSON object"
        elif INTEGRITY not in record:  # written before records carried one: computed again, as nothing is wrong
            return None
        elif record.pop(INTEGRITY) != _integrity(key, record):
            problem = "fails its integrity check (edited by hand or damaged)"
        else:
            return record
        log.warning("feature cache entry %s %s; deleting it and computing it again", path, problem)
        path.unlink(missing_ok=True)
        return None

    def put_record(self, key: str, record: dict) -> None:
        """Cache `record` under `key`, with the hash of both that record() checks."""
        sealed = {**record, INTEGRITY: _integrity(key, record)}
        self._replace(self.root / f"{key}.json", lambda out: out.write(json.dumps(sealed).encode()))

    def _replace(self, path: Path, write) -> None:
        """`write(file)` into a temporary file beside `path`, then renamed to it: readers never see half a file.
        A write that fails leaves no temporary file and gives the cache up."""
        if not self.writable:
            return
        tmp = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=self.root, suffix=f"{path.suffix}.tmp")
            with os.fdopen(handle, "wb") as out:
                write(out)
            os.replace(tmp, path)
        except OSError as err:
            self._give_up(err)
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)

    @contextmanager
    def writing(self, key: str, dtype=np.float32):
        """Yields `allocate(shape)`: a .npy memory map of `dtype` to fill, renamed into place when the block ends
        without error, so arrays larger than memory are written as they are computed. Its disk space is reserved
        up front (a memory map that runs out of disk would crash the process); where that fails, or the cache
        cannot be written, the array is an ordinary one in memory and nothing is cached."""
        tmp = None
        arrays = []

        def allocate(shape):
            nonlocal tmp
            if self.writable:
                try:
                    self.root.mkdir(parents=True, exist_ok=True)
                    handle, tmp = tempfile.mkstemp(dir=self.root, suffix=".npy.tmp")
                    os.close(handle)
                    array = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
                    _reserve(tmp)
                    arrays.append(array)
                    return array
                except OSError as err:
                    self._give_up(err)
            return np.empty(shape, dtype=dtype)

        try:
            yield allocate
            try:
                for array in arrays:
                    array.flush()
                if arrays and self.writable:
                    os.replace(tmp, self.path(key))
            except OSError as err:
                self._give_up(err)
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)


# A record's hash of its key and content: one edited by hand (a search's choices made up) fails it and is computed
# again. It catches edits and damage, not a forger who recomputes it: the key is no secret.
INTEGRITY = "sha256"


def _integrity(key: str, record: dict) -> str:
    return hashlib.sha256(json.dumps([key, record], sort_keys=True).encode()).hexdigest()


def _reserve(path: str) -> None:
    """Allocate the disk blocks of a file already sized (a sparse memory map): OSError now where the disk lacks
    room, rather than a crash while writing into the map."""
    with open(path, "r+b") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size and hasattr(os, "posix_fallocate"):
            os.posix_fallocate(handle.fileno(), 0, size)


def _not_whole(path: Path) -> str | None:
    """Why the file is not one whole .npy array of numbers (a cut or forged header, Python objects that only
    unpickling could read, bytes missing or to spare), or None; read from its header alone, so that a damaged
    entry is never loaded (a forged shape would ask for terabytes)."""
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version not in ((1, 0), (2, 0)):
                return f"is a .npy file of version {version}, which the cache never writes"
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(handle)
            start = handle.tell()
    except Exception as err:  # whatever a damaged header makes numpy's parser raise (ValueError, EOFError, tokenize)
        return f"has no readable .npy header ({err})"
    if dtype.hasobject:
        return "holds Python objects, which only unpickling could read"
    size, announced = path.stat().st_size, start + math.prod(shape) * dtype.itemsize
    if size != announced:
        return f"holds {size} bytes where its header announces {announced}"
    return None


@inference_mode
def extract_features(
    model, tokenizer, examples: list[dict], *, max_length: int, batch_size: int, pooling: str,
    layers: str | None, device: str, quiet: bool = False, precision: str = "fp32",
) -> np.ndarray:
    """Pooled hidden states, one row per example, in the examples' order: the chosen layers' vector
    (examples, width), or with layers=None every state pooled (examples, states, width); float32 whatever the
    `precision` the model ran in."""
    features = tokenize(tokenizer, examples, max_length, with_labels=False)
    output = None
    for batch_indices, hidden, mask in _forward(model, tokenizer, features, batch_size, device, quiet, precision):
        pooled = pool_states(hidden, mask, pooling) if layers is None else pool(hidden, mask, pooling, layers)
        vectors = pooled.cpu().numpy()
        if output is None:
            output = np.empty((len(examples), *vectors.shape[1:]), dtype=np.float32)
        output[batch_indices] = vectors
    return output if output is not None else np.empty((0, 0), dtype=np.float32)


@inference_mode
def extract_token_features(
    model, tokenizer, features: list[dict], *, batch_size: int, device: str, quiet: bool = False,
    allocate=functools.partial(np.empty, dtype=np.float32), precision: str = "fp32",
) -> tuple[np.ndarray, np.ndarray]:
    """Every token's hidden states: a flat (tokens, hidden states, width) array, and where each example starts in
    it; `allocate(shape)` makes the array (a memory map, to write one larger than memory): float32, or bf16 bits
    (models.bf16_bits) where it allocates those.

    Example i owns rows offsets[i]:offsets[i + 1], one per token position of features[i] (special
    tokens included), so per-token predictions line up with the format's alignment.
    """
    import torch

    offsets = token_offsets(features)
    output = None
    for batch_indices, hidden, mask in _forward(model, tokenizer, features, batch_size, device, quiet, precision):
        states = torch.stack(hidden, dim=2)  # (batch, tokens, hidden states, width)
        if output is None:
            output = allocate((int(offsets[-1]), *states.shape[2:]))
        states = _stored(states, output.dtype)
        kept = mask.bool().cpu().numpy()  # the real tokens, whichever side the tokenizer pads
        for row, index in enumerate(batch_indices):
            output[offsets[index]:offsets[index + 1]] = states[row][kept[row]]
    return (output if output is not None else np.empty((0, 0, 0), dtype=np.float32)), offsets


def token_offsets(features: list[dict]) -> np.ndarray:
    """Where each example's tokens start in the flat token array, and where the last one ends."""
    lengths = np.array([len(feature["input_ids"]) for feature in features], dtype=np.int64)
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _facts(record: dict | None) -> ModelFacts | None:
    """ModelFacts from a cache record, or None where it holds anything else (another version's, a damaged one)."""
    if record is None or set(record) != {field.name for field in dataclasses.fields(ModelFacts)}:
        return None
    vocab, special, positions = record["vocab_files"], record["pair_special_tokens"], record["max_positions"]
    if not (isinstance(vocab, list) and all(isinstance(name, str) for name in vocab) and isinstance(special, int)
            and (positions is None or isinstance(positions, int))):
        return None
    return ModelFacts(tuple(vocab), special, positions)


def _states(array: np.ndarray, dtype=np.float32) -> bool:
    """Whether a cached array is shaped as extracted states are: (rows, hidden states, width) of `dtype`."""
    return array.dtype == dtype and array.ndim == 3


def _stored(states, dtype) -> np.ndarray:
    """float32 states (a tensor or an array) as an array of `dtype`: bf16 bits (models.bf16_bits), or float32."""
    if dtype == BF16_BITS:
        return bf16_bits(states)
    return states.cpu().numpy() if hasattr(states, "cpu") else states


def _forward(model, tokenizer, features: list[dict], batch_size: int, device: str, quiet: bool, precision: str):
    """Length-bucketed, per-batch padded forward passes in `precision`: (example indices, hidden states as float32,
    so that pooling sums in float32 whatever the precision, attention mask)."""
    model.eval().to(device)
    for batch_indices in tqdm(length_buckets(features, batch_size), desc="features", disable=quiet, leave=False):
        batch = tokenizer.pad([features[i] for i in batch_indices], return_tensors="pt").to(device)
        with autocast(precision, device):
            hidden = model(**batch, output_hidden_states=True).hidden_states
        yield batch_indices, tuple(state.float() for state in hidden), batch["attention_mask"]


class FeatureExtractor:
    """One frozen encoder shared by every task of a run; the tokenizer loads on first use, the weights
    only on a cache miss, so building one costs nothing until a frozen runner reads features."""

    def __init__(self, model_ref: ModelRef, config, cache: FeatureCache | None = None):
        self.model_ref, self.config = model_ref, config
        self.cache = cache or FeatureCache()
        self._encoder = None
        self._fingerprint = None
        self.seconds = 0.0
        self.extracted = 0
        self.cache_hits = 0
        self.flops = PhaseFlops(lambda backward: "extraction")  # this process's encoder passes (a cache hit runs none)
        # what the features read from the cache cost when they were computed (kept beside them), and how many
        # hits came from a cache written before that was kept (counted 0)
        self.recalled_flops = 0.0
        self.uncounted_hits = 0
        self.hidden_states: int | None = None  # how many the encoder gives (embeddings first), once features are read

    @functools.cached_property
    def precision(self) -> str:
        """--precision as the encoder runs it here (auto: resolved on first use, a CPU probe at most)."""
        return resolve_precision(self.config.precision, self.config.device, training=False)

    @functools.cached_property
    def tokenizer(self):
        return load_tokenizer(self.model_ref)

    @functools.cached_property
    def device(self) -> str:
        """--device resolved (this rank's GPU under a launch), on a cache miss: resolving `auto` imports torch."""
        return rank_device(self.config.torch_device())

    @functools.cached_property
    def shards(self) -> Shards | None:
        """The ranks of a launch, which share out every extraction (ranks.py); None in a single process."""
        return Shards.join(self.device) if launched() else None

    def serve(self) -> list:
        """A rank other than 0: extract the shares of rank 0's frozen run (ranks.py); returns that run's results."""
        return self.shards.serve(self._rows)

    @functools.cached_property
    def facts(self) -> ModelFacts:
        """What the tokenizer and config say (models.ModelFacts). A local folder's are kept in the cache under the
        digest of its files (models.facts_digest), so that a run whose features are all cached reads them back
        without loading transformers; only the process that writes results writes them."""
        if not self.model_ref.is_local:
            return model_facts(self.model_ref)
        key = self.cache.key(facts=facts_digest(self.model_ref))
        kept = _facts(self.cache.record(key))
        if kept is not None:
            return kept
        facts = model_facts(self.model_ref)
        if is_main_process():
            self.cache.put_record(key, dataclasses.asdict(facts))
        return facts

    @property
    def fingerprint(self) -> dict:
        """The weights' sha256 (local folder), else the Hub commit once the encoder has loaded."""
        if self._fingerprint is None:
            self._fingerprint = weights_fingerprint(self.model_ref, self._encoder)
        return self._fingerprint

    @functools.cached_property
    def encoding(self) -> str:
        """What fixes the encoder's numbers (weights, config, tokenizer files): the model part of cache keys."""
        return encoding_fingerprint(self.model_ref, self.facts.vocab_files, self.fingerprint)

    @property
    def encoder_loaded(self) -> bool:
        return self._encoder is not None

    @property
    def encoder(self):
        if self._encoder is None:
            self._encoder = load_model(self.model_ref)
            self.flops.watch(self._encoder)
            if not self.model_ref.is_local:
                self._fingerprint = weights_fingerprint(self.model_ref, self._encoder)
        return self._encoder

    def features(self, task: TaskSpec, examples: list[dict], split: str) -> np.ndarray:
        """Every hidden state pooled per example, (examples, states, width) (N21): cached once, so runs
        that choose other layers or heads need no forward pass. Read back memory-mapped: a run that reads one
        layer reads little more than that layer's bytes of the file."""
        cfg = self.config
        key = self.features_key(task, examples, split)
        cached = self.cache.get(key, mmap_mode="r",
                                expected=lambda array: _states(array) and len(array) == len(examples))
        if cached is not None:
            self._recall_flops(key)
            self.hidden_states = cached.shape[1]
            return cached
        before = self.flops.by_phase["extraction"]
        array = self._timed(len(examples), extract_features, self.encoder, self.tokenizer, examples,
                            max_length=cfg.max_length, batch_size=cfg.eval_batch_size, pooling=cfg.pooling,
                            layers=None, device=self.device, quiet=cfg.quiet, precision=self.precision)
        self.cache.put(key, array)
        self._keep_flops(key, before)
        self.hidden_states = array.shape[1]
        return array

    def token_features(self, task: TaskSpec, examples: list[dict], split: str,
                       features: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """Every token's vector from the hidden states --layers names (N2N); `features` are the examples' tokens."""
        states, offsets = self.token_states(task, examples, split, features)
        return layer_states(states, self.config.layers), offsets

    def token_states(self, task: TaskSpec, examples: list[dict], split: str,
                     features: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """Every token's states from every hidden state, memory-mapped, and each example's first row (N2N).

        Cached under a key without --layers: runs that choose or mix layers differently share one extraction.
        """
        cfg = self.config
        key = self._key(task, examples, split, "token", layers="every", stored="bf16")  # float32 ones are not read
        starts = token_offsets(features)
        offsets = self.cache.get(f"{key}-offsets", expected=lambda array: array.dtype == np.int64
                                 and np.array_equal(array, starts))
        vectors = self.cache.get(key, mmap_mode="r",
                                 expected=lambda array: _states(array, BF16_BITS) and len(array) == starts[-1])
        if vectors is not None and offsets is not None:
            self._recall_flops(key)
            self.hidden_states = vectors.shape[-2]
            return vectors, offsets
        before = self.flops.by_phase["extraction"]
        with self.cache.writing(key, dtype=BF16_BITS) as allocate:
            vectors, offsets = self._timed(len(examples), extract_token_features, self.encoder, self.tokenizer, features,
                                     batch_size=cfg.eval_batch_size, device=self.device, quiet=cfg.quiet,
                                     allocate=allocate, precision=self.precision)
            self.cache.put(f"{key}-offsets", offsets)  # offsets first: vectors on disk imply their offsets are too
        self._keep_flops(key, before)
        cached = self.cache.get(key, mmap_mode="r")  # None only when there were no tokens to write
        self.hidden_states = vectors.shape[-2]
        return (cached if cached is not None else vectors), offsets

    def _keep_flops(self, key: str, before: float) -> None:
        """Keep what computing the features under `key` cost beside them: a run that reads them back counts the
        same work, so a result's compute does not depend on what the cache held."""
        if is_main_process():
            self.cache.put_record(f"{key}-flops", {"flops": self.flops.by_phase["extraction"] - before})

    def _recall_flops(self, key: str) -> None:
        self.cache_hits += 1
        record = self.cache.record(f"{key}-flops")
        if record is not None and isinstance(record.get("flops"), (int, float)) and record["flops"] >= 0:
            self.recalled_flops += record["flops"]
        else:
            self.uncounted_hits += 1

    def features_key(self, task: TaskSpec, examples: list[dict], split: str,
                     fields: tuple[str, ...] | None = None) -> str:
        """The cache key of `features` for these examples; with `fields` (a superset of those the encoder reads),
        the key fingerprints those instead: what a record derived from the features and more of the examples is
        keyed by."""
        return self._key(task, examples, split, self.config.pooling, layers="all", fields=fields)

    def _key(self, task: TaskSpec, examples: list[dict], split: str, pooling: str, layers: str,
             fields: tuple[str, ...] | None = None, **stored) -> str:
        """Everything the cached numbers depend on; the task's shape says which example fields the encoder reads
        (unless `fields` names more); `stored`, the format the numbers are kept in where not float32. fp32 features
        keep the key they had before --precision existed, so caches written then stay valid."""
        cfg = self.config
        return self.cache.key(
            model=self.encoding, task=task.id, version=task.version, split=split,
            pooling=pooling, layers=layers, max_length=cfg.max_length, doc_stride=cfg.doc_stride,
            data=examples_fingerprint(examples, fields or shape_of(task).input_fields),
            **({} if self.precision == "fp32" else {"precision": self.precision}), **stored,
        )

    def _timed(self, count: int, extract, *args, **kwargs):
        """`extract(*args, **kwargs)`, timed; under a launch, shared out over its ranks."""
        start = time.perf_counter()
        result = extract(*args, **kwargs) if self.shards is None else self._shared(extract, *args, **kwargs)
        self.seconds += time.perf_counter() - start
        self.extracted += count
        return result

    def _shared(self, extract, model, tokenizer, items: list[dict], **kwargs):
        """What `extract` (extract_features or extract_token_features) gives for `items`, each rank extracting its
        share of the batches one process would run (ranks.py): the same rows, in the same order."""
        if not items:  # no batch to share
            return extract(model, tokenizer, items, **kwargs)
        tokens = extract is extract_token_features  # its items are tokenized already, and each token gets a row
        allocate = kwargs.pop("allocate", functools.partial(np.empty, dtype=np.float32))
        features = items if tokens else tokenize(tokenizer, items, kwargs["max_length"], with_labels=False)
        starts = token_offsets(features) if tokens else np.arange(len(items) + 1)  # each item's first row
        output = None

        def place(share: list[int], rows: np.ndarray) -> None:
            nonlocal output
            if output is None:  # rank 0's own rows come first, and tell the width
                output = allocate((int(starts[-1]), *rows.shape[1:]))
            output[np.concatenate([np.arange(starts[i], starts[i + 1]) for i in share])] = _stored(rows, output.dtype)

        shares = self.shards.deal(length_buckets(features, kwargs["batch_size"]))
        self.shards.gather(self._rows, extract, kwargs, items, shares, place)
        return (output, starts) if tokens else output

    def _rows(self, extract, items: list[dict], kwargs: dict) -> np.ndarray:
        """This rank's rows of its share `items`, on its own device."""
        result = extract(self.encoder, self.tokenizer, items, **{**kwargs, "device": self.device})
        return result[0] if extract is extract_token_features else result
