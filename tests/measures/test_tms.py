"""TMS measures tracked on TMS runs: known k-gon losses and polygons, the tidy columns."""

import numpy as np
import pytest

from devrl.agents.tms_model import TMSModel
from devrl.agents.tms_runs import TMS_ENV_ID, tms_run_dirs
from devrl.agents.tms_sgd import TMSSGDConfig, train_tms_sgd
from devrl.runs import Run
from devrl.theory.tms import kgon
from devrl.track import COLUMNS, track


def _planted(path, names=("5", "6"), env_kwargs=None):
    run = Run.create(
        path,
        {"seed": 7, "env_id": TMS_ENV_ID, "env_kwargs": env_kwargs or {"c": 6}},
        resume=False,
    )
    for step, name in enumerate(names):
        p = kgon(name)
        run.save_checkpoint(step, TMSModel(W=p.W, b=p.b))
    return run


def test_track_gives_the_known_kgon_losses_and_polygons(tmp_path):
    frame = track(_planted(tmp_path / "planted"), ["population-loss", "polygon"], progress=False)
    assert list(frame.columns) == [*COLUMNS, "c"]
    value = frame.set_index(["measure", "step"])["value"]
    # Chen et al. (2023): for c = 6, m = 2 the 5-gon and 6-gon losses are 0.06874, 0.04819.
    assert value["population-loss", 0] == pytest.approx(0.06874, abs=1e-5)
    assert value["population-loss", 1] == pytest.approx(0.04819, abs=1e-5)
    assert value["polygon/k", 0] == 5 and value["polygon/k", 1] == 6
    assert value["polygon/n_plus", 0] == 0
    assert (frame.seed == 7).all() and (frame.run == "planted").all()


def test_population_loss_uses_the_runs_distribution(tmp_path):
    # Only feature 5, the one the 5-gon drops (f = 0 there): L = E[μ²] = 1/3.
    skewed = {"c": 6, "probs": [0, 0, 0, 0, 0, 1]}
    run = _planted(tmp_path / "skewed", names=("5",), env_kwargs=skewed)
    frame = track(run, ["population-loss"], progress=False)
    uniform = track(run, [_measure("population-loss", distribution="uniform")], progress=False)
    assert frame.value[0] == pytest.approx(1 / 3)
    assert uniform.value[0] == pytest.approx(0.06874, abs=1e-5)


def _measure(name, **params):
    from devrl.measures import get_measure

    return get_measure(name, **params)


def test_track_on_a_trained_tms_run_matches_its_training_metrics(tmp_path):
    cfg = TMSSGDConfig(
        n_seeds=1, n_samples=100, epochs=3, n_log_checkpoints=4, n_linear_checkpoints=3
    )
    res = train_tms_sgd(cfg, out=tmp_path / "sgd", progress=False)
    frame = track(tms_run_dirs(tmp_path / "sgd")[0], ["population-loss", "polygon"])
    got = frame.query("measure == 'population-loss'").value.to_numpy()
    want = res.metrics.query("measure == 'loss/population'").value.to_numpy()
    assert np.allclose(got, want, rtol=1e-6)
    k = frame.query("measure == 'polygon/k'").value.to_numpy()
    assert np.array_equal(k, res.metrics.query("measure == 'polygon/k'").value, equal_nan=True)


def test_tms_measures_refuse_other_environments(tmp_path):
    run = Run.create(tmp_path / "maze", {"seed": 0}, resume=False)
    run.save_checkpoint(0, TMSModel())
    with pytest.raises(ValueError, match="TMSBandit"):
        track(run, ["polygon"], progress=False)
