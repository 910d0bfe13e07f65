"""The TMS reinforcement section's setting and trajectory macros, against hand-worked values."""

from types import SimpleNamespace

import pandas as pd

from devrl.agents.tms_presets import TMS_LADDER, TMS_LEARNERS
from devrl.agents.tms_rl_config import TMSRLConfig
from devrl.agents.tms_sgd import TMSSGDConfig
from devrl.paper import tms_rl_macros


def _runs(metrics: pd.DataFrame | None = None) -> dict:
    configs = {f"{k}_4gon": TMSRLConfig(**v) for k, v in TMS_LEARNERS.items()}
    configs |= {
        f"ladder_{k}": TMSRLConfig(**TMS_LEARNERS["reinforce"], **v) for k, v in TMS_LADDER.items()
    }
    configs |= {
        f"{k}_random": TMSRLConfig(**TMS_LEARNERS[k], init="random") for k in ("reinforce", "ppo")
    }
    configs["sgd_batch"] = TMSSGDConfig(batch_size=200, lr=0.05)
    return {k: SimpleNamespace(config=c, metrics=metrics) for k, c in configs.items()}


def test_learner_and_ladder_settings():
    runs = _runs()
    got = tms_rl_macros.learner_macros(runs)
    assert got["tmsRlPpoLr"] == "10^{-3}" and got["tmsRlPpoMinibatch"] == "250"
    assert got["tmsRlPpoBatch"] == "1{,}000" and got["tmsRlSgdBatchLr"] == "0.05"
    assert got["tmsRlParams"] == 18  # W [2, 6] and b [6]
    ladder = tms_rl_macros.ladder_macros(runs)
    assert ladder["tmsRlDriftProbs"] == "$(1,1,1,1,4,4)/12$"
    assert ladder["tmsRlFeedbackUniform"] == "1/3"  # 2 of 6 features unused by a 4-gon
    assert (ladder["tmsRlDriftStart"], ladder["tmsRlDriftEnd"]) == ("0.25", "0.5")


def test_llc_settings_kink_and_polishing():
    settings = {
        "llc": {"nbeta": 2000.0, "localization": 30.0, "chains": 4, "draws": 400, "burnin": 200},
        "llc_n": 5000,
        "tol": 0.2,
        "min_shift": {"loss": 0.0023, "llc": 0.5},
        "polish": {"steps": 500, "lr": 0.2},
    }
    learner = TMSRLConfig(**TMS_LEARNERS["reinforce"])
    got = tms_rl_macros.llc_setting_macros(settings, learner, epoch_contexts=1000)
    # 4-gon minus 4+-gon loss: 1/9 - (1/9 - 1/144) (theory/tms_rl.md), worth 2000/144 = 13.9
    assert got["tmsRlKinkDrop"] == "1/144" and got["tmsRlKinkLlc"] == "14"
    # polishing: 500 steps x 0.2 = 100; an epoch: 5 batches x 0.05 = 0.25
    assert got["tmsRlPolishEpochs"] == "400"
    assert got["tmsRlTolFactor"] == "1.22" and got["tmsRlLlcN"] == "5{,}000"
    assert got["tmsRlShiftPenalty"] == "3" and got["tmsRlNullDraws"] == 999
    assert got["tmsRlKgonZeroBias"] == "$-1$"


def test_trajectory_numbers():
    rows = []
    for run in ("reinforce_random", "ppo_random", "reinforce_4gon", "ppo_4gon", "ladder_drift"):
        for seed, shift in ((0, 0.0), (1, 2.0), (2, 4.0)):
            for step in (1, 2):
                rows += [
                    (run, seed, step, "llc/oracle", -100.0 * (3 - step) + shift),
                    (run, seed, step, "llc/oracle corrected", 50.0 * step + shift),
                    (run, seed, step, "llc/action", 6.0 + step + shift),
                    (run, seed, step, "first-order/oracle polished", -step - shift),
                ]
    llc = pd.DataFrame(rows, columns=["run", "seed", "step", "measure", "value"])
    metrics = pd.DataFrame(
        {"seed": [0, 1, 0], "step": [0, 0, 5], "measure": "loss/population", "value": [0.2, 1.1, 9]}
    )
    labels = {"reinforce_random": "R", "ppo_random": "P"}
    stats = pd.DataFrame({"learner": ["R", "P"], "jump epochs": ["3, 40", "12"]})
    got = tms_rl_macros.trajectory_macros(llc, _runs(metrics), stats, labels)
    assert got["tmsRlLlcCheckpoints"] == 2
    assert got["tmsRlReinforceRandomFirstLlcOracle"] == "-198"  # median over seeds at step 1
    assert got["tmsRlRandomCorrectedMax"] == "102"
    assert (got["tmsRlActionLlcLo"], got["tmsRlActionLlcHi"]) == ("9", "10")
    assert (got["tmsRlRandomStartLossLo"], got["tmsRlRandomStartLossHi"]) == ("0.2", "1.1")
    assert got["tmsRlRandomLastJump"] == "40"
    assert got["tmsRlLadderDriftMinFirstOrderPolished"] == "-4"  # seeds' minima -2, -4, -6
