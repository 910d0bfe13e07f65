"""The detection nulls are calibrated on pure noise and have power on planted steps.

Calibration: on curves with no relation to the transitions, "beats the null at the 5% level"
must happen in about 5% of replicates (Clopper–Pearson 99% interval of the measured rate
contains 0.05); power: a step planted at each transition beats both nulls.
"""

import numpy as np
import pytest

from devrl.forms.changes import level_shifts
from devrl.stats import (
    SeedShifts,
    binomial_interval,
    f1_difference,
    permutation_null,
    score_shifts,
    shift_counts,
)

T = np.unique(np.geomspace(1, 1e4, 60).round(3))


def _ar1(rng, phi: float) -> np.ndarray:
    e = rng.standard_normal(T.size)
    y = np.empty_like(e)
    y[0] = e[0]
    for i in range(1, e.size):
        y[i] = phi * y[i - 1] + np.sqrt(1 - phi**2) * e[i]
    return y


def _replicate(rng, *, phi=0.0, step=0.0, fixed=False, seeds=8):
    out = []
    for _ in range(seeds):
        pick = (
            [20, 40] if fixed else np.sort(rng.choice(np.arange(3, T.size - 4), 2, replace=False))
        )
        tau = T[pick] * 1.01  # just after a checkpoint
        y = _ar1(rng, phi) + step * ((T >= tau[0]).astype(float) + (T >= tau[1]))
        out.append(SeedShifts(T, level_shifts(T, y, penalty=0.3), tau))
    return out


def _rejection_rates(reps: int, **kw) -> dict[str, tuple[int, int]]:
    counts = {"random": 0, "log": 0, "circular": 0}
    for r in range(reps):
        score = score_shifts(_replicate(np.random.default_rng(r), **kw), n_null=199, seed=r)
        for k in counts:
            counts[k] += score.p[k] < 0.05
    return {k: (v, reps) for k, v in counts.items()}


def _assert_calibrated(rates):
    for kind, (k, n) in rates.items():
        low, high = binomial_interval(k, n, level=0.99)
        assert low <= 0.05 <= high, f"{kind} null rejects {k}/{n} on pure noise"


def test_both_nulls_are_calibrated_on_white_noise_curves():
    _assert_calibrated(_rejection_rates(300))


@pytest.mark.slow
@pytest.mark.parametrize(("phi", "fixed"), [(0.0, True), (0.9, True), (0.9, False)])
def test_both_nulls_are_calibrated_on_autocorrelated_noise_and_fixed_transitions(phi, fixed):
    _assert_calibrated(_rejection_rates(300, phi=phi, fixed=fixed))


def test_a_step_at_every_transition_beats_both_nulls():
    rates = _rejection_rates(40, step=4.0)
    assert all(k / n >= 0.9 for k, n in rates.values())


def test_the_log_time_null_weights_gaps_by_their_width_in_log_time():
    """Checkpoints 1, 2, 4, ..., 1024, then linear up to 2048: the one transition is early, so
    random gaps (most of them late and narrow in log-time) rarely reach it; log-uniform
    shifts do, in proportion to the log-time its window covers."""
    t = np.r_[2.0 ** np.arange(11), np.linspace(1024, 2048, 41)[1:]]
    mids = np.sqrt(t[:-1] * t[1:])
    seed = SeedShifts(t, shifts=mids[[45]], transitions=np.array([mids[2]]))
    s = score_shifts([seed], tol=0.2, n_null=4000)
    # one gap of 50 is within tol of the transition; its log-width is ln 2 of ln 2048
    assert s.null_recall["random"] == pytest.approx(1 / 50, abs=0.01)
    assert s.null_recall["log"] == pytest.approx(np.log(2) / np.log(2048), abs=0.02)


def test_score_counts_recall_and_precision_by_hand():
    t = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    mids = np.sqrt(t[:-1] * t[1:])
    seed = SeedShifts(t, shifts=mids[[1, 3]], transitions=np.array([mids[1] * 1.05, 30.0]))
    s = score_shifts([seed, seed], tol=0.2, n_null=99)
    assert s.recall.estimate == 0.5 and s.precision.estimate == 0.5
    assert s.transitions == 4 and s.shifts == 4 and s.f1 == pytest.approx(0.5)
    # two shifts among five gaps, one gap near a transition: a random pair hits it 2/5 of
    # the time, so null recall 0.2 and null precision 0.2 on average
    assert s.null_recall["random"] == pytest.approx(0.2, abs=0.05)
    assert s.null_precision["random"] == pytest.approx(0.2, abs=0.05)


def test_shifts_before_start_are_ignored_and_bad_shifts_rejected():
    t = np.array([1.0, 2.0, 4.0, 8.0])
    mids = np.sqrt(t[:-1] * t[1:])
    s = score_shifts([SeedShifts(t, mids, np.array([mids[2]]), start=mids[1])], n_null=9)
    assert s.shifts == 2 and s.recall.estimate == 1.0
    with pytest.raises(ValueError, match="geometric means"):
        score_shifts([SeedShifts(t, np.array([3.0]), np.array([3.0]))])
    with pytest.raises(ValueError, match="empty"):
        score_shifts([])


def test_permutation_null_is_too_easy_for_plateau_curves_the_circular_null_is_not():
    """Plateau curves that step at times unrelated to the transitions: the permuted curve
    is white noise with no shifts, so the permutation null is beaten far more often than 5%;
    the circular shift keeps the plateaus and is beaten about 5% of the time."""
    t = T[::2]
    perm = circ = 0
    reps = 40
    for r in range(reps):
        rng = np.random.default_rng(r)
        curves, taus = [], []
        for _ in range(4):
            y = np.zeros(t.size)
            for cut in rng.choice(np.arange(3, t.size - 3), 4, replace=False):
                y[cut:] += rng.choice([-2.0, 2.0])
            curves.append((t, y + 0.3 * rng.standard_normal(t.size)))
            taus.append(t[np.sort(rng.choice(np.arange(3, t.size - 4), 3, replace=False))] * 1.01)
        _, _, p = permutation_null(curves, taus, level_shifts, tol=0.3, n_null=39, seed=r)
        perm += p < 0.05
        seeds = [SeedShifts(tc, level_shifts(tc, y), tau) for (tc, y), tau in zip(curves, taus)]
        circ += score_shifts(seeds, tol=0.3, n_null=199, seed=r).p["circular"] < 0.05
    assert perm / reps > 0.2
    assert circ / reps < 0.15


def test_shift_counts_and_f1_difference_known_answers():
    """A detector that finds every planted transition against one that fires at random:
    the counts are exact, the paired difference is positive and excludes zero; a detector
    against itself differs by exactly zero with p = 1."""
    rng = np.random.default_rng(3)
    mids = np.sqrt(T[:-1] * T[1:])
    good, bad = [], []
    for _ in range(8):
        pick = np.sort(rng.choice(np.arange(5, T.size - 5), 2, replace=False))
        tau = T[pick] * 1.01
        hit = mids[pick]  # the gap just after each transition: matched within tol
        wrong = mids[[1, T.size - 3]]  # the first and last gaps: far from both
        good.append(SeedShifts(T, hit, tau))
        bad.append(SeedShifts(T, wrong, tau))
    counts = shift_counts(good, tol=0.2)
    assert counts.tolist() == [[2, 2, 2, 2]] * 8
    assert shift_counts(bad, tol=0.2)[:, [0, 2]].sum() == 0
    diff, p = f1_difference(good, bad, tol=0.2, n_resamples=999)
    assert (diff.estimate, diff.low, diff.high, diff.n) == (1.0, 1.0, 1.0, 8)
    assert p == pytest.approx(2 / 2**8, abs=0.006)  # only "swap none" and "swap all" reach 1
    same, p_same = f1_difference(good, good, tol=0.2, n_resamples=999)
    assert (same.estimate, same.low, same.high, p_same) == (0.0, 0.0, 0.0, 1.0)
    mixed = good[:4] + bad[4:]  # half the seeds detected: F1 0.5, difference 0.5
    half, _ = f1_difference(good, mixed, tol=0.2, n_resamples=999)
    assert half.estimate == pytest.approx(0.5) and 0 < half.low < 0.5 < half.high <= 1
    with pytest.raises(ValueError, match="same seeds"):
        f1_difference(good, bad[:3])
