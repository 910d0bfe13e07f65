"""devrl.paper.script: the shared helpers of experiment scripts."""

import pytest

from devrl.paper import data_dir


def test_data_dir_keeps_modes_apart_and_never_reads_the_other(tmp_path):
    assert data_dir(tmp_path, quick=True) == tmp_path / "quick"
    assert data_dir(tmp_path, quick=False) == tmp_path / "full"
    (tmp_path / "quick").mkdir()
    (tmp_path / "quick" / "tracks.csv").write_text("x\n")
    assert data_dir(tmp_path, quick=True, reading="tracks.csv") == tmp_path / "quick"
    assert data_dir(tmp_path, quick=False) == tmp_path / "full"  # writing needs no data
    with pytest.raises(FileNotFoundError, match="no full data .* without --quick"):
        data_dir(tmp_path, quick=False, reading="tracks.csv")


def test_count_phrase_spells_small_counts_with_grammar():
    from devrl.paper import count_phrase

    assert count_phrase(0, "jump") == "no jumps"
    assert count_phrase(1, "seed") == "one seed"
    assert count_phrase(16, "seed") == "sixteen seeds"
    assert count_phrase(24, "checkpoint") == "24 checkpoints"
    assert count_phrase(1200, "run") == "1{,}200 runs"
    assert count_phrase(2, "mouse", "mice") == "two mice"
    assert count_phrase(3.0, "seed") == "three seeds"
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="non-negative integer"):
            count_phrase(bad, "seed")


def test_share_phrase():
    from devrl.paper.script import share_phrase

    assert share_phrase(0, 3, "seed") == "none of three seeds"
    assert share_phrase(2, 3, "seed") == "two of three seeds"
    assert share_phrase(1, 1, "seed") == "one of one seed"
    assert share_phrase(30, 40, "run") == "30 of 40 runs"


def test_number_latex():
    from devrl.paper import number_latex

    assert number_latex(4.5e6) == r"$4.5\times10^{6}$"
    assert number_latex(1e7) == r"$1\times10^{7}$"
    assert number_latex(300_000) == "300{,}000"
    assert number_latex(1000) == "1{,}000"
    assert number_latex(0.05) == "0.05"
    with pytest.raises(ValueError, match="finite"):
        number_latex(float("nan"))


def test_saved_pdfs_do_not_depend_on_when_they_were_drawn(tmp_path, monkeypatch):
    """A script run by hand (no SOURCE_DATE_EPOCH) redraws byte-identical PDFs."""
    import time

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from devrl.paper import save_figure

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    drawn = []
    for name in ("a", "b"):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        save_figure(fig, tmp_path / name)
        drawn.append((tmp_path / f"{name}.pdf").read_bytes())
        time.sleep(1.1)  # PDF dates have a resolution of one second
    assert drawn[0] == drawn[1]


def test_table_cells_print_a_bar_as_a_bar(tmp_path):
    """P(cheese | d.s.) in a header: a bare | would print as an em dash."""
    import pandas as pd

    from devrl.paper import write_table

    write_table(tmp_path / "t.tex", pd.DataFrame({"P(a | b)": [0.5]}), "c", "tab:t")
    text = (tmp_path / "t.tex").read_text()
    assert r"P(a \textbar{} b)" in text and "P(a | b)" not in text


def test_interval_text():
    from devrl.paper import interval_text

    assert interval_text(0.4213, 0.31, 0.555) == "0.42 [0.31, 0.56]"
    assert interval_text(1234.4, 1000.0, 1500.6, ".0f") == "1234 [1000, 1501]"
    assert interval_text(0.5, float("nan"), float("nan")) == "0.50"  # one seed: no bounds
    assert interval_text(float("nan"), 0.1, 0.2) == "--"


def test_llc_calibration_reads_the_llc_sections_committed_setting():
    import json
    from pathlib import Path

    from devrl.paper import llc_calibration

    root = Path(__file__).parents[2] / "paper" / "data" / "llc_over_training"
    for quick, mode in ((True, "quick"), (False, "full")):
        assert llc_calibration(quick) == json.loads((root / mode / "calibration.json").read_text())
