"""Bad values at the public Python API raise a ValueError or TypeError naming the argument.

One table over devrl.forms, devrl.llc (estimate, estimate_many, SamplerSettings),
devrl.track, devrl.evaluation and devrl.measures: each row calls one function with one
bad value (a careless or hostile caller: NaN, inf, bools for numbers, strings, complex
numbers, empty or out-of-range values, wrong types) and names the exception and the
words its one-line message must contain. The ranges are the documented ones; a row that
is accepted, or fails with another exception or an unhelpful message, fails here.
Missing files and folders are ``FileNotFoundError`` naming the path.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from devrl import forms
from devrl.evaluation import evaluate_run, summarize
from devrl.forms.synthetic import checkpoints, true_curve
from devrl.llc import SamplerSettings, estimate, estimate_many, regression_data
from devrl.measures import as_measure, get_measure, register_measure
from devrl.track import cached, track

T = checkpoints(30)
Y = true_curve("logistic", T) + np.random.default_rng(0).normal(0, 0.05, T.size)
NAN, INF = math.nan, math.inf


def _model_and_data():
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    x = torch.randn(32, 2)
    return model, regression_data(x, model(x).detach())


MODEL, DATA = _model_and_data()
TRACKS = pd.DataFrame(
    {
        "seed": np.repeat([0, 1], 20),
        "step": np.tile(np.geomspace(1, 1e4, 20), 2),
        "measure": "a",
        "value": np.tile(np.linspace(0, 1, 20), 2),
    }
)
EFFECTS = pd.DataFrame({"seed": range(8), "size": [5, 7] * 4, "y": np.arange(8.0)})


def fit(**kw):
    return forms.fit(kw.pop("t", T), kw.pop("y", Y), kw.pop("form", "logistic"), **kw)


def compare(**kw):
    return forms.compare(kw.pop("t", T), kw.pop("y", Y), forms=kw.pop("forms", ["linear"]), **kw)


def settings(**kw):
    return SamplerSettings(**{"lr": 1e-3, **kw})


# (id, call(run) -> anything, expected exception, words the message must contain)
CASES = [
    # --- devrl.forms.fit
    ("fit y complex", lambda r: fit(y=Y + 1j), TypeError, "y must be real"),
    ("fit y text", lambda r: fit(y=Y.astype(str).astype(object) + "x"), TypeError, "y must be"),
    ("fit t complex", lambda r: fit(t=T + 0j), TypeError, "t must be real"),
    ("fit y NaN", lambda r: fit(y=np.r_[Y[:-1], NAN]), ValueError, "NaN"),
    ("fit y inf", lambda r: fit(y=np.r_[Y[:-1], INF]), ValueError, "infinite"),
    ("fit t/y lengths", lambda r: fit(y=Y[:-1]), ValueError, "t and y"),
    ("fit t unsorted", lambda r: fit(t=T[::-1]), ValueError, "t must be strictly increasing"),
    ("fit y constant", lambda r: fit(y=np.ones_like(Y)), ValueError, "y is constant"),
    ("fit too few points", lambda r: fit(t=T[:5], y=Y[:5]), ValueError, "points"),
    ("fit form unknown", lambda r: fit(form="logistik"), ValueError, "unknown form"),
    ("fit form type", lambda r: fit(form=42), TypeError, "form"),
    ("fit log form t<=0", lambda r: fit(t=T - 1, form="power"), ValueError, "t > 0"),
    ("fit sigma 0", lambda r: fit(sigma=0.0), ValueError, "sigma"),
    ("fit sigma NaN", lambda r: fit(sigma=NAN), ValueError, "sigma"),
    ("fit sigma length", lambda r: fit(sigma=np.ones(3)), ValueError, "sigma"),
    ("fit sigma complex", lambda r: fit(sigma=1j), TypeError, "sigma"),
    ("fit groups length", lambda r: fit(groups=[0, 1]), ValueError, "groups"),
    ("fit ci", lambda r: fit(ci="jackknife"), ValueError, "ci"),
    ("fit level 1.5", lambda r: fit(level=1.5), ValueError, "level"),
    ("fit level 0", lambda r: fit(level=0), ValueError, "level"),
    ("fit level 1", lambda r: fit(level=1.0), ValueError, "level"),
    ("fit level NaN", lambda r: fit(level=NAN), ValueError, "level"),
    ("fit level 95", lambda r: fit(level=95), ValueError, "level"),
    ("fit level bool", lambda r: fit(level=True), (TypeError, ValueError), "level"),
    ("fit level text", lambda r: fit(level="0.95"), (TypeError, ValueError), "level"),
    ("fit n_boot 0", lambda r: fit(ci="bootstrap", n_boot=0), ValueError, "n_boot"),
    ("fit n_boot float", lambda r: fit(n_boot=2.5), (TypeError, ValueError), "n_boot"),
    ("fit n_boot bool", lambda r: fit(n_boot=True), (TypeError, ValueError), "n_boot"),
    ("fit n_random_starts", lambda r: fit(n_random_starts=-1), ValueError, "n_random_starts"),
    ("fit seed negative", lambda r: fit(seed=-1), ValueError, "seed"),
    ("fit seed text", lambda r: fit(seed="a"), (TypeError, ValueError), "seed"),
    # --- devrl.forms.compare
    ("compare forms str", lambda r: compare(forms="logistic"), TypeError, "forms"),
    ("compare forms empty", lambda r: compare(forms=[]), ValueError, "forms"),
    ("compare forms unknown", lambda r: compare(forms=["nope"]), ValueError, "unknown form"),
    ("compare holdout 1", lambda r: compare(holdout=1.0), ValueError, "holdout"),
    ("compare holdout NaN", lambda r: compare(holdout=NAN), ValueError, "holdout"),
    ("compare holdout -0.1", lambda r: compare(holdout=-0.1), ValueError, "holdout"),
    ("compare holdout text", lambda r: compare(holdout="0.2"), (TypeError, ValueError), "holdout"),
    ("compare sort_by", lambda r: compare(sort_by="aic"), ValueError, "sort_by"),
    ("compare seed", lambda r: compare(seed=-2), ValueError, "seed"),
    ("compare return_fits", lambda r: compare(return_fits="yes"), TypeError, "return_fits"),
    ("compare y complex", lambda r: compare(y=Y * 1j), TypeError, "y must be real"),
    ("compare y lengths", lambda r: compare(y=Y[:3]), ValueError, "t and y"),
    # --- devrl.forms: stages, shifts, lags, effects, registry
    ("stages method", lambda r: forms.detect_stages(T, Y, method="peaks"), ValueError, "method"),
    (
        "stages min_change",
        lambda r: forms.detect_stages(T, Y, min_change=-1),
        ValueError,
        "min_change",
    ),
    (
        "stages min_change NaN",
        lambda r: forms.detect_stages(T, Y, min_change=NAN),
        ValueError,
        "min_change",
    ),
    (
        "stages bandwidth 0",
        lambda r: forms.detect_stages(T, Y, bandwidth=0.0),
        ValueError,
        "bandwidth",
    ),
    (
        "stages max_breakpoints",
        lambda r: forms.detect_stages(T, Y, method="changepoint", max_breakpoints=0),
        ValueError,
        "max_breakpoints",
    ),
    (
        "stages noise -1",
        lambda r: forms.detect_stages(T, Y, method="levels", noise=-1.0),
        ValueError,
        "noise",
    ),
    ("stages t<=0", lambda r: forms.detect_stages(T - 1, Y), ValueError, "t > 0"),
    ("stages y complex", lambda r: forms.detect_stages(T, Y + 1j), TypeError, "y must be real"),
    (
        "smooth bandwidth",
        lambda r: forms.smooth_log_time(T, Y, bandwidth=-1.0),
        ValueError,
        "bandwidth",
    ),
    (
        "smooth grid_size",
        lambda r: forms.smooth_log_time(T, Y, grid_size=1),
        ValueError,
        "grid_size",
    ),
    ("shifts penalty", lambda r: forms.level_shifts(T, Y, penalty=-1.0), ValueError, "penalty"),
    ("shifts penalty NaN", lambda r: forms.level_shifts(T, Y, penalty=NAN), ValueError, "penalty"),
    ("shifts min_size", lambda r: forms.level_shifts(T, Y, min_size=0), ValueError, "min_size"),
    (
        "shifts min_size float",
        lambda r: forms.level_shifts(T, Y, min_size=2.5),
        (TypeError, ValueError),
        "min_size",
    ),
    (
        "shifts min_shift",
        lambda r: forms.level_shifts(T, Y, min_shift=-0.1),
        ValueError,
        "min_shift",
    ),
    ("shifts noise", lambda r: forms.level_shifts(T, Y, noise=-1.0), ValueError, "noise"),
    ("steepest sign", lambda r: forms.steepest_change(T, Y, sign=2), ValueError, "sign"),
    ("steepest grid", lambda r: forms.steepest_change(T, Y, grid=1), ValueError, "grid"),
    (
        "step_across window",
        lambda r: forms.step_across(T, Y, 100.0, window=0.0),
        ValueError,
        "window",
    ),
    ("step_across at NaN", lambda r: forms.step_across(T, Y, NAN), ValueError, "at"),
    ("match tol", lambda r: forms.match_transitions([1.0], [1.0], tol=-1.0), ValueError, "tol"),
    ("match tol NaN", lambda r: forms.match_transitions([1.0], [1.0], tol=NAN), ValueError, "tol"),
    (
        "lags reference",
        lambda r: forms.change_lags(TRACKS, "b", {"a": "a"}),
        ValueError,
        "reference",
    ),
    ("lags grid", lambda r: forms.change_lags(TRACKS, "a", {"a": "a"}, grid=1), ValueError, "grid"),
    ("lags by", lambda r: forms.change_lags(TRACKS, "a", {"a": "a"}, by="run"), ValueError, "by"),
    (
        "effects method",
        lambda r: forms.effects(EFFECTS, "y", ["size"], method="gls"),
        ValueError,
        "method",
    ),
    (
        "effects level",
        lambda r: forms.effects(EFFECTS, "y", ["size"], level=2.0),
        ValueError,
        "level",
    ),
    ("effects response", lambda r: forms.effects(EFFECTS, "z", ["size"]), ValueError, "response"),
    (
        "effects variables",
        lambda r: forms.effects(EFFECTS, "y", ["colour"]),
        ValueError,
        "variables",
    ),
    (
        "effects variables str",
        lambda r: forms.effects(EFFECTS, "y", "size"),
        TypeError,
        "variables",
    ),
    (
        "per_run x",
        lambda r: forms.fit_per_run(TRACKS, "linear", x="time", by=("seed",)),
        ValueError,
        "x",
    ),
    (
        "per_run form",
        lambda r: forms.fit_per_run(TRACKS, "nope", by=("seed",)),
        ValueError,
        "unknown form",
    ),
    ("drop_missing columns", lambda r: forms.drop_missing(TRACKS, ["loss"]), ValueError, "columns"),
    ("piecewise k 0", lambda r: forms.piecewise_linear(0), ValueError, "k"),
    ("piecewise k float", lambda r: forms.piecewise_linear(1.5), (TypeError, ValueError), "k"),
    ("piecewise k bool", lambda r: forms.piecewise_linear(True), (TypeError, ValueError), "k"),
    ("register_form type", lambda r: forms.register_form("logistic"), TypeError, "form"),
    ("get_form type", lambda r: forms.get_form(None), TypeError, "form"),
    # --- devrl.llc
    ("settings lr bool", lambda r: SamplerSettings(lr=True), TypeError, "lr"),
    ("settings lr text", lambda r: SamplerSettings(lr="0.1"), TypeError, "lr"),
    ("settings lr NaN", lambda r: SamplerSettings(lr=NAN), ValueError, "lr"),
    ("settings lr inf", lambda r: SamplerSettings(lr=INF), ValueError, "lr"),
    ("settings lr 0", lambda r: SamplerSettings(lr=0.0), ValueError, "lr"),
    ("settings lr complex", lambda r: SamplerSettings(lr=1e-3j), TypeError, "lr"),
    ("settings nbeta -1", lambda r: settings(nbeta=-1.0), ValueError, "nbeta"),
    ("settings nbeta bool", lambda r: settings(nbeta=True), TypeError, "nbeta"),
    ("settings localization NaN", lambda r: settings(localization=NAN), ValueError, "localization"),
    ("settings localization -1", lambda r: settings(localization=-1.0), ValueError, "localization"),
    ("settings localization text", lambda r: settings(localization="1"), TypeError, "localization"),
    ("settings chains 0", lambda r: settings(chains=0), ValueError, "chains"),
    ("settings chains float", lambda r: settings(chains=2.5), TypeError, "chains"),
    ("settings chains bool", lambda r: settings(chains=True), TypeError, "chains"),
    ("settings draws NaN", lambda r: settings(draws=NAN), TypeError, "draws"),
    ("settings burnin -1", lambda r: settings(burnin=-1), ValueError, "burnin"),
    ("settings batch_size 0", lambda r: settings(batch_size=0), ValueError, "batch_size"),
    ("settings batch_size bool", lambda r: settings(batch_size=True), TypeError, "batch_size"),
    ("settings seed float", lambda r: settings(seed=1.5), TypeError, "seed"),
    ("settings seed -1", lambda r: settings(seed=-1), ValueError, "seed"),
    ("settings sampler", lambda r: settings(sampler="adam"), ValueError, "sampler"),
    ("settings vectorize", lambda r: settings(vectorize="yes"), ValueError, "vectorize"),
    (
        "settings divergence NaN",
        lambda r: settings(divergence_factor=NAN),
        ValueError,
        "divergence_factor",
    ),
    (
        "settings divergence 0",
        lambda r: settings(divergence_factor=0.0),
        ValueError,
        "divergence_factor",
    ),
    (
        "settings divergence text",
        lambda r: settings(divergence_factor="10"),
        TypeError,
        "divergence_factor",
    ),
    (
        "settings divergence bool",
        lambda r: settings(divergence_factor=True),
        TypeError,
        "divergence_factor",
    ),
    (
        "settings sampler_kwargs type",
        lambda r: settings(sampler_kwargs=3),
        TypeError,
        "sampler_kwargs",
    ),
    (
        "settings sampler_kwargs key",
        lambda r: settings(sampler_kwargs={"bogus": 1}),
        ValueError,
        "sampler_kwargs",
    ),
    (
        "settings sampler_kwargs lr",
        lambda r: settings(sampler_kwargs={"lr": 1.0}),
        ValueError,
        "sampler_kwargs",
    ),
    (
        "settings unknown field",
        lambda r: SamplerSettings(lr=1e-3, temperature=1.0),
        TypeError,
        "temperature",
    ),
    ("estimate no lr", lambda r: estimate(MODEL, DATA), TypeError, "lr"),
    (
        "estimate unknown field",
        lambda r: estimate(MODEL, DATA, lr=1e-3, steps=5),
        TypeError,
        "steps",
    ),
    (
        "estimate settings type",
        lambda r: estimate(MODEL, DATA, settings={"lr": 1e-3}),
        TypeError,
        "settings",
    ),
    ("estimate model type", lambda r: estimate("model", DATA, lr=1e-3), TypeError, "model"),
    ("estimate data type", lambda r: estimate(MODEL, [1, 2, 3], lr=1e-3), TypeError, "data"),
    (
        "estimate batch > n",
        lambda r: estimate(MODEL, DATA, lr=1e-3, batch_size=64),
        ValueError,
        "batch_size",
    ),
    ("estimate lr NaN", lambda r: estimate(MODEL, DATA, lr=NAN), ValueError, "lr"),
    (
        "estimate progress",
        lambda r: estimate(MODEL, DATA, lr=1e-3, batch_size=8, draws=1, progress="no"),
        TypeError,
        "progress",
    ),
    ("estimate_many empty", lambda r: estimate_many([], DATA, lr=1e-3), TypeError, "models"),
    (
        "estimate_many data count",
        lambda r: estimate_many([MODEL, MODEL], [DATA], lr=1e-3),
        ValueError,
        "data",
    ),
    # --- devrl.track
    ("track run missing", lambda r: track(r.path / "nope", ["success"]), FileNotFoundError, "nope"),
    ("track run type", lambda r: track(42, ["success"]), TypeError, "run"),
    ("track run empty", lambda r: track("", ["success"]), (FileNotFoundError, ValueError), "run"),
    ("track measures empty", lambda r: track(r, []), ValueError, "measure"),
    ("track measure type", lambda r: track(r, [42]), TypeError, "measure"),
    ("track measure unknown", lambda r: track(r, ["banana"]), ValueError, "unknown measure"),
    ("track measures twice", lambda r: track(r, ["success", "success"]), ValueError, "distinct"),
    ("track steps float", lambda r: track(r, ["success"], steps=[0.5]), TypeError, "steps"),
    ("track steps str", lambda r: track(r, ["success"], steps="0"), TypeError, "steps"),
    ("track steps int", lambda r: track(r, ["success"], steps=0), TypeError, "steps"),
    ("track steps empty", lambda r: track(r, ["success"], steps=[]), ValueError, "steps"),
    ("track steps missing", lambda r: track(r, ["success"], steps=[7]), ValueError, "steps [7]"),
    (
        "track measure_seed",
        lambda r: track(r, ["success"], measure_seed=1.5),
        TypeError,
        "measure_seed",
    ),
    (
        "track measure_seed <0",
        lambda r: track(r, ["success"], measure_seed=-1),
        ValueError,
        "measure_seed",
    ),
    ("track recompute", lambda r: track(r, ["success"], recompute="yes"), TypeError, "recompute"),
    ("track progress", lambda r: track(r, ["success"], progress="no"), TypeError, "progress"),
    ("track cache_dir type", lambda r: track(r, ["success"], cache_dir=3), TypeError, "cache_dir"),
    (
        "track cache_dir file",
        lambda r: track(r, ["success"], cache_dir=r.path / "config.json"),
        ValueError,
        "cache_dir",
    ),
    (
        "track cache_dir empty",
        lambda r: track(r, ["success"], cache_dir=""),
        ValueError,
        "cache_dir",
    ),
    ("cached run type", lambda r: cached(3.5), TypeError, "run"),
    # --- devrl.measures (parameters are checked when set, values when measured)
    ("measure unknown", lambda r: get_measure("banana"), ValueError, "unknown measure"),
    (
        "measure param unknown",
        lambda r: get_measure("success", draws=3),
        ValueError,
        "no parameter",
    ),
    ("measure greedy maybe", lambda r: get_measure("success", greedy="maybe"), TypeError, "greedy"),
    (
        "measure episodes text",
        lambda r: get_measure("success", episodes="many"),
        TypeError,
        "episodes",
    ),
    (
        "measure episodes float",
        lambda r: get_measure("success", episodes=2.5),
        TypeError,
        "episodes",
    ),
    (
        "measure episodes bool",
        lambda r: get_measure("success", episodes=True),
        TypeError,
        "episodes",
    ),
    ("measure lr text", lambda r: get_measure("llc-action", lr="fast"), TypeError, "lr"),
    ("measure lr NaN", lambda r: get_measure("llc-action", lr=NAN), ValueError, "lr"),
    ("measure episodes NaN", lambda r: get_measure("success", episodes=NAN), TypeError, "episodes"),
    (
        "measure episodes 0",
        lambda r: track(r, [get_measure("success", episodes=0)]),
        ValueError,
        "episodes",
    ),
    (
        "measure samples 0",
        lambda r: track(r, [get_measure("state-regret", samples=0)]),
        ValueError,
        "samples",
    ),
    ("measure llc lr -1", lambda r: track(r, [get_measure("llc-kl", lr=-1.0)]), ValueError, "lr"),
    (
        "measure llc states",
        lambda r: track(r, [get_measure("llc-kl", states="sideways")]),
        ValueError,
        "states",
    ),
    ("register name empty", lambda r: register_measure("", lambda p, c: 1.0), ValueError, "name"),
    (
        "register name slash",
        lambda r: register_measure("a/b", lambda p, c: 1.0),
        ValueError,
        "name",
    ),
    ("register name type", lambda r: register_measure(3, lambda p, c: 1.0), TypeError, "name"),
    ("register fn", lambda r: register_measure("not-callable", 42), TypeError, "fn"),
    ("as_measure type", lambda r: as_measure(42), TypeError, "measure"),
    # --- devrl.evaluation
    ("eval run missing", lambda r: evaluate_run(r.path / "nope"), FileNotFoundError, "nope"),
    ("eval run type", lambda r: evaluate_run(7), TypeError, "run_path"),
    ("eval step -1", lambda r: evaluate_run(r.path, step=-1), ValueError, "step"),
    ("eval step missing", lambda r: evaluate_run(r.path, step=5), ValueError, "step 5"),
    ("eval step text", lambda r: evaluate_run(r.path, step="100"), TypeError, "step"),
    ("eval episodes 0", lambda r: evaluate_run(r.path, episodes=0), ValueError, "episodes"),
    ("eval episodes float", lambda r: evaluate_run(r.path, episodes=2.5), TypeError, "episodes"),
    ("eval episodes bool", lambda r: evaluate_run(r.path, episodes=True), TypeError, "episodes"),
    ("eval seed -1", lambda r: evaluate_run(r.path, seed=-1), ValueError, "seed"),
    ("eval greedy maybe", lambda r: evaluate_run(r.path, greedy="maybe"), TypeError, "greedy"),
    ("eval size 7", lambda r: evaluate_run(r.path, size=7), ValueError, "size"),
    ("eval size float", lambda r: evaluate_run(r.path, size=5.0), TypeError, "size"),
    (
        "eval corner",
        lambda r: evaluate_run(r.path, corner="banana", episodes=2),
        ValueError,
        "corner",
    ),
    ("summarize columns", lambda r: summarize(pd.DataFrame({"x": [1]})), ValueError, "table"),
    ("summarize type", lambda r: summarize([1, 2]), TypeError, "table"),
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A hand-made maze run (two checkpoints of an untrained net) to track and evaluate."""
    from devrl.agents import ActorCritic
    from devrl.runs import Run

    config = {"size": 5, "corner": 1, "reward": {"type": "cheese"}, "max_steps": 20}
    run = Run.create(
        tmp_path_factory.mktemp("bad") / "run", {**config, "seed": 0, "gamma": 0.9}, resume=False
    )
    torch.manual_seed(0)
    net = ActorCritic(obs_shape=(3, 5, 5), channels=2, hidden=4)
    run.save_checkpoint(0, net)
    run.save_checkpoint(100, net)
    return run


def test_table_is_large_and_distinct():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 150


@pytest.mark.parametrize(("what", "call", "error", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_value_raises_a_clear_error(run, what, call, error, words):
    with pytest.raises(Exception) as info:
        call(run)
    err = info.value
    assert isinstance(err, error), f"{what}: {type(err).__name__}: {err}"
    message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    assert words in message, f"{what}: message {message!r} does not say {words!r}"
    assert "\n" not in message.strip(), f"{what}: message is not one line: {message!r}"
