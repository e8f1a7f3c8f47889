"""Execute the training notebook (``notebooks/03_train.ipynb``) for one run folder, headlessly with papermill.

The kernel's trainer locks the run folder, so papermill writes its output to a scratch file beside the folder and
the executed copy — the run's human-readable record — is renamed into the folder at the end (synced first: the
notebook is written atomically, like every file of a run). A copy that is not a whole notebook (papermill's write
was cut short, e.g. by a full disk) is dropped, never renamed into the folder. ``rnnlab train --notebook`` and
every sweep point run through here.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from rnnlab.files import disk_full, fsync_folder, is_disk_full

NOTEBOOK = "03_train.ipynb"


def execute_training_notebook(parameters: dict, run_dir: Path, log_output: bool = False,
                              older_than: float | None = None) -> None:
    """Run the training notebook with ``parameters`` (every knob, plus ``smoke`` and ``resume``) for ``run_dir``.

    Batch runs draw no live widget (``live=False``: the executed notebook stays ~50 KB instead of ~5 MB). On success
    the executed copy becomes ``run_dir/03_train.ipynb``. On failure papermill's exception propagates with a
    ``scratch`` attribute: the path of the executed copy, left beside the folder for the caller to keep or drop
    (it may belong to a folder another writer holds). ``older_than``: see ``keep_executed_copy``."""
    import papermill as pm

    from rnnlab.paths import PROJECT_ROOT

    notebook = PROJECT_ROOT / "notebooks" / NOTEBOOK
    run_dir = Path(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(prefix=f".{run_dir.name}.", suffix=f".{NOTEBOOK}", dir=run_dir.parent)
    os.close(fd)
    try:
        pm.execute_notebook(str(notebook), scratch, parameters={**parameters, "run_dir": str(run_dir), "live": False},
                            cwd=str(notebook.parent), progress_bar=False, log_output=log_output)
    except BaseException as err:
        if isinstance(err, OSError) and is_disk_full(err):
            full = disk_full(run_dir / NOTEBOOK, err)  # papermill's own write of the executed copy failed
            full.scratch = scratch
            raise full from None
        err.scratch = scratch
        raise
    keep_executed_copy(scratch, run_dir, older_than)


def keep_executed_copy(scratch: str, run_dir: Path, older_than: float | None = None) -> None:
    """Rename a scratch copy into ``run_dir`` as its executed notebook.

    With ``older_than`` (a start time), scratch copies of this folder older than it go too: killed workers left
    them, and nobody else can be writing them (the run's lock made any later writer give up and delete its own)."""
    if not scratch or not Path(scratch).exists():
        return
    if not _whole_notebook(Path(scratch)):
        print(f"rnnlab: dropped the executed notebook of {str(run_dir)!r}: papermill's copy was cut short "
              "(not a whole notebook)", file=sys.stderr, flush=True)
        Path(scratch).unlink(missing_ok=True)
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    if older_than is not None:
        for stale in run_dir.parent.glob(f".{run_dir.name}.*.{NOTEBOOK}"):
            if stale != Path(scratch) and stale.stat().st_mtime < older_than:
                stale.unlink(missing_ok=True)
    os.chmod(scratch, 0o644)  # mkstemp's 0600 would hide the record from other users of a shared store
    fd = os.open(scratch, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(scratch, run_dir / NOTEBOOK)
    fsync_folder(run_dir)


def _whole_notebook(path: Path) -> bool:
    """True when ``path`` holds a notebook's JSON in full (papermill rewrites its copy after every cell)."""
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(value, dict) and isinstance(value.get("cells"), list)
