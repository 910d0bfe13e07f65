"""The committed spec of the goal-misgeneralization study expands to the cells it promises."""

from pathlib import Path

from devrl.sweep import load_spec

SPEC = Path(__file__).parents[2] / "experiments" / "specs" / "goal_misgeneralization.json"


def test_study_spec_has_the_ten_cells_times_five_seeds():
    spec = load_spec(SPEC)
    trials = spec.trials()
    assert len(trials) == 50
    cells = {(t.config["size"], t.config["corner"], t.config["cheese_anywhere"]) for t in trials}
    assert cells == (
        {(9, c, 0.0) for c in (1, 2, 3, 5, 7)}
        | {(9, 1, s) for s in (0.0, 0.001, 0.01, 0.1)}
        | {(n, 1, 0.0) for n in (7, 9, 11)}
    )
    assert {t.config["seed"] for t in trials} == set(range(5))
    assert all(t.config["total_timesteps"] == 1_000_000 for t in trials)
    assert all(t.config["checkpoints"] == 25 for t in trials)
    names = {m["name"] for m in spec.measures}
    assert {"success-vs-corner", "corner-first", "decision-cheese"} <= names
