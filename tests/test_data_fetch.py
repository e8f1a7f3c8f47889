"""Fetching: verified downloads through a fake opener (never the network), imports, atomic writes, listing."""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
import time
import urllib.error

import pytest

from rnnlab.data import catalog, fetch, load_dataset
from rnnlab.data.catalog import DataFile, MusicSet
from rnnlab.errors import RnnlabError
from rnnlab.files import atomic_write
from tests import _fixtures_data
from tests._fixtures_data import files_under

offline = _fixtures_data.offline


class _Response(io.BytesIO):
    def __init__(self, data: bytes, delay: float = 0.0):
        super().__init__(data)
        self.delay = delay

    def read(self, size=-1):
        time.sleep(self.delay)
        return super().read(size)


def _serve(monkeypatch, pages: dict[str, bytes], delay: float = 0.0) -> list[str]:
    """Replace the opener: known URLs return their bytes, others fail like a missing host. Returns the URL log."""
    asked = []

    def opener(url, timeout):
        asked.append(url)
        if url not in pages:
            raise urllib.error.URLError("[Errno -2] Name or service not known")
        return _Response(pages[url], delay)

    monkeypatch.setattr(fetch, "open_url", opener)
    return asked


def _music_pickle(sizes=(2, 1, 1)) -> bytes:
    content = {s: [[(60, 64), (62,)]] * n for s, n in zip(("train", "valid", "test"), sizes, strict=True)}
    return pickle.dumps(content, protocol=2)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fake_jsb(monkeypatch, data: bytes) -> MusicSet:
    entry = DataFile("polyphonic/JSB Chorales.pickle", _sha(data), ("http://a/jsb.pickle", "http://b/jsb.pickle"))
    fake = MusicSet((entry,), {"train": 2, "valid": 1, "test": 1})
    monkeypatch.setitem(catalog.MUSIC, "jsb", fake)
    return fake


def test_download_tries_the_fallback_url_and_verifies_sha256(offline, monkeypatch):
    data = _music_pickle()
    _fake_jsb(monkeypatch, data)
    asked = _serve(monkeypatch, {"http://b/jsb.pickle": data})
    [path] = fetch.fetch("jsb")
    assert asked == ["http://a/jsb.pickle", "http://b/jsb.pickle"]
    assert path == offline / "polyphonic" / "JSB Chorales.pickle" and path.read_bytes() == data
    assert load_dataset("jsb", root=offline, fallback=False).source == "canonical jsb (polyphonic/JSB Chorales.pickle)"


def test_checksum_mismatch_writes_nothing(offline, monkeypatch):
    _fake_jsb(monkeypatch, _music_pickle())
    _serve(monkeypatch, {"http://a/jsb.pickle": _music_pickle((3, 1, 1))})
    with pytest.raises(RnnlabError, match="sha256 .* does not match PROVENANCE"):
        fetch.fetch("jsb")
    assert files_under(offline) == []


def test_no_network_is_one_line_naming_urls_and_the_fix(offline):
    with pytest.raises(RnnlabError) as err:
        fetch.fetch("jsb")
    message = str(err.value)
    assert "\n" not in message and "No network?" in message and "rnnlab data fetch jsb --from DIR" in message
    for url in (u for entry in catalog.MUSIC["jsb"].files for u in entry.urls):
        assert url in message
    assert files_under(offline) == []


def test_a_pickle_without_checksum_is_verified_by_its_split_sizes(offline, monkeypatch):
    url = catalog.MUSIC["nottingham"].files[0].urls[0]
    _serve(monkeypatch, {url: _music_pickle((2, 1, 1))})
    with pytest.raises(RnnlabError, match=r"split sizes .* differ from the published"):
        fetch.fetch("nottingham")
    assert files_under(offline) == []
    _serve(monkeypatch, {url: _music_pickle((694, 173, 170))})
    [path] = fetch.fetch("nottingham")
    assert path.name == "Nottingham.pickle" and len(load_dataset("nottingham").splits["valid"]) == 173


def test_total_time_budget_gives_up(offline, monkeypatch):
    data = _music_pickle()
    _fake_jsb(monkeypatch, data)
    _serve(monkeypatch, {"http://a/jsb.pickle": b"x" * (20 * fetch.CHUNK)}, delay=0.2)  # 20 reads of 0.2 s
    with pytest.raises(RnnlabError, match="http://a/jsb.pickle: TimeoutError: gave up: time budget spent; "
                                          "http://b/jsb.pickle: TimeoutError: not tried"):
        fetch.fetch("jsb", timeout=5, total_timeout=0.5)
    assert files_under(offline) == []


def _fake_ptb(monkeypatch, texts: dict[str, bytes]) -> None:
    entries = {split: DataFile(f"ptb/ptb.{split}.txt", _sha(data), (f"http://mirror/ptb.{split}.txt",),
                               archive_member=f"simple-examples/data/ptb.{split}.txt")
               for split, data in texts.items()}
    monkeypatch.setitem(catalog.TEXT, "ptb-word", entries)


def _tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


PTB_TEXTS = {"train": b" the cat sat \n the dog \n", "valid": b" the cat \n", "test": b" a dog \n"}


def test_ptb_archive_yields_only_the_three_needed_files(offline, monkeypatch):
    texts = {**PTB_TEXTS, "test": b" the dog \n"}
    _fake_ptb(monkeypatch, texts)
    archive = _tgz({**{f"simple-examples/data/ptb.{s}.txt": d for s, d in texts.items()},
                    "simple-examples/data/ptb.char.train.txt": b"x", "../escape.txt": b"evil",
                    "simple-examples/models/huge.bin": b"0" * 1000})
    _serve(monkeypatch, {catalog.PTB_ARCHIVE: archive})
    fetch.fetch("ptb-word")
    assert files_under(offline) == ["ptb/ptb.test.txt", "ptb/ptb.train.txt", "ptb/ptb.valid.txt"]
    assert not (offline.parent / "escape.txt").exists()
    ds = load_dataset("ptb-word", root=offline)
    assert ds.vocab[:2] == ["<eos>", "the"] and ds.decode(ds.splits["valid"][0]) == "the cat <eos>"


def test_ptb_falls_back_to_the_mirror_files_when_the_archive_is_unreachable(offline, monkeypatch):
    _fake_ptb(monkeypatch, PTB_TEXTS)
    asked = _serve(monkeypatch, {f"http://mirror/ptb.{s}.txt": d for s, d in PTB_TEXTS.items()})
    fetch.fetch("ptb-word")
    assert asked[0] == catalog.PTB_ARCHIVE and len(asked) == 4
    assert (offline / "ptb" / "ptb.valid.txt").read_bytes() == PTB_TEXTS["valid"]


def test_import_from_a_flat_folder_verifies_before_writing(offline, monkeypatch, tmp_path):
    _fake_ptb(monkeypatch, PTB_TEXTS)
    source = tmp_path / "copy"
    source.mkdir()
    for split, data in PTB_TEXTS.items():
        (source / f"ptb.{split}.txt").write_bytes(data)
    (source / "ptb.test.txt").write_bytes(b" tampered \n")
    with pytest.raises(RnnlabError, match="ptb.test.txt: sha256"):
        fetch.fetch("ptb-word", source_dir=source)
    assert files_under(offline) == []
    (source / "ptb.test.txt").write_bytes(PTB_TEXTS["test"])
    assert len(fetch.fetch("ptb-word", source_dir=source)) == 3


@pytest.mark.canonical
def test_import_from_the_shared_folder(offline, canonical_data):
    paths = fetch.fetch("jsb", source_dir=canonical_data)
    assert sorted(p.name for p in paths) == ["JSB Chorales.pickle", "JSB_Chorales.mat"]
    assert files_under(offline) == ["polyphonic/JSB Chorales.pickle", "polyphonic/JSB_Chorales.mat"]
    inventory = fetch.inventory(offline)
    jsb = inventory[inventory.dataset == "jsb"]
    assert jsb.status.tolist() == ["present (used)", "present"] and jsb.bytes.tolist() == [2_051_809, 96_095]


def test_import_from_a_missing_folder_is_one_line(offline, tmp_path):
    with pytest.raises(RnnlabError, match="is not a folder"):
        fetch.fetch("jsb", source_dir=tmp_path / "nope")
    with pytest.raises(RnnlabError, match="none of polyphonic/JSB Chorales.pickle"):
        fetch.fetch("jsb", source_dir=tmp_path)


def test_atomic_write_leaves_nothing_when_interrupted(tmp_path):
    target = tmp_path / "sub" / "file.bin"
    with pytest.raises(KeyboardInterrupt), atomic_write(target) as handle:
        handle.write(b"half")
        raise KeyboardInterrupt
    assert files_under(tmp_path) == []
    with atomic_write(target) as handle:
        handle.write(b"whole")
    assert target.read_bytes() == b"whole" and files_under(tmp_path) == ["sub/file.bin"]


def test_inventory_lists_every_dataset(offline, tmp_path):
    table = fetch.inventory(tmp_path / "empty")
    from rnnlab.data import DATASETS

    assert list(dict.fromkeys(table.dataset)) == list(DATASETS)
    assert set(table[table.dataset == "memorize"].status) == {"generated"}
    assert set(table[table.dataset == "nottingham"].status) == {"missing"}
