"""Regenerate the paper from data: rerun experiments, redraw figures, rewrite LaTeX.

Each paper section is one experiment script in ``experiments/`` plus a hand-written
prose file ``paper/sections/<name>.tex``. Scripts share one command-line convention
(:func:`experiment_parser`): they write data under ``--out``, figures under
``--figures`` and LaTeX tables/macros under ``--tables``, so every number in the
paper is computed, never typed.
"""

from devrl.paper.build import SECTIONS, Section, build_paper, write_main_tex
from devrl.paper.script import (
    count_phrase,
    data_dir,
    experiment_parser,
    interval_text,
    llc_calibration,
    number_latex,
    save_figure,
    share_phrase,
    write_macros,
    write_table,
)

__all__ = [
    "SECTIONS",
    "Section",
    "build_paper",
    "count_phrase",
    "data_dir",
    "experiment_parser",
    "interval_text",
    "llc_calibration",
    "number_latex",
    "save_figure",
    "share_phrase",
    "write_macros",
    "write_main_tex",
    "write_table",
]
