"""The named deep architectures of Pascanu et al. 2014 (arXiv 1312.6026, §3.3, Fig. 2, Table 1).

Each preset fixes which of the deep constructions is active; every one combines with every cell
(``arch="dts-rnn", cell="gru"`` is a DT(S)-GRU, ``arch="srnn", cell="mut1"`` a stacked MUT1).

``ARCHS`` is the one list of presets: ``model_config`` (the rules of each construction's knobs), ``rnnlab archs``,
the construction diagrams (:mod:`rnnlab.viz.cells_view`) and the composer (:mod:`rnnlab.viz.cells_widget`) all ask
it, so a new preset is one line here (a new combination of the constructions below; a new construction also needs
its layers in ``rnnlab.nets`` and its drawing in ``rnnlab.viz.cells_view``).
"""

from __future__ import annotations

from dataclasses import dataclass

CONSTRUCTIONS = ("deep_transition", "shortcut", "deep_output", "stacked")
"""The deep constructions a preset may turn on: the boolean fields of :class:`Arch`, in Pascanu's order."""

DEPTH_KNOBS = {"deep_transition": "transition_depth", "deep_output": "output_depth", "stacked": "levels"}
"""The model knob (:data:`rnnlab.nets.knobs.MODEL_KNOBS`) that sets the depth of each construction; a preset
without the construction leaves its knob at 1. The shortcut has no depth of its own: it needs a deep transition."""


@dataclass(frozen=True)
class Arch:
    """Which constructions a preset turns on; ``label`` is how figures and tables title it (``DT(S)-RNN``)."""

    name: str
    title: str
    deep_transition: bool = False
    shortcut: bool = False
    deep_output: bool = False
    stacked: bool = False
    label: str = ""

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", self.name.upper())

    @property
    def constructions(self) -> dict[str, bool]:
        """``{construction: on}`` for every one of :data:`CONSTRUCTIONS`."""
        return {flag: getattr(self, flag) for flag in CONSTRUCTIONS}


ARCHS: dict[str, Arch] = {
    "rnn": Arch("rnn", "conventional RNN (Pascanu Eq. 4-5)"),
    "dt-rnn": Arch("dt-rnn", "deep transition", deep_transition=True),
    "dts-rnn": Arch("dts-rnn", "deep transition with shortcut, DT(S)", deep_transition=True, shortcut=True,
                    label="DT(S)-RNN"),
    "do-rnn": Arch("do-rnn", "deep output", deep_output=True),
    "dot-rnn": Arch("dot-rnn", "deep transition + deep output", deep_transition=True, deep_output=True),
    "dots-rnn": Arch(
        "dots-rnn", "deep transition with shortcut + deep output, DOT(S)", deep_transition=True, shortcut=True,
        deep_output=True, label="DOT(S)-RNN",
    ),
    "srnn": Arch("srnn", "stacked RNN, output from the top level", stacked=True, label="sRNN"),
}


def arch_with(**constructions: bool) -> str | None:
    """The preset whose constructions are exactly ``constructions`` (those not given: off), or None."""
    wanted = {flag: bool(constructions.get(flag, False)) for flag in CONSTRUCTIONS}
    return next((name for name, arch in ARCHS.items() if arch.constructions == wanted), None)
