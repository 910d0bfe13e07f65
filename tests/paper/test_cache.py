"""Sections whose inputs have not changed are only redrawn; any changed input reruns them."""

from pathlib import Path

import pytest

from devrl.paper import build
from devrl.paper.build import Section
from devrl.paper.cache import (
    STAMP,
    changed_inputs,
    data_digest,
    is_fresh,
    section_key,
    source_files,
    write_stamp,
)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def repo(tmp_path):
    """A hand-built package: the script needs a, a needs b (lazily) and sub.x; c is unused."""
    _write(tmp_path / "devrl" / "__init__.py", "")
    _write(tmp_path / "devrl" / "a.py", "def f():\n    from devrl.b import g\n    return g\n")
    _write(tmp_path / "devrl" / "b.py", "from devrl.sub import x\ng = 1\n")
    _write(tmp_path / "devrl" / "c.py", "h = 2\n")
    _write(tmp_path / "devrl" / "sub" / "__init__.py", "")
    _write(tmp_path / "devrl" / "sub" / "x.py", "from . import y\nfrom .z import w\n")
    _write(tmp_path / "devrl" / "sub" / "y.py", "")
    _write(tmp_path / "devrl" / "sub" / "z.py", "w = 3\n")
    _write(tmp_path / "experiments" / "s.py", "import numpy\nfrom devrl import a\n")
    return tmp_path


def test_source_files_follow_imports_transitively(repo):
    names = {p.relative_to(repo).as_posix() for p in source_files(repo, repo / "experiments/s.py")}
    assert names == {
        "experiments/s.py",
        "devrl/__init__.py",
        "devrl/a.py",
        "devrl/b.py",
        "devrl/sub/__init__.py",
        "devrl/sub/x.py",
        "devrl/sub/y.py",
        "devrl/sub/z.py",
    }


def test_a_scripts_helper_module_in_experiments_is_part_of_its_sources(repo):
    """Scripts import helpers as ``import x_report`` or ``from experiments import x_report``."""
    _write(repo / "experiments" / "t_report.py", "from devrl import c\n")
    _write(
        repo / "experiments" / "t.py",
        "try:\n    import t_report\nexcept ImportError:\n    from experiments import t_report\n",
    )
    names = {p.relative_to(repo).as_posix() for p in source_files(repo, repo / "experiments/t.py")}
    assert {"experiments/t_report.py", "devrl/c.py"} <= names


def test_key_changes_with_imported_code_arguments_and_reads_only(repo):
    script = repo / "experiments" / "s.py"
    key = section_key(repo, script, {"quick": True, "seed": 0})
    assert key == section_key(repo, script, {"quick": True, "seed": 0})
    _write(repo / "devrl" / "c.py", "h = 3\n")  # not imported: same key
    assert section_key(repo, script, {"quick": True, "seed": 0})["key"] == key["key"]
    _write(repo / "devrl" / "sub" / "z.py", "w = 4\n")  # imported three levels down
    changed = section_key(repo, script, {"quick": True, "seed": 0})
    assert changed["key"] != key["key"]
    assert section_key(repo, script, {"quick": True, "seed": 1})["key"] != changed["key"]
    assert (
        section_key(repo, script, {"quick": True, "seed": 0}, {"o": "x"})["key"] != (changed["key"])
    )
    # the builder (imported through devrl.paper, computing nothing) is not an input
    _write(repo / "devrl" / "paper" / "__init__.py", "from devrl.paper.build import b\n")
    _write(repo / "devrl" / "paper" / "build.py", "b = 1\n")
    _write(script, "import numpy\nfrom devrl import a\nimport devrl.paper\n")
    key = section_key(repo, script, {"quick": True, "seed": 0})
    assert "devrl/paper/__init__.py" in key["sources"]
    assert "devrl/paper/build.py" not in key["sources"]
    _write(repo / "devrl" / "paper" / "build.py", "b = 2\n")
    assert section_key(repo, script, {"quick": True, "seed": 0})["key"] == key["key"]


def test_data_digest_skips_caches_stamps_and_the_other_mode(tmp_path):
    assert data_digest(tmp_path / "missing", quick=False) == ""
    _write(tmp_path / "table.csv", "a\n1\n")
    full = data_digest(tmp_path, quick=False)
    for noise in ("run/checkpoints/step.pt", "run/tracks/x.json", STAMP, "quick/q.csv", "t.tmp"):
        _write(tmp_path / noise, "noise")
    assert data_digest(tmp_path, quick=False) == full
    assert data_digest(tmp_path / "quick", quick=True) not in ("", full)
    _write(tmp_path / "table.csv", "a\n2\n")
    assert data_digest(tmp_path, quick=False) != full


def test_stamp_is_fresh_until_code_or_data_change(repo):
    script, data = repo / "experiments" / "s.py", repo / "data"
    key = section_key(repo, script, {"quick": False, "seed": 0})
    assert not is_fresh(data, key, quick=False)
    assert changed_inputs(data, key, quick=False) == ["no earlier run"]
    _write(data / "t.csv", "1")
    write_stamp(data, key, quick=False, seconds=3.0)
    assert is_fresh(data, key, quick=False) and changed_inputs(data, key, quick=False) == []
    _write(data / "t.csv", "2")  # data edited by hand or checked out from elsewhere
    assert not is_fresh(data, key, quick=False)
    assert changed_inputs(data, key, quick=False) == ["the data since that run"]
    _write(data / "t.csv", "1")
    _write(repo / "devrl" / "b.py", "from devrl.sub import x\ng = 5\n")
    new = section_key(repo, script, {"quick": False, "seed": 0})
    assert not is_fresh(data, new, quick=False)
    assert changed_inputs(data, new, quick=False) == ["devrl/b.py"]


_SCRIPT = """
import sys
from pathlib import Path
args = sys.argv[1:]
out = Path(args[args.index("--out") + 1]) / "quick"
with open(Path(__file__).parent.parent / "calls.txt", "a") as f:
    f.write(" ".join(a for a in args if a.startswith("--f")) + "\\n")
if "--figures-only" not in args:
    out.mkdir(parents=True, exist_ok=True)
    (out / "data.csv").write_text("x\\n1\\n")
"""


def test_build_paper_redraws_unchanged_sections_and_reruns_changed(tmp_path, monkeypatch):
    _write(tmp_path / "experiments" / "one.py", _SCRIPT)
    _write(tmp_path / "experiments" / "two.py", _SCRIPT)
    (tmp_path / "paper" / "sections").mkdir(parents=True)
    sections = (
        Section("one", "One", "experiments/one.py"),
        Section("two", "Two", "experiments/two.py", reads=("one",)),
    )
    monkeypatch.setattr(build, "SECTIONS", sections)
    monkeypatch.setattr(build, "repo_root", lambda: tmp_path)
    monkeypatch.setattr(build, "_compile_pdf", lambda out: None)
    calls = tmp_path / "calls.txt"

    def runs() -> list[str]:
        lines = calls.read_text().splitlines()
        calls.write_text("")
        return lines

    build.build_paper(quick=True)
    assert runs() == ["--figures", "--figures"]  # both computed (only --figures passed)
    assert (tmp_path / "paper" / "data" / "one" / "quick" / STAMP).is_file()
    build.build_paper(quick=True)
    assert runs() == ["--figures --figures-only"] * 2  # nothing changed: redrawn only
    build.build_paper(quick=True, force=True)
    assert runs() == ["--figures"] * 2
    # the data "two" reads changed: "two" reruns, "one" (whose own stamp is stale now) too
    _write(tmp_path / "paper" / "data" / "one" / "quick" / "data.csv", "x\n2\n")
    build.build_paper(quick=True, only=["two"])
    assert runs() == ["--figures"]
    _write(tmp_path / "experiments" / "one.py", _SCRIPT + "\n# edited\n")
    build.build_paper(quick=True)
    assert runs() == ["--figures", "--figures"]  # one's code changed, so one's data, so two
