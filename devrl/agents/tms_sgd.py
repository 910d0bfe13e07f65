"""Supervised SGD on the toy model of superposition, many seeds at once (Chen et al. 2023).

The protocol of "Dynamical versus Bayesian phase transitions in a toy model of
superposition": n = 1000 fixed samples per run, batch 20, plain SGD with lr 0.005 for 4,500
epochs, starting at a 4-gon plus N(0, 0.01²) noise. Loss per sample ‖x − f(x)‖² (summed
over outputs), averaged over the batch.

All seeds train together as one batched tensor W [S, m, c], b [S, c] with hand-written
gradients (no autograd: a step is a dozen tiny tensor ops). Each seed owns its data,
initial noise and shuffling generator, so a seed's trajectory does not depend on which
other seeds run beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from devrl._config import check_numeric_fields, check_range
from devrl._progress import progress as _progress
from devrl.agents.tms_model import init_tms_params, tms_backward, tms_forward, tms_layers
from devrl.agents.tms_runs import TMSBatchConfig, TMSResult, snapshot_metrics
from devrl.envs.tms import sample_contexts
from devrl.theory.tms import population_loss_torch

__all__ = [
    "TMSSGDConfig",
    "jump_outcomes",
    "phase_sequences",
    "train_tms_sgd",
    "transition_summary",
]


def _f(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass
class TMSSGDConfig(TMSBatchConfig):
    """Settings of a batch of supervised TMS runs (defaults: Chen et al.'s protocol)."""

    trainer: ClassVar[str] = "tms_sgd"
    step_unit: ClassVar[str] = "SGD step (one minibatch of batch_size samples)"

    n_seeds: int = _f(16, "number of runs (seeds seed0 .. seed0 + n_seeds - 1)")
    seed0: int = _f(0, "first seed")
    c: int = _f(6, "number of features")
    m: int = _f(2, "hidden dimension")
    n_samples: int = _f(1000, "fixed training samples per run")
    batch_size: int = _f(20, "SGD batch size (must divide n_samples)")
    lr: float = _f(0.005, "SGD learning rate")
    epochs: int = _f(4500, "passes over the training samples")
    init: str = _f(
        "4gon",
        "'4gon' (unit square on features 0..3, other columns and biases 0) "
        "or 'random' (W ~ N(0, 1/m), b = 0)",
    )
    init_noise: float = _f(0.01, "std of Gaussian noise added to every initial parameter")
    init_seed: int = _f(
        -1, "seed of the initial noise, shared by every run (-1: each run draws its own)"
    )
    data_seed: int = _f(
        -1, "seed of the n fixed samples, shared by every run (-1: each run draws its own)"
    )
    samples: int = _f(
        0, "distinct fixed samples, cycled over the runs (0: one per run); with data_seed -1"
    )
    n_log_checkpoints: int = _f(100, "log-spaced checkpoint steps")
    n_linear_checkpoints: int = _f(100, "linearly spaced checkpoint steps")
    run: str = _f("tms_sgd", "run name written in the 'run' column")

    def __post_init__(self) -> None:
        check_numeric_fields(self)  # no bools for numbers (lr=True), no NaN/inf
        check_range("lr", self.lr, 0, 10, low_open=True)
        for name in ("n_seeds", "c", "m", "n_samples", "batch_size", "epochs"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}.")
        if self.n_samples % self.batch_size:
            raise ValueError(
                f"batch_size ({self.batch_size}) must divide n_samples ({self.n_samples}); "
                "pick e.g. batch_size=20 with n_samples=1000."
            )
        if self.init not in ("4gon", "random"):
            raise ValueError(f"init must be '4gon' or 'random', got {self.init!r}.")
        if self.init == "4gon" and (self.m != 2 or self.c < 4):
            raise ValueError("init='4gon' needs m = 2 and c >= 4; use init='random' otherwise.")
        if self.samples < 0:
            raise ValueError(f"samples must be >= 0, got {self.samples}.")
        if not self.lr > 0 or self.init_noise < 0:
            raise ValueError(f"need lr > 0 and init_noise >= 0; got {self.lr}, {self.init_noise}.")

    @property
    def data_seeds(self) -> list[int]:
        """The seed of each run's fixed sample (see ``data_seed`` and ``samples``)."""
        if self.data_seed >= 0:
            return [self.data_seed] * self.n_seeds
        if self.samples > 0:
            return [self.seed0 + i % self.samples for i in range(self.n_seeds)]
        return self.seeds

    @property
    def total_steps(self) -> int:
        return self.epochs * (self.n_samples // self.batch_size)

    def env_kwargs(self) -> dict[str, Any]:
        """The task's environment arguments (``TMSBandit``'s default distribution over c)."""
        return {"c": self.c}

    def metric_columns(self, metrics: pd.DataFrame) -> dict[str, Any]:
        """Config fields written as columns of the tidy metrics."""
        return {k: getattr(self, k) for k in ("c", "m", "n_samples", "batch_size", "lr", "init")}


def _train_loss(W: torch.Tensor, b: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Mean over samples of ‖x − f(x)‖²; W [S,m,c], b [S,c], X [S,n,c] -> [S]."""
    return ((tms_forward(W, b, X) - X) ** 2).sum(-1).mean(-1)


def train_tms_sgd(
    config: TMSSGDConfig, out: str | Path | None = None, progress: bool | None = None
) -> TMSResult:
    """Train ``config.n_seeds`` TMS runs with minibatch SGD, vectorised over seeds.

    Args:
        config: the protocol.
        out: if given, write one run per seed there (:func:`~devrl.agents.tms_runs.save_tms_runs`).
        progress: Progress over epochs (a bar on a terminal, a line every 30 s elsewhere);
            False silences it.

    Returns:
        Snapshots (W, b) at ``config.checkpoint_steps`` and tidy metrics with measures
        ``loss/train`` (on the run's n samples), ``loss/population`` (exact, closed form),
        ``polygon/k`` and ``polygon/n_plus`` (from :func:`classify_polygon`; NaN if 'other').
    """
    cfg = config
    S, n, B = cfg.n_seeds, cfg.n_samples, cfg.batch_size
    nb = n // B
    gens = [torch.Generator().manual_seed(int(s)) for s in cfg.seeds]
    X = torch.stack(
        [  # [S, n, c], one fixed dataset per seed (or one shared by all)
            torch.from_numpy(sample_contexts(n, np.random.default_rng([d, 1]), cfg.c))
            for d in cfg.data_seeds
        ]
    )
    # a shared init draws from its own generators, so each run's shuffling stays its own
    init_gens = (
        gens if cfg.init_seed < 0 else [torch.Generator().manual_seed(cfg.init_seed) for _ in gens]
    )
    W, b = init_tms_params(cfg.init, cfg.m, cfg.c, cfg.init_noise, init_gens)
    steps = cfg.checkpoint_steps
    W_snap = np.zeros((S, len(steps), cfg.m, cfg.c), dtype=np.float32)
    b_snap = np.zeros((S, len(steps), cfg.c), dtype=np.float32)
    train_losses = np.zeros((S, len(steps)))
    next_ckpt, step = 0, 0

    def record() -> None:
        nonlocal next_ckpt
        W_snap[:, next_ckpt], b_snap[:, next_ckpt] = W.numpy(), b.numpy()
        train_losses[:, next_ckpt] = _train_loss(W, b, X).numpy()
        next_ckpt += 1

    record()
    rows = torch.arange(S)[:, None]
    lr, scale = cfg.lr, 2.0 / B
    t0 = time.perf_counter()
    with torch.no_grad():
        for _ in _progress(
            range(cfg.epochs), "tms sgd", unit="epoch", leave=False, enabled=progress
        ):
            perm = torch.stack([torch.randperm(n, generator=g) for g in gens])  # [S, n]
            Xe = X[rows, perm].view(S, nb, B, cfg.c)
            for j in range(nb):
                x = Xe[:, j]  # [S, B, c]
                h, pre, f = tms_layers(W, b, x)  # [S, B, m], [S, B, c], [S, B, c]
                gW, gb = tms_backward(W, x, h, pre, (f - x) * scale)
                W -= lr * gW
                b -= lr * gb
                step += 1
                if next_ckpt < len(steps) and step == steps[next_ckpt]:
                    record()
    seconds = time.perf_counter() - t0

    pop = population_loss_torch(
        torch.as_tensor(W_snap, dtype=torch.float64), torch.as_tensor(b_snap, dtype=torch.float64)
    ).numpy()
    metrics = snapshot_metrics(
        cfg, steps, W_snap, b_snap, {"loss/train": train_losses, "loss/population": pop}
    )
    result = TMSResult(cfg, steps, W_snap, b_snap, metrics, seconds)
    if out is not None:
        result.save(out)
    return result


def phase_sequences(phases: pd.DataFrame, min_dwell: int = 3) -> pd.DataFrame:
    """Collapse each seed's phase track into its plateaus.

    A plateau is a phase held for at least ``min_dwell`` consecutive snapshots (shorter
    stretches, e.g. 'other' while the polygon reshapes, are dropped).

    Args:
        phases: output of :meth:`~devrl.agents.tms_runs.TMSResult.phases`.
        min_dwell: snapshots a phase must persist to count.

    Returns:
        One row per (seed, plateau): run, seed, order, phase, first_step, last_step.
    """
    out = []
    for (run, seed), df in phases.sort_values("step").groupby(["run", "seed"], sort=True):
        ph, st = df["phase"].to_numpy(), df["step"].to_numpy()
        starts = np.flatnonzero(np.r_[True, ph[1:] != ph[:-1]])
        ends = np.r_[starts[1:], len(ph)]
        order = 0
        for a, e in zip(starts, ends, strict=True):
            if e - a < min_dwell:
                continue
            if out and out[-1][1] == seed and out[-1][0] == run and out[-1][3] == ph[a]:
                out[-1][5] = int(st[e - 1])  # same phase again after a dropped blip
                continue
            out.append([run, seed, order, ph[a], int(st[a]), int(st[e - 1])])
            order += 1
    return pd.DataFrame(out, columns=["run", "seed", "order", "phase", "first_step", "last_step"])


def transition_summary(sequences: pd.DataFrame, steps_per_epoch: int) -> pd.DataFrame:
    """One row per seed: its plateau path, final phase, and when it left the 4-gon family.

    Args:
        sequences: output of :func:`phase_sequences`.
        steps_per_epoch: to report the jump in epochs as well as steps.

    Returns:
        Columns seed, path (e.g. '4 > 4+ > 5'), final, jumped (reached k >= 5),
        jump_step and jump_epoch (first step of the first k >= 5 plateau; NaN if none).
    """
    rows = []
    for seed, df in sequences.sort_values("order").groupby("seed"):
        big = df[pd.to_numeric(df["phase"].str.rstrip("+"), errors="coerce") >= 5]
        jump = float(big["first_step"].iloc[0]) if len(big) else float("nan")
        rows.append(
            {
                "seed": seed,
                "path": " > ".join(df["phase"]),
                "final": df["phase"].iloc[-1],
                "jumped": bool(len(big)),
                "jump_step": jump,
                "jump_epoch": jump / steps_per_epoch,
            }
        )
    return pd.DataFrame(rows)


def jump_outcomes(result: TMSResult, min_dwell: int = 3) -> pd.DataFrame:
    """One row per run of an SGD batch: what it was trained from, and whether it jumped.

    Why: to ask whether a jump out of the 4-gon family is decided by the fixed sample, the
    initialisation or the minibatch order, each run needs its (data, init, shuffle) seeds next
    to its outcome; the batch's snapshots are not needed afterwards.

    Returns:
        Columns run, seed (the shuffle's), data_seed, init_seed, n_samples, path, final,
        jumped, jump_epoch (NaN if it never reached a k >= 5 plateau).
    """
    cfg = result.config
    summ = transition_summary(
        phase_sequences(result.phases(), min_dwell), cfg.n_samples // cfg.batch_size
    )
    summ.insert(0, "run", cfg.run)
    data = dict(zip(cfg.seeds, cfg.data_seeds, strict=True))
    summ.insert(2, "data_seed", summ.seed.map(data))
    summ.insert(3, "init_seed", [s if cfg.init_seed < 0 else cfg.init_seed for s in summ.seed])
    summ.insert(4, "n_samples", cfg.n_samples)
    return summ.drop(columns=["jump_step"])
