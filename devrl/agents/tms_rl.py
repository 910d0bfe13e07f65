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
fresh contexts; ``contexts`` in total per seed (SGD: n = 1000 × 4,500 epochs = 4.5M). The
settings, the drifting distribution among them, are :class:`TMSRLConfig`
(:mod:`devrl.agents.tms_rl_config`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from devrl._progress import progress as _progress
from devrl.agents.tms_model import init_tms_params, tms_backward, tms_forward, tms_layers
from devrl.agents.tms_rl_config import TMSRLConfig
from devrl.agents.tms_runs import TMSResult, snapshot_metrics
from devrl.envs.tms import TMSBandit
from devrl.theory.tms import population_loss_torch

__all__ = ["TMSRLConfig", "policy_gradient", "train_tms_rl"]


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
        progress: Progress over steps (a bar on a terminal, a line every 30 s elsewhere);
            False silences it.

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
        for step in _progress(
            range(1, cfg.total_steps + 1),
            f"tms {cfg.algo}",
            unit="step",
            leave=False,
            enabled=progress,
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
