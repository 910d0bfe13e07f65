"""experiments/objectives_report.py: the pending flag without data, and verdicts from intervals."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

_PATH = Path(__file__).parents[2] / "experiments" / "objectives_report.py"
_spec = importlib.util.spec_from_file_location("objectives_experiment", _PATH)
S = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(S)


def test_without_data_only_the_pending_flag_is_written(tmp_path):
    args = SimpleNamespace(out=tmp_path / "data", tables=tmp_path / "t", figures=tmp_path / "f")
    S.make_outputs(args)
    text = (tmp_path / "t" / "objectives_macros.tex").read_text()
    assert "\\newcommand{\\objPending}{yes}" in text
    assert sum(line.startswith("\\newcommand") for line in text.splitlines()) == 1
    assert not (tmp_path / "f").exists()  # no figure drawn from absent data


def _m(**over):
    m = {}
    triples = {k: v for k, v in over.items() if isinstance(v, tuple)}
    for key, (est, lo, hi) in {
        "objOrthoCells": (0.05, -0.1, 0.2),
        "objPatchOwn": (0.0, -0.1, 0.1),
        "objMbVisit": (0.2, 0.1, 0.3),
        "objRandomOwn": (0.0, -0.1, 0.1),
        "objPatchVsRandom": (0.0, -0.1, 0.1),
        "objArmPatch": (0.3, 0.2, 0.4),
        "objArmMaRetrained": (0.97, 0.95, 0.99),
        "objTransplantDiff": (0.3, 0.1, 0.5),
        "objNegationDiff": (0.0, -0.1, 0.1),
        "objTransplantKAll": (0.3, 0.2, 0.4),
        "objTransplantKTwo": (0.1, 0.0, 0.15),
        "objDecode": (0.2, 0.1, 0.3),
        "objRank": (0.9, 0.8, 1.0),
        "objRankRandom": (0.5, 0.4, 0.6),
        "objTrackTransplantFirst": (0.2, 0.1, 0.3),
        "objNegRetrainDiff": (-0.2, -0.3, -0.1),
        **triples,
    }.items():
        m[key], m[f"{key}Low"], m[f"{key}High"] = est, lo, hi
    return m | {
        "objShareLast": 0.7,
        "objDecodeP": 0.3,
        "objDecodeNull": 0.2,
        "objRankNull": 0.5,
        "objRhoSuccessP": 0.01,
        "objRhoLlcP": 0.4,
        **{k: v for k, v in over.items() if not isinstance(v, tuple)},
    }


def test_verdicts_follow_the_intervals():
    v = S.verdicts(_m())
    assert "reproduces" in v["ObjPatchVerdict"]
    assert v["ObjOrthoVerdict"].startswith("not distinguishable from zero")
    assert v["ObjCompetenceVerdict"].startswith("The retraining did not restore")
    recovered = S.verdicts(_m(objArmPatch=(0.96, 0.94, 0.98)))["ObjCompetenceVerdict"]
    assert recovered.startswith("The retraining restored")
    assert v["ObjEditVerdict"].startswith("The transplant beats")
    assert v["ObjKVerdict"].startswith("Averaging over more rewards strengthens")
    assert "does not beat its null" in v["ObjDecodeVerdict"]
    assert v["ObjMapVerdict"].startswith("The specific parts concentrate")
    assert v["ObjShareVerdict"] == "specific to its target"
    assert v["ObjMbVerdict"].startswith("the fine-tunes moved")
    assert v["ObjTrackVerdict"].startswith("Already at the random-weight network")
    assert v["ObjNegRetrainVerdict"].startswith(
        "Retrained on the cheese, the negated specific part avoids"
    )
    assert v["ObjRelationVerdict"] == "The correlation with success beats the seed-shuffled null."
    weak = S.verdicts(_m(objPatchVsRandom=(-0.05, -0.08, -0.02)))["ObjPatchVerdict"]
    assert "against the random edit but not against the other" in weak
    assert "reproduces only in part" in weak
    toward = S.verdicts(_m(objPatchVsRandom=(0.16, 0.01, 0.3)))["ObjPatchVerdict"]
    assert toward.startswith("Against the random edit the patch leans toward its own cell")
    v = S.verdicts(
        _m(
            objPatchOwn=(-0.3, -0.4, -0.2),
            objPatchVsRandom=(-0.3, -0.4, -0.2),
            objRank=(0.55, 0.45, 0.65),
        )
    )
    assert "does not reproduce" in v["ObjPatchVerdict"]
    assert "no preference" in v["ObjMapVerdict"]
    assert S.verdicts(_m(objOrthoCells=(0.2, 0.15, 0.25)))["ObjOrthoVerdict"].startswith("positive")
    for text in v.values():
        assert not any(ch.isdigit() for ch in text)  # verdicts carry no numbers
    v = S.verdicts(_m(objNegRetrainDiff=(0.0, -0.1, 0.1), objRhoSuccessP=float("nan")))
    assert "does not avoid" in v["ObjNegRetrainVerdict"]
    assert v["ObjRelationVerdict"].startswith("With one MA seed")
