"""Planted-truth validation: the true form wins model selection; intervals cover.

Fast versions run by default; the Monte-Carlo versions are marked slow. Numbers
measured at scale (experiments/forms_validation.py) are in theory/forms.md.

Stated conditions: 64 checkpoints log-spaced over [1, 1e4], Gaussian noise with
sd = curve range / SNR, reference parameters devrl.forms.synthetic.TRUTH, all
DEFAULT_FORMS competing. Selection by BIC is asserted for every form at SNR 100.
Selection by AICc is asserted only where it can reach 90%: for forms nested
below a richer candidate (constant in linear, logistic_log in double_logistic,
piecewise1 in piecewise2) AICc keeps the richer form in 10-45% of cases at any
SNR (theory/forms.md, Claim 1.2), a property of AICc, not of the fitter.
"""

import numpy as np
import pytest
from scipy import stats

from devrl.forms import fit
from devrl.forms.synthetic import TRUTH, checkpoints, summarize, validate_form

# Forms whose selection by AICc is asserted, with the SNR at which it is.
AICC_STATED = {"exp": 100, "logistic": 50, "double_logistic": 20, "power": 100, "piecewise2": 20}
BIC_SNR = 100


def test_profile_interval_coverage_is_exact_for_a_linear_model():
    # For a model linear in its parameters the profile interval equals the exact t
    # interval: coverage must be 95% up to Monte-Carlo error (binomial sd ~2% at 120).
    rng = np.random.default_rng(0)
    t = np.linspace(1.0, 100.0, 20)
    hits = []
    for _ in range(60):
        res = fit(t, 1.0 + 0.02 * t + rng.normal(0, 0.3, t.size), "linear", ci="profile")
        hits += [res.ci["a"][0] <= 1.0 <= res.ci["a"][1], res.ci["b"][0] <= 0.02 <= res.ci["b"][1]]
    assert 0.9 <= np.mean(hits) <= 0.99


@pytest.mark.parametrize("form", ["power", "double_logistic"])
def test_true_form_wins_small_monte_carlo(form):
    rivals = ("exp", "logistic_log", "double_logistic", "power", "piecewise2")
    runs = validate_form(form, snr=50, reps=4, seed=1, ci=None, candidates=rivals)
    assert (runs["winner_aicc"] == form).sum() >= 3


# Measured shortfalls, documented in theory/forms.md section 4 (not hidden by loosening
# the thresholds): with all nine forms competing, the constant wins by BIC in 0.92 of
# 130 curves pooled, so a 40-curve run can land below 0.90 (seed 2: 0.85); the hinge
# likelihood of piecewise1 is not smooth and its profile intervals under-cover
# (0.87-0.93 pooled over parameters, slope change c1 down to 0.82).
_KNOWN_SHORT = {
    "constant": "BIC selection 0.92 pooled over 130 curves; 0.85 at this seed",
    "piecewise1": "profile coverage 0.87-0.93 (non-smooth hinge likelihood)",
}
BIC_FORMS = [
    pytest.param(f, marks=pytest.mark.xfail(reason=_KNOWN_SHORT[f], strict=False))
    if f in _KNOWN_SHORT
    else f
    for f in TRUTH
]


@pytest.mark.slow
@pytest.mark.parametrize("form", BIC_FORMS)
def test_selection_by_bic_and_coverage_monte_carlo(form):
    runs = validate_form(form, snr=BIC_SNR, reps=40, seed=2)
    s = summarize(runs).iloc[0]
    assert s["acc_bic"] >= 0.9, s.to_dict()
    # Coverage: pooled over parameters at least 0.87, and no parameter's coverage
    # inconsistent with 95% (two-sided binomial test over the 40 replicates, p > 0.001:
    # catches both under- and over-coverage without failing on Monte-Carlo noise).
    assert s["coverage"] >= 0.87, s.to_dict()
    for col in [c for c in runs.columns if c.startswith("cover_")]:
        hits = runs[col].dropna()
        assert stats.binomtest(int(hits.sum()), len(hits), 0.95).pvalue > 1e-3, (col, s.to_dict())


@pytest.mark.slow
@pytest.mark.parametrize("form", list(AICC_STATED))
def test_selection_by_aicc_monte_carlo(form):
    runs = validate_form(form, snr=AICC_STATED[form], reps=40, seed=3, ci=None)
    assert (runs["winner_aicc"] == form).mean() >= 0.9


@pytest.mark.slow
def test_aicc_false_inclusion_matches_theory_for_nested_forms():
    # constant vs linear: AICc picks the constant with probability ~P(chi2_1 < 2) = 0.84.
    rng = np.random.default_rng(3)
    t = checkpoints(64)
    wins = 0
    for _ in range(300):
        y = 1.0 + rng.normal(0, 0.05, t.size)
        wins += fit(t, y, "constant", ci="none").aicc < fit(t, y, "linear", ci="none").aicc
    assert 0.78 <= wins / 300 <= 0.90
