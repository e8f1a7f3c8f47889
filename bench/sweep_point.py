"""A sweep point's fixed cost: what running one point through the training notebook costs besides its training.

Runs ``--points`` tiny points (arithmetic task, one epoch of three updates: no data files needed) one after another
in ONE process through ``rnnlab.campaigns.sweep.run_point``, exactly as a pool worker of ``rnnlab sweep`` runs the
points it is given, in a sweep folder of a temporary run store. Per point it reports the wall seconds of
``run_point``, the trainer's own seconds (``summary.json``: ``wall_seconds``) and the difference, the fixed cost,
split into the notebook's cells (papermill's per-cell durations in the executed notebook: setup and imports, training
cell less the trainer's own seconds, figure, the others) and what lies outside the cells (kernel start or reset,
papermill's reading, parameterising and writing of the notebook, the sweep's checks). The first point of a worker
starts its kernel; the others show what every further point costs (``warm``: their median).

    .venv/bin/python bench/sweep_point.py                    # 4 points, a table
    .venv/bin/python bench/sweep_point.py --points 6 --json  # one JSON object
    .venv/bin/python bench/sweep_point.py --lib /tmp/before/lib   # another checkout's rnnlab (and its notebook)

From Python (``bench/trainer.py``): ``measure(lib, points)`` runs this script in a child process and returns its
JSON object. Wall clock: on a machine shared with other jobs the absolute seconds move with the load; compare
numbers taken back to back. Measured figures: docs/sweeps.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
KNOBS = {"dataset": "arithmetic", "arch": "rnn", "cell": "tanh", "optimizer": "sgd", "lr": 0.1, "clip": None,
         "epochs": 1, "bptt": None, "hidden": 8, "batch_size": 4, "max_updates_per_epoch": 3,
         "max_eval_sequences": 4, "device": "cpu", "task_knobs": {"n_train": 32, "n_valid": 8, "n_test": 8}}
PARTS = ("outside cells", "setup cell", "training cell", "figure cell", "other cells")


def measure(lib: Path | str | None = None, points: int = 4, timeout: float = 1800) -> dict:
    """Run this script for ``lib`` (the lib folder of a checkout; default this one's) in a fresh process; return its
    JSON object: ``first`` and ``warm`` (the first point, the median of the others), each with ``seconds``,
    ``trainer_s``, ``fixed_s`` and ``parts`` (seconds per part of the fixed cost), and ``points`` (every point)."""
    lib = Path(lib or CHECKOUT / "lib").resolve()
    env = {k: v for k, v in os.environ.items() if k != "RNNLAB_SMOKE"}  # a real point: the smoke profile is off
    path = [str(lib)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(path))
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--json", "--points", str(points),
                           "--lib", str(lib)], env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"bench/sweep_point.py failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _run_points(points: int) -> list[dict]:
    from rnnlab.campaigns.sweep import run_point
    from rnnlab.train.config import TrainConfig

    rows = []
    with tempfile.TemporaryDirectory(prefix="rnnlab-sweep-point-") as tmp:
        sweep = Path(tmp) / "bench"
        sweep.mkdir()
        (sweep / "spec.json").write_text(json.dumps({"name": "bench", "base": KNOBS}))  # a sweep's folder
        for index in range(points):
            knobs = TrainConfig(**{**KNOBS, "seed": index}).to_dict()
            run_dir = sweep / f"seed={index}"
            start = time.perf_counter()
            record = run_point({"name": run_dir.name, "run_dir": str(run_dir), "knobs": knobs, "smoke": False,
                                "threads": 1})
            seconds = time.perf_counter() - start
            if record["status"] != "ok":
                raise RuntimeError(f"point {run_dir.name}: {record['status']}: {record['message']}")
            rows.append(_breakdown(run_dir, seconds, record["summary"]))
            rows[-1]["files"] = {p.relative_to(sweep).as_posix(): p.stat().st_size for p in sweep.rglob("*")
                                 if p.is_file() and (run_dir in p.parents or p.parent == sweep)}
    return rows


def _breakdown(run_dir: Path, seconds: float, summary: dict) -> dict:
    cells = [c for c in json.loads((run_dir / "03_train.ipynb").read_text())["cells"] if c["cell_type"] == "code"]
    trainer = summary["wall_seconds"]
    parts = dict.fromkeys(PARTS, 0.0)
    for cell in cells:
        source = "".join(cell["source"])
        took = (cell.get("metadata", {}).get("papermill", {}).get("duration")) or 0.0
        if ".fit()" in source:
            parts["training cell"] += took - trainer
        elif "save_figure(" in source:
            parts["figure cell"] += took
        elif "import " in source:
            parts["setup cell"] += took
        else:  # the parameters, the injected parameters, the results table
            parts["other cells"] += took
    parts["outside cells"] = seconds - sum(parts.values()) - trainer
    return {"seconds": seconds, "trainer_s": trainer, "fixed_s": seconds - trainer, "parts": parts}


def _median(rows: list[dict]) -> dict:
    if not rows:
        return {}
    return {"seconds": statistics.median(r["seconds"] for r in rows),
            "trainer_s": statistics.median(r["trainer_s"] for r in rows),
            "fixed_s": statistics.median(r["fixed_s"] for r in rows),
            "parts": {p: statistics.median(r["parts"][p] for r in rows) for p in PARTS}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=4, help="points run one after another (default 4; >= 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--lib", default=str(CHECKOUT / "lib"), help="the lib folder of the checkout to measure")
    args = parser.parse_args(argv)
    if args.points < 2:
        parser.error(f"--points must be at least 2 (the first starts the kernel), got {args.points}")
    lib = Path(args.lib).resolve()
    if not (lib / "rnnlab" / "__init__.py").is_file():
        parser.error(f"--lib {args.lib!r} holds no rnnlab package")
    if os.environ.get("RNNLAB_SMOKE") or os.environ.get("OMP_NUM_THREADS") != "1" or \
            str(lib) not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        print(json.dumps(measure(lib, args.points)) if args.json else _table(measure(lib, args.points)))
        return 0
    sys.path.insert(0, str(lib))
    rows = _run_points(args.points)
    result = {"lib": str(lib), "first": _median(rows[:1]), "warm": _median(rows[1:]), "points": rows}
    print(json.dumps(result) if args.json else _table(result))
    return 0


def _table(result: dict) -> str:
    lines = [f"a sweep point's fixed cost, rnnlab from {result['lib']} (wall seconds, one process)",
             f"{'':22s}{'first point':>12s}{'warm (median)':>15s}"]
    for key, label in (("seconds", "point"), ("trainer_s", "  trainer's own"), ("fixed_s", "  fixed cost")):
        lines.append(f"{label:22s}{result['first'][key]:12.2f}{result['warm'][key]:15.2f}")
    for part in PARTS:
        lines.append(f"{'    ' + part:22s}{result['first']['parts'][part]:12.2f}{result['warm']['parts'][part]:15.2f}")
    last = result["points"][-1]["files"]
    lines.append("files of the last point and its sweep folder: " + ", ".join(f"{k} {v:,} B" for k, v in
                                                                          sorted(last.items())))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
