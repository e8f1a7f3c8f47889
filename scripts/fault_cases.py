#!/usr/bin/env python
"""Fault cases against the rnnlab CLI, papermill and the run store, tried as a demanding user would.

    .venv/bin/python scripts/fault_cases.py [--only N,M,...] [--keep]

Every case runs in a fresh temporary sandbox (the run store root ``$RNNLAB_RUNS`` points into it), sequentially,
with tiny runs. For each case the script records the command or situation, the exit code, whether stderr was one
clean line, a traceback or nothing (a silently accepted bad value), and what changed on disk (a snapshot of the
sandbox before and after). A case is BAD when it ends in a traceback, silently accepts a bad value, corrupts or
mixes a record, writes into a folder it then refuses, or executes a payload. The Markdown table is printed and
written to ``results/fault_cases.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
RNNLAB = str(VENV_BIN / "rnnlab")
PAPERMILL = str(VENV_BIN / "papermill")
NOTEBOOK = REPO / "notebooks" / "03_train.ipynb"
TASK = {"n_train": 32, "n_valid": 8, "n_test": 8, "max_digits": 2}
TINY = {"dataset": "arithmetic", "hidden": "8", "batch-size": "4", "bptt": "none", "epochs": "2",
        "max-updates-per-epoch": "3", "max-eval-sequences": "8", "task-knobs": json.dumps(TASK), "device": "cpu"}

SANDBOX: Path = Path()
ENV: dict = {}


# ------------------------------------------------------------------------------------------------ helpers
def targs(**over) -> list[str]:
    """Tiny-run flags; ``over`` replaces a flag (``None`` drops it); keys use underscores."""
    knobs = dict(TINY)
    for key, value in over.items():
        key = key.replace("_", "-")
        if value is None:
            knobs.pop(key, None)
        else:
            knobs[key] = value if isinstance(value, str) else (json.dumps(value) if isinstance(value, dict)
                                                                 else str(value))
    out = []
    for key, value in knobs.items():
        out += [f"--{key}", value]
    return out


def snapshot() -> dict[str, tuple]:
    """Every path under the sandbox: ('d',), ('l', target) or ('f', size, sha1)."""
    snap = {}
    for top, dirs, files in os.walk(SANDBOX):
        for name in dirs + files:
            path = Path(top) / name
            rel = str(path.relative_to(SANDBOX))
            if path.is_symlink():
                snap[rel] = ("l", os.readlink(path))
            elif path.is_dir():
                snap[rel] = ("d",)
            else:
                try:
                    data = path.read_bytes()
                    snap[rel] = ("f", len(data), hashlib.sha1(data).hexdigest())
                except OSError as err:
                    snap[rel] = ("f?", str(err))
    return snap


def diff(before: dict, after: dict) -> dict[str, list[str]]:
    created = sorted(set(after) - set(before))
    deleted = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    return {"created": created, "deleted": deleted, "changed": changed}


def describe(d: dict[str, list[str]], limit: int = 6) -> str:
    parts = []
    for sign, key in (("+", "created"), ("-", "deleted"), ("~", "changed")):
        items = d[key]
        if items:
            shown = ", ".join(sign + i for i in items[:limit])
            parts.append(shown + (f" (+{len(items) - limit} more)" if len(items) > limit else ""))
    return "; ".join(parts) or "nothing"


def nonempty_lines(text: str) -> list[str]:
    return [ln for ln in (text or "").splitlines() if ln.strip()]


@dataclass
class Proc:
    rc: int | None
    out: str
    err: str
    seconds: float
    timed_out: bool = False


def run(argv: list[str], timeout: float = 60, env: dict | None = None, cwd: Path | None = None,
        preexec=None) -> Proc:
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env or ENV, cwd=cwd or SANDBOX,
                              timeout=timeout, preexec_fn=preexec, errors="replace")
        return Proc(done.returncode, done.stdout, done.stderr, time.perf_counter() - start)
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode(errors="replace") if isinstance(err.stdout, bytes) else (err.stdout or "")
        errt = err.stderr.decode(errors="replace") if isinstance(err.stderr, bytes) else (err.stderr or "")
        return Proc(None, out, errt, time.perf_counter() - start, timed_out=True)


FORK = True  # run single CLI calls as forks of a process that has already imported rnnlab (see fork_main)


def fork_main(args: list[str], timeout: float, cwd: Path | None = None) -> Proc:
    """``rnnlab ARGS`` as a fork of this process, which has imported ``rnnlab.cli`` once: the child runs exactly
    what the console script runs (``sys.exit(rnnlab.cli.main())``, an uncaught exception printed by Python's own
    hook, exit status 1) with its stdout/stderr in files, so a case costs milliseconds instead of seconds of
    imports. Concurrency, kill, resource-limit and notebook cases use real ``rnnlab`` processes."""
    import rnnlab.cli

    start = time.perf_counter()
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.chdir(cwd or SANDBOX)
                os.dup2(out_f.fileno(), 1)
                os.dup2(err_f.fileno(), 2)
                sys.stdout = open(1, "w", closefd=False, errors="replace")
                sys.stderr = open(2, "w", closefd=False, errors="replace")
                sys.argv = [RNNLAB, *args]
                try:
                    code = rnnlab.cli.main(list(args))
                except SystemExit as exit_:
                    code = exit_.code
                if code is None:
                    code = 0
                elif not isinstance(code, int):
                    print(code, file=sys.stderr)
                    code = 1
            except BaseException:  # noqa: BLE001 - what Python prints for an uncaught exception
                sys.excepthook(*sys.exc_info())
                code = 1
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code if isinstance(code, int) else 1)
        deadline = time.time() + timeout
        status, timed_out = None, False
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.time() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                timed_out = True
                break
            time.sleep(0.01)
        out_f.seek(0)
        err_f.seek(0)
        out, err = out_f.read().decode(errors="replace"), err_f.read().decode(errors="replace")
    rc = None if timed_out else (os.waitstatus_to_exitcode(status))
    return Proc(rc, out, err, time.perf_counter() - start, timed_out=timed_out)


def rnnlab(*args: str, timeout: float = 60, **kw) -> Proc:
    if FORK and not kw.get("preexec") and not kw.get("env"):
        return fork_main(list(args), timeout, cwd=kw.get("cwd"))
    return run([RNNLAB, *args], timeout=timeout, **kw)


def popen(*args: str) -> subprocess.Popen:
    return subprocess.Popen([RNNLAB, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            cwd=SANDBOX, errors="replace")


def finish(p: subprocess.Popen, start: float, timeout: float = 90) -> Proc:
    try:
        out, err = p.communicate(timeout=timeout)
        return Proc(p.returncode, out, err, time.perf_counter() - start)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return Proc(None, out, err, time.perf_counter() - start, timed_out=True)


def wait_for(path: Path, timeout: float = 60) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if path.exists():
            return True
        time.sleep(0.05)
    return False


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except Exception as err:  # noqa: BLE001 - a record check, any failure is a finding
        return {"_unreadable": str(err)}


def csv_rows(path: Path) -> int:
    try:
        return max(len(path.read_text().strip().splitlines()) - 1, 0)
    except OSError:
        return -1


# -------------------------------------------------------------------------------------------------- cases
@dataclass
class Case:
    name: str
    body: object  # callable(ctx) -> Proc
    expect: str = "refuse"  # refuse: nonzero exit, one line, nothing written; ok: exit in ok_codes, no traceback
    ok_codes: tuple = (0,)
    check: object = None  # callable(ctx, proc) -> list[str] of problems
    allow_disk: bool = False  # a refusal may leave disk changes (they are described, not judged)
    timeout: float = 60


@dataclass
class Ctx:
    dir: Path  # this case's own folder (not created)
    cmd: str = ""
    notes: list[str] = field(default_factory=list)
    before: dict | None = None  # the snapshot taken right before the command under test (after the setup)
    ignore: tuple = ()  # path prefixes (relative to the sandbox) of another writer's folder: not this case's effect

    def mark(self) -> None:
        self.before = snapshot()


CASES: list[Case] = []


def case(name, expect="refuse", **kw):
    def deco(fn):
        CASES.append(Case(name, fn, expect=expect, **kw))
        return fn
    return deco


def display(args) -> str:
    """The command line with the tiny-run flags left at their values shown as ``<tiny>``."""
    shown, tiny, i = [], False, 0
    while i < len(args):
        flag = args[i]
        if flag.startswith("--") and flag[2:] in TINY and i + 1 < len(args) and args[i + 1] == TINY[flag[2:]]:
            if not tiny:
                shown.append("<tiny>")
                tiny = True
            i += 2
            continue
        shown.append(shlex.quote(flag))
        i += 1
    return " ".join(shown)


def cli(ctx: Ctx, *args: str, timeout: float = 60, **kw) -> Proc:
    ctx.cmd = "rnnlab " + display(args)
    ctx.mark()
    return rnnlab(*args, timeout=timeout, **kw)


def short(path: Path | str) -> str:
    return str(path).replace(str(SANDBOX), "$SB")


# fixtures: one finished tiny run (seed 0) and one of another seed, copied for every damage case
BASE = OTHER = None


def make_fixtures() -> None:
    global BASE, OTHER
    fixtures = SANDBOX / "fixtures"
    BASE, OTHER = fixtures / "base", fixtures / "other-seed"
    for path, seed in ((BASE, 0), (OTHER, 1)):
        p = rnnlab("train", *targs(seed=seed), "--run-dir", str(path), "--quiet", timeout=120)
        if p.rc != 0:
            sys.exit(f"fixture {path} failed (rc {p.rc}):\n{p.err[-3000:]}")


def copy_base(ctx: Ctx, source: Path | None = None) -> Path:
    shutil.copytree(source or BASE, ctx.dir)
    return ctx.dir


def payload_bytes(marker: Path, meta: dict | None = None) -> bytes:
    import io

    import torch

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {shlex.quote(str(marker))}",))

    buffer = io.BytesIO()
    torch.save({"model": Payload(), "meta": meta or {}}, buffer)
    return buffer.getvalue()


def rewrite_checkpoint(path: Path, **changes) -> None:
    """Load a real checkpoint (safe), change some fields, save it back with its own (valid) meta."""
    import torch

    state = torch.load(path, weights_only=True)
    state.update(changes)
    torch.save(state, path)


# ---- A. bad knob values: each should be refused in one line, before anything is written
def summary_note(ctx: Ctx, p: Proc) -> list[str]:
    """For a run that was accepted: what its record says (so a silent accept shows its consequence)."""
    if p.rc == 0 and (ctx.dir / "summary.json").exists():
        s = read_json(ctx.dir / "summary.json")
        ctx.notes.append(f"summary: status {s.get('status')}, updates {s.get('updates')}, best_valid "
                         f"{s.get('best_valid')}, test {s.get('test')}")
    return []


def trained_something(ctx: Ctx, p: Proc) -> list[str]:
    """Accepting is fine only if the run really trained and validated: updates > 0 and a finite best_valid."""
    if p.rc != 0:
        return []
    s = read_json(ctx.dir / "summary.json")
    summary_note(ctx, p)
    best = s.get("best_valid")
    if not s.get("updates") or not isinstance(best, int | float) or best != best:
        return [f"silent accept: run 'ok' with updates={s.get('updates')!r}, best_valid={best!r}"]
    return []


def bad_knob(name, accept_if_trained=False, **over):
    kw = dict(expect="ok", ok_codes=(0, 2), check=trained_something) if accept_if_trained else \
        dict(check=summary_note)

    @case(f"train {name}", **kw)
    def _(ctx):
        return cli(ctx, "train", *targs(**over), "--run-dir", str(ctx.dir))


bad_knob("--hidden 0", hidden=0)
bad_knob("--hidden -3", hidden=-3)
bad_knob("--hidden 1e3 (float text for an int)", hidden="1e3")
bad_knob("--hidden 4000000000 (huge width)", hidden=4_000_000_000)
bad_knob("--lr nan", lr="nan")
bad_knob("--lr 1e999 (overflows to inf)", lr="1e999")
bad_knob("--lr -0.1", lr="-0.1")
bad_knob("--clip 0", clip=0)
bad_knob("--dropout 1.0", dropout="1.0")
bad_knob("--weight-noise -0.5", weight_noise="-0.5")
bad_knob("--seed 4294967296 (2**32)", seed=2**32)
bad_knob("--seed '' (empty string)", seed="")
bad_knob("--epochs 3.0", epochs="3.0")
bad_knob("--epochs 0", epochs=0)
bad_knob("--bptt 0", bptt=0)
bad_knob("--checkpoint-every 0", checkpoint_every=0)
bad_knob("--max-updates-per-epoch 0", max_updates_per_epoch=0)
bad_knob("--dataset '' (empty)", dataset="")
bad_knob("--dataset 'bäch-müsic' (unicode)", dataset="bäch-müsic")
bad_knob("--cell LSTM (wrong case)", cell="LSTM")
bad_knob("--optimizer 'adam ' (trailing space)", optimizer="adam ")
bad_knob("--nonlinearity '' (empty)", nonlinearity="")
bad_knob("--init sparse (unknown)", init="sparse")
bad_knob("--arch rnn --transition-hidden 16 (knob the arch ignores)", transition_hidden=16)
bad_knob("--arch rnn --levels 3 (levels is srnn only)", levels=3)
bad_knob("--cell tanh --forget-bias 1.0 (no forget gate)", forget_bias="1.0")
bad_knob("--forget-bias nan --cell lstm", forget_bias="nan", cell="lstm")
bad_knob("--decay-beta 50 with schedule none", decay_beta=50)
bad_knob("--schedule pascanu --decay-beta inf", schedule="pascanu", decay_beta="inf")
bad_knob("--decay-start-patience 3 with schedule none", decay_start_patience=3)
bad_knob("--pretrained-lr-scale 0.1 without --init-from", pretrained_lr_scale="0.1")
bad_knob("--task-knobs '[1, 2]' (not an object)", task_knobs="[1, 2]")
bad_knob("--task-knobs n_train -5", task_knobs={**TASK, "n_train": -5})
bad_knob("--task-knobs n_train 0", True, task_knobs={**TASK, "n_train": 0})
bad_knob("--task-knobs n_train 1.5", task_knobs={**TASK, "n_train": 1.5})
bad_knob("--task-knobs max_digits 'two'", task_knobs={**TASK, "max_digits": "two"})
bad_knob("--task-knobs unknown key", task_knobs={**TASK, "digitz": 3})
bad_knob("--task-knobs n_valid 0 (empty validation split)", task_knobs={**TASK, "n_valid": 0})
bad_knob("--device cuda:abc", device="cuda:abc")
bad_knob("--device tpu", device="tpu")
bad_knob("--batch-size 64 > n_train 32 (no full batch)", True, batch_size=64)
bad_knob("--task-knobs n_test 0 (empty test split)", task_knobs={**TASK, "n_test": 0})


@case("train --lr 1e308 --optimizer sgd (finite, huge): should end 'diverged', exit 3", expect="ok", ok_codes=(3,))
def _(ctx):
    return cli(ctx, "train", *targs(lr="1e308", optimizer="sgd", clip="none"), "--run-dir", str(ctx.dir))


# ---- B. paths
@case("train --run-dir <an existing file>")
def _(ctx):
    ctx.dir.parent.mkdir(parents=True, exist_ok=True)
    ctx.dir.write_text("my notes\n")
    return cli(ctx, "train", *targs(), "--run-dir", str(ctx.dir))


@case("train --run-dir <file>/run (parent is a file)")
def _(ctx):
    ctx.dir.mkdir(parents=True)
    (ctx.dir / "notes.txt").write_text("x\n")
    return cli(ctx, "train", *targs(), "--run-dir", str(ctx.dir / "notes.txt" / "run"))


@case("train --run-dir '' (empty string: would be the cwd)")
def _(ctx):
    ctx.dir.mkdir(parents=True)
    ctx.cmd = "cd $case && rnnlab train ... --run-dir ''"
    ctx.mark()
    return rnnlab("train", *targs(), "--run-dir", "", cwd=ctx.dir)


@case("train --run-dir <dangling symlink>")
def _(ctx):
    ctx.dir.mkdir(parents=True)
    (ctx.dir / "link").symlink_to(ctx.dir / "nowhere")
    return cli(ctx, "train", *targs(), "--run-dir", str(ctx.dir / "link"))


@case("train --run-dir <symlink to a finished run> (not --resume)")
def _(ctx):
    copy_base(ctx)
    link = ctx.dir.with_name(ctx.dir.name + "-link")
    link.symlink_to(ctx.dir)
    return cli(ctx, "train", *targs(), "--run-dir", str(link))


@case("train --run-dir <finished run>/nested (a run inside another run)")
def _(ctx):
    copy_base(ctx)
    return cli(ctx, "train", *targs(), "--run-dir", str(ctx.dir / "nested"))


@case("train --run-dir <finished run>/checkpoints (a run inside a run's checkpoints)")
def _(ctx):
    copy_base(ctx)
    return cli(ctx, "train", *targs(), "--run-dir", str(ctx.dir / "checkpoints"))


@case("train --root <finished run> (new runs created inside a run record)")
def _(ctx):
    copy_base(ctx)
    return cli(ctx, "train", *targs(), "--root", str(ctx.dir))


@case("train --root <an existing file>")
def _(ctx):
    ctx.dir.parent.mkdir(parents=True, exist_ok=True)
    ctx.dir.write_text("not a folder\n")
    return cli(ctx, "train", *targs(), "--root", str(ctx.dir))


@case("train --run-dir /sys/rnnlab-run (a folder nobody may write)")
def _(ctx):
    return cli(ctx, "train", *targs(), "--run-dir", "/sys/rnnlab-fault-run")


@case("train --run-dir <300-char name> (ENAMETOOLONG)")
def _(ctx):
    ctx.dir.mkdir(parents=True)
    return cli(ctx, "train", *targs(), "--run-dir", str(ctx.dir / ("r" * 300)))


@case("train --run-dir 'ünï cødé\\nrun' (unicode, space, newline): should just work", expect="ok")
def _(ctx):
    ctx.dir.mkdir(parents=True)
    return cli(ctx, "train", *targs(), "--run-dir", str(ctx.dir / "ünï cødé\nrun"), "--quiet")


@case("train with file size limit 4 KB (disk full while checkpointing)", allow_disk=True)
def _(ctx):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    ctx.cmd = "(ulimit -f 4; rnnlab train <tiny> --run-dir $case)"
    ctx.mark()
    p = rnnlab("train", *targs(), "--run-dir", str(ctx.dir), preexec=limit)
    ctx.notes.append(f"left: {sorted(x.name for x in ctx.dir.rglob('*'))}" if ctx.dir.exists() else "no folder")
    return p


@case("train --init-from <run whose best.pt carries a pickle payload>",
      check=lambda ctx, p: ["PAYLOAD EXECUTED"] if (ctx.dir / "PWNED").exists() else [])
def _(ctx):
    src = copy_base(ctx)
    (src / "checkpoints" / "best.pt").write_bytes(payload_bytes(ctx.dir / "PWNED"))
    return cli(ctx, "train", *targs(), "--init-from", str(src), "--run-dir", str(ctx.dir / "child"))


@case("train --init-from <relative path>, then --resume from another cwd", expect="ok", allow_disk=True)
def _(ctx):
    ctx.dir.mkdir(parents=True)
    copy_base(Ctx(ctx.dir / "src"))
    first = rnnlab("train", *targs(), "--init-from", "src", "--run-dir", "child", "--quiet", cwd=ctx.dir)
    if first.rc != 0:
        ctx.notes.append(f"first run rc {first.rc}: {nonempty_lines(first.err)[-1:]}")
    ctx.cmd = ("cd $case && rnnlab train <tiny> --init-from src --run-dir child; cd .. && "
               "rnnlab train --resume --run-dir $case/child --epochs 3")
    ctx.mark()
    return rnnlab("train", "--resume", "--run-dir", str(ctx.dir / "child"), "--epochs", "3", "--quiet")


@case("train --init-from <abs run> --epochs 2; delete the source run; --resume --epochs 3", expect="ok")
def _(ctx):
    ctx.dir.mkdir(parents=True)
    src = copy_base(Ctx(ctx.dir / "src"))
    first = rnnlab("train", *targs(), "--init-from", str(src), "--run-dir", str(ctx.dir / "child"), "--quiet")
    if first.rc != 0:
        ctx.notes.append(f"first run rc {first.rc}: {nonempty_lines(first.err)[-1:]}")
    shutil.rmtree(src)
    ctx.cmd = ("rnnlab train <tiny> --init-from $case/src --run-dir $case/child; rm -r $case/src; "
               "rnnlab train --resume --run-dir $case/child --epochs 3")
    ctx.mark()
    return rnnlab("train", "--resume", "--run-dir", str(ctx.dir / "child"), "--epochs", "3", "--quiet")


# ---- C. resume
@case("train --resume --run-dir <missing folder>")
def _(ctx):
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir))


@case("train --resume --run-dir <a file>")
def _(ctx):
    ctx.dir.parent.mkdir(parents=True, exist_ok=True)
    ctx.dir.write_text("x")
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir))


@case("train --resume --run-dir <empty folder>")
def _(ctx):
    ctx.dir.mkdir(parents=True)
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir))


@case("train --resume --run-dir <run> --epochs 1 (lower than recorded 2)")
def _(ctx):
    copy_base(ctx)
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "1")


@case("train --resume --run-dir <run> --epochs 1e2 (float text)")
def _(ctx):
    copy_base(ctx)
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "1e2")


@case("train --resume --run-dir <run> --task-knobs '{}' (differs from record)")
def _(ctx):
    copy_base(ctx)
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--task-knobs", "{}")


def check_extended(ctx, p):
    problems = []
    config, summary = read_json(ctx.dir / "config.json"), read_json(ctx.dir / "summary.json")
    if config.get("epochs") != 4:
        problems.append(f"config.json epochs {config.get('epochs')!r}, expected 4")
    if summary.get("epochs_run") != 4 or csv_rows(ctx.dir / "metrics.csv") != 4:
        problems.append(f"epochs_run {summary.get('epochs_run')!r}, metrics rows {csv_rows(ctx.dir / 'metrics.csv')}")
    if "extended epochs 2 -> 4" not in (ctx.dir / "run.log").read_text():
        problems.append("run.log does not record the extension")
    return problems


@case("train --resume --run-dir <run> --epochs 4 --patience 9 (a legal extension)", expect="ok",
      check=check_extended)
def _(ctx):
    copy_base(ctx)
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "4", "--patience", "9", "--quiet")


def damaged_config(label, text):
    @case(f"train --resume on a run whose config.json is {label}")
    def _(ctx):
        copy_base(ctx)
        (ctx.dir / "config.json").write_text(text)
        return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3")


base_config = None  # filled after fixtures


def config_variant(**changes) -> str:
    values = json.loads((BASE / "config.json").read_text())
    for key, value in changes.items():
        if value is KeyError:
            values.pop(key)
        else:
            values[key] = value
    return json.dumps(values).replace('"__NAN__"', "NaN")


damaged_config("truncated", '{"dataset": "arith')
damaged_config("'null'", "null")
damaged_config("binary garbage", "\x00\xff\xfe garbage")


@case("train --resume on a run whose config.json says lr NaN")
def _(ctx):
    copy_base(ctx)
    (ctx.dir / "config.json").write_text(config_variant(lr="__NAN__"))
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3")


@case("train --resume on a run whose config.json was hand-edited (hidden 9)")
def _(ctx):
    copy_base(ctx)
    (ctx.dir / "config.json").write_text(config_variant(hidden=9))
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3")


@case("train --resume on a run whose config.json lacks 'hidden' (filled with a default?)")
def _(ctx):
    copy_base(ctx)
    (ctx.dir / "config.json").write_text(config_variant(hidden=KeyError))
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3")


@case("train --resume --epochs 3 on a run whose summary.json is torn", expect="ok", ok_codes=(0, 2))
def _(ctx):
    copy_base(ctx)
    (ctx.dir / "summary.json").write_text('{"status": "o')
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3", "--quiet")


def fallback_check(ctx, p):
    log = (ctx.dir / "run.log").read_text()
    return [] if "falling back to previous.pt" in log else ["run.log does not mention the fallback"]


def damaged_last(label, damage):
    @case(f"train --resume --epochs 3 with last.pt {label} (previous.pt intact)", expect="ok",
          check=fallback_check)
    def _(ctx):
        copy_base(ctx)
        damage(ctx.dir / "checkpoints" / "last.pt")
        return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3", "--quiet")


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _to_dir(path):
    path.unlink()
    path.mkdir()
    (path / "data.pkl").write_text("x")


damaged_last("truncated to half", _truncate)
damaged_last("replaced by a directory", _to_dir)


@case("train --resume with last.pt random bytes and no previous.pt")
def _(ctx):
    copy_base(ctx)
    (ctx.dir / "checkpoints" / "last.pt").write_bytes(os.urandom(5000))
    (ctx.dir / "checkpoints" / "previous.pt").unlink()
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3")


@case("train --resume with last.pt AND previous.pt carrying a pickle payload",
      check=lambda ctx, p: ["PAYLOAD EXECUTED"] if (ctx.dir / "PWNED").exists() else [])
def _(ctx):
    copy_base(ctx)
    for name in ("last.pt", "previous.pt"):
        (ctx.dir / "checkpoints" / name).write_bytes(payload_bytes(ctx.dir / "PWNED"))
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3")


@case("train --resume --epochs 3 with best.pt carrying a pickle payload", expect="ok", ok_codes=(0, 2),
      check=lambda ctx, p: ["PAYLOAD EXECUTED"] if (ctx.dir / "PWNED").exists() else [])
def _(ctx):
    copy_base(ctx)
    (ctx.dir / "checkpoints" / "best.pt").write_bytes(payload_bytes(ctx.dir / "PWNED"))
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3", "--quiet")


@case("train --resume with last.pt+previous.pt copied from another seed's run (foreign)")
def _(ctx):
    copy_base(ctx)
    for name in ("last.pt", "previous.pt"):
        shutil.copy(OTHER / "checkpoints" / name, ctx.dir / "checkpoints" / name)
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3")


@case("train --resume --epochs 4: last.pt has valid meta but 'epoch' is the string '1'", expect="ok",
      ok_codes=(0, 2))
def _(ctx):
    copy_base(ctx)
    (ctx.dir / "checkpoints" / "previous.pt").unlink()
    rewrite_checkpoint(ctx.dir / "checkpoints" / "last.pt", epoch="1")
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "4", "--quiet")


@case("train --resume --epochs 4: last.pt has valid meta but 'history' is None", expect="ok", ok_codes=(0, 2))
def _(ctx):
    copy_base(ctx)
    (ctx.dir / "checkpoints" / "previous.pt").unlink()
    rewrite_checkpoint(ctx.dir / "checkpoints" / "last.pt", history=None)
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "4", "--quiet")


@case("train --resume --epochs 3 with checkpoints/ replaced by a file")
def _(ctx):
    copy_base(ctx)
    shutil.rmtree(ctx.dir / "checkpoints")
    (ctx.dir / "checkpoints").write_text("oops")
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3")


@case("train --resume --epochs 3 with .lock replaced by a directory", expect="ok", ok_codes=(0, 2))
def _(ctx):
    copy_base(ctx)
    (ctx.dir / ".lock").unlink()
    (ctx.dir / ".lock").mkdir()
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3", "--quiet")


@case("train --resume --epochs 3 with run.log replaced by a directory", expect="ok", ok_codes=(0, 2))
def _(ctx):
    copy_base(ctx)
    (ctx.dir / "run.log").unlink()
    (ctx.dir / "run.log").mkdir()
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3", "--quiet")


@case("train --resume --epochs 3 with last.pt a symlink to /dev/urandom (previous.pt intact)", expect="ok",
      ok_codes=(0, 2), timeout=40)
def _(ctx):
    copy_base(ctx)
    (ctx.dir / "checkpoints" / "last.pt").unlink()
    (ctx.dir / "checkpoints" / "last.pt").symlink_to("/dev/urandom")
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3", "--quiet", timeout=35)


# ---- D. concurrency and kills
def check_one_consistent(ctx, procs, seeds):
    problems = []
    winners = [i for i, p in enumerate(procs) if p.rc == 0]
    if len(winners) != 1:
        problems.append(f"{len(winners)} writers exited 0 (rcs {[p.rc for p in procs]})")
    for i, p in enumerate(procs):
        if p.rc not in (0, 2) or "Traceback" in p.err:
            problems.append(f"writer {i} rc {p.rc}: {nonempty_lines(p.err)[-1:]}")
        elif p.rc == 2 and len(nonempty_lines(p.err)) != 1:
            problems.append(f"writer {i} refused in {len(nonempty_lines(p.err))} lines")
    config, summary = read_json(ctx.dir / "config.json"), read_json(ctx.dir / "summary.json")
    if config.get("seed") != summary.get("seed"):
        problems.append(f"MIXED RECORD: config seed {config.get('seed')}, summary seed {summary.get('seed')}")
    if winners and config.get("seed") != seeds[winners[0]]:
        problems.append(f"record seed {config.get('seed')} is not the winner's {seeds[winners[0]]}")
    if csv_rows(ctx.dir / "metrics.csv") != summary.get("epochs_run"):
        problems.append(f"metrics rows {csv_rows(ctx.dir / 'metrics.csv')} != epochs_run {summary.get('epochs_run')}")
    return problems


def n_writers(n):
    @case(f"{n} x `rnnlab train --run-dir dup --seed i` started together", expect="ok", ok_codes=(0, 2),
          allow_disk=True)
    def _(ctx):
        seeds = list(range(10, 10 + n))
        start = time.perf_counter()
        procs = [popen("train", *targs(seed=s, epochs=8, patience=50), "--run-dir", str(ctx.dir), "--quiet")
                 for s in seeds]
        results = [finish(p, start) for p in procs]
        ctx.cmd = f"{n} concurrent: rnnlab train <tiny> --epochs 8 --seed 1{{0..{n - 1}}} --run-dir $case"
        ctx.notes += check_one_consistent(ctx, results, seeds)
        refused = [nonempty_lines(p.err)[-1] for p in results if p.rc == 2 and p.err.strip()]
        return Proc(max(p.rc or 0 for p in results), "", refused[0] if refused else "",
                    time.perf_counter() - start)


n_writers(3)


@case("train --resume while the run is still being written by another process")
def _(ctx):
    start = time.perf_counter()
    writer = popen("train", *targs(epochs=2000, patience=5000), "--run-dir", str(ctx.dir), "--quiet")
    wait_for(ctx.dir / "checkpoints" / "last.pt")
    p = cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--epochs", "3000")
    epochs = read_json(ctx.dir / "config.json").get("epochs")
    writer.kill()
    finish(writer, start)
    if epochs != 2000:
        ctx.notes.append(f"MIXED RECORD: config.json epochs became {epochs!r} while the writer ran")
    shutil.rmtree(ctx.dir)  # the writer's own files are not this case's effect
    ctx.before = None
    return p


@case("report while a run is being written", expect="ok")
def _(ctx):
    root = ctx.dir
    start = time.perf_counter()
    writer = popen("train", *targs(epochs=2000, patience=5000), "--run-dir", str(root / "live"), "--quiet")
    wait_for(root / "live" / "checkpoints" / "last.pt")
    ctx.ignore = (str((root / "live").relative_to(SANDBOX)),)
    p = cli(ctx, "report", "--root", str(root))
    writer.kill()
    finish(writer, start)
    shutil.rmtree(root / "live")
    return p


def kill_check(ctx, p):
    summary = read_json(ctx.dir / "summary.json")
    problems = []
    if summary.get("status") != "ok" or summary.get("epochs_run") != 30:
        problems.append(f"summary status {summary.get('status')!r}, epochs_run {summary.get('epochs_run')!r}")
    metrics = (ctx.dir / "metrics.csv").read_text().strip().splitlines()[1:]
    epochs = [int(line.split(",")[0]) for line in metrics]
    if epochs != list(range(1, 31)):
        problems.append(f"metrics epochs not 1..30: {epochs[:5]}...")
    if csv_rows(ctx.dir / "updates.csv") != 90:
        problems.append(f"updates rows {csv_rows(ctx.dir / 'updates.csv')} != 90")
    return problems


def kill_then_resume(sig, label):
    @case(f"{label} mid-run (after a checkpoint), then `train --resume --run-dir X` alone", expect="ok",
          check=kill_check)
    def _(ctx):
        start = time.perf_counter()
        writer = popen("train", *targs(epochs=30, patience=100), "--run-dir", str(ctx.dir), "--quiet")
        wait_for(ctx.dir / "checkpoints" / "previous.pt")
        writer.send_signal(sig)
        first = finish(writer, start)
        ctx.notes.append(f"killed writer rc {first.rc}" + (" (traceback)" if "Traceback" in first.err else ""))
        if "Traceback" in first.err:
            ctx.notes.append("killed writer printed a traceback: " + nonempty_lines(first.err)[-1][:100])
        return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir), "--quiet")


kill_then_resume(signal.SIGKILL, "kill -9")
kill_then_resume(signal.SIGINT, "Ctrl-C (SIGINT)")
kill_then_resume(signal.SIGTERM, "kill (SIGTERM)")


@case("kill -9 before the first checkpoint, then `train --resume --run-dir X`")
def _(ctx):
    start = time.perf_counter()
    writer = popen("train", *targs(epochs=100000, checkpoint_every=100000, patience=100000), "--run-dir",
                   str(ctx.dir), "--quiet")
    wait_for(ctx.dir / "run.log")
    time.sleep(0.3)
    writer.kill()
    finish(writer, start)
    ctx.notes.append("left by the killed run: " + ", ".join(sorted(p.name for p in ctx.dir.iterdir())))
    return cli(ctx, "train", "--resume", "--run-dir", str(ctx.dir))


# ---- E. report
def report_case(label, writer, expect="ok", check=None):
    @case(f"report --root <store> with {label}", expect=expect, check=check)
    def _(ctx):
        copy_base(Ctx(ctx.dir / "good"))
        writer(ctx.dir)
        return cli(ctx, "report", "--root", str(ctx.dir))


def _bad_summary(content):
    def write(root):
        (root / "bad").mkdir()
        (root / "bad" / "summary.json").write_text(content)
    return write


def _mentions_bad(ctx, p):
    return [] if "bad" in p.err else ["the warning does not name the bad summary"]


report_case("a torn summary.json beside a good run", _bad_summary('{"status": '), check=_mentions_bad)
report_case("a summary.json that is '{}' beside a good run", _bad_summary("{}"))
report_case("a summary.json whose dataset is a list", _bad_summary(json.dumps(
    {"dataset": ["a"], "arch": "rnn", "cell": "tanh", "metric": "accuracy", "status": "ok"})))
report_case("a summary.json whose metric is null", _bad_summary(json.dumps(
    {"dataset": "arithmetic", "arch": "rnn", "cell": "tanh", "metric": None, "status": "ok"})))


@case("report --root <store whose only summary.json is '{}'>", expect="ok")
def _(ctx):
    (ctx.dir / "only").mkdir(parents=True)
    (ctx.dir / "only" / "summary.json").write_text("{}")
    return cli(ctx, "report", "--root", str(ctx.dir))


@case("report --root <a folder that does not exist>")
def _(ctx):
    return cli(ctx, "report", "--root", str(ctx.dir / "typo"))


@case("report --root <a file>")
def _(ctx):
    ctx.dir.parent.mkdir(parents=True, exist_ok=True)
    ctx.dir.write_text("x")
    return cli(ctx, "report", "--root", str(ctx.dir))


@case("report --csv <into a folder that does not exist>")
def _(ctx):
    copy_base(Ctx(ctx.dir / "store" / "good"))
    return cli(ctx, "report", "--root", str(ctx.dir / "store"), "--csv", str(ctx.dir / "no" / "such" / "t.csv"))


@case("report --csv <an existing directory>")
def _(ctx):
    copy_base(Ctx(ctx.dir / "store" / "good"))
    return cli(ctx, "report", "--root", str(ctx.dir / "store"), "--csv", str(ctx.dir / "store"))


# ---- F. sweep
def sweep_case(label, spec_text, *extra, expect="refuse", allow_disk=False, check=None):
    @case(f"sweep {label}", expect=expect, allow_disk=allow_disk, check=check)
    def _(ctx):
        ctx.dir.mkdir(parents=True)
        spec = ctx.dir / "spec.json"
        if spec_text is not None:
            spec.write_text(spec_text if isinstance(spec_text, str) else json.dumps(spec_text))
        p = cli(ctx, "sweep", str(spec), "--root", str(ctx.dir / "store"), *extra)
        ctx.cmd = ctx.cmd.replace(str(spec), "spec.json")
        return p


BASE_KNOBS = {"dataset": "arithmetic", "hidden": 8, "batch_size": 4, "bptt": None, "epochs": 1,
              "max_updates_per_epoch": 2, "max_eval_sequences": 8, "device": "cpu", "task_knobs": TASK}
sweep_case("<missing spec file>", None, "--dry-run")
sweep_case("<spec with a trailing comma>", '{"name": "s", "grid": {"seed": [1,]}}', "--dry-run")
sweep_case("<spec with an empty grid list>", {"name": "s", "base": BASE_KNOBS, "grid": {"seed": []}}, "--dry-run")
sweep_case("<spec with a bad grid value hidden -1>", {"name": "s", "base": BASE_KNOBS, "grid": {"hidden": [8, -1]}},
           "--dry-run")
sweep_case("<spec whose grid is a list>", {"name": "s", "base": BASE_KNOBS, "grid": [1, 2]}, "--dry-run")
sweep_case("<spec with a misspelt knob 'hiden' in base>", {"name": "s", "base": {**BASE_KNOBS, "hiden": 8},
                                                          "grid": {"seed": [1]}}, "--dry-run")
sweep_case("<spec name '../escaped' (leaves the store)>", {"name": "../escaped", "base": BASE_KNOBS,
                                                          "grid": {"seed": [1]}}, "--dry-run")
sweep_case("<spec name 5 (a number)>", {"name": 5, "base": BASE_KNOBS, "grid": {"seed": [1]}})
sweep_case("<spec name '' (the store root itself)>", {"name": "", "base": BASE_KNOBS, "grid": {"seed": [1]}},
           "--dry-run")
sweep_case("<spec whose models wait on each other ('after' cycle)>",
           {"name": "s", "base": BASE_KNOBS, "models": {"a": {"after": "b"}, "b": {"after": "a"}}}, "--dry-run")
sweep_case("<spec whose model waits on an unknown model>",
           {"name": "s", "base": BASE_KNOBS, "models": {"a": {"after": "zzz"}}}, "--dry-run")
sweep_case("<spec with draws count 0>", {"name": "s", "base": BASE_KNOBS,
                                       "draws": {"count": 0, "seed": 1, "knobs": {"lr": {"uniform": [0.1, 0.2]}}}},
           "--dry-run")
sweep_case("<spec drawing lr from uniform [1, 'a']>", {"name": "s", "base": BASE_KNOBS,
                                                     "draws": {"count": 2, "seed": 1,
                                                               "knobs": {"lr": {"uniform": [1, "a"]}}}}, "--dry-run")
sweep_case("<spec drawing lr from log_uniform [-1, 1] (log of a negative)>",
           {"name": "s", "base": BASE_KNOBS, "draws": {"count": 2, "seed": 1,
                                                       "knobs": {"lr": {"log_uniform": [-1, 1]}}}}, "--dry-run")
sweep_case("<spec grid seed [1, 1] (duplicate point)>", {"name": "s", "base": BASE_KNOBS, "grid": {"seed": [1, 1]}},
           "--dry-run")
sweep_case("--workers -1 --dry-run", {"name": "s", "base": BASE_KNOBS, "grid": {"seed": [1]}},
           "--workers", "-1", "--dry-run")


@case("sweep <spec path is a directory>")
def _(ctx):
    ctx.dir.mkdir(parents=True)
    return cli(ctx, "sweep", str(ctx.dir), "--dry-run")


# ---- G. data, archs, top level
@case("data stats <unknown dataset 'jsbb'>")
def _(ctx):
    return cli(ctx, "data", "stats", "jsbb")


@case("data fetch arithmetic --dest <an existing file>", expect="ok", ok_codes=(0, 2))
def _(ctx):
    ctx.dir.parent.mkdir(parents=True, exist_ok=True)
    ctx.dir.write_text("x")
    return cli(ctx, "data", "fetch", "arithmetic", "--dest", str(ctx.dir))


@case("data fetch nottingham --from <empty folder> --timeout 1", allow_disk=True)
def _(ctx):
    ctx.dir.mkdir(parents=True)
    return cli(ctx, "data", "fetch", "nottingham", "--from", str(ctx.dir), "--dest", str(ctx.dir / "dest"),
               "--timeout", "1")


@case("data fetch nottingham --timeout -1 --dest <new folder>", allow_disk=True)
def _(ctx):
    return cli(ctx, "data", "fetch", "nottingham", "--timeout", "-1", "--dest", str(ctx.dir))


@case("data stats arithmetic --seed -1")
def _(ctx):
    return cli(ctx, "data", "stats", "arithmetic", "--seed", "-1")


@case("data list --root <a file>")
def _(ctx):
    ctx.dir.parent.mkdir(parents=True, exist_ok=True)
    ctx.dir.write_text("x")
    return cli(ctx, "data", "list", "--root", str(ctx.dir))


@case("archs --hidden 0")
def _(ctx):
    return cli(ctx, "archs", "--hidden", "0", "--cell", "tanh", "--arch", "rnn")


@case("archs --hidden -5")
def _(ctx):
    return cli(ctx, "archs", "--hidden", "-5", "--cell", "tanh", "--arch", "rnn")


@case("archs --cell nope")
def _(ctx):
    return cli(ctx, "archs", "--cell", "nope")


@case("archs --n-in 0 --token-input")
def _(ctx):
    return cli(ctx, "archs", "--n-in", "0", "--token-input", "--cell", "tanh", "--arch", "rnn")


@case("archs --arch ',' (empty list)")
def _(ctx):
    return cli(ctx, "archs", "--arch", ",", "--cell", "tanh")


@case("rnnlab trian (misspelt subcommand)")
def _(ctx):
    return cli(ctx, "trian")


# ---- H. notebook path (papermill is slow: three cases)
@case("papermill 03_train.ipynb -p task_knobs '{\"n_train\": 32}' (a string, not a dict)")
def _(ctx):
    ctx.dir.mkdir(parents=True)
    out = ctx.dir / "out.ipynb"
    ctx.cmd = "papermill 03_train.ipynb out.ipynb -p task_knobs '{...}' -p dataset arithmetic -p run_dir $case/run"
    ctx.mark()
    p = run([PAPERMILL, str(NOTEBOOK), str(out), "-p", "dataset", "arithmetic", "-p", "task_knobs",
             json.dumps(TASK), "-p", "run_dir", str(ctx.dir / "run"), "--cwd", str(NOTEBOOK.parent)], timeout=120)
    if out.exists():
        errors = [o for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        ctx.notes.append(f"out.ipynb error output: {len(errors[0]['traceback']) if errors else 0} line(s)")
        out.unlink()  # the executed copy is the requested output, not a side effect
    return p


@case("train --notebook --run-dir <finished run> (no --resume)")
def _(ctx):
    copy_base(ctx)
    return cli(ctx, "train", *targs(), "--notebook", "--run-dir", str(ctx.dir), timeout=150, env=ENV)


@case("train --notebook --init-from <relative path> (valid from the shell's cwd)", expect="ok", allow_disk=True)
def _(ctx):
    ctx.dir.mkdir(parents=True)
    copy_base(Ctx(ctx.dir / "src"))
    ctx.cmd = "cd $case && rnnlab train <tiny> --init-from src --run-dir child --notebook"
    ctx.mark()
    return rnnlab("train", *targs(), "--init-from", "src", "--run-dir", "child", "--notebook", "--quiet",
                  cwd=ctx.dir, timeout=150, env=ENV)  # a real process: papermill's kernel manager is not fork-safe


# ------------------------------------------------------------------------------------------------- driver
# stderr lines that come from the environment, not from rnnlab: ipykernel's warning when a kernel listens on TCP
NOISE = ("[IPKernelApp] WARNING | Kernel is running over TCP without encryption",)


def classify(p: Proc) -> tuple[str, str]:
    """(kind, text): kind is traceback, one line, N lines, silent or timeout."""
    if p.timed_out:
        return "timeout", "no answer within the time limit"
    text = p.err + "\n" + (p.out if "Traceback (most recent call last)" in p.out else "")
    lines = [ln for ln in nonempty_lines(p.err) if not any(noise in ln for noise in NOISE)]
    if "Traceback (most recent call last)" in text or "Error:" in p.err and len(lines) > 3:
        last = [ln for ln in nonempty_lines(text) if not ln.startswith(" ")]
        return "traceback", (last[-1] if last else "")
    if not lines:
        return "silent", ""
    if len(lines) == 1:
        return "one line", lines[0]
    return f"{len(lines)} lines", " ⏎ ".join(lines)


def verdict(c: Case, ctx: Ctx, p: Proc, kind: str, d: dict) -> tuple[str, list[str]]:
    problems = []
    if kind == "traceback":
        problems.append("traceback")
        ctx.notes.append(f"{len(nonempty_lines(p.err))} stderr lines")
    if kind == "timeout":
        problems.append("hung")
    if c.expect == "refuse":
        if p.rc == 0:
            problems.append("silent accept (exit 0)")
        elif kind not in ("one line", "traceback", "timeout"):
            problems.append(f"refused in {kind}")
        written = {k: [x for x in v if not x.endswith(".lock")] for k, v in d.items()}
        if p.rc not in (0, None) and not c.allow_disk and any(written.values()):
            problems.append("wrote to disk, then refused")
        elif p.rc not in (0, None) and any(d.values()) and not any(written.values()):
            ctx.notes.append("only .lock touched: the refused writer took the lock and wrote its pid")
    else:
        if p.rc not in c.ok_codes and kind != "traceback":
            problems.append(f"exit {p.rc}, expected {'/'.join(map(str, c.ok_codes))}")
        if p.rc not in c.ok_codes and p.rc is not None and kind not in ("one line", "traceback"):
            problems.append(f"error in {kind}")
    if c.check is not None:
        problems += c.check(ctx, p)
    problems += [n for n in ctx.notes if n.startswith(("MIXED", "PAYLOAD")) or " writers exited" in n
                 or n.startswith(("record seed", "metrics rows", "writer "))]
    return ("BAD" if problems else "OK"), problems


def md_escape(text: str, limit: int = 220) -> str:
    text = text.replace("\n", "\\n").replace("|", "\\|").replace(str(SANDBOX), "$SB")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main() -> int:
    global SANDBOX, ENV, FORK
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated case numbers to run")
    parser.add_argument("--keep", action="store_true", help="keep the sandbox")
    parser.add_argument("--no-fork", action="store_true", help="run every CLI call as a fresh rnnlab process (slow)")
    parser.add_argument("--out", default=str(REPO / "results" / "fault_cases.md"))
    args = parser.parse_args()
    only = {int(x) for x in args.only.split(",") if x.strip()}

    SANDBOX = Path(tempfile.mkdtemp(prefix="rnnlab-faults-")).resolve()
    ENV = {k: v for k, v in os.environ.items() if k not in ("RNNLAB_SMOKE", "RAY_ADDRESS")}
    ENV.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore", RNNLAB_RUNS=str(SANDBOX / "store"),
               RNNLAB_TEST_THREADS="1", PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    FORK = not args.no_fork
    os.environ.clear()
    os.environ.update(ENV)  # before rnnlab and torch are imported: forked cases inherit this environment
    if FORK:
        import rnnlab.cli
        import rnnlab.campaigns.sweep  # noqa: F401
        import rnnlab.train.trainer  # noqa: F401

        rnnlab.cli.build_parser()  # imports every subcommand module once
    started = time.perf_counter()
    make_fixtures()
    rows = []
    for number, c in enumerate(CASES, 1):
        if only and number not in only:
            continue
        ctx = Ctx(SANDBOX / "cases" / f"c{number:03d}")
        ctx.dir.parent.mkdir(parents=True, exist_ok=True)
        before = snapshot()
        t0 = time.perf_counter()
        ctx.before = None
        try:
            p = c.body(ctx)
        except Exception as err:  # noqa: BLE001 - a broken case is reported, not fatal
            p = Proc(None, "", f"fault script error: {type(err).__name__}: {err}", 0.0)
            ctx.notes.append("case setup failed")
        after = snapshot()
        d = diff(ctx.before if ctx.before is not None else before, after)
        if ctx.ignore:
            d = {k: [x for x in v if not x.startswith(ctx.ignore)] for k, v in d.items()}
        kind, text = classify(p)
        v, problems = verdict(c, ctx, p, kind, d)
        shown_kind = "silent accept" if (c.expect == "refuse" and p.rc == 0) else kind
        rows.append({"n": number, "case": c.name, "cmd": short(ctx.cmd) or c.name, "exit": p.rc, "kind": shown_kind,
                     "text": text, "disk": describe(d).replace(f"cases/c{number:03d}", "$case"),
                     "verdict": v, "problems": problems, "notes": ctx.notes, "seconds": time.perf_counter() - t0})
        r = rows[-1]
        print(f"[{number:3d}] {v:3s} exit={p.rc} {shown_kind}: {md_escape(text, 140)}  ({r['seconds']:.1f}s) "
              f"{c.name}", flush=True)
        if problems:
            print(f"       problems: {problems}; notes: {ctx.notes}", flush=True)

    elapsed = time.perf_counter() - started
    bad = [r for r in rows if r["verdict"] == "BAD"]
    lines = ["# Fault cases against rnnlab (scripts/fault_cases.py)", "",
             f"{len(rows)} cases in {elapsed:.0f} s; {len(rows) - len(bad)} OK, {len(bad)} BAD. Disk effect is "
             "relative to a snapshot of the sandbox before the case ($case = the case's folder; + created, "
             "- deleted, ~ changed). Output is stderr: one line, a traceback (its last line), or silent.", "",
             "| # | case | exit | output | disk effect | verdict |", "|---|---|---|---|---|---|"]
    for r in rows:
        output = r["kind"] + (f": {r['text']}" if r["text"] else "")
        verdict_text = r["verdict"] + (f" ({'; '.join(r['problems'])})" if r["problems"] else "")
        case_text = r["case"] + (f" — `{r['cmd']}`" if r["cmd"] != r["case"] else "")
        notes = f" [{'; '.join(r['notes'])}]" if r["notes"] else ""
        lines.append(f"| {r['n']} | {md_escape(case_text, 400)} | {r['exit']} | {md_escape(output)} | "
                     f"{md_escape(r['disk'] + notes, 300)} | {md_escape(verdict_text, 200)} |")
    table = "\n".join(lines) + "\n"
    print()
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    if not args.keep:
        shutil.rmtree(SANDBOX, ignore_errors=True)
    else:
        print(f"sandbox kept: {SANDBOX}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
