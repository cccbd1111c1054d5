"""Ridge regression whose L2 strength is chosen by held-out error, every strength read off one eigendecomposition.

It chooses what sklearn's RidgeCV chooses (leave-one-out squared error without folds; the folds' mean R^2 with
them, as its grid search scores a Ridge) and predicts what it predicts, at a fraction of the cost on wide pair
features: RidgeCV decomposes a design with more rows than columns by a full SVD (all-mpnet-base-v2's STS-B pairs,
5,749 x 3,840 per layer: the layer search ran for over 50 minutes on one thread) and refits every alpha of every
fold under k-fold. Here each fit eigendecomposes the Gram matrix of the design's smaller side once (rows x rows,
or columns x columns), in float64, and every alpha then costs a few products with the eigenvectors.

The intercept is unpenalised: the design is centred, so the intercept is the target's mean and the hat matrix
gains 1/rows on its diagonal, which is what RidgeCV's leave-one-out does.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from harness.flops import record_fit

CHUNK = 4096  # columns converted to float64 at a time where the Gram matrix is rows x rows (wide designs)


class EigenRidgeCV(RegressorMixin, BaseEstimator):
    """Ridge at the alpha of `alphas` that predicts held-out rows best: efficient leave-one-out (`cv` None) or
    the given (train, held-out) index pairs. Fitted: alpha_, best_score_ (negative mean squared leave-one-out
    error, or the folds' mean R^2), coef_, intercept_."""

    def __init__(self, alphas=(1.0,), cv=None):
        self.alphas = alphas
        self.cv = cv

    def fit(self, X, y):
        y = np.asarray(y, dtype=np.float64)
        alphas = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64))
        whole = _Decomposition(X, y)
        if self.cv is None:
            scores = [-np.mean(whole.leave_one_out_residuals(alpha) ** 2) for alpha in alphas]
        else:
            scores = np.mean([_Decomposition(X[train], y[train]).held_out_r2(X[held], y[held], alphas)
                              for train, held in self.cv], axis=0)
        best = int(np.argmax(scores))  # the first of equal scores, as RidgeCV keeps the first best alpha
        self.alpha_, self.best_score_ = float(alphas[best]), float(scores[best])
        self.coef_ = whole.coef(self.alpha_)
        self.intercept_ = float(whole.y_mean - whole.x_mean @ self.coef_)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_


class _Decomposition:
    """The centred design's Gram matrix of its smaller side, eigendecomposed, and the centred target projected
    on it: kernel form (rows <= columns, K = Xc Xc.T = U diag(s) U.T) or covariance form (Xc.T Xc = V diag(s)
    V.T, kept as Q = Xc V)."""

    def __init__(self, X: np.ndarray, y: np.ndarray):
        rows, width = X.shape
        self.x_mean = X.mean(axis=0, dtype=np.float64)
        self.y_mean = float(y.mean())
        self.rows, self.X = rows, X
        self.kernel = rows <= width
        if self.kernel:
            self.values, self.vectors = _eigh(sum(part @ part.T for part in self._centred_chunks()))
        else:
            centred = X - self.x_mean
            self.values, basis = _eigh(centred.T @ centred)
            self.basis, self.vectors = basis, centred @ basis  # Q = Xc V: Q.T Q = diag(s)
        small = min(rows, width)
        record_fit(2.0 * rows * width * small * (1 if self.kernel else 2) + 9.0 * small ** 3)
        self.projected = self.vectors.T @ (y - self.y_mean)  # U.T yc, or Q.T yc
        self.y = y

    def _shrink(self, alpha: float) -> np.ndarray:
        """Per eigendirection, what the hat matrix keeps of it: s / (s + a) on U, 1 / (s + a) on Q."""
        return self.values / (self.values + alpha) if self.kernel else 1.0 / (self.values + alpha)

    def leave_one_out_residuals(self, alpha: float) -> np.ndarray:
        shrink = self._shrink(alpha)
        fitted = self.y_mean + self.vectors @ (shrink * self.projected)
        leverage = (self.vectors ** 2) @ shrink + 1.0 / self.rows
        record_fit(4.0 * self.vectors.size)
        return (self.y - fitted) / (1.0 - leverage)

    def weights(self, alphas: np.ndarray) -> np.ndarray:
        """(columns, alphas) ridge weights on the centred design."""
        inverse = 1.0 / (self.values[:, None] + alphas[None, :])
        if not self.kernel:
            return self.basis @ (inverse * self.projected[:, None])
        dual = self.vectors @ (inverse * self.projected[:, None])  # (rows, alphas): Xc.T @ dual are the weights
        return np.concatenate([part.T @ dual for part in self._centred_chunks()])

    def _centred_chunks(self):
        """The centred design, CHUNK columns at a time in float64 (a wide design's float64 copy would double it)."""
        for start in range(0, self.X.shape[1], CHUNK):
            yield self.X[:, start:start + CHUNK] - self.x_mean[start:start + CHUNK]

    def coef(self, alpha: float) -> np.ndarray:
        return self.weights(np.array([alpha]))[:, 0]

    def held_out_r2(self, X: np.ndarray, y: np.ndarray, alphas: np.ndarray) -> np.ndarray:
        """R^2 on (X, y) of the ridge fitted on this design, per alpha."""
        predicted = self.y_mean + (X - self.x_mean) @ self.weights(alphas)
        record_fit(2.0 * X.shape[0] * X.shape[1] * len(alphas))
        residual = ((y[:, None] - predicted) ** 2).sum(axis=0)
        return 1.0 - residual / ((y - y.mean()) ** 2).sum()


def _eigh(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (rounding's negatives set to 0) and eigenvectors of a symmetric positive semi-definite matrix."""
    import scipy.linalg

    values, vectors = scipy.linalg.eigh(gram, overwrite_a=True, check_finite=False, driver="evd")
    return np.clip(values, 0.0, None), vectors
