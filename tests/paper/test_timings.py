"""A recomputation that changes only measured times leaves the committed data and macros be."""

import gzip
import json
from pathlib import Path

from devrl.paper import build
from devrl.paper.build import Section
from devrl.paper.timings import is_timing, keep_committed_timings, snapshot, without_timings


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_timing_names():
    for name in ("seconds", "charts/SPS", "llc-action/seconds", "cpu_seconds_per_estimate"):
        assert is_timing(name), name
    for name in ("value", "llc-action", "steps", "lr", "episodes", "transitions"):
        assert not is_timing(name), name


def test_without_timings_blanks_columns_tidy_rows_and_keys_only(tmp_path):
    wide = "step,loss,charts/SPS\n1,0.5,1947.6\n2,0.4,3527.3\n"
    other = "step,loss,charts/SPS\n1,0.5,1400.1\n2,0.4,1818.0\n"
    assert without_timings(_write(tmp_path / "a.csv", wide)) == without_timings(
        _write(tmp_path / "b.csv", other)
    )
    assert without_timings(_write(tmp_path / "c.csv", other.replace("0.4", "0.3"))) != (
        without_timings(tmp_path / "a.csv")
    )
    tidy = "step,measure,value,stderr\n0,llc/seconds,0.75,\n0,llc,8.1,0.2\n"
    slower = tidy.replace("0.75", "0.81")
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(tidy.encode(), mtime=0))
    first = without_timings(path)
    path.write_bytes(gzip.compress(slower.encode(), mtime=0))
    assert without_timings(path) == first
    path.write_bytes(gzip.compress(slower.replace("8.1", "8.2").encode(), mtime=0))
    assert without_timings(path) != first  # a value is not a timing
    record = {"lr": 1e-4, "cpu_seconds_per_estimate": 0.6, "nested": {"timing_s": [1.0]}}
    stripped = without_timings(_write(tmp_path / "r.json", json.dumps(record)))
    record |= {"cpu_seconds_per_estimate": 0.7, "nested": {"timing_s": [2.0]}}
    assert without_timings(_write(tmp_path / "r.json", json.dumps(record))) == stripped
    assert without_timings(_write(tmp_path / "n.txt", "1.0")) == b"1.0"


def test_committed_timings_come_back_only_when_nothing_else_changed(tmp_path):
    data = tmp_path / "data"
    _write(data / "metrics.csv", "step,seconds\n1,0.5\n")
    _write(data / "values.csv", "step,value\n1,3\n")
    before = snapshot(data, quick=True)
    _write(data / "metrics.csv", "step,seconds\n1,0.9\n")  # a new measurement, same data
    assert keep_committed_timings(before, quick=True) == ["metrics.csv"]
    assert (data / "metrics.csv").read_text() == "step,seconds\n1,0.5\n"
    assert keep_committed_timings(before, quick=True) == []  # nothing changed at all
    _write(data / "metrics.csv", "step,seconds\n1,0.9\n")
    _write(data / "values.csv", "step,value\n1,4\n")  # the data changed: the new time stays
    assert keep_committed_timings(before, quick=True) == []
    assert (data / "metrics.csv").read_text() == "step,seconds\n1,0.9\n"
    _write(data / "values.csv", "step,value\n1,3\n")
    _write(data / "extra.csv", "a\n1\n")  # a file more is a change too
    assert keep_committed_timings(before, quick=True) == []


def test_a_run_lock_left_by_the_recomputation_is_not_a_change(tmp_path):
    """A fresh clone has no run/.lock; the section's first training run creates one."""
    data = tmp_path / "data"
    _write(data / "run_seed0" / "metrics.csv", "step,charts/SPS\n1,900.5\n")
    before = snapshot(data, quick=True)
    _write(data / "run_seed0" / "metrics.csv", "step,charts/SPS\n1,1200.25\n")
    _write(data / "run_seed0" / ".lock", "")
    assert keep_committed_timings(before, quick=True) == ["run_seed0/metrics.csv"]
    assert (data / "run_seed0" / "metrics.csv").read_text() == "step,charts/SPS\n1,900.5\n"


#: A section that measures its own run time into its data, and quotes it in a macro drawn
#: from the data; a marker file makes its data change when asked.
_SCRIPT = """
import sys, time
from pathlib import Path
args = sys.argv[1:]
out = Path(args[args.index("--out") + 1]) / "quick"
tables = Path(args[args.index("--tables") + 1])
root = Path(__file__).parent.parent
if "--figures-only" not in args:
    start = time.perf_counter_ns()
    value = (root / "value.txt").read_text().strip()
    seconds = (time.perf_counter_ns() - start + time.time_ns() % 10**6) / 1e9
    out.mkdir(parents=True, exist_ok=True)
    (out / "data.csv").write_text(f"x,seconds\\n{value},{seconds!r}\\n")
x, seconds = (out / "data.csv").read_text().splitlines()[1].split(",")
tables.mkdir(parents=True, exist_ok=True)
macros = f"\\\\newcommand{{\\\\fakeX}}{{{x}}}\\n\\\\newcommand{{\\\\fakeSeconds}}{{{seconds}}}\\n"
(tables / "fake_macros.tex").write_text(macros)
"""


def test_a_recomputation_with_identical_data_leaves_timings_and_macros_untouched(
    tmp_path, monkeypatch
):
    _write(tmp_path / "experiments" / "fake.py", _SCRIPT)
    _write(tmp_path / "value.txt", "1")
    (tmp_path / "paper" / "sections").mkdir(parents=True)
    monkeypatch.setattr(build, "SECTIONS", (Section("fake", "Fake", "experiments/fake.py"),))
    monkeypatch.setattr(build, "repo_root", lambda: tmp_path)
    monkeypatch.setattr(build, "_compile_pdf", lambda out: None)
    data = tmp_path / "paper" / "data" / "fake" / "quick" / "data.csv"
    macros = tmp_path / "paper" / "quick" / "tables" / "fake_macros.tex"

    build.build_paper(quick=True)  # the first run: its measured time becomes the record
    committed = data.read_bytes(), macros.read_bytes()
    assert b"fakeSeconds" in committed[1]
    build.build_paper(quick=True, force=True)  # recomputed, measured again, same data
    assert (data.read_bytes(), macros.read_bytes()) == committed
    build.build_paper(quick=True, force=True, retime=True)  # asked for: the new time
    retimed = data.read_bytes(), macros.read_bytes()
    assert retimed[0] != committed[0] and retimed[1] != committed[1]
    _write(tmp_path / "value.txt", "2")  # the data change: their new time comes with them
    build.build_paper(quick=True, force=True)
    assert b"{2}" in macros.read_bytes()
    assert data.read_bytes().split(b",")[-1] != retimed[0].split(b",")[-1]


def test_files_git_ignores_are_not_data(tmp_path):
    """A section's git-ignored run directories (goal_switch's runs/) are absent from a fresh
    clone; created by the recomputation, they must not count as a change."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("/data/runs/\n")
    data = tmp_path / "data"
    _write(data / "timing.json", '{"cpu_seconds": {"train": 1.5}}')
    _write(data / "values.csv", "step,value\n1,3\n")
    before = snapshot(data, quick=True)
    _write(data / "timing.json", '{"cpu_seconds": {"train": 1.7}}')
    _write(data / "runs" / "seed0" / "metrics.csv", "step,value\n1,2\n")
    assert keep_committed_timings(before, quick=True) == ["timing.json"]
