"""Every PPO setting, validated: :class:`PPOConfig` (the CLI's flags are generated from it).

Each field carries a one-line doc that becomes its ``devrl train`` flag's help; tuned
settings live in :mod:`devrl.agents.presets` (``PPOConfig.preset(name)``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from devrl._config import check_choice, check_numeric_fields, check_range, check_type, from_dict
from devrl._device import check_device
from devrl.agents.presets import PRESETS

__all__ = ["PPOConfig"]


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
    cheese_anywhere: float = _f(
        0.0, "share of training levels with the cheese anywhere, not in the corner region"
    )
    # --- algorithm (names and defaults follow CleanRL where sensible)
    total_timesteps: int = _f(1_000_000, "total environment steps to train for")
    num_envs: int = _f(64, "parallel environments in the vectorized env")
    num_steps: int = _f(64, "steps per environment per rollout (batch = num_envs x num_steps)")
    lr: float = _f(1e-3, "Adam learning rate in (0, 1]")
    anneal_lr: bool = _f(True, "linearly anneal the learning rate to 0 over training")
    gamma: float = _f(0.99, "discount factor in [0, 1]")
    gae_lambda: float = _f(0.95, "GAE lambda in [0, 1]")
    num_minibatches: int = _f(8, "minibatches per epoch; must divide the batch size")
    update_epochs: int = _f(4, "passes over each rollout batch")
    norm_adv: bool = _f(True, "normalize advantages per minibatch")
    clip_coef: float = _f(0.2, "PPO surrogate clipping coefficient in (0, 1]")
    clip_vloss: bool = _f(True, "clip the value loss like the policy ratio")
    ent_coef: float = _f(0.01, "entropy bonus coefficient in [0, 1]")
    vf_coef: float = _f(0.5, "value loss coefficient in [0, 10]")
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
    ticks: int = _f(
        0,
        "ConvLSTM ticks per step instead of residual blocks (devrl.agents.thinking; "
        "maze observations); 0 = off",
    )
    # --- run
    checkpoints: int = _f(100, "about this many checkpoints, log-spaced union linear (>= 2)")
    torch_threads: int = _f(1, "torch.set_num_threads; 1 is fastest for these tiny nets")
    device: str = _f("cpu", "torch device: cpu or cuda[:N]")

    def __post_init__(self) -> None:
        from devrl.envs.levels import validate_corner, validate_share, validate_size
        from devrl.envs.rewards import reward_from_spec

        self.size = validate_size(self.size)
        self.corner = validate_corner(self.corner, self.size)
        self.cheese_anywhere = validate_share(self.cheese_anywhere)
        if isinstance(self.reward, str):
            self.reward = {"type": self.reward}
        self.reward = reward_from_spec(self.reward).to_spec()
        check_numeric_fields(self)  # no bools for numbers, no NaN/inf
        # Upper bounds reject typos and absurd values (lr 100, 1e10) before they write NaN
        # weights; they sit orders of magnitude above any setting PPO is run with.
        check_range("max_steps", self.max_steps, 1, 10**6, integer=True, allow_none=True)
        for name, high in (
            ("num_envs", 65_536),
            ("num_steps", 10**6),
            ("num_minibatches", 10**6),
            ("update_epochs", 1000),
            ("torch_threads", 1024),
        ):
            check_range(name, getattr(self, name), 1, high, integer=True)
        check_range(
            "total_timesteps",
            self.total_timesteps,
            self.num_envs * self.num_steps,
            10**12,
            integer=True,
        )
        check_range("lr", self.lr, 0, 1, low_open=True)  # Adam steps ~lr per weight
        check_range("gamma", self.gamma, 0, 1)
        check_range("gae_lambda", self.gae_lambda, 0, 1)
        check_range("clip_coef", self.clip_coef, 0, 1, low_open=True)  # ratio clip [1-c, 1+c]
        check_range("ent_coef", self.ent_coef, 0, 1)
        check_range("vf_coef", self.vf_coef, 0, 10)
        check_range("max_grad_norm", self.max_grad_norm, 0, 1e6, low_open=True)
        check_range("target_kl", self.target_kl, 0, 10, low_open=True, allow_none=True)
        check_range("seed", self.seed, 0, 2**63 - 1, integer=True)
        check_range("channels", self.channels, 1, 1024, integer=True)
        check_range("hidden", self.hidden, 1, 65_536, integer=True)
        check_range("res_blocks", self.res_blocks, 1, 64, integer=True)
        check_range("ticks", self.ticks, 0, 64, integer=True)
        check_range("readout_plane", self.readout_plane, 0, 2, integer=True, allow_none=True)
        check_range("checkpoints", self.checkpoints, 2, 100_000, integer=True)
        for name in ("anneal_lr", "norm_adv", "clip_vloss", "separate_trunks", "downsample"):
            check_type(name, getattr(self, name), bool)
        check_device("device", self.device)
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
            "cheese_anywhere": self.cheese_anywhere,
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
