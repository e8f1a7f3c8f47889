"""Published numbers of the three papers, transcribed from docs/papers.md: the model sizes of Pascanu's and Chung's
Table 1 (``PASCANU_TABLE1``, ``CHUNG_TABLE1``; rebuilt and counted by :mod:`rnnlab.viz.paper_tables`), Jozefowicz's
orderings of its Table 1 (``JOZEFOWICZ_ORDERINGS``) and every published result as one table (:func:`paper_results`).

Each row: paper, table, dataset, arch, cell, variant, split, metric, value. Our dataset/arch/cell ids are used, so a
run's summary can be joined to the paper's number. Pascanu's models use logistic-sigmoid tanh-cells ("tanh" cell
with nonlinearity sigmoid); Chung's LSTM has peepholes (``lstm_peephole``) and its GRU is the paper form (``gru``).
Dataset names and their metrics are the registry's (:data:`rnnlab.data.DATASETS`): every dataset named here must be
a registered paper dataset (not a stand-in), which :func:`paper_results` checks.
"""

from __future__ import annotations

import pandas as pd

from rnnlab.data import DATASETS

# (task, n_in = n_out, arch, sizes (hidden, transition_hidden, output_hidden), printed count); docs/papers.md §1.3;
# printed weight counts, truncated.
PASCANU_TABLE1 = (
    ("Nottingham", 88, "rnn", (600,), "465K"), ("Nottingham", 88, "dts-rnn", (400, 400), "585K"),
    ("Nottingham", 88, "dots-rnn", (400, 400, 400), "745K"), ("Nottingham", 88, "srnn", (400,), "550K"),
    ("JSB Chorales", 88, "rnn", (200,), "75K"), ("JSB Chorales", 88, "dts-rnn", (400, 400), "585K"),
    ("JSB Chorales", 88, "dots-rnn", (400, 400, 400), "745K"), ("JSB Chorales", 88, "srnn", (400,), "550K"),
    ("MuseData", 88, "rnn", (600,), "465K"), ("MuseData", 88, "dts-rnn", (400, 400), "585K"),
    ("MuseData", 88, "dots-rnn", (400, 400, 400), "745K"), ("MuseData", 88, "srnn", (600,), "1185K"),
    ("PTB char", 50, "rnn", (600,), "420K"), ("PTB char", 50, "dts-rnn", (400, 400), "540K"),
    ("PTB char", 50, "dots-rnn", (400, 400, 600), "790K"), ("PTB char", 50, "srnn", (400,), "520K"),
    ("PTB word", 10000, "rnn", (200,), "4.04M"), ("PTB word", 10000, "dts-rnn", (200, 200), "6.12M"),
    ("PTB word", 10000, "dots-rnn", (200, 200, 200), "6.16M"), ("PTB word", 10000, "srnn", (400,), "8.48M"),
)

# Chung et al. 2014, Table 1: (task, unit, our cell, units, input width, printed thousands); see rnnlab.nets.counting
# for the convention (recurrent layer only, one bias per gate unit; music input width 100 is our inference).
CHUNG_TABLE1 = (
    ("music", "LSTM", "lstm_peephole", 36, 100, 19.8), ("music", "GRU", "gru", 46, 100, 20.2),
    ("music", "tanh", "tanh", 100, 100, 20.1), ("speech", "LSTM", "lstm_peephole", 195, 20, 169.1),
    ("speech", "GRU", "gru", 227, 20, 168.9), ("speech", "tanh", "tanh", 400, 20, 168.4),
)

# Jozefowicz et al. 2015's findings on its Table 1, as (left, ">" or ">=", right) on a task's best accuracy: the forget
# gate matters most, then the input gate, then the output gate (removing the forget gate hurts most); a forget bias
# of 1 never hurts; GRU and the three mutants match or beat the LSTM (docs/papers.md §3).
JOZEFOWICZ_ORDERINGS = (
    ("lstm", ">", "lstm_nof"), ("lstm_noi", ">", "lstm_nof"), ("lstm_noo", ">", "lstm_noi"),
    ("lstm_b", ">=", "lstm"), ("gru", ">=", "lstm"), ("mut1", ">=", "lstm"), ("mut2", ">=", "lstm"),
    ("mut3", ">=", "lstm"),
)

_PASCANU_MUSIC = {  # Table 2, test NLL per time step
    "nottingham": {"rnn": 3.225, "dts-rnn": 3.206, "dots-rnn": 3.215, "srnn": 3.258, "dots-rnn*": 2.95},
    "jsb": {"rnn": 8.338, "dts-rnn": 8.278, "dots-rnn": 8.437, "srnn": 8.367, "dots-rnn*": 7.92},
    "musedata": {"rnn": 6.990, "dts-rnn": 6.988, "dots-rnn": 6.973, "srnn": 6.954, "dots-rnn*": 6.59},
}
_PASCANU_PTB = {  # Table 3, test (bits per character, perplexity: the registry's metrics of the two sets)
    "ptb-char": {"rnn": 1.414, "dts-rnn": 1.409, "dots-rnn": 1.386, "srnn": 1.412},
    "ptb-word": {"rnn": 117.7, "dts-rnn": 112.0, "dots-rnn": 107.5, "srnn": 110.0},
}
_CHUNG = {  # Table 2: (train, test) NLL; columns tanh, GRU, LSTM
    "nottingham": {"tanh": (3.22, 3.13), "gru": (2.79, 3.23), "lstm_peephole": (3.08, 3.20)},
    "jsb": {"tanh": (8.82, 9.10), "gru": (6.94, 8.54), "lstm_peephole": (8.15, 8.67)},
    "musedata": {"tanh": (5.64, 6.23), "gru": (5.06, 5.99), "lstm_peephole": (5.18, 6.23)},
    "pianomidi": {"tanh": (5.64, 9.03), "gru": (4.93, 8.82), "lstm_peephole": (6.49, 9.03)},
}
_JOZ_TABLE1_DATASETS = ("arithmetic", "xml", "ptb-word")  # the table's columns, in its order
_JOZ_TABLE1 = {  # best next-step accuracy per column (third-party transcription, 3 s.f.)
    "tanh": (0.295, 0.321, 0.0878), "lstm": (0.892, 0.425, 0.0891), "lstm_nof": (0.293, 0.234, 0.0881),
    "lstm_noi": (0.751, 0.414, 0.0866), "lstm_noo": (0.867, 0.421, 0.0893), "lstm_b": (0.902, 0.444, 0.0895),
    "gru": (0.896, 0.460, 0.0907), "mut1": (0.921, 0.475, 0.0897), "mut2": (0.897, 0.473, 0.0904),
    "mut3": (0.907, 0.465, 0.0916),
}
_JOZ_TABLE3 = {"lstm_b": 79.8, "lstm": 81.4, "lstm_noo": 82.3, "mut3": 89.5, "gru": 91.7, "tanh": 97.7,
               "lstm_nof": 100.8}  # PTB with dropout, ~20M parameters, test perplexity


def _metric(dataset: str) -> str:
    """The registry's metric of a dataset the papers report on (one line if it is not a registered paper set)."""
    spec = DATASETS.get(dataset)
    if spec is None or spec.stand_in_for is not None:
        raise AssertionError(f"papers.py names {dataset!r}, which is not a paper dataset of rnnlab.data.DATASETS")
    return spec.metric


def paper_results() -> pd.DataFrame:
    rows = []
    for dataset, by_arch in _PASCANU_MUSIC.items():
        for arch, value in by_arch.items():
            variant = "Lp+maxout+dropout" if arch.endswith("*") else ""
            rows.append(("Pascanu 2014", "Table 2", dataset, arch.rstrip("*"), "tanh", variant, "test",
                         _metric(dataset), value))
    for dataset, by_arch in _PASCANU_PTB.items():
        for arch, value in by_arch.items():
            rows.append(("Pascanu 2014", "Table 3", dataset, arch, "tanh", "", "test", _metric(dataset), value))
    for dataset, by_cell in _CHUNG.items():
        for cell, (train, test) in by_cell.items():
            rows.append(("Chung 2014", "Table 2", dataset, "rnn", cell, "", "train", _metric(dataset), train))
            rows.append(("Chung 2014", "Table 2", dataset, "rnn", cell, "", "test", _metric(dataset), test))
    for cell, values in _JOZ_TABLE1.items():
        for dataset, value in zip(_JOZ_TABLE1_DATASETS, values, strict=True):
            _metric(dataset)  # a registered paper dataset; the table reports accuracy whatever the set's metric
            rows.append(("Jozefowicz 2015", "Table 1", dataset, "rnn", cell, "best of search", "test", "accuracy",
                         value))
    for cell, value in _JOZ_TABLE3.items():
        rows.append(("Jozefowicz 2015", "Table 3", "ptb-word", "rnn", cell, "dropout, ~20M params", "test",
                     _metric("ptb-word"), value))
    columns = ["paper", "table", "dataset", "arch", "cell", "variant", "split", "metric", "value"]
    return pd.DataFrame(rows, columns=columns)


def paper_numbers_for(dataset: str, arch: str, cell: str, metric: str) -> pd.DataFrame:
    """The published test numbers for one dataset/arch/cell (empty when no paper reports it)."""
    table = paper_results()
    hit = (table.dataset == dataset) & (table.arch == arch) & (table.cell == cell) & (table.metric == metric) \
        & (table.split == "test")
    return table[hit].reset_index(drop=True)
