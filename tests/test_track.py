"""Tracking measures over checkpoints: tidy frame, cache, resumption after interruption."""

import json
import math
import re

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


def _fresh_cache(tiny_run, name):
    probe, calls = _counting(name)
    frame = track(tiny_run, [probe], progress=False)
    folder = next(p for p in tiny_run.tracks_dir.iterdir() if p.name.startswith(f"{name}-"))
    return probe, calls, frame, folder


@pytest.mark.parametrize(
    "kind, damage, reason",
    [
        ("truncated", lambda text: text[: len(text) // 2], "unusable"),  # a crash mid-copy
        ("binary", lambda text: "\x00\xff garbage", "unusable"),
        ("list", lambda text: "[1, 2, 3]", "not a JSON object"),
        ("edited", lambda text: re.sub(r'"value": \d+\.0', '"value": 7.0', text), "mismatch"),
        ("old", lambda text: text.replace('"sha256"', '"old_sha"'), "no checksum"),
    ],
)
def test_damaged_or_edited_cache_file_is_recomputed_with_a_warning(tiny_run, kind, damage, reason):
    from devrl._track_cache import CacheFileWarning

    name = f"damaged_{kind}"
    probe, calls, before, folder = _fresh_cache(tiny_run, name)
    step = tiny_run.steps[1]
    victim = folder / f"step_{step:08d}.json"
    victim.write_text(damage(victim.read_text()))
    if kind == "edited":  # the edited file parses and holds a plausible, wrong value
        assert json.loads(victim.read_text())["rows"][0]["value"] == 7.0 != step
    with pytest.warns(CacheFileWarning, match=rf"{re.escape(str(victim))}.*{reason}.*recomputing"):
        listed = cached(tiny_run)  # listing names the file and leaves it out
    assert step not in set(listed.loc[listed["measure"] == name, "step"])
    with pytest.warns(CacheFileWarning, match=re.escape(str(victim))):
        after = track(tiny_run, [probe], progress=False)
    assert calls == [*tiny_run.steps, step]  # only the damaged step recomputed
    np.testing.assert_array_equal(after["value"], before["value"])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repaired: read silently now
        assert track(tiny_run, [probe], progress=False)["value"].tolist() == tiny_run.steps


def test_cache_file_under_the_wrong_name_is_not_trusted(tiny_run):
    from devrl._track_cache import CacheFileWarning

    probe, calls, _, folder = _fresh_cache(tiny_run, "renamed")
    a, b = (folder / f"step_{s:08d}.json" for s in tiny_run.steps[:2])
    b.write_bytes(a.read_bytes())  # a copy of step 0's result posing as step 2's
    with pytest.warns(CacheFileWarning, match="holds step 0"):
        frame = track(tiny_run, [probe], progress=False)
    assert frame["value"].tolist() == tiny_run.steps
    assert calls == [*tiny_run.steps, tiny_run.steps[1]]


def test_cache_dir_keeps_the_run_untouched(tiny_run, tmp_path):
    probe, calls = _counting("elsewhere")
    frame = track(tiny_run, [probe], cache_dir=tmp_path / "cache", progress=False)
    assert frame["value"].tolist() == tiny_run.steps
    assert not any(p.name.startswith("elsewhere-") for p in tiny_run.tracks_dir.iterdir())
    assert len(list((tmp_path / "cache").glob("elsewhere-*/step_*.json"))) == len(calls)
    track(tiny_run, [probe], cache_dir=tmp_path / "cache", progress=False)
    assert calls == tiny_run.steps  # reused from the cache folder
    listed = cached(tiny_run, cache_dir=tmp_path / "cache")
    assert listed["value"].tolist() == tiny_run.steps
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="cache_dir"):
        track(tiny_run, [probe], cache_dir=tmp_path / "file", progress=False)


def test_unwritable_run_is_cached_outside_it(tiny_run, tmp_path, monkeypatch):
    import devrl._track_cache as cache

    real = cache.can_write
    monkeypatch.setenv("DEVRL_CACHE_DIR", str(tmp_path / "user"))
    inside, _ = _counting("readonly")
    track(tiny_run, [inside], steps=tiny_run.steps[:1], progress=False)  # cached in the run
    monkeypatch.setattr(cache, "can_write", lambda d: d != tiny_run.tracks_dir and real(d))
    probe, calls = _counting("readonly")
    with pytest.warns(UserWarning, match="cannot be written.*user/tracks"):
        frame = track(tiny_run, [probe], progress=False)
    assert frame["value"].tolist() == tiny_run.steps
    assert calls == tiny_run.steps[1:]  # what the run already held is read, not recomputed
    written = list((tmp_path / "user" / "tracks").glob("*/readonly-*/step_*.json"))
    assert len(written) == len(calls)
    listed = cached(tiny_run).query("measure == 'readonly'")
    assert listed["step"].tolist() == tiny_run.steps  # the run's step and the user cache's


def test_nan_weights_warn_naming_the_checkpoint(run_dir):
    import torch

    from devrl.evaluation import NonFiniteWeightsWarning
    from devrl.runs import Run

    run = Run.load(run_dir)
    net = run.policy(100)
    with torch.no_grad():
        next(net.parameters()).view(-1)[0] = float("nan")
    run.save_checkpoint(200, net)
    probe, calls = _counting("nanprobe")
    with pytest.warns(NonFiniteWeightsWarning, match=rf"{run.checkpoint_path(200)}.*NaN"):
        track(run, [probe], steps=[200], progress=False)
    assert calls == [200]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        track(run, [probe], steps=[0, 100], progress=False)  # finite weights: silent
    with pytest.warns(NonFiniteWeightsWarning, match=r"step_00000200.*had 1"):
        track(run, [probe], steps=[200], progress=False)  # read from the cache: still warned
    assert calls == [200, 0, 100]


def test_rejected_parameters_leave_no_cache_folder(tiny_run):
    before = sorted(p.name for p in tiny_run.tracks_dir.iterdir())
    with pytest.raises(ValueError, match="episodes"):
        track(tiny_run, [get_measure("success", episodes=0)], progress=False)
    assert sorted(p.name for p in tiny_run.tracks_dir.iterdir()) == before


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


def test_a_diverged_llc_chain_is_recorded_not_fatal(tiny_run):
    """An SGLD step size far too large makes the chains run away: the tracked run goes on,
    the estimate is NaN and unhealthy with a `diverged` row, and a warning names it."""
    wild = get_measure("llc-kl", **CHEAP_LLC, lr=1e6, localization=0.0)
    with pytest.warns(RuntimeWarning, match="diverged"):
        frame = track(tiny_run, ["entropy", wild], steps=tiny_run.steps[-1:], progress=False)
    value = frame.set_index("measure")["value"]
    assert math.isnan(value["llc-kl"])
    assert value["llc-kl/healthy"] == 0.0 and value["llc-kl/diverged"] == 1.0
    assert np.isfinite(value["entropy"])  # the other measures of the checkpoint are kept
