"""``devrl eval`` prints the summary of :func:`devrl.evaluation.evaluate_run` and its errors."""

import pytest

from devrl.cli import main


def test_eval_prints_summary_and_rejects_bad_size(run_dir, tmp_path, capsys):
    out = tmp_path / "eval.csv"
    assert main(["eval", str(run_dir), "--episodes", "6", "--corner", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "corner=2" in text and "anywhere" in text and "success" in text
    assert out.is_file()
    with pytest.raises(SystemExit, match="does not fit this network"):
        main(["eval", str(run_dir), "--size", "7"])
    with pytest.raises(SystemExit, match="no config.json"):
        main(["eval", str(tmp_path / "missing")])
    with pytest.raises(SystemExit, match="--episodes must be >= 1"):
        main(["eval", str(run_dir), "--episodes", "0"])
