"""Exact tabular checks of theory/objectives.md (weight differences after a reward swap)."""

import numpy as np
import pytest

from devrl.objectives.tabular import (
    TabularMDP,
    evaluate,
    fine_tune,
    first_order_delta,
    flip_fraction,
    greedy,
    greedy_logits,
    gridworld,
    normalized_return,
    objective,
    optimal_policy,
    policy_gradient,
    random_mdp,
    reward_orthogonality,
    saturation_bound,
    softmax_policy,
    split_common_specific,
)

S, A, GAMMA = 6, 3, 0.9


def _case(seed: int) -> tuple[TabularMDP, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mdp = random_mdp(S, A, GAMMA, rng)
    return mdp, rng.normal(size=(S, A)), rng.normal(size=(S, A))


def _cell_reward(n: int, k: int) -> np.ndarray:
    r = np.zeros((n * n, 4))
    r[k] = 1.0
    return r


def _fine_tune_until_learned(mdp, theta, reward, lr=1.0, chunk=25, max_steps=20_000):
    """Fine-tune until the greedy policy of theta_B reaches normalised R_B return >= 0.99."""
    theta = theta.copy()
    for _ in range(max_steps // chunk):
        theta = fine_tune(mdp, theta, reward, chunk, lr)
        if normalized_return(mdp, greedy(theta), reward) >= 0.99:
            return theta
    raise AssertionError("fine-tuning did not learn R_B")


# --- the MDP, exact evaluation and the gradient -------------------------------------------


def test_gridworld_transitions_by_hand():
    g = gridworld(3)
    # cell 0 is the top-left corner: up and left stay, down -> 3, right -> 1
    assert [int(g.P[0, a].argmax()) for a in range(4)] == [0, 3, 0, 1]
    assert [int(g.P[4, a].argmax()) for a in range(4)] == [1, 7, 3, 5]
    assert np.allclose(g.P.sum(axis=2), 1.0)


def test_evaluate_absorbing_states_known_answer():
    # every action keeps you in place: V = r / (1 - gamma), d = rho / (1 - gamma)
    P = np.tile(np.eye(4)[:, None, :], (1, 2, 1))
    mdp = TabularMDP(P, np.array([0.1, 0.2, 0.3, 0.4]), 0.8)
    r = np.array([[1.0, 3.0], [0.0, 0.0], [2.0, 2.0], [-1.0, 1.0]])
    ev = evaluate(mdp, np.full((4, 2), 0.5), r)
    assert np.allclose(ev.V, r.mean(axis=1) / 0.2)
    assert np.allclose(ev.d, mdp.rho / 0.2)
    assert np.isclose(ev.J, mdp.rho @ ev.V)


def test_optimal_values_reach_cell_are_discounted_distance():
    # the top-right corner: bumping into the wall keeps the agent on its target
    n, k, gamma = 4, 3, 0.9
    g = gridworld(n, gamma)
    _, v = optimal_policy(g, _cell_reward(n, k))
    dist = np.array([abs(s // n - k // n) + abs(s % n - k % n) for s in range(n * n)])
    assert np.allclose(v, gamma**dist / (1 - gamma))


def test_policy_gradient_matches_finite_differences():
    mdp, _, r = _case(0)
    theta = np.random.default_rng(1).normal(size=(S, A))
    g, fd, h = policy_gradient(mdp, theta, r), np.zeros((S, A)), 1e-6
    for i in range(S):
        for j in range(A):
            e = np.zeros((S, A))
            e[i, j] = h
            fd[i, j] = (objective(mdp, theta + e, r) - objective(mdp, theta - e, r)) / (2 * h)
    assert np.abs(fd - g).max() < 1e-7 * np.abs(g).max()


def test_delta_rows_sum_to_zero():
    mdp, ra, rb = _case(2)
    theta_a = greedy_logits(mdp, ra, 2.0)
    delta = fine_tune(mdp, theta_a, rb, 200, 0.5) - theta_a
    assert np.abs(delta.sum(axis=1)).max() < 1e-12


# --- claim 1: first-order form of Δ ---------------------------------------------------------


@pytest.mark.parametrize("beta", [0.0, 2.0])
def test_first_order_prediction_matches_fine_tuned_delta(beta):
    errors = {}
    for seed in range(5):
        mdp, ra, rb = _case(seed)
        theta_a = greedy_logits(mdp, ra, beta)
        for budget in (0.05, 0.1):
            delta = fine_tune(mdp, theta_a, rb, 20, budget / 20) - theta_a
            pred = first_order_delta(mdp, theta_a, rb, 20, budget / 20)
            errors[seed, budget] = np.linalg.norm(delta - pred) / np.linalg.norm(delta)
        # the error is the second-order term: linear in the budget
        assert 1.6 < errors[seed, 0.1] / errors[seed, 0.05] < 2.4
    assert max(errors[s, 0.1] for s in range(5)) < 0.05


# --- claim 2: saturation bound --------------------------------------------------------------


def test_saturation_bound_holds_and_vanishes_with_sharpness():
    rng = np.random.default_rng(3)
    mdp, ra, rb = _case(3)
    for scale in (0.0, 0.5, 2.0, 5.0, 10.0):
        theta = scale * rng.normal(size=(S, A))
        g = policy_gradient(mdp, theta, rb)
        assert (np.abs(g).sum(axis=1) <= saturation_bound(mdp, theta, rb) + 1e-12).all()
    norms = [np.linalg.norm(policy_gradient(mdp, greedy_logits(mdp, ra, b), rb)) for b in (0, 10)]
    assert norms[1] < 1e-3 * norms[0]


# --- claim 3: when θ_A − Δ flips the objective ----------------------------------------------


def test_negation_is_antisymmetric_to_first_order():
    for seed in range(5):
        mdp, ra, rb = _case(seed)
        theta_a = greedy_logits(mdp, ra, 0.0)
        delta = fine_tune(mdp, theta_a, rb, 20, 0.1 / 20) - theta_a
        j0 = objective(mdp, theta_a, rb)
        gain = objective(mdp, theta_a + delta, rb) - j0
        loss = j0 - objective(mdp, theta_a - delta, rb)
        assert gain > 0 and abs(loss / gain - 1) < 0.05


def test_negation_flips_the_objective_from_a_uniform_policy():
    for seed in range(10):
        mdp, ra, rb = _case(seed)
        theta_a = greedy_logits(mdp, ra, 0.0)
        # first order, exact: argmax(-pi A_B) = argmin Q_B when pi is uniform
        assert flip_fraction(mdp, theta_a, first_order_delta(mdp, theta_a, rb, 1, 1.0), rb) == 1.0
        theta_b = _fine_tune_until_learned(mdp, theta_a, rb)
        patched = normalized_return(mdp, greedy(2 * theta_a - theta_b), rb)
        assert patched < 0.1, (seed, patched)


def test_negation_cannot_flip_a_saturated_policy():
    for seed in range(10):
        mdp, ra, rb = _case(seed)
        theta_a = greedy_logits(mdp, ra, 5.0)
        theta_b = _fine_tune_until_learned(mdp, theta_a, rb)
        delta = theta_b - theta_a
        a_star, b_star = theta_a.argmax(axis=1), theta_b.argmax(axis=1)
        # the patched agent keeps pi_A's action everywhere although M_B learned R_B
        assert ((theta_a - delta).argmax(axis=1) == a_star).all()
        # mechanism: where M_B switched, fine-tuning lowered pi_A's action the most
        switched = a_star != b_star
        assert (delta[switched].argmin(axis=1) == a_star[switched]).all()


# --- claim 4: what averaging over rewards removes ------------------------------------------


@pytest.mark.parametrize("beta", [0.0, 5.0])
def test_averaging_shrinks_specific_part_like_inverse_sqrt_k(beta):
    rng = np.random.default_rng(4)
    mdp, ra, common = _case(4)
    theta_a = greedy_logits(mdp, ra, beta)
    steps, lr = 20, 0.1 / 20
    delta_common = fine_tune(mdp, theta_a, common, steps, lr) - theta_a
    deltas = np.array(
        [
            fine_tune(mdp, theta_a, common + rng.normal(size=(S, A)), steps, lr) - theta_a
            for _ in range(256)
        ]
    )
    ks = np.array([1, 4, 16, 64])
    rms = [
        np.sqrt(
            np.mean(
                [np.sum((grp.mean(0) - delta_common) ** 2) for grp in deltas.reshape(-1, k, S, A)]
            )
        )
        for k in ks
    ]
    slope = np.polyfit(np.log(ks), np.log(rms), 1)[0]
    assert -0.6 < slope < -0.4, slope
    mean, specific = split_common_specific(deltas[:64])
    cos = (mean * delta_common).sum() / np.linalg.norm(mean) / np.linalg.norm(delta_common)
    assert cos > 0.9, cos
    assert np.linalg.norm(specific, axis=(1, 2)).mean() > 2 * np.linalg.norm(mean - delta_common)


def _even_odd(mdp, theta_a, xis, budget):
    plus = np.array([fine_tune(mdp, theta_a, x, 20, budget / 20) - theta_a for x in xis])
    minus = np.array([fine_tune(mdp, theta_a, -x, 20, budget / 20) - theta_a for x in xis])
    return (plus + minus) / 2, (plus - minus) / 2


def test_even_part_is_second_order_and_unsharpens_a_saturated_policy():
    mdp, ra, _ = _case(5)
    xis = np.random.default_rng(5).normal(size=(32, S, A))
    for beta in (0.0, 5.0):
        theta_a = greedy_logits(mdp, ra, beta)
        ratio = {}
        for budget in (0.1, 0.2):
            even, odd = _even_odd(mdp, theta_a, xis, budget)
            ratio[budget] = np.linalg.norm(even) / np.linalg.norm(odd)
        assert 1.6 < ratio[0.2] / ratio[0.1] < 2.4, ratio
    theta_a = greedy_logits(mdp, ra, 5.0)
    even, odd = _even_odd(mdp, theta_a, xis, 20.0)
    assert np.linalg.norm(even) > 0.3 * np.linalg.norm(odd)
    centred = theta_a - theta_a.mean(axis=1, keepdims=True)
    mean_even = even.mean(axis=0)
    cos = -(mean_even * centred).sum() / np.linalg.norm(mean_even) / np.linalg.norm(centred)
    assert cos > 0.8, cos


def test_removing_the_mean_restores_part_of_the_negation_at_saturation():
    raw, minus, plus = [], [], []
    for seed in range(5):
        mdp, ra, _ = _case(seed)
        rng = np.random.default_rng(100 + seed)
        theta_a = greedy_logits(mdp, ra, 5.0)
        rewards = [rng.normal(size=(S, A)) for _ in range(16)]
        deltas = np.array([_fine_tune_until_learned(mdp, theta_a, r) - theta_a for r in rewards])
        _, specific = split_common_specific(deltas)
        for r, delta, spec in zip(rewards, deltas, specific, strict=True):
            raw.append(normalized_return(mdp, greedy(theta_a - delta), r))
            minus.append(normalized_return(mdp, greedy(theta_a - spec), r))
            plus.append(normalized_return(mdp, greedy(theta_a + spec), r))
    assert np.median(minus) < np.median(raw) - 0.1, (np.median(minus), np.median(raw))
    assert np.median(plus) > 0.9, np.median(plus)


# --- helpers with known answers ------------------------------------------------------------


def test_reward_orthogonality_known_answers():
    P = np.tile(np.eye(4)[:, None, :], (1, 2, 1))
    mdp = TabularMDP(P, np.full(4, 0.25), 0.5)
    r1 = np.repeat(np.array([1.0, -1.0, 1.0, -1.0])[:, None], 2, axis=1)
    r2 = np.repeat(np.array([1.0, 1.0, -1.0, -1.0])[:, None], 2, axis=1)
    assert abs(reward_orthogonality(mdp, r1, r2)) < 1e-12
    assert np.isclose(reward_orthogonality(mdp, r1, 3 * r1 + 2), 1.0)
    assert np.isclose(reward_orthogonality(mdp, r1, -r1), -1.0)
    g = gridworld(4)
    near = reward_orthogonality(g, _cell_reward(4, 0), _cell_reward(4, 1))
    far = reward_orthogonality(g, _cell_reward(4, 0), _cell_reward(4, 15))
    assert near > far
    with pytest.raises(ValueError, match="constant"):
        reward_orthogonality(mdp, np.zeros((4, 2)), r1)


def test_normalized_return_and_flip_fraction_by_hand():
    mdp, _, rb = _case(6)
    best, _ = optimal_policy(mdp, rb)
    worst, _ = optimal_policy(mdp, -rb)
    assert np.isclose(normalized_return(mdp, np.eye(A)[best], rb), 1.0)
    assert np.isclose(normalized_return(mdp, np.eye(A)[worst], rb), 0.0)
    theta_a = np.zeros((S, A))
    q = evaluate(mdp, softmax_policy(theta_a), rb).Q
    anti = np.eye(A)[q.argmin(axis=1)]
    assert flip_fraction(mdp, theta_a, -anti, rb) == 1.0
    assert flip_fraction(mdp, theta_a, anti, rb) == 0.0


def test_split_common_specific_by_hand():
    deltas = np.array([[[1.0, 3.0]], [[3.0, 5.0]]])
    common, specific = split_common_specific(deltas)
    assert np.allclose(common, [[2.0, 4.0]])
    assert np.allclose(specific, [[[-1.0, -1.0]], [[1.0, 1.0]]])


def test_bad_inputs_raise_value_errors():
    mdp, ra, _ = _case(0)
    with pytest.raises(ValueError, match="P"):
        TabularMDP(np.ones((2, 2, 3)), np.full(2, 0.5), 0.9)
    with pytest.raises(ValueError, match="gamma"):
        TabularMDP(mdp.P, mdp.rho, 1.0)
    with pytest.raises(ValueError, match="theta"):
        policy_gradient(mdp, np.zeros((S, A + 1)), ra)
    with pytest.raises(ValueError, match="steps"):
        fine_tune(mdp, np.zeros((S, A)), ra, -1, 0.1)
    with pytest.raises(ValueError, match="lr"):
        fine_tune(mdp, np.zeros((S, A)), ra, 1, 0.0)
    with pytest.raises(ValueError, match="n"):
        gridworld(1)
