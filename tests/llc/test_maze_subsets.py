"""Maze state subsets for data-refined LLCs, on a hand-built level, and the llc measures'
refined options on a tiny trained run."""

import numpy as np
import pytest

from devrl.envs.levels import observation
from devrl.llc.maze_subsets import maze_state_mask
from devrl.measures import Context, get_measure
from devrl.measures.shared import state_buffer

# 5x5, start (4,0), corner (0,4), cheese (4,4). Column 0 and rows 0 and 4 are open, plus
# the dead end (2,1): (2,0) is the only junction; the paths to the corner (up) and to the
# cheese (right) part at the start, the decision square.
WALLS = np.array(
    [
        [0, 0, 0, 0, 0],
        [0, 1, 1, 1, 1],
        [0, 0, 1, 1, 1],
        [0, 1, 1, 1, 1],
        [0, 0, 0, 0, 0],
    ],
    dtype=bool,
)
CHEESE = (4, 4)
CELLS = [(r, c) for r in range(5) for c in range(5) if not WALLS[r, c] and (r, c) != CHEESE]
OBS = np.stack([observation(WALLS, cell, CHEESE) for cell in CELLS])


def _cells(which, **kw):
    return {cell for cell, m in zip(CELLS, maze_state_mask(OBS, which, **kw), strict=True) if m}


def test_subsets_of_a_hand_built_level():
    assert _cells("all") == set(CELLS)
    assert _cells("decision") == {(4, 0)}
    assert _cells("junction") == {(2, 0)}
    assert _cells("corridor") == set(CELLS) - {(2, 0)}
    assert _cells("near-cheese") == {(4, 3), (4, 2)}
    assert _cells("near-cheese", radius=0) == set()
    with pytest.raises(ValueError, match="which must be one of"):
        maze_state_mask(OBS, "corners")
    with pytest.raises(ValueError, match="radius"):
        maze_state_mask(OBS, "near-cheese", radius=-1)
    with pytest.raises(ValueError, match=r"\[n, 3, S, S\]"):
        maze_state_mask(OBS[0], "all")


CHEAP = {"samples": 64, "chains": 2, "draws": 4, "burnin": 2, "batch_size": 16}


def test_llc_measure_refined_options(tiny_run):
    step = tiny_run.steps[-1]
    policy = tiny_run.policy(step)
    whole = get_measure("llc-kl", **CHEAP)(policy, Context(tiny_run, step))
    head = get_measure("llc-kl", params="policy_head", **CHEAP)(policy, Context(tiny_run, step))
    assert "n" not in whole and whole[""] != head[""]
    corridor = get_measure("llc-kl", subset="corridor", **CHEAP)
    res = corridor(policy, Context(tiny_run, step))
    obs = state_buffer(policy, Context(tiny_run, step), "self", 64).obs  # same seed, same buffer
    assert res["n"] == maze_state_mask(obs, "corridor").sum() > 0
    with pytest.raises(ValueError, match="matches no parameter"):
        get_measure("llc-kl", params="nothing.here", **CHEAP)(policy, Context(tiny_run, step))
