"""Small convolutional actor-critic for grid observations, with a named hook on every activation.

Why this shape: a 3x3 conv stack with residual blocks solves random mazes reliably and
stays small (tens of thousands of weights), so local learning coefficient estimates and
dense checkpoints are cheap. With ``downsample`` (the ``quick`` preset: stride-2 conv,
three residual blocks, 43,701 weights at 9x9) it reaches 0.99 success on 9x9 mazes in
about 5 CPU-minutes of PPO; the full-resolution single-block default plateaus near 0.9. Every intermediate
activation passes through a :class:`devrl.hooks.HookPoint`, so interpretability code can
read, patch or steer it by a stable dotted name such as ``"trunk.conv1.hook_out"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from devrl.hooks import HookPoint


def _init(layer: nn.Module, gain: float = math.sqrt(2), bias: float = 0.0) -> nn.Module:
    """Orthogonal weights and constant bias, as in CleanRL's ``layer_init``."""
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.constant_(layer.bias, bias)
    return layer


def _to_input(obs: torch.Tensor) -> torch.Tensor:
    """Float observations in channels-last layout.

    Channels-last makes oneDNN's small-channel convolutions (forward and backward)
    markedly faster on CPU; values and shapes are unchanged.
    """
    x = obs.float()
    if x.dim() == 4 and not _is_vmapped(x):  # torch.func.vmap cannot change memory format
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def _is_vmapped(x: torch.Tensor) -> bool:
    """Whether ``x`` is inside a torch.func transform (vmap, or vmap of jacrev/grad)."""
    functorch = getattr(torch._C, "_functorch", None)
    return any(
        getattr(functorch, name, None) is not None and getattr(functorch, name)(x)
        for name in ("is_batchedtensor", "is_functorch_wrapped_tensor")
    )


class ConvLayer(nn.Module):
    """``relu(conv3x3(x))`` followed by ``hook_out``; ``stride=2`` halves the grid (rounding up)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv = _init(nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1))
        self.hook_out = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hook_out(torch.relu(self.conv(x)))  # [B, C, H, W]


class ResidualBlock(nn.Module):
    """``relu(x + conv(relu(conv(x))))`` with hooks on the middle and the output."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = _init(nn.Conv2d(channels, channels, 3, padding=1))
        self.hook_mid = HookPoint()
        self.conv2 = _init(nn.Conv2d(channels, channels, 3, padding=1))
        self.hook_out = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.hook_mid(torch.relu(self.conv1(x)))  # [B, C, H, W]
        return self.hook_out(torch.relu(x + self.conv2(h)))  # [B, C, H, W]


class Trunk(nn.Module):
    """conv3x3 -> conv3x3 -> residual block(s) -> flatten -> dense, hooks after each.

    With ``downsample`` the second conv has stride 2. In the maze, cells sit at even
    (row, col) and passages between them at odd ones, so a stride-2 3x3 conv centred on
    each even position gives exactly one unit per maze cell that sees the cell and its
    four passages. Every later 3x3 conv then spans one maze step, so a few residual
    blocks (``res1``, ``res2``, ...) propagate connectivity across the whole maze at a
    quarter of the full-resolution cost.

    With ``readout_plane`` set, the dense layer also receives the conv features summed
    under that observation plane's mask (plane 1 = the mouse), i.e. the features *at the
    agent's cell*. Convolutions are translation-equivariant, so this lets a rule learned
    at one cell ("don't walk into a wall") apply at every cell at once, instead of the
    dense layer learning it separately per position.
    """

    def __init__(
        self,
        obs_shape: Sequence[int],
        channels: int,
        hidden: int,
        readout_plane: int | None = None,
        res_blocks: int = 1,
        downsample: bool = False,
    ):
        super().__init__()
        c_in, height, width = obs_shape
        self.readout_plane = readout_plane
        self.downsample = downsample
        self.conv1 = ConvLayer(c_in, channels)
        self.conv2 = ConvLayer(channels, channels, stride=2 if downsample else 1)
        self._res_names = [f"res{k + 1}" for k in range(res_blocks)]
        for name in self._res_names:
            setattr(self, name, ResidualBlock(channels))
        if downsample:
            height, width = (height + 1) // 2, (width + 1) // 2
        extra = 0
        if readout_plane is not None:
            self.hook_readout = HookPoint()
            extra = channels
        self.dense = _init(nn.Linear(channels * height * width + extra, hidden))
        self.hook_dense = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(self.conv1(x))  # [B, C, H, W] (H, W halved if downsample)
        for name in self._res_names:
            h = getattr(self, name)(h)
        features = h.flatten(1)  # [B, C*H*W]
        if self.readout_plane is not None:
            mask = x[:, self.readout_plane : self.readout_plane + 1]  # [B, 1, H, W]
            if self.downsample:  # the cells whose stride-2 window contains the plane
                mask = F.max_pool2d(mask, 3, stride=2, padding=1)
            at_mask = self.hook_readout((h * mask).sum((2, 3)))  # [B, C]
            features = torch.cat([features, at_mask], dim=1)
        return self.hook_dense(torch.relu(self.dense(features)))  # [B, hidden]


class PolicyHead(nn.Module):
    """Linear map from trunk features to action logits (``hook_logits``)."""

    def __init__(self, hidden: int, n_actions: int):
        super().__init__()
        self.linear = _init(nn.Linear(hidden, n_actions), gain=0.01)
        self.hook_logits = HookPoint()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.hook_logits(self.linear(h))  # [B, A]


class ValueHead(nn.Module):
    """Linear map from trunk features to a scalar state value (``hook_value``)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.linear = _init(nn.Linear(hidden, 1), gain=1.0)
        self.hook_value = HookPoint()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.hook_value(self.linear(h).squeeze(-1))  # [B]


class ActorCritic(nn.Module):
    """Actor-critic for ``[B, C, H, W]`` grid observations (uint8 or float).

    Hook names (``separate_trunks=False``): ``hook_obs``, ``trunk.conv1.hook_out``,
    ``trunk.conv2.hook_out``, ``trunk.res1.hook_mid``, ``trunk.res1.hook_out``,
    ``trunk.hook_dense``, ``policy_head.hook_logits``, ``value_head.hook_value``.
    With ``separate_trunks=True`` the trunk is replaced by ``policy_trunk`` and
    ``value_trunk`` (same inner names), so the critic cannot shape the actor's features.

    Args:
        obs_shape: ``(channels, height, width)`` of one observation.
        n_actions: Number of discrete actions.
        channels: Conv channels throughout the trunk.
        hidden: Width of the dense layer feeding both heads.
        separate_trunks: Give policy and value their own trunk.
        readout_plane: Observation plane (1 = mouse) under which trunk features are
            pooled and fed to the dense layer too (hook ``trunk.hook_readout``); None = off.
        res_blocks: Number of residual blocks (``trunk.res1``, ``trunk.res2``, ...).
        downsample: Stride 2 in ``conv2`` (one unit per maze cell from there on).
    """

    model_kind: ClassVar[str] = "actor_critic"

    def __init__(
        self,
        obs_shape: Sequence[int] = (3, 9, 9),
        n_actions: int = 4,
        channels: int = 16,
        hidden: int = 32,
        separate_trunks: bool = False,
        readout_plane: int | None = None,
        res_blocks: int = 1,
        downsample: bool = False,
    ):
        super().__init__()
        obs_shape = tuple(int(s) for s in obs_shape)
        if len(obs_shape) != 3 or min(obs_shape) < 1:
            raise ValueError(f"obs_shape must be (channels, height, width) > 0, got {obs_shape}")
        for name, value in (
            ("n_actions", n_actions),
            ("channels", channels),
            ("hidden", hidden),
            ("res_blocks", res_blocks),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self._config = {
            "obs_shape": list(obs_shape),
            "n_actions": n_actions,
            "channels": channels,
            "hidden": hidden,
            "separate_trunks": bool(separate_trunks),
            "readout_plane": readout_plane,
        }
        # Listed only when not at their defaults, so the configs of runs and checkpoints
        # written before these options existed still compare equal (resume, fine-tuning).
        if res_blocks != 1:
            self._config["res_blocks"] = res_blocks
        if downsample:
            self._config["downsample"] = True
        if readout_plane is not None and not (
            isinstance(readout_plane, int) and 0 <= readout_plane < obs_shape[0]
        ):
            raise ValueError(
                f"readout_plane must be None or an integer in [0, {obs_shape[0] - 1}], "
                f"got {readout_plane!r}"
            )
        self.hook_obs = HookPoint()
        trunk_args = (obs_shape, channels, hidden, readout_plane, res_blocks, bool(downsample))
        if separate_trunks:
            self.policy_trunk = Trunk(*trunk_args)
            self.value_trunk = Trunk(*trunk_args)
        else:
            self.trunk = Trunk(*trunk_args)
        self.policy_head = PolicyHead(hidden, n_actions)
        self.value_head = ValueHead(hidden)

    @property
    def separate_trunks(self) -> bool:
        return self._config["separate_trunks"]

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(logits [B, A], value [B])`` for observations ``[B, C, H, W]``."""
        x = self.hook_obs(_to_input(obs))  # [B, C, H, W]; uint8 0/1 planes -> float
        if self.separate_trunks:
            return self.policy_head(self.policy_trunk(x)), self.value_head(self.value_trunk(x))
        h = self.trunk(x)  # [B, hidden]
        return self.policy_head(h), self.value_head(h)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """State values ``[B]`` only (skips the policy head; cheaper with separate trunks)."""
        x = self.hook_obs(_to_input(obs))
        trunk = self.value_trunk if self.separate_trunks else self.trunk
        return self.value_head(trunk(x))

    def config(self) -> dict[str, Any]:
        """Constructor arguments as a JSON-ready dict; ``from_config`` inverts it."""
        return dict(self._config, obs_shape=list(self._config["obs_shape"]))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ActorCritic:
        """Build a freshly initialised network from :meth:`config` output."""
        allowed = {
            "obs_shape",
            "n_actions",
            "channels",
            "hidden",
            "separate_trunks",
            "readout_plane",
            "res_blocks",
            "downsample",
        }
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ValueError(
                f"unknown ActorCritic config key(s) {unknown}; valid: {sorted(allowed)}"
            )
        return cls(**dict(config))

    def num_parameters(self) -> int:
        """Total number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


class MLPActorCritic(nn.Module):
    """Two-layer tanh MLP actor and critic for flat observations (CleanRL's ``Agent``).

    For vector observations such as the TMS bandit's contexts. With ``continuous`` the
    actor outputs the mean of a diagonal Gaussian whose log standard deviation
    ``log_std`` is a free parameter, independent of the state (CleanRL's
    ``ppo_continuous_action.py``); otherwise it outputs logits of a categorical policy.

    Hook names: ``hook_obs``, ``actor.hook_hidden``, ``critic.hook_hidden``,
    ``policy_head.hook_logits`` (the Gaussian mean when continuous),
    ``value_head.hook_value``.

    Args:
        obs_dim: Length of one (flattened) observation.
        action_dim: Number of discrete actions, or the length of a continuous action.
        hidden: Width of both hidden layers of actor and critic.
        continuous: Diagonal Gaussian policy over ``R^action_dim`` instead of logits.
    """

    model_kind: ClassVar[str] = "mlp_actor_critic"

    def __init__(
        self, obs_dim: int = 4, action_dim: int = 2, hidden: int = 64, continuous: bool = False
    ):
        super().__init__()
        for name, value in (("obs_dim", obs_dim), ("action_dim", action_dim), ("hidden", hidden)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self._config = {
            "obs_dim": obs_dim,
            "action_dim": action_dim,
            "hidden": hidden,
            "continuous": bool(continuous),
        }
        self.hook_obs = HookPoint()
        self.actor = _MLP(obs_dim, hidden)
        self.critic = _MLP(obs_dim, hidden)
        self.policy_head = PolicyHead(hidden, action_dim)
        self.value_head = ValueHead(hidden)
        if continuous:
            self.log_std = nn.Parameter(torch.zeros(action_dim))  # [A]

    @property
    def continuous(self) -> bool:
        return self._config["continuous"]

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits or Gaussian mean [B, A], value [B])`` for observations ``[B, ...]``."""
        x = self.hook_obs(obs.float().flatten(1))  # [B, obs_dim]
        return self.policy_head(self.actor(x)), self.value_head(self.critic(x))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """State values ``[B]`` only."""
        return self.value_head(self.critic(self.hook_obs(obs.float().flatten(1))))

    def config(self) -> dict[str, Any]:
        """Constructor arguments as a JSON-ready dict; ``from_config`` inverts it."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MLPActorCritic:
        """Build a freshly initialised network from :meth:`config` output."""
        unknown = sorted(set(config) - {"obs_dim", "action_dim", "hidden", "continuous"})
        if unknown:
            raise ValueError(f"unknown MLPActorCritic config key(s) {unknown}")
        return cls(**dict(config))

    def num_parameters(self) -> int:
        """Total number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


class _MLP(nn.Module):
    """``tanh(linear(tanh(linear(x))))`` with ``hook_hidden`` on the output."""

    def __init__(self, in_dim: int, hidden: int):
        super().__init__()
        self.fc1 = _init(nn.Linear(in_dim, hidden))
        self.fc2 = _init(nn.Linear(hidden, hidden))
        self.hook_hidden = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hook_hidden(torch.tanh(self.fc2(torch.tanh(self.fc1(x)))))  # [B, hidden]
