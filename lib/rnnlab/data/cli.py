"""List, fetch and inspect datasets.

  rnnlab data list                  what is present, with sizes and sources
  rnnlab data fetch NAME            download from the canonical URL (or the documented fallback), verify sha256
  rnnlab data fetch NAME --from DIR import a local copy (laid out as in docs/data.md, or flat)
  rnnlab data stats NAME            per-split statistics (sequences, steps, notes, polyphony / tokens, types);
                                    --allow-noncanonical loads a file whose sha256 is not the catalogue's
"""

from __future__ import annotations

import argparse

from rnnlab.errors import check_choice


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rnnlab.data import DATASETS

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="show every dataset: present or missing, file, size, source")
    listing.add_argument("--root", help="data folder to look in (default: $RNNLAB_DATA or data/)")
    fetch = sub.add_parser("fetch", help="download (or --from DIR import) a dataset into data/, verified")
    fetch.add_argument("name", help=f"dataset: {', '.join(DATASETS)}")
    fetch.add_argument("--from", dest="source_dir", metavar="DIR", help="import from a local folder instead")
    fetch.add_argument("--dest", help="folder to write to (default: data/ of the project)")
    fetch.add_argument("--timeout", type=float, default=30.0, help="seconds per network operation (default 30)")
    stats = sub.add_parser("stats", help="per-split statistics of a dataset")
    stats.add_argument("name", help=f"dataset: {', '.join(DATASETS)}")
    stats.add_argument("--root", help="data folder to look in (default: $RNNLAB_DATA or data/)")
    stats.add_argument("--seed", type=int, default=0, help="seed of the synthetic tasks (default 0)")
    stats.add_argument("--no-fallback", action="store_true", help="fail instead of using bach-music21 for jsb")
    stats.add_argument("--allow-noncanonical", action="store_true",
                       help="load files whose sha256 is not the catalogue's (reported as noncanonical data)")


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from rnnlab.data import DATASETS, load_dataset
    from rnnlab.errors import RnnlabError

    root = getattr(args, "root", None)
    if root is not None and not Path(root).is_dir():
        raise RnnlabError(f"--root {root!r} is not a folder" + ("" if Path(root).exists() else " (it does not exist)"))
    if not 0 <= getattr(args, "seed", 0) <= 2**32 - 1:
        raise RnnlabError(f"--seed must be an integer in [0, {2**32 - 1}], got {args.seed}")
    if args.data_command == "list":
        from rnnlab.data.fetch import inventory

        table = inventory(args.root)
        table["size"] = [_human(b) if b else "" for b in table.pop("bytes")]
        with pd.option_context("display.max_colwidth", 90, "display.width", 200):
            print(table.to_string(index=False))
        return 0
    check_choice("dataset", args.name, DATASETS)
    if args.data_command == "fetch":
        from rnnlab.data.fetch import fetch

        paths = fetch(args.name, dest=args.dest, source_dir=args.source_dir, timeout=args.timeout)
        if not paths:
            print(f"{args.name}: generated from a seed; nothing to fetch")
        for path in paths:
            print(f"{args.name}: {path} ({_human(path.stat().st_size)}, verified)")
        return 0
    knobs = {"allow_noncanonical": True} if args.allow_noncanonical and DATASETS[args.name].checked else {}
    ds = load_dataset(args.name, root=args.root, fallback=not args.no_fallback, seed=args.seed, **knobs)
    print(f"{ds.name}: {ds.description}\nsource: {ds.source}")
    for read in (ds.provenance.files if ds.provenance is not None else ()):
        print(f"read: {read.path} (sha256 {read.sha256[:12]})")
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print(ds.stats().to_string())
    return 0


def _human(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)
