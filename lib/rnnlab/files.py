"""Small file utilities below every layer: atomic writes (write beside the destination, fsync, rename, fsync the
folder: no reader ever sees a half-written file, and a crash leaves the old version or the new one: the data
folder, the run store, the search state, the published results) and the one line a full disk gives."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from rnnlab.errors import RnnlabError

DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)  # no room, file too large (a size limit), over quota


class DiskFullError(RnnlabError):
    """A write that failed for lack of room; the message names the file and the free space."""

    def __init__(self, message: str, filename: str = "", code: int = errno.ENOSPC):
        super().__init__(message)
        self.filename, self.errno = filename, code


def is_disk_full(err: BaseException) -> bool:
    return isinstance(err, DiskFullError) or (isinstance(err, OSError) and err.errno in DISK_FULL)


def free_space(path: str | Path) -> str:
    """The free space of the file system holding ``path`` (its nearest existing folder), in words."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return "free space unknown"
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if free < 1024 or unit == "TB":
            return f"{free:.0f} {unit} free" if unit == "bytes" else f"{free:.1f} {unit} free"
        free /= 1024
    return ""  # not reached


def disk_full(path: str | Path, err: OSError) -> DiskFullError:
    """The one-line error for a write of ``path`` that failed with ``err`` (ENOSPC, EFBIG, EDQUOT)."""
    if isinstance(err, DiskFullError):
        return err
    reason = {errno.EFBIG: "file too large for the file-size limit", errno.EDQUOT: "disk quota exceeded"}.get(
        err.errno, "no space left on device")
    return DiskFullError(f"could not write {str(path)!r}: {reason} ({free_space(path)} on its disk)", str(path),
                         err.errno)


def fsync_folder(folder: str | Path) -> None:
    """Make a rename inside ``folder`` durable (a file system that cannot sync a folder is left as it is)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.EBADF, errno.EACCES, errno.EPERM, errno.EROFS):
            raise
    finally:
        os.close(fd)


def _mode_for(destination: Path) -> int:
    """The permission bits a rewritten file keeps: the existing file's, else what ``open()`` would give a new one
    (0666 less the process's umask)."""
    try:
        return destination.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it (Linux: /proc/self/status), else by setting and restoring it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_write(destination: str | Path) -> Iterator[BinaryIO]:
    """Yield a binary file; on success it replaces ``destination`` in one ``os.replace`` (after fsync of the file,
    then of its folder), on error it vanishes and ``destination`` is as it was. A full disk (ENOSPC, EFBIG,
    EDQUOT) raises ``DiskFullError``, one line naming ``destination`` and the free space."""
    destination = Path(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp")
    except OSError as err:
        if err.errno in DISK_FULL:
            raise disk_full(destination, err) from None
        raise
    temporary = Path(name)
    try:
        os.fchmod(fd, _mode_for(destination))  # mkstemp makes 0600: keep the file's mode, or the umask's default
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, destination)
        fsync_folder(destination.parent)
    except OSError as err:
        if err.errno in DISK_FULL:
            raise disk_full(destination, err) from None
        raise
    finally:
        temporary.unlink(missing_ok=True)

