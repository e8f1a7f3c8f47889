"""One writer per run: an exclusive OS lock on ``<run_dir>/.lock``.

``fcntl.flock`` locks belong to the open file, so the kernel releases them when the holder exits, however it exits
(a ``kill -9`` leaves no stale lock). The holder writes its pid into the lock file so a refused writer can say who
holds the run. Two ``RunLock`` objects conflict even inside one process (each opens the file anew).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from rnnlab.errors import RnnlabError

LOCK_NAME = ".lock"


class RunBusyError(RnnlabError):
    """Another process (or another trainer in this one) is writing the run folder."""


class RunLock:
    """``with RunLock(run_dir): ...`` or ``acquire()`` / ``release()``; raises ``RunBusyError`` when held."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        if self._fd is not None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunBusyError(f"run folder {str(self.run_dir)!r} is being written by another process (pid {holder}); "
                               "wait for it to finish or choose another run_dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()


def is_locked(run_dir: str | Path) -> bool:
    """True when some writer holds ``run_dir`` right now (a snapshot: it may change the next moment)."""
    if not (Path(run_dir) / LOCK_NAME).exists():
        return False
    try:
        RunLock(run_dir).acquire().release()
    except RunBusyError:
        return True
    return False
