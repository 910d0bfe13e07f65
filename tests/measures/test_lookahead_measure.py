"""The lookahead measure on hand-built networks whose answers are known, through Context."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from devrl.hooks import HookPoint
from devrl.measures import MEASURES, Context, get_measure
from devrl.runs import Run
from devrl.track import track

sys.path.insert(0, str(Path(__file__).parents[1] / "mechanisms"))
from _shard_nets import OracleNet


class NoiseNet(OracleNet):
    """OracleNet's behaviour, but ``hook_noise`` holds activations unrelated to the maze."""

    def __init__(self):
        super().__init__()
        self.hook_noise = HookPoint()
        self.gen = torch.Generator().manual_seed(0)

    def forward(self, obs):
        self.hook_noise(torch.randn(len(obs), 4, *obs.shape[-2:], generator=self.gen))
        return super().forward(obs)


def _rows(policy, context, **params):
    measure = get_measure("lookahead", **params)
    return {r["measure"]: r["value"] for r in measure.rows(measure(policy, context))}


def test_registered():
    assert "lookahead" in MEASURES


def test_planes_decode_the_next_steps_and_noise_does_not(run_dir):
    run = Run.load(run_dir)
    context = Context(run, run.steps[-1])
    r = _rows(OracleNet(), context, layer="hook_planes", episodes=40)
    assert {"lookahead", "lookahead/f1-1", "lookahead/auroc-16", "lookahead/states"} <= set(r)
    # The 3x3 neighbourhood of a node shows whether the mouse stands next to it.
    assert r["lookahead/auroc-1"] > 0.9 and r["lookahead/f1-1"] > 0.5
    n = _rows(NoiseNet(), context, layer="hook_noise", episodes=40)
    assert n["lookahead/auroc-1"] < 0.75 and n["lookahead"] < r["lookahead"]
    with pytest.raises(ValueError, match="test_share"):
        _rows(OracleNet(), context, layer="hook_planes", episodes=10, test_share=1.0)


def test_track_on_a_real_checkpoint(run_dir):
    frame = track(run_dir, [get_measure("lookahead", episodes=20, kind="1x1")], progress=False)
    values = frame[frame["measure"] == "lookahead/auroc-2"]["value"]
    assert len(values) == 2 and np.isfinite(values).all()
    assert ((values >= 0) & (values <= 1)).all()


def test_episodes_of_the_final_checkpoint(run_dir):
    run = Run.load(run_dir)
    context = Context(run, run.steps[0])
    final = context.policy_at("final")
    own = _rows(final, context, layer="hook_obs", episodes=20)
    fixed = _rows(OracleNet(), context, layer="hook_planes", episodes=20, episodes_of="final")
    # The same states (those the final checkpoint plays), whichever network is probed.
    assert fixed["lookahead/states"] == own["lookahead/states"]
    oracle = _rows(OracleNet(), context, layer="hook_planes", episodes=20)
    assert oracle["lookahead/states"] != own["lookahead/states"]
    with pytest.raises(ValueError, match="episodes_of"):
        _rows(final, context, layer="hook_obs", episodes=20, episodes_of="initial")


def test_patching_and_steering_measures_through_track(run_dir):
    assert {"lookahead-patching", "plan-steering"} <= set(MEASURES)
    measures = [
        get_measure("lookahead-patching", episodes=20, distance=2),
        get_measure("plan-steering", episodes=20, levels=10, coeff=2.0),
    ]
    frame = track(run_dir, measures, progress=False)
    v = frame.groupby("measure")["value"].last()
    assert {
        "lookahead-patching/ratio-1",
        "lookahead-patching/random-on",
        "plan-steering/random",
    } <= set(v.index)
    assert v["lookahead-patching/pairs"] >= 0 and v["plan-steering/levels"] >= 0
    shares = v[["plan-steering", "plan-steering/random", "plan-steering/chosen"]].dropna()
    assert ((shares >= 0) & (shares <= 1)).all()
    run = Run.load(run_dir)
    with pytest.raises(ValueError, match="distance"):
        get_measure("lookahead-patching", distance=3)(run.policy(), Context(run, run.steps[-1]))
