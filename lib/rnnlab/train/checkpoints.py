"""Checkpoints that are safe to load and know which run they belong to.

* Loaded with ``torch.load(weights_only=True)``: a checkpoint holds tensors, numbers, strings, lists and dicts only,
  so a file carrying a pickle payload is refused instead of executed.
* Every checkpoint carries ``meta``: a format number, the architecture, the cell and a fingerprint of the run's
  config (every knob set away from its default, except the ones a resume may extend, ``epochs`` and
  ``patience``; ``init_from`` counts by whether it is set, not by where it points, which differs between machines
  and between a run store and results/). A checkpoint of another run is refused in one line naming the file.
  A checkpoint written before (its fingerprint hashed ``init_from``'s path) is accepted when that path is the one
  its config.json records (``legacy_config_fingerprint``).
* ``last.pt`` is never overwritten in place: the previous one is first renamed to ``previous.pt`` and the new one
  is written to a temporary file and renamed. A damaged ``last.pt`` (torn, truncated, random bytes, a payload)
  falls back to ``previous.pt``, losing at most one checkpoint interval, and the run's log says so.
* A training checkpoint holds what a resume needs and nothing that grows with the run: the epoch and update counts
  stand for the rows of ``metrics.csv`` and ``updates.csv`` (``rnnlab.train.record``). One whose rows the tables do
  not hold counts as damaged. One written before issue 27 carries the rows (``history``, ``update_rows``) and still
  resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import torch

from rnnlab.errors import RnnlabError
from rnnlab.train.config import EXTENSIBLE_KNOBS, TrainConfig
from rnnlab.train.runs import atomic_torch_save

FORMAT = 1
LAST, PREVIOUS, BEST = "last.pt", "previous.pt", "best.pt"


class CheckpointError(RnnlabError):
    """A checkpoint file that cannot be read as an rnnlab checkpoint."""


class ForeignCheckpointError(RnnlabError):
    """A readable checkpoint that belongs to another run (other knobs, architecture or sizes)."""


def config_fingerprint(config: TrainConfig) -> str:
    """sha256 of the config's knobs that differ from their defaults, leaving out those a resume may extend.

    Knobs at their default are left out so that a knob added to ``TrainConfig`` later (with a default that keeps
    the old behaviour) does not make every existing checkpoint look foreign. ``init_from`` enters as ``true`` when
    set: the run was pretrained, wherever its parent's folder is on this machine."""
    knobs = _knobs(config)
    if "init_from" in knobs:
        knobs["init_from"] = True
    return _sha256(knobs)


def legacy_config_fingerprint(config: TrainConfig) -> str:
    """The fingerprint checkpoints had before ``init_from`` was recorded relative: its path hashed as written in
    the config (the absolute path the old config.json holds). Equal to ``config_fingerprint`` without init_from."""
    return _sha256(_knobs(config))


def _knobs(config: TrainConfig) -> dict:
    defaults = TrainConfig().to_dict()
    return {k: v for k, v in config.to_dict().items() if k not in EXTENSIBLE_KNOBS and v != defaults[k]}


def _sha256(knobs: dict) -> str:
    return hashlib.sha256(json.dumps(knobs, sort_keys=True, default=str).encode()).hexdigest()


def checkpoint_meta(config: TrainConfig) -> dict:
    return {"format": FORMAT, "arch": config.arch, "cell": config.cell, "config_sha256": config_fingerprint(config)}


def save(folder: Path, name: str, state: dict, config: TrainConfig) -> Path:
    """Write ``folder/name`` atomically with ``meta``; ``last.pt`` keeps its predecessor as ``previous.pt``."""
    path = Path(folder) / name
    if path.exists() and not path.is_file():  # a damaged entry (a folder, a device) is moved aside, not rotated
        os.replace(path, path.with_name(f"{name}.damaged"))
    if name == LAST and path.exists():
        os.replace(path, path.with_name(PREVIOUS))
    atomic_torch_save(path, {**state, "meta": checkpoint_meta(config)})
    return path


def read(path: Path, config: TrainConfig, device=None) -> dict:
    """Load ``path`` safely and check that it belongs to ``config``; one-line errors otherwise."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise CheckpointError(f"checkpoint {str(path)!r} is a folder, not a file") from None
    except Exception as err:  # torch raises many types for torn, random or unsafe files
        raise CheckpointError(f"checkpoint {str(path)!r} is not a readable rnnlab checkpoint "
                              f"({_load_failure(err)})") from None
    meta = state.get("meta") if isinstance(state, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r} is not an rnnlab checkpoint (no format-{FORMAT} meta)")
    expected = checkpoint_meta(config)
    if meta.get("config_sha256") == legacy_config_fingerprint(config):  # written before init_from was relative
        expected["config_sha256"] = meta["config_sha256"]
    for key in ("arch", "cell", "config_sha256"):
        if meta.get(key) != expected[key]:
            theirs, mine = str(meta.get(key))[:12], str(expected[key])[:12]
            raise ForeignCheckpointError(f"checkpoint {str(path)!r} belongs to another run ({key} {theirs!r}, this "
                                         f"run has {mine!r}); refusing to load it")
    return state


def _load_failure(err: Exception) -> str:
    """A short reason for a failed safe load: an unsafe payload is named, never run."""
    text = str(err)
    match = re.search(r"GLOBAL ([\w.]+)", text)
    if match or "Weights only load failed" in text:
        what = match.group(1) if match else "non-data"
        return f"it holds a pickled {what} object, which is refused, not executed"
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return first[:100]


def load_model_state(model: torch.nn.Module, state: dict, path: Path) -> None:
    """``model.load_state_dict`` with a one-line error naming the file on any mismatch."""
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise ForeignCheckpointError(f"checkpoint {str(path)!r} does not fit this model ({first})") from None


TRAINING_STATE = {"model": dict, "optimizer": dict, "schedule": dict, "rng": dict, "epoch": int, "updates": int,
                  "best_epoch": int, "bad_epochs": int, "train_seconds": (int, float)}
# A checkpoint holds the counts of the run's table rows (epoch, updates), not the rows: they are in metrics.csv and
# updates.csv (rnnlab.train.record). One written before the tables were appended to also carries them:
LEGACY_ROWS = {"history": list, "update_rows": list}


def read_training_state(path: Path, config: TrainConfig, device=None, table_rows: tuple[int, int] | None = None
                        ) -> dict:
    """``read`` plus a check that the file holds a complete training state of the right types, and, given
    ``table_rows`` (the complete rows of metrics.csv and updates.csv), that the tables hold its rows."""
    state = read(path, config, device)
    kinds = {**TRAINING_STATE, **(LEGACY_ROWS if any(k in state for k in LEGACY_ROWS) else {})}
    for key, kind in kinds.items():
        if not isinstance(state.get(key), kind) or isinstance(state.get(key), bool):
            raise CheckpointError(f"checkpoint {str(path)!r} lacks a complete training state ({key!r} is "
                                  f"{type(state.get(key)).__name__})")
    if state["epoch"] < 0 or state["updates"] < 0:
        raise CheckpointError(f"checkpoint {str(path)!r} is inconsistent (epoch {state['epoch']}, updates "
                              f"{state['updates']})")
    if "history" not in state and table_rows is not None and (state["epoch"] > table_rows[0]
                                                                   or state["updates"] > table_rows[1]):
        raise CheckpointError(f"checkpoint {str(path)!r} is ahead of its tables (epoch {state['epoch']}, update "
                              f"{state['updates']}; metrics.csv and updates.csv hold {table_rows[0]} and "
                              f"{table_rows[1]} rows)")
    if "history" in state:
        if not all(isinstance(row, dict) for row in state["history"] + state["update_rows"]):
            raise CheckpointError(f"checkpoint {str(path)!r} lacks a complete training state (history rows)")
        if state["epoch"] != len(state["history"]):
            raise CheckpointError(f"checkpoint {str(path)!r} is inconsistent (epoch {state['epoch']}, "
                                  f"{len(state['history'])} history rows)")
    if not (state.get("best_valid") is None or isinstance(state["best_valid"], int | float)):
        raise CheckpointError(f"checkpoint {str(path)!r} lacks a complete training state ('best_valid')")
    return state


def read_latest(folder: Path, config: TrainConfig, device=None, log=print, table_rows: tuple[int, int] | None = None
                ) -> tuple[dict, Path] | None:
    """The newest good training checkpoint in ``folder`` (``last.pt``, else ``previous.pt``), or None if neither
    exists (``table_rows``: see ``read_training_state``). A damaged ``last.pt`` falls back to ``previous.pt`` and
    ``log`` says so (only once the fallback has succeeded: a refused resume writes nothing); a foreign one is
    refused."""
    folder = Path(folder)
    last, previous = folder / LAST, folder / PREVIOUS
    if not last.exists() and not previous.exists():
        return None
    if last.exists():
        try:
            return read_training_state(last, config, device, table_rows), last
        except ForeignCheckpointError:
            raise
        except CheckpointError as err:
            if not previous.exists():
                raise
            note = f"{err}; falling back to {previous.name} (at most one checkpoint interval is lost)"
    else:
        note = f"{last.name} is missing (a run killed while rotating checkpoints); using {previous.name}"
    state = read_training_state(previous, config, device, table_rows)
    log(note)
    return state, previous
