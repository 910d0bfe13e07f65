"""Exact seeker baselines: hand-counted mazes, sampled levels, and rollouts of seeker policies."""

import numpy as np
import pytest

from devrl.envs import sample_level
from devrl.mechanisms import SeekerPolicy, level_outcomes, maze_rates, seeker_baselines
from devrl.rollouts import evaluate


def grid(rows: list[str]) -> np.ndarray:
    """Walls from a picture: '#' wall, anything else free."""
    return np.array([[ch == "#" for ch in row] for row in rows])


# Up the left edge to the top row, then right to the corner; row 2 branches right.
BRANCH = grid([".....", ".####", ".....", ".####", ".####"])
# Like BRANCH without row 2, plus a dead end below the corner.
PAST_CORNER = grid([".....", ".###.", ".####", ".####", ".####"])


def test_level_outcomes_on_hand_built_levels():
    assert level_outcomes(BRANCH, (2, 4)) == {
        "corner_seeker_success": False,
        "cheese_seeker_success": True,
        "decision_square": True,
        "cheese_seeker_corner_first": False,
    }
    on_path = level_outcomes(BRANCH, (0, 2))
    assert on_path["corner_seeker_success"] and not on_path["decision_square"]
    past = level_outcomes(PAST_CORNER, (1, 4))
    assert past["cheese_seeker_corner_first"] and not past["corner_seeker_success"]
    at_corner = level_outcomes(BRANCH, (0, 4))
    assert at_corner["corner_seeker_success"] and not at_corner["cheese_seeker_corner_first"]
    # a time limit shorter than the path: the cheese-seeker fails (6 steps needed)
    assert not level_outcomes(BRANCH, (2, 4), max_steps=5)["cheese_seeker_success"]


def test_maze_rates_count_cheese_cells_by_hand():
    # BRANCH: 13 free cells, 12 for the cheese; 8 on the corner path, 4 past the fork.
    rates = maze_rates(BRANCH, None)
    assert rates["corner_seeker_success"] == pytest.approx(8 / 12)
    assert rates["decision_square"] == pytest.approx(4 / 12)
    assert rates["cheese_seeker_corner_first"] == 0.0
    assert rates["cheese_seeker_success"] == 1.0
    assert maze_rates(BRANCH, 1)["corner_seeker_success"] == 1.0
    assert maze_rates(BRANCH, 3)["corner_seeker_success"] == pytest.approx(3 / 6)
    assert maze_rates(PAST_CORNER, None)["cheese_seeker_corner_first"] == pytest.approx(1 / 9)


def test_baselines_agree_with_counting_sampled_levels():
    """Exact-over-cheese rates match the plain frequency over levels drawn with the cheese."""
    table = seeker_baselines(7, [None, 3], mazes=400, seed=5).set_index(["corner", "quantity"])
    rng = np.random.default_rng(11)
    for corner, label in ((None, "anywhere"), (3, 3)):
        outs = [level_outcomes(*sample_level(7, corner, rng)) for _ in range(1500)]
        for name in ("corner_seeker_success", "decision_square", "cheese_seeker_corner_first"):
            freq = np.mean([o[name] for o in outs])
            row = table.loc[(label, name)]
            assert row["low"] <= row["estimate"] <= row["high"]
            se = np.sqrt(freq * (1 - freq) / 1500) + (row["high"] - row["low"]) / 4
            assert abs(freq - row["estimate"]) < 4 * se + 1e-9, (label, name)


def test_corner_one_is_trivial_and_9x9_anywhere_is_about_0_38():
    table = seeker_baselines(9, [1, None], mazes=300, seed=0).set_index(["corner", "quantity"])
    assert table.loc[(1, "corner_seeker_success"), "estimate"] == 1.0
    assert table.loc[(1, "decision_square"), "estimate"] == 0.0
    anywhere = table.loc[("anywhere", "corner_seeker_success")]
    assert 0.36 < anywhere["estimate"] < 0.41  # 0.384 [0.381, 0.387] with 2000 mazes
    assert anywhere["high"] - anywhere["low"] < 0.03


def test_seeker_policies_score_their_exact_baseline_in_rollouts():
    for goal in ("corner", "cheese"):
        frame = evaluate(SeekerPolicy(goal), {"size": 7, "corner": None}, episodes=60, seed=4)
        assert len(frame) == 60
        if goal == "cheese":
            assert frame["reached_cheese"].all()
    # the corner-seeker's success is exactly its per-level baseline (same levels)
    from devrl.mechanisms import pursuit_episodes

    table = pursuit_episodes(SeekerPolicy("corner"), 7, episodes=60, seed=4)
    assert (table["reached_cheese"] == table["corner_seeker_success"]).all()


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="size"):
        seeker_baselines(8)
    with pytest.raises(ValueError, match="mazes"):
        seeker_baselines(7, mazes=0)
    with pytest.raises(ValueError, match="corner"):
        maze_rates(BRANCH, 7)
    with pytest.raises(ValueError, match="cheese"):
        level_outcomes(BRANCH, (1, 1))
    with pytest.raises(ValueError, match="goal"):
        SeekerPolicy("north")
