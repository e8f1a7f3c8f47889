"""``load_dataset(name)``: any dataset of the registry as a :class:`~rnnlab.data.dataset.Dataset`, with its
provenance, by asking its loader (:mod:`rnnlab.data.loaders`); a missing canonical set that has a stand-in (JSB)
falls back to it, loudly; one that is present but is not the catalogued file is refused (:mod:`rnnlab.data.checksums`),
never a reason to fall back."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from rnnlab.data.catalog import search_folders
from rnnlab.data.checksums import check_allow, find_file
from rnnlab.data.dataset import Dataset
from rnnlab.data.loaders import loader
from rnnlab.data.registry import ALLOW_OPTION, DATASETS, Provenance, files_of, spec
from rnnlab.errors import RnnlabError

FALLBACK_TIMEOUT_S = 5.0  # total time a missing jsb (a set with a stand-in) may spend downloading before falling back


def _check_options(name: str, knobs: dict, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(knobs) - set(allowed))
    if unknown:
        raise RnnlabError(f"unknown option {unknown[0]!r} for dataset {name!r}; valid options: "
                          f"{', '.join(allowed) or 'none'}")


def check_dataset_options(name: str, task_knobs: dict) -> None:
    """Raise ``RnnlabError`` (one line) unless ``name`` is a dataset and ``task_knobs`` its valid options (the
    registry line's ``options``, else its loader's ``check_options``).

    Reads and generates nothing, so a run can be validated before it touches the disk.
    """
    s = spec(name)
    if not isinstance(task_knobs, dict):
        raise RnnlabError(f"task_knobs must be a dict of dataset options, got {task_knobs!r}")
    max_sequences = task_knobs.get("max_sequences")
    if max_sequences is not None and not (isinstance(max_sequences, int) and not isinstance(max_sequences, bool)
                                          and max_sequences > 0):
        raise RnnlabError(f"max_sequences must be a positive integer or None, got {max_sequences!r}")
    if s.options is None:
        loader(name).check_options(name, {k: v for k, v in task_knobs.items() if k != "max_sequences"})
    else:
        _check_options(name, task_knobs, ("max_sequences", *s.options, *((ALLOW_OPTION,) if s.checked else ())))
    if ALLOW_OPTION in task_knobs:
        check_allow(task_knobs[ALLOW_OPTION])


def load_dataset(name: str, root=None, fallback: bool = True, seed: int = 0, **task_knobs) -> Dataset:
    """Load dataset ``name`` (see :data:`DATASETS`) with its loader (:mod:`rnnlab.data.loaders`); ``ds.source``
    (text) and ``ds.provenance`` (structured: origin, files read and their sha256) record where it came from.

    ``root``: folder with the canonical files (default ``$RNNLAB_DATA`` or ``data/``). ``fallback``: when a set
    with a stand-in (``jsb``) is absent and cannot be downloaded within 5 s, load the stand-in (``bach-music21``)
    instead, with a loud warning (a file present at its name but not the catalogued one is refused, never a reason
    to fall back). ``seed``: generator seed of the synthetic tasks. ``task_knobs``: ``max_sequences`` (keep the
    first N sequences of each split) for every set; ``allow_noncanonical`` for every canonical set with catalogued
    files (load files whose sha256 is not the catalogue's, recorded as ``noncanonical``: see
    :mod:`rnnlab.data.checksums`); ``rebuild`` for bach-music21; the generator knobs of the synthetic tasks (see
    :mod:`rnnlab.data.synthetic`).
    """
    check_dataset_options(name, task_knobs)
    if files_of(name):
        _check_data_folder(root)
    stand_in = next((n for n, s in DATASETS.items() if s.stand_in_for == name), None)
    if stand_in is not None and not any(find_file(name, e, search_folders(root)) for e in files_of(name)):
        return _canonical_or_stand_in(name, stand_in, root, fallback, task_knobs)
    return loader(name).load(name, root, seed=seed, **task_knobs)


def _check_data_folder(root) -> None:
    """A data folder (``root``, else ``$RNNLAB_DATA``) that exists but is not a folder is one line."""
    from rnnlab.paths import data_dir

    folder = Path(root) if root is not None else data_dir()
    if folder.exists() and not folder.is_dir():
        what = f"root {str(folder)!r}" if root is not None else f"RNNLAB_DATA={str(folder)!r}"
        raise RnnlabError(f"data folder {what} is a file, not a folder; point it at the folder that holds "
                          "polyphonic/ and ptb/ (docs/data.md §1)")


def _canonical_or_stand_in(name: str, stand_in: str, root, fallback: bool, task_knobs: dict) -> Dataset:
    """Set ``name``'s files are missing: download them (within ``FALLBACK_TIMEOUT_S``), else load ``stand_in``."""
    from rnnlab.data.fetch import fetch
    from rnnlab.data.music import missing_message

    max_sequences = task_knobs.get("max_sequences")
    reason = missing_message(name, root)
    if os.environ.get("RNNLAB_OFFLINE", "") not in ("", "0"):
        reason += " (RNNLAB_OFFLINE set: no download tried)"
    else:
        try:
            fetch(name, timeout=FALLBACK_TIMEOUT_S, total_timeout=FALLBACK_TIMEOUT_S)
            return loader(name).load(name, root, **task_knobs)
        except RnnlabError as err:
            reason += f"; download failed: {err}"
    if not fallback:
        raise RnnlabError(reason)
    title = DATASETS[name].description.split(":")[0]
    message = (f"FALLBACK: canonical {title} not available, using {stand_in} ({DATASETS[stand_in].description}; "
               f"different pieces and split, so NLLs are not comparable with the papers' {title} numbers). "
               f"Reason: {reason}")
    print(message, file=sys.stderr, flush=True)
    warnings.warn(message, stacklevel=3)
    ds = loader(stand_in).load(stand_in, max_sequences=max_sequences)
    ds.source = f"{ds.source} -- fallback for {name} (canonical file missing)"  # the text old records hold
    ds.provenance = Provenance("fallback", name, stand_in, ds.provenance.files if ds.provenance else ())
    return ds
