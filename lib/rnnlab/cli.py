"""The ``rnnlab`` command line: one subcommand per concern, each implemented beside its code.

Each subcommand module exposes ``add_arguments(parser)`` and ``main(args) -> int``. Only the module of the subcommand
given is imported (``rnnlab train`` never imports pandas, plotly or the sweep machinery; ``rnnlab --help`` imports no
subcommand at all): every other subcommand is listed with its help text from ``SUBCOMMANDS``.
Bad input (an ``RnnlabError``) is printed as one line and exits with status 2. Ctrl-C, SIGTERM (``kill PID``, a
batch system's time limit) and SIGHUP (a closed terminal; not under ``nohup``) end every subcommand the same way:
``KeyboardInterrupt`` where the command is, its own cleanup (a training run records itself interrupted, a pool stops
its workers), then one line ``rnnlab COMMAND: interrupted (SIGNAL)`` and exit status 130.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading

from rnnlab import __version__
from rnnlab.errors import RnnlabError

SUBCOMMANDS = {
    "data": ("rnnlab.data.cli", "list, fetch and inspect datasets (music, PTB, synthetic tasks)"),
    "archs": ("rnnlab.nets.cli", "list every cell and deep architecture with its parameter count"),
    "train": ("rnnlab.train.cli", "train one architecture on one dataset and write a run record"),
    "sweep": ("rnnlab.campaigns.sweep_cli",
              "run a paper's campaign (experiments/*.json) on a local pool or a Ray cluster"),
    "extend": ("rnnlab.campaigns.extend_cli",
               "second stage of a best-of-draws campaign: extend the draws the epoch cap stopped while improving"),
    "report": ("rnnlab.campaigns.report_cli",
               "tabulate the run store beside the papers' numbers; publish a campaign"),
    "convention-gap": ("rnnlab.campaigns.convention_gap_cli",
                       "the two music NLL conventions per set: a per-key baseline and every published model"),
    "cell-state": ("rnnlab.campaigns.cell_state_cli",
                   "how large trained LSTMs' cell state grows and how often their gates saturate"),
    "search": ("rnnlab.search.cli", "architecture search over cells written as graphs (Jozefowicz et al. 2015)"),
    "table1": ("rnnlab.search.table1_cli",
               "Jozefowicz et al. 2015 Table 1 at the search's scale: ten cells on the same random settings"),
    "figures": ("rnnlab.viz.figures_cli", "render PNGs of the HTML figures that runs and sweeps wrote, on demand"),
}


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line (no usage dump), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``rnnlab`` parser. Each subcommand's module is imported and its arguments added only for ``command``
    (``chosen_command`` of the command line); None loads every subcommand (a complete parser, e.g. for tests)."""
    parser = OneLineParser(
        prog="rnnlab",
        description="rnnlab: build, train and look inside deep and gated RNNs "
        "(Pascanu et al. 2014, Chung et al. 2014, Jozefowicz et al. 2015).",
    )
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        if command is not None and name != command:
            sub.add_parser(name, help=help_text)  # listed in --help; never parsed (another command was given)
            continue
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip())
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def chosen_command(argv: list[str]) -> str:
    """The subcommand a command line names: its first word that is not an option (the top-level options take no
    value), or "" when it names none (``rnnlab``, ``rnnlab --help``, or a word that is no subcommand, which the
    parser then refuses in one line)."""
    word = next((arg for arg in argv if not arg.startswith("-")), "")
    return word if word in SUBCOMMANDS else ""


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _interrupt_on_termination() -> dict:
    """SIGTERM and SIGHUP raise KeyboardInterrupt as Ctrl-C does (main thread only; an ignored signal stays
    ignored); return the handlers replaced."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, _raise_interrupt) for signum in (signal.SIGTERM, signal.SIGHUP)
            if signal.getsignal(signum) is not signal.SIG_IGN}


def main(argv: list[str] | None = None) -> int:
    replaced = _interrupt_on_termination()
    args = argparse.Namespace(command=None)
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(chosen_command(argv))
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 0
        return int(args._module.main(args) or 0)
    except KeyboardInterrupt as err:
        where = f"rnnlab {args.command}" if args.command else "rnnlab"
        print(f"{where}: interrupted ({str(err) or 'SIGINT'})", file=sys.stderr)
        return 130
    except RnnlabError as err:
        print(f"rnnlab {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a folder that is a file, no permission, disk full, name too long, ...
        where = f": {err.filename!r}" if err.filename else ""
        print(f"rnnlab {args.command}: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"rnnlab {args.command}: error: out of memory; choose smaller sizes", file=sys.stderr)
        return 2
    finally:
        for signum, handler in replaced.items():
            signal.signal(signum, handler)


def run() -> int:
    """The ``rnnlab`` command (console entry point): ``main``, and once an interrupt has been reported (exit 130), a
    further SIGINT/SIGTERM/SIGHUP during the interpreter's shutdown is ignored instead of killing the process with a
    second message or status -15. (Not in ``main``, which also runs inside tests and pool workers.)"""
    code = main()
    if code == 130:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
    return code


if __name__ == "__main__":
    sys.exit(run())
