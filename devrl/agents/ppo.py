"""Proximal Policy Optimization, following CleanRL's ``ppo.py`` step by step.

Reads top to bottom: config dataclass, environment and network choice, action sampling,
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

import dataclasses
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import VectorEnv
from torch import nn

from devrl._config import check_choice, check_range, check_type, from_dict
from devrl.agents.network import ActorCritic, MLPActorCritic
from devrl.agents.presets import PRESETS
from devrl.runs import Run


def _f(default: Any, doc: str) -> Any:
    """A dataclass field with its one-line documentation (becomes the CLI flag's help)."""
    return field(default=default, metadata={"help": doc})


@dataclass
class PPOConfig:
    """Every setting of a training run; each field documents itself (``metadata["help"]``).

    The environment fields describe the maze; they are unused (but recorded) when
    ``train`` is given another environment.
    """

    # --- environment variables (recorded with every measure of the run)
    size: int = _f(9, "maze side length: odd integer in [5, 25]")
    corner: int | None = _f(
        1, "cheese appears in the top-right corner x corner region; none = anywhere"
    )
    reward: dict = field(
        default_factory=lambda: {"type": "cheese"},
        metadata={"help": "reward spec: JSON (Reward.to_spec) or a name: cheese, corner"},
    )
    max_steps: int | None = _f(None, "episode time limit; none = 4 x free cells")
    # --- algorithm (names and defaults follow CleanRL where sensible)
    total_timesteps: int = _f(1_000_000, "total environment steps to train for")
    num_envs: int = _f(64, "parallel environments in the vectorized env")
    num_steps: int = _f(64, "steps per environment per rollout (batch = num_envs x num_steps)")
    lr: float = _f(1e-3, "Adam learning rate")
    anneal_lr: bool = _f(True, "linearly anneal the learning rate to 0 over training")
    gamma: float = _f(0.99, "discount factor in [0, 1]")
    gae_lambda: float = _f(0.95, "GAE lambda in [0, 1]")
    num_minibatches: int = _f(8, "minibatches per epoch; must divide the batch size")
    update_epochs: int = _f(4, "passes over each rollout batch")
    norm_adv: bool = _f(True, "normalize advantages per minibatch")
    clip_coef: float = _f(0.2, "PPO surrogate clipping coefficient (> 0)")
    clip_vloss: bool = _f(True, "clip the value loss like the policy ratio")
    ent_coef: float = _f(0.01, "entropy bonus coefficient (>= 0)")
    vf_coef: float = _f(0.5, "value loss coefficient (>= 0)")
    max_grad_norm: float = _f(0.5, "global gradient-norm clip (> 0)")
    target_kl: float | None = _f(
        None, "stop the epochs early when approx KL exceeds this; none = off"
    )
    seed: int = _f(0, "seed for network init, env levels, sampling and shuffling")
    # --- network
    channels: int = _f(16, "conv channels of the trunk")
    hidden: int = _f(32, "width of the dense layer feeding the heads (of each MLP layer)")
    separate_trunks: bool = _f(False, "give policy and value heads their own trunks")
    res_blocks: int = _f(1, "residual blocks in the trunk")
    downsample: bool = _f(False, "stride 2 in the second conv: one unit per maze cell after it")
    readout_plane: int | None = _f(
        1,
        "also feed the dense layer the conv features at this "
        "observation plane's cells (1 = mouse); none = plain flatten",
    )
    # --- run
    checkpoints: int = _f(100, "about this many checkpoints, log-spaced union linear (>= 2)")
    torch_threads: int = _f(1, "torch.set_num_threads; 1 is fastest for these tiny nets")
    device: str = _f("cpu", "torch device: cpu or cuda[:N]")

    def __post_init__(self) -> None:
        from devrl.envs.levels import validate_corner, validate_size
        from devrl.envs.rewards import reward_from_spec

        self.size = validate_size(self.size)
        self.corner = validate_corner(self.corner, self.size)
        if isinstance(self.reward, str):
            self.reward = {"type": self.reward}
        self.reward = reward_from_spec(self.reward).to_spec()
        check_range("max_steps", self.max_steps, 1, integer=True, allow_none=True)
        for name in ("num_envs", "num_steps", "num_minibatches", "update_epochs", "torch_threads"):
            check_range(name, getattr(self, name), 1, integer=True)
        check_range(
            "total_timesteps", self.total_timesteps, self.num_envs * self.num_steps, integer=True
        )
        check_range("lr", self.lr, 0, low_open=True)
        check_range("gamma", self.gamma, 0, 1)
        check_range("gae_lambda", self.gae_lambda, 0, 1)
        check_range("clip_coef", self.clip_coef, 0, low_open=True)
        check_range("ent_coef", self.ent_coef, 0)
        check_range("vf_coef", self.vf_coef, 0)
        check_range("max_grad_norm", self.max_grad_norm, 0, low_open=True)
        check_range("target_kl", self.target_kl, 0, low_open=True, allow_none=True)
        check_range("seed", self.seed, 0, 2**63 - 1, integer=True)
        check_range("channels", self.channels, 1, integer=True)
        check_range("hidden", self.hidden, 1, integer=True)
        check_range("res_blocks", self.res_blocks, 1, integer=True)
        check_range("readout_plane", self.readout_plane, 0, 2, integer=True, allow_none=True)
        check_range("checkpoints", self.checkpoints, 2, integer=True)
        for name in ("anneal_lr", "norm_adv", "clip_vloss", "separate_trunks", "downsample"):
            check_type(name, getattr(self, name), bool)
        check_type("device", self.device, str)
        check_choice("device", self.device.split(":")[0], ("cpu", "cuda"))
        if self.batch_size % self.num_minibatches:
            raise ValueError(
                f"num_minibatches must divide the batch size num_envs*num_steps={self.batch_size}, "
                f"got {self.num_minibatches}"
            )

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.batch_size

    def env_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``MazeVecEnv`` (besides ``num_envs`` and ``seed``)."""
        from devrl.envs.rewards import reward_from_spec

        return {
            "size": self.size,
            "corner": self.corner,
            "reward": reward_from_spec(self.reward),
            "max_steps": self.max_steps,
        }

    def replace(self, **changes: Any) -> PPOConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> PPOConfig:
        """Build from a dict, refusing unknown keys (the error lists the valid ones)."""
        return from_dict(cls, values)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> PPOConfig:
        """A named configuration from :data:`PRESETS`, with ``overrides`` applied."""
        check_choice("preset", name, PRESETS)
        return cls.from_dict({**PRESETS[name], **overrides})


# ------------------------------------------------------------------------- env and network


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

    ``[C, H, W]`` observations with discrete actions get :class:`ActorCritic`; flat
    observations get :class:`MLPActorCritic`, with a Gaussian head for ``Box`` actions.
    """
    obs_space, action_space = envs.single_observation_space, envs.single_action_space
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
    """
    from devrl.agents._recorder import Recorder, describe_env, finished_episodes

    cfg = config if isinstance(config, PPOConfig) else PPOConfig.from_dict(config)
    torch.set_num_threads(cfg.torch_threads)
    device = torch.device(cfg.device)

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

    rec = Recorder(
        run_dir,
        cfg,
        agent.config(),
        resume=resume,
        init_from=init_from,
        on_checkpoint=on_checkpoint,
        env=env_record,
        episode_keys=getattr(envs, "episode_keys", ("r", "l")),
    )
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
                newlogprob, entropy, newvalue = evaluate_actions(agent, b_obs[mb], b_actions[mb])
                logratio = newlogprob - b_logprobs[mb]
                ratio = logratio.exp()
                with torch.no_grad():
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs.append(((ratio - 1.0).abs() > cfg.clip_coef).float().mean().item())

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
        explained_var = float("nan") if var_y == 0 else float(1 - (y_true - y_pred).var() / var_y)
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

    rec.close()
    envs.close()
    return rec.run
