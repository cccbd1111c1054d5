"""The pooled heads' fast inner-CV search against sklearn's own pipeline and GridSearchCV (the anchor): the same
C and the same scores, on features wider than their rows (where the search works in the rows' span) and
narrower."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from harness.heads import pooled_probes


def _task(rows: int, width: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Float32 features (as extraction caches them) with a weak class signal in a few columns."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, rows)
    x = rng.normal(size=(rows, width)) + 0.5 * np.eye(classes, width)[y] * 3
    return x.astype(np.float32), y


def _grid_search(x, y, cs, folds, groups, scoring, seed):
    """What the search computed before: GridSearchCV over the sklearn pipeline, on the same sample and folds."""
    keep = pooled_probes._sample(y, groups, seed)
    x, y = x[keep], y[keep]
    groups = None if groups is None else groups[keep]
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
                          {"logisticregression__C": cs}, cv=pooled_probes._splits(y, groups, folds, seed),
                          scoring=scoring).fit(x, y)
    return float(search.best_params_["logisticregression__C"]), search.cv_results_["mean_test_score"]


@pytest.mark.parametrize("rows, width, classes, scoring, grouped", [
    (90, 400, 2, "accuracy", False),  # wider than its rows: solved in their span
    (150, 600, 3, "accuracy", True),  # three classes in groups of three (KLUE-NLI's premises)
    (120, 500, 2, "matthews_corrcoef", False),
    (300, 40, 2, "f1", False),  # narrower: fitted as it is
])
def test_the_search_chooses_the_c_and_score_gridsearchcv_chooses(rows, width, classes, scoring, grouped):
    x, y = _task(rows, width, classes, seed=rows + width)
    groups = np.arange(rows) // 3 if grouped else None
    chosen, score = pooled_probes._search_c(x, y, 5, pooled_probes.CS, pooled_probes.CV_FOLDS, groups, scoring)
    reference, scores = _grid_search(x, y, pooled_probes.CS, pooled_probes.CV_FOLDS, groups, scoring, 5)
    assert chosen == reference
    assert score == pytest.approx(scores.max(), abs=0.011)  # one held-out example in ~90 at most


def test_the_search_ends_where_exact_fits_end_whatever_its_warm_starts():
    """Columns on scales a hundred apart: at sklearn's default tolerance the fits warm-started along C stop
    early enough to choose C 100 (0.683); GridSearchCV's cold fits solved exactly choose 0.1 (0.667)."""
    x, y = _task(60, 300, 2, seed=1)
    x = x * np.random.default_rng(1).uniform(0.1, 10, 300).astype(np.float32)
    chosen, score = pooled_probes._search_c(x, y, 5, pooled_probes.CS, pooled_probes.CV_FOLDS)
    keep = pooled_probes._sample(y, None, 5)
    exact = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=100_000, tol=1e-10)),
                         {"logisticregression__C": pooled_probes.CS},
                         cv=pooled_probes._splits(y[keep], None, pooled_probes.CV_FOLDS, 5)).fit(x[keep], y[keep])
    assert chosen == exact.best_params_["logisticregression__C"] == 0.1
    assert score == pytest.approx(exact.cv_results_["mean_test_score"].max(), abs=1e-12)


@pytest.mark.parametrize("repeated", [False, True])
def test_the_rows_span_keeps_lengths_and_products(repeated):
    """Coordinates of [row, 1] in an orthonormal basis of their span: the same products among training rows and
    against other rows, whether the rows are independent (Cholesky) or one repeats (eigendecomposition)."""
    rng = np.random.default_rng(0)
    train, other = rng.normal(size=(30, 200)), rng.normal(size=(7, 200))
    if repeated:
        train[5] = train[3]
    train -= train.mean(0)  # standardised columns sum to zero
    coordinates, (projected,), to_rows = pooled_probes._row_space(train, other)
    rank = 29 if repeated else 30
    assert coordinates.shape == (30, rank) and to_rows.shape == (30, rank)
    basis = np.hstack([train, np.ones((30, 1))]).T @ to_rows
    np.testing.assert_allclose(basis.T @ basis, np.eye(rank), atol=1e-8)
    np.testing.assert_allclose(coordinates @ coordinates.T, train @ train.T + 1, atol=1e-8)
    np.testing.assert_allclose(projected @ coordinates.T, other @ train.T + 1, atol=1e-8)
    narrow = rng.normal(size=(30, 10))
    assert pooled_probes._row_space(narrow)[0] is narrow and pooled_probes._row_space(narrow)[2] is None


def test_the_layer_searchs_ridge_head_is_the_one_fit_head_would_fit():
    """Regression: the winner's RidgeCV, fitted on all of train over the whole alpha grid, is kept as the head."""
    rng = np.random.default_rng(1)
    states = rng.normal(size=(120, 3, 8)).astype(np.float32)
    y = states[:, 2, :2].sum(1) + 0.1 * rng.normal(size=120)  # the last state carries the target
    layer, score, fitted = pooled_probes.choose_layer(lambda c: pooled_probes.select_layers(states, c), 3, y, True, 0)
    x = pooled_probes.select_layers(states, layer)
    again, chosen = pooled_probes.fit_head(x, y, True, 0)
    kept, same = pooled_probes.fit_head(x, y, True, 0, fitted=fitted)
    assert layer in ("2", "last3-concat") and kept is fitted and same == chosen
    np.testing.assert_allclose(kept.predict(x), again.predict(x), rtol=1e-6)
    assert score == pytest.approx(float(again[-1].best_score_))
