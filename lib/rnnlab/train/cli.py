"""Train one architecture on one dataset and write its run record (same knobs as notebooks/03_train.ipynb).

Examples:
  rnnlab train --dataset jsb --arch dts-rnn --cell tanh --hidden 400 --nonlinearity sigmoid --optimizer sgd --lr 1
  rnnlab train --dataset ptb-char --arch rnn --cell gru --smoke
  rnnlab train --run-dir runs/my-run --resume          (continue a killed run from its last checkpoint)
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path

from rnnlab.train.config import TrainConfig, smoke_overrides

_SKIP = {"task_knobs"}


def _field_type(field: dataclasses.Field):
    hint = typing.get_type_hints(TrainConfig)[field.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else hint
    optional = type(None) in typing.get_args(hint)
    return base, optional


def _converter(base, optional):
    def convert(text: str):
        if optional and text.lower() in ("none", ""):
            return None
        return base(text)

    return convert


def add_arguments(parser) -> None:
    comments = _knob_comments()
    for field in dataclasses.fields(TrainConfig):
        if field.name in _SKIP:
            continue
        base, optional = _field_type(field)
        flag = "--" + field.name.replace("_", "-")
        help_text = f"{comments.get(field.name, '')} (default: {field.default})"
        parser.add_argument(flag, dest=field.name, type=_converter(base, optional), default=field.default,
                            help=help_text)
    parser.add_argument("--task-knobs", type=json.loads, default={}, help="synthetic-task knobs as JSON")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and a few updates (CI)")
    parser.add_argument("--run-dir", default=None, help="folder of this run (default: a new folder under --root)")
    parser.add_argument("--root", default=None, help="run store root (default: runs/ or $RNNLAB_RUNS)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--notebook", action="store_true",
                        help="run notebooks/03_train.ipynb headlessly (papermill) with these knobs and keep the "
                        "executed notebook in the run directory")


def _knob_comments() -> dict:
    """The one-line comment of every TrainConfig knob, read from its source."""
    import inspect

    comments = {}
    for line in inspect.getsource(TrainConfig).splitlines():
        name, sep, rest = line.strip().partition(":")
        if sep and "#" in rest and name.isidentifier():
            comments[name] = rest.split("#", 1)[1].strip()
    return comments


def _run_notebook(config: TrainConfig, args) -> int:
    """Execute the training notebook with papermill; the executed copy lands in the run directory."""
    import papermill as pm

    from rnnlab.paths import PROJECT_ROOT
    from rnnlab.train.runs import new_run_dir, read_summary

    notebook = PROJECT_ROOT / "notebooks" / "03_train.ipynb"
    known = pm.inspect_notebook(str(notebook))
    run_dir = args.run_dir or str(new_run_dir(args.root, f"{config.arch}-{config.cell}-{config.dataset}"))
    values = {k: v for k, v in config.to_dict().items() if k in known}
    values.update(run_dir=run_dir, smoke=bool(args.smoke), bptt=config.bptt or 0)
    pm.execute_notebook(str(notebook), str(Path(run_dir) / notebook.name), parameters=values,
                        cwd=str(notebook.parent), progress_bar=False)
    summary = read_summary(run_dir)
    print(json.dumps({k: summary[k] for k in ("status", "best_valid", "test", "epochs_run", "run_dir")}, default=str))
    return {"ok": 0, "diverged": 3, "interrupted": 130}[summary["status"]]


def main(args) -> int:
    from rnnlab.train.trainer import Trainer

    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if f.name not in _SKIP}
    config = TrainConfig(**values, task_knobs=args.task_knobs)
    if args.notebook:
        return _run_notebook(config.validate(), args)
    if args.smoke:
        config = smoke_overrides(config)
    summary = Trainer(config, run_dir=args.run_dir, root=args.root, resume=args.resume,
                      progress=not args.quiet).fit()
    print(json.dumps({k: summary[k] for k in ("status", "best_valid", "test", "epochs_run", "run_dir")}, default=str))
    return {"ok": 0, "diverged": 3, "interrupted": 130}[summary["status"]]
