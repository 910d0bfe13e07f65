"""The LLC along TMS training trajectories: raw, first-order corrected, attributed, polished.

Every seed of a batch of TMS runs (:class:`~devrl.agents.tms_runs.TMSResult`) is estimated at
the same checkpoints, all at once through :func:`~devrl.llc.tms_datasets.tms_llc_batched`,
on one dataset per (checkpoint, kind) of :mod:`devrl.llc.tms_datasets` (oracle, action,
reward; theory/tms_rl.md). Each kind draws its contexts and rollouts from its own random
stream, ``default_rng([seed, 7, keys[kind]])``, so every estimator reading a kind's data (the
SGLD curve, its quadratic terms, the attributed and polished paths) sees the same contexts.

Three corrections of the raw SGLD estimate, for checkpoints that are not critical points:

- *first-order corrected*: minus the first-order part :func:`tms_quadratic_terms` predicts
  for SGLD with the same settings (the descent still open at the checkpoint);
- *attributed* (under drift of the context distribution): a path that only parameter
  changes move (:func:`attributed_llc`);
- *polished*: SGLD from the checkpoint after full-batch gradient steps on its own dataset
  (:func:`polished_llc`).

All return tidy rows ``run, seed, step, measure, value, stderr``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from devrl.agents.tms_model import tms_forward
from devrl.checkpoints import nearest_checkpoints
from devrl.envs.tms import sample_contexts
from devrl.llc.tms_datasets import tms_llc_batched, tms_loss, tms_quadratic_terms

__all__ = [
    "TIDY_COLUMNS",
    "attributed_llc",
    "first_order_terms",
    "kind_data",
    "polished_llc",
    "trajectory_llc",
]

TIDY_COLUMNS = ["run", "seed", "step", "measure", "value", "stderr"]


def _stack(res, idx) -> tuple[np.ndarray, np.ndarray]:
    """W [S·J, m, c] and b [S·J, c] of the checkpoints idx of every seed (seed-major)."""
    return res.W[:, idx].reshape(-1, *res.W.shape[2:]), res.b[:, idx].reshape(-1, res.b.shape[-1])


def kind_data(
    res, idx, kind: str, seed: int, *, n: int, keys: Mapping[str, int], sigma: float = 0.1
) -> tuple:
    """The LLC dataset of ``kind`` for the checkpoints idx of every seed: (W, b, data, σ).

    Args:
        res: a :class:`~devrl.agents.tms_runs.TMSResult`.
        idx: indices into ``res.steps``; the K = S · len(idx) checkpoints are seed-major.
        kind: ``oracle`` (data ``(x,)``), ``action`` (``(x, a)``), ``reward``
            (``(x, a, r, f)``), or under drift ``oracle_initial`` (the initial context
            distribution) or ``oracle_mixture`` (an even mixture of the current and uniform
            frequencies); ``oracle`` uses the distribution in force at each checkpoint.
        seed: the experiment's seed; with ``keys[kind]`` it fixes the kind's random stream.
        n: contexts (and rollouts) per checkpoint.
        keys: one integer per kind (distinct, so no two kinds share a stream).
        sigma: the policy's σ where the runs record none.

    Returns:
        W [K, m, c], b [K, c], data tensors [K, n, ...], and the mean σ of the rollouts
        (1.0 for the oracle kinds).
    """
    cfg = res.config
    total = max(int(res.steps[-1]), 1)

    def probs_of(step):
        if not hasattr(cfg, "distribution") or kind == "oracle_initial":
            return None
        now = cfg.distribution(step / total)[0]
        return 0.5 * (now + 1 / cfg.c) if kind == "oracle_mixture" else now

    rng = np.random.default_rng([seed, 7, keys[kind]])
    W, b = _stack(res, idx)
    sig = res.sigma[:, idx].reshape(-1) if res.sigma is not None else np.full(len(W), sigma)
    steps = np.tile(res.steps[idx], res.W.shape[0])
    x = torch.from_numpy(
        np.stack([sample_contexts(n, rng, W.shape[-1], probs_of(st)) for st in steps])
    )
    if kind.startswith("oracle"):
        return W, b, (x,), 1.0
    f = tms_forward(torch.as_tensor(W), torch.as_tensor(b), x)
    s = torch.as_tensor(sig, dtype=torch.float32)[:, None, None]
    a = f + s * torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
    r = -((x - a) ** 2).sum(-1)
    noise = getattr(cfg, "reward_noise", 0.0)
    if noise:
        r = r + noise * torch.from_numpy(rng.standard_normal(r.shape).astype(np.float32))
    return W, b, ((x, a) if kind == "action" else (x, a, r, f)), float(sig.mean())


def first_order_terms(
    W, b, data, hp: Mapping, kind: str = "oracle", sigma: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(first-order, curvature) parts [K] that :func:`tms_quadratic_terms` predicts for SGLD
    run with the settings ``hp`` (lr, nbeta, localization, burnin, draws)."""
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


def _sgld(W, b, data, hp: Mapping, seed: int, kind: str = "oracle", sigma: float = 1.0):
    """(λ̂ [K], its standard error over chains [K]) from :func:`tms_llc_batched`."""
    results = tms_llc_batched(W, b, data, kind=kind, sigma=sigma, seed=seed, **hp)
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


def trajectory_llc(
    res,
    kinds: Sequence[str],
    n_points: int,
    seed: int,
    *,
    hp: Mapping,
    n: int,
    keys: Mapping[str, int],
    sigma: float = 0.1,
    progress: bool = True,
) -> pd.DataFrame:
    """LLC of every seed at n_points checkpoints (:func:`nearest_checkpoints`), for each kind.

    Measures: ``llc/<kind>`` (SGLD with settings ``hp``; the action kind's nβ is scaled by
    2σ², so its Gauss–Newton part has the oracle's scale), ``first-order/<kind>`` and
    ``curvature/<kind>`` (the quadratic prediction of :func:`tms_quadratic_terms` on the same
    dataset) and ``llc/<kind> corrected`` = SGLD − first-order. ``n``, ``keys``, ``sigma``:
    as for :func:`kind_data`.

    Returns:
        Tidy rows (:data:`TIDY_COLUMNS`); NaN standard errors for the predicted parts.
    """
    idx = nearest_checkpoints(res.steps, n_points)
    rows = []
    for kind in kinds:
        W, b, data, sig = kind_data(res, idx, kind, seed, n=n, keys=keys, sigma=sigma)
        kind_hp = dict(hp)
        if kind == "action":
            kind_hp["nbeta"] = kind_hp["nbeta"] * 2 * sig**2
        base = "oracle" if kind.startswith("oracle") else kind
        t0 = time.perf_counter()
        first, curv = first_order_terms(W, b, data, kind_hp, kind=base, sigma=sig)
        mean, stderr = _sgld(W, b, data, kind_hp, seed, kind=base, sigma=sig)
        nan = np.full(len(W), np.nan)
        rows += (
            _tidy(res, idx, f"first-order/{kind}", first, nan)
            + _tidy(res, idx, f"curvature/{kind}", curv, nan)
            + _tidy(res, idx, f"llc/{kind}", mean, stderr)
            + _tidy(res, idx, f"llc/{kind} corrected", mean - first, stderr)
        )
        if progress:
            print(
                f"  llc/{kind} of {res.config.run}: {len(W)} checkpoints in "
                f"{time.perf_counter() - t0:.0f} s",
                flush=True,
            )
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def attributed_llc(
    res,
    llc: pd.DataFrame,
    n_points: int,
    seed: int,
    *,
    hp: Mapping,
    n: int,
    keys: Mapping[str, int],
    sigma: float = 0.1,
) -> pd.DataFrame:
    """The drift-attributed oracle LLC path: only parameter changes move it.

    At LLC checkpoint j the oracle dataset comes from the current distribution p_j (the same
    contexts as ``llc/oracle``). We also estimate the LLC of the *previous* checkpoint's
    parameters on that dataset, and sum the differences:
    Λ_j = Λ_{j−1} + λ̂(w_j; p_j) − λ̂(w_{j−1}; p_j), Λ_0 = λ̂(w_0; p_0). A change of p alone
    leaves Λ unchanged; a change of w moves it as the LLC on the current distribution would.
    ``llc/oracle attributed corrected`` does the same with first-order corrected estimates.

    Args:
        llc: :func:`trajectory_llc`'s rows for this run, with ``llc/oracle`` estimated with the
            same ``n_points``, ``seed``, ``hp``, ``n``, ``keys``.
    """
    idx = nearest_checkpoints(res.steps, n_points)
    W, b, data, _ = kind_data(res, idx, "oracle", seed, n=n, keys=keys, sigma=sigma)
    S, J = res.W.shape[0], len(idx)
    Wp, bp = _stack(res, np.r_[idx[0], idx[:-1]])
    # Same seed as llc/oracle: the same minibatches and noise for w_{j−1} as for w_j (common
    # random numbers), so the difference is not swamped by chain noise that the sum accumulates.
    mean_prev = _sgld(Wp, bp, data, hp, seed)[0].reshape(S, J)
    first_prev = first_order_terms(Wp, bp, data, hp)[0].reshape(S, J)
    first_now = first_order_terms(W, b, data, hp)[0].reshape(S, J)
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


def polish(W, b, x: torch.Tensor, steps: int, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` full-batch gradient steps of the oracle loss on contexts x [K, n, c] from
    each of the K checkpoints W [K, m, c], b [K, c]; the polished (W, b)."""
    Wt = torch.as_tensor(W, dtype=torch.float32).clone().requires_grad_(True)
    bt = torch.as_tensor(b, dtype=torch.float32).clone().requires_grad_(True)
    for _ in range(steps):
        f = tms_forward(Wt, bt, x)
        loss = tms_loss("oracle", f, (x,), 1.0).mean(-1).sum()
        gW, gb = torch.autograd.grad(loss, (Wt, bt))
        with torch.no_grad():
            Wt -= lr * gW
            bt -= lr * gb
    return Wt.detach().numpy(), bt.detach().numpy()


def polished_llc(
    res,
    n_points: int,
    seed: int,
    *,
    hp: Mapping,
    n: int,
    keys: Mapping[str, int],
    steps: int,
    lr: float,
    sigma: float = 0.1,
) -> pd.DataFrame:
    """Oracle LLC on the current distribution at a point made (nearly) critical for it.

    Under drift a checkpoint trails the moving minimum, and SGLD's estimate there measures the
    descent still open. Here each checkpoint first takes ``steps`` full-batch gradient steps
    (rate ``lr``, :func:`polish`) on its own oracle dataset (the contexts of ``llc/oracle``),
    then SGLD runs from that point. Also returns the first-order term after polishing
    (``first-order/oracle polished``) to show how much of the descent is gone.
    """
    idx = nearest_checkpoints(res.steps, n_points)
    W, b, data, _ = kind_data(res, idx, "oracle", seed, n=n, keys=keys, sigma=sigma)
    Wp, bp = polish(W, b, data[0], steps, lr)
    mean, stderr = _sgld(Wp, bp, data, hp, seed)
    first = first_order_terms(Wp, bp, data, hp)[0]
    rows = _tidy(res, idx, "llc/oracle polished", mean, stderr) + _tidy(
        res, idx, "first-order/oracle polished", first, np.full(len(first), np.nan)
    )
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)
