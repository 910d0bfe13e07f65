"""Decision squares on hand-built mazes, and the choice of policies whose goal is known."""

import numpy as np
import pytest
import torch
from torch import nn

from devrl.envs import sample_level
from devrl.mechanisms import (
    SeekerPolicy,
    decision_choices,
    decision_square,
    decision_stats,
    level_outcomes,
    sample_decision_levels,
)


def grid(rows: list[str]) -> np.ndarray:
    """Walls from a picture: '#' wall, anything else free."""
    return np.array([[ch == "#" for ch in row] for row in rows])


# Up the left edge to the top row, then right to the corner; row 2 branches right.
BRANCH = grid([".....", ".####", ".....", ".####", ".####"])
# Like BRANCH without row 2, plus a dead end below the corner.
PAST_CORNER = grid([".....", ".###.", ".####", ".####", ".####"])
# A two-wide corridor up the left (loops), row 2 and row 0 leading right.
WIDE = grid([".....", "..###", ".....", "..###", "..###"])


def test_decision_square_where_the_paths_part():
    ds = decision_square(BRANCH, (2, 4))
    assert ds.cell == (2, 0) and ds.steps == 2
    assert ds.cheese_actions == (1,) and ds.corner_actions == (0,)  # right vs up


def test_no_decision_square_when_one_goal_is_on_the_way_to_the_other():
    assert decision_square(BRANCH, (0, 2)) is None  # cheese on the corner path
    assert decision_square(BRANCH, (0, 4)) is None  # cheese on the corner
    assert decision_square(BRANCH, (3, 0)) is None  # cheese next to the start, on the path
    assert decision_square(PAST_CORNER, (1, 4)) is None  # corner on the cheese path


def test_with_loops_the_walk_follows_common_shortest_steps():
    ds = decision_square(WIDE, (2, 4))
    assert ds.cell == (2, 1) and ds.steps == 3
    assert ds.cheese_actions == (1,) and ds.corner_actions == (0,)
    open_room = np.zeros((5, 5), dtype=bool)  # every cell lies on a monotone start->corner path
    assert all(
        decision_square(open_room, (r, c)) is None
        for r in range(5)
        for c in range(5)
        if (r, c) != (4, 0)
    )


def test_custom_start_and_corner():
    ds = decision_square(BRANCH, (2, 4), start=(0, 0), corner=(0, 4))
    assert ds.cell == (0, 0) and ds.steps == 0  # right to the corner, down to the cheese
    assert ds.cheese_actions == (2,) and ds.corner_actions == (1,)
    assert decision_square(BRANCH, (2, 4), corner=(2, 2)) is None


def test_decision_square_lies_on_both_shortest_paths_on_random_mazes():
    from devrl.envs import bfs_distances

    rng = np.random.default_rng(0)
    for _ in range(50):
        walls, cheese = sample_level(9, None, rng)
        ds = decision_square(walls, cheese)
        assert (ds is not None) == level_outcomes(walls, cheese)["decision_square"]
        if ds is None:
            continue
        d_s = bfs_distances(walls, (8, 0))
        d_c, d_k = bfs_distances(walls, cheese), bfs_distances(walls, (0, 8))
        assert d_s[ds.cell] == ds.steps
        assert d_s[ds.cell] + d_c[ds.cell] == d_s[cheese]
        assert d_s[ds.cell] + d_k[ds.cell] == d_s[0, 8]
        assert len(ds.cheese_actions) == len(ds.corner_actions) == 1  # perfect maze


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="walls"):
        decision_square(np.zeros((5, 4), dtype=bool), (0, 0))
    with pytest.raises(ValueError, match="cheese"):
        decision_square(BRANCH, (1, 1))
    with pytest.raises(ValueError, match="start"):
        decision_square(BRANCH, (2, 4), start=(1, 2))
    with pytest.raises(ValueError, match="levels"):
        sample_decision_levels(9, 0)


def test_sampled_levels_all_have_a_decision_square_and_are_seeded():
    levels, draws = sample_decision_levels(7, 20, seed=3)
    assert len(levels) == 20 and draws >= 20
    assert all(decision_square(w, c) is not None for w, c in levels)
    again, _ = sample_decision_levels(7, 20, seed=3)
    assert all((a[0] == b[0]).all() and a[1] == b[1] for a, b in zip(levels, again))


class Constant(nn.Module):
    """Logits that ignore the observation."""

    def __init__(self, probs):
        super().__init__()
        self.logits = torch.log(torch.tensor(probs, dtype=torch.float32))

    def forward(self, obs):
        return self.logits.expand(len(obs), 4), torch.zeros(len(obs))


def test_choice_at_the_decision_square_reads_the_right_actions():
    levels = [(BRANCH, (2, 4)), (BRANCH, (0, 2)), (BRANCH, (2, 3))]
    choices = decision_choices(Constant([0.7, 0.1, 0.1, 0.1]), levels)
    assert choices["level"].tolist() == [0, 2]  # the middle level has no decision square
    assert np.allclose(choices["p_corner"], 0.7) and np.allclose(choices["p_cheese"], 0.1)
    assert (choices["branch"] == "corner").all() and (choices["greedy"] == 0).all()
    other = decision_choices(Constant([0.1, 0.1, 0.7, 0.1]), levels)  # down: neither branch
    assert (other["branch"] == "other").all()


def test_seekers_score_zero_and_one():
    levels, _ = sample_decision_levels(7, 40, seed=1)
    cheese = decision_stats(decision_choices(SeekerPolicy("cheese"), levels))
    corner = decision_stats(decision_choices(SeekerPolicy("corner"), levels))
    assert cheese.levels == corner.levels == 40
    assert cheese.p_cheese == pytest.approx(1.0) and cheese.greedy_cheese == 1.0
    assert corner.p_cheese == pytest.approx(0.0, abs=1e-12) and corner.greedy_corner == 1.0
    assert corner.greedy_high < 0.1  # Wilson: 0 of 40 gives an upper bound ~0.088
    assert cheese.greedy_low > 0.9


def test_planted_mixture_is_recovered_within_its_interval():
    class Mixed(nn.Module):
        """Cheese action with probability 0.3 at every decision square."""

        def forward(self, obs):
            c = SeekerPolicy("cheese")(obs).softmax(-1)
            k = SeekerPolicy("corner")(obs).softmax(-1)
            return torch.log(0.3 * c + 0.7 * k + 1e-12)

    levels, _ = sample_decision_levels(7, 60, seed=2)
    stats = decision_stats(decision_choices(Mixed(), levels))
    assert stats.p_cheese == pytest.approx(0.3, abs=1e-6)
    assert stats.greedy_cheese == 0.0 and stats.p_corner == pytest.approx(0.7, abs=1e-6)
