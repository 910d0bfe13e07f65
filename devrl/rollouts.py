"""Collect trajectories from a policy into flat numpy arrays, and evaluate policies.

Why: every measure downstream (LLC datasets, probes, regret, corner rates) reads the
same thing, a batch of transitions with the positions that generated them. Collection
runs all environments of a vector env at once: one forward pass and one ``env.step``
per time step, no per-environment loop.

Transitions are stored flat, in time-major order (all envs at step 0, then step 1, ...),
each tagged with its ``episode`` id, ``env`` index and time ``t`` within the episode, so a
:class:`Rollout` becomes a dataset directly (``rollout.tensors()``) or is grouped by
episode with ``numpy``/``pandas``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from torch import nn

__all__ = [
    "Rollout",
    "action_log_probs",
    "collect",
    "episode_returns",
    "episode_scores",
    "evaluate",
]


@dataclasses.dataclass
class Rollout:
    """Transitions ``(obs, action) -> (reward, next state)`` as flat arrays of length N.

    Attributes:
        obs: ``[N, *obs_shape]`` observation the action was chosen from, in the env's
            dtype (maze: ``[N, 3, S, S]`` uint8).
        actions: ``[N]`` int64 actions taken.
        logits: ``[N, A]`` float32 policy logits at ``obs``.
        values: ``[N]`` float32 value estimates at ``obs`` (NaN if the policy has none).
        rewards: ``[N]`` float32 reward received for the action.
        terminated: ``[N]`` bool, the episode ended in a terminal state after the action.
        truncated: ``[N]`` bool, the episode was cut by the time limit after the action.
        mouse_pos: ``[N, 2]`` int (row, col) of the mouse in ``obs`` (-1 off the maze).
        cheese_pos: ``[N, 2]`` int (row, col) of the cheese in ``obs`` (-1 off the maze).
        next_mouse_pos: ``[N, 2]`` int mouse position after the action (before any
            reset; -1 off the maze).
        episode: ``[N]`` int64 episode id, numbered 0, 1, ... in order of episode start.
        env: ``[N]`` int64 index of the environment copy that produced the transition.
        t: ``[N]`` int64 time step within the episode (0 at the episode's first obs).
        reached_corner: ``[N]`` bool, the episode has visited the corner cell by the
            end of this transition.
    """

    obs: np.ndarray
    actions: np.ndarray
    logits: np.ndarray
    values: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    mouse_pos: np.ndarray
    cheese_pos: np.ndarray
    next_mouse_pos: np.ndarray
    episode: np.ndarray
    env: np.ndarray
    t: np.ndarray
    reached_corner: np.ndarray

    def __len__(self) -> int:
        return len(self.actions)

    def __repr__(self) -> str:
        return (
            f"Rollout({len(self)} transitions, {self.num_episodes} episodes "
            f"({int(self.done.sum())} finished), obs {tuple(self.obs.shape[1:])})"
        )

    @property
    def done(self) -> np.ndarray:
        """``[N]`` bool: the episode ended after this transition."""
        return self.terminated | self.truncated

    @property
    def num_episodes(self) -> int:
        """Number of distinct episodes (finished or not) in the rollout."""
        return int(np.unique(self.episode).size)

    @property
    def probs(self) -> np.ndarray:
        """``[N, A]`` action probabilities ``softmax(logits)``."""
        z = self.logits - self.logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def select(self, mask: np.ndarray) -> Rollout:
        """A new rollout with the transitions where ``mask`` (bool or index array) holds."""
        return Rollout(**{f.name: getattr(self, f.name)[mask] for f in dataclasses.fields(self)})

    def tensors(self, fields: tuple[str, ...] | None = None) -> dict[str, torch.Tensor]:
        """The arrays as torch tensors (sharing memory), e.g. for a ``TensorDataset``."""
        names = fields or tuple(f.name for f in dataclasses.fields(self))
        return {name: torch.from_numpy(np.ascontiguousarray(getattr(self, name))) for name in names}


def _policy_step(
    policy: nn.Module, obs: np.ndarray, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """One batched forward pass: ``obs [B, ...] -> (logits [B, A], values [B])``."""
    out = policy(torch.as_tensor(obs, device=device).float())
    logits, values = (out[0], out[1]) if isinstance(out, (tuple, list)) else (out, None)
    logits = logits.float().cpu().numpy()
    if values is None:
        values = np.full(len(logits), np.nan, np.float32)
    else:
        values = values.float().reshape(len(logits)).cpu().numpy()
    return logits, values


@torch.no_grad()
def action_log_probs(policy: nn.Module, obs: np.ndarray, batch: int = 512) -> np.ndarray:
    """Log-softmax of the policy's logits on ``obs [N, ...]`` -> ``[N, A]`` (float64),
    in batches of ``batch`` states on the policy's device."""
    params = next(policy.parameters(), None)
    device = params.device if params is not None else torch.device("cpu")
    chunks = []
    for i in range(0, len(obs), batch):
        out = policy(torch.as_tensor(obs[i : i + batch], device=device).float())
        logits = out[0] if isinstance(out, (tuple, list)) else out
        chunks.append(torch.log_softmax(logits.double(), dim=-1).cpu().numpy())
    return np.concatenate(chunks)


def _sample(logits: np.ndarray, rng: np.random.Generator, greedy: bool) -> np.ndarray:
    """Actions ``[B]`` from logits ``[B, A]``: argmax, or inverse-CDF sampling of softmax."""
    if greedy:
        return logits.argmax(axis=1)
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    cdf = np.cumsum(z, axis=1)
    u = rng.random(len(logits))[:, None] * cdf[:, -1:]
    return np.minimum((cdf < u).sum(axis=1), logits.shape[1] - 1)


def _info_array(info: Mapping[str, Any], key: str, shape: tuple[int, ...], fill: int) -> np.ndarray:
    return np.asarray(info[key]) if key in info else np.full(shape, fill)


def _mouse_in(obs: np.ndarray) -> np.ndarray:
    """(row, col) of the mouse plane (channel 1) of each observation ``[B, 3, S, S]``."""
    flat = obs[:, 1].reshape(len(obs), -1).argmax(axis=1)
    return np.stack(np.divmod(flat, obs.shape[-1]), axis=1)


def collect(
    policy: nn.Module,
    env: gym.vector.VectorEnv,
    *,
    steps: int | None = None,
    episodes: int | None = None,
    seed: int | None = 0,
    greedy: bool = False,
) -> Rollout:
    """Run ``policy`` in every copy of ``env`` at once and record the transitions.

    Give exactly one of ``steps`` or ``episodes``. With ``steps``, every env copy takes
    ``steps`` actions (``steps * num_envs`` transitions; episodes still running at the end
    are kept, unfinished). With ``episodes``, env copy ``i`` contributes its first
    ``(episodes + i) // num_envs`` episodes, all finished: a fixed quota per copy, so
    short episodes are not over-represented (stopping at the first ``episodes`` to end
    would favour them).

    Args:
        policy: ``forward(obs [B, C, S, S] float) -> (logits [B, A], value [B])`` (a bare
            logits tensor also works; values are then NaN). Runs under ``torch.no_grad``;
            put it in eval mode yourself if it has dropout or batch norm.
        env: A vector env with ``AutoresetMode.SAME_STEP`` (e.g. ``devrl.envs.MazeVecEnv``).
            It is reset with ``seed``.
        steps: Actions per env copy.
        episodes: Total finished episodes to collect.
        seed: Seeds the env reset and the action sampling; ``None`` for fresh entropy.
        greedy: Take ``argmax`` actions instead of sampling.

    Returns:
        A :class:`Rollout`. Episode ids number episodes in order of start (0, 1, ...).
    """
    if (steps is None) == (episodes is None):
        raise ValueError(
            "give exactly one of steps= or episodes= (e.g. collect(p, env, steps=128))"
        )
    if steps is not None and (not isinstance(steps, (int, np.integer)) or steps < 1):
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if episodes is not None and (not isinstance(episodes, (int, np.integer)) or episodes < 1):
        raise ValueError(f"episodes must be a positive int, got {episodes!r}")
    mode = env.metadata.get("autoreset_mode")
    if mode is not None and mode != gym.vector.AutoresetMode.SAME_STEP:
        raise ValueError(
            f"collect needs a vector env with AutoresetMode.SAME_STEP, got {mode}; "
            "create it with autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP"
        )
    n = env.num_envs
    params = next(policy.parameters(), None)
    device = params.device if params is not None else torch.device("cpu")
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    maze = "mouse_pos" in info  # maze observations locate the mouse; others have no mouse
    mouse = _info_array(info, "mouse_pos", (n, 2), -1)
    cheese = _info_array(info, "cheese_pos", (n, 2), -1)

    quota = None if episodes is None else np.array([(episodes + i) // n for i in range(n)])
    finished = np.zeros(n, np.int64)  # episodes ended so far, per env copy
    episode = np.arange(n, dtype=np.int64)  # current episode id, per env copy
    next_id = n
    t = np.zeros(n, np.int64)
    keys = [f.name for f in dataclasses.fields(Rollout)]
    buf: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    keep: list[np.ndarray] = []  # per step: which copies still count towards their quota
    step = 0
    with torch.no_grad():
        while True:
            if steps is not None and step >= steps:
                break
            if quota is not None:
                if np.all(finished >= quota):
                    break
                keep.append(finished < quota)
            logits, values = _policy_step(policy, obs, device)  # [B, A], [B]
            actions = _sample(logits, rng, greedy)
            next_obs, rewards, terminated, truncated, info = env.step(actions)
            done = np.asarray(terminated) | np.asarray(truncated)
            final_obs = np.asarray(info["final_obs"]) if "final_obs" in info else next_obs
            row = {
                "obs": np.asarray(obs).copy(),  # the env's dtype (uint8 for the maze)
                "actions": actions.astype(np.int64),
                "logits": logits.astype(np.float32),
                "values": values.astype(np.float32),
                "rewards": np.asarray(rewards, np.float32),
                "terminated": np.asarray(terminated, bool),
                "truncated": np.asarray(truncated, bool),
                "mouse_pos": mouse,
                "cheese_pos": cheese,
                "next_mouse_pos": (
                    _mouse_in(np.asarray(final_obs)) if maze else np.full((n, 2), -1)
                ),
                "episode": episode.copy(),
                "env": np.arange(n, dtype=np.int64),
                "t": t.copy(),
                "reached_corner": np.asarray(
                    _info_array(info, "reached_corner", (n,), 0), bool
                ).copy(),
            }
            for k in keys:
                buf[k].append(row[k])
            # Advance: rows that just ended start a new episode (SAME_STEP autoreset).
            obs = next_obs
            mouse = _info_array(info, "mouse_pos", (n, 2), -1)
            cheese = _info_array(info, "cheese_pos", (n, 2), -1)
            finished += done
            t = np.where(done, 0, t + 1)
            n_new = int(done.sum())
            episode = episode.copy()
            episode[done] = np.arange(next_id, next_id + n_new)
            next_id += n_new
            step += 1
    arrays = {k: np.stack(v).reshape(-1, *np.shape(v[0])[1:]) for k, v in buf.items()}
    rollout = Rollout(**arrays)
    if quota is not None:
        rollout = rollout.select(np.stack(keep).reshape(-1))
    # Renumber episode ids 0..E-1 in order of start (ids were already increasing).
    _, rollout.episode = np.unique(rollout.episode, return_inverse=True)
    rollout.episode = rollout.episode.astype(np.int64)
    return rollout


def evaluate(
    policy: nn.Module,
    env_kwargs: Mapping[str, Any] | None = None,
    episodes: int = 100,
    seed: int = 0,
    greedy: bool = False,
    *,
    gamma: float = 0.99,
    num_envs: int | None = None,
) -> pd.DataFrame:
    """Play ``episodes`` maze episodes and score each against the exact solver.

    **Regret** of an episode is the optimal discounted return from its start state minus
    the discounted return the policy achieved::

        regret = V*(mouse_start) - sum_t gamma**t * r_t

    where ``V*`` comes from ``devrl.envs.solver.solve`` on the episode's maze, cheese and
    reward with the same ``gamma``. The solver ignores the time limit, so with
    non-negative rewards regret is >= 0, and it is 0 exactly when the policy earns the
    optimal return (e.g. walks a shortest path to the cheese).

    Args:
        policy: ``forward(obs) -> (logits, value)``.
        env_kwargs: Keyword arguments of ``devrl.envs.MazeVecEnv`` other than ``num_envs``
            and ``seed`` (``size``, ``corner``, ``reward``, ``max_steps``).
        episodes: Number of episodes (rows).
        seed: Seeds the mazes and the action sampling. Results also depend on
            ``num_envs``, which decides how mazes are dealt to env copies.
        greedy: Take ``argmax`` actions instead of sampling.
        gamma: Discount for the discounted return and ``V*``.
        num_envs: Env copies stepped at once (default ``min(episodes, 64)``).

    Returns:
        One row per episode: ``seed, episode, env, return, discounted_return, length,
        reached_cheese, reached_corner, optimal_value, regret, optimal_distance`` plus the
        env's scalar variables (``size``, ``corner``, ``max_steps``, ...).
    """
    from devrl.envs import MazeVecEnv

    env_kwargs = dict(env_kwargs or {})
    bad = sorted({"num_envs", "seed"} & set(env_kwargs))
    if bad:
        raise ValueError(
            f"env_kwargs must not contain {bad}; pass episodes=/seed=/num_envs= instead"
        )
    if not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise ValueError(f"episodes must be a positive int, got {episodes!r}")
    if not 0.0 < gamma < 1.0:
        raise ValueError(
            f"gamma must be in (0, 1) (the solver ignores the time limit), got {gamma}"
        )
    num_envs = int(num_envs or min(episodes, 64))
    env = MazeVecEnv(num_envs=num_envs, seed=seed, **env_kwargs)
    try:
        roll = collect(policy, env, episodes=episodes, seed=seed, greedy=greedy)
    finally:
        env.close()
    table = episode_scores(roll, reward=env.reward, gamma=gamma)
    env_vars = {k: v for k, v in env.config().items() if v is None or np.isscalar(v)}
    table.insert(0, "seed", seed)
    return table.assign(**env_vars)


def episode_scores(roll: Rollout, *, reward: Any = None, gamma: float = 0.99) -> pd.DataFrame:
    """Score the finished episodes of a maze rollout against the exact solver.

    Unfinished episodes (cut off by ``collect(steps=...)``) are dropped. See
    :func:`evaluate` for the definition of regret.

    Args:
        roll: A :class:`Rollout` from a maze env (plane 0 of ``obs`` holds the walls).
        reward: The env's reward object or spec (``env.reward``); None is the cheese reward.
        gamma: Discount for the discounted return and ``V*``.

    Returns:
        One row per finished episode: ``episode, env, return, discounted_return, length,
        reached_cheese, reached_corner, optimal_value, regret, optimal_distance``.
    """
    from devrl.envs import solver
    from devrl.envs.rewards import reward_from_spec

    reward = reward_from_spec(reward)
    if not 0.0 < gamma < 1.0:
        raise ValueError(
            f"gamma must be in (0, 1) (the solver ignores the time limit), got {gamma}"
        )
    roll = roll.select(np.isin(roll.episode, roll.episode[roll.done]))
    ids, first = np.unique(roll.episode, return_index=True)
    last = np.flatnonzero(roll.done)[np.argsort(roll.episode[roll.done])]
    idx = np.searchsorted(ids, roll.episode)
    returns = np.bincount(idx, weights=roll.rewards, minlength=len(ids))
    disc = np.bincount(
        idx, weights=roll.rewards * gamma ** roll.t.astype(float), minlength=len(ids)
    )
    start_mouse = roll.mouse_pos[first]
    cheese = roll.cheese_pos[first]
    optimal_value = np.empty(len(ids))
    distance = np.empty(len(ids), np.int64)
    for i, j in enumerate(first):  # one exact solve per maze; not in the stepping loop
        walls = roll.obs[j, 0].astype(bool)
        sol = solver.solve(walls, cheese[i], reward=reward, gamma=gamma)
        optimal_value[i] = sol.V[tuple(start_mouse[i])]
        distance[i] = sol.distance[tuple(start_mouse[i])]
    return pd.DataFrame(
        {
            "episode": ids,
            "env": roll.env[first],
            "return": returns,
            "discounted_return": disc,
            "length": roll.t[last] + 1,
            "reached_cheese": np.all(roll.next_mouse_pos[last] == cheese, axis=1),
            "reached_corner": roll.reached_corner[last],
            "optimal_value": optimal_value,
            "regret": optimal_value - disc,
            "optimal_distance": distance,
        }
    )


def episode_returns(roll: Rollout, *, gamma: float = 0.99) -> pd.DataFrame:
    """Return, discounted return and length of the finished episodes of any env's rollout.

    The environment-agnostic part of :func:`episode_scores` (which adds the maze's
    solver columns); unfinished episodes are dropped.

    Returns:
        One row per finished episode: ``episode, env, return, discounted_return, length``.
    """
    roll = roll.select(np.isin(roll.episode, roll.episode[roll.done]))
    ids, first = np.unique(roll.episode, return_index=True)
    last = np.flatnonzero(roll.done)[np.argsort(roll.episode[roll.done])]
    idx = np.searchsorted(ids, roll.episode)
    disc = roll.rewards * gamma ** roll.t.astype(float)
    return pd.DataFrame(
        {
            "episode": ids,
            "env": roll.env[first],
            "return": np.bincount(idx, weights=roll.rewards, minlength=len(ids)),
            "discounted_return": np.bincount(idx, weights=disc, minlength=len(ids)),
            "length": roll.t[last] + 1,
        }
    )
