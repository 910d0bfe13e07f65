"""Stable-Baselines3's PPO actor-critic rebuilt in plain torch, so imported agents need no SB3.

Why: researchers bring agents trained with SB3. devrl's measures and the LLC (chains
vmapped with ``torch.func``) need a model ``obs -> (logits, value)`` that any devrl
checkpoint can rebuild. :class:`SB3ActorCritic` mirrors SB3's ``ActorCriticPolicy``
(MlpPolicy: flatten + MLPs) and ``ActorCriticCnnPolicy`` (CnnPolicy: NatureCNN + MLPs)
module for module, with SB3's parameter names, so an SB3 ``policy.pth`` state dict
loads into it unchanged (:mod:`devrl.importers.sb3` does that).

The input is the environment's observation as gymnasium returns it (after the wrappers
recorded in the run), not SB3's preprocessed tensor: the model applies SB3's
preprocessing itself, in SB3's order: the channels-last to channels-first transpose
that SB3's ``VecTransposeImage`` applies to image observations, the ``/255`` of
image spaces when ``normalize_images``, then the features extractor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "Tanh": nn.Tanh,
    "ReLU": nn.ReLU,
    "ELU": nn.ELU,
    "LeakyReLU": nn.LeakyReLU,
    "GELU": nn.GELU,
    "SiLU": nn.SiLU,
    "Sigmoid": nn.Sigmoid,
    "Softplus": nn.Softplus,
}
"""``torch.nn`` activations SB3's ``activation_fn`` may name (default arguments only)."""

EXTRACTORS = ("flatten", "nature_cnn")


def _mlp(in_dim: int, layers: Sequence[int], activation: str) -> nn.Sequential:
    """SB3's ``MlpExtractor`` branch: ``Linear, act, Linear, act, ...`` (indices 0, 2, ...)."""
    modules: list[nn.Module] = []
    for width in layers:
        modules += [nn.Linear(in_dim, int(width)), ACTIVATIONS[activation]()]
        in_dim = int(width)
    return nn.Sequential(*modules)


class NatureCNN(nn.Module):
    """SB3's ``NatureCNN`` (Mnih et al. 2015): three convs (8/4, 4/2, 3/1), ReLU, linear."""

    def __init__(self, in_shape: Sequence[int], channels: Sequence[int], features_dim: int):
        super().__init__()
        c1, c2, c3 = (int(c) for c in channels)
        self.cnn = nn.Sequential(
            nn.Conv2d(int(in_shape[0]), c1, 8, stride=4),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 4, stride=2),
            nn.ReLU(),
            nn.Conv2d(c2, c3, 3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.cnn(torch.zeros(1, *(int(s) for s in in_shape))).shape[1]
        self.linear = nn.Sequential(nn.Linear(flat, int(features_dim)), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.cnn(x))  # [B, features_dim]


class _MlpExtractor(nn.Module):
    """SB3's ``MlpExtractor`` with separate policy and value branches."""

    def __init__(self, in_dim: int, pi: Sequence[int], vf: Sequence[int], activation: str):
        super().__init__()
        self.policy_net = _mlp(in_dim, pi, activation)
        self.value_net = _mlp(in_dim, vf, activation)


class SB3ActorCritic(nn.Module):
    """An SB3 PPO policy with discrete actions: ``obs -> (logits [B, A], value [B])``.

    Args:
        obs_shape: Shape of one observation as the environment returns it.
        n_actions: Size of the ``Discrete`` action space.
        extractor: ``"flatten"`` (MlpPolicy) or ``"nature_cnn"`` (CnnPolicy).
        pi: Widths of the policy MLP (``net_arch["pi"]``).
        vf: Widths of the value MLP (``net_arch["vf"]``).
        activation: Name of the MLPs' ``torch.nn`` activation (SB3 default ``"Tanh"``).
        normalize: Divide by 255 (SB3 does for image spaces when ``normalize_images``).
        transpose: Move channels last to first, as SB3's ``VecTransposeImage`` did.
        share_features_extractor: One extractor for both heads (SB3's default).
        cnn_channels: Output channels of NatureCNN's three convs.
        features_dim: NatureCNN's output width.
    """

    model_kind: ClassVar[str] = "sb3_actor_critic"

    def __init__(
        self,
        obs_shape: Sequence[int],
        n_actions: int,
        *,
        extractor: str = "flatten",
        pi: Sequence[int] = (64, 64),
        vf: Sequence[int] = (64, 64),
        activation: str = "Tanh",
        normalize: bool = False,
        transpose: bool = False,
        share_features_extractor: bool = True,
        cnn_channels: Sequence[int] = (32, 64, 64),
        features_dim: int = 512,
    ):
        super().__init__()
        if extractor not in EXTRACTORS:
            raise ValueError(f"extractor must be one of {list(EXTRACTORS)}; got {extractor!r}.")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}."
            )
        obs_shape = [int(s) for s in obs_shape]
        if transpose and len(obs_shape) != 3:
            raise ValueError(f"transpose needs [H, W, C] observations; got shape {obs_shape}.")
        self._config = {
            "obs_shape": obs_shape,
            "n_actions": int(n_actions),
            "extractor": extractor,
            "pi": [int(w) for w in pi],
            "vf": [int(w) for w in vf],
            "activation": activation,
            "normalize": bool(normalize),
            "transpose": bool(transpose),
            "share_features_extractor": bool(share_features_extractor),
            "cnn_channels": [int(c) for c in cnn_channels],
            "features_dim": int(features_dim),
        }
        in_shape = [obs_shape[2], obs_shape[0], obs_shape[1]] if transpose else obs_shape

        def make_extractor() -> nn.Module:
            if extractor == "flatten":
                return nn.Flatten()
            return NatureCNN(in_shape, cnn_channels, features_dim)

        n_features = features_dim if extractor == "nature_cnn" else _prod(in_shape)
        self.features_extractor = make_extractor()
        self.vf_features_extractor = None if share_features_extractor else make_extractor()
        self.mlp_extractor = _MlpExtractor(n_features, pi, vf, activation)
        self.action_net = nn.Linear(pi[-1] if pi else n_features, int(n_actions))
        self.value_net = nn.Linear(vf[-1] if vf else n_features, 1)

    def preprocess(self, obs: torch.Tensor) -> torch.Tensor:
        """SB3's preprocessing of an environment observation batch ``[B, *obs_shape]``."""
        x = obs.float()
        if self._config["transpose"]:
            x = x.permute(0, 3, 1, 2)  # [B, H, W, C] -> [B, C, H, W]
        if self._config["normalize"]:
            x = x / 255.0
        return x

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.preprocess(obs)
        features = self.features_extractor(x)
        vf_features = (
            features if self.vf_features_extractor is None else self.vf_features_extractor(x)
        )
        logits = self.action_net(self.mlp_extractor.policy_net(features))  # [B, A]
        value = self.value_net(self.mlp_extractor.value_net(vf_features))  # [B, 1]
        return logits, value.squeeze(-1)

    def config(self) -> dict[str, Any]:
        """Constructor arguments as a JSON-ready dict; ``from_config`` inverts it."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._config.items()}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SB3ActorCritic:
        """Build a freshly initialised network from :meth:`config` output."""
        config = dict(config)
        return cls(config.pop("obs_shape"), config.pop("n_actions"), **config)


def _prod(shape: Sequence[int]) -> int:
    out = 1
    for s in shape:
        out *= int(s)
    return out


__all__ = ["ACTIVATIONS", "NatureCNN", "SB3ActorCritic"]
