"""The toy model of superposition learned from bandit feedback: REINFORCE and PPO, many seeds.

The policy is Gaussian, a ~ N(f_{W,b}(x), σ²I) with f = ReLU(WᵀW x + b), on
:class:`~devrl.envs.tms.TMSBandit` (reward −‖x − a‖²). Its expected reward is −L(W, b) − cσ²
(theory/tms_rl.md), so the k-gon critical points are those of supervised training and only
the gradient noise differs. Two learners:

* ``reinforce``: one step per batch of fresh contexts on (G − V(x)) ∇ log π(a|x), G the return;
* ``ppo``: the clipped surrogate min(ρA, clip(ρ, 1 ± ε)A) on the Gaussian likelihood ratio
  ρ = π_new(a|x)/π_old(a|x), several epochs of minibatches per batch, normalised advantages.

The baseline V(x) is a linear critic on the features [1, 1{x_j>0}, x_j, x_j²] (for one
active feature E[R|x] is a quadratic in μ per feature), fitted by exponentially weighted
least squares on *earlier* batches only, so the gradient stays unbiased.

As in :mod:`devrl.agents.tms_sgd`, all seeds train as one tensor W [S, m, c] with
hand-written gradients; each seed owns its environment, noise and shuffling generators, so a
seed's trajectory does not depend on the other seeds. A *step* is one batch of ``batch``
fresh contexts; ``contexts`` in total per seed (SGD: n = 1000 × 4,500 epochs = 4.5M).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from devrl.agents.tms_model import init_tms_params, tms_backward, tms_forward, tms_layers
from devrl.agents.tms_runs import TMSBatchConfig, TMSResult, snapshot_metrics
from devrl.envs.tms import TMSBandit
from devrl.theory.tms import population_loss_torch

__all__ = ["TMSRLConfig", "policy_gradient", "train_tms_rl"]


def _f(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass
class TMSRLConfig(TMSBatchConfig):
    """Settings of a batch of TMS runs trained by policy gradient on ``TMSBandit``."""

    trainer: ClassVar[str] = "tms_rl"
    step_unit: ClassVar[str] = "update on one batch of `batch` fresh contexts"

    algo: str = _f(
        "reinforce",
        "'reinforce' (baseline, one step per batch), 'ppo', or 'online' "
        "(supervised SGD on the same fresh contexts: the control)",
    )
    n_seeds: int = _f(16, "number of runs (seeds seed0 .. seed0 + n_seeds - 1)")
    seed0: int = _f(0, "first seed")
    c: int = _f(6, "number of features")
    m: int = _f(2, "hidden dimension")
    init: str = _f("4gon", "'4gon' (unit square on features 0..3) or 'random' (W ~ N(0, 1/m))")
    init_noise: float = _f(0.01, "std of Gaussian noise added to every initial parameter")
    sigma: float = _f(0.1, "policy standard deviation (initial value if learned)")
    learn_sigma: bool = _f(False, "learn log σ (one per seed) by policy gradient")
    sigma_min: float = _f(0.02, "floor of a learned σ")
    contexts: int = _f(4_500_000, "fresh contexts per seed over the whole run")
    batch: int = _f(200, "contexts per step (rollout size); a multiple of episode_length")
    lr: float = _f(0.05, "learning rate")
    optimizer: str = _f("sgd", "'sgd' or 'adam'")
    baseline: str = _f(
        "critic", "'critic' (linear critic on past batches), 'batch' (batch mean) or 'none'"
    )
    critic_decay: float = _f(0.9, "weight of the past in the critic's least-squares statistics")
    ppo_epochs: int = _f(4, "PPO: passes over each batch")
    minibatch: int = _f(50, "PPO: minibatch size (must divide batch)")
    clip: float = _f(0.2, "PPO: clipping range ε of the likelihood ratio")
    normalize_advantage: bool = _f(True, "PPO: standardise advantages per batch")
    reward_noise: float = _f(0.0, "std of Gaussian noise added to every reward")
    episode_length: int = _f(1, "contexts per episode")
    delayed_reward: bool = _f(False, "pay the summed reward at the end of the episode only")
    probs: list | None = field(
        default=None, metadata={"help": "initial feature probabilities (None: uniform)"}
    )
    importance: list | None = field(
        default=None, metadata={"help": "initial per-output reward importances (None: ones)"}
    )
    drift_probs: list | None = field(
        default=None, metadata={"help": "feature probabilities reached by the end of the drift"}
    )
    drift_importance: list | None = field(
        default=None, metadata={"help": "importances reached by the end of the drift"}
    )
    drift_start: float = _f(0.25, "fraction of training where the drift begins")
    drift_end: float = _f(0.5, "fraction of training where the drift ends (linear ramp)")
    feedback: float = _f(
        0.0,
        "actions influence the next contexts: next step's feature "
        "probabilities are (1-κ)·probs + κ·(share of argmax actions)",
    )
    n_log_checkpoints: int = _f(100, "log-spaced checkpoint steps")
    n_linear_checkpoints: int = _f(200, "linearly spaced checkpoint steps")
    run: str = _f("tms_rl", "run name written in the 'run' column")

    def __post_init__(self) -> None:
        if self.algo not in ("reinforce", "ppo", "online"):
            raise ValueError(f"algo must be 'reinforce', 'ppo' or 'online', got {self.algo!r}.")
        if self.optimizer not in ("sgd", "adam") or self.baseline not in (
            "critic",
            "batch",
            "none",
        ):
            raise ValueError(
                f"optimizer must be 'sgd'/'adam' and baseline 'critic'/'batch'/'none'; "
                f"got {self.optimizer!r}, {self.baseline!r}."
            )
        for name in (
            "n_seeds",
            "c",
            "m",
            "contexts",
            "batch",
            "ppo_epochs",
            "minibatch",
            "episode_length",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}.")
        if self.batch % self.episode_length or (self.algo == "ppo" and self.batch % self.minibatch):
            raise ValueError(
                f"batch ({self.batch}) must be a multiple of episode_length "
                f"({self.episode_length}) and, for PPO, of minibatch ({self.minibatch})."
            )
        if self.init not in ("4gon", "random") or (
            self.init == "4gon" and (self.m != 2 or self.c < 4)
        ):
            raise ValueError(
                f"init must be 'random', or '4gon' with m = 2, c >= 4; got {self.init!r}."
            )
        if not (self.lr > 0 and self.sigma > 0 and 0 < self.sigma_min <= self.sigma):
            raise ValueError(
                f"need lr > 0 and 0 < sigma_min <= sigma; got lr={self.lr}, "
                f"sigma={self.sigma}, sigma_min={self.sigma_min}."
            )
        if not (
            0 <= self.critic_decay < 1
            and 0 <= self.feedback <= 1
            and self.clip > 0
            and 0 <= self.drift_start <= self.drift_end <= 1
        ):
            raise ValueError(
                "need 0 <= critic_decay < 1, 0 <= feedback <= 1, clip > 0 and "
                "0 <= drift_start <= drift_end <= 1."
            )

    @property
    def total_steps(self) -> int:
        return self.contexts // self.batch

    def env_kwargs(self) -> dict[str, Any]:
        """``TMSBandit``'s arguments at the start of training (drift and feedback move them)."""
        return {
            "c": self.c,
            "probs": self.probs,
            "importance": self.importance,
            "reward_noise": self.reward_noise,
            "episode_length": self.episode_length,
            "delayed_reward": self.delayed_reward,
        }

    def metric_columns(self, metrics: pd.DataFrame) -> dict[str, Any]:
        """Config fields (and contexts seen) written as columns of the tidy metrics."""
        keys = (
            "algo",
            "init",
            "sigma",
            "learn_sigma",
            "lr",
            "batch",
            "reward_noise",
            "episode_length",
            "feedback",
        )
        return {**{k: getattr(self, k) for k in keys}, "contexts": metrics["step"] * self.batch}

    def steps_per_epoch(self, n_samples: int = 1000) -> float:
        """Steps per 'epoch' of ``n_samples`` contexts, to compare with SGD's epochs."""
        return n_samples / self.batch

    def distribution(self, frac: float) -> tuple[np.ndarray, np.ndarray]:
        """(probs, importance) in force at a fraction ``frac`` of training (the drift ramp)."""
        c = self.c
        p0 = (
            np.full(c, 1 / c)
            if self.probs is None
            else np.asarray(self.probs, float) / np.sum(self.probs)
        )
        i0 = np.ones(c) if self.importance is None else np.asarray(self.importance, float)
        p1 = (
            p0
            if self.drift_probs is None
            else np.asarray(self.drift_probs, float) / np.sum(self.drift_probs)
        )
        i1 = i0 if self.drift_importance is None else np.asarray(self.drift_importance, float)
        span = max(self.drift_end - self.drift_start, 1e-12)
        w = float(np.clip((frac - self.drift_start) / span, 0.0, 1.0))
        return (1 - w) * p0 + w * p1, (1 - w) * i0 + w * i1


def policy_gradient(W, b, log_sigma, x, a, weight):
    """Gradient of the loss −mean_n weight_n · log π(a_n | x_n) for the Gaussian policy.

    With ``weight`` the advantage this is REINFORCE's estimate of ∇(L + cσ²) = −∇E[R];
    PPO passes weight = A·ρ on unclipped samples and 0 elsewhere.

    Args:
        W: [S, m, c]. b: [S, c]. log_sigma: [S]. x, a: contexts and actions [S, N, c].
        weight: [S, N].

    Returns:
        (gW [S, m, c], gb [S, c], g_log_sigma [S]).
    """
    h, pre, f = tms_layers(W, b, x)
    var = torch.exp(2 * log_sigma)[:, None, None]
    n = x.shape[1]
    d_out = -weight[..., None] * (a - f) / var / n  # d(−weight·log π)/df
    gW, gb = tms_backward(W, x, h, pre, d_out)
    sq = ((a - f) ** 2).sum(-1) / var[..., 0]  # [S, N]
    g_ls = -(weight * (sq - W.shape[-1])).mean(1)
    return gW, gb, g_ls


def _critic_features(x: torch.Tensor) -> torch.Tensor:
    """[1, 1{x_j > 0}, x_j, x_j²] per context: [..., 3c + 1]."""
    return torch.cat([torch.ones_like(x[..., :1]), (x > 0).to(x.dtype), x, x * x], -1)


def train_tms_rl(
    config: TMSRLConfig, out: str | Path | None = None, progress: bool | None = None
) -> TMSResult:
    """Train ``config.n_seeds`` Gaussian-policy TMS runs by REINFORCE or PPO, vectorised.

    Args:
        config: the learner, policy, environment ladder settings and budget.
        out: if given, write one run per seed there (:func:`~devrl.agents.tms_runs.save_tms_runs`).
        progress: tqdm bar over steps (None: only on a tty).

    Returns:
        Snapshots (W, b, σ) at ``config.checkpoint_steps`` and tidy metrics:
        ``loss/population`` (exact, default distribution), ``loss/population_current`` (exact,
        distribution in force), ``reward/mean`` (last batch), ``policy/sigma``, ``polygon/k``,
        ``polygon/n_plus``.
    """
    cfg = config
    S, c, N, L = cfg.n_seeds, cfg.c, cfg.batch, cfg.episode_length
    gens = [torch.Generator().manual_seed(int(s)) for s in cfg.seeds]
    envs = [
        TMSBandit(
            N // L,
            c,
            cfg.probs,
            cfg.importance,
            cfg.reward_noise,
            L,
            cfg.delayed_reward,
            seed=[int(s), 2],
        )
        for s in cfg.seeds
    ]
    for env in envs:
        env.reset()
    W, b = init_tms_params(cfg.init, cfg.m, cfg.c, cfg.init_noise, gens)
    log_sigma = torch.full((S,), float(np.log(cfg.sigma)))
    params = [W, b] + ([log_sigma] if cfg.learn_sigma else [])
    # Adam's moments are elementwise, so one optimizer over the batched tensors is S Adams.
    adam = torch.optim.Adam(params, lr=cfg.lr) if cfg.optimizer == "adam" else None
    F = 3 * c + 1
    P = (
        torch.eye(F, dtype=torch.float64).expand(S, F, F).clone() * 1e-3
    )  # critic statistics (ridge prior)
    q = torch.zeros(S, F, dtype=torch.float64)

    steps = cfg.checkpoint_steps
    T = len(steps)
    W_snap, b_snap = np.zeros((S, T, cfg.m, c), np.float32), np.zeros((S, T, c), np.float32)
    sig_snap, rew_snap = np.zeros((S, T), np.float32), np.full((S, T), np.nan)
    dist_snap = []
    ckpt = 0
    mean_reward = torch.full((S,), float("nan"))

    def record(step):
        nonlocal ckpt
        while ckpt < T and steps[ckpt] == step:
            W_snap[:, ckpt], b_snap[:, ckpt] = W.numpy(), b.numpy()
            sig_snap[:, ckpt] = log_sigma.exp().numpy()
            rew_snap[:, ckpt] = mean_reward.numpy()
            dist_snap.append(cfg.distribution(step / max(cfg.total_steps, 1)))
            ckpt += 1

    def apply(grads):
        if adam is not None:
            for p, g in zip(params, grads, strict=True):
                p.grad = g
            adam.step()
        else:
            for p, g in zip(params, grads, strict=True):
                p.sub_(cfg.lr * g)
        if cfg.learn_sigma:
            log_sigma.clamp_(min=float(np.log(cfg.sigma_min)))

    rows = torch.arange(S)[:, None]
    drifting = cfg.drift_probs is not None or cfg.drift_importance is not None
    record(0)
    t0 = time.perf_counter()
    with torch.no_grad():
        for step in tqdm(
            range(1, cfg.total_steps + 1),
            disable=progress is False if progress is not None else None,
            desc=f"tms {cfg.algo}",
            leave=False,
        ):
            if drifting:
                probs, imp = cfg.distribution((step - 1) / cfg.total_steps)
                for env in envs:
                    env.set_distribution(probs, imp)
            # Rollout: L env steps of N/L contexts each -> x, a, return-to-go G: [S, N(, c)].
            xs, acts, rews = [], [], []
            sigma = log_sigma.exp()[:, None, None]
            for _ in range(L):
                x = torch.from_numpy(np.stack([env._obs for env in envs]))  # [S, N/L, c]
                eps = torch.stack([torch.randn(N // L, c, generator=g) for g in gens])
                a = tms_forward(W, b, x) + sigma * eps
                r = [env.step(a[s].numpy())[1] for s, env in enumerate(envs)]
                xs.append(x), acts.append(a), rews.append(torch.from_numpy(np.stack(r)))
            G = torch.stack(rews, 1).flip(1).cumsum(1).flip(1).reshape(S, N)  # reward-to-go
            x, a = torch.cat(xs, 1), torch.cat(acts, 1)
            if cfg.feedback > 0:
                share = torch.nn.functional.one_hot(a.argmax(-1), c).double().mean(1).numpy()
                base, imp = cfg.distribution(step / cfg.total_steps)
                for s, env in enumerate(envs):
                    env.set_distribution((1 - cfg.feedback) * base + cfg.feedback * share[s], imp)
            mean_reward = G.mean(1) if L == 1 else torch.stack(rews, 1).sum(1).mean(1)
            phi = _critic_features(x.double())  # [S, N, F]
            if cfg.baseline == "critic":
                v = torch.linalg.solve(P, q)  # fitted on earlier batches only
                adv = G - (phi @ v[..., None])[..., 0].float()
                P.mul_(cfg.critic_decay).add_(
                    phi.transpose(1, 2) @ phi / N, alpha=1 - cfg.critic_decay
                )
                q.mul_(cfg.critic_decay).add_(
                    (phi * G.double()[..., None]).mean(1), alpha=1 - cfg.critic_decay
                )
            elif cfg.baseline == "batch":
                adv = G - G.mean(1, keepdim=True)
            else:
                adv = G.clone()
            if cfg.algo == "reinforce":
                apply(policy_gradient(W, b, log_sigma, x, a, adv)[: len(params)])
            elif cfg.algo == "online":  # ∇‖x − f(x)‖², the supervised gradient on the same x
                h, pre, f = tms_layers(W, b, x)
                gW, gb = tms_backward(W, x, h, pre, 2 * (f - x) / N)
                apply([gW, gb, torch.zeros_like(log_sigma)][: len(params)])
            else:
                _ppo_update(cfg, W, b, log_sigma, x, a, adv, gens, rows, apply, len(params))
            if not torch.isfinite(W).all():
                raise FloatingPointError(
                    f"parameters diverged at step {step} ({cfg.algo}, "
                    f"lr={cfg.lr}, sigma={cfg.sigma}); lower lr."
                )
            record(step)
    seconds = time.perf_counter() - t0
    result = _result(cfg, steps, W_snap, b_snap, sig_snap, rew_snap, dist_snap, seconds)
    if out is not None:
        result.save(out)
    return result


def _ppo_update(cfg, W, b, log_sigma, x, a, adv, gens, rows, apply, n_params):
    """Clipped-surrogate epochs over minibatches of one batch (old policy = before the update)."""
    N, c = x.shape[1:]
    if cfg.normalize_advantage:
        adv = (adv - adv.mean(1, keepdim=True)) / (adv.std(1, keepdim=True) + 1e-8)
    old_sq = ((a - tms_forward(W, b, x)) ** 2).sum(-1)  # [S, N]
    old_ls = log_sigma.clone()
    for _ in range(cfg.ppo_epochs):
        perm = torch.stack([torch.randperm(N, generator=g) for g in gens])
        for j in range(0, N, cfg.minibatch):
            idx = perm[:, j : j + cfg.minibatch]
            xb, ab, A = x[rows, idx], a[rows, idx], adv[rows, idx]
            sq = ((ab - tms_forward(W, b, xb)) ** 2).sum(-1)
            log_ratio = (
                -0.5 * sq * torch.exp(-2 * log_sigma)[:, None]
                - c * log_sigma[:, None]
                + 0.5 * old_sq[rows, idx] * torch.exp(-2 * old_ls)[:, None]
                + c * old_ls[:, None]
            )
            ratio = log_ratio.exp()
            clipped = ((A > 0) & (ratio > 1 + cfg.clip)) | ((A < 0) & (ratio < 1 - cfg.clip))
            weight = torch.where(clipped, torch.zeros_like(A), A * ratio)
            apply(policy_gradient(W, b, log_sigma, xb, ab, weight)[:n_params])


def _result(cfg, steps, W_snap, b_snap, sig_snap, rew_snap, dist_snap, seconds) -> TMSResult:
    W64, b64 = (
        torch.as_tensor(W_snap, dtype=torch.float64),
        torch.as_tensor(b_snap, dtype=torch.float64),
    )
    pop = population_loss_torch(W64, b64).numpy()
    cur = np.stack(
        [
            population_loss_torch(W64[:, t], b64[:, t], *dist_snap[t]).numpy()
            for t in range(len(steps))
        ],
        1,
    )
    series = {
        "loss/population": pop,
        "loss/population_current": cur,
        "reward/mean": rew_snap,
        "policy/sigma": sig_snap,
    }
    metrics = snapshot_metrics(cfg, steps, W_snap, b_snap, series)
    return TMSResult(cfg, steps, W_snap, b_snap, metrics, seconds, sigma=sig_snap)
