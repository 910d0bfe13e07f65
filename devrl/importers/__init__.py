"""Importers: agents trained elsewhere become devrl runs.

Public API:
    import_sb3     Stable-Baselines3 PPO checkpoints (``.zip``) -> a :class:`~devrl.runs.Run`
    read_sb3_zip   one SB3 zip read without SB3 (architecture, weights, spaces)
"""

from devrl.importers.sb3 import import_sb3, read_sb3_zip

__all__ = ["import_sb3", "read_sb3_zip"]
