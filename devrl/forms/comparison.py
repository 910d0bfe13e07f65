"""Compare several forms on one curve: which functional form does the data support?

Each form is scored three ways: AICc (small-sample corrected Akaike criterion,
turned into Akaike weights, the relative likelihood of each form within the
set; with several seeds, per-seed weights averaged over seeds, because pooled
checkpoints of a seed are autocorrelated and pooled weights would treat them as
independent evidence), BIC (a heavier penalty per parameter; more often right when the true form
is the simplest candidate, see theory/forms.md), and extrapolation error (fit
the first 80% of training, predict the last 20%), which tests the form as a
forecast rather than a description. Forms that fail are kept in the table with
their reason, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from devrl.forms._problem import check_columns, check_count, check_curve, check_number
from devrl.forms.fitting import FitResult, fit
from devrl.forms.library import DEFAULT_FORMS
from devrl.forms.registry import Form, get_form
from devrl.stats import bootstrap_ci

COLUMNS = [
    "form",
    "status",
    "k",
    "n",
    "loglik",
    "aicc",
    "delta_aicc",
    "weight",
    "weight_lo",
    "weight_hi",
    "seeds_best",
    "weight_pooled",
    "aic",
    "bic",
    "delta_bic",
    "extrap_rmse",
    "formula",
]


def compare(
    t,
    y,
    forms: Sequence[str | Form] | None = None,
    *,
    sigma=None,
    groups=None,
    holdout: float = 0.2,
    sort_by: str = "aicc",
    return_fits: bool = False,
    seed: int = 0,
):
    """Fit several forms to one curve and rank them by AICc (or BIC).

    Args:
        t, y: the curve (see :func:`devrl.forms.fit`).
        forms: forms to try (names or :class:`Form` objects); defaults to
            ``DEFAULT_FORMS``.
        sigma, groups: as in :func:`devrl.forms.fit`.
        holdout: fraction of the latest time points held out for the
            extrapolation error (0 to skip).
        sort_by: ``"aicc"`` (default) or ``"bic"``. Prefer BIC when the candidates
            are nested with unidentified extra parameters (logistic_log inside
            double_logistic, piecewise1 inside piecewise2, constant inside
            linear): there AICc keeps the richer form far more often than 5% of
            the time (measured rates in theory/forms.md).
        return_fits: also return ``{form name: FitResult}`` of the successful fits.
        seed: seeds the random starts.

    Returns:
        DataFrame, one row per form, best ``sort_by`` first, with columns ``form, status
        ("ok" or the failure reason), k, n, loglik, aicc, delta_aicc, weight,
        weight_lo, weight_hi, seeds_best, weight_pooled, aic, bic, delta_bic,
        extrap_rmse, formula``; failed forms last with NaN scores. ``weight`` is the
        Akaike weight; with ``groups`` (seeds) it is the mean over seeds of each
        seed's own Akaike weights (a form that fails on a seed gets 0 there), with a
        95% bootstrap interval over seeds (weight_lo, weight_hi) and the share of
        seeds whose best AICc it has (seeds_best); ``weight_pooled`` is the weight of
        the pooled fit, which counts autocorrelated checkpoints as independent. With
        ``return_fits``: ``(table, fits)``.
    """
    if sort_by not in ("aicc", "bic"):
        raise ValueError(f"sort_by must be 'aicc' or 'bic', got {sort_by!r}.")
    if isinstance(forms, (str, Form)):
        raise TypeError(f"forms must be a list of forms, got {forms!r}; write [{forms!r}].")
    forms = [get_form(f) for f in (forms if forms is not None else DEFAULT_FORMS)]
    if not forms:
        raise ValueError("forms must name at least one form (or be None for the defaults).")
    if not isinstance(return_fits, bool):
        raise TypeError(f"return_fits must be True or False, got {return_fits!r}.")
    seed = check_count("seed", seed, minimum=0)
    check_number("holdout", holdout, 0.0, 1.0, high_open=True)
    t, y, sigma, groups = check_curve(t, y, sigma, groups, what="compare")
    cut = _holdout_cut(t, holdout)
    rows, fits = [], {}
    for form in forms:
        row = {"form": form.name, "formula": form.formula, "n": t.size}
        try:
            res = fit(t, y, form, sigma=sigma, groups=groups, ci="none", seed=seed)
        except ValueError as err:  # FitError and too-few-points alike
            rows.append({**row, "status": f"failed: {err}"})
            continue
        fits[form.name] = res
        row.update(
            status="ok",
            k=res.k,
            loglik=res.loglik,
            aicc=res.aicc,
            aic=res.aic,
            bic=res.bic,
            extrap_rmse=_extrapolation_rmse(t, y, sigma, groups, form, cut, seed),
        )
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    ok = table["status"] == "ok"
    for crit in ("aicc", "bic"):
        best = table.loc[ok, crit].min()
        table[f"delta_{crit}"] = table[crit] - best
    table["weight_pooled"] = _akaike_weights(table["aicc"].where(ok).to_numpy(float))
    table["weight"] = table["weight_pooled"]
    if groups is not None and np.unique(groups).size >= 2 and ok.any():
        okm = ok.to_numpy()
        forms_ok = [get_form(f) for f in table.form[okm]]
        per_seed = _per_seed_weights(t, y, sigma, groups, forms_ok, seed)  # [seeds, forms]
        cis = [bootstrap_ci(per_seed[:, i], seed=seed) for i in range(len(forms_ok))]
        table.loc[okm, "weight"] = per_seed.mean(0)
        table.loc[okm, "weight_lo"] = [c.low for c in cis]
        table.loc[okm, "weight_hi"] = [c.high for c in cis]
        table.loc[okm, "seeds_best"] = (per_seed == per_seed.max(1, keepdims=True)).mean(0)
    table = table.sort_values([sort_by], na_position="last", kind="stable").reset_index(drop=True)
    return (table, fits) if return_fits else table


def _akaike_weights(aicc: np.ndarray) -> np.ndarray:
    """exp(−ΔAICc/2), normalised over the finite entries (NaN stays NaN)."""
    finite = np.isfinite(aicc)
    out = np.full(aicc.shape, np.nan)
    if finite.any():
        rel = np.exp(-0.5 * (aicc[finite] - aicc[finite].min()))
        out[finite] = rel / rel.sum()
    return out


def _per_seed_weights(t, y, sigma, groups, forms: Sequence[Form], seed: int) -> np.ndarray:
    """Akaike weights of ``forms`` fitted to each group alone: [groups, forms] (0: failed)."""
    rows = []
    for g in np.unique(groups):
        m = groups == g
        aicc = np.full(len(forms), np.nan)
        for i, form in enumerate(forms):
            try:
                res = fit(
                    t[m],
                    y[m],
                    form,
                    sigma=None if sigma is None else sigma[m],
                    ci="none",
                    seed=seed,
                )
            except ValueError:
                continue
            aicc[i] = res.aicc
        rows.append(np.nan_to_num(_akaike_weights(aicc), nan=0.0))
    return np.asarray(rows)


def drop_missing(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Rows of ``frame`` whose ``columns`` all hold numbers, and how many rows were dropped.

    Why: tracked tables have gaps (e.g. training updates in which no episode finished
    leave NaN success rates), and :func:`compare` and :func:`devrl.forms.fit` refuse
    NaN rather than guess. Call this first, and report the count.

    Args:
        frame: A table, e.g. a run's ``metrics.csv`` or a tidy track.
        columns: Columns that must hold a number; a value that is NaN, None or does
            not parse as a number drops its row.

    Returns:
        ``(kept, dropped)``: the rows kept (original index and order) and the number dropped.
    """
    check_columns(frame, columns, "drop_missing")
    ok = frame[list(columns)].apply(pd.to_numeric, errors="coerce").notna().all(axis=1)
    return frame[ok], int((~ok).sum())


def _holdout_cut(t: np.ndarray, holdout: float) -> float | None:
    """Time threshold: points with t > cut are the last ``holdout`` of distinct times."""
    if not 0 <= holdout < 1:
        raise ValueError(f"holdout must be in [0, 1), got {holdout}.")
    times = np.unique(t)
    n_train = int(np.floor((1 - holdout) * times.size))
    if holdout == 0 or n_train >= times.size:
        return None
    return float(times[n_train - 1])


def _extrapolation_rmse(t, y, sigma, groups, form: Form, cut, seed) -> float:
    if cut is None:
        return np.nan
    train = t <= cut
    try:
        res: FitResult = fit(
            t[train],
            y[train],
            form,
            sigma=None if sigma is None else sigma[train],
            groups=None if groups is None else groups[train],
            ci="none",
            seed=seed,
        )
    except ValueError:
        return np.nan
    err = res.predict(t[~train]) - y[~train]
    return float(np.sqrt(np.mean(err**2)))


def compare_curves(
    tracks: pd.DataFrame,
    measures: Sequence[str],
    *,
    by: Sequence[str] = (),
    forms: Sequence[str] = ("constant", "linear", "logistic_log", "exp"),
    min_checkpoints: int = 5,
) -> pd.DataFrame:
    """:func:`compare` on each tracked curve of a tidy frame, seeds as groups.

    What experiments ask of every curve they track: which functional form describes it
    over training. Step 0 (the initialisation, off a log axis) and non-finite values are
    left out; a curve with fewer than ``min_checkpoints`` distinct steps, or a constant one
    (a count that stays 0), is skipped.

    Args:
        tracks: Tidy frame with ``step, measure, value``, ``seed`` and the ``by`` columns.
        measures: The curves, in the order of the result.
        by: Columns whose groups get their own comparison (e.g. ``["corner"]``).
        forms: Candidate forms (:data:`devrl.forms.FORMS` names).
        min_checkpoints: Fewest distinct steps worth a comparison.

    Returns:
        :func:`compare`'s rows for each curve, with ``measure`` and the ``by`` columns.
    """
    check_columns(tracks, ["step", "measure", "value", "seed", *by], "compare_curves")
    rows = []
    for measure in measures:
        curve = tracks[(tracks["measure"] == measure) & (tracks["step"] > 0)]
        curve = curve.replace([np.inf, -np.inf], np.nan).dropna(subset=["value"])
        groups = curve.groupby(list(by), sort=True) if by else [((), curve)]
        for key, c in groups:
            if c["step"].nunique() < min_checkpoints or c["value"].nunique() < 2:
                continue  # too short, or constant: no form to tell apart
            res = compare(
                c["step"].to_numpy(float),
                c["value"].to_numpy(float),
                forms=list(forms),
                groups=c["seed"].to_numpy() if c["seed"].nunique() > 1 else None,
                holdout=0.0,
            )
            key = key if isinstance(key, tuple) else (key,)
            rows.append(res.assign(measure=measure, **dict(zip(by, key, strict=True))))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
