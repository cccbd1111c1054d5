"""Bootstrap intervals: closed forms, paired zero, determinism, and parity of the vectorised metrics."""
from __future__ import annotations

import math

import numpy as np
import pytest

from harness import uncertainty
from harness.errors import ConfigError, DataError
from harness.metrics import METRICS, compute_scores


def _classifier(n: int, accuracy: float, seed: int = 0, classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predictions right on exactly round(accuracy * n) examples, wrong ones spread over other classes."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    predictions = labels.copy()
    wrong = rng.permutation(n)[: n - round(accuracy * n)]
    predictions[wrong] = (labels[wrong] + rng.integers(1, classes, len(wrong))) % classes
    return predictions, labels


def _correlated(n: int, r: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, r * x + math.sqrt(1 - r * r) * rng.normal(size=n)


def test_accuracy_interval_matches_the_normal_approximation():
    n, p = 20_000, 0.8
    predictions, labels = _classifier(n, p)
    (interval,) = uncertainty.bootstrap(["accuracy"], predictions, labels).values()
    assert interval.estimate == pytest.approx(80.0)
    closed_form = 1.96 * math.sqrt(p * (1 - p) / n) * 100  # 0.554 points
    assert (interval.high - interval.low) / 2 == pytest.approx(closed_form, rel=0.10)
    assert (interval.high + interval.low) / 2 == pytest.approx(80.0, abs=0.1)


def test_pearson_interval_matches_the_large_sample_standard_error():
    n, r = 5_000, 0.6
    x, y = _correlated(n, r)
    interval = uncertainty.bootstrap(["pearson"], x, y)["pearson"]
    estimate = interval.estimate / 100
    closed_form = 1.96 * (1 - estimate**2) / math.sqrt(n) * 100  # normal data: se(r) ~ (1 - r^2) / sqrt(n)
    assert (interval.high - interval.low) / 2 == pytest.approx(closed_form, rel=0.15)


@pytest.mark.parametrize("predictions, labels", [
    ([1], [1]),  # a single example
    ([0, 1, 1, 0], [1, 1, 1, 1]),  # one class in the evaluation
    ([1, 1, 1, 1], [0, 1, 1, 0]),  # one class predicted
])
def test_an_undefined_score_has_no_interval_never_zero_zero(predictions, labels):
    intervals = uncertainty.bootstrap(["mcc", "pearson", "accuracy"], predictions, labels, resamples=50)
    assert intervals["mcc"] is None and intervals["pearson"] is None
    assert intervals["accuracy"] is not None  # accuracy is defined on any examples


def test_resamples_on_which_a_score_is_undefined_are_left_out_of_its_interval():
    # Two perfectly correlated examples: a resample that draws one of them twice is constant (undefined, not 0).
    spread = uncertainty.distributions(["pearson"], [1.0, 2.0], [0.0, 5.0], resamples=200)["pearson"]
    assert np.isnan(spread).any() and set(spread[~np.isnan(spread)].round(9)) == {100.0}
    interval = uncertainty.bootstrap(["pearson"], [1.0, 2.0], [0.0, 5.0], resamples=200)["pearson"]
    assert (interval.estimate, interval.low, interval.high) == pytest.approx((100.0, 100.0, 100.0))


@pytest.mark.parametrize("metrics,data", [
    (["accuracy", "f1", "mcc", "macro_f1"], _classifier(500, 0.7)),
    (["macro_f1", "r3"], _classifier(300, 0.6, classes=3)),
    (["pearson", "spearman"], _correlated(400, 0.5)),
])
def test_paired_interval_of_a_system_against_itself_is_exactly_zero(metrics, data):
    predictions, labels = data
    for interval in uncertainty.paired_bootstrap(metrics, predictions, predictions.copy(), labels).values():
        assert (interval.estimate, interval.low, interval.high) == (0.0, 0.0, 0.0)
        assert not interval.excludes_zero()


def _binary(labels: np.ndarray, accuracy: float, seed: int) -> np.ndarray:
    right = np.random.default_rng(seed).random(len(labels)) < accuracy
    return np.where(right, labels, 1 - labels)


def test_paired_interval_flags_a_real_difference_and_not_noise():
    labels = np.arange(1000) % 2
    weak, strong = _binary(labels, 0.70, seed=1), _binary(labels, 0.85, seed=2)
    better = uncertainty.paired_bootstrap(["accuracy"], weak, strong, labels)["accuracy"]
    assert better.estimate > 0 and better.low > 0 and better.excludes_zero()
    noisy = weak.copy()
    noisy[:3] = 1 - noisy[:3]  # three flipped predictions: no measurable difference
    same = uncertainty.paired_bootstrap(["accuracy"], weak, noisy, labels)["accuracy"]
    assert same.low < 0 < same.high and not same.excludes_zero()


def test_paired_interval_is_narrower_than_unpaired_for_correlated_systems():
    labels = np.arange(2000) % 2
    a = _binary(labels, 0.8, seed=3)
    b = a.copy()
    b[:40] = labels[:40]  # b fixes a's errors among the first 40 examples and changes nothing else
    paired = uncertainty.paired_bootstrap(["accuracy"], a, b, labels, seed=5)["accuracy"]
    spread_a = uncertainty.distributions(["accuracy"], a, labels, seed=5)["accuracy"]
    spread_b = uncertainty.distributions(["accuracy"], b, labels, seed=6)["accuracy"]  # independent resamples
    unpaired = uncertainty.interval(0.0, spread_b - spread_a)
    assert paired.high - paired.low < (unpaired.high - unpaired.low) / 3


def test_same_seed_same_interval_other_seed_other_interval():
    predictions, labels = _classifier(800, 0.75)
    first = uncertainty.bootstrap(["accuracy", "mcc"], predictions, labels, resamples=300, seed=7)
    assert uncertainty.bootstrap(["accuracy", "mcc"], predictions, labels, resamples=300, seed=7) == first
    assert uncertainty.bootstrap(["accuracy", "mcc"], predictions, labels, resamples=300, seed=8) != first


@pytest.mark.parametrize("metrics,data", [
    (["accuracy", "f1", "mcc"], _classifier(872, 0.81)),
    (["macro_f1", "r3", "accuracy"], _classifier(600, 0.55, classes=3)),
    (["pearson", "spearman"], _correlated(1500, 0.8)),
])
def test_interval_contains_the_point_estimate_which_is_the_official_score(metrics, data):
    predictions, labels = data
    official = compute_scores(metrics, predictions, labels)
    for name, interval in uncertainty.bootstrap(metrics, predictions, labels).items():
        assert interval.estimate == official[name]
        assert interval.low < interval.estimate < interval.high


def test_resamples_are_configurable():
    predictions, labels = _classifier(100, 0.7)
    assert uncertainty.distributions(["accuracy"], predictions, labels, resamples=37)["accuracy"].shape == (37,)
    with pytest.raises(ConfigError, match="--resamples"):
        uncertainty.distributions(["accuracy"], predictions, labels, resamples=0)


def _looped(metric, predictions, labels, resamples, seed):
    """The reference: harness.metrics on every resample, one at a time."""
    return np.array([compute_scores([metric], predictions[row], labels[row])[metric]
                     for indices in uncertainty.resample_chunks(len(labels), resamples, seed) for row in indices])


@pytest.mark.parametrize("metric", sorted(METRICS))
@pytest.mark.parametrize("n", [7, 60])  # 7: many resamples are degenerate (one class, constant column)
def test_vectorised_metrics_equal_harness_metrics_on_every_resample(metric, n):
    rng = np.random.default_rng(n)
    if metric in ("pearson", "spearman"):
        labels = rng.integers(0, 4, n).astype(float)  # ties, as STS-B's rounded labels have
        predictions = labels + rng.normal(0, 1, n).round(1)
    else:
        classes = 2 if metric in ("f1", "f1a") else 3
        labels = rng.integers(0, classes, n)
        predictions = np.where(rng.random(n) < 0.6, labels, rng.integers(0, classes, n))
    vectorised = uncertainty.distributions([metric], predictions, labels, resamples=50, seed=1)[metric]
    np.testing.assert_allclose(vectorised, _looped(metric, predictions, labels, 50, 1), rtol=0, atol=1e-9)


def test_classification_metrics_never_loop(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a vectorised metric fell back to one compute_scores call per resample")

    import harness.metrics
    import harness.metrics.labels

    monkeypatch.setattr(harness.metrics, "compute_scores", refuse)
    monkeypatch.setattr(harness.metrics.labels, "compute_scores", refuse)
    predictions, labels = _classifier(1000, 0.8)
    uncertainty.distributions(["accuracy", "f1", "mcc", "macro_f1", "r3"], predictions, labels)
    uncertainty.distributions(["pearson", "spearman"], *_correlated(1000, 0.5))


def test_a_metric_added_to_a_family_is_resampled_by_its_own_compute(monkeypatch):
    import dataclasses

    from harness.metrics.labels import CONFUSION_METRICS

    again = dataclasses.replace(METRICS["accuracy"], name="accuracy_again")
    monkeypatch.setitem(CONFUSION_METRICS, "accuracy_again", again)
    monkeypatch.setitem(METRICS, "accuracy_again", again)
    predictions, labels = _classifier(50, 0.6)
    spread = uncertainty.distributions(["accuracy", "accuracy_again"], predictions, labels, resamples=40)
    np.testing.assert_allclose(spread["accuracy_again"], spread["accuracy"], atol=1e-9)


def test_chunks_cover_large_sets_with_the_requested_number_of_resamples(monkeypatch):
    monkeypatch.setattr(uncertainty, "_CHUNK_ELEMENTS", 1000)
    chunks = list(uncertainty.resample_chunks(300, 10, 0))
    assert [c.shape for c in chunks] == [(3, 300), (3, 300), (3, 300), (1, 300)]
    assert all(c.min() >= 0 and c.max() < 300 for c in chunks)


def test_bad_input_is_named():
    with pytest.raises(DataError, match="no examples"):
        uncertainty.distributions(["accuracy"], [], [])
    with pytest.raises(DataError, match="one length"):
        uncertainty.distributions(["accuracy"], [0, 1], [0])
    with pytest.raises(ConfigError, match="unknown metric"):
        uncertainty.distributions(["bleu"], [0, 1], [0, 1])
    with pytest.raises(DataError, match="macro_f1"):
        uncertainty.distributions(["f1"], [0, 2], [0, 1])
    with pytest.raises(DataError, match="non-negative"):
        uncertainty.distributions(["accuracy"], [0, -1], [0, 1])
