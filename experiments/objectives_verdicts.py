"""The qualitative sentences of the objectives section (``objectives_report``), decided from
the intervals of its macros, so the prose cannot claim what the data of its mode do not show."""

from __future__ import annotations

import numpy as np

from devrl.paper.verdicts import above, below, separated


def verdicts(m: dict) -> dict[str, str]:
    """The section's qualitative sentences, decided from the intervals (no number in them),
    so the prose cannot claim what the data of its mode do not show."""
    v = {}
    if above(m, "objOrthoCells"):
        v["ObjOrthoVerdict"] = "positive on average, and"
    elif below(m, "objOrthoCells"):
        v["ObjOrthoVerdict"] = "negative on average, and"
    else:
        v["ObjOrthoVerdict"] = "not distinguishable from zero on average, but"
    # the patch against MA retrained, and against its random edit paired by target
    refs = {"MA retrained": "objPatchOwn", "the random edit": "objPatchVsRandom"}
    away = [name for name, key in refs.items() if below(m, key)]
    toward = [name for name, key in refs.items() if above(m, key)]
    if len(away) == 2:
        v["ObjPatchVerdict"] = (
            "The patch leans away from its own cell against both MA retrained and the random "
            "edit: the negative result does not reproduce here."
        )
    elif away and not toward:
        v["ObjPatchVerdict"] = (
            f"The patch leans away from its own cell against {away[0]} but not against the "
            f"other reference: a weak lean at most, so Jozdien's negative result reproduces "
            "only in part."
        )
    elif toward:
        v["ObjPatchVerdict"] = (
            f"Against {' and '.join(toward)} the patch leans toward its own cell, the opposite "
            "of the hoped-for direction: Jozdien's negative result reproduces."
        )
    else:
        v["ObjPatchVerdict"] = (
            "Neither interval excludes zero: Jozdien's negative result reproduces."
        )
    v["ObjCompetenceVerdict"] = (
        "The retraining did not restore the patched agents' competence (their success stays "
        "below MA retrained's), so the patch was scored on agents that had not recovered, a "
        "weaker test than the one Jozdien describes."
        if below(m, "objArmPatch", m["objArmMaRetrainedLow"])
        else "The retraining restored the patched agents' competence to MA retrained's level."
    )
    v["ObjMbVerdict"] = (
        "the fine-tunes moved the agent toward its cell."
        if above(m, "objMbVisit")
        else "within this budget the fine-tunes did not measurably move the agent toward its "
        "cell on this distribution, which bounds what any edit built from them can show."
    )
    v["ObjShareVerdict"] = (
        "specific to its target" if m["objShareLast"] > 0.5 else "shared by every target"
    )
    if m["objDecodeP"] <= 0.05 and above(m, "objDecode", m["objDecodeNull"]):
        v["ObjDecodeVerdict"] = "Decoding beats its null in every MA seed."
    else:
        v["ObjDecodeVerdict"] = (
            "Decoding does not beat its null: read linearly, the specific part does not name a "
            "held-out target. (The exact tabular model of the theory paragraph decodes held-out "
            "targets from a uniform policy but not from a saturated one.)"
        )
    t = above(m, "objTransplantDiff")
    n = below(m, "objNegationDiff")
    v["ObjEditVerdict"] = {
        (True, True): "Both edits beat the random direction: the specific part writes the "
        "objective in and, negated, writes it out.",
        (True, False): "The transplant beats the random direction; the negation does not "
        "make the agent avoid its cell beyond the random edit.",
        (False, True): "The negation beats the random direction; the transplant does not.",
        (False, False): "Neither edit beats the random direction of equal size.",
    }[t, n]
    overlap = not (
        separated(m, "objTransplantKAll", "objTransplantKTwo")
        or separated(m, "objTransplantKTwo", "objTransplantKAll")
    )
    v["ObjKVerdict"] = (
        "The intervals overlap: at these sizes averaging over more rewards does not measurably "
        "change the transplant."
        if overlap
        else (
            "Averaging over more rewards strengthens the transplant."
            if m["objTransplantKAll"] > m["objTransplantKTwo"]
            else "Averaging over more rewards weakens the transplant."
        )
    )
    if above(m, "objRank", m["objRankNull"]) and separated(m, "objRank", "objRankRandom"):
        v["ObjMapVerdict"] = (
            "The specific parts concentrate on the dense-layer inputs of their own target "
            "cell, beyond random directions: the stored target has a place in the weights."
        )
    else:
        v["ObjMapVerdict"] = (
            "The specific parts show no preference for their target's input position beyond "
            "random directions."
        )
    early = (
        "Already at the random-weight network the transplant beats its random direction, so "
        "on this measure the network does not wait for competence to become objective-editable. "
        if above(m, "objTrackTransplantFirst")
        else "At the random-weight network the transplant does not beat its random direction. "
    )
    v["ObjTrackVerdict"] = early + (
        "The editing measures exist only at the fine-tuned checkpoints, too few for a "
        "functional form; forms are fitted to MA's dense success and LLC curves."
    )
    v["ObjNegRetrainVerdict"] = (
        "Retrained on the cheese, the negated specific part avoids its own cell beyond its "
        "random direction."
        if below(m, "objNegRetrainDiff")
        else "Retrained on the cheese, the negated specific part does not avoid its own cell "
        "beyond its random direction."
    )
    p_s, p_l = m["objRhoSuccessP"], m["objRhoLlcP"]
    if not (np.isfinite(p_s) and np.isfinite(p_l)):
        v["ObjRelationVerdict"] = (
            "With one MA seed there is no seed-shuffled null: these correlations only "
            "describe this run."
        )
    else:
        beats = [name for name, p in (("success", p_s), ("the LLC", p_l)) if p <= 0.05]
        v["ObjRelationVerdict"] = (
            f"The correlation with {' and with '.join(beats)} beats the seed-shuffled null."
            if beats
            else "Neither correlation beats the seed-shuffled null: every seed's curves rise "
            "together, so pairing a seed's editability with another seed's success or LLC "
            "correlates as well."
        )
    return v
