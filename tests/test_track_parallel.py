"""track(workers=N) and `devrl track --workers N` give the serial frame exactly."""

import shutil

import pandas as pd
import pytest

from devrl.cli import main
from devrl.track import track

MEASURES = ["success", "entropy"]


def _copy(run, dest):
    shutil.copytree(run.path, dest, ignore=shutil.ignore_patterns("tracks"))
    return dest


def test_parallel_track_equals_serial(tiny_run, tmp_path):
    serial = track(_copy(tiny_run, tmp_path / "a"), MEASURES, progress=False)
    parallel = track(_copy(tiny_run, tmp_path / "b"), MEASURES, progress=False, workers=2)
    assert len(serial) == len(tiny_run.steps) * len(MEASURES)
    pd.testing.assert_frame_equal(serial.drop(columns="run"), parallel.drop(columns="run"))


def test_cli_track_workers_writes_the_serial_table(tiny_run, tmp_path, capsys):
    serial = track(_copy(tiny_run, tmp_path / "a"), MEASURES, progress=False)
    run_b = _copy(tiny_run, tmp_path / "b")
    argv = ["track", str(run_b), "-m", "success", "-m", "entropy", "--workers", "2"]
    assert main([*argv, "--out", str(tmp_path / "t.csv")]) == 0
    written = pd.read_csv(tmp_path / "t.csv")
    expected = pd.read_csv(pd.io.common.StringIO(serial.to_csv(index=False)))
    pd.testing.assert_frame_equal(written.drop(columns="run"), expected.drop(columns="run"))


def test_unregistered_measures_are_refused_with_workers(tiny_run):
    with pytest.raises(ValueError, match="not registered measures"):
        track(tiny_run, [lambda policy, context: 1.0], progress=False, workers=2)


def test_renamed_measures_keep_their_name_and_params_with_workers(tiny_run, tmp_path):
    """A registered measure renamed with dataclasses.replace (as experiments do for variants,
    e.g. ``llc-action-uniform``) is rebuilt in the workers under its own name and params."""
    import dataclasses

    from devrl.measures import get_measure

    greedy = dataclasses.replace(get_measure("success", greedy=True), name="success-greedy")
    measures = [greedy, get_measure("success")]
    serial = track(_copy(tiny_run, tmp_path / "a"), measures, progress=False)
    parallel = track(_copy(tiny_run, tmp_path / "b"), measures, progress=False, workers=2)
    assert set(parallel["measure"]) == {"success", "success-greedy"}
    pd.testing.assert_frame_equal(serial.drop(columns="run"), parallel.drop(columns="run"))
