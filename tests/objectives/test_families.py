import numpy as np
import pytest

from devrl.envs.levels import corner_cell, mouse_start
from devrl.envs.rewards import CellReward, CheeseReward, CornerReward, NegatedReward
from devrl.envs.solver import bfs_distances
from devrl.objectives.families import (
    cell_targets,
    reward_family,
    sample_levels,
    value_correlation,
    value_correlation_matrix,
)

OPEN = np.zeros((5, 5), dtype=bool)  # no walls: distances are Manhattan distances


def test_cell_targets_are_always_free_distinct_and_not_start_or_corner():
    cells = cell_targets(9, 23, seed=1)
    assert len(set(cells)) == 23 == len(cells)
    assert all(r % 2 == 0 and c % 2 == 0 for r, c in cells)
    assert mouse_start(9) not in cells and corner_cell(9) not in cells
    assert cell_targets(9, 4, seed=1) == cell_targets(9, 4, seed=1)
    for walls, _ in sample_levels(9, 5, seed=2):
        assert not any(walls[r, c] for r, c in cells)
    with pytest.raises(ValueError, match="n must be"):
        cell_targets(9, 24)


def test_reward_family_names_and_negations():
    fam = reward_family([(2, 4)])
    assert list(fam) == [
        "cheese",
        "corner",
        "cell_2_4",
        "neg_cheese",
        "neg_corner",
        "neg_cell_2_4",
    ]
    assert fam["cell_2_4"] == CellReward(2, 4)
    assert fam["neg_cell_2_4"] == NegatedReward(CellReward(2, 4))
    assert list(reward_family([], negations=False)) == ["cheese", "corner"]


def test_identical_rewards_correlate_perfectly():
    levels = sample_levels(7, 3, seed=0)
    assert value_correlation(CellReward(2, 2), CellReward(2, 2), levels) == pytest.approx(1.0)
    # cheese in the corner cell: the cheese and corner rewards are the same reward
    corner_levels = sample_levels(7, 3, corner=1, seed=0)
    assert value_correlation(CheeseReward(), CornerReward(), corner_levels) == pytest.approx(1.0)


def test_value_correlation_matches_the_closed_form_on_an_open_grid():
    gamma = 0.9
    a, b = (0, 0), (4, 4)
    va = gamma ** (bfs_distances(OPEN, a) - 1.0)
    vb = gamma ** (bfs_distances(OPEN, b) - 1.0)
    live = np.ones(OPEN.shape, dtype=bool)
    live[a] = live[b] = False  # terminal cells are not states the mouse acts in
    expected = np.corrcoef(va[live], vb[live])[0, 1]
    got = value_correlation(CellReward(*a), CellReward(*b), [(OPEN, (2, 2))], gamma)
    assert got == pytest.approx(expected, abs=1e-9)
    assert got < 0  # opposite corners: being near one means being far from the other


def test_pure_avoidance_has_no_direction():
    # avoiding a cell is free from every state, so V* is constant and correlation undefined
    levels = [(OPEN, (2, 2))]
    assert np.isnan(value_correlation(NegatedReward(CellReward(0, 0)), CellReward(0, 0), levels))
    # cheese-seeking while avoiding a cell (off every shortest path): the same values
    r = CheeseReward() + NegatedReward(CellReward(0, 0))
    assert value_correlation(r, CheeseReward(), levels) == pytest.approx(1.0)


def test_bad_inputs():
    with pytest.raises(TypeError, match="reward_a"):
        value_correlation("cheese", CheeseReward(), [(OPEN, (2, 2))])
    with pytest.raises(ValueError, match="levels"):
        value_correlation(CheeseReward(), CheeseReward(), [])
    with pytest.raises(ValueError, match="n must"):
        sample_levels(5, 0)


def test_matrix_agrees_with_pairwise_correlations():
    levels = sample_levels(7, 3, seed=4)
    fam = reward_family([(2, 2), (0, 0)])
    table = value_correlation_matrix(fam, levels).set_index(["reward_a", "reward_b"])
    assert len(table) == len(fam) ** 2
    for a, b in [("cheese", "cell_2_2"), ("cell_0_0", "corner"), ("cell_2_2", "cell_2_2")]:
        assert table.loc[(a, b), "correlation"] == pytest.approx(
            value_correlation(fam[a], fam[b], levels)
        )
    assert np.isnan(table.loc[("neg_cell_0_0", "cheese"), "correlation"])
    assert table.loc[("neg_cell_0_0", "cheese"), "levels_used"] == 0


def test_neighbouring_targets_correlate_and_the_terminal_cell_is_left_out():
    # on an open grid, targets one step apart have nearly the same distance map
    near = value_correlation(CellReward(0, 0), CellReward(0, 1), [(OPEN, (2, 2))])
    assert 0.9 < near < 1.0
