"""experiments/shards.py redraws its section from the committed quick tables alone, and every
macro its prose uses is written."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_figures_only_rebuilds_every_macro_the_prose_uses(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "paper" / "data" / "shards" / "quick", data / "quick")
    figures, tables = tmp_path / "figures", tmp_path / "tables"
    cmd = [sys.executable, str(ROOT / "experiments" / "shards.py"), "--quick", "--figures-only"]
    cmd += ["--out", str(data), "--figures", str(figures), "--tables", str(tables)]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, timeout=300)
    macros = (tables / "shards_macros.tex").read_text()
    defined = set(re.findall(r"\\newcommand\{\\(\w+)\}", macros))
    used = set(re.findall(r"\\(sh[A-Z]\w*)", (ROOT / "paper/sections/shards.tex").read_text()))
    if "shPilotSize" not in defined:  # the 13x13 pilot is full mode's (\ifdefined)
        used = {u for u in used if "Pilot" not in u}
    assert used and used <= defined, sorted(used - defined)
    assert "{nan}" not in macros.lower()
    assert {p.name for p in figures.iterdir()} >= {"shards_final.pdf", "shards_over_training.pdf"}
    assert (tables / "shards.tex").is_file() and (tables / "shards_forms.tex").is_file()
    # the per-agent tables are the only input: the summaries come back byte for byte
    for summary in (data / "quick").glob("summary_*.csv"):
        committed = ROOT / "paper" / "data" / "shards" / "quick" / summary.name
        assert summary.read_bytes() == committed.read_bytes(), summary.name
