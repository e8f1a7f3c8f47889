"""rnnlab archs: every cell × architecture preset with its weight and parameter counts for given sizes.

weights = weight-matrix entries only (Pascanu et al. 2014 Table 1 convention); params = everything trainable;
fused = whether training runs the level through the fused torch.nn module.

    rnnlab archs --n-in 88 --n-out 88 --hidden 400 --transition-hidden 400
    rnnlab archs --cell gru,lstm --arch dts-rnn --json
"""

from __future__ import annotations

import argparse
import json

from rnnlab.cells import CELLS
from rnnlab.errors import check_choice
from rnnlab.nets.archs import ARCHS
from rnnlab.nets.counting import count_params, count_weights
from rnnlab.nets.model import build_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-in", type=int, default=88, help="input width (vocabulary size for tokens; default 88)")
    parser.add_argument("--n-out", type=int, default=88, help="output width (default 88)")
    parser.add_argument("--hidden", type=int, default=200, help="state units per level (default 200)")
    parser.add_argument("--transition-hidden", type=int, help="width of the intermediate transition layer")
    parser.add_argument("--output-hidden", type=int, help="width of the deep-output layer")
    parser.add_argument("--cell", default=",".join(CELLS), help="comma-separated cells (default: all)")
    parser.add_argument("--arch", default=",".join(ARCHS), help="comma-separated presets (default: all)")
    parser.add_argument("--token-input", action="store_true", help="inputs are token ids (the input matrix is indexed)")
    parser.add_argument("--json", action="store_true", help="print JSON rows instead of a table")


def rows(args) -> list[dict]:
    cells, archs = args.cell.split(","), args.arch.split(",")
    for cell in cells:
        check_choice("cell", cell, CELLS)
    for arch in archs:
        check_choice("arch", arch, ARCHS)
    out = []
    for cell in cells:
        for arch in archs:
            spec = ARCHS[arch]
            model = build_model(
                arch=arch, cell=cell, n_in=args.n_in, n_out=args.n_out, hidden=args.hidden,
                transition_hidden=args.transition_hidden if spec.deep_transition else None,
                output_hidden=args.output_hidden if spec.deep_output else None, token_input=args.token_input,
            )
            out.append({"cell": cell, "arch": arch, "weights": count_weights(model), "params": count_params(model),
                        "fused": all(model.fused_levels())})
    return out


def main(args) -> int:
    table = rows(args)
    if args.json:
        print(json.dumps(table, indent=1))
        return 0
    print(f"sizes: n_in={args.n_in} n_out={args.n_out} hidden={args.hidden} "
          f"transition_hidden={args.transition_hidden or args.hidden} "
          f"output_hidden={args.output_hidden or args.hidden}")
    print(f"{'cell':14} {'arch':9} {'weights':>11} {'params':>11}  fused")
    for row in table:
        print(f"{row['cell']:14} {row['arch']:9} {row['weights']:>11,} {row['params']:>11,}  "
              f"{'yes' if row['fused'] else 'no'}")
    return 0
