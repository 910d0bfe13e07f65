"""``devrl track``: measures over a run's checkpoints, printed and saved; --list; errors."""

import pandas as pd

from devrl.cli import main

CHEAP_LLC = {"samples": 64, "chains": 2, "draws": 4, "burnin": 2, "batch_size": 16}


def test_track_prints_and_saves_measures(run_dir, tmp_path, capsys):
    out = tmp_path / "t.csv"
    code = main(
        [
            "track",
            str(run_dir),
            "--measure",
            "success",
            "--measure",
            "llc-value",
            "--set",
            "success.episodes=16",
            *[f"--set=llc-value.{k}={v}" for k, v in CHEAP_LLC.items()],
            "--steps",
            "100",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "llc-value" in text and "success" in text
    table = pd.read_csv(out)
    assert set(table["step"]) == {100}
    assert main(["track", "--list"]) == 0
    assert "llc-regret" in capsys.readouterr().out
    assert main(["track", str(run_dir), "--measure", "nope"]) == 2


def test_track_refuses_incomplete_requests(run_dir, capsys):
    assert main(["track", "--measure", "success"]) == 2
    assert "give a RUN directory" in capsys.readouterr().err
    assert main(["track", str(run_dir), "-m", "success", "--set", "return.episodes=4"]) == 2
    assert "not requested with --measure" in capsys.readouterr().err


def test_warnings_print_as_one_line_naming_the_command(run_dir, capsys):
    import warnings

    import torch

    from devrl.runs import Run

    run = Run.load(run_dir)
    net = run.policy(100)
    with torch.no_grad():
        next(net.parameters()).view(-1)[0] = float("nan")
    run.save_checkpoint(200, net)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        code = main(
            ["track", str(run_dir), "--measure", "success", "--set", "success.episodes=4"]
            + ["--steps", "200"]
        )
    assert code == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "warning:" in ln]
    assert len(lines) == 1 and lines[0].startswith("devrl track: warning: ")
    assert "NaN" in lines[0] and "NonFiniteWeightsWarning" in lines[0]
    assert "warnings.warn(" not in err  # no source line
