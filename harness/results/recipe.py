"""A trained run's recipe as it ran, read from its result alone: what leaderboards and run reports state.

The settings a run was asked for are not always what it ran: --min-steps raises a small train set's epochs, an
unset --learning-rate is chosen on train, --finetune-pooling auto becomes the model's declared pooling. Each of
those is recorded in the result (`chosen`, the resolved settings), and this is the one place that reads them
back, so no renderer shows a default where the run did otherwise. recipe_text is the line a leaderboard's Runs table
gives a run: its fine-tuning recipe, its frozen head and what inner CV chose for it, or its decoder's.
"""
from __future__ import annotations

from dataclasses import dataclass

from harness.precision import recorded_precision
from harness.results.store import RunResult
from harness.shapes import shape_of
from harness.tasks import TaskSpec

# what runs recorded before --finetune-pooling existed ran with
POOLING_BEFORE_RECORDED = "pooler"


@dataclass(frozen=True)
class TrainedRecipe:
    """What a run trained with Trainer (a fine-tune, or a frozen encoder's decoder) ran."""

    epochs: float
    steps: int | None  # optimisation steps (the first fold's under k-fold); None where the result predates them
    learning_rates: tuple[float, ...]  # the rate each fold trained at, each once
    rate_chosen: bool  # chosen on an inner holdout of train (else given by --learning-rate)
    batch_size: int | None
    pooling: str  # --finetune-pooling as it resolved (pooler: the checkpoint's own head)
    precision: str

    def text(self, pooled: bool = True) -> str:
        """One line, e.g. "17 ep (300 steps), lr 5e-05 (chosen on train), bs 32, mean-pooled"; `pooled`: whether the
        run's head reads the pooled sequence (where it does not, its pooling setting did nothing)."""
        steps = f" ({self.steps:,} steps)" if self.steps else ""
        rates = "/".join(f"{rate:g}" for rate in self.learning_rates) or "–"
        parts = [f"{self.epochs:g} ep{steps}", f"lr {rates}" + (" (chosen on train)" if self.rate_chosen else ""),
                 f"bs {self.batch_size if self.batch_size is not None else '–'}"]
        if pooled:
            parts.append("pooler head" if self.pooling == "pooler" else f"{self.pooling}-pooled")
        return ", ".join(parts)


def trained_recipe(result: RunResult) -> TrainedRecipe:
    """The recipe `result` ran: its chosen epochs and learning rate (each fold's under k-fold) over its settings."""
    settings = result.provenance.get("hyperparameters", {})
    chosen = settings.get("chosen")
    folds = chosen if isinstance(chosen, list) else [chosen if isinstance(chosen, dict) else {}]
    rates = [fold.get("learning_rate", settings.get("learning_rate")) for fold in folds]
    return TrainedRecipe(
        epochs=result.epochs_run(0.0),
        steps=result.timings.get("train_steps"),
        learning_rates=tuple(dict.fromkeys(rate for rate in rates if rate is not None)),
        rate_chosen=any("learning_rate" in fold for fold in folds),
        batch_size=settings.get("batch_size"),
        pooling=settings.get("finetune_pooling") or POOLING_BEFORE_RECORDED,
        precision=recorded_precision(settings),
    )


def recipe_text(result: RunResult, spec: TaskSpec | None) -> str:
    """What trained, as the result says it ran: the fine-tuning recipe (trained_recipe), the frozen head, or
    (text to text, frozen) the decoder's recipe; then the precision where it was not fp32 (results from before it
    was recorded ran in fp32)."""
    h = result.provenance.get("hyperparameters", {})
    precision = recorded_precision(h)
    return _trained(result, h, spec) + ("" if precision == "fp32" else f", {precision}")


def _trained(result: RunResult, h: dict, spec: TaskSpec | None) -> str:
    if result.mode == "finetune":
        return trained_recipe(result).text(pooled=_pools(spec))
    if _generates(spec):
        return f"decoder only: {trained_recipe(result).text(pooled=False)}"
    chosen = h.get("chosen")
    if isinstance(chosen, dict) and "token_head" in chosen:  # a token shape's torch head, as it trained
        return f"{chosen['token_head']} head, {chosen['layers']} layers"
    return f"{h.get('head', '?')} head{_chosen_text(chosen)}" if h else "–"


def _chosen_text(chosen: dict | list | None) -> str:
    """What a pooled frozen head read of a pair, and what inner cross-validation on train chose for it (the
    first fold's, under k-fold)."""
    if isinstance(chosen, list):
        chosen = chosen[0]
    if not chosen:
        return ""
    by_cv = [f"{name} {chosen[key]:g}" if isinstance(chosen[key], float) else f"{name} {chosen[key]}"
             for key, name in (("layer", "layer"), ("alpha", "alpha"), ("C", "C")) if key in chosen]
    parts = ([f"pairs: {chosen['pair_features']}"] if "pair_features" in chosen else []) + (
        [f"by inner CV: {', '.join(by_cv)}"] if by_cv else [])
    return f" ({'; '.join(parts)})"


def _generates(spec: TaskSpec | None) -> bool:
    """Whether the task trains a decoder (its frozen recipe is the decoder's); unknown tasks do not."""
    return spec is not None and shape_of(spec).generates


def _pools(spec: TaskSpec | None) -> bool:
    """Whether the task's fine-tuned head reads the pooled sequence (--finetune-pooling applies); unknown tasks'
    results show the pooling they recorded."""
    return spec is None or shape_of(spec).runner_class("finetune").sequence_head
