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
