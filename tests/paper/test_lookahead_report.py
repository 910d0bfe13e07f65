"""experiments/lookahead_report.py: the section's sentences follow the intervals."""

import importlib.util
from pathlib import Path

_PATH = Path(__file__).parents[2] / "experiments" / "lookahead_report.py"
_spec = importlib.util.spec_from_file_location("lookahead_report", _PATH)
L = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(L)


def _m(**over):
    triples = {
        "laOvcOwnFour": (0.9, 0.85, 0.95),
        "laOvcCheeseFour": (0.7, 0.6, 0.8),
        "laSteerDiffTrainedFour": (0.2, -0.1, 0.5),
        "laLagAurocFour": (0.1, -0.2, 0.4),
        "laLagPatching": (0.0, -0.3, 0.3),
        "laLagLlc": (0.2, 0.1, 0.3),
        "laThinkSuccessInTrain": (0.95, 0.93, 0.97),
        "laThinkSuccessInMax": (0.8, 0.77, 0.83),
    }
    for d in ("Four", "Eight"):
        triples |= {
            f"laPatchTrainedCell{d}Ratio": (4.0, 3.5, 4.5),
            f"laPatchTrainedRandom{d}Ratio": (1.5, 1.2, 1.8),
            f"laPatchInitialCell{d}Ratio": (1.0, 0.9, 1.1),
            f"laPatchRandomCell{d}Ratio": (1.0, 0.9, 1.1),
        }
    triples |= over
    m = {}
    for key, (est, lo, hi) in triples.items():
        m[key], m[f"{key}Low"], m[f"{key}High"] = est, lo, hi
    return m


def test_verdicts_follow_the_intervals():
    v = L.verdicts(_m())
    assert v["LaOvcVerdict"].startswith("it decodes the agent's own plan")
    assert v["LaSteerVerdict"].startswith("is not resolved from zero")
    assert v["LaLagVerdict"].endswith("every lag's interval contains zero.")
    assert v["LaThinkVerdict"].endswith("success falls.")
    assert v["LaPatchVerdict"].startswith("Together with the nulls")
    assert v["LaPlanVerdict"].startswith("the probes' preference")
    assert v["LaLlcVerdict"] == "The LLC's steepest change comes after success's."
    for text in v.values():
        assert not any(ch.isdigit() for ch in text)  # verdicts carry no numbers
    v = L.verdicts(
        _m(
            laOvcOwnFour=(0.75, 0.7, 0.8),
            laSteerDiffTrainedFour=(0.3, 0.1, 0.5),
            laLagPatching=(0.5, 0.2, 0.8),
            laThinkSuccessInMax=(0.95, 0.93, 0.97),
            laPatchRandomCellEightRatio=(3.0, 2.0, 3.6),
            laLagLlc=(0.0, -0.2, 0.2),
        )
    )
    assert v["LaLlcVerdict"].startswith("The interval contains zero")
    m = _m()
    m["laLagLlc"] = m["laLagLlcLow"] = m["laLagLlcHigh"] = 0.0
    assert L.verdicts(m)["LaLlcVerdict"].startswith("In every seed the LLC changes fastest")
    assert "overlap" in v["LaOvcVerdict"] and "do not prefer" in v["LaPlanVerdict"]
    assert v["LaSteerVerdict"].startswith("is resolved from zero")
    assert v["LaLagVerdict"].startswith("Some lags are resolved")
    assert "do not change" in v["LaThinkVerdict"]
    assert v["LaPatchVerdict"].startswith("The on/off-path ratio does not beat")
