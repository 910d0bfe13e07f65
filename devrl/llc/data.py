"""Datasets for LLC estimation: anything with `n` samples and a per-sample loss.

The LLC is defined for a model and a dataset with a per-sample negative
log-likelihood. Supervised data (regression, classification) and the RL datasets
built from rollouts (action likelihood, policy KL, value regression, regret) all
implement the same small protocol, so every ground truth runs through the same
code path as the agents we measure.

The dataset, not the estimator, owns how a model's forward output becomes a loss:
an actor-critic returns ``(logits, value)``; an action-likelihood dataset reads the
logits, a value dataset reads the value.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

Forward = Callable[..., Any]
"""``forward(*inputs) -> output``: the model evaluated at one chain's parameters."""


class LLCData(ABC):
    """A dataset of ``n`` samples with a per-sample loss.

    Subclasses implement ``n``, ``batch`` and ``loss``. The estimator draws index
    minibatches, calls ``batch(indices)`` once for all chains, and evaluates
    ``loss(forward, batch)`` for each chain under ``torch.func.vmap``. So ``loss``
    must be vmappable: pure tensor code, no ``.item()``, no data-dependent Python
    control flow, no randomness (the loss of a sample at fixed parameters must be
    deterministic; the estimator relies on it to pair each draw with the loss at
    the starting point on the same minibatch).

    Implementations must keep the loss a negative log-likelihood (up to a constant)
    summed over a sample's outputs and averaged over nothing: the LLC is
    ``nβ · E[L_n(w) - L_n(w*)]`` with ``L_n`` the mean of these per-sample losses.
    """

    @property
    @abstractmethod
    def n(self) -> int:
        """Number of samples."""

    @abstractmethod
    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Tensors of the samples at ``indices`` ([k] int64); each with leading dim k."""

    @abstractmethod
    def loss(self, forward: Forward, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Per-sample loss ``[k]`` of the model ``forward`` on ``batch``."""

    def __len__(self) -> int:
        return self.n


class TensorData(LLCData):
    """Base for datasets held as aligned tensors; ``batch`` indexes each of them.

    Args:
        tensors: Tensors with the same leading dimension (the sample index).
    """

    def __init__(self, *tensors: torch.Tensor):
        if not tensors:
            raise ValueError("TensorData needs at least one tensor; got none.")
        lengths = {int(t.shape[0]) for t in tensors}
        if len(lengths) != 1:
            shapes = [tuple(t.shape) for t in tensors]
            raise ValueError(
                f"all tensors must share their first (sample) dimension; got shapes {shapes}."
            )
        if 0 in lengths:
            raise ValueError("the dataset is empty (0 samples); pass at least one sample.")
        self.tensors = tuple(tensors)

    @property
    def n(self) -> int:
        return int(self.tensors[0].shape[0])

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(torch.index_select(t, 0, indices.to(t.device)) for t in self.tensors)


def _first(output: Any) -> torch.Tensor:
    """The prediction of a model that returns either a tensor or a tuple (e.g. logits, value)."""
    return output[0] if isinstance(output, (tuple, list)) else output


class RegressionData(TensorData):
    """Per-sample loss ½‖y − f(x)‖², the unit-variance Gaussian negative
    log-likelihood (up to a constant).

    Args:
        x: Inputs ``[n, ...]``.
        y: Targets ``[n, ...]`` (``[n]`` for scalar outputs).
        output: Picks the prediction from the model output; default: the output itself,
            or its first element if the model returns a tuple.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        output: Callable[[Any], torch.Tensor] | None = None,
    ):
        super().__init__(x, y.float())
        self._output = output or _first

    def loss(self, forward: Forward, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x, y = batch
        pred = self._output(forward(x))
        if pred.shape != y.shape:
            pred = pred.reshape(y.shape)
        diff = (y - pred).reshape(y.shape[0], -1)  # [k, out]
        return 0.5 * (diff * diff).sum(dim=1)


class ClassificationData(TensorData):
    """Per-sample cross-entropy −log softmax(f(x))[y] of integer labels.

    Args:
        x: Inputs ``[n, ...]``.
        y: Integer class labels ``[n]``.
        output: Picks the logits from the model output; default: the output itself,
            or its first element if the model returns a tuple (e.g. an actor-critic's
            ``(logits, value)``).
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        output: Callable[[Any], torch.Tensor] | None = None,
    ):
        if y.dim() != 1 or y.dtype.is_floating_point:
            raise ValueError(
                f"classification labels must be a 1-d integer tensor [n]; got dtype {y.dtype} "
                f"and shape {tuple(y.shape)}. Pass class indices, not one-hot vectors."
            )
        super().__init__(x, y.long())
        self._output = output or _first

    def loss(self, forward: Forward, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x, y = batch
        logits = self._output(forward(x))  # [k, classes]
        logp = F.log_softmax(logits, dim=-1)
        return -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)


def regression_data(
    x: torch.Tensor, y: torch.Tensor, output: Callable[[Any], torch.Tensor] | None = None
) -> RegressionData:
    """Dataset with per-sample loss ½‖y − f(x)‖² (unit-variance Gaussian NLL).

    Args:
        x: Inputs ``[n, ...]``.
        y: Targets ``[n, ...]``.
        output: Optional selector of the prediction from the model output.

    Returns:
        A ``RegressionData`` implementing ``LLCData``.
    """
    return RegressionData(x, y, output)


def classification_data(
    x: torch.Tensor, y: torch.Tensor, output: Callable[[Any], torch.Tensor] | None = None
) -> ClassificationData:
    """Dataset with per-sample cross-entropy of the logits f(x) at labels y.

    Args:
        x: Inputs ``[n, ...]``.
        y: Integer labels ``[n]``.
        output: Optional selector of the logits from the model output.

    Returns:
        A ``ClassificationData`` implementing ``LLCData``.
    """
    return ClassificationData(x, y, output)


class SubsetData(LLCData):
    """The samples of ``data`` at ``indices``, with ``data``'s loss: a data-refined LLC.

    Why: the LLC of the loss restricted to a subset of inputs (decision squares, states near
    the goal) counts only the directions that subset's loss constrains. Build it with
    :func:`subset_data` or ``estimate(..., subset=...)``.
    """

    def __init__(self, data: LLCData, indices: torch.Tensor):
        self.data = data
        self.indices = indices

    @property
    def n(self) -> int:
        return int(self.indices.shape[0])

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.data.batch(self.indices[indices.to(self.indices.device)])

    def loss(self, forward: Forward, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.data.loss(forward, batch)


def subset_data(data: LLCData, subset: Any) -> SubsetData:
    """``data`` restricted to ``subset``: a boolean mask ``[n]`` or integer indices into it.

    Raises:
        TypeError: ``data`` is not an ``LLCData`` or ``subset`` is neither a mask nor indices.
        ValueError: a mask of the wrong length, an index out of range, or an empty subset.
    """
    if not isinstance(data, LLCData):
        raise TypeError(f"data must implement devrl.llc.LLCData; got {type(data).__name__}.")
    idx = torch.as_tensor(subset)
    if idx.dtype == torch.bool:
        if idx.shape != (data.n,):
            raise ValueError(
                f"a boolean subset must be a mask of shape [n={data.n}]; got {tuple(idx.shape)}."
            )
        idx = torch.nonzero(idx).squeeze(1)
    elif idx.dtype.is_floating_point or idx.dtype.is_complex or idx.dim() != 1:
        raise TypeError(
            f"subset must be a boolean mask [n] or 1-d integer indices; got dtype {idx.dtype} "
            f"and shape {tuple(idx.shape)}."
        )
    idx = idx.long()
    if idx.numel() == 0:
        raise ValueError("subset selects no samples; pass at least one.")
    if int(idx.min()) < 0 or int(idx.max()) >= data.n:
        raise ValueError(
            f"subset indices must lie in [0, n={data.n}); got {idx.min()}..{idx.max()}."
        )
    return SubsetData(data, idx)
