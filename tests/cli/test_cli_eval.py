"""``devrl eval`` prints the summary of :func:`devrl.evaluation.evaluate_run` and its errors."""

from devrl.cli import main


def test_eval_prints_summary_and_rejects_bad_size(run_dir, tmp_path, capsys):
    out = tmp_path / "eval.csv"
    assert main(["eval", str(run_dir), "--episodes", "6", "--corner", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "corner=2" in text and "anywhere" in text and "success" in text
    assert out.is_file()
    assert main(["eval", str(run_dir), "--size", "7"]) == 1
    assert "does not fit this network" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing")]) == 1
    assert "no config.json" in capsys.readouterr().err
    assert main(["eval", str(run_dir), "--episodes", "0"]) == 2
    err = capsys.readouterr().err
    assert "usage: devrl eval" in err and "--episodes: expected an integer >= 1, got 0" in err
