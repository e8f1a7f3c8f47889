"""rnnlab figures: PNGs of the interactive figures that runs and sweeps wrote as HTML only, rendered on demand.

A sweep point (and any run of notebooks/03_train.ipynb) writes its learning curves as HTML alone: a PNG costs a
Chromium start, seconds per figure. This renders them afterwards, every PNG in one Chromium:

    rnnlab figures runs/chung2014                  every figure of every point of a sweep
    rnnlab figures runs/chung2014/jsb/gru/lr=1.23e-04 --width 800 --height 500
    rnnlab figures runs/my-run/figures/learning_curves.html

Each NAME.html written by rnnlab gets NAME.png beside it; a PNG of the same figure and size already there is kept
(the figure key in its tEXt chunk: rnnlab.viz.export). Needs a Chromium (Debian's ``chromium``, or BROWSER_PATH).
"""

from __future__ import annotations

import argparse

LIMITS = {"width": 10_000, "height": 10_000, "scale": 10}  # a PNG stays within Chromium's reach (and memory)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="run folders, sweep folders or HTML figures (folders are searched recursively)")
    parser.add_argument("--width", type=int, default=1000, help="PNG width in CSS pixels (default 1000)")
    parser.add_argument("--height", type=int, default=600, help="PNG height in CSS pixels (default 600)")
    parser.add_argument("--scale", type=float, default=2.0, help="pixels per CSS pixel (default 2)")


def main(args) -> int:
    from rnnlab.errors import RnnlabError
    from rnnlab.viz.export import render_pngs

    for name, most in LIMITS.items():
        value = getattr(args, name)
        if not 0 < value <= most:  # also NaN
            raise RnnlabError(f"--{name} must be above 0 and at most {most:g}, got {value:g}")
    written = render_pngs(args.paths, width=args.width, height=args.height, scale=args.scale)
    for path in written:
        print(path)
    print(f"rendered {len(written)} PNG(s)" + ("" if written else ": every figure found has its PNG already"))
    return 0
