"""TMS under reinforcement: do the k-gon transitions, and the LLC that detects them, survive RL?

The toy model of superposition (c = 6, m = 2) as a Gaussian-policy bandit (theory/tms_rl.md):
REINFORCE and PPO from a 4-gon (+ N(0, 0.01²)) and from random initialisation, 16 seeds each,
side by side with Chen et al.'s supervised SGD (paper/data/tms_sgd) and with online SGD on the
same fresh contexts. Then the LLC along every trajectory three ways (oracle TMS loss, action
likelihood, importance-weighted negative reward), change points of the LLC curves against the
loss transitions, the k-gon ground truths, and a ladder of RL difficulties (reward noise, drift
of the feature frequencies, delayed reward, actions that shape the next contexts).

    python experiments/tms_rl.py --quick            # 4 seeds, small budget, minutes
    python experiments/tms_rl.py --skip-existing     # reuse trained runs under --out
    python experiments/tms_rl.py --figures-only      # redraw from saved data
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from devrl.agents.tms_model import tms_forward
from devrl.agents.tms_rl import TMSRLConfig, train_tms_rl
from devrl.agents.tms_runs import is_tms_batch, load_tms_runs
from devrl.agents.tms_sgd import (
    TMSSGDConfig,
    phase_sequences,
    train_tms_sgd,
    transition_summary,
)
from devrl.checkpoints import nearest_checkpoints
from devrl.envs.tms import sample_contexts
from devrl.forms import level_shifts, match_transitions, step_across
from devrl.llc.tms_datasets import tms_llc_batched, tms_loss, tms_quadratic_terms
from devrl.paper import experiment_parser, save_figure, write_macros, write_table
from devrl.theory.tms import KGON_NAMES, kgon, kgon_critical_points

NAME = "tms_rl"
SIGMA = 0.1
LEARNERS = {  # chosen so that every learner learns from random init (see the section text)
    "online": {"algo": "online", "batch": 200, "lr": 0.05, "sigma": SIGMA},
    "reinforce": {"algo": "reinforce", "batch": 200, "lr": 0.05, "sigma": SIGMA},
    "ppo": {
        "algo": "ppo",
        "batch": 1000,
        "minibatch": 250,
        "ppo_epochs": 4,
        "lr": 0.001,
        "optimizer": "adam",
        "sigma": SIGMA,
    },
}
RUNGS = {
    "noise": {"reward_noise": 0.2},
    "drift": {"drift_probs": [1, 1, 1, 1, 4, 4], "drift_start": 0.25, "drift_end": 0.5},
    "delayed": {"episode_length": 4, "delayed_reward": True},
    "feedback": {"feedback": 0.5},
}
#: LLC along trajectories: per checkpoint n fresh contexts / rollouts; nβ for the oracle and
#: reward losses, 2σ²·nβ for the action loss (so its Gauss–Newton part has the same scale).
LLC_HP = {
    "lr": 1e-4,
    "nbeta": 2000.0,
    "localization": 30.0,
    "chains": 4,
    "burnin": 200,
    "draws": 400,
    "batch_size": 100,
}
LLC_N = 5000
#: Each LLC kind's own random stream (its contexts and rollouts). Keyed by name: the lengths
#: used before collided ("oracle", "action" and "reward" all have 6 letters).
KIND_KEYS = {"oracle": 0, "action": 1, "reward": 2, "oracle_initial": 3, "oracle_mixture": 4}
KGON_HP = {
    "lr": 1e-5,
    "nbeta": 1e4,
    "localization": 30.0,
    "chains": 8,
    "burnin": 1000,
    "draws": 2000,
    "batch_size": 2000,
}
LABELS = {
    "tms_sgd": "SGD (n=1000)",
    "sgd_batch": "SGD (n=1000), batch 200",
    "online_4gon": "online SGD, 4-gon",
    "reinforce_4gon": "REINFORCE, 4-gon",
    "ppo_4gon": "PPO, 4-gon",
    "reinforce_random": "REINFORCE, random",
    "ppo_random": "PPO, random",
    **{f"ladder_{r}": f"ladder: {r}" for r in RUNGS},
}
WORDS = {
    LABELS[k]: "".join(p.capitalize() for p in k.replace("_4gon", "").split("_")) for k in LABELS
}  # macro stems: Sgd -> TmsSgd, Reinforce, PpoRandom, LadderDrift, ...
TOL = 0.2  # detection tolerance in log-time: a level shift within ×/÷ e^0.2 ≈ 1.22 of τ
#: Smallest level shift that counts: a third of the smallest gap between plateaus, in loss
#: (4⁺ → 4⁺⁺: 0.0069) and in LLC (5-gon → 5⁺ or 6-gon: 1.5).
MIN_SHIFT = {"loss": 0.0023, "llc": 0.5}
#: Curves in the paper's tables (detection.csv has all, incl. the action/reward corrections and
#: the curvature parts of every dataset).
TABLE_CURVES = [
    "loss (control)",
    "LLC oracle",
    "LLC oracle corrected",
    "curvature oracle",
    "LLC action",
    "LLC reward",
    "LLC reward corrected",
    "LLC oracle_initial",
    "LLC oracle_initial corrected",
    "LLC oracle_mixture",
    "LLC oracle attributed",
    "LLC oracle attributed corrected",
    "LLC oracle polished",
]
#: Polishing before the LLC under drift: full-batch gradient steps on the checkpoint's own
#: oracle dataset (gradient-flow time 100, about 400 epochs of training; theory/tms_rl.md §6).
POLISH_STEPS, POLISH_LR = 500, 0.2
STEP_WINDOW = 0.5  # the step of a curve across a jump: median over (τ, τe^0.5] − over [τe^-0.5, τ)


def _budgets(quick: bool) -> dict:
    if quick:
        return {
            "seeds": 4,
            "main": 300_000,
            "random": 300_000,
            "ladder": 300_000,
            "ckpt": (30, 40),
            "llc_points": 24,
            "kgon_n": 100_000,
        }
    return {
        "seeds": 16,
        "main": 4_500_000,
        "random": 4_500_000,
        "ladder": 4_500_000,
        "ckpt": (100, 200),
        "llc_points": 120,
        "kgon_n": 1_000_000,
    }


def run_specs(quick: bool) -> dict[str, TMSRLConfig]:
    """Every RL run of the experiment by name."""
    bud = _budgets(quick)
    common = {
        "n_seeds": bud["seeds"],
        "n_log_checkpoints": bud["ckpt"][0],
        "n_linear_checkpoints": bud["ckpt"][1],
    }
    specs = {
        f"{lrn}_4gon": TMSRLConfig(
            **LEARNERS[lrn], init="4gon", contexts=bud["main"], run=f"{lrn}_4gon", **common
        )
        for lrn in ("online", "reinforce", "ppo")
    }
    for lrn in ("reinforce", "ppo"):
        specs[f"{lrn}_random"] = TMSRLConfig(
            **LEARNERS[lrn], init="random", contexts=bud["random"], run=f"{lrn}_random", **common
        )
    for rung, kw in RUNGS.items():
        specs[f"ladder_{rung}"] = TMSRLConfig(
            **LEARNERS["reinforce"],
            init="4gon",
            contexts=bud["ladder"],
            run=f"ladder_{rung}",
            **common,
            **kw,
        )
    return specs


def sgd_control(quick: bool) -> TMSSGDConfig:
    """Chen et al.'s SGD (fixed n = 1000) at the RL learners' batch and rate (200, 0.05)."""
    bud = _budgets(quick)
    return TMSSGDConfig(
        n_seeds=bud["seeds"], batch_size=200, lr=0.05, epochs=bud["main"] // 1000, run="sgd_batch"
    )


def train_runs(args) -> None:
    if not (args.skip_existing and is_tms_batch(args.out / "sgd_batch")):
        train_tms_sgd(sgd_control(args.quick), out=args.out / "sgd_batch")
    for name, cfg in run_specs(args.quick).items():
        out = args.out / name
        if args.skip_existing and is_tms_batch(out):
            continue
        res = train_tms_rl(cfg, out=out)
        print(
            f"{name}: {cfg.n_seeds} seeds x {cfg.contexts} contexts in {res.seconds:.0f} s",
            flush=True,
        )


def _datasets(res, idx, kind: str, rng, probs_of) -> tuple:
    """Data tensors [K, n, ...] for the checkpoints idx of every seed (K = S · len(idx))."""
    W = res.W[:, idx].reshape(-1, *res.W.shape[2:])
    b = res.b[:, idx].reshape(-1, res.b.shape[-1])
    sig = res.sigma[:, idx].reshape(-1) if res.sigma is not None else np.full(len(W), SIGMA)
    steps = np.tile(res.steps[idx], res.W.shape[0])
    xs = np.stack([sample_contexts(LLC_N, rng, W.shape[-1], probs_of(st)) for st in steps])
    x = torch.from_numpy(xs)
    if kind.startswith("oracle"):
        return W, b, (x,), 1.0
    Wt, bt = torch.as_tensor(W), torch.as_tensor(b)
    f = tms_forward(Wt, bt, x)
    s = torch.as_tensor(sig, dtype=torch.float32)[:, None, None]
    a = f + s * torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
    r = -((x - a) ** 2).sum(-1)
    noise = getattr(res.config, "reward_noise", 0.0)
    if noise:
        r = r + noise * torch.from_numpy(rng.standard_normal(r.shape).astype(np.float32))
    return W, b, ((x, a) if kind == "action" else (x, a, r, f)), float(sig.mean())


def _kind_data(res, idx, kind: str, seed: int) -> tuple:
    """The LLC dataset of ``kind`` for the checkpoints idx: (W, b, data, σ).

    One seed per kind, so every estimator that reads ``kind``'s contexts (the SGLD curve, its
    quadratic terms, the attributed and polished paths) sees the same ones. The oracle kinds
    under drift use the current distribution, its start (``oracle_initial``) or an even
    mixture of the two (``oracle_mixture``).
    """
    cfg = res.config
    total = max(int(res.steps[-1]), 1)

    def probs_of(step):
        if not hasattr(cfg, "distribution") or kind == "oracle_initial":
            return None
        now = cfg.distribution(step / total)[0]
        return 0.5 * (now + 1 / cfg.c) if kind == "oracle_mixture" else now

    rng = np.random.default_rng([seed, 7, KIND_KEYS[kind]])
    return _datasets(res, idx, kind, rng, probs_of)


def _first_order(W, b, data, hp: dict, kind: str = "oracle", sigma: float = 1.0):
    """(first-order, curvature) parts predicted for SGLD run with the settings hp."""
    return tms_quadratic_terms(
        W,
        b,
        data,
        kind=kind,
        sigma=sigma,
        nbeta=hp["nbeta"],
        localization=hp["localization"],
        lr=hp["lr"],
        burnin=hp["burnin"],
        draws=hp["draws"],
    )


def _mean_stderr(results) -> tuple[np.ndarray, np.ndarray]:
    """(λ̂ [K], its standard error over chains [K]) of tms_llc_batched's LLCResults."""
    return np.array([r.mean for r in results]), np.array([r.stderr for r in results])


def _tidy(res, idx, measure: str, values, errs) -> list[tuple]:
    """Rows (run, seed, step, measure, value, stderr) of per-checkpoint values [S·len(idx)]."""
    S, J = res.W.shape[0], len(idx)
    values, errs = np.reshape(values, (S, J)), np.reshape(errs, (S, J))
    return [
        (res.config.run, sd, int(res.steps[t]), measure, float(values[s, j]), float(errs[s, j]))
        for s, sd in enumerate(res.config.seeds)
        for j, t in enumerate(idx)
    ]


TIDY_COLUMNS = ["run", "seed", "step", "measure", "value", "stderr"]


def trajectory_llc(res, kinds, n_points: int, seed: int) -> pd.DataFrame:
    """LLC of every seed at n_points checkpoints, for each kind; tidy rows.

    Measures: ``llc/<kind>`` (SGLD), ``first-order/<kind>`` and ``curvature/<kind>`` (the
    quadratic prediction of :func:`tms_quadratic_terms` on the same dataset) and
    ``llc/<kind> corrected`` = SGLD − first-order.
    """
    idx = nearest_checkpoints(res.steps, n_points)
    rows = []
    for kind in kinds:
        W, b, data, sig = _kind_data(res, idx, kind, seed)
        hp = dict(LLC_HP)
        if kind == "action":
            hp["nbeta"] = hp["nbeta"] * 2 * sig**2
        base = "oracle" if kind.startswith("oracle") else kind
        t0 = time.perf_counter()
        first, curv = _first_order(W, b, data, hp, kind=base, sigma=sig)
        mean, stderr = _mean_stderr(
            tms_llc_batched(W, b, data, kind=base, sigma=sig, seed=seed, **hp)
        )
        nan = np.full(len(W), np.nan)
        rows += (
            _tidy(res, idx, f"first-order/{kind}", first, nan)
            + _tidy(res, idx, f"curvature/{kind}", curv, nan)
            + _tidy(res, idx, f"llc/{kind}", mean, stderr)
            + _tidy(res, idx, f"llc/{kind} corrected", mean - first, stderr)
        )
        print(
            f"  llc/{kind} of {res.config.run}: {len(W)} checkpoints in "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def attributed_llc(res, llc: pd.DataFrame, n_points: int, seed: int) -> pd.DataFrame:
    """The drift-attributed oracle LLC path: only parameter changes move it.

    At LLC checkpoint j the oracle dataset comes from the current distribution p_j (the same
    contexts as ``llc/oracle``). We also estimate the LLC of the *previous* checkpoint's
    parameters on that dataset, and sum the differences:
    Λ_j = Λ_{j−1} + λ̂(w_j; p_j) − λ̂(w_{j−1}; p_j), Λ_0 = λ̂(w_0; p_0). A change of p alone
    leaves Λ unchanged; a change of w moves it as the LLC on the current distribution would.
    ``llc/oracle attributed corrected`` does the same with first-order corrected estimates.
    """
    idx = nearest_checkpoints(res.steps, n_points)
    W, b, data, _ = _kind_data(res, idx, "oracle", seed)
    S, J = res.W.shape[0], len(idx)
    prev = np.r_[idx[0], idx[:-1]]
    Wp = res.W[:, prev].reshape(-1, *res.W.shape[2:])
    bp = res.b[:, prev].reshape(-1, res.b.shape[-1])
    # Same seed as llc/oracle: the same minibatches and noise for w_{j−1} as for w_j (common
    # random numbers), so the difference is not swamped by chain noise that the sum accumulates.
    mean_prev = _mean_stderr(tms_llc_batched(Wp, bp, data, kind="oracle", seed=seed, **LLC_HP))[0]
    mean_prev = mean_prev.reshape(S, J)
    first_prev = _first_order(Wp, bp, data, LLC_HP)[0].reshape(S, J)
    first_now = _first_order(W, b, data, LLC_HP)[0].reshape(S, J)
    cur = llc[(llc.run == res.config.run) & (llc.measure == "llc/oracle")]
    now = np.stack(
        [
            cur[cur.seed == sd].set_index("step").value.reindex(res.steps[idx]).to_numpy()
            for sd in res.config.seeds
        ]
    )
    rows = []
    for name, a, p in (
        ("llc/oracle attributed", now, mean_prev),
        ("llc/oracle attributed corrected", now - first_now, mean_prev - first_prev),
    ):
        path = np.cumsum(np.concatenate([a[:, :1], a[:, 1:] - p[:, 1:]], axis=1), axis=1)
        rows += _tidy(res, idx, name, path, np.full(path.shape, np.nan))
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def polished_llc(
    res, n_points: int, seed: int, steps: int = POLISH_STEPS, lr: float = POLISH_LR
) -> pd.DataFrame:
    """Oracle LLC on the current distribution at a point made (nearly) critical for it.

    Under drift a checkpoint trails the moving minimum, and SGLD's estimate there measures the
    descent still open. Here each checkpoint first takes ``steps`` full-batch gradient steps on
    its own oracle dataset (the contexts of ``llc/oracle``), then SGLD runs from that point.
    Also returns the first-order term after polishing (``first-order/oracle polished``) to show
    how much of the descent is gone.
    """
    idx = nearest_checkpoints(res.steps, n_points)
    W, b, data, _ = _kind_data(res, idx, "oracle", seed)
    Wt = torch.as_tensor(W, dtype=torch.float32).clone().requires_grad_(True)
    bt = torch.as_tensor(b, dtype=torch.float32).clone().requires_grad_(True)
    x = data[0]
    for _ in range(steps):
        f = tms_forward(Wt, bt, x)
        loss = tms_loss("oracle", f, (x,), 1.0).mean(-1).sum()
        gW, gb = torch.autograd.grad(loss, (Wt, bt))
        with torch.no_grad():
            Wt -= lr * gW
            bt -= lr * gb
    Wp, bp = Wt.detach().numpy(), bt.detach().numpy()
    mean, stderr = _mean_stderr(tms_llc_batched(Wp, bp, data, kind="oracle", seed=seed, **LLC_HP))
    first = _first_order(Wp, bp, data, LLC_HP)[0]
    rows = _tidy(res, idx, "llc/oracle polished", mean, stderr) + _tidy(
        res, idx, "first-order/oracle polished", first, np.full(len(first), np.nan)
    )
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def _llc_plan(args):
    """(result, kinds) for every trajectory whose LLC we estimate."""
    if is_tms_batch(args.sgd_dir):
        yield load_tms_runs(args.sgd_dir), ["oracle"]
    for name in run_specs(args.quick):
        kinds = ["oracle", "action", "reward"]
        if name == "ladder_drift":
            kinds += ["oracle_initial", "oracle_mixture"]
        if name == "online_4gon":
            kinds = ["oracle"]
        yield load_tms_runs(args.out / name), kinds


def compute_llc(args) -> None:
    n_points = _budgets(args.quick)["llc_points"]
    frames = [trajectory_llc(res, kinds, n_points, args.seed) for res, kinds in _llc_plan(args)]
    llc = pd.concat(frames)
    drift = load_tms_runs(args.out / "ladder_drift")
    llc = pd.concat(
        [
            llc,
            attributed_llc(drift, llc, n_points, args.seed),
            polished_llc(drift, n_points, args.seed),
        ]
    )
    llc.to_csv(args.out / "llc.csv", index=False)


def compute_kgon(args) -> None:
    """LLC at the exact 5-gon (zero column's bias −1) and 6-gon, oracle loss, large n."""
    n = _budgets(args.quick)["kgon_n"]
    x = torch.from_numpy(sample_contexts(n, np.random.default_rng([args.seed, 11])))
    pts = {"5": kgon("5"), "6": kgon("6")}
    b5 = pts["5"].b.copy()
    b5[5] = -1.0
    W = np.stack([pts["5"].W, pts["6"].W])
    b = np.stack([b5, pts["6"].b])
    hp = dict(KGON_HP, burnin=300, draws=600) if args.quick else KGON_HP
    results = tms_llc_batched(W, b, (x[None].expand(2, n, 6),), seed=args.seed, **hp)
    rows = [
        {"phase": k, "truth": pts[k].llc, "llc": r.mean, "std": r.std, "n": n, **hp}
        for k, r in zip(("5", "6"), results, strict=True)
    ]
    pd.DataFrame(rows).to_csv(args.out / "kgon_llc.csv", index=False)


def compute_geometry(args) -> None:
    """Hessian of L versus the action loss's Hessian (Gauss–Newton 2E[JᵀJ]) at the k-gons.

    Both in the units of the TMS loss (the action loss times 2σ²). Saves eigenvalue counts and
    the LLC the trajectory estimator can see, ½ Σ_i nβh_i/(nβh_i + γ) (negative h_i dropped).
    """
    from torch.func import jacrev, vmap

    from devrl.theory.tms import population_loss_torch

    x = torch.from_numpy(
        sample_contexts(20_000 if args.quick else 100_000, np.random.default_rng([args.seed, 13]))
    ).double()

    def f(theta, xi):
        W = theta[:12].reshape(2, 6)
        return tms_forward(W, theta[12:], xi[None])[0]

    nb, gam = LLC_HP["nbeta"], LLC_HP["localization"]
    rows = []
    for name in ("4", "4+", "4++", "5", "5+", "6"):
        k = kgon(name)
        b = k.b.copy()
        b[k.k + k.n_plus :] = -0.5  # zero columns deep in their flat region
        th = torch.cat([torch.as_tensor(k.W).flatten(), torch.as_tensor(b)]).double()
        J = vmap(jacrev(f), in_dims=(None, 0))(th, x)  # [n, c, d]
        gn = 2 * torch.einsum("nki,nkj->ij", J, J) / len(x)
        H = torch.autograd.functional.hessian(
            lambda t: population_loss_torch(t[:12].reshape(2, 6), t[12:]), th
        )
        for which, M in (("TMS loss (Hessian)", H), ("action loss (Gauss-Newton)", gn)):
            ev = np.linalg.eigvalsh(M.numpy())
            pos = np.clip(ev, 0, None)
            rows.append(
                {
                    "phase": name,
                    "loss": which,
                    "positive": int((ev > 1e-6).sum()),
                    "negative": int((ev < -1e-6).sum()),
                    "min eigenvalue": float(ev.min()),
                    "visible LLC": float(0.5 * np.sum(nb * pos / (nb * pos + gam))),
                    "theory LLC": k.llc,
                }
            )
    pd.DataFrame(rows).to_csv(args.out / "geometry.csv", index=False)


# ----------------------------------------------------------------------------- detection
def loss_transitions(phases: pd.DataFrame) -> pd.DataFrame:
    """Step τ of every change of plateau (first snapshot of the new plateau), per seed."""
    seq = phase_sequences(phases)
    rows = [(r.seed, r.first_step, r.phase) for r in seq.itertuples() if r.order > 0]
    return pd.DataFrame(rows, columns=["seed", "tau", "to"])


def detect(
    curves: pd.DataFrame, transitions: pd.DataFrame, first_plateau: dict, min_shift: float
) -> dict:
    """Match level shifts of each seed's curve to its loss transitions (within TOL in log t).

    Shifts come from :func:`devrl.forms.level_shifts` (piecewise-constant levels, noise
    estimated from the curve, shifts smaller than ``min_shift`` merged). Only transitions
    between the curve's 3rd and 3rd-to-last point count (a shift needs points on both sides),
    and shifts before the seed's first plateau are ignored (the descent onto it is no
    transition); 'jumps' are the transitions into a 5- or 6-gon, and 'step at jumps' is the
    median over jumps of the curve's step across them (:func:`devrl.forms.step_across`).
    """
    tot = {
        "transitions": 0,
        "detected": 0,
        "shifts": 0,
        "false_alarms": 0,
        "jumps": 0,
        "jump_hits": 0,
    }
    lags, steps = [], []
    for seed, df in curves.groupby("seed"):
        df = df[(df.step > 0) & np.isfinite(df.value)].sort_values("step")
        t = df.step.to_numpy(float)
        if t.size < 8:  # too few estimates left (NaN: no quadratic prediction); nothing to match
            continue
        shifts = level_shifts(t, df.value.to_numpy(), min_shift=min_shift)
        shifts = shifts[shifts >= first_plateau.get(seed, 0)]
        tr = transitions[
            (transitions.seed == seed) & (transitions.tau >= t[2]) & (transitions.tau <= t[-3])
        ]
        m = match_transitions(shifts, tr.tau.to_numpy(float), tol=TOL)
        jump = pd.to_numeric(tr.to.str.rstrip("+"), errors="coerce").to_numpy() >= 5
        jm = match_transitions(shifts, tr.tau.to_numpy(float)[jump], tol=TOL)
        for key in ("transitions", "detected", "shifts", "false_alarms"):
            tot[key] += m[key]
        tot["jumps"] += jm["transitions"]
        tot["jump_hits"] += jm["detected"]
        lags += m["lags"]
        steps += [
            step_across(t, df.value.to_numpy(), tau, window=STEP_WINDOW)
            for tau in tr.tau.to_numpy(float)[jump]
        ]

    def rate(a: int, b: int) -> float:
        return a / b if b else float("nan")

    return {
        "transitions": tot["transitions"],
        "detected": rate(tot["detected"], tot["transitions"]),
        "jumps": tot["jumps"],
        "jumps detected": rate(tot["jump_hits"], tot["jumps"]),
        "false alarms": rate(tot["false_alarms"], tot["shifts"]),
        "lag (steps)": float(np.median(lags)) if lags else float("nan"),
        "step at jumps": float(np.nanmedian(steps)) if np.isfinite(steps).any() else float("nan"),
        "jumps rising": float(np.mean(np.asarray(steps)[np.isfinite(steps)] > 0))
        if np.isfinite(steps).any()
        else float("nan"),
    }


def detection_table(args, llc: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for run, df in llc.groupby("run"):
        res = _load_any(args, run)
        phases = res.phases()
        trans = loss_transitions(phases)
        seq = phase_sequences(phases)
        first = seq[seq.order == 0].set_index("seed")["first_step"].to_dict()
        spe = (
            res.config.steps_per_epoch()
            if hasattr(res.config, "steps_per_epoch")
            else (res.config.n_samples / res.config.batch_size)
        )
        loss = res.metrics.query("measure == 'loss/population'")
        loss = loss[loss.step.isin(df.step.unique())]
        curves_of = [(m, c) for m, c in df.groupby("measure") if not m.startswith("first-order/")]
        for measure, curves in [("loss (control)", loss), *curves_of]:
            d = detect(
                curves, trans, first, MIN_SHIFT["loss" if measure.startswith("loss") else "llc"]
            )
            d["lag (epochs)"] = d.pop("lag (steps)") / spe
            rows.append(
                {
                    "run": run,
                    "curve": measure.replace("llc/", "LLC ").replace("curvature/", "curvature "),
                    **d,
                }
            )
    return pd.DataFrame(rows)


def _load_any(args, run):
    if run == "tms_sgd":
        return load_tms_runs(args.sgd_dir)
    return load_tms_runs(args.out / run)


# ----------------------------------------------------------------------------- figures, tables


def _epochs(res, steps):
    cfg = res.config
    return np.asarray(steps) * (cfg.batch if hasattr(cfg, "algo") else cfg.batch_size) / 1000


def figure_loss(results: dict, levels: dict, stem: Path, title: str) -> None:
    """Population loss of every seed against contexts seen (in epochs of 1000), one panel per run."""
    fig, axes = plt.subplots(
        1, len(results), figsize=(3.1 * len(results), 3), sharey=True, squeeze=False
    )
    for ax, (label, res) in zip(axes[0], results.items(), strict=True):
        m = res.metrics.query("measure == 'loss/population'")
        for _, df in m.groupby("seed"):
            ax.plot(np.maximum(_epochs(res, df.step), 1e-2), df.value, lw=0.8, alpha=0.8)
        for name, loss in levels.items():
            ax.axhline(loss, color="0.6", ls="--", lw=0.5)
        ax.set(xscale="log", ylim=(0.03, 0.16), xlabel="contexts seen / 1000", title=label)
    for name, loss in levels.items():
        axes[0, -1].text(
            1.02, loss, name, transform=axes[0, -1].get_yaxis_transform(), fontsize=7, va="center"
        )
    axes[0, 0].set_ylabel("population loss L(W, b)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, stem)


def figure_llc(results: dict, llc: pd.DataFrame, stem: Path) -> None:
    """Loss (top), then each LLC estimate raw and first-order corrected, for every seed."""
    kinds = [
        k
        for k in (
            "llc/oracle",
            "llc/oracle corrected",
            "llc/action",
            "llc/action corrected",
            "llc/reward",
            "llc/reward corrected",
        )
        if k in set(llc.measure)
    ]
    fig, axes = plt.subplots(
        1 + len(kinds),
        len(results),
        figsize=(3.1 * len(results), 1.9 * (1 + len(kinds))),
        sharex="col",
        squeeze=False,
    )
    for col, (label, res) in enumerate(results.items()):
        run = res.config.run
        m = res.metrics.query("measure == 'loss/population'")
        for _, df in m.groupby("seed"):
            axes[0, col].plot(np.maximum(_epochs(res, df.step), 1e-2), df.value, lw=0.7)
        axes[0, col].set(title=label, xscale="log", ylim=(0.03, 0.16))
        for row, kind in enumerate(kinds, start=1):
            d = llc[(llc.run == run) & (llc.measure == kind)]
            for _, df in d.groupby("seed"):
                axes[row, col].plot(_epochs(res, df.step), df.value, lw=0.7)
            axes[row, col].set(xscale="log")
            v = d.value[np.isfinite(d.value)]
            if len(v):  # 1st–99th percentile: a few blown-up corrections must not flatten the rest
                lo, hi = np.percentile(v, [1, 99])
                pad = 0.1 * (hi - lo) or 1.0
                axes[row, col].set_ylim(lo - pad, hi + pad)
            if col == 0:
                axes[row, 0].set_ylabel(
                    kind.replace("llc/", "LLC, ").replace(" corrected", ",\ncorrected")
                )
        axes[-1, col].set_xlabel("contexts seen / 1000")
    axes[0, 0].set_ylabel("population loss")
    fig.tight_layout()
    save_figure(fig, stem)


def transition_stats(label: str, res, min_dwell: int = 3) -> dict:
    cfg = res.config
    spe = cfg.steps_per_epoch() if hasattr(cfg, "algo") else cfg.n_samples / cfg.batch_size
    summ = transition_summary(phase_sequences(res.phases(), min_dwell), spe)
    plateaus = sorted(
        {p for path in summ.path for p in path.split(" > ")}, key=lambda p: (len(p.rstrip("+")), p)
    )
    jumps = summ.jump_epoch.dropna()
    finals = summ.final.value_counts()
    return {
        "learner": label,
        "seeds": len(summ),
        "epochs": int(np.rint(res.steps[-1] / spe)),
        "plateaus": ", ".join(plateaus),
        "jumped": int(summ.jumped.sum()),
        "jump epoch (median)": float(jumps.median()) if len(jumps) else float("nan"),
        "jump epochs": ", ".join(f"{j:.0f}" for j in sorted(jumps)) or "--",
        "final": ", ".join(f"{k}:{v}" for k, v in sorted(finals.items())),
    }


def make_figures(args) -> None:
    """Figures, tables and macros from saved data only."""
    specs = run_specs(args.quick)
    res = {name: load_tms_runs(args.out / name) for name in specs}
    sgd_dir = args.sgd_dir
    sgd = load_tms_runs(sgd_dir) if is_tms_batch(sgd_dir) else None
    levels = {n: p.loss for n, p in kgon_critical_points(6, KGON_NAMES).items()}
    main = ({"SGD (n=1000)": sgd} if sgd is not None else {}) | {
        "online SGD": res["online_4gon"],
        "REINFORCE": res["reinforce_4gon"],
        "PPO": res["ppo_4gon"],
    }
    figure_loss(main, levels, args.figures / f"{NAME}_loss", "from a 4-gon")
    figure_loss(
        {"REINFORCE": res["reinforce_random"], "PPO": res["ppo_random"]},
        levels,
        args.figures / f"{NAME}_random",
        "from random initialisation",
    )
    figure_loss(
        {r: res[f"ladder_{r}"] for r in RUNGS},
        levels,
        args.figures / f"{NAME}_ladder",
        "REINFORCE from a 4-gon, one difficulty each",
    )
    labels = LABELS
    control = load_tms_runs(args.out / "sgd_batch")
    stats = pd.DataFrame(
        [
            transition_stats(labels[k], v)
            for k, v in ([("tms_sgd", sgd)] if sgd is not None else [])
            + [("sgd_batch", control)]
            + list(res.items())
        ]
    )
    stats.to_csv(args.out / "transitions.csv", index=False)
    narrow = stats.drop(columns=["jump epochs", "seeds"]).rename(
        columns={"jump epoch (median)": "median jump"}
    )
    narrow["plateaus"] = narrow["plateaus"].map(
        lambda p: ", ".join(q for q in p.split(", ") if q[0] in "456")
    )
    narrow["final"] = narrow["final"].str.replace(", ", " ")
    write_table(
        args.tables / f"{NAME}_transitions.tex",
        narrow,
        caption="k-gon plateaus under supervised and reinforcement learning (c = 6, 16 seeds "
        "each). Epoch = 1000 contexts seen. Plateaus: k-gons held for 3 or more "
        "checkpoints (3-gons and unclassified shapes on the way from random "
        "initialisation omitted). 'jumped': seeds that reached a 5- or 6-gon; "
        "final: phase:seeds at the end.",
        label="tab:tms-rl-transitions",
        float_format="%.0f",
    )
    macros = {}
    if (args.out / "llc.csv").exists():
        llc = pd.read_csv(args.out / "llc.csv")
        figure_llc(
            {
                labels[r]: res[r]
                for r in ("reinforce_4gon", "ppo_4gon", "reinforce_random", "ppo_random")
            },
            llc,
            args.figures / f"{NAME}_llc",
        )
        det = detection_table(args, llc)
        det.insert(0, "learner", det.pop("run").map(labels))
        det.to_csv(args.out / "detection.csv", index=False)
        short = det.rename(
            columns={
                "transitions": "trans.",
                "jumps detected": "jumps det.",
                "false alarms": "false al.",
                "lag (epochs)": "lag (ep.)",
                "step at jumps": "step",
                "jumps rising": "rising",
            }
        )
        main_runs = [
            "SGD (n=1000)",
            "online SGD, 4-gon",
            "REINFORCE, 4-gon",
            "PPO, 4-gon",
            "REINFORCE, random",
            "PPO, random",
        ]
        shown = short[short.curve.isin(TABLE_CURVES)]
        n_ckpt = llc.groupby("run").step.nunique()
        write_table(
            args.tables / f"{NAME}_detection.tex",
            shown[shown.learner.isin(main_runs)],
            caption=f"Do level shifts of the LLC curve find the loss transitions? A "
            f"transition is detected when a level shift (piecewise-constant fit, "
            f"penalty $3\\sigma^2\\ln n$, shifts under {MIN_SHIFT['llc']} LLC or "
            f"{MIN_SHIFT['loss']} loss merged) lies within a factor $e^{{{TOL}}}$ of "
            "it; false alarms: share of shifts near no transition; lag: median "
            "signed distance (positive: the LLC changes later). 'loss (control)': "
            "the same detector on the loss curve. Only transitions between the 3rd "
            f"and 3rd-to-last of the {n_ckpt.min()}--{n_ckpt.max()} LLC "
            "checkpoints of a run count; 'jumps': into a 5- or 6-gon; step: median step of "
            "the curve across the jumps (median over $(\\tau,\\tau e^{0.5}]$ minus "
            "over $[\\tau e^{-0.5},\\tau)$), rising: share of jumps with a positive "
            "step. 'corrected': SGLD estimate minus its predicted first-order part; "
            "'curvature': the predicted curvature part (quadratic model of the "
            "dataset loss at the checkpoint, theory/tms\\_rl.md).",
            label="tab:tms-rl-detection",
            float_format="%.2f",
            fit_width=True,
        )
        write_table(
            args.tables / f"{NAME}_ladder.tex",
            shown[~shown.learner.isin(main_runs)],
            caption="The ladder: detection for each difficulty (REINFORCE, 4-gon start). "
            "Drift rung: oracle\\_initial uses the initial context distribution, "
            "oracle\\_mixture an even mixture of initial and current. Only "
            "transitions between the 3rd and 3rd-to-last LLC checkpoint count.",
            label="tab:tms-rl-ladder",
            float_format="%.2f",
            fit_width=True,
        )
        macros.update(_detection_macros(det))
        macros.update(_final_llc_macros(llc))
    if (args.out / "geometry.csv").exists():
        geo = pd.read_csv(args.out / "geometry.csv")
        short_geo = geo.replace(
            {"TMS loss (Hessian)": "TMS Hessian", "action loss (Gauss-Newton)": "action GN"}
        ).rename(
            columns={
                "positive": "pos.",
                "negative": "neg.",
                "min eigenvalue": "min eig.",
                "theory LLC": "theory",
            }
        )
        write_table(
            args.tables / f"{NAME}_geometry.tex",
            short_geo,
            caption="Curvature at the k-gons: the TMS loss's Hessian against the action "
            "loss's Gauss--Newton matrix (TMS-loss units). 'visible LLC': "
            "$\\tfrac12\\sum_i n\\beta h_i/(n\\beta h_i+\\gamma)$ at the trajectory "
            "settings, negative $h_i$ dropped.",
            label="tab:tms-rl-geometry",
            float_format="%.3g",
        )
        g = geo.set_index(["phase", "loss"])
        macros["tmsRlFourPlusNegative"] = int(g.loc[("4+", "TMS loss (Hessian)"), "negative"])
        macros["tmsRlFourPlusMinEig"] = (
            f"{g.loc[('4+', 'TMS loss (Hessian)'), 'min eigenvalue']:.4f}"
        )
        macros["tmsRlFourPlusGnNegative"] = int(
            g.loc[("4+", "action loss (Gauss-Newton)"), "negative"]
        )
    if (args.out / "kgon_llc.csv").exists():
        kg = pd.read_csv(args.out / "kgon_llc.csv").set_index("phase")
        for ph, word in (("5", "Five"), ("6", "Six")):
            macros[f"tmsRlKgon{word}"] = (
                f"{kg.loc[int(ph) if int(ph) in kg.index else ph, 'llc']:.2f}"
            )
            macros[f"tmsRlKgon{word}Std"] = (
                f"{kg.loc[int(ph) if int(ph) in kg.index else ph, 'std']:.2f}"
            )
        macros["tmsRlKgonN"] = int(kg["n"].iloc[0])
    for key, row in stats.set_index("learner").iterrows():
        word = WORDS[key]
        macros[f"tmsRl{word}Jumped"] = int(row["jumped"])
        macros[f"tmsRl{word}Seeds"] = int(row["seeds"])
        macros[f"tmsRl{word}Epochs"] = int(row["epochs"])
        macros[f"tmsRl{word}JumpEpochs"] = row["jump epochs"]
        macros[f"tmsRl{word}Plateaus"] = row["plateaus"]
    for word in WORDS.values():  # every name the prose may use exists, "n/a" if not computed
        for key in ("Jumped", "Seeds", "Epochs", "JumpEpochs", "Plateaus"):
            macros.setdefault(f"tmsRl{word}{key}", "n/a")
        for key in ("Det", "Jd", "Fa", "Lag", "Step", "Rise"):
            for curve in [
                f"{pre}{k}{post}"
                for k in ("Oracle", "Action", "Reward", "OracleInitial", "OracleMixture")
                for pre, post in (("Llc", ""), ("Llc", "Corrected"), ("Curvature", ""))
            ] + [
                "LossControl",
                "LlcOracleAttributed",
                "LlcOracleAttributedCorrected",
                "LlcOraclePolished",
            ]:
                macros.setdefault(f"tmsRl{key}{word}{curve}", "n/a")
    for key in (
        "KgonFive",
        "KgonFiveStd",
        "KgonSix",
        "KgonSixStd",
        "KgonN",
        "FourPlusNegative",
        "FourPlusMinEig",
        "FourPlusGnNegative",
    ):
        macros.setdefault(f"tmsRl{key}", "n/a")
    write_macros(args.tables / f"{NAME}_macros.tex", macros)
    print(stats.to_string(index=False))


def _final_llc_macros(llc: pd.DataFrame) -> dict:
    """Median over seeds of each curve's last checkpoint, and the most negative first-order
    term along each run (median over seeds): tmsRl{Run}Final{Curve}, tmsRl{Run}MinFirstOrder."""
    out = {}
    shown = {
        "llc/oracle": "LlcOracle",
        "llc/oracle corrected": "LlcOracleCorrected",
        "curvature/oracle": "CurvatureOracle",
        "llc/action": "LlcAction",
        "llc/reward": "LlcReward",
        "first-order/oracle": "FirstOrderOracle",
    }
    for (run, measure), d in llc.groupby(["run", "measure"]):
        if measure not in shown:
            continue
        word = WORDS[LABELS[run]]
        last = d[d.step == d.step.max()].value
        out[f"tmsRl{word}Final{shown[measure]}"] = f"{np.nanmedian(last):.2f}"
        if measure == "first-order/oracle":
            out[f"tmsRl{word}MinFirstOrder"] = f"{d.groupby('seed').value.min().median():.0f}"
    return out


def _detection_macros(det: pd.DataFrame) -> dict:
    out = {}
    for _, r in det.iterrows():
        word = WORDS[r["learner"]]
        curve = "".join(
            w.capitalize()
            for w in r["curve"].replace("_", " ").replace("(", " ").replace(")", " ").split()
            if w.isalpha()
        )
        for key, col, fmt in (
            ("Det", "detected", ".2f"),
            ("Jd", "jumps detected", ".2f"),
            ("Fa", "false alarms", ".2f"),
            ("Lag", "lag (epochs)", ".0f"),
            ("Step", "step at jumps", ".3g"),
            ("Rise", "jumps rising", ".2f"),
        ):
            v = r[col]
            out[f"tmsRl{key}{word}{curve}"] = "n/a" if np.isnan(v) else format(v, fmt)
    return out


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--skip-existing",
        action="store_true",
        help="do not retrain runs whose folder under --out already exists",
    )
    args = parser.parse_args()
    args.sgd_dir = args.out.parent / "tms_sgd" / ("quick" if args.quick else "")
    if args.quick:  # quick runs live apart so they never overwrite the full runs' data
        args.out = args.out / "quick"
    torch.set_num_threads(1)
    if not args.figures_only:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "settings.json").write_text(
            json.dumps(
                {
                    "llc": LLC_HP,
                    "llc_n": LLC_N,
                    "kgon": KGON_HP,
                    "tol": TOL,
                    "min_shift": MIN_SHIFT,
                    "polish": {"steps": POLISH_STEPS, "lr": POLISH_LR},
                    **_budgets(args.quick),
                }
            )
        )
        train_runs(args)
        compute_geometry(args)
        compute_kgon(args)
        compute_llc(args)
    make_figures(args)


if __name__ == "__main__":
    main()
