"""Reward functions of the maze as swappable objects.

Fine-tuning experiments swap one reward for another (RA -> RB) on the same levels,
and run configs must record which reward was used, so rewards are small objects
that serialise to a spec dict (:meth:`Reward.to_spec`, :func:`reward_from_spec`) and
add up with ``+`` (``CheeseReward() + StepPenalty(0.01)``).

Every reward has a *tabular form* on a level (:meth:`Reward.tabular`): a reward for
entering each cell, a constant reward per step, and a set of terminal cells. A
transition ``s -> s'`` pays ``step + cell[s']`` and ends the episode if
``terminal[s']``. The batched environment and the exact solver both use only this
form, so any reward built here works with both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TabularReward:
    """A reward on one level, as tables.

    Attributes:
        cell: ``[S, S]`` float64, paid on entering the cell (bumping into a wall
            "re-enters" the current cell; only terminal cells carry cell rewards in
            the built-in rewards, so this never pays twice).
        step: constant reward added to every transition.
        terminal: ``[S, S]`` bool, entering one of these ends the episode.
    """

    cell: np.ndarray
    step: float
    terminal: np.ndarray

    def __add__(self, other: TabularReward) -> TabularReward:
        return TabularReward(
            self.cell + other.cell, self.step + other.step, self.terminal | other.terminal
        )


class Reward:
    """Base class: a reward function of the maze (see the module docstring)."""

    def tabular(self, walls: np.ndarray, cheese: tuple[int, int]) -> TabularReward:
        """Tabular form on the level ``walls [S,S] bool`` with cheese at ``(row, col)``."""
        raise NotImplementedError

    def to_spec(self) -> dict[str, Any]:
        """A JSON-serialisable dict that :func:`reward_from_spec` turns back into this reward."""
        raise NotImplementedError

    def terms(self) -> tuple[Reward, ...]:
        """The summands of this reward (itself, unless it is a sum)."""
        return (self,)

    def __add__(self, other: Reward) -> Reward:
        if not isinstance(other, Reward):
            return NotImplemented
        return SumReward(*self.terms(), *other.terms())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reward) and self.to_spec() == other.to_spec()

    def __hash__(self) -> int:
        return hash(repr(self.to_spec()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_spec().items() if k != "type")
        return f"{type(self).__name__}({args})"


def _goal_table(walls: np.ndarray, row: int, col: int) -> TabularReward:
    cell = np.zeros(walls.shape, dtype=np.float64)
    terminal = np.zeros(walls.shape, dtype=bool)
    cell[row, col] = 1.0
    terminal[row, col] = True
    return TabularReward(cell, 0.0, terminal)


class CheeseReward(Reward):
    """+1 for reaching the cheese, which ends the episode (the default, "true" reward)."""

    def tabular(self, walls: np.ndarray, cheese: tuple[int, int]) -> TabularReward:
        return _goal_table(walls, int(cheese[0]), int(cheese[1]))

    def to_spec(self) -> dict[str, Any]:
        return {"type": "cheese"}


class CornerReward(Reward):
    """+1 for reaching the top-right cell, which ends the episode (the proxy goal)."""

    def tabular(self, walls: np.ndarray, cheese: tuple[int, int]) -> TabularReward:
        return _goal_table(walls, 0, walls.shape[1] - 1)

    def to_spec(self) -> dict[str, Any]:
        return {"type": "corner"}


class CellReward(Reward):
    """+1 for reaching cell ``(row, col)``, which ends the episode.

    Args:
        row: row of the goal cell (0 = top).
        col: column of the goal cell (0 = left).

    The cell must be inside the maze and must not be the mouse start (checked when
    the reward meets a level). If the cell is a wall on some level the episode can
    only end by the time limit there.
    """

    def __init__(self, row: int, col: int):
        for name, v in (("row", row), ("col", col)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"CellReward {name} must be a non-negative integer, got {v!r}.")
        self.row, self.col = int(row), int(col)

    def tabular(self, walls: np.ndarray, cheese: tuple[int, int]) -> TabularReward:
        size = walls.shape[0]
        if self.row >= size or self.col >= size:
            raise ValueError(
                f"CellReward({self.row}, {self.col}) lies outside the {size}x{size} maze; "
                f"rows and columns run from 0 to {size - 1}."
            )
        if (self.row, self.col) == (size - 1, 0):
            raise ValueError(
                f"CellReward({self.row}, {self.col}) is the mouse start, so every episode would "
                "end before it began; pick another cell."
            )
        return _goal_table(walls, self.row, self.col)

    def to_spec(self) -> dict[str, Any]:
        return {"type": "cell", "row": self.row, "col": self.col}


class StepPenalty(Reward):
    """A reward of ``-c`` on every step (``c > 0`` rewards hurrying). Never ends an episode.

    Args:
        c: the penalty per step (finite; negative values become a per-step bonus).
    """

    def __init__(self, c: float):
        if (
            isinstance(c, bool)
            or not isinstance(c, (int, float, np.floating, np.integer))
            or not math.isfinite(c)
        ):
            raise ValueError(f"StepPenalty c must be a finite number, got {c!r}.")
        self.c = float(c)

    def tabular(self, walls: np.ndarray, cheese: tuple[int, int]) -> TabularReward:
        return TabularReward(np.zeros(walls.shape), -self.c, np.zeros(walls.shape, dtype=bool))

    def to_spec(self) -> dict[str, Any]:
        return {"type": "step_penalty", "c": self.c}


class SumReward(Reward):
    """The sum of several rewards: rewards add, and any summand's terminal cell ends the episode.

    Build it with ``+``: ``CheeseReward() + StepPenalty(0.01)``.
    """

    def __init__(self, *terms: Reward):
        if not terms or not all(isinstance(t, Reward) for t in terms):
            raise ValueError(f"SumReward needs one or more Reward objects, got {terms!r}.")
        self._terms = tuple(u for t in terms for u in t.terms())

    def terms(self) -> tuple[Reward, ...]:
        return self._terms

    def tabular(self, walls: np.ndarray, cheese: tuple[int, int]) -> TabularReward:
        table = self._terms[0].tabular(walls, cheese)
        for t in self._terms[1:]:
            table = table + t.tabular(walls, cheese)
        return table

    def to_spec(self) -> dict[str, Any]:
        return {"type": "sum", "terms": [t.to_spec() for t in self._terms]}

    def __repr__(self) -> str:
        return " + ".join(repr(t) for t in self._terms)


class NegatedReward(Reward):
    """The negation of a reward: every payment flips sign, terminal cells stay terminal.

    Why: the avoidance version of a goal (``NegatedReward(CellReward(2, 4))`` pays -1 for
    entering cell (2, 4) and ends the episode there), and the "opposite objective" that a
    patched network MA - Delta would pursue if the parameter -> objective map were linear.

    Args:
        base: the reward to negate (any Reward, including a sum).
    """

    def __init__(self, base: Reward):
        if not isinstance(base, Reward):
            raise TypeError(f"NegatedReward base must be a Reward, got {base!r}.")
        self.base = base

    def tabular(self, walls: np.ndarray, cheese: tuple[int, int]) -> TabularReward:
        t = self.base.tabular(walls, cheese)
        return TabularReward(-t.cell, -t.step, t.terminal)

    def to_spec(self) -> dict[str, Any]:
        return {"type": "neg", "base": self.base.to_spec()}

    def __repr__(self) -> str:
        return f"NegatedReward({self.base!r})"


_SIMPLE = {"cheese": CheeseReward, "corner": CornerReward}


def reward_from_spec(spec: dict[str, Any] | Reward | None) -> Reward:
    """Rebuild a reward from :meth:`Reward.to_spec` output (a Reward passes through; None = cheese).

    Raises:
        ValueError: if the spec is not a dict with a known ``"type"`` and its arguments.
    """
    if spec is None:
        return CheeseReward()
    if isinstance(spec, Reward):
        return spec
    if not isinstance(spec, dict) or "type" not in spec:
        raise ValueError(
            f"a reward spec is a dict with a 'type' key (see Reward.to_spec), got {spec!r}."
        )
    kind, args = spec["type"], {k: v for k, v in spec.items() if k != "type"}
    try:
        if kind in _SIMPLE and not args:
            return _SIMPLE[kind]()
        if kind == "cell":
            return CellReward(**args)
        if kind == "step_penalty":
            return StepPenalty(**args)
        if kind == "neg" and set(args) == {"base"}:
            return NegatedReward(reward_from_spec(args["base"]))
        if kind == "sum" and set(args) == {"terms"}:
            return SumReward(*(reward_from_spec(t) for t in args["terms"]))
    except TypeError as err:
        raise ValueError(f"bad arguments in reward spec {spec!r}: {err}") from None
    raise ValueError(
        f"unknown reward spec {spec!r}; expected type 'cheese', 'corner', 'cell' (row, col), "
        "'step_penalty' (c), 'neg' (base) or 'sum' (terms)."
    )
