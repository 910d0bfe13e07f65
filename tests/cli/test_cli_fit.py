"""``devrl fit`` prints the comparison table; rows with missing values are dropped and counted."""

import numpy as np
import pandas as pd
import pytest

from devrl.cli import main
from devrl.forms.synthetic import checkpoints, true_curve


@pytest.fixture
def curve():
    t = checkpoints(40)
    return t, true_curve("logistic_log", t) + np.random.default_rng(0).normal(0, 0.03, t.size)


def test_fit_prints_comparison(curve, tmp_path, capsys):
    t, y = curve
    path = tmp_path / "track.csv"
    pd.DataFrame({"step": t, "value": y, "measure": "llc"}).to_csv(path, index=False)
    assert (
        main(["fit", str(path), "--x", "step", "--y", "value", "--forms", "logistic_log,power,exp"])
        == 0
    )
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["form", "k", "aicc"]
    assert lines[1].split()[0] == "logistic_log"
    pq = tmp_path / "track.parquet"
    pd.read_csv(path).to_parquet(pq)
    assert main(["fit", str(pq), "--forms", "exp", "--query", "measure == 'llc'"]) == 0
    assert main(["fit", str(path), "--y", "loss"]) == 1
    assert "column 'loss' not in" in capsys.readouterr().err


def test_fit_drops_rows_with_missing_values(curve, tmp_path, capsys):
    """Training metrics have NaN where no episode finished; the CLI drops and reports them."""
    t, y = curve
    y = y.copy()
    y[[3, 7]] = np.nan
    path = tmp_path / "metrics.csv"
    pd.DataFrame({"step": t, "success": y}).to_csv(path, index=False)
    assert main(["fit", str(path), "--x", "step", "--y", "success", "--forms", "logistic_log"]) == 0
    captured = capsys.readouterr()
    assert "dropping 2 of 40 rows" in captured.err
    assert captured.out.strip().splitlines()[1].split()[0] == "logistic_log"
    assert "failed" not in captured.out


def test_fit_lists_forms_and_names_missing_files(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "any.csv"), "--list-forms"]) == 0
    assert "logistic_log" in capsys.readouterr().out
    assert main(["fit", str(tmp_path / "missing.csv")]) == 1
    assert "no such file" in capsys.readouterr().err
