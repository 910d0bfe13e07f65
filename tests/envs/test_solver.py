"""Exact solver against independent brute force and closed forms."""

import numpy as np
import pytest

from devrl.envs.levels import generate_maze
from devrl.envs.rewards import CellReward, CheeseReward, CornerReward, StepPenalty
from devrl.envs.solver import bfs_distances, regret, solve

MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))


def _move(walls, r, c, a):
    S = walls.shape[0]
    rr, cc = r + MOVES[a][0], c + MOVES[a][1]
    if 0 <= rr < S and 0 <= cc < S and not walls[rr, cc]:
        return rr, cc
    return r, c


def _bellman_ford(walls, target):
    """Distances by repeated relaxation over all cells (no queue, no shared code)."""
    S = walls.shape[0]
    inf = 10**9
    d = np.full((S, S), inf)
    d[target] = 0
    for _ in range(S * S):
        for r in range(S):
            for c in range(S):
                if not walls[r, c]:
                    for a in range(4):
                        rr, cc = _move(walls, r, c, a)
                        d[r, c] = min(d[r, c], d[rr, cc] + 1)
    d[(d >= inf) | walls] = -1
    return d


def _value_iteration(walls, table, gamma, iters=3000):
    """Plain loop value iteration on the tabular MDP."""
    S = walls.shape[0]
    V = np.zeros((S, S))
    for _ in range(iters):
        new = np.zeros((S, S))
        for r in range(S):
            for c in range(S):
                if walls[r, c] or table.terminal[r, c]:
                    continue
                qs = []
                for a in range(4):
                    rr, cc = _move(walls, r, c, a)
                    cont = 0.0 if table.terminal[rr, cc] else gamma * V[rr, cc]
                    qs.append(table.step + table.cell[rr, cc] + cont)
                new[r, c] = max(qs)
        if np.max(np.abs(new - V)) < 1e-13:
            break
        V = new
    V[walls] = np.nan
    return V


def test_bfs_against_bellman_ford():
    rng = np.random.default_rng(0)
    for walls in [generate_maze(5, rng), generate_maze(7, rng), rng.random((6, 6)) < 0.3]:
        free = np.argwhere(~walls)
        for target in free[rng.choice(len(free), 3, replace=False)]:
            target = tuple(int(x) for x in target)
            assert np.array_equal(bfs_distances(walls, target), _bellman_ford(walls, target))


@pytest.mark.parametrize("size,gamma", [(5, 0.9), (9, 0.99), (13, 0.95)])
def test_closed_form_equals_policy_iteration(size, gamma):
    rng = np.random.default_rng(size)
    for _ in range(3):
        walls = generate_maze(size, rng)
        free = np.argwhere(~walls)
        cheese = tuple(int(x) for x in free[rng.integers(len(free))])
        a = solve(walls, cheese, gamma=gamma, method="closed_form")
        b = solve(walls, cheese, gamma=gamma, method="policy_iteration")
        np.testing.assert_allclose(a.V, b.V, atol=1e-12)
        np.testing.assert_allclose(a.Q, b.Q, atol=1e-12)
        assert np.array_equal(a.optimal_actions, b.optimal_actions)
        d = a.distance
        live = d > 0
        np.testing.assert_allclose(a.V[live], gamma ** (d[live] - 1.0))
        # optimal actions are exactly the moves that shorten the path
        for r, c in np.argwhere(live):
            shorter = [d[_move(walls, r, c, k)] == d[r, c] - 1 for k in range(4)]
            assert a.optimal_actions[r, c].tolist() == shorter


@pytest.mark.parametrize(
    "reward",
    [
        CornerReward() + StepPenalty(0.05),
        CheeseReward() + CornerReward(),
        CellReward(2, 2) + StepPenalty(-0.02),
        StepPenalty(0.1),
    ],
)
def test_policy_iteration_against_value_iteration(reward):
    rng = np.random.default_rng(7)
    for walls in [
        generate_maze(5, rng),
        rng.random((5, 5)) < 0.25,
    ]:  # a maze, and a grid with loops
        walls[4, 0] = walls[0, 4] = walls[2, 2] = walls[2, 4] = False
        cheese = (2, 4)
        sol = solve(walls, cheese, reward, gamma=0.9)
        V = _value_iteration(walls, reward.tabular(walls, cheese), 0.9)
        np.testing.assert_allclose(sol.V, V, atol=1e-10)


def test_hand_worked_corridor():
    walls = np.ones((5, 5), dtype=bool)
    walls[4, :] = False  # a single corridor along the bottom row
    walls[0:4, 4] = False
    gamma, c = 0.9, 0.1
    sol = solve(walls, (0, 4), CheeseReward() + StepPenalty(c), gamma=gamma)
    d = 8  # from (4, 0)
    expected = -c * (1 - gamma**d) / (1 - gamma) + gamma ** (d - 1)
    assert sol.V[4, 0] == pytest.approx(expected, abs=1e-12)
    assert sol.optimal_actions[4, 0].tolist() == [False, True, False, False]
    only_penalty = solve(walls, (0, 4), StepPenalty(c), gamma=gamma)
    np.testing.assert_allclose(only_penalty.V[~walls], -c / (1 - gamma))


def test_regret():
    rng = np.random.default_rng(1)
    walls = generate_maze(9, rng)
    sol = solve(walls, (0, 8), gamma=0.95)
    live = np.argwhere(sol.distance > 0)
    opt = sol.optimal_actions[live[:, 0], live[:, 1]].astype(float)
    probs = opt / opt.sum(-1, keepdims=True)
    np.testing.assert_allclose(regret(sol, probs, live), 0.0, atol=1e-12)
    # all mass on a non-optimal action: regret = V* - Q*(s, a) > 0, by hand
    r, c = live[0]
    bad = int(np.flatnonzero(~sol.optimal_actions[r, c])[0])
    p = np.eye(4)[bad]
    got = regret(sol, p, np.array([r, c]))
    assert got == pytest.approx(sol.V[r, c] - sol.Q[r, c, bad]) and got > 0
    uniform = regret(sol, np.full((len(live), 4), 0.25), live)
    assert (uniform > 0).all()


def test_bad_inputs():
    walls = generate_maze(5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="gamma"):
        solve(walls, (0, 4), gamma=1.0)
    with pytest.raises(ValueError, match="free cell"):
        solve(walls, (1, 1))
    with pytest.raises(ValueError, match="CheeseReward only"):
        solve(walls, (0, 4), CornerReward(), method="closed_form")
    with pytest.raises(ValueError, match="method"):
        solve(walls, (0, 4), method="magic")
    with pytest.raises(ValueError, match="bool"):
        bfs_distances(walls.astype(int), (0, 4))
    sol = solve(walls, (0, 4))
    with pytest.raises(ValueError, match="sum to 1"):
        regret(sol, np.ones(4), np.array([4, 0]))
    with pytest.raises(ValueError, match="free cells"):
        regret(sol, np.full(4, 0.25), np.array([1, 1]))
    with pytest.raises(ValueError, match="leading"):
        regret(sol, np.full((2, 4), 0.25), np.array([4, 0]))
