"""``import devrl`` registers the gymnasium ids without importing the environments."""

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter with every warning an error; return stdout."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_import_devrl_then_make():
    out = _run(
        """
        import sys
        import gymnasium
        import devrl

        assert not [m for m in sys.modules if m.startswith("devrl.envs")], "imported envs"
        assert "torch" not in sys.modules
        env = gymnasium.make("devrl/Maze-v0", size=5)
        obs, _ = env.reset(seed=0)
        vec = gymnasium.make_vec(
            "devrl/Maze-v0", num_envs=2, vectorization_mode="vector_entry_point", size=5
        )
        bandit = gymnasium.make("devrl/TMSBandit-v0")
        print(obs.shape, vec.num_envs, bandit.reset(seed=0)[0].shape)
        """
    )
    assert out.split() == ["(3,", "5,", "5)", "2", "(6,)"]


def test_registering_twice_neither_warns_nor_fails():
    _run(
        """
        import importlib
        import gymnasium
        import devrl
        import devrl.envs
        import devrl.envs.tms
        from devrl._registration import register_envs

        spec = gymnasium.spec("devrl/Maze-v0")
        register_envs()
        importlib.reload(devrl)
        assert gymnasium.spec("devrl/Maze-v0") is spec
        gymnasium.make("devrl/TMSBandit-v0")
        """
    )
