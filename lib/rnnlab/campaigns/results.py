"""A paper's campaign as one table: one row per run, and our numbers beside the published ones.

``collect(root)`` reads every run folder under ``root`` (config.json + summary.json) into the columns
``results/<paper>.csv`` holds: where the run sits (``point``), the data (dataset, origin: canonical / stand-in /
fallback / generated, source, content sha256), the model
(arch, cell, sizes, parameters), the recipe's knobs, seed, epochs, status, best valid, the test metric under both
music conventions (``test_nll`` per frame, ``test_nll_pieces`` mean over pieces), the best model's training-set
NLL, train seconds, frames per second (the run's average) and the commit. ``beside_paper(table, paper)`` joins the
published numbers (``rnnlab.papers``) with the difference. Both work on committed results, so report notebooks need
no training.

Nothing published names the machine that ran it (``rnnlab.train.portable``): the table's data_source names the set
and its file (``canonical jsb (polyphonic/JSB Chorales.pickle)``), init_from the parent's point, and ``publish``
copies each record with init_from relative to the run's folder, run.log's paths relative to it, and a summary
without host or folder; a record written before that is rewritten so as it is read or copied (its frames per second
recomputed from its metrics.csv: such a summary held the last epoch's rate).
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import shutil
import sys
import zipfile
from pathlib import Path

import pandas as pd

from rnnlab.data import Provenance
from rnnlab.data.registry import ORIGINS
from rnnlab.errors import RnnlabError
from rnnlab.files import DISK_FULL, DiskFullError, disk_full, fsync_folder
from rnnlab.papers import paper_results
from rnnlab.train.portable import (
    is_legacy_summary,
    portable_config,
    portable_log,
    portable_summary,
    resolve_init_from,
)
from rnnlab.train.runs import FINISHED

RECIPE_KNOBS = ("optimizer", "lr", "schedule", "decay_beta", "decay_start_patience", "clip", "weight_noise", "bptt",
                "batch_size", "init", "nonlinearity", "forget_bias", "dropout", "pretrained_lr_scale", "epochs",
                "patience")
COLUMNS = ("point", "dataset", "data_origin", "data_source", "data_sha256", "arch", "cell", "hidden",
           "transition_hidden", "output_hidden", "levels", "n_params", *RECIPE_KNOBS, "init_from", "seed", "epochs_run",
           "best_epoch", "status", "best_valid", "test_nll", "test_nll_pieces", "train_nll", "train_nll_pieces",
           "test_metric", "train_seconds", "frames_per_s", "commit")


def _read(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


class DamagedRecord(Exception):
    """A run's file that cannot be published as it is: ``str()`` is one line naming the file and what is wrong."""


def _json_object(path: Path) -> dict:
    """The JSON object in ``path``, or ``DamagedRecord`` naming it (missing, unreadable, not an object, or holding
    a number that is not finite: NaN and infinity are what a half-broken run writes, never a result)."""
    if not path.exists():
        raise DamagedRecord(f"{path}: missing")
    try:
        value = json.loads(path.read_bytes().decode())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DamagedRecord(f"{path}: not readable JSON ({_first_line(err)})") from None
    if not isinstance(value, dict):
        raise DamagedRecord(f"{path}: holds a JSON {type(value).__name__}, not an object")
    where = _not_finite(value)
    if where is not None:
        raise DamagedRecord(f"{path}: {where[1]} at {where[0] or 'top level'}")
    return value


def _not_finite(value, key: str = "") -> tuple[str, str] | None:
    """(key, the value) of the first number in ``value`` that is NaN or infinite; None when all are finite."""
    if isinstance(value, float) and not math.isfinite(value):
        return key, str(value)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for name, item in items:
        found = _not_finite(item, f"{key}.{name}" if key else str(name))
        if found is not None:
            return found
    return None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:160]


def collect(root: str | Path, warn: bool = True) -> pd.DataFrame:
    """One row per finished run folder under ``root``.

    A run whose record is damaged (summary.json or config.json missing, unreadable, not a JSON object, holding a
    NaN or infinite number, or lacking what a row needs) is left out with one line naming the file, on stderr when
    ``warn``, and in the table's ``attrs["damaged"]`` (point -> line) always."""
    root = Path(root)
    rows, damaged = [], {}
    for summary_path in sorted(root.glob("**/summary.json")):
        run = summary_path.parent
        point = str(run.relative_to(root))
        try:
            rows.append(_row(run, root))
        except DamagedRecord as err:
            damaged[point] = str(err)
            if warn:
                print(f"rnnlab: warning: skipping run {point}: {err}", file=sys.stderr)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table.attrs["damaged"] = damaged
    return table


def _row(run: Path, root: Path) -> dict:
    summary, config = _json_object(run / "summary.json"), _json_object(run / "config.json")
    for path, record, keys in ((run / "summary.json", summary, ("status",)),
                               (run / "config.json", config, ("dataset", "arch", "cell"))):
        wrong = [key for key in keys if not isinstance(record.get(key), str)]
        if wrong:
            raise DamagedRecord(f"{path}: lacks {', '.join(wrong)} (or holds another type)")
    try:
        summary, config = _portable_record(run, root, summary, config)
        test, train = summary.get("test") or {}, summary.get("train_eval") or {}
        metric = summary.get("metric", "nll")
        sizes = summary.get("sizes") or {}
        return {
            "point": str(run.relative_to(root)), "dataset": config["dataset"],
            "data_origin": Provenance.from_record({**summary, "dataset": config["dataset"]}).origin,
            "data_source": summary.get("data_source"), "data_sha256": summary.get("data_sha256"),
            "arch": config["arch"], "cell": config["cell"],
            **{k: sizes.get(k) for k in ("hidden", "transition_hidden", "output_hidden", "levels")},
            "n_params": summary.get("n_params"), **{k: config.get(k) for k in RECIPE_KNOBS},
            "init_from": _relative(resolve_init_from(config.get("init_from") or "", run), root),
            "seed": config.get("seed"),
            "epochs_run": summary.get("epochs_run"), "best_epoch": summary.get("best_epoch"),
            "status": summary.get("status"),
            "best_valid": summary.get("best_valid"), "test_nll": test.get("nll"),
            "test_nll_pieces": test.get("nll_pieces"), "train_nll": train.get("nll"),
            "train_nll_pieces": train.get("nll_pieces"), "test_metric": test.get(metric),
            "train_seconds": summary.get("train_seconds"), "frames_per_s": summary.get("tokens_per_s"),
            "commit": summary.get("commit"),
        }
    except DamagedRecord:
        raise
    except (AttributeError, KeyError, TypeError, ValueError, OSError) as err:  # a field of an unexpected shape
        raise DamagedRecord(f"{run / 'summary.json'}: unexpected content ({_first_line(err)})") from None


def _relative(path: str | None, root: Path) -> str:
    """A run folder as a point of the campaign in ``root`` (``jsb/dts/seed=0``); outside it, relative to it."""
    if not path:
        return ""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()


def _written_in(run: Path, root: Path, summary: dict) -> tuple[Path, Path]:
    """The folder a record was written in and its campaign's folder, on the machine that wrote it: where it is now,
    or, for a summary written before records were portable, the ``run_dir`` it names (it may come from elsewhere)."""
    recorded = summary.get("run_dir")
    if not (is_legacy_summary(summary) and isinstance(recorded, str) and os.path.isabs(recorded)):
        return run.resolve(), root.resolve()
    depth = len(run.resolve().relative_to(root.resolve()).parts)
    folder = Path(recorded)
    return folder, folder.parents[depth - 1] if depth else folder


def _portable_record(run: Path, root: Path, summary: dict, config: dict) -> tuple[dict, dict]:
    """(summary, config) of the run in ``run`` as portable records hold them (``rnnlab.train.portable``)."""
    folder, _ = _written_in(run, root, summary)
    metrics = _metrics_rows(run) if is_legacy_summary(summary) else None
    return portable_summary(summary, metrics), portable_config(config, folder)


def _metrics_rows(run: Path) -> list[dict] | None:
    """The rows of a run's metrics.csv; None without one (or an empty one); ``DamagedRecord`` for a torn one."""
    path = run / "metrics.csv"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise DamagedRecord(f"{path}: unreadable ({err.strerror or err})") from None
    if not data.strip():
        return None
    damage = csv_damage(data)
    if damage:
        raise DamagedRecord(f"{path}: {damage}")
    table = pd.read_csv(io.BytesIO(data))  # pandas reads floats back exactly as written
    return table.to_dict("records") if {"tokens_per_s", "epoch_seconds"} <= set(table.columns) else None


def beside_paper(table: pd.DataFrame, paper: str, split: str = "test") -> pd.DataFrame:
    """Our runs joined with ``paper``'s published numbers for the same dataset, arch and cell.

    Columns: dataset, arch, cell, point, ours (the paper's metric; music: per-frame NLL), ours per piece (music),
    paper, difference (ours − paper). Rows of the paper without a run of ours are kept, with empty ours. Runs on other
    data than the papers' files (a stand-in, a fallback, generated data, a non-canonical file) are left out; an old
    record whose origin is unknown is kept."""
    published = paper_results()
    published = published[(published.paper == paper) & (published.split == split) & (published.variant.isin(
        ["", "best of search"]))]
    ours = table[table.status == "ok"]
    if "data_origin" in ours:  # runs on other data than the papers' files never sit beside the papers' numbers
        ours = ours[~ours.data_origin.isin([origin for origin in ORIGINS if origin != "canonical"])]
    value = ours[f"{split}_nll"]
    if split == "test":  # non-music metrics (bpc, ppl, accuracy) live in test_metric
        value = value.astype(float).combine_first(ours["test_metric"].astype(float))
    ours = ours.assign(ours=value.astype(float), **{"ours per piece": ours[f"{split}_nll_pieces"].astype(float)})
    joined = published.merge(ours[["dataset", "arch", "cell", "point", "ours", "ours per piece"]],
                             on=["dataset", "arch", "cell"], how="left")
    joined = joined.drop(columns=["paper"]).rename(columns={"value": "paper"})
    joined["difference"] = joined["ours"] - joined["paper"]
    return joined[["table", "dataset", "arch", "cell", "metric", "point", "ours", "ours per piece", "paper",
                   "difference"]].reset_index(drop=True)


PUBLISHED_FILES = ("config.json", "summary.json", "metrics.csv", "run.log")
MAX_CURVE_ROWS = 1000  # per-update curve rows kept per published run
MAX_CHECKPOINT_BYTES = 4_000_000  # a best.pt larger than this is not copied into the repository


def binned_updates(updates: pd.DataFrame, max_rows: int = MAX_CURVE_ROWS) -> pd.DataFrame:
    """The per-update table in at most ``max_rows`` consecutive bins: last update, last wall second, mean loss, mean
    and max gradient norm, clipped fraction, last lr (what a per-update / per-second curve needs)."""
    if updates.empty:
        return updates
    size = -(-len(updates) // max_rows)
    bins = updates.groupby(pd.RangeIndex(len(updates)) // size)
    return pd.DataFrame({"update": bins["update"].last(), "epoch": bins["epoch"].last(),
                         "wall_seconds": bins["wall_seconds"].last(), "loss": bins["loss"].mean(),
                         "grad_norm": bins["grad_norm"].mean(), "grad_norm_max": bins["grad_norm"].max(),
                         "clipped": bins["clipped"].mean(), "lr": bins["lr"].last(),
                         "updates_in_bin": bins["update"].count()})


def point_group(points: pd.Series) -> pd.Series:
    """Each point's group: the point without its last part (``jsb/gru`` for ``jsb/gru/lr=0.0015``), i.e. the same
    model on the same set across draws or seeds."""
    return points.map(lambda point: point.rpartition("/")[0])  # (str.rpartition loses its columns when empty)


def best_of_groups(table: pd.DataFrame) -> set[str]:
    """The points that have the lowest best-valid of their group (a point's group is the point without its last part,
    e.g. ``jsb/gru`` for ``jsb/gru/lr=0.0015``); runs that did not end ok never count."""
    ok = table[(table.status == "ok") & table.best_valid.notna()]
    if ok.empty:
        return set()
    return set(ok.loc[ok.groupby(point_group(ok.point)).best_valid.idxmin(), "point"])


def draws_taken(table: pd.DataFrame, planned: list[str]) -> pd.Series:
    """For each group of ``planned`` (a spec's point names, e.g. ``[p.name for p in expand(spec)]``), how many of its
    points have a finished run in ``table``, as "k of n": a best-of-draws result is only the best of the draws taken.
    Ok and diverged runs count (a diverged draw was taken and lost); runs not in ``planned`` do not."""
    planned_points = pd.Series(planned, dtype=object)
    finished = set(table.loc[table.status.isin(FINISHED), "point"])
    taken = planned_points.isin(finished).groupby(point_group(planned_points), sort=False)
    return taken.sum().astype(int).astype(str) + " of " + taken.size().astype(str)


def seed_spread(campaign: pd.DataFrame, seeds: pd.DataFrame) -> pd.DataFrame:
    """How far the seed moves each winner of a best-of-draws campaign: per group (``jsb/gru``), the campaign's
    winning run together with the reruns of that group under other seeds (``jsb/gru/seed=1``, ...; a seed study such
    as experiments/chung2014_seeds.json); groups without a rerun and runs that did not end ok are left out. Columns:
    group, dataset, cell, runs, the test NLL of the winner, mean, sd (n − 1), min and max over all runs, and the mean
    per-piece NLL."""
    reruns = seeds[seeds.status == "ok"].assign(group=lambda t: point_group(t.point))
    winners = campaign[campaign.point.isin(best_of_groups(campaign))].assign(group=lambda t: point_group(t.point))
    winners = winners[winners.group.isin(set(reruns.group))]
    runs = pd.concat([winners, reruns], ignore_index=True)
    winner = winners.set_index("group").test_nll
    table = runs.groupby("group", sort=False).agg(
        dataset=("dataset", "first"), cell=("cell", "first"), runs=("test_nll", "size"),
        mean=("test_nll", "mean"), sd=("test_nll", "std"), min=("test_nll", "min"), max=("test_nll", "max"),
        mean_per_piece=("test_nll_pieces", "mean")).reset_index()
    table.insert(4, "winner", table.group.map(winner))
    return table


PROBE_COLUMNS = ("dataset", "cell", "run", "lr", "forget_bias", "epochs_run", "best_epoch", "best_valid",
                 "test_nll", "test_nll_pieces", "train_nll", "valid_vs_best", "test_vs_best")


def probe_beside_best(campaign: pd.DataFrame, probe: pd.DataFrame, against: str | None = None) -> pd.DataFrame:
    """A recipe probe beside the campaign it varies (e.g. experiments/chung2014_lstm_probe.json against
    chung2014): for every dataset the probe ran on, each cell's best campaign run (best valid among its draws, as
    the paper selects), then every probe run that ended ok, named by its model (``lstm-fb1``). ``valid_vs_best``
    and ``test_vs_best`` are a row's best valid and test NLL minus those of the campaign's best run of cell
    ``against`` on the same dataset (default: the row's own cell; negative: better). A probe that also changes the
    cell (an LSTM without peepholes) is read against the cell it replaces with ``against="lstm_peephole"``.
    Columns: ``PROBE_COLUMNS``."""
    ok = probe[probe.status == "ok"]
    campaign = campaign[campaign.dataset.isin(set(ok.dataset))]
    best = campaign[campaign.point.isin(best_of_groups(campaign))].assign(run=lambda t: "best draw: " + t.point)
    runs = ok.assign(run=ok.point.map(lambda point: point.split("/")[1]))
    table = pd.concat([best, runs], ignore_index=True)
    reference = best.set_index(["dataset", "cell"])
    keys = [(row.dataset, against or row.cell) for row in table.itertuples()]
    for column, value in (("valid_vs_best", "best_valid"), ("test_vs_best", "test_nll")):
        table[column] = [own - reference.at[key, value] if key in reference.index else float("nan")
                         for own, key in zip(table[value], keys, strict=True)]
    order = {dataset: i for i, dataset in enumerate(dict.fromkeys(ok.dataset))}
    table = table.sort_values(["dataset", "cell"], key=lambda c: c.map(order) if c.name == "dataset" else c,
                              kind="stable")
    return table[list(PROBE_COLUMNS)].reset_index(drop=True)


def publish(root: str | Path, out: str | Path, checkpoints_for: tuple[str, ...] = ("jsb",)) -> pd.DataFrame:
    """Copy a campaign's small files from the run store ``root`` into the repository folder ``out``.

    ``out/<point>/`` gets config.json, summary.json, metrics.csv, run.log, ``updates_binned.csv`` (at most
    ``MAX_CURVE_ROWS`` rows) and the best checkpoint (when small) of two kinds of run: for the datasets in
    ``checkpoints_for``, the best run of each group (the point without its last part: the best learning-rate draw,
    the best seed), so the notebooks can look inside it; and, on every dataset, each parent that another point of
    the sweep starts from (the ``spec.json`` the sweep keeps in ``root``), so that a child can run from the published
    records on another machine. ``out`` + ".csv" gets the ``collect`` table and ``out/spec.json`` the spec.
    Returns that table. Re-running updates it.

    Publishing never downgrades what is published: a point keeps its published files and row, as they were, when
    the store's record of it is

    * being written by another process now (an extension, a resume, a rerun from scratch: its lock is held);
    * an extension killed before it ended (its metrics.csv has more epochs than its summary.json);
    * not finished (interrupted, failed) while the published one is finished (ok, diverged);
    * gone (no summary.json: a rerun from scratch that was killed, a folder moved away);
    * damaged: summary.json or config.json unreadable, not an object or holding NaN/infinity; metrics.csv,
      updates.csv torn or unparsable; run.log not text; checkpoints/best.pt not a whole checkpoint; a file that
      is a folder.

    Such a point never published before is left out. The returned table's ``attrs`` name them:
    ``being_written``, ``extension_interrupted``, ``unfinished``, ``missing`` (lists of points) and ``damaged``
    (point -> one line naming the file).

    The new tree is staged beside ``out`` (``.<name>.publish-*``: the files that stay as they were are hard links)
    and swapped in with renames, tree and CSV together, every file synced first: a publish that fails (a full disk:
    one line naming the published file and the free space), is interrupted or killed changes nothing visible; a
    swap cut short between its renames is finished by the next publish. One publish into a folder at a time."""
    root, out = Path(root), Path(out)
    csv = out.with_suffix(".csv")
    for folder in (out, *out.parents):
        if folder.exists() and not folder.is_dir():
            raise RnnlabError(f"cannot publish to {str(out)!r}: {str(folder)!r} is a file, not a folder")
    if csv.is_dir():
        raise RnnlabError(f"cannot publish the table to {str(csv)!r}: it is a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _publish_error(err, out, None) from None
    with _PublishLock(out.parent):
        for stage in sorted(out.parent.glob(f".{out.name}{STAGE_MARK}*")):  # what a killed publish left
            _finish_swap(stage, out, csv)
        return _publish(root, out, csv, checkpoints_for)


STAGE_MARK = ".publish-"  # .<campaign>.publish-XXXX: a publish's staged tree, beside the published one
READY = "READY"  # in a stage: staged in full and synced, the swap may go ahead (or be finished by the next publish)


def _publish(root: Path, out: Path, csv: Path, checkpoints_for: tuple[str, ...]) -> pd.DataFrame:
    import tempfile

    from rnnlab.campaigns.spec import SPEC_FILE
    from rnnlab.train.lock import is_locked

    table = collect(root, warn=False)
    damaged: dict[str, str] = dict(table.attrs["damaged"])
    before = _published_table(csv)
    points = sorted(set(table.point) | set(before.point) | set(damaged), key=lambda point: Path(point).parts)
    being_written = [point for point in points if is_locked(root / point)]
    epochs_run = dict(zip(table.point, table.epochs_run, strict=True))
    interrupted = [point for point in points if point not in being_written and pd.notna(epochs_run.get(point))
                   and _metrics_epochs(root / point) > epochs_run[point]]
    files: dict[str, dict[str, bytes]] = {}
    for point in table.point:
        if point not in being_written and point not in interrupted:
            try:
                files[point] = _prepared(root / point, root)
            except DamagedRecord as err:
                damaged[point] = str(err)
    damaged = {point: line for point, line in damaged.items() if point not in being_written}
    finished_before = set(before.point[before.status.isin(FINISHED)])
    status = dict(zip(table.point, table.status, strict=True))
    unfinished = [point for point in files if status[point] not in FINISHED and point in finished_before]
    missing = [point for point in before.point if point not in status and point not in damaged
               and point not in being_written]
    kept = set(being_written) | set(interrupted) | set(damaged) | set(unfinished) | set(missing)
    rows = pd.concat([frame for frame in (table[~table.point.isin(kept)], before[before.point.isin(kept)])
                      if not frame.empty] or [table.iloc[:0]]).set_index("point")
    table = rows.reindex([p for p in points if p in rows.index]).reset_index()[list(COLUMNS)]
    best_points = best_of_groups(table)
    spec_bytes, parents = _spec(root / SPEC_FILE)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}{STAGE_MARK}", dir=out.parent))
    except OSError as err:
        if err.errno in DISK_FULL:
            raise disk_full(out, err) from None
        raise RnnlabError(f"cannot publish to {str(out)!r}: {err.strerror or err} in {str(out.parent)!r}; nothing "
                          "was changed") from None
    tree = stage / "tree"
    try:
        if out.exists():
            shutil.copytree(out, tree, symlinks=True, copy_function=_link_or_copy)
        else:
            tree.mkdir()
        if spec_bytes is not None:
            _put(tree / SPEC_FILE, spec_bytes)
        for point, dataset, run_status in zip(table.point, table.dataset, table.status, strict=True):
            if point not in files or point in kept:  # kept as published: its files stay as they are
                continue
            target = tree / point
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)  # its hard links only: the published files are untouched
            elif target.exists() or target.is_symlink():
                target.unlink()
            for name, data in files[point].items():
                _put(target / name, data)
            make_portable(root / point, root, target)
            best = root / point / "checkpoints" / "best.pt"
            wanted = (dataset in checkpoints_for and point in best_points) or (point in parents and run_status == "ok")
            if wanted and best.is_file() and best.stat().st_size <= MAX_CHECKPOINT_BYTES:
                _put(target / "checkpoints" / "best.pt", best.read_bytes())
        _put(stage / "table.csv", table.to_csv(index=False).encode())
        _put(stage / READY, json.dumps({"tree_inode": tree.stat().st_ino}).encode())
        fsync_folder(stage)
    except BaseException as err:
        line = _publish_error(err, out, tree, csv, stage) if isinstance(err, OSError | DiskFullError) else None
        shutil.rmtree(stage, ignore_errors=True)  # nothing visible has changed
        if line is not None:
            raise line from None
        raise
    _finish_swap(stage, out, csv)
    table.attrs.update(being_written=being_written, extension_interrupted=interrupted, unfinished=unfinished,
                       missing=missing, damaged=damaged)
    return table


def _finish_swap(stage: Path, out: Path, csv: Path) -> None:
    """Swap a staged tree and table in (``out`` and ``csv``), or drop a stage that was never finished. Idempotent:
    a swap cut short (a killed publish) is finished by running this again. The tree is exchanged with the published
    one in one ``renameat2(RENAME_EXCHANGE)`` where the system has it (``out`` is never missing), then the table
    replaced; a failure here puts the old tree back."""
    try:
        staged_inode = json.loads((stage / READY).read_text())["tree_inode"]
    except (OSError, ValueError, KeyError, TypeError):  # never finished staging: nothing was swapped
        shutil.rmtree(stage, ignore_errors=True)
        return
    tree, old, table = stage / "tree", stage / "old", stage / "table.csv"
    swapped_here = False
    try:
        if not (out.is_dir() and out.stat().st_ino == staged_inode):
            if not out.exists():
                os.rename(tree, out)
            elif not _exchange(tree, out):
                os.rename(out, old)
                os.rename(tree, out)
            swapped_here = True
        if table.exists():
            os.replace(table, csv)
        fsync_folder(out.parent)
    except BaseException:
        if swapped_here:  # the table is still the old one: so is the tree again
            if tree.exists() and _exchange(tree, out):
                pass
            elif old.exists():
                os.rename(out, tree)
                os.rename(old, out)
        shutil.rmtree(stage, ignore_errors=True)
        raise
    shutil.rmtree(stage, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic ``renameat2(..., RENAME_EXCHANGE)``; False where the system cannot."""
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _published_table(csv: Path) -> pd.DataFrame:
    """The table published before (empty when there is none); one line when it cannot be read."""
    if not csv.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    try:
        before = pd.read_csv(csv)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=list(COLUMNS))
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise RnnlabError(f"the published table {str(csv)!r} is not readable ({_first_line(err)}); move it aside "
                          "to publish afresh") from None
    if "point" not in before or "status" not in before:
        raise RnnlabError(f"the published table {str(csv)!r} has no point or status column; move it aside to "
                          "publish afresh")
    return before.reindex(columns=list(COLUMNS))


def _spec(path: Path) -> tuple[bytes | None, set[str]]:
    """The sweep's spec.json (bytes to publish, parent points); a damaged one is not published (one line)."""
    from rnnlab.campaigns.spec import parent_points

    if not path.exists():
        return None, set()
    try:
        data = path.read_bytes()
        return data, parent_points(json.loads(data))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        print(f"rnnlab: warning: {path}: not a readable sweep spec ({_first_line(err)}); the published spec.json "
              "is left as it was", file=sys.stderr)
        return None, set()


def _prepared(run: Path, root: Path) -> dict[str, bytes]:
    """The files ``publish`` writes for the run in ``run``, read and checked (``DamagedRecord`` naming a file that
    is damaged): the ``PUBLISHED_FILES`` it has, and ``updates_binned.csv`` from its updates.csv."""
    files = {}
    source_files = (*PUBLISHED_FILES, "updates.csv" if (run / "updates.csv").exists() else "updates_binned.csv",
                    "checkpoints/best.pt")
    for name in source_files:
        path = run / name
        if not path.exists() and not path.is_symlink():
            continue
        if not path.is_file():
            raise DamagedRecord(f"{path}: not a file")
        if name == "checkpoints/best.pt":
            if not zipfile.is_zipfile(path):
                raise DamagedRecord(f"{path}: not a whole checkpoint (torn or not a torch file)")
            continue
        try:
            data = path.read_bytes()
        except OSError as err:
            raise DamagedRecord(f"{path}: unreadable ({err.strerror or err})") from None
        if name.endswith(".csv"):
            damage = csv_damage(data)
            if damage:
                raise DamagedRecord(f"{path}: {damage}")
        elif name == "run.log":
            try:
                data.decode()
            except UnicodeDecodeError:
                raise DamagedRecord(f"{path}: not text") from None
        if name == "updates.csv":  # (a published tree as the store: its updates_binned.csv is copied as it is)
            try:
                binned = binned_updates(pd.read_csv(io.BytesIO(data)))
            except (KeyError, TypeError, ValueError) as err:
                raise DamagedRecord(f"{path}: not a per-update table ({_first_line(err)})") from None
            files["updates_binned.csv"] = binned.to_csv(index=False).encode()
        else:
            files[name] = data
    return files


def csv_damage(data: bytes) -> str | None:
    """What is wrong with a CSV file's bytes, in words, or None: not text, no header, a torn last line (no line
    end), a row with more or fewer fields than the header, or something pandas cannot parse."""
    import csv

    if not data.strip():
        return None  # a table without rows (a run that ended before its first epoch)
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return "not text"
    if not text.endswith("\n"):
        return "its last line is torn (no line end)"
    rows = list(csv.reader(text.splitlines()))
    width = len(rows[0])
    for number, row in enumerate(rows[1:], 2):
        if row and len(row) != width:
            return f"line {number} has {len(row)} fields, the header {width}"
    try:
        pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as err:
        return f"not parsable ({_first_line(err)})"
    return None


def _put(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path`` in a stage (it is swapped in whole, or dropped), synced."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as err:
        if not err.filename:  # a failed write names no file: this one
            err.filename = str(path)
        raise


def _link_or_copy(source: str, target: str) -> None:
    """A published file the new tree keeps as it is: a hard link (published files are only ever replaced by
    rename, never rewritten in place), or a copy where links are not possible."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _publish_error(err: OSError | DiskFullError, out: Path, tree: Path | None, csv: Path | None = None,
                   stage: Path | None = None) -> RnnlabError:
    """One line for a publish that failed on ``err``, naming the published file it was writing (not the stage)."""
    name = Path(err.filename) if err.filename else out
    for staged, published in ((tree, out), (stage / "table.csv" if stage else None, csv), (stage, out.parent)):
        if staged is not None and published is not None:
            try:
                name = published / name.relative_to(staged) if name != staged else published
                break
            except ValueError:
                continue
    if err.errno in DISK_FULL:
        return disk_full(name, OSError(err.errno, os.strerror(err.errno)))
    return RnnlabError(f"cannot publish to {str(out)!r}: {err.strerror or err}: {str(name)!r}; nothing was changed")


class _PublishLock:
    """One publish into a folder at a time: an OS lock on the folder itself (released however the holder exits)."""

    def __init__(self, folder: Path):
        self.folder, self.fd = folder, None

    def __enter__(self):
        import fcntl

        self.fd = os.open(self.folder, os.O_RDONLY)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise RnnlabError(f"another process is publishing into {str(self.folder)!r} now; run again when it has "
                              "finished") from None
        return self

    def __exit__(self, *exc):
        os.close(self.fd)  # closing releases the lock


def make_portable(run: str | Path, root: str | Path, target: str | Path | None = None) -> list[str]:
    """Rewrite the record of the run in ``run`` (a point of the campaign in ``root``), or its copy in ``target``, so
    that it names no machine (``rnnlab.train.portable``): summary.json (no host or folder, portable data fields,
    an old summary's frames per second recomputed from metrics.csv), config.json (init_from relative to the run)
    and run.log (paths relative to the run). A file already portable is left as it is; returns the names of the
    files rewritten. ``publish`` applies it to every copy; scripts/migrate_records_portable.py applied it once to
    the committed results/."""
    from rnnlab.train.runs import atomic_write_json, atomic_write_text

    run, root = Path(run), Path(root)
    target = Path(target) if target is not None else run
    summary, config = _read(target / "summary.json"), _read(target / "config.json")
    if summary is None or config is None:
        return []
    folder, campaign = _written_in(run, root, summary)
    new_summary, new_config = _portable_record(run, root, summary, config)
    rewritten = []
    if not _same(new_summary, summary):
        atomic_write_json(target / "summary.json", new_summary)
        rewritten.append("summary.json")
    if not _same(new_config, config):
        atomic_write_json(target / "config.json", new_config)
        rewritten.append("config.json")
    log = target / "run.log"
    if log.exists():
        text = log.read_text()
        portable = portable_log(text, folder, campaign)
        if portable != text:
            atomic_write_text(log, portable)
            rewritten.append("run.log")
    return rewritten


def _same(a: dict, b: dict) -> bool:
    """Equal as JSON (a NaN equals itself)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _metrics_epochs(run: Path) -> int:
    """Epochs in a run's metrics.csv (one row each), 0 without one."""
    try:
        with open(run / "metrics.csv", "rb") as metrics:
            return max(sum(1 for line in metrics if line.strip()) - 1, 0)
    except OSError:  # none, or not a file (publish names it when it reads the run's files)
        return 0
