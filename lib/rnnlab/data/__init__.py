"""Datasets of the three papers, by name: ``load_dataset(name)`` returns a :class:`Dataset`.

================  =========  ==========================================================================
name              kind       what
================  =========  ==========================================================================
jsb               music      JSB Chorales, Boulanger-Lewandowski pickle/.mat (falls back to bach-music21)
nottingham        music      Nottingham folk tunes (Boulanger-Lewandowski split)
musedata          music      MuseData classical music (Boulanger-Lewandowski split)
pianomidi         music      Piano-midi.de classical piano (Boulanger-Lewandowski split)
bach-music21      music      offline stand-in for JSB built from music21's Bach chorales
ptb-word          text       Penn Treebank, words (10k vocabulary incl. <eos>), metric perplexity
ptb-char          text       Penn Treebank, characters (50 symbols), metric bits per character
arithmetic        synthetic  Jozefowicz et al. 2015: a+b / a-b with distractor letters, accuracy
xml               synthetic  Jozefowicz et al. 2015: random nested tags, accuracy
memorize          synthetic  Jozefowicz et al. 2015: read 5 symbols, reproduce them, accuracy
================  =========  ==========================================================================

Canonical files are searched in ``root`` (default ``$RNNLAB_DATA`` or ``data/``) and in ``data/`` (where
``rnnlab data fetch`` writes), with the layout of docs/data.md §1 (see :mod:`rnnlab.data.catalog`).
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass

from rnnlab.data.dataset import Dataset
from rnnlab.errors import RnnlabError, check_choice

__all__ = ["DATASETS", "Dataset", "DatasetSpec", "check_dataset_options", "load_dataset"]


@dataclass(frozen=True)
class DatasetSpec:
    kind: str
    description: str


DATASETS = {
    "jsb": DatasetSpec("music", "JSB Chorales: 382 Bach chorales, quarter-note frames (Allan & Williams split)"),
    "nottingham": DatasetSpec("music", "Nottingham: 1037 folk tunes with chords, eighth-note frames"),
    "musedata": DatasetSpec("music", "MuseData: 783 orchestral and piano pieces (CCARH), eighth-note frames"),
    "pianomidi": DatasetSpec("music", "Piano-midi.de: 124 classical piano pieces, eighth-note frames"),
    "bach-music21": DatasetSpec("music", "offline JSB stand-in from music21's Bach chorales (concert pitch)"),
    "ptb-word": DatasetSpec("text", "Penn Treebank (Mikolov), words, 10k vocabulary incl. <eos>"),
    "ptb-char": DatasetSpec("text", "Penn Treebank (Mikolov), characters, 50 symbols incl. end of line"),
    "arithmetic": DatasetSpec("synthetic", "sum/difference of numbers up to 8 digits with distractor letters"),
    "xml": DatasetSpec("synthetic", "random nested XML tags of 2-10 lowercase letters"),
    "memorize": DatasetSpec("synthetic", "read 5 symbols from 26, then reproduce them"),
}
CANONICAL_MUSIC = ("jsb", "nottingham", "musedata", "pianomidi")
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
    """Load dataset ``name`` (see :data:`DATASETS`); ``ds.source`` records where it came from.

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
    ds = load_music(name, root, max_sequences)
    ds.description = DATASETS[name].description
    return ds


def _jsb_or_fallback(root, fallback: bool, max_sequences: int | None) -> Dataset:
    from rnnlab.data.fetch import fetch
    from rnnlab.data.music import load_music, missing_message

    reason = missing_message("jsb", root)
    if os.environ.get("RNNLAB_OFFLINE", "") not in ("", "0"):
        reason += " (RNNLAB_OFFLINE set: no download tried)"
    else:
        try:
            fetch("jsb", timeout=FALLBACK_TIMEOUT_S, total_timeout=FALLBACK_TIMEOUT_S)
            ds = load_music("jsb", root, max_sequences)
            ds.description = DATASETS["jsb"].description
            return ds
        except RnnlabError as err:
            reason += f"; download failed: {err}"
    if not fallback:
        raise RnnlabError(reason)
    message = ("FALLBACK: canonical JSB Chorales not available, using bach-music21 (music21's Bach chorales; "
               "different pieces, split and octave, so NLLs are not comparable with the papers' JSB numbers). "
               f"Reason: {reason}")
    print(message, file=sys.stderr, flush=True)
    warnings.warn(message, stacklevel=3)
    from rnnlab.data.bach_music21 import load_bach_music21

    ds = load_bach_music21(max_sequences=max_sequences)
    ds.source = f"{ds.source} -- fallback for jsb (canonical file missing)"
    return ds
