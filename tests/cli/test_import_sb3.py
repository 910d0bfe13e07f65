"""``devrl import-sb3``: arguments and a run written from SB3 zips."""

import pytest

from devrl.cli import main
from devrl.runs import Run

sb3 = pytest.importorskip("stable_baselines3")


def test_flags_parse_and_run_writes_the_run(tmp_path, capsys):
    model = sb3.PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32, n_epochs=1)
    model.save(tmp_path / "a.zip")
    model.save(tmp_path / "b.zip")
    argv = ["import-sb3", str(tmp_path / "run"), str(tmp_path / "a.zip"), str(tmp_path / "b.zip")]
    argv += ["--env", "CartPole-v1", "--env-kwargs", '{"sutton_barto_reward": true}']
    assert main([*argv, "--steps", "0", "100", "--seed", "7"]) == 0
    run = Run.load(tmp_path / "run")
    assert run.steps == [0, 100] and run.config["seed"] == 7
    assert run.env_kwargs == {"sutton_barto_reward": True} and run.config["wrappers"] == []
    assert "imported 2 SB3 checkpoint(s)" in capsys.readouterr().out


def test_env_is_required(capsys):
    assert main(["import-sb3", "run", "a.zip"]) == 2
    assert "the following arguments are required: --env" in capsys.readouterr().err
