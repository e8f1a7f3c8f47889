"""Published numbers of the three papers, transcribed from docs/papers.md, as one table.

Each row: paper, table, dataset, arch, cell, variant, split, metric, value. Our dataset/arch/cell ids are used, so a
run's summary can be joined to the paper's number. Pascanu's models use logistic-sigmoid tanh-cells ("tanh" cell
with nonlinearity sigmoid); Chung's LSTM has peepholes (``lstm_peephole``) and its GRU is the paper form (``gru``).
"""

from __future__ import annotations

import pandas as pd

_PASCANU_MUSIC = {  # Table 2, test NLL per time step
    "nottingham": {"rnn": 3.225, "dts-rnn": 3.206, "dots-rnn": 3.215, "srnn": 3.258, "dots-rnn*": 2.95},
    "jsb": {"rnn": 8.338, "dts-rnn": 8.278, "dots-rnn": 8.437, "srnn": 8.367, "dots-rnn*": 7.92},
    "musedata": {"rnn": 6.990, "dts-rnn": 6.988, "dots-rnn": 6.973, "srnn": 6.954, "dots-rnn*": 6.59},
}
_PASCANU_PTB = {  # Table 3, test
    ("ptb-char", "bpc"): {"rnn": 1.414, "dts-rnn": 1.409, "dots-rnn": 1.386, "srnn": 1.412},
    ("ptb-word", "ppl"): {"rnn": 117.7, "dts-rnn": 112.0, "dots-rnn": 107.5, "srnn": 110.0},
}
_CHUNG = {  # Table 2: (train, test) NLL; columns tanh, GRU, LSTM
    "nottingham": {"tanh": (3.22, 3.13), "gru": (2.79, 3.23), "lstm_peephole": (3.08, 3.20)},
    "jsb": {"tanh": (8.82, 9.10), "gru": (6.94, 8.54), "lstm_peephole": (8.15, 8.67)},
    "musedata": {"tanh": (5.64, 6.23), "gru": (5.06, 5.99), "lstm_peephole": (5.18, 6.23)},
    "pianomidi": {"tanh": (5.64, 9.03), "gru": (4.93, 8.82), "lstm_peephole": (6.49, 9.03)},
}
_JOZ_TABLE1 = {  # best next-step accuracy: arithmetic, xml, ptb-word (third-party transcription, 3 s.f.)
    "tanh": (0.295, 0.321, 0.0878), "lstm": (0.892, 0.425, 0.0891), "lstm_nof": (0.293, 0.234, 0.0881),
    "lstm_noi": (0.751, 0.414, 0.0866), "lstm_noo": (0.867, 0.421, 0.0893), "lstm_b": (0.902, 0.444, 0.0895),
    "gru": (0.896, 0.460, 0.0907), "mut1": (0.921, 0.475, 0.0897), "mut2": (0.897, 0.473, 0.0904),
    "mut3": (0.907, 0.465, 0.0916),
}
_JOZ_TABLE3 = {"lstm_b": 79.8, "lstm": 81.4, "lstm_noo": 82.3, "mut3": 89.5, "gru": 91.7, "tanh": 97.7,
               "lstm_nof": 100.8}  # PTB with dropout, ~20M parameters, test perplexity


def paper_results() -> pd.DataFrame:
    rows = []
    for dataset, by_arch in _PASCANU_MUSIC.items():
        for arch, value in by_arch.items():
            variant = "Lp+maxout+dropout" if arch.endswith("*") else ""
            rows.append(("Pascanu 2014", "Table 2", dataset, arch.rstrip("*"), "tanh", variant, "test", "nll", value))
    for (dataset, metric), by_arch in _PASCANU_PTB.items():
        for arch, value in by_arch.items():
            rows.append(("Pascanu 2014", "Table 3", dataset, arch, "tanh", "", "test", metric, value))
    for dataset, by_cell in _CHUNG.items():
        for cell, (train, test) in by_cell.items():
            rows.append(("Chung 2014", "Table 2", dataset, "rnn", cell, "", "train", "nll", train))
            rows.append(("Chung 2014", "Table 2", dataset, "rnn", cell, "", "test", "nll", test))
    for cell, values in _JOZ_TABLE1.items():
        for dataset, value in zip(("arithmetic", "xml", "ptb-word"), values, strict=True):
            rows.append(("Jozefowicz 2015", "Table 1", dataset, "rnn", cell, "best of search", "test", "accuracy",
                         value))
    for cell, value in _JOZ_TABLE3.items():
        rows.append(("Jozefowicz 2015", "Table 3", "ptb-word", "rnn", cell, "dropout, ~20M params", "test", "ppl",
                     value))
    columns = ["paper", "table", "dataset", "arch", "cell", "variant", "split", "metric", "value"]
    return pd.DataFrame(rows, columns=columns)


def paper_numbers_for(dataset: str, arch: str, cell: str, metric: str) -> pd.DataFrame:
    """The published test numbers for one dataset/arch/cell (empty when no paper reports it)."""
    table = paper_results()
    hit = (table.dataset == dataset) & (table.arch == arch) & (table.cell == cell) & (table.metric == metric) \
        & (table.split == "test")
    return table[hit].reset_index(drop=True)
