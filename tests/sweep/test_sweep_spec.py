"""Sweep specs: grid, union of grids, seeded random samples, names, validation, files."""

import json
from pathlib import Path

import pytest

from devrl.agents import PPOConfig
from devrl.sweep import SweepSpec, load_spec, trial_name


def test_grid_is_the_product_times_seeds_with_stable_names():
    spec = SweepSpec.from_dict(
        {
            "name": "g",
            "base": {"size": 7},
            "grid": {"corner": [1, 3], "lr": [1e-3, 3e-4]},
            "seeds": 2,
        }
    )
    trials = spec.trials()
    assert len(trials) == 2 * 2 * 2
    names = [t.name for t in trials]
    assert names[0] == "corner=1,lr=0.001,seed=0"
    assert "corner=3,lr=0.0003,seed=1" in names
    t = trials[-1]
    assert t.config == {**t.config, "size": 7, "corner": 3, "lr": 3e-4, "seed": 1}
    # the full config is PPOConfig's, defaults filled in
    assert PPOConfig.from_dict(t.config).num_envs == PPOConfig().num_envs
    assert spec.out == Path("sweeps/g")


def test_union_of_grids_dedupes_and_names_every_swept_field():
    spec = SweepSpec.from_dict(
        {"name": "u", "grid": [{"corner": [1, 3]}, {"size": [9, 11]}], "seeds": [5]}
    )
    names = [t.name for t in spec.trials()]
    # corner=1,size=9 is in both grids (size's default is 9, corner's is 1): once
    assert names == [
        "corner=1,size=9,seed=5",
        "corner=3,size=9,seed=5",
        "corner=1,size=11,seed=5",
    ]


def test_random_samples_are_seeded_and_within_bounds():
    raw = {
        "name": "r",
        "grid": {"corner": [1, 3]},
        "random": {
            "lr": {"loguniform": [1e-4, 1e-2]},
            "hidden": {"randint": [8, 16]},
            "gamma": {"choice": [0.9, 0.99]},
        },
        "samples": 3,
        "sample_seed": 7,
    }
    a, b = SweepSpec.from_dict(raw).trials(), SweepSpec.from_dict(raw).trials()
    assert [t.config for t in a] == [t.config for t in b]
    assert len(a) == 2 * 3
    for t in a:
        assert 1e-4 <= t.config["lr"] <= 1e-2 and 8 <= t.config["hidden"] <= 16
        assert t.config["gamma"] in (0.9, 0.99)
        assert t.swept["lr"] == t.config["lr"]
    # sample k is the same draw at every grid point, and another seed draws otherwise
    assert a[0].config["lr"] == a[3].config["lr"] and a[0].name == "corner=1,sample=0,seed=0"
    other = SweepSpec.from_dict({**raw, "sample_seed": 8}).trials()
    assert other[0].config["lr"] != a[0].config["lr"]


def test_trial_name_words():
    assert trial_name({"corner": None, "reward": {"type": "corner"}, "seed": 0}) == (
        "corner=none,reward=corner,seed=0"
    )
    assert trial_name({"anneal_lr": False, "lr": 1e-05}) == "anneal_lr=false,lr=1e-05"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "x", "grid": {"learning_rate": [1]}}, "not PPOConfig fields"),
        ({"name": "x", "grids": {}}, "unknown sweep spec key"),
        ({"name": "x", "grid": {"corner": []}}, "non-empty list"),
        ({"name": "x", "grid": {"seed": [1]}}, "'seeds'"),
        ({"name": "x", "seeds": [0, 0]}, "duplicates"),
        ({"name": "x", "random": {"lr": {"normal": [0, 1]}}, "samples": 1}, "loguniform"),
        ({"name": "x", "random": {"lr": {"uniform": [0, 1]}}}, "samples"),
        ({"name": "x", "measures": ["no-such-measure"]}, "unknown measure"),
        ({"name": "x", "measures": [{"name": "success", "draws": 3}]}, "no parameter"),
        ({"name": "a b"}, "'name'"),
        ({"name": "x", "metrics": "charts/success_rate"}, "'metrics'"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        SweepSpec.from_dict(spec)


def test_an_invalid_trial_config_fails_at_expansion_naming_the_trial():
    spec = SweepSpec.from_dict({"name": "x", "base": {"size": 5}, "grid": {"corner": [1, 7]}})
    with pytest.raises(ValueError, match=r"trial \{'corner': 7, 'seed': 0\}: corner must be"):
        spec.trials()


def test_load_spec_reads_json_and_yaml(tmp_path):
    raw = {"name": "f", "grid": {"corner": [1, 2]}, "seeds": 1, "measures": ["success"]}
    (tmp_path / "s.json").write_text(json.dumps(raw))
    spec = load_spec(tmp_path / "s.json", root=tmp_path)
    assert [t.name for t in spec.trials()] == ["corner=1,seed=0", "corner=2,seed=0"]
    assert spec.out == tmp_path / "sweeps" / "f"
    assert spec.measures == [{"name": "success"}]
    yaml = pytest.importorskip("yaml")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(raw))
    assert load_spec(tmp_path / "s.yaml").trials() == spec.trials()
    (tmp_path / "s.toml").write_text("")
    with pytest.raises(ValueError, match=".json, .yaml"):
        load_spec(tmp_path / "s.toml")
    with pytest.raises(FileNotFoundError):
        load_spec(tmp_path / "missing.json")
