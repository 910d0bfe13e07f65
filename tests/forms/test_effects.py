"""effects(): planted effects of environment variables on a fitted parameter are recovered."""

import numpy as np
import pandas as pd
import pytest

from devrl.forms import effects, fit_per_run
from devrl.forms.synthetic import checkpoints, true_curve


def _table(rng, n_seeds=8):
    rows = []
    for seed in range(n_seeds):
        seed_effect = rng.normal(0, 0.3)
        for size in (5, 7, 9, 11):
            for reward in ("cheese", "corner"):
                t0 = 2.0 + 0.25 * size + 0.5 * (reward == "corner") + seed_effect
                rows.append(
                    {"seed": seed, "size": size, "reward": reward, "t0": t0 + rng.normal(0, 0.1)}
                )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("method", ["ols", "mixedlm"])
def test_recovers_planted_coefficients(method):
    table = _table(np.random.default_rng(0))
    out = effects(table, "t0", ["size", "reward"], method=method).set_index("term")
    assert set(out.columns) >= {"coef", "stderr", "ci_low", "ci_high", "pvalue"}
    assert out.loc["size", "coef"] == pytest.approx(0.25, abs=0.03)
    assert out.loc["reward[T.corner]", "coef"] == pytest.approx(0.5, abs=0.1)
    for term, true in (("size", 0.25), ("reward[T.corner]", 0.5)):
        assert out.loc[term, "ci_low"] < true < out.loc[term, "ci_high"]
        assert out.loc[term, "pvalue"] < 1e-6


def test_null_effect_has_calibrated_pvalues():
    # No effect of a dummy variable: across replicates, p < 0.05 about 5% of the time.
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(40):
        table = _table(rng)
        table["noise_var"] = rng.integers(0, 2, len(table))
        out = effects(table, "t0", ["size", "noise_var"]).set_index("term")
        hits += out.loc["noise_var", "pvalue"] < 0.05
    assert hits <= 7  # 5% of 40 = 2; P(hits >= 8) is about 0.001


def test_fit_per_run_then_effects_end_to_end():
    rng = np.random.default_rng(2)
    t = checkpoints(40)
    rows = []
    for seed in range(4):
        for size in (5, 9, 13):
            log_t0 = 3.0 + 0.2 * size + rng.normal(0, 0.05)
            p = {"a": 0.0, "b": 1.0, "log_t0": log_t0, "w": 0.4}
            y = true_curve("logistic_log", t, p) + rng.normal(0, 0.02, t.size)
            rows += [
                {
                    "run": f"s{seed}_m{size}",
                    "seed": seed,
                    "size": size,
                    "step": s,
                    "measure": "success",
                    "value": v,
                }
                for s, v in zip(t, y)
            ]
    params = fit_per_run(pd.DataFrame(rows), "logistic_log", keep=("seed", "size"))
    assert (params["status"] == "ok").all()
    t0 = params[params["param"] == "log_t0"].rename(columns={"value": "log_t0"})
    out = effects(t0, "log_t0", ["size"]).set_index("term")
    assert out.loc["size", "ci_low"] < 0.2 < out.loc["size", "ci_high"]


def test_effects_errors():
    table = _table(np.random.default_rng(3))
    with pytest.raises(ValueError, match="not in the table"):
        effects(table, "midpoint", ["size"])
    with pytest.raises(ValueError, match="method"):
        effects(table, "t0", ["size"], method="gee")
