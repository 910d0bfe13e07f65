"""Item 7 of the objectives experiment: editability over MA's training, against its LLC.

Why: "when does the network become objective-editable?" is answered by relating the
editing measures at a few fine-tuned checkpoints to MA's own dense curves (success and the
LLC section's estimator): halfway onsets and their lags behind success, and functional
forms where a curve has enough checkpoints.
"""

from __future__ import annotations

import pandas as pd

from devrl.forms import compare_curves, halfway_onsets, onset_lags

__all__ = ["EDITABILITY", "LLC", "over_training", "with_llc"]

LLC = "llc-action-uniform"
"""MA's LLC row: the action likelihood on uniform states."""
EDITABILITY = (
    "decoding_specific",
    "transplant_minus_random",
    "negation_minus_random",
    "position_rank",
    "specific_share",
)
"""The track's measures whose onsets and relations item 7 reports."""


def with_llc(track_frame: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """The editability track plus MA's LLC at the same checkpoints (measure ``ma_llc``)."""
    llc = curves[curves["measure"] == LLC]
    rows = (
        track_frame[["run", "seed", "step"]]
        .drop_duplicates()
        .merge(llc[["seed", "step", "value", "stderr"]], on=["seed", "step"], how="inner")
    )
    rows = rows.assign(
        measure="ma_llc",
        low=rows["value"] - 1.96 * rows["stderr"],
        high=rows["value"] + 1.96 * rows["stderr"],
        n=1,
    ).drop(columns="stderr")
    return pd.concat([track_frame, rows[track_frame.columns]], ignore_index=True)


def over_training(
    track_frame: pd.DataFrame, curves: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Item 7 over training: halfway onsets of MA's success, its LLC and the editability
    measures (each needs 4 checkpoints after step 0), their log10 lags behind success, and
    the functional forms of each curve with at least 5 checkpoints after step 0."""
    dense = curves[curves["measure"].isin(["success", LLC])].replace(
        {"measure": {"success": "ma_success", LLC: "ma_llc"}}
    )
    sparse = track_frame[track_frame["measure"].isin(EDITABILITY)]
    # the track's interval is a t interval over targets: half-width / 1.96 as a stderr (an
    # overestimate, as t quantiles exceed 1.96: a curve must move more to count as moving)
    sparse = sparse.assign(stderr=(sparse["high"] - sparse["low"]) / 3.92)
    both = pd.concat(
        [
            dense[["run", "seed", "step", "measure", "value", "stderr"]],
            sparse[["run", "seed", "step", "measure", "value", "stderr"]],
        ],
        ignore_index=True,
    ).sort_values(["run", "measure", "step"], ignore_index=True)
    onsets = halfway_onsets(both, ["ma_success", "ma_llc", *EDITABILITY])
    has_success = onsets.loc[onsets["measure"] == "ma_success", "onset"].notna().any()
    lags = (
        onset_lags(onsets, "ma_success")
        if has_success
        else pd.DataFrame(columns=["measure", "runs", "mean_log10_lag", "low", "high"])
    )
    forms = compare_curves(both, ["ma_success", "ma_llc", *EDITABILITY])
    return onsets, lags, forms
