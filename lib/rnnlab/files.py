"""Small file utilities below every layer: atomic writes (write beside the destination, then rename, so no reader
ever sees a half-written file: the data folder, the run store, the search state)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_write(destination: str | Path) -> Iterator[BinaryIO]:
    """Yield a binary file; on success it replaces ``destination`` in one ``os.replace``, on error it vanishes."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)
