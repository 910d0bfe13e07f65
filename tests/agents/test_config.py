"""PPOConfig validation and the dataclass <-> argparse helpers in devrl._config."""

import argparse
import dataclasses
from dataclasses import dataclass, field

import pytest

from devrl._config import (
    add_dataclass_arguments,
    check_range,
    dataclass_from_args,
    from_dict,
    to_dict,
)
from devrl.agents import PRESETS, PPOConfig


@dataclass
class Toy:
    n: int = field(default=3, metadata={"help": "a count"})
    x: float = field(default=0.5, metadata={"help": "a rate"})
    flag: bool = field(default=True, metadata={"help": "a switch"})
    maybe: int | None = field(default=None, metadata={"help": "optional"})
    spec: dict = field(default_factory=lambda: {"type": "a"}, metadata={"help": "json"})


def _parse(argv):
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, Toy)
    return dataclass_from_args(Toy, parser.parse_args(argv))


def test_flags_round_trip_types_and_defaults():
    assert _parse([]) == Toy()
    got = _parse(
        ["--n", "7", "--x", "1e-3", "--no-flag", "--maybe", "4", "--spec", '{"type": "b"}']
    )
    assert got == Toy(n=7, x=1e-3, flag=False, maybe=4, spec={"type": "b"})
    assert _parse(["--maybe", "none"]).maybe is None


def test_every_ppo_field_is_a_flag_with_help():
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, PPOConfig)
    flags = {a.dest: a for a in parser._actions}
    for f in dataclasses.fields(PPOConfig):
        assert f.metadata.get("help"), f.name
        assert f.name in flags and f.metadata["help"] in flags[f.name].help


def test_from_dict_rejects_unknown_keys_naming_them():
    with pytest.raises(ValueError, match=r"unknown PPOConfig field\(s\) \['learning_rate'\]"):
        PPOConfig.from_dict({"learning_rate": 1e-3})
    with pytest.raises(ValueError, match="valid fields are"):
        from_dict(Toy, {"bogus": 1})


@pytest.mark.parametrize(
    "changes, pattern",
    [
        ({"size": 8}, "size must be odd"),
        ({"size": 3}, r"size must be an odd integer in \[5, 25\]"),
        ({"corner": 10}, r"corner must be in \[1, size=9\]"),
        ({"corner": 0}, "corner"),
        ({"num_steps": -1}, r"num_steps must be an integer in \[1, 1000000\], got -1"),
        ({"num_envs": 0}, "num_envs"),
        ({"lr": 0.0}, r"lr must be a finite number in \(0, 1\], got 0.0"),
        ({"gamma": 1.5}, r"gamma must be a finite number in \[0, 1\]"),
        # issue 16: non-finite, absurd or mistyped values that used to train NaN weights
        ({"lr": float("inf")}, "lr must be a finite number, got inf"),
        ({"lr": 1e10}, r"lr must be a finite number in \(0, 1\], got 10000000000.0"),
        ({"lr": 100.0}, r"lr must be a finite number in \(0, 1\], got 100.0"),
        ({"lr": True}, r"lr must be float, got True \(bool\)"),
        ({"lr": float("nan")}, "lr must be a finite number, got nan"),
        ({"ent_coef": float("inf")}, "ent_coef must be a finite number, got inf"),
        ({"ent_coef": 5.0}, r"ent_coef must be a finite number in \[0, 1\], got 5.0"),
        ({"clip_coef": float("inf")}, "clip_coef must be a finite number, got inf"),
        ({"clip_coef": 2.0}, r"clip_coef must be a finite number in \(0, 1\], got 2.0"),
        ({"vf_coef": 1e3}, r"vf_coef must be a finite number in \[0, 10\]"),
        ({"max_grad_norm": float("inf")}, "max_grad_norm must be a finite number, got inf"),
        ({"target_kl": float("inf")}, "target_kl must be a finite number, got inf"),
        ({"gamma": float("nan")}, "gamma must be a finite number, got nan"),
        ({"num_envs": True}, r"num_envs must be int, got True \(bool\)"),
        (
            {"total_timesteps": 10**13},
            r"total_timesteps must be an integer in \[4096, 1000000000000\]",
        ),
        ({"update_epochs": 10**4}, r"update_epochs must be an integer in \[1, 1000\]"),
        ({"checkpoints": 10**6}, r"checkpoints must be an integer in \[2, 100000\]"),
        ({"hidden": 10**6}, r"hidden must be an integer in \[1, 65536\]"),
        ({"gae_lambda": -0.1}, "gae_lambda"),
        ({"ent_coef": -1.0}, "ent_coef"),
        ({"clip_coef": 0}, "clip_coef"),
        ({"max_grad_norm": float("nan")}, "max_grad_norm"),
        ({"target_kl": -0.01}, "target_kl"),
        ({"num_minibatches": 3}, "num_minibatches must divide the batch size"),
        ({"total_timesteps": 10}, "total_timesteps must be an integer in"),
        ({"checkpoints": 1}, "checkpoints"),
        ({"max_steps": 0}, "max_steps"),
        ({"seed": -1}, "seed"),
        ({"num_envs": 2.5}, "num_envs must be int"),
        ({"anneal_lr": 1}, "anneal_lr must be bool"),
        ({"device": "tpu"}, "device must be .cpu., .cuda. or .cuda:N."),
        ({"reward": {"type": "gold"}}, "unknown reward spec"),
    ],
)
def test_out_of_range_values_name_field_and_range(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        PPOConfig(**changes)


def test_reward_name_is_normalised_to_spec_and_round_trips():
    cfg = PPOConfig(reward="corner")
    assert cfg.reward == {"type": "corner"}
    assert PPOConfig.from_dict(to_dict(cfg)) == cfg


def test_presets_are_valid_and_overridable():
    for name in PRESETS:
        assert PPOConfig.preset(name).total_timesteps > 0
    assert PPOConfig.preset("quick", seed=5).seed == 5
    with pytest.raises(ValueError, match="preset must be one of"):
        PPOConfig.preset("nope")


def test_check_range_messages():
    with pytest.raises(ValueError, match=r"k must be an integer in \[2, 5\], got 6"):
        check_range("k", 6, 2, 5, integer=True)
    with pytest.raises(ValueError, match=r"x must be a finite number in \[0, inf\), got inf"):
        check_range("x", float("inf"), 0)  # an unbounded side still means finite
    check_range("x", 1e300, 0)
    check_range("k", None, 2, 5, integer=True, allow_none=True)
    with pytest.raises(ValueError, match="must be int"):
        check_range("k", True, 0, integer=True)


def test_presets_live_in_their_own_module():
    import devrl.agents.config
    import devrl.agents.presets

    assert devrl.agents.presets.PRESETS is PRESETS
    assert devrl.agents.config.PPOConfig is PPOConfig
    assert PPOConfig.preset("quick") == PPOConfig.from_dict(devrl.agents.presets.PRESETS["quick"])


@pytest.mark.parametrize(
    "changes, pattern",
    [
        ({"lr": True}, r"lr must be float, got True \(bool\)"),
        ({"lr": float("inf")}, "lr must be a finite number, got inf"),
        ({"lr": 1e10}, r"lr must be a finite number in \(0, 10\]"),
        ({"init_noise": float("nan")}, "init_noise must be a finite number, got nan"),
        ({"c": True}, r"c must be int, got True \(bool\)"),
    ],
)
def test_tms_configs_check_every_number_field(changes, pattern):
    from devrl.agents.tms_rl_config import TMSRLConfig
    from devrl.agents.tms_sgd import TMSSGDConfig

    for cls in (TMSSGDConfig, TMSRLConfig):
        with pytest.raises(ValueError, match=pattern):
            cls(**changes)
