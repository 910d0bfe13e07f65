"""Local learning coefficient (LLC) of any torch model on any dataset with a per-sample loss.

Public API:
    estimate, estimate_many, SamplerSettings, LLCResult,      (vectorized SGLD chains, one
    ChainDivergedError, default_nbeta                          model or K checkpoints)
    calibrate, calibrate_datasets, select_setting,            (hyperparameter sweeps)
    plot_calibration, plot_traces
    LLCData, TensorData, regression_data, classification_data (the data protocol)
    subset_data, SubsetData                                   (data-refined LLC; weight-refined:
                                                               estimate(..., params=[...]))
    rollout_dataset, StateBuffer, policy_states, uniform_states (datasets from rollouts)
"""

from devrl.llc.calibrate import (
    calibrate,
    calibrate_datasets,
    plot_calibration,
    plot_traces,
    select_setting,
)
from devrl.llc.chains import ChainDivergedError, per_sample_losses
from devrl.llc.data import (
    ClassificationData,
    LLCData,
    RegressionData,
    SubsetData,
    TensorData,
    classification_data,
    regression_data,
    subset_data,
)
from devrl.llc.datasets import (
    ActionLikelihoodData,
    PolicyKLData,
    RegretData,
    ValueData,
    vmap_safe,
)
from devrl.llc.estimator import estimate, estimate_many
from devrl.llc.result import LLCResult, split_rhat
from devrl.llc.rollout_data import rollout_dataset
from devrl.llc.settings import SamplerSettings, default_nbeta
from devrl.llc.states import StateBuffer, policy_states, uniform_states

__all__ = [
    "ActionLikelihoodData",
    "ChainDivergedError",
    "ClassificationData",
    "LLCData",
    "LLCResult",
    "PolicyKLData",
    "RegressionData",
    "RegretData",
    "SamplerSettings",
    "StateBuffer",
    "SubsetData",
    "TensorData",
    "ValueData",
    "calibrate",
    "calibrate_datasets",
    "classification_data",
    "default_nbeta",
    "estimate",
    "estimate_many",
    "per_sample_losses",
    "plot_calibration",
    "plot_traces",
    "policy_states",
    "regression_data",
    "rollout_dataset",
    "select_setting",
    "split_rhat",
    "subset_data",
    "uniform_states",
    "vmap_safe",
]
