"""Planted-truth validation of devrl.forms: form selection and interval coverage.

For every built-in form, draw noisy curves from its reference parameters
(devrl.forms.synthetic.TRUTH) at several signal-to-noise ratios, rank all default
forms by AICc and BIC, and fit the true form with 95% intervals. Writes

  <out>/runs.csv      one row per replicate (winners, coverage per parameter)
  <out>/summary.csv   selection accuracy and coverage per form, SNR and length
  <out>/summary.png   the same as a figure

Deterministic given --seed. Usage:
  python experiments/forms_validation.py [--quick] [--reps 40] [--snr 10 20 50 100] [--jobs 1]
"""

from __future__ import annotations

import itertools
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from devrl import progress
from devrl.forms.synthetic import TRUTH, summarize, validate_form
from devrl.paper import experiment_parser, write_macros, write_table

LEVEL = 0.95  # nominal level of the fitted intervals
TARGET = 0.9  # share of curves on which the true form should win


def _one(job):
    form, snr, n, reps, seed, ci = job
    return validate_form(form, snr=snr, n=n, reps=reps, seed=seed, ci=ci, level=LEVEL)


def plot_summary(summary: pd.DataFrame, path: Path) -> None:
    """Selection accuracy (AICc, BIC) and coverage per form: one marker per SNR, side by side
    at each (categorical) form, with 95% Wilson intervals over the repetitions."""
    from statsmodels.stats.proportion import proportion_confint

    fig, axes = plt.subplots(1, 3, figsize=(6.5, 3.3), sharey=True)
    forms = list(dict.fromkeys(summary["form"]))
    groups = list(summary.groupby(["snr", "n"]))
    width = 0.7 / len(groups)
    for k, ((snr, n), g) in enumerate(groups):
        g = g.set_index("form").reindex(forms)
        y = np.arange(len(forms)) + (k - (len(groups) - 1) / 2) * width
        for ax, col in zip(axes, ["acc_aicc", "acc_bic", "coverage"]):
            lo, hi = proportion_confint(g[col] * g["reps"], g["reps"], method="wilson")
            xerr = np.clip(np.vstack([g[col] - lo, hi - g[col]]), 0, None)  # rounding at 0, 1
            ax.errorbar(
                g[col],
                y,
                xerr=xerr,
                fmt="o",
                ms=2.5,
                elinewidth=0.6,
                capsize=0,
                label=f"SNR {snr:g}, n={n}",
            )
    for ax, xlabel, ref in zip(
        axes,
        [
            "true form wins by AICc\n(fraction of repetitions)",
            "true form wins by BIC\n(fraction of repetitions)",
            f"{LEVEL:.0%} CI coverage (fraction of\nrepetitions, mean over parameters)",
        ],
        [TARGET, TARGET, LEVEL],
    ):
        ax.axvline(ref, color="0.5", ls="--", lw=0.8)
        ax.set_xlabel(xlabel, fontsize=7)
        ax.set_xlim(0, 1.02)
        ax.set_yticks(np.arange(len(forms)), forms, fontsize=7)
        ax.set_yticks(np.arange(len(forms) - 1) + 0.5, minor=True)
        ax.grid(axis="y", which="minor", color="0.85", lw=0.5)
        ax.tick_params(axis="y", which="minor", length=0)
        ax.tick_params(axis="x", labelsize=7)
    axes[0].invert_yaxis()  # forms top to bottom in the table's order
    axes[0].set_ylabel("true form", fontsize=7)
    axes[2].set_xlim(min(0.6, axes[2].dataLim.x0 - 0.01), 1.01)  # no error bar cut off
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(groups), frameon=False, fontsize=7)
    fig.tight_layout(rect=(0, 0, 1, 0.94), w_pad=0.8)
    fig.savefig(path, dpi=150)
    plt.close(fig)


NAME = "forms_validation"


def run_experiment(args) -> None:
    """Fit every form to planted-truth curves and save per-replicate and summary tables."""
    jobs = [
        (f, s, n, args.reps, args.seed, args.ci)
        for f, s, n in itertools.product(args.forms, args.snr, args.n)
    ]
    shown = {"desc": "forms_validation fits", "total": len(jobs), "unit": "cell"}
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as ex:
            parts = list(progress(ex.map(_one, jobs), **shown))
    else:
        parts = list(progress(map(_one, jobs), **shown))
    runs = pd.concat(parts, ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(args.out / "runs.csv", index=False)
    summarize(runs).to_csv(args.out / "summary.csv", index=False)


def make_figures(args) -> None:
    """Figure, LaTeX table and macros from the saved summary only."""
    summary = pd.read_csv(args.out / "summary.csv")
    args.figures.mkdir(parents=True, exist_ok=True)
    plot_summary(summary, args.figures / f"{NAME}.png")
    plot_summary(summary, args.figures / f"{NAME}.pdf")
    table = summary[
        ["form", "snr", "n", "reps", "acc_aicc", "acc_bic", "coverage", "coverage_min"]
    ].rename(columns={"coverage_min": "worst_param_coverage"})
    write_table(
        args.tables / f"{NAME}.tex",
        table,
        caption="Planted-truth validation of devrl.forms: fraction of curves on which "
        "the true form wins among all default forms by AICc and by BIC, and the "
        "coverage of nominal 95\\% profile-likelihood intervals (mean over "
        "parameters, and the worst parameter).",
        label="tab:forms-validation",
    )
    runs = pd.read_csv(args.out / "runs.csv")
    cov_cols = [c for c in runs.columns if c.startswith("cover_")]
    pooled = float(runs[cov_cols].stack().mean()) if cov_cols else float("nan")
    write_macros(
        args.tables / f"{NAME}_macros.tex",
        {
            "formsReps": int(summary["reps"].iloc[0]),
            "formsPoints": ", ".join(str(n) for n in sorted(summary["n"].unique())),
            "formsLevel": f"{LEVEL:.0%}".replace("%", "\\%"),
            "formsTarget": f"{TARGET:.0%}".replace("%", "\\%"),
            "formsAccAiccMin": float(summary["acc_aicc"].min()),
            "formsAccBicMin": float(summary["acc_bic"].min()),
            "formsAccBicMedian": float(summary["acc_bic"].median()),
            "formsCoverageMean": float(summary["coverage"].mean()),
            "formsCoveragePooled": pooled,
        },
    )
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


def main(argv=None) -> int:
    p = experiment_parser(__doc__.splitlines()[0], NAME)
    p.add_argument("--reps", type=int, default=40, help="curves per form and SNR")
    p.add_argument("--snr", type=float, nargs="+", default=[10.0, 20.0, 50.0, 100.0])
    p.add_argument("--n", type=int, nargs="+", default=[64], help="points per curve")
    p.add_argument("--forms", nargs="+", default=list(TRUTH))
    p.add_argument("--ci", default="profile", help="interval method: profile, wald, bootstrap")
    p.add_argument("--jobs", type=int, default=2, help="worker processes")
    args = p.parse_args(argv)
    if args.quick:  # quick runs live apart so they never overwrite the full runs' data
        args.reps, args.snr = 12, [20.0, 50.0]
        args.out = args.out / "quick"
    if not args.figures_only:
        run_experiment(args)
    make_figures(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
