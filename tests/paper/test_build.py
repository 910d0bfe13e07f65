"""The paper builder writes LaTeX that inputs what exists and escapes what it must."""

from pathlib import Path

import pandas as pd
import pytest

from devrl.paper import Section, write_macros, write_main_tex, write_table


def test_write_table_escapes_and_marks_missing(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "form_name": ["power_law", "logistic"],
            "aicc": [1.23456, float("nan")],
            "path": ["4 > 4+", "4"],
        }
    )
    write_table(tmp_path / "t.tex", frame, caption="Forms", label="tab:forms")
    text = (tmp_path / "t.tex").read_text()
    assert r"form\_name & aicc & path \\" in text
    assert r"power\_law & 1.23 & 4 \textgreater{} 4+ \\" in text
    assert r"logistic & -- & 4 \\" in text
    assert r"\label{tab:forms}" in text
    assert "resizebox" not in text
    write_table(tmp_path / "w.tex", frame, caption="Forms", label="tab:w", fit_width=True)
    wide = (tmp_path / "w.tex").read_text()
    assert wide.index(r"\resizebox{\linewidth}{!}{%") < wide.index(r"\begin{tabular}")
    assert r"\end{tabular}}" in wide


def test_write_macros_formats_numbers_and_rejects_bad_names(tmp_path: Path) -> None:
    write_macros(tmp_path / "m.tex", {"mazeSuccess": 0.97341, "mazeSteps": 200000})
    text = (tmp_path / "m.tex").read_text()
    assert r"\newcommand{\mazeSuccess}{0.973}" in text
    assert r"\newcommand{\mazeSteps}{200000}" in text
    with pytest.raises(ValueError, match="only letters"):
        write_macros(tmp_path / "bad.tex", {"maze_success": 1.0})


def test_main_tex_inputs_only_existing_sections(tmp_path: Path) -> None:
    (tmp_path / "sections").mkdir()
    (tmp_path / "tables").mkdir()
    (tmp_path / "sections" / "present.tex").write_text("Prose.")
    (tmp_path / "tables" / "present_macros.tex").write_text("")
    sections = (Section("present", "Present", "x.py"), Section("absent", "Absent", "y.py"))
    text = write_main_tex(tmp_path, sections).read_text()
    assert r"\input{tables/present_macros}" in text
    assert r"\input{sections/present}" in text
    assert "absent" not in text
    assert text.rstrip().endswith(r"\end{document}")


def test_main_tex_keeps_floats_before_the_bibliography(tmp_path: Path) -> None:
    (tmp_path / "sections").mkdir()
    (tmp_path / "sections" / "present.tex").write_text("Prose.")
    (tmp_path / "references.bib").write_text("")
    text = write_main_tex(tmp_path, (Section("present", "Present", "x.py"),)).read_text()
    assert r"\usepackage[section]{placeins}" in text  # a barrier at every section
    assert text.index(r"\input{sections/present}") < text.index(r"\FloatBarrier")
    assert text.index(r"\FloatBarrier") < text.index(r"\bibliography{references}")


def test_quick_main_tex_lives_apart_and_shares_the_prose(tmp_path: Path) -> None:
    (tmp_path / "sections").mkdir()
    (tmp_path / "sections" / "present.tex").write_text("Prose.")
    (tmp_path / "references.bib").write_text("")
    (tmp_path / "quick" / "tables").mkdir(parents=True)
    (tmp_path / "quick" / "tables" / "present_macros.tex").write_text("")
    sections = (Section("present", "Present", "x.py"),)
    full = write_main_tex(tmp_path, sections)
    quick = write_main_tex(tmp_path, sections, quick=True)
    assert quick == tmp_path / "quick" / "main.tex" and full == tmp_path / "main.tex"
    text = quick.read_text()
    assert r"\input{tables/present_macros}" in text  # the quick tables, next to quick/main.tex
    assert r"\input{../sections/present}" in text and r"\bibliography{../references}" in text
    assert "quick mode" in text
    assert (
        "quick" not in full.read_text() and r"\input{tables/present_macros}" not in full.read_text()
    )


def test_a_failing_section_does_not_stop_the_others(tmp_path: Path, monkeypatch) -> None:
    from devrl.paper import build

    (tmp_path / "experiments").mkdir()
    (tmp_path / "paper" / "sections").mkdir(parents=True)
    (tmp_path / "experiments" / "bad.py").write_text("raise SystemExit(1)\n")
    (tmp_path / "experiments" / "good.py").write_text(
        "import sys; from pathlib import Path\n"
        "tables = Path(sys.argv[sys.argv.index('--tables') + 1]); tables.mkdir(parents=True)\n"
        "(tables / 'good_macros.tex').write_text('')\n"
    )
    (tmp_path / "paper" / "sections" / "good.tex").write_text("Prose.")
    sections = (
        Section("bad", "Bad", "experiments/bad.py"),
        Section("good", "Good", "experiments/good.py"),
    )
    monkeypatch.setattr(build, "SECTIONS", sections)
    monkeypatch.setattr(build, "repo_root", lambda: tmp_path)
    with pytest.raises(RuntimeError, match="bad failed"):
        build.build_paper(quick=True)
    assert (tmp_path / "paper" / "quick" / "tables" / "good_macros.tex").is_file()
    assert (tmp_path / "paper" / "quick" / "main.tex").is_file()
