"""The architecture search loop (Jozefowicz et al. 2015, as far as the procedure is known), resumable and seeded.

State: a list of every candidate ever evaluated (canonical equations, parent, transforms, per-task scores and
hyperparameters, seconds) and the top list; it is written atomically as JSON after EVERY evaluation, so a killed
search resumes where it stopped. A state is checked against its schema when loaded (``SearchState.load``: one line
naming the file and the field), its config like any knob (``check_config``); one search writes a state at a time
(``lock.StateLock``; a second writer gets one line, readers need no lock), and a save is never cut by a signal.

Steps (step k draws everything from ``random.Random(f"{seed}/{k}")``):

* steps 0 and 1 evaluate the seeds, the GRU and the LSTM, fully (no filter);
* afterwards, with probability ``p_reevaluate`` a random top-list member is re-evaluated on ``settings`` new random
  hyperparameter settings per task (its best accuracies can only rise), otherwise a random member is mutated
  (``mutate.py``) into a child never seen before (canonical form) and the child is evaluated: the memorization
  filter first (fixed settings, must reach ``memorize_threshold``), then each task in turn (``settings`` random
  settings) must reach ``fraction`` × the GRU's best on it, else the child is rejected there;
* fitness = min over the tasks of best accuracy ÷ the GRU's best accuracy (GRU = 1; both + 0.001, so the
  ratio stays defined when a tiny smoke model scores 0); the top list holds the
  ``top_n`` fittest candidates that passed every task.

Parallel and reproducible: proposals are made in batches of ``batch`` steps from the state at the start of the
batch, evaluated on the worker pool in any order, and applied in step order once the whole batch is back (results
of an unfinished batch are kept in ``pending``). So the sequence of proposals depends only on the seed and the
batch size — not on the number of workers, their speed, or where a run was interrupted.
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from rnnlab.cells.graph import library_graph, parse_equations, validity_problem
from rnnlab.cells.graph.nodes import MAX_NODES
from rnnlab.errors import RnnlabError
from rnnlab.files import atomic_write
from rnnlab.search.evaluate import PROFILES, Hyperparameters, run_job, sample_hyperparameters
from rnnlab.search.lock import StateLock, signals_deferred
from rnnlab.search.mutate import MAX_OPERATIONS, mutate

FILTER = "memorize"
TASKS = ("arithmetic", "xml")  # the fitness tasks, in the order a child must pass them
SEEDS = ("gru", "lstm")
MEMORIZE_SETTINGS = (Hyperparameters(lr=3.0, init=1.0, clip=5.0, seed=1),
                     Hyperparameters(lr=1.0, init=1.0, clip=5.0, seed=2))
STATE_VERSION = 1
EPS = 1e-3  # ratios are (best + EPS) / (GRU's best + EPS): defined when tiny smoke models score 0


@dataclass
class SearchConfig:
    """The knobs of a search (stored in its state; a resumed search keeps them)."""

    seed: int = 0
    profile: str = "search"
    top_n: int = 20
    settings: int = 2  # random hyperparameter settings per task per evaluation
    p_reevaluate: float = 0.2
    fraction: float = 0.9  # a child must reach this fraction of the GRU's best on each task
    memorize_threshold: float | None = None  # None: the profile's (0.9 in the real search)
    batch: int = 1  # proposals made from the same state (= workers when the search was created)
    max_operations: int = MAX_OPERATIONS


MAX_BATCH = 4096
MAX_SETTINGS = 1000


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)) and math.isfinite(value)


def _int_in(what: str, value, low: int, high: int, note: str = "") -> None:
    if not (_is_int(value) and low <= value <= high):
        raise RnnlabError(f"{what} must be an integer in [{low}, {high}]{note}, got {value!r}")


def _number_in(what: str, value, low: float, high: float, none_ok: bool = False) -> None:
    if none_ok and value is None:
        return
    if not (_is_number(value) and low <= value <= high):
        extra = " or null (the profile's)" if none_ok else ""
        raise RnnlabError(f"{what} must be a finite number in [{low:g}, {high:g}]{extra}, got {value!r}")


def check_config(config: SearchConfig, where: str = "") -> None:
    """Raise (one line naming the knob, its range and the value; knob names prefixed with ``where``) unless every
    knob of ``config`` is valid."""
    if not isinstance(config, SearchConfig):
        raise RnnlabError(f"config must be a SearchConfig, got {type(config).__name__}")
    seeds = max(library_graph(name).n_operations() for name in SEEDS)
    _int_in(f"{where}seed", config.seed, 0, 2**63 - 1)
    if config.profile not in PROFILES:
        raise RnnlabError(f"unknown {where}profile {config.profile!r}; valid choices: {', '.join(PROFILES)}")
    _int_in(f"{where}top_n", config.top_n, 1, 10**6)
    _int_in(f"{where}settings", config.settings, 1, MAX_SETTINGS)
    _number_in(f"{where}p_reevaluate", config.p_reevaluate, 0.0, 1.0)
    _number_in(f"{where}fraction", config.fraction, 0.0, 1.0)
    _number_in(f"{where}memorize_threshold", config.memorize_threshold, 0.0, 1.0, none_ok=True)
    _int_in(f"{where}batch", config.batch, 1, MAX_BATCH)
    _int_in(f"{where}max_operations", config.max_operations, seeds, MAX_NODES,
            f" (the seeds {' and '.join(SEEDS)} hold up to {seeds} operations, a graph at most {MAX_NODES})")


# ----- the state file's schema ----------------------------------------------------------------------------------
_TOP_KEYS = ("version", "config", "step", "pending", "worker_seconds", "wall_seconds", "candidates")
_DERIVED_KEYS = ("top", "gru_best")  # written for readers, recomputed on load
_CANDIDATE_KEYS = ("id", "step", "kind", "name", "equations", "parent", "mutations", "p", "status", "best",
                   "evaluations")
_EVALUATION_KEYS = ("step", "best", "scores", "settings", "rejected_at", "seconds")
_RESULT_KEYS = ("id", "best", "scores", "rejected_at", "seconds")
_HP_KEYS = tuple(f.name for f in fields(Hyperparameters))
_STATUSES = ("passed", *(f"rejected:{t}" for t in (FILTER, *TASKS)))


class _Bad(Exception):
    """A schema violation: (where, problem); SearchState.load turns it into one RnnlabError line."""


def _need(condition: bool, where: str, problem: str) -> None:
    if not condition:
        raise _Bad(where, problem)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _keys(obj, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    _need(isinstance(obj, dict), where, f"must be an object, got {type(obj).__name__} {_show(obj)}")
    for key in required:
        _need(key in obj, where, f"lacks the field {key!r}")
    for key in obj:
        _need(key in required or key in optional, where,
              f"has an unknown field {_show(key)}; valid fields: {', '.join(required + optional)}")


def _accuracies(obj, where: str) -> None:
    _need(isinstance(obj, dict), where, f"must be an object task -> accuracy, got {_show(obj)}")
    for task, acc in obj.items():
        _need(task in (FILTER, *TASKS), f"{where}.{task}", f"is no task; valid tasks: {', '.join((FILTER, *TASKS))}")
        _need(_is_number(acc) and 0 <= acc <= 1, f"{where}.{task}", f"must be an accuracy in [0, 1], got {_show(acc)}")


def _result(obj, where: str, with_id: bool) -> None:
    """An evaluation (in a candidate) or a worker's result (in ``pending``)."""
    _keys(obj, where, _RESULT_KEYS if with_id else _EVALUATION_KEYS)
    _accuracies(obj["best"], f"{where}.best")
    scores = obj["scores"]
    _need(isinstance(scores, dict), f"{where}.scores", f"must be an object task -> accuracies, got {_show(scores)}")
    for task, accs in scores.items():
        _need(isinstance(accs, list) and accs, f"{where}.scores.{task}", f"must be a non-empty list, got {_show(accs)}")
        _need(task in (FILTER, *TASKS), f"{where}.scores.{task}", f"is no task; valid tasks: "
              f"{', '.join((FILTER, *TASKS))}")
        for k, acc in enumerate(accs):
            _need(_is_number(acc) and 0 <= acc <= 1, f"{where}.scores.{task}[{k}]",
                  f"must be an accuracy in [0, 1], got {_show(acc)}")
    _need(obj["rejected_at"] is None or obj["rejected_at"] in (FILTER, *TASKS), f"{where}.rejected_at",
          f"must be null or a task ({', '.join((FILTER, *TASKS))}), got {_show(obj['rejected_at'])}")
    _need(_is_number(obj["seconds"]) and obj["seconds"] >= 0, f"{where}.seconds",
          f"must be a finite number >= 0, got {_show(obj['seconds'])}")
    if with_id:
        _need(_is_int(obj["id"]), f"{where}.id", f"must be an integer, got {_show(obj['id'])}")
        return
    _need(_is_int(obj["step"]) and obj["step"] >= 0, f"{where}.step", f"must be an integer >= 0, got "
          f"{_show(obj['step'])}")
    settings = obj["settings"]
    _need(isinstance(settings, dict), f"{where}.settings", f"must be an object task -> settings, got "
          f"{_show(settings)}")
    for task, hps in settings.items():
        _need(isinstance(hps, list), f"{where}.settings.{task}", f"must be a list, got {_show(hps)}")
        for k, hp in enumerate(hps):
            at = f"{where}.settings.{task}[{k}]"
            _keys(hp, at, _HP_KEYS)
            for name in ("lr", "init", "clip"):
                _need(_is_number(hp[name]) and hp[name] > 0, f"{at}.{name}",
                      f"must be a finite number > 0, got {_show(hp[name])}")
            _need(_is_int(hp["seed"]) and hp["seed"] >= 0, f"{at}.seed", f"must be an integer >= 0, got "
                  f"{_show(hp['seed'])}")


@functools.lru_cache(maxsize=8192)
def _equations_problem(text: str) -> str | None:
    """Why ``text`` makes no usable cell, or None (cached: a state is loaded twice on resume, its texts repeat)."""
    try:
        return validity_problem(parse_equations(text))
    except RnnlabError as err:
        return str(err)


def _candidate(c, i: int, step: int) -> None:
    where = f"candidates[{i}]"
    _keys(c, where, _CANDIDATE_KEYS)
    _need(c["id"] == i and _is_int(c["id"]), f"{where}.id", f"must be its position {i}, got {_show(c['id'])}")
    _need(_is_int(c["step"]) and 0 <= c["step"] < step, f"{where}.step",
          f"must be an integer in [0, {step - 1}] (before the state's step {step}), got {_show(c['step'])}")
    _need(c["kind"] in ("seed", "child"), f"{where}.kind", f"must be 'seed' or 'child', got {_show(c['kind'])}")
    if c["kind"] == "seed":
        _need(c["name"] in SEEDS, f"{where}.name", f"a seed is one of {', '.join(SEEDS)}, got {_show(c['name'])}")
    else:
        _need(c["name"] is None or isinstance(c["name"], str), f"{where}.name", f"must be null or a string, got "
              f"{_show(c['name'])}")
    _need(isinstance(c["equations"], str), f"{where}.equations", f"must be a string, got {_show(c['equations'])}")
    problem = _equations_problem(c["equations"])
    _need(problem is None, f"{where}.equations", f"make no usable cell: {problem}")
    _need(c["parent"] is None or (_is_int(c["parent"]) and 0 <= c["parent"] < i), f"{where}.parent",
          f"must be null or an earlier candidate's id{f' (0..{i - 1})' if i else ' (none is earlier)'}, got "
          f"{_show(c['parent'])}")
    _need(isinstance(c["mutations"], list) and all(isinstance(m, str) for m in c["mutations"]),
          f"{where}.mutations", f"must be a list of strings, got {_show(c['mutations'])}")
    _need(c["p"] is None or (_is_number(c["p"]) and 0 <= c["p"] <= 1), f"{where}.p",
          f"must be null or a number in [0, 1], got {_show(c['p'])}")
    _need(c["status"] in _STATUSES, f"{where}.status", f"must be one of {', '.join(_STATUSES)}, got "
          f"{_show(c['status'])}")
    _accuracies(c["best"], f"{where}.best")
    evaluations = c["evaluations"]
    _need(isinstance(evaluations, list) and evaluations, f"{where}.evaluations",
          f"must be a non-empty list, got {_show(evaluations)}")
    for k, evaluation in enumerate(evaluations):
        _result(evaluation, f"{where}.evaluations[{k}]", with_id=False)


def _check_data(data) -> SearchConfig:
    """Check a loaded state (a JSON value) against the schema; its config. Raises ``_Bad``."""
    _keys(data, "the top level", _TOP_KEYS, _DERIVED_KEYS)
    version = data["version"]
    _need(_is_int(version) and version == STATE_VERSION, "version",
          f"is {_show(version)}; this rnnlab reads {STATE_VERSION}")
    names = tuple(f.name for f in fields(SearchConfig))
    _keys(data["config"], "config", names)
    config = SearchConfig(**data["config"])
    try:
        check_config(config, where="config.")
    except RnnlabError as err:
        raise _Bad(str(err), "") from None
    step = data["step"]
    _need(_is_int(step) and step >= 0, "step", f"must be an integer >= 0, got {_show(step)}")
    for key in ("worker_seconds", "wall_seconds"):
        _need(_is_number(data[key]) and data[key] >= 0, key, f"must be a finite number >= 0, got {_show(data[key])}")
    candidates = data["candidates"]
    _need(isinstance(candidates, list), "candidates", f"must be a list, got {type(candidates).__name__}")
    for i, c in enumerate(candidates):
        _candidate(c, i, step)
    steps = sorted(e["step"] for c in candidates for e in c["evaluations"])
    _need(len(steps) == step, "step", f"is {step}, but the candidates hold {len(steps)} evaluations (one per step)")
    twice = next((k for k, (a, b) in enumerate(zip(steps, range(step), strict=True)) if a != b), None)
    _need(twice is None, "step", f"is {step}, but no evaluation is of step {twice} (each of 0..{step - 1} has one)")
    pending = data["pending"]
    _need(isinstance(pending, dict), "pending", f"must be an object step -> result, got {_show(pending)}")
    end = step + config.batch if step >= len(SEEDS) else min(step + config.batch, len(SEEDS))
    for key, result in pending.items():
        _need(key.isascii() and key.isdigit() and step <= int(key) < end, f"pending[{_show(key)}]",
              f"must be a step of the current batch ({step}..{end - 1})")
        _result(result, f"pending[{key}]", with_id=True)
    return config


@dataclass
class SearchState:
    config: SearchConfig
    candidates: list[dict] = field(default_factory=list)
    step: int = 0  # first step of the current batch
    pending: dict[str, dict] = field(default_factory=dict)  # step -> result, current batch only
    worker_seconds: float = 0.0
    wall_seconds: float = 0.0

    # ----- persistence -------------------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the state atomically; SIGINT/SIGTERM/SIGHUP wait until the file is whole (``signals_deferred``)."""
        data = dict(version=STATE_VERSION, config=asdict(self.config), step=self.step, pending=self.pending,
                    worker_seconds=round(self.worker_seconds, 2), wall_seconds=round(self.wall_seconds, 2),
                    top=[c["id"] for c in self.top()], gru_best=self.gru_best(), candidates=self.candidates)
        payload = json.dumps(data, indent=1).encode()
        with signals_deferred(), atomic_write(path) as handle:
            handle.write(payload)

    @classmethod
    def load(cls, path: Path) -> SearchState:
        """Read and check a state file: anything but a state this rnnlab wrote is one line naming the file and the
        field (a folder, bytes that are no UTF-8 JSON, another shape, a value out of range, equations that make no
        cell, a step that disagrees with the evaluations held)."""
        path = Path(path)
        if path.is_dir():
            raise RnnlabError(f"{path} is a folder, not a search state file; give the state's JSON file")
        if path.is_symlink() and not path.exists():
            raise RnnlabError(f"{path} is a broken symbolic link, not a search state file")
        if path.exists() and not path.is_file():  # a FIFO would block the read forever, a device never ends
            raise RnnlabError(f"{path} is not a regular file (a pipe, socket or device), so not a search state")
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as err:
            raise RnnlabError(f"{path} is not a search state (not UTF-8 text: byte {err.start})") from None
        except json.JSONDecodeError as err:
            raise RnnlabError(f"{path} is not a search state (invalid JSON: {err.msg})") from None
        except RecursionError:
            raise RnnlabError(f"{path} is not a search state (JSON nested too deeply)") from None
        try:
            config = _check_data(data)
        except _Bad as bad:
            where, problem = bad.args
            raise RnnlabError(f"{path} is not a valid search state: {where} {problem}".rstrip()) from None
        return cls(config, data["candidates"], data["step"], data["pending"], data["worker_seconds"],
                   data["wall_seconds"])

    # ----- scores ------------------------------------------------------------------------------------------------
    def by_name(self, name: str) -> dict | None:
        return next((c for c in self.candidates if c.get("name") == name), None)

    def gru_best(self) -> dict[str, float]:
        gru = self.by_name("gru")
        return dict(gru["best"]) if gru else {}

    def fitness(self, candidate: dict) -> float | None:
        """min over tasks of best accuracy / GRU's best; None unless the candidate passed every task."""
        reference = self.gru_best()
        if candidate["status"] != "passed" or not all(t in reference for t in TASKS):
            return None
        return min((candidate["best"].get(t, 0.0) + EPS) / (reference[t] + EPS) for t in TASKS)

    def top(self) -> list[dict]:
        scored = [(self.fitness(c), c["id"], c) for c in self.candidates]
        scored = [s for s in scored if s[0] is not None]
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [c for _, _, c in scored[: self.config.top_n]]

    def summary(self) -> dict:
        rejected: dict[str, int] = {}
        for c in self.candidates:
            if c["status"].startswith("rejected"):
                rejected[c["status"]] = rejected.get(c["status"], 0) + 1
        children = [c for c in self.candidates if c["kind"] == "child"]
        return dict(candidates=len(self.candidates), children=len(children),
                    passed_memorize=sum(FILTER in c["best"] and c["status"] != f"rejected:{FILTER}"
                                        for c in children),
                    passed_all=sum(c["status"] == "passed" for c in children), rejected=rejected,
                    evaluations=sum(len(c["evaluations"]) for c in self.candidates),
                    worker_seconds=round(self.worker_seconds, 1), wall_seconds=round(self.wall_seconds, 1))


def new_state(config: SearchConfig) -> SearchState:
    check_config(config)
    return SearchState(config)


# ----- proposals -----------------------------------------------------------------------------------------------
def _settings(rng: random.Random, n: int) -> list[dict]:
    return [sample_hyperparameters(rng).as_dict() for _ in range(n)]


def propose(state: SearchState, k: int, taken: set[str]) -> dict:
    """The job of step ``k`` given the state at the start of its batch (``taken``: canonical forms in use)."""
    cfg = state.config
    rng = random.Random(f"{cfg.seed}/{k}")
    base = dict(step=k, profile=cfg.profile, filters=[FILTER])
    if k < len(SEEDS):
        name = SEEDS[k]
        graph = library_graph(name)
        settings = {t: _settings(rng, cfg.settings) for t in TASKS}
        settings[FILTER] = [hp.as_dict() for hp in MEMORIZE_SETTINGS]
        return dict(base, kind="seed", name=name, equations=graph.canonical(), parent=None, mutations=[], p=None,
                    order=[FILTER, *TASKS], settings=settings, thresholds={})
    top = state.top()
    if not top:
        raise RnnlabError("the top list is empty: the seeds did not pass; check the profile's sizes")
    if rng.random() < cfg.p_reevaluate:
        member = rng.choice(top)
        return dict(base, kind="reevaluate", target=member["id"], equations=member["equations"], order=list(TASKS),
                    settings={t: _settings(rng, cfg.settings) for t in TASKS}, thresholds={})
    parent = rng.choice(top)
    graph = parse_equations(parent["equations"])
    for _ in range(200):
        child, mutations, p = mutate(graph, rng, cfg.max_operations)
        canonical = child.canonical()
        if canonical not in taken:
            break
    else:
        raise RnnlabError(f"no new child of candidate {parent['id']} after 200 tries")
    taken.add(canonical)
    reference = state.gru_best()
    thresholds = {t: round(cfg.fraction * reference[t], 4) for t in TASKS}
    thresholds[FILTER] = (PROFILES[cfg.profile]["memorize_threshold"] if cfg.memorize_threshold is None
                          else cfg.memorize_threshold)
    settings = {t: _settings(rng, cfg.settings) for t in TASKS}
    settings[FILTER] = [hp.as_dict() for hp in MEMORIZE_SETTINGS]
    return dict(base, kind="child", equations=canonical, parent=parent["id"], mutations=mutations, p=p,
                order=[FILTER, *TASKS], settings=settings, thresholds=thresholds)


def propose_batch(state: SearchState) -> list[dict]:
    """The jobs of the current batch (the seeds form their own batch: children need the GRU's scores)."""
    taken = {c["equations"] for c in state.candidates}
    end = state.step + state.config.batch
    if state.step < len(SEEDS):
        end = min(end, len(SEEDS))
    jobs = [propose(state, k, taken) for k in range(state.step, end)]
    for job in jobs:
        job["id"] = job["step"]
    return jobs


# ----- applying results ----------------------------------------------------------------------------------------
def apply(state: SearchState, job: dict, result: dict) -> None:
    evaluation = dict(step=job["step"], best=result["best"], scores=result["scores"], settings={
        t: job["settings"][t][: len(result["scores"].get(t, []))] for t in result["scores"]},
        rejected_at=result["rejected_at"], seconds=result["seconds"])
    if job["kind"] == "reevaluate":
        member = state.candidates[job["target"]]
        member["evaluations"].append(evaluation)
        for t, acc in result["best"].items():
            member["best"][t] = max(member["best"].get(t, 0.0), acc)
        return
    status = "passed" if result["rejected_at"] is None else f"rejected:{result['rejected_at']}"
    state.candidates.append(dict(
        id=len(state.candidates), step=job["step"], kind=job["kind"], name=job.get("name"),
        equations=job["equations"], parent=job["parent"], mutations=job["mutations"], p=job["p"],
        status=status, best=dict(result["best"]), evaluations=[evaluation]))


def run_search(path, steps: int | None = None, config: SearchConfig | None = None, engine: str = "inline",
               workers: int = 1, address: str | None = None, deadline: float | None = None,
               on_step=None, stop_after_evaluations: int | None = None) -> SearchState:
    """Run (or resume) the search stored at ``path`` until ``steps`` steps in total or the wall-clock ``deadline``
    (``time.time()`` value; checked before each batch). ``on_step(state)`` is called after each applied batch.
    ``stop_after_evaluations`` stops after that many evaluations in this call (tests: a simulated kill).

    Everything is checked before anything is written (the state, its config, a read-only file); then the state is
    locked for this writer (``SearchBusyError`` when another search holds it) and loaded again under the lock."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        SearchState.load(path)  # a bad state: one line, and no lock file or anything else written beside it
        if not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222:
            raise RnnlabError(f"search state {path} is read-only; make it writable (chmod u+w) to go on with the "
                              "search, or read it with --show")
    else:
        check_config(config or SearchConfig(batch=workers))
    if steps is not None and not (_is_int(steps) and steps >= 0):
        raise RnnlabError(f"steps must be an integer >= 0 or None, got {steps!r}")
    with StateLock(path):
        return _run_locked(path, steps, config, engine, workers, address, deadline, on_step, stop_after_evaluations)


def _run_locked(path: Path, steps, config, engine, workers, address, deadline, on_step,
                stop_after_evaluations) -> SearchState:
    from rnnlab.parallel import WorkerPool

    if path.exists():
        state = SearchState.load(path)
    else:
        state = new_state(config or SearchConfig(batch=workers))
        state.save(path)
    done_here, last = 0, time.time()
    with WorkerPool(engine, workers, address) as pool:
        while steps is None or state.step < steps:
            if deadline is not None and time.time() >= deadline:
                break
            jobs = [j for j in propose_batch(state) if steps is None or j["step"] < steps]
            todo = [j for j in jobs if str(j["step"]) not in state.pending]
            for index, result in pool.map_unordered(run_job, todo):
                state.pending[str(todo[index]["step"])] = result
                state.worker_seconds += result["seconds"]
                now = time.time()
                state.wall_seconds += now - last
                last = now
                state.save(path)
                done_here += 1
                if stop_after_evaluations is not None and done_here >= stop_after_evaluations:
                    return state
            for job in jobs:
                apply(state, job, state.pending.pop(str(job["step"])))
            state.step += len(jobs)
            now = time.time()
            state.wall_seconds += now - last
            last = now
            state.save(path)
            if on_step is not None:
                on_step(state)
    return state
