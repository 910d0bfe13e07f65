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


def _kill_parent(parent, folder, children: int, left: int = 0) -> list[int]:
    """Wait until ``children`` processes wrote their pid files into ``folder``, kill -9
    ``parent``, and return the pids still alive once at most ``left`` are (or after 15 s);
    every child is killed on the way out."""
    import signal
    import time

    pids: list[int] = []
    try:
        deadline = time.time() + 60
        while len(list(folder.glob("*.pid"))) < children:
            assert time.time() < deadline, "the children never started"
            time.sleep(0.1)
        pids = [int(p.stem) for p in folder.glob("*.pid")]
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.time() + 15
        while len(alive := [p for p in pids if _alive(p)]) > left and time.time() < deadline:
            time.sleep(0.2)
        return alive
    finally:
        parent.kill()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    """A parent stopped with kill -9 must not leave workers computing (and holding locks)."""
    import subprocess
    import sys

    (tmp_path / "held.py").write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)], env=env)
    alive = _kill_parent(parent, tmp_path, children=2)
    assert not alive, f"workers {alive} outlived their parent"


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


SECTION = """
import os, sys, time
from pathlib import Path
from devrl.paper import experiment_parser
experiment_parser("a section", "held").parse_args([])
Path(sys.argv[1], f"{os.getpid()}.pid").write_text("")
time.sleep(120)
"""

BUILDER = """
import os, subprocess, sys, time
from devrl._pool import PARENT_ENV
env = {**os.environ, PARENT_ENV: str(os.getpid())}
subprocess.Popen([sys.executable, "-c", sys.argv[2], sys.argv[1]], env=env)  # a section
stray = {**os.environ, PARENT_ENV: "1"}  # an inherited pid that is not its parent
subprocess.Popen([sys.executable, "-c", sys.argv[2], sys.argv[1]], env=stray)
time.sleep(120)
"""


def test_sections_exit_when_the_paper_builder_is_killed(tmp_path):
    """An experiment script started with the builder's pid in DEVRL_EXIT_WITH (as
    ``devrl paper`` starts them) exits when the builder is killed with kill -9; one whose
    variable names another process (inherited from a grandparent) keeps running."""
    import subprocess
    import sys

    builder = subprocess.Popen([sys.executable, "-c", BUILDER, str(tmp_path), SECTION])
    alive = _kill_parent(builder, tmp_path, children=2, left=1)
    assert len(alive) == 1, "the section outlived the builder, or both exited"
