"""Run records that name no machine: how a record names its data, its parent run and its own files, and the
rewriting of records written before it did.

A run record is read on other machines (results/ is committed, a run store may be copied), so it holds no absolute
path and no host name:

* ``config.json``'s ``init_from`` (the run whose best checkpoint initialised this one: Pascanu's pretraining) is
  relative to the run's own folder, e.g. ``../../dts/seed=0``: :func:`relative_init_from` when the record is
  written, :func:`resolve_init_from` when it is read (``rnnlab.train.runs.read_config``), so a run store and its
  published copy under results/ both find the parent beside the child. A path *given* to the trainer or to
  ``rnnlab train --init-from`` is relative to the working directory, as any path typed there.
* ``summary.json`` names its data by set, file (as in a data folder) and sha256: ``data_source`` ``canonical jsb
  (polyphonic/JSB Chorales.pickle)``, ``data_files`` ``{"polyphonic/JSB Chorales.pickle": "<sha256>"}``
  (``rnnlab.data.canonical_source``, ``record_path``); it has no ``host`` and no ``run_dir``, and its
  ``tokens_per_s`` is the run's average (``average_rate``).
* ``run.log`` names the files of its own folder relative to it (:func:`portable_log`).

:func:`portable_config`, :func:`portable_summary` and :func:`portable_log` rewrite a record of either age into this
form: ``rnnlab.campaigns.results`` publishes through them, and scripts/migrate_records_portable.py ran them once over
the committed results/. :data:`ABSOLUTE_PATH` is what looks like a machine's path in a record's text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from rnnlab.data.registry import portable_source, record_path

LEGACY_SUMMARY_KEYS = ("host", "run_dir")  # only in summaries written before records were portable
# A path from the root of some machine's disk, where a record's text could hold one: after a quote, a space, a
# bracket, "=" or ":" (``canonical:/data/...``); two parts at least ("/x/y"), so "nats/frame" or "1/(1+t)" are not
# paths. Also a home folder (~/x) and a Windows drive (C:\x).
ABSOLUTE_PATH = re.compile(r"(?:^|(?<=[\s'\"(=:,\[{]))(?:/[\w.@+~-]+/[^\s'\"]*|~/[^\s'\"]+|[A-Za-z]:\\[^\s'\"]+)")


def relative_init_from(init_from: str, run_dir) -> str:
    """``init_from`` as the record of the run in ``run_dir`` keeps it: relative to that folder (``../rnn/seed=0``).
    An empty or already relative value is returned unchanged. Purely lexical: both paths are taken as written
    (``run_dir`` made absolute first), so an old record's paths from another machine can be rewritten here."""
    if not init_from or not os.path.isabs(init_from):
        return init_from
    try:
        return Path(os.path.relpath(os.path.normpath(init_from), os.path.abspath(run_dir))).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return init_from


def resolve_init_from(init_from: str, run_dir) -> str:
    """The folder a recorded ``init_from`` names, absolute: a relative value is resolved against the run's folder
    ``run_dir``; an absolute one (a record written before they were relative) is returned as recorded, so the
    fingerprint of its checkpoints (``rnnlab.train.checkpoints``) still matches."""
    if not init_from or os.path.isabs(init_from):
        return init_from
    return str((Path(run_dir).resolve() / init_from).resolve())


def portable_config(config: Mapping, run_dir) -> dict:
    """A ``config.json`` dict with ``init_from`` relative to ``run_dir``, the folder the record was written in (for
    an old record from another machine: the ``run_dir`` its summary named)."""
    out = dict(config)
    if out.get("init_from"):
        out["init_from"] = relative_init_from(str(out["init_from"]), run_dir)
    return out


def is_legacy_summary(summary: Mapping) -> bool:
    """Written before records were portable: it names its host and folder, and its ``tokens_per_s`` is the last
    epoch's rate, not the run's."""
    return any(key in summary for key in LEGACY_SUMMARY_KEYS)


def portable_summary(summary: Mapping, metrics: list[dict] | None = None) -> dict:
    """A ``summary.json`` dict as new records write it: no ``host``/``run_dir``, ``data_source`` and ``data_files``
    without the machine's folders (values otherwise unchanged). An old summary's ``tokens_per_s`` (its last epoch's
    rate) becomes the run's average over ``metrics`` (the rows of its metrics.csv) when they are given. A summary
    that is portable already is returned equal."""
    out = {key: value for key, value in summary.items() if key not in LEGACY_SUMMARY_KEYS}
    if "data_source" in out:
        out["data_source"] = portable_source(str(out.get("dataset")), out["data_source"])
    files = out.get("data_files")
    if isinstance(files, Mapping):
        out["data_files"] = {record_path(path): sha256 for path, sha256 in files.items()}
    if is_legacy_summary(summary) and metrics is not None:
        out["tokens_per_s"] = average_rate(metrics)
    return out


def portable_log(text: str, run_dir, root=None) -> str:
    """``run.log`` text with every path under ``root`` (default: the run's folder ``run_dir`` itself) written
    relative to ``run_dir``: ``checkpoints/last.pt``, ``.``, or a sibling run ``../../dts/seed=0``. ``run_dir`` is
    the folder the log was written in (an old record's summary names it). A path runs to the next space, quote,
    bracket, comma or semicolon (run folders have none)."""
    pairs = set()
    for form in (os.path.abspath, lambda path: str(Path(path).resolve())):
        pairs.add((form(root if root is not None else run_dir), form(run_dir)))
    for base, folder in sorted(pairs, key=lambda pair: -len(pair[0])):
        if base in ("/", ""):
            continue
        pattern = re.compile(re.escape(base) + r"(?![^/\s'\"(),;])[^\s'\"(),;]*")
        text = pattern.sub(lambda match, folder=folder: Path(os.path.relpath(match.group(0), folder)).as_posix(),
                           text)
    return text


def average_rate(history: list[dict]) -> float | None:
    """The run's training throughput: tokens (music: frames) over training seconds, summed over every epoch (the
    last epoch's rate alone misreports a run whose speed varied)."""
    seconds = sum(row["epoch_seconds"] for row in history)
    if not history or seconds <= 0:
        return None
    return sum(row["tokens_per_s"] * row["epoch_seconds"] for row in history) / seconds
