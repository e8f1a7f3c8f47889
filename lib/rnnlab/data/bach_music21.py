"""``bach-music21``: an offline stand-in for JSB Chorales, built from the Bach chorales bundled with music21.

Recipe (mirrors Boulanger-Lewandowski's JSB preprocessing as far as it is documented, docs/data.md §3.1):

1. Every MusicXML/Humdrum file of ``music21.corpus.getComposer('bach')``, sorted by name. Only the four vocal
   parts are kept (parts named Soprano/Alto/Tenor/Bass, or the only four parts); files without four voices
   (e.g. the BWV 846 prelude) are skipped.
2. Transposed so that the tonic is C (C major / C minor), by the smallest shift (-6..+5 semitones). The tonic is
   the key signature's major or relative-minor tonic, whichever the final bass note is; if it is neither,
   music21's Krumhansl-Schmuckler estimate (``Score.analyze('key')``).
3. Quarter-note frames: frame k holds every pitch sounding at quarter offset k (onset <= k < onset + duration).
4. 88-key piano roll, column j = MIDI 21 + j.
5. Leading and trailing silent frames are trimmed; a chorale whose voices rest together for 4 or more frames
   (an instrumental interlude, as in BWV 248.64-6) is skipped, and so is a duplicate: a chorale whose first 16
   frames equal those of an earlier file name (the same harmonisation in another cantata or format).
6. Fixed split by file name: the first 8 hex digits of sha256(name), mod 100: < 60 train, < 80 valid, else test
   (JSB's 229/76/77 is also about 60/20/20).

How it differs from canonical JSB (docs/data.md §5): different pieces and count (music21 bundles ~350 unique chorales,
~334 of JSB's 382 have a counterpart), a different split, and concert pitch -- canonical JSB sits about an octave
higher (median soprano 84 there vs 71 here). Models trained on one are not comparable with the paper's JSB
numbers. The first build parses ~410 files in two processes (its time: docs/speed.md §7); the result is cached as
a compressed ``.npz`` under ``data/cache``, which later loads read.
"""

from __future__ import annotations

import hashlib
import math
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from rnnlab.data.layout import LOWEST_PITCH, N_KEYS, SPLITS
from rnnlab.data.registry import STAND_IN_LABEL, Provenance, source_file
from rnnlab.errors import RnnlabError
from rnnlab.files import atomic_write

BUILD_VERSION = 2  # bump when the recipe changes; old caches are then ignored
VOICES = ("soprano", "alto", "tenor", "bass")
INTERLUDE_FRAMES = 4  # all voices silent this long: an instrumental interlude, not a plain chorale
DUPLICATE_FRAMES = 16  # chorales that agree on this many opening frames count as duplicates
SOURCE = STAND_IN_LABEL  # "music21 stand-in (bach-music21)": the start of every source text of this set


def split_of(file_name: str) -> str:
    """The fixed split of a chorale file, from the hash of its name."""
    bucket = int(hashlib.sha256(file_name.encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 60 else "valid" if bucket < 80 else "test"


def chorale_files() -> list[Path]:
    """The Bach score files music21 bundles (MusicXML and Humdrum), sorted by name."""
    from music21 import corpus

    return sorted((p for p in corpus.getComposer("bach") if p.suffix in (".mxl", ".xml", ".musicxml", ".krn")),
                  key=lambda p: p.name)


def vocal_parts(score) -> list | None:
    """Soprano, alto, tenor and bass parts (the first of each by name), or the only four parts; else None."""
    parts = list(score.parts)
    chosen = []
    for voice in VOICES:
        named = [p for p in parts if (p.partName or "").strip().lower().startswith(voice)]
        if named:
            chosen.append(named[0])
    if len(chosen) == 4:
        return chosen
    return parts if len(parts) == 4 else None


def tonic_pitch_class(score, parts) -> int:
    """Tonic as a pitch class 0..11 (see the module docstring, step 2)."""
    from music21 import key

    bass_notes = parts[-1].flatten().notes
    final_bass = min(bass_notes[-1].pitches).pitchClass if len(bass_notes) else None
    signature = score.recurse().getElementsByClass(key.KeySignature).first()
    if signature is not None and final_bass is not None:
        for mode in ("major", "minor"):
            tonic = signature.asKey(mode).tonic.pitchClass
            if tonic == final_bass:
                return tonic
    return score.analyze("key").tonic.pitchClass


def shift_to_c(tonic: int) -> int:
    """Semitones that move ``tonic`` to C by the smallest step, in -6..+5."""
    return (-tonic + 6) % 12 - 6


def score_to_roll(score) -> np.ndarray | None:
    """The (T, 88) uint8 quarter-note piano roll of a four-voice chorale, transposed to C; None if not SATB."""
    parts = vocal_parts(score)
    if parts is None:
        return None
    shift = shift_to_c(tonic_pitch_class(score, parts))
    events = []
    for part in parts:
        for element in part.flatten().notes:
            start = float(element.offset)
            end = start + float(element.duration.quarterLength)
            first, stop = math.ceil(start - 1e-9), math.ceil(end - 1e-9)
            for pitch in element.pitches:
                events.append((first, stop, pitch.midi + shift))
    n_frames = max((stop for _, stop, _ in events), default=0)
    roll = np.zeros((n_frames, N_KEYS), dtype=np.uint8)
    for first, stop, midi in events:
        if not LOWEST_PITCH <= midi < LOWEST_PITCH + N_KEYS:
            raise RnnlabError(f"pitch {midi} outside the piano range after transposition")
        roll[first:stop, midi - LOWEST_PITCH] = 1
    return roll


def convert_file(path: str) -> tuple[str, np.ndarray | None]:
    """Parse one corpus file (runs in a worker process) and return its name and roll (None if skipped)."""
    from music21 import converter

    score = converter.parseFile(path, forceSource=True)
    if not hasattr(score, "parts"):
        return Path(path).name, None
    return Path(path).name, score_to_roll(score)


def build(max_sequences: int | None = None, workers: int = 2) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Parse the corpus and return ``{split: [(file name, roll), ...]}`` (at most ``max_sequences`` files each)."""
    files = chorale_files()
    if max_sequences is not None:
        taken = {s: 0 for s in SPLITS}
        chosen = []
        for path in files:
            split = split_of(path.name)
            if taken[split] < max_sequences:
                taken[split] += 1
                chosen.append(path)
        files = chosen
    paths = [str(p) for p in files]
    if workers > 1 and len(paths) > 100:  # below that, starting the workers costs more than it saves
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            converted = list(pool.map(convert_file, paths, chunksize=8))
    else:
        converted = [convert_file(p) for p in paths]
    result = {s: [] for s in SPLITS}
    seen = set()
    for name, roll in converted:
        roll = trim_silence(roll) if roll is not None else None
        if roll is None or roll.shape[0] < 2 or longest_silence(roll) >= INTERLUDE_FRAMES:
            continue
        fingerprint = roll[:DUPLICATE_FRAMES].tobytes()
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        result[split_of(name)].append((name, roll))
    return result


def trim_silence(roll: np.ndarray) -> np.ndarray:
    """``roll`` without its leading and trailing silent frames."""
    sounding = np.flatnonzero(roll.any(1))
    return roll[sounding[0]:sounding[-1] + 1] if len(sounding) else roll[:0]


def longest_silence(roll: np.ndarray) -> int:
    """Length of the longest run of consecutive silent frames."""
    longest = current = 0
    for silent in ~roll.any(1):
        current = current + 1 if silent else 0
        longest = max(longest, current)
    return longest


def cache_path(max_sequences: int | None = None) -> Path:
    import music21

    from rnnlab.paths import cache_dir

    subset = "" if max_sequences is None else f"-first{max_sequences}"
    return cache_dir() / f"bach-music21-v{BUILD_VERSION}-music21_{music21.__version__}{subset}.npz"


def save(path: Path, pieces: dict[str, list[tuple[str, np.ndarray]]]) -> None:
    items = [(split, name, roll) for split in SPLITS for name, roll in pieces[split]]
    with atomic_write(path) as handle:
        np.savez_compressed(
            handle,
            rolls=np.concatenate([roll for _, _, roll in items]) if items else np.zeros((0, N_KEYS), np.uint8),
            lengths=np.array([roll.shape[0] for _, _, roll in items], dtype=np.int64),
            splits=np.array([split for split, _, _ in items]),
            names=np.array([name for _, name, _ in items]),
        )


def load_cache(path: Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            rolls, lengths, splits, names = data["rolls"], data["lengths"], data["splits"], data["names"]
    except Exception as err:
        raise RnnlabError(f"bach-music21 cache {str(path)!r} is unreadable ({type(err).__name__}); delete it to "
                          "rebuild") from None
    pieces = {s: [] for s in SPLITS}
    for split, name, roll in zip(splits, names, np.split(rolls, np.cumsum(lengths)[:-1]), strict=True):
        pieces[str(split)].append((str(name), roll))
    return pieces


def load_rolls(max_sequences: int | None = None, rebuild: bool = False) -> tuple[dict, Path]:
    """``{split: [(name, roll)]}`` from the cache, building (and caching) it first if needed."""
    path = cache_path(max_sequences)
    if path.is_file() and not rebuild:
        return load_cache(path), path
    full = cache_path(None)
    if max_sequences is not None and full.is_file() and not rebuild:
        pieces = load_cache(full)
        return {s: pieces[s][:max_sequences] for s in SPLITS}, full
    what = "all" if max_sequences is None else f"at most {max_sequences} per split of the"
    print(f"bach-music21: building from {what} music21 Bach chorales (first time only; cached in {path})",
          file=sys.stderr, flush=True)
    pieces = build(max_sequences)
    save(path, pieces)
    return pieces, path


def load_bach_music21(max_sequences: int | None = None, rebuild: bool = False):
    """The ``bach-music21`` :class:`~rnnlab.data.dataset.Dataset` (built and cached on first use)."""
    import music21

    from rnnlab.data.music import music_dataset

    pieces, path = load_rolls(max_sequences, rebuild)
    count = sum(len(v) for v in pieces.values())
    rolls = {s: [roll for _, roll in pieces[s][:max_sequences]] for s in SPLITS}
    ds = music_dataset("bach-music21", f"{SOURCE}: {count} chorales from music21 {music21.__version__}, "
                       f"cache {path.name}", rolls,
                       description="offline JSB stand-in: music21's Bach chorales in C, quarter-note frames")
    ds.piece_names = {s: [name for name, _ in pieces[s][:max_sequences]] for s in SPLITS}
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()  # the cache the rolls were read from (or just written)
    ds.provenance = Provenance("stand-in", "bach-music21", "bach-music21", (source_file(path, sha256),))
    return ds


def load(name: str, root=None, *, seed: int = 0, max_sequences: int | None = None, rebuild: bool = False):
    """The loader of the stand-in (:mod:`rnnlab.data.loaders`): :func:`load_bach_music21` (no files, no seed)."""
    return load_bach_music21(max_sequences=max_sequences, rebuild=rebuild)


def fetch(name: str, dest=None, timeout: float | None = None, deadline: float | None = None) -> list[Path]:
    """``rnnlab data fetch bach-music21``: build the cache from music21's corpus (nothing is downloaded)."""
    return [load_rolls()[1]]


def inventory_rows(name: str) -> list[dict]:
    """The stand-in's row of ``rnnlab data list``: its cache."""
    path = cache_path()
    return [{"dataset": name, "status": "cached" if path.is_file() else "built on first use", "file": str(path),
             "bytes": path.stat().st_size if path.is_file() else 0,
             "source": "music21's bundled Bach chorales (offline stand-in for jsb)"}]
