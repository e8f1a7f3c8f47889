"""Train a few arch/cell pairs on the same data with the same budget, and collect what each run left.

The workbook's notebooks (00 quickstart, 04 hidden dynamics, 05 gradient flow, 06 compare, 07 generate) all train
"these architectures on this data, same knobs, same seed"; this is that loop, written once::

    runs = train_pairs(["rnn/tanh", "rnn/lstm"], "jsb", data=ds, runs_root=store, seed=0, smoke=smoke,
                       hidden=64, epochs=10, lr=0.01)
    runs["rnn/lstm"].model          # the trained model (best-validation weights), ready to look inside
    runs["rnn/lstm"].run_dir        # its run record (config.json, metrics.csv, checkpoints/, summary.json)
    pairs_table(runs)               # one row per run: parameters, epochs, updates, clip events, metrics, status

``pairs`` is a list of ``"arch/cell"`` strings (each its own label) or a dict label -> ``"arch/cell"``. Every pair
gets ``TrainConfig(dataset=dataset, arch=..., cell=..., seed=seed, **knobs)``, shrunk by ``smoke_overrides`` when
``smoke``; every config is validated before the first run starts, so a bad pair or knob stops the loop with one line
naming the value and the valid choices, and nothing is written. Each run is a plain ``Trainer(...).fit()`` in a new
folder under ``runs_root``; per-run callbacks (e.g. ``GradNormRecorder``) come from ``callbacks(label)``, a factory,
so no two runs share a recorder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.train.config import TrainConfig, smoke_overrides


@dataclass
class PairRun:
    """One trained pair: its config, its trainer (``model``, ``run_dir``, ``update_rows``), summary and callbacks."""

    label: str
    config: TrainConfig
    trainer: object  # rnnlab.train.trainer.Trainer (imported lazily: torch loads on first use)
    summary: dict
    callbacks: list = field(default_factory=list)

    @property
    def model(self):
        """The trained model: the best-validation weights when the run finished ``ok`` (what ``fit`` leaves)."""
        return self.trainer.model

    @property
    def run_dir(self) -> Path:
        return Path(self.trainer.run_dir)

    def row(self) -> dict:
        """The run in one table row (the columns of ``pairs_table``)."""
        summary, metric = self.summary, self.summary["metric"]
        return {"model": self.label, "arch": self.config.arch, "cell": self.config.cell,
                "parameters": summary["n_params"], "epochs": summary["epochs_run"], "updates": summary["updates"],
                "clip events": sum(bool(r["clipped"]) for r in self.trainer.update_rows),
                "train seconds": round(summary["train_seconds"], 1), f"best valid {metric}": summary["best_valid"],
                f"test {metric}": summary["test"].get(metric, float("nan")), "status": summary["status"],
                "run_dir": str(self.run_dir)}


def parse_pair(pair: str) -> tuple[str, str]:
    """``"arch/cell"`` -> ``(arch, cell)``, both checked against ``rnnlab.nets.ARCHS`` and ``rnnlab.cells.CELLS``."""
    from rnnlab.cells import CELLS
    from rnnlab.nets import ARCHS

    if not isinstance(pair, str) or pair.count("/") != 1:
        raise RnnlabError(f"a pair is written 'arch/cell' (e.g. 'rnn/lstm'), got {pair!r}")
    arch, cell = pair.split("/")
    if arch not in ARCHS:
        raise RnnlabError(f"pair {pair!r}: unknown arch {arch!r}; valid choices: {', '.join(ARCHS)}")
    if cell not in CELLS:
        raise RnnlabError(f"pair {pair!r}: unknown cell {cell!r}; valid choices: {', '.join(CELLS)}")
    return arch, cell


def pair_configs(pairs: Iterable[str] | Mapping[str, str], dataset: str, *, seed: int = 0, smoke: bool = False,
                 **knobs) -> dict[str, TrainConfig]:
    """label -> validated ``TrainConfig`` of every pair (nothing is read or written). One line on the first bad
    pair or knob."""
    if isinstance(pairs, Mapping):
        labelled = dict(pairs)
    else:
        listed = _as_list(pairs)
        twice = sorted({str(p) for p in listed if listed.count(p) > 1})
        if twice:
            raise RnnlabError(f"pair(s) {', '.join(twice)} listed twice; name each pair once (or give a dict "
                              "label -> pair to train one pair under two labels)")
        labelled = {pair: pair for pair in listed}
    if not labelled:
        raise RnnlabError("pairs is empty: name at least one 'arch/cell' pair, e.g. ['rnn/lstm']")
    for fixed in ("dataset", "arch", "cell", "seed"):
        if fixed in knobs:
            raise RnnlabError(f"knob {fixed!r} is set by train_pairs itself (from dataset, pairs and seed); "
                              "leave it out of the knobs")
    configs = {}
    for label, pair in labelled.items():
        arch, cell = parse_pair(pair)
        config = TrainConfig.from_dict({"dataset": dataset, "arch": arch, "cell": cell, "seed": seed, **knobs})
        configs[label] = (smoke_overrides(config) if smoke else config).validate()
    return configs


def train_pairs(pairs: Iterable[str] | Mapping[str, str], dataset: str, *, runs_root: str | Path, data=None,
                seed: int = 0, smoke: bool = False, callbacks: Callable[[str], list] | None = None,
                progress: bool | None = None, **knobs) -> dict[str, PairRun]:
    """Train every pair of ``pairs`` on ``dataset`` with the same ``knobs`` and ``seed``; return label -> PairRun.

    ``dataset``: the dataset knob recorded in each run (``"jsb"``, also when it falls back to bach-music21);
    ``data``: the loaded dataset to train on (loaded once from ``dataset``, ``seed`` and ``task_knobs`` when None).
    ``runs_root``: each run gets a new folder under it. ``smoke``: ``smoke_overrides`` on every config (CI sizes).
    ``callbacks``: ``label -> list of callbacks`` for that run (kept on ``PairRun.callbacks``). ``progress``:
    progress bars (default: not in smoke runs). ``knobs``: any other ``TrainConfig`` knob (hidden, epochs, lr, ...).
    Runs are trained in order; the returned dict keeps it.
    """
    configs = pair_configs(pairs, dataset, seed=seed, smoke=smoke, **knobs)  # every pair checked before any run
    from rnnlab.train.trainer import Trainer

    if data is None:
        from rnnlab.data import load_dataset

        first = next(iter(configs.values()))
        data = load_dataset(dataset, seed=seed, **first.task_knobs)
    show_progress = not smoke if progress is None else progress
    runs = {}
    for label, config in configs.items():
        extra = list(callbacks(label)) if callbacks is not None else []
        trainer = Trainer(config, root=runs_root, dataset=data, callbacks=extra, progress=show_progress)
        summary = trainer.fit()
        runs[label] = PairRun(label, trainer.config, trainer, summary, extra)
    return runs


def pairs_table(runs: Mapping[str, PairRun], columns: list[str] | None = None):
    """One row per run (``PairRun.row``), in training order; only ``columns`` when given."""
    import pandas as pd

    table = pd.DataFrame([run.row() for run in runs.values()])
    return table[columns] if columns is not None else table


def _as_list(pairs) -> list:
    if isinstance(pairs, str):  # one pair given bare: "rnn/lstm"
        return [pairs]
    return list(pairs)
