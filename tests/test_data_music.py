"""The four Boulanger-Lewandowski music sets: statistics equal docs/data.md, formats agree, bad input explained."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.io

from rnnlab.data import load_dataset
from rnnlab.data.music import pitches_to_roll, read_mat_rolls, read_pickle_rolls, read_rolls
from rnnlab.errors import RnnlabError
from tests import _fixtures_data
from tests._fixtures_data import catalogue_as_found, files_under

offline = _fixtures_data.offline

# Transcribed from docs/data.md §3: (sequences, time steps, notes, min len, max len, pitch min,
# pitch max, empty steps, max polyphony) per split, and the mean polyphony over all splits.
PROVENANCE = {
    "jsb": ({"train": (229, 13807, 53824, 25, 129, 43, 96, 18, 4),
             "valid": (76, 4602, 17811, 32, 144, 48, 96, 29, 4),
             "test": (77, 4725, 18367, 32, 160, 45, 96, 17, 4)}, 3.89),
    "nottingham": ({"train": (694, 176561, 699403, 40, 1788, 31, 93, 487, 9),
                    "valid": (173, 45513, 180192, 96, 1473, 34, 91, 51, 8),
                    "test": (170, 44463, 177421, 63, 1793, 36, 89, 19, 9)}, 3.966),
    "musedata": ({"train": (524, 245202, 856543, 9, 3457, 21, 96, 12962, 14),
                  "valid": (135, 82755, 287893, 63, 3723, 21, 100, 4412, 15),
                  "test": (124, 64339, 211857, 45, 4273, 21, 105, 5042, 14)}, 3.457),
    "pianomidi": ({"train": (87, 75911, 231089, 111, 3857, 21, 108, 4917, 12),
                   "valid": (12, 8540, 27623, 209, 1637, 24, 104, 251, 11),
                   "test": (25, 19036, 56067, 65, 2645, 21, 108, 652, 10)}, 3.042),
}
COLUMNS = ["sequences", "steps", "notes", "min_len", "max_len", "pitch_min", "pitch_max", "empty_steps",
           "max_polyphony"]
TOTALS = {"jsb": (382, 23134, 90002), "nottingham": (1037, 266537, 1057016), "musedata": (783, 392296, 1356293),
          "pianomidi": (124, 103487, 314779)}
OTHER_FORMS = {  # every file of a set holds the same content (docs/data.md §3.1: converted / cross-checked)
    "jsb": ["polyphonic/JSB Chorales.pickle", "polyphonic/JSB_Chorales.mat"],
    "nottingham": ["polyphonic/derived/Nottingham.pickle", "polyphonic/Nottingham.mat"],
    "musedata": ["polyphonic/derived/MuseData.pickle", "polyphonic/MuseData.mat"],
    "pianomidi": ["polyphonic/derived/Piano-midi.de.pickle", "polyphonic/Piano_midi.mat"],
}


@pytest.mark.canonical
@pytest.mark.parametrize("name", list(PROVENANCE))
def test_statistics_equal_provenance_exactly(name, canonical_data):
    ds = load_dataset(name, root=canonical_data, fallback=False)
    assert ds.source.startswith(f"canonical {name} (polyphonic/") and ds.kind == "music" and ds.n_in == ds.n_out == 88
    table = ds.stats()
    per_split, mean_polyphony = PROVENANCE[name]
    for split, expected in per_split.items():
        assert tuple(int(v) for v in table.loc[split, COLUMNS]) == expected, split
    assert tuple(int(v) for v in table.loc["all", ["sequences", "steps", "notes"]]) == TOTALS[name]
    assert round(table.loc["all", "mean_polyphony"], len(str(mean_polyphony).split(".")[1])) == mean_polyphony


@pytest.mark.canonical
@pytest.mark.parametrize("name", list(OTHER_FORMS))
def test_pickle_and_mat_hold_the_same_piano_rolls(name, canonical_data):
    pickled, mat = (read_rolls(canonical_data / rel) for rel in OTHER_FORMS[name])
    for split in ("train", "valid", "test"):
        assert len(pickled[split]) == len(mat[split])
        assert all(np.array_equal(a, b) for a, b in zip(pickled[split], mat[split], strict=True)), split


@pytest.mark.canonical
def test_first_jsb_step_matches_the_raw_pickle(canonical_data):
    raw = pickle.loads((canonical_data / "polyphonic" / "JSB Chorales.pickle").read_bytes(), encoding="latin1")
    ds = load_dataset("jsb", root=canonical_data, fallback=False)
    first = ds.splits["train"][0]
    for step, pitches in enumerate(raw["train"][0]):
        assert sorted(21 + int(j) for j in first[step].nonzero().flatten()) == sorted(int(p) for p in pitches)
    assert first.dtype.is_floating_point and first.shape == (len(raw["train"][0]), 88)


def test_pitches_to_roll_puts_midi_p_in_column_p_minus_21():
    roll = pitches_to_roll([(60, 64), (), (21, 108)], "piece")
    expected = np.zeros((3, 88), dtype=np.uint8)
    expected[0, [39, 43]] = 1
    expected[2, [0, 87]] = 1
    assert np.array_equal(roll, expected)


def _write_pickle(path, content):
    path.write_bytes(pickle.dumps(content, protocol=2))
    return path


@pytest.mark.parametrize("pitch", [20, 109])
def test_pitch_outside_the_piano_is_one_clear_line(tmp_path, pitch):
    path = _write_pickle(tmp_path / "bad.pickle", {"train": [[(60,), (pitch, 62)]], "valid": [], "test": []})
    with pytest.raises(RnnlabError) as err:
        read_pickle_rolls(path)
    message = str(err.value)
    assert f"pitch {pitch}" in message and "21..108" in message and "time step 1" in message and "\n" not in message


def test_pickle_without_the_three_splits_is_rejected(tmp_path):
    path = _write_pickle(tmp_path / "bad.pickle", {"train": []})
    with pytest.raises(RnnlabError, match="train/valid/test"):
        read_pickle_rolls(path)


def test_truncated_pickle_is_rejected(tmp_path):
    good = pickle.dumps({"train": [[(60,)] * 50], "valid": [], "test": []}, protocol=2)
    (tmp_path / "cut.pickle").write_bytes(good[:40])
    with pytest.raises(RnnlabError, match="truncated or corrupt"):
        read_pickle_rolls(tmp_path / "cut.pickle")


def _write_mat(path, train_cells):
    cells = np.empty((1, len(train_cells)), dtype=object)
    for i, cell in enumerate(train_cells):
        cells[0, i] = cell
    empty = np.empty((1, 0), dtype=object)
    scipy.io.savemat(path, {"traindata": cells, "validdata": empty, "testdata": empty})
    return path


def test_mat_round_trip(tmp_path):
    roll = np.zeros((4, 88), dtype=np.uint8)
    roll[1, 3] = roll[2, 87] = 1
    rolls = read_mat_rolls(_write_mat(tmp_path / "ok.mat", [roll]))
    assert np.array_equal(rolls["train"][0], roll) and rolls["valid"] == []


@pytest.mark.parametrize("cell, words", [
    (np.zeros((5, 87), dtype=np.uint8), "shape (5, 87)"),
    (np.zeros((4, 88, 2), dtype=np.uint8), "expected (T, 88)"),
    (np.full((3, 88), 2, dtype=np.uint8), "other than 0/1"),
], ids=["87-columns", "three-dimensional", "not-binary"])
def test_bad_mat_is_one_clear_line(tmp_path, cell, words):
    path = _write_mat(tmp_path / "bad.mat", [np.zeros((2, 88), dtype=np.uint8), cell])
    with pytest.raises(RnnlabError) as err:
        read_mat_rolls(path)
    assert words in str(err.value) and "traindata cell 1" in str(err.value) and "\n" not in str(err.value)


def test_corrupt_mat_is_rejected(tmp_path):
    (tmp_path / "junk.mat").write_bytes(b"MATLAB 5.0 MAT-file" + b"\x00" * 50)
    with pytest.raises(RnnlabError, match="truncated or corrupt"):
        read_mat_rolls(tmp_path / "junk.mat")


def test_missing_set_names_the_files_and_the_fix(offline, tmp_path):
    with pytest.raises(RnnlabError) as err:
        load_dataset("nottingham", root=tmp_path / "empty")
    message = str(err.value)
    assert "polyphonic/Nottingham.mat" in message and "rnnlab data fetch nottingham" in message
    assert "\n" not in message


def test_unknown_name_lists_the_choices():
    with pytest.raises(RnnlabError, match="unknown dataset 'mnist'; valid choices: jsb, nottingham"):
        load_dataset("mnist")


def test_unknown_option_is_rejected(offline, tmp_path):
    with pytest.raises(RnnlabError, match="unknown option 'digits' for dataset 'nottingham'"):
        load_dataset("nottingham", root=tmp_path, digits=3)


def test_a_mat_file_in_root_is_loaded_with_max_sequences(offline, tmp_path, monkeypatch):
    roll = np.zeros((3, 88), dtype=np.uint8)
    roll[:, 40] = 1
    (tmp_path / "polyphonic").mkdir()
    _write_mat(tmp_path / "polyphonic" / "MuseData.mat", [roll, roll[:2], roll[:1]])
    catalogue_as_found(monkeypatch, "musedata", tmp_path)  # a hand-made file: make it the catalogued one
    ds = load_dataset("musedata", root=tmp_path, max_sequences=2)
    assert ds.source == "canonical musedata (polyphonic/MuseData.mat)"  # the file as in a data folder, no folder
    assert [len(r) for r in ds.splits["train"]] == [3, 2]
    assert int(ds.stats().loc["train", "pitch_min"]) == 61


def test_jsb_without_fallback_fails_offline_and_writes_nothing(offline, tmp_path):
    with pytest.raises(RnnlabError) as err:
        load_dataset("jsb", root=tmp_path / "empty", fallback=False)
    assert "rnnlab data fetch jsb" in str(err.value) and "network disabled" in str(err.value)
    assert files_under(offline) == []


def test_jsb_falls_back_to_bach_music21_loudly(offline, tmp_path, capsys):
    with pytest.warns(UserWarning, match="FALLBACK: canonical JSB Chorales not available"):
        ds = load_dataset("jsb", root=tmp_path / "empty", max_sequences=1)
    assert ds.name == "bach-music21" and "fallback for jsb" in ds.source
    assert "FALLBACK" in capsys.readouterr().err
    assert files_under(offline) == []  # the failed download left nothing in data/
