"""The experiment scripts' shared parser: quick runs never write over the full paper."""

from pathlib import Path

from devrl.paper import experiment_parser


def test_quick_moves_the_default_outputs_under_paper_quick():
    parser = experiment_parser("demo", "demo")
    full, quick = parser.parse_args([]), parser.parse_args(["--quick"])
    assert (full.figures, full.tables) == (Path("paper/figures"), Path("paper/tables"))
    assert (quick.figures, quick.tables) == (
        Path("paper/quick/figures"),
        Path("paper/quick/tables"),
    )
    assert full.out == quick.out == Path("paper/data/demo")  # data_dir splits quick/full


def test_explicit_outputs_are_kept():
    args = experiment_parser("demo", "demo").parse_args(
        ["--quick", "--figures", "f", "--tables", "t"]
    )
    assert (args.figures, args.tables) == (Path("f"), Path("t"))
