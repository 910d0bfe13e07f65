"""Scoring detectors of a goal switch on planted shifts and on pure noise."""

import numpy as np
import pandas as pd
import pytest

from devrl.forms.switches import (
    SwitchCurve,
    behaviour_switch,
    crossing_time,
    restart_response,
    score_switch_detector,
    stitch,
    switch_seed_shifts,
    switch_shifts,
)
from devrl.stats import f1_difference, shift_counts

STEPS = 1000.0 * np.arange(101)  # checkpoints every 1,000 env steps up to 100k
SWITCH, BEHAVIOUR, WINDOW, TOL = 50_000.0, 60_000.0, 30_000.0, 5_000.0


def _curve(y, behaviour=BEHAVIOUR, learning=np.nan) -> SwitchCurve:
    return SwitchCurve(STEPS, np.asarray(y, float), SWITCH, behaviour, WINDOW, learning)


def test_stitch_puts_the_continuation_after_the_switch():
    before = pd.DataFrame({"step": [0, 10, 20], "measure": "m", "value": [1.0, 2.0, 3.0]})
    after = pd.DataFrame({"step": [0, 5, 10], "measure": "m", "value": [3.0, 4.0, 5.0]})
    out = stitch(before, after, 20)
    assert out["step"].tolist() == [0, 10, 20, 25, 30]
    assert out["phase"].tolist() == ["before"] * 3 + ["after"] * 2
    with pytest.raises(ValueError, match="switch"):
        stitch(before, after, 15)


def test_crossing_time_interpolates_the_midpoint():
    t = np.arange(7.0)
    y = np.array([0.0, 0.0, 0.2, 0.8, 1.0, 1.0, 1.0])
    # from 0 (at t=1) to the last three's mean 1: midpoint 0.5, between t=2 and t=3
    assert crossing_time(t, y, start=1.0) == pytest.approx(2.5)
    assert np.isnan(crossing_time(t, np.zeros(7), start=1.0))


def test_behaviour_switch_interval_covers_and_no_change_is_nan():
    y = np.where(STEPS > BEHAVIOUR, 0.9, 0.2)
    est, lo, hi = behaviour_switch(STEPS, y, np.full(y.size, 0.02), start=SWITCH)
    assert lo <= est <= hi and BEHAVIOUR <= est <= BEHAVIOUR + 1000
    assert hi - lo <= 2000  # a sharp step with small errors is timed to a checkpoint gap
    flat = behaviour_switch(
        STEPS, np.full(STEPS.size, 0.5), np.full(STEPS.size, 0.02), start=SWITCH
    )
    assert all(np.isnan(flat))


def test_planted_shift_at_the_behavioural_switch_is_found():
    rng = np.random.default_rng(0)
    curves = [_curve(0.1 * rng.standard_normal(STEPS.size) + (STEPS > BEHAVIOUR)) for _ in range(6)]
    row = score_switch_detector(curves, tol=TOL, n_null=199, n_permutations=19)
    assert row["recall"] == 1.0 and row["precision"] == 1.0
    assert row["p (random)"] < 0.05 and row["p (circular)"] < 0.05
    assert row["lag"] == pytest.approx(500.0)  # the shift lies mid-gap after the planted step
    assert row["restart alarms"] == 0.0  # 10k steps from the goal change: beyond tol
    assert row["seeds"] == 6


def test_seed_shifts_give_the_scored_counts_and_compare_two_detectors():
    """switch_seed_shifts is what score_switch_detector scores: its counts give the same
    recall and precision; a planted step beats flat noise by F1 1 on the same seeds."""
    rng = np.random.default_rng(1)
    noise = [0.1 * rng.standard_normal(STEPS.size) for _ in range(6)]
    step = [_curve(e + (STEPS > BEHAVIOUR)) for e in noise]
    flat = [_curve(e) for e in noise]
    flat.append(_curve(noise[0], behaviour=np.nan))  # a seed without a switch is left out
    row = score_switch_detector(step, tol=TOL, n_null=99, n_permutations=0)
    counts = shift_counts(switch_seed_shifts(step, tol=TOL), tol=1.0)
    assert counts[:, 0].sum() / counts[:, 1].sum() == row["recall"] == 1.0
    assert counts[:, 2].sum() / counts[:, 3].sum() == row["precision"]
    assert len(switch_seed_shifts(flat, tol=TOL)) == 6
    diff, p = f1_difference(
        switch_seed_shifts(step, tol=TOL),
        switch_seed_shifts(flat[:6], tol=TOL),
        tol=1.0,
        n_resamples=999,
    )
    assert diff.estimate == pytest.approx(1.0) and diff.low > 0.5 and p < 0.05


def test_false_alarms_and_learning_alarms_are_counted_before_the_window():
    learning = 15_000.0
    curves = []
    for seed in (2, 0):  # noise draws whose pre-window shifts are {15.5k} and {7.5k, 15.5k}
        noise = 0.05 * np.random.default_rng(seed).standard_normal(STEPS.size)
        curves.append(_curve(noise + (STEPS > learning) + (STEPS > BEHAVIOUR), learning=learning))
    row = score_switch_detector(curves, tol=TOL, n_null=99, n_permutations=9)
    assert row["learning alarms"] == 1.0  # it fires at the learning transition too
    assert row["false alarms"] == 0.5  # one shift at 7.5k, far from everything, in two seeds
    assert row["recall"] == 1.0


def test_control_without_a_behavioural_switch_scores_only_alarms():
    rng = np.random.default_rng(2)
    y = 0.05 * rng.standard_normal(STEPS.size) + (STEPS > SWITCH)  # fires at the restart
    row = score_switch_detector([_curve(y, behaviour=np.nan)] * 2, tol=TOL, n_null=99)
    assert np.isnan(row["recall"]) and row["restart alarms"] == 1.0


def test_switch_shifts_are_at_gap_midpoints():
    y = np.where(STEPS > 40_000, 1.0, 0.0) + 0.01 * np.random.default_rng(3).standard_normal(101)
    assert switch_shifts(STEPS, y, tol=TOL) == pytest.approx([40_500.0])


@pytest.mark.slow
def test_pure_noise_beats_its_null_about_five_percent_of_the_time():
    """A detector that ignores the switch: p < 0.05 against the random-gap null in ~5% of
    replications (penalty 0.5 so that noise gives shifts to score)."""
    rng = np.random.default_rng(4)
    hits, reps = 0, 300
    for _ in range(reps):
        curves = [
            _curve(rng.standard_normal(STEPS.size), behaviour=rng.uniform(WINDOW + TOL, 95_000))
            for _ in range(4)
        ]
        row = score_switch_detector(curves, tol=TOL, penalty=0.5, n_null=199, n_permutations=0)
        hits += row["p (random)"] < 0.05
    assert 0.01 <= hits / reps <= 0.10


def test_bad_input():
    with pytest.raises(ValueError, match="empty"):
        score_switch_detector([], tol=TOL)
    with pytest.raises(ValueError, match="tol"):
        score_switch_detector([_curve(np.zeros(101))], tol=0.0)


def test_restart_response_is_the_largest_move_inside_the_window():
    steps = np.array([0, 10, 20, 30, 40, 50, 60])
    y = np.array([5.0, 6.0, np.nan, 2.0, 7.0, 6.5, -20.0])  # origin: 6 at step 10 (20 is NaN)
    assert restart_response(steps, y, at=20, window=30) == 4.0  # |2 - 6|; step 60 is outside
    assert restart_response(steps, y, at=20, window=40) == 26.0
    assert np.isnan(restart_response(steps, y, at=60, window=10))  # nothing after
    with pytest.raises(ValueError, match="window"):
        restart_response(steps, y, at=20, window=0)
