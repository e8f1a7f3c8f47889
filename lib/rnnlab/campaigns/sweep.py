"""Run a sweep from experiments/*.json: every point a papermill execution of notebooks/03_train.ipynb.

  rnnlab sweep experiments/pascanu2014.json --dry-run      (the points and their dependencies)
  rnnlab sweep experiments/pascanu2014.json --workers 2    (a local pool of 1-thread workers)
  rnnlab sweep experiments/chung2014.json --engine ray --address HOST:6379   (or RAY_ADDRESS)
  rnnlab sweep experiments/pascanu2014.json --status       (what the run folders say; runs nothing)

The spec format is in rnnlab.campaigns.spec (and docs/sweeps.md). Each point trains in its own run folder
``<root>/<spec name>/<point name>``, and the executed notebook stays there as the run's readable record.
Re-running a sweep skips finished points (ok, diverged), resumes the others from their last checkpoint, records a
failed point (``point.json``: status failed and the one-line error) and goes on; a point that waits for a failed,
diverged or blocked parent is blocked, not run. A point another process is writing is skipped and said so.

A point's folder remembers the knobs it ran with: ``point-knobs.json`` (their sha256 and the knobs, paths relative
to the folder), written when the point starts. Before anything runs or is written, every point that has a folder is
checked against the spec as it is now (``check_store``): a point whose recorded knobs differ (the spec was edited
after it ran) stops the sweep with one line naming how many points differ, the first few, the knob that changed and
how to rerun them; its old results are never reported as the new spec's, and the store's spec.json is left as it
was. A folder written before this record existed is checked by its config.json instead (only the knobs it records;
``epochs`` and ``patience`` may be higher there, as ``rnnlab extend`` raises them); one with neither is trusted.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from rnnlab.campaigns.spec import SPEC_FILE, Point, dependents, expand, load_spec, point_name, sweep_folder  # noqa: F401 - re-exported
from rnnlab.errors import RnnlabError, check_positive
from rnnlab.files import disk_full, is_disk_full
from rnnlab.train.config import EXTENSIBLE_KNOBS
from rnnlab.train.lock import is_locked
from rnnlab.train.notebook_run import close_warm_kernel, execute_training_notebook, keep_executed_copy
from rnnlab.train.portable import resolve_init_from
from rnnlab.train.runs import FINISHED, atomic_write_json, read_summary

ENGINES = ("local", "ray", "inline")
POINT_FILE = "point.json"  # a failed point's status and one-line error (the trainer's summary.json is the rest)
KNOBS_FILE = "point-knobs.json"  # the knobs a point started with (check_store)


# ------------------------------------------------------------------------------------------- one point (worker)
def run_point(job: dict) -> dict:
    """Train one point by executing the training notebook with papermill; never raises.

    The notebook runs in this process's warm kernel (``rnnlab.train.notebook_run.WarmKernel``: started by the first
    point a worker runs, reset before each next one, replaced after a point that did not end cleanly), unless
    ``job["warm"]`` is False (a fresh kernel, as every point had before).

    ``job``: ``name``, ``run_dir``, ``knobs`` (the full TrainConfig), ``smoke``, ``threads``. Returns a record:
    ``status`` (ok, diverged, interrupted, failed, locked), ``message``, ``summary`` (the run's summary or None),
    ``seconds``, ``skipped`` (True when the point had finished before).
    """
    start = time.time()
    name, run_dir = job["name"], Path(job["run_dir"])
    try:
        summary = read_summary(run_dir)
    except RnnlabError as err:
        summary = {"status": "failed", "message": str(err)}
    if summary and summary.get("status") in FINISHED:
        return _record(summary["status"], summary.get("message", ""), summary, start, skipped=True)
    if is_locked(run_dir):
        print(f"[sweep] skipping {name}: another process is writing {run_dir}", flush=True)
        return _record("locked", f"run folder {str(run_dir)!r} is being written by another process", None, start)
    try:
        return _execute(job, run_dir, start)
    except Exception as err:  # noqa: BLE001 - a point's failure is recorded, the sweep goes on
        if isinstance(err, OSError) and is_disk_full(err):  # one line naming the file and the free space
            err = disk_full(err.filename or run_dir, err)
        message = _one_line(f"{type(err).__name__}: {err}")
        _write_point_file(run_dir, name, "failed", message)
        return _record("failed", message, None, start)


def _execute(job: dict, run_dir: Path, start: float) -> dict:
    import papermill as pm

    os.environ["OMP_NUM_THREADS"] = str(job.get("threads", 1))  # the kernel inherits it: one thread per point
    (run_dir / POINT_FILE).unlink(missing_ok=True)
    parameters = {**job["knobs"], "smoke": bool(job.get("smoke")), "resume": "auto"}
    try:
        execute_training_notebook(parameters, run_dir, older_than=start, warm=job.get("warm", True))
    except pm.PapermillExecutionError as err:
        if err.ename == "RunBusyError":  # another writer won the folder: its record is not ours to touch
            Path(err.scratch).unlink(missing_ok=True)
            print(f"[sweep] skipping {job['name']}: {err.evalue}", flush=True)
            return _record("locked", _one_line(err.evalue), None, start)
        keep_executed_copy(err.scratch, run_dir, older_than=start)
        message = _one_line(f"{err.ename}: {err.evalue}")
        _write_point_file(run_dir, job["name"], "failed", message)
        return _record("failed", message, read_summary(run_dir), start)
    except BaseException as err:
        keep_executed_copy(getattr(err, "scratch", ""), run_dir, older_than=start)
        raise
    summary = read_summary(run_dir)
    recorded = json.loads((run_dir / "config.json").read_text())
    recorded["init_from"] = resolve_init_from(recorded.get("init_from", ""), run_dir)  # recorded relative to the run
    differs = sorted(k for k in job["knobs"] if recorded.get(k) != job["knobs"][k])
    if differs:
        message = (f"the notebook ran {differs[0]}={recorded.get(differs[0])!r}, the spec asks for "
                   f"{job['knobs'][differs[0]]!r} (notebook and sweep disagree on the knobs)")
        _write_point_file(run_dir, job["name"], "failed", message)
        return _record("failed", message, summary, start)
    if summary is None:
        message = "the notebook finished without a summary.json"
        _write_point_file(run_dir, job["name"], "failed", message)
        return _record("failed", message, None, start)
    return _record(summary["status"], summary.get("message", ""), summary, start)


def _write_point_file(run_dir: Path, name: str, status: str, message: str) -> None:
    """Record a point's failure in its point.json; never raises (on a full disk even this small file may not fit:
    then stderr says so, and the sweep goes on with the next point)."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_dir / POINT_FILE, {"point": name, "status": status, "message": message,
                                                 "time": time.strftime("%Y-%m-%d %H:%M:%S"), "pid": os.getpid()})
    except (OSError, RnnlabError) as err:
        print(f"[sweep] could not record {name}'s failure in {str(run_dir / POINT_FILE)!r} either: {err}",
              file=sys.stderr, flush=True)


def _record(status: str, message: str, summary: dict | None, start: float, skipped: bool = False) -> dict:
    return {"status": status, "message": message or "", "summary": summary, "seconds": time.time() - start,
            "skipped": skipped}


def _one_line(text) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= 300 else line[:297] + "..."


# ----------------------------------------------------------------------------------------- state of the store
def point_state(point: Point) -> dict:
    """What the run folder says about a point, without running anything: a record like ``run_point``'s.

    status: ok, diverged, interrupted (from summary.json); failed (point.json, or an unreadable summary);
    running (its folder is locked now); incomplete (started, killed before it ended: will resume); pending.
    The newer of summary.json and point.json wins.
    """
    run_dir = point.run_dir
    if is_locked(run_dir):
        return _record("running", "", None, time.time())
    summary_path, point_path = run_dir / "summary.json", run_dir / POINT_FILE
    try:
        summary = read_summary(run_dir)
    except RnnlabError as err:
        return _record("failed", str(err), None, time.time())
    failure = None
    if point_path.exists():
        try:
            failure = json.loads(point_path.read_text())
        except (OSError, ValueError):
            failure = {"status": "failed", "message": f"{point_path} is unreadable"}
    if failure and (summary is None or point_path.stat().st_mtime >= summary_path.stat().st_mtime):
        return _record(failure.get("status", "failed"), failure.get("message", ""), summary, time.time())
    if summary is not None:
        return _record(summary.get("status", "failed"), summary.get("message", ""), summary, time.time())
    if (run_dir / "config.json").exists():
        return _record("incomplete", "", None, time.time())
    return _record("pending", "", None, time.time())


def sweep_states(points: list[Point]) -> dict[str, dict]:
    """``point_state`` of every point, with ``blocked`` for an unfinished point whose parent failed/diverged."""
    states = {p.name: point_state(p) for p in points}
    for point in points:  # parents come first
        state, parent = states[point.name], states.get(point.after) if point.after else None
        if parent and state["status"] not in FINISHED + ("running",) and parent["status"] in (
                "failed", "diverged", "blocked"):
            states[point.name] = _record("blocked", f"parent {point.after} is {parent['status']}", None, time.time())
    return states


# ------------------------------------------------------------------------------ the spec each point ran with
def portable_knobs(point: Point) -> dict:
    """The point's knobs as JSON values, a path into the sweep's folder (``init_from``: the parent's run)
    relative to the point's own folder, so a moved or copied store keeps its record."""
    sweep_dir = point.run_dir.parents[len(Path(point.name).parts) - 1]
    knobs = json.loads(json.dumps(point.knobs))
    for key, value in knobs.items():
        if isinstance(value, str) and value.startswith(str(sweep_dir) + os.sep):
            knobs[key] = Path(os.path.relpath(value, point.run_dir)).as_posix()
    return knobs


def knobs_digest(knobs: dict) -> str:
    return hashlib.sha256(json.dumps(knobs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def record_knobs(point: Point) -> None:
    """Write ``point-knobs.json`` into the point's folder (when it starts)."""
    knobs = portable_knobs(point)
    point.run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(point.run_dir / KNOBS_FILE, {"point": point.name, "knobs_sha256": knobs_digest(knobs),
                                                   "knobs": knobs})


def knob_changes(point: Point) -> list[str] | None:
    """How the knobs the point's folder recorded differ from the spec's now (``"hidden 12 -> 14"``): [] when they
    agree, None when the folder has no record of its knobs (not started, or written before the record existed and
    without a config.json: trusted)."""
    now = portable_knobs(point)
    recorded_path, config_path = point.run_dir / KNOBS_FILE, point.run_dir / "config.json"
    try:
        if recorded_path.is_file():
            recorded = json.loads(recorded_path.read_text())
            if recorded.get("knobs_sha256") == knobs_digest(now):
                return []
            before = recorded.get("knobs") if isinstance(recorded.get("knobs"), dict) else {}
            changes = [f"{k} {_show(before.get(k))} -> {_show(now.get(k))}" for k in sorted(set(before) | set(now))
                       if before.get(k) != now.get(k)]
            return changes or [f"{KNOBS_FILE} does not match its knobs"]
        if not config_path.is_file():
            return None
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as err:
        return [f"its record is unreadable ({type(err).__name__})"]
    if not isinstance(config, dict):
        return ["its config.json is not an object"]
    if config.get("init_from"):
        config["init_from"] = Path(os.path.relpath(os.path.normpath(point.run_dir / config["init_from"]),
                                                   point.run_dir)).as_posix()
    changes = []
    for key in sorted(set(config) & set(now)):
        old, new = config[key], now[key]
        extended = key in EXTENSIBLE_KNOBS and isinstance(old, int | float) and isinstance(new, int | float) \
            and old > new  # rnnlab extend raised it
        if old != new and not extended:
            changes.append(f"{key} {_show(old)} -> {_show(new)}")
    return changes


def check_store(spec: dict, points: list[Point]) -> None:
    """Refuse, in one line, to run or report points whose folders ran with other knobs than ``spec`` gives now."""
    blocked = next((p for p in points if p.run_dir.exists() and not p.run_dir.is_dir()), None)
    if blocked is not None:
        raise RnnlabError(f"sweep {spec.get('name')!r}: {blocked.run_dir} is a file where point {blocked.name}'s run "
                          "folder goes; move it away or run with another --root (nothing was run or written)")
    differ = [(p, changes) for p in points if p.run_dir.is_dir() and (changes := knob_changes(p))]
    if not differ:
        return
    sweep_dir = points[0].run_dir.parents[len(Path(points[0].name).parts) - 1]
    names = ", ".join(p.name for p, _ in differ[:3]) + (f" and {len(differ) - 3} more" if len(differ) > 3 else "")
    first, changes = differ[0]
    what = "; ".join(changes[:3]) + (f"; and {len(changes) - 3} more knobs" if len(changes) > 3 else "")
    raise RnnlabError(
        f"sweep {spec.get('name')!r}: {len(differ)} point{'s' if len(differ) > 1 else ''} in {sweep_dir} ran with "
        f"other knobs than the spec gives now ({names}; {first.name}: {what}); their results are not this spec's: "
        f"run it with another --root, or delete {'those folders' if len(differ) > 1 else 'that folder'} to rerun "
        f"{'them' if len(differ) > 1 else 'it'} (nothing was run or written)")


def _show(value) -> str:
    return "(none)" if value is None else json.dumps(value) if not isinstance(value, str) else repr(value)


# -------------------------------------------------------------------------------------------- the sweep (driver)
def select(points: list[Point], patterns: list[str] | None) -> list[Point]:
    """The points matching any of ``patterns`` (globs on the name, or a name prefix), plus their ancestors."""
    if not patterns:
        return points
    by_name = {p.name: p for p in points}
    chosen = {p.name for p in points for pattern in patterns
              if fnmatch.fnmatchcase(p.name, pattern) or p.name.startswith(pattern.rstrip("/") + "/")}
    if not chosen:
        raise RnnlabError(f"--only {', '.join(patterns)} matches no point; points look like "
                          f"{', '.join(p.name for p in points[:3])}")
    for name in list(chosen):
        while by_name[name].after:
            name = by_name[name].after
            chosen.add(name)
    return [p for p in points if p.name in chosen]


class Progress:
    """One line per event, and after each finished point a summary line: done, running, failed, blocked, written
    elsewhere (skipped because another process holds the run folder: not a failure), ETA."""

    def __init__(self, total: int, concurrency: int, stream=None):
        self.total, self.concurrency, self.stream = total, max(concurrency, 1), stream or sys.stdout
        self.counts = {"done": 0, "running": 0, "failed": 0, "blocked": 0, "skipped": 0, "locked": 0}
        self.durations: list[float] = []
        self.start = time.time()

    def line(self, text: str) -> None:
        print(f"[sweep {time.strftime('%H:%M:%S')}] {text}", file=self.stream, flush=True)

    def started(self, point: Point) -> None:
        self.counts["running"] += 1
        self.line(f"started  {point.name}")

    def finished(self, point: Point, record: dict) -> None:
        self.counts["running"] -= 1
        status = record["status"]
        if status in FINISHED:
            self.counts["done"] += 1
            self.durations.append(record["seconds"])
        else:
            self.counts["locked" if status == "locked" else "failed"] += 1
        self.line(f"{status:<8} {point.name}  {_result_words(record)}")
        self.summary()

    def blocked(self, point: Point, message: str) -> None:
        self.counts["blocked"] += 1
        self.line(f"blocked  {point.name}  ({message})")

    def summary(self) -> None:
        c = self.counts
        left = self.total - c["done"] - c["failed"] - c["blocked"] - c["skipped"] - c["locked"]
        eta = "?"
        if self.durations:
            mean = sum(self.durations) / len(self.durations)
            waves = -(-max(left - c["running"], 0) // self.concurrency)
            eta = _duration(mean * waves + (mean / 2 if c["running"] else 0))
        self.line(f"{c['done'] + c['skipped']}/{self.total} done · {c['running']} running · {c['failed']} failed · "
                  f"{c['blocked']} blocked" + (f" · {c['locked']} written elsewhere" if c["locked"] else "") +
                  f" · elapsed {_duration(time.time() - self.start)} · ETA {eta}")


def run_sweep(spec: dict, root: str | Path | None = None, smoke: bool = False, engine: str = "local",
              workers: int | None = None, address: str | None = None, only: list[str] | None = None,
              stream=None) -> list[dict]:
    """Run every point that is not finished; return one row per point (see ``table_rows``).

    Parents run before their children; a child is submitted as soon as its parent ends ok.
    """
    from rnnlab.parallel import WorkerPool

    if engine not in ENGINES:
        raise RnnlabError(f"unknown engine {engine!r}; valid choices: {', '.join(ENGINES)}")
    if workers is not None:
        check_positive("workers", workers)
    points = select(expand(spec, root=root, smoke=smoke), only)
    check_store(spec, points)
    by_name = {p.name: p for p in points}
    children = dependents(points)
    states = sweep_states(points)
    records: dict[str, dict] = {}
    pool_workers = workers or (os.cpu_count() or 1)
    progress = None
    try:
        with WorkerPool(engine, pool_workers, address, gpus="auto") as pool:
            _keep_spec(spec, root, smoke)  # once the pool has started: an unreachable cluster writes nothing
            if engine == "inline":
                concurrency = 1
            elif engine == "ray":
                concurrency = workers or pool.cluster_gpus() or pool.cluster_cpus()
            else:
                concurrency = pool_workers
            progress = Progress(len(points), concurrency, stream)
            ready: list[Point] = []
            for point in points:
                state = states[point.name]
                if state["status"] in FINISHED:
                    records[point.name] = {**state, "skipped": True}
                    progress.counts["skipped"] += 1
                elif state["status"] == "running":
                    records[point.name] = _record("locked", "another process is writing its run folder", None,
                                                  time.time())
                    progress.line(f"skipping {point.name}: another process is writing {point.run_dir}")
                    progress.counts["locked"] += 1
                elif point.after is None or records.get(point.after, {}).get("status") == "ok":
                    ready.append(point)
            progress.line(f"{spec['name']}: {len(points)} points, {progress.counts['skipped']} finished before, "
                          f"{len(ready)} ready · engine {engine}, {concurrency} at once"
                          + (f", {pool.gpus:g} GPU per point" if engine == "ray" and pool.gpus else ""))
            for point in points:  # children of parents that failed earlier are blocked from the start
                _block_if_parent_failed(point, records, progress, children, by_name)
            running: dict[int, Point] = {}

            def submit_ready() -> None:
                while ready and len(running) < concurrency:
                    point = ready.pop(0)
                    job = {"name": point.name, "run_dir": str(point.run_dir), "knobs": point.knobs, "smoke": smoke,
                           "threads": 1}
                    progress.started(point)
                    record_knobs(point)
                    running[pool.submit(run_point, job)] = point

            submit_ready()
            while running:
                finished = pool.next_finished()
                if finished is None:
                    continue
                job_id, ok, value = finished
                point = running.pop(job_id)
                record = value if ok else _record("failed", _one_line(f"worker died: {type(value).__name__}: "
                                                                      f"{value}"), None, time.time())
                if not ok:
                    _write_point_file(point.run_dir, point.name, "failed", record["message"])
                records[point.name] = record
                progress.finished(point, record)
                for child in children.get(point.name, []):
                    if child not in by_name or child in records:
                        continue
                    if record["status"] == "ok":
                        ready.append(by_name[child])
                    else:
                        _block_if_parent_failed(by_name[child], records, progress, children, by_name)
                submit_ready()
    except KeyboardInterrupt:  # the pool has stopped its workers (leaving the with block)
        said = "interrupted: run the same command again to resume the unfinished points"
        if progress is not None:
            progress.line(said)
        else:  # before the pool had started (a Ray cluster still connecting)
            print(f"[sweep] {said}", file=stream or sys.stdout, flush=True)
        raise
    finally:
        if engine == "inline":  # the points ran in this process: its warm kernel goes with the sweep
            close_warm_kernel()
    for point in points:
        records.setdefault(point.name, _record("blocked", "its parent did not finish", None, time.time()))
    return table_rows(points, records)


def _keep_spec(spec: dict, root, smoke: bool) -> None:
    """Write the spec into the sweep's folder of the run store, so the store says which points are parents
    (``publish`` ships their checkpoints, for children that run in a later session on another machine)."""
    atomic_write_json(sweep_folder(spec, root, smoke) / SPEC_FILE, spec)


def _block_if_parent_failed(point: Point, records: dict, progress: Progress, children: dict, by_name: dict) -> None:
    """Mark ``point`` and its descendants blocked when its parent ended without an ok run."""
    parent = records.get(point.after) if point.after else None
    if point.name in records or parent is None or parent["status"] == "ok":
        return
    message = f"parent {point.after} is {parent['status']}"
    records[point.name] = _record("blocked", message, None, time.time())
    progress.blocked(point, message)
    for child in children.get(point.name, []):
        if child in by_name:
            _block_if_parent_failed(by_name[child], records, progress, children, by_name)


def table_rows(points: list[Point], records: dict[str, dict]) -> list[dict]:
    """One row per point: point, status, best valid, test, epochs, time (and the message of a failure)."""
    rows = []
    for point in points:
        record = records[point.name]
        summary = record.get("summary") or {}
        test = summary.get("test") or {}
        seconds = summary.get("wall_seconds")
        rows.append({"point": point.name, "status": record["status"], "best valid": summary.get("best_valid"),
                     "test": test.get(summary.get("metric")) if summary.get("metric") else None,
                     "epochs": summary.get("epochs_run"), "time": _duration(seconds) if seconds else "",
                     "message": record.get("message", ""), "run_dir": str(point.run_dir)})
    return rows


def format_table(rows: list[dict]) -> str:
    """The table a sweep prints: point, status, best valid, test, epochs, time; then one line per problem."""
    import pandas as pd

    if not rows:
        return "(no points)"
    frame = pd.DataFrame(rows)[["point", "status", "best valid", "test", "epochs", "time"]]
    frame["epochs"] = frame["epochs"].map(lambda v: "" if v is None or v != v else str(int(v)))
    for column in ("best valid", "test"):
        frame[column] = frame[column].map(lambda v: "" if v is None or v != v else f"{v:.4f}")
    lines = [frame.to_string(index=False)]
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    lines.append(" · ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    lines += [f"{row['status']} {row['point']}: {row['message']}" for row in rows
              if row["status"] not in FINISHED + ("pending", "incomplete") and row["message"]]
    return "\n".join(lines)


def _result_words(record: dict) -> str:
    summary = record.get("summary") or {}
    if record["status"] in FINISHED or summary.get("best_valid") is not None:
        test = (summary.get("test") or {}).get(summary.get("metric"))
        words = [f"best valid {summary.get('best_valid'):.4f}" if summary.get("best_valid") is not None else "",
                 f"test {test:.4f}" if test is not None else "",
                 f"{summary.get('epochs_run')} epochs" if summary.get("epochs_run") is not None else "",
                 _duration(record["seconds"])]
        text = ", ".join(w for w in words if w)
        return text + (f" ({record['message']})" if record["status"] != "ok" and record["message"] else "")
    return record.get("message", "")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
