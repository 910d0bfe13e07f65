"""The directory lock: exclusive across processes, re-entrant within one, released on
exit, naming the holder's pid, cleaning stale temporary files, tolerant of read-only runs."""

import errno
import os

import pytest

from devrl import _lock
from devrl._lock import DirectoryLockedError, lock_dir


def _other_process_tries(path):
    """Fork a process that tries the lock: 0 if it got it, 1 if refused naming our pid,
    3 if refused without a pid (a read-only lock file cannot record it)."""
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            with lock_dir(path, purpose="probe"):
                code = 0
        except DirectoryLockedError as exc:
            if f"cannot probe {path.resolve()}: pid {parent} is writing it" in str(exc):
                code = 1
            elif "another process (its pid is not recorded) is writing it" in str(exc):
                code = 3
        finally:
            os._exit(code)
    return os.WEXITSTATUS(os.waitpid(pid, 0)[1])


def test_exclusive_across_processes_and_reentrant_within_one(tmp_path):
    assert _other_process_tries(tmp_path) == 0
    with lock_dir(tmp_path):
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"
        with lock_dir(tmp_path):  # e.g. a tracker in a trainer's on_checkpoint
            assert _other_process_tries(tmp_path) == 1
        assert _other_process_tries(tmp_path) == 1  # the inner exit kept it
    assert (tmp_path / ".lock").read_text() == ""
    assert _other_process_tries(tmp_path) == 0


def test_released_when_the_block_raises(tmp_path):
    with pytest.raises(KeyError), lock_dir(tmp_path):
        raise KeyError("boom")
    assert _other_process_tries(tmp_path) == 0


def test_stale_temporary_files_removed_on_first_acquisition_only(tmp_path):
    stale = tmp_path / "sub" / ".metrics.csv.ab12cd34.tmp"
    stale.parent.mkdir()
    keep = [tmp_path / "notes.tmp", tmp_path / ".short.tmp", tmp_path / "data.csv"]
    for p in [stale, *keep]:
        p.write_text("x")
    with lock_dir(tmp_path):
        assert not stale.exists() and all(p.exists() for p in keep)
        stale.write_text("in flight")  # a write of this very process, under the lock
        with lock_dir(tmp_path):
            assert stale.exists()


def test_not_a_directory(tmp_path):
    with pytest.raises(NotADirectoryError, match="not a directory"), lock_dir(tmp_path / "nope"):
        pass


def test_read_only_directory_is_locked_through_an_existing_file_or_not_at_all(
    tmp_path, monkeypatch
):
    real_open = os.open

    def read_only(path, flags, *args):
        if flags & (os.O_RDWR | os.O_WRONLY | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(_lock.os, "open", read_only)
    with lock_dir(tmp_path):  # no lock file and none can be made: nothing to lock
        assert not (tmp_path / ".lock").exists()
    (tmp_path / ".lock").write_text("")
    with lock_dir(tmp_path):  # an existing lock file is locked read-only
        assert _other_process_tries(tmp_path) == 3
