"""Training survives a kill -9 or a full disk at every write boundary with nothing lost.

For each of the 30 boundaries of a tiny run's 10 writes (config, checkpoints, metrics
flushes, dropping an old checkpoint's training state), a forked trainer is killed there
(or that write fails with ENOSPC), then the run is resumed; config, every checkpoint's
full payload (weights, optimizer, RNG and env state) and the metrics rows must equal an
uninterrupted run's, and no temporary file may be left.
"""

import errno
import shutil
import signal

import pytest
from harness import (
    TINY,
    FailAt,
    KillAt,
    assert_same_run,
    in_child,
    record_writes,
    temp_files,
    write_hook,
)

from devrl.agents import PPOConfig, train

CONFIG = PPOConfig(**TINY)
# a kill between a metrics flush and its checkpoint leaves a "checkpoint is missing" warning
pytestmark = pytest.mark.filterwarnings("ignore:resuming .* from step:UserWarning")

# the writes of the uninterrupted run, in order (each passes open, written, replaced)
WRITES = [
    "config.json",
    "checkpoints/step_00000000.pt",  # update 0, with training state
    "metrics.csv",  # rows 1 (flushed before the checkpoint of update 1)
    "checkpoints/step_00000032.pt",
    "metrics.csv",  # rows 1-4
    "checkpoints/step_00000128.pt",
    "checkpoints/step_00000000.pt",  # its training state dropped: two newest keep it
    "metrics.csv",  # rows 1-8
    "checkpoints/step_00000256.pt",
    "checkpoints/step_00000032.pt",  # training state dropped
]
BOUNDARIES = 3 * len(WRITES)
# the fast suite: the config's creation, every boundary of the metrics flush before the
# checkpoint of update 4 (where rows used to be lost), that checkpoint written but not
# renamed, and a dropped training state written but not renamed; `-m slow` runs the rest
FAST = {0, 12, 13, 14, 16, 19}


def _cases(ks):
    return [pytest.param(k, marks=() if k in FAST else pytest.mark.slow) for k in ks]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return train(CONFIG, tmp_path_factory.mktemp("faults") / "reference")


@pytest.fixture(scope="module")
def boundaries(tmp_path_factory, reference):
    root = tmp_path_factory.mktemp("boundaries")
    return record_writes(root, lambda: train(CONFIG, root / "run"))


def test_the_boundaries_are_every_write_of_training(boundaries):
    assert [path for event, path in boundaries if event == "open"] == [f"run/{w}" for w in WRITES]
    assert [event for event, _ in boundaries] == ["open", "written", "replaced"] * len(WRITES)


@pytest.mark.parametrize("k", _cases(range(BOUNDARIES)))
def test_kill_at_each_write_boundary_then_resume_loses_nothing(reference, boundaries, tmp_path, k):
    path = tmp_path / "run"
    assert in_child(lambda: train(CONFIG, path), KillAt(k)) == -signal.SIGKILL
    if boundaries[k][0] in ("open", "written"):
        assert temp_files(tmp_path)  # the kill left the write's temporary file
    assert_same_run(reference, train(CONFIG, path))  # removes it, redoes the rest


@pytest.mark.parametrize("k", _cases(k for k in range(BOUNDARIES) if k % 3 < 2))
def test_full_disk_at_each_write_then_resume_loses_nothing(reference, tmp_path, k):
    """ENOSPC while creating (open) or syncing (written) each file: the error surfaces,
    the old file stays, the lock is released, and a resume completes the run exactly."""
    path = tmp_path / "run"
    with write_hook(FailAt(k, errno.ENOSPC)), pytest.raises(OSError, match="No space left"):
        train(CONFIG, path)
    assert not temp_files(tmp_path)
    assert_same_run(reference, train(CONFIG, path))


def test_two_kills_in_a_row_then_resume_loses_nothing(reference, tmp_path):
    path = tmp_path / "run"
    assert in_child(lambda: train(CONFIG, path), KillAt(13)) == -signal.SIGKILL  # mid-metrics
    assert in_child(lambda: train(CONFIG, path), KillAt(4)) == -signal.SIGKILL  # mid-checkpoint
    assert_same_run(reference, train(CONFIG, path))


def test_resuming_a_finished_run_writes_nothing(reference, tmp_path):
    path = tmp_path / "run"
    shutil.copytree(reference.path, path)
    files = [p for p in path.rglob("*") if p.is_file() and p.name != ".lock"]  # the lock: pid
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    assert record_writes(tmp_path, lambda: train(CONFIG, path)) == []
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == before
