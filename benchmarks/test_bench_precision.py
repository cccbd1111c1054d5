"""--precision: bf16 against fp32, speed and score drift, side by side on SST-2 with all-MiniLM-L6-v2.

1. frozen: `extract_features` on the 872 dev sentences (every hidden state mean pooled, as the cache
   holds them) in fp32 and under bf16 autocast, interleaved rounds, best round each: sentences/s ratio
   and the largest cosine deviation of a bf16 vector from its fp32 twin; then the whole frozen protocol
   (`evaluate`, inner-CV layer and C) on 10,000 seeded train rows in each precision: dev accuracy drift.
2. fine-tuning (slow): `FinetuneRunner.fit`, 1 epoch on 2,000 seeded train rows, fp32 vs Trainer's bf16
   mixed precision, from the same initial weights: optimisation steps/s ratio and dev accuracy drift.

Bars, where `--precision auto` picks bf16 on this device (harness.precision.resolve_precision): bf16 at
least 1.5x the fp32 throughput and dev accuracy within 0.3 points of fp32's. Where auto keeps fp32 (a CPU
for training; a CPU whose probe shows no clear gain) the numbers are recorded and no bar applies: they
are why auto keeps it.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from _bench import Stopwatch, bench_rounds, report
from harness.config import RunConfig
from harness.models import load_model, load_tokenizer
from harness.precision import cpu_bf16_speedup, resolve_precision
from harness.runners.features import extract_features

SPEED_BAR = 1.5  # bf16 throughput / fp32 throughput, where auto picks bf16
DRIFT_BAR = 0.3  # points of dev accuracy bf16 may differ from fp32 by, where auto picks bf16
FROZEN_TRAIN_SAMPLES = 10_000
FINETUNE_TRAIN_SAMPLES = 2000
WARMUP_EXAMPLES = 256

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def config() -> RunConfig:
    return RunConfig(quiet=True)


@pytest.fixture(scope="module")
def encoder(minilm_ref, config):
    return load_model(minilm_ref).eval().to(config.torch_device()), load_tokenizer(minilm_ref)


def _extract(encoder, config: RunConfig, examples, precision: str) -> np.ndarray:
    model, tokenizer = encoder
    return extract_features(model, tokenizer, examples, max_length=config.max_length, batch_size=config.eval_batch_size,
                            pooling=config.pooling, layers=None, device=config.torch_device(), quiet=True,
                            precision=precision)


def _largest_cosine_deviation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    cosine = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return float(np.max(1 - cosine))


def _frozen_accuracy(shared_data, output_dir, precision: str) -> tuple[float, dict]:
    from harness.api import evaluate

    result = evaluate("minilm", tasks=["glue/sst2"], mode="frozen", data_dir=shared_data,
                      output_dir=output_dir, config=RunConfig(quiet=True, precision=precision,
                                                              max_train_samples=FROZEN_TRAIN_SAMPLES)).results[0]
    assert result.provenance["hyperparameters"]["precision"] == precision
    return result.scores["accuracy"], result.timings


def test_frozen_extraction_and_accuracy_bf16_vs_fp32(benchmark, encoder, config, sst2_dev, minilm_ref, shared_data,
                                                     tmp_path, torch_threads):
    device = config.torch_device()
    for precision in ("fp32", "bf16"):  # warm-up, both sides
        _extract(encoder, config, sst2_dev[:WARMUP_EXAMPLES], precision)
    fp32, bf16 = Stopwatch(_extract), Stopwatch(_extract)
    benchmark.pedantic(bf16, args=(encoder, config, sst2_dev, "bf16"), iterations=1, rounds=bench_rounds(),
                       setup=fp32.as_setup(encoder, config, sst2_dev, "fp32"))
    assert bf16.result.dtype == fp32.result.dtype == np.float32 and bf16.result.shape == fp32.result.shape
    ratio = fp32.best / bf16.best
    deviation = _largest_cosine_deviation(bf16.result, fp32.result)

    fp32_accuracy, fp32_timings = _frozen_accuracy(shared_data, tmp_path / "fp32", "fp32")
    bf16_accuracy, bf16_timings = _frozen_accuracy(shared_data, tmp_path / "bf16", "bf16")
    drift = bf16_accuracy - fp32_accuracy
    auto = resolve_precision("auto", device, training=False)
    report(
        benchmark, "frozen extraction: bf16 vs fp32",
        ratio=ratio, bar=SPEED_BAR, ratio_median=fp32.median / bf16.median,
        bf16_sentences_per_s=len(sst2_dev) / bf16.best, fp32_sentences_per_s=len(sst2_dev) / fp32.best,
        largest_cosine_deviation=f"{deviation:.1e}", fp32_dev_accuracy=fp32_accuracy, bf16_dev_accuracy=bf16_accuracy,
        accuracy_drift=drift, drift_bar=DRIFT_BAR, run_extraction_ratio=(
            bf16_timings["extraction_examples_per_s"] / fp32_timings["extraction_examples_per_s"]),
        train_samples=FROZEN_TRAIN_SAMPLES, auto_picks=auto,
        probe_speedup=cpu_bf16_speedup() if device == "cpu" else None,
        bf16_s=bf16.times, fp32_s=fp32.times, examples=len(sst2_dev), torch_threads=torch_threads, device=device,
    )
    assert deviation < 1e-2  # the same features, rounded: a gross error in autocast would show here
    if auto == "bf16":
        assert ratio >= SPEED_BAR, f"auto picks bf16 here, but it extracts only {ratio:.2f}x fp32's sentences/s"
        assert abs(drift) <= DRIFT_BAR, f"auto picks bf16 here, but it moves frozen dev accuracy by {drift:+.2f}"


@pytest.mark.slow
def test_finetune_bf16_vs_fp32(benchmark, tmp_path, minilm_ref, sst2_task, shared_data, torch_threads):
    from harness.data.splits import load_splits, plan_splits
    from harness.formats.n21 import references
    from harness.runners.finetune import FinetuneRunner

    config = RunConfig(epochs=1, min_steps=0, learning_rate=1e-4, finetune_pooling="pooler", quiet=True,
                       max_train_samples=FINETUNE_TRAIN_SAMPLES)  # the recipe its figures were measured with
    device = config.torch_device()
    plan = plan_splits(sst2_task, load_splits(sst2_task, shared_data), "official", config.seed,
                       max_train_samples=config.max_train_samples, max_eval_samples=config.max_eval_samples)
    train, dev = plan.folds[0].train, plan.folds[0].eval
    runners = {precision: FinetuneRunner(sst2_task, minilm_ref, config.replace(precision=precision),
                                         tmp_path / precision) for precision in ("fp32", "bf16")}
    assert all(torch.equal(a, b) for a, b in zip(runners["fp32"].model.state_dict().values(),
                                                  runners["bf16"].model.state_dict().values()))  # same start
    for precision, runner in runners.items():  # first-call costs paid by neither timed run: two steps in each
        FinetuneRunner(sst2_task, minilm_ref, runner.config, tmp_path / f"warm-up-{precision}").fit(train[:64])

    fp32_fit = Stopwatch(runners["fp32"].fit)
    bf16_fit = Stopwatch(runners["bf16"].fit)
    benchmark.pedantic(bf16_fit, args=(train,), rounds=1, iterations=1, setup=fp32_fit.as_setup(train))
    steps = {p: r.trainer.state.global_step for p, r in runners.items()}
    assert steps["fp32"] == steps["bf16"] > 0
    seconds = {p: r.timings["training_s"] for p, r in runners.items()}
    accuracy = {p: 100.0 * float(np.mean(np.asarray(r.predict(dev)) == references(dev))) for p, r in runners.items()}
    ratio = seconds["fp32"] / seconds["bf16"]
    drift = accuracy["bf16"] - accuracy["fp32"]
    auto = resolve_precision("auto", device, training=True)
    report(
        benchmark, "fine-tune: bf16 vs fp32",
        ratio=ratio, bar=SPEED_BAR, bf16_steps_per_s=steps["bf16"] / seconds["bf16"],
        fp32_steps_per_s=steps["fp32"] / seconds["fp32"], fp32_dev_accuracy=accuracy["fp32"],
        bf16_dev_accuracy=accuracy["bf16"], accuracy_drift=drift, drift_bar=DRIFT_BAR,
        eval_ratio=runners["fp32"].timings["evaluation_s"] / runners["bf16"].timings["evaluation_s"],
        fp32_train_s=seconds["fp32"], bf16_train_s=seconds["bf16"], steps=steps["fp32"], auto_picks=auto,
        train_examples=len(train), dev_examples=len(dev), torch_threads=torch_threads, device=device,
    )
    if auto == "bf16":
        assert ratio >= SPEED_BAR, f"auto picks bf16 here, but it trains only {ratio:.2f}x fp32's steps/s"
        assert abs(drift) <= DRIFT_BAR, f"auto picks bf16 here, but it moves fine-tuned dev accuracy by {drift:+.2f}"
