"""What a sweep runs: a grid (and seeded random samples) over PPOConfig fields, x seeds.

A spec is a plain dict, or a JSON file (YAML too when pyyaml is installed)::

    {
      "name": "corner",
      "preset": "quick",                       # optional: start from a tuned config
      "base": {"size": 13},                    # PPOConfig fields shared by every trial
      "grid": {"corner": [1, 3, 5]},           # product of the lists; a list of such
                                               # dicts is the union of their products
      "random": {"lr": {"loguniform": [1e-4, 1e-2]}},   # optional, with "samples": K
      "samples": 0, "sample_seed": 0,
      "seeds": [0, 1, 2],                      # or an int n: seeds 0..n-1
      "measures": ["success", {"name": "llc-action", "draws": 100}],
      "measure_seed": 12345,
      "metrics": ["charts/success_rate"],      # training metrics (metrics.csv) to include
      "out": "sweeps/corner"                   # default: sweeps/<name>
    }

Environment variables are PPOConfig fields (``size``, ``corner``, ``cheese_anywhere``,
``reward``, ``max_steps``), so they are swept like any other. Every trial is
validated when the spec is expanded, so a typo fails before anything trains. Trial
names are built from the values of every swept field (``corner=3,seed=0``), so they do
not depend on the order of the grid and a rerun finds its trials again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_KEYS = (
    "name",
    "preset",
    "base",
    "grid",
    "random",
    "samples",
    "sample_seed",
    "seeds",
    "measures",
    "measure_seed",
    "metrics",
    "out",
)
_DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its name (also its run directory's) and full PPOConfig dict."""

    name: str
    config: dict[str, Any]
    swept: dict[str, Any]
    """The swept fields' values (grid, random samples, seed): the trial's columns."""

    def fingerprint(self, measures: Sequence[Mapping[str, Any]], measure_seed: int) -> str:
        """Hash of everything the trial computes: a finished trial with the same one is skipped."""
        blob = json.dumps(
            {"config": self.config, "measures": list(measures), "measure_seed": measure_seed},
            sort_keys=True,
        )
        return hashlib.sha1(blob.encode()).hexdigest()[:16]


@dataclass
class SweepSpec:
    """A validated sweep: build with :meth:`from_dict` or :func:`load_spec`, expand with :meth:`trials`."""

    name: str
    base: dict[str, Any] = field(default_factory=dict)
    grid: list[dict[str, list[Any]]] = field(default_factory=lambda: [{}])
    random: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: int = 0
    sample_seed: int = 0
    seeds: list[int] = field(default_factory=lambda: [0])
    measures: list[dict[str, Any]] = field(default_factory=list)
    measure_seed: int = 12345
    metrics: list[str] = field(default_factory=list)
    out: Path | None = None

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], *, root: str | os.PathLike = ".") -> SweepSpec:
        """Validate a spec dict (see the module docstring for its keys).

        Args:
            spec: The spec.
            root: Folder a relative ``out`` is taken from (a spec file's folder's parent
                is not assumed; the CLI passes the working directory).

        Raises:
            ValueError: naming the bad key or value.
        """
        from devrl.agents.config import PPOConfig
        from devrl.agents.presets import PRESETS

        if not isinstance(spec, Mapping):
            raise TypeError(f"a sweep spec must be a dict, got {type(spec).__name__}")
        unknown = sorted(set(spec) - set(_KEYS))
        if unknown:
            raise ValueError(f"unknown sweep spec key(s) {unknown}; valid keys: {', '.join(_KEYS)}")
        name = spec.get("name")
        if not isinstance(name, str) or not name or _UNSAFE.search(name):
            raise ValueError(
                f"spec 'name' must be a non-empty word ([A-Za-z0-9._+-]), got {name!r}"
            )
        fields = set(PPOConfig.__dataclass_fields__)
        base: dict[str, Any] = {}
        preset = spec.get("preset")
        if preset is not None:
            if preset not in PRESETS:
                raise ValueError(f"spec 'preset' must be one of {sorted(PRESETS)}, got {preset!r}")
            base.update(PRESETS[preset])
        base.update(_mapping(spec.get("base", {}), "base"))
        grid = spec.get("grid", [{}])
        grids = [grid] if isinstance(grid, Mapping) else grid
        if not isinstance(grids, list) or not grids:
            raise ValueError("spec 'grid' must be a dict of lists or a non-empty list of them")
        grids = [_grid(g, i) for i, g in enumerate(grids)]
        random = {
            k: _distribution(k, v) for k, v in _mapping(spec.get("random", {}), "random").items()
        }
        named = set(base) | set(random) | {k for g in grids for k in g}
        bad = sorted(named - fields)
        if bad:
            raise ValueError(
                f"not PPOConfig fields: {bad}; valid fields: {', '.join(sorted(fields))}"
            )
        if "seed" in named:
            raise ValueError("give seeds with the spec's 'seeds' key, not as a config field")
        samples = spec.get("samples", 0)
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
            raise ValueError(f"spec 'samples' must be an integer >= 0, got {samples!r}")
        if random and samples == 0:
            raise ValueError("spec 'random' needs 'samples' >= 1 (draws per grid point)")
        seeds = spec.get("seeds", [0])
        seeds = (
            list(range(seeds)) if isinstance(seeds, int) and not isinstance(seeds, bool) else seeds
        )
        if (
            not isinstance(seeds, list)
            or not seeds
            or not all(_is_int(s) and s >= 0 for s in seeds)
        ):
            raise ValueError(
                f"spec 'seeds' must be a positive int or a list of ints >= 0, got {seeds!r}"
            )
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"spec 'seeds' has duplicates: {seeds}")
        measures = [_measure(m) for m in spec.get("measures", [])]
        metrics = spec.get("metrics", [])
        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            raise ValueError(f"spec 'metrics' must be a list of metric names, got {metrics!r}")
        out = spec.get("out")
        return cls(
            name=name,
            base=base,
            grid=grids,
            random=random,
            samples=samples,
            sample_seed=_int(spec.get("sample_seed", 0), "sample_seed"),
            seeds=seeds,
            measures=measures,
            measure_seed=_int(spec.get("measure_seed", 12345), "measure_seed"),
            metrics=list(metrics),
            out=Path(root) / (out if out is not None else Path("sweeps") / name),
        )

    @property
    def swept_fields(self) -> list[str]:
        """Every field a trial's name and columns carry: grid keys, random keys, seed."""
        keys = sorted({k for g in self.grid for k in g})
        return [*keys, *sorted(self.random), "seed"]

    def trials(self) -> list[Trial]:
        """The trials, in a fixed order (grid points, then samples, then seeds); duplicates once.

        Raises:
            ValueError: if a trial's config is invalid (names the trial and the field).
        """
        from devrl._config import to_dict
        from devrl.agents.config import PPOConfig

        grid_keys = sorted({k for g in self.grid for k in g})
        draws = [self._draw(k) for k in range(self.samples)] if self.samples else [None]
        trials: dict[str, Trial] = {}
        for grid in self.grid:
            keys = sorted(grid)
            for values in itertools.product(*(grid[k] for k in keys)):
                point = dict(zip(keys, values, strict=True))
                for k, draw in enumerate(draws):
                    for seed in self.seeds:
                        values_ = {**self.base, **point, **(draw or {}), "seed": seed}
                        try:
                            config = to_dict(PPOConfig.from_dict(values_))
                        except (ValueError, TypeError) as exc:
                            where = {**point, **(draw or {}), "seed": seed}
                            raise ValueError(f"trial {where}: {exc}") from None
                        named = {g: config[g] for g in grid_keys}
                        if draw is not None:
                            named["sample"] = k
                        named["seed"] = seed
                        name = trial_name(named)
                        swept = {**named, **(draw or {})}
                        if name in trials and trials[name].config != config:
                            raise ValueError(f"two different trials are both named {name}")
                        trials.setdefault(name, Trial(name, config, swept))
        return list(trials.values())

    def _draw(self, k: int) -> dict[str, Any]:
        """Random sample ``k``: its own generator, so a sample does not depend on the others."""
        rng = np.random.default_rng([self.sample_seed, k])
        out = {}
        for key in sorted(self.random):
            ((kind, arg),) = self.random[key].items()
            if kind == "uniform":
                out[key] = float(rng.uniform(arg[0], arg[1]))
            elif kind == "loguniform":
                out[key] = float(np.exp(rng.uniform(np.log(arg[0]), np.log(arg[1]))))
            elif kind == "randint":
                out[key] = int(rng.integers(arg[0], arg[1], endpoint=True))
            else:
                out[key] = arg[int(rng.integers(len(arg)))]
        return out

    def measure_objects(self) -> list[Any]:
        """The spec's measures as :class:`devrl.measures.Measure` objects."""
        from devrl.measures import get_measure

        return [
            get_measure(m["name"], **{k: v for k, v in m.items() if k != "name"})
            for m in self.measures
        ]


def trial_name(named: Mapping[str, Any]) -> str:
    """A trial's name from its grid values, sample index and seed, e.g. ``corner=3,seed=0``.

    Filesystem- and shell-safe. Sampled values are not spelled out (long floats): the
    sample index names them.
    """
    return ",".join(f"{k}={_word(v)}" for k, v in named.items()) or "trial"


def _word(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Mapping) and set(value) == {"type"}:
        return _UNSAFE.sub("-", str(value["type"]))
    if isinstance(value, str):
        return _UNSAFE.sub("-", value)
    return hashlib.sha1(json.dumps(value, sort_keys=True).encode()).hexdigest()[:8]


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _int(x: Any, name: str) -> int:
    if not _is_int(x) or x < 0:
        raise ValueError(f"spec {name!r} must be an integer >= 0, got {x!r}")
    return x


def _mapping(x: Any, name: str) -> dict[str, Any]:
    if not isinstance(x, Mapping):
        raise TypeError(f"spec {name!r} must be a dict, got {type(x).__name__}")
    return dict(x)


def _grid(g: Any, i: int) -> dict[str, list[Any]]:
    g = _mapping(g, f"grid[{i}]")
    for k, values in g.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"grid field {k!r} must be a non-empty list of values, got {values!r}")
    return g


def _distribution(key: str, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in _DISTRIBUTIONS:
        raise ValueError(
            f"random field {key!r} must be one of {{'uniform': [lo, hi]}}, {{'loguniform': "
            f"[lo, hi]}}, {{'randint': [lo, hi]}}, {{'choice': [...]}}; got {spec!r}"
        )
    ((kind, arg),) = spec.items()
    if not isinstance(arg, list) or not arg:
        raise ValueError(f"random field {key!r}: {kind} needs a non-empty list, got {arg!r}")
    if kind != "choice":
        if len(arg) != 2 or not all(isinstance(a, (int, float)) for a in arg) or arg[0] > arg[1]:
            raise ValueError(
                f"random field {key!r}: {kind} needs [lo, hi] with lo <= hi, got {arg}"
            )
        if kind == "loguniform" and arg[0] <= 0:
            raise ValueError(f"random field {key!r}: loguniform needs lo > 0, got {arg}")
        if kind == "randint" and not all(_is_int(a) for a in arg):
            raise ValueError(f"random field {key!r}: randint needs integer bounds, got {arg}")
    return {kind: list(arg)}


def _measure(m: Any) -> dict[str, Any]:
    from devrl.measures import MEASURES

    if isinstance(m, str):
        m = {"name": m}
    if not isinstance(m, Mapping) or not isinstance(m.get("name"), str):
        raise TypeError(f"a spec measure must be a name or a dict with 'name', got {m!r}")
    if m["name"] not in MEASURES:
        raise ValueError(f"unknown measure {m['name']!r}; registered: {', '.join(MEASURES)}")
    params = {k: v for k, v in m.items() if k != "name"}
    MEASURES[m["name"]].with_params(**params)  # unknown parameters raise here
    return dict(m)


def load_spec(path: str | os.PathLike, *, root: str | os.PathLike = ".") -> SweepSpec:
    """Read a spec file: ``.json`` always, ``.yaml``/``.yml`` when pyyaml is installed.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file does not parse or the spec is invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep spec at {path}")
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ValueError(
                f"{path} is YAML but pyyaml is not installed: `pip install pyyaml` or use JSON"
            ) from None
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path} is not valid YAML: {exc}") from None
    elif path.suffix == ".json":
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON: {exc}") from None
    else:
        raise ValueError(f"sweep spec must be .json, .yaml or .yml, got {path.name}")
    return SweepSpec.from_dict(spec, root=root)


__all__ = ["SweepSpec", "Trial", "load_spec", "trial_name"]
