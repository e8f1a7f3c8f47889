"""Is a data file the catalogued one? Every canonical file is checked against :mod:`rnnlab.data.catalog`'s sha256
when its set is loaded, so another set's pickle under JSB's name, a truncated pickle or a PTB file with one
character changed is refused, in one line, before anything is parsed or trained.

- :func:`check_file`: the loaders' check of the bytes they read (the sha256 of the very bytes parsed, so nothing
  can slip in between the check and the parse). A mismatch raises ``RnnlabError`` naming the file, its sha256
  prefix, the catalogued one and the fix, unless the load was asked for with the dataset option
  ``allow_noncanonical=True`` (:data:`ALLOW_OPTION`; in a run: ``task_knobs``); then it returns False and the
  loader records the set as ``noncanonical`` (:class:`~rnnlab.data.registry.Provenance`), which is never set beside
  the papers' numbers.
- :func:`check_split_sizes`: the same for a file the catalogue has no sha256 for (the original Nottingham, MuseData
  and Piano-midi pickles, never obtained): its split sizes must be the published ones.
- :func:`cached_sha256`: the sha256 of a file that is not otherwise read (``rnnlab data list``), cached in
  ``<cache>/sha256-cache.json`` (the project's cache folder, :func:`rnnlab.paths.cache_dir`) by (resolved path,
  size, mtime_ns, ctime_ns, inode) and written atomically. A hit means the file was not touched since it was
  hashed: a write, a rename over it or a copy moves its ctime or inode, and so does ``os.utime`` setting its mtime
  back (no call sets a ctime back), so a file replaced with the same size and the same mtime is hashed afresh. What
  the key cannot see is a change below the file system (a disk edited under it, a clock set back before the write):
  loading therefore never asks the cache, it hashes the bytes it parses (a few ms per set; docs/data.md,
  "Provenance and checksums").
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from rnnlab.data import catalog
from rnnlab.data.catalog import DataFile
from rnnlab.data.registry import ALLOW_OPTION, DATASETS
from rnnlab.errors import RnnlabError

__all__ = ["ALLOW_OPTION", "cached_sha256", "check_file", "check_split_sizes", "file_status", "find_file"]
CACHE_NAME = "sha256-cache.json"
CHUNK = 1 << 20


def sha256_of(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in chunks (one line on an unreadable file)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    except OSError as err:
        raise RnnlabError(f"cannot read {str(path)!r}: {err.strerror or err}") from None
    return digest.hexdigest()


def _fix(name: str, path: Path) -> str:
    try:
        in_downloads = Path(path).resolve().is_relative_to(catalog.download_dir().resolve())
    except OSError:
        in_downloads = False
    fetch = f"`rnnlab data fetch {name}` (or `--from DIR` with a good copy)"
    fix = f"run {fetch} to replace it" if in_downloads else f"move it out of the way and run {fetch}"
    return (f"{fix}, or load it with {ALLOW_OPTION}=True (task_knobs) to use it as non-canonical data, never set "
            "beside the papers' numbers")


def _no_fallback(name: str) -> str:
    stand_in = next((n for n, s in DATASETS.items() if s.stand_in_for == name), None)
    return f"; not falling back to {stand_in} while a wrong file is present" if stand_in else ""


def _what_it_is(sha256: str) -> str:
    """What a mismatched file is, when the catalogue knows its sha256 under another name."""
    for other, spec in DATASETS.items():
        for entry in spec.files:
            if entry.sha256 == sha256:
                return f"it is {other}'s {entry.relpath}"
    return "another set's file, or truncated or edited"


def mismatch_message(name: str, path: str | Path, sha256: str, expected: str, relpath: str) -> str:
    """The one line that refuses a file whose sha256 is not the catalogue's."""
    return (f"dataset {name!r}: {str(path)!r} has sha256 {sha256[:16]}, not the catalogued {expected[:16]} of "
            f"{relpath} ({_what_it_is(sha256)}){_no_fallback(name)}; {_fix(name, Path(path))}")


def check_file(name: str, entry: DataFile, path: str | Path, sha256: str, allow: bool = False) -> bool | None:
    """Check the sha256 of the bytes read from ``path`` (catalogue entry ``entry`` of set ``name``).

    True: the catalogued file. None: the catalogue has no sha256 for it (see :func:`check_split_sizes`). False: not
    it, and ``allow`` (the dataset option :data:`ALLOW_OPTION`) admits it as non-canonical data. Otherwise raise
    ``RnnlabError``: one line naming the file, both sha256 prefixes and the fix."""
    if entry.sha256 is None:
        return None
    if sha256 == entry.sha256:
        return True
    if allow:
        return False
    raise RnnlabError(mismatch_message(name, path, sha256, entry.sha256, entry.relpath))


def check_split_sizes(name: str, path: str | Path, sizes: dict, published: dict, allow: bool = False) -> bool:
    """A file without a catalogued sha256: its split sizes must be the published ones (True); else False when
    ``allow``, else one line."""
    if sizes == published:
        return True
    if allow:
        return False
    raise RnnlabError(f"dataset {name!r}: {str(path)!r} has split sizes {sizes}, not the published {published} "
                      f"(another set's file, or truncated or edited){_no_fallback(name)}; {_fix(name, Path(path))}")


def check_allow(value) -> None:
    """The value of the :data:`ALLOW_OPTION` option must be a bool (one line otherwise)."""
    if not isinstance(value, bool):
        raise RnnlabError(f"{ALLOW_OPTION} must be true or false, got {value!r}")


def find_file(name: str, entry: DataFile, folders) -> Path | None:
    """``entry``'s file (of set ``name``) in the first of ``folders`` that has one, or None; something at its name
    that is not a regular file (a folder, a link to nowhere or a link loop) is one line, not "missing": a set with
    a stand-in must not fall back quietly past it."""
    for folder in folders:
        path = Path(folder) / entry.relpath
        if path.is_file():
            return path
        if os.path.lexists(path):
            what = "a folder" if path.is_dir() else "a link that leads nowhere (or in a loop)" if path.is_symlink() \
                else "not a regular file"
            raise RnnlabError(f"{str(path)!r} is {what}, not the data file {entry.relpath}; remove it and run "
                              f"`rnnlab data fetch {name}` (or set RNNLAB_DATA to the folder that holds the file)")
    return None


# ------------------------------------------------------------------------------------- the cache of listings
def cache_file() -> Path:
    from rnnlab.paths import cache_dir

    return cache_dir() / CACHE_NAME


def _read_cache(path: Path) -> dict:
    try:
        table = json.loads(path.read_text())
    except (OSError, ValueError):  # absent, unreadable or corrupt: start afresh (it is only a cache)
        return {}
    return table if isinstance(table, dict) else {}


def cached_sha256(path: str | Path, cache: Path | None = None) -> str:
    """The sha256 of ``path``, from the cache when its (resolved path, size, mtime_ns, ctime_ns, inode) is unchanged
    since it was hashed; else hashed now and the cache rewritten atomically (an unwritable cache is skipped, not an
    error). For listings only: loading hashes the bytes it parses (see the module's text)."""
    from rnnlab.files import atomic_write

    path = Path(path).resolve()
    stat = path.stat()
    try:
        cache = cache if cache is not None else cache_file()
    except OSError:  # no cache folder can be made: hash without one
        return sha256_of(path)
    table = _read_cache(cache)
    key, stamp = str(path), [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
    entry = table.get(key)
    if isinstance(entry, list) and len(entry) == len(stamp) + 1 and entry[:-1] == stamp and isinstance(entry[-1], str):
        return entry[-1]
    sha256 = sha256_of(path)
    table[key] = [*stamp, sha256]
    try:
        with atomic_write(cache) as handle:
            handle.write(json.dumps(table, indent=0, sort_keys=True).encode())
    except (OSError, RnnlabError):
        pass
    return sha256


def file_status(entry: DataFile, path: str | Path) -> str:
    """What ``rnnlab data list`` says of a present file: ``ok`` (the catalogue's sha256), ``WRONG sha256 <prefix>``
    (loading refuses it), or ``no sha256 in the catalogue`` (checked by its split sizes when loaded)."""
    if entry.sha256 is None:
        return "no sha256 in the catalogue"
    try:
        sha256 = cached_sha256(path)
    except (OSError, RnnlabError) as err:
        return f"unreadable ({getattr(err, 'strerror', None) or err})"
    return "ok" if sha256 == entry.sha256 else f"WRONG sha256 {sha256[:16]} (loading refuses it)"

