"""MazeEnv: gymnasium compliance, registration, and agreement with the batch."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from devrl.envs.maze import MazeEnv
from devrl.envs.rewards import CornerReward
from devrl.envs.vector import MazeVecEnv


@pytest.mark.parametrize("kwargs", [{}, {"size": 5, "corner": None, "render_mode": "rgb_array"}])
def test_check_env(kwargs):
    env = gym.make("devrl/Maze-v0", **kwargs)
    check_env(env.unwrapped, skip_render_check=False)


def test_make_vec_uses_batched_env():
    envs = gym.make_vec(
        "devrl/Maze-v0", num_envs=3, vectorization_mode="vector_entry_point", size=7
    )
    assert isinstance(envs, MazeVecEnv) and envs.num_envs == 3 and envs.size == 7


def test_same_levels_as_env_zero_of_batch():
    env = MazeEnv(size=7, corner=None)
    vec = MazeVecEnv(4, size=7, corner=None, seed=9)
    obs, info = env.reset(seed=9)
    assert np.array_equal(obs, vec.reset()[0][0])
    assert info["cheese_pos"].tolist() == vec.cheese[0].tolist()


def test_episode_to_cheese():
    env = MazeEnv(size=5, reward=CornerReward())
    env.reset(seed=0)
    walls = env.walls
    # walk the BFS path to the top-right corner
    from devrl.envs.solver import solve

    sol = solve(walls, (0, 4))
    steps, done = 0, False
    while not done:
        r, c = env.mouse
        a = int(np.flatnonzero(sol.optimal_actions[r, c])[0])
        _, rew, term, trunc, info = env.step(a)
        steps += 1
        done = term or trunc
    assert term and rew == 1.0 and steps == sol.distance[4, 0]
    assert info["episode_success"] and info["reached_corner"] and info["optimal_distance"] == 0


def test_render_and_bad_args():
    env = MazeEnv(render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    assert img.dtype == np.uint8 and img.shape == (144, 144, 3)
    assert MazeEnv().render() is None
    with pytest.raises(ValueError, match="render_mode"):
        MazeEnv(render_mode="human")
    with pytest.raises(ValueError, match="action"):
        env.step(7)
    assert env.config()["size"] == 9
