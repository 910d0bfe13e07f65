"""The interval tests that decide a section's verdict sentences."""

import pytest

from devrl.paper.verdicts import above, below, interval_macros, separated, trend


def test_interval_macros_names_the_bounds():
    assert interval_macros("x", 1, 0.5, 2) == {"x": 1.0, "xLow": 0.5, "xHigh": 2.0}


def test_above_below_and_separated_compare_whole_intervals():
    m = interval_macros("a", 0.5, 0.2, 0.8) | interval_macros("b", 0.1, -0.1, 0.15)
    assert above(m, "a") and not above(m, "b")
    assert below(m, "b", 0.2) and not below(m, "b")
    assert separated(m, "a", "b") and not separated(m, "b", "a")
    m |= interval_macros("c", 0.3, 0.1, 0.5)  # overlaps both
    assert not separated(m, "a", "c") and not separated(m, "c", "b")


@pytest.mark.parametrize(
    ("means", "lows", "highs", "verdict"),
    [
        ([0.1, 0.4, 0.8], [0.0, 0.3, 0.7], [0.2, 0.5, 0.9], "rises"),
        ([0.8, 0.4, 0.1], [0.7, 0.3, 0.0], [0.9, 0.5, 0.2], "falls"),
        (
            [0.1, 0.5, 0.4, 0.8],
            [0.0, 0.4, 0.3, 0.7],
            [0.2, 0.6, 0.5, 0.9],
            "rises, not monotonically",
        ),
        ([0.1, 0.8, 0.15], [0.0, 0.7, 0.0], [0.2, 0.9, 0.3], "non-monotone"),
        ([0.3, 0.35, 0.32], [0.1, 0.2, 0.1], [0.5, 0.5, 0.5], "flat"),
    ],
)
def test_trend_reads_the_intervals(means, lows, highs, verdict):
    assert trend(means, lows, highs) == verdict


def test_trend_needs_two_levels():
    with pytest.raises(ValueError, match="two levels"):
        trend([0.1], [0.0], [0.2])
