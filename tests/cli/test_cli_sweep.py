"""`devrl sweep SPEC`: list, run, and clear one-line errors."""

import json

import pandas as pd

from devrl.cli import main

TINY = {
    "size": 5,
    "num_envs": 4,
    "num_steps": 8,
    "total_timesteps": 64,
    "num_minibatches": 2,
    "update_epochs": 1,
    "channels": 2,
    "hidden": 8,
    "checkpoints": 2,
}


def _spec(tmp_path, **changes):
    spec = {"name": "cli", "base": TINY, "grid": {"corner": [1, 3]}, "seeds": 1, **changes}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def test_list_prints_the_trials(tmp_path, capsys):
    assert main(["sweep", str(_spec(tmp_path)), "--list", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["corner=1,seed=0", "corner=3,seed=0", f"2 trials -> {tmp_path / 'o'}"]


def test_run_writes_the_results_table(tmp_path, capsys):
    spec = _spec(tmp_path, grid={"corner": [3]}, measures=["return"])
    argv = ["sweep", str(spec), "--out", str(tmp_path / "o"), "--workers", "1"]
    assert main(argv) == 0
    assert "1 trials (finished 1, failed 0, skipped 0)" in capsys.readouterr().out
    results = pd.read_csv(tmp_path / "o" / "results.csv")
    assert set(results["measure"]) == {"return"} and (results["corner"] == 3).all()


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "none.json")]) == 2
    assert main(["sweep", str(_spec(tmp_path, grid={"cornr": [1]}))]) == 2
    assert main(["sweep", str(_spec(tmp_path)), "--address", "auto"]) == 2
    err = capsys.readouterr().err
    assert "no sweep spec" in err and "not PPOConfig fields" in err and "--backend ray" in err
    assert "Traceback" not in err
