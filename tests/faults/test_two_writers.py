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


_HOLDER = """
import os, sys, torch
torch.set_num_threads(1)
from devrl import _io
from devrl.agents import PPOConfig, train
def pause(event, path):
    if event == "replaced" and path.name == "metrics.csv" and not hasattr(pause, "done"):
        pause.done = True
        print("ready", flush=True)
        sys.stdin.readline()
_io.WRITE_HOOKS.append(pause)
train(PPOConfig(**{tiny}), sys.argv[1])
"""


@pytest.mark.slow  # two fresh Python processes importing torch: ~40 s on a busy machine
def test_second_devrl_train_process_fails_with_the_pid_and_no_traceback(reference, tmp_path):
    """Two independent processes: a trainer paused mid-run, and `devrl train` on its run."""
    import subprocess
    import sys

    path = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER.format(tiny=TINY), str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
        second = subprocess.run(
            [sys.executable, "-m", "devrl.cli", "train", "--run-dir", str(path), *flags],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
    finally:
        holder.communicate("go\n", timeout=300)
    assert second.returncode != 0
    assert f"pid {holder.pid} is writing it" in second.stderr
    assert "Traceback" not in second.stderr and len(second.stderr.strip().splitlines()) == 1
    assert holder.returncode == 0
    assert_same_run(reference, Run.load(path))
