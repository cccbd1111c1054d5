"""Parity of harness.metrics with the scikit-learn / scipy definitions GLUE uses."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from harness.errors import ConfigError, DataError
from harness.metrics import GROUP_METRICS, METRICS, compute_scores, main_score, suite_score

TOL = 1e-6  # absolute, on the 0-100 scale


def _quiet(fn, *args, **kwargs):
    """Reference metrics warn on degenerate input; the value is what we compare."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _undefined_mcc(value: float, preds: np.ndarray, refs: np.ndarray) -> float:
    # Our documented departure: MCC of a constant column is undefined (NaN), where sklearn says 0.
    return math.nan if np.ptp(preds) == 0 or np.ptp(refs) == 0 else value


def sk_reference(name: str, preds, refs) -> float:
    """The reference value of `name`, on a 0-100 scale."""
    preds, refs = np.asarray(preds), np.asarray(refs)
    if name == "accuracy":
        value = accuracy_score(refs, preds)
    elif name == "f1":
        value = _quiet(f1_score, refs, preds, labels=[0, 1], pos_label=1, average="binary")
    elif name == "macro_f1":
        value = _quiet(f1_score, refs, preds, average="macro")
    elif name in ("mcc", "r3"):
        value = _undefined_mcc(_quiet(matthews_corrcoef, refs, preds), preds, refs)
    elif name == "pearson":
        value = _quiet(pearsonr, preds, refs)[0] if len(preds) > 1 else math.nan  # scipy refuses one example
    elif name == "spearman":
        value = _quiet(spearmanr, preds, refs)[0]
    else:
        raise AssertionError(name)
    return 100.0 * float(value)


BINARY = ["accuracy", "f1", "macro_f1", "mcc"]
MULTICLASS = ["accuracy", "macro_f1", "mcc", "r3"]
REGRESSION = ["pearson", "spearman"]
SIZES = [1, 2, 3, 7, 50, 513, 2000]


def assert_parity(names, preds, refs):
    ours = compute_scores(names, preds, refs)
    assert list(ours) == list(names)
    for name in names:
        expected = sk_reference(name, preds, refs)
        assert ours[name] == pytest.approx(expected, abs=TOL, nan_ok=True), (name, ours[name], expected)


# --- random inputs -----------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", SIZES)
def test_binary_random(seed, n):
    rng = np.random.default_rng(seed)
    refs = rng.integers(0, 2, n)
    # Correlated predictions so scores span the range, not just ~0.
    preds = np.where(rng.random(n) < rng.random(), refs, rng.integers(0, 2, n))
    assert_parity(BINARY, preds, refs)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", SIZES)
def test_three_class_random(seed, n):
    rng = np.random.default_rng(100 + seed)
    refs = rng.integers(0, 3, n)
    preds = np.where(rng.random(n) < rng.random(), refs, rng.integers(0, 3, n))
    assert_parity(MULTICLASS, preds, refs)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", [2, 3, 7, 50, 513, 2000])
def test_regression_random(seed, n):
    rng = np.random.default_rng(200 + seed)
    refs = rng.uniform(0, 5, n)
    preds = refs * rng.uniform(-1, 1) + rng.normal(0, 1.5, n)
    assert_parity(REGRESSION, preds, refs)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", [2, 10, 200, 2000])
def test_spearman_many_ties(seed, n):
    # STS-B style integer scores 0-5: every value is heavily tied.
    rng = np.random.default_rng(300 + seed)
    refs = rng.integers(0, 6, n).astype(float)
    preds = np.clip(refs + rng.integers(-2, 3, n), 0, 5)
    assert_parity(REGRESSION, preds, refs)


def test_spearman_ties_in_float32_range_matter():
    # torchmetrics ranks in float32 and is ~3e-5 off here (0-100 scale); we must not be.
    x = np.array([0, 1, 1, 2, 2, 2, 3, 5, 5, 0], dtype=float)
    y = np.array([1, 1, 2, 2, 3, 3, 3, 4, 5, 5], dtype=float)
    assert compute_scores(["spearman"], x, y)["spearman"] == pytest.approx(100 * spearmanr(x, y)[0], abs=1e-9)


# --- edge cases --------------------------------------------------------------


@pytest.mark.parametrize(
    "preds, refs",
    [
        ([1, 1, 1, 1], [1, 1, 0, 1]),  # constant predictions (torchmetrics' binary MCC says 57.7)
        ([0, 0, 0, 0], [1, 0, 1, 0]),  # constant negative predictions: F1 undefined -> 0
        ([1, 0, 1, 0], [1, 1, 1, 1]),  # single class in references
        ([0, 1, 0, 1], [0, 0, 0, 0]),  # single negative class in references: F1 -> 0
        ([0, 1, 1, 0, 1], [0, 1, 1, 0, 1]),  # all correct
        ([1, 0, 0, 1, 0], [0, 1, 1, 0, 1]),  # all wrong
        ([1, 1, 1], [1, 1, 1]),  # all correct and constant (torchmetrics' MCC says 100)
        ([1, 1], [0, 0]),  # all wrong and constant (torchmetrics' MCC says -100)
        ([0, 0], [0, 0]),  # no positives anywhere
        ([0, 1], [1, 0]),  # n=2
        ([1, 0], [1, 0]),  # n=2
        ([1], [0]),  # n=1
        ([1], [1]),  # n=1
    ],
)
def test_binary_edge_cases(preds, refs):
    assert_parity(BINARY, preds, refs)


@pytest.mark.parametrize(
    "preds, refs",
    [
        ([2, 2, 2, 2], [0, 1, 2, 1]),  # constant predictions
        ([0, 1, 2, 0], [1, 1, 1, 1]),  # single class in references
        ([0, 1, 2, 2, 1], [0, 1, 2, 2, 1]),  # all correct
        ([1, 2, 0, 0, 2], [0, 1, 2, 1, 0]),  # all wrong
        ([0, 2, 2], [0, 2, 0]),  # class 1 never occurs: excluded from the macro average
        ([2, 0], [0, 2]),  # n=2
    ],
)
def test_multiclass_edge_cases(preds, refs):
    assert_parity(MULTICLASS, preds, refs)


@pytest.mark.parametrize(
    "preds, refs",
    [
        ([3.0, 3.0, 3.0, 3.0], [0.5, 1.0, 4.2, 2.0]),  # constant predictions: undefined (NaN)
        ([0.5, 1.0, 4.2, 2.0], [2.0, 2.0, 2.0, 2.0]),  # constant references: undefined (NaN)
        ([1.0, 2.0], [0.0, 5.0]),  # n=2: perfectly correlated
        ([1.0, 2.0], [5.0, 0.0]),  # n=2: perfectly anti-correlated
        ([1.0, 1.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]),  # tied blocks
        ([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 4.0, 9.0]),  # monotone, nonlinear: spearman 100
    ],
)
def test_regression_edge_cases(preds, refs):
    assert_parity(REGRESSION, preds, refs)


def test_constant_correlations_are_undefined_not_zero():
    scores = compute_scores(REGRESSION, [1.0, 1.0, 1.0], [1.0, 2.0, 3.0])
    assert math.isnan(scores["pearson"]) and math.isnan(scores["spearman"])


def test_constant_predictions_are_flagged_and_left_undefined():
    # Pearson / Spearman of a constant column are undefined (scipy: NaN): no number, and a flag that says why.
    scores = compute_scores([*REGRESSION, "sts_binary_f1"], [2.5, 2.5, 2.5], [1.0, 2.0, 3.0])
    assert math.isnan(scores["pearson"]) and math.isnan(scores["spearman"])
    assert scores["sts_binary_f1"] == 0.0  # F1 with no positive prediction is 0, as sklearn's zero_division says
    assert [item["code"] for item in scores.flags] == ["undefined_correlation"]
    assert "predictions are constant" in scores.flags[0]["message"]
    assert "pearson and spearman are undefined" in scores.flags[0]["message"]
    assert compute_scores(REGRESSION, [1.0, 2.0, 2.5], [1.0, 2.0, 3.0]).flags == []
    assert compute_scores(["accuracy"], [1, 1, 1], [0, 1, 1]).flags == []  # only correlations are undefined


@pytest.mark.parametrize("preds, refs, side", [
    ([1, 1, 1, 1], [0, 1, 1, 0], "predictions"),  # one class predicted (sklearn: 0)
    ([0, 1, 1, 0], [1, 1, 1, 1], "gold labels"),  # one class in the evaluation
    ([1], [1], "predictions and the gold labels"),  # a single example
])
def test_mcc_of_a_constant_column_is_undefined_and_flagged(preds, refs, side):
    scores = compute_scores(["accuracy", "mcc"], preds, refs)
    assert math.isnan(scores["mcc"]) and not math.isnan(scores["accuracy"])
    (item,) = scores.flags
    assert item["code"] == "undefined_correlation" and f"the {side} are constant" in item["message"]
    assert "mcc is undefined" in item["message"]


# --- hand-computed -----------------------------------------------------------


def test_hand_computed_binary():
    # refs  = 1 1 1 1 0 0 0 0 0 0
    # preds = 1 1 1 0 1 0 0 0 0 0
    # TP=3 FN=1 FP=1 TN=5
    # accuracy = 8/10                                  = 80
    # F1  = 2TP / (2TP + FP + FN) = 6 / 8              = 75
    # MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))
    #     = (15 - 1) / sqrt(4 * 4 * 6 * 6) = 14 / 24   = 58.333...
    # macro F1: class 1 -> 0.75, class 0 -> 10/12 = 0.8333...; mean = 0.791666...
    refs = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    preds = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    scores = compute_scores(["accuracy", "f1", "mcc", "macro_f1"], preds, refs)
    assert scores["accuracy"] == pytest.approx(80.0, abs=1e-9)
    assert scores["f1"] == pytest.approx(75.0, abs=1e-9)
    assert scores["mcc"] == pytest.approx(100 * 14 / 24, abs=1e-9)
    assert scores["macro_f1"] == pytest.approx(100 * (0.75 + 10 / 12) / 2, abs=1e-9)


def test_hand_computed_correlations():
    # x = 1 2 3 4, y = 2 4 5 4 ; means 2.5 and 3.75
    # dx = -1.5 -.5 .5 1.5 ; dy = -1.75 .25 1.25 .25
    # sum dx*dy = 2.625 - .125 + .625 + .375 = 3.5 ; sum dx^2 = 5 ; sum dy^2 = 4.75
    # pearson = 3.5 / sqrt(5 * 4.75)
    # ranks(y) with ties averaged = 1 2.5 4 2.5 -> dy = -1.5 0 1.5 0
    # spearman = (2.25 + 0 + .75 + 0) / sqrt(5 * 4.5) = 3 / sqrt(22.5)
    scores = compute_scores(REGRESSION, [1, 2, 3, 4], [2, 4, 5, 4])
    assert scores["pearson"] == pytest.approx(100 * 3.5 / math.sqrt(5 * 4.75), abs=1e-9)
    assert scores["spearman"] == pytest.approx(100 * 3 / math.sqrt(22.5), abs=1e-9)


# --- input handling ----------------------------------------------------------


def test_numpy_list_and_tensor_inputs_agree():
    refs = [0, 1, 1, 0, 1, 2, 2, 0]
    preds = [0, 1, 0, 0, 1, 2, 1, 2]
    names = ["accuracy", "macro_f1", "mcc", "r3"]
    from_list = compute_scores(names, preds, refs)
    from_numpy = compute_scores(names, np.array(preds), np.array(refs))
    from_tensor = compute_scores(names, torch.tensor(preds), torch.tensor(refs))
    assert from_list == from_numpy == from_tensor
    reg = compute_scores(REGRESSION, np.array([0.1, 0.5, 0.3]), [1, 3, 2])
    assert reg == compute_scores(REGRESSION, [0.1, 0.5, 0.3], np.array([1, 3, 2]))
    assert reg == compute_scores(REGRESSION, torch.tensor([0.1, 0.5, 0.3], dtype=torch.float64), [1, 3, 2])
    # float32 input is promoted, not rejected (its values are only float32-exact)
    reg32 = compute_scores(REGRESSION, np.array([0.1, 0.5, 0.3], dtype=np.float32), [1, 3, 2])
    assert reg32 == pytest.approx(reg, abs=1e-6)


def test_results_are_plain_floats():
    scores = compute_scores(list(METRICS), [0, 1, 1, 0], [0, 1, 0, 0])
    assert set(scores) == set(METRICS)
    assert all(type(value) is float for value in scores.values())
    assert all(type(compute_scores([name], torch.tensor([0, 1]), torch.tensor([1, 1]))[name]) is float for name in METRICS)
    assert type(main_score(scores, ["accuracy", "f1"])) is float
    assert type(suite_score({"a": 1, "b": 2})) is float


def test_metric_registry_names():
    assert set(METRICS) == {"accuracy", "f1", "f1a", "macro_f1", "mcc", "r3", "pearson", "spearman", "sts_binary_f1"}
    assert set(GROUP_METRICS) == {"em", "gender_parity"}


def test_unknown_metric_names_it_and_lists_known():
    with pytest.raises(ConfigError) as info:
        compute_scores(["accuracy", "bleu"], [0, 1], [0, 1])
    message = str(info.value)
    assert "bleu" in message
    for name in METRICS:
        assert name in message


@pytest.mark.parametrize("name", list(METRICS))
def test_empty_input_is_a_data_error(name):
    with pytest.raises(DataError, match="no examples to score"):
        compute_scores([name], [], [])


def test_length_mismatch_is_a_data_error():
    with pytest.raises(DataError):
        compute_scores(["accuracy"], [0, 1, 1], [0, 1])


def test_binary_f1_rejects_multiclass_labels():
    with pytest.raises(DataError, match="macro_f1"):
        compute_scores(["f1"], [0, 1, 2], [0, 1, 1])


def test_negative_labels_are_a_data_error():
    with pytest.raises(DataError):
        compute_scores(["mcc"], [0, -1, 1], [0, 1, 1])


# --- aggregation -------------------------------------------------------------


def test_main_score_averages_named_metrics():
    # GLUE averages MRPC's accuracy and F1 into one task score.
    scores = {"accuracy": 80.0, "f1": 75.0, "mcc": 10.0}
    assert main_score(scores, ["accuracy", "f1"]) == pytest.approx(77.5)
    assert main_score(scores, ["mcc"]) == 10.0


def test_main_score_missing_metric_is_config_error():
    with pytest.raises(ConfigError, match="pearson"):
        main_score({"accuracy": 80.0}, ["accuracy", "pearson"])
    with pytest.raises(ConfigError):
        main_score({"accuracy": 80.0}, [])


def test_suite_score_is_unweighted_mean_of_tasks():
    assert suite_score({"cola": 50.0, "mrpc": 77.5, "stsb": 86.0}) == pytest.approx((50.0 + 77.5 + 86.0) / 3)
    assert suite_score({"sst2": 91.0}) == 91.0
    with pytest.raises(ConfigError):
        suite_score({})
