"""Number macros of the TMS reinforcement section's prose: its settings and the numbers it
reads off the LLC trajectories (experiments/tms_rl.py).

Each value comes from the saved data: the batches' configs (``config.json`` of each run),
``settings.json`` (the LLC, detector and polishing settings the run used), ``llc.csv.gz``
and the transitions table, or, for the detector's fixed parts (penalty, null draws, test
level), from the defaults of the code that computed ``detection.csv``. So the quick paper's
prose states the quick run's settings, and no number is typed twice.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from fractions import Fraction

import numpy as np
import pandas as pd

from devrl.forms.changes import level_shifts
from devrl.forms.detection import detection_table
from devrl.llc.geometry import kgon_llc
from devrl.paper.script import number_latex
from devrl.paper.tms import power_latex
from devrl.paper.tms_panels import SYMLOG_LINEAR
from devrl.theory.tms import kgon_critical_points

__all__ = ["ladder_macros", "learner_macros", "llc_setting_macros", "trajectory_macros"]


def _g(x: float) -> str:
    return f"{x:g}"


def _default(function, name: str):
    return inspect.signature(function).parameters[name].default


def learner_macros(runs: Mapping, prefix: str = "tmsRl") -> dict:
    """Batch, rate and PPO settings of each learner, σ, the initial noise, the SGD control's
    batch and rate, and the model's parameter count (``runs``: run name -> TMSResult)."""
    rl, ppo, online = (runs[k].config for k in ("reinforce_4gon", "ppo_4gon", "online_4gon"))
    sgd = runs["sgd_batch"].config
    return {
        f"{prefix}ReinforceBatch": number_latex(rl.batch),
        f"{prefix}ReinforceLr": _g(rl.lr),
        f"{prefix}OnlineBatch": number_latex(online.batch),
        f"{prefix}OnlineLr": _g(online.lr),
        f"{prefix}PpoBatch": number_latex(ppo.batch),
        f"{prefix}PpoMinibatch": number_latex(ppo.minibatch),
        f"{prefix}PpoUpdateEpochs": ppo.ppo_epochs,
        f"{prefix}PpoClip": _g(ppo.clip),
        f"{prefix}PpoLr": power_latex(ppo.lr),
        f"{prefix}Sigma": _g(rl.sigma),
        f"{prefix}InitNoise": _g(rl.init_noise),
        f"{prefix}SgdBatchBatch": number_latex(sgd.batch_size),
        f"{prefix}SgdBatchLr": _g(sgd.lr),
        f"{prefix}Params": rl.m * rl.c + rl.c,  # W [m, c] and b [c]
    }


def ladder_macros(runs: Mapping, prefix: str = "tmsRl") -> dict:
    """The rungs' settings: reward noise, the drift's target frequencies and ramp, and the
    uniform share of the features a 4-gon leaves unrepresented (the feedback rung's null)."""
    noise, drift = runs["ladder_noise"].config, runs["ladder_drift"].config
    probs = [Fraction(p).limit_denominator(1000) for p in drift.drift_probs]
    scale = math.lcm(*(p.denominator for p in probs))
    ints = [int(p * scale) for p in probs]
    c = runs["ladder_feedback"].config.c
    return {
        f"{prefix}LadderNoiseStd": _g(noise.reward_noise),
        f"{prefix}DriftProbs": f"$({','.join(map(str, ints))})/{sum(ints)}$",
        f"{prefix}DriftStart": _g(drift.drift_start),
        f"{prefix}DriftEnd": _g(drift.drift_end),
        f"{prefix}FeedbackUniform": str(Fraction(c - 4, c)),  # a 4-gon leaves c - 4 unused
    }


def llc_setting_macros(
    settings: Mapping, learner, epoch_contexts: float, prefix: str = "tmsRl"
) -> dict:
    """The trajectory LLC's sampler and data, the detector (tolerance, smallest shift,
    penalty, null draws) and the polishing under drift, from ``settings.json``; the
    loss a zero column at its kink gains by switching on (4-gon minus 4⁺-gon) and its LLC
    worth at the trajectories' nβ; the bias of the exact 5-gon's zero column.

    Args:
        settings: settings.json of the run.
        learner: the config of the learner whose training epochs measure polishing
            (REINFORCE: its gradient-flow time per epoch is lr x epoch_contexts / batch).
        epoch_contexts: contexts per training epoch.
    """
    llc, polish = settings["llc"], settings["polish"]
    c = learner.c
    flow = polish["steps"] * polish["lr"]  # gradient-flow time of polishing
    epoch_flow = learner.lr * epoch_contexts / learner.batch
    levels = kgon_critical_points(c, ("4", "4+"))
    drop = Fraction(levels["4"].loss - levels["4+"].loss).limit_denominator(10_000)
    return {
        f"{prefix}LlcN": number_latex(settings["llc_n"]),
        f"{prefix}LlcNbeta": number_latex(llc["nbeta"]),
        f"{prefix}LlcLocalization": _g(llc["localization"]),
        f"{prefix}LlcChains": llc["chains"],
        f"{prefix}LlcDraws": number_latex(llc["draws"]),
        f"{prefix}LlcBurnin": number_latex(llc["burnin"]),
        f"{prefix}Tol": _g(settings["tol"]),
        f"{prefix}TolFactor": f"{math.exp(settings['tol']):.3g}",
        f"{prefix}MinShiftLoss": _g(settings["min_shift"]["loss"]),
        f"{prefix}MinShiftLlc": _g(settings["min_shift"]["llc"]),
        f"{prefix}ShiftPenalty": _g(_default(level_shifts, "penalty")),
        f"{prefix}NullDraws": _default(detection_table, "n_null"),
        f"{prefix}PolishSteps": polish["steps"],
        f"{prefix}PolishLr": _g(polish["lr"]),
        f"{prefix}PolishEpochs": f"{flow / epoch_flow:.0f}",
        f"{prefix}KinkDrop": str(drop),
        f"{prefix}KinkLlc": f"{llc['nbeta'] * float(drop):.2g}",
        f"{prefix}SymlogLinear": _g(SYMLOG_LINEAR),  # the LLC figure's axis
        # the bias kgon_llc gives the 5-gon's zero column (deep in its flat region)
        f"{prefix}KgonZeroBias": f"${_default(kgon_llc, 'zero_bias'):g}$",
    }


def _median_curve(llc: pd.DataFrame, run: str, measure: str) -> pd.Series:
    d = llc[(llc.run == run) & (llc.measure == measure)]
    return d.groupby("step").value.median()


def trajectory_macros(
    llc: pd.DataFrame, runs: Mapping, stats: pd.DataFrame, labels: Mapping[str, str], prefix="tmsRl"
) -> dict:
    """Numbers the prose reads off the trajectories.

    LLC checkpoints per seed (median); from random initialisation the first loss (median,
    least, largest), the oracle
    LLC at the first checkpoint and the largest corrected oracle LLC (medians over seeds) and
    the last jump (epoch); the range of the action LLC's median curve from the 4-gon; under
    drift the most negative first-order term after polishing (median over seeds); and the

    Args:
        llc: llc.csv.gz (run, seed, step, measure, value).
        runs: run name -> TMSResult.
        stats: the transitions table (learner, epochs, jump epochs, ...).
        labels: run name -> its learner label in ``stats``.
    """
    random = [r for r in ("reinforce_random", "ppo_random") if r in runs]
    start = [
        runs[r].metrics.query("measure == 'loss/population' and step == 0").value for r in random
    ]
    rows = stats.set_index("learner")
    jumps = [float(e) for r in random for e in str(rows.loc[labels[r], "jump epochs"]).split(", ")]
    action = pd.concat(
        [_median_curve(llc, r, "llc/action") for r in ("reinforce_4gon", "ppo_4gon")]
    )
    first = {r: _median_curve(llc, r, "llc/oracle") for r in random}
    corrected = max(_median_curve(llc, r, "llc/oracle corrected").max() for r in random)
    polished = llc[(llc.run == "ladder_drift") & (llc.measure == "first-order/oracle polished")]
    out = {
        f"{prefix}LlcCheckpoints": int(llc.groupby(["run", "seed"]).step.nunique().median()),
        f"{prefix}RandomStartLoss": f"{np.median(pd.concat(start)):.2g}",
        f"{prefix}RandomStartLossLo": f"{pd.concat(start).min():.2g}",
        f"{prefix}RandomStartLossHi": f"{pd.concat(start).max():.2g}",
        f"{prefix}RandomLastJump": number_latex(round(max(jumps))) if jumps else "n/a",
        f"{prefix}RandomCorrectedMax": f"{corrected:.0f}",
        f"{prefix}ActionLlcLo": f"{action.min():.2g}",
        f"{prefix}ActionLlcHi": f"{action.max():.2g}",
        f"{prefix}LadderDriftMinFirstOrderPolished": (
            f"{polished.groupby('seed').value.min().median():.0f}" if len(polished) else "n/a"
        ),
    }
    for r, curve in first.items():
        word = "".join(p.capitalize() for p in r.split("_"))
        out[f"{prefix}{word}FirstLlcOracle"] = f"{curve.iloc[0]:.0f}"
    return out
