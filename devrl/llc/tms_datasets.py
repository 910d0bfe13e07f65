"""LLC datasets for the toy model of superposition trained by reinforcement, three ways.

The same checkpoint (W, b) of a Gaussian policy N(f_{W,b}(x), σ²I) on ``TMSBandit`` has three
candidate per-sample losses:

==========  ====================================================  ===========================
kind        per-sample loss at w = (W, b)                          needs
==========  ====================================================  ===========================
oracle      ‖x − f_w(x)‖² on fresh contexts x (the TMS loss)        the targets x (supervision)
action      ‖a − f_w(x)‖² / (2σ²), a ~ π_ref(·|x) stored             rollouts only
            (−log π_w(a|x) up to a constant: a distillation loss)
reward      −r · π_w(a|x)/π_ref(a|x), (x, a, r) from π_ref           rollouts only
            (importance-weighted negative reward: unbiased for
            E_x E_{a~π_w}[−R] = L(w) + cσ² + const)
==========  ====================================================  ===========================

Why the action loss sees a different geometry (theory/tms_rl.md, section 5): its population
version is ‖f_w − f_ref‖²/(2σ²), minimised at *every* checkpoint, with Hessian the
Gauss–Newton term E[JᵀJ]/σ² only; the TMS loss adds the residual curvature −2E[Σ_k r_k ∇²f_k]
and is minimised only at critical points. The reward loss has the TMS loss's expectation but
its samples were drawn at w_ref, so its noise grows as w leaves w_ref.

Each dataset implements :class:`devrl.llc.LLCData` (so :func:`devrl.llc.estimate` runs on a
:class:`~devrl.agents.tms_model.TMSModel`), and :func:`tms_llc_batched` runs many checkpoints at
once through :func:`devrl.llc.estimate_many` (devinterp's SGLD, paired minibatch differences),
with the losses defined once in :func:`tms_loss`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch

from devrl.agents.tms_model import TMSModel, tms_forward
from devrl.llc.data import Forward, LLCData, TensorData
from devrl.llc.estimator import estimate_many
from devrl.llc.result import LLCResult

__all__ = [
    "TMS_LLC_KINDS",
    "TMSActionData",
    "TMSOracleData",
    "TMSRewardData",
    "tms_llc_batched",
    "tms_loss",
    "tms_quadratic_terms",
    "tms_rollouts",
]

Kind = Literal["oracle", "action", "reward"]
TMS_LLC_KINDS: tuple[str, ...] = ("oracle", "action", "reward")


def tms_loss(
    kind: str, f: torch.Tensor, data: tuple[torch.Tensor, ...], sigma: float
) -> torch.Tensor:
    """Per-sample loss from the model output f(x) [..., k, c] and the stored tensors.

    Args:
        kind: 'oracle' (data = (x,)), 'action' (data = (x, a)) or 'reward'
            (data = (x, a, r, f_ref)); see the module table.
        f: model output at the sampled parameters.
        data: the dataset's tensors, broadcastable against ``f``.
        sigma: policy standard deviation of the reference policy.

    Returns:
        Loss per sample [..., k].
    """
    if kind == "oracle":
        return ((data[0] - f) ** 2).sum(-1)
    if kind == "action":
        return ((data[1] - f) ** 2).sum(-1) / (2 * sigma**2)
    if kind == "reward":
        _, a, r, f_ref = data
        log_ratio = (((a - f_ref) ** 2).sum(-1) - ((a - f) ** 2).sum(-1)) / (2 * sigma**2)
        return -r * torch.exp(log_ratio)
    raise ValueError(f"kind must be one of {TMS_LLC_KINDS}, got {kind!r}.")


class _TMSData(TensorData):
    kind: str = "oracle"

    def __init__(self, *tensors: torch.Tensor, sigma: float = 1.0):
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0 (the policy std), got {sigma!r}.")
        if tensors[0].dim() != 2:
            raise ValueError(f"contexts must be [n, c]; got shape {tuple(tensors[0].shape)}.")
        super().__init__(*(t.float() for t in tensors))
        self.sigma = float(sigma)

    def loss(self, forward: Forward, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return tms_loss(self.kind, forward(batch[0]), batch, self.sigma)


class TMSOracleData(_TMSData):
    """Supervised TMS loss ‖x − f(x)‖² on contexts x [n, c] (what SLT calls the LLC)."""

    kind = "oracle"

    def __init__(self, x: torch.Tensor):
        super().__init__(x)


class TMSActionData(_TMSData):
    """Action likelihood −log π_w(a|x) = ‖a − f_w(x)‖²/(2σ²) + const of stored actions a."""

    kind = "action"

    def __init__(self, x: torch.Tensor, a: torch.Tensor, sigma: float):
        super().__init__(x, a, sigma=sigma)


class TMSRewardData(_TMSData):
    """Importance-weighted negative reward −r π_w(a|x)/π_ref(a|x) of stored rollouts."""

    kind = "reward"

    def __init__(
        self, x: torch.Tensor, a: torch.Tensor, r: torch.Tensor, f_ref: torch.Tensor, sigma: float
    ):
        super().__init__(x, a, r, f_ref, sigma=sigma)


def tms_rollouts(
    W: np.ndarray | torch.Tensor,
    b: np.ndarray | torch.Tensor,
    sigma: float,
    n: int,
    rng: np.random.Generator,
    probs: np.ndarray | None = None,
    importance: np.ndarray | None = None,
    reward_noise: float = 0.0,
) -> dict[str, torch.Tensor]:
    """Fresh contexts and one-step rollouts of the policy N(f_{W,b}(x), σ²I).

    Returns dict with x [n, c], a [n, c], r [n] (the bandit's reward, incl. noise) and
    f_ref [n, c]; build any of the three datasets from it.
    """
    from devrl.envs.tms import sample_contexts  # envs imports llc-free code only

    W = torch.as_tensor(np.asarray(W), dtype=torch.float32)
    b = torch.as_tensor(np.asarray(b), dtype=torch.float32)
    c = W.shape[-1]
    x = torch.from_numpy(sample_contexts(n, rng, c, probs))
    f = tms_forward(W, b, x)
    a = f + sigma * torch.from_numpy(rng.standard_normal((n, c)).astype(np.float32))
    imp = (
        torch.ones(c)
        if importance is None
        else torch.as_tensor(np.asarray(importance), dtype=torch.float32)
    )
    r = -(((x - a) ** 2) * imp).sum(-1)
    if reward_noise > 0:
        r = r + reward_noise * torch.from_numpy(rng.standard_normal(n).astype(np.float32))
    return {"x": x, "a": a, "r": r, "f_ref": f}


def tms_llc_batched(
    W: np.ndarray,
    b: np.ndarray,
    data: tuple[torch.Tensor, ...],
    *,
    kind: str = "oracle",
    sigma: float = 1.0,
    lr: float = 1e-4,
    nbeta: float = 100.0,
    localization: float = 10.0,
    chains: int = 4,
    draws: int = 200,
    burnin: int = 100,
    batch_size: int = 200,
    seed: int = 0,
    divergence_factor: float = math.inf,
) -> list[LLCResult]:
    """LLC of K TMS checkpoints at once: :func:`devrl.llc.estimate_many` on ``TMSModel``s.

    Args:
        W: checkpoints [K, m, c]. b: [K, c].
        data: the dataset tensors of each checkpoint, each [K, n, ...] (as in the module table;
            for 'reward' (x, a, r, f_ref)). Tensors expanded from one [n, ...] tensor (stride 0
            along K) are one dataset shared by all checkpoints.
        kind: 'oracle', 'action' or 'reward'.
        sigma: policy std (action and reward losses).
        lr, nbeta, localization, chains, draws, burnin, batch_size, seed: as in
            :func:`devrl.llc.estimate` (permutation minibatches, ``batch_size <= n``).
        divergence_factor: as in :func:`devrl.llc.estimate`; by default only a NaN/inf loss
            counts as divergence. Checkpoints along a trajectory are not minima, and the
            reward loss's importance weights make single minibatches spike: the run-away
            test (built for minima) fires there on transients the draws average out.

    Returns:
        One ``LLCResult`` per checkpoint (λ̂ = nβ (mean L_B(w_t) − L_B(w*)) and diagnostics).

    Raises:
        ChainDivergedError: a chain's loss became NaN/inf or ran away; lower ``lr``.
    """

    if kind not in TMS_LLC_KINDS:
        raise ValueError(f"kind must be one of {TMS_LLC_KINDS}, got {kind!r}.")
    W0 = torch.as_tensor(np.asarray(W), dtype=torch.float32)
    b0 = torch.as_tensor(np.asarray(b), dtype=torch.float32)
    if W0.dim() != 3 or b0.shape != (W0.shape[0], W0.shape[2]):
        raise ValueError(
            f"expected W [K, m, c] and b [K, c]; got {tuple(W0.shape)}, {tuple(b0.shape)}."
        )
    K, m, c = W0.shape
    n = int(data[0].shape[1])
    if any(int(t.shape[0]) != K or int(t.shape[1]) != n for t in data):
        raise ValueError(f"every data tensor must be [K={K}, n, ...] with the same n.")
    models = [TMSModel(c, m, W=W0[k], b=b0[k]) for k in range(K)]

    def dataset(tensors: tuple[torch.Tensor, ...]) -> LLCData:
        if kind == "oracle":
            return TMSOracleData(*tensors)
        if kind == "action":
            return TMSActionData(*tensors, sigma=sigma)
        return TMSRewardData(*tensors, sigma=sigma)

    shared = K == 1 or all(t.stride(0) == 0 for t in data)
    datasets = (
        dataset(tuple(t[0] for t in data))
        if shared
        else [dataset(tuple(t[k] for t in data)) for k in range(K)]
    )
    return estimate_many(
        models,
        datasets,
        lr=lr,
        nbeta=nbeta,
        localization=localization,
        chains=chains,
        draws=draws,
        burnin=burnin,
        batch_size=batch_size,
        seed=seed,
        divergence_factor=divergence_factor,
        progress=False,
        warn=False,  # hundreds of checkpoints per trajectory, some kinds with w* not a minimum
    )


def tms_quadratic_terms(
    W: np.ndarray,
    b: np.ndarray,
    data: tuple[torch.Tensor, ...],
    *,
    kind: str = "oracle",
    sigma: float = 1.0,
    nbeta: float = 100.0,
    localization: float = 10.0,
    lr: float | None = None,
    burnin: int = 0,
    draws: int = 1,
    hessian_samples: int | None = 1000,
    chunk: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """What SGLD's λ̂ should read at each checkpoint if the dataset loss were quadratic there.

    With gradient g and Hessian H of the dataset loss at w* (eigenbasis of H, a_i = nβh_i + γ),
    SGLD is a linear (Ornstein–Uhlenbeck) recursion δ ← ρ_i δ − (ε/2)nβg_i + √ε ξ per direction,
    ρ_i = 1 − εa_i/2, started at δ = 0. Its mean m_i(t) = −(ε/2)nβg_i(1 − ρ_i^t)/(1 − ρ_i) and
    variance v_i(t) = ε(1 − ρ_i^{2t})/(1 − ρ_i²) are exact, so the estimator's expectation
    nβ·mean_t E[L(δ_t) − L(0)] over the draws t ∈ [burnin, burnin + draws) splits exactly into
        first order  nβ Σ_i mean_t (g_i m_i + ½h_i m_i²)   (the descent when w* is no minimum)
        curvature    nβ Σ_i mean_t ½h_i v_i                (the LLC-like part).
    Subtracting the first from :func:`tms_llc_batched`'s estimate (same lr, burn-in, draws)
    removes the gradient's contribution at non-critical checkpoints. Finite time matters:
    along flat directions the chain needs ~2/(εγ) steps to settle, longer than a short run.
    With ``lr=None`` the stationary limit is used instead (m = −nβg/a, v = 1/a; then the first
    order is −Σ nβ²g²(nβh + 2γ)/(2a²) and the curvature ½Σ nβh/a, theory/llc_rl_datasets.md).
    In both, h is clipped at −γ/(2nβ): below it the quadratic chain grows like ρ^t with ρ > 1
    (by 10^25 in 600 steps at h = −1) while the real one is held by the ReLU kinks, and the
    stationary Gaussian is missing; at the clip a direction counts three times a flat one.

    g uses all n samples (a property of the finite dataset: for 'reward' it is the
    policy-gradient estimate of those rollouts); H the first ``hessian_samples`` (None: all),
    5× cheaper at n = 5000, changing H by its sampling error only. Minibatch gradient noise is
    ignored (it adds variance of order ε·nβ²·Var(g_B)).

    Returns:
        (first_order [K], curvature [K]); NaN where some direction is too stiff for the step
        size (εa_i/2 ≥ 2: the quadratic chain is unstable, so the real one cannot be quadratic
        there) or a prediction is not finite.
    """
    from torch.func import grad, hessian, vmap

    if kind not in TMS_LLC_KINDS:
        raise ValueError(f"kind must be one of {TMS_LLC_KINDS}, got {kind!r}.")
    if lr is not None and (lr <= 0 or draws < 1 or burnin < 0):
        raise ValueError(f"need lr > 0, draws >= 1 and burnin >= 0; got {lr}, {draws}, {burnin}.")
    W0 = torch.as_tensor(np.asarray(W), dtype=torch.float64)
    b0 = torch.as_tensor(np.asarray(b), dtype=torch.float64)
    K, m, c = W0.shape
    theta = torch.cat([W0.reshape(K, -1), b0], dim=1)
    steps = None if lr is None else torch.arange(burnin, burnin + draws, dtype=torch.float64)

    def loss(th, *d):
        Wk, bk = th[: m * c].reshape(m, c), th[m * c :]
        return tms_loss(kind, tms_forward(Wk, bk, d[0]), d, sigma).mean()

    def geometric(r, t):  # Σ_{s<t} r^s = (1 − r^t)/(1 − r), = t where r = 1
        near = (1 - r).abs() < 1e-12
        safe = torch.where(near, torch.full_like(r, 0.5), r)
        return torch.where(near, t, (1 - safe**t) / (1 - safe))

    first, curv = np.empty(K), np.empty(K)
    for s in range(0, K, chunk):
        d = tuple(t[s : s + chunk].double() for t in data)
        g = vmap(grad(loss))(theta[s : s + chunk], *d)
        H = vmap(hessian(loss))(theta[s : s + chunk], *(t[:, :hessian_samples] for t in d))
        h, V = torch.linalg.eigh(H)
        gi = torch.einsum("kij,ki->kj", V, g)
        h = h.clamp(min=-0.5 * localization / nbeta)
        if steps is None:
            a = nbeta * h + localization
            mean, var = (-nbeta * gi / a)[..., None], (1 / a)[..., None]
        else:
            rho = (1 - 0.5 * lr * (nbeta * h + localization))[..., None]  # [k, d, 1]
            mean = -0.5 * lr * nbeta * gi[..., None] * geometric(rho, steps)
            var = lr * geometric(rho**2, steps)
        hh = h[..., None]
        f1 = (nbeta * (gi[..., None] * mean + 0.5 * hh * mean**2)).sum(1).mean(-1).numpy()
        c2 = (nbeta * 0.5 * hh * var).sum(1).mean(-1).numpy()
        bad = ~(np.isfinite(f1) & np.isfinite(c2))
        if steps is not None:  # ε·a_i/2 ≥ 2: the quadratic chain oscillates and grows
            bad |= (rho[..., 0] <= -1).any(-1).numpy()
        first[s : s + chunk] = np.where(bad, np.nan, f1)
        curv[s : s + chunk] = np.where(bad, np.nan, c2)
    return first, curv
