import numpy as np
import pytest
import torch

from devrl.objectives.deltas import random_like, shared_specific, specific_share
from devrl.objectives.layer_map import (
    channel_profile,
    dense_position_map,
    layer_shares,
    position_rank,
    profile_consistency,
)

C, H, W = 4, 3, 3


def planted(pos: tuple[int, int], seed: int) -> dict[str, torch.Tensor]:
    """A dense-layer delta that reads only the features at ``pos`` (plus a readout column)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.zeros(8, C, H, W, dtype=torch.float64)
    w[:, :, pos[0], pos[1]] = torch.randn(8, C, generator=g, dtype=torch.float64)
    return {"dense": torch.cat([w.reshape(8, -1), torch.ones(8, 2, dtype=torch.float64)], 1)}


def test_planted_position_is_the_peak_and_random_directions_are_not():
    ranks, null = [], []
    for i, pos in enumerate([(0, 0), (1, 2), (2, 1)]):
        d = planted(pos, i)
        m = dense_position_map(d["dense"], C, H, W)
        assert m.sum() == pytest.approx(1.0)
        assert m[pos] == pytest.approx(1.0)
        ranks.append(position_rank(m, pos))
        for s in range(30):
            r = random_like(d, seed=100 * i + s)
            null.append(position_rank(dense_position_map(r["dense"], C, H, W), pos))
    assert ranks == [1.0, 1.0, 1.0]
    assert abs(np.mean(null) - 0.5) < 0.1  # 90 draws, sd of a mean ~0.03


def test_layer_shares_are_parameter_shares_for_an_isotropic_direction():
    g = torch.Generator().manual_seed(0)
    d = {"a": torch.randn(20000, generator=g), "b": torch.randn(60000, generator=g)}
    shares = layer_shares(d)
    assert shares["a"][1] == pytest.approx(0.25)
    assert shares["a"][0] == pytest.approx(0.25, abs=0.01)


def test_channel_profiles_consistent_when_planted_and_not_when_random():
    g = torch.Generator().manual_seed(0)
    scale = torch.linspace(0.1, 3.0, 16, dtype=torch.float64)[:, None]  # fixed channel sizes
    deltas = [{"w": scale * torch.randn(16, 9, generator=g, dtype=torch.float64)} for _ in range(6)]
    profiles = [channel_profile(d, "w") for d in deltas]
    assert profiles[0].sum() == pytest.approx(1.0)
    assert profile_consistency(profiles) > 0.7
    rand = [channel_profile(random_like(d, seed=i), "w") for i, d in enumerate(deltas)]
    assert abs(profile_consistency(rand)) < 0.3


def test_specific_share_known_answer():
    # Delta_k = c + a e_k with orthonormal e_k orthogonal to c:
    # ||specific||^2 = a^2 (1 - 1/K) and ||Delta_k||^2 = ||c||^2 + a^2
    K, a = 4, 2.0
    c = torch.zeros(10, dtype=torch.float64)
    c[-1] = 3.0
    deltas = [{"w": c + a * torch.eye(10, dtype=torch.float64)[k]} for k in range(K)]
    assert specific_share(deltas) == pytest.approx(a**2 * (1 - 1 / K) / (9 + a**2))
    shared, _ = shared_specific(deltas)
    assert torch.allclose(shared["w"][-1], torch.tensor(3.0, dtype=torch.float64))


def test_bad_inputs():
    with pytest.raises(ValueError, match="zero"):
        layer_shares({"a": torch.zeros(3)})
    with pytest.raises(ValueError, match="outside"):
        position_rank(np.ones((2, 2)), (2, 0))
    with pytest.raises(ValueError, match="two profiles"):
        profile_consistency([np.ones(3)])
    with pytest.raises(ValueError, match="hidden"):
        dense_position_map(torch.ones(3, 5), C, H, W)
