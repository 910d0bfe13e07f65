"""Interval macros and the tests a section's verdicts are decided by.

A section states an estimate as three macros, ``key``, ``keyLow`` and ``keyHigh``; its
qualitative sentences (verdict macros) are then chosen by comparing those intervals with a
reference or with each other, so the prose cannot claim what the data of its mode do not
show. These helpers are that convention, written once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["above", "below", "interval_macros", "separated", "trend"]


def interval_macros(key: str, estimate: float, low: float, high: float) -> dict[str, float]:
    """``{key: estimate, keyLow: low, keyHigh: high}`` as floats."""
    return {key: float(estimate), f"{key}Low": float(low), f"{key}High": float(high)}


def above(m: Mapping[str, object], key: str, ref: float = 0.0) -> bool:
    """The interval of ``key`` lies wholly above ``ref``."""
    return bool(m[f"{key}Low"] > ref)


def below(m: Mapping[str, object], key: str, ref: float = 0.0) -> bool:
    """The interval of ``key`` lies wholly below ``ref``."""
    return bool(m[f"{key}High"] < ref)


def separated(m: Mapping[str, object], upper: str, lower: str) -> bool:
    """The interval of ``upper`` lies wholly above that of ``lower``."""
    return bool(m[f"{upper}Low"] > m[f"{lower}High"])


def trend(means: Sequence[float], lows: Sequence[float], highs: Sequence[float]) -> str:
    """How a quantity measured at increasing levels of a variable moves, judged by intervals.

    ``"rises"`` or ``"falls"``: the last level's interval is separated from the first's in
    that direction and the means move that way at every step; ``"rises, not monotonically"``
    (``"falls, ..."``): separated ends, but some step goes the other way; ``"non-monotone"``:
    the ends overlap but two levels' intervals are separated; ``"flat"``: every pair of
    intervals overlaps (no dependence detectable with these seeds).
    """
    mean, lo, hi = (np.asarray(x, dtype=float) for x in (means, lows, highs))
    if not (len(mean) == len(lo) == len(hi)) or len(mean) < 2:
        raise ValueError("trend needs at least two levels, each with an estimate and bounds.")
    steps = np.diff(mean)
    for word, ends, monotone in (
        ("rises", lo[-1] > hi[0], bool(np.all(steps >= 0))),
        ("falls", hi[-1] < lo[0], bool(np.all(steps <= 0))),
    ):
        if ends:
            return word if monotone else f"{word}, not monotonically"
    apart = lo[:, None] > hi[None, :]
    return "non-monotone" if apart.any() else "flat"
