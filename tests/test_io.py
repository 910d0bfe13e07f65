"""Atomic writes: the write-point hooks the fault tests use, stale temporary files, and
errors that name the file."""

import errno

import pytest

from devrl import _io
from devrl._io import atomic_write, atomic_write_text, is_temp_file, remove_stale_temps


def test_hooks_see_three_boundaries_per_write_and_a_raising_hook_aborts_it(tmp_path):
    target = tmp_path / "a.txt"
    events = []

    def hook(event, path):
        events.append((event, path.name, path.read_text() if path.exists() else None))
        if event == "written" and target.exists():
            raise OSError(errno.ENOSPC, "No space left on device")

    _io.WRITE_HOOKS.append(hook)
    try:
        atomic_write_text(target, "one")
        with pytest.raises(OSError, match=r"No space left on device: '.*a.txt'"):
            atomic_write_text(target, "two")
    finally:
        _io.WRITE_HOOKS.remove(hook)
    assert events == [
        ("open", "a.txt", None),
        ("written", "a.txt", None),
        ("replaced", "a.txt", "one"),
        ("open", "a.txt", "one"),
        ("written", "a.txt", "one"),
    ]
    assert target.read_text() == "one" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_full_disk_error_names_the_file(tmp_path):
    def full(f):
        raise OSError(errno.ENOSPC, "No space left on device")  # as write() raises it

    with pytest.raises(OSError, match=r"No space left on device: '.*metrics.csv'") as info:
        atomic_write(tmp_path / "metrics.csv", full)
    assert info.value.errno == errno.ENOSPC


def test_remove_stale_temps_only_touches_atomic_write_temporaries(tmp_path):
    atomic_write_text(tmp_path / "x.json", "{}")
    names = [".x.json.ab_12cd3.tmp", ".step_00000032.pt.zzzzzzzz.tmp"]
    kept = ["notes.tmp", ".x.tmp", "x.json", ".x.json.abc.tmp"]
    (tmp_path / "deep").mkdir()
    for name in names:
        (tmp_path / "deep" / name).write_text("partial")
    for name in kept[:2] + kept[3:]:
        (tmp_path / name).write_text("mine")
    assert [is_temp_file(n) for n in names + kept] == [True, True, False, False, False, False]
    removed = remove_stale_temps(tmp_path)
    assert sorted(p.name for p in removed) == sorted(names)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["deep", *kept])
