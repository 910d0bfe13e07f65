import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from devrl.envs.levels import observation
from devrl.objectives.deltas import add_delta, state_delta
from devrl.objectives.patch import (
    episode_target_stats,
    lean,
    own_minus_others,
    target_visits,
    weights_run,
)
from devrl.rollouts import Rollout
from devrl.runs import Run
from devrl.stats import t_interval

OPEN = np.zeros((5, 5), dtype=bool)


def _rollout(paths, cheese, finished):
    """A hand-made rollout: one episode per path of visited cells."""
    cols = {k: [] for k in ("obs", "mouse_pos", "next_mouse_pos", "episode", "t")}
    term, rew = [], []
    for ep, (path, done) in enumerate(zip(paths, finished, strict=True)):
        for t, (here, nxt) in enumerate(itertools.pairwise(path)):
            cols["obs"].append(observation(OPEN, here, cheese))
            cols["mouse_pos"].append(here)
            cols["next_mouse_pos"].append(nxt)
            cols["episode"].append(ep)
            cols["t"].append(t)
            last = done and t == len(path) - 2
            term.append(last)
            rew.append(1.0 if last else 0.0)
    n = len(term)
    return Rollout(
        obs=np.stack(cols["obs"]),
        actions=np.zeros(n, dtype=np.int64),
        logits=np.zeros((n, 4), dtype=np.float32),
        values=np.zeros(n, dtype=np.float32),
        rewards=np.array(rew, dtype=np.float32),
        terminated=np.array(term),
        truncated=np.zeros(n, dtype=bool),
        mouse_pos=np.array(cols["mouse_pos"]),
        cheese_pos=np.tile(np.array(cheese), (n, 1)),
        next_mouse_pos=np.array(cols["next_mouse_pos"]),
        episode=np.array(cols["episode"], dtype=np.int64),
        env=np.zeros(n, dtype=np.int64),
        t=np.array(cols["t"], dtype=np.int64),
        reached_corner=np.zeros(n, dtype=bool),
    )


def test_episode_target_stats_on_a_hand_made_path():
    roll = _rollout(
        [[(4, 0), (3, 0), (2, 0), (1, 0)], [(4, 0), (4, 1)]], cheese=(1, 0), finished=[True, False]
    )
    table = episode_target_stats(roll, [(2, 0), (0, 4)]).set_index("target")
    assert len(table) == 2  # the unfinished episode is dropped
    assert table.loc["cell_2_0", "visited"] and not table.loc["cell_0_4", "visited"]
    assert table.loc["cell_2_0", "mean_distance"] == pytest.approx((2 + 1 + 0 + 1) / 4)
    assert table.loc["cell_0_4", "mean_distance"] == pytest.approx((8 + 7 + 6 + 5) / 4)
    assert table["reached_cheese"].all() and (table["length"] == 3).all()
    with pytest.raises(ValueError, match="targets"):
        episode_target_stats(roll, [])


def test_weights_run_feeds_init_from_and_target_visits(tiny_run, tmp_path):
    from devrl.agents import PPOConfig, train

    ma = Run.load(tiny_run.path)
    state = ma.load_checkpoint(ma.steps[-1])["model"]
    delta = state_delta(ma.load_checkpoint(0)["model"], state)
    patched = add_delta(state, delta, alpha=-1.0)
    run = weights_run(tmp_path / "patched", ma.path, patched)
    assert weights_run(tmp_path / "patched", ma.path, patched).path == run.path  # resumable
    got = run.policy(0).state_dict()
    assert all(torch.allclose(got[k], patched[k]) for k in delta)
    cfg = {k: v for k, v in ma.config.items() if k not in ("model", "init_from")}
    retrained = train(
        PPOConfig.from_dict({**cfg, "total_timesteps": 64}),
        tmp_path / "retrained",
        resume=False,
        init_from=(run.path, 0),
    )
    first = retrained.policy(0).state_dict()
    assert all(torch.allclose(first[k], patched[k]) for k in delta)
    table = target_visits(retrained.policy(), ma.env_kwargs, [(0, 0), (2, 2)], episodes=6)
    assert len(table) == 12 and set(table["target"]) == {"cell_0_0", "cell_2_2"}
    # entering a cell is being at distance 0 from it at some step, so visits need distance
    assert (table.loc[table["visited"], "mean_distance"] >= 0).all()
    assert ((table["mean_distance"] == 0) <= table["visited"]).all()


def test_lean_finds_a_planted_avoidance_and_no_effect_between_equals():
    rng = np.random.default_rng(0)

    def table(p_visit, dist, n=400):
        return pd.DataFrame(
            {
                "target": "cell_2_2",
                "visited": rng.random(n) < p_visit,
                "mean_distance": dist + rng.normal(0, 1, n),
            }
        )

    out = lean(table(0.2, 5.0), table(0.6, 3.0)).iloc[0]
    assert out["d_visit"] == pytest.approx(-0.4, abs=0.08)
    assert out["d_visit_high"] < 0 and out["d_dist_low"] > 0  # planted effect detected
    assert out["d_dist"] == pytest.approx(2.0, abs=0.2)
    same = table(0.5, 3.0)
    null = lean(same, same).iloc[0]
    assert null["d_visit"] == 0 and null["d_visit_low"] < 0 < null["d_visit_high"]
    with pytest.raises(ValueError, match="arm lacks"):
        lean(pd.DataFrame({"target": []}), table(0.5, 3.0))


def test_t_interval_known_values():
    m, lo, hi, n = t_interval([1.0, 2.0, 3.0, float("nan")])
    half = 4.302652729911275 / np.sqrt(3)  # t_{0.975, 2} * sd 1 / sqrt(3)
    assert (m, n) == (2.0, 3) and lo == pytest.approx(2 - half) and hi == pytest.approx(2 + half)
    m, lo, hi, n = t_interval([5.0])
    assert m == 5.0 and n == 1 and np.isnan(lo) and np.isnan(hi)
    with pytest.raises(ValueError, match="values"):
        t_interval([float("nan")])


def test_own_minus_others_removes_a_change_shared_by_all_cells():
    table = pd.DataFrame(
        {
            "target": ["cell_0_0", "cell_2_2", "cell_4_4"],
            "d_visit": [-0.5, -0.2, -0.4],
            "d_dist": [2.0, 1.0, 1.0],
        }
    )
    got = own_minus_others(table, "cell_0_0")
    assert got["d_visit"] == pytest.approx(-0.2) and got["d_dist"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least one other"):
        own_minus_others(table.iloc[:1], "cell_0_0")
