"""The eigendecomposition ridge chooses and predicts what sklearn's RidgeCV does, in both of its forms."""
import numpy as np
import pytest
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

from harness.flops import counting_fits
from harness.heads.ridge import EigenRidgeCV

ALPHAS = np.logspace(-2, 6, 17)


def _design(rows: int, width: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, width)).astype(np.float32)
    x[:, 3] = x[:, 2]  # a repeated column: the Gram matrix is singular
    y = x[:, :5].sum(axis=1) + rng.normal(size=rows)
    return StandardScaler().fit_transform(x), y, rng.integers(0, 40, rows)


@pytest.mark.parametrize("rows,width", [(300, 80), (120, 500), (200, 200)], ids=["covariance", "kernel", "square"])
def test_leave_one_out_matches_ridgecv(rows, width):
    x, y, _ = _design(rows, width)
    ours, theirs = EigenRidgeCV(alphas=ALPHAS).fit(x, y), RidgeCV(alphas=ALPHAS).fit(x, y)
    assert ours.alpha_ == theirs.alpha_
    assert ours.best_score_ == pytest.approx(theirs.best_score_, rel=1e-9)
    np.testing.assert_allclose(ours.predict(x[:50]), theirs.predict(x[:50]), atol=1e-5)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-6)


@pytest.mark.parametrize("rows,width", [(300, 80), (120, 500)], ids=["covariance", "kernel"])
def test_group_folds_match_ridgecv(rows, width):
    """With folds RidgeCV grid-searches a Ridge by its mean R^2 over them: the same alpha and score here."""
    x, y, groups = _design(rows, width, seed=1)
    folds = list(GroupKFold(5).split(x, y, groups))
    ours, theirs = EigenRidgeCV(alphas=ALPHAS, cv=folds).fit(x, y), RidgeCV(alphas=ALPHAS, cv=folds).fit(x, y)
    assert ours.alpha_ == theirs.alpha_
    assert ours.best_score_ == pytest.approx(theirs.best_score_, abs=1e-6)
    np.testing.assert_allclose(ours.predict(x[:50]), theirs.predict(x[:50]), atol=1e-4)


def test_a_wide_design_is_read_in_chunks_and_its_fit_counted(monkeypatch):
    """Where rows < columns the Gram matrix is summed over column chunks: the chunking changes nothing."""
    import harness.heads.ridge as ridge

    x, y, _ = _design(60, 300)
    whole = EigenRidgeCV(alphas=ALPHAS).fit(x, y)
    monkeypatch.setattr(ridge, "CHUNK", 7)
    with counting_fits() as tally:
        chunked = EigenRidgeCV(alphas=ALPHAS).fit(x, y)
    assert chunked.alpha_ == whole.alpha_
    np.testing.assert_allclose(chunked.coef_, whole.coef_, atol=1e-9)
    assert sum(tally) >= 2.0 * 60 * 300 * 60  # at least the Gram matrix's products
