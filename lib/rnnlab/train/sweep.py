"""Run a grid of trainings on Ray Tune, from a JSON spec in experiments/.

A spec is ``{"name": ..., "base": {TrainConfig knobs}, "grid": {knob: [values, ...]}, "cpus_per_trial": 1}``.
Every grid point trains in its own run directory ``<root>/<name>/<knob=value,...>``; re-running a sweep skips
finished points and resumes killed ones from their last checkpoint. A diverged point is recorded as ``diverged``
and the sweep goes on. On a cluster, start Ray there and set ``RAY_ADDRESS``: the same command spreads the grid.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.paths import runs_dir
from rnnlab.train.config import TrainConfig, smoke_overrides


def load_spec(path: str | Path) -> dict:
    """Read and check a sweep spec; one-line errors name the file (and line/column of a JSON syntax error)."""
    path = Path(path)
    if not path.exists():
        raise RnnlabError(f"sweep spec {str(path)!r} not found; specs live in experiments/*.json")
    try:
        spec = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RnnlabError(f"sweep spec {str(path)!r}: invalid JSON at line {err.lineno}, column {err.colno}: "
                          f"{err.msg}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RnnlabError(f"sweep spec {str(path)!r} is not readable ({err})") from None
    if not isinstance(spec, dict):
        raise RnnlabError(f"sweep spec {str(path)!r} holds {type(spec).__name__}, expected a JSON object")
    missing = {"name", "grid"} - set(spec)
    if missing:
        raise RnnlabError(f"sweep spec {str(path)!r} lacks {', '.join(sorted(missing))}; "
                          "expected keys: name, base, grid, cpus_per_trial")
    unknown = sorted(set(spec) - {"name", "description", "base", "grid", "cpus_per_trial"})
    if unknown:
        raise RnnlabError(f"sweep spec {str(path)!r} has unknown key {unknown[0]!r}; "
                          "expected keys: name, description, base, grid, cpus_per_trial")
    return spec


def grid_points(spec: dict) -> list[dict]:
    """Every combination of the grid, each merged over ``base`` and validated as a TrainConfig.

    An empty grid (no knob, or a knob with no values) is refused; a bad value names its grid point."""
    grid, base = spec.get("grid"), spec.get("base", {})
    if not isinstance(grid, dict) or not grid:
        raise RnnlabError(f"sweep {spec.get('name')!r}: grid must map knobs to lists of values, got {grid!r}")
    if not isinstance(base, dict):
        raise RnnlabError(f"sweep {spec.get('name')!r}: base must be an object of knobs, got {base!r}")
    for knob, values in grid.items():
        if not isinstance(values, list) or not values:
            raise RnnlabError(f"sweep {spec.get('name')!r}: grid knob {knob!r} needs a non-empty list of values, "
                              f"got {values!r} (an empty grid would run nothing)")
    keys = sorted(grid)
    points = []
    for values in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, values, strict=True))
        try:
            TrainConfig.from_dict({**base, **params}).validate()
        except RnnlabError as err:
            raise RnnlabError(f"sweep {spec.get('name')!r}, point {point_name(params)}: {err}") from None
        except TypeError as err:
            raise RnnlabError(f"sweep {spec.get('name')!r}, point {point_name(params)}: {err}") from None
        points.append(params)
    return points


def point_name(params: dict) -> str:
    return ",".join(f"{k}={params[k]}" for k in sorted(params)).replace("/", "_")


def run_point(params: dict, base: dict, sweep_dir: str, smoke: bool, threads: int) -> dict:
    """Train one grid point (or return its finished summary); never raises for a diverged or locked point."""
    import torch

    from rnnlab.train.lock import RunBusyError
    from rnnlab.train.runs import read_summary
    from rnnlab.train.trainer import Trainer

    torch.set_num_threads(threads)
    run_dir = Path(sweep_dir) / point_name(params)
    done = read_summary(run_dir)
    if done and done["status"] in ("ok", "diverged"):
        return done
    config = TrainConfig.from_dict({**base, **params})
    if smoke:
        config = smoke_overrides(config)
    try:
        return Trainer(config, run_dir=run_dir, resume="auto", progress=False).fit()
    except RunBusyError as err:
        print(f"[sweep] skipping {point_name(params)}: {err}", flush=True)
        return {"status": "locked", "best_valid": None, "run_dir": str(run_dir), "message": str(err)}


def run_sweep(spec: dict, root: str | Path | None = None, smoke: bool = False, max_concurrent: int | None = None):
    """Run every grid point on Ray Tune; return a DataFrame of the points' summaries."""
    import pandas as pd
    import ray
    from ray import tune

    points = grid_points(spec)
    root = Path(root) if root is not None else runs_dir()
    sweep_dir = (root / spec["name"]).resolve()
    sweep_dir.mkdir(parents=True, exist_ok=True)
    cpus = int(spec.get("cpus_per_trial", 1))
    base = spec.get("base", {})
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True, **({} if os.environ.get("RAY_ADDRESS") else {"num_cpus": os.cpu_count()}))

    def trainable(params):
        summary = run_point(params, base, str(sweep_dir), smoke, cpus)
        return {"status": summary["status"], "best_valid": summary["best_valid"], "run_dir": summary["run_dir"]}

    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": cpus}),
        param_space=_param_space(points),
        tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent),
        run_config=tune.RunConfig(name=spec["name"], storage_path=str(sweep_dir / "_ray"), verbose=0),
    )
    results = tuner.fit()
    rows = [{**r.config, **(r.metrics or {}), "error": str(r.error) if r.error else ""} for r in results]
    return pd.DataFrame(rows)


def _param_space(points: list[dict]) -> dict:
    from ray import tune

    keys = sorted(points[0]) if points else []
    return {k: tune.grid_search(sorted({p[k] for p in points}, key=str)) for k in keys}


def add_arguments(parser) -> None:
    parser.add_argument("spec", help="sweep spec (JSON), e.g. experiments/pascanu_jsb.json")
    parser.add_argument("--root", default=None, help="run store root (default: runs/ or $RNNLAB_RUNS)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes for every point (CI)")
    parser.add_argument("--max-concurrent", type=int, default=None, help="trials at once (default: by CPUs)")
    parser.add_argument("--dry-run", action="store_true", help="list the grid points and exit")


def main(args) -> int:
    spec = load_spec(args.spec)
    if args.dry_run:
        for params in grid_points(spec):
            print(point_name(params))
        return 0
    table = run_sweep(spec, root=args.root, smoke=args.smoke, max_concurrent=args.max_concurrent)
    print(table.drop(columns=["run_dir"], errors="ignore").to_string(index=False))
    return 0 if (table["error"] == "").all() else 1
