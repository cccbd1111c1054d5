"""Fine-tune mode: the whole model trains with transformers.Trainer (torchrun / accelerate scale it).

Speed without changing the recipe: training batches are grouped by length and padded per batch, and
evaluation runs over length-sorted batches, so little compute goes to padding.

FinetuneRunner fine-tunes N21 tasks (a sequence-classification head); finetune_tokens.py holds the same
machinery with the token-level shapes' pieces. Nothing here imports torch or transformers until a runner
is built: shapes name these classes, and a frozen run whose features are cached must not load either.
"""
from __future__ import annotations

import logging
import math
import os
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from harness import preemption
from harness.config import RunConfig
from harness.errors import ConfigError
from harness.formats.n21 import decode, length_buckets, model_kwargs, tokenize
from harness.models import (ModelRef, encoding_fingerprint, finetune_pooling, load_model, load_tokenizer,
                            transformers_bars_off, vocab_files, weights_fingerprint)
from harness.precision import resolve_precision, trainer_flags
from harness.runners.base import Runner
from harness.runners.checkpoints import checkpoint_callback, resume_point, training_record
from harness.runners.training_bar import LOSS_EVERY, training_bar
from harness.tasks import TaskSpec

log = logging.getLogger("harness")


MAX_EPOCHS = 100  # --min-steps raises the epochs of a small train set this far at most


def train_epochs(config: RunConfig, train_examples: int) -> float:
    """--epochs, raised where a small train set would get fewer than --min-steps optimisation steps: a fixed
    epoch count leaves a 100-example run with a dozen steps, barely moved from its initial weights (a learning
    curve would then measure the schedule rather than the data)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    steps_per_epoch = max(1, math.ceil(train_examples / (config.batch_size * world)))
    needed = math.ceil(config.min_steps / steps_per_epoch)
    return float(min(max(config.epochs, needed), max(config.epochs, MAX_EPOCHS)))


def training_arguments(config: RunConfig, output_dir: Path, **overrides):
    """Trainer's arguments for the recipe; `config.precision` resolved (bf16 / fp16: mixed precision)."""
    from transformers import TrainingArguments

    args = dict(
        output_dir=str(output_dir),
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a ratio of the total steps
        lr_scheduler_type="linear",
        seed=config.seed,
        train_sampling_strategy="group_by_length",
        save_strategy="steps",
        save_steps=500,  # and every --checkpoint-minutes (checkpoints.checkpoint_callback, which also rotates them)
        logging_steps=LOSS_EVERY,
        logging_first_step=True,  # the bar shows a loss from the first step on, however short the run
        report_to=[],
        disable_tqdm=True,  # training_bar draws the console instead
        use_cpu=config.torch_device() == "cpu",
        dataloader_num_workers=0,
        # Under torchrun on CPU, processes talk over gloo (nccl needs GPUs).
        ddp_backend="gloo" if config.torch_device() == "cpu" and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        **trainer_flags(config.precision),
    )
    args.update(overrides)
    return TrainingArguments(**args)


def reproducible_trainer_class():
    """Trainer whose batches depend on the seed alone and whose evaluation keeps the dataset's order.

    transformers 5 applies `train_sampling_strategy="group_by_length"` to evaluation too, with a
    random length-grouped sampler, which returns predictions shuffled against their examples. Its
    length-grouped training sampler draws each epoch's order from the global RNG, which a run resumed
    in the middle of a later epoch holds in another state than the uninterrupted run did at that epoch's
    start, so it would train on other batches: each epoch's order comes from (seed, epoch) instead, as
    accelerate's seedable sampler orders random sampling.
    """
    import torch
    from torch.utils.data import SequentialSampler
    from transformers import Trainer
    from transformers.trainer_pt_utils import LengthGroupedSampler

    class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
        def __init__(self, grouped: LengthGroupedSampler, seed: int):
            super().__init__(grouped.batch_size, lengths=grouped.lengths, generator=torch.Generator())
            self.seed, self.epoch = seed, 0

        def set_epoch(self, epoch: int) -> None:  # Trainer calls it (through accelerate) before each epoch
            self.epoch = epoch

        def __iter__(self):
            self.generator.manual_seed(self.seed + self.epoch)
            return super().__iter__()

    class ReproducibleTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            sampler = super()._get_train_sampler(train_dataset)
            if isinstance(sampler, LengthGroupedSampler):
                return EpochSeededLengthGroupedSampler(sampler, self.args.seed)
            return sampler

        def _get_eval_sampler(self, eval_dataset):
            if self.args.world_size <= 1:
                return SequentialSampler(eval_dataset)
            return None  # accelerate shards in order and gathers back in order

    return ReproducibleTrainer


def _seed(seed: int) -> None:
    from transformers import set_seed

    set_seed(seed)


class FinetuneRunner(Runner):
    mode = "finetune"
    sequence_head = True  # one label or score per input: --finetune-pooling applies
    backpropagates = True
    searches_learning_rate = True
    # False: fit writes no checkpoints, and a SIGTERM stops it at once (the learning-rate search's short runs,
    # which nothing resumes: a checkpoint there costs a write of the weights and optimiser state, for nothing).
    keeps_checkpoints = True

    def __init__(self, task: TaskSpec, model_ref: ModelRef, config: RunConfig, checkpoint_dir: Path):
        super().__init__()
        precision = resolve_precision(config.precision, config.torch_device(), training=self.backpropagates)
        self.task, self.model_ref, self.config = task, model_ref, config.replace(precision=precision)
        if self.sequence_head:  # auto (unless api.py resolved it already): the model's declared pooling
            self.config = self.config.replace(finetune_pooling=finetune_pooling(config.finetune_pooling, model_ref))
        self.checkpoint_dir = Path(checkpoint_dir)
        self.tokenizer = load_tokenizer(model_ref)
        _seed(config.seed)  # the new head's initial weights are part of what the seed fixes
        self.model, pretrained = self._build_model()
        self.flops.watch(self.model)
        self._fingerprint = weights_fingerprint(model_ref, pretrained)
        self.trainer = None

    @property
    def fingerprint(self) -> dict:
        return self._fingerprint

    @property
    def device(self) -> str:
        return self.config.torch_device()

    def _build_model(self):
        """The model to train, and the pretrained part of it (whose Hub commit the result records)."""
        if self.sequence_head and self.config.finetune_pooling != "pooler":
            from harness.heads.pooled_classifier import PooledClassifier  # torch: loaded with the model

            encoder = load_model(self.model_ref)
            return PooledClassifier(encoder, self.task, self.config.finetune_pooling), encoder
        model = load_model(self.model_ref, self._auto_class(), **self._model_kwargs())
        return model, model

    def _auto_class(self):
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification

    def _model_kwargs(self) -> dict:
        return model_kwargs(self.task)

    def _optimizer(self):
        """None: the Trainer's AdamW over every parameter at --learning-rate."""
        return None

    def _collator(self):
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(self.tokenizer)

    def _features(self, examples: list[dict], with_labels: bool = True) -> list[dict]:
        return tokenize(self.tokenizer, examples, self.config.max_length, with_labels)

    def _trainer(self, train_features=None, epochs: float | None = None):
        from transformers.trainer_callback import PrinterCallback

        saving = {} if self.keeps_checkpoints else {"save_strategy": "no"}
        trainer = reproducible_trainer_class()(
            model=self.model,
            args=training_arguments(self.config, self.checkpoint_dir, num_train_epochs=epochs or self.config.epochs,
                                    **saving),
            train_dataset=train_features,
            data_collator=self._collator(),
            processing_class=self.tokenizer,
            optimizers=(self._optimizer(), None),
            callbacks=[checkpoint_callback(self.config.checkpoint_minutes)] if self.keeps_checkpoints else [],
        )
        trainer.remove_callback(PrinterCallback)  # it prints every log line as a dictionary
        if not self.config.quiet:
            rate = self.config.learning_rate
            trainer.add_callback(training_bar("fine-tune" + (f" lr {rate:g}" if rate is not None else "")))
        return trainer

    def fit(self, train: list[dict]) -> None:
        if self.config.learning_rate is None:
            raise ConfigError(f"{type(self).__name__} trains at --learning-rate, which is unset: give one, or run "
                              "through evaluate(), which chooses it on train")
        features = self._features(train)
        epochs = train_epochs(self.config, len(features))
        if epochs != self.config.epochs:  # recorded: the recipe this train size got
            self._choices = {"epochs": epochs, "reason": f"--min-steps {self.config.min_steps}"}
        resumed = self._resume_point(train)
        self.trainer = self._trainer(features, epochs)
        checkpoint = None
        if resumed is not None:
            checkpoint, state = resumed
            self.resumed_from_step = state["global_step"]
            log.info("%s %s: resuming from step %d of %s (%s)", self.task.id, self.mode, state["global_step"],
                     state.get("max_steps", "?"), checkpoint)
        with self.timed("training_s"), preemption.checkpointing() if self.keeps_checkpoints else nullcontext(), \
                transformers_bars_off():  # its checkpoint writes
            self.trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        self.train_steps = self.trainer.state.global_step

    def _resume_point(self, train: list[dict]):
        """The checkpoint to continue from (checkpoints.resume_point, which readies the folder), or None."""
        if not self.keeps_checkpoints:
            return None
        model = encoding_fingerprint(self.model_ref, vocab_files(self.tokenizer), self._fingerprint)
        return resume_point(self.checkpoint_dir, training_record(self.config, model, train), self.config)

    def predict(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        return decode(self.task, self._outputs(self._features(examples, with_labels=False)))

    def _outputs(self, features: list[dict]):
        """Predict over length-sorted batches, then restore the features' order."""
        trainer = self.trainer or self._trainer()
        order = [i for batch in length_buckets(features, self.config.eval_batch_size) for i in batch]
        with self.timed("evaluation_s"):
            outputs = trainer.predict([features[i] for i in order]).predictions
        return _restore(outputs, order)

    @property
    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)


def _restore(outputs, order: list[int]):
    """Predictions made in `order` back in the features' order (each array, when the model returns several)."""
    if isinstance(outputs, tuple):
        return tuple(_restore(output, order) for output in outputs)
    restored = np.empty_like(outputs)
    restored[order] = outputs
    return restored


class FinetuneProbabilityRunner(FinetuneRunner):
    """Classification whose predictions are class probabilities (examples, classes), for ranking metrics."""

    def predict(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        from scipy.special import softmax

        return softmax(self._outputs(self._features(examples, with_labels=False)).astype(np.float64), axis=1)
