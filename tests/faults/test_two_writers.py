"""Two writers never mix one run: the second fails at once, naming the first one's pid.

A forked trainer is paused in the middle of its run (after its first metrics flush, so
it holds the run's lock with checkpoints and metrics half written); meanwhile a second
trainer (same or different config), a tracker and a second tracker try the same run.
Each must fail with one line naming the holder's pid; the first trainer then finishes
and its run must equal an uninterrupted one.
"""

import os
import signal

import pytest
from harness import TINY, assert_same_run, copy_run, start_child, wait_child

from devrl._lock import DirectoryLockedError
from devrl.agents import PPOConfig, train
from devrl.runs import Run
from devrl.track import track

CONFIG = PPOConfig(**TINY)


def weight_sum(policy, context):
    return float(sum(p.detach().double().sum() for p in policy.parameters()))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return train(CONFIG, tmp_path_factory.mktemp("faults") / "reference")


def _paused(action, at: str):
    """Start ``action`` in a child that stops after its first write of a file named ``at``.

    Returns ``(pid, resume)``; ``resume()`` lets the child go on.
    """
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    paused = []

    def hook(event, path):
        if event == "replaced" and path.name == at and not paused:
            paused.append(path)
            os.write(ready_w, b"1")
            os.read(go_r, 1)

    pid = start_child(action, hook)
    assert os.read(ready_r, 1) == b"1"

    def resume():
        os.write(go_w, b"1")
        for fd in (ready_r, ready_w, go_r, go_w):
            os.close(fd)

    return pid, resume


def test_second_trainer_and_trackers_fail_naming_the_first_trainers_pid(reference, tmp_path):
    path = tmp_path / "run"
    pid, resume = _paused(lambda: train(CONFIG, path), at="metrics.csv")
    try:
        message = rf"cannot train .*run: pid {pid} is writing it \(lock file .*\.lock\)"
        with pytest.raises(DirectoryLockedError, match=message):
            train(CONFIG.replace(lr=2e-3), path)  # a different config
        with pytest.raises(DirectoryLockedError, match=message):
            train(CONFIG, path)  # the same config
        with pytest.raises(DirectoryLockedError, match=rf"cannot track .*: pid {pid} is writing"):
            track(path, [weight_sum], progress=False)
    finally:
        resume()
    assert wait_child(pid) == 0
    assert_same_run(reference, Run.load(path))
    assert not any(Run.load(path).tracks_dir.iterdir())  # the refused tracker wrote nothing


def test_trainer_fails_while_a_tracker_writes_the_run(reference, tmp_path):
    run = copy_run(reference, tmp_path / "run")
    pid, resume = _paused(lambda: track(run, [weight_sum], progress=False), at="params.json")
    try:
        with pytest.raises(DirectoryLockedError, match=rf"cannot train .*: pid {pid} is writing"):
            train(CONFIG, run.path)
        with pytest.raises(DirectoryLockedError, match=rf"cannot track .*: pid {pid} is writing"):
            track(run, [weight_sum], progress=False)
    finally:
        resume()
    assert wait_child(pid) == 0
    assert_same_run(reference, run)
    assert len(track(run, [weight_sum], progress=False)) == len(run.steps)


def test_the_lock_is_released_however_the_holder_ends(reference, tmp_path):
    path = tmp_path / "run"
    pid, resume = _paused(lambda: train(CONFIG, path), at="metrics.csv")
    os.kill(pid, signal.SIGKILL)  # killed while holding the lock
    resume()
    assert wait_child(pid) == -signal.SIGKILL
    assert_same_run(reference, train(CONFIG, path))  # no stale lock blocks the resume


def test_lock_error_is_one_line_and_a_value_error(tmp_path):
    path = tmp_path / "run"
    pid, resume = _paused(lambda: train(CONFIG, path), at="metrics.csv")
    try:
        with pytest.raises(ValueError) as info:
            train(CONFIG, path)
    finally:
        resume()
    wait_child(pid)
    assert "\n" not in str(info.value) and f"pid {pid}" in str(info.value)
