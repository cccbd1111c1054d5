"""Fine-tuning speed and quality, as a ratio measured side by side on 2,000 SST-2 training rows.

The harness's FinetuneRunner (length-grouped training batches, dynamic padding) against a plain
transformers Trainer with its default random sampler and DataCollatorWithPadding: same model init,
same recipe (lr, batch, epochs, warm-up, weight decay, seed), same tokenized rows, one epoch each.
Bars: training examples/s ratio >= 1.8, and the harness's SST-2 dev accuracy no worse than the plain
run's minus 1 point.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from _bench import Stopwatch, report
from harness.config import RunConfig
from harness.data.splits import load_splits, plan_splits
from harness.formats.n21 import model_kwargs, references, tokenize
from harness.models import load_model, load_tokenizer
from harness.runners.finetune import FinetuneRunner

SPEED_BAR = 1.8  # harness training examples/s / plain Trainer training examples/s
ACCURACY_MARGIN = 1.0  # points the harness may trail the plain run by (noise)
TRAIN_SAMPLES = 2000

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _accuracy(predictions, examples) -> float:
    return 100.0 * float(np.mean(np.asarray(predictions) == references(examples)))


def _warm_up(minilm_ref, task, features, batch_size) -> None:
    """One forward and backward pass of a throwaway model, so neither timed run pays first-call costs."""
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

    model = load_model(minilm_ref, AutoModelForSequenceClassification, **model_kwargs(task)).train()
    batch = DataCollatorWithPadding(load_tokenizer(minilm_ref))(features[:batch_size])
    model(**batch).loss.backward()


def _plain_trainer(minilm_ref, task, config: RunConfig, initial_state: dict, output_dir, train_features):
    """transformers' Trainer as a user would write it: default sampler, DataCollatorWithPadding."""
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding, Trainer, TrainingArguments

    tokenizer = load_tokenizer(minilm_ref)
    model = load_model(minilm_ref, AutoModelForSequenceClassification, **model_kwargs(task))
    model.load_state_dict(initial_state)  # the very weights the harness run starts from
    args = TrainingArguments(
        output_dir=str(output_dir),
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,  # below 1: a ratio of the total steps
        lr_scheduler_type="linear",
        seed=config.seed,
        report_to=[],
        disable_tqdm=True,
        use_cpu=config.torch_device() == "cpu",
    )
    # The default "random" strategy evaluates sequentially; "group_by_length" would shuffle evaluation too.
    assert args.train_sampling_strategy == "random"
    return Trainer(model=model, args=args, train_dataset=train_features,
                   data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer)


def test_finetune_speed_and_accuracy_vs_plain_trainer(benchmark, tmp_path, minilm_ref, sst2_task, shared_data,
                                                      torch_threads):
    from transformers import set_seed

    # one epoch, the rate and the checkpoint's pooler head as the plain side trains
    config = RunConfig(epochs=1, min_steps=0, learning_rate=1e-4, finetune_pooling="pooler", quiet=True,
                       max_train_samples=TRAIN_SAMPLES)
    plan = plan_splits(sst2_task, load_splits(sst2_task, shared_data), "official", config.seed,
                       max_train_samples=config.max_train_samples, max_eval_samples=config.max_eval_samples)
    train, dev = plan.folds[0].train, plan.folds[0].eval
    assert plan.strategy == "official" and len(train) == TRAIN_SAMPLES and len(dev) == 872

    set_seed(config.seed)  # the classifier head's random init, shared by both runs below
    runner = FinetuneRunner(sst2_task, minilm_ref, config, tmp_path / "harness")
    initial_state = {name: tensor.detach().clone() for name, tensor in runner.model.state_dict().items()}
    _warm_up(minilm_ref, sst2_task, tokenize(runner.tokenizer, train, config.max_length), config.batch_size)

    # Harness: tokenize + build its Trainer + train (all inside fit), then predict on dev.
    fit = Stopwatch(runner.fit)
    benchmark.pedantic(fit, args=(train,), rounds=1, iterations=1)
    harness_accuracy = _accuracy(runner.predict(dev), dev)
    harness_eval_s = runner.timings["evaluation_s"]

    # Plain: the same steps, timed the same way.
    start = time.perf_counter()
    trainer = _plain_trainer(minilm_ref, sst2_task, config, initial_state, tmp_path / "plain",
                             tokenize(runner.tokenizer, train, config.max_length))
    trainer.train()
    plain_train_s = time.perf_counter() - start
    start = time.perf_counter()
    output = trainer.predict(tokenize(runner.tokenizer, dev, config.max_length))
    plain_eval_s = time.perf_counter() - start
    np.testing.assert_array_equal(output.label_ids, references(dev))  # predictions line up with the examples
    plain_accuracy = _accuracy(output.predictions.argmax(-1), dev)

    trained = len(train) * config.epochs
    harness_rate, plain_rate = trained / fit.best, trained / plain_train_s
    ratio = harness_rate / plain_rate
    report(
        benchmark, "fine-tune: harness vs plain Trainer",
        ratio=ratio, bar=SPEED_BAR,
        harness_train_examples_per_s=harness_rate, plain_train_examples_per_s=plain_rate,
        harness_train_s=fit.best, plain_train_s=plain_train_s,
        harness_dev_accuracy=harness_accuracy, plain_dev_accuracy=plain_accuracy, accuracy_margin=ACCURACY_MARGIN,
        harness_eval_s=harness_eval_s, plain_eval_s=plain_eval_s,
        train_examples=len(train), dev_examples=len(dev), epochs=config.epochs, batch_size=config.batch_size,
        learning_rate=config.learning_rate, seed=config.seed, torch_threads=torch_threads,
        device=config.torch_device(),
    )
    assert ratio >= SPEED_BAR, (
        f"harness fine-tuning trains {ratio:.2f}x the examples/s of a plain Trainer (bar {SPEED_BAR}x)"
    )
    assert harness_accuracy >= plain_accuracy - ACCURACY_MARGIN, (
        f"harness SST-2 dev accuracy {harness_accuracy:.2f} trails the plain Trainer's {plain_accuracy:.2f} "
        f"by more than {ACCURACY_MARGIN} point"
    )
