"""The one registry of datasets: what each set is, how it is scored, what it stands in for, and where its files are.

Every other module asks this one (``rnnlab.data`` re-exports it); nothing else lists dataset names or parses a
run's ``data_source`` text. Light on purpose: no torch, no numpy, so the CLI and the config checks can import it.

- :data:`DATASETS` maps each name to a :class:`DatasetSpec` (kind, unit, metric, canonical or stand-in and of what,
  the module that loads it, its options, and its files, looked up live in :mod:`rnnlab.data.catalog` with their
  sha256); :data:`KIND_SPECS` what the sets of each kind share (loss, token inputs, default loader). A new set is
  one line here and, of a new kind or format, its loader module (:mod:`rnnlab.data.loaders` says what it provides).
- :data:`MUSIC_SETS` / :func:`music_sets`, :func:`dataset_names`, :func:`stand_in_for`, :func:`paper_dataset`.
- :class:`Provenance`: where a loaded :class:`~rnnlab.data.dataset.Dataset` came from (canonical file, stand-in,
  fallback for a missing canonical set, generated), with the path and sha256 of every file actually read.
  ``Provenance.from_record`` rebuilds it from a run summary: from the structured ``data_*`` fields when the summary
  has them, else (old records only) from the ``data_source`` text.
- What a run record says about its data names no machine: :func:`record_path` (a file as the catalog names it,
  ``polyphonic/JSB Chorales.pickle``, else its bare name), :func:`canonical_source` (the ``data_source`` text of
  canonical files: ``canonical jsb (polyphonic/JSB Chorales.pickle)``) and :func:`portable_source` (an old text,
  ``canonical:/some/machine/data/polyphonic/JSB Chorales.pickle``, rewritten so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rnnlab.data import catalog
from rnnlab.errors import check_choice


@dataclass(frozen=True)
class Kind:
    """What the datasets of one kind share: ``loss`` (bernoulli over 0/1 frames, categorical over tokens),
    ``token_input`` (the inputs are token ids, so a model indexes its input matrix), ``loader`` (the module of
    :mod:`rnnlab.data` that loads a set of this kind unless its registry line names another; see
    :mod:`rnnlab.data.loaders`) and ``stream`` (with ``bptt`` a split is one token stream cut into columns, trained
    and evaluated with the state carried across its sentences: Mikolov, Zaremba; otherwise pieces)."""

    loss: str
    token_input: bool
    loader: str
    stream: bool = False


KIND_SPECS: dict[str, Kind] = {
    "music": Kind("bernoulli", token_input=False, loader="music"),
    "text": Kind("categorical", token_input=True, loader="ptb", stream=True),
    "synthetic": Kind("categorical", token_input=True, loader="synthetic"),
}
KINDS = tuple(KIND_SPECS)  # ("music", "text", "synthetic")
SEPARATORS = {"word": " "}  # how decoded symbols are joined, by unit (every other unit: ""; characters abut)
ORIGINS = ("canonical", "stand-in", "fallback", "generated", "noncanonical")  # how a loaded dataset's data was obtained
NONCANONICAL = "noncanonical"  # a canonical set's name, but files that are not the catalogued ones (admitted by:)
ALLOW_OPTION = "allow_noncanonical"  # the option that admits them (DatasetSpec.checked sets)
UNKNOWN = "unknown"  # only for an old run record whose data_source text names none of the above


@dataclass(frozen=True)
class DatasetSpec:
    """The facts of one dataset.

    ``name``: its registry name. ``kind``: music | text | synthetic. ``unit``: what one time step is
    ("quarter-note frame", "eighth-note frame", "word", "character"). ``metric``: nll (nats per frame) | ppl | bpc |
    accuracy. ``stand_in_for``: the paper dataset this one replaces when that one is not available (None: it is a
    paper dataset itself). ``label``: how runs on this data are grouped (:attr:`Provenance.family`) when it is a
    stand-in. ``files``: its catalogued source files (:mod:`rnnlab.data.catalog`, with sha256). ``loader``: the
    module of :mod:`rnnlab.data` that loads it (its ``load``; "": its kind's, :data:`KIND_SPECS`). ``options``: what
    ``load_dataset`` takes for it besides ``max_sequences`` (None: its loader's ``check_options`` decides); a
    canonical set with catalogued files also takes :data:`ALLOW_OPTION` (its files are checked against the
    catalogue's sha256; see :attr:`checked`).
    """

    name: str
    kind: str
    description: str
    unit: str
    metric: str
    stand_in_for: str | None = None
    label: str = ""
    loader: str = ""
    options: tuple[str, ...] | None = ()

    def __post_init__(self):
        check_choice("kind", self.kind, KIND_SPECS)
        if not self.loader:
            object.__setattr__(self, "loader", KIND_SPECS[self.kind].loader)

    @property
    def status(self) -> str:
        """``canonical`` (the papers' files), ``stand-in`` (ours, replacing a paper set) or ``generated``."""
        if self.stand_in_for is not None:
            return "stand-in"
        return "generated" if self.kind == "synthetic" else "canonical"

    @property
    def canonical(self) -> bool:
        return self.status == "canonical"

    @property
    def files(self) -> tuple[catalog.DataFile, ...]:
        """Its catalogued source files with their sha256, looked up live in :mod:`rnnlab.data.catalog` (empty for
        generated sets and the stand-in, which is built from music21's corpus)."""
        return catalog.files_of(self.name)

    @property
    def checked(self) -> bool:
        """A canonical set with catalogued files: loading checks them against the catalogue's sha256, and its
        loader takes :data:`ALLOW_OPTION` (:mod:`rnnlab.data.checksums`)."""
        return self.canonical and bool(self.files)

    @property
    def paper_dataset(self) -> str:
        """The paper dataset this set's data counts as: the one it stands in for, else itself."""
        return self.stand_in_for or self.name

    @property
    def loss(self) -> str:
        return KIND_SPECS[self.kind].loss

    @property
    def token_input(self) -> bool:
        """Its inputs are token ids (a vocabulary), not 0/1 frames."""
        return KIND_SPECS[self.kind].token_input

    @property
    def separator(self) -> str:
        """What joins decoded symbols: a space between words, nothing between characters."""
        return SEPARATORS.get(self.unit, "")

    @property
    def quarter_length(self) -> float | None:
        """Quarter notes per frame of a music set (1 for quarter-note frames, 0.5 for eighth-note frames)."""
        if self.kind != "music":
            return None
        return {"quarter-note frame": 1.0, "eighth-note frame": 0.5}[self.unit]


QUARTER, EIGHTH = "quarter-note frame", "eighth-note frame"
STAND_IN_LABEL = "music21 stand-in (bach-music21)"  # also the start of a bach-music21 Dataset.source

_SPECS = (  # paper order: the four music sets, the stand-in, PTB, the synthetic tasks
    DatasetSpec("jsb", "music", "JSB Chorales: 382 Bach chorales, quarter-note frames (Allan & Williams split)",
                QUARTER, "nll"),
    DatasetSpec("nottingham", "music", "Nottingham: 1037 folk tunes with chords, eighth-note frames", EIGHTH, "nll"),
    DatasetSpec("musedata", "music", "MuseData: 783 orchestral and piano pieces (CCARH), eighth-note frames", EIGHTH,
                "nll"),
    DatasetSpec("pianomidi", "music", "Piano-midi.de: 124 classical piano pieces, eighth-note frames", EIGHTH, "nll"),
    DatasetSpec("bach-music21", "music", "offline JSB stand-in from music21's Bach chorales (concert pitch)",
                QUARTER, "nll", stand_in_for="jsb", label=STAND_IN_LABEL, loader="bach_music21",
                options=("rebuild",)),
    DatasetSpec("ptb-word", "text", "Penn Treebank (Mikolov), words, 10k vocabulary incl. <eos>", "word", "ppl"),
    DatasetSpec("ptb-char", "text", "Penn Treebank (Mikolov), characters, 50 symbols incl. end of line", "character",
                "bpc"),
    DatasetSpec("arithmetic", "synthetic", "sum/difference of numbers up to 8 digits with distractor letters",
                "character", "accuracy", options=None),
    DatasetSpec("xml", "synthetic", "random nested XML tags of 2-10 lowercase letters", "character", "accuracy",
                options=None),
    DatasetSpec("memorize", "synthetic", "read 5 symbols from 26, then reproduce them", "character", "accuracy",
                options=None),
)
DATASETS: dict[str, DatasetSpec] = {s.name: s for s in _SPECS}


def spec(name: str) -> DatasetSpec:
    """The registry entry of ``name`` (one-line error naming the valid names otherwise)."""
    check_choice("dataset", name, DATASETS)
    return DATASETS[name]


def files_of(name: str) -> tuple[catalog.DataFile, ...]:
    """The catalogued source files of ``name`` with their sha256 (:mod:`rnnlab.data.catalog`; empty for generated
    sets and the stand-in, which is built from music21's corpus)."""
    return spec(name).files


def dataset_names(kind: str | None = None, canonical_only: bool = False) -> tuple[str, ...]:
    """Dataset names in registry (paper) order, optionally of one ``kind``; ``canonical_only`` drops stand-ins and
    generated tasks."""
    if kind is not None:
        check_choice("kind", kind, KINDS)
    return tuple(name for name, s in DATASETS.items()
                 if (kind is None or s.kind == kind) and (not canonical_only or s.canonical))


def music_sets(canonical_only: bool = True) -> tuple[str, ...]:
    """The music sets in paper order: the papers' four (default), or with ``canonical_only=False`` also the
    stand-in(s): ``("jsb", "nottingham", "musedata", "pianomidi", "bach-music21")``."""
    return dataset_names("music", canonical_only=canonical_only)


MUSIC_SETS = music_sets()  # ("jsb", "nottingham", "musedata", "pianomidi"): the papers' music sets, paper order


def stand_in_for(name: str) -> str | None:
    """The paper dataset ``name`` stands in for (``"jsb"`` for ``"bach-music21"``), None for a paper dataset."""
    return spec(name).stand_in_for


def stand_ins() -> dict[str, str]:
    """``{stand-in: paper dataset}`` for every stand-in of the registry."""
    return {name: s.stand_in_for for name, s in DATASETS.items() if s.stand_in_for is not None}


def paper_dataset(name: str) -> str:
    """The paper dataset data of ``name`` counts as: the set it stands in for, else itself. Unknown names (a
    record from another version) are returned unchanged."""
    return DATASETS[name].paper_dataset if name in DATASETS else name


def _catalog_entry(path) -> catalog.DataFile | None:
    """The catalog entry a data file is (its path is, or ends in, the entry's ``relpath``), or None."""
    text = str(path).replace("\\", "/")
    for s in DATASETS.values():
        for entry in s.files:
            if text == entry.relpath or text.endswith("/" + entry.relpath):
                return entry
    return None


def catalog_sha256(path) -> str | None:
    """The catalogued sha256 of a data file (matched by its path ending in a catalog ``relpath``), or None."""
    entry = _catalog_entry(path)
    return entry.sha256 if entry is not None else None


def record_path(path) -> str:
    """A data file as a run record names it, without the machine's folders: its catalog ``relpath`` (a data folder's
    layout: ``polyphonic/derived/Nottingham.pickle``, ``ptb/ptb.char.train.txt``), else its bare file name (a cache
    such as ``bach-music21-all.npz``)."""
    entry = _catalog_entry(path)
    return entry.relpath if entry is not None else str(path).replace("\\", "/").rstrip("/").rpartition("/")[2]


def canonical_source(name: str, paths) -> str:
    """The one-line ``data_source`` of canonical set ``name`` read from ``paths``, with no folder of this machine in
    it: ``canonical jsb (polyphonic/JSB Chorales.pickle)``."""
    return f"canonical {name} ({', '.join(record_path(p) for p in paths)})"


def noncanonical_source(name: str, paths, why: str) -> str:
    """The one-line ``data_source`` of canonical set ``name`` loaded, with :data:`ALLOW_OPTION`, from files that are
    not the catalogued ones: ``noncanonical jsb (polyphonic/JSB Chorales.pickle): <why>; not the papers' data``."""
    return f"{NONCANONICAL} {name} ({', '.join(record_path(p) for p in paths)}): {why}; not the papers' data"


def portable_source(dataset: str, source) -> str | None:
    """A ``data_source`` text as new records write it: an old ``canonical:<path>`` (a music file, or PTB's folder)
    becomes :func:`canonical_source`'s text; any other text names no path already and is returned unchanged (None,
    NaN or a non-text value too)."""
    if not isinstance(source, str) or not source.startswith("canonical:"):
        return source
    path = source[len("canonical:"):].strip()
    if _catalog_entry(path) is None and dataset in catalog.TEXT:  # PTB's old text named the folder of its three files
        return canonical_source(dataset, [entry.relpath for entry in catalog.TEXT[dataset].values()])
    return canonical_source(dataset, [path])


@dataclass(frozen=True)
class SourceFile:
    """A file a dataset was actually read from: its path, the sha256 of the bytes read, and the catalog's sha256
    for that file (None when the catalog gives none: a cache, or a pickle verified by content)."""

    path: str
    sha256: str
    catalog_sha256: str | None = None

    @property
    def verified(self) -> bool | None:
        """True/False: the file is/is not the catalogued one; None: the catalog has no checksum for it."""
        return None if self.catalog_sha256 is None else self.sha256 == self.catalog_sha256


def source_file(path, sha256: str) -> SourceFile:
    return SourceFile(str(path), sha256, catalog_sha256(path))


@dataclass(frozen=True)
class Provenance:
    """Where a dataset's data came from.

    ``origin``: canonical (the catalogued files of ``requested``), stand-in (``requested`` is itself a stand-in),
    fallback (``requested`` was missing and ``loaded`` was read instead), generated (from a seed), noncanonical
    (files under ``requested``'s names whose sha256 or split sizes are not the catalogue's, admitted by
    :data:`ALLOW_OPTION`: counts as no paper dataset); ``unknown`` only for an old record whose text names none of
    these. ``requested``: the name asked for; ``loaded``: the registry
    name whose data was read. ``files``: what was read.
    """

    origin: str
    requested: str
    loaded: str
    files: tuple[SourceFile, ...] = ()
    unknown_label: str = ""  # origin "unknown" (old records): the data_source text's label, used as family

    def __post_init__(self):
        check_choice("origin", self.origin, (*ORIGINS, UNKNOWN))

    @property
    def paper_dataset(self) -> str | None:
        """The paper dataset this data counts as (a fallback counts as what it stands in for; non-canonical files
        count as none: None, so nothing joins them to a paper's numbers)."""
        return None if self.origin == NONCANONICAL else paper_dataset(self.loaded)

    @property
    def comparable(self) -> bool:
        """The data is the paper's own (canonical files or the paper's generator), so published numbers apply."""
        return self.origin in ("canonical", "generated") and self.paper_dataset == self.requested

    @property
    def family(self) -> str:
        """Which data runs trained on, for grouping: ``canonical jsb``, ``generated xml``, ``noncanonical jsb``, or
        the stand-in's label (a jsb run that fell back and a bach-music21 run are one family)."""
        if self.origin in ("canonical", "generated", NONCANONICAL):
            return f"{self.origin} {self.requested}"
        if self.origin == UNKNOWN:
            return self.unknown_label
        loaded = DATASETS.get(self.loaded)
        return loaded.label if loaded is not None and loaded.label else self.loaded

    def summary_fields(self) -> dict:
        """Flat fields for a run's summary.json, beside the ``data_source`` text: ``data_files`` maps each file read,
        as :func:`record_path` names it (no folder of this machine), to the sha256 of its bytes."""
        return {"data_origin": self.origin, "data_loaded": self.loaded, "data_paper_dataset": self.paper_dataset,
                "data_files": {record_path(f.path): f.sha256 for f in self.files}}

    def as_recorded(self) -> Provenance:
        """This provenance as a run record keeps it: every file named by :func:`record_path` (what
        ``Provenance.from_record`` rebuilds from :meth:`summary_fields`)."""
        files = tuple(source_file(record_path(f.path), f.sha256) for f in self.files)
        return Provenance(self.origin, self.requested, self.loaded, files, self.unknown_label)

    @classmethod
    def from_record(cls, record: Mapping) -> Provenance:
        """From a run summary or a row of the runs table: the structured ``data_origin``/``data_loaded`` fields when
        present, else (records written before them) a parse of the ``data_source`` text."""
        dataset = str(record.get("dataset"))
        origin, loaded = record.get("data_origin"), record.get("data_loaded")
        if isinstance(origin, str) and origin in ORIGINS:
            files = record.get("data_files")
            files = tuple(source_file(p, s) for p, s in files.items()) if isinstance(files, Mapping) else ()
            return cls(origin, dataset, loaded if isinstance(loaded, str) else dataset, files)
        return cls.from_source_text(dataset, record.get("data_source"))

    @classmethod
    def from_source_text(cls, dataset: str, source) -> Provenance:
        """Old records only: the provenance a ``data_source`` text implies (``canonical jsb (...)``, or the older
        ``canonical:<path>``; ``noncanonical jsb (...)``; ``generated ...``; the stand-in's text; or a requested
        set's text that names the stand-in: a fallback)."""
        source = "" if source is None or source != source else str(source)  # None or NaN: nothing recorded
        if source.startswith(NONCANONICAL):
            return cls(NONCANONICAL, dataset, dataset)
        if source.startswith("canonical"):
            return cls("canonical", dataset, dataset)
        if source.startswith("generated"):
            return cls("generated", dataset, dataset)
        if dataset in DATASETS and DATASETS[dataset].stand_in_for is not None:
            return cls("stand-in", dataset, dataset)
        for name, s in DATASETS.items():  # e.g. jsb whose source is "music21 stand-in (bach-music21) -- fallback..."
            if s.label and source.startswith(s.label):
                return cls("fallback", dataset, name)
        label = source.split(":")[0].split(" -- ")[0].strip() or "unknown source"
        return cls("unknown", dataset, dataset, unknown_label=label)


def data_family(record) -> str:
    """Which data a run trained on, for grouping runs (:attr:`Provenance.family`): ``record`` is a run summary, a
    row of the runs table (``rnnlab.train.runs.load``) or a loaded Dataset."""
    provenance = getattr(record, "provenance", None)
    if isinstance(provenance, Provenance):
        return provenance.family
    if isinstance(getattr(record, "source", None), str):  # a Dataset built by hand, without provenance
        return Provenance.from_source_text(record.name, record.source).family
    return Provenance.from_record(record).family


def data_families(runs) -> list[str]:
    """:func:`data_family` of every row of a runs table (a pandas DataFrame), in order."""
    return [data_family(row) for row in runs.to_dict("records")]
