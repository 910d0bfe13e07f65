"""MazeVecEnv: hand-worked transitions, autoreset, seeding, state round trip."""

import io
import json

import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

from devrl.envs.levels import default_max_steps, generate_maze
from devrl.envs.maze import MazeEnv
from devrl.envs.rewards import CornerReward, StepPenalty
from devrl.envs.vector import MazeVecEnv, make_vec_env

UP, RIGHT, DOWN, LEFT = range(4)
STEP_KEYS = {
    "mouse_pos",
    "cheese_pos",
    "optimal_distance",
    "reached_corner",
    "episode_return",
    "episode_length",
    "episode_success",
    "final_obs",
}


def _corridor():
    """5x5: free bottom row and right column (an L from the start to the top-right)."""
    walls = np.ones((5, 5), dtype=bool)
    walls[4, :] = False
    walls[:, 4] = False
    return walls


def test_spaces_and_shapes():
    env = MazeVecEnv(3, seed=0)
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, info = env.reset()
    assert obs.shape == (3, 3, 9, 9) and obs.dtype == np.uint8 and obs in env.observation_space
    assert set(info) == {"mouse_pos", "cheese_pos", "optimal_distance", "reached_corner"}
    assert (info["mouse_pos"] == [8, 0]).all() and (info["cheese_pos"] == [0, 8]).all()
    obs, rew, term, trunc, info = env.step(np.array([0, 1, 2]))
    assert set(info) == STEP_KEYS
    assert rew.dtype == np.float32 and term.dtype == bool and trunc.dtype == bool
    assert all(len(v) == 3 for v in info.values())
    assert np.array_equal(obs[:, 0], env.walls) and (obs[:, 1].sum((1, 2)) == 1).all()
    assert np.array_equal(info["final_obs"], obs)


def test_hand_worked_moves_and_cheese():
    env = MazeVecEnv(2, size=5, seed=0)
    env.reset()
    env.set_level(0, _corridor(), (0, 4))
    obs = env.observe()
    assert obs[0, 1, 4, 0] == 1 and obs[0, 2, 0, 4] == 1
    # up into a wall, left and down off the grid: no move, no reward
    for a in (UP, LEFT, DOWN):
        obs, rew, term, trunc, info = env.step(np.array([a, 0]))
        assert tuple(info["mouse_pos"][0]) == (4, 0) and rew[0] == 0 and not term[0]
    for k in range(1, 5):
        obs, rew, term, *_ = env.step(np.array([RIGHT, 0]))
        assert obs[0, 1, 4, k] == 1 and obs[0, 1].sum() == 1 and not term[0]
    other_walls = env.walls[1].copy()
    for k in range(3):
        obs, rew, term, trunc, info = env.step(np.array([UP, 0]))
        assert not term[0] and info["optimal_distance"][0] == 3 - k
    obs, rew, term, trunc, info = env.step(np.array([UP, 0]))
    assert rew[0] == 1.0 and term[0] and not trunc[0]
    assert info["episode_return"][0] == 1.0 and info["episode_length"][0] == 11
    assert info["episode_success"][0] and info["reached_corner"][0]
    # SAME_STEP autoreset: final_obs has the mouse on the cheese, obs is the next episode
    assert info["final_obs"][0, 1, 0, 4] == 1 and info["final_obs"][0, 2, 0, 4] == 1
    assert obs[0, 1, 4, 0] == 1 and tuple(info["mouse_pos"][0]) == (4, 0)
    assert not np.array_equal(obs[0, 0], _corridor())  # a fresh Kruskal maze
    assert np.array_equal(obs[0, 0], env.walls[0])
    assert np.array_equal(env.walls[1], other_walls)  # the other env was untouched
    *_, info = env.step(np.array([UP, 0]))
    assert not info["reached_corner"][0] and info["episode_length"][0] == 1


def test_truncation_at_time_limit():
    env = MazeVecEnv(1, size=5, max_steps=3, seed=0)
    env.reset()
    env.set_level(0, _corridor(), (0, 4))
    for _ in range(2):
        *_, term, trunc, _ = env.step(np.array([LEFT]))
        assert not trunc[0] and not term[0]
    *_, term, trunc, info = env.step(np.array([LEFT]))
    assert trunc[0] and not term[0] and not info["episode_success"][0]
    assert info["episode_length"][0] == 3 and info["episode_return"][0] == 0.0
    assert MazeVecEnv(1, size=9).max_steps == default_max_steps(9) == 196


def test_terminal_step_is_not_truncated_and_penalty_paid():
    env = MazeVecEnv(1, size=5, max_steps=8, reward=CornerReward() + StepPenalty(0.25), seed=0)
    env.reset()
    env.set_level(0, _corridor(), (4, 2))  # cheese on the way; corner is the goal here
    total = 0.0
    for a in [RIGHT] * 4 + [UP] * 4:
        _, rew, term, trunc, info = env.step(np.array([a]))
        total += rew[0]
    assert term[0] and not trunc[0]
    assert total == pytest.approx(1 - 8 * 0.25) and info["episode_return"][0] == pytest.approx(
        total
    )


def test_random_play_matches_single_envs():
    """Autoreset bookkeeping: a batch equals independent single envs reset by hand."""
    seeds = [3, 11, 12]
    vec = MazeVecEnv(3, size=5, corner=None, max_steps=12, seed=seeds)
    singles = [MazeEnv(size=5, corner=None, max_steps=12) for _ in seeds]
    obs, _ = vec.reset()
    single_obs = [e.reset(seed=s)[0] for e, s in zip(singles, seeds)]
    assert np.array_equal(obs, np.stack(single_obs))
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(300):
        acts = rng.integers(0, 4, 3)
        obs, rew, term, trunc, info = vec.step(acts)
        for i, e in enumerate(singles):
            o, r, te, tr, inf = e.step(int(acts[i]))
            assert np.array_equal(info["final_obs"][i], o) and r == rew[i]
            assert (te, tr) == (term[i], trunc[i])
            assert inf["reached_corner"] == info["reached_corner"][i]
            if te or tr:
                ends += 1
                assert inf["episode_return"] == info["episode_return"][i]
                assert inf["episode_length"] == info["episode_length"][i]
                o, _ = e.reset()
            assert np.array_equal(obs[i], o)
    assert ends > 20


def test_seeding_reproducible_and_independent_of_num_envs():
    def levels(num_envs, seed, episodes=4):
        env = MazeVecEnv(num_envs, size=7, corner=3, max_steps=2, seed=seed)
        out = [env.reset()[0]]
        for _ in range(2 * episodes):
            out.append(env.step(np.zeros(num_envs, dtype=int))[0])
        return np.stack(out)  # [T, B, 3, S, S]

    a, b = levels(2, 5), levels(6, 5)
    assert np.array_equal(a, b[:, :2])
    assert not np.array_equal(a[:, 0], a[:, 1])  # envs differ from each other
    assert not np.array_equal(a, levels(2, 6))
    env = MazeVecEnv(2, size=7, seed=1)
    first = env.reset()[0]
    assert not np.array_equal(env.reset()[0], first)  # next levels
    assert np.array_equal(env.reset(seed=1)[0], first)


def test_state_dict_round_trip_gives_identical_futures():
    env = MazeVecEnv(4, size=7, corner=None, max_steps=15, seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(37):
        env.step(rng.integers(0, 4, 4))
    state = json.loads(json.dumps(env.state_dict()))
    buffer = io.BytesIO()
    torch.save(env.state_dict(), buffer)  # training checkpoints hold it
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True) == env.state_dict()
    other = make_vec_env(state["config"], num_envs=4, seed=123)
    other.load_state_dict(state)
    assert np.array_equal(other.observe(), env.observe())
    for _ in range(100):
        acts = rng.integers(0, 4, 4)
        x, y = env.step(acts), other.step(acts)
        for u, v in zip(x[:4], y[:4]):
            assert np.array_equal(u, v)
        for k in x[4]:
            assert np.array_equal(x[4][k], y[4][k])


def test_config_and_make_vec_env():
    env = MazeVecEnv(2, size=11, corner=3, reward=CornerReward(), seed=0)
    cfg = env.config()
    assert cfg == {
        "size": 11,
        "corner": 3,
        "reward": {"type": "corner"},
        "max_steps": 4 * 71,
        "cheese_anywhere": 0.0,
    }
    again = make_vec_env(json.loads(json.dumps(cfg)), num_envs=2, seed=0)
    assert again.config() == cfg and again.reward == CornerReward()
    with pytest.raises(ValueError, match="unknown env config"):
        make_vec_env({"size": 9, "lr": 1e-3}, 2)
    with pytest.raises(ValueError, match="config"):
        MazeVecEnv(2, size=9).load_state_dict(env.state_dict())


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"num_envs": 0}, "num_envs"),
        ({"num_envs": 2, "size": 8}, "odd"),
        ({"num_envs": 2, "corner": 10}, "corner"),
        ({"num_envs": 2, "max_steps": 0}, "max_steps"),
        ({"num_envs": 2, "reward": {"type": "gold"}}, "reward"),
        ({"num_envs": 2, "seed": -1}, "seed"),
        ({"num_envs": 2, "seed": [1]}, "seed"),
    ],
)
def test_bad_constructor_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MazeVecEnv(**kwargs)


def test_bad_steps():
    env = MazeVecEnv(2, size=5, seed=0)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2, dtype=int))
    env.reset()
    for bad in (np.zeros(3, dtype=int), np.zeros(2), np.array([0, 4]), np.array([-1, 0])):
        with pytest.raises(ValueError, match="actions"):
            env.step(bad)
    walls = generate_maze(5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="free cell"):
        env.set_level(0, walls, (1, 1))
    with pytest.raises(ValueError, match="cannot start on the cheese"):
        env.set_level(0, walls, (4, 0))


def test_set_level_with_mouse_and_invariants_in_random_play():
    env = MazeVecEnv(8, size=7, corner=None, max_steps=20, seed=2)
    env.reset()
    walls = generate_maze(7, np.random.default_rng(0))
    env.set_level(3, walls, (0, 6), mouse=(2, 2))
    obs = env.observe()
    assert obs[3, 1, 2, 2] == 1 and obs[3, 1].sum() == 1
    assert tuple(env.mouse[3]) == (2, 2)
    rng = np.random.default_rng(1)
    for _ in range(200):
        obs, _, _, _, info = env.step(rng.integers(0, 4, 8))
        for o in (obs, info["final_obs"]):
            assert (o[:, 1].sum((1, 2)) == 1).all() and (o[:, 2].sum((1, 2)) == 1).all()
            assert not (o[:, 0] & o[:, 1]).any() and not (o[:, 0] & o[:, 2]).any()
        assert np.array_equal(obs[:, 0].astype(bool), env.walls)
        r, c = info["mouse_pos"].T
        assert (obs[np.arange(8), 1, r, c] == 1).all()
        assert np.array_equal(info["optimal_distance"], env.distance[np.arange(8), r, c])
