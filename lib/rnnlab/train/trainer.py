"""The training loop: one architecture, one dataset, a complete run record.

Short on purpose: everything optional (progress bars, live plots, recorders) hangs off callbacks.
A run checkpoints at the end of every ``checkpoint_every`` epochs with the model, optimizer, schedule, every RNG
state and the counts of its recorded rows (the rows are appended to metrics.csv and updates.csv), so
``resume=True`` after a kill continues exactly where the uninterrupted run would be (bit for bit on CPU). A
NaN/Inf loss ends the run with status ``diverged``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from pathlib import Path

import torch

from rnnlab.data import load_dataset
from rnnlab.data.batching import iterate_batches
from rnnlab.data.registry import KIND_SPECS
from rnnlab.device import resolve_device
from rnnlab.errors import RnnlabError
from rnnlab.nets import ARCHS, build_model, count_params
from rnnlab.train import checkpoints
from rnnlab.train.callbacks import Callback, ProgressBar
from rnnlab.train.config import TrainConfig
from rnnlab.train.losses import LOWER_IS_BETTER, MetricTotals, PieceTotals, is_better, metric_from_nats, token_losses
from rnnlab.train.optimizers import FlatParameters, make_optimizer, set_lr
from rnnlab.train.portable import average_rate
from rnnlab.train.record import RunRecord, provenance
from rnnlab.train.regularizers import flat_weight_noise, is_noisy
from rnnlab.train.runs import (
    append_log,
    read_config,
)
from rnnlab.train.schedules import Schedule
from rnnlab.train.seeding import rng_state, seed_everything, set_rng_state


def build_model_for(config: TrainConfig, dataset) -> torch.nn.Module:
    """The model a config describes, sized for a dataset: the ``run`` knobs of ``rnnlab.nets.knobs.MODEL_KNOBS``
    read from the config, the ``dataset`` knobs (n_in, n_out, token_input) from the dataset."""
    from rnnlab.nets.knobs import model_knobs_for

    return build_model(**model_knobs_for(config, dataset))


def subset(dataset, max_sequences: int | None, splits: tuple[str, ...] = ("valid", "test")):
    """A shallow copy of a dataset whose ``splits`` hold at most ``max_sequences`` sequences."""
    if max_sequences is None:
        return dataset
    small = copy.copy(dataset)
    small.splits = {k: (v[:max_sequences] if k in splits else v) for k, v in dataset.splits.items()}
    if getattr(dataset, "score_masks", None):
        small.score_masks = {k: (v[:max_sequences] if k in splits else v) for k, v in dataset.score_masks.items()}
    return small


def _reset_state(state, reset: torch.Tensor, batch_size: int):
    """Zero the state rows of pieces that start in this batch; detach the rest (truncated BPTT)."""
    if state is None or state[0][0].shape[0] != batch_size:
        return None
    keep = (~reset).to(state[0][0].dtype)[:, None]
    return [tuple(s.detach() * keep for s in level) for level in state]


EVAL_PIECES = 32  # pieces per evaluation batch: whole pieces of similar length, padded to the longest
EVAL_STEPS = 1000  # a longer evaluation batch is read in chunks of this many steps, the state carried (memory)


@torch.no_grad()
def evaluate(model, dataset, split: str, config: TrainConfig, device) -> dict:
    """Mean loss (nats per token) and the dataset's metric over a whole split.

    Pieces (music, synthetic; text without ``bptt``: its lines) are read whole, sorted by length into padded
    batches of up to ``EVAL_PIECES``, whatever the training batches were (a batch longer than ``EVAL_STEPS`` in
    chunks of that many steps, the state carried): the same numbers as walking them in ``bptt`` chunks at the
    training batch size with the state carried (a carried state is the whole piece's state; only the float rounding
    of the batched sums differs, ~1e-7 relative), with far fewer sequential steps. A text stream (``bptt`` set) is
    evaluated as it is trained, ``batch_size`` columns with the state carried from chunk to chunk."""
    model.eval()
    totals = MetricTotals(dataset.metric)
    pieces = PieceTotals() if dataset.metric == "nll" else None
    if KIND_SPECS[dataset.kind].stream:  # a stream in columns (bptt), or whole lines
        stream = config.bptt is not None
        batches = iterate_batches(dataset, split, batch_size=config.batch_size if stream else EVAL_PIECES,
                                  bptt=config.bptt, shuffle=False, seed=config.seed, device=device)
    else:
        batches = iterate_batches(dataset, split, batch_size=EVAL_PIECES, bptt=EVAL_STEPS, shuffle=False,
                                  seed=config.seed, device=device, batching="bucketed")
    state = None
    for batch in batches:
        state = None if bool(batch.reset.all()) else _reset_state(state, batch.reset, batch.x.shape[1])
        logits, state = model(batch.x, state)
        losses = token_losses(logits, batch.y, dataset.loss)
        totals.add(losses, batch.mask, logits, batch.y, batch.score_mask)
        if pieces is not None:
            pieces.add(losses, batch.mask, batch.reset)
    result = {"nats": totals.mean_nats, dataset.metric: totals.value()}
    if pieces is not None:
        result["nll_pieces"] = pieces.mean_of_piece_means()
    return result


class Trainer:
    """Train ``config`` and write its run record to ``run_dir`` (a new folder under ``root`` by default).

    ``resume``: False starts a new run (``run_dir`` must not hold one); True continues the run recorded in
    ``run_dir`` from its last good checkpoint (its ``config.json`` must equal ``config`` except for a larger
    ``epochs``/``patience``, which is recorded as an extension); ``"auto"`` (sweeps) resumes when a checkpoint
    exists and starts fresh otherwise. ``Trainer.from_record(run_dir)`` resumes with the recorded config.

    Nothing touches the disk until the config, the dataset and the model are known good; then the run folder is
    locked (``rnnlab.train.lock``) for as long as this trainer writes it, so two writers never share a run.
    """

    def __init__(self, config: TrainConfig, run_dir: str | Path | None = None, root: str | Path | None = None,
                 callbacks: list[Callback] | None = None, resume: bool | str = False, progress: bool = True,
                 dataset=None):
        if resume not in (False, True, "auto"):
            raise RnnlabError(f"resume must be False, True or 'auto', got {resume!r}")
        if resume and run_dir is None:
            raise RnnlabError("resume needs the run_dir of the run to continue")
        if run_dir is not None and str(run_dir).strip() == "":
            raise RnnlabError("run_dir must name a folder (got an empty string); leave it out for a new folder")
        if config.init_from:  # a given path is relative to the working directory; the record keeps it relative
            # to the run's folder and read_config resolves it back (rnnlab.train.portable)
            config = dataclasses.replace(config, init_from=str(Path(config.init_from).resolve()))
        self.config = config.validate()
        self.device = resolve_device(config.device)
        self.dataset = dataset if dataset is not None else load_dataset(config.dataset, seed=config.seed,
                                                                        **config.task_knobs)
        self.eval_dataset = subset(self.dataset, config.max_eval_sequences)
        for split in ("train", "valid", "test"):
            if not self.eval_dataset.splits.get(split):
                raise RnnlabError(f"dataset {config.dataset!r} has no {split} sequences "
                                  f"(task_knobs {config.task_knobs or '{}'}); every split needs at least one")
        self.metric = self.dataset.metric
        self.name = f"{config.arch}-{config.cell}-{config.dataset}"
        seed_everything(config.seed)
        try:
            self.model = build_model_for(config, self.dataset).to(self.device)
        except (MemoryError, RuntimeError) as err:
            if not isinstance(err, MemoryError) and "alloc" not in str(err):
                raise
            raise RnnlabError(f"the model does not fit in memory (hidden={config.hidden}; "
                              f"{str(err).splitlines()[0][:100]})") from None
        continuing = bool(resume) and run_dir is not None and (Path(run_dir) / "config.json").exists()
        # a continuing run takes every weight from its checkpoint; the source run may even be gone by now
        self.pretrained = self._copy_pretrained() if config.init_from and not continuing else []
        self.optimizer = self._make_optimizer()
        self.schedule = Schedule(config.schedule, config.lr, beta=config.decay_beta,
                                 start_patience=config.decay_start_patience)
        self.epoch = 0
        self.updates = 0
        self.history: list[dict] = []
        self.update_rows: list[dict] = []
        self.best_valid: float | None = None
        self.best_epoch = 0
        self.bad_epochs = 0
        self.train_seconds = 0.0
        self.finished: dict | None = None  # the summary of a finished run that a resume found nothing to add to
        self.callbacks = list(callbacks or []) + ([ProgressBar()] if progress else [])
        self.record = RunRecord(self.name, run_dir, root, resume)
        self.run_dir = self.record.run_dir
        try:
            opened = self.record.open(self.config, resume, self.device, self.pretrained,
                                      len(list(self.model.parameters())))
            if opened.state is not None:
                self._load_checkpoint(opened.state, opened.path)
            self.finished = opened.finished
        except BaseException:
            self.record.release()
            raise

    def _copy_pretrained(self) -> list[str]:
        """Copy every parameter of the same name and shape from ``init_from``'s best checkpoint (Pascanu's
        pretraining: sRNN from a trained RNN, DOT(S) from a trained DT(S)); return the copied names.

        The readout is copied only when both models read it from the same kind of layer (both with or both without
        a deep output): a DT(S) readout reads h_t, a DOT(S) readout reads the deep-output layer."""
        source = Path(self.config.init_from)
        path = source / "checkpoints" / checkpoints.BEST
        if not path.is_file() or not (source / "config.json").is_file():
            raise RnnlabError(f"init_from {str(source)!r} is not a finished run folder (no config.json and "
                              f"checkpoints/{path.name}); train that run first")
        parent = read_config(source)
        weights = checkpoints.read(path, parent, self.device)["model"]
        own = dict(self.model.named_parameters())
        copied = [n for n, w in weights.items() if n in own and own[n].shape == w.shape]
        if ARCHS[parent.arch].deep_output != ARCHS[self.config.arch].deep_output:  # the readout reads another layer
            copied = [n for n in copied if not n.startswith("readout.")]
        if not any(own[n].dim() >= 2 for n in copied):
            raise RnnlabError(f"init_from {str(source)!r} shares no weight matrix of the same name and shape with "
                              f"this model ({len(own)} parameters); pretrain a model of the same widths")
        with torch.no_grad():
            for name in copied:
                own[name].copy_(weights[name])
        return copied

    @classmethod
    def from_record(cls, run_dir: str | Path, *, epochs: int | None = None, patience: int | None = None,
                    **kwargs) -> Trainer:
        """Resume the run recorded in ``run_dir`` with its own config (optionally extending epochs/patience)."""
        config = read_config(run_dir)
        extend = {k: v for k, v in (("epochs", epochs), ("patience", patience)) if v is not None}
        return cls(dataclasses.replace(config, **extend), run_dir=run_dir, resume=True, **kwargs)

    @property
    def best_path(self) -> Path:
        return self.record.best_path

    def log(self, line: str) -> None:
        """One line to the run's ``run.log`` and to stdout."""
        self.record.log(line)

    # ----------------------------------------------------------------------------------------------- checkpoints
    def _checkpoint_state(self) -> dict:
        return {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(), "rng": rng_state(), "epoch": self.epoch,
            "updates": self.updates,  # the rows themselves are in metrics.csv and updates.csv (RunRecord)
            "best_valid": self.best_valid, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs,
            "train_seconds": self.train_seconds, "pretrained": self.pretrained,
        }

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """The optimizer, with the parameters copied from ``init_from`` in a group of their own (``lr_scale``).

        First the model's parameters become views into one flat buffer (``self.flat``: the weight matrices that
        weight noise perturbs first, then the rest), their gradients views into another."""
        config = self.config
        self.flat = FlatParameters(self.model, noisy=is_noisy)
        groups = [{"params": [p for n, p in self.model.named_parameters() if n not in self.pretrained]},
                  {"params": [p for n, p in self.model.named_parameters() if n in self.pretrained],
                   "lr_scale": config.pretrained_lr_scale}]
        optimizer = make_optimizer(config.optimizer, [g for g in groups if g["params"]], config.lr)
        set_lr(optimizer, config.lr)
        return optimizer

    def _load_checkpoint(self, state: dict, path: Path) -> None:
        checkpoints.load_model_state(self.model, state, path)
        if list(state.get("pretrained", [])) != self.pretrained:
            self.pretrained = list(state.get("pretrained", []))
            self.optimizer = self._make_optimizer()
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            self.schedule = Schedule.from_state(state["schedule"])
            for key in ("epoch", "updates", "history", "update_rows", "best_valid", "best_epoch", "bad_epochs",
                        "train_seconds"):
                setattr(self, key, state[key])
            set_rng_state(state["rng"])
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise checkpoints.CheckpointError(f"checkpoint {str(path)!r} lacks a complete training state "
                                              f"({type(err).__name__}: {err})") from None

    # ------------------------------------------------------------------------------------------------- the loop
    def _train_epoch(self) -> dict:
        config, model, ds = self.config, self.model, self.dataset
        model.train()
        flat = self.flat
        clip = config.clip if config.clip is not None else math.inf
        nats = tokens = clip_events = 0
        norms = []
        state = None
        start = time.perf_counter()
        batches = iterate_batches(ds, "train", batch_size=config.batch_size, bptt=config.bptt, shuffle=True,
                                  seed=config.seed * 100_003 + self.epoch, device=self.device,
                                  batching=config.batching)
        for index, batch in enumerate(batches):
            if config.max_updates_per_epoch is not None and index >= config.max_updates_per_epoch:
                break
            state = _reset_state(state, batch.reset, batch.x.shape[1])
            with flat_weight_noise(flat, config.weight_noise):  # the clean weights are back after the block
                logits, state = model(batch.x, state)
                losses = token_losses(logits, batch.y, ds.loss)
                loss = (losses * batch.mask).sum() / batch.mask.sum().clamp(min=1)
                flat.zero_grad()
                loss.backward()
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                raise _Diverged(f"loss became {loss_value} at update {self.updates + 1} (epoch {self.epoch + 1})")
            grad_norm = float(flat.clip_grad_norm(config.clip))  # torch.nn.utils.clip_grad_norm_'s arithmetic
            if not math.isfinite(grad_norm):
                raise _Diverged(f"gradient norm became {grad_norm} at update {self.updates + 1}")
            clipped = grad_norm > clip
            lr = self.schedule.lr(self.updates)
            set_lr(self.optimizer, lr)
            try:
                self.optimizer.step()
            except RuntimeError as err:  # e.g. a huge lr times a gradient overflows the optimizer's arithmetic
                if "overflow" not in str(err):
                    raise
                raise _Diverged(f"the update overflowed at update {self.updates + 1} ({err})") from None
            self.updates += 1
            n = int(batch.n_tokens)
            nats += loss_value * n
            tokens += n
            clip_events += int(clipped)
            norms.append(grad_norm)
            info = {"update": self.updates, "epoch": self.epoch + 1, "loss": loss_value, "grad_norm": grad_norm,
                    "clipped": bool(clipped), "lr": lr,
                    "wall_seconds": self.train_seconds + time.perf_counter() - start}
            self.update_rows.append(info)
            for cb in self.callbacks:
                cb.on_batch_end(self, info)
        seconds = time.perf_counter() - start
        self.train_seconds += seconds
        train_nats = nats / max(tokens, 1)
        return {
            "train_loss": train_nats, "train_metric": metric_from_nats(train_nats, self.metric)
            if self.metric != "accuracy" else float("nan"),
            "lr": self.schedule.lr(self.updates), "grad_norm_mean": sum(norms) / max(len(norms), 1),
            "grad_norm_max": max(norms, default=0.0), "clip_events": clip_events, "epoch_seconds": seconds,
            "wall_seconds": self.train_seconds, "tokens_per_s": tokens / max(seconds, 1e-9), "updates": self.updates,
        }

    def fit(self) -> dict:
        """Train until ``epochs`` or early stopping; evaluate the best checkpoint on test; return the summary
        (``summary.json``'s content, plus ``run_dir``, this run's folder).

        Releases the run's lock when it returns (or raises)."""
        try:
            summary = self.finished if self.finished is not None else self._fit()
            return {**summary, "run_dir": str(self.run_dir)}  # for the caller; the record itself names no path
        finally:
            self.record.release()

    def close(self) -> None:
        """Release the run folder without training (a trainer that will not ``fit``)."""
        self.record.release()

    def _fit(self) -> dict:
        config = self.config
        run_start = time.perf_counter()
        status, message = "ok", ""
        for cb in self.callbacks:
            cb.on_train_begin(self)
        try:
            while self.epoch < config.epochs:
                row = self._train_epoch()
                self.epoch += 1
                valid = evaluate(self.model, self.eval_dataset, "valid", config, self.device)
                row = {"epoch": self.epoch, **row, "valid_metric": valid[self.metric], "valid_nats": valid["nats"]}
                if not math.isfinite(valid["nats"]):
                    raise _Diverged(f"validation loss became {valid['nats']} after epoch {self.epoch}")
                self.history.append(row)
                if is_better(valid[self.metric], self.best_valid, self.metric):
                    self.best_valid, self.best_epoch, self.bad_epochs = valid[self.metric], self.epoch, 0
                    self.record.save_best(self.model.state_dict(), self.epoch, config)
                else:
                    self.bad_epochs += 1
                stop = self.schedule.end_epoch(valid[self.metric], self.updates, LOWER_IS_BETTER[self.metric])
                stop = stop or self.bad_epochs >= config.patience
                self.record.write_tables(self.history, self.update_rows)  # before the checkpoint they belong to
                if self.epoch % config.checkpoint_every == 0 or stop or self.epoch == config.epochs:
                    self.record.save_last(self._checkpoint_state(), config)
                for cb in self.callbacks:
                    cb.on_epoch_end(self, row)
                if stop:
                    break
        except _Diverged as err:
            status, message = "diverged", str(err)
            print(f"[{self.name}] DIVERGED: {message}; run marked diverged in {self.run_dir}", flush=True)
            append_log(self.run_dir, f"diverged: {message}")
        except KeyboardInterrupt:
            status, message = "interrupted", "interrupted by the user"
            self.log("interrupted by the user; resume with: rnnlab train --resume --run-dir " + str(self.run_dir))
        self.record.write_tables(self.history, self.update_rows)
        test, train = {}, {}
        if status == "ok" and self.best_path.exists():
            best = checkpoints.read(self.best_path, config, self.device)
            checkpoints.load_model_state(self.model, best, self.best_path)
            test = evaluate(self.model, self.eval_dataset, "test", config, self.device)
            # the best model on the training set, without weight noise or dropout (Chung et al.'s "train" column)
            train = evaluate(self.model, subset(self.dataset, config.max_eval_sequences, ("train",)), "train",
                             config, self.device)
        summary = self._summary(status, message, test, time.perf_counter() - run_start)
        summary["train_eval"] = train
        self.record.write_summary(summary)
        append_log(self.run_dir, f"finished: status {status}, {self.epoch} epochs, best valid {self.best_valid}")
        for cb in self.callbacks:
            cb.on_train_end(self, summary)
        return summary

    def _summary(self, status: str, message: str, test: dict, seconds: float) -> dict:
        config = self.config
        sizes = {"hidden": config.hidden, "transition_hidden": config.transition_hidden or config.hidden,
                 "output_hidden": config.output_hidden or config.hidden, "levels": config.levels}
        return {
            "dataset": config.dataset, **self.dataset.summary_fields(), "arch": config.arch, "cell": config.cell,
            "sizes": sizes, "n_params": count_params(self.model), "metric": self.metric,
            "epochs_run": self.epoch, "updates": self.updates, "best_epoch": self.best_epoch,
            "best_valid": self.best_valid, "test": test, "wall_seconds": seconds,
            "train_seconds": self.train_seconds, "tokens_per_s": average_rate(self.history),
            "status": status, "message": message, "seed": config.seed, "device": str(self.device),
            "optimizer": config.optimizer, "lr": config.lr, **provenance(),
            "data_sha256": self.dataset.content_sha256(),
            "nll_convention": "per frame (nll) and mean over pieces (nll_pieces)" if self.metric == "nll" else None,
        }


class _Diverged(Exception):
    pass


def train(config: TrainConfig | dict, **kwargs) -> dict:
    """Convenience: ``train(TrainConfig(...))`` or ``train({...})`` -> summary dict."""
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    return Trainer(config, **kwargs).fit()
