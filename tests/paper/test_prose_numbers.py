"""Every number in the paper's prose comes from a generated macro.

A number typed into ``paper/sections/*.tex`` is true of one run and false of the next (the
quick paper read "sixteen seeds" over four-seed data). This test strips what may carry
digits without making a claim (citations, labels, references, file names, figure
options, macros) and a short allow-list of notation, then fails on any digit left and on
counts written as words ("sixteen seeds").
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = sorted((ROOT / "paper" / "sections").glob("*.tex"))

#: What carries digits without claiming a number: comments, citation keys, labels and
#: references, inputs, environments, file names in \texttt, figure options; then macros.
_STRIP = [
    r"(?<!\\)%.*",
    r"\\(?:cite[pt]?|ref|eqref|label|input|include|begin|end|texttt|url)\s*(?:\[[^\]]*\])?\{[^{}]*\}",
    r"\\includegraphics\s*(?:\[[^\]]*\])?\{[^{}]*\}",
    r"theory/[\w\\/.]+\.md",  # file pointers
]
#: The allow-list: notation, not claims.
ALLOWED = [
    r"\$[4-6]\^",  # $4^+$, $5^{+}$: phase names (before the exponents go)
    r"\\[td]?frac\d\d",  # \frac12, \tfrac12
    r"[\^_]\{[^{}$]*\}",  # exponents and subscripts: ^{-1}, _{10}, _{j-1}, ^{++}
    r"(?<![\d.])[\^_]\d",  # x^2, w_0 (not 10^6: the 10 is still a claim)
    r"\b[4-6]-(?= or [4-6]-gon)",  # "5- or 6-gon" (before the k-gon names take the 6-gon)
    r"\b[4-6]-gon",  # k-gon names
    r"\bF1 score",  # the name of a statistic
    r"\\?mathcal\{N\}\(0,|N\(0,",  # a mean-zero Gaussian
    r"\\mathbb\{?R\}?\^?",  # spaces
    r"\b95\\%",  # the confidence level of every interval (a convention, not a finding)
    r"\b5\\% level",  # the level of every test, the same convention from the other side
    r"\\[A-Za-z]+",  # macros: generated numbers and commands
]
#: Facts that define the setting (network shape, reward), the same in every run.
DEFINITIONS = {
    "maze_baseline.tex": [
        r"$3\times3$ convolution",
        "stride-2 convolution",
        "reward $+1$",
        "scores 0 and 1 on these, a pure cheese-seeker 1 and 0",  # the ideal seekers' values
        "actions down to\n0.005 stay visible",  # a drawing threshold of the figure
    ],
    "tms_rl.tex": [
        "$c=6$",
        "$m=2$",
        r"$a\in\mathbb R^6$",
        r"$[1,\mathbb 1\{x_j>0\},x_j,x_j^2]$",  # the critic's features
        r"$\|a-f_w(x)\|^2/(2\sigma^2)$",  # the action likelihood's definition
        r"$2\sigma^2\cdot",  # its nβ, scaled to the TMS loss's units
    ],
    # the two fixed initialisations of the resampling design, named by their seeds
    "tms_sgd.tex": ["seed 0's", "seed 1's"],
    # Emmons' question names the maze size; L1 is the name of a penalty
    "shards.tex": [r"$13\times13$", "L1"],
    # probe shapes, the stride-2 grid and the horizons N whose results are named
    "lookahead.tex": [
        r"$3\times3$",
        r"$1\times1$",
        "stride-2",
        r"$N\in\{1,2,4,8,16\}$",
        "$N=1$",
        "$N=4$",
        "$N=16$",
        "$N=8$",
    ],
}
_COUNT_WORDS = (
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
    r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|hundred|thousand)"
    r"\s+(?:seeds|runs|jumps|contexts|checkpoints|episodes|agents|replicates|epochs"
    r"|samples|chains|draws)\b"
)


def claims(text: str, name: str = "") -> list[str]:
    """Digit-bearing tokens of ``text`` that are not macros, references or notation."""
    for definition in DEFINITIONS.get(name, []):
        text = text.replace(definition, " ")
    for pattern in _STRIP + ALLOWED:
        text = re.sub(pattern, " ", text)
    return re.findall(r"[\w.+\-/]*\d[\w.\-/]*", text)


def count_words(text: str) -> list[str]:
    """Counts written as words before a countable noun ("sixteen seeds"), and nouns whose
    number is left open ("\\mazeSeeds{} seed(s)": the count's phrase macro says it)."""
    text = re.sub(_STRIP[0], " ", text)
    words = [m.group() for m in re.finditer(_COUNT_WORDS, text, flags=re.IGNORECASE)]
    return words + re.findall(r"(?<![\w\\^_])[A-Za-z]{2,}\(s\)", text)  # not v_w(s)


def test_the_scanner_finds_claims_and_spares_notation():
    prose = (
        r"We train 16 seeds for $4.5\times10^6$ contexts (batch \tmsBatch, lr $10^{-3}$) "
        r"on a 4-gon and a $5^+$-gon, loss $\frac12\|x\|^2$ with $w_{j-1}$; "
        r"see Figure~\ref{fig:a1} \cite{chen2023tms} and theory/tms\_rl.md. % 99 comment"
    )
    assert claims(prose) == ["16", "4.5", "10", "6", "10"]
    assert claims("finds a 5- or 6-gon; its F1 score; 5 of 16") == ["5", "16"]
    assert count_words("Sixteen seeds, three residual blocks, all sixteen jumps") == [
        "Sixteen seeds",
        "sixteen jumps",
    ]
    assert count_words(r"on \mazeSeeds{} seed(s), $v_w(s)$, $V(s)$") == ["seed(s)"]


def test_every_definition_on_the_allow_list_is_still_in_its_section():
    """A stale entry would silently allow the same text to come back as a claim."""
    for name, definitions in DEFINITIONS.items():
        text = (ROOT / "paper" / "sections" / name).read_text()
        assert all(d in text for d in definitions), f"{name}: drop stale DEFINITIONS entries"


@pytest.mark.parametrize("path", SECTIONS, ids=lambda p: p.name)
def test_section_numbers_are_macros(path):
    text = path.read_text()
    found = claims(text, path.name)
    assert not found, (
        f"{path.name} types numbers {sorted(found)}: write them as macros from "
        "the experiment's script (devrl.paper.write_macros; count_phrase for counts)"
    )
    assert not count_words(text), f"{path.name} types counts {count_words(text)}: use macros"


@pytest.mark.parametrize("tables", ["tables", "quick/tables"])
def test_every_macro_the_prose_uses_is_generated(tables):
    defined = set()
    for path in (ROOT / "paper" / tables).glob("*_macros.tex"):
        defined |= set(re.findall(r"\\newcommand\{\\(\w+)\}", path.read_text()))
    for path in SECTIONS:
        if not (ROOT / "paper" / tables / f"{path.stem}_macros.tex").is_file():
            continue  # no data in this mode: the builder leaves the section out
        used = set(re.findall(r"\\((?:maze|llc|forms|tms|la)[A-Z]\w*)", path.read_text()))
        assert not used - defined, f"{path.name} uses undefined macros {sorted(used - defined)}"
