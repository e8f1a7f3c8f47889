"""One-off migration (issue 25, "records that name one machine"): make the committed results/ name no machine.

Idempotent: a second run finds nothing to change and says so. For every run folder under ``results/<campaign>/``
(a summary.json beside a config.json):

1. ``checkpoints/best.pt`` of a pretrained run (``init_from`` set): its ``meta.config_sha256`` hashed init_from's
   absolute path. It is checked against that fingerprint (``rnnlab.train.checkpoints.legacy_config_fingerprint`` of
   the config.json as recorded) and rewritten to the portable one (init_from counts as set, wherever it points);
   the weights and every other entry are left as they are (checked after writing).
2. ``summary.json``, ``config.json`` and ``run.log`` through ``rnnlab.campaigns.results.make_portable``: ``host``
   and ``run_dir`` dropped; ``data_source`` and ``data_files`` named by set and file
   (``canonical jsb (polyphonic/JSB Chorales.pickle)``); ``tokens_per_s`` recomputed as the run's average from its
   metrics.csv (it was the last epoch's rate); ``init_from`` and the paths in run.log relative to the run's folder
   (``../../dts/seed=0``). Every other value is unchanged.
3. ``results/<campaign>.csv``: each row's ``data_source`` and ``frames_per_s`` from its run's migrated summary;
   every other cell is kept as written (the file is rewritten cell for cell; the script first checks that writing
   the rows back unchanged reproduces the file byte for byte).

Usage: ``.venv/bin/python scripts/migrate_records_portable.py [RESULTS]`` (default: the project's results/).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter
from pathlib import Path

import torch

from rnnlab.campaigns.results import make_portable
from rnnlab.errors import RnnlabError
from rnnlab.paths import PROJECT_ROOT
from rnnlab.train import checkpoints
from rnnlab.train.config import TrainConfig
from rnnlab.train.runs import atomic_torch_save, atomic_write_text, read_config


def migrate_checkpoint(run: Path) -> bool:
    """Rewrite ``run``'s best.pt fingerprint when it hashed an absolute init_from; True if rewritten."""
    path = run / "checkpoints" / checkpoints.BEST
    recorded = json.loads((run / "config.json").read_text())
    if not path.exists() or not recorded.get("init_from"):
        return False
    state = torch.load(path, map_location="cpu", weights_only=True)
    config = TrainConfig.from_dict(recorded)  # as recorded: an absolute init_from before the migration
    portable = checkpoints.config_fingerprint(config)
    if state["meta"]["config_sha256"] == portable:
        return False
    if state["meta"]["config_sha256"] != checkpoints.legacy_config_fingerprint(config):
        raise RnnlabError(f"{path}: its fingerprint is neither the legacy nor the portable one of its config.json")
    atomic_torch_save(path, {**state, "meta": {**state["meta"], "config_sha256": portable}})
    again = torch.load(path, map_location="cpu", weights_only=True)
    assert again.keys() == state.keys() and again["epoch"] == state["epoch"], path
    assert again["model"].keys() == state["model"].keys(), path
    assert all(torch.equal(again["model"][k], state["model"][k]) for k in state["model"]), path
    assert {k: v for k, v in again["meta"].items() if k != "config_sha256"} == \
        {k: v for k, v in state["meta"].items() if k != "config_sha256"}, path
    return True


def _csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def migrate_table(table: Path, campaign: Path) -> int:
    """Set data_source and frames_per_s of each row of ``table`` from its run's summary; the cells changed."""
    text = table.read_text()
    rows = list(csv.reader(io.StringIO(text)))
    if _csv_text(rows) != text:
        raise RnnlabError(f"{table}: rewriting its rows unchanged would not reproduce it byte for byte")
    header, changed = rows[0], 0
    if "point" not in header:
        return 0
    columns = {name: header.index(name) for name in ("point", "data_source", "frames_per_s") if name in header}
    for row in rows[1:]:
        summary = json.loads((campaign / row[columns["point"]] / "summary.json").read_text())
        rate = summary.get("tokens_per_s")
        for column, value in (("data_source", summary.get("data_source") or ""),
                              ("frames_per_s", "" if rate is None else repr(float(rate)))):
            if column in columns and row[columns[column]] != value:
                row[columns[column]] = value
                changed += 1
    if changed:
        atomic_write_text(table, _csv_text(rows))
    return changed


def main(results: Path) -> int:
    counts: Counter[str] = Counter()
    campaigns = sorted({summary.relative_to(results).parts[0] for summary in results.glob("*/**/summary.json")})
    for name in campaigns:
        campaign = results / name
        for summary in sorted(campaign.glob("**/summary.json")):
            run = summary.parent
            if not (run / "config.json").exists():
                continue
            counts["runs"] += 1
            counts["best.pt"] += migrate_checkpoint(run)
            for file in make_portable(run, campaign):
                counts[file] += 1
            if (run / "checkpoints" / checkpoints.BEST).exists():  # loads with its migrated config.json
                checkpoints.read(run / "checkpoints" / checkpoints.BEST, read_config(run), "cpu")
        table = campaign.with_suffix(".csv")
        if table.exists():
            counts["csv cells"] += migrate_table(table, campaign)
    print(f"{len(campaigns)} campaigns, {counts['runs']} runs: rewrote " + ", ".join(
        f"{counts[k]} {k}" for k in ("summary.json", "config.json", "run.log", "best.pt", "csv cells")))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "results"))
