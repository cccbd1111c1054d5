"""Scores from bad predictions: a NaN, probabilities where class ids belong, unequal lengths (issue 26, 5-8)."""
from __future__ import annotations

import numpy as np
import pytest

from harness import metrics
from harness.errors import DataError
from harness.metrics import compute_metrics, compute_scores


class _EvalPrediction:
    def __init__(self, predictions, label_ids):
        self.predictions, self.label_ids = predictions, label_ids


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_prediction_is_one_clear_error_not_a_score(bad):
    with pytest.raises(DataError, match="prediction 0 is .*finite"):
        compute_scores(["spearman"], [bad, 1, 2, 3], [0, 1, 2, 3])
    with pytest.raises(DataError, match="prediction 2 is .*finite"):
        compute_scores(["pearson"], [0, 1, bad, 3], [0, 1, 2, 3])
    with pytest.raises(DataError, match="finite"):
        metrics.load("glue/stsb").compute(predictions=[bad, 1, 2, 3], references=[0, 1, 2, 3])
    with pytest.raises(DataError, match="finite"):
        compute_metrics("glue/stsb")(_EvalPrediction(np.array([[bad], [1.0], [2.0], [3.0]]), np.arange(4.0)))


def test_a_non_finite_reference_is_refused_too():
    with pytest.raises(DataError, match="reference 1 is nan"):
        compute_scores(["pearson"], [0, 1, 2, 3], [0, float("nan"), 2, 3])


def test_probabilities_where_class_ids_belong_are_refused():
    with pytest.raises(DataError, match="prediction 0 is 0.7, not a class id"):
        compute_scores(["accuracy"], [0.7, 0.2, 0.9], [0, 1, 1])
    with pytest.raises(DataError, match="not a class id"):
        metrics.load("glue/sst2").compute(predictions=[0.7, 0.2, 0.9], references=[0, 1, 1])
    # class ids that arrive as floats (a float array of whole numbers) are class ids
    assert compute_scores(["accuracy"], np.array([0.0, 1.0, 1.0]), [0, 1, 0])["accuracy"] == pytest.approx(200 / 3)


def test_logit_rows_and_labels_of_unequal_lengths_say_so():
    score = compute_metrics("glue/mrpc")
    with pytest.raises(DataError, match="glue/mrpc: inputs of unequal lengths"):
        score(_EvalPrediction(np.zeros((4, 2)), np.array([0, 1, 1])))


def test_one_probability_added_where_a_class_id_belongs_is_refused():
    module = metrics.load("glue/sst2")
    with pytest.raises(DataError, match="not a class id"):
        module.add(prediction=0.7, reference=1)
