"""Run independent jobs in parallel and get their results as they finish: one interface, three engines.

    with WorkerPool("local", workers=4) as pool:
        for index, result in pool.map_unordered(fn, items):
            ...

* ``inline``: in this process, one job after another (tests, notebooks' smoke runs, debugging);
* ``local``: ``concurrent.futures.ProcessPoolExecutor`` with ``workers`` processes, each limited to one torch
  thread (so N workers use N cores and do not oversubscribe them); the pool lives as long as the ``with`` block;
* ``ray``: Ray tasks (1 CPU each) on an existing cluster — ``address`` or ``$RAY_ADDRESS`` (``"auto"`` joins the
  local one); without either a local Ray instance is started.

``fn`` must be importable (a module-level function) for ``local`` and ``ray``. Results come back with the index of
their item, in completion order; a job's exception is raised in the caller.

Jobs that depend on other jobs' results (a sweep's children after their parents) use ``submit`` and
``next_finished`` instead: submit what is ready, and submit more as jobs finish::

    with WorkerPool("ray", workers=8, gpus="auto") as pool:
        job = pool.submit(fn, item)
        job, ok, value = pool.next_finished()   # value: the result, or the exception when ok is False

``next_finished`` never raises a job's failure: a job that raised, or whose worker died (``kill -9``, a lost Ray
node), comes back with ``ok=False`` and the exception, and the pool stays usable (``local`` replaces a broken
process pool; Ray tasks submitted this way are not retried). ``gpus`` (``ray`` only): GPUs per job, or ``"auto"``:
one per job when the cluster has GPUs, none otherwise.

Inside the ``with`` block SIGTERM and SIGHUP (``kill PID``, a closed terminal, a batch system's time limit) raise
``KeyboardInterrupt`` as Ctrl-C does, and leaving the block on it terminates the ``local`` workers instead of waiting
for their jobs: without this the caller's process dies alone and its workers compute on, orphaned and out of sight.
A signal the process ignores (SIGHUP under ``nohup``) stays ignored; off the main thread no handler is set.

A ``local`` worker dies with its driver: a driver killed outright (``kill -9``, the out-of-memory killer) can run no
cleanup, so each worker asks Linux to kill it when the driver's thread that started it ends (``prctl
PR_SET_PDEATHSIG``, set only when the pool is started on the main thread) and watches ``os.getppid()`` twice a
second as well (any POSIX system). Once the workers are gone multiprocessing's resource tracker reads the end of its
pipe and exits too; a job's own children (the training notebook's kernel) watch their parent the same way.

``ray`` with an address first knocks on its TCP port (a few seconds at most): nothing listening there is one line,
not minutes of Ray's reconnection warnings in a process that does not answer SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from rnnlab.errors import RnnlabError, check_choice, check_positive

ENGINES = ("inline", "local", "ray")


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _interrupt_on_termination() -> dict:
    """Make SIGTERM and SIGHUP raise KeyboardInterrupt (see the module docstring); return the handlers replaced."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, _raise_interrupt) for signum in (signal.SIGTERM, signal.SIGHUP)
            if signal.getsignal(signum) is not signal.SIG_IGN}


def _one_thread() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_EVERY_S = 0.5


def _start_worker(driver: int, death_signal: bool) -> None:
    """A ``local`` worker's initializer: die with the driver (see the module docstring), then one torch thread."""
    _die_with(driver, death_signal)
    _one_thread()


def _die_with(driver: int, death_signal: bool = True) -> None:
    if death_signal and sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl: the watchdog alone
            pass
    if os.getppid() != driver:  # the driver died before the request was in place
        os._exit(1)
    threading.Thread(target=_watch_driver, args=(driver,), name="rnnlab-watch-driver", daemon=True).start()


def _watch_driver(driver: int) -> None:
    while os.getppid() == driver:
        time.sleep(WATCH_EVERY_S)
    os._exit(1)  # orphaned: nobody reads this worker's results, and its queue pipes would keep it waiting forever


def _check_reachable(address: str, timeout: float = 3.0) -> None:
    """Raise a one-line RnnlabError unless something accepts a TCP connection at ``address`` (``HOST:PORT`` or
    ``ray://HOST:PORT``; ``auto`` and ``local`` are Ray's own to resolve)."""
    if address in ("auto", "local"):
        return
    target = address.split("://", 1)[1] if "://" in address else address
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RnnlabError(f"Ray address {address!r} must be HOST:PORT (e.g. 10.0.0.5:6379), ray://HOST:PORT, "
                          "auto or local")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as err:
        if isinstance(err, TimeoutError | socket.timeout):
            reason = f"no answer within {timeout:g} s"
        elif isinstance(err, ConnectionRefusedError):
            reason = "nothing listens on that port (connection refused)"
        else:
            reason = (err.strerror or type(err).__name__).lower()
        raise RnnlabError(f"cannot reach the Ray cluster at {address}: {reason}; start one with `ray start --head` "
                          "and give the address it prints, or run with --engine local") from None


class WorkerPool:
    """A pool of ``workers`` one-thread workers on ``engine`` (see the module docstring)."""

    def __init__(self, engine: str = "local", workers: int = 1, address: str | None = None,
                 gpus: float | str = 0):
        check_choice("engine", engine, ENGINES)
        check_positive("workers", workers)
        if gpus != "auto" and not (isinstance(gpus, int | float) and not isinstance(gpus, bool) and gpus >= 0):
            raise RnnlabError(f"gpus must be a number >= 0 or 'auto', got {gpus!r}")
        self.engine, self.workers, self.address, self.gpus = engine, workers, address, gpus
        self._executor = None
        self._jobs: dict = {}  # job id -> future (local), ObjectRef (ray) or (ok, value) (inline)
        self._next_id = 0
        self._remotes: dict = {}
        self._replaced_handlers: dict | None = None

    def __enter__(self) -> WorkerPool:
        if self.engine == "local":
            import multiprocessing

            on_main = threading.current_thread() is threading.main_thread()
            self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_start_worker, initargs=(os.getpid(), on_main))
        elif self.engine == "ray":
            try:
                import ray
            except ImportError:  # pragma: no cover - ray is in the environment
                raise RnnlabError("engine 'ray' needs the ray package; valid engines without it: inline, local") \
                    from None
            if not ray.is_initialized():
                import logging

                address = self.address or os.environ.get("RAY_ADDRESS")
                if address:
                    _check_reachable(address)
                try:
                    ray.init(address=address, include_dashboard=False, log_to_driver=False,
                             logging_level=logging.WARNING, **({} if address else {"num_cpus": self.workers}))
                except SystemExit as err:  # ray.init's own SIGTERM handler, while it connects: end as Ctrl-C does
                    raise KeyboardInterrupt("SIGTERM") from err
                except (ConnectionError, RuntimeError, ValueError) as err:
                    raise RnnlabError(f"cannot reach the Ray cluster at {address or 'a new local instance'}: "
                                      f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
            if self.gpus == "auto":
                self.gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        elif self.gpus == "auto":
            self.gpus = 0
        if self._replaced_handlers is None:  # last, so a failed start changes nothing; once, not on a pool restart
            self._replaced_handlers = _interrupt_on_termination()
        return self

    def cluster_cpus(self) -> int:
        """CPUs of the Ray cluster (``ray`` engine, inside the ``with`` block), else ``workers``."""
        if self.engine != "ray":
            return self.workers
        import ray

        return int(ray.cluster_resources().get("CPU", self.workers))

    def cluster_gpus(self) -> int:
        """GPUs of the Ray cluster (``ray`` engine, inside the ``with`` block), else 0."""
        if self.engine != "ray":
            return 0
        import ray

        return int(ray.cluster_resources().get("GPU", 0))

    # ------------------------------------------------------------------------------------ dynamic submission
    @property
    def pending(self) -> int:
        """Jobs submitted and not yet returned by ``next_finished``."""
        return len(self._jobs)

    def submit(self, fn: Callable, item) -> int:
        """Start ``fn(item)`` (``local``: queued when all workers are busy); return its job id."""
        job, self._next_id = self._next_id, self._next_id + 1
        if self.engine == "inline":
            try:
                self._jobs[job] = (True, fn(item))
            except Exception as err:  # noqa: BLE001 - handed back to the caller by next_finished
                self._jobs[job] = (False, err)
        elif self.engine == "local":
            if self._executor is None:
                raise RnnlabError("use the pool inside `with WorkerPool(...) as pool:`")
            if getattr(self._executor, "_broken", False):  # a worker died: start a fresh pool
                self._executor.shutdown(wait=False, cancel_futures=True)
                self.__enter__()
            self._jobs[job] = self._executor.submit(fn, item)
        else:
            if fn not in self._remotes:
                import ray

                self._remotes[fn] = ray.remote(num_cpus=1, num_gpus=self.gpus, max_retries=0)(fn)
            self._jobs[job] = self._remotes[fn].remote(item)
        return job

    def next_finished(self, timeout: float | None = None) -> tuple[int, bool, object] | None:
        """Wait for a submitted job: ``(job id, ok, result or exception)``; None after ``timeout`` seconds."""
        if not self._jobs:
            raise RnnlabError("next_finished: no job is pending")
        if self.engine == "inline":
            job = next(iter(self._jobs))
            ok, value = self._jobs.pop(job)
            return job, ok, value
        if self.engine == "local":
            by_future = {future: job for job, future in self._jobs.items()}
            done, _ = wait(list(by_future), timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:
                return None
            future = next(iter(done))
            job = by_future[future]
            del self._jobs[job]
            try:
                return job, True, future.result()
            except Exception as err:  # noqa: BLE001 - BrokenProcessPool or the job's own exception
                return job, False, err
        import ray

        by_ref = {ref: job for job, ref in self._jobs.items()}
        done, _ = ray.wait(list(by_ref), num_returns=1, timeout=timeout)
        if not done:
            return None
        job = by_ref[done[0]]
        del self._jobs[job]
        try:
            return job, True, ray.get(done[0])
        except Exception as err:  # noqa: BLE001 - RayTaskError (the job raised) or a dead worker
            return job, False, err

    def __exit__(self, exc_type, *exc) -> None:
        try:
            if self._executor is not None:
                if exc_type is not None and not issubclass(exc_type, Exception):  # KeyboardInterrupt, SystemExit
                    self._stop_workers()
                self._executor.shutdown(cancel_futures=True)
                self._executor = None
        finally:
            for signum, handler in (self._replaced_handlers or {}).items():
                signal.signal(signum, handler)
            self._replaced_handlers = None

    def _stop_workers(self) -> None:
        """Terminate the ``local`` workers now instead of waiting for their jobs (an interrupted sweep must not
        leave a point training on). A job's own record is what resumes it. Python 3.14's
        ``ProcessPoolExecutor.terminate_workers`` does this; 3.11 has only the executor's process table."""
        for process in list((getattr(self._executor, "_processes", None) or {}).values()):
            if process.is_alive():
                process.terminate()

    def map_unordered(self, fn: Callable, items: Iterable) -> Iterator[tuple[int, object]]:
        """Yield ``(index, fn(item))`` as jobs finish, at most ``workers`` running at once."""
        items = list(items)
        if self.engine == "inline":
            for index, item in enumerate(items):
                yield index, fn(item)
        elif self.engine == "local":
            if self._executor is None:
                raise RnnlabError("use the pool inside `with WorkerPool(...) as pool:`")
            futures = {self._executor.submit(fn, item): index for index, item in enumerate(items)}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield futures[future], future.result()
        else:
            import ray

            remote = ray.remote(num_cpus=1)(fn)
            refs = {remote.remote(item): index for index, item in enumerate(items)}
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    yield refs[ref], ray.get(ref)


def map_unordered(fn: Callable, items: Iterable, engine: str = "local", workers: int = 1,
                  address: str | None = None) -> Iterator[tuple[int, object]]:
    """One-shot form of ``WorkerPool(engine, workers, address).map_unordered(fn, items)``."""
    with WorkerPool(engine, workers, address) as pool:
        yield from pool.map_unordered(fn, items)
