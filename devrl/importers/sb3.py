"""Import Stable-Baselines3 PPO checkpoints (``.zip``) as a devrl :class:`~devrl.runs.Run`.

Why: researchers already have agents trained with SB3. A series of its checkpoints
(e.g. CheckpointCallback's ``rl_model_1000_steps.zip``) becomes a run directory whose
checkpoints are :class:`~devrl.agents.sb3.SB3ActorCritic` models, so ``track()``
computes the behavioural measures and ``llc-action``/``llc-kl`` on it like on a maze run.

Reading a zip needs no SB3: the architecture comes from the saved state dict's keys
and shapes and from the JSON ``data`` file (policy class, ``policy_kwargs``), and the
observation space is unpickled with an allow-list of gymnasium spaces and numpy, so no
code in the zip runs. Supported: ``MlpPolicy`` and ``CnnPolicy`` (NatureCNN) with
``Discrete`` actions, from PPO (or A2C, which saves the same policy). Not carried
over: ``VecNormalize`` statistics and ``VecFrameStack`` (VecEnv wrappers SB3 does not
store in the zip).
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import pickletools
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from devrl.agents.sb3 import ACTIVATIONS, SB3ActorCritic
from devrl.runs import Run

POLICIES = {"ActorCriticPolicy": "flatten", "ActorCriticCnnPolicy": "nature_cnn"}
"""SB3 policy classes devrl rebuilds, and their features extractor."""

_STEP_NAME = re.compile(r"_(\d+)_steps\.zip$")

_ALLOWED_GLOBALS = {
    ("gymnasium.spaces.box", "Box"),
    ("gymnasium.spaces.discrete", "Discrete"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("numpy.random.bit_generator", "SeedSequence"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
}


class _SpaceUnpickler(pickle.Unpickler):
    """Unpickles gymnasium spaces and numpy arrays only; anything else is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from an SB3 zip")
        return super().find_class(module, name)


def _space(data: Mapping[str, Any], key: str, path: Path) -> Any:
    entry = data.get(key)
    if not isinstance(entry, Mapping) or ":serialized:" not in entry:
        raise ValueError(f"{path} has no {key} in its data file; is it an SB3 model zip?")
    raw = base64.b64decode(entry[":serialized:"])
    return _SpaceUnpickler(io.BytesIO(raw)).load()


def _class_name(entry: Any) -> str:
    """The class a pickled SB3 class reference names, read without unpickling it."""
    if not isinstance(entry, Mapping) or ":serialized:" not in entry:
        return ""
    names = [
        arg
        for op, arg, _ in pickletools.genops(base64.b64decode(entry[":serialized:"]))
        if isinstance(arg, str)
    ]
    return names[-1] if names else ""


def step_from_name(path: str | os.PathLike) -> int | None:
    """The step in a CheckpointCallback file name (``rl_model_1000_steps.zip`` -> 1000)."""
    match = _STEP_NAME.search(Path(path).name)
    return int(match.group(1)) if match else None


def is_image_space(space: Any) -> bool:
    """SB3's ``is_image_space`` (channels unchecked): a uint8 Box of rank 3 in [0, 255]."""
    from gymnasium import spaces

    return (
        isinstance(space, spaces.Box)
        and space.dtype == np.uint8
        and len(space.shape) == 3
        and bool(np.all(space.low == 0))
        and bool(np.all(space.high == 255))
    )


@dataclass
class SB3Checkpoint:
    """One SB3 zip read into devrl.

    Attributes:
        path: The zip.
        num_timesteps: SB3's ``num_timesteps`` when saved (None if not recorded).
        policy_class: SB3's policy class name.
        observation_space: The observation space the policy saw (after SB3's
            ``VecTransposeImage``, if any).
        n_actions: Size of the discrete action space.
        state_dict: The policy's weights, SB3's names.
        data: The readable part of SB3's ``data`` file (gamma, seed, n_steps, ...).
        version: The SB3 version that wrote it.
    """

    path: Path
    num_timesteps: int | None
    policy_class: str
    observation_space: Any
    n_actions: int
    state_dict: dict[str, torch.Tensor]
    data: dict[str, Any]
    version: str

    @property
    def step(self) -> int | None:
        """``num_timesteps``, or the step in the file name."""
        return self.num_timesteps if self.num_timesteps is not None else step_from_name(self.path)

    def model(self, env_obs_shape: Sequence[int] | None = None) -> SB3ActorCritic:
        """The policy as an :class:`SB3ActorCritic` taking the environment's observations.

        Args:
            env_obs_shape: Shape of one observation as the environment returns it; if it
                is the saved space's shape with channels last, the model transposes (SB3's
                ``VecTransposeImage``). Default: the saved shape.
        """
        saved = [int(s) for s in self.observation_space.shape]
        env_shape = saved if env_obs_shape is None else [int(s) for s in env_obs_shape]
        transpose = False
        if env_shape != saved:
            if len(env_shape) == 3 and [env_shape[2], env_shape[0], env_shape[1]] == saved:
                transpose = True
            else:
                raise ValueError(
                    f"{self.path} was trained on observations of shape {saved}; the environment "
                    f"gives {env_shape}. Record the same wrappers the agent was trained with."
                )
        model = SB3ActorCritic(env_shape, self.n_actions, transpose=transpose, **self._arch())
        state = {k: v for k, v in self.state_dict.items() if not k.startswith("pi_features")}
        for key, value in self.state_dict.items():  # SB3 saves the policy extractor twice
            if key.startswith("pi_features_extractor."):
                twin = state[key.removeprefix("pi_")]
                if not torch.equal(twin, value):
                    raise ValueError(
                        f"{self.path}: {key} differs from its features_extractor twin."
                    )
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise ValueError(
                f"{self.path}: the weights do not fit the rebuilt {self.policy_class} ({exc}); "
                "custom features extractors or network layouts are not supported."
            ) from exc
        return model.eval()

    def _arch(self) -> dict[str, Any]:
        kwargs = self.data.get("policy_kwargs") or {}
        if "features_extractor_class" in kwargs:
            raise ValueError(
                f"{self.path} uses a custom features_extractor_class; devrl rebuilds SB3's "
                "FlattenExtractor (MlpPolicy) and NatureCNN (CnnPolicy) only."
            )
        activation = re.search(r"\.(\w+)'>$", str(kwargs.get("activation_fn", "")))
        activation = activation.group(1) if activation else "Tanh"
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"{self.path} uses activation_fn {kwargs.get('activation_fn')}; "
                f"supported: {sorted(ACTIVATIONS)}."
            )
        sd = self.state_dict

        def widths(branch: str) -> list[int]:
            keys = [k for k in sd if re.fullmatch(rf"mlp_extractor\.{branch}\.\d+\.weight", k)]
            keys.sort(key=lambda k: int(k.split(".")[2]))
            return [int(sd[k].shape[0]) for k in keys]

        arch: dict[str, Any] = {
            "extractor": POLICIES[self.policy_class],
            "pi": widths("policy_net"),
            "vf": widths("value_net"),
            "activation": activation,
            "normalize": bool(kwargs.get("normalize_images", True))
            and is_image_space(self.observation_space),
            "share_features_extractor": "vf_features_extractor.linear.0.weight" not in sd
            and not any(k.startswith("vf_features_extractor.") for k in sd),
        }
        if arch["extractor"] == "nature_cnn":
            arch["cnn_channels"] = [
                int(sd[f"features_extractor.cnn.{i}.weight"].shape[0]) for i in (0, 2, 4)
            ]
            arch["features_dim"] = int(sd["features_extractor.linear.0.weight"].shape[0])
        return arch


def read_sb3_zip(path: str | os.PathLike) -> SB3Checkpoint:
    """Read an SB3 model zip without SB3 (see the module docstring for what is supported)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            data = json.loads(zf.read("data"))
            weights = zf.read("policy.pth")
            version = (
                zf.read("_stable_baselines3_version").decode().strip()
                if "_stable_baselines3_version" in zf.namelist()
                else "unknown"
            )
    except (zipfile.BadZipFile, KeyError, FileNotFoundError) as exc:
        raise ValueError(f"{path} is not an SB3 model zip (data + policy.pth): {exc}") from exc
    policy_class = _class_name(data.get("policy_class"))
    if policy_class not in POLICIES:
        raise ValueError(
            f"{path} holds a {policy_class or 'unknown'} policy; devrl imports "
            f"{sorted(POLICIES)} (SB3's MlpPolicy and CnnPolicy of PPO/A2C)."
        )
    from gymnasium import spaces

    action_space = _space(data, "action_space", path)
    if not isinstance(action_space, spaces.Discrete):
        raise TypeError(f"{path}: devrl imports discrete-action agents; got {action_space}.")
    obs_space = _space(data, "observation_space", path)
    if not isinstance(obs_space, spaces.Box):
        raise TypeError(f"{path}: devrl imports Box observation spaces; got {obs_space}.")
    readable = {
        k: v for k, v in data.items() if not (isinstance(v, Mapping) and ":serialized:" in v)
    }
    if isinstance(data.get("policy_kwargs"), Mapping):
        readable["policy_kwargs"] = {
            k: v for k, v in data["policy_kwargs"].items() if not k.startswith(":")
        }
    state_dict = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    steps = data.get("num_timesteps")
    return SB3Checkpoint(
        path=path,
        num_timesteps=None if steps is None else int(steps),
        policy_class=policy_class,
        observation_space=obs_space,
        n_actions=int(action_space.n),
        state_dict=dict(state_dict),
        data=readable,
        version=version,
    )


def import_sb3(
    zips: Sequence[str | os.PathLike],
    run_dir: str | os.PathLike,
    env_id: str,
    env_kwargs: Mapping[str, Any] | None = None,
    wrappers: Sequence[Any] | None = None,
    steps: Sequence[int] | None = None,
    seed: int | None = None,
) -> Run:
    """Write SB3 checkpoints into a devrl run directory, one devrl checkpoint per zip.

    Args:
        zips: SB3 model zips of one training run.
        run_dir: The run directory (created; reopened if it holds the same config, so
            later checkpoints can be added).
        env_id: The gymnasium id the agent was trained on (``"pkg:Id"`` imports ``pkg``).
        env_kwargs: Its constructor arguments.
        wrappers: The gymnasium wrappers the agent saw, as ``"module:Class"`` specs
            (see :mod:`devrl.envs.external`), outermost last; SB3's own
            ``VecTransposeImage`` is recognised and need not be listed.
        steps: The step of each zip (default: its ``num_timesteps``, else the
            ``_<N>_steps.zip`` in its name).
        seed: Recorded as the run's seed (default: SB3's seed, else 0).

    Returns:
        The :class:`Run`; its config records ``env_id``, ``env_kwargs``, ``wrappers``,
        ``gamma`` and ``seed`` (SB3's), and the source (SB3 version, policy class).
    """
    from devrl.envs.external import normalize_wrappers, vector_env

    if not zips:
        raise ValueError("import_sb3 needs at least one SB3 zip.")
    if steps is not None and len(steps) != len(zips):
        raise ValueError(f"steps has {len(steps)} entries for {len(zips)} zips.")
    checkpoints = [read_sb3_zip(z) for z in zips]
    if steps is None:
        steps = [c.step for c in checkpoints]
        unknown = [str(c.path) for c, s in zip(checkpoints, steps) if s is None]
        if unknown:
            raise ValueError(f"no step recorded in {unknown}; pass steps= (--steps).")
    steps = [int(s) for s in steps]
    if len(set(steps)) != len(steps):
        raise ValueError(f"two zips share a step: {steps}; pass distinct steps= (--steps).")
    wrappers = normalize_wrappers(wrappers)
    env_kwargs = dict(env_kwargs or {})
    env = vector_env(env_id, 1, env_kwargs=env_kwargs, wrappers=wrappers)
    try:
        obs_shape = env.single_observation_space.shape
        n_actions = int(env.single_action_space.n)
    finally:
        env.close()
    first = checkpoints[0]
    if seed is None:
        seed = first.data.get("seed")
        seed = int(seed) if isinstance(seed, (int, np.integer)) else 0
    config = {
        "env_id": env_id,
        "env_kwargs": env_kwargs,
        "wrappers": wrappers,
        "gamma": float(first.data.get("gamma", 0.99)),
        "seed": int(seed),
        "source": {
            "format": "stable-baselines3",
            "version": first.version,
            "policy_class": first.policy_class,
        },
    }
    for checkpoint in checkpoints:  # before the run directory is made: no half-made run
        if checkpoint.n_actions != n_actions:
            raise ValueError(
                f"{checkpoint.path} has {checkpoint.n_actions} actions; {env_id} has {n_actions}."
            )
    run = Run.create(run_dir, config, resume=True, purpose="import into")
    with run.lock("import into"):  # one writer per run
        for checkpoint, step in sorted(zip(checkpoints, steps), key=lambda cs: cs[1]):
            run.save_checkpoint(step, checkpoint.model(obs_shape))
    return run


__all__ = [
    "POLICIES",
    "SB3Checkpoint",
    "import_sb3",
    "is_image_space",
    "read_sb3_zip",
    "step_from_name",
]
