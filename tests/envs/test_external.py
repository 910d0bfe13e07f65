"""vector_env: any gymnasium id as a same-step-autoreset vector env; wrapper specs."""

import gymnasium as gym
import numpy as np
import pytest

from devrl.envs import MazeVecEnv
from devrl.envs.external import normalize_wrappers, resolve_wrappers, vector_env


def test_gymnasium_id_gives_a_same_step_vector_env():
    env = vector_env("CartPole-v1", 3)
    try:
        assert env.num_envs == 3
        assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
        obs, _ = env.reset(seed=0)
        assert obs.shape == (3, 4)
    finally:
        env.close()


def test_maze_id_gives_the_maze_vector_env():
    env = vector_env("devrl/Maze-v0", 2, seed=1, env_kwargs={"size": 5})
    assert isinstance(env, MazeVecEnv) and env.num_envs == 2
    env.close()


def test_wrappers_are_applied_in_order_with_their_kwargs():
    spec = [{"entry_point": "gymnasium.wrappers:TimeLimit", "kwargs": {"max_episode_steps": 3}}]
    env = vector_env("CartPole-v1", 1, wrappers=spec)
    try:
        env.reset(seed=0)
        for _ in range(3):
            _, _, terminated, truncated, _ = env.step(np.zeros(1, np.int64))
        assert truncated[0] or terminated[0]
    finally:
        env.close()


def test_wrapper_specs_are_checked_at_the_boundary():
    assert normalize_wrappers(["a.b:C", {"entry_point": "a.b:C"}]) == ["a.b:C", "a.b:C"]
    with pytest.raises(ValueError, match="module:Class"):
        normalize_wrappers(["ImgObsWrapper"])
    with pytest.raises(TypeError, match="import path"):
        normalize_wrappers([gym.Wrapper])
    with pytest.raises(ValueError, match="cannot import wrapper"):
        resolve_wrappers(["devrl_no_such_module:Wrapper"])


def test_continuous_actions_and_unknown_ids_raise_clear_errors():
    with pytest.raises(TypeError, match="discrete actions"):
        vector_env("Pendulum-v1", 1)
    with pytest.raises(ValueError, match="name the package in the id"):
        vector_env("NoSuchEnv-v0", 1)
