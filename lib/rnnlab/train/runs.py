"""The run store: one directory per run, written atomically, read back as one pandas DataFrame.

A run directory holds::

    config.json        the full TrainConfig (``--resume`` rebuilds the run from it; init_from relative to the run)
    run.log            one line per event: started, resumed, extended, fell back to previous.pt
    metrics.csv        one row per epoch (train/valid metric, lr, grad norm, clip events, wall seconds, tokens/s)
    updates.csv        one row per update (train loss, grad norm, lr, wall seconds) for per-update curves
                       (both tables are appended to, one write per epoch: see "Tables" below)
    checkpoints/last.pt, previous.pt, best.pt   (see rnnlab.train.checkpoints)
    .lock              the writer's OS lock (see rnnlab.train.lock): one writer per run
    point.json         a sweep point's failure record (status failed + the one-line error), see rnnlab.campaigns.sweep
    summary.json       dataset, data_source, arch, cell, sizes, n_params, epochs_run, best_valid, test, status, ...
    figures/           figures the training notebook wrote

Every file but the two tables is written to a temporary name in the same directory, synced and renamed into place
(``rnnlab.files.atomic_write``; run.log too: it is rewritten with its new line), so a reader never sees a
half-written file and a killed run, or a full disk, leaves the previous version intact.

Tables: ``metrics.csv`` and ``updates.csv`` are created atomically with their header and first rows, then each
epoch's new rows are appended in one write (:func:`append_table`), synced, so the cost of recording an epoch does
not grow with the number of epochs before it. A write that fails (a full disk) is cut back to the file's previous
length; a kill can leave at most a torn tail beyond the last checkpoint, which a resume cuts away
(:func:`truncate_table`: the tables keep exactly the rows of the checkpoint it continues from). Values are written
as pandas writes them (floats in their shortest exact form, ``True``/``False``, NaN and None as an empty field), so
tables of either age read the same.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import secrets
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from rnnlab.errors import RnnlabError
from rnnlab.files import atomic_write, disk_full, is_disk_full
from rnnlab.paths import runs_dir

if TYPE_CHECKING:  # pandas is imported by the readers that return tables: a training run never needs it
    import pandas as pd

FINISHED = ("ok", "diverged")  # the statuses of a run that has ended: a sweep skips it, a draw counts as taken


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_write(path) as handle:
        handle.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def atomic_torch_save(path: Path, obj) -> None:
    """``torch.save`` to ``path`` atomically. The bytes are made in memory first: torch reports a failed write (a
    full disk) as a RuntimeError about its zip writer, the plain write raises the one line ``atomic_write`` gives."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getbuffer())


def new_run_dir(root: Path | None, name: str) -> Path:
    """A fresh, unique run directory under ``root`` (never shared with a concurrent run)."""
    root = Path(root) if root is not None else runs_dir()
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    while True:
        path = root / f"{stamp}-{name}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def read_summary(run_dir: Path) -> dict | None:
    """The run's ``summary.json``, None when the run has none (not finished); one line if it is unreadable."""
    path = Path(run_dir) / "summary.json"
    if not path.exists():
        return None
    return _read_json_object(path)


def read_config(run_dir: Path | str):
    """The ``TrainConfig`` recorded in ``run_dir/config.json``; one-line errors for a missing or unreadable one.
    Its ``init_from``, recorded relative to ``run_dir``, comes back absolute (``rnnlab.train.portable``)."""
    from rnnlab.train.config import TrainConfig
    from rnnlab.train.portable import resolve_init_from

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RnnlabError(f"run folder {str(run_dir)!r} does not exist")
    path = run_dir / "config.json"
    if not path.exists():
        raise RnnlabError(f"run folder {str(run_dir)!r} has no config.json (not a run record)")
    values = _read_json_object(path)
    if isinstance(values.get("init_from"), str):
        values["init_from"] = resolve_init_from(values["init_from"], run_dir)
    return TrainConfig.from_dict(values).validate()


def _read_json_object(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RnnlabError(f"{str(path)!r} is not readable JSON ({err})") from None
    if not isinstance(value, dict):
        raise RnnlabError(f"{str(path)!r} holds {type(value).__name__}, expected a JSON object")
    return value


def append_log(run_dir: Path | str, line: str) -> None:
    """Append one timestamped line to the run's ``run.log`` (only the lock holder writes it). The log is rewritten
    atomically with the line added (it is small), so a full disk or a kill never leaves a torn last line."""
    path = Path(run_dir) / "run.log"
    try:
        before = path.read_bytes()
    except FileNotFoundError:
        before = b""
    if before and not before.endswith(b"\n"):
        before += b"\n"
    atomic_write_bytes(path, before + f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n".encode())


SUMMARY_FIELDS = ("dataset", "arch", "cell", "metric", "status")  # what every reader of the store relies on


def load(root: Path | str | None = None) -> pd.DataFrame:
    """All runs under ``root`` as one DataFrame, one row per run (summary fields flattened; ``test_*`` and
    ``train_*`` columns: the best checkpoint evaluated on the test and training sets).

    An unreadable ``summary.json`` is skipped with a warning on stderr naming it; the other runs are still read.
    """
    if root is not None and Path(root).exists() and not Path(root).is_dir():
        raise RnnlabError(f"run store {str(root)!r} is not a folder")  # a missing store simply holds no runs yet
    root = Path(root) if root is not None else runs_dir()
    rows = []
    for summary_path in sorted(root.glob("**/summary.json")):
        try:
            summary = _read_json_object(summary_path)
            wrong = [k for k in SUMMARY_FIELDS if not isinstance(summary.get(k), str)]
            if wrong:
                raise RnnlabError(f"{str(summary_path)!r} lacks {', '.join(wrong)} (or holds another type)")
        except RnnlabError as err:
            print(f"rnnlab: warning: skipping run: {err}", file=sys.stderr)
            continue
        row = {k: v for k, v in summary.items() if not isinstance(v, dict)}
        test, train, sizes = summary.get("test"), summary.get("train_eval"), summary.get("sizes")
        for key, value in (test if isinstance(test, dict) else {}).items():
            row[f"test_{key}"] = value
        for key, value in (train if isinstance(train, dict) else {}).items():
            row[f"train_{key}"] = value
        for key, value in (sizes if isinstance(sizes, dict) else {}).items():
            row[key] = value
        row["run_dir"] = str(summary_path.parent)
        rows.append(row)
    import pandas as pd

    return pd.DataFrame(rows)


def load_metrics(run_dir: Path | str, which: str = "metrics") -> pd.DataFrame:
    """Per-epoch (``metrics``) or per-update (``updates``) table of one run."""
    import pandas as pd

    path = Path(run_dir) / f"{which}.csv"
    return pd.read_csv(path) if path.exists() else pd.DataFrame()


# ------------------------------------------------------------------------------------------------------- tables
def _field(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float (as pandas writes it)
    return str(value)


def table_text(rows: list[dict], header: list[str] | None = None) -> str:
    """CSV text of ``rows`` under ``header`` (with the header line when ``header`` is None: the first row's keys,
    then any new key in order of appearance)."""
    columns = header
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header is None:
        writer.writerow(columns)
    writer.writerows([_field(row.get(c)) for c in columns] for row in rows)
    return buffer.getvalue()


def table_header(path: Path) -> list[str] | None:
    """The column names of a table, None when the file does not exist or is empty."""
    try:
        with open(path, newline="") as handle:
            first = handle.readline()
    except FileNotFoundError:
        return None
    return next(csv.reader([first])) if first.strip() else None


def append_table(path: Path, rows: list[dict]) -> None:
    """Append ``rows`` to the table ``path`` in one write, synced; a new table is created atomically with its
    header. A row with a column the file's header lacks raises ``ValueError`` (the caller rewrites the table
    whole). A failed write (a full disk: one line naming the file) cuts the file back to its length
    before the write, so the table stays whole."""
    path = Path(path)
    header = table_header(path)
    if header is None:
        atomic_write_text(path, table_text(rows))
        return
    if any(set(row) - set(header) for row in rows):
        raise ValueError(f"rows with columns that {path.name} lacks")
    if not rows:
        return
    data = table_text(rows, header).encode()
    with open(path, "r+b") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        try:
            if size and (handle.seek(size - 1), handle.read(1))[1] != b"\n":
                data = b"\n" + data  # never glue a row to a torn one (cut at the next resume)
            handle.seek(size)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as err:
            handle.truncate(size)
            if is_disk_full(err):
                raise disk_full(path, err) from None
            raise


def _parse(text: str):
    if text == "":
        return float("nan")
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_table_rows(path: Path, n_rows: int) -> list[dict]:
    """The first ``n_rows`` rows of a table as dicts of Python values (an empty field reads as NaN); one line when
    the table holds fewer."""
    path = Path(path)
    rows = []
    if n_rows > 0:
        try:
            with open(path, newline="") as handle:
                reader = csv.reader(handle)
                header = next(reader, None) or []
                for fields in reader:
                    if len(rows) == n_rows:
                        break
                    rows.append(dict(zip(header, map(_parse, fields), strict=False)))
        except FileNotFoundError:
            pass
    if len(rows) < n_rows:
        raise RnnlabError(f"{str(path)!r} holds {len(rows)} rows, its checkpoint needs {n_rows}; the run record is "
                          "incomplete")
    return rows


def count_rows(path: Path) -> int:
    """The complete rows (lines ending in a newline, after the header) of a table; 0 when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return max(sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1, 0)
    except FileNotFoundError:
        return 0


def truncate_table(path: Path, n_rows: int) -> None:
    """Keep the header and the first ``n_rows`` rows of a table (rewritten atomically, only when it holds more)."""
    path = Path(path)
    if not path.exists():
        return
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    if len(lines) <= n_rows + 1 and data.endswith(b"\n"):
        return
    atomic_write_bytes(path, b"".join(lines[:n_rows + 1]))

