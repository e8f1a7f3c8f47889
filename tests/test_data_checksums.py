"""Trust at the edges (issue 26): every canonical file is checked against the catalogue's sha256 when its set is
loaded. Another set's file under a set's name, a truncated or edited file, a file replaced after it was listed: each
is refused in one line that names the file, both sha256 prefixes and the fix, and nothing is written. With
``allow_noncanonical=True`` the set loads, is recorded as ``noncanonical`` and is never set beside the papers'
numbers (report, comparison, generation's pick).

The fake data folders are copies of the canonical files in tmp_path, damaged in every way below, for every set whose
files the catalogue has checksums for: the tests know the kinds of damage, not the files.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from rnnlab.data import DATASETS, Provenance, catalog, checksums, data_family, load_dataset, stand_ins
from rnnlab.data.catalog import DataFile
from rnnlab.data.safe_pickle import safe_load
from rnnlab.errors import RnnlabError
from tests import _fixtures_data

offline = _fixtures_data.offline
CHECKED = [name for name, spec in DATASETS.items() if spec.checked]
KINDS = sorted({DATASETS[name].kind for name in CHECKED})


def used_files(name: str, folder: Path) -> list[DataFile]:
    """The catalogued files of ``name`` that loading reads from ``folder``: a music set's first present file, every
    split of a text set."""
    present = [entry for entry in catalog.files_of(name) if (folder / entry.relpath).is_file()]
    return present[:1] if name in catalog.MUSIC else present


def first_of_kind(kind: str) -> str:
    return next(name for name in CHECKED if DATASETS[name].kind == kind)


# ------------------------------------------------------------------------------------------- kinds of damage
def owner(entry: DataFile) -> str:
    return next(name for name in CHECKED if entry.relpath in {e.relpath for e in catalog.files_of(name)})


def other_sets_file(data: bytes, entry: DataFile, canonical: Path) -> bytes:
    """The file of another set of the same format, under this file's name."""
    suffix = Path(entry.relpath).suffix
    for name in CHECKED:
        for other in used_files(name, canonical) if name != owner(entry) else ():
            if Path(other.relpath).suffix == suffix and other.sha256 != entry.sha256:
                return (canonical / other.relpath).read_bytes()
    pytest.skip(f"no other set's {suffix} file in {canonical}")


def truncated(data: bytes, entry: DataFile, canonical: Path) -> bytes:
    return data[: len(data) // 2]


def one_byte_changed(data: bytes, entry: DataFile, canonical: Path) -> bytes:
    """One character changed (a letter to the next letter where there is one past the middle, else one bit)."""
    middle = len(data) // 2
    at = next((i for i in range(middle, len(data)) if 97 <= data[i] < 122), middle)
    changed = data[at] + 1 if 97 <= data[at] < 122 else data[at] ^ 1
    return data[:at] + bytes([changed]) + data[at + 1:]


def one_sequence_removed(data: bytes, entry: DataFile, canonical: Path) -> bytes:
    """A well-formed file with the last test sequence (piece, or line) removed."""
    if entry.relpath.endswith(".pickle"):
        content = safe_load(data)
        content["test"] = content["test"][:-1]
        return pickle.dumps(content, protocol=2)
    if entry.relpath.endswith(".mat"):
        content = {k: v for k, v in scipy.io.loadmat(io.BytesIO(data)).items() if not k.startswith("__")}
        content["testdata"] = content["testdata"][:, :-1]
        out = io.BytesIO()
        scipy.io.savemat(out, content)
        return out.getvalue()
    lines = data.split(b"\n")
    return b"\n".join(lines[:-2] + lines[-1:])


def emptied(data: bytes, entry: DataFile, canonical: Path) -> bytes:
    return b""


DAMAGE = [other_sets_file, truncated, one_byte_changed, one_sequence_removed, emptied]


# ---------------------------------------------------------------------------------------------- fake folders
@pytest.fixture()
def copy_of(offline, canonical_data, tmp_path, monkeypatch):
    """``copy_of(name)``: a data folder in tmp_path holding the canonical files ``name`` is loaded from, with
    RNNLAB_DATA pointing at it."""
    def make(name: str) -> Path:
        folder = tmp_path / "data-copy"
        for entry in used_files(name, canonical_data):
            (folder / entry.relpath).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(canonical_data / entry.relpath, folder / entry.relpath)
        if not used_files(name, folder):
            pytest.skip(f"{name}: no catalogued file in {canonical_data}")
        monkeypatch.setenv("RNNLAB_DATA", str(folder))
        monkeypatch.setenv("RNNLAB_OFFLINE", "1")  # a set with a stand-in must refuse, not try a download first
        return folder
    return make


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file below ``folder`` (hidden ones too) with its size and mtime: what "nothing written" compares."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(name: str, tmp_path: Path, **knobs) -> str:
    """Load ``name``; it must be refused with one line and write nothing anywhere under tmp_path."""
    before = snapshot(tmp_path)
    with pytest.raises(RnnlabError) as err:
        load_dataset(name, **knobs)
    message = str(err.value)
    assert "\n" not in message, message
    assert snapshot(tmp_path) == before
    return message


# ----------------------------------------------------------------------------------------------------- tests
@pytest.mark.canonical
@pytest.mark.parametrize("damage", DAMAGE, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", CHECKED)
def test_a_damaged_file_is_refused_in_one_line_naming_it_and_the_fix(copy_of, canonical_data, tmp_path, name,
                                                                      damage):
    folder = copy_of(name)
    for entry in used_files(name, folder):  # each file of the set in turn (a text set reads three)
        path = folder / entry.relpath
        good = path.read_bytes()
        bad = damage(good, entry, canonical_data)
        path.write_bytes(bad)
        message = refused(name, tmp_path)
        assert str(path) in message and hashlib.sha256(bad).hexdigest()[:16] in message, message
        assert entry.sha256[:16] in message and f"`rnnlab data fetch {name}`" in message, message
        assert "allow_noncanonical" in message, message
        if name in stand_ins().values():  # a set with a stand-in says it does not fall back past a wrong file
            assert "not falling back" in message, message
        path.write_bytes(good)


@pytest.mark.canonical
@pytest.mark.parametrize("name", CHECKED)
def test_a_file_of_another_set_is_named_as_what_it_is(copy_of, canonical_data, tmp_path, name):
    folder = copy_of(name)
    entry = used_files(name, folder)[0]
    bad = other_sets_file(b"", entry, canonical_data)
    (folder / entry.relpath).write_bytes(bad)
    owner = next(f"{other}'s {e.relpath}" for other in CHECKED for e in catalog.files_of(other)
                 if e.sha256 == hashlib.sha256(bad).hexdigest())
    assert f"it is {owner}" in refused(name, tmp_path)


@pytest.mark.canonical
@pytest.mark.parametrize("same_mtime", [False, True], ids=["new-mtime", "mtime-set-back"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_file_replaced_after_it_was_loaded_and_listed_is_refused(copy_of, tmp_path, kind, same_mtime):
    """Same size, other bytes; with ``os.utime`` putting its mtime back too. Loading hashes what it parses, so both
    are refused; the listing's cache keys on (path, size, mtime_ns, ctime_ns, inode), so it sees both as well."""
    from rnnlab.data.fetch import inventory

    name = first_of_kind(kind)
    folder = copy_of(name)
    entry = used_files(name, folder)[0]
    path = folder / entry.relpath
    assert load_dataset(name).provenance.origin == "canonical"
    assert set(inventory()[lambda t: t.file == str(path)].check) == {"ok"}  # hashed once, now cached
    stat = path.stat()
    bad = one_byte_changed(path.read_bytes(), entry, folder)
    assert len(bad) == stat.st_size
    path.write_bytes(bad)
    if same_mtime:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert path.stat().st_mtime_ns == stat.st_mtime_ns and path.stat().st_size == stat.st_size
    assert hashlib.sha256(bad).hexdigest()[:16] in refused(name, tmp_path)
    assert set(inventory()[lambda t: t.file == str(path)].check) == {
        f"WRONG sha256 {hashlib.sha256(bad).hexdigest()[:16]} (loading refuses it)"}


def test_the_listing_cache_hashes_once_and_is_written_atomically(offline, tmp_path, monkeypatch):
    path = tmp_path / "file.bin"
    path.write_bytes(b"some data")
    expected = hashlib.sha256(b"some data").hexdigest()
    assert checksums.cached_sha256(path) == expected
    cache = tmp_path / "cache" / checksums.CACHE_NAME
    assert list(json.loads(cache.read_text())) == [str(path.resolve())]
    assert [p.name for p in cache.parent.iterdir()] == [cache.name]  # no temporary file left beside it

    def no_hashing(path):
        raise AssertionError("hashed again")

    monkeypatch.setattr(checksums, "sha256_of", no_hashing)
    assert checksums.cached_sha256(path) == expected  # unchanged: from the cache
    cache.write_text("{not json")  # a corrupt cache is only a cache: start afresh
    monkeypatch.undo()
    monkeypatch.setenv("RNNLAB_CACHE", str(tmp_path / "cache"))
    assert checksums.cached_sha256(path) == expected and json.loads(cache.read_text())


@pytest.mark.canonical
@pytest.mark.parametrize("kind", KINDS)
def test_with_allow_noncanonical_a_damaged_set_loads_and_says_so(copy_of, canonical_data, tmp_path, kind):
    name = first_of_kind(kind)
    folder = copy_of(name)
    entry = used_files(name, folder)[-1]
    path = folder / entry.relpath
    path.write_bytes(one_sequence_removed(path.read_bytes(), entry, canonical_data))
    ds = load_dataset(name, allow_noncanonical=True)
    provenance = ds.provenance
    assert provenance.origin == "noncanonical" and not provenance.comparable and provenance.paper_dataset is None
    assert data_family(ds) == f"noncanonical {name}"
    assert ds.source.startswith(f"noncanonical {name} (") and "not the papers' data" in ds.source
    assert entry.sha256[:16] in ds.source and str(folder) not in ds.source  # names no folder of this machine
    [wrong] = [f for f in provenance.files if f.verified is False]
    assert wrong.path == str(path)
    fields = ds.summary_fields()
    assert fields["data_origin"] == "noncanonical" and fields["data_paper_dataset"] is None
    assert Provenance.from_record({"dataset": name, **fields}).origin == "noncanonical"
    if kind == "music":  # the knob admits, never forces (one cheap load is enough to show it)
        canonical = load_dataset(name, root=canonical_data, allow_noncanonical=True, max_sequences=1)
        assert canonical.provenance.origin == "canonical"


def test_allow_noncanonical_is_a_bool_and_only_for_checked_sets(offline):
    with pytest.raises(RnnlabError, match="allow_noncanonical must be true or false, got 'yes'"):
        load_dataset(CHECKED[0], allow_noncanonical="yes")
    unchecked = next(name for name, spec in DATASETS.items() if not spec.checked)
    with pytest.raises(RnnlabError, match=f"unknown option 'allow_noncanonical' for dataset '{unchecked}'"):
        load_dataset(unchecked, allow_noncanonical=True)


@pytest.mark.parametrize("record, origin, family, comparable", [
    ({"dataset": "jsb", "data_source": "canonical:/d/JSB Chorales.pickle"}, "canonical", "canonical jsb", True),
    ({"dataset": "jsb", "data_source": "canonical jsb (polyphonic/JSB Chorales.pickle)"}, "canonical",
     "canonical jsb", True),
    ({"dataset": "jsb", "data_source": "music21 stand-in (bach-music21): x -- fallback for jsb"}, "fallback",
     "music21 stand-in (bach-music21)", False),
    ({"dataset": "jsb", "data_source": "noncanonical jsb (polyphonic/JSB Chorales.pickle): sha256 5e66; not the "
      "papers' data"}, "noncanonical", "noncanonical jsb", False),
    ({"dataset": "ptb-word", "data_source": "whatever", "data_origin": "noncanonical", "data_loaded": "ptb-word",
      "data_files": {"ptb/ptb.train.txt": "ab" * 32}}, "noncanonical", "noncanonical ptb-word", False),
    ({"dataset": "jsb", "data_source": "canonical jsb (polyphonic/JSB Chorales.pickle)", "data_origin": "canonical",
      "data_loaded": "jsb", "data_files": {"polyphonic/JSB Chorales.pickle": "69dc"}}, "canonical", "canonical jsb",
     True),
], ids=["old-path-text", "portable-text", "fallback-text", "noncanonical-text", "noncanonical-fields",
        "canonical-fields"])
def test_old_and_new_records_keep_their_provenance(record, origin, family, comparable):
    provenance = Provenance.from_record(record)
    assert (provenance.origin, provenance.family, provenance.comparable) == (origin, family, comparable)


# --------------------------------------------------------------------- never beside the papers' numbers
def _record(root: Path, name: str, dataset: str, summary_data: dict, test_nll: float) -> Path:
    run = root / name
    run.mkdir(parents=True)
    summary = {"dataset": dataset, "arch": "rnn", "cell": "tanh", "metric": "nll", "sizes": {"hidden": 8},
               "n_params": 100, "status": "ok", "epochs_run": 1, "best_valid": test_nll, "wall_seconds": 1.0,
               "test": {"nats": test_nll, "nll": test_nll}, **summary_data}
    (run / "summary.json").write_text(json.dumps(summary))
    return run


@pytest.mark.canonical
@pytest.mark.parametrize("kind", ["music"])
def test_a_noncanonical_run_is_never_beside_the_papers_numbers(copy_of, canonical_data, tmp_path, kind):
    """The data of a real load with the knob, in a run record beside a canonical one with a worse NLL."""
    from rnnlab.campaigns.report import results_table
    from rnnlab.generate import pick_music_run
    from rnnlab.train.runs import load
    from rnnlab.viz.compare import results_beside_papers, run_labels

    name = first_of_kind(kind)
    folder = copy_of(name)
    entry = used_files(name, folder)[0]
    (folder / entry.relpath).write_bytes(other_sets_file(b"", entry, canonical_data))
    ds = load_dataset(name, allow_noncanonical=True, max_sequences=2)
    good = load_dataset(name, root=canonical_data, max_sequences=2)
    root = tmp_path / "runs"
    bad_run = _record(root, "bad", name, ds.summary_fields(), 1.0)  # better than any paper: must not be shown
    good_run = _record(root, "good", name, good.summary_fields(), 9.0)
    table = results_table(root)
    assert table[table.run_dir == str(bad_run)].paper_value.isna().all()
    assert table[table.run_dir == str(good_run)].paper_value.notna().any()
    beside = results_beside_papers(load(root))
    assert beside[beside.run_dir == str(bad_run)].paper_value.isna().all()
    assert not beside[beside.run_dir == str(bad_run)].comparable.any()
    assert beside[beside.run_dir == str(good_run)].comparable.any()
    assert run_labels(load(root))[str(bad_run)].endswith(f"{name} (noncanonical)")
    runs = load(root)
    assert pick_music_run(runs) == str(good_run)  # the lower NLL of the noncanonical run is not picked
    assert pick_music_run(runs, data_family(ds)) == str(bad_run)  # only when its own data is asked for


@pytest.mark.canonical
@pytest.mark.parametrize("name", CHECKED)
def test_the_canonical_files_still_load_as_canonical(canonical_data, name):
    if not used_files(name, canonical_data):
        pytest.skip(f"{name}: no catalogued file in {canonical_data}")
    if DATASETS[name].kind == "text" and os.environ.get("RNNLAB_SMOKE"):
        pytest.skip("PTB loads are covered by tests/test_data_ptb.py")
    ds = load_dataset(name, root=canonical_data, fallback=False, max_sequences=1)
    assert ds.provenance.origin == "canonical" and all(f.verified for f in ds.provenance.files)


def test_a_missing_set_still_falls_back_but_a_folder_at_its_name_does_not(offline, tmp_path, monkeypatch):
    name = next(iter(stand_ins().values()))
    monkeypatch.setenv("RNNLAB_OFFLINE", "1")
    entry = catalog.files_of(name)[0]
    (tmp_path / "d" / entry.relpath).mkdir(parents=True)
    message = refused(name, tmp_path, root=tmp_path / "d")
    assert "is a folder" in message and f"rnnlab data fetch {name}" in message


def test_a_data_folder_that_is_a_file_is_one_line(offline, tmp_path, monkeypatch):
    (tmp_path / "datafile").write_text("")
    monkeypatch.setenv("RNNLAB_DATA", str(tmp_path / "datafile"))
    message = refused(CHECKED[0], tmp_path)
    assert "is a file, not a folder" in message


def test_a_link_loop_at_a_files_name_is_one_line(offline, tmp_path):
    name = CHECKED[0]
    path = tmp_path / "d" / catalog.files_of(name)[0].relpath
    path.parent.mkdir(parents=True)
    path.symlink_to(path)
    assert "link that leads nowhere" in refused(name, tmp_path, root=tmp_path / "d")


def test_a_missing_split_is_named(offline, tmp_path):
    name = first_of_kind("text")
    folder = tmp_path / "d"
    entries = list(catalog.TEXT[name].values())
    for entry in entries[:-1]:
        (folder / entry.relpath).parent.mkdir(parents=True, exist_ok=True)
        (folder / entry.relpath).write_bytes(b"x\n")
    message = refused(name, tmp_path, root=folder)
    assert f"{entries[-1].relpath} missing in {folder}" in message


def test_split_sizes_check_a_file_without_a_catalogued_sha256(offline, tmp_path, monkeypatch):
    """A music file the catalogue has no sha256 for is checked by its published split sizes."""
    name = next(name for name in CHECKED if name in catalog.MUSIC)
    music = catalog.MUSIC[name]
    entry = DataFile(music.files[0].relpath, None)
    monkeypatch.setitem(catalog.MUSIC, name, catalog.MusicSet((entry,), {"train": 2, "valid": 1, "test": 1}))
    path = tmp_path / "d" / entry.relpath
    path.parent.mkdir(parents=True)
    piece = [(60,), (62, 64)]
    path.write_bytes(pickle.dumps({"train": [piece] * 2, "valid": [piece], "test": [piece]}, protocol=2))
    assert load_dataset(name, root=tmp_path / "d").provenance.origin == "canonical"
    path.write_bytes(pickle.dumps({"train": [piece] * 2, "valid": [piece], "test": []}, protocol=2))
    assert "split sizes" in refused(name, tmp_path, root=tmp_path / "d")
    ds = load_dataset(name, root=tmp_path / "d", allow_noncanonical=True)
    assert ds.provenance.origin == "noncanonical" and "split sizes" in ds.source
    assert np.array_equal(ds.splits["train"][0].numpy().sum(1), [1, 2])


@pytest.mark.canonical
def test_a_wrong_file_in_the_download_folder_is_replaced_by_fetch(offline, canonical_data, tmp_path, monkeypatch):
    """In data/ (where `rnnlab data fetch` writes) the fix is the fetch itself; elsewhere the file must move away."""
    name = next(name for name in CHECKED if name in catalog.MUSIC)
    entry = used_files(name, canonical_data)[0]
    (offline / entry.relpath).parent.mkdir(parents=True, exist_ok=True)
    (offline / entry.relpath).write_bytes(b"not the file")
    monkeypatch.setenv("RNNLAB_OFFLINE", "1")
    message = refused(name, tmp_path, root=tmp_path / "nowhere")
    assert f"run `rnnlab data fetch {name}` (or `--from DIR` with a good copy) to replace it" in message
