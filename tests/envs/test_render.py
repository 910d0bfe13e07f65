"""Pictures: colours land on the right cells; arrows follow the policy."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from devrl.envs.levels import generate_maze
from devrl.envs.render import CHEESE, FREE, MOUSE, WALL, plot_policy, render_maze


def test_render_maze_colours():
    walls = generate_maze(5, np.random.default_rng(0))
    img = render_maze(walls, (4, 0), (0, 4), cell_px=10)
    assert img.shape == (50, 50, 3) and img.dtype == np.uint8
    centre = lambda r, c: tuple(img[r * 10 + 5, c * 10 + 5])
    assert centre(4, 0) == MOUSE and centre(0, 4) == CHEESE
    assert centre(1, 1) == WALL  # odd-odd cells are always walls
    assert centre(2, 2) == FREE
    assert tuple(img[4 * 10, 0]) == FREE  # mouse is a disc: corners stay floor


def test_plot_policy_draws_one_arrow_per_likely_action():
    walls = generate_maze(5, np.random.default_rng(0))
    probs = np.zeros((5, 5, 4))
    probs[..., 1] = 1.0  # always right
    probs[0, 0] = [0.5, 0.5, 0.0, 0.0]
    fig, ax = plt.subplots()
    plot_policy(ax, walls, probs, mouse=(4, 0), cheese=(0, 4))
    arrows = ax.collections[-1].get_paths()
    n_free = int((~walls).sum())
    assert len(arrows) == n_free + 1
    tips = np.array([p.vertices[:, 0].max() - p.vertices[:, 0].min() for p in arrows])
    tips = np.sort(tips)
    assert np.allclose(tips[2:], 0.45)  # probability-1 arrows point right, full length
    assert (tips[:2] < 0.45 / 2 + 1e-9).all()  # the two half-probability arrows are shorter
    plt.close(fig)
    with pytest.raises(ValueError, match="probs"):
        plot_policy(plt.gca(), walls, np.zeros((5, 5, 3)))
    plt.close("all")


def test_plot_policy_sqrt_scale_keeps_unlikely_arrows_visible():
    walls = np.zeros((5, 5), dtype=bool)
    probs = np.full((5, 5, 4), np.nan)
    probs[2, 2] = [0.01, 0.99, 0.0, 0.0]  # up 0.01, right 0.99
    lengths = {}
    for scale in ("linear", "sqrt"):
        fig, ax = plt.subplots()
        plot_policy(ax, walls, probs, min_prob=0.005, scale=scale)
        paths = ax.collections[-1].get_paths()
        ups = [p.vertices[:, 1].max() - p.vertices[:, 1].min() for p in paths]
        lengths[scale] = min(ups)  # the up arrow is the short one
        plt.close(fig)
    assert lengths["linear"] == pytest.approx(0.45 * 0.01, rel=1e-6)
    assert lengths["sqrt"] == pytest.approx(0.45 * 0.1, rel=1e-6)
    with pytest.raises(ValueError, match="scale"):
        plot_policy(plt.gca(), walls, probs, scale="log")
    plt.close("all")
