"""The result of one LLC estimate, with the chain-health diagnostics that come with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# Health thresholds (heuristics, documented in theory/llc.md): a chain set is
# "healthy" when the chains agree, the trace is flat, and few draws fall below w*.
RHAT_MAX = 1.1
DRIFT_MAX = 0.1  # |change of the λ-scaled trace over the second half| / max(|λ̂|, 1)
BELOW_INIT_MAX = 0.2


def split_rhat(traces: np.ndarray) -> float:
    """Split-R̂ (Gelman et al., BDA3 §11.4) of ``traces`` [chains, draws].

    Each chain is cut in two halves, so that drift within a chain shows up as
    disagreement between halves. Values near 1 mean the chains mix; > 1.1 is poor.

    Args:
        traces: Array [chains, draws] of any scalar summary (here the loss).

    Returns:
        R̂ (NaN when fewer than 4 draws).
    """
    traces = np.asarray(traces, dtype=np.float64)
    half = traces.shape[1] // 2
    if half < 2:
        return float("nan")
    split = np.concatenate([traces[:, :half], traces[:, -half:]], axis=0)  # [2C, half]
    within = split.var(axis=1, ddof=1).mean()
    between = half * split.mean(axis=1).var(ddof=1)
    if within <= 0:
        return float("nan") if between <= 0 else float("inf")
    var_hat = (half - 1) / half * within + between / half
    return float(np.sqrt(var_hat / within))


def second_half_drift(llc_traces: np.ndarray) -> np.ndarray:
    """Per-chain change of the λ-scaled trace over the second half of the draws.

    An OLS slope fitted to each chain's second half, times its length: how far the
    trace still moved (in LLC units) when it should have been flat.

    Args:
        llc_traces: Array [chains, draws] of nβ·(L_t − L(w*)).

    Returns:
        Array [chains] of drifts in LLC units (NaN when fewer than 4 draws).
    """
    y = np.asarray(llc_traces, dtype=np.float64)
    y = y[:, y.shape[1] // 2 :]
    if y.shape[1] < 2:
        return np.full(y.shape[0], np.nan)
    t = np.arange(y.shape[1], dtype=np.float64)
    t -= t.mean()
    slope = (y - y.mean(axis=1, keepdims=True)) @ t / (t @ t)
    return slope * y.shape[1]


@dataclass
class LLCResult:
    """One LLC estimate: λ̂ = nβ · (mean loss after burn-in − loss at w*), per chain.

    Attributes:
        mean: λ̂ averaged over chains.
        std: Standard deviation of the per-chain estimates (ddof=1; NaN for one chain).
        stderr: ``std / sqrt(chains)``.
        per_chain: Per-chain estimates [chains].
        init_loss: Loss at the starting point w*, averaged over the whole dataset.
        loss_trace: Minibatch loss of each chain at each step, burn-in included
            [chains, burnin + draws].
        ref_trace: Loss at w* on the same minibatches [chains, burnin + draws]; the
            estimate pairs each draw with it (same expectation as ``init_loss``,
            without the minibatch noise).
        mean_unpaired: λ̂ computed against ``init_loss`` instead (the textbook form).
        rhat: Split-R̂ across chains of the post-burn-in paired traces L_t − L_t(w*).
        drift: Change of the λ-scaled trace over the second half of the draws
            (mean over chains); ``drift_se`` is its standard error across chains.
        frac_below_init: Fraction of post-burn-in draws with loss below w*'s loss on
            the same minibatch.
        config: The hyperparameters and sizes of the run.
        seconds: Wall time of the sampling loop.
    """

    mean: float
    std: float
    stderr: float
    per_chain: np.ndarray
    init_loss: float
    loss_trace: np.ndarray
    ref_trace: np.ndarray
    mean_unpaired: float
    rhat: float
    drift: float
    drift_se: float
    frac_below_init: float
    config: dict[str, Any] = field(default_factory=dict)
    seconds: float = float("nan")

    @property
    def burnin(self) -> int:
        return int(self.config.get("burnin", 0))

    @property
    def llc_trace(self) -> np.ndarray:
        """nβ · (L_t − L_t(w*)) per chain and step, burn-in included [chains, steps]."""
        return float(self.config["nbeta"]) * (self.loss_trace - self.ref_trace)

    @property
    def chain_steps_per_second(self) -> float:
        return self.loss_trace.size / self.seconds if self.seconds > 0 else float("nan")

    @property
    def problems(self) -> list[str]:
        """Human-readable reasons the chains look unhealthy (empty when healthy)."""
        out = []
        if np.isfinite(self.rhat) and self.rhat > RHAT_MAX:
            out.append(f"split R-hat {self.rhat:.2f} > {RHAT_MAX} (chains disagree)")
        big = abs(self.drift) > DRIFT_MAX * max(abs(self.mean), 1.0)
        significant = not np.isfinite(self.drift_se) or abs(self.drift) > 3 * self.drift_se
        if np.isfinite(self.drift) and big and significant:
            out.append(
                f"trace still drifting by {self.drift:.3g} ± {self.drift_se:.2g} over the "
                "second half (more burn-in/draws, larger lr or localization)"
            )
        if self.frac_below_init > BELOW_INIT_MAX:
            out.append(
                f"{self.frac_below_init:.0%} of draws below the loss at w* "
                "(w* is not a local minimum at this scale, or lr too large)"
            )
        if self.mean < 0:
            out.append("negative estimate (w* is not a local minimum of the sampled loss)")
        return out

    @property
    def healthy(self) -> bool:
        return not self.problems

    def health_warning(self) -> str | None:
        """A message naming what is wrong with the chains and how to fix it (None if healthy).

        What :func:`devrl.llc.estimate` warns with; the fixes are the usual ones for each
        symptom (theory/llc.md), and :func:`devrl.llc.calibrate` finds a setting that works.
        """
        problems = self.problems
        if not problems:
            return None
        fixes = []
        if np.isfinite(self.rhat) and self.rhat > RHAT_MAX:
            fixes.append("more draws and burn-in, or a larger lr so the chains mix")
        if self.frac_below_init > BELOW_INIT_MAX or self.mean < 0:
            fixes.append("a smaller lr or a larger localization")
        cfg = self.config
        fixes.append("devrl.llc.calibrate(model, data, lrs, nbetas) to sweep the settings")
        return (
            f"unhealthy LLC estimate {self.mean:.3g} (lr={cfg.get('lr')}, "
            f"nbeta={cfg.get('nbeta')}, localization={cfg.get('localization')}, "
            f"chains={len(self.per_chain)}, draws={cfg.get('draws')}): "
            + "; ".join(problems)
            + ". Try "
            + "; ".join(fixes)
            + "."
        )

    def to_row(self) -> dict[str, Any]:
        """A flat dict: the estimate, its diagnostics, and the hyperparameters."""
        return {
            "llc": self.mean,
            "llc_std": self.std,
            "llc_stderr": self.stderr,
            "llc_unpaired": self.mean_unpaired,
            "init_loss": self.init_loss,
            "rhat": self.rhat,
            "drift": self.drift,
            "drift_se": self.drift_se,
            "frac_below_init": self.frac_below_init,
            "healthy": self.healthy,
            "seconds": self.seconds,
            **self.config,
        }

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of ``to_row()``."""
        return pd.DataFrame([self.to_row()])

    def __repr__(self) -> str:
        cfg = self.config
        return (
            f"LLCResult(llc={self.mean:.4g} ± {self.std:.2g} (std over {len(self.per_chain)} "
            f"chains), init_loss={self.init_loss:.4g}, rhat={self.rhat:.3f}, "
            f"drift={self.drift:.3g}±{self.drift_se:.2g}, below_init={self.frac_below_init:.2f}, "
            f"lr={cfg.get('lr')}, nbeta={cfg.get('nbeta')}, "
            f"localization={cfg.get('localization')}, sampler={cfg.get('sampler')!r})"
        )


def summarize(
    loss_trace: np.ndarray,
    ref_trace: np.ndarray,
    init_loss: float,
    config: dict[str, Any],
    seconds: float,
) -> LLCResult:
    """Build an ``LLCResult`` from raw traces; burn-in (``config['burnin']``) is excluded.

    Args:
        loss_trace: Minibatch losses [chains, burnin + draws].
        ref_trace: Loss at w* on the same minibatches [chains, burnin + draws].
        init_loss: Full-data loss at w*.
        config: Hyperparameters; needs ``nbeta`` and ``burnin``.
        seconds: Wall time of sampling.

    Returns:
        The result with estimates and diagnostics.
    """
    nbeta = float(config["nbeta"])
    burnin = int(config["burnin"])
    post = loss_trace[:, burnin:]
    diff = post - ref_trace[:, burnin:]  # [C, draws]
    per_chain = nbeta * diff.mean(axis=1)
    chains = len(per_chain)
    std = float(per_chain.std(ddof=1)) if chains > 1 else float("nan")
    drifts = second_half_drift(nbeta * diff)
    return LLCResult(
        mean=float(per_chain.mean()),
        std=std,
        stderr=std / np.sqrt(chains) if chains > 1 else float("nan"),
        per_chain=per_chain,
        init_loss=float(init_loss),
        loss_trace=loss_trace,
        ref_trace=ref_trace,
        mean_unpaired=float(nbeta * (post.mean() - init_loss)),
        rhat=split_rhat(diff),
        drift=float(drifts.mean()),
        drift_se=float(drifts.std(ddof=1) / np.sqrt(chains)) if chains > 1 else float("nan"),
        frac_below_init=float((diff < 0).mean()),
        config=dict(config),
        seconds=float(seconds),
    )
