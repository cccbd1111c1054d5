"""The one runner contract: what evaluate() may ask of any runner, frozen, fine-tuned or generating.

A run trains a runner on a fold (`fit`), asks for its predictions (`predict`, in the shape's own
prediction type), and records what it reports here: time per phase, trainable parameters, the
weights it ran, the units --max-length cut off, the step a resumed fine-tune restarted from, and
scores that need no training (the frozen encoder's cosine similarity), what training chose on its
own (a frozen token head's epochs and layer weights), and, where a head can read one hidden state
alone, the same head trained on each layer in turn (--layer-sweep). Declaring every one of them
here, with its default, is what lets api.py read them without probing.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager

from harness.flops import PhaseFlops
from harness.metrics.generation import SignedScores

# Phases a runner times, in the order results list them (extraction: frozen features computed, not cached).
PHASES = ("training_s", "evaluation_s", "extraction_s")
LR_SEARCH_PHASE = "learning_rate_search_s"  # the learning-rate search's time, among a run's timings where it searched


class Runner(ABC):
    """Fit on training examples, predict on others; report timings, parameters and weights."""

    mode: str  # "frozen" or "finetune": the mode whose runs this runner makes
    # Units --max-length cut off in the last predict (scored as wrong); 0 for runners that cut none.
    truncated: int = 0
    # The checkpoint step training resumed from (--resume), or None when it started afresh.
    resumed_from_step: int | None = None
    # Optimisation steps the last fit ran (Trainer's), or None for runners that take none.
    train_steps: int | None = None
    # Whether layer_sweep is offered: a head that can be trained on one hidden state of the encoder alone.
    sweeps_layers: bool = False
    # Whether training backpropagates through a transformer (fine-tuning; a decoder on the frozen encoder) rather
    # than running the encoder forward only: --precision auto resolves for the one or the other (harness.precision).
    backpropagates: bool = False
    # Whether it trains with Trainer at --learning-rate: where that is unset, an inner holdout of train chooses it
    # (harness/learning_rate.py).
    searches_learning_rate: bool = False
    # Whether one head reads the whole sequence pooled (a fine-tuned sequence classifier): --finetune-pooling applies.
    sequence_head: bool = False
    # Whether it reads the run's shared FeatureExtractor (frozen heads): under a launch (torchrun), rank 0 alone runs
    # it while the other ranks extract their shares of its features (runners/ranks.py).
    reads_features: bool = False
    # What the FLOPs of each timed phase count as (flops.PHASES); a frozen runner's training is its head's.
    COUNTED = {"training_s": "training", "evaluation_s": "evaluation", "extraction_s": "extraction"}
    # Whether its head learns a scalar mix of every hidden state (--layers mix): the token heads; pooled heads choose.
    mixes_layers: bool = False

    def __init__(self):
        self._seconds = dict.fromkeys(PHASES, 0.0)
        self._phase: str | None = None  # the timed phase running now
        self.flops = PhaseFlops(self._counted_phase)
        self._choices: dict = {}  # what fit chose (see `choices`)
        self.population: list[dict] | None = None  # see draws_from

    @property
    def timings(self) -> dict[str, float]:
        """Seconds spent so far in each phase (PHASES)."""
        return dict(self._seconds)

    @contextmanager
    def timed(self, phase: str):
        """Add the time the block takes to `phase`."""
        start, outer = time.perf_counter(), self._phase
        self._phase = phase
        try:
            yield
        finally:
            self._seconds[phase] += time.perf_counter() - start
            self._phase = outer

    def _counted_phase(self, backward: bool) -> str:
        """The compute phase a counted pass falls in: the timed phase's, else training where it backpropagates."""
        return self.COUNTED.get(self._phase) or ("training" if backward else "evaluation")

    @property
    def compute(self) -> dict[str, float]:
        """Floating-point operations counted so far in each phase (harness.flops.PHASES)."""
        return dict(self.flops.by_phase)

    @property
    def compute_note(self) -> str:
        """What a reader of the counted compute should know (a cached extraction that did not run); none by default."""
        return ""

    def draws_from(self, population: list[dict]) -> None:
        """Say that the examples `fit` gets are a subset of `population`, the whole training split (a learning
        curve's smaller sizes): runners whose features are cached compute them once for the population and
        slice them, so no size runs a forward pass of its own. Others train on the subset as on any train set."""
        self.population = population

    @abstractmethod
    def fit(self, train: list[dict]) -> None:
        """Train on these examples (the frozen encoder's head, or the whole model)."""

    @abstractmethod
    def predict(self, examples: list[dict], split: str = "eval"):
        """Predictions for the examples in the shape's prediction type; `split` names them in caches."""

    @property
    @abstractmethod
    def trainable_parameters(self) -> int:
        """Parameters training changed: the head's in frozen mode, the model's when fine-tuning."""

    @property
    @abstractmethod
    def fingerprint(self) -> dict:
        """What identifies the pretrained weights the run used (weights' sha256 or Hub commit)."""

    @property
    def device(self) -> str:
        """Where the run computed (recorded with it): the CPU, unless the runner ran a model elsewhere."""
        return "cpu"

    @property
    def choices(self) -> dict:
        """What training chose from the training examples alone (a layer, an L2 strength, epochs kept, a learnt
        layer mix...), recorded beside the run's settings; nothing by default."""
        return self._choices

    def extra_scores(self, examples: list[dict]) -> SignedScores:
        """Scores beside the shape's that this runner gives without training, with their per-example
        values (a prediction-row column each); none by default."""
        return SignedScores()

    def layer_sweep(self, train: list[dict], examples: list[dict]) -> Iterator[tuple[int, object]]:
        """(layer, predictions on `examples`) per hidden state, 0 = embeddings: this runner's head trained on
        `train` reading that state alone, from the features the run already has. After `fit`; only where
        `sweeps_layers`."""
        raise NotImplementedError(f"{type(self).__name__} has no head that reads one hidden state alone")
