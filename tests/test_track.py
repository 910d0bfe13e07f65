"""Tracking measures over checkpoints: tidy frame, cache, resumption after interruption."""

import math

import numpy as np
import pytest

CHEAP_LLC = {"samples": 64, "chains": 2, "draws": 4, "burnin": 2, "batch_size": 16}

from devrl.measures import get_measure
from devrl.track import COLUMNS, cached, track


def _counting(name="probe", fail_at=None):
    calls = []

    def probe(policy, context):
        if fail_at is not None and len(calls) == fail_at:
            raise KeyboardInterrupt  # a killed job
        calls.append(context.step)
        return float(context.step), 0.5

    probe.__name__ = name
    return probe, calls


def test_tidy_frame_and_known_values(tiny_run):
    steps = tiny_run.steps
    frame = track(
        tiny_run, ["success", "entropy", get_measure("llc-kl", **CHEAP_LLC)], progress=False
    )
    assert list(frame.columns[:6]) == list(COLUMNS)
    for col in ("size", "corner", "reward", "max_steps"):
        assert col in frame.columns
    assert (frame["run"] == tiny_run.path.name).all() and (frame["seed"] == 3).all()
    main = frame[frame["measure"].isin(["success", "entropy", "llc-kl"])]
    assert len(main) == 3 * len(steps)
    assert set(main["step"]) == set(steps)
    # A freshly initialised policy head (gain 0.01) is near uniform: entropy = ln 4.
    h0 = frame.query("measure == 'entropy' and step == 0")["value"].item()
    assert h0 == pytest.approx(math.log(4), abs=1e-3)
    success = frame.query("measure == 'success'")["value"]
    assert success.between(0, 1).all()
    assert {"llc-kl/std", "llc-kl/rhat", "llc-kl/init_loss"} <= set(frame["measure"])
    assert (frame.query("measure == 'llc-kl/init_loss'")["value"].abs() < 1e-6).all()


def test_success_matches_evaluation_by_hand(tiny_run):
    from devrl.envs import MazeVecEnv
    from devrl.rollouts import collect, episode_scores

    step = tiny_run.steps[-1]
    got = track(tiny_run, [get_measure("success", episodes=20)], steps=[step], progress=False)
    env = MazeVecEnv(20, seed=12345, size=5, corner=1)
    roll = collect(tiny_run.policy(step), env, episodes=20, seed=12345)
    want = episode_scores(roll, gamma=tiny_run.config["gamma"])["reached_cheese"].mean()
    assert got["value"].item() == pytest.approx(want)


def test_cache_is_reused_and_keyed_by_params(tiny_run):
    probe, calls = _counting("cachecheck")
    track(tiny_run, [probe], progress=False)
    assert calls == tiny_run.steps
    again = track(tiny_run, [probe], progress=False)
    assert calls == tiny_run.steps  # nothing recomputed
    np.testing.assert_allclose(again["value"], tiny_run.steps)
    assert (again["stderr"] == 0.5).all()
    track(tiny_run, [probe], steps=tiny_run.steps[:1], recompute=True, progress=False)
    assert len(calls) == len(tiny_run.steps) + 1
    a = get_measure("success", episodes=8)
    b = get_measure("success", episodes=9)
    assert a.key(0) != b.key(0) and a.key(0) != a.key(1) and a.key(0) == a.key(0)


def test_interrupted_job_loses_nothing(tiny_run):
    steps = tiny_run.steps
    assert len(steps) >= 3
    probe, calls = _counting("interrupted", fail_at=2)
    with pytest.raises(KeyboardInterrupt):
        track(tiny_run, [probe], progress=False)
    assert calls == steps[:2]
    resumed, calls2 = _counting("interrupted")
    frame = track(tiny_run, [resumed], progress=False)
    assert calls2 == steps[2:]  # only what was missing
    np.testing.assert_allclose(frame["value"], steps)
    assert not list(tiny_run.tracks_dir.rglob("*.tmp"))
    assert "interrupted" in set(cached(tiny_run)["measure"])


def test_bad_inputs(tiny_run):
    with pytest.raises(ValueError, match="unknown measure"):
        track(tiny_run, ["llc-banana"], progress=False)
    with pytest.raises(ValueError, match="no checkpoint"):
        track(tiny_run, ["success"], steps=[123456789], progress=False)
    with pytest.raises(ValueError, match="distinct"):
        track(tiny_run, ["success", "success"], progress=False)
    with pytest.raises(ValueError, match="no parameter"):
        get_measure("success", draws=3)
    with pytest.raises(ValueError, match="at least one"):
        track(tiny_run, [], progress=False)
    with pytest.raises(TypeError):
        track(tiny_run, [42], progress=False)


def test_progress_lines_off_a_terminal(tiny_run, caplog, monkeypatch):
    """Off a terminal track reports how far it is (here every checkpoint: interval 0)."""
    import logging

    monkeypatch.setenv("DEVRL_PROGRESS", "lines")
    monkeypatch.setenv("DEVRL_PROGRESS_INTERVAL", "0")
    probe, _ = _counting()
    n = len(tiny_run.steps)
    with caplog.at_level(logging.INFO, logger="devrl.progress"):
        track(tiny_run, [probe], measure_seed=99)
    lines = [r.getMessage() for r in caplog.records if r.name == "devrl.progress"]
    assert len(lines) == n + 1  # one per checkpoint, then "done"
    assert lines[0].startswith(f"track {tiny_run.path.name}: 1/{n} ckpt (")
    assert lines[-1].startswith(f"track {tiny_run.path.name}: done, {n} ckpt in ")
