import numpy as np
import pandas as pd
import pytest
import torch

from devrl.objectives.summary import edit_summary, interval, track_relations
from devrl.objectives.tables import decoding_rows, delta_tables, map_rows, target_names

CONFIG = {"channels": 2, "obs_shape": [3, 5, 5], "downsample": True}  # 3x3 dense positions
TARGETS = [(0, 0), (2, 4), (4, 2), (4, 4)]


def planted(target: tuple[int, int], seed: int) -> dict[str, torch.Tensor]:
    """A delta whose dense weights read only the target's position (plus a small conv part)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.zeros(6, 2, 3, 3, dtype=torch.float64)
    w[:, :, target[0] // 2, target[1] // 2] = torch.randn(6, 2, generator=g, dtype=torch.float64)
    return {
        "conv.weight": 0.01 * torch.randn(4, 3, generator=g, dtype=torch.float64),
        "trunk.dense.weight": torch.cat(
            [w.reshape(6, -1), torch.zeros(6, 1, dtype=torch.float64)], 1
        ),
    }


def test_map_rows_find_planted_positions_and_random_directions_do_not():
    deltas = [planted(t, i) for i, t in enumerate(TARGETS)]
    _, positions, channels = map_rows(CONFIG, 0, 10, TARGETS, deltas, random_draws=30)
    pos = pd.DataFrame(positions).set_index(["part", "target"])
    # specific = delta - mean keeps (1 - 1/K) of its own position and 1/K of each other's
    assert (pos.loc["specific", "rank"] == 1.0).all()
    assert (pos.loc["delta", "rank"] == 1.0).all()
    assert abs(pos.loc["random", "rank"].mean() - 0.5) < 0.12
    assert set(pd.DataFrame(channels)["part"]) == {"delta", "specific", "random"}


def test_delta_tables_norms_and_cosines():
    deltas = [planted(t, i) for i, t in enumerate(TARGETS)]
    state = {k: torch.ones_like(v) for k, v in deltas[0].items()}
    norms, cos = delta_tables(0, 10, target_names(TARGETS), deltas, state)
    n = pd.DataFrame(norms)
    total = n[(n["part"] == "delta") & (n["layer"] == "total")]["norm"].to_numpy()
    expect = [np.sqrt(sum(float(v.pow(2).sum()) for v in d.values())) for d in deltas]
    assert total == pytest.approx(expect)
    c = pd.DataFrame(cos)
    diag = c[(c["layer"] == "all") & (c["a"] == c["b"]) & (c["part"] == "delta")]["cosine"]
    assert diag.to_numpy() == pytest.approx(1.0)


def test_decoding_rows_cover_each_k_and_part():
    rng = np.random.default_rng(0)
    targets = [(r, c) for r in range(0, 9, 2) for c in range(0, 9, 4)][:8]
    W = rng.normal(size=(2, 50))
    deltas = [{"w": torch.tensor(np.array(t, float) @ W)} for t in targets]
    rows = pd.DataFrame(
        decoding_rows(0, 5, targets, deltas, k_levels=[2, 3, 4], subsets=3, n_perm=19)
    )
    assert sorted(rows["K"].unique()) == [3, 4, 8]  # K' = 2 cannot be decoded (one to fit)
    per_k = rows[rows["part"] == "specific"].groupby("K")["subset"].nunique().to_dict()
    assert per_k == {3: 3, 4: 3, 8: 1}  # every K' < K draws its own subsets
    full = rows[(rows["K"] == 8) & (rows["part"] == "specific")]
    assert full["accuracy"].iloc[0] == 1.0  # a planted linear code decodes every target


def test_summaries_known_answers():
    assert interval([np.nan])[3] == 0
    m, lo, hi, n = interval([1.0, 2.0, 3.0])
    assert (m, n) == (2.0, 3) and lo < 2 < hi
    edits = pd.DataFrame(
        {
            "step": 0,
            "K": 4,
            "direction": "specific",
            "sign": 1.0,
            "alpha": 1.0,
            "d_visit": [0.1, 0.3],
            "d_success": [0.0, -0.2],
        }
    )
    row = edit_summary(edits).iloc[0]
    assert row["d_visit"] == pytest.approx(0.2) and row["n"] == 2
    assert row["d_success"] == pytest.approx(-0.1)


def test_track_relations_rank_with_success():
    rows = []
    for seed, shift in ((0, 0.0), (1, 0.1), (2, 0.2)):
        for i, step in enumerate((0, 10, 100, 1000)):
            success = [0.1, 0.5, 0.2, 0.9][i] + shift
            rows += [
                {"seed": seed, "step": step, "measure": "ma_success", "value": success},
                {"seed": seed, "step": step, "measure": "follows", "value": 2 * success},
                {"seed": seed, "step": step, "measure": "against", "value": -success},
                {"seed": seed, "step": step, "measure": "ma_llc", "value": 5 - success},
            ]
    rel = track_relations(pd.DataFrame(rows)).set_index("measure")
    assert rel.loc["follows", "rho"] == 1.0
    assert rel.loc["against", "rho"] == -1.0
    assert rel.loc["follows", "seeds"] == 3 and rel.loc["follows", "checkpoints"] == 4
    assert set(rel.index) == {"follows", "against"}  # the references are not measures
    by_llc = track_relations(pd.DataFrame(rows), reference="ma_llc").set_index("measure")
    assert by_llc.loc["follows", "rho"] == -1.0 and (by_llc["reference"] == "ma_llc").all()


CELLS = ("cell_0_0", "cell_0_4", "cell_4_0", "cell_4_4")


def _episodes(arm: str, arm_target: str, retrain_seed: int, avoid: str | None, rng) -> list[dict]:
    """Episodes of one arm on two targets: each visited with probability 0.5, ``avoid`` never."""
    rows = []
    for ep in range(60):
        for target in CELLS:
            visited = bool(rng.random() < 0.5) and target != avoid
            rows.append(
                {
                    "episode": ep,
                    "target": target,
                    "visited": visited,
                    "mean_distance": 2.0 if visited else 3.0,
                    "length": 10,
                    "reached_cheese": True,
                    "arm": arm,
                    "arm_target": arm_target,
                    "retrain_seed": retrain_seed,
                    "seed": 0,
                }
            )
    return rows


def test_lean_table_finds_a_planted_retrained_negation_and_no_patch_effect():
    from devrl.objectives.summary import lean_summary, lean_table

    rng = np.random.default_rng(0)
    rows = _episodes("ma", "", -1, None, rng)
    for name in CELLS:
        rows += _episodes("mb", name, -1, None, rng)
    for rs in (0, 1):
        rows += _episodes("ma_retrained", "", rs, None, rng)
        for name in CELLS:
            for arm in ("patch", "random", "negation_random"):
                rows += _episodes(arm, name, rs, None, rng)
            rows += _episodes("negation", name, rs, name, rng)  # avoids its own cell
    table = lean_table(pd.DataFrame(rows))
    summary = lean_summary(table).set_index(["comparison", "target", "quantity"])
    own = "_own_minus_others"
    negation = summary.loc[(f"negation_vs_negation_random{own}", "all", "d_visit")]
    assert negation["mean"] < -0.35 and negation["high"] < 0
    assert summary.loc[(f"negation_vs_ma{own}", "all", "d_visit"), "mean"] < -0.35
    patch = summary.loc[(f"patch_vs_random{own}", "all", "d_visit")]
    assert abs(patch["mean"]) < 0.15
    assert set(table["comparison"]) >= {"mb_vs_ma", "patch_vs_ma", "random_vs_ma"}
