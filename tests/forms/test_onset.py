"""onset_time / onset_times: when a tracked value first crosses a level, planted answers."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from devrl.forms import effects, halfway_onsets, onset_lags, onset_time, onset_times

STEPS = np.unique(np.rint(np.geomspace(1e3, 1e6, 25)))


def _curve(t0: float, t=STEPS) -> np.ndarray:
    """A rise from 0 to 1 in log steps, crossing 0.5 exactly at t0."""
    return expit((np.log10(t) - np.log10(t0)) / 0.1)


def test_planted_onset_is_recovered_within_its_bracket():
    at, lo, hi = onset_time(STEPS, _curve(3e4), 0.5)
    assert lo < 3e4 <= hi
    assert abs(np.log10(at) - np.log10(3e4)) < 0.02  # log-linear interpolation


def test_never_crossing_is_censored_and_first_point_above_has_no_lower_bracket():
    at, lo, hi = onset_time(STEPS, np.full(STEPS.size, 0.2), 0.5)
    assert np.isnan(at) and lo == STEPS[-1] and hi == np.inf
    at, lo, hi = onset_time(STEPS, np.full(STEPS.size, 0.9), 0.5)
    assert at == STEPS[0] and np.isnan(lo)


def test_persist_ignores_a_single_noisy_checkpoint():
    y = _curve(2e5)
    y[3] = 0.8  # one spike long before the real rise
    assert STEPS[2] < onset_time(STEPS, y, 0.5)[0] <= STEPS[3]  # fooled without persist
    at, _, _ = onset_time(STEPS, y, 0.5, persist=2)
    assert abs(np.log10(at) - np.log10(2e5)) < 0.02


def test_planted_effect_of_corner_size_on_onset_is_recovered():
    """Onset = 1e4 * corner**0.8 * seed noise: the slope of log10 onset on log10 corner is 0.8."""
    rng = np.random.default_rng(1)
    rows = []
    for seed in range(5):
        shift = rng.normal(0, 0.03)
        for corner in (1, 2, 3, 5, 7):
            t0 = 1e4 * corner**0.8 * 10 ** (shift + rng.normal(0, 0.02))
            run = f"corner={corner},seed={seed}"
            for step, v in zip(STEPS, _curve(t0), strict=True):
                rows.append(
                    {
                        "run": run,
                        "seed": seed,
                        "corner": corner,
                        "step": step,
                        "measure": "corner-first",
                        "value": v,
                    }
                )
    tracks = pd.DataFrame(rows)
    onsets = onset_times(tracks, "corner-first", 0.5, keep=("seed", "corner"))
    assert len(onsets) == 25 and not onsets["censored"].any()
    fit = effects(onsets, "log10_onset", ["np.log10(corner)"], method="mixedlm")
    slope = fit.set_index("term").loc["np.log10(corner)"]
    assert slope["ci_low"] < 0.8 < slope["ci_high"]
    assert abs(slope["coef"] - 0.8) < 0.1


def test_rejects_unsorted_steps():
    with pytest.raises(ValueError, match="increasing"):
        onset_time([3, 2, 1], [0, 0, 1], 0.5)


def _planted(run: str, measure: str, centre: float, rise: float, stderr: float = 0.01):
    """A logistic in log10 steps centred at ``centre``: half its way exactly there."""
    steps = np.logspace(3, 6, 31)
    y = rise / (1 + np.exp(-8 * (np.log10(steps) - np.log10(centre))))
    return pd.DataFrame(
        {"run": run, "step": steps, "measure": measure, "value": y, "stderr": stderr}
    )


def test_halfway_onsets_read_rising_and_falling_curves_at_their_midpoint():
    tracks = pd.concat(
        [
            _planted("a", "up", 1e4, 1.0),
            _planted("a", "down", 1e5, -0.5),
            _planted("a", "flat", 1e4, 0.001),  # moves less than 2 standard errors
        ]
    )
    got = halfway_onsets(tracks, ["up", "down", "flat"]).set_index("measure")
    assert got.loc["up", "onset"] == pytest.approx(1e4, rel=0.15)
    assert got.loc["down", "onset"] == pytest.approx(1e5, rel=0.15)
    assert got.loc["down", "rise"] < 0 and got.loc["down", "moved"]
    assert not got.loc["flat", "moved"] and np.isnan(got.loc["flat", "onset"])
    assert got.loc["up", "onset_low"] <= got.loc["up", "onset"] <= got.loc["up", "onset_high"]


def test_onset_lags_count_earlier_runs_and_test_them():
    rows = []
    for i in range(8):  # the probe forms a decade before success in every run
        rows += [_planted(f"r{i}", "success", 1e5 * (1 + 0.1 * i), 1.0)]
        rows += [_planted(f"r{i}", "probe", 1e4 * (1 + 0.1 * i), 1.0)]
    lags = onset_lags(halfway_onsets(pd.concat(rows), ["success", "probe"]), "success")
    row = lags.set_index("measure").loc["probe"]
    assert row["runs"] == 8 and row["before"] == 8 and row["after"] == 0
    assert row["mean_log10_lag"] == pytest.approx(-1.0, abs=0.05)
    assert row["low"] <= row["mean_log10_lag"] <= row["high"]
    assert row["sign_p"] == pytest.approx(2 * 0.5**8)
    with pytest.raises(ValueError, match="reference"):
        onset_lags(halfway_onsets(pd.concat(rows), ["probe"]), "success")
