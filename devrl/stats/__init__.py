"""devrl.stats: nulls and intervals that every section's claims are stated with.

Intervals over seeds (:func:`bootstrap_ci`, the cluster bootstrap of a pooled ratio
:func:`ratio_ci`, the interquartile mean :func:`iqm`); tests against a null
(:func:`fisher_exact`, :func:`sign_test`, :func:`trend_test`, :func:`group_dependence`,
:func:`monte_carlo_p`, :func:`binomial_interval`); nulls for change-point detection scored
against known transitions (:func:`score_shifts` with random-time and circular-shift nulls,
:func:`permutation_null`), and two detectors on the same seeds compared
(:func:`f1_difference`, from :func:`shift_counts`); the seed-shuffle null of a per-seed
correlation (:func:`seed_shuffle_test`, :func:`pair_matrix`, :func:`spearman`). A claim is
stated as "estimate [95% CI], n seeds, null value".
"""

from devrl.stats.hypothesis import (
    Test,
    binomial_interval,
    fisher_exact,
    group_dependence,
    monte_carlo_p,
    sign_test,
    trend_test,
)
from devrl.stats.intervals import (
    Interval,
    bootstrap_ci,
    finite_t_interval,
    iqm,
    mean_interval,
    ratio_ci,
    seed_level_interval,
    t_interval,
    wilson,
)
from devrl.stats.pairing import pair_matrix, seed_shuffle_test, spearman
from devrl.stats.shift_nulls import (
    SeedShifts,
    ShiftScore,
    f1_difference,
    permutation_null,
    score_shifts,
    shift_counts,
)

__all__ = [
    "Interval",
    "SeedShifts",
    "ShiftScore",
    "Test",
    "binomial_interval",
    "bootstrap_ci",
    "f1_difference",
    "finite_t_interval",
    "fisher_exact",
    "group_dependence",
    "iqm",
    "mean_interval",
    "monte_carlo_p",
    "pair_matrix",
    "permutation_null",
    "ratio_ci",
    "score_shifts",
    "seed_level_interval",
    "seed_shuffle_test",
    "shift_counts",
    "sign_test",
    "spearman",
    "t_interval",
    "trend_test",
    "wilson",
]
