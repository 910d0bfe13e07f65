"""devrl.paper.script: the shared helpers of experiment scripts."""

from devrl.paper import data_dir


def test_data_dir_keeps_modes_apart_and_reads_the_other_when_this_one_is_empty(tmp_path):
    assert data_dir(tmp_path, quick=True) == tmp_path / "quick"
    assert data_dir(tmp_path, quick=False) == tmp_path / "full"
    (tmp_path / "quick").mkdir()
    (tmp_path / "quick" / "tracks.csv").write_text("x\n")
    assert data_dir(tmp_path, quick=False, reading="tracks.csv") == tmp_path / "quick"
    assert data_dir(tmp_path, quick=False) == tmp_path / "full"  # writing: never the other
    assert data_dir(tmp_path, quick=True, reading="tracks.csv") == tmp_path / "quick"
