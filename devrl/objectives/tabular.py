"""Exact tabular softmax policies: the weight difference after fine-tuning toward a new reward.

Why: the objective-swap experiments (issue 14) diff network weights; here every quantity is
exact (policy evaluation by a linear solve, policy gradient in closed form), so the claims of
`theory/objectives.md` (first-order form of Δ, when θ_A − Δ flips the objective, what averaging
over rewards removes) can be checked to machine precision.

Conventions: ``P[s, a, s']`` transitions, ``rho[s]`` start distribution, rewards ``r[s, a]``,
logits ``theta[s, a]`` with ``pi(a|s) = softmax(theta[s])``. ``J = sum_s rho(s) V(s)`` (no
1 - gamma normalisation) and ``d(s) = sum_t gamma^t Pr(s_t = s)`` (unnormalised visitation),
so that ``dJ/dtheta[s, a] = d(s) pi(a|s) A(s, a)`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TabularMDP:
    """A finite discounted MDP: ``P[s, a, s']``, start distribution ``rho[s]``, discount ``gamma``."""

    P: np.ndarray
    rho: np.ndarray
    gamma: float

    def __post_init__(self) -> None:
        P, rho = np.asarray(self.P, float), np.asarray(self.rho, float)
        if P.ndim != 3 or P.shape[0] != P.shape[2]:
            raise ValueError(f"P: expected shape [S, A, S], got {P.shape}")
        if not np.allclose(P.sum(axis=2), 1.0) or (P < 0).any():
            raise ValueError("P: each P[s, a, :] must be a probability distribution")
        if rho.shape != (P.shape[0],) or not np.isclose(rho.sum(), 1.0) or (rho < 0).any():
            raise ValueError(f"rho: expected a distribution over {P.shape[0]} states")
        if not 0.0 <= self.gamma < 1.0:
            raise ValueError(f"gamma: expected 0 <= gamma < 1, got {self.gamma}")
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "rho", rho)

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]


@dataclass(frozen=True)
class Evaluation:
    """Exact evaluation of a policy: values ``V[s]``, ``Q[s, a]``, visitation ``d[s]``, return ``J``."""

    V: np.ndarray
    Q: np.ndarray
    d: np.ndarray
    J: float

    @property
    def A(self) -> np.ndarray:
        """Advantages ``Q - V`` [S, A]."""
        return self.Q - self.V[:, None]


def gridworld(n: int, gamma: float = 0.9) -> TabularMDP:
    """A deterministic n×n grid (actions up, down, left, right; walls keep you in place).

    Start distribution uniform over cells so that every state is visited (d > 0).
    """
    if n < 2:
        raise ValueError(f"n: expected >= 2, got {n}")
    S = n * n
    P = np.zeros((S, 4, S))
    moves = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    for s in range(S):
        i, j = divmod(s, n)
        for a, (di, dj) in enumerate(moves):
            i2, j2 = min(max(i + di, 0), n - 1), min(max(j + dj, 0), n - 1)
            P[s, a, i2 * n + j2] = 1.0
    return TabularMDP(P, np.full(S, 1.0 / S), gamma)


def random_mdp(n_states: int, n_actions: int, gamma: float, rng: np.random.Generator) -> TabularMDP:
    """A random MDP with Dirichlet(1) transitions and a uniform start distribution."""
    P = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions))
    return TabularMDP(P, np.full(n_states, 1.0 / n_states), gamma)


def _check(mdp: TabularMDP, name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, float)
    if x.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"{name}: expected shape {(mdp.n_states, mdp.n_actions)}, got {x.shape}")
    return x


def softmax_policy(theta: np.ndarray) -> np.ndarray:
    """``pi[s, a] = softmax(theta[s])[a]`` (row-wise, numerically stable)."""
    z = np.exp(theta - theta.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def evaluate(mdp: TabularMDP, pi: np.ndarray, reward: np.ndarray) -> Evaluation:
    """Exact policy evaluation by linear solves: ``V = (I - gamma P_pi)^-1 r_pi``, ``d`` likewise."""
    pi, r = _check(mdp, "pi", pi), _check(mdp, "reward", reward)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    M = np.eye(mdp.n_states) - mdp.gamma * P_pi
    V = np.linalg.solve(M, (pi * r).sum(axis=1))
    Q = r + mdp.gamma * mdp.P @ V
    d = np.linalg.solve(M.T, mdp.rho)
    return Evaluation(V=V, Q=Q, d=d, J=float(mdp.rho @ V))


def objective(mdp: TabularMDP, theta: np.ndarray, reward: np.ndarray) -> float:
    """``J(theta) = sum_s rho(s) V^pi(s)`` for the softmax policy of ``theta``."""
    return evaluate(mdp, softmax_policy(_check(mdp, "theta", theta)), reward).J


def policy_gradient(mdp: TabularMDP, theta: np.ndarray, reward: np.ndarray) -> np.ndarray:
    """Exact ``dJ/dtheta[s, a] = d(s) pi(a|s) A(s, a)`` (policy gradient theorem, softmax)."""
    pi = softmax_policy(_check(mdp, "theta", theta))
    ev = evaluate(mdp, pi, reward)
    return ev.d[:, None] * pi * ev.A


def fine_tune(
    mdp: TabularMDP, theta: np.ndarray, reward: np.ndarray, steps: int, lr: float
) -> np.ndarray:
    """``steps`` of exact gradient ascent on ``J_reward`` from ``theta``; returns the final logits."""
    if steps < 0:
        raise ValueError(f"steps: expected >= 0, got {steps}")
    if lr <= 0:
        raise ValueError(f"lr: expected > 0, got {lr}")
    theta = _check(mdp, "theta", theta).copy()
    for _ in range(steps):
        theta += lr * policy_gradient(mdp, theta, reward)
    return theta


def first_order_delta(
    mdp: TabularMDP, theta: np.ndarray, reward: np.ndarray, steps: int, lr: float
) -> np.ndarray:
    """The first-order prediction ``Δ ≈ steps · lr · ∇J_reward(theta_A)`` of ``fine_tune - theta``."""
    return steps * lr * policy_gradient(mdp, theta, reward)


def optimal_policy(mdp: TabularMDP, reward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact policy iteration: returns (greedy optimal actions [S], optimal values V* [S])."""
    r = _check(mdp, "reward", reward)
    act = np.zeros(mdp.n_states, dtype=int)
    eye = np.eye(mdp.n_actions)
    for _ in range(10 * mdp.n_states * mdp.n_actions + 10):
        ev = evaluate(mdp, eye[act], r)
        best = ev.Q.max(axis=1)
        # keep the current action unless another is strictly better: guarantees termination
        keep = ev.Q[np.arange(mdp.n_states), act] >= best - 1e-12 * (1 + np.abs(best))
        new = np.where(keep, act, ev.Q.argmax(axis=1))
        if (new == act).all():
            return act, ev.V
        act = new
    raise RuntimeError("policy iteration did not converge")  # pragma: no cover


def greedy_logits(mdp: TabularMDP, reward: np.ndarray, beta: float) -> np.ndarray:
    """Logits ``beta · onehot(pi*_reward)``: an optimal-ish theta_A whose sharpness is ``beta``.

    beta = 0 is the uniform policy; pi(a*|s) = 1 / (1 + (A-1) e^-beta) grows to 1 with beta.
    """
    act, _ = optimal_policy(mdp, reward)
    return beta * np.eye(mdp.n_actions)[act]


def return_range(mdp: TabularMDP, reward: np.ndarray) -> tuple[float, float]:
    """(min, max) of ``J_reward`` over all policies (max for -reward gives the min)."""
    _, v_min = optimal_policy(mdp, -np.asarray(reward, float))
    _, v_max = optimal_policy(mdp, reward)
    return float(-mdp.rho @ v_min), float(mdp.rho @ v_max)


def normalized_return(mdp: TabularMDP, pi: np.ndarray, reward: np.ndarray) -> float:
    """``(J - J_min) / (J_max - J_min)``: 1 = maximises the reward, 0 = minimises it."""
    lo, hi = return_range(mdp, reward)
    if hi - lo <= 0:
        raise ValueError("reward: every policy has the same return; normalisation undefined")
    return (evaluate(mdp, pi, reward).J - lo) / (hi - lo)


def greedy(theta: np.ndarray) -> np.ndarray:
    """Deterministic policy ``onehot(argmax_a theta[s, a])`` [S, A]."""
    return np.eye(theta.shape[1])[theta.argmax(axis=1)]


def reward_orthogonality(mdp: TabularMDP, r1: np.ndarray, r2: np.ndarray) -> float:
    """Pearson correlation over states of the optimal value functions V*_1 and V*_2.

    0 = orthogonal rewards, 1 = same objective up to scale and shift, -1 = opposed.
    """
    _, v1 = optimal_policy(mdp, r1)
    _, v2 = optimal_policy(mdp, r2)
    if np.std(v1) == 0 or np.std(v2) == 0:
        raise ValueError("r1, r2: a constant optimal value function has no correlation")
    return float(np.corrcoef(v1, v2)[0, 1])


def saturation_bound(mdp: TabularMDP, theta: np.ndarray, reward: np.ndarray) -> np.ndarray:
    """Per-state bound ``||∇J[s, :]||_1 <= 2 d(s) (1 - max_a pi(a|s)) span_a Q(s, a)`` [S].

    Why: the gradient, hence Δ to first order, vanishes where pi_A is near-deterministic.
    """
    pi = softmax_policy(_check(mdp, "theta", theta))
    ev = evaluate(mdp, pi, reward)
    span = ev.Q.max(axis=1) - ev.Q.min(axis=1)
    return 2.0 * ev.d * (1.0 - pi.max(axis=1)) * span


def flip_fraction(
    mdp: TabularMDP, theta_a: np.ndarray, delta: np.ndarray, reward_b: np.ndarray
) -> float:
    """Fraction of states where the patched policy ``argmax(theta_A - Δ)`` picks the R_B-worst action.

    "Worst" is ``argmin_a Q_B^{pi_A}(s, a)``: the action a one-step minimiser of R_B would take
    from pi_A. Chance level is about 1 / n_actions.
    """
    theta_a, delta = _check(mdp, "theta_a", theta_a), _check(mdp, "delta", delta)
    q_b = evaluate(mdp, softmax_policy(theta_a), reward_b).Q
    return float(np.mean((theta_a - delta).argmax(axis=1) == q_b.argmin(axis=1)))


def split_common_specific(deltas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split K weight differences [K, ...] into the mean (common) and deviations (specific)."""
    deltas = np.asarray(deltas, float)
    if deltas.ndim < 2 or deltas.shape[0] < 1:
        raise ValueError(f"deltas: expected shape [K, ...] with K >= 1, got {deltas.shape}")
    common = deltas.mean(axis=0)
    return common, deltas - common
