"""devrl/_pool.py: spawned one-thread workers, results in input order, serial fallback."""

import os

import pytest

from devrl._pool import check_workers, default_workers, init_worker, parallel_map


def _square_and_threads(x: int) -> tuple[int, int, int]:
    import torch

    return x * x, torch.get_num_threads(), os.getpid()


def test_parallel_map_keeps_input_order_and_runs_one_thread_workers():
    out = parallel_map(_square_and_threads, [3, 1, 2, 5], workers=2)
    assert [o[0] for o in out] == [9, 1, 4, 25]
    assert {o[1] for o in out} == {1}
    assert os.getpid() not in {o[2] for o in out}  # ran in other processes


def test_one_worker_runs_in_this_process():
    out = parallel_map(_square_and_threads, [2, 3], workers=1)
    assert [o[0] for o in out] == [4, 9] and {o[2] for o in out} == {os.getpid()}


def test_exceptions_in_workers_reach_the_caller():
    with pytest.raises(TypeError):
        parallel_map(_square_and_threads, [1, "a"], workers=2)


def test_workers_are_validated():
    assert check_workers(None) == default_workers() >= 1
    assert check_workers(3) == 3
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers must be"):
            check_workers(bad)


def test_init_worker_sets_one_torch_thread():
    import torch

    before = torch.get_num_threads()
    try:
        init_worker()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


WORKER = """
import os, time
from pathlib import Path

def hold(folder):
    Path(folder, f"{os.getpid()}.pid").write_text("")
    time.sleep(120)
"""

PARENT = """
import sys
from devrl._pool import imap_unordered
from held import hold
list(imap_unordered(hold, [sys.argv[1]] * 2, workers=2))
"""


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    """A parent stopped with kill -9 must not leave workers computing (and holding locks)."""
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "held.py").write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)], env=env)
    try:
        deadline = time.time() + 60
        while len(list(tmp_path.glob("*.pid"))) < 2:
            assert time.time() < deadline, "the workers never started"
            time.sleep(0.1)
        workers = [int(p.stem) for p in tmp_path.glob("*.pid")]
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.time() + 15
        alive = workers
        while alive and time.time() < deadline:
            time.sleep(0.2)
            alive = [pid for pid in workers if _alive(pid)]
        assert not alive, f"workers {alive} outlived their parent"
    finally:
        parent.kill()
        for p in tmp_path.glob("*.pid"):
            if _alive(int(p.stem)):
                os.kill(int(p.stem), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True
