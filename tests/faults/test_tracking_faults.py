"""Tracking survives a kill -9 or a full disk at every write boundary with nothing lost.

Two measures (an exact weight sum and the success rate over 4 episodes) are tracked over
the four checkpoints of a tiny run: 10 cache writes, 30 boundaries. A forked tracker is
killed at each boundary (or the write fails with ENOSPC), then tracking is run again: the
tidy frame must equal an uninterrupted job's, with the same cache files and no
temporary file left.
"""

import errno
import signal

import pandas as pd
import pytest
from harness import TINY, FailAt, KillAt, copy_run, in_child, record_writes, temp_files, write_hook

from devrl.agents import PPOConfig, train
from devrl.measures import get_measure
from devrl.track import track


def weight_sum(policy, context):
    """Exact and cheap: the sum of every parameter, in float64."""
    return float(sum(p.detach().double().sum() for p in policy.parameters()))


MEASURES = [weight_sum, get_measure("success", episodes=4)]
FAST = {9, 10, 11}  # the first step file's boundaries; `-m slow` runs the other 27


def _track(run):
    return track(run, MEASURES, progress=False)


def _cache_files(run):
    return sorted(str(p.relative_to(run.tracks_dir)) for p in run.tracks_dir.rglob("*.json"))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return train(PPOConfig(**TINY), tmp_path_factory.mktemp("faults") / "finished")


@pytest.fixture(scope="module")
def reference(finished, tmp_path_factory):
    run = copy_run(finished, tmp_path_factory.mktemp("tracked") / "run")
    return _track(run), _cache_files(run)


@pytest.fixture(scope="module")
def boundaries(finished, tmp_path_factory):
    root = tmp_path_factory.mktemp("boundaries")
    run = copy_run(finished, root / "run")
    return record_writes(run.tracks_dir, lambda: _track(run))


def test_the_boundaries_are_every_cache_write(boundaries, finished):
    opened = [path for event, path in boundaries if event == "open"]
    assert len(opened) == 2 + 2 * len(finished.steps) == 10
    assert sum(p.endswith("params.json") for p in opened) == 2
    assert [event for event, _ in boundaries] == ["open", "written", "replaced"] * 10


def _cases(ks):
    return [pytest.param(k, marks=() if k in FAST else pytest.mark.slow) for k in ks]


@pytest.mark.parametrize("k", _cases(range(30)))
def test_kill_at_each_cache_write_boundary_then_retrack_loses_nothing(
    finished, reference, tmp_path, k
):
    run = copy_run(finished, tmp_path / "run")
    assert in_child(lambda: _track(run), KillAt(k)) == -signal.SIGKILL
    frame, files = reference
    pd.testing.assert_frame_equal(_track(run), frame)
    assert _cache_files(run) == files
    assert not temp_files(run.path)


@pytest.mark.parametrize("k", _cases(k for k in range(30) if k % 3 < 2))
def test_full_disk_at_each_cache_write_then_retrack_loses_nothing(finished, reference, tmp_path, k):
    run = copy_run(finished, tmp_path / "run")
    with write_hook(FailAt(k, errno.ENOSPC)), pytest.raises(OSError, match="No space left"):
        _track(run)
    frame, files = reference
    pd.testing.assert_frame_equal(_track(run), frame)
    assert _cache_files(run) == files
    assert not temp_files(run.path)


def test_tracking_a_fully_cached_run_writes_nothing(finished, reference, tmp_path):
    run = copy_run(finished, tmp_path / "run")
    _track(run)
    assert record_writes(run.path, lambda: _track(run)) == []
