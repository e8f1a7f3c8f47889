"""``load_dataset(name)``: any dataset of the registry as a :class:`~rnnlab.data.dataset.Dataset`, with its
provenance; a missing canonical JSB falls back to its stand-in, loudly."""

from __future__ import annotations

import os
import sys
import warnings

from rnnlab.data.dataset import Dataset
from rnnlab.data.registry import DATASETS, Provenance
from rnnlab.errors import RnnlabError, check_choice

FALLBACK_TIMEOUT_S = 5.0  # total time a missing jsb may spend downloading before falling back


def _check_options(name: str, knobs: dict, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(knobs) - set(allowed))
    if unknown:
        raise RnnlabError(f"unknown option {unknown[0]!r} for dataset {name!r}; valid options: "
                          f"{', '.join(allowed) or 'none'}")


def check_dataset_options(name: str, task_knobs: dict) -> None:
    """Raise ``RnnlabError`` (one line) unless ``name`` is a dataset and ``task_knobs`` its valid options.

    Reads and generates nothing, so a run can be validated before it touches the disk.
    """
    check_choice("dataset", name, DATASETS)
    if not isinstance(task_knobs, dict):
        raise RnnlabError(f"task_knobs must be a dict of dataset options, got {task_knobs!r}")
    max_sequences = task_knobs.get("max_sequences")
    if max_sequences is not None and not (isinstance(max_sequences, int) and not isinstance(max_sequences, bool)
                                          and max_sequences > 0):
        raise RnnlabError(f"max_sequences must be a positive integer or None, got {max_sequences!r}")
    kind = DATASETS[name].kind
    if kind == "synthetic":
        from rnnlab.data.synthetic import check_task_knobs

        check_task_knobs(name, {k: v for k, v in task_knobs.items() if k != "max_sequences"})
    elif name == "bach-music21":
        _check_options(name, task_knobs, ("max_sequences", "rebuild"))
    else:
        _check_options(name, task_knobs, ("max_sequences",))


def load_dataset(name: str, root=None, fallback: bool = True, seed: int = 0, **task_knobs) -> Dataset:
    """Load dataset ``name`` (see :data:`DATASETS`); ``ds.source`` (text) and ``ds.provenance`` (structured: origin,
    files read and their sha256) record where it came from.

    ``root``: folder with the canonical files (default ``$RNNLAB_DATA`` or ``data/``). ``fallback``: when ``jsb``
    is absent and cannot be downloaded within 5 s, load ``bach-music21`` instead, with a loud warning.
    ``seed``: generator seed of the synthetic tasks. ``task_knobs``: ``max_sequences`` (keep the first N
    sequences of each split) for every set; ``rebuild`` for bach-music21; the generator knobs of the synthetic
    tasks (see :mod:`rnnlab.data.synthetic`).
    """
    check_dataset_options(name, task_knobs)
    max_sequences = task_knobs.get("max_sequences")
    kind = DATASETS[name].kind
    if kind == "synthetic":
        from rnnlab.data.synthetic import generate

        return generate(name, seed=seed, **task_knobs)
    if name == "bach-music21":
        from rnnlab.data.bach_music21 import load_bach_music21

        return load_bach_music21(**task_knobs)
    if kind == "text":
        from rnnlab.data.ptb import load_ptb

        return load_ptb(name, root, max_sequences)
    from rnnlab.data.music import find_music_file, load_music

    if name == "jsb" and find_music_file(name, root) is None:
        return _jsb_or_fallback(root, fallback, max_sequences)
    return load_music(name, root, max_sequences)


def _jsb_or_fallback(root, fallback: bool, max_sequences: int | None) -> Dataset:
    from rnnlab.data.fetch import fetch
    from rnnlab.data.music import load_music, missing_message

    reason = missing_message("jsb", root)
    if os.environ.get("RNNLAB_OFFLINE", "") not in ("", "0"):
        reason += " (RNNLAB_OFFLINE set: no download tried)"
    else:
        try:
            fetch("jsb", timeout=FALLBACK_TIMEOUT_S, total_timeout=FALLBACK_TIMEOUT_S)
            return load_music("jsb", root, max_sequences)
        except RnnlabError as err:
            reason += f"; download failed: {err}"
    if not fallback:
        raise RnnlabError(reason)
    stand_in = next(n for n, s in DATASETS.items() if s.stand_in_for == "jsb")
    message = (f"FALLBACK: canonical JSB Chorales not available, using {stand_in} (music21's Bach chorales; "
               "different pieces, split and octave, so NLLs are not comparable with the papers' JSB numbers). "
               f"Reason: {reason}")
    print(message, file=sys.stderr, flush=True)
    warnings.warn(message, stacklevel=3)
    from rnnlab.data.bach_music21 import load_bach_music21

    ds = load_bach_music21(max_sequences=max_sequences)
    ds.source = f"{ds.source} -- fallback for jsb (canonical file missing)"  # the text old records hold
    ds.provenance = Provenance("fallback", "jsb", stand_in, ds.provenance.files if ds.provenance else ())
    return ds
