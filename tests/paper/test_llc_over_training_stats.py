"""experiments/llc_over_training_stats.py on hand-built tracks with known answers."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_PATH = Path(__file__).parents[2] / "experiments" / "llc_over_training_stats.py"
_spec = importlib.util.spec_from_file_location("llc_over_training_stats", _PATH)
S = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(S)


def _tracks(values: dict) -> pd.DataFrame:
    rows = []
    for (seed, measure), ys in values.items():
        for step, y in zip((0, 10, 100, 1000), ys, strict=True):
            rows.append({"seed": seed, "step": step, "measure": measure, "value": y})
    return pd.DataFrame(rows)


def test_health_shares_pool_over_seeds():
    t = _tracks(
        {
            (0, "llc-regret"): [5, -1, -1, 2],
            (1, "llc-regret"): [5, 1, 1, 2],
            (0, "llc-regret/healthy"): [0, 1, 0, 0],
            (1, "llc-regret/healthy"): [0, 1, 1, 1],
        }
    )
    h = S.health(t).set_index("share")  # step 0 is excluded: 3 estimates per seed
    assert h.loc["negative", "value"] == pytest.approx(2 / 6)
    assert h.loc["healthy", "value"] == pytest.approx(4 / 6)
    assert h.loc["healthy", "estimates"] == 6


def test_correlations_against_log_step(tmp_path):
    values = {}
    runs = {}
    for seed in range(3):
        values[(seed, "success")] = [0, 0.1, 0.5, 0.9 + 0.01 * seed]
        values[(seed, "llc-action")] = [1, 2, 3, 4]
        runs[seed] = tmp_path / f"run_seed{seed}"
        runs[seed].mkdir()
        pd.DataFrame({"step": [10, 1000], "losses/value_loss": [1.0, 2.0]}).to_csv(
            runs[seed] / "metrics.csv", index=False
        )
    wide = S.curves(_tracks(values), runs, None)
    np.testing.assert_allclose(wide["value-loss"], [1, 1, 2] * 3)  # last update at or before
    c = S.correlations(wide, ["log-step", "llc-action"]).set_index("measure")
    assert c.loc["llc-action", "rho"] == pytest.approx(1.0)
    assert c.loc["llc-action", "null"] == pytest.approx(1.0)  # every seed's curve is the same
    assert c.loc["log-step", "p"] == pytest.approx(1.0)


def test_lag_stats_known_lags():
    lag = pd.DataFrame(
        {
            "success_at": [100.0, 1000.0, 10000.0],
            "action_at": [100.0, 1000.0, 10000.0],
            "success_at_linear": [100.0, 1000.0, 10000.0],
            "action_at_linear": [100.0, 1000.0, 10000.0],
        }
    )
    r = S.lag_stats(lag, ("action",), grid_log=0.1, grid_steps=50.0).set_index("axis")
    assert r.loc["log10", "lag"] == 0 and r.loc["log10", "abs"] == 0
    assert r.loc["log10", "abs_null"] == pytest.approx(4 / 3)  # |Δ| of 1, 2, 1 (log10), both ways
    assert r.loc["log10", "p"] == pytest.approx(1 / 6)
    assert r.loc["log10", "resolution"] == pytest.approx(1000 * (10**0.1 - 1))
    assert r.loc["linear", "resolution"] == 50.0


def test_training_cost(tmp_path):
    pd.DataFrame({"step": [4096, 8192, 12288], "charts/SPS": [8192.0] * 3}).to_csv(
        tmp_path / "metrics.csv", index=False
    )
    cost = S.training_cost([tmp_path])
    assert cost == {"update": pytest.approx(0.5), "run": pytest.approx(1.5)}


def test_control_stats_rises_and_correlation():
    rows = []
    for seed in range(3):
        for step, k in ((10, 1.0), (100, 2.0), (1000, 4.0)):
            vals = {"fisher": 10 * k, "fisher/top": k, "success": k / 4}
            for g in (10.0, 100.0, 1000.0):
                vals[f"fisher/visible-g{g:g}"] = k**2
                name = "llc-action-uniform" if g == 100 else f"llc-action-uniform-g{g:g}"
                vals[name], vals[f"{name}/healthy"] = 3 * k, 1.0
            rows += [
                {"seed": seed, "step": step, "measure": m, "value": v} for m, v in vals.items()
            ]
    df = pd.DataFrame(rows)
    control = df[df["measure"].str.startswith(("fisher", "llc-action-uniform-g"))]
    tracks = df[~df.index.isin(control.index)]
    c = S.control_stats(control, tracks, (10.0, 100.0, 1000.0)).set_index(["gamma", "stat"])
    assert c.loc[(100.0, "rise"), "value"] == pytest.approx(4.0)  # 3·4 / 3·1
    assert c.loc[(100.0, "visible_rise"), "value"] == pytest.approx(16.0)
    assert c.loc[(10.0, "rho"), "value"] == pytest.approx(1.0)
    assert c.loc[(1000.0, "healthy"), "value"] == 1.0
    assert c.loc[(np.nan, "rise:fisher"), "value"] == pytest.approx(4.0)
