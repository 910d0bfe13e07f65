"""The environment variable cheese_anywhere: a share of training levels with the cheese
anywhere instead of in the corner region (levels, batched env, PPOConfig, run columns)."""

import numpy as np
import pytest

from devrl.agents import PPOConfig
from devrl.envs import MazeVecEnv
from devrl.envs.levels import generate_maze, sample_cheese, sample_level, validate_share
from devrl.runs import Run


def test_share_zero_draws_exactly_the_old_levels():
    a, b = np.random.default_rng(4), np.random.default_rng(4)
    for _ in range(20):
        wa, ca = sample_level(9, 1, a)
        wb, cb = sample_level(9, 1, b, cheese_anywhere=0.0)
        assert np.array_equal(wa, wb) and ca == cb
    assert a.random() == b.random()  # nothing extra was drawn


def test_the_share_decides_with_one_uniform_draw_between_maze_and_cheese():
    share = 0.3
    got, want = np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(50):
        walls, cheese = sample_level(9, 1, got, cheese_anywhere=share)
        w = generate_maze(9, want)
        anywhere = want.random() < share
        assert np.array_equal(walls, w)
        assert cheese == sample_cheese(w, None if anywhere else 1, want)


def test_the_share_of_levels_with_the_cheese_off_the_corner():
    rng, n, share = np.random.default_rng(0), 4000, 0.1
    off = sum(sample_level(7, 1, rng, cheese_anywhere=share)[1] != (0, 6) for _ in range(n))
    # an anywhere-cheese lands on the corner cell with probability 1/31 (free cells but start)
    p = share * (1 - 1 / 31)
    assert abs(off / n - p) < 4 * np.sqrt(p * (1 - p) / n)
    rng = np.random.default_rng(0)
    assert all(sample_level(7, 1, rng, cheese_anywhere=0.0)[1] == (0, 6) for _ in range(200))


def test_batched_env_records_the_share_and_loads_older_states():
    env = MazeVecEnv(3, size=7, corner=1, seed=2, cheese_anywhere=0.5)
    assert env.config()["cheese_anywhere"] == 0.5
    env.reset()
    state = env.state_dict()
    old = MazeVecEnv(3, size=7, corner=1, seed=2)
    old.reset()
    older_state = old.state_dict()
    del older_state["config"]["cheese_anywhere"]  # saved before the variable existed
    fresh = MazeVecEnv(3, size=7, corner=1, seed=5)
    fresh.load_state_dict(older_state)
    assert np.array_equal(fresh.observe(), old.observe())
    with pytest.raises(ValueError, match="config"):
        fresh.load_state_dict(state)  # a different share is a different env
    # over many resets, about half the cheeses are off the corner
    cheeses = []
    for _ in range(100):
        env.reset()
        cheeses += [tuple(c) for c in env.cheese]
    off = np.mean([c != (0, 6) for c in cheeses])
    assert 0.3 < off < 0.65


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.1", True, None])
def test_bad_shares_are_refused(bad):
    with pytest.raises(ValueError, match="cheese_anywhere must be"):
        validate_share(bad)
    with pytest.raises(ValueError, match="cheese_anywhere"):
        PPOConfig(cheese_anywhere=bad)


def test_config_and_run_columns_carry_the_share(tmp_path):
    cfg = PPOConfig(cheese_anywhere=0.01)
    assert cfg.env_kwargs()["cheese_anywhere"] == 0.01
    run = Run.create(tmp_path / "new", {"size": 9, "cheese_anywhere": 0.01}, resume=False)
    assert run.env_variables["cheese_anywhere"] == 0.01
    old = Run.create(tmp_path / "old", {"size": 9, "corner": 1}, resume=False)
    assert old.env_variables["cheese_anywhere"] == 0.0
