"""Level shifts and transition matching against planted answers."""

import numpy as np
import pytest

from devrl.forms import detect_stages, level_shifts, match_transitions, robust_noise, step_across

T = np.arange(1, 101, dtype=float)


def _steps(seed: int, sd: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.r_[np.zeros(30), np.full(40, 2.0), np.full(30, -1.0)] + sd * rng.standard_normal(100)


def test_finds_planted_shifts_at_the_right_points():
    exact = 0
    for seed in range(40):
        s = level_shifts(T, _steps(seed))
        exact += len(s) == 2 and abs(s[0] - 30.5) <= 1 and abs(s[1] - 70.5) <= 1
    assert exact >= 36  # 94% measured over 100 seeds


def test_pure_noise_rarely_gives_a_shift():
    n_any = sum(
        len(level_shifts(T, np.random.default_rng(s).standard_normal(100))) > 0 for s in range(100)
    )
    assert n_any <= 8  # 2% measured over 200 seeds; BIC's penalty 2 gives 12%


def test_noise_free_steps_are_exact_and_shift_times_are_geometric_midpoints():
    y = np.r_[np.full(10, 5.0), np.full(10, 1.0)]
    t = np.geomspace(1, 1e4, 20)
    s = level_shifts(t, y + 1e-3 * np.sin(np.arange(20)))
    assert s == pytest.approx([np.sqrt(t[9] * t[10])])


def test_min_shift_merges_small_steps_only():
    y = np.r_[np.zeros(30), np.full(30, 0.3), np.full(40, 3.0)]
    y = y + 0.02 * np.random.default_rng(0).standard_normal(100)
    assert len(level_shifts(T, y)) == 2
    merged = level_shifts(T, y, min_shift=1.0)
    assert merged == pytest.approx([np.sqrt(60 * 61)])


def test_known_per_point_noise_hides_a_step_in_a_noisy_stretch():
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(50), np.full(50, 1.0)] + 0.05 * rng.standard_normal(100)
    assert len(level_shifts(T, y, noise=0.05)) == 1
    assert len(level_shifts(T, y, noise=2.0)) == 0  # the step is 0.5σ: not worth a shift


def test_robust_noise_ignores_jumps_and_trends():
    rng = np.random.default_rng(2)
    y = (
        np.r_[np.zeros(500), np.full(500, 10.0)]
        + np.linspace(0, 3, 1000)
        + rng.standard_normal(1000)
    )
    assert robust_noise(y) == pytest.approx(1.0, rel=0.1)


def test_match_transitions_counts_hits_false_alarms_and_lags():
    out = match_transitions([10.0, 100.0, 1000.0], [11.0, 500.0], tol=0.2)
    assert out["transitions"] == 2 and out["detected"] == 1
    assert out["shifts"] == 3 and out["false_alarms"] == 2
    assert out["lags"] == pytest.approx([-1.0])
    lin = match_transitions([10.0, 100.0], [12.0], tol=1.5, log=False)
    assert lin["detected"] == 0 and lin["false_alarms"] == 2
    none = match_transitions([], [5.0], tol=0.2)
    assert none["detected"] == 0 and none["false_alarms"] == 0


def test_levels_method_of_detect_stages_reports_levels():
    stages = detect_stages(T, _steps(3, sd=0.1), method="levels", min_change=0.1)
    assert len(stages) == 3
    assert stages["y_start"].to_numpy() == pytest.approx([0.0, 2.0, -1.0], abs=0.06)
    assert list(stages["type"][:2]) == ["rising", "falling"]


@pytest.mark.parametrize(
    "kw", [{"penalty": -1}, {"min_shift": -0.1}, {"min_size": 0}, {"noise": np.nan}]
)
def test_bad_arguments_raise(kw):
    with pytest.raises(ValueError):
        level_shifts(T, _steps(0), **kw)


def test_bad_curves_and_tolerances_raise():
    with pytest.raises(ValueError, match="same length"):
        level_shifts(T, np.zeros(5))
    with pytest.raises(ValueError, match="tol"):
        match_transitions([1.0], [1.0], tol=-1)
    with pytest.raises(ValueError, match="> 0"):
        match_transitions([0.0], [1.0], tol=0.1)


def test_step_across_measures_a_planted_step_and_ignores_one_outlier():
    t = np.geomspace(1, 1000, 61)
    y = np.where(t < 30, 1.0, 4.0)
    y[t.searchsorted(40)] = 100.0  # one spike after the step
    assert step_across(t, y, 30.0, window=1.0) == pytest.approx(3.0)
    assert step_across(t, y, 3.0, window=0.5) == pytest.approx(0.0)
    assert np.isnan(step_across(t, y, 1000.0, window=0.5))  # nothing after the last point
    with pytest.raises(ValueError, match="log-time"):
        step_across(t, y, -1.0)


def test_steepest_change_finds_a_planted_logistic_rise():
    from devrl.forms import steepest_change

    # uneven checkpoints (log union linear), a logistic rise centred at t = 10^4 in log-time
    t = np.unique(np.concatenate([np.geomspace(1, 1e6, 40), np.linspace(0, 1e6, 40)]))
    y = 1 / (1 + np.exp(-(np.log10(np.maximum(t, 1)) - 4) / 0.3))
    at, slope = steepest_change(t, y, sign=1)
    assert abs(np.log10(at) - 4) <= 6 / 24  # within one grid interval of the true centre
    assert slope > 0
    # a falling curve: sign=+1 finds no rise, sign=-1 and sign=0 find the fall
    at_fall, slope_fall = steepest_change(t, 1 - y, sign=-1)
    assert abs(np.log10(at_fall) - 4) <= 6 / 24 and slope_fall == pytest.approx(-slope)
    assert steepest_change(t, 1 - y)[0] == at_fall
    assert steepest_change(t, 1 - y, sign=1)[1] < slope / 100  # no rise to find
    # in linear time the rise (all before t = 10^5) is in the first grid interval, which the
    # 3-point smoothing spreads over the first two
    at_lin, _ = steepest_change(t, y, sign=1, log=False)
    assert at_lin < 2 * 1e6 / 24


def test_steepest_change_rejects_bad_input():
    from devrl.forms import steepest_change

    with pytest.raises(ValueError, match="sign"):
        steepest_change([1, 2, 3], [1, 2, 3], sign=2)
    with pytest.raises(ValueError, match="at least two times > 0"):
        steepest_change([0, 1], [0, 1])


def test_change_lags_recovers_a_planted_lag():
    import pandas as pd

    from devrl.forms import change_lags

    t = np.unique(np.concatenate([np.geomspace(1, 1e6, 40), np.linspace(0, 1e6, 40)]))
    log_t = np.log10(np.maximum(t, 1))
    rows = []
    for seed, (rise, change) in enumerate([(3.0, 4.0), (4.0, 3.5)]):
        success = 1 / (1 + np.exp(-(log_t - rise) / 0.2))
        llc = 5 - 3 / (1 + np.exp(-(log_t - change) / 0.2))  # falls: either sign is timed
        for measure, y in (("success", success), ("llc-x", llc)):
            rows += [
                {"seed": seed, "step": s, "measure": measure, "value": v} for s, v in zip(t, y)
            ]
    lags = change_lags(pd.DataFrame(rows), "success", {"x": "llc-x"}).set_index("seed")
    assert lags.loc[0, "x_lag"] == pytest.approx(1.0, abs=0.3)  # one decade after
    assert lags.loc[1, "x_lag"] == pytest.approx(-0.5, abs=0.3)  # half a decade before
    assert lags.loc[0, "x_rho"] < -0.9  # the LLC falls while success rises
    assert set(lags.columns) >= {"success_at", "x_at_linear", "x_lag_steps"}
