"""The trainer against a bare hand-written loop of the same recipe over a whole short fit; a sweep point's fixed cost.

For each recipe, in ONE process and one thread, alternately (so both sides see the same load):

  trainer  ``Trainer(config, dataset=...).fit()``: building the model, the run record, every epoch's training,
           the validation after each epoch, the checkpoints and tables, and the final test and train evaluations;
  bare     the same recipe written out by hand: the same cell equations (weights transposed once per chunk), the
           same optimizer (torch.optim, same hyperparameters), global-norm clipping, Gaussian weight noise on
           every weight matrix at every update, truncated BPTT with the state carried across chunks, the same
           chunks (``iterate_batches``, the trainer's seed); validation after each epoch and the final test and
           train evaluations as whole pieces in length-bucketed padded batches of 16; the best weights saved
           with ``torch.save``.

Both train the same frames, so the ratio of their times is the ratio of frames/s. The target (issue 27) is a
whole-fit ratio ≤ 1.15. Recipes: Pascanu et al. 2014's RNN 200 and DT(S)-RNN 400,400 (φ = σ, SGD lr 1, batch 1,
BPTT 50, clip 1, weight noise 0.075), Chung et al. 2014's GRU 46 and LSTM 36 (peepholes; RMSProp lr 1.5e-3,
batch 16, BPTT 100, clip 1, weight noise 0.075) and a cell written as equations (``cell=graph``, its default
equations: Chung's GRU 46; bare: the hand-written GRU). All on JSB.

Fixed cost of a point: ``rnnlab train`` from the command line for a run of one update (process start to exit, minus
the run's own training seconds), and the same tiny point run by ``rnnlab sweep --engine local --workers 1`` (the
notebook path a campaign takes); wall seconds (``*_s``) and the CPU seconds of the processes (``*_cpu_s``, what
a loaded machine does not inflate); ``import_cli_cpu_s``: ``python -c "import rnnlab.cli"``.

    RNNLAB_DATA=/path/to/data .venv/bin/python bench/trainer.py --quick     # a couple of minutes
    RNNLAB_DATA=/path/to/data .venv/bin/python bench/trainer.py             # full JSB splits, 3 epochs, 3 repeats
    .venv/bin/python bench/trainer.py --recipes pascanu-rnn,chung-gru --no-fixed
    git worktree add /tmp/before 5d284b8 && .venv/bin/python bench/trainer.py --quick --lib /tmp/before/lib

``--clock cpu`` (default) times each side with the process's CPU time, which on one thread is immune to other jobs
sharing the cores; ``--clock wall`` counts waiting (disk syncs) too. Measured figures: docs/speed.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

CHECKOUT = Path(__file__).resolve().parents[1]

PASCANU = dict(dataset="jsb", batch_size=1, bptt=50, cell="tanh", nonlinearity="sigmoid", clip=1.0, lr=1.0,
               optimizer="sgd", schedule="pascanu", decay_start_patience=2, init="pascanu", weight_noise=0.075,
               patience=100, device="cpu")
CHUNG = dict(dataset="jsb", batch_size=16, bptt=100, nonlinearity="tanh", clip=1.0, lr=0.0015, optimizer="rmsprop",
             schedule="none", init="default", weight_noise=0.075, patience=100, device="cpu")
RECIPES = {
    "pascanu-rnn": (dict(PASCANU, arch="rnn", hidden=200), "rnn"),
    "pascanu-dts": (dict(PASCANU, arch="dts-rnn", hidden=400, transition_hidden=400), "dts"),
    "chung-gru": (dict(CHUNG, arch="rnn", cell="gru", hidden=46), "gru"),
    "chung-lstm": (dict(CHUNG, arch="rnn", cell="lstm_peephole", hidden=36), "lstm_peephole"),
    "graph-gru": (dict(CHUNG, arch="rnn", cell="graph", hidden=46), "gru"),
}
EVAL_BATCH = 16


# ------------------------------------------------------------------------------------------------ the bare loop
def _param(*shape, scale):
    return torch.nn.Parameter(torch.empty(*shape).uniform_(-scale, scale))


class BareModel:
    """One recipe's model as plain tensors; ``forward(x, state, noise)`` runs a chunk (T,B,88) -> logits, state."""

    def __init__(self, kind: str, n_in: int, hidden: int, transition: int | None = None):
        s = 1.0 / math.sqrt(hidden)
        self.kind, self.hidden = kind, hidden
        blocks = {"rnn": 1, "dts": 1, "gru": 3, "lstm_peephole": 4}[kind]
        p = {"W_in": _param(blocks * hidden, n_in, scale=s), "b": _param(blocks * hidden, scale=s),
             "V": _param(n_in, hidden, scale=s), "c": _param(n_in, scale=s)}
        if kind == "rnn":
            p["U"] = _param(hidden, hidden, scale=s)
        elif kind == "dts":  # z = σ(W1 h + U1 x + b1); h' = σ(W2 z + S h + U2 x + b2); W1 and S stacked
            p["W1S"] = _param(transition + hidden, hidden, scale=s)
            p["U2"] = _param(hidden, n_in, scale=s)
            p["W2"] = _param(hidden, transition, scale=s)
            p["b2"] = _param(hidden, scale=s)
            self.split = (transition, hidden)
        elif kind == "gru":
            p["U_zr"] = _param(2 * hidden, hidden, scale=s)
            p["U"] = _param(hidden, hidden, scale=s)
        else:
            p["U"] = _param(4 * hidden, hidden, scale=s)
            for g in "ifo":
                p["v_" + g] = _param(hidden, scale=s)
        self.params = p
        self.noisy = [name for name, t in p.items() if t.dim() >= 2]

    def zero_state(self, batch):
        n = 2 if self.kind == "lstm_peephole" else 1
        return tuple(torch.zeros(batch, self.hidden) for _ in range(n))

    def forward(self, x, state, noise: float = 0.0):
        p = dict(self.params)
        if noise > 0:
            for name in self.noisy:
                p[name] = p[name] + torch.randn_like(p[name]) * noise
        xs = F.linear(x, p["W_in"], p["b"]).unbind(0)
        outs = []
        if self.kind == "rnn":
            (h,), Ut = state, p["U"].t()
            for xt in xs:
                h = torch.sigmoid(torch.addmm(xt, h, Ut))
                outs.append(h)
            state = (h,)
        elif self.kind == "dts":
            (h,), W1St, W2t = state, p["W1S"].t(), p["W2"].t()
            x2 = F.linear(x, p["U2"], p["b2"]).unbind(0)
            for xt, x2t in zip(xs, x2, strict=True):
                hz, hs = torch.mm(h, W1St).split(self.split, -1)
                z = torch.sigmoid(xt + hz)
                h = torch.sigmoid(torch.addmm(x2t + hs, z, W2t))
                outs.append(h)
            state = (h,)
        elif self.kind == "gru":
            (h,), Uzrt, Ut, H = state, p["U_zr"].t(), p["U"].t(), self.hidden
            for xt in xs:
                xzr, xn = xt.split((2 * H, H), -1)
                z, r = torch.sigmoid(torch.addmm(xzr, h, Uzrt)).chunk(2, -1)
                n = torch.tanh(torch.addmm(xn, r * h, Ut))
                h = h + z * (n - h)
                outs.append(h)
            state = (h,)
        else:
            (h, c), Ut = state, p["U"].t()
            for xt in xs:
                i, f, g, o = torch.addmm(xt, h, Ut).chunk(4, -1)
                i = torch.sigmoid(torch.addcmul(i, p["v_i"], c))
                f = torch.sigmoid(torch.addcmul(f, p["v_f"], c))
                c = torch.addcmul(f * c, i, torch.tanh(g))
                h = torch.sigmoid(torch.addcmul(o, p["v_o"], c)) * torch.tanh(c)
                outs.append(h)
            state = (h, c)
        return F.linear(torch.stack(outs), p["V"], p["c"]), state


def _bare_evaluate(model: BareModel, pieces) -> float:
    """Mean NLL per frame over whole pieces, length-bucketed padded batches of EVAL_BATCH."""
    from rnnlab.data.batching import iterate_batches

    nats = frames = 0.0
    with torch.no_grad():
        for batch in iterate_batches(pieces, "split", batch_size=EVAL_BATCH, bptt=None, shuffle=False):
            logits, _ = model.forward(batch.x, model.zero_state(batch.x.shape[1]))
            losses = F.binary_cross_entropy_with_logits(logits, batch.y, reduction="none").sum(-1)
            nats += float((losses * batch.mask).sum())
            frames += int(batch.mask.sum())
    return nats / frames


class _Split:
    """The one split a bare evaluation reads, in the shape ``iterate_batches`` takes."""

    def __init__(self, sequences):
        self.splits, self.score_masks, self.kind = {"split": sequences}, None, "music"


def bare_fit(config: dict, kind: str, ds, epochs: int, out_dir: Path) -> int:
    """The recipe by hand over ``epochs`` epochs; returns the training frames it went through."""
    from rnnlab.data.batching import iterate_batches

    torch.manual_seed(0)
    model = BareModel(kind, ds.n_in, config["hidden"], config.get("transition_hidden"))
    params = list(model.params.values())
    if config["optimizer"] == "sgd":
        optimizer = torch.optim.SGD(params, lr=config["lr"])
    else:
        optimizer = torch.optim.RMSprop(params, lr=config["lr"], alpha=0.9, eps=1e-6)
    batch_size = config["batch_size"]
    frames = 0
    best = math.inf
    for epoch in range(epochs):  # the trainer's chunks: the same pieces share a batch, the same padding
        state = model.zero_state(batch_size)
        for batch in iterate_batches(ds, "train", batch_size=batch_size, bptt=config["bptt"], shuffle=True,
                                     seed=epoch):
            if batch.x.shape[1] != batch_size:
                state = model.zero_state(batch.x.shape[1])
            keep = (~batch.reset).float()[:, None]
            state = tuple(s.detach() * keep for s in state)
            logits, state = model.forward(batch.x, state, config["weight_noise"])
            losses = F.binary_cross_entropy_with_logits(logits, batch.y, reduction="none").sum(-1)
            n = batch.mask.sum()
            loss = (losses * batch.mask).sum() / n
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, config["clip"])
            optimizer.step()
            loss.item()
            frames += int(n)
        valid = _bare_evaluate(model, _Split(ds.splits["valid"]))
        if valid < best:
            best = valid
            torch.save({k: v.detach() for k, v in model.params.items()}, out_dir / "best.pt")
    _bare_evaluate(model, _Split(ds.splits["test"]))
    _bare_evaluate(model, _Split(ds.splits["train"]))
    return frames


def trainer_fit(config: dict, ds, epochs: int, out_dir: Path) -> int:
    from rnnlab.train.config import TrainConfig
    from rnnlab.train.trainer import Trainer

    trainer = Trainer(TrainConfig(**config, epochs=epochs, seed=0), run_dir=out_dir / "run", progress=False,
                      dataset=ds)
    trainer.fit()
    frames = sum(row["tokens_per_s"] * row["epoch_seconds"] for row in trainer.history)
    return round(frames)


# ------------------------------------------------------------------------------------------------ measuring
def _clock(kind: str):
    return time.process_time if kind == "cpu" else time.perf_counter


def subset(ds, fraction: float):
    """A shallow copy of ``ds`` keeping the first ``fraction`` of every split (at least 4 pieces each)."""
    if fraction >= 1:
        return ds
    small = copy.copy(ds)
    small.splits = {k: v[:max(4, round(len(v) * fraction))] for k, v in ds.splits.items()}
    return small


def measure(name: str, ds, epochs: int, repeats: int, clock: str) -> dict:
    config, kind = RECIPES[name]
    tick = _clock(clock)
    times = {"trainer": [], "bare": []}
    frames = {}
    for _ in range(repeats):
        for side, fit in (("trainer", lambda d: trainer_fit(config, ds, epochs, d)),
                          ("bare", lambda d: bare_fit(config, kind, ds, epochs, d))):
            with tempfile.TemporaryDirectory() as tmp:
                start = tick()
                frames[side] = fit(Path(tmp))
                times[side].append(tick() - start)
    trainer, bare = min(times["trainer"]), min(times["bare"])
    return {"recipe": name, "frames": frames["bare"], "trainer_frames": frames["trainer"],
            "trainer_fps": frames["bare"] / trainer, "bare_fps": frames["bare"] / bare, "ratio": trainer / bare,
            "trainer_s": times["trainer"], "bare_s": times["bare"]}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rnnlab(*args, cwd: Path, env: dict) -> tuple[float, float]:
    """Run ``rnnlab ARGS``; (wall seconds, CPU seconds of the process and the children it waited for)."""
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run([sys.executable, "-m", "rnnlab.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"rnnlab {args[0]} failed ({done.returncode}): {done.stderr.strip().splitlines()[-1][:300]}")
    return seconds, cpu


TINY = {"dataset": "jsb", "arch": "rnn", "cell": "gru", "hidden": 8, "epochs": 1, "max_updates_per_epoch": 1,
        "max_eval_sequences": 2, "batch_size": 4, "bptt": 20, "optimizer": "rmsprop", "lr": 0.001}


def fixed_costs(lib: Path) -> dict:
    """Seconds a point costs besides its training: the CLI run and the sweep (notebook) point of a tiny config,
    with ``lib``'s rnnlab (the sweep reads the notebook of ``lib``'s checkout)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(lib)] + os.environ.get("PYTHONPATH", "").split(os.pathsep))}
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        args = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
        seconds, cpu = _rnnlab("train", *args, "--quiet", f"--run-dir={tmp / 'cli'}", cwd=tmp, env=env)
        trained = json.loads((tmp / "cli" / "summary.json").read_text())["train_seconds"]
        out["cli_fixed_s"], out["cli_fixed_cpu_s"] = seconds - trained, cpu - trained
        out["import_cli_cpu_s"] = _python("import rnnlab.cli", env)
        try:
            out.update(_sweep_point(tmp, env, lib))
        except RuntimeError as err:  # the CLI's number still stands; say why the sweep's is missing
            print(f"sweep point: {err}", flush=True)
    return out


def _sweep_point(tmp: Path, env: dict, lib: Path) -> dict:
    """The tiny config as a one-point sweep through the training notebook (papermill), wall seconds."""
    spec = tmp / "tiny.json"
    spec.write_text(json.dumps({"name": "tiny", "base": {k: v for k, v in TINY.items() if k != "dataset"},
                                "datasets": {"jsb": {}}, "models": {"gru": {}}}))
    seconds, cpu = _rnnlab("sweep", str(spec), "--engine", "local", "--workers", "1", "--root", str(tmp / "store"),
                           cwd=lib.parent, env=env)
    trained = sum(json.loads(p.read_text())["train_seconds"] for p in (tmp / "store").rglob("summary.json"))
    return {"sweep_fixed_s": seconds - trained, "sweep_fixed_cpu_s": cpu - trained}


def _python(code: str, env: dict) -> float:
    """CPU seconds of ``python -c CODE``."""
    cpu = _children_cpu()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return _children_cpu() - cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of each JSB split, 2 epochs, 1 repeat")
    parser.add_argument("--recipes", default=",".join(RECIPES), help=f"comma-separated, of {', '.join(RECIPES)}")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per fit (default 3; --quick 2)")
    parser.add_argument("--repeats", type=int, default=None, help="fits per side, the fastest kept (default 3; "
                        "--quick 1)")
    parser.add_argument("--fraction", type=float, default=None, help="share of each split (default 1; --quick 0.25)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-fixed", action="store_true", help="skip the CLI and sweep-point fixed costs")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--lib", default=str(CHECKOUT / "lib"), help="the rnnlab to measure: the lib folder of a "
                        "checkout (default: this one's; another commit's for a before/after: git worktree add)")
    args = parser.parse_args(argv)
    lib = Path(args.lib).resolve()
    if not (lib / "rnnlab" / "__init__.py").is_file():
        parser.error(f"--lib {args.lib!r} holds no rnnlab package (expected {lib / 'rnnlab' / '__init__.py'})")
    sys.path.insert(0, str(lib))
    names = [n.strip() for n in args.recipes.split(",") if n.strip()]
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe {unknown[0]!r}; choose from {', '.join(RECIPES)}")
    epochs = args.epochs or (2 if args.quick else 3)
    repeats = args.repeats or (1 if args.quick else 3)
    fraction = args.fraction or (0.25 if args.quick else 1.0)
    torch.set_num_threads(args.threads)
    from rnnlab import __file__ as where
    from rnnlab.data import load_dataset

    print(f"rnnlab from {Path(where).parent}; torch {torch.__version__}, {args.threads} thread(s), clock {args.clock}; "
          f"JSB x{fraction}, {epochs} epochs, fastest of {repeats}", flush=True)
    ds = subset(load_dataset("jsb"), fraction)
    warm = subset(ds, 0.05)
    for name in names:  # imports and first-call costs (torch.optim imports torch._dynamo) land outside the timing
        with tempfile.TemporaryDirectory() as tmp:
            trainer_fit({**RECIPES[name][0], "max_updates_per_epoch": 2}, warm, 1, Path(tmp))
            bare_fit(RECIPES[name][0], RECIPES[name][1], warm, 1, Path(tmp))
    rows = []
    print(f"{'recipe':12s} {'frames':>8s} {'trainer f/s':>12s} {'bare f/s':>10s} {'ratio':>6s}", flush=True)
    for name in names:
        row = measure(name, ds, epochs, repeats, args.clock)
        rows.append(row)
        print(f"{name:12s} {row['frames']:8d} {row['trainer_fps']:12.0f} {row['bare_fps']:10.0f} {row['ratio']:6.2f}",
              flush=True)
    if len(rows) > 1:
        print(f"{'geomean':12s} {'':8s} {'':12s} {'':10s} "
              f"{statistics.geometric_mean(r['ratio'] for r in rows):6.2f}")
    fixed = {} if args.no_fixed else fixed_costs(lib)
    for key, value in fixed.items():
        print(f"{key:16s} {value:6.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "fixed": fixed}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
