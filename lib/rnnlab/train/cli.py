"""Train one architecture on one dataset and write its run record (same knobs as notebooks/03_train.ipynb).

Examples:
  rnnlab train --dataset jsb --arch dts-rnn --cell tanh --hidden 400 --nonlinearity sigmoid --optimizer sgd --lr 1
  rnnlab train --dataset ptb-char --arch rnn --cell gru --smoke
  rnnlab train --resume --run-dir runs/my-run            (continue a killed run from its own record)
  rnnlab train --resume --run-dir runs/my-run --epochs 80  (extend a finished run; recorded in its run.log)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.train.config import EXTENSIBLE_KNOBS, TrainConfig, check_resume_knobs, smoke_overrides

EXIT_CODES = {"ok": 0, "diverged": 3, "interrupted": 130}
_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string"}


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
        if base is dict:
            try:
                value = json.loads(text)
            except json.JSONDecodeError as err:
                raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r} ({err})") from None
            if not isinstance(value, dict):
                raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
            return value
        try:
            return base(text)
        except ValueError:
            none = " or none" if optional else ""
            raise argparse.ArgumentTypeError(f"expected {_TYPE_WORDS[base]}{none}, got {text!r}") from None

    return convert


def add_arguments(parser) -> None:
    comments = _knob_comments()
    for field in dataclasses.fields(TrainConfig):
        base, optional = _field_type(field)
        flag = "--" + field.name.replace("_", "-")
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        help_text = f"{comments.get(field.name, '')} (default: {json.dumps(default)})"
        if base is dict:
            help_text += "; as JSON"
        parser.add_argument(flag, dest=field.name, type=_converter(base, optional), default=argparse.SUPPRESS,
                            help=help_text)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and a few updates (CI)")
    parser.add_argument("--run-dir", default=None, help="folder of this run (default: a new folder under --root)")
    parser.add_argument("--root", default=None, help="run store root (default: runs/ or $RNNLAB_RUNS)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --run-dir from its own record (config.json + last checkpoint); "
                        "only --epochs/--patience may be given, to extend it")
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


def config_for(args) -> TrainConfig:
    """The run's config: the given knobs over the defaults, or, with ``--resume``, the run's own record.

    With ``--resume`` a given knob that differs from the record is refused (one line: knob, recorded, given),
    except a larger ``epochs``/``patience``. Raises before anything is written.
    """
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)}
    if args.run_dir is not None and not str(args.run_dir).strip():
        raise RnnlabError("--run-dir must name a folder (got an empty string); leave it out for a new folder")
    if given.get("init_from"):  # given relative to here; the notebook runs elsewhere (recorded relative to the run)
        given["init_from"] = str(Path(given["init_from"]).resolve())
    if not args.resume:
        config = TrainConfig(**given)
        return (smoke_overrides(config) if args.smoke else config).validate()
    from rnnlab.train.runs import read_config

    if not args.run_dir:
        raise RnnlabError("--resume needs --run-dir (the folder of the run to continue)")
    if args.smoke:
        raise RnnlabError("--smoke does not apply with --resume: the run's record fixes its sizes")
    recorded = read_config(args.run_dir)
    check_resume_knobs(recorded, given, args.run_dir)
    return dataclasses.replace(recorded, **{k: v for k, v in given.items() if k in EXTENSIBLE_KNOBS}).validate()


def _run_notebook(config: TrainConfig, args) -> dict:
    """Execute the training notebook with every knob (``rnnlab.train.notebook_run``); the executed copy lands in
    the run directory. A failed run's executed copy stays beside the folder, named in the error."""
    import papermill as pm

    from rnnlab.train.notebook_run import execute_training_notebook
    from rnnlab.train.runs import new_run_dir, read_summary

    run_dir = Path(args.run_dir) if args.run_dir else new_run_dir(args.root, f"{config.arch}-{config.cell}-"
                                                                              f"{config.dataset}")
    run_dir = run_dir.resolve()  # the kernel runs in notebooks/
    has_record = (run_dir / "config.json").exists() or (run_dir / "summary.json").exists()
    if has_record and not args.resume:  # the same rule the trainer applies, before a kernel starts
        raise RnnlabError(f"run_dir {str(run_dir)!r} already holds a run; resume it (--resume) or choose another "
                          "run_dir")
    try:
        execute_training_notebook({**config.to_dict(), "smoke": False, "resume": bool(args.resume)}, run_dir,
                                  log_output=False)
    except pm.PapermillExecutionError as err:
        raise RnnlabError(f"notebook 03_train failed: {err.ename}: {err.evalue} (executed copy: {err.scratch})") \
            from None
    return {**(read_summary(run_dir) or {}), "run_dir": str(run_dir)}


def main(args) -> int:
    config = config_for(args)
    if args.notebook:
        summary = _run_notebook(config, args)
    else:
        from rnnlab.train.trainer import Trainer

        summary = Trainer(config, run_dir=args.run_dir, root=args.root, resume=args.resume,
                          progress=not args.quiet).fit()
    print(json.dumps({k: summary.get(k) for k in ("status", "best_valid", "test", "epochs_run", "run_dir")},
                     default=str))
    return EXIT_CODES.get(summary.get("status"), 1)
