"""Proximal Policy Optimization, following CleanRL's ``ppo.py`` step by step.

Reads top to bottom: environment and network choice (the config dataclass, every
field documented, is :class:`devrl.agents.config.PPOConfig`), action sampling,
rollout, generalized advantage estimation, clipped-surrogate update. Run-directory I/O
(config.json, checkpoints, metrics, progress bar, episode statistics) lives in
:mod:`devrl.agents._recorder`, so what is left here is the algorithm; tuned configs
live in :mod:`devrl.agents.presets`.

It trains the maze by default and any gymnasium ``VectorEnv`` with SAME_STEP autoreset
passed as ``envs``: discrete actions with a categorical policy, ``Box`` actions with a
diagonal Gaussian whose log-std is a free parameter (CleanRL's
``ppo_continuous_action.py``). Episode statistics are read from ``info["episode"]``
(gymnasium's ``RecordEpisodeStatistics`` convention). Differences from CleanRL are
deliberate and few: a dedicated ``torch.Generator`` / ``numpy.Generator`` for sampling
and shuffling (so a resumed run is bit-identical) and observation buffers in the
environment's dtype (uint8 for the maze).

References: Schulman et al. 2017 (PPO), Schulman et al. 2016 (GAE), Huang et al. 2022
("The 37 implementation details of PPO"), vwxyzjn/cleanrl ``cleanrl/ppo.py`` and
``cleanrl/ppo_continuous_action.py``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import VectorEnv
from torch import nn

from devrl._device import torch_device
from devrl.agents.config import PPOConfig
from devrl.agents.network import ActorCritic, MLPActorCritic
from devrl.runs import Run


def make_env(cfg: PPOConfig) -> VectorEnv:
    """The config's maze, reporting its episode statistics in ``info["episode"]``."""
    from devrl.agents._recorder import EpisodeStatistics
    from devrl.envs import MazeVecEnv

    maze = MazeVecEnv(cfg.num_envs, seed=cfg.seed, **cfg.env_kwargs())
    return EpisodeStatistics(
        maze,
        {
            "r": "episode_return",
            "l": "episode_length",
            "success_rate": "episode_success",  # 0/1 per episode; the mean is the rate
            "corner_rate": "reached_corner",
        },
    )


def make_agent(cfg: PPOConfig, envs: VectorEnv) -> nn.Module:
    """The network for the env's spaces: conv actor-critic for grids, else an MLP.

    ``[C, H, W]`` observations with discrete actions get :class:`ActorCritic` (or, with
    ``ticks``, :class:`~devrl.agents.thinking.ThinkingActorCritic`); flat
    observations get :class:`MLPActorCritic`, with a Gaussian head for ``Box`` actions.
    """
    obs_space, action_space = envs.single_observation_space, envs.single_action_space
    if isinstance(action_space, spaces.Discrete) and len(obs_space.shape) == 3 and cfg.ticks:
        from devrl.agents.thinking import ThinkingActorCritic

        return ThinkingActorCritic(
            obs_space.shape, int(action_space.n), cfg.channels, cfg.hidden, cfg.ticks
        )
    if isinstance(action_space, spaces.Discrete) and len(obs_space.shape) == 3:
        return ActorCritic(
            obs_space.shape,
            int(action_space.n),
            channels=cfg.channels,
            hidden=cfg.hidden,
            separate_trunks=cfg.separate_trunks,
            readout_plane=cfg.readout_plane,
            res_blocks=cfg.res_blocks,
            downsample=cfg.downsample,
        )
    if isinstance(action_space, spaces.Discrete):
        return MLPActorCritic(int(np.prod(obs_space.shape)), int(action_space.n), cfg.hidden)
    if isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        obs_dim = int(np.prod(obs_space.shape))
        return MLPActorCritic(obs_dim, action_space.shape[0], cfg.hidden, continuous=True)
    raise ValueError(
        f"PPO trains Discrete or 1-D Box action spaces, got {action_space}; wrap the env "
        "(e.g. gymnasium.wrappers.vector.FlattenObservation / a Discrete action wrapper)."
    )


# ------------------------------------------------------------------------- policy helpers
# A network returns (logits or Gaussian mean [B, A], value [B]); one with a ``log_std``
# parameter [A] has a diagonal Gaussian policy, any other a categorical one.


def sample_actions(
    agent: nn.Module, obs: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample ``a ~ pi(.|obs)``: ``(actions [B] or [B, A], logprobs [B], values [B])``."""
    out, values = agent(obs)  # [B, A], [B]
    log_std = getattr(agent, "log_std", None)
    if log_std is not None:  # diagonal Gaussian
        actions = torch.normal(out, log_std.exp().expand_as(out), generator=generator)
        return actions, _gaussian_logprob(out, log_std, actions), values
    logp_all = torch.log_softmax(out, dim=-1)
    actions = torch.multinomial(logp_all.exp(), 1, generator=generator).squeeze(1)  # [B]
    return actions, logp_all.gather(1, actions[:, None]).squeeze(1), values


def evaluate_actions(
    agent: nn.Module, obs: torch.Tensor, actions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(logprob [B], entropy [B], value [B])`` of given actions under the current policy."""
    out, values = agent(obs)
    log_std = getattr(agent, "log_std", None)
    if log_std is not None:  # entropy of N(mu, sigma^2) per dim: 0.5 + 0.5 log(2 pi) + log sigma
        entropy = (0.5 + 0.5 * math.log(2 * math.pi) + log_std).sum().expand(out.shape[0])
        return _gaussian_logprob(out, log_std, actions), entropy, values
    logp_all = torch.log_softmax(out, dim=-1)  # [B, A]
    entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logp_all.gather(1, actions[:, None]).squeeze(1), entropy, values


def _gaussian_logprob(
    mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor
) -> torch.Tensor:
    """``log N(actions; mean, exp(log_std)^2 I)`` summed over action dimensions, ``[B]``."""
    z = (actions - mean) * torch.exp(-log_std)  # [B, A]
    return (-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    next_value: torch.Tensor,
    next_done: torch.Tensor,
    gamma: float,
    gae_lambda: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimates and returns (CleanRL's loop, ``[T, N]`` tensors).

    ``dones[t]`` marks that ``obs[t]`` is the first observation of a new episode
    (SAME_STEP autoreset), so the bootstrap from ``t`` to ``t + 1`` is cut by
    ``1 - dones[t + 1]``. Time-limit truncation is treated as termination, as in CleanRL.

    Args:
        rewards, values, dones: ``[T, N]`` rollout tensors.
        next_value, next_done: ``[N]`` value and done flag of the observation after the rollout.
        gamma: Discount factor.
        gae_lambda: GAE's lambda.

    Returns:
        ``(advantages [T, N], returns [T, N])`` with ``returns = advantages + values``.
    """
    num_steps = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    lastgaelam = torch.zeros_like(next_value)
    for t in reversed(range(num_steps)):
        if t == num_steps - 1:
            nextnonterminal, nextvalues = 1.0 - next_done, next_value
        else:
            nextnonterminal, nextvalues = 1.0 - dones[t + 1], values[t + 1]
        delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
        advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
    return advantages, advantages + values


# ------------------------------------------------------------------------- training


def train(
    config: PPOConfig | Mapping[str, Any],
    run_dir: str | os.PathLike,
    resume: bool = True,
    init_from: tuple[str | os.PathLike, int | None] | None = None,
    on_checkpoint: Callable[[int], None] | None = None,
    envs: VectorEnv | None = None,
) -> Run:
    """Train an agent with PPO, writing a run directory with dense checkpoints.

    Args:
        config: A :class:`PPOConfig` (or a dict of its fields).
        run_dir: Where to write ``config.json``, ``checkpoints/`` and ``metrics.csv``.
        resume: Continue a run already in ``run_dir`` (it must have the same config);
            the result is bit-identical to an uninterrupted run.
        init_from: ``(other_run_dir, step)`` to fine-tune from another run's checkpoint
            (``step=None``: its latest), e.g. after swapping the reward; the parent is
            recorded in ``config.json``.
        on_checkpoint: Called with the env step after each checkpoint is written.
        envs: A gymnasium ``VectorEnv`` (SAME_STEP autoreset, ``config.num_envs``
            copies) to train on instead of the config's maze; it is reset with
            ``config.seed``. Episode statistics are logged if it reports them in
            ``info["episode"]`` (wrap it in ``gymnasium.wrappers.vector.
            RecordEpisodeStatistics``). Resuming needs its ``state_dict`` /
            ``load_state_dict``.

    Returns:
        The finished :class:`devrl.runs.Run`.

    Raises:
        TrainingDivergedError: at the first NaN/Inf loss or weight, before it is
            checkpointed (the run keeps its last good checkpoint).
        DirectoryLockedError: if another process is writing ``run_dir``.
        RunError: if ``run_dir`` cannot hold this run (a file, unrelated files, a damaged
            config.json or metrics.csv), naming the file.
    """
    from devrl.agents._recorder import Recorder, describe_env, finished_episodes

    cfg = config if isinstance(config, PPOConfig) else PPOConfig.from_dict(config)
    torch.set_num_threads(cfg.torch_threads)
    device = torch_device(cfg.device)

    # --- setup: env, network, optimizer, and the two RNGs the loop consumes
    env_record = None
    if envs is None:
        envs = make_env(cfg)
    else:
        if envs.num_envs != cfg.num_envs:
            raise ValueError(
                f"envs has {envs.num_envs} copies but config.num_envs = {cfg.num_envs}; "
                "make them equal"
            )
        env_record = describe_env(envs)
    obs_space, action_space = envs.single_observation_space, envs.single_action_space
    torch.manual_seed(cfg.seed)
    agent = make_agent(cfg, envs).to(device)
    optimizer = torch.optim.Adam(agent.parameters(), lr=cfg.lr, eps=1e-5)
    generator = torch.Generator(device=device).manual_seed(cfg.seed)  # action sampling
    rng = np.random.default_rng(cfg.seed)  # minibatch shuffling
    next_obs = torch.as_tensor(envs.reset(seed=cfg.seed)[0], device=device)
    next_done = torch.zeros(cfg.num_envs, device=device)
    env_state = getattr(envs, "state_dict", lambda: None)

    # the recorder holds the run directory's lock, and stops at a NaN/Inf loss or weight
    with Recorder(
        run_dir,
        cfg,
        agent,
        resume=resume,
        init_from=init_from,
        on_checkpoint=on_checkpoint,
        env=env_record,
        episode_keys=getattr(envs, "episode_keys", ("r", "l")),
    ) as rec:
        start, state = rec.resume_state()
        if state is not None:
            if state["env"] is None:
                raise ValueError(
                    f"cannot resume {run_dir}: its environment {type(envs).__name__} has no "
                    "state_dict/load_state_dict, so its state was not saved; start a new run"
                )
            agent.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            generator.set_state(state["torch_rng"])
            rng.bit_generator.state = state["numpy_rng"]
            envs.load_state_dict(state["env"])
            next_obs, next_done = state["next_obs"].to(device), state["next_done"].to(device)
        elif init_from is not None:
            agent.load_state_dict(rec.parent_weights())

        def training_state() -> dict[str, Any]:
            return {
                "optimizer": optimizer.state_dict(),
                "torch_rng": generator.get_state(),
                "numpy_rng": rng.bit_generator.state,
                "env": env_state(),
                "next_obs": next_obs.cpu(),
                "next_done": next_done.cpu(),
            }

        if start == 0:
            rec.checkpoint(0, agent, training_state())

        # --- rollout storage, preallocated once
        T, N = cfg.num_steps, cfg.num_envs
        obs_shape, obs_dtype = obs_space.shape, torch.from_numpy(np.zeros(0, obs_space.dtype)).dtype
        continuous = isinstance(action_space, spaces.Box)
        action_shape = action_space.shape  # () for discrete actions
        obs = torch.zeros((T, N, *obs_shape), dtype=obs_dtype, device=device)
        actions = torch.zeros(
            (T, N, *action_shape), dtype=torch.float32 if continuous else torch.long, device=device
        )
        logprobs = torch.zeros((T, N), device=device)
        rewards = torch.zeros((T, N), device=device)
        dones = torch.zeros((T, N), device=device)
        values = torch.zeros((T, N), device=device)

        for update in range(start + 1, cfg.num_updates + 1):
            t_start = time.perf_counter()
            if cfg.anneal_lr:
                optimizer.param_groups[0]["lr"] = (1.0 - (update - 1.0) / cfg.num_updates) * cfg.lr

            # --- rollout: num_steps batched steps of all environments
            episodes = []
            for step in range(T):
                obs[step] = next_obs
                dones[step] = next_done
                with torch.no_grad():
                    action, logprob, value = sample_actions(agent, next_obs, generator)
                actions[step], logprobs[step], values[step] = action, logprob, value
                env_action = action.cpu().numpy()
                if continuous:  # the Gaussian is unbounded; the env sees it clipped to its Box
                    env_action = np.clip(env_action, action_space.low, action_space.high)
                o, r, term, trunc, info = envs.step(env_action)
                done = term | trunc
                rewards[step] = torch.as_tensor(r, device=device)
                next_obs = torch.as_tensor(o, device=device)
                next_done = torch.as_tensor(done, dtype=torch.float32, device=device)
                episodes.append(finished_episodes(info))  # {} unless an episode ended

            # --- advantages: GAE(lambda), bootstrapping from the value of the last obs
            with torch.no_grad():
                next_value = agent.value(next_obs)
                advantages, returns = compute_gae(
                    rewards, values, dones, next_value, next_done, cfg.gamma, cfg.gae_lambda
                )

            # --- update: update_epochs passes of shuffled minibatches over the flat batch
            b_obs = obs.reshape(-1, *obs_shape)
            b_actions, b_logprobs = actions.reshape(-1, *action_shape), logprobs.reshape(-1)
            b_advantages, b_returns, b_values = (
                advantages.reshape(-1),
                returns.reshape(-1),
                values.reshape(-1),
            )
            clipfracs = []
            for _epoch in range(cfg.update_epochs):
                b_inds = torch.from_numpy(rng.permutation(cfg.batch_size)).to(device)
                for start_i in range(0, cfg.batch_size, cfg.minibatch_size):
                    mb = b_inds[start_i : start_i + cfg.minibatch_size]
                    newlogprob, entropy, newvalue = evaluate_actions(
                        agent, b_obs[mb], b_actions[mb]
                    )
                    logratio = newlogprob - b_logprobs[mb]
                    ratio = logratio.exp()
                    with torch.no_grad():
                        old_approx_kl = (-logratio).mean()
                        approx_kl = ((ratio - 1) - logratio).mean()
                        clipfracs.append(
                            ((ratio - 1.0).abs() > cfg.clip_coef).float().mean().item()
                        )

                    mb_adv = b_advantages[mb]
                    if cfg.norm_adv:
                        mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                    # clipped surrogate objective (as a loss to minimise)
                    pg_loss1 = -mb_adv * ratio
                    pg_loss2 = -mb_adv * torch.clamp(ratio, 1 - cfg.clip_coef, 1 + cfg.clip_coef)
                    pg_loss = torch.max(pg_loss1, pg_loss2).mean()
                    # value loss, optionally clipped around the rollout's value estimates
                    if cfg.clip_vloss:
                        v_loss_unclipped = (newvalue - b_returns[mb]) ** 2
                        v_clipped = b_values[mb] + torch.clamp(
                            newvalue - b_values[mb], -cfg.clip_coef, cfg.clip_coef
                        )
                        v_loss_clipped = (v_clipped - b_returns[mb]) ** 2
                        v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()
                    else:
                        v_loss = 0.5 * ((newvalue - b_returns[mb]) ** 2).mean()
                    entropy_loss = entropy.mean()
                    loss = pg_loss - cfg.ent_coef * entropy_loss + v_loss * cfg.vf_coef

                    optimizer.zero_grad()
                    loss.backward()
                    nn.utils.clip_grad_norm_(agent.parameters(), cfg.max_grad_norm)
                    optimizer.step()
                if cfg.target_kl is not None and approx_kl > cfg.target_kl:
                    break

            y_pred, y_true = b_values, b_returns
            var_y = y_true.var()
            explained_var = (
                float("nan") if var_y == 0 else float(1 - (y_true - y_pred).var() / var_y)
            )
            rec.log(
                update,
                episodes,
                {
                    "charts/learning_rate": optimizer.param_groups[0]["lr"],
                    "losses/value_loss": v_loss.item(),
                    "losses/policy_loss": pg_loss.item(),
                    "losses/entropy": entropy_loss.item(),
                    "losses/old_approx_kl": old_approx_kl.item(),
                    "losses/approx_kl": approx_kl.item(),
                    "losses/clipfrac": float(np.mean(clipfracs)),
                    "losses/explained_variance": explained_var,
                    "charts/SPS": cfg.batch_size / (time.perf_counter() - t_start),
                },
            )
            if rec.is_checkpoint(update):
                rec.checkpoint(update, agent, training_state())

    envs.close()
    return rec.run
