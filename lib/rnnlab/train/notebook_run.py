"""Execute the training notebook (``notebooks/03_train.ipynb``) for one run folder, headlessly with papermill.

The kernel's trainer locks the run folder, so papermill writes its output to a scratch file beside the folder and
the executed copy — the run's human-readable record — is renamed into the folder at the end (synced first: the
notebook is written atomically, like every file of a run). A copy that is not a whole notebook (papermill's write
was cut short, e.g. by a full disk) is dropped, never renamed into the folder. ``rnnlab train --notebook`` and
every sweep point run through here.

**A warm kernel** (``warm=True``, what sweep points use). Starting a kernel and importing torch, pandas, plotly and
the library in it costs far more than a short training run (docs/sweeps.md has the numbers), so a process that
executes the notebook again and again (a sweep's pool worker, a Ray worker, an inline sweep) keeps one kernel
(``WarmKernel``) and executes each notebook in it. Before every execution the kernel's namespace and input history
are reset (``RESET``: IPython's ``reset(new_session=True)``): no variable of an earlier run survives, and the
injected parameters cell is the only one the notebook's parameter check sees. A run so starts as in a fresh kernel,
except that its modules are already imported; every run seeds python, numpy and torch itself, and gives the same
numbers in a warm kernel as in a fresh one (``tests/test_sweep_warm.py``). The kernel is thrown away, and the next
execution starts a fresh one, when an execution did not end cleanly (a failing cell, an interrupt, a dead kernel),
when the environment differs from the one it started with (``OMP_NUM_THREADS``, the ``CUDA_VISIBLE_DEVICES`` that
Ray sets per task, ...), and when the process exits. It runs the library as it was when it started: a sweep started
after an edit of the code gets fresh kernels. Like papermill's own kernel it is a child of the executing process and
exits when that process dies (ipykernel watches its parent).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import tempfile
from pathlib import Path

from rnnlab.files import disk_full, fsync_folder, is_disk_full

NOTEBOOK = "03_train.ipynb"
WARM_ENGINE = "rnnlab-warm"  # papermill engine name of an execution in a WarmKernel
# Before each run in a warm kernel: IPython's reset (its gc.collect frees the last run), then gc.freeze(), so what
# survives it (the modules imported so far) is never scanned again: the next reset takes ~20 ms instead of ~0.6 s.
RESET = "get_ipython().reset(new_session=True)\n__import__('gc').freeze()"


def execute_training_notebook(parameters: dict, run_dir: Path, log_output: bool = False,
                              older_than: float | None = None, warm: bool = False) -> None:
    """Run the training notebook with ``parameters`` (every knob, plus ``smoke`` and ``resume``) for ``run_dir``.

    Batch runs draw no live widget (``live=False``: the executed notebook stays ~50 KB instead of ~5 MB). On success
    the executed copy becomes ``run_dir/03_train.ipynb``. On failure papermill's exception propagates with a
    ``scratch`` attribute: the path of the executed copy, left beside the folder for the caller to keep or drop
    (it may belong to a folder another writer holds). ``older_than``: see ``keep_executed_copy``. ``warm``: execute
    in this process's ``WarmKernel`` (module docstring) instead of a fresh kernel."""
    import papermill as pm

    from rnnlab.paths import PROJECT_ROOT

    notebook = PROJECT_ROOT / "notebooks" / NOTEBOOK
    run_dir = Path(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(prefix=f".{run_dir.name}.", suffix=f".{NOTEBOOK}", dir=run_dir.parent)
    os.close(fd)
    engine = {}
    try:
        if warm:
            kernel_name = json.loads(notebook.read_text())["metadata"]["kernelspec"]["name"]
            engine = {"engine_name": WARM_ENGINE, "kernel_name": kernel_name,
                      "warm": warm_kernel(notebook.parent, kernel_name)}
            engine["warm"].reset()
        pm.execute_notebook(str(notebook), scratch, parameters={**parameters, "run_dir": str(run_dir), "live": False},
                            cwd=str(notebook.parent), progress_bar=False, log_output=log_output, **engine)
    except BaseException as err:
        if warm:
            close_warm_kernel()  # an execution that did not end cleanly leaves no kernel for the next one
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


# ------------------------------------------------------------------------------------------- the warm kernel
class WarmKernel:
    """A kernel of ``kernel_name`` started in ``cwd``, kept for executing the training notebook again and again in
    this process (see the module docstring): ``reset`` before each execution, ``close`` when done."""

    def __init__(self, cwd: Path, kernel_name: str, startup_timeout: float = 120):
        import nbformat
        from nbclient import NotebookClient

        self.cwd, self.kernel_name, self.env, self.executions = str(cwd), kernel_name, dict(os.environ), 0
        self._client = NotebookClient(nbformat.v4.new_notebook(), kernel_name=kernel_name,
                                      startup_timeout=startup_timeout, shutdown_kernel="immediate")
        self._client.km = self._client.create_kernel_manager()
        self._client.start_new_kernel(cwd=self.cwd)
        try:
            self._client.start_new_kernel_client()
        except BaseException:
            self.close()
            raise

    @property
    def km(self):
        return self._client.km

    @property
    def kc(self):
        return self._client.kc

    @property
    def pid(self) -> int | None:
        """The kernel's process id (None once closed)."""
        provisioner = getattr(self._client.km, "provisioner", None)
        return getattr(provisioner, "pid", None)

    def fits(self, cwd: Path, kernel_name: str) -> bool:
        """Whether this kernel may run the next execution: same folder, kernel and environment, and alive."""
        return (self.cwd == str(cwd) and self.kernel_name == kernel_name and self.env == dict(os.environ)
                and self.alive())

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        return (self._client.km is not None and self._client.kc is not None
                and bool(run_sync(self._client.km.is_alive)()))

    def reset(self) -> None:
        """Clear the kernel's namespace and input history (``RESET``), as a fresh kernel has them."""
        import nbformat

        self._client.nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(RESET)])
        self._client.execute_cell(self._client.nb.cells[0], 0, store_history=False)
        self.executions += 1

    def close(self) -> None:
        """Stop the kernel now (and its client's channels); safe to call twice."""
        if self._client.km is not None:
            try:
                self._client._cleanup_kernel()
            except Exception:  # noqa: BLE001 - a kernel that is already gone
                pass
            self._client.km = self._client.kc = None


_WARM: WarmKernel | None = None


def warm_kernel(cwd: Path, kernel_name: str) -> WarmKernel:
    """This process's ``WarmKernel``: the one kept from the last execution when it ``fits``, else a fresh one."""
    global _WARM
    if _WARM is not None and not _WARM.fits(cwd, kernel_name):
        close_warm_kernel()
    if _WARM is None:
        _register_warm_engine()
        _WARM = start_warm_kernel(cwd, kernel_name)
        atexit.unregister(close_warm_kernel)
        atexit.register(close_warm_kernel)
    return _WARM


KERNEL_STARTS = 3  # tries to start a warm kernel (see start_warm_kernel)


def start_warm_kernel(cwd: Path, kernel_name: str, tries: int = KERNEL_STARTS) -> WarmKernel:
    """A new ``WarmKernel``, tried again when the kernel dies while starting. jupyter_client picks a kernel's TCP
    ports by binding and releasing them, so two pool workers starting kernels at once can pick the same port and
    one kernel dies with 'Address already in use' (seen: a sweep point recorded as failed for it); the next try
    picks new ports."""
    for attempt in range(1, tries + 1):
        try:
            return WarmKernel(cwd, kernel_name)
        except RuntimeError:  # nbclient: "Kernel died before replying to kernel_info" (DeadKernelError too)
            if attempt == tries:
                raise
    raise AssertionError("unreachable")


def close_warm_kernel() -> None:
    """Stop this process's ``WarmKernel``, if it has one (at exit, after a failed execution, at a sweep's end)."""
    global _WARM
    kernel, _WARM = _WARM, None
    if kernel is not None:
        kernel.close()


def _register_warm_engine() -> None:
    """Register ``WARM_ENGINE`` with papermill: papermill's nbclient engine, given the warm kernel's manager and
    client instead of starting (and at the end stopping) a kernel of its own."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class WarmEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                     start_timeout=60, execution_timeout=None, warm=None, **kwargs):
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                 kernel_name=kernel_name, log=logger, log_output=log_output,
                                 stdout_file=stdout_file, stderr_file=stderr_file)
            client = PapermillNotebookClient(nb_man, km=warm.km, **final)
            client.kc = warm.kc  # the kernel's own client: kept open between executions (papermill's would leak)
            return client.execute()

    papermill_engines.register(WARM_ENGINE, WarmEngine)
