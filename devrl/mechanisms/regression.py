"""Behavioural regression: which geometry of a level predicts that the agent goes to the cheese.

Mini et al. (2023) regressed the maze agent's choice at the decision square on a few
geometric features of the level and found the cheese's distance to the decision square
and to the top-right corner the strongest predictors. Here the same regression runs on
any maze agent: an L1-regularized logistic regression (scikit-learn) on z-scored
features, scored by its accuracy over random 80/20 splits against the majority-class
baseline, with percentile-bootstrap intervals on the coefficients and the variance
inflation factors (statsmodels) that say how much the collinear features share.

**Collinearity.** Euclidean and path distances of the same pair of cells, and the
distances from the cheese to the corner and to the decision square, are strongly
correlated. With large VIFs the fit can move weight between correlated features
without changing its predictions: the L1 penalty then keeps one of a correlated group
and zeroes the others, the choice can flip between bootstrap resamples, and the
coefficient intervals widen. Read the coefficients of a correlated group together. In a perfect maze the decision
square lies on the one path from the cheese to the corner, so with ``region=1`` the path
features are *exactly* dependent (``path_cheese_corner = path_cheese_ds +
path_ds_region``, infinite VIFs): only two of the three coefficients are identified, and
L1 picks which.

**Rare choices.** When the agent almost never goes to the cheese, a regression that
always predicts the corner has the majority baseline's accuracy; the ROC AUC over the
same splits says whether the features still rank the levels by the agent's choice.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from statsmodels.stats.outliers_influence import variance_inflation_factor

from devrl.envs.levels import corner_cell
from devrl.envs.solver import bfs_distances
from devrl.mechanisms.decision import decision_square

Level = tuple[np.ndarray, tuple[int, int]]

FEATURES = (
    "euclid_cheese_corner",
    "path_cheese_corner",
    "euclid_cheese_ds",
    "path_cheese_ds",
    "euclid_ds_region",
    "path_ds_region",
    "cheese_row",
    "cheese_col",
)
"""Geometric features of a level, in the order :func:`level_features` writes them."""


def _region_cells(size: int, region: int) -> list[tuple[int, int]]:
    if isinstance(region, bool) or not isinstance(region, (int, np.integer)):
        raise TypeError(f"region must be an int (side of the top-right region), got {region!r}.")
    if not 1 <= region <= size:
        raise ValueError(f"region must be in [1, size={size}], got {region}.")
    return [(r, c) for r in range(region) for c in range(size - region, size)]


def level_features(levels: Iterable[Level], *, region: int = 1) -> pd.DataFrame:
    """Geometric features of each level that has a decision square (others are skipped).

    Why: the inputs of :func:`choice_regression`, computed solver-exact.

    Args:
        levels: ``(walls, cheese)`` pairs.
        region: Side of the top-right region whose nearest free cell the decision square's
            distances are taken to (1 = the top-right cell).

    Returns:
        One row per level with a decision square: ``level`` (index in ``levels``) and the
        columns of :data:`FEATURES` (Euclidean and BFS path distances cheese → top-right
        cell, cheese → decision square, decision square → top-right region; the cheese's
        row and column).
    """
    rows = []
    for i, (walls, cheese) in enumerate(levels):
        ds = decision_square(walls, cheese)
        if ds is None:
            continue
        size = walls.shape[0]
        corner = corner_cell(size)
        cheese = (int(cheese[0]), int(cheese[1]))
        d_cheese = bfs_distances(walls, cheese)  # [S, S]
        cells = [c for c in _region_cells(size, region) if not walls[c]]
        d_region = [bfs_distances(walls, c)[ds.cell] for c in cells]
        e_region = [np.hypot(ds.cell[0] - c[0], ds.cell[1] - c[1]) for c in cells]
        rows.append(
            {
                "level": i,
                "euclid_cheese_corner": float(
                    np.hypot(cheese[0] - corner[0], cheese[1] - corner[1])
                ),
                "path_cheese_corner": float(d_cheese[corner]),
                "euclid_cheese_ds": float(np.hypot(cheese[0] - ds.cell[0], cheese[1] - ds.cell[1])),
                "path_cheese_ds": float(d_cheese[ds.cell]),
                "euclid_ds_region": float(min(e_region)),
                "path_ds_region": float(min(d_region)),
                "cheese_row": float(cheese[0]),
                "cheese_col": float(cheese[1]),
            }
        )
    return pd.DataFrame(rows, columns=["level", *FEATURES])


def _l1_logistic(C: float) -> LogisticRegression:
    """L1 logistic regression (liblinear); ``l1_ratio`` replaced ``penalty`` in scikit-learn 1.8.

    liblinear's coordinate descent visits coordinates in a random order: without a fixed
    ``random_state`` two fits of the same data differ in the fourth digit.
    """
    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    fixed = {"C": C, "solver": "liblinear", "max_iter": 1000, "random_state": 0}
    if (major, minor) >= (1, 8):
        return LogisticRegression(l1_ratio=1.0, **fixed)
    return LogisticRegression(penalty="l1", **fixed)


def vif(X: np.ndarray) -> np.ndarray:
    """Variance inflation factor of each column of ``X [N, k]`` (with an intercept), statsmodels.

    ``1 / (1 - R_j^2)`` where ``R_j^2`` is from regressing column ``j`` on the others: 1 for
    an uncorrelated feature, ``1 / (1 - r^2)`` for each of two features correlated ``r``;
    huge or infinite for a feature that is an exact linear function of others (small mazes).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 2 or X.shape[0] <= X.shape[1]:
        raise ValueError(f"X must be [N, k] with k >= 2 and N > k, got shape {X.shape}.")
    design = np.column_stack([np.ones(len(X)), X])
    with warnings.catch_warnings():  # exact collinearity is reported by the value itself
        warnings.simplefilter("ignore")
        return np.array([variance_inflation_factor(design, j + 1) for j in range(X.shape[1])])


@dataclass(frozen=True)
class RegressionResult:
    """An L1 logistic regression of the choice on z-scored features.

    Attributes:
        coefficients: One row per feature: ``feature``, ``coef`` (fit on all levels, per
            standard deviation of the feature), ``low``/``high`` (percentile bootstrap over
            levels), ``nonzero`` (fraction of resamples where L1 kept it), ``vif``.
        accuracy, accuracy_low, accuracy_high: Mean test accuracy over the random splits
            and the 2.5/97.5 percentiles over splits.
        baseline, baseline_low, baseline_high: The same for the majority class of each
            split's training set.
        gain_low, gain_high: Percentiles over splits of accuracy minus baseline (paired).
        auc, auc_low, auc_high: ROC AUC of the predicted probabilities on the test sets
            (0.5 = no better than chance), mean and percentiles over splits with both
            choices in the test set.
        levels: Levels fitted; positives: how many went to the cheese.
    """

    coefficients: pd.DataFrame
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    baseline: float
    baseline_low: float
    baseline_high: float
    gain_low: float
    gain_high: float
    auc: float
    auc_low: float
    auc_high: float
    levels: int
    positives: int

    def summary(self) -> dict[str, float]:
        """The scalar fields as one row of a table."""
        return {k: v for k, v in self.__dict__.items() if k != "coefficients"}


def choice_regression(
    features: pd.DataFrame | np.ndarray,
    y: Sequence[bool] | np.ndarray,
    *,
    names: Sequence[str] | None = None,
    C: float = 1.0,
    splits: int = 50,
    test_size: float = 0.2,
    resamples: int = 200,
    seed: int = 0,
) -> RegressionResult:
    """Fit and score an L1 logistic regression of a binary choice on z-scored features.

    Why: says which geometry the agent's choice at the decision square follows, and
    whether the features predict it better than always guessing the usual choice.

    Args:
        features: ``[N, k]`` array, or a frame (its :data:`FEATURES` columns if present,
            else every column).
        y: ``[N]`` bool, e.g. the greedy action at the decision square goes to the cheese.
        names: Feature names for an array (default ``x0, x1, ...``).
        C: Inverse L1 strength (scikit-learn's ``C``; smaller zeroes more coefficients).
        splits: Random train/test splits for the accuracy.
        test_size: Test share of each split.
        resamples: Bootstrap resamples of the levels for the coefficient intervals.
        seed: Seeds the splits and the bootstrap.
    """
    if isinstance(features, pd.DataFrame):
        cols = [f for f in FEATURES if f in features.columns] or list(features.columns)
        X, names = features[cols].to_numpy(np.float64), cols
    else:
        X = np.asarray(features, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"features must be [N, k], got shape {X.shape}.")
        names = list(names) if names is not None else [f"x{j}" for j in range(X.shape[1])]
    y = np.asarray(y).astype(bool).ravel()
    if len(y) != len(X) or len(names) != X.shape[1]:
        raise ValueError(
            f"y has {len(y)} entries and names {len(names)} for features of shape {X.shape}."
        )
    if y.all() or not y.any():
        raise ValueError(
            f"y must contain both choices to fit a regression; all {len(y)} are {y[0]}."
        )
    if splits < 1 or resamples < 1:
        raise ValueError(f"splits and resamples must be >= 1, got {splits} and {resamples}.")
    if not np.isfinite(X).all() or (X.std(axis=0) == 0).any():
        raise ValueError("features must be finite and no column may be constant.")
    model = make_pipeline(StandardScaler(), _l1_logistic(C))
    acc, base, auc = [], [], []
    for train, test in ShuffleSplit(splits, test_size=test_size, random_state=seed).split(X):
        model.fit(X[train], y[train])
        acc.append(float((model.predict(X[test]) == y[test]).mean()))
        base.append(float((y[test] == (y[train].mean() >= 0.5)).mean()))
        if y[test].any() and not y[test].all():
            auc.append(float(roc_auc_score(y[test], model.predict_proba(X[test])[:, 1])))
    acc, base, auc = np.array(acc), np.array(base), np.array(auc)
    auc_stats = (
        (float(auc.mean()), float(np.percentile(auc, 2.5)), float(np.percentile(auc, 97.5)))
        if auc.size
        else (np.nan,) * 3
    )
    coef = model.fit(X, y)[-1].coef_.ravel().copy()
    rng = np.random.default_rng(seed)
    boot = []
    while len(boot) < resamples:
        idx = rng.integers(len(y), size=len(y))
        if y[idx].all() or not y[idx].any():
            continue
        boot.append(model.fit(X[idx], y[idx])[-1].coef_.ravel().copy())
    boot = np.array(boot)  # [resamples, k]
    table = pd.DataFrame(
        {
            "feature": names,
            "coef": coef,
            "low": np.percentile(boot, 2.5, axis=0),
            "high": np.percentile(boot, 97.5, axis=0),
            "nonzero": (boot != 0).mean(axis=0),
            "vif": vif(X),
        }
    )
    gain = acc - base
    return RegressionResult(
        table,
        float(acc.mean()),
        float(np.percentile(acc, 2.5)),
        float(np.percentile(acc, 97.5)),
        float(base.mean()),
        float(np.percentile(base, 2.5)),
        float(np.percentile(base, 97.5)),
        float(np.percentile(gain, 2.5)),
        float(np.percentile(gain, 97.5)),
        *auc_stats,
        len(y),
        int(y.sum()),
    )


__all__ = ["FEATURES", "RegressionResult", "choice_regression", "level_features", "vif"]
