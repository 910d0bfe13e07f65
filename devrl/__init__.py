"""devrl: developmental interpretability of values in reinforcement learning.

Stations of the pipeline (see docs/architecture.md): ``devrl.envs`` -> ``devrl.agents`` ->
``devrl.runs`` -> measures (``devrl.llc``, ...) -> ``devrl.track`` -> ``devrl.forms``.
Import the subpackage you need; this top level stays light so ``import devrl`` is fast.
It only registers the environments with gymnasium (string entry points, no
environment module imported), so ``import devrl; gymnasium.make("devrl/Maze-v0")``
works as with any gymnasium package.
"""

from devrl._registration import register_envs

__version__ = "0.1.0"

register_envs()
