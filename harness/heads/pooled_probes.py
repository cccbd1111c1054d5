"""Frozen mode's pooled heads as the feature-based literature trains them, every choice made on train only.

- Layers: extraction caches every hidden state pooled (examples, states, width); `--layers` picks one
  (`last`, an index), combines several (`last4-concat`, `last4-mean`), or lets inner cross-validation on
  the training examples choose among every single state, their mean and their concatenation (`best`;
  `auto` for pooled shapes), the choice recorded as the --layers value that reproduces it.
- Pairs (SentEval / InferSent): each side encoded alone gives u and v; the head reads [joint, u, v,
  |u - v|, u * v] (`--pair-features both`), the sides' features alone (`separate`) or the pair encoded
  together (`joint`).
- Heads: ridge regression whose L2 strength is chosen by efficient leave-one-out on train; logistic
  regression whose C is chosen by stratified k-fold on (a seeded sample of) train, then refit on all of it;
  or, under `--head mlp`, one hidden layer with early stopping on a slice of train.
- Groups: where the task keeps examples together (`split_groups`, KLUE-NLI's premise), every inner fold does
  too, or the search rewards memorising a premise's other hypotheses and picks a head that fails on new ones.

Nothing here sees an evaluation example: the choices are a function of the training split alone.
"""
from __future__ import annotations

import numpy as np

from harness.errors import ConfigError
from harness.flops import counted_logistic_regression, record_fit
from harness.heads.ridge import EigenRidgeCV
from harness.models import layer_states
from harness.tasks import TaskSpec

ALPHAS = np.logspace(-2, 6, 17)  # ridge L2 strengths tried by leave-one-out (pair features want large ones)
CS = np.logspace(-5, 2, 8)  # logistic regression inverse L2 strengths tried by k-fold (pairs want strong L2)
CV_FOLDS = 5
LAYER_FOLDS = 3  # folds that rank candidate layers (each at its best of LAYER_CS) before C is tuned on the winner
LAYER_CS = np.logspace(-3, 0, 4)
CV_SAMPLE = 8000  # training examples the classification CV runs on (the final head sees every one)
WIDE = 4  # columns per row from which a logistic head is solved in the rows' span (_row_space)
SEARCH_TOL = 1e-6  # the search's solver tolerance: at sklearn's 1e-4, fits warm-started along C stop where
# they began often enough to change the chosen C (minilm SST-2, 100 examples: C 10 -> 0.1, 70.87 -> 72.36)
CHOSEN = ("best", "auto")  # --layers values that inner CV resolves


# sklearn's scorer for a task whose main score leads with one of these metrics; any other ranks by accuracy
CV_SCORERS = {"mcc": "matthews_corrcoef", "f1": "f1", "f1a": "f1", "macro_f1": "f1_macro"}


def cv_scoring(main_score: tuple[str, ...]) -> str:
    """What inner CV ranks classification heads by: accuracy (SentEval's rule), but the task's own leading main
    metric where it is MCC or F1. Accuracy rewards the strong L2 that predicts the majority class more: on CoLA
    for every sentence (MCC undefined); on MultiRC for most answers, F1a 44.27 -> 33.33."""
    return CV_SCORERS.get(main_score[0], "accuracy")


def layer_candidates(states: int) -> list[str]:
    """What inner CV chooses among, as --layers values: every hidden state by index, their mean, and their
    concatenation (a linear head on it weighs every layer, as a learned scalar mix does and more)."""
    return [str(i) for i in range(states)] + [f"last{states}-mean", f"last{states}-concat"]


def select_layers(features: np.ndarray, spec: str) -> np.ndarray:
    """(examples, states, width) pooled states -> (examples, width') as a fixed --layers value asks."""
    if spec == "mix":
        raise ConfigError("--layers mix (a learned scalar mix) is trained by the token-level heads; pooled heads "
                          "choose their layer by inner cross-validation: use --layers best (or auto)")
    return layer_states(features, spec)


def pair_features(joint: np.ndarray | None, left: np.ndarray | None, right: np.ndarray | None) -> np.ndarray:
    """[joint, u, v, |u - v|, u * v] of whichever parts are given (joint alone, the sides alone, or both)."""
    parts = [] if joint is None else [joint]
    if left is not None:
        parts += [left, right, np.abs(left - right), left * right]
    return np.concatenate(parts, axis=1)


def fit_head(x: np.ndarray, y: np.ndarray, regression: bool, seed: int, groups: np.ndarray | None = None,
             scoring: str = "accuracy", chosen: dict | None = None, fitted=None):
    """The linear head with its L2 strength chosen on (x, y) alone, folds kept within `groups` when given and
    classifiers ranked by `scoring` (cv_scoring); returns (fitted pipeline, choices). `chosen`: the choices an
    identical earlier search made (head_choices), which the head then fits with, searching nothing. `fitted`:
    the ridge head choose_layer already fitted on these features over the whole grid, kept as it is."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    logistic = counted_logistic_regression()
    if regression:
        head = fitted if fitted is not None and chosen is None else _ridge(
            x, y, seed, groups, ALPHAS if chosen is None else [chosen["alpha"]])
        return head, {"alpha": float(head[-1].alpha_)}
    if chosen is None:
        c, score = _search_c(x, y, seed, CS, CV_FOLDS, groups, scoring)
        chosen = {"C": float(c), f"cv_{scoring}": round(score, 4)}
    head = make_pipeline(StandardScaler(), logistic(C=chosen["C"], max_iter=2000)).fit(x, y)
    return head, {"C": chosen["C"], f"cv_{scoring}": chosen[f"cv_{scoring}"]}


def build_mlp(task: TaskSpec, seed: int):
    """The `--head mlp` option: one hidden layer, early stopping on a slice of train, on standardised features."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    mlp = MLPRegressor if task.kind == "regression" else MLPClassifier
    return make_pipeline(StandardScaler(), mlp(hidden_layer_sizes=(256,), early_stopping=True, max_iter=300,
                                               random_state=seed))


def head_sizes(pipeline) -> list[int]:
    """The widths a fitted head's dense layers map between, input first (its predict's matmuls)."""
    head = pipeline[-1]
    if hasattr(head, "coefs_"):
        return [head.coefs_[0].shape[0], *(w.shape[1] for w in head.coefs_)]
    coef = np.atleast_2d(head.coef_)
    return [coef.shape[1], coef.shape[0]]


def head_parameters(pipeline) -> int:
    head = pipeline[-1]
    if hasattr(head, "coefs_"):
        return int(sum(w.size for w in head.coefs_) + sum(b.size for b in head.intercepts_))
    return int(np.size(head.coef_) + np.size(head.intercept_))


def head_choices(record: dict, regression: bool, scoring: str) -> dict | None:
    """The choices fit_head made, read back from `record` (a cached JSON object), or None where it lacks them."""
    names = ("alpha",) if regression else ("C", f"cv_{scoring}")
    values = {name: record.get(name) for name in names}
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in values.values()):
        return None
    return values if values.get("alpha", values.get("C")) > 0 else None


# Everything that makes a search choose what it does, beside the features, labels, groups and seed: a cached
# record of its choices is keyed by it, so a changed grid never reuses choices made on another.
SEARCH = {"alphas": ALPHAS.tolist(), "cs": CS.tolist(), "cv_folds": CV_FOLDS, "layer_folds": LAYER_FOLDS,
          "layer_cs": LAYER_CS.tolist(), "cv_sample": CV_SAMPLE, "tol": SEARCH_TOL}


def choose_layer(build, states: int, y: np.ndarray, regression: bool, seed: int,
                 groups: np.ndarray | None = None, scoring: str = "accuracy") -> tuple[str, float, object]:
    """The candidate layer whose features fit train best: ridge's leave-one-out error, or logistic
    regression's k-fold accuracy on a seeded sample, each at its best L2 strength. `build(candidate)` gives
    its features. Returns the candidate, its score and, for ridge, the head it fitted on all of train over the
    whole alpha grid (fit_head's `fitted`: what fit_head would fit again)."""
    best, best_score, best_head = None, -np.inf, None
    for candidate in layer_candidates(states):
        score, head = _layer_score(build(candidate), y, regression, seed, groups, scoring)
        if best is None or score > best_score:  # the first candidate of the highest score, as max() picks
            best, best_score, best_head = candidate, score, head
    return best, float(best_score), best_head


def _layer_score(x: np.ndarray, y: np.ndarray, regression: bool, seed: int, groups: np.ndarray | None,
                 scoring: str) -> tuple[float, object]:
    """How well a candidate's features fit train, each at its own best L2 strength (a wide candidate, such as
    every layer concatenated, needs a stronger one than a single layer: a fixed strength would misjudge it), and
    the ridge head fitted on them (None for a classifier, whose C is tuned afterwards)."""
    if regression:  # the ridge's best_score_: its held-out score (negative squared error) at its best alpha
        head = _ridge(x, y, seed, groups)
        return float(head[-1].best_score_), head
    return _search_c(x, y, seed, LAYER_CS, LAYER_FOLDS, groups, scoring)[1], None


def _ridge(x: np.ndarray, y: np.ndarray, seed: int, groups: np.ndarray | None, alphas=ALPHAS):
    """Standardised ridge at the alpha of `alphas` that predicts held-out rows best: efficient leave-one-out, or
    group k-fold when examples come in groups (leaving one out would keep its group-mates in training)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cv = None if groups is None else _splits(y, groups, CV_FOLDS, seed, stratified=False)
    return make_pipeline(StandardScaler(), EigenRidgeCV(alphas=alphas, cv=cv)).fit(x, y)


def _search_c(x: np.ndarray, y: np.ndarray, seed: int, cs, folds: int,
              groups: np.ndarray | None = None, scoring: str = "accuracy") -> tuple[float, float]:
    """The logistic regression C (of `cs`) with the best stratified k-fold `scoring` on a seeded sample of
    train, and that score: what GridSearchCV over a StandardScaler + LogisticRegression pipeline gives (the
    mean over folds, the first C on a tie), computed faster. Each fold is standardised and reduced to its
    training rows' span once (_row_space: exact), and its Cs are fitted in increasing order, each starting
    from the previous one's weights, solved to SEARCH_TOL so that the start does not decide where a fit ends."""
    from sklearn.metrics import get_scorer
    from sklearn.preprocessing import StandardScaler

    keep = _sample(y, groups, seed)
    x, y = x[keep], y[keep]
    groups = None if groups is None else groups[keep]
    score = get_scorer(scoring)
    logistic = counted_logistic_regression()
    scores = []
    for train, held in _splits(y, groups, folds, seed):
        scaler = StandardScaler().fit(x[train])
        fitted, (tested,), _ = _row_space(scaler.transform(x[train]), scaler.transform(x[held]))
        model = logistic(max_iter=2000, warm_start=True, tol=SEARCH_TOL)
        scores.append([score(model.set_params(C=c).fit(fitted, y[train]), tested, y[held]) for c in cs])
    mean = np.mean(scores, axis=0)
    best = int(np.argmax(mean))
    return float(cs[best]), float(mean[best])


def _row_space(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...], np.ndarray | None]:
    """Coordinates of standardised `train`'s rows (and of `others`), each with a constant 1 appended, in an
    orthonormal basis of the span of those rows, and the (rows, rank) matrix R whose basis is [train, 1].T @ R;
    the arrays as they are (R None) unless they have at least WIDE times more columns than rows.

    An L2-penalised linear model fitted on `train` has its weights in that span (its loss gradient is a
    combination of the rows, and so, at the optimum, is the penalty's), and the basis keeps lengths: fitted on
    the coordinates it finds the same weights (times the basis) and the same predictions, at rows x rows cost
    per step instead of rows x width (KLUE-NLI's 13 layers concatenated: 1,600 rows of 24,960 features). The
    constant column makes the rows independent (standardised columns sum to zero); its weight is the unpenalised
    intercept's twin, so the optimum leaves it at 0. Only products of rows are computed (kernel form):
    train @ train.T, each other @ train.T and a Cholesky factor (an eigendecomposition where rows repeat)."""
    import scipy.linalg

    rows, width = train.shape
    if width < WIDE * rows:
        return train, others, None
    record_fit(2.0 * rows * width * (rows + sum(len(other) for other in others)))  # the products of rows
    gram = (train @ train.T).astype(np.float64) + 1.0
    rounding = np.diag(gram).max() * rows * np.finfo(train.dtype).eps  # below it, a direction is noise
    try:
        factor = np.linalg.cholesky(gram)  # gram = factor @ factor.T: the coordinates are factor's rows
        if np.diag(factor).min() ** 2 <= rounding:
            raise np.linalg.LinAlgError("a row repeats another (up to rounding)")
        to_rows = scipy.linalg.solve_triangular(factor, np.eye(rows), lower=True).T
    except np.linalg.LinAlgError:  # repeated rows: the rank is below the rows
        values, vectors = np.linalg.eigh(gram)
        kept = values > rounding
        factor, to_rows = vectors[:, kept] * np.sqrt(values[kept]), vectors[:, kept] / np.sqrt(values[kept])
    return factor.astype(train.dtype), tuple(
        (((other @ train.T).astype(np.float64) + 1.0) @ to_rows).astype(other.dtype) for other in others), to_rows


def _splits(y: np.ndarray, groups: np.ndarray | None, wanted: int, seed: int, stratified: bool = True) -> list:
    """Seeded (train, held-out) index pairs: stratified by class when asked, and never splitting a group."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    if groups is not None:
        folds = min(wanted, len(np.unique(groups)))
        if stratified:
            splitter = StratifiedGroupKFold(n_splits=_folds(y, folds), shuffle=True, random_state=seed)
        else:  # GroupKFold shuffles only from sklearn 1.6 on: shuffle the group labels instead
            groups = np.random.default_rng(seed).permutation(int(groups.max()) + 1)[groups]
            splitter = GroupKFold(n_splits=max(2, folds))
        return list(splitter.split(np.zeros(len(y)), y, groups))
    splitter = (StratifiedKFold(n_splits=_folds(y, wanted), shuffle=True, random_state=seed) if stratified
                else KFold(n_splits=wanted, shuffle=True, random_state=seed))
    return list(splitter.split(np.zeros(len(y)), y))


def _sample(y: np.ndarray, groups: np.ndarray | None, seed: int) -> np.ndarray:
    """Indices of at most CV_SAMPLE training examples for the searches (seeded): stratified by class, or whole
    groups drawn at random when examples come in groups."""
    if len(y) <= CV_SAMPLE:
        return np.arange(len(y))
    if groups is not None:
        order = np.random.default_rng(seed).permutation(int(groups.max()) + 1)
        rank = np.argsort(order)[groups]  # each example's group's place in the random order
        return np.sort(np.argsort(rank, kind="stable")[:CV_SAMPLE])
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(y)), train_size=CV_SAMPLE, stratify=y, random_state=seed)
    return np.sort(keep)


def _folds(y: np.ndarray, wanted: int) -> int:
    """As many folds as the rarest class allows (at least 2)."""
    return max(2, min(wanted, int(np.unique(y, return_counts=True)[1].min())))
