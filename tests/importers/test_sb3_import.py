"""import_sb3: SB3 PPO zips become a Run that track() measures like a maze run.

The end-to-end test trains SB3 PPO on minigrid's MiniGrid-Empty-5x5-v0 (image
observations, channels last) for a few thousand steps, imports the checkpoints with
``devrl import-sb3`` and with the Python function, and tracks behaviour and LLCs.
"""

import math

import numpy as np
import pytest
import torch

from devrl.agents.sb3 import SB3ActorCritic
from devrl.cli import main
from devrl.importers import import_sb3, read_sb3_zip
from devrl.importers.sb3 import step_from_name
from devrl.measures import Context, get_measure
from devrl.runs import Run
from devrl.track import COLUMNS, track

sb3 = pytest.importorskip("stable_baselines3")

CHEAP_LLC = {"samples": 128, "chains": 2, "draws": 8, "burnin": 4, "batch_size": 32}
EPISODES = 16
WRAPPER = "minigrid.wrappers:ImgObsWrapper"


@pytest.fixture(scope="module")
def cartpole_zips(tmp_path_factory):
    from stable_baselines3.common.callbacks import CheckpointCallback

    folder = tmp_path_factory.mktemp("cartpole")
    model = sb3.PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=1, seed=2)
    model.learn(128, callback=CheckpointCallback(save_freq=64, save_path=str(folder)))
    return sorted(folder.glob("*.zip"), key=step_from_name)


def test_steps_come_from_num_timesteps_or_the_file_name(cartpole_zips, tmp_path):
    assert [step_from_name(z) for z in cartpole_zips] == [64, 128]
    assert step_from_name("model.zip") is None
    assert [read_sb3_zip(z).step for z in cartpole_zips] == [64, 128]
    run = import_sb3(cartpole_zips, tmp_path / "run", "CartPole-v1")
    assert run.steps == [64, 128]
    assert run.config["env_id"] == "CartPole-v1" and run.config["gamma"] == 0.99
    assert run.config["seed"] == 2 and run.config["source"]["format"] == "stable-baselines3"
    assert isinstance(run.policy(64), SB3ActorCritic)
    again = import_sb3(cartpole_zips[:1], tmp_path / "run", "CartPole-v1", steps=[10])
    assert again.steps == [10, 64, 128]  # same config: checkpoints are added


def test_imported_weights_are_the_zips(cartpole_zips, tmp_path):
    run = import_sb3(cartpole_zips, tmp_path / "run", "CartPole-v1")
    model = sb3.PPO.load(cartpole_zips[-1], device="cpu")
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    tensor, _ = model.policy.obs_to_tensor(obs)
    with torch.no_grad():
        values = model.policy.predict_values(tensor).squeeze(-1)
        logp = model.policy.get_distribution(tensor).distribution.logits
        logits, ours = run.policy(128)(torch.as_tensor(obs))
    assert torch.allclose(ours, values, atol=1e-5)
    assert torch.allclose(torch.log_softmax(logits, -1), logp, atol=1e-5)


def test_bad_inputs_raise_clear_errors(cartpole_zips, tmp_path):
    with pytest.raises(ValueError, match="share a step"):
        import_sb3(cartpole_zips, tmp_path / "a", "CartPole-v1", steps=[5, 5])
    with pytest.raises(ValueError, match="2 zips"):
        import_sb3(cartpole_zips, tmp_path / "b", "CartPole-v1", steps=[5])
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an SB3 model zip"):
        read_sb3_zip(tmp_path / "x.zip")
    with pytest.raises(ValueError, match="trained on observations of shape"):
        read_sb3_zip(cartpole_zips[0]).model((5,))
    with pytest.raises(ValueError, match="actions"):
        import_sb3(cartpole_zips, tmp_path / "c", "Acrobot-v1")  # 3 actions, obs shape 6


def test_maze_only_measures_say_they_need_the_maze(cartpole_zips, tmp_path):
    run = import_sb3(cartpole_zips, tmp_path / "run", "CartPole-v1")
    policy, context = run.policy(128), Context(run, 128)
    for name in ("success", "regret", "state-regret", "llc-regret"):
        with pytest.raises(ValueError, match="needs .*devrl/Maze-v0"):
            get_measure(name)(policy, context)


@pytest.fixture(scope="module")
def minigrid_zips(tmp_path_factory):
    """SB3 PPO on MiniGrid-Empty-5x5-v0 with ImgObsWrapper, three checkpoints."""
    pytest.importorskip("minigrid")
    import gymnasium as gym
    from minigrid.wrappers import ImgObsWrapper
    from stable_baselines3.common.callbacks import CheckpointCallback

    folder = tmp_path_factory.mktemp("minigrid")
    env = ImgObsWrapper(gym.make("MiniGrid-Empty-5x5-v0"))  # [7, 7, 3] uint8, channels last
    model = sb3.PPO("MlpPolicy", env, n_steps=256, batch_size=64, n_epochs=2, seed=0)
    model.learn(768, callback=CheckpointCallback(save_freq=256, save_path=str(folder)))
    return sorted(folder.glob("*.zip"), key=step_from_name)


def test_minigrid_agent_imports_and_tracks_like_a_maze_run(minigrid_zips, tmp_path):
    argv = ["import-sb3", str(tmp_path / "cli"), *map(str, minigrid_zips)]
    assert main([*argv, "--env", "MiniGrid-Empty-5x5-v0", "--wrapper", WRAPPER]) == 0
    run = import_sb3(minigrid_zips, tmp_path / "py", "MiniGrid-Empty-5x5-v0", wrappers=[WRAPPER])
    from_cli = Run.load(tmp_path / "cli")
    assert from_cli.config == run.config and from_cli.steps == run.steps == [256, 512, 768]
    assert run.policy(768).config()["transpose"]  # SB3 saw [3, 7, 7]; the env gives [7, 7, 3]

    behaviour = ["return", "length", "entropy"]
    measures = [get_measure(m, episodes=EPISODES) for m in behaviour]
    measures += [get_measure(f"llc-{k}", **CHEAP_LLC) for k in ("action", "kl")]
    frame = track(run, measures, progress=False)
    assert tuple(frame.columns) == COLUMNS  # minigrid has no env_kwargs: no extra columns
    measured = frame[~frame.measure.str.contains("/")]
    assert sorted(measured.measure.unique()) == sorted([*behaviour, "llc-action", "llc-kl"])
    assert not measured.duplicated(["step", "measure"]).any() and len(measured) == 3 * 5
    assert all(math.isfinite(v) for v in measured.value)
    assert measured[measured.measure == "entropy"].value.between(0, math.log(7) + 1e-6).all()
