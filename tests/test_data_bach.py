"""bach-music21: the conversion recipe on hand-written scores, the fixed split, and the cache."""

from __future__ import annotations

import numpy as np
import pytest
from music21 import key, meter, note, stream

from rnnlab.data import bach_music21, load_dataset
from rnnlab.data.bach_music21 import (
    longest_silence,
    score_to_roll,
    shift_to_c,
    split_of,
    trim_silence,
    vocal_parts,
)
from rnnlab.errors import RnnlabError
from tests import _fixtures_data

offline = _fixtures_data.offline


def _part(name: str, notes: list[tuple[str, float, float]]) -> stream.Part:
    """A part from (pitch name, offset in quarters, duration in quarters)."""
    part = stream.Part()
    part.partName = name
    part.insert(0, key.KeySignature(1))  # one sharp: G major or E minor
    part.insert(0, meter.TimeSignature("4/4"))
    for pitch, offset, duration in notes:
        part.insert(offset, note.Note(pitch, quarterLength=duration))
    return part


def _g_major_chorale(extra_parts=()) -> stream.Score:
    score = stream.Score()
    for part in extra_parts:
        score.insert(0, part)
    score.insert(0, _part("Soprano", [("B4", 0, 2), ("A4", 2, 0.5), ("C5", 2.5, 1.5), ("B4", 4, 1), ("G4", 5, 1)]))
    score.insert(0, _part("Alto", [("D4", 0, 4), ("D4", 4, 2)]))
    score.insert(0, _part("Tenor", [("G3", 0, 3), ("F#3", 3, 1), ("G3", 4, 1), ("B3", 5, 1)]))
    score.insert(0, _part("Bass", [("G2", 0, 2), ("D3", 2, 2), ("D3", 4, 1), ("G2", 5, 1)]))
    return score


def test_score_to_roll_samples_quarter_frames_and_moves_the_tonic_to_c():
    roll = score_to_roll(_g_major_chorale())
    # Literal transcription: G major -> C major is +5 semitones; frame k = notes sounding at quarter offset k.
    # B4=71, A4=69 (an off-beat eighth at 2.0-2.5: sounds at frame 2), C5=72 from 2.5 to 4 (frame 3), D4=62,
    # G3=55, F#3=54, B3=59, G2=43, D3=50.
    sounding = [
        [71, 62, 55, 43], [71, 62, 55, 43], [69, 62, 55, 50], [72, 62, 54, 50], [71, 62, 55, 50], [67, 62, 59, 43],
    ]
    expected = np.zeros((6, 88), dtype=np.uint8)
    for frame, pitches in enumerate(sounding):
        for pitch in pitches:
            expected[frame, pitch + 5 - 21] = 1
    assert np.array_equal(roll, expected)


def test_only_the_four_voices_are_kept():
    violin = _part("Violin", [("E6", 0, 6)])
    with_violin = score_to_roll(_g_major_chorale(extra_parts=[violin]))
    assert np.array_equal(with_violin, score_to_roll(_g_major_chorale()))
    piano = stream.Score([_part("Piano", [("C4", 0, 1)]), _part("Piano", [("C3", 0, 1)])])
    assert vocal_parts(piano) is None and score_to_roll(piano) is None


@pytest.mark.parametrize("tonic, shift", [(0, 0), (2, -2), (5, -5), (6, -6), (7, 5), (11, 1)])
def test_shift_to_c_takes_the_smaller_step(tonic, shift):
    assert shift_to_c(tonic) == shift and (tonic + shift) % 12 == 0


def test_silence_helpers():
    roll = np.zeros((9, 88), dtype=np.uint8)
    roll[[2, 3, 7], 10] = 1
    assert longest_silence(roll) == 3  # frames 4, 5, 6
    assert np.array_equal(trim_silence(roll), roll[2:8])


def test_split_is_fixed_by_file_name_and_close_to_60_20_20():
    names = [p.name for p in bach_music21.chorale_files()]
    assert len(names) > 400
    splits = [split_of(n) for n in names]
    assert splits == [split_of(n) for n in names]
    shares = {s: splits.count(s) / len(splits) for s in ("train", "valid", "test")}
    assert 0.5 < shares["train"] < 0.7 and 0.13 < shares["valid"] < 0.27 and 0.13 < shares["test"] < 0.27
    assert split_of("bwv1.6.mxl") == split_of("bwv1.6.mxl")


def test_small_build_is_cached_and_reloaded_without_parsing(offline, monkeypatch):
    ds = load_dataset("bach-music21", max_sequences=2)
    assert ds.kind == "music" and ds.source.startswith("music21 stand-in (bach-music21)")
    assert 1 <= sum(len(v) for v in ds.splits.values()) <= 6
    for roll in (r for rolls in ds.splits.values() for r in rolls):
        assert roll.shape[1] == 88 and set(roll.unique().tolist()) <= {0.0, 1.0}
        assert roll.sum(1).max() <= 4  # four voices
    for split, names in ds.piece_names.items():
        assert all(split_of(name) == split for name in names)
    assert bach_music21.cache_path(2).is_file()

    def no_parsing(path):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(bach_music21, "convert_file", no_parsing)
    again = load_dataset("bach-music21", max_sequences=2)
    assert all(a.equal(b) for s in ds.splits for a, b in zip(ds.splits[s], again.splits[s], strict=True))


def test_unreadable_cache_is_one_clear_line(offline):
    path = bach_music21.cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not an npz")
    with pytest.raises(RnnlabError, match="delete it to rebuild"):
        load_dataset("bach-music21")
