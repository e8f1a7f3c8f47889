"""One writer per search state: an exclusive OS lock on ``.<state name>.lock`` beside the state file, and saves that
a signal cannot cut in half.

``fcntl.flock`` locks belong to the open file, so the kernel releases them when the holder exits, however it exits
(a ``kill -9`` leaves no stale lock); the holder writes its pid into the lock file so a refused writer can say who
holds the state (the pattern of ``rnnlab.train.lock.RunLock``). Readers (``rnnlab search --show``, ``--compare``,
notebooks) take no lock: the state is replaced atomically, so they always read a whole file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from rnnlab.errors import RnnlabError


class SearchBusyError(RnnlabError):
    """Another search (process, or another writer in this one) is writing the state file."""


def lock_path(state_path: str | Path) -> Path:
    state_path = Path(state_path)
    return state_path.with_name(f".{state_path.name}.lock")


class StateLock:
    """``with StateLock(state_path): ...``; raises ``SearchBusyError`` (one line, the holder's pid) when held."""

    def __init__(self, state_path: str | Path):
        self.state_path = Path(state_path)
        self.path = lock_path(state_path)
        self._fd: int | None = None

    def acquire(self) -> StateLock:
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise SearchBusyError(f"search state {str(self.state_path)!r} is being written by another search (pid "
                                  f"{holder}); wait for it to finish or choose another --state (reading it with "
                                  "--show is fine)") from None
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

    def __enter__(self) -> StateLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP while the body runs (a state save), then act on the first one that came as
    its handler would have: the file is written whole or not at all, and no temporary file is left behind.
    (Python-level, so it holds whichever thread the kernel hands the signal to; main thread only.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum, frame):
        caught.append(signum)

    replaced = {}
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        handler = signal.getsignal(signum)
        if handler is not None and handler is not signal.SIG_IGN:
            replaced[signum] = signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in replaced.items():
            signal.signal(signum, handler)
        if caught:
            handler = replaced[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            else:  # SIG_DFL: end the process as the signal would have
                os.kill(os.getpid(), caught[0])
