"""Nulls and intervals for experiments/llc_over_training.py (imported by it, not a section).

Every per-seed statistic is stated as its mean over seeds with a bootstrap interval over
seeds (``devrl.stats.bootstrap_ci``) and a null:

* correlations with success: Spearman ρ over checkpoints per seed; the null of a curve is
  the same ρ with another seed's success (``devrl.stats.seed_shuffle_test``), and the
  baseline every late-rising curve reaches is ρ of success with log-step itself;
* lags: the steepest-change times on the log and the linear grid, matched against the
  seed-shuffled pairing (how far apart any seed's LLC change and another seed's success
  rise fall), with the width of the grid interval at the transition;
* health: the share of healthy and of negative estimates per curve, pooled over seeds
  with a cluster-bootstrap interval (``devrl.stats.ratio_ci``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from devrl.paper import write_table
from devrl.stats import bootstrap_ci, ratio_ci, seed_shuffle_test, spearman

LLCS = ("llc-action", "llc-action-uniform", "llc-value", "llc-regret")
GAMMA_WORDS = {10.0: "GTen", 100.0: "GHundred", 1000.0: "GThousand"}  # macro suffixes


def verdict(p: float, alpha: float = 0.05) -> str:
    """How the prose states a test against its null: "beats" below ``alpha``."""
    return "beats" if p < alpha else "does not beat"


def training_cost(run_dirs: list[Path]) -> dict:
    """Seconds per PPO update and per run from the runs' metrics.csv (charts/SPS: env steps/s)."""
    per_update, per_run = [], []
    for d in run_dirs:
        m = pd.read_csv(d / "metrics.csv")
        batch = float(m["step"].diff().median())
        per_update.append(batch / float(m["charts/SPS"].median()))
        per_run.append(float(m["step"].max()) / float(m["charts/SPS"].median()))
    return {"update": float(np.median(per_update)), "run": float(np.median(per_run))}


def curves(tracks: pd.DataFrame, run_dirs: dict, weights: pd.DataFrame | None) -> pd.DataFrame:
    """Wide frame (seed, step) x {behaviour, LLCs, log-step, value loss, weight norm}, step > 0.

    The training value loss of ``metrics.csv`` is taken at the last update at or before
    each checkpoint.
    """
    wide = tracks.pivot_table(index=["seed", "step"], columns="measure", values="value")
    wide = wide.reset_index()
    wide = wide[wide["step"] > 0].copy()
    wide["log-step"] = np.log10(wide["step"])
    parts = []
    for seed, df in wide.groupby("seed"):
        m = pd.read_csv(run_dirs[seed] / "metrics.csv")[["step", "losses/value_loss"]]
        m = m.rename(columns={"losses/value_loss": "value-loss"}).sort_values("step")
        parts.append(pd.merge_asof(df.sort_values("step"), m, on="step"))
    wide = pd.concat(parts, ignore_index=True)
    if weights is not None:
        w = weights[weights["measure"] == "weight-norm"][["seed", "step", "value"]]
        wide = wide.merge(w.rename(columns={"value": "weight-norm"}), on=["seed", "step"])
    return wide


def trend_test(xs: list, ys: list):
    """Seed-shuffle test of ρ(x, success), one-sided in the direction of the common trend
    (the sign of the mismatched pairs' mean ρ): a curve that falls as success rises (the
    entropy) beats its null when its own seed's ρ is *more negative* than another seed's."""
    test = seed_shuffle_test(xs, ys)
    return seed_shuffle_test(xs, ys, alternative="less") if test.null < 0 else test


def correlations(wide: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per column: mean ρ with success over seeds [95% CI], the seed-shuffled null and p."""
    rows = []
    by_seed = dict(tuple(wide.groupby("seed")))
    seeds = sorted(by_seed)
    success = [by_seed[s]["success"].to_numpy() for s in seeds]
    for col in columns:
        if col not in wide.columns:
            continue
        xs = [by_seed[s][col].to_numpy() for s in seeds]
        rho = [spearman(x, y) for x, y in zip(xs, success, strict=True)]
        ci = bootstrap_ci(rho)
        test = trend_test(xs, success)
        rows.append(
            {"measure": col, "rho": ci.estimate, "low": ci.low, "high": ci.high, "n": ci.n}
            | {"null": test.null, "p": test.p_value, "min": np.nanmin(rho)}
        )
    return pd.DataFrame(rows)


def lag_stats(lag: pd.DataFrame, kinds: tuple, grid_log: float, grid_steps: float) -> pd.DataFrame:
    """Per LLC and axis: mean lag [95% CI], mean |lag| matched against seed-shuffled, p.

    ``resolution``: width of one grid interval at the median success rise, in env steps.
    """
    rows = []
    at = float(np.median(lag["success_at"]))
    for kind in kinds:
        for axis, at_col, ref_col, scale, res in (
            ("log10", f"{kind}_at", "success_at", np.log10, at * (10**grid_log - 1)),
            ("linear", f"{kind}_at_linear", "success_at_linear", lambda v: v, grid_steps),
        ):
            x, y = scale(lag[at_col].to_numpy()), scale(lag[ref_col].to_numpy())
            ci = bootstrap_ci(x - y)
            test = seed_shuffle_test(
                [[v] for v in x], [[v] for v in y], lambda a, b: -abs(a[0] - b[0])
            )
            rows.append(
                {"llc": kind, "axis": axis, "lag": ci.estimate, "low": ci.low, "high": ci.high}
                | {"n": ci.n, "abs": -test.statistic, "abs_null": -test.null, "p": test.p_value}
                | {"resolution": res}
            )
    return pd.DataFrame(rows)


def health(tracks: pd.DataFrame) -> pd.DataFrame:
    """Per LLC: pooled share of healthy and of negative estimates [95% cluster CI over seeds]."""
    rows = []
    for name in LLCS:
        v = tracks[(tracks["measure"] == name) & (tracks["step"] > 0)]
        h = tracks[(tracks["measure"] == f"{name}/healthy") & (tracks["step"] > 0)]
        if v.empty:
            continue
        neg = v.groupby("seed")["value"].agg(lambda s: int((s < 0).sum()))
        ok = h.groupby("seed")["value"].agg(lambda s: int((s > 0.5).sum()))
        n = v.groupby("seed")["value"].size()
        for what, hits in (("healthy", ok), ("negative", neg)):
            ci = ratio_ci(hits.to_numpy(), n.to_numpy())
            rows.append(
                {"llc": name, "share": what, "value": ci.estimate, "low": ci.low}
                | {"high": ci.high, "n": ci.n, "estimates": int(n.sum())}
            )
    return pd.DataFrame(rows)


def control_stats(control: pd.DataFrame, tracks: pd.DataFrame, gammas: tuple) -> pd.DataFrame:
    """Per γ: the uniform-buffer LLC against the Fisher's quadratic prediction at that γ.

    Rows: mean over seeds [95% CI] of ρ(LLC, visible) over the control checkpoints, of the
    LLC's and the prediction's rise (last / first control checkpoint), and of ρ(Fisher
    trace, success) and ρ(LLC, success); null of ρ(LLC, visible) is the seed-shuffled one.
    """
    wide = pd.concat([control, tracks[tracks["step"].isin(set(control["step"]))]])
    wide = wide.pivot_table(index=["seed", "step"], columns="measure", values="value")
    wide = wide.dropna(subset=["fisher"]).reset_index()
    by_seed = dict(tuple(wide.groupby("seed")))
    seeds = sorted(by_seed)
    rows = []
    for g in gammas:
        name = "llc-action-uniform" if g == 100 else f"llc-action-uniform-g{g:g}"
        llc = [by_seed[s][name].to_numpy() for s in seeds]
        vis = [by_seed[s][f"fisher/visible-g{g:g}"].to_numpy() for s in seeds]
        test = seed_shuffle_test(llc, vis)
        rho = bootstrap_ci([spearman(a, b) for a, b in zip(llc, vis, strict=True)])
        rise = bootstrap_ci([a[-1] / a[0] for a in llc])
        vrise = bootstrap_ci([b[-1] / b[0] for b in vis])
        last = bootstrap_ci([a[-1] for a in llc])
        vlast = bootstrap_ci([b[-1] for b in vis])
        healthy = bootstrap_ci([by_seed[s][f"{name}/healthy"].mean() for s in seeds])
        for stat, ci in (("rho", rho), ("rise", rise), ("visible_rise", vrise)):
            rows.append({"gamma": g, "stat": stat, **_ci(ci)} | {"null": np.nan, "p": np.nan})
        rows[-3] |= {"null": test.null, "p": test.p_value}
        for stat, ci in (("last", last), ("visible_last", vlast), ("healthy", healthy)):
            rows.append({"gamma": g, "stat": stat, **_ci(ci), "null": np.nan, "p": np.nan})
    success = [by_seed[s]["success"].to_numpy() for s in seeds]
    for col in ("fisher", "fisher/top", "llc-action-uniform"):
        xs = [by_seed[s][col].to_numpy() for s in seeds]
        ci = bootstrap_ci([spearman(x, y) for x, y in zip(xs, success, strict=True)])
        test = trend_test(xs, success)
        rows.append({"gamma": np.nan, "stat": f"rho_success:{col}", **_ci(ci)})
        rows[-1] |= {"null": test.null, "p": test.p_value}
    for col in ("fisher", "fisher/top"):
        ci = bootstrap_ci([by_seed[s][col].iloc[-1] / by_seed[s][col].iloc[0] for s in seeds])
        rows.append(
            {"gamma": np.nan, "stat": f"rise:{col}", **_ci(ci), "null": np.nan, "p": np.nan}
        )
    return pd.DataFrame(rows)


def _ci(ci) -> dict:
    return {"value": ci.estimate, "low": ci.low, "high": ci.high, "n": ci.n}


def _camel(name: str) -> str:
    """'llc-action-uniform' -> 'ActionUniform', 'fisher/top' -> 'FisherTop' (macro names)."""
    parts = name.replace("llc-", "").replace("/", "-").split("-")
    return "".join(p.capitalize() for p in parts)


def _cell(v: float, lo: float, hi: float, fmt: str = "%.2f") -> str:
    return f"{fmt % v} [{fmt % lo}, {fmt % hi}]"


def null_statistics(
    out: Path,
    tracks: pd.DataFrame,
    lag: pd.DataFrame,
    seeds: list,
    paths: tuple[Path, Path],
    *,
    kinds: tuple,
    grid: int,
    gammas: tuple,
    fisher_states: int,
) -> dict:
    """Correlations, lags, health and the Fisher/γ control with intervals and nulls.

    Writes the tidy ``stats.csv`` beside the data and the tables ``paths`` (correlations,
    control); returns the macros the prose quotes.
    """
    runs = {seed: out / f"run_seed{seed}" for seed in seeds}
    weights = pd.read_csv(out / "weights.csv") if (out / "weights.csv").is_file() else None
    wide = curves(tracks, runs, weights)
    cols = ["log-step", "weight-norm", "entropy", "value-loss", *LLCS]
    corr = correlations(wide, cols)
    first = tracks[tracks["step"] > 0]["step"].min()
    grid_log = float(np.log10(tracks["step"].max() / first) / (grid - 1))
    lags = lag_stats(lag, kinds, grid_log, float(tracks["step"].max() / (grid - 1)))
    shares = health(tracks)
    control = pd.read_csv(out / "control.csv")
    ctrl = control_stats(control, tracks, gammas)
    tidy = pd.concat(
        [
            corr.assign(kind="rho_success"),
            lags.assign(kind="lag"),
            shares.assign(kind="share"),
            ctrl.assign(kind="control"),
        ],
        ignore_index=True,
    )
    tidy.to_csv(out / "stats.csv", index=False)
    m: dict = {}
    for r in corr.itertuples():
        key = f"llcRho{_camel(r.measure)}"
        m |= {key: r.rho, f"{key}Low": r.low, f"{key}High": r.high, f"{key}Null": r.null}
        m[f"{key}P"] = r.p
        m[f"{key}Verdict"] = verdict(r.p)
    for r in lags.itertuples():
        key = f"llcLag{r.llc.capitalize()}{'Log' if r.axis == 'log10' else 'Linear'}"
        m |= {key: r.lag, f"{key}Low": r.low, f"{key}High": r.high, f"{key}Abs": r.abs}
        m |= {f"{key}AbsNull": r.abs_null, f"{key}P": r.p, f"{key}Verdict": verdict(r.p)}
    m["llcResolutionLog"] = float(lags[lags["axis"] == "log10"]["resolution"].iloc[0])
    m["llcResolutionLinear"] = float(lags[lags["axis"] == "linear"]["resolution"].iloc[0])
    for r in shares.itertuples():
        key = f"llcShare{_camel(r.llc)}{r.share.capitalize()}"
        m |= {key: r.value, f"{key}Low": r.low, f"{key}High": r.high}
    for r in ctrl.itertuples():
        stat = r.stat.replace("rho_success:", "RhoSuccess-").replace("rise:", "Rise-")
        key = "llcControl" + _camel(stat.replace("_", "-"))
        key += "" if np.isnan(r.gamma) else GAMMA_WORDS[float(r.gamma)]
        m |= {key: r.value, f"{key}Low": r.low, f"{key}High": r.high}
        if not np.isnan(r.null):
            m |= {f"{key}Null": r.null, f"{key}P": r.p, f"{key}Verdict": verdict(r.p)}
    m["llcControlCheckpoints"] = int(control.groupby("seed")["step"].nunique().min())
    m["llcFisherStates"] = fisher_states
    m |= {"llcControlGammaSmall": min(gammas), "llcControlGammaLarge": max(gammas)}
    m |= {"llcLevelPercent": 95, "llcAlphaPercent": 5}
    m |= {"llcMinP": float(1 / np.prod(np.arange(1, len(seeds) + 1)))}
    cost = training_cost(list(runs.values()))
    seconds = tracks[tracks["measure"].str.endswith("/seconds")]
    llc_run = float(seconds.groupby("seed")["value"].sum().median())
    m |= {"llcSecondsPerUpdate": cost["update"], "llcSecondsPerRun": cost["run"]}
    m |= {"llcLlcSecondsPerRun": llc_run, "llcSeedsTarget": 8}
    m["llcMoreSeedsMinutes"] = (8 - len(seeds)) * (cost["run"] + llc_run) / 60
    rows = [
        {"curve": r.measure, "rho [95% CI]": _cell(r.rho, r.low, r.high), "null": r.null}
        | {"p": r.p}
        for r in corr.itertuples()
    ]
    caption = (
        "Spearman $\\rho$ of success with each curve over checkpoints: mean over seeds "
        "[95\\% bootstrap interval over seeds]; null: the mean $\\rho$ with another seed's "
        "success (seed-shuffled pairing), $p$: one-sided (in the direction of the null's sign) "
        "permutation over pairings of the "
        f"{len(seeds)} seeds. log-step is the trend every late-rising curve shares."
    )
    write_table(paths[0], pd.DataFrame(rows), caption, "tab:llc-over-training-stats", "%.2f")
    table_control(ctrl, gammas, paths[1])
    return m


def table_control(ctrl: pd.DataFrame, gammas: tuple, path) -> None:
    """Per γ: the uniform-buffer LLC beside the Fisher spectrum's quadratic prediction."""
    at = ctrl.set_index(["gamma", "stat"])
    rows = []
    for g in gammas:
        r = {"gamma": f"{g:g}"}
        for stat, label in (
            ("last", "LLC (last)"),
            ("visible_last", "Fisher pred. (last)"),
            ("rise", "LLC rise"),
            ("visible_rise", "pred. rise"),
            ("rho", "rho(LLC, pred.)"),
            ("healthy", "healthy"),
        ):
            x = at.loc[(g, stat)]
            r[label] = _cell(x["value"], x["low"], x["high"], "%.3g")
        r["rho null"] = at.loc[(g, "rho"), "null"]
        rows.append(r)
    caption = (
        "Degeneracy or scale: the action-likelihood LLC on the fixed uniform buffer at "
        "three localizations $\\gamma$, beside the LLC a quadratic loss with the policy's "
        "Fisher spectrum would give, $\\tfrac12\\sum_i n\\beta h_i/(n\\beta h_i+\\gamma)$, "
        "at the last control checkpoint and as the ratio last/first; $\\rho$: Spearman "
        "over the control checkpoints; mean over seeds [95\\% bootstrap interval]; "
        "null: seed-shuffled $\\rho$."
    )
    write_table(path, pd.DataFrame(rows), caption, "tab:llc-over-training-control", "%.2f", True)
