"""The committed spec of the goal-misgeneralization study expands to the cells it promises."""

from pathlib import Path

from devrl.sweep import load_spec

SPEC = Path(__file__).parents[2] / "experiments" / "specs" / "goal_misgeneralization.json"


def test_study_spec_has_the_ten_cells_times_three_seeds():
    trials = load_spec(SPEC).trials()
    assert len(trials) == 30
    cells = {(t.config["size"], t.config["corner"], t.config["cheese_anywhere"]) for t in trials}
    assert cells == (
        {(13, c, 0.0) for c in (1, 2, 3, 5, 7)}
        | {(13, 1, s) for s in (0.0, 0.001, 0.01, 0.1)}
        | {(n, 1, 0.0) for n in (9, 11, 13)}
    )
    assert {t.config["seed"] for t in trials} == {0, 1, 2}
    assert all(t.config["total_timesteps"] == 1_500_000 for t in trials)
