"""Deleted, truncated, foreign and stale files in a run directory: resume from what is
left with a warning, or fail with one line naming the file; never restart silently."""

import shutil
import signal

import pytest
from harness import TINY, KillAt, assert_same_run, in_child, temp_files

from devrl.agents import PPOConfig, train
from devrl.runs import NotARunError, Run, RunError

CONFIG = PPOConfig(**TINY)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return train(CONFIG, tmp_path_factory.mktemp("faults") / "reference")


def _unfinished(dest):
    """The tiny run killed after its third checkpoint (update 4): state in steps 32 and 128."""
    assert in_child(lambda: train(CONFIG, dest), KillAt(21)) == -signal.SIGKILL
    run = Run.load(dest)
    assert run.steps == [0, 32, 128] and list(run.metrics["update"]) == [1, 2, 3, 4]
    return run


def test_newest_checkpoint_deleted_resumes_from_the_one_before_with_a_warning(reference, tmp_path):
    run = _unfinished(tmp_path / "run")  # newest now step 128, state in 32 and 128
    run.checkpoint_path(128).unlink()
    with pytest.warns(UserWarning, match=r"resuming .* from step 32"):
        resumed = train(CONFIG, run.path)
    assert_same_run(reference, resumed)


def test_newest_checkpoint_truncated_is_skipped_with_a_warning(reference, tmp_path):
    run = _unfinished(tmp_path / "run")
    newest = run.checkpoint_path(128)
    newest.write_bytes(newest.read_bytes()[:200])
    with pytest.warns(UserWarning, match=r"skipping unreadable checkpoint: .*step_00000128\.pt"):
        resumed = train(CONFIG, run.path)
    assert_same_run(reference, resumed)  # the damaged file was rewritten


def test_no_checkpoint_with_training_state_is_an_error_not_a_restart(reference, tmp_path):
    run = _unfinished(tmp_path / "run")
    for step in (32, 128):
        run.checkpoint_path(step).unlink()
    with pytest.raises(RunError, match=r"none of its 1 checkpoints holds the training state"):
        train(CONFIG, run.path)
    assert run.steps == [0]  # nothing overwritten


def test_stale_temporary_files_are_removed_on_start_and_nothing_else(reference, tmp_path):
    run = _unfinished(tmp_path / "run")
    stale = [
        run.path / ".metrics.csv.abcd1234.tmp",
        run.checkpoints_dir / ".step_00000256.pt.x_y9z0ab.tmp",
        run.tracks_dir / "success-0123" / ".step_00000000.json.q1w2e3r4.tmp",
    ]
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
    keep = run.tracks_dir / "notes.tmp"  # not named like an atomic write's temporary file
    keep.write_text("mine")
    assert_same_run(reference, train(CONFIG, run.path))
    assert not any(p.exists() for p in stale) and keep.read_text() == "mine"


def test_lost_metrics_rows_are_reported(reference, tmp_path):
    run = _unfinished(tmp_path / "run")
    run.metrics_path.unlink()
    with pytest.warns(UserWarning, match=r"metrics.csv ends at update 0, .*after update 4"):
        pass_through = train(CONFIG, run.path)
    assert list(pass_through.metrics["update"]) == [5, 6, 7, 8]


@pytest.mark.parametrize(
    "content, pattern",
    [
        (b"", r"metrics.csv is not a readable CSV table"),
        (b"a,b\n1,2\n", r"metrics.csv lacks the column\(s\) \['step'\] \(has \['a', 'b'\]\)"),
        (b"update,loss\n1,2\n", r"metrics.csv lacks the column\(s\) \['step'\]"),
        (b"\x00\xff\xfe\x00binary", r"metrics.csv is not a readable CSV table"),
        (
            b"update,step\n1,bar\n",
            r"metrics.csv has a non-integer 'step' in data row 1 \('bar'\)",
        ),
        (b"update,step\n1,2.5\n", r"metrics.csv has a non-integer 'step' in data row 1"),
    ],
)
def test_damaged_metrics_is_a_one_line_error_naming_the_file(reference, tmp_path, content, pattern):
    run = _unfinished(tmp_path / "run")
    run.metrics_path.write_bytes(content)
    with pytest.raises(RunError, match=pattern) as info:
        train(CONFIG, run.path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "content, pattern",
    [
        ("{not json", r"config.json is not valid JSON"),
        ("[1, 2]", r"config.json must hold a JSON object of config fields, got a list"),
        ('"lr"', r"config.json must hold a JSON object of config fields, got a str"),
    ],
)
def test_invalid_config_json_is_a_one_line_error_naming_the_file(
    reference, tmp_path, content, pattern
):
    run = _unfinished(tmp_path / "run")
    (run.path / "config.json").write_text(content)
    for attempt in (lambda: Run.load(run.path), lambda: train(CONFIG, run.path)):
        with pytest.raises(RunError, match=pattern) as info:
            attempt()
        assert "\n" not in str(info.value)


def test_bad_run_directories_are_refused(tmp_path):
    afile = tmp_path / "a_file"
    afile.write_text("x")
    with pytest.raises(RunError, match=r"run directory .*a_file is a file, not a directory"):
        train(CONFIG, afile)
    with pytest.raises(RunError, match=r"a_file is a file"):
        Run.load(afile)
    with pytest.raises(RunError, match=r"run directory must be a non-empty path, got ''"):
        train(CONFIG, "")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        (foreign / name).write_text("x")
    with pytest.raises(RunError, match=r"photos is not empty \(a.jpg, b.jpg, c.jpg and 1 more\)"):
        train(CONFIG, foreign)
    assert sorted(p.name for p in foreign.iterdir()) == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    with pytest.raises(NotARunError, match="not a devrl run directory"):
        Run.load(foreign)
    with pytest.raises(FileNotFoundError):  # NotARunError is also a FileNotFoundError
        Run.load(foreign)


def test_fine_tuned_run_resumes_after_its_parent_is_deleted(reference, tmp_path):
    parent = tmp_path / "parent"
    shutil.copytree(reference.path, parent)
    tuned = CONFIG.replace(reward="corner")
    uninterrupted = train(tuned, tmp_path / "uninterrupted", init_from=(parent, 128))
    child = tmp_path / "child"
    killed = in_child(lambda: train(tuned, child, init_from=(parent, 128)), KillAt(13))
    assert killed == -signal.SIGKILL
    shutil.rmtree(parent)
    resumed = train(tuned, child, init_from=(parent, 128))
    assert_same_run(uninterrupted, resumed)
    assert not temp_files(child)
    with pytest.raises(RunError, match=r"init_from run .*parent does not exist"):
        train(tuned, tmp_path / "new", init_from=(parent, 128))
    with pytest.raises(RunError, match=r"init_from run .*parent does not exist"):
        train(tuned, child, init_from=(parent, 32))  # not the recorded parent step
