"""Is a change-point detector better than chance? Nulls for shifts matched to transitions.

A detector reports shift times on a curve sampled at checkpoints t; a transition counts as
detected when a shift lies within a factor e^tol of it (recall), a shift as correct when a
transition lies that close (precision), as :func:`devrl.forms.match_transitions` scores them.
With many shifts both rise by chance, so each curve is scored against three nulls that keep
its number of shifts and move only their times:

* **random gaps**: each seed's shifts placed at distinct checkpoint gaps drawn uniformly
  (the detector can only cut between checkpoints, so gaps are its sample space);
* **random log-times**: the same, with each gap drawn in proportion to its width in log-time
  (shifts uniform in log t; harder than random gaps when checkpoints crowd late in training,
  as a log-plus-linear schedule does, and transitions come early);
* **circular shift**: each seed's shift pattern rotated by a random number of gaps. This is
  the detector re-run on the circularly shifted curve, minus the seam: it keeps the curve's
  autocorrelation and the spacing of its shifts. A *time permutation* of the curve (also here,
  :func:`permutation_null`) destroys both: a permuted plateau curve is white noise with few
  shifts, so the permutation null is far too easy for autocorrelated curves; the circular
  shift is the right one for them (tests/stats/test_shift_nulls.py measures both).

Statistics pool over seeds (Σhits/Σtotals); intervals resample seeds
(:func:`devrl.stats.ratio_ci`); the p-value of "beats the null" is the Monte Carlo p of the
pooled F1 (harmonic mean of pooled precision and recall) against each null.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from devrl.stats.hypothesis import monte_carlo_p
from devrl.stats.intervals import Interval, ratio_ci

__all__ = [
    "SeedShifts",
    "ShiftScore",
    "f1_difference",
    "permutation_null",
    "score_shifts",
    "shift_counts",
]

NULLS = ("random", "log", "circular")


@dataclass(frozen=True)
class SeedShifts:
    """One seed's curve grid, detected shifts and reference transitions (all times > 0).

    Attributes:
        t: checkpoint times of the curve, increasing.
        shifts: detected shift times, each the geometric mean of two adjacent checkpoints
            (what :func:`devrl.forms.level_shifts` returns).
        transitions: reference transition times.
        start: shifts and null shifts only at gaps whose time is >= start (e.g. the seed's
            first plateau, before which a shift is no transition).
    """

    t: np.ndarray
    shifts: np.ndarray
    transitions: np.ndarray
    start: float = 0.0


@dataclass(frozen=True)
class ShiftScore:
    """Recall and precision over seeds with intervals, each null's values and p-values."""

    recall: Interval
    precision: Interval
    f1: float
    null_recall: dict[str, float]
    null_precision: dict[str, float]
    null_f1: dict[str, float]
    p: dict[str, float]
    n_seeds: int
    transitions: int
    shifts: int

    @property
    def beats_null(self) -> bool:
        """F1 above every null at the 5% level."""
        return bool(max(self.p.values()) < 0.05)

    def as_row(self) -> dict:
        """Flat columns for a tidy table."""
        row = {
            "recall": self.recall.estimate,
            "recall lo": self.recall.low,
            "recall hi": self.recall.high,
            "precision": self.precision.estimate,
            "precision lo": self.precision.low,
            "precision hi": self.precision.high,
            "f1": self.f1,
        }
        for k in NULLS:
            row |= {f"null recall ({k})": self.null_recall[k]}
            row |= {f"null precision ({k})": self.null_precision[k], f"p ({k})": self.p[k]}
        return row | {"beats null": self.beats_null, "seeds": self.n_seeds}


def _f1(p, r):
    p, r = np.asarray(p, dtype=float), np.asarray(r, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = 2 * p * r / (p + r)
    return np.where((p + r) > 0, f, 0.0)


def _gap_grid(seed: SeedShifts, tol: float):
    """Hit matrix of the eligible gaps against the transitions, the shifts' gap indices, and
    each gap's width in log-time."""
    t = np.asarray(seed.t, dtype=float)
    if t.ndim != 1 or t.size < 2 or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise ValueError("SeedShifts.t must be increasing times > 0, at least two of them.")
    mids = np.sqrt(t[:-1] * t[1:])
    eligible = mids >= seed.start
    gaps = mids[eligible]
    widths = np.log(t[1:] / t[:-1])[eligible]
    tau = np.asarray(seed.transitions, dtype=float).ravel()
    hits = np.abs(np.log(gaps)[:, None] - np.log(tau)[None, :]) <= tol  # [G, T]
    s = np.asarray(seed.shifts, dtype=float).ravel()
    s = s[s >= seed.start]
    if s.size and gaps.size == 0:
        raise ValueError("shifts lie after start but no checkpoint gap does.")
    pos = np.searchsorted(gaps, s)
    pos = np.clip(pos, 0, max(gaps.size - 1, 0))
    near = np.abs(np.log(gaps[pos]) - np.log(s)) if s.size else np.zeros(0)
    if np.any(near > 1e-6):
        raise ValueError("shifts must be geometric means of adjacent checkpoints t.")
    return hits, np.unique(pos), widths


def _counts(hits: np.ndarray, pos: np.ndarray) -> tuple[int, int, int, int]:
    """Transitions detected, transitions, shifts that match one, shifts (one seed)."""
    return int(hits[pos].any(0).sum()), hits.shape[1], int(hits[pos].any(1).sum()), pos.size


def shift_counts(seeds: Sequence[SeedShifts], *, tol: float = 0.2) -> np.ndarray:
    """Per seed: transitions detected, transitions, correct shifts, shifts (an int array
    [n_seeds, 4]): what pooled recall and precision are made of."""
    return np.array([_counts(*_gap_grid(s, tol)[:2]) for s in seeds], dtype=int).reshape(-1, 4)


def _pooled_f1(counts: np.ndarray) -> np.ndarray:
    """Pooled F1 of count arrays [..., n_seeds, 4] (0 where nothing was detected)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = counts[..., 0].sum(-1) / counts[..., 1].sum(-1)
        precision = counts[..., 2].sum(-1) / counts[..., 3].sum(-1)
    return _f1(np.nan_to_num(precision), np.nan_to_num(recall))


def f1_difference(
    a: Sequence[SeedShifts],
    b: Sequence[SeedShifts],
    *,
    tol: float = 0.2,
    level: float = 0.95,
    n_resamples: int = 9999,
    seed: int = 0,
) -> tuple[Interval, float]:
    """Pooled F1 of detector ``a`` minus that of detector ``b`` on the same seeds.

    Why: two detectors scored on the same runs share each run's luck, so their difference
    is resampled by seed, pairs kept together, not from two independent intervals. The
    p-value (two-sided) is that of a paired permutation: each seed's two detectors swapped
    at random.

    Args:
        a, b: one :class:`SeedShifts` per seed, in the same seed order, same transitions.
        tol, level, n_resamples, seed: as for :func:`score_shifts`.

    Returns:
        (F1(a) − F1(b) with its percentile interval over seed resamples, the p-value); NaN
        bounds with fewer than two seeds.
    """
    if len(a) != len(b) or not a:
        raise ValueError(f"need the same seeds for both detectors, got {len(a)} and {len(b)}.")
    ca, cb = shift_counts(a, tol=tol), shift_counts(b, tol=tol)
    if not np.array_equal(ca[:, 1], cb[:, 1]):
        raise ValueError("a and b must be scored against the same transitions per seed.")
    est = float(_pooled_f1(ca) - _pooled_f1(cb))
    n = len(a)
    if n < 2:
        return Interval(est, float("nan"), float("nan"), n, level), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))
    boot = _pooled_f1(ca[idx]) - _pooled_f1(cb[idx])
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    swap = rng.random((n_resamples, n, 1)) < 0.5
    null = _pooled_f1(np.where(swap, cb, ca)) - _pooled_f1(np.where(swap, ca, cb))
    p = monte_carlo_p(abs(est), np.abs(null), "greater")
    return Interval(est, float(lo), float(hi), n, level), p


def _null_counts(hits, pos, widths, kind: str, n_null: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Recall hits and precise shifts of one seed under ``n_null`` draws of a null."""
    G, k = hits.shape[0], pos.size
    if k == 0 or G == 0:
        return np.zeros(n_null), np.zeros(n_null)
    if kind == "random":
        idx = np.argsort(rng.random((n_null, G)), axis=1)[:, :k]
    elif kind == "log":  # k gaps without replacement, P ∝ width (Gumbel top-k)
        keys = np.log(widths)[None, :] + rng.gumbel(size=(n_null, G))
        idx = np.argsort(-keys, axis=1)[:, :k]
    else:
        idx = (pos[None, :] + rng.integers(1, G, size=(n_null, 1)) if G > 1 else pos[None, :]) % G
    chosen = hits[idx]  # [B, k, T]
    return chosen.any(1).sum(-1).astype(float), chosen.any(2).sum(-1).astype(float)


def score_shifts(
    seeds: Sequence[SeedShifts],
    *,
    tol: float = 0.2,
    n_null: int = 999,
    level: float = 0.95,
    seed: int = 0,
) -> ShiftScore:
    """Recall and precision of detected shifts over seeds, against the three nulls.

    Args:
        seeds: one :class:`SeedShifts` per seed.
        tol: matching tolerance in log-time.
        n_null: draws of each null.
        level: level of the bootstrap intervals over seeds.
        seed: seeds the nulls and the bootstrap.

    Returns:
        A :class:`ShiftScore`.
    """
    if not seeds:
        raise ValueError("seeds is empty: score_shifts needs at least one seed.")
    if tol < 0 or n_null < 1:
        raise ValueError(f"need tol >= 0 and n_null >= 1, got {tol} and {n_null}.")
    rng = np.random.default_rng(seed)
    rec, prec, n_tr, n_sh = [], [], [], []
    null = {k: [np.zeros(n_null), np.zeros(n_null)] for k in NULLS}
    for s in seeds:
        hits, pos, widths = _gap_grid(s, tol)
        detected, transitions, correct, shifts = _counts(hits, pos)
        rec.append(detected)
        prec.append(correct)
        n_tr.append(transitions)
        n_sh.append(shifts)
        for k in NULLS:
            r, p = _null_counts(hits, pos, widths, k, n_null, rng)
            null[k][0] += r
            null[k][1] += p
    T, S = sum(n_tr), sum(n_sh)
    recall = ratio_ci(rec, n_tr, level=level, seed=seed)
    precision = ratio_ci(prec, n_sh, level=level, seed=seed)
    f1 = float(_f1(precision.estimate if S else 0.0, recall.estimate if T else 0.0))
    out = {"r": {}, "p": {}, "f": {}, "pv": {}}
    for k in NULLS:
        r = null[k][0] / T if T else np.zeros(n_null)
        p = null[k][1] / S if S else np.zeros(n_null)
        f = _f1(p, r)
        out["r"][k], out["p"][k], out["f"][k] = float(r.mean()), float(p.mean()), float(f.mean())
        out["pv"][k] = monte_carlo_p(f1, f, "greater")
    return ShiftScore(
        recall, precision, f1, out["r"], out["p"], out["f"], out["pv"], len(seeds), T, S
    )


def permutation_null(
    curves: Sequence[tuple[np.ndarray, np.ndarray]],
    transitions: Sequence[np.ndarray],
    detector: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    tol: float = 0.2,
    n_null: int = 199,
    seed: int = 0,
) -> tuple[float, np.ndarray, float]:
    """Pooled F1 of ``detector`` against the same detector on time-permuted curves.

    Re-runs the detector on every permuted curve (n_null × seeds runs): exact for curves whose
    noise is exchangeable in time, too easy for autocorrelated ones (module docstring).

    Args:
        curves: per seed (t, y).
        transitions: per seed its transition times.
        detector: ``(t, y) -> shift times`` at gap geometric means.
        tol, n_null, seed: as for :func:`score_shifts`.

    Returns:
        (observed pooled F1, its null draws, Monte Carlo p-value).
    """
    if len(curves) != len(transitions) or not curves:
        raise ValueError("curves and transitions need one (non-zero) length.")
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_null + 1, 4))  # recall hits, transitions, precise shifts, shifts
    for (t, y), tau in zip(curves, transitions, strict=True):
        t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
        for b in range(n_null + 1):
            yb = y if b == 0 else rng.permutation(y)
            hits, pos, _ = _gap_grid(SeedShifts(t, detector(t, yb), np.asarray(tau)), tol)
            counts[b] += hits[pos].any(0).sum(), hits.shape[1], hits[pos].any(1).sum(), pos.size
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(counts[:, 1] > 0, counts[:, 0] / counts[:, 1], 0.0)
        p = np.where(counts[:, 3] > 0, counts[:, 2] / counts[:, 3], 0.0)
    f = _f1(p, r)
    return float(f[0]), f[1:], monte_carlo_p(f[0], f[1:], "greater")
