"""Measured times in a section's data stay as committed until the data themselves change.

Experiments record how long things took: training's ``charts/SPS`` in each run's
``metrics.csv``, the ``.../seconds`` rows of a track, ``cpu_seconds_per_estimate`` in a
calibration record. The paper quotes them (``\\llcWallSecondsPerEstimate``), so they must be
true measurements; but no two runs measure the same time, so a recomputation whose results
are otherwise byte-identical would still rewrite the committed data, the macros that quote
them and the checkout (``git status`` after ``devrl paper`` in a fresh clone).

The rule, for every section: before a section recomputes, the builder takes a
:func:`snapshot` of its data; afterwards :func:`keep_committed_timings` compares the new data
with it *with timings blanked* (:func:`without_timings`). If nothing but timings changed,
the snapshot's files are put back, so the paper keeps the times measured when its data were
made, and the builder redraws from them. If anything else changed (a value, a file added or
removed), the new measurements stay with the new data. ``devrl paper --retime`` keeps the new
measurements regardless.

A timing is recognised by its name (:data:`TIMING`): a CSV column, the ``measure`` of a
tidy row (whose ``value`` and ``stderr`` are then blanked), or a JSON key.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from devrl._io import atomic_write
from devrl.paper.cache import data_files

__all__ = [
    "TIMING",
    "Snapshot",
    "is_timing",
    "keep_committed_timings",
    "snapshot",
    "without_timings",
]

#: Names of measured times: seconds, steps per second, elapsed or wall/CPU time, timing records.
TIMING = re.compile(r"seconds|\bsps\b|elapsed|timing|\b(?:wall|cpu)_?time\b", re.IGNORECASE)
#: The columns of a tidy row that carry its measurement.
_VALUES = ("value", "stderr")


def is_timing(name: str) -> bool:
    """Whether a column, measure or key name ``name`` names a measured time."""
    return bool(TIMING.search(name))


def _csv_without_timings(text: str) -> str:
    header = next(csv.reader(io.StringIO(text)), [])
    columns = {i for i, name in enumerate(header) if is_timing(name)}
    measure = header.index("measure") if "measure" in header else None
    values = {i for i, name in enumerate(header) if name in _VALUES}
    if not columns and (measure is None or not values):
        return text  # no column can hold a timing
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    rows = csv.reader(io.StringIO(text))
    writer.writerow(next(rows))
    for row in rows:
        blank = set(columns)
        if measure is not None and measure < len(row) and is_timing(row[measure]):
            blank |= values
        writer.writerow(["" if i in blank else cell for i, cell in enumerate(row)])
    return out.getvalue()


def _json_without_timings(value):
    if isinstance(value, dict):
        return {
            k: None if is_timing(str(k)) else _json_without_timings(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_json_without_timings(v) for v in value]
    return value


def _canonical(raw: bytes, name: str, blank: bool) -> bytes:
    """A data file's content as compared: CSV (gzipped or not) re-written through the csv
    module and JSON dumped with sorted keys, with every timing blanked if ``blank``."""
    try:
        if name.endswith((".csv", ".csv.gz")):
            text = (gzip.decompress(raw) if name.endswith(".gz") else raw).decode()
            return (_csv_without_timings(text) if blank else text).encode()
        if name.endswith(".json"):
            value = json.loads(raw)
            return json.dumps(
                _json_without_timings(value) if blank else value, sort_keys=True
            ).encode()
    except (UnicodeDecodeError, json.JSONDecodeError, OSError, EOFError, csv.Error):
        pass  # not what its name says: compared byte for byte
    return raw


def without_timings(path: Path) -> bytes:
    """The content of a data file with every measured time blanked (CSV, gzipped CSV, JSON);
    any other file's bytes unchanged. Two runs that differ only in timings give equal bytes."""
    path = Path(path)
    return _canonical(path.read_bytes(), path.name, blank=True)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """A section's data at one moment: per file (relative path) the hash of its bytes and of
    its bytes without timings, and the bytes of the files that hold timings (to put back)."""

    folder: Path
    raw: dict[str, str]
    timeless: dict[str, str]
    timed: dict[str, bytes]


def snapshot(folder: Path, quick: bool) -> Snapshot:
    """Hashes of one mode's data files (:func:`devrl.paper.cache.data_files`), keeping the
    bytes of those that hold a timing."""
    raw, timeless, timed = {}, {}, {}
    for path in data_files(folder, quick):
        rel = path.relative_to(folder).as_posix()
        content = path.read_bytes()
        stripped = _canonical(content, path.name, blank=True)
        raw[rel], timeless[rel] = _sha(content), _sha(stripped)
        if stripped != _canonical(content, path.name, blank=False):
            timed[rel] = content
    return Snapshot(Path(folder), raw, timeless, timed)


def keep_committed_timings(before: Snapshot, quick: bool) -> list[str]:
    """Put back the timing files of ``before`` if the data since differ only in timings.

    Args:
        before: The :func:`snapshot` taken before the section recomputed.
        quick: The mode (which files are data, :func:`devrl.paper.cache.data_files`).

    Returns:
        The files put back (relative paths); empty when the data changed otherwise (or not
        at all), in which case nothing is touched.
    """
    after = snapshot(before.folder, quick)
    if after.timeless != before.timeless or after.raw == before.raw:
        return []
    restored = [rel for rel in before.timed if after.raw[rel] != before.raw[rel]]
    for rel in restored:
        content = before.timed[rel]
        atomic_write(before.folder / rel, lambda f, content=content: f.write(content))
    return restored
