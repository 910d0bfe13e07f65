"""How environment variables move a form's parameters: ``param ~ variables``.

Typical use: fit a logistic to each run's LLC curve (:func:`fit_per_run`), then ask
how the transition midpoint depends on maze size and reward (:func:`effects`).
Seeds are the unit of replication, so errors are clustered by seed (OLS) or a
random intercept per seed is fitted (mixed model).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from patsy import PatsyError

from devrl.forms._problem import check_columns, check_level
from devrl.forms.fitting import CI_METHODS, fit
from devrl.forms.registry import Form, get_form


def fit_per_run(
    table: pd.DataFrame,
    form: str | Form,
    *,
    x: str = "step",
    y: str = "value",
    by: Sequence[str] = ("run",),
    keep: Sequence[str] = (),
    sigma: str | None = None,
    ci: str = "none",
) -> pd.DataFrame:
    """Fit ``form`` to each group of a tidy table; one row per group and parameter.

    Args:
        table: tidy DataFrame (``run, seed, step, measure, value, stderr`` + env variables).
        form: form to fit.
        x, y: time and value columns.
        by: columns identifying one curve (e.g. ``("run",)`` after filtering one measure).
        keep: columns constant within a group to carry along (e.g. ``("seed", "size")``).
        sigma: optional column of per-point standard errors.
        ci: interval method passed to :func:`fit`.

    Returns:
        DataFrame with ``by`` + ``keep`` columns and ``param, value, stderr, ci_low,
        ci_high, status``; failed fits are kept with their reason in ``status``.
    """
    form = get_form(form)
    if ci not in CI_METHODS:  # checked here: fit's errors become per-run statuses below
        raise ValueError(f"ci must be one of {CI_METHODS}, got {ci!r}.")
    by = [by] if isinstance(by, str) else list(by)
    keep = [keep] if isinstance(keep, str) else list(keep)
    check_columns(table, [x], "fit_per_run (x)")
    check_columns(table, [y], "fit_per_run (y)")
    check_columns(
        table, by + keep + ([] if sigma is None else [sigma]), "fit_per_run (by/keep/sigma)"
    )
    rows = []
    for key, g in table.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        base = dict(zip(by, key)) | {c: g[c].iloc[0] for c in keep}
        g = g.sort_values(x)
        try:
            res = fit(
                g[x].to_numpy(),
                g[y].to_numpy(),
                form,
                sigma=None if sigma is None else g[sigma].to_numpy(),
                ci=ci,
            )
        except ValueError as err:
            rows.append(base | {"param": None, "status": f"failed: {err}"})
            continue
        for _, r in res.to_frame().iterrows():
            rows.append(
                base
                | {
                    "param": r["param"],
                    "value": r["value"],
                    "stderr": r["stderr"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "status": "ok",
                }
            )
    return pd.DataFrame(rows)


def _formula_model(make, formula: str, data: pd.DataFrame, variables, **kwargs):
    """``make(formula, data)``; a term patsy cannot evaluate is an error naming ``variables``."""
    try:
        return make(formula, data, **kwargs)
    except PatsyError as err:
        first = str(err).strip().splitlines()[0]
        raise ValueError(
            f"effects: variables {variables} are not columns or terms of the table "
            f"{list(data.columns)} ({first})."
        ) from None


def effects(
    table: pd.DataFrame,
    response: str,
    variables: Sequence[str],
    *,
    group: str = "seed",
    method: str = "ols",
    level: float = 0.95,
) -> pd.DataFrame:
    """Regress a fitted parameter on environment variables.

    Args:
        table: one row per run with the ``response`` column (e.g. fitted ``t0``),
            the variables and the ``group`` column.
        response: the column to explain.
        variables: predictors; strings or categoricals become dummy variables,
            and any patsy term works (``"size * C(reward)"``).
        group: the seed column; OLS errors are clustered on it, and ``mixedlm``
            puts a random intercept on it.
        method: ``"ols"`` (cluster-robust errors) or ``"mixedlm"``.
        level: confidence level.

    Returns:
        Coefficient table with columns ``term, coef, stderr, ci_low, ci_high,
        pvalue`` plus ``method`` and ``n``.
    """
    if method not in ("ols", "mixedlm"):
        raise ValueError(f"method must be 'ols' or 'mixedlm', got {method!r}.")
    if isinstance(variables, str):
        raise TypeError(
            f"variables must be a list of terms, got {variables!r}; write [{variables!r}]."
        )
    variables = list(variables)
    if not variables:
        raise ValueError("effects needs at least one variable, e.g. variables=['size'].")
    level = check_level(level)
    check_columns(table, [response], "effects (response)")
    check_columns(table, [group], "effects (group)")
    data = table.dropna(subset=[response]).copy()
    if data[response].nunique() < 2:
        raise ValueError(f"effects: {response!r} takes fewer than 2 distinct values.")
    formula = f"{response} ~ " + " + ".join(variables)
    alpha = 1 - level
    n_groups = data[group].nunique()
    if method == "ols":
        if n_groups < 2:
            raise ValueError(f"effects: clustering needs >= 2 values of {group!r}.")
        codes = pd.factorize(data[group])[0]
        model = _formula_model(smf.ols, formula, data, variables)
        res = model.fit(cov_type="cluster", cov_kwds={"groups": codes})
        names = list(res.params.index)
    else:
        model = _formula_model(smf.mixedlm, formula, data, variables, groups=data[group])
        res = model.fit(reml=True)
        names = [nm for nm in res.params.index if nm != "Group Var"]
    ci = res.conf_int(alpha=alpha)
    out = pd.DataFrame(
        {
            "term": names,
            "coef": res.params[names].to_numpy(),
            "stderr": res.bse[names].to_numpy(),
            "ci_low": ci.loc[names, 0].to_numpy(),
            "ci_high": ci.loc[names, 1].to_numpy(),
            "pvalue": np.asarray(res.pvalues[names], dtype=float),
        }
    )
    out["method"] = method
    out["n"] = len(data)
    return out
