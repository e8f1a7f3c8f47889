"""``rnnlab report``: tabulate the run store, or one campaign's runs beside its paper's numbers (and publish them)."""

from __future__ import annotations

import sys

import pandas as pd

from rnnlab.campaigns.report import PAPERS, campaign_paper, results_table


def add_arguments(parser) -> None:
    parser.add_argument("--root", default=None, help="run store root (default: runs/ or $RNNLAB_RUNS)")
    parser.add_argument("--csv", default=None, help="also write the table to this CSV file")
    parser.add_argument("--paper", default=None, metavar="CAMPAIGN",
                        help=f"a campaign's table ({', '.join(sorted(PAPERS))}, or <paper>-<variant> such as "
                        "chung2014-seeds): every run under --root in the results/<campaign>.csv columns, then our "
                        "numbers beside the paper's")
    parser.add_argument("--publish", default=None, metavar="DIR",
                        help="with --paper: copy the campaign's small files to DIR/<campaign>/ and "
                        "DIR/<campaign>.csv (e.g. --publish results)")


def paper_report(root, paper: str, csv: str | None, publish_to: str | None = None) -> int:
    from pathlib import Path

    from rnnlab.campaigns.results import beside_paper, collect, publish
    from rnnlab.errors import RnnlabError

    title = campaign_paper(paper)
    if root is None:
        raise RnnlabError(f"--paper {paper} needs --root, the folder of that campaign's runs")
    if publish_to:
        table = publish(root, Path(publish_to) / paper)
        print(f"published {len(table)} runs to {Path(publish_to) / paper} and {Path(publish_to) / paper}.csv")
        for point in table.attrs.get("being_written", []):
            print(f"left as published before: {point} (another process is writing it now)")
        for point in table.attrs.get("extension_interrupted", []):
            print(f"left as published before: {point} (an extension was killed before it ended; resume it with "
                  "rnnlab train --resume --run-dir RUN --epochs N, or rnnlab extend)")
        published = set(table.point)
        for point in table.attrs.get("unfinished", []):
            print(f"left as published before: {point} (its run in the store did not finish; the finished record "
                  "published before stays until a newer one finishes)")
        for point in table.attrs.get("missing", []):
            print(f"left as published before: {point} (the store has no summary.json for it now)")
        for point, line in table.attrs.get("damaged", {}).items():
            kept = "left as published before" if point in published else "not published"
            print(f"skipped {line} ({kept})", file=sys.stderr)
    else:
        table = collect(root)
    if csv:
        table.to_csv(csv, index=False)
        print(f"{len(table)} runs written to {csv}")
    with pd.option_context("display.max_rows", 200, "display.width", 200):
        print(beside_paper(table, title).to_string(index=False))
    return 0


def main(args) -> int:
    from pathlib import Path

    from rnnlab.errors import RnnlabError

    if args.root is not None and not Path(args.root).is_dir():  # on the command line a typo is an error
        raise RnnlabError(f"run store {args.root!r} is not a folder" + ("" if Path(args.root).exists() else
                                                                        " (it does not exist)"))
    if args.csv and (not Path(args.csv).parent.is_dir() or Path(args.csv).is_dir()):
        raise RnnlabError(f"--csv {args.csv!r}: " + ("is a folder" if Path(args.csv).is_dir() else
                                                     "its folder does not exist"))
    if args.paper:
        try:
            return paper_report(args.root, args.paper, args.csv, args.publish)
        except KeyboardInterrupt:
            if not args.publish:
                raise
            print(f"rnnlab report: interrupted; {args.publish}/{args.paper} and its .csv hold the publication "
                  "before or the new one, each whole (a publish swaps them in together or not at all)",
                  file=sys.stderr)
            return 130
    table = results_table(args.root)
    if table.empty:
        print("no runs found")
        return 0
    with pd.option_context("display.max_rows", 200, "display.width", 200, "display.max_colwidth", 40):
        print(table.drop(columns=["run_dir"], errors="ignore").to_string(index=False))
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0
