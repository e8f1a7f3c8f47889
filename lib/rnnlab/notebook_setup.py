"""The first code cell of every notebook: check its parameters, then settle smoke, seed, device and output folders.

    from rnnlab.notebook_setup import setup_notebook
    nb = setup_notebook(globals(), name="quickstart")  # right after the parameters cell

``setup_notebook`` does, in this order:

1. **Refuses an undeclared papermill parameter.** papermill injects ``-p name value`` as a cell headed
   ``# Parameters`` right after the cell tagged ``parameters`` and only warns about names that cell lacks, so
   ``-p hiden 9`` would run the defaults and exit 0. The injected cell is read back from IPython's input history
   (``In``), the declared names from the parameters cell that ran before it (its annotated assignments), and an
   unknown name is one line naming it and the closest valid one (``rnnlab.notebook_parameters``). The notebook lists
   nothing by hand. Run interactively, without an injected cell, nothing is refused.
2. **smoke**: the ``smoke`` parameter, or ``RNNLAB_SMOKE=1`` (``paths.smoke_from_env``); written back into the
   namespace, so later cells may keep reading ``smoke``.
3. **seed**: ``seed_everything(seed)`` (python, numpy, torch) when the notebook declares ``seed``.
4. **device**: ``resolve_device(device)`` when the notebook declares ``device``, else ``auto`` (CUDA when present).
5. ``nb.load_dataset(name)``: the dataset, smaller in the smoke profile, and a line saying which data it is;
   ``nb.save_figure(figure, name)``: into ``nb.figures_dir``, with a PNG outside the smoke profile.
6. **Where runs and figures go** (one rule for every notebook):

   ==================  ===========================================  ================================================
   folder              smoke (CI, ``RNNLAB_SMOKE=1``)               otherwise
   ==================  ===========================================  ================================================
   ``nb.runs_dir``     a fresh temporary folder ``rnnlab-NAME-*``   ``run_root`` when given, else ``runs/NAME/``
                                                                    (``paths.runs_dir()``: ``$RNNLAB_RUNS`` or
                                                                    ``runs/``)
   ``nb.figures_dir``  ``nb.runs_dir / "figures"``                  ``viz.export.output_dir()``: ``$RNNLAB_FIGURES``
                                                                    or ``runs/figures/`` (``make figures`` publishes)
   ==================  ===========================================  ================================================

   A smoke run never writes into ``runs/`` or next to the README's figures; a ``run_root`` parameter, when the
   notebook declares one and it is not empty, is where the runs go in both profiles. No folder is made until a
   cell writes into it (the training and ``save_figure`` make their folders).
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import torch

from rnnlab.device import resolve_device
from rnnlab.errors import RnnlabError
from rnnlab.notebook_parameters import check_history
from rnnlab.paths import runs_dir, smoke_from_env
from rnnlab.train.seeding import seed_everything
from rnnlab.viz.export import output_dir, save_figure

__all__ = ["NotebookSetup", "setup_notebook"]


@dataclass(frozen=True)
class NotebookSetup:
    """What every notebook settles before its first real cell (``setup_notebook``)."""

    name: str  # names the notebook's folders (runs/NAME/, rnnlab-NAME-* in smoke runs)
    smoke: bool  # the smoke profile (CI sizes)
    seed: int | None  # the seed everything was seeded with (None: the notebook declares none)
    device: torch.device  # where models run
    runs_dir: Path  # where this notebook's own training runs go
    figures_dir: Path  # where its figures go
    parameters: Mapping  # the declared parameters and their values after papermill's injection (read-only)

    def load_dataset(self, name: str, *, smoke_sequences: int = 24, **kwargs):
        """``rnnlab.data.load_dataset(name)`` seeded with ``seed``, its first ``smoke_sequences`` pieces per split in
        the smoke profile; prints which data it is (``data: NAME -- SOURCE``: a fallback says so)."""
        from rnnlab.data import load_dataset

        if self.smoke:
            kwargs.setdefault("max_sequences", smoke_sequences)
        data = load_dataset(name, seed=self.seed if self.seed is not None else 0, **kwargs)
        print(f"data: {data.name} -- {data.source}")
        return data

    def save_figure(self, figure, name: str, **kwargs) -> dict:
        """``viz.export.save_figure`` into ``figures_dir``; the PNG only outside the smoke profile."""
        kwargs.setdefault("png", not self.smoke)
        return save_figure(figure, name, folder=self.figures_dir, **kwargs)


def setup_notebook(namespace: dict, *, name: str = "notebook") -> NotebookSetup:
    """Check the notebook's papermill parameters and settle its smoke flag, seed, device and folders (module doc).

    ``namespace``: the notebook's ``globals()``. ``name``: a short word for its folders (``quickstart``).
    """
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise RnnlabError(f"notebook name {name!r} must be a non-empty word (letters, digits, - and _)")
    declared = check_history(namespace.get("In") or [])
    smoke = bool(namespace.get("smoke", False)) or smoke_from_env()
    if "smoke" in namespace:
        namespace["smoke"] = smoke
    seed = namespace.get("seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise RnnlabError(f"seed must be an integer, not {seed!r}")
        seed_everything(seed)
    device = resolve_device(namespace.get("device", "auto") or "auto")
    run_root = namespace.get("run_root") or ""
    if run_root:
        runs = Path(run_root)
    elif smoke:
        runs = Path(tempfile.gettempdir()) / f"rnnlab-{name}-{secrets.token_hex(4)}"  # made when first written
    else:
        runs = runs_dir() / name
    figures = runs / "figures" if smoke else output_dir()
    names = declared if declared is not None else [k for k in ("smoke", "seed", "device", "run_root") if k in namespace]
    parameters = MappingProxyType({k: namespace[k] for k in names if k in namespace})
    return NotebookSetup(name, smoke, seed, device, runs, figures, parameters)
