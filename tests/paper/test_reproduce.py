"""The committed paper data redraw the committed figures and tables byte for byte.

Runs a section's experiment script with ``--quick --figures-only`` on the data committed
under ``paper/data/<section>/quick/`` (no checkpoints, no track caches) and compares every
figure and table it writes with the ones committed under ``paper/quick/``, as a fresh clone
would. A section whose committed data are missing fails the test.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAST = ["forms_validation", "tms_sgd"]
SLOW = ["maze_baseline", "llc_over_training", "tms_rl"]


def _redraw(section: str, tmp_path: Path) -> tuple[Path, Path]:
    figures, tables, data = tmp_path / "figures", tmp_path / "tables", tmp_path / "data"
    shutil.copytree(ROOT / "paper" / "data", data)  # a script may write derived tables there
    env = {**os.environ, "MPLBACKEND": "Agg", "SOURCE_DATE_EPOCH": "0"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    command = [sys.executable, str(ROOT / "experiments" / f"{section}.py"), "--quick"]
    command += ["--figures-only", "--out", str(data / section)]
    command += ["--figures", str(figures), "--tables", str(tables)]
    done = subprocess.run(
        command, check=False, cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return figures, tables


def _check(section: str, tmp_path: Path) -> None:
    assert (ROOT / "paper" / "data" / section / "quick").is_dir(), f"no committed data: {section}"
    figures, tables = _redraw(section, tmp_path)
    written = sorted(figures.iterdir()) + sorted(tables.iterdir())
    assert written, f"{section} --figures-only wrote nothing"
    for path in written:
        committed = ROOT / "paper" / "quick" / path.parent.name / path.name
        assert committed.is_file(), f"{path.name} is not committed under paper/quick/"
        assert path.read_bytes() == committed.read_bytes(), f"{path.name} differs from {committed}"


@pytest.mark.parametrize("section", FAST)
def test_committed_data_redraw_committed_outputs(section, tmp_path):
    _check(section, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("section", SLOW)
def test_committed_data_redraw_committed_outputs_slow(section, tmp_path):
    _check(section, tmp_path)
