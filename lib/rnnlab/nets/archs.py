"""The named deep architectures of Pascanu et al. 2014 (arXiv 1312.6026, §3.3, Fig. 2, Table 1).

Each preset fixes which of the deep constructions is active; every one combines with every cell
(``arch="dts-rnn", cell="gru"`` is a DT(S)-GRU, ``arch="srnn", cell="mut1"`` a stacked MUT1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Arch:
    """Which constructions a preset turns on."""

    name: str
    title: str
    deep_transition: bool = False
    shortcut: bool = False
    deep_output: bool = False
    stacked: bool = False


ARCHS: dict[str, Arch] = {
    "rnn": Arch("rnn", "conventional RNN (Pascanu Eq. 4-5)"),
    "dt-rnn": Arch("dt-rnn", "deep transition", deep_transition=True),
    "dts-rnn": Arch("dts-rnn", "deep transition with shortcut, DT(S)", deep_transition=True, shortcut=True),
    "do-rnn": Arch("do-rnn", "deep output", deep_output=True),
    "dot-rnn": Arch("dot-rnn", "deep transition + deep output", deep_transition=True, deep_output=True),
    "dots-rnn": Arch(
        "dots-rnn", "deep transition with shortcut + deep output, DOT(S)", deep_transition=True, shortcut=True,
        deep_output=True,
    ),
    "srnn": Arch("srnn", "stacked RNN, output from the top level", stacked=True),
}
