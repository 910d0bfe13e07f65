"""The resampling table and tests on hand-built outcomes with a known answer."""

import pandas as pd
import pytest

from devrl.paper.tms_resample import resample_macros, resample_summary


def _batch(run, n, jumped, init=0, samples=0):
    rows = []
    for i, j in enumerate(jumped):
        data = 100 + i % samples if samples else i
        rows.append((run, i, data, init, n, bool(j)))
    cols = ["run", "seed", "data_seed", "init_seed", "n_samples", "jumped"]
    return pd.DataFrame(rows, columns=cols)


def test_rates_fall_with_n_and_the_fixed_sample_decides():
    outcomes = pd.concat(
        [
            _batch("init0_n300", 300, [1] * 12 + [0] * 12),
            _batch("init0_n1000", 1000, [1] * 6 + [0] * 18),
            _batch("init0_n30000", 30000, [0] * 24),
            _batch("init1_n1000", 1000, [1] * 6 + [0] * 18, init=1),
            # four samples x six orders: samples 100 and 102 always jump, 101 and 103 never
            _batch("init0_samples", 1000, [1, 0, 1, 0] * 6, samples=4),
        ]
    )
    table, tests = resample_summary(outcomes)
    redrawn = table[table["sample"] == "redrawn"].set_index(["init", "n"])
    assert redrawn.loc[(0, 300), "rate"] == 0.5 and redrawn.loc[(0, 30000), "jumped"] == 0
    assert redrawn.loc[(0, 30000), "high"] == pytest.approx(1 - 0.025 ** (1 / 24))
    fixed = table[table["sample"] != "redrawn"]
    assert fixed["sample"].tolist() == [f"fixed ({d})" for d in (100, 101, 102, 103)]
    assert fixed.jumped.tolist() == [6, 0, 6, 0]
    assert tests["trend"].statistic < 0 and tests["trend"].p_value < 0.01
    assert tests["fisher_n"].p_value < 0.05
    assert tests["sample"].statistic == pytest.approx(0.25) and tests["sample"].p_value < 0.01
    assert tests["init"].p_value == 1.0  # 6/24 against 6/24
    macros = resample_macros(table, tests)
    assert macros["tmsSgdResRateInitZeroThreeHundred"] == "0.50 [0.29, 0.71]"
    assert macros["tmsSgdResOrdersAgree"] == 4 and macros["tmsSgdResSamples"] == 4
    assert macros["tmsSgdResTrendP"] == "< 0.001"  # permutation p of 10^-4
    assert macros["tmsSgdResInitP"] == "= 1"
    assert macros["tmsSgdResRateInitOneTenThousand"] == "n/a"  # not run, still defined
