"""Measures: functions ``(policy, context) -> value(s)`` that :func:`devrl.track.track` evaluates.

Public API:
    Context, Measure, MEASURES, register_measure, get_measure   (``devrl.measures.base``)
    evaluation_episodes, state_buffer      what one checkpoint's measures share
    LLC_DEFAULTS, NBETA, NBETA_REGRET, EPISODES                  (``devrl.measures.defaults``)

Built-in measures, registered on import: behaviour (``return``, ``success``, ``corner``,
``length``, ``regret``, ``entropy``, ``state-regret``; :mod:`devrl.measures.behaviour`)
LLCs (``llc-action``, ``llc-kl``, ``llc-value``, ``llc-regret``;
:mod:`devrl.measures.llc`), the policy's Fisher spectrum and weight norm (``fisher``,
``weight-norm``; :mod:`devrl.measures.fisher`), change since the previous checkpoint
(``weight-distance``, ``policy-kl``, ``state-entropy``; :mod:`devrl.measures.drift`) and the toy model of superposition's (``population-loss``,
``polygon``; :mod:`devrl.measures.tms`) and which goal a maze agent pursues
(``decision-cheese``, ``corner-first``, ``success-vs-corner``;
:mod:`devrl.measures.decision`) and its shards (``choice-regression``, ``cheese-vector``,
``cheese-channels``; :mod:`devrl.measures.shards`) and look-ahead (``lookahead``;
:mod:`devrl.measures.lookahead`). Add a measure with :func:`register_measure` in a module
of its own here, or from your own code.
"""

from devrl.measures import behaviour, decision, drift, fisher, llc, lookahead, shards, tms  # noqa: F401  (register the built-in measures)
from devrl.measures.base import (
    DEFAULT_MEASURE_SEED,
    MEASURES,
    Context,
    Measure,
    MeasureFn,
    as_measure,
    get_measure,
    register_measure,
)
from devrl.measures.defaults import (
    DECISION_LEVELS,
    EPISODES,
    LLC_DEFAULTS,
    NBETA,
    NBETA_REGRET,
    STATE_SAMPLES,
)
from devrl.measures.llc import uniform_llc
from devrl.measures.shared import evaluation_episodes, state_buffer

__all__ = [
    "DECISION_LEVELS",
    "DEFAULT_MEASURE_SEED",
    "EPISODES",
    "LLC_DEFAULTS",
    "MEASURES",
    "NBETA",
    "NBETA_REGRET",
    "STATE_SAMPLES",
    "Context",
    "Measure",
    "MeasureFn",
    "as_measure",
    "evaluation_episodes",
    "get_measure",
    "register_measure",
    "state_buffer",
    "uniform_llc",
]
