"""Checkpoint schedule and the numpy <-> torch tree used for resume state."""

import numpy as np
import pytest
import torch

from devrl.checkpoints import (
    checkpoint_schedule,
    from_torch_tree,
    load_checkpoint,
    nearest_checkpoints,
    to_torch_tree,
)


@pytest.mark.parametrize("total, n", [(1000, 100), (1000, 10), (50, 20), (100_000, 200), (7, 3)])
def test_schedule_includes_ends_and_about_n_points(total, n):
    s = checkpoint_schedule(total, n)
    assert s[0] == 0 and s[-1] == total
    assert s == sorted(set(s)) and all(isinstance(x, int) for x in s)
    assert n <= len(s) <= n + max(3, n // 10)


def test_schedule_is_dense_early_and_spread_late():
    s = checkpoint_schedule(10_000, 100)
    assert sum(x <= 100 for x in s) >= 20  # log-spaced half: many in the first 1%
    gaps = np.diff([x for x in s if x > 5_000])
    assert gaps.max() <= 10_000 / 50 + 1  # linear half: no big holes late


def test_schedule_small_totals_and_errors():
    assert checkpoint_schedule(3, 100) == [0, 1, 2, 3]
    assert checkpoint_schedule(0, 5) == [0]
    assert checkpoint_schedule(9, 2) == [0, 9]
    with pytest.raises(ValueError, match="total must be an integer >= 0"):
        checkpoint_schedule(-1, 3)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        checkpoint_schedule(5, 0)


def test_schedule_with_n_log_and_n_linear_is_the_exact_union():
    # The TMS grid: rounded logspace(0, log10 T, n_log) ∪ linspace(0, T, n_linear) ∪ {0, T}.
    total, n_log, n_lin = 22_500, 100, 100
    want = np.unique(
        np.r_[
            0,
            total,
            np.round(np.logspace(0, np.log10(total), n_log)),
            np.round(np.linspace(0, total, n_lin)),
        ].astype(int)
    )
    assert checkpoint_schedule(total, n_log=n_log, n_linear=n_lin) == want.tolist()
    assert checkpoint_schedule(1000, n_log=0, n_linear=0) == [0, 1000]
    assert checkpoint_schedule(0, n_log=5, n_linear=5) == [0]
    s = checkpoint_schedule(1000, n_log=20, n_linear=11)
    assert s[0] == 0 and s[-1] == 1000 and 100 in s and np.all(np.diff(s) > 0)
    with pytest.raises(ValueError, match="n_log"):
        checkpoint_schedule(10, n_log=3)
    with pytest.raises(ValueError, match="not both"):
        checkpoint_schedule(10, 4, n_log=3, n_linear=3)


def test_nearest_checkpoints_pick_log_and_linear_targets():
    steps = np.array(checkpoint_schedule(1000, n_log=30, n_linear=40))
    idx = nearest_checkpoints(steps, 10)
    picked = steps[idx]
    assert np.all(np.diff(idx) > 0) and picked[-1] == 1000
    assert picked[0] == 1  # the first log target is the first positive step
    assert np.sum(picked >= 200) >= 4  # the linear half spreads over the run
    assert np.array_equal(nearest_checkpoints(steps, 1), [len(steps) - 1])


def test_torch_tree_round_trip_loads_weights_only(tmp_path):
    rng = np.random.default_rng(1)
    tree = {
        "a": np.arange(6, dtype=np.int64).reshape(2, 3),
        "b": [np.float32(2.5), (1, "x")],
        "rng": rng.bit_generator.state,
        "mask": np.array([True, False]),
    }
    path = tmp_path / "t.pt"
    torch.save(to_torch_tree(tree), path)
    back = from_torch_tree(torch.load(path, weights_only=True))
    assert np.array_equal(back["a"], tree["a"]) and back["a"].dtype == np.int64
    assert back["b"] == [2.5, (1, "x")] and back["mask"].dtype == bool
    rng2 = np.random.default_rng()
    rng2.bit_generator.state = back["rng"]
    assert rng2.integers(1 << 30) == rng.integers(1 << 30)
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
