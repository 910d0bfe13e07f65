"""A maze actor-critic that thinks: a ConvLSTM iterated for several internal ticks per step.

Why: Taufeeque et al. (2024) found that a recurrent Sokoban agent (Guez et al.'s DRC)
plans better when given extra thinking steps. Issue 13 asks the same of the maze: does
success, and the decodability of the agent's own future path at long horizons, rise with
the number of ticks at test time? This agent keeps the front of
:class:`~devrl.agents.network.ActorCritic` (a 3x3 conv and a stride-2 conv, one unit per
maze cell) and replaces the residual blocks by one ConvLSTM cell applied ``ticks`` times
to the same encoded observation, then reads out like ``ActorCritic`` (flattened hidden
state plus the hidden state at the mouse's cells, a dense layer, policy and value
heads). The LSTM state starts at zero at every environment step, so to PPO the agent is
an ordinary feed-forward policy (same trainer, no sequence minibatches); unlike the DRC
it carries no memory from one step to the next, only more computation within one.
``ticks`` is an attribute: set it on a trained agent to let it think longer or shorter.

Hook names: ``hook_obs``, ``trunk.conv1.hook_out``, ``trunk.conv2.hook_out``,
``trunk.lstm.hook_h`` (the hidden state after each tick; a cache keeps the last one),
``trunk.lstm.hook_c``, ``trunk.hook_readout``, ``trunk.hook_dense``,
``policy_head.hook_logits``, ``value_head.hook_value``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from devrl.agents.network import ConvLayer, PolicyHead, ValueHead, _init, _to_input
from devrl.hooks import HookPoint


class ConvLSTMCell(nn.Module):
    """``(h, c) <- LSTM(x, h, c)`` with 3x3 convolutions as the gates' linear maps."""

    def __init__(self, channels: int):
        super().__init__()
        self.gates = _init(nn.Conv2d(2 * channels, 4 * channels, 3, padding=1), gain=1.0)
        with torch.no_grad():  # forget gate biased open, as is usual for LSTMs
            self.gates.bias[channels : 2 * channels].fill_(1.0)
        self.hook_h = HookPoint()
        self.hook_c = HookPoint()

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        i, f, g, o = self.gates(torch.cat([x, h], dim=1)).chunk(4, dim=1)  # [B, C, H, W] each
        c = self.hook_c(torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g))
        h = self.hook_h(torch.sigmoid(o) * torch.tanh(c))
        return h, c


class ThinkingTrunk(nn.Module):
    """conv3x3 -> stride-2 conv3x3 -> ConvLSTM x ticks -> readout at the mouse -> dense."""

    def __init__(self, obs_shape: Sequence[int], channels: int, hidden: int, ticks: int):
        super().__init__()
        c_in, height, width = obs_shape
        self.ticks = ticks
        self.conv1 = ConvLayer(c_in, channels)
        self.conv2 = ConvLayer(channels, channels, stride=2)
        self.lstm = ConvLSTMCell(channels)
        h2, w2 = (height + 1) // 2, (width + 1) // 2
        self.hook_readout = HookPoint()
        self.dense = _init(nn.Linear(channels * h2 * w2 + channels, hidden))
        self.hook_dense = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.conv2(self.conv1(x))  # [B, C, H2, W2]
        h = torch.zeros_like(e)
        c = torch.zeros_like(e)
        for _ in range(self.ticks):
            h, c = self.lstm(e, h, c)
        mask = F.max_pool2d(x[:, 1:2], 3, stride=2, padding=1)  # units that see the mouse
        at_mouse = self.hook_readout((h * mask).sum((2, 3)))  # [B, C]
        features = torch.cat([h.flatten(1), at_mouse], dim=1)
        return self.hook_dense(torch.relu(self.dense(features)))  # [B, hidden]


class ThinkingActorCritic(nn.Module):
    """Maze actor-critic with ``ticks`` ConvLSTM iterations per step (see the module doc).

    Args:
        obs_shape: ``(3, S, S)`` maze observation planes (plane 1 is the mouse).
        n_actions: Number of discrete actions.
        channels: Conv and LSTM channels.
        hidden: Width of the dense layer.
        ticks: Internal ticks per step (changeable later through ``.ticks``).
    """

    model_kind: ClassVar[str] = "thinking_actor_critic"

    def __init__(
        self,
        obs_shape: Sequence[int] = (3, 9, 9),
        n_actions: int = 4,
        channels: int = 16,
        hidden: int = 64,
        ticks: int = 3,
    ):
        super().__init__()
        obs_shape = tuple(int(s) for s in obs_shape)
        if len(obs_shape) != 3 or obs_shape[0] < 2 or min(obs_shape) < 1:
            raise ValueError(f"obs_shape must be (planes >= 2, height, width), got {obs_shape}")
        for name, value in (("n_actions", n_actions), ("channels", channels),
                            ("hidden", hidden), ("ticks", ticks)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self._config = {"obs_shape": list(obs_shape), "n_actions": n_actions,
                        "channels": channels, "hidden": hidden, "ticks": ticks}  # fmt: skip
        self.hook_obs = HookPoint()
        self.trunk = ThinkingTrunk(obs_shape, channels, hidden, ticks)
        self.policy_head = PolicyHead(hidden, n_actions)
        self.value_head = ValueHead(hidden)

    @property
    def ticks(self) -> int:
        """Internal ticks per step (set it to think longer or shorter at test time)."""
        return self.trunk.ticks

    @ticks.setter
    def ticks(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"ticks must be a positive integer, got {value!r}")
        self.trunk.ticks = value

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(logits [B, A], value [B])`` for observations ``[B, C, H, W]``."""
        h = self.trunk(self.hook_obs(_to_input(obs)))
        return self.policy_head(h), self.value_head(h)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """State values ``[B]`` only."""
        return self.value_head(self.trunk(self.hook_obs(_to_input(obs))))

    def config(self) -> dict[str, Any]:
        """Constructor arguments (the ticks it was built with) as a JSON-ready dict."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ThinkingActorCritic:
        """Build a freshly initialised network from :meth:`config` output."""
        allowed = {"obs_shape", "n_actions", "channels", "hidden", "ticks"}
        if unknown := sorted(set(config) - allowed):
            raise ValueError(f"unknown ThinkingActorCritic config keys {unknown}")
        return cls(**config)

    def num_parameters(self) -> int:
        """Number of trainable weights."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


__all__ = ["ConvLSTMCell", "ThinkingActorCritic"]
