"""The architecture search loop (Jozefowicz et al. 2015, as far as the procedure is known), resumable and seeded.

State: a list of every candidate ever evaluated (canonical equations, parent, transforms, per-task scores and
hyperparameters, seconds) and the top list; it is written atomically as JSON after EVERY evaluation, so a killed
search resumes where it stopped.

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

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rnnlab.cells.graph import library_graph, parse_equations
from rnnlab.errors import RnnlabError
from rnnlab.files import atomic_write
from rnnlab.search.evaluate import PROFILES, Hyperparameters, run_job, sample_hyperparameters
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
        data = dict(version=STATE_VERSION, config=asdict(self.config), step=self.step, pending=self.pending,
                    worker_seconds=round(self.worker_seconds, 2), wall_seconds=round(self.wall_seconds, 2),
                    top=[c["id"] for c in self.top()], gru_best=self.gru_best(), candidates=self.candidates)
        with atomic_write(path) as handle:
            handle.write(json.dumps(data, indent=1).encode())

    @classmethod
    def load(cls, path: Path) -> SearchState:
        try:
            data = json.loads(Path(path).read_text())
        except json.JSONDecodeError as err:
            raise RnnlabError(f"{path} is not a search state (invalid JSON: {err.msg})") from None
        if data.get("version") != STATE_VERSION:
            raise RnnlabError(f"{path} has state version {data.get('version')!r}; this rnnlab reads {STATE_VERSION}")
        return cls(SearchConfig(**data["config"]), data["candidates"], data["step"], data["pending"],
                   data["worker_seconds"], data["wall_seconds"])

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
    if config.profile not in PROFILES:
        raise RnnlabError(f"unknown profile {config.profile!r}; valid choices: {', '.join(PROFILES)}")
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
    ``stop_after_evaluations`` stops after that many evaluations in this call (tests: a simulated kill)."""
    from rnnlab.parallel import WorkerPool

    path = Path(path)
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
