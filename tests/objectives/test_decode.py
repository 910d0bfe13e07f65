import numpy as np
import pytest

from devrl.objectives import first_order_delta, greedy_logits, gridworld, split_common_specific
from devrl.objectives.decode import decode_accuracy_null, loo_decode

GRID = np.array([(r, c) for r in range(4) for c in range(4)], dtype=float)  # K = 16 targets


def test_planted_linear_direction_decodes_every_held_out_target():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(2, 300))
    X = GRID @ W + 1e-3 * rng.normal(size=(16, 300))  # objective direction + small noise
    table = loo_decode(X, GRID)
    assert table["correct"].all()
    assert table["error"].max() < 0.05
    assert table["chance"].iloc[0] == pytest.approx(1 / 16)


def test_random_directions_of_equal_norm_do_not_beat_their_null():
    # a held-out random vector is near-orthogonal to the training rows, so its prediction
    # falls to the training mean: accuracy at or below 1/K, and no better than shuffled labels
    rng = np.random.default_rng(1)
    planted = GRID @ rng.normal(size=(2, 300))
    accs, ps = [], []
    for i in range(20):
        R = rng.normal(size=planted.shape)
        R *= np.linalg.norm(planted, axis=1, keepdims=True) / np.linalg.norm(
            R, axis=1, keepdims=True
        )
        result = decode_accuracy_null(R, GRID, n_perm=49, seed=i)
        accs.append(result["accuracy"])
        ps.append(result["p_error"])
    assert np.mean(accs) <= 1 / 16
    assert np.mean(np.array(ps) <= 0.05) <= 0.2  # the null is calibrated: ~5% expected


def _tabular_deltas(beta: float) -> tuple[np.ndarray, np.ndarray]:
    """First-order Delta_k of a 5x5 tabular grid policy toward "enter cell k", for all 25 cells."""
    n = 5
    mdp = gridworld(n, 0.9)
    theta_a = greedy_logits(mdp, mdp.P[:, :, n - 1].copy(), beta)  # R_A: the top-right corner
    deltas = np.array(
        [
            first_order_delta(mdp, theta_a, mdp.P[:, :, k].copy(), 1, 0.1).ravel()
            for k in range(n * n)
        ]
    )
    coords = np.array([divmod(k, n) for k in range(n * n)], dtype=float)
    return split_common_specific(deltas)[1], coords


def test_tabular_specific_parts_decode_held_out_cells_from_a_uniform_policy():
    specific, coords = _tabular_deltas(beta=0.0)
    result = decode_accuracy_null(specific, coords, n_perm=49)
    assert result["accuracy"] >= 0.8  # measured 0.84; chance 1/25
    assert result["null_accuracy"] < 0.15
    assert result["p_accuracy"] <= 0.02


def test_tabular_saturated_policy_is_not_linearly_decodable():
    # theory/objectives.md section 6: at a saturated pi_A the first-order Delta is
    # concentrated on few states and the target's coordinates are not linear in it
    specific, coords = _tabular_deltas(beta=5.0)
    assert loo_decode(specific, coords)["correct"].mean() <= 0.12


def test_permutation_null_uses_all_permutations_when_few():
    X = np.eye(4)
    coords = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]])
    result = decode_accuracy_null(X, coords)
    assert result["permutations"] == 23
    assert 0 <= result["p_accuracy"] <= 1


@pytest.mark.parametrize(
    ("X", "coords", "match"),
    [
        (np.zeros((2, 3)), np.zeros((2, 2)), "at least 3"),
        (np.zeros((3, 3)), np.zeros((4, 2)), "same K"),
        (np.full((3, 3), np.nan), np.zeros((3, 2)), "finite"),
    ],
)
def test_bad_inputs(X, coords, match):
    with pytest.raises(ValueError, match=match):
        loo_decode(X, coords)
