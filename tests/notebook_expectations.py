"""What each notebook cell must show when nbval runs the workbook under ``make test`` (the smoke profile).

Keyed by notebook file name, then by cell id (the ``id`` of the cell in the .ipynb; ``jupyter`` shows it nowhere, so
the notebooks stay clean). Each value is the list of checks of ``tests/notebook_checks.py`` the cell's outputs must
pass: every figure, table, widget, Markdown and HTML output of a listed cell needs its check, in order; ``Text``
searches what the cell printed. A table's exact ``columns`` are given where the notebook chooses them; where a library
function does, ``has_columns`` names the ones the notebook's prose relies on. Cells not listed are only executed, as
before. ``notebooks/conftest.py`` applies the checks; ``tests/test_notebook_checks.py`` verifies that every key names
a code cell and every notebook is covered.

The expectations hold with and without the canonical datasets ($RNNLAB_DATA): without them the music notebooks fall
back to ``bach-music21``, so names of data sets are matched with ``MUSIC``.

Adding a notebook: one entry ``"NN_name.ipynb": {cell_id: [checks], ...}``; ``python -m tests.notebook_checks
notebooks/NN_name.ipynb`` lists its code cells' ids.
"""

from __future__ import annotations

from rnnlab.data import DATASETS
from rnnlab.nets import ARCHS
from tests.notebook_checks import Figure, Html, Markdown, Table, Text, Widget

MUSIC = r"(jsb|bach-music21)"  # the music set of notebooks 00-07 (bach-music21 when canonical JSB is absent)
SPLITS = ["train", "valid", "test", "all"]
PAPERS = r"(Chung|Pascanu) 2014( on \S+ \(other data: reference only\))?"  # bach-music21: reference only
NLL = (1.0, 100.0)  # a smoke-trained music model's NLL per frame (88 Bernoulli units: ~61 nats at p = 0.5)
STATS = ["sequences", "steps", "notes", "min_len", "max_len", "pitch_min", "pitch_max", "empty_steps",
         "max_polyphony", "mean_polyphony"]


def curves(*labels: str) -> set[str]:
    """Trace names of a learning-curve figure (train and valid per run)."""
    return {f"{label} {part}" for label in labels for part in ("train (nats)", "valid (nll)")}


def music_stats(rows: int = 4, sequences: tuple[int, int] = (1, 72)) -> Table:
    """``Dataset.stats()``: one row per split and 'all' (smoke: 24 pieces per split)."""
    return Table(rows=rows, has_columns=STATS,
                 values={"sequences": sequences, "pitch_min": (0, 127), "pitch_max": (0, 127),
                         "mean_polyphony": (0.5, 12), "max_polyphony": (1, 88)})


EXPECTATIONS: dict[str, dict[str, list]] = {
    "00_quickstart.ipynb": {
        "c02": [Text(rf"data: {MUSIC} -- "), music_stats()],
        "c04": [Table(rows=2, columns=["model", "parameters", "epochs", "train seconds", "best valid nll", "test nll",
                                       "status"],
                      values={"model": {"GRU", "DT(S)-RNN"}, "status": {"ok"}, "parameters": (1_000, 1_000_000),
                              "epochs": (1, 25), "best valid nll": NLL, "test nll": NLL})],
        "c06": [Figure(traces=8, names=curves("GRU", "DT(S)-RNN"), types={"scatter"},
                       title=r"^GRU vs DT\(S\)-RNN on ", y=NLL)],
        "c08": [Figure(traces=5, names={"truth", "GRU", "DT(S)-RNN", "real notes"}, types={"heatmap", "scatter"},
                       title=r"GRU NLL \d+\.\d\d, DT\(S\)-RNN NLL \d+\.\d\d")],
        "c10": [Table(rows=2, columns=["label", "data_source", "n_params", "epochs_run", "best_valid", "test", "paper",
                                       "paper_value", "comparable"],
                      values={"label": r"(rnn/gru|dts-rnn/tanh) h\d+ .*", "test": NLL,
                              "paper": PAPERS, "paper_value": (5, 12)})],
    },
    "01_datasets.ipynb": {
        "5450c133": [Table(rows=(7, 40), has_columns=["dataset", "status", "file", "source"],
                           values={"dataset": set(DATASETS)})],
        "e6b46dfb": [Text(r"source: (canonical|music21 stand-in)"), music_stats()],
        "a13b2ebd": [Table(rows=4, has_columns=STATS,
                           values={"dataset": {"jsb", "bach-music21"}, "split": set(SPLITS), "sequences": (1, 72)}),
                     Table(rows=4, has_columns=["sequences", "tokens", "types", "min_len", "max_len", "scored"],
                           values={"dataset": {"memorize"}, "split": set(SPLITS), "types": (2, 100),
                                   "scored": (1, 10_000)})],
        "32a1b628": [Figure(traces=1, types={"heatmap"}, title=rf"^{MUSIC}, training piece 0$")],
        "89c1a1c4": [Figure(traces=1, types={"bar"}, title=r"^Note frequency"),
                     Figure(traces=1, types={"bar"}, title=r"^Polyphony"),
                     Figure(traces=1, types={"histogram"}, title=r"^Sequence lengths")],
        "6b188589": [Html(rf'download="{MUSIC}-0\.mid" href="data:audio/midi;base64,'),
                     Html(r'<audio\s+controls="controls"\s*>\s*<source src="data:audio/wav;base64,')],
        "4e1af96a": [Text(rf"(?m)^{task}  \(generated seed=0 .*; vocabulary of \d+\)\n(    \S.*\n){{3}}")
                     for task in ("arithmetic", "xml", "memorize")],
        "b15c6d3d": [Text(r"x \(50, 4, 88\) torch\.float32 \| y \(50, 4, 88\) \| real steps per row \[(\d+)",
                          between=(1, 50)),
                     Text(r"Music NLL per time step = ")],
    },
    "02_cells.ipynb": {
        "c04": [Table(rows=(13, 40), columns=["cell", "class", "state", "gates recorded", "parameters (hidden 16)",
                                              "summary"],
                      values={"state": {"h", "h, c"}, "parameters (hidden 16)": (100, 100_000), "summary": r".+"}),
                Text(r"^MUT1, MUT2, MUT3: ")],
        "c06": [Figure(traces=len(ARCHS), names={arch.label for arch in ARCHS.values()},  # every preset, asked
                       title=r"^Pascanu et al\. 2014's constructions")],
        "c12": [Table(rows=3 * len(ARCHS), columns=["cell", "arch", "weights", "parameters", "MFLOP/step", "ms/step",
                                                    "FLOP ratio", "time ratio"],
                      values={"cell": {"tanh", "gru", "lstm"}, "arch": set(ARCHS),
                              "FLOP ratio": (1, 4), "ms/step": (0, 10_000)})],
        "c13": [Figure(traces=3, names={"tanh", "gru", "lstm"}, types={"scatter"}, min_points=7, y=(0, 10_000))],
        "c15": [Widget(r"Dropdown\(description='cell'")],
        "c16": [Text(r"([\d,]+) weights = [\d.]+ MFLOP per step and sequence", between=(100, 10_000_000)),
                Figure(traces=1)],
    },
    "03_train.ipynb": {
        "c02": [Text(r"^TrainConfig\(dataset='bach-music21', arch='rnn', cell='tanh'")],
        "c04": [Text(r"status: ok; data: music21 stand-in \(bach-music21\).*; run record: ")],
        "c06": [Table(rows=1, has_columns=["dataset", "data source", "arch", "cell", "parameters", "epochs", "status"],
                      values={"dataset": {"bach-music21"}, "status": {"ok"}, "best valid nll": NLL, "test nll": NLL,
                              "tokens/s": (1, 1e9)}),
                Text(r"no paper reports this dataset")],
        "c07": [Figure(traces=4, names=curves("rnn/tanh"), title=r"^rnn / tanh on bach-music21", y=NLL),
                Text(r"figures: .*learning_curves\.html")],
    },
    "04_hidden_dynamics.ipynb": {
        "c02": [Text(rf"data: {MUSIC} -- ")],
        "c04": [Table(rows=3, columns=["model", "parameters", "epochs", "train seconds", "best valid nll", "status"],
                      values={"model": {"rnn/tanh", "rnn/lstm", "dts-rnn/tanh"}, "status": {"ok"},
                              "best valid nll": NLL})],
        "c07": [Text(r"validation piece \d+: (\d+) quarter-note frames", between=(3, 10_000)),
                Text(r"focus on rnn/lstm")],
        "c09": [Figure(traces=2, names={"input", "activations"}, types={"heatmap"},
                       title=rf"^{model}: top layer level0/step\d, 48 most active units")
                for model in ("rnn/tanh", "rnn/lstm", "dts-rnn/tanh")],
        "c11": [Text(r"(\d+) matches in \d+ pieces", between=(1, 100_000)),
                Table(rows=(1, 10), has_columns=["rank", "sequence", "start", "end", "length", "mean_activation"],
                      values={"length": (1, 1000), "mean_activation": (-1, 1)}),
                Figure(traces=2, names={"matches", "lengths"}, types={"heatmap", "histogram"})],
        "c13": [Figure(traces=2, names={"trajectory", "now"}, types={"scatter"}, title=rf"^{model} · PCA of h_t")
                for model in ("rnn/tanh", "rnn/lstm", "dts-rnn/tanh")],
        "c15": [Figure(traces=6, names={"x+y=1", "level0/step0"}, title=r"^rnn/lstm: gate saturation over \d+ pieces"),
                Table(rows=3, columns=["mean fraction shut (<0.1)", "mean fraction open (>0.9)"],
                      values={"model": {"rnn/lstm"}, "gate": {"f", "i", "o"}, "mean fraction shut (<0.1)": (0, 1),
                              "mean fraction open (>0.9)": (0, 1)})],
        "c17": [Figure(traces=8, types={"heatmap", "scatter"},
                       names={"input"} | {f"{m} {part}" for m in ("rnn/tanh", "rnn/lstm")
                                          for part in ("activations", "trajectory", "now")})],
        "c19": [Widget(r"Dropdown\(description='architecture'")],
    },
    "05_gradient_flow.ipynb": {
        "c02": [Text(rf"data: {MUSIC} -- ")],
        "c04": [Table(rows=6, columns=["model", "parameters", "updates", "clip events", "train seconds",
                                       "best valid nll", "status"],
                      values={"model": {"rnn/tanh", "dt-rnn/tanh", "dts-rnn/tanh", "rnn/lstm", "rnn/lstm_b",
                                        "rnn/gru"},
                              "status": {"ok"}, "updates": (1, 1000), "best valid nll": NLL})],
        "c06": [Figure(traces=12, names={"rnn/tanh", "dt-rnn/tanh", "dts-rnn/tanh", "rnn/lstm", "rnn/lstm_b",
                                         "rnn/gru"},
                       title=r"‖∂L_T/∂h_t‖, loss on the last of \d+ frames", y=(0, 1e6))],
        "c08": [Table(rows=6, values={"model": {"rnn/tanh", "dt-rnn/tanh", "dts-rnn/tanh", "rnn/lstm",
                                                "rnn/lstm_b", "rnn/gru"},
                                      "decay per step": (0, 10)})],
        "c10": [Figure(traces=4, names={"dt-rnn/tanh", "dts-rnn/tanh"}, title=r"^shortcuts: "),
                Figure(traces=6, names={"rnn/tanh", "rnn/lstm", "rnn/gru"}, title=r"^gates: "),
                Figure(traces=4, names={"rnn/lstm", "rnn/lstm_b"}, title=r"^forget bias: ")],
        "c12": [Figure(traces=6, has_names=["level0/step0", "readout", "total"],
                       title=r"^dts-rnn/tanh: gradient norm per layer")],
        "c15": [Figure(traces=6, title=r"σ_max of the recurrent matrices \(tanh models\)", y=(0, 1e4)),
                Figure(traces=11, title=r"σ_max of the recurrent matrices \(gated models\)", y=(0, 1e4))],
        "c17": [Widget(r"SelectMultiple\(description='architectures'")],
    },
    "06_compare.ipynb": {
        "c02": [Text(r"The run store at \S+ is empty")],
        "c04": [Text(rf"3 runs in \S+: 3 on {MUSIC}"),
                Table(rows=3, columns=["model", "parameters", "train seconds", "test nll", "status"],
                      values={"model": {"rnn/tanh", "rnn/gru", "dts-rnn/tanh"}, "status": {"ok"}, "test nll": NLL})],
        "c06": [Widget(r"Dropdown\(description='data'")],
        "c08": [Figure(traces=12, types={"scatter"}, title=rf"^3 runs trained on .*{MUSIC}", y=NLL)],
        "c10": [Text(rf"3 runs trained on .*{MUSIC}.*: all 3 runs drawn"),
                Table(rows=(3, 6), has_columns=["label", "data_source", "status", "test", "paper", "paper_value",
                                                "comparable"],
                      values={"status": {"ok"}, "test": NLL, "paper": PAPERS})],
        "c11": [Figure(traces=2, has_names=["ours (test)"], types={"scatter"})],
    },
    "07_generate.ipynb": {
        "c02": [Text(rf"data: {MUSIC} -- "), Text(r"model: rnn/gru, hidden \d+, from ")],
        "c04": [Figure(traces=4, names={"T = 0", "T = 0.5", "T = 1", "T = 1.5"}, types={"heatmap"},
                       title=r"^rnn/gru continues test piece \d+ after \d+ real frames"),
                Table(rows=5, has_columns=["piece", "frames", "notes per frame", "silent frames", "distinct pitches"],
                      values={"piece": {"real continuation", "T = 0", "T = 0.5", "T = 1", "T = 1.5"},
                              "frames": (1, 10_000), "notes per frame": (0, 88), "silent frames": (0, 1)})],
        "c06": [Text(r"saved \S+\.mid \((\d+) bytes\)", between=(100, 10_000_000)),
                Html(r'download="\S+\.mid"'), Html(r"<audio"), Html(r"<audio")],
        "c08": [Widget(r"FloatSlider\(value=1\.0, .*description='temperature'")],
        "c10": [Figure(traces=3, types={"heatmap", "scatter"}, has_names=["rnn/gru h16"],
                       title=r"^test piece \d+: −log p of each real frame$", y=(0, 1000))],
    },
    "10_pascanu2014.ipynb": {
        "b5343f92": [Text(r"ok +jsb/rnn/seed=0 +best valid ([\d.]+)", between=NLL),
                     Text(r"1/1 done · 0 running · 0 failed")],
        "a4a8c979": [Table(rows=12, has_columns=["test / paper", "test / ours per frame", "test / ours per piece",
                                                 "test / Δ per frame", "test / Δ per piece"],
                           values={"dataset": {"nottingham", "jsb", "musedata"},
                                   "model": r"(RNN|DT\(S\)-RNN|DOT\(S\)-RNN|sRNN), logistic",
                                   "ours per frame": (2, 12), "paper": (2, 12), "Δ per frame": (-1, 1)}),
                     Figure(traces=2, names={"ours per frame − paper", "ours per piece − paper"},
                            title=r"^Pascanu et al\. 2014, Table 2")],
        "c2ac54ef": [Table(rows=12, values={"gap per frame": (0, 2), "gap per piece": (0, 2)}),
                     Text(r"mean gap per frame ([\d.]+)", between=(0, 1))],
        "ca624490": [Table(rows=4, has_columns=["run", "epochs", "best valid", "test nll", "test nll per piece"],
                           values={"test nll": (7, 10), "epochs": (1, 1000)}),
                     Figure(traces=8)],
        "ed9aa2e6": [Figure(traces=16, names=curves("rnn", "dts", "dots", "srnn"), y=(1, 100))],
        "6ed0174c": [Text(r"(\d+) of 14 planned points published", between=(1, 14)),
                     Table(rows=3, has_columns=["rnn", "rnn-pretrain", "dts", "dots", "srnn"],
                           values={"dataset": {"jsb", "nottingham", "musedata"}, "rnn": r"ok, \d+ epochs"}),
                     Text(r"compute so far: ([\d.]+) single-thread hours", between=(1, 10_000)),
                     Text(r"(?m)^jsb: ours .+; paper .+; DT\(S\) minus RNN [+-]\d\.\d+")],
    },
    "11_chung2014.ipynb": {
        "45758ee8": [Text(r"ok +jsb/lstm/lr=\S+ +best valid ([\d.]+)", between=NLL),
                     Text(r"1/1 done · 0 running · 0 failed")],
        "1456457a": [Table(rows=12, has_columns=["train / paper", "train / ours per frame", "train / Δ per frame",
                                                 "test / paper", "test / ours per frame", "test / ours per piece",
                                                 "test / Δ per frame", "test / Δ per piece", "run / best lr",
                                                 "run / draws"],
                           values={"model": {"tanh", "GRU", "LSTM (peepholes)"}, "draws": r"\d+ of 10",
                                   "ours per frame": (2, 12), "paper": (2, 12), "Δ per piece": (-4, 4)}),
                     Figure(traces=4, names={"ours per frame − paper", "ours per piece − paper"},
                            title=r"^Chung et al\. 2014, Table 2"),
                     Text(r"(\d+) runs published", between=(120, 10_000))],
        "4d5707e1": [Figure(traces=12, names=curves("gru", "lstm_peephole", "tanh"), title=f"^{dataset}$",
                            y=(1, 100))
                     for dataset in ("jsb", "musedata", "nottingham", "pianomidi")],
        "3f707b44": [Table(rows=9, has_columns=["group", "dataset", "cell", "runs", "mean", "sd"],
                           values={"runs": (3, 10), "sd": (0, 2), "mean": (2, 12)}),
                     Text(r"(?m)^jsb: mean test NLL, GRU − LSTM [+-]\d\.\d+")],
        "bd0fd97e": [Table(rows=(1, 40), has_columns=["cell", "lr", "epochs (best/run)", "test", "test − best"],
                           values={"test": (2, 15), "lr": r"[\d.e-]+"})],
    },
    "12_jozefowicz2015.ipynb": {
        "fea8e623": [Text(r"smoke table computed: (\d+) rows", between=(60, 60))],  # 10 cells x 3 tasks x 2 settings
        "dc9bc7bd": [Table(rows=10, index=["tanh", "lstm", "lstm_nof", "lstm_noi", "lstm_noo", "lstm_b", "gru", "mut1",
                                           "mut2", "mut3"],
                           has_columns=["arithmetic / ours best", "arithmetic / paper", "arithmetic / Δ best",
                                        "xml / ours best", "xml / paper", "xml / Δ best"],
                           values={"ours best": (0, 1), "ours mean": (0, 1), "paper": (0, 1), "Δ best": (-1, 1)}),
                     Text(r"(\d+) settings per cell and task", between=(1, 1000)),
                     Figure(traces=4, names={"ours (search scale)", "paper's Table 1"},
                            title=r"^Jozefowicz et al\. 2015, Table 1")],
        "49a99e91": [Table(rows=16, has_columns=["paper's Table 1 / values", "paper's Table 1 / holds",
                                                 "ours: best of the settings / holds",
                                                 "ours: setting by setting / sign-test p"],
                           values={"holds": {"True", "False"}, "sign-test p": (0, 1)}),
                     Text(r"(\d+) of 16 orderings hold", between=(0, 16))],
    },
    "13_architecture_search.ipynb": {
        "c02": [Table(rows=1, has_columns=["hidden", "batch", "updates", "n_train", "n_valid"],
                      values={"hidden": (1, 1024), "n_train": (1, 1_000_000)})],
        "c04": [Widget(r"^VBox\(children=\(Textarea\(value=\"f = sigmoid"),
                Text(r"a valid cell: (\d+) operations, 4 weight matrices, one state", between=(12, 12)),
                Text(r"canonical form .*\n.*\nh' = "),
                Figure(traces=5, names={"input", "linear", "activation", "elementwise", "output"},
                       title=r"^mgu as a graph")],
        "c06": [Markdown(rf"^\*\*{name}\*\*\n```\n") for name in ("gru", "lstm_b", "mut1")],
        "c08": [Table(rows=6, has_columns=["cell", "task", "best", "mean", "settings", "best_vs_gru"],
                      values={"cell": {"mgu", "gru"}, "task": {"memorize", "arithmetic", "xml"}, "best": (0, 1)}),
                Figure(traces=2, names={"mgu", "gru"}, types={"bar"})],
        "c10": [Widget(r"^VBox\(children=\(HBox\(children=\(BoundedIntText\(value=4, description='steps'"),
                Table(rows=(1, 8), has_columns=["rank", "candidate", "fitness", "memorize", "arithmetic", "xml"]),
                Text(r"'candidates': (\d+)", between=(2, 1000)), Text(r"'evaluations': (\d+)", between=(4, 4))],
        "c12": [Table(rows=8, index=["candidates", "children", "passed_memorize", "passed_all", "rejected",
                                     "evaluations", "worker_seconds", "wall_seconds"]),
                Table(rows=(2, 8), has_columns=["rank", "candidate", "fitness", "memorize", "arithmetic", "xml"],
                      values={"fitness": (0, 3), "memorize": (0, 1), "xml": (0, 1)}),
                Figure(traces=(1, 8), has_names=["passed"], title=r"^search history")],
        "c14": [Widget(r"^VBox\(children=\(HBox\(children=\(Dropdown\(description='search'"),
                Markdown(r"^\*\*candidate \S+\*\* — status "), Text(r"--- #\d+\n\+\+\+ #\d+\n"),
                Table(rows=3, index=["arithmetic", "memorize", "xml"], values={"mean": (0, 1), "max": (0, 1)}),
                Figure(traces=5, names={"input", "linear", "activation", "elementwise", "output"},
                       title=r"^candidate ")],
        "c16": [Table(rows=(2, 20), values={"best": (0, 1), "best_vs_gru": (0.3, 3)}),
                Figure(traces=(2, 20), types={"bar"}, has_names=["gru"])],
        "c18": [Text(r"pm\.execute_notebook\('03_train\.ipynb', 'winner-03\.ipynb', parameters=\{'dataset': "
                     r"'arithmetic'"),
                Text(r"papermill notebooks/03_train\.ipynb winner-03\.ipynb -p cell graph -p equations \""),
                Text(r"model, config = load_trained_model\('runs/winner', dataset=ds\)"),
                Table(rows=(1, 12), columns=["mean", "std"], values={"mean": (-1, 1), "std": (0, 10)})],
    },
}

# Notebooks whose cells another change is still rewriting: the checks they would get, to move into EXPECTATIONS
# when their cells settle (ids and outputs as of the smoke run of 2026-12-07).
PENDING: dict[str, dict[str, list]] = {
}
