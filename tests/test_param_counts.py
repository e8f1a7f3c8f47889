"""Parameter counts against the papers' tables: all 20 entries of Pascanu et al. 2014 Table 1 (weights only,
docs/papers.md §1.2), and Chung et al. 2014 Table 1 under the convention stated in rnnlab/nets/counting.py."""

from __future__ import annotations

import math

import pytest

from rnnlab.nets import build_model, count_params, count_weights

# (task, input/output width, arch, sizes as printed, printed count, exact count from docs/papers.md §1.2's formulas)
PASCANU_TABLE1 = [
    ("Nottingham", 88, "rnn", (600,), "465K", 465_600),
    ("Nottingham", 88, "dts-rnn", (400, 400), "585K", 585_600),
    ("Nottingham", 88, "dots-rnn", (400, 400, 400), "745K", 745_600),
    ("Nottingham", 88, "srnn", (400,), "550K", 550_400),
    ("JSB Chorales", 88, "rnn", (200,), "75K", 75_200),
    ("JSB Chorales", 88, "dts-rnn", (400, 400), "585K", 585_600),
    ("JSB Chorales", 88, "dots-rnn", (400, 400, 400), "745K", 745_600),
    ("JSB Chorales", 88, "srnn", (400,), "550K", 550_400),
    ("MuseData", 88, "rnn", (600,), "465K", 465_600),
    ("MuseData", 88, "dts-rnn", (400, 400), "585K", 585_600),
    ("MuseData", 88, "dots-rnn", (400, 400, 400), "745K", 745_600),
    ("MuseData", 88, "srnn", (600,), "1185K", 1_185_600),
    ("PTB char", 50, "rnn", (600,), "420K", 420_000),
    ("PTB char", 50, "dts-rnn", (400, 400), "540K", 540_000),
    ("PTB char", 50, "dots-rnn", (400, 400, 600), "790K", 790_000),
    ("PTB char", 50, "srnn", (400,), "520K", 520_000),
    ("PTB word", 10_000, "rnn", (200,), "4.04M", 4_040_000),
    ("PTB word", 10_000, "dts-rnn", (200, 200), "6.12M", 6_120_000),
    ("PTB word", 10_000, "dots-rnn", (200, 200, 200), "6.16M", 6_160_000),
    ("PTB word", 10_000, "srnn", (400,), "8.48M", 8_480_000),
]


def printed(count: int, text: str) -> bool:
    """Does ``count`` print as ``text`` when truncated to the table's digits ("465K", "4.04M")?"""
    unit = {"K": 1e3, "M": 1e6}[text[-1]]
    digits = len(text[:-1].split(".")[1]) if "." in text else 0
    return math.floor(count / unit * 10**digits) / 10**digits == float(text[:-1])


def table1_model(n, arch, sizes):
    kwargs = dict(arch=arch, cell="tanh", n_in=n, n_out=n, hidden=sizes[0], nonlinearity="sigmoid",
                  token_input=n == 10_000)
    if arch in ("dts-rnn", "dots-rnn"):
        kwargs["transition_hidden"] = sizes[1]
    if arch == "dots-rnn":
        kwargs["output_hidden"] = sizes[2]
    return build_model(**kwargs)


@pytest.mark.parametrize("task, n, arch, sizes, text, exact", PASCANU_TABLE1,
                         ids=[f"{t}-{a}" for t, _, a, *_ in PASCANU_TABLE1])
def test_pascanu_table1_entry(task, n, arch, sizes, text, exact):
    count = count_weights(table1_model(n, arch, sizes))
    assert count == exact
    assert printed(count, text)


def test_the_twenty_entries_are_all_there():
    assert len(PASCANU_TABLE1) == 20 and len({(t, a) for t, _, a, *_ in PASCANU_TABLE1}) == 20


# Chung et al. 2014 Table 1: (task, input width, our cell, units, printed thousands)
CHUNG_TABLE1 = [
    ("music", 100, "lstm_peephole", 36, 19.8),
    ("music", 100, "gru", 46, 20.2),
    ("music", 100, "tanh", 100, 20.1),
    ("speech", 20, "lstm_peephole", 195, 169.1),
    ("speech", 20, "gru", 227, 168.9),
    ("speech", 20, "tanh", 400, 168.4),
]


@pytest.mark.parametrize("task, n_in, cell, units, thousands", CHUNG_TABLE1,
                         ids=[f"{t}-{c}" for t, _, c, *_ in CHUNG_TABLE1])
def test_chung_table1_under_our_convention(task, n_in, cell, units, thousands):
    """Recurrent layer only, one bias per gate unit, peepholes counted: within one unit of the last printed digit;
    the speech counts (input 20, as the paper states) round exactly to the printed figures."""
    model = build_model(arch="rnn", cell=cell, n_in=n_in, n_out=n_in, hidden=units)
    count = count_params(model.levels, duplicate_biases=False)
    assert abs(count - thousands * 1000) < 100
    if task == "speech":
        assert round(count / 100) == round(thousands * 10)


def test_count_conventions_on_a_small_lstm():
    model = build_model(arch="rnn", cell="lstm", n_in=3, n_out=2, hidden=4)
    assert count_weights(model) == 4 * 4 * 3 + 4 * 4 * 4 + 2 * 4
    assert count_params(model) == count_weights(model) + 2 * 16 + 2
    assert count_params(model, duplicate_biases=False) == count_params(model) - 16
    peephole = build_model(arch="rnn", cell="lstm_peephole", n_in=3, n_out=2, hidden=4)
    assert count_params(peephole) == count_weights(peephole) + 16 + 3 * 4 + 2
