"""Batched cheese-in-the-corner maze: many copies stepped at once with numpy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from devrl.envs.levels import (
    bfs_flat,
    corner_cell,
    default_max_steps,
    mouse_start,
    next_cell_table,
    sample_level,
    validate_corner,
    validate_share,
    validate_size,
)
from devrl.envs.rewards import Reward, reward_from_spec

_STATE_VERSION = 1
_CONFIG_KEYS = ("size", "corner", "reward", "max_steps", "cheese_anywhere")


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def env_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of environment ``index`` under seed ``seed``.

    ``SeedSequence(seed, spawn_key=(index,))`` is child ``index`` of
    ``SeedSequence(seed).spawn(n)`` for every ``n``, so an environment's levels do not
    depend on how many environments run beside it.
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))


class MazeVecEnv(VectorEnv):
    """A batch of cheese-in-the-corner mazes, stepped together with numpy.

    ## Description
    A mouse must find the cheese in a procedurally generated perfect maze (Kruskal)
    on an odd ``size x size`` grid. In training the cheese sits in the top-right
    ``corner x corner`` region, so "go to the top-right" and "go to the cheese" are
    confounded; at test time (``corner=None``) the cheese can be anywhere. This is the
    gridworld of goal-misgeneralization studies (Langosco et al.; Team Shard's maze
    agent) and of Elliott et al.'s stagewise RL.

    ## Action Space
    ``Discrete(4)`` per environment: 0 up, 1 right, 2 down, 3 left. Moving into a
    wall or off the grid leaves the mouse where it is (the step still counts).

    ## Observation Space
    ``Box(0, 1, (3, size, size), uint8)`` per environment: planes (wall, mouse,
    cheese), each 0/1. Row 0 is the top row.

    ## Starting State
    A new maze is drawn for every episode. The mouse starts bottom-left at
    ``(size-1, 0)``; the cheese is uniform over the free cells of the top-right
    ``corner x corner`` region (``corner=1``: the top-right cell; ``None``: any free
    cell but the start).

    ## Rewards
    Given by a reward object (:mod:`devrl.envs.rewards`); the default
    :class:`~devrl.envs.rewards.CheeseReward` pays +1 on reaching the cheese.

    ## Episode End
    Terminated on entering a terminal cell of the reward (the cheese by default).
    Truncated after ``max_steps`` steps (default 4 x the number of free cells).
    Autoreset is SAME_STEP: the obs returned for a finished environment is already the
    first obs of its next episode; the last obs of the finished one is in
    ``info["final_obs"]``.

    ## Info
    Arrays of length ``num_envs``: ``mouse_pos`` [B,2], ``cheese_pos`` [B,2] and
    ``optimal_distance`` [B] (BFS steps from mouse to cheese) describe the returned obs;
    ``reached_corner`` [B] whether this step's episode has visited the top-right cell;
    ``episode_return``, ``episode_length``, ``episode_success`` (ended by termination)
    are the finished episode's stats where ``terminated | truncated`` (running values
    elsewhere); ``final_obs`` [B,3,S,S] the pre-reset obs. :meth:`reset` returns the
    first four.

    ## Arguments
    Args:
        num_envs: number of mazes stepped together.
        size: odd side length in [5, 25] (default 9).
        corner: side of the top-right region holding the cheese, in [1, size], or
            None for anywhere (default 1).
        reward: a :class:`~devrl.envs.rewards.Reward`, its spec dict, or None (cheese).
        max_steps: time limit per episode (default 4 x free cells).
        cheese_anywhere: share of levels whose cheese is placed anywhere (as at test time)
            instead of in the corner region, in [0, 1] (default 0).
        seed: seeds the environments' generators; ``reset(seed=...)`` reseeds. None
            draws fresh entropy. Environment ``i`` uses :func:`env_rng` ``(seed, i)``.

    Seeding: each environment owns a generator, so its level sequence depends only on
    ``(seed, i)``. :meth:`state_dict` / :meth:`load_state_dict` save and restore the whole
    state, generators included, for bit-identical resumes.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "autoreset_mode": AutoresetMode.SAME_STEP,
        "render_modes": [],
    }

    def __init__(
        self,
        num_envs: int,
        size: int = 9,
        corner: int | None = 1,
        reward: Reward | dict | None = None,
        max_steps: int | None = None,
        seed: int | None = None,
        cheese_anywhere: float = 0.0,
    ):
        self.num_envs = _check_int("num_envs", num_envs, 1)
        self.size = validate_size(size)
        self.corner = validate_corner(corner, self.size)
        self.cheese_anywhere = validate_share(cheese_anywhere)
        self.reward = reward_from_spec(reward)
        self.max_steps = (
            default_max_steps(self.size)
            if max_steps is None
            else _check_int("max_steps", max_steps, 1)
        )
        self.render_mode = None
        B, S = self.num_envs, self.size
        n = S * S
        self.single_observation_space = spaces.Box(0, 1, (3, S, S), np.uint8)
        self.single_action_space = spaces.Discrete(4)
        self.observation_space = batch_space(self.single_observation_space, B)
        self.action_space = batch_space(self.single_action_space, B)

        # Level state (per env), kept flat so one step is a handful of fancy-index ops.
        self._walls = np.zeros((B, S, S), dtype=bool)
        self._cheese = np.zeros((B, 2), dtype=np.int64)
        self._next = np.zeros(B * n * 4, dtype=np.int64)  # [B, n, 4] flat cell after action
        self._enter = np.zeros(B * n, dtype=np.float32)  # [B, n] reward for entering cell
        self._terminal = np.zeros(B * n, dtype=bool)  # [B, n]
        self._dist = np.zeros(B * n, dtype=np.int64)  # [B, n] BFS steps to the cheese
        self._obs = np.zeros((B, 3, S, S), dtype=np.uint8)
        self._obs_flat = self._obs.reshape(-1)  # a view
        # Episode state.
        self._pos = np.zeros(B, dtype=np.int64)  # flat mouse cell
        self._t = np.zeros(B, dtype=np.int64)
        self._return = np.zeros(B, dtype=np.float64)
        self._corner_seen = np.zeros(B, dtype=bool)

        self._rows = np.arange(B)
        self._base = self._rows * n
        self._base4 = self._rows * (n * 4)
        self._mouse_plane = self._rows * (3 * n) + n
        self._start = mouse_start(S)[0] * S + mouse_start(S)[1]
        self._corner_flat = corner_cell(S)[0] * S + corner_cell(S)[1]
        self._seed(seed)
        self._needs_reset = True  # the first reset() draws the first levels

    # ----------------------------------------------------------------- seeding
    def _seed(self, seed: int | Sequence[int] | None) -> None:
        B = self.num_envs
        if seed is None:
            seed = int(np.random.SeedSequence().entropy)
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            if seed < 0:
                raise ValueError(f"seed must be a non-negative integer, got {seed}.")
            self._rngs = [env_rng(int(seed), i) for i in range(B)]
            return
        seeds = list(seed) if isinstance(seed, (list, tuple, np.ndarray)) else []
        if len(seeds) != B or not all(isinstance(s, (int, np.integer)) and s >= 0 for s in seeds):
            raise ValueError(
                f"seed must be None, a non-negative int, or a list of {B} non-negative ints "
                f"(one per environment), got {seed!r}."
            )
        # A list gives env i the levels a single MazeEnv gets from reset(seed=seeds[i]).
        self._rngs = [env_rng(int(s), 0) for s in seeds]

    # ------------------------------------------------------------------ levels
    def _set_level(self, i: int, walls: np.ndarray, cheese: tuple[int, int]) -> None:
        """Install a level in row ``i`` and put the mouse at the start of a new episode."""
        S, n = self.size, self.size * self.size
        table = self.reward.tabular(walls, cheese)
        next_table = next_cell_table(walls)
        cheese_flat = cheese[0] * S + cheese[1]
        self._walls[i] = walls
        self._cheese[i] = cheese
        lo = i * n
        self._next[lo * 4 : (lo + n) * 4] = next_table.reshape(-1)
        self._enter[lo : lo + n] = (table.cell + table.step).reshape(-1)
        self._terminal[lo : lo + n] = table.terminal.reshape(-1)
        self._dist[lo : lo + n] = bfs_flat(next_table, ~walls.reshape(-1), cheese_flat)
        obs = self._obs[i]
        obs[0] = walls
        obs[1:] = 0
        obs.reshape(3, n)[1, self._start] = 1
        obs.reshape(3, n)[2, cheese_flat] = 1
        self._pos[i] = self._start
        self._t[i] = 0
        self._return[i] = 0.0
        self._corner_seen[i] = False

    def set_level(
        self,
        i: int,
        walls: np.ndarray,
        cheese: tuple[int, int],
        mouse: tuple[int, int] | None = None,
    ) -> None:
        """Start a new episode in environment ``i`` on a given level (hand-made mazes, probes).

        The level need not be a perfect maze. The environment's generator is not used,
        so later random levels are unchanged. Read the new obs with :meth:`observe`.

        Args:
            i: environment index.
            walls: ``[S, S]`` bool; the mouse start must be free.
            cheese: ``(row, col)`` of a free cell.
            mouse: ``(row, col)`` of a free cell to start from (default: the usual start).
        """
        S = self.size
        walls = np.asarray(walls)
        if walls.shape != (S, S) or walls.dtype != bool:
            raise ValueError(
                f"walls must be a [{S}, {S}] bool array, got {walls.dtype} {walls.shape}."
            )
        if not 0 <= i < self.num_envs:
            raise ValueError(f"env index must be in [0, {self.num_envs}), got {i}.")
        cells = {"cheese": cheese, "mouse start": mouse_start(S) if mouse is None else mouse}
        for name, (r, c) in cells.items():
            if not (0 <= r < S and 0 <= c < S) or walls[r, c]:
                raise ValueError(f"{name} {(r, c)} must be a free cell inside the {S}x{S} grid.")
        if tuple(cells["cheese"]) == tuple(cells["mouse start"]):
            raise ValueError(f"the mouse cannot start on the cheese {tuple(cheese)}.")
        self._set_level(i, walls.copy(), (int(cheese[0]), int(cheese[1])))
        if mouse is not None:
            self._place_mouse(i, int(mouse[0]) * S + int(mouse[1]))
        self._needs_reset = False

    def _place_mouse(self, i: int, flat: int) -> None:
        plane = self._obs[i, 1].reshape(-1)
        plane[self._pos[i]] = 0
        plane[flat] = 1
        self._pos[i] = flat

    def observe(self) -> np.ndarray:
        """A copy of the current observations ``[B, 3, S, S]`` uint8."""
        return self._obs.copy()

    def _reset_rows(self, rows: np.ndarray) -> None:
        for i in rows.tolist():
            walls, cheese = sample_level(
                self.size, self.corner, self._rngs[i], self.cheese_anywhere
            )
            self._set_level(i, walls, cheese)

    # -------------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode (new maze) in every environment.

        Args:
            seed: None continues each environment's generator; an int reseeds env ``i``
                with :func:`env_rng` ``(seed, i)``; a list gives one seed per env.
            options: unused; must be None or empty.

        Returns:
            ``(obs [B,3,S,S] uint8, info)`` with ``mouse_pos``, ``cheese_pos``,
            ``optimal_distance`` and ``reached_corner``.
        """
        if options:
            raise ValueError(f"MazeVecEnv.reset takes no options, got {options!r}.")
        if seed is not None:
            self._seed(seed)
        self._reset_rows(self._rows)
        self._needs_reset = False
        return self._obs.copy(), self._position_info()

    def _advance(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Move every mouse, pay rewards, update episode stats; no autoreset."""
        if self._needs_reset:
            raise RuntimeError("call reset() (or load_state_dict()) before step().")
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or a.dtype.kind not in "iu":
            raise ValueError(
                f"actions must be an integer array of shape ({self.num_envs},), got "
                f"shape {a.shape} dtype {a.dtype}."
            )
        if a.min() < 0 or a.max() > 3:
            raise ValueError(f"actions must be in {{0, 1, 2, 3}}, got {a!r}.")
        old = self._pos
        new = self._next[self._base4 + old * 4 + a]
        cell = self._base + new
        reward = self._enter[cell]
        terminated = self._terminal[cell]
        self._obs_flat[self._mouse_plane + old] = 0
        self._obs_flat[self._mouse_plane + new] = 1
        self._pos = new
        self._t += 1
        self._return += reward
        self._corner_seen |= new == self._corner_flat
        truncated = (self._t >= self.max_steps) & ~terminated
        return reward, terminated, truncated

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Take one action in every environment; finished ones restart at once (SAME_STEP).

        Args:
            actions: ``[B]`` integers in {0 up, 1 right, 2 down, 3 left}.

        Returns:
            ``obs [B,3,S,S] uint8, reward [B] float32, terminated [B] bool,
            truncated [B] bool, info`` (see the class docstring for the info keys).
        """
        reward, terminated, truncated = self._advance(actions)
        done = terminated | truncated
        info = {
            "reached_corner": self._corner_seen.copy(),
            "episode_return": self._return.copy(),
            "episode_length": self._t.copy(),
            "episode_success": terminated.copy(),
        }
        if done.any():
            info["final_obs"] = self._obs.copy()
            self._reset_rows(np.flatnonzero(done))
            obs = self._obs.copy()
        else:
            obs = self._obs.copy()
            info["final_obs"] = obs.copy()
        info.update(self._position_info(with_corner=False))
        return obs, reward, terminated, truncated, info

    def _position_info(self, with_corner: bool = True) -> dict[str, np.ndarray]:
        info = {
            "mouse_pos": self.mouse,
            "cheese_pos": self._cheese.copy(),
            "optimal_distance": self._dist[self._base + self._pos],
        }
        if with_corner:
            info["reached_corner"] = self._corner_seen.copy()
        return info

    # ------------------------------------------------------- public arrays
    @property
    def walls(self) -> np.ndarray:
        """``[B, S, S]`` bool, the current mazes (do not modify)."""
        return self._walls

    @property
    def mouse(self) -> np.ndarray:
        """``[B, 2]`` int (row, col) of each mouse."""
        return np.stack(np.divmod(self._pos, self.size), axis=-1)

    @property
    def cheese(self) -> np.ndarray:
        """``[B, 2]`` int (row, col) of each cheese (do not modify)."""
        return self._cheese

    @property
    def distance(self) -> np.ndarray:
        """``[B, S, S]`` int, BFS steps from each cell to the cheese (-1 on walls)."""
        return self._dist.reshape(self.num_envs, self.size, self.size)

    # ---------------------------------------------------------- config/state
    def config(self) -> dict[str, Any]:
        """Environment variables for run configs; ``make_vec_env(env.config(), ...)`` rebuilds it."""
        return {
            "size": self.size,
            "corner": self.corner,
            "reward": self.reward.to_spec(),
            "max_steps": self.max_steps,
            "cheese_anywhere": self.cheese_anywhere,
        }

    def state_dict(self) -> dict[str, Any]:
        """The full state (levels, mice, episode stats, generator states) as plain Python types.

        JSON-serialisable and loadable under ``torch.load(weights_only=True)``.
        """
        return {
            "version": _STATE_VERSION,
            "num_envs": self.num_envs,
            "config": self.config(),
            "walls": self._walls.tolist(),
            "cheese": self._cheese.tolist(),
            "pos": self._pos.tolist(),
            "t": self._t.tolist(),
            "episode_return": self._return.tolist(),
            "reached_corner": self._corner_seen.tolist(),
            "rng_states": [g.bit_generator.state for g in self._rngs],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; the env must have been built with the same config."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unknown MazeVecEnv state version {state.get('version')!r}.")
        # states saved before cheese_anywhere existed were saved with its default
        saved = {"cheese_anywhere": 0.0, **state["config"]}
        if state["num_envs"] != self.num_envs or saved != self.config():
            raise ValueError(
                f"state was saved from an env with num_envs={state['num_envs']} and config "
                f"{state['config']}, but this env has num_envs={self.num_envs} and config "
                f"{self.config()}; build the env with make_vec_env(state['config'], ...) first."
            )
        walls = np.asarray(state["walls"], dtype=bool)
        cheese = np.asarray(state["cheese"], dtype=np.int64)
        pos = np.asarray(state["pos"], dtype=np.int64)
        for i in range(self.num_envs):
            self._set_level(i, walls[i], (int(cheese[i, 0]), int(cheese[i, 1])))
            self._place_mouse(i, int(pos[i]))
        self._t = np.asarray(state["t"], dtype=np.int64)
        self._return = np.asarray(state["episode_return"], dtype=np.float64)
        self._corner_seen = np.asarray(state["reached_corner"], dtype=bool)
        self._needs_reset = False
        for g, s in zip(self._rngs, state["rng_states"], strict=True):
            g.bit_generator.state = s


def make_vec_env(config: dict[str, Any], num_envs: int, seed: int | None = None) -> MazeVecEnv:
    """Rebuild a :class:`MazeVecEnv` from its :meth:`~MazeVecEnv.config` (e.g. a run config's env part).

    Args:
        config: dict with any of the keys ``size``, ``corner``, ``reward`` (spec dict),
            ``max_steps``, ``cheese_anywhere``; missing keys take the defaults.
        num_envs: number of environments.
        seed: seed for the environments' generators.
    """
    unknown = set(config) - set(_CONFIG_KEYS)
    if unknown:
        raise ValueError(
            f"unknown env config keys {sorted(unknown)}; expected a subset of {list(_CONFIG_KEYS)} "
            "(pass env.config(), not the whole run config)."
        )
    return MazeVecEnv(num_envs, seed=seed, **config)
