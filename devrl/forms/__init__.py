"""devrl.forms: functional forms of quantities tracked over training.

Fit a form to a curve (:func:`fit`), rank forms (:func:`compare`; drop incomplete
rows first with :func:`drop_missing`), relate fitted parameters to environment
variables (:func:`effects`), and split a curve into developmental stages
(:func:`detect_stages`); rank forms of a final value against an environment variable
across runs (:func:`compare_across`) and time when a behaviour first appears
(:func:`onset_times`); find level shifts and score them against known transitions
(:func:`level_shifts`, :func:`match_transitions`, :func:`step_across`), and time the
steepest change of a curve and the lags between curves (:func:`steepest_change`,
:func:`change_lags`). Scoring the level shifts of TMS curves against the k-gon transitions
is in :mod:`devrl.forms.detection` (it reads TMS runs, so it is not imported here).
Mechanisms that would produce each form are in ``theory/forms.md``.
"""

from devrl.forms._problem import FitError
from devrl.forms.changes import (
    change_lags,
    level_shifts,
    match_transitions,
    robust_noise,
    steepest_change,
    step_across,
)
from devrl.forms.comparison import compare, compare_curves, drop_missing
from devrl.forms.dependence import FORMS_ACROSS, compare_across
from devrl.forms.effects import effects, fit_per_run
from devrl.forms.fitting import FitResult, fit
from devrl.forms.library import DEFAULT_FORMS, piecewise_linear
from devrl.forms.onset import halfway_onsets, onset_lags, onset_time, onset_times
from devrl.forms.plots import plot_comparison, plot_fit, plot_residuals
from devrl.forms.registry import Form, available_forms, get_form, register_form
from devrl.forms.stages import detect_stages, smooth_log_time, stage_boundaries

__all__ = [
    "DEFAULT_FORMS",
    "FORMS_ACROSS",
    "FitError",
    "FitResult",
    "Form",
    "available_forms",
    "change_lags",
    "compare",
    "compare_across",
    "compare_curves",
    "detect_stages",
    "drop_missing",
    "effects",
    "fit",
    "fit_per_run",
    "get_form",
    "halfway_onsets",
    "level_shifts",
    "match_transitions",
    "onset_lags",
    "onset_time",
    "onset_times",
    "piecewise_linear",
    "plot_comparison",
    "plot_fit",
    "plot_residuals",
    "register_form",
    "robust_noise",
    "smooth_log_time",
    "stage_boundaries",
    "steepest_change",
    "step_across",
]
