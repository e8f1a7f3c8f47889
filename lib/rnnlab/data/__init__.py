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

The facts of each set (kind, unit, metric, canonical or stand-in and of what, source files with sha256) live in
one registry, :mod:`rnnlab.data.registry`, re-exported here: ask it (``DATASETS``, ``MUSIC_SETS``,
``music_sets()``, ``stand_in_for()``, ``paper_dataset()``) instead of listing names. A loaded set records where it
came from in ``ds.provenance`` (structured) beside ``ds.source`` (text).

Canonical files are searched in ``root`` (default ``$RNNLAB_DATA`` or ``data/``) and in ``data/`` (where
``rnnlab data fetch`` writes), with the layout of docs/data.md §1 (see :mod:`rnnlab.data.catalog`).
"""

from __future__ import annotations

from rnnlab.data.dataset import Dataset
from rnnlab.data.loading import FALLBACK_TIMEOUT_S, check_dataset_options, load_dataset
from rnnlab.data.registry import (
    DATASETS,
    KINDS,
    MUSIC_SETS,
    ORIGINS,
    DatasetSpec,
    Provenance,
    SourceFile,
    data_families,
    data_family,
    dataset_names,
    files_of,
    music_sets,
    paper_dataset,
    spec,
    stand_in_for,
    stand_ins,
)

__all__ = ["DATASETS", "FALLBACK_TIMEOUT_S", "KINDS", "MUSIC_SETS", "ORIGINS", "Dataset", "DatasetSpec",
           "Provenance", "SourceFile", "check_dataset_options", "data_families", "data_family", "dataset_names",
           "files_of", "load_dataset", "music_sets", "paper_dataset", "spec", "stand_in_for", "stand_ins"]
