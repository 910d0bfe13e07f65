"""devrl: developmental interpretability of values in reinforcement learning.

Stations of the pipeline (see docs/architecture.md): ``devrl.envs`` -> ``devrl.agents`` ->
``devrl.runs`` -> measures (``devrl.llc``, ...) -> ``devrl.track`` -> ``devrl.forms``.
Import the subpackage you need; this top level stays light so ``import devrl`` is fast.
It only registers the environments with gymnasium (string entry points, no
environment module imported), so ``import devrl; gymnasium.make("devrl/Maze-v0")``
works as with any gymnasium package. ``devrl.progress`` reports the progress of long
loops (a tqdm bar on a terminal, a line every 30 s in logs).
"""

from typing import Any

from devrl._registration import register_envs

__version__ = "0.1.0"
__all__ = ["progress", "register_envs"]

register_envs()


def __getattr__(name: str) -> Any:
    # ``devrl.progress`` (devrl._progress.progress) is imported on first use: it needs tqdm
    if name == "progress":
        from devrl._progress import progress

        return progress
    raise AttributeError(f"module 'devrl' has no attribute {name!r}")
