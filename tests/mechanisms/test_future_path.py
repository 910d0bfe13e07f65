"""Tests for devrl.mechanisms.future_path: hand-built mazes with known labels, and rollouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from devrl.envs import MazeVecEnv
from devrl.envs.levels import ACTION_DELTAS, corner_cell
from devrl.envs.solver import bfs_distances
from devrl.mechanisms import (
    HORIZONS,
    episode_labels,
    shortest_path_labels,
    trajectory_labels,
)
from devrl.rollouts import collect

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3

# A snake corridor: (4,0) -> (4,4) -> (2,4) -> (2,0) -> (0,0) -> (0,4), one path.
SNAKE = np.array(
    [
        [0, 0, 0, 0, 0],
        [0, 1, 1, 1, 1],
        [0, 0, 0, 0, 0],
        [1, 1, 1, 1, 0],
        [0, 0, 0, 0, 0],
    ],
    dtype=bool,
)


def _cells(direction_plane: np.ndarray) -> dict[tuple[int, int], int]:
    """{cell: direction} of the entered cells of one [S, S] direction plane."""
    return {
        (int(r), int(c)): int(direction_plane[r, c]) for r, c in np.argwhere(direction_plane >= 0)
    }


def test_trajectory_standing_still_and_episode_end():
    # Right, bump the wall above (stays put), right.
    pos = np.array([(4, 0), (4, 1), (4, 1), (4, 2)])
    entered, direction = trajectory_labels(pos, 5, horizons=(1, 2, 4))
    assert entered.shape == direction.shape == (4, 3, 5, 5)
    assert entered.dtype == bool and direction.dtype == np.int8
    np.testing.assert_array_equal(entered, direction >= 0)
    assert _cells(direction[0, 0]) == {(4, 1): RIGHT}
    assert _cells(direction[0, 1]) == {(4, 1): RIGHT}  # the second step enters nothing
    assert _cells(direction[0, 2]) == {(4, 1): RIGHT, (4, 2): RIGHT}  # the episode ends at 3
    assert _cells(direction[1, 0]) == {}  # standing still against a wall enters nothing
    assert _cells(direction[1, 1]) == {(4, 2): RIGHT}
    assert _cells(direction[2, 0]) == {(4, 2): RIGHT}
    assert not entered[3].any()  # the last position has no future


def test_trajectory_revisits_keep_the_first_entry():
    # Up into (2,4), left, then back right into (2,4): entered twice from two directions.
    pos = np.array([(3, 4), (2, 4), (2, 3), (2, 4), (3, 4)])
    _, direction = trajectory_labels(pos, 5, horizons=(1, 2, 4, 8))
    assert _cells(direction[0, 0]) == {(2, 4): UP}
    assert _cells(direction[0, 2]) == {(2, 4): UP, (2, 3): LEFT, (3, 4): DOWN}
    assert _cells(direction[1, 0]) == {(2, 3): LEFT}
    assert _cells(direction[1, 1]) == {(2, 3): LEFT, (2, 4): RIGHT}
    assert _cells(direction[2, 0]) == {(2, 4): RIGHT}
    # The start cell is entered when the mouse comes back to it.
    assert _cells(direction[1, 2]) == {(2, 3): LEFT, (2, 4): RIGHT, (3, 4): DOWN}
    np.testing.assert_array_equal(direction[0, 3], direction[0, 2])  # nothing after step 4


SNAKE_TO_CHEESE = [  # from (4,0) to the cheese at (2,2)
    ((4, 1), RIGHT),
    ((4, 2), RIGHT),
    ((4, 3), RIGHT),
    ((4, 4), RIGHT),
    ((3, 4), UP),
    ((2, 4), UP),
    ((2, 3), LEFT),
    ((2, 2), LEFT),
]
SNAKE_TO_CORNER = [  # from (2,2) to the corner (0,4)
    ((2, 1), LEFT),
    ((2, 0), LEFT),
    ((1, 0), UP),
    ((0, 0), UP),
    ((0, 1), RIGHT),
    ((0, 2), RIGHT),
    ((0, 3), RIGHT),
    ((0, 4), RIGHT),
]


def test_shortest_path_labels_on_a_corridor():
    pos = np.array([(4, 0), (2, 2)])
    _, direction = shortest_path_labels(SNAKE, pos, (2, 2))
    for k, n in enumerate(HORIZONS):
        assert _cells(direction[0, k]) == dict(SNAKE_TO_CHEESE[:n])
    assert not (direction[1] >= 0).any()  # on the target: nothing ahead
    _, direction = shortest_path_labels(SNAKE, pos, corner_cell(5), horizons=(3, 8, 16))
    assert _cells(direction[1, 0]) == dict(SNAKE_TO_CORNER[:3])
    assert _cells(direction[1, 1]) == _cells(direction[1, 2]) == dict(SNAKE_TO_CORNER)
    # The solver's path walked as a trajectory gives the same labels at its start.
    path = np.array([(4, 0), *(cell for cell, _ in SNAKE_TO_CHEESE)])
    own = trajectory_labels(path, 5)[1][0]
    np.testing.assert_array_equal(own, shortest_path_labels(SNAKE, path[:1], (2, 2))[1][0])


def test_shortest_path_tie_break_on_an_open_grid():
    # Every monotone path is shortest; the lowest-numbered action (up) is taken first.
    _, direction = shortest_path_labels(np.zeros((3, 3), bool), np.array([(2, 0)]), (0, 2))
    assert _cells(direction[0, 2]) == {(1, 0): UP, (0, 0): UP, (0, 1): RIGHT, (0, 2): RIGHT}


def test_bad_inputs():
    with pytest.raises(ValueError, match="one cell per step"):
        trajectory_labels(np.array([(4, 0), (4, 2)]), 5)
    with pytest.raises(ValueError, match="positions must lie inside"):
        trajectory_labels(np.array([(-1, -1)]), 5)
    with pytest.raises(ValueError, match=r"\[T, 2\]"):
        trajectory_labels(np.array([4, 0]), 5)
    with pytest.raises(ValueError, match="horizons"):
        trajectory_labels(np.array([(4, 0)]), 5, horizons=(0, 2))
    with pytest.raises(ValueError, match="horizons"):
        trajectory_labels(np.array([(4, 0)]), 5, horizons=(1.5,))
    walled = SNAKE.copy()
    walled[3, 4] = True  # cuts the bottom row off the rest
    with pytest.raises(ValueError, match="reach target"):
        shortest_path_labels(walled, np.array([(4, 0)]), (2, 2))
    with pytest.raises(ValueError, match="target"):
        shortest_path_labels(SNAKE, np.array([(4, 0)]), (1, 1))  # a wall


class FixedPolicy(nn.Module):
    """The same action distribution everywhere: a random policy."""

    def __init__(self, probs):
        super().__init__()
        self.logits = nn.Parameter(torch.log(torch.tensor(probs, dtype=torch.float32)))

    def forward(self, obs):
        return self.logits.expand(len(obs), -1), torch.zeros(len(obs))


@pytest.mark.parametrize("greedy", [False, True])
def test_rollout_labels_match_positions(greedy):
    env = MazeVecEnv(num_envs=4, size=7, corner=None, max_steps=40)
    roll = collect(FixedPolicy([0.3, 0.3, 0.2, 0.2]), env, episodes=8, seed=3, greedy=greedy)
    env.close()
    moved_states = 0
    for ep in range(roll.num_episodes):
        lab = episode_labels(roll, ep)
        rows = np.flatnonzero(roll.episode == ep)
        T, S = len(rows), roll.obs.shape[-1]
        pos = lab.positions
        assert pos.shape == (T + 1, 2) and lab.own_entered.shape == (T, len(HORIZONS), S, S)
        walls = roll.obs[rows[0], 0].astype(bool)
        cheese = tuple(roll.cheese_pos[rows[0]])
        d_cheese = bfs_distances(walls, cheese)
        d_corner = bfs_distances(walls, corner_cell(S))
        for t in range(T):
            for k, n in enumerate(HORIZONS):
                # Own labels: the first entry of each cell among the next n moves.
                want: dict[tuple[int, int], int] = {}
                for i in range(t + 1, min(t + n, T) + 1):
                    delta = pos[i] - pos[i - 1]
                    if delta.any():
                        a = int(np.flatnonzero((ACTION_DELTAS == delta).all(1))[0])
                        want.setdefault((int(pos[i, 0]), int(pos[i, 1])), a)
                assert _cells(lab.own_direction[t, k]) == want
                # Solver labels: min(n, d) distinct cells, each one step closer to the goal.
                r, c = pos[t]
                for ent, dist in (
                    (lab.cheese_entered[t, k], d_cheese),
                    (lab.corner_entered[t, k], d_corner),
                ):
                    assert ent.sum() == min(n, dist[r, c])
                    assert set(dist[ent].tolist()) == set(range(dist[r, c] - ent.sum(), dist[r, c]))
            moved_states += bool((pos[t + 1] != pos[t]).any())
            np.testing.assert_array_equal(
                lab.own_entered[t, 0].sum(), int((pos[t + 1] != pos[t]).any())
            )
        if roll.terminated[rows[-1]]:  # found the cheese: the last move enters it
            assert lab.own_entered[-1, 0][cheese]
    assert moved_states > 0


def test_episode_labels_refuses_a_cut_off_episode():
    env = MazeVecEnv(num_envs=1, size=7, corner=None, max_steps=40)
    roll = collect(FixedPolicy([0.25, 0.25, 0.25, 0.25]), env, steps=3, seed=0)
    env.close()
    with pytest.raises(ValueError, match="cut off"):
        episode_labels(roll, 0)
    with pytest.raises(ValueError, match="not in the rollout"):
        episode_labels(roll, 99)
