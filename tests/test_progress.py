"""Progress off a terminal: at most one line per interval, with what, how far, time left."""

import logging
import subprocess
import sys

import pytest

from devrl._progress import LineProgress, format_seconds, progress


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lines(**kwargs):
    clock, lines = FakeClock(), []
    bar = progress(bar=False, interval=30, clock=clock, write=lines.append, **kwargs)
    return bar, clock, lines


def test_format_seconds():
    assert [format_seconds(s) for s in (0, 42.4, 185, 3720, float("inf"))] == [
        "0s",
        "42s",
        "3m05s",
        "1h02m",
        "?",
    ]


def test_at_most_one_line_per_interval_with_eta():
    bar, clock, lines = _lines(total=100, desc="train maze9", unit="step")
    assert isinstance(bar, LineProgress)
    for _ in range(10):  # 10 steps of 5 s each: 50 s, so exactly one line (at 30 s)
        clock.now += 5
        bar.update(1)
    assert lines == ["train maze9: 6/100 step (6%), 30s elapsed, ~7m50s left"]
    for _ in range(12):  # 60 s more: lines at 60 s (step 12) and 90 s (step 18)
        clock.now += 5
        bar.update(1)
    assert len(lines) == 3
    assert lines[1].startswith("train maze9: 12/100 step (12%), 1m00s elapsed, ~7m20s left")
    bar.close()
    bar.close()  # idempotent
    assert lines[-1] == "train maze9: done, 22 step in 1m50s"
    assert len(lines) == 4


def test_short_job_is_silent():
    bar, clock, lines = _lines(total=3, desc="quick")
    for _ in range(3):
        clock.now += 1
        bar.update()
    bar.close()
    assert lines == []


def test_iterable_postfix_and_resume():
    clock, lines = FakeClock(), []
    items = []
    bar = progress(
        range(4), "track run", unit="ckpt", bar=False, interval=10, clock=clock, write=lines.append
    )
    for i in bar:
        clock.now += 20
        bar.set_postfix_str(f"llc-{i}")
        items.append(i)
    assert items == [0, 1, 2, 3]
    assert lines[0] == "track run: 1/4 ckpt (25%), 20s elapsed, ~1m00s left [llc-0]"
    assert len(lines) == 5 and lines[-1] == "track run: done, 4 ckpt in 1m20s"
    # a resumed job's rate counts only the units done in this process
    bar, clock, lines = _lines(total=2_000_000, initial=1_000_000, unit="step")
    clock.now += 30
    bar.update(500_000)
    assert lines == [": 1.50M/2.00M step (75%), 30s elapsed, ~30s left"]


def test_unknown_total_and_postfix_dict():
    bar, clock, lines = _lines(desc="sweep")
    clock.now += 31
    bar.set_postfix({"best": 0.5}, trial=3)
    bar.update(7)
    assert lines == ["sweep: 7 it, 31s elapsed [best=0.5, trial=3]"]


def test_modes(monkeypatch):
    monkeypatch.delenv("DEVRL_PROGRESS", raising=False)
    silent = progress(range(3), enabled=False)
    assert list(silent) == [0, 1, 2] and silent.disable
    # pytest's stderr is not a terminal: text lines by default
    assert isinstance(progress(total=3), LineProgress)
    monkeypatch.setenv("DEVRL_PROGRESS", "off")
    assert not isinstance(progress(total=3), LineProgress)
    monkeypatch.setenv("DEVRL_PROGRESS", "lines")
    assert isinstance(progress(total=3, bar=True), LineProgress)
    monkeypatch.setenv("DEVRL_PROGRESS", "loud")
    with pytest.raises(ValueError, match="DEVRL_PROGRESS"):
        progress(total=3)
    monkeypatch.delenv("DEVRL_PROGRESS")
    monkeypatch.setenv("DEVRL_PROGRESS_INTERVAL", "5")
    assert progress(total=3).interval == 5
    with pytest.raises(ValueError, match="interval"):
        LineProgress(total=3, interval=-1)
    with pytest.raises(TypeError, match="no iterable"):
        iter(LineProgress(total=3)).__next__()


def test_default_writer_uses_logging_when_configured(caplog, capsys):
    clock = FakeClock()
    with caplog.at_level(logging.INFO, logger="devrl.progress"):
        bar = progress(total=2, desc="logged", bar=False, interval=0, clock=clock)
        bar.update()
    assert [r.getMessage() for r in caplog.records] == ["logged: 1/2 it (50%), 0s elapsed, ~? left"]
    assert capsys.readouterr().err == ""


def test_default_writer_is_stderr_without_logging():
    code = (
        "from devrl._progress import progress\n"
        "bar = progress(total=2, desc='job', interval=0, clock=lambda: 5.0)\n"
        "bar.update()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == ""
    assert done.stderr == "[progress] job: 1/2 it (50%), 0s elapsed, ~? left\n"


def test_public_name():
    import devrl

    assert devrl.progress is progress
    with pytest.raises(AttributeError, match="no attribute"):
        devrl.no_such_thing  # noqa: B018
