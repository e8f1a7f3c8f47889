"""Fixtures of the dataset tests: an offline, throw-away data/ and cache, so no test touches the network or data/."""

from __future__ import annotations

import urllib.error

import pytest


def refuse_network(url, timeout):
    raise urllib.error.URLError("network disabled in tests")


@pytest.fixture()
def offline(tmp_path, monkeypatch):
    """``data/`` -> tmp/data, cache -> tmp/cache, no ``$RNNLAB_DATA``, and every download fails at once."""
    from rnnlab.data import catalog, fetch

    downloads = tmp_path / "data"
    downloads.mkdir()
    monkeypatch.setattr(catalog, "download_dir", lambda: downloads)
    monkeypatch.setattr(fetch, "open_url", refuse_network)
    monkeypatch.setenv("RNNLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RNNLAB_DATA", raising=False)
    monkeypatch.delenv("RNNLAB_OFFLINE", raising=False)
    return downloads


def files_under(folder) -> list[str]:
    """Every file below ``folder`` (hidden partial files included), as sorted relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def catalogue_as_found(monkeypatch, name: str, folder) -> None:
    """Make the catalogue's sha256 of set ``name`` those of its files in ``folder``: a test's hand-made copy then
    loads as canonical (loading checks every file against the catalogue: rnnlab.data.checksums)."""
    import dataclasses
    import hashlib
    from pathlib import Path

    from rnnlab.data import catalog

    def found(entry):
        path = Path(folder) / entry.relpath
        return dataclasses.replace(entry, sha256=hashlib.sha256(path.read_bytes()).hexdigest()) if path.is_file() \
            else entry

    if name in catalog.MUSIC:
        music = catalog.MUSIC[name]
        monkeypatch.setitem(catalog.MUSIC, name, dataclasses.replace(music, files=tuple(map(found, music.files))))
    else:
        monkeypatch.setitem(catalog.TEXT, name, {split: found(e) for split, e in catalog.TEXT[name].items()})
