"""The form of a final quantity as a function of an environment variable, across runs.

:func:`devrl.forms.compare` ranks forms of one curve over training. Here the "curve" is
one value per run (e.g. final success with the cheese anywhere) against the value of an
environment variable of that run (corner size, share of cheese-anywhere levels), over
several seeds per value. Runs are independent, so their points are pooled into one
AICc comparison (unlike checkpoints of one run, which are autocorrelated). How strongly
a form wins is then told by resampling whole seeds: the Akaike weights' 95% interval
and the share of resamples each form wins.

Per-seed Akaike weights are undefined here whenever a seed has no more values of the
variable than a form has parameters plus two (5 corner sizes cannot rank a 4-parameter
logistic), which is why the seeds are resampled instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from devrl.forms._problem import check_columns, check_count
from devrl.forms.comparison import _akaike_weights, compare
from devrl.forms.fitting import fit
from devrl.forms.registry import Form, get_form

FORMS_ACROSS: tuple[str, ...] = ("constant", "linear", "logistic_log", "power", "piecewise1")
"""Candidates for a quantity against a variable: no effect, a steady trend, a logistic
(sigmoid in log x), a power law and a threshold (continuous piecewise-linear in log x
with one change point)."""


def compare_across(
    table: pd.DataFrame,
    x: str,
    y: str,
    *,
    group: str = "seed",
    forms: Sequence[str] = FORMS_ACROSS,
    n_boot: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Rank forms of ``y`` as a function of ``x``, one row of ``table`` per run.

    Args:
        table: One row per run with columns ``x`` (the variable, > 0 for the forms in
            log x), ``y`` (the quantity) and ``group`` (the seed).
        x, y: Column names.
        group: Column of the unit resampled by the bootstrap (the seed).
        forms: Candidate forms (names registered in :mod:`devrl.forms`).
        n_boot: Seed resamples.
        seed: Seeds the resampling and the fits' random starts.

    Returns:
        :func:`devrl.forms.compare`'s table of the pooled fit (best AICc first; a form that
        cannot be fitted to this many points keeps its reason in ``status``), with
        ``weight`` the pooled Akaike weight, ``weight_lo``/``weight_hi`` its 95% interval
        over seed resamples, ``wins`` the share of resamples in which the form has the
        best AICc, and ``x_values``/``seeds`` the design's size.
    """
    check_columns(table, [x, y, group], "compare_across")
    n_boot = check_count("n_boot", n_boot, minimum=0)
    data = table[[x, y, group]].dropna().sort_values([group, x], kind="stable")
    if data[x].nunique() < 2:
        raise ValueError(f"compare_across needs >= 2 values of {x!r}, got {data[x].nunique()}.")
    forms = [get_form(f) for f in forms]
    result = compare(
        data[x].to_numpy(float),
        data[y].to_numpy(float),
        forms,
        groups=data[group].to_numpy(),
        holdout=0.0,
        seed=seed,
    )
    result["weight"] = result["weight_pooled"]
    order = [get_form(f) for f in result["form"]]
    seeds = data[group].unique()
    by_seed = {s: data[data[group] == s] for s in seeds}
    rng = np.random.default_rng(seed)
    weights, wins = [], np.zeros(len(order))
    for _ in range(n_boot):
        chosen = rng.choice(seeds.size, size=seeds.size, replace=True)
        # a seed drawn twice is two groups: its points enter twice, as in any cluster bootstrap
        sample = pd.concat([by_seed[seeds[i]].assign(_draw=k) for k, i in enumerate(chosen)])
        sample = sample.sort_values(["_draw", x], kind="stable")
        if sample[x].nunique() < 2:
            continue
        aicc = np.array([_aicc(sample, x, y, form, seed) for form in order])
        w = np.nan_to_num(_akaike_weights(aicc), nan=0.0)
        weights.append(w)
        if w.max() > 0:
            wins[int(np.argmax(w))] += 1
    if weights:
        w = np.asarray(weights)
        result["weight_lo"] = np.percentile(w, 2.5, axis=0)
        result["weight_hi"] = np.percentile(w, 97.5, axis=0)
        result["wins"] = wins / len(weights)
    else:
        result["weight_lo"] = result["weight_hi"] = result["wins"] = np.nan
    result["seeds_best"] = np.nan  # per-seed weights are undefined here (module docstring)
    result["x_values"] = data[x].nunique()
    result["seeds"] = seeds.size
    return result


def _aicc(sample: pd.DataFrame, x: str, y: str, form: Form, seed: int) -> float:
    """AICc of ``form`` pooled over the sample's draws (NaN when it cannot be fitted)."""
    try:
        res = fit(
            sample[x].to_numpy(float),
            sample[y].to_numpy(float),
            form,
            groups=sample["_draw"].to_numpy(),
            ci="none",
            seed=seed,
        )
    except ValueError:
        return float("nan")
    return float(res.aicc)


__all__ = ["FORMS_ACROSS", "compare_across"]
