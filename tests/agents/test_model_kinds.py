"""Model kinds: checkpoints record their kind, and a run rebuilds whichever model it holds."""

import pytest
import torch
from torch import nn

from devrl.agents import ActorCritic
from devrl.agents.registry import (
    DEFAULT_KIND,
    MODEL_KINDS,
    build_model,
    model_class,
    model_config,
    register_model_kind,
)
from devrl.agents.tms_model import TMSModel
from devrl.runs import Run


def test_config_round_trip_for_every_builtin_kind():
    for model in (ActorCritic(obs_shape=(3, 5, 5), channels=2, hidden=8), TMSModel(6, 2)):
        config = model_config(model)
        assert config["kind"] == type(model).model_kind
        rebuilt = build_model(config)
        assert type(rebuilt) is type(model)
        assert rebuilt.config() == model.config()


def test_checkpoints_without_a_kind_are_actor_critics():
    config = ActorCritic(obs_shape=(3, 5, 5), channels=2, hidden=8).config()
    assert DEFAULT_KIND == "actor_critic"
    assert isinstance(build_model(config), ActorCritic)


def test_a_run_holds_a_tms_model(tmp_path):
    run = Run.create(tmp_path / "tms", {"seed": 0, "env_id": "devrl/TMSBandit-v0"}, resume=False)
    model = TMSModel(6, 2)
    run.save_checkpoint(0, model)
    loaded = run.policy(0)
    assert isinstance(loaded, TMSModel)
    assert torch.equal(loaded.W, model.W) and torch.equal(loaded.b, model.b)
    assert run.load_checkpoint(0)["model_config"] == {"kind": "tms", "c": 6, "m": 2}


def test_unknown_and_unregistrable_kinds_say_what_to_do():
    with pytest.raises(ValueError, match="unknown model kind 'nope'.*register_model_kind"):
        model_class("nope")
    with pytest.raises(ValueError, match="model_kind"):
        register_model_kind(nn.Linear)
    with pytest.raises(TypeError, match="not a registered model kind"):
        model_config(nn.Linear(2, 2))


def test_register_a_new_kind():
    class Probe(nn.Module):
        model_kind = "test-probe"

        def __init__(self, width: int):
            super().__init__()
            self.width, self.lin = width, nn.Linear(width, 1)

        def config(self):
            return {"width": self.width}

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    try:
        register_model_kind(Probe)
        assert build_model({"kind": "test-probe", "width": 3}).width == 3
    finally:
        MODEL_KINDS.pop("test-probe", None)
