"""Training-step speed and memory of every cell × preset, as a ratio to the fused torch.nn module of its family.

One training step = zero_grad + forward + BCE-with-logits over 88 outputs + backward + Adam step, input 88 wide
(docs/speed.md). Sizes: a (H 256, B 32, T 100), b (H 512, B 32, T 100), c (H 128, B 16, T 50).

Method: every configuration runs in its own fresh Python process, which
  1. measures peak memory: ru_maxrss (CPU; resident-set high-water mark) before and after two training steps —
     the delta is the step's activations, gradients, Adam state and allocator slack — or
     torch.cuda.max_memory_allocated on CUDA;
  2. times the model and its anchor (nn.RNN / nn.LSTM / nn.GRU + nn.Linear, same sizes) in alternation, so the
     ratio is taken inside one run on a noisy shared machine; reported times are medians. ``--clock cpu`` times
     with the process's CPU time instead of wall time: with ``--threads 1`` that is immune to other jobs sharing
     the cores (the robust choice on a loaded machine); with more threads it would also count spin-waiting.
``--compile`` runs ``model.compile()`` (the opt-in torch.compile) first; compile_s is the wall time of the first,
compiling step. Families: tanh → nn.RNN; lstm* → nn.LSTM; gru, gru_v1, mut1-3 → nn.GRU. ``graph:lstm``,
``graph:gru``, ``graph:mut1`` are the library graphs compiled by GraphCell (rnnlab.cells.graph); the summary sets
each beside its hand-written cell (target: at most ``GRAPH_TARGET`` × its time; the two run in separate processes,
so that ratio is noisier than the anchor ratios). The ratio is also
divided by the FLOP ratio of the model to its anchor (weight-matrix entries, each used in one multiply-add per
token): for the deep forms of tanh, lstm and gru cells this is exactly "their FLOP ratio vs the plain form" (the
plain form has the anchor's FLOPs); for MUT1-3 (an input embedding, two or three recurrent matrices) and the
3-gate LSTM ablations it also corrects the plain form's different FLOP count. ratio/flops is the figure the
targets refer to: ≤ 1.1× (tanh/GRU forms), ≤ 1.3× (LSTM forms), deep forms ≤ 1.15×. A summary ends the run.

    .venv/bin/python bench/cells.py                     # everything, sizes a b c
    .venv/bin/python bench/cells.py --quick             # fewer repeats, plain + dts-rnn only
    .venv/bin/python bench/cells.py --threads 1 --clock cpu   # robust ratios on a shared, loaded machine
    .venv/bin/python bench/cells.py --sizes c --cells gru --archs rnn --compile
    .venv/bin/python bench/cells.py --quick --sizes c --cells lstm,graph:lstm,gru,graph:gru,mut1,graph:mut1 \
        --threads 1 --clock cpu                         # graph-built cells vs hand-written

Measured (quick, size c, 1 thread, CPU clock, shared machine): see docs/search.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

SIZES = {"a": dict(hidden=256, batch=32, steps=100), "b": dict(hidden=512, batch=32, steps=100),
         "c": dict(hidden=128, batch=16, steps=50)}
N_IN = 88


GRAPH_CELLS = ("graph:lstm", "graph:gru", "graph:mut1")  # library graphs compiled by GraphCell
GRAPH_TARGET = 1.15  # a graph-built cell's time per training step ÷ its hand-written twin's, at most


def family(cell: str) -> str:
    """The torch.nn anchor of the same shape, asked of the cell class: a cell state (h, c) -> nn.LSTM; gates on h
    alone -> nn.GRU; no gates -> nn.RNN (``graph:NAME`` is anchored like the hand-written cell NAME)."""
    from rnnlab.cells import CELLS

    cls = CELLS[cell.removeprefix("graph:")]
    return "lstm" if "c" in cls.state_names else "gru" if cls.gate_names else "rnn"


def model_options(cell: str) -> dict:
    """build_model's cell options: ``graph:NAME`` is the library graph NAME compiled by GraphCell."""
    if cell.startswith("graph:"):
        from rnnlab.cells.graph import LIBRARY

        return dict(cell="graph", equations=LIBRARY[cell.removeprefix("graph:")])
    return dict(cell=cell)


def worker(spec: dict) -> dict:
    """Run in a fresh process: memory, then alternating timings of the model and its anchor."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from rnnlab.device import resolve_device
    from rnnlab.nets import build_model, count_weights

    torch.manual_seed(0)
    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    device = resolve_device(spec["device"])
    size = SIZES[spec["size"]]
    hidden, batch, steps = size["hidden"], size["batch"], size["steps"]
    x = torch.randn(steps, batch, N_IN, device=device)
    y = (torch.rand(steps, batch, N_IN, device=device) < 0.1).float()

    class Anchor(nn.Module):
        def __init__(self, kind):
            super().__init__()
            self.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](N_IN, hidden)
            self.out = nn.Linear(hidden, N_IN)

        def forward(self, x):
            return self.out(self.rnn(x)[0]), None

    def trainer(model):
        opt = torch.optim.Adam(model.parameters(), 1e-3)

        def step():
            opt.zero_grad()
            logits = model(x)[0]
            F.binary_cross_entropy_with_logits(logits, y).backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()

        return step

    clock = time.process_time if spec["clock"] == "cpu" else time.perf_counter

    def rss_mib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    model = build_model(arch=spec["arch"], **model_options(spec["cell"]), n_in=N_IN, n_out=N_IN,
                        hidden=hidden).to(device)
    anchor = Anchor(family(spec["cell"])).to(device)
    flop_ratio = count_weights(model) / count_weights(anchor)
    compile_s = None
    if spec["compile"]:
        model.compile()
    step = trainer(model)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = rss_mib()
    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    step()
    if device.type == "cuda":
        peak_mib = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak_mib = rss_mib() - base
    anchor_step = trainer(anchor)
    anchor_step()
    anchor_step()
    times, anchor_times = [], []
    for _ in range(spec["repeats"]):
        t0 = clock()
        step()
        times.append(clock() - t0)
        t0 = clock()
        anchor_step()
        anchor_times.append(clock() - t0)
    ms, anchor_ms = 1e3 * statistics.median(times), 1e3 * statistics.median(anchor_times)
    if spec["compile"]:
        compile_s = first  # wall seconds of the first step: tracing + compiling + one step
    return dict(spec, ms=ms, anchor_ms=anchor_ms, tokens_per_s=batch * steps / (ms / 1e3), peak_mib=peak_mib,
                flop_ratio=flop_ratio, ratio=ms / anchor_ms, normalized=ms / anchor_ms / flop_ratio,
                fused=model.fused_levels() if hasattr(model, "fused_levels") else None, compile_s=compile_s)


def target(row: dict) -> float:
    """The goal for this row's (FLOP-normalised) ratio: 1.1 tanh/GRU, 1.3 LSTM (plain), 1.15 deep forms."""
    if row["arch"] != "rnn":
        return 1.15
    return 1.3 if family(row["cell"]) == "lstm" else 1.1


def summary(rows: list[dict]) -> None:
    """Per size: how many rows meet their target, the worst rows, and the median normalised ratio per family."""
    for size in dict.fromkeys(r["size"] for r in rows):
        group = [r for r in rows if r["size"] == size]
        misses = sorted((r for r in group if r["normalized"] > target(r)), key=lambda r: -r["normalized"])
        hidden = SIZES[size]["hidden"]
        print(f"size {size} (hidden {hidden}): {len(group) - len(misses)}/{len(group)} rows within target"
              + ("" if hidden >= 256 else " (targets are set for hidden >= 256)"))
        for fam in ("rnn", "gru", "lstm"):
            vals = sorted(r["normalized"] for r in group if family(r["cell"]) == fam)
            if vals:
                print(f"  {fam:5} family: median ratio/flops {statistics.median(vals):.2f}, max {vals[-1]:.2f}")
        if misses:
            worst = ", ".join(f"{r['cell']}/{r['arch']} {r['normalized']:.2f}" for r in misses[:8])
            print(f"  over target: {worst}{' …' if len(misses) > 8 else ''}")
        hand = {(r["cell"], r["arch"]): r for r in group}
        for r in group:
            twin = hand.get((r["cell"].removeprefix("graph:"), r["arch"]))
            if r["cell"].startswith("graph:") and twin is not None:
                ratio = r["ms"] / twin["ms"]
                verdict = "within" if ratio <= GRAPH_TARGET else "OVER"
                print(f"  {r['cell']}/{r['arch']}: {ratio:.2f}× the hand-written {twin['cell']} "
                      f"({r['ratio']:.2f}× vs {twin['ratio']:.2f}× the torch.nn anchor; {verdict} ≤ {GRAPH_TARGET})")


def run_worker(spec: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"worker failed for {spec}:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    from rnnlab.cells import CELLS
    from rnnlab.nets import ARCHS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="a,b,c", help="comma-separated subset of a,b,c")
    parser.add_argument("--cells", default=",".join([c for c in CELLS if c != "graph"] + list(GRAPH_CELLS)),
                        help="comma-separated cell names; graph:NAME = library graph NAME compiled by GraphCell")
    parser.add_argument("--archs", default=",".join(ARCHS), help="comma-separated arch ids")
    parser.add_argument("--quick", action="store_true", help="3 repeats, archs rnn and dts-rnn only")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (opt-in); reports compile time")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    parser.add_argument("--clock", default="wall", choices=("wall", "cpu"), help="wall time or process CPU time")
    parser.add_argument("--json", help="also write all rows to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    archs = "rnn,dts-rnn" if args.quick and args.archs == parser.get_default("archs") else args.archs
    repeats = 3 if args.quick else args.repeats
    rows = []
    header = (f"{'size':4} {'cell':13} {'arch':9} {'ms/step':>8} {'tok/s':>8} {'peakMiB':>8} {'anchor':>7} "
              f"{'ratio':>6} {'flops':>6} {'ratio/flops':>11} {'compile_s':>9}")
    print(header)
    for size in args.sizes.split(","):
        for cell in args.cells.split(","):
            for arch in archs.split(","):
                spec = dict(size=size, cell=cell, arch=arch, repeats=repeats, compile=args.compile,
                            device=args.device, threads=args.threads, clock=args.clock)
                row = run_worker(spec)
                rows.append(row)
                compile_s = f"{row['compile_s']:.1f}" if row["compile_s"] is not None else "-"
                print(f"{size:4} {cell:13} {arch:9} {row['ms']:8.1f} {row['tokens_per_s']:8.0f} "
                      f"{row['peak_mib']:8.1f} {row['anchor_ms']:7.1f} {row['ratio']:6.2f} {row['flop_ratio']:6.2f} "
                      f"{row['normalized']:11.2f} {compile_s:>9}", flush=True)
    summary(rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
