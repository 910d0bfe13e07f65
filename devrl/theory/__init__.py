"""Analytic results used by tests and the paper (learning coefficients, k-gon losses, ...)."""

from devrl.theory.kgon_free_energy import (
    laplace_constant,
    prior_constant,
    transition_sample_size,
)
from devrl.theory.learning_coefficients import (
    dln_lambda,
    regular_lambda,
    rrr_case,
    rrr_lambda,
    tabular_policy_lambda,
    tabular_value_lambda,
)
from devrl.theory.tms import (
    KGon,
    classify_polygon,
    critical_sample_size,
    kgon,
    kgon_critical_points,
    population_loss,
)

__all__ = [
    "KGon",
    "classify_polygon",
    "critical_sample_size",
    "dln_lambda",
    "kgon",
    "kgon_critical_points",
    "laplace_constant",
    "population_loss",
    "prior_constant",
    "regular_lambda",
    "rrr_case",
    "rrr_lambda",
    "tabular_policy_lambda",
    "tabular_value_lambda",
    "transition_sample_size",
]
