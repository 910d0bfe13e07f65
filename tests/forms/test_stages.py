"""Stage detection recovers planted stage boundaries within 5% of log-time."""

import numpy as np
import pytest

from devrl.forms import detect_stages, stage_boundaries
from devrl.forms.stages import _boundary
from devrl.forms.synthetic import TRUTH, checkpoints, true_curve

T = checkpoints(64)
SPAN = np.log(T[-1] / T[0])
STAIR = TRUTH["double_logistic"]  # 0 -> 0.6 -> 1.0: two rising stages, plateau between
RISE_FALL = dict(STAIR, b=1.0, c=0.3)  # 0 -> 1 -> 0.3: a peak between


def planted_boundary(p):
    """Critical point of the noiseless curve between its two transitions (same rule)."""
    g = np.linspace(np.log(T[0]), np.log(T[-1]), 20001)
    d = np.gradient(true_curve("double_logistic", np.exp(g), p), g)
    i1, i2 = np.searchsorted(g, [p["log_t1"], p["log_t2"]])
    return g[i1 + _boundary(d[i1 : i2 + 1])]


def test_planted_rise_fall_boundary_is_the_peak():
    # For a rise then a fall the critical point is the maximum of the curve.
    g = np.linspace(np.log(T[0]), np.log(T[-1]), 20001)
    y = true_curve("double_logistic", np.exp(g), RISE_FALL)
    assert planted_boundary(RISE_FALL) == pytest.approx(g[np.argmax(y)], abs=1e-3)


@pytest.mark.parametrize(
    "p, types", [(STAIR, ["rising", "rising"]), (RISE_FALL, ["rising", "falling"])]
)
def test_recovers_planted_boundary_within_5pct_of_log_time(p, types):
    rng = np.random.default_rng(0)
    mu = true_curve("double_logistic", T, p)
    truth = planted_boundary(p)
    hits = 0
    for _ in range(10):
        y = mu + rng.normal(0, np.ptp(mu) / 20, T.size)  # SNR 20
        stages = detect_stages(T, y)
        b = np.log(stage_boundaries(stages))
        hits += len(b) == 1 and abs(b[0] - truth) <= 0.05 * SPAN
    assert hits >= 9
    assert list(stages["type"]) == types
    assert stages["delta"].iloc[0] == pytest.approx(p["b"] - p["a"], abs=0.15)


@pytest.mark.slow
@pytest.mark.parametrize("p", [STAIR, RISE_FALL], ids=["stair", "rise_fall"])
def test_stage_recovery_rate_monte_carlo(p):
    rng = np.random.default_rng(1)
    mu = true_curve("double_logistic", T, p)
    truth = planted_boundary(p)
    errs = []
    for _ in range(200):
        y = mu + rng.normal(0, np.ptp(mu) / 20, T.size)
        b = np.log(stage_boundaries(detect_stages(T, y)))
        errs.append(abs(b[0] - truth) / SPAN if len(b) == 1 else np.inf)
    assert np.mean(np.array(errs) <= 0.05) >= 0.95


def test_single_transition_gives_two_stages_at_midpoint_free_curve():
    y = true_curve("logistic_log", T)
    stages = detect_stages(T, y)
    assert len(stages) == 1 and stages["type"].iloc[0] == "rising"
    assert stages["delta"].iloc[0] == pytest.approx(1.0, abs=0.05)


def test_changepoint_method_recovers_planted_breakpoints():
    rng = np.random.default_rng(2)
    mu = true_curve("piecewise2", T)
    y = mu + rng.normal(0, np.ptp(mu) / 50, T.size)
    stages = detect_stages(T, y, method="changepoint")
    b = np.log(stage_boundaries(stages))
    planted = [TRUTH["piecewise2"]["log_t1"], TRUTH["piecewise2"]["log_t2"]]
    assert len(b) == 2
    assert np.all(np.abs(b - planted) <= 0.05 * SPAN)


def test_stage_errors():
    with pytest.raises(ValueError, match="t > 0"):
        detect_stages(np.arange(0.0, 20.0), np.arange(20.0) ** 2)
    with pytest.raises(ValueError, match="method"):
        detect_stages(T, np.log(T), method="magic")
    with pytest.raises(ValueError, match="at least 8"):
        detect_stages(T[:5], np.log(T[:5]))
