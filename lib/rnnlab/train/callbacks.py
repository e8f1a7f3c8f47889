"""Callbacks: the one hook for logging, progress bars, live plots, hidden-state and gradient recorders.

A callback implements any of ``on_train_begin(trainer)``, ``on_batch_end(trainer, info)``,
``on_epoch_end(trainer, row)`` and ``on_train_end(trainer, summary)``. ``info`` holds the update's numbers
(``update``, ``epoch``, ``loss``, ``grad_norm``, ``clipped``, ``lr``, ``wall_seconds``) and, while the gradients
still exist, ``trainer.model`` can be inspected (e.g. per-layer gradient norms).
"""

from __future__ import annotations

import sys

import torch


class Callback:
    def on_train_begin(self, trainer) -> None: ...

    def on_batch_end(self, trainer, info: dict) -> None: ...

    def on_epoch_end(self, trainer, row: dict) -> None: ...

    def on_train_end(self, trainer, summary: dict) -> None: ...


class ProgressBar(Callback):
    """tqdm.auto bar over updates (a widget in Jupyter); a one-line epoch log when stderr is not a terminal."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bar = None

    def on_train_begin(self, trainer) -> None:
        if self.enabled and _interactive():
            from tqdm.auto import tqdm

            self.bar = tqdm(desc=trainer.name, unit="upd", mininterval=0.5)

    def on_batch_end(self, trainer, info: dict) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(epoch=info["epoch"], loss=f"{info['loss']:.3f}", refresh=False)

    def on_epoch_end(self, trainer, row: dict) -> None:
        if self.enabled and self.bar is None:
            print(
                f"[{trainer.name}] epoch {row['epoch']}: train {row['train_loss']:.4f} nats, "
                f"valid {trainer.metric} {row['valid_metric']:.4f}, {row['tokens_per_s']:.0f} tok/s",
                flush=True,
            )

    def on_train_end(self, trainer, summary: dict) -> None:
        if self.bar is not None:
            self.bar.close()


def _interactive() -> bool:
    try:
        from IPython import get_ipython

        if get_ipython() is not None and "IPKernelApp" in get_ipython().config:
            return True
    except ImportError:
        pass
    return sys.stderr.isatty()


class GradNormRecorder(Callback):
    """Per-parameter gradient norms every ``every`` updates, for gradient-flow plots.

    The callback runs after ``clip_grad_norm_``, so these are the norms of the gradients as applied (clipped);
    the total norm before clipping is ``info["grad_norm"]`` (``updates.csv``), and
    ``rnnlab.viz.gradients.layer_grad_norms`` rescales the rows back to pre-clip norms with it.
    """

    def __init__(self, every: int = 1):
        self.every = every
        self.rows: list[dict] = []

    def on_batch_end(self, trainer, info: dict) -> None:
        if info["update"] % self.every:
            return
        for name, param in trainer.model.named_parameters():
            if param.grad is not None:
                self.rows.append(
                    {"update": info["update"], "param": name, "grad_norm": float(param.grad.norm()),
                     "clipped": info["clipped"], "clip": trainer.config.clip}
                )


class SpectralNormRecorder(Callback):
    """Largest singular value σ_max of every recurrent matrix, at initialisation (epoch 0) and after each epoch.

    Recurrent matrices are those each cell declares in ``recurrent_blocks`` (the products with the previous state:
    U, U_zr, U_r, …, a graph cell's ``weight_h``/``weight_c``; in a deep transition also the within-step maps W_l z)
    and the DT(S) shortcut ``shortcut_weight`` S. A matrix stacking several gate blocks (LSTM's U_i, U_f, U_g, U_o
    in ``torch.nn`` layout; GRU's U_z, U_r) is split into one block per gate, each a separate row: ``block`` names
    the gate (``i``, ``f``, …; a graph cell's Linear node) or is "" for an unstacked matrix. Pascanu, Mikolov &
    Bengio 2013: for the tanh RNN σ_max(U) < 1 suffices for vanishing gradients and σ_max(U) > 1 is necessary for
    exploding ones.
    """

    def __init__(self):
        self.rows: list[dict] = []

    @staticmethod
    def recurrent_blocks(model) -> list[tuple[str, str, torch.Tensor]]:
        """(parameter name, block label, matrix) of every recurrent matrix block of an ``rnnlab.nets`` model.

        Each cell declares its recurrent matrices and their row blocks (``RecurrentCell.recurrent_blocks``); a DT(S)
        shortcut S is split like the input projection of the level's top cell (``block_names``).
        """
        from rnnlab.cells import RecurrentCell

        blocks = []
        for module_name, module in model.named_modules():
            prefix = f"{module_name}." if module_name else ""
            if isinstance(module, RecurrentCell):
                declared = module.recurrent_blocks
            elif isinstance(getattr(module, "shortcut_weight", None), torch.Tensor):
                declared = {"shortcut_weight": module.cells[-1].block_names}
            else:
                continue
            for param_name, param in module.named_parameters(recurse=False):
                labels = declared.get(param_name)
                if labels is None or param.dim() != 2:
                    continue
                for label, block in zip(labels, param.detach().chunk(len(labels), dim=0), strict=True):
                    blocks.append((prefix + param_name, label, block))
        return blocks

    def _record(self, trainer, epoch: int) -> None:
        with torch.no_grad():
            for name, label, block in self.recurrent_blocks(trainer.model):
                sigma = float(torch.linalg.matrix_norm(block.float(), ord=2))
                self.rows.append({"epoch": epoch, "param": name, "block": label, "spectral_norm": sigma})

    def on_train_begin(self, trainer) -> None:
        if not any(r["epoch"] == trainer.epoch for r in self.rows):
            self._record(trainer, trainer.epoch)

    def on_epoch_end(self, trainer, row: dict) -> None:
        self._record(trainer, row["epoch"])
