"""Linear probe for the cheese's exact cell: does a layer encode where the cheese is?

Scott Emmons asked (issue 12, item 6) whether a linear probe on some layer recovers the
exact cheese location with more than 90% accuracy. Here a multinomial logistic
regression (scikit-learn, L2, z-scored activations) is trained per layer to predict the
cheese's cell from the activations with the mouse at the start, on cheese-anywhere
levels, and scored on held-out levels against the majority-cell baseline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from devrl.envs.levels import mouse_start, observation
from devrl.hooks import run_with_cache
from devrl.mechanisms._probe import Level, default_layers
from devrl.stats.intervals import wilson


@torch.no_grad()
def cheese_probe(
    policy: nn.Module,
    levels: Iterable[Level],
    layers: Sequence[str] | None = None,
    *,
    test_size: float = 0.2,
    C: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Held-out accuracy of a linear probe for the cheese's cell, per layer.

    Args:
        policy: A maze agent with hook points.
        levels: ``(walls, cheese)`` pairs (cheese anywhere; no decision square needed).
        layers: Hook names (default: every hook point between input and heads).
        test_size: Share of levels held out.
        C: Inverse L2 strength of the probe.
        seed: Seeds the split.

    Returns:
        One row per layer: ``layer, features, accuracy, low, high`` (Wilson over the held-out
        levels), ``chance`` (the most frequent training cell's share of the test levels),
        ``train_accuracy``, ``cells`` (distinct cheese cells in training).
    """
    levels = list(levels)
    if len(levels) < 10:
        raise ValueError(f"levels must hold at least 10 levels to split, got {len(levels)}.")
    size = levels[0][0].shape[0]
    obs = torch.as_tensor(
        np.stack([observation(w, mouse_start(size), tuple(c)) for w, c in levels])
    ).float()
    y = np.array([int(c[0]) * size + int(c[1]) for _, c in levels])
    layers = default_layers(policy) if layers is None else list(layers)
    _, cache = run_with_cache(policy, obs, layers)
    train, test = train_test_split(np.arange(len(y)), test_size=test_size, random_state=seed)
    rows = []
    for name in layers:
        X = cache[name].flatten(1).double().numpy()  # [N, features]
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
        probe.fit(X[train], y[train])
        hits = int((probe.predict(X[test]) == y[test]).sum())
        acc, low, high = wilson(hits, len(test))
        values, counts = np.unique(y[train], return_counts=True)
        rows.append(
            {
                "layer": name,
                "features": X.shape[1],
                "accuracy": acc,
                "low": low,
                "high": high,
                "chance": float((y[test] == values[counts.argmax()]).mean()),
                "train_accuracy": float((probe.predict(X[train]) == y[train]).mean()),
                "cells": len(values),
            }
        )
    return pd.DataFrame(rows)


__all__ = ["cheese_probe"]
