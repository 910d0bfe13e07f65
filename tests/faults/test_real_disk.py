"""A really full disk and a really read-only run, on a small tmpfs (needs mount rights;
skipped elsewhere, where test_training_faults' fake ENOSPC stands in)."""

import errno
import shutil
import subprocess
import sys

import pytest
from harness import TINY, assert_same_run, temp_files

from devrl.agents import PPOConfig, train
from devrl.track import track

CONFIG = PPOConfig(**TINY)
# a kill between a metrics flush and its checkpoint leaves a "checkpoint is missing" warning
pytestmark = pytest.mark.filterwarnings("ignore:resuming .* from step:UserWarning")


def weight_sum(policy, context):
    return float(sum(p.detach().double().sum() for p in policy.parameters()))


def _mount(*args):
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


@pytest.fixture
def tmpfs(tmp_path):
    """A mounted tmpfs of 24 KiB; ``remount("size=1m")`` or ``remount("ro")`` changes it."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if sys.platform != "linux" or not shutil.which("mount"):
        pytest.skip("needs Linux mount")
    if not _mount("-t", "tmpfs", "-o", "size=24k", "tmpfs", str(mnt)):
        pytest.skip("cannot mount a tmpfs here (needs root)")

    def remount(options):
        assert _mount("-o", f"remount,{options}", str(mnt))

    try:
        yield mnt, remount
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return train(CONFIG, tmp_path_factory.mktemp("faults") / "reference")


@pytest.mark.parametrize("size", ["24k", "64k", "96k"])  # full after 1, 2 and 3 checkpoints
def test_disk_full_mid_run_then_resume_with_space_loses_nothing(reference, tmpfs, size):
    mnt, remount = tmpfs
    remount(f"size={size}")
    with pytest.raises(OSError, match=r"No space left on device: '.*run/") as info:
        train(CONFIG, mnt / "run")
    assert info.value.errno == errno.ENOSPC
    assert not temp_files(mnt)
    remount("size=1m")
    assert_same_run(reference, train(CONFIG, mnt / "run"))


def test_read_only_finished_run_resumes_and_tracks_cached_values(
    reference, tmpfs, tmp_path, monkeypatch
):
    monkeypatch.setenv("DEVRL_CACHE_DIR", str(tmp_path / "user"))
    mnt, remount = tmpfs
    remount("size=1m")
    run = train(CONFIG, mnt / "run")
    cached = track(run, [weight_sum], progress=False)
    remount("ro")
    assert_same_run(reference, train(CONFIG, run.path))  # nothing to write: no error
    assert track(run, [weight_sum], progress=False).equals(cached)
    with pytest.warns(UserWarning, match="cannot be written.*user/tracks"):  # recomputed outside
        again = track(run, [weight_sum], steps=run.steps[:1], recompute=True, progress=False)
    assert again.equals(cached[cached["step"] == run.steps[0]].reset_index(drop=True))
    assert list((tmp_path / "user" / "tracks").glob("*/*/step_*.json"))


def test_read_only_unfinished_run_fails_naming_the_file(reference, tmpfs):
    mnt, remount = tmpfs
    remount("size=1m")
    path = mnt / "run"
    shutil.copytree(reference.path, path)
    (path / "checkpoints" / "step_00000256.pt").unlink()
    remount("ro")
    with pytest.raises(OSError, match=r"Read-only file system: '.*run/"):
        train(CONFIG, path)
