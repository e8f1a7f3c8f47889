"""Everything a lent GPU's first minutes are for, in one command (prints ratios; writes a JSON record).

    .venv/bin/python bench/gpu_check.py [--out results/gpu_check.json] [--quick]

1. the CUDA tests (``pytest -k cuda``): the cells, nets and batcher on the GPU against the CPU and torch.nn;
2. ``bench/cells.py --device cuda``: every cell's training step against cuDNN's nn.RNN/LSTM/GRU (ratio ÷ FLOP ratio);
3. the training throughput (frames/s, timing columns of the run record) of one Pascanu recipe (DT(S)-RNN 400,400 on
   Nottingham: batch 1, BPTT 200, weight noise) and one Chung recipe (GRU 46 on JSB: batch 16, BPTT 100, RMSProp), on
   CUDA and on one CPU thread, printed as the CUDA/CPU ratio. Canonical data comes from ``$RNNLAB_DATA``; without it
   the bach-music21 stand-in is used and the record says so.

Without CUDA it still runs (steps 1 and 2 report "no CUDA", step 3 measures the CPU only), so the script itself is
tested on every machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = {
    "pascanu-dts-nottingham": dict(dataset="nottingham", arch="dts-rnn", cell="tanh", hidden=400, transition_hidden=400,
                                   nonlinearity="sigmoid", init="pascanu", optimizer="sgd", lr=1.0, clip=1.0,
                                   weight_noise=0.075, bptt=200, batch_size=1),
    "chung-gru46-jsb": dict(dataset="jsb", arch="rnn", cell="gru", hidden=46, optimizer="rmsprop", lr=1e-3, clip=1.0,
                            weight_noise=0.075, bptt=100, batch_size=16),
}


def throughput(knobs: dict, device: str, updates: int) -> dict:
    """Frames per second of ``updates`` training updates (one epoch capped), from the run record."""
    import torch

    from rnnlab.train import TrainConfig
    from rnnlab.train.trainer import Trainer

    if device == "cpu":
        torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        config = TrainConfig(**knobs, epochs=1, max_updates_per_epoch=updates, max_eval_sequences=2, device=device)
        trainer = Trainer(config, run_dir=Path(folder) / "run", progress=False)
        start = time.perf_counter()
        summary = trainer.fit()
        return {"frames_per_s": summary["tokens_per_s"], "seconds": time.perf_counter() - start,
                "data_origin": summary["data_origin"], "device": summary["device"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "results" / "gpu_check.json"))
    parser.add_argument("--quick", action="store_true", help="fewer updates and benchmark sizes")
    args = parser.parse_args()
    import torch

    cuda = torch.cuda.is_available()
    record = {"cuda": cuda, "device_name": torch.cuda.get_device_name(0) if cuda else None,
              "torch": torch.__version__}
    print(f"[gpu_check] CUDA: {record['device_name'] or 'none'}", flush=True)
    if cuda:
        tests = subprocess.run([sys.executable, "-m", "pytest", "tests", "-q", "-k", "cuda", "-p", "no:cacheprovider"],
                               cwd=ROOT, capture_output=True, text=True)
        record["cuda_tests"] = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else tests.stderr[-300:]
        print(f"[gpu_check] CUDA tests: {record['cuda_tests']}", flush=True)
        bench = [sys.executable, str(ROOT / "bench" / "cells.py"), "--device", "cuda", "--sizes",
                 "a" if args.quick else "a,b", "--json", str(Path(args.out).with_suffix(".cells.json"))]
        if args.quick:
            bench.append("--quick")
        subprocess.run(bench, cwd=ROOT)
    updates = 20 if args.quick else 100
    record["throughput"] = {}
    for name, knobs in RECIPES.items():
        row = {"cpu_1_thread": throughput(knobs, "cpu", updates)}
        if cuda:
            row["cuda"] = throughput(knobs, "cuda", updates)
            row["cuda_over_cpu"] = row["cuda"]["frames_per_s"] / row["cpu_1_thread"]["frames_per_s"]
        record["throughput"][name] = row
        ratio = f", CUDA/CPU {row['cuda_over_cpu']:.1f}x" if cuda else ""
        print(f"[gpu_check] {name}: CPU {row['cpu_1_thread']['frames_per_s']:.0f} frames/s "
              f"({row['cpu_1_thread']['data_origin']})"
              + (f", CUDA {row['cuda']['frames_per_s']:.0f} frames/s" if cuda else "") + ratio, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2, default=str) + "\n")
    print(f"[gpu_check] wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
