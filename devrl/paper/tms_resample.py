"""Where the supervised TMS jumps come from: the resampling runs' table, tests and macros.

The runs (experiments/tms_sgd.py, ``resample/*.csv``, one row per run from
:func:`devrl.agents.tms_sgd.jump_outcomes`) hold the initialisation fixed and redraw the
sample, hold both fixed and redraw only the minibatch order, or vary n at a fixed number of
SGD steps. Three tests (:mod:`devrl.stats`): does the jump rate fall as the sample grows
(trend in log n, and Fisher's exact test of the smallest-but-protocol n against the largest),
does a run's outcome depend on its sample when only the order varies (between-sample variance
of the jump rates), and does it depend on the initialisation (Fisher, two inits at n = 1000)?
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from devrl.paper.script import number_latex
from devrl.stats import binomial_interval, fisher_exact, group_dependence, trend_test

__all__ = ["resample_macros", "resample_summary"]

N_WORDS = {
    300: "ThreeHundred",
    1000: "OneThousand",
    3000: "ThreeThousand",
    10_000: "TenThousand",
    30_000: "ThirtyThousand",
}
INIT_WORDS = {0: "InitZero", 1: "InitOne"}


def _fixed_sample(outcomes: pd.DataFrame) -> pd.Series:
    """Runs whose sample another run of the same batch shares (only the order differs)."""
    return outcomes.groupby(["run", "data_seed"]).seed.transform("size") > 1


def _rows(outcomes: pd.DataFrame) -> list[dict]:
    rows = []
    fixed = _fixed_sample(outcomes)
    groups = [(run, d) for run, d in outcomes[~fixed].groupby("run", sort=False)]
    groups += [(run, d) for (run, _), d in outcomes[fixed].groupby(["run", "data_seed"])]
    for run, d in groups:
        k, n = int(d.jumped.sum()), len(d)
        low, high = binomial_interval(k, n)
        shared = d.data_seed.nunique() == 1 and n > 1
        rows.append(
            {
                "init": int(d.init_seed.iloc[0]),
                "n": int(d.n_samples.iloc[0]),
                "sample": f"fixed ({int(d.data_seed.iloc[0])})" if shared else "redrawn",
                "runs": n,
                "jumped": k,
                "rate": k / n,
                "low": low,
                "high": high,
                "run": run,
            }
        )
    return rows


def resample_summary(outcomes: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Jump rates per batch with intervals, and the three tests.

    Args:
        outcomes: rows of :func:`~devrl.agents.tms_sgd.jump_outcomes` for every batch.

    Returns:
        (table: init, n, sample, runs, jumped, rate, low, high; tests by name:
        ``trend`` (jumped vs log n, init 0, sample redrawn), ``fisher_n`` (n = 1000 against the
        largest n), ``sample`` (between-sample variance with only the order redrawn), ``init``
        (Fisher, init 0 against init 1 at n = 1000); absent where the batches are missing).
    """
    table = pd.DataFrame(_rows(outcomes)).sort_values(["sample", "init", "n"], kind="stable")
    table = table.reset_index(drop=True)
    redrawn = table[table["sample"] == "redrawn"]
    fixed_runs = _fixed_sample(outcomes)
    sweep = outcomes[~fixed_runs & outcomes.run.isin(redrawn[redrawn.init == 0].run)]
    tests: dict = {}
    if sweep.n_samples.nunique() >= 2:
        tests["trend"] = trend_test(np.log(sweep.n_samples), sweep.jumped.astype(float))
        big = sweep[sweep.n_samples == sweep.n_samples.max()]
        mid = sweep[sweep.n_samples == 1000]
        if len(mid) and big.n_samples.iloc[0] != 1000:
            tests["fisher_n"] = fisher_exact(
                int(mid.jumped.sum()), len(mid), int(big.jumped.sum()), len(big)
            )
    fixed = outcomes[fixed_runs]
    if fixed.data_seed.nunique() >= 2:
        tests["sample"] = group_dependence(fixed.data_seed, fixed.jumped.astype(float))
    at_1000 = redrawn[redrawn.n == 1000].set_index("init")
    if {0, 1} <= set(at_1000.index):
        a, b = at_1000.loc[0], at_1000.loc[1]
        tests["init"] = fisher_exact(int(a.jumped), int(a.runs), int(b.jumped), int(b.runs))
    return table.drop(columns="run"), tests


def _p(p: float) -> str:
    """The p-value with its relation, for math mode: '= 0.10' or '< 0.001' ($p \\macro$)."""
    return f"= {p:.2g}" if p >= 0.001 else "< 0.001"


def resample_macros(table: pd.DataFrame, tests: dict, prefix: str = "tmsSgdRes") -> dict:
    """Macros: per (init, n) with the sample redrawn ``{prefix}Rate{Init}{N}`` ("0.25 [0.15,
    0.37]"), ``Jumped``/``Runs``; each sample size of the design, ``{prefix}N{N}``
    ("30{,}000"); per test its statistic, null and p (with its relation, '= 0.10' or
    '< 0.001', for ``$p \\macro$``); with the sample fixed,
    how many samples had every order agree (``{prefix}OrdersAgree`` of ``{prefix}Samples``).
    Every name the prose may use is defined ('n/a' where its batch was not run)."""
    out = {
        f"{prefix}{what}{i}{n}": "n/a"
        for what in ("Rate", "Jumped", "Runs")
        for i in INIT_WORDS.values()
        for n in N_WORDS.values()
    }
    out |= {f"{prefix}N{word}": number_latex(n) for n, word in N_WORDS.items()}
    for name in ("Samples", "Orders", "OrdersAgree", "SamplesJumpedAll", "SamplesJumpedNone"):
        out[f"{prefix}{name}"] = "n/a"
    for word in ("Trend", "FisherN", "Sample"):
        out |= {f"{prefix}{word}{k}": "n/a" for k in ("Stat", "Null")}
        out[f"{prefix}{word}P"] = "= \\mathrm{n/a}"
    out[f"{prefix}InitP"] = "= \\mathrm{n/a}"
    for r in table[table["sample"] == "redrawn"].itertuples():
        key = f"{INIT_WORDS.get(r.init, 'Init')}{N_WORDS.get(r.n, 'N')}"
        out[f"{prefix}Rate{key}"] = f"{r.rate:.2f} [{r.low:.2f}, {r.high:.2f}]"
        out[f"{prefix}Jumped{key}"] = r.jumped
        out[f"{prefix}Runs{key}"] = r.runs
    fixed = table[table["sample"] != "redrawn"]
    if len(fixed):
        out[f"{prefix}Samples"] = len(fixed)
        out[f"{prefix}Orders"] = int(fixed.runs.iloc[0])
        agree = (fixed.jumped == 0) | (fixed.jumped == fixed.runs)
        out[f"{prefix}OrdersAgree"] = int(agree.sum())
        out[f"{prefix}SamplesJumpedAll"] = int((fixed.jumped == fixed.runs).sum())
        out[f"{prefix}SamplesJumpedNone"] = int((fixed.jumped == 0).sum())
    for name, word in (("trend", "Trend"), ("fisher_n", "FisherN"), ("sample", "Sample")):
        if name in tests:
            t = tests[name]
            out[f"{prefix}{word}Stat"] = f"{t.statistic:.2f}"
            out[f"{prefix}{word}Null"] = f"{t.null:.2f}"
            out[f"{prefix}{word}P"] = _p(t.p_value)
    if "init" in tests:
        out[f"{prefix}InitP"] = _p(tests["init"].p_value)
    return out
