"""devrl paper --workers: sections side by side, each after the sections it reads."""

from pathlib import Path

import pytest

from devrl.paper.build import SECTIONS, Section

SCRIPT = """
import sys, time
from pathlib import Path
out = Path(sys.argv[sys.argv.index('--out') + 1]).parent
name, wait_for, needs = {name!r}, {wait_for!r}, {needs!r}
(out / f'{{name}}.started').write_text('')
deadline = time.time() + 60
while wait_for and not (out / f'{{wait_for}}.started').exists():
    if time.time() > deadline:
        raise SystemExit(f'{{wait_for}} never ran beside {{name}}')
    time.sleep(0.05)
if needs and not (out / f'{{needs}}.done').exists():
    raise SystemExit(f'{{name}} started before {{needs}} finished')
time.sleep(0.2)
(out / f'{{name}}.done').write_text('')
"""


def _sections(tmp_path: Path) -> tuple[Section, ...]:
    (tmp_path / "experiments").mkdir()
    (tmp_path / "paper" / "sections").mkdir(parents=True)
    (tmp_path / "paper" / "data").mkdir()
    specs = {"a": ("c", None), "b": (None, "a"), "c": ("a", None)}
    for name, (wait_for, needs) in specs.items():
        text = SCRIPT.format(name=name, wait_for=wait_for, needs=needs)
        (tmp_path / "experiments" / f"{name}.py").write_text(text)
    return (
        Section("a", "A", "experiments/a.py"),
        Section("b", "B", "experiments/b.py", ("a",)),
        Section("c", "C", "experiments/c.py"),
    )


def test_sections_run_side_by_side_and_after_what_they_read(tmp_path, monkeypatch, capsys):
    from devrl.paper import build

    monkeypatch.setattr(build, "SECTIONS", _sections(tmp_path))
    monkeypatch.setattr(build, "repo_root", lambda: tmp_path)
    build.build_paper(quick=True, workers=2)  # a and c wait for each other: both ran at once
    data = tmp_path / "paper" / "data"
    assert {p.name for p in data.glob("*.done")} == {"a.done", "b.done", "c.done"}
    assert "[devrl paper] b done" in capsys.readouterr().out


def test_a_section_whose_input_never_ran_fails_and_bad_workers_are_refused(tmp_path, monkeypatch):
    from devrl.paper import build

    sections = _sections(tmp_path)
    monkeypatch.setattr(build, "SECTIONS", sections[1:2])  # b alone: a never ran
    monkeypatch.setattr(build, "repo_root", lambda: tmp_path)
    with pytest.raises(RuntimeError, match="b failed"):
        build.build_paper(quick=True, workers=1)
    with pytest.raises(ValueError, match="workers must be"):
        build.build_paper(quick=True, workers=0)


def test_tms_rl_starts_after_tms_sgd():
    (tms_rl,) = [s for s in SECTIONS if s.name == "tms_rl"]
    assert tms_rl.reads == ("tms_sgd",)


def test_the_longest_chain_starts_first_and_readers_after_what_they_read():
    from devrl.paper.schedule import start_order

    sections = [
        Section("short", "S", "s.py", minutes=1.0),
        Section("head", "H", "h.py", minutes=2.0),  # 2 + 5: the longest chain
        Section("alone", "A", "a.py", minutes=6.0),
        Section("tail", "T", "t.py", ("head",), minutes=5.0),
    ]
    assert [s.name for s in start_order(sections)] == ["head", "alone", "tail", "short"]
    order = [s.name for s in start_order(list(SECTIONS))]
    for section in SECTIONS:
        for read in section.reads:
            assert order.index(read) < order.index(section.name)
    assert order[0] == "llc_over_training"  # shards, objectives and lookahead read it
