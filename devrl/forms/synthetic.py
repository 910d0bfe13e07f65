"""Planted-truth curves and the Monte-Carlo validation of fit, compare and intervals.

Each built-in form has reference parameters (``TRUTH``) on checkpoints
log-spaced over [1, 10^4], scaled so the curve changes by about 1. Noise is
Gaussian with standard deviation ``range / snr`` (``1 / snr`` for the constant
form). :func:`validate_form` draws such curves and measures how often the true
form wins by AICc and by BIC, and how often each 95% interval covers the truth.
Used by ``tests/forms`` and ``experiments/forms_validation.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from devrl.forms.comparison import compare
from devrl.forms.fitting import fit
from devrl.forms.library import DEFAULT_FORMS
from devrl.forms.registry import get_form

T_MIN, T_MAX = 1.0, 1e4

TRUTH: dict[str, dict[str, float]] = {
    "constant": {"a": 1.0},
    "linear": {"a": 0.0, "b": 1e-4},
    "exp": {"a": 0.0, "b": 1.0, "tau": 1000.0},
    "logistic": {"a": 0.0, "b": 1.0, "t0": 3000.0, "w": 800.0},
    "logistic_log": {"a": 0.0, "b": 1.0, "log_t0": np.log(100.0), "w": 0.5},
    "double_logistic": {
        "a": 0.0,
        "b": 0.6,
        "c": 1.0,
        "log_t1": np.log(30.0),
        "w1": 0.3,
        "log_t2": np.log(1000.0),
        "w2": 0.3,
    },
    "power": {"a": 0.2, "b": 1.0, "alpha": 0.5},
    "piecewise1": {"a": 0.0, "b": 0.02, "c1": 0.25, "log_t1": 5.0},
    "piecewise2": {"a": 0.0, "b": 0.2, "c1": -0.2, "log_t1": 3.0, "c2": 0.3, "log_t2": 6.5},
}
"""Reference parameters of each built-in form, on t in [1, 1e4]."""


def checkpoints(n: int = 64) -> np.ndarray:
    """``n`` checkpoints log-spaced over [1, 10^4], like a training run's saves."""
    return np.geomspace(T_MIN, T_MAX, n)


def true_curve(form: str, t: np.ndarray, params: dict[str, float] | None = None) -> np.ndarray:
    """The noiseless curve of ``form`` with its reference (or given) parameters."""
    f = get_form(form)
    p = TRUTH[form] if params is None else params
    return f(t, [p[name] for name in f.param_names])


def noisy_curve(form: str, n: int, snr: float, rng: np.random.Generator):
    """A planted curve with Gaussian noise of standard deviation range/snr.

    Returns:
        ``(t, y, noise_sd)``.
    """
    t = checkpoints(n)
    mu = true_curve(form, t)
    sd = (np.ptp(mu) or 1.0) / snr
    return t, mu + rng.normal(0.0, sd, size=n), sd


def validate_form(
    form: str,
    *,
    snr: float,
    n: int = 64,
    reps: int = 50,
    seed: int = 0,
    candidates: Sequence[str] = DEFAULT_FORMS,
    ci: str | None = "profile",
    level: float = 0.95,
) -> pd.DataFrame:
    """Monte-Carlo check of selection and coverage for one planted form.

    Args:
        form: the planted form (a key of ``TRUTH``).
        snr: signal-to-noise ratio (curve range / noise sd).
        n: number of checkpoints.
        reps: number of noisy curves.
        seed: fixes every draw (the result is deterministic).
        candidates: forms competing in ``compare``; empty to skip selection.
        ci: interval method for coverage (``None`` to skip coverage).
        level: interval level.

    Returns:
        One row per replicate with ``rep, winner_aicc, winner_bic`` and, per
        parameter, ``cover_<param>`` (1 if the interval covered the truth, NaN if
        the fit failed).
    """
    rng = np.random.default_rng([seed, n, round(snr * 1000), _stable_hash(form)])
    truth = TRUTH[form]
    rows = []
    for rep in range(reps):
        t, y, _ = noisy_curve(form, n, snr, rng)
        row: dict = {"form": form, "snr": snr, "n": n, "rep": rep}
        if candidates:
            table = compare(t, y, candidates, holdout=0.0, seed=rep)
            ok = table[table["status"] == "ok"]
            row["winner_aicc"] = ok.sort_values("aicc")["form"].iloc[0]
            row["winner_bic"] = ok.sort_values("bic")["form"].iloc[0]
        if ci is not None:
            try:
                res = fit(t, y, form, ci=ci, level=level, seed=rep)
                for name, (lo, hi) in res.ci.items():
                    row[f"cover_{name}"] = float(lo <= truth[name] <= hi)
            except ValueError:
                for name in truth:
                    row[f"cover_{name}"] = np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (form, snr, n): selection accuracy by AICc and BIC, and coverage per parameter.

    Columns: ``form, snr, n, reps, acc_aicc, acc_bic, coverage`` (mean over
    parameters and replicates), ``coverage_min`` (worst parameter) and
    ``coverage_by_param`` (a readable string).
    """
    out = []
    for (form, snr, n), g in runs.groupby(["form", "snr", "n"], sort=False):
        row = {"form": form, "snr": snr, "n": n, "reps": len(g)}
        if "winner_aicc" in g:
            row["acc_aicc"] = float((g["winner_aicc"] == form).mean())
            row["acc_bic"] = float((g["winner_bic"] == form).mean())
        cov = {
            c[6:]: g[c].mean() for c in g.columns if c.startswith("cover_") and g[c].notna().any()
        }
        if cov:
            row["coverage"] = float(np.mean(list(cov.values())))
            row["coverage_min"] = float(min(cov.values()))
            row["coverage_by_param"] = " ".join(f"{k}={v:.2f}" for k, v in cov.items())
        out.append(row)
    return pd.DataFrame(out)


def _stable_hash(s: str) -> int:
    return int.from_bytes(s.encode()[:8].ljust(8, b"\0"), "little") % (2**31)
