"""Progress of long jobs: a tqdm bar on a terminal, a short line every 30 s elsewhere.

Off a terminal (a log file, CI, ``nohup``) tqdm draws nothing useful, so a job that
runs for minutes would be silent until it ends. :func:`progress` gives one object that
long loops (training, tracking, LLC chains, the paper builder, sweeps) update the same
way on both: on a terminal it is a ``tqdm`` bar; otherwise it writes at most one line
per ``interval`` seconds (what, how far, time left) to the ``devrl.progress`` logger when
logging is configured, else to stderr. Jobs shorter than one interval write nothing.

Environment variables: ``DEVRL_PROGRESS`` = ``off`` (silence), ``lines`` (lines even on
a terminal) or ``bar``; ``DEVRL_PROGRESS_INTERVAL`` = seconds between lines (default 30).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from tqdm.auto import tqdm

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["LineProgress", "format_seconds", "progress"]

DEFAULT_INTERVAL = 30.0
LOGGER = logging.getLogger("devrl.progress")


def format_seconds(seconds: float) -> str:
    """``"42s"``, ``"3m05s"`` or ``"1h02m"``: short enough for a one-line report."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _count(n: float) -> str:
    if n == int(n):
        n = int(n)
        return f"{n / 1e6:.2f}M" if abs(n) >= 1_000_000 else f"{n:,}"
    return f"{n:.3g}"


class LineProgress:
    """Progress reported as a text line at most once per ``interval`` seconds.

    Supports the part of tqdm's interface devrl uses (iteration, ``update``,
    ``set_postfix``, ``set_postfix_str``, ``close``, context manager), so callers do not
    care which one :func:`progress` returned.
    """

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        desc: str = "",
        *,
        total: float | None = None,
        initial: float = 0,
        unit: str = "it",
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        write: Callable[[str], None] | None = None,
    ) -> None:
        if interval < 0:
            raise ValueError(f"interval must be >= 0 seconds, got {interval}")
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable = iterable
        self.desc = desc
        self.total = total
        self.n = initial
        self.unit = unit
        self.interval = interval
        self._initial = initial
        self._clock = clock
        self._write = write or _default_write
        self._start = clock()
        self._last = self._start
        self._postfix = ""
        self._lines = 0
        self._closed = False

    # ------------------------------------------------------------------ tqdm's interface

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("this progress has no iterable; call update(n) instead")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: float = 1) -> None:
        """Count ``n`` more units done; write a line if ``interval`` has passed since the last."""
        self.n += n
        now = self._clock()
        if now - self._last >= self.interval:
            self._last = now
            self._emit(self.line(now))

    def set_postfix(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Show ``k=v`` pairs after the counts on the next line."""
        pairs = {**(values or {}), **kwargs}
        self._postfix = ", ".join(f"{k}={v}" for k, v in pairs.items())

    def set_postfix_str(self, text: str = "") -> None:
        """Show ``text`` after the counts on the next line."""
        self._postfix = str(text)

    def set_description(self, desc: str = "") -> None:
        """Rename what is being done."""
        self.desc = desc

    def close(self) -> None:
        """Write a final line, but only if the job ran long enough to have written one."""
        if self._closed:
            return
        self._closed = True
        if self._lines:
            elapsed = self._clock() - self._start
            self._emit(
                f"{self.desc}: done, {_count(self.n)} {self.unit} in {format_seconds(elapsed)}"
            )

    # ------------------------------------------------------------------ the line

    def line(self, now: float | None = None) -> str:
        """The report: what, how far (of the total), elapsed and estimated time left."""
        now = self._clock() if now is None else now
        elapsed = now - self._start
        done = f"{_count(self.n)}"
        left = ""
        if self.total:
            done += f"/{_count(self.total)} {self.unit} ({100 * self.n / self.total:.0f}%)"
            rate = (self.n - self._initial) / elapsed if elapsed > 0 else 0.0
            remaining = (self.total - self.n) / rate if rate > 0 else math.inf
            left = f", ~{format_seconds(remaining)} left"
        else:
            done += f" {self.unit}"
        text = f"{self.desc}: {done}, {format_seconds(elapsed)} elapsed{left}"
        return text + (f" [{self._postfix}]" if self._postfix else "")

    def _emit(self, text: str) -> None:
        self._lines += 1
        self._write(text)


def _default_write(text: str) -> None:
    if LOGGER.hasHandlers():
        LOGGER.info(text)
    else:
        print(f"[progress] {text}", file=sys.stderr, flush=True)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def progress(
    iterable: Iterable[Any] | None = None,
    desc: str = "",
    *,
    total: float | None = None,
    initial: float = 0,
    unit: str = "it",
    leave: bool = True,
    enabled: bool | None = None,
    bar: bool | None = None,
    interval: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    write: Callable[[str], None] | None = None,
) -> Any:
    """Progress over ``iterable`` (or ``total`` units counted with ``update``).

    Args:
        iterable: What to loop over; its length is the total unless ``total`` is given.
        desc: What is being done (``"train maze9"``), the start of every line.
        total: How many units make the whole job.
        initial: Units already done (a resumed run).
        unit: Name of one unit (``"step"``, ``"ckpt"``).
        leave: Keep the tqdm bar on screen when done (``False`` for inner loops).
        enabled: ``False`` silences it; ``None`` or ``True`` shows it.
        bar: ``True`` a tqdm bar, ``False`` text lines, ``None`` a bar only on a terminal.
        interval: Seconds between text lines (default ``DEVRL_PROGRESS_INTERVAL`` or 30).
        clock: Time source of the text lines (tests pass a fake one).
        write: Where text lines go (default the ``devrl.progress`` logger when logging
            has handlers, else stderr).

    Returns:
        An object with tqdm's interface: iterate it, or call ``update(n)``,
        ``set_postfix(...)`` and ``close()`` (or use it in a ``with`` block).
    """
    mode = os.environ.get("DEVRL_PROGRESS", "").strip().lower()
    if mode not in ("", "off", "lines", "bar"):
        raise ValueError(f"DEVRL_PROGRESS must be off, lines or bar, got {mode!r}")
    if enabled is False or mode == "off":
        return tqdm(iterable, desc=desc, total=total, initial=initial, unit=unit, disable=True)
    if mode:
        bar = mode == "bar"
    if bar is None:
        bar = _is_terminal(sys.stderr)
    if bar:
        return tqdm(
            iterable,
            desc=desc,
            total=total,
            initial=initial,
            unit=unit,
            leave=leave,
            dynamic_ncols=True,
        )
    if interval is None:
        interval = float(os.environ.get("DEVRL_PROGRESS_INTERVAL", DEFAULT_INTERVAL))
    return LineProgress(
        iterable,
        desc,
        total=total,
        initial=initial,
        unit=unit,
        interval=interval,
        clock=clock,
        write=write,
    )
