"""experiments/goal_switch.py's analysis (goal_switch_report.py) on hand-built stitched tracks with a planted switch."""

import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_PATH = Path(__file__).parents[2] / "experiments" / "goal_switch.py"
_spec = importlib.util.spec_from_file_location("goal_switch", _PATH)
G = importlib.util.module_from_spec(_spec)
sys.modules["goal_switch"] = G  # its dataclasses look their module up there
_spec.loader.exec_module(G)
_spec = importlib.util.spec_from_file_location(
    "goal_switch_report", _PATH.with_name("goal_switch_report.py")
)
R = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(R)
sys.modules["goal_switch_report"] = R
_spec = importlib.util.spec_from_file_location(
    "goal_switch_section", _PATH.with_name("goal_switch_section.py")
)
S = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(S)

SWITCH, END, BEHAVIOUR = 100_000, 150_000, 120_000
STEPS = np.r_[0, np.arange(5_000, SWITCH + 1, 5_000), np.arange(105_000, END + 1, 5_000)]


def _tracks(seeds=(0, 1, 2)) -> pd.DataFrame:
    """Behaviour steps at BEHAVIOUR in every direction but the control; the policy KL
    steps there too; the other detectors are noise; the return rises at 30k."""
    rows = []
    for direction in G.DIRECTIONS:
        switched = direction not in R.CONTROLS
        for seed in seeds:
            rng = np.random.default_rng(seed)
            for step in STEPS:
                after = switched and step > BEHAVIOUR
                values = {m: rng.normal(0, 0.05) for m in R.DETECTORS.values()}
                values["policy-kl/per-kstep"] += 1.0 * after
                values["return"] += 1.0 * (step > 30_000)
                values[R.BEHAVIOUR] = 0.2 + 0.6 * after
                values["llc-action-decision/n"] = 6.0
                values |= {f"{r}/healthy": 1.0 for r in R.LLC_ROWS}
                for measure, v in values.items():
                    rows.append(
                        {
                            "direction": direction,
                            "seed": seed,
                            "step": step,
                            "phase": "before" if step <= SWITCH else "after",
                            "switch": SWITCH,
                            "measure": measure,
                            "value": v,
                            "stderr": 0.01,
                        }
                    )
    return pd.DataFrame(rows)


def test_switch_times_and_learning_transition():
    sw = R.switches(_tracks()).set_index(["direction", "seed"])
    planted = sw.loc["corner-to-anywhere"]
    assert np.all(
        (planted["behaviour_switch"] > BEHAVIOUR) & (planted["behaviour_switch"] <= 125_000)
    )
    assert np.all(planted["behaviour_lo"] <= planted["behaviour_switch"])
    assert sw.loc["control", "behaviour_switch"].isna().all()  # no switch in the control
    assert np.all((sw["learning"] > 25_000) & (sw["learning"] <= 35_000))


def test_detection_table_finds_the_planted_detector_only():
    tracks = _tracks()
    det = R.detection(tracks, R.switches(tracks), {"n_null": 99, "n_permutations": 9})
    kl = det[(det["detector"] == "policy KL") & (det["direction"] == "cheese-to-cell")].iloc[0]
    assert kl["recall"] == 1.0 and kl["p (random)"] < 0.05 and kl["p (circular)"] < 0.05
    assert kl["precision"] >= 0.75 > kl["null precision (random)"]  # one noise shift at most
    assert kl["lag"] == pytest.approx(0.0)  # shift mid-gap, behaviour crosses halfway there too
    ret = det[(det["detector"] == "return") & (det["direction"] == "cheese-to-cell")].iloc[0]
    assert ret["learning alarms"] == 1.0  # the return fires at the first learning transition
    control = det[det["direction"] == "control"]
    assert control["recall"].isna().all()


def test_outputs_from_saved_data(tmp_path):
    out = tmp_path / "data" / "quick"
    out.mkdir(parents=True)
    tracks = _tracks()
    llc = np.flatnonzero(tracks["measure"] == "llc-value-uniform")
    tracks.loc[llc[:9], "value"] = np.nan  # diverged chains: 9 of the LLC estimates
    tracks.to_csv(out / "tracks.csv", index=False)
    cfg = G.settings(True) | {"n_null": 99, "n_permutations": 9}
    timing = {"0": {"train parent_corner": 30.0, "track parent_corner": 60.0}}
    (out / "timing.json").write_text(json.dumps({"settings": cfg, "cpu_seconds": timing}))
    args = types.SimpleNamespace(
        out=tmp_path / "data",
        quick=True,
        figures_only=True,
        figures=tmp_path / "figures",
        tables=tmp_path / "tables",
    )
    S.make_figures(args, {"directions": list(G.DIRECTIONS), "size": G.PPO["size"]})
    macros = (tmp_path / "tables" / "goal_switch_macros.tex").read_text()
    assert "\\newcommand{\\gsSwitchedCheeseToCell}{3 of 3}" in macros
    assert "policy KL" in macros  # the planted detector beats its nulls
    n_llc = int(tracks["measure"].isin(R.LLC_ROWS).sum())
    assert f"\\newcommand{{\\gsDivergedPercent}}{{{100 * 9 / n_llc:.3g}}}" in macros
    assert "LLC value (uniform) 100\\%; LLC action, trunk.res3 only 100\\%" in macros
    assert (tmp_path / "figures" / "goal_switch_curves.pdf").is_file()
    assert "tab:goal-switch-detection" in (tmp_path / "tables" / "goal_switch.tex").read_text()


def test_full_mode_without_data_is_pending(tmp_path, capsys):
    args = types.SimpleNamespace(
        out=tmp_path, quick=False, figures_only=True, figures=tmp_path, tables=tmp_path
    )
    S.make_figures(
        args, {"directions": list(G.DIRECTIONS), "size": G.PPO["size"]}
    )  # no error, nothing written: the prose says the data are pending
    assert "pending" in capsys.readouterr().out
    assert not list(tmp_path.iterdir())


def test_best_llc_against_best_trivial_on_the_same_seeds():
    """The planted policy KL is the best trivial tracker; no LLC (noise) reaches it, so the
    paired F1 difference is negative; three seeds allow no permutation p below 2/8."""
    tracks = _tracks()
    sw = R.switches(tracks)
    det = R.detection(tracks, sw, {"n_null": 99, "n_permutations": 0})
    best = R.best_against_trivial(tracks, sw, det).set_index("direction")
    assert not set(R.CONTROLS) & set(best.index)  # nothing switched there: nothing to compare
    row = best.loc["cheese-to-cell"]
    assert row["trivial"] == "policy KL" and row["llc"].startswith("LLC")
    assert row["difference"] == pytest.approx(row["llc f1"] - row["trivial f1"])
    assert row["difference"] < 0 and row["difference hi"] < 0 and row["seeds"] == 3
    assert row["p (paired permutation)"] >= 0.2


def test_cpu_record_sums_sessions_and_flags_work_it_did_not_see(tmp_path):
    new = G.CpuRecord.load(tmp_path / "parent_corner")
    assert new.complete  # no run folder yet: every second of it will be recorded
    new.add("train", 2.0)
    new.save()
    again = G.CpuRecord.load(tmp_path / "parent_corner")
    again.add("train", 3.0)
    again.save()
    assert G.CpuRecord.load(tmp_path / "parent_corner").seconds["train"] == 5.0
    (tmp_path / "control").mkdir()  # trained before records existed
    assert not G.CpuRecord.load(tmp_path / "control").complete
    G.CpuRecord.load(tmp_path / "killed")  # a session killed before it saved its work
    assert not G.CpuRecord.load(tmp_path / "killed").complete


def test_cpu_costs_fill_untimed_runs_with_the_mean_of_their_kind():
    timing = {
        "0": {"train parent_corner": 10.0, "track parent_corner": 4.0},
        "1": {"train parent_corner": 20.0, "track parent_corner": 6.0},
        "2": {"train parent_corner": 1.0, "track parent_corner": 0.5},
        "3": {"train control": 7.0, "track control": 3.0, "complete control": True},
    }
    timing["2"]["complete parent_corner"] = False
    cpu = S.cpu_costs(timing).set_index(["seed", "run", "part"])
    assert cpu.loc[("2", "parent_corner", "train"), "estimate"] == 15.0
    assert cpu.loc[("2", "parent_corner", "track"), "estimate"] == 5.0
    assert cpu["estimate"].sum() == 10 + 4 + 20 + 6 + 15 + 5 + 7 + 3


def test_llc_verdict_reads_the_paired_interval():
    best = pd.DataFrame(
        {
            "direction": ["corner-to-anywhere", "cheese-to-cell", "anywhere-to-corner"],
            "difference lo": [0.1, -0.4, -0.2],
            "difference hi": [0.5, -0.1, 0.2],
        }
    )
    text = S.llc_verdict(best)
    assert text.startswith("The best LLC beats the best trivial tracker in corner to anywhere;")
    assert "below zero in cheese to cell and includes zero in anywhere to corner." in text
    assert S.llc_verdict(best.iloc[2:]).startswith("In no direction does the best LLC beat")


def test_restart_response_against_the_control_finds_the_planted_reactions():
    """Right after the switch (105k, inside the window) the entropy jumps by 10 and the action
    LLC by 5 in every switched direction, not in the control; the rest is noise of sd 0.05."""
    tracks = _tracks()
    jump = ~tracks["direction"].isin(R.CONTROLS) & (tracks["step"] == 105_000)
    for measure, size in (("state-entropy", 10.0), ("llc-action-uniform", 5.0)):
        tracks.loc[jump & (tracks["measure"] == measure), "value"] += size
    sw = R.switches(tracks)
    sizes = S.response.responses(tracks, sw, R.DETECTORS, R.TOL, R.CONTROL_OF)
    assert set(sizes["direction"]) == set(R.CONTROL_OF)
    summary = S.response.summary(sizes)
    row = summary.set_index(["direction", "detector"]).loc[("cheese-to-cell", "policy entropy")]
    assert row["log ratio lo"] > np.log(10) and row["p (Wilcoxon)"] == pytest.approx(0.25)
    best = S.response.best_pair(sizes, summary).set_index("direction")
    assert list(best.loc["cheese-to-cell", ["llc", "trivial"]]) == [
        "LLC action (uniform)",
        "policy entropy",
    ]
    assert "LLC action (uniform)" in S.response.phrase(best.reset_index().iloc[0])


def test_each_switch_has_the_control_of_its_own_parent():
    switches = {d for d in G.DIRECTIONS if d not in R.CONTROLS}
    assert set(R.CONTROL_OF) == switches and set(R.CONTROLS) <= set(G.DIRECTIONS)
    for direction, control in R.CONTROL_OF.items():
        assert G.DIRECTIONS[direction][0] == G.DIRECTIONS[control][0]
        assert G.DIRECTIONS[control][1] == {}  # a control changes nothing
