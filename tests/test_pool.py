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
