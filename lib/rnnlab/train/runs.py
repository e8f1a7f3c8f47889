"""The run store: one directory per run, written atomically, read back as one pandas DataFrame.

A run directory holds::

    config.json        the full TrainConfig
    metrics.csv        one row per epoch (train/valid metric, lr, grad norm, clip events, wall seconds, tokens/s)
    updates.csv        one row per update (train loss, grad norm, lr, wall seconds) for per-update curves
    checkpoints/last.pt, checkpoints/best.pt
    summary.json       dataset, data_source, arch, cell, sizes, n_params, epochs_run, best_valid, test, status, ...
    figures/           figures the training notebook wrote

Every file is written to a temporary name in the same directory and renamed into place, so a reader never sees a
half-written file and a killed run leaves the previous version intact.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pandas as pd
import torch

from rnnlab.data.atomic import atomic_write
from rnnlab.paths import runs_dir


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_write(path) as handle:
        handle.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def atomic_torch_save(path: Path, obj) -> None:
    with atomic_write(path) as handle:
        torch.save(obj, handle)


def new_run_dir(root: Path | None, name: str) -> Path:
    """A fresh, unique run directory under ``root`` (never shared with a concurrent run)."""
    root = Path(root) if root is not None else runs_dir()
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    while True:
        path = root / f"{stamp}-{name}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def read_summary(run_dir: Path) -> dict | None:
    path = Path(run_dir) / "summary.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())


def load(root: Path | str | None = None) -> pd.DataFrame:
    """All runs under ``root`` as one DataFrame, one row per run (summary fields flattened; ``test_*`` columns)."""
    root = Path(root) if root is not None else runs_dir()
    rows = []
    for summary_path in sorted(root.glob("**/summary.json")):
        summary = json.loads(summary_path.read_text())
        row = {k: v for k, v in summary.items() if not isinstance(v, dict)}
        for key, value in summary.get("test", {}).items():
            row[f"test_{key}"] = value
        for key, value in summary.get("sizes", {}).items():
            row[key] = value
        row["run_dir"] = str(summary_path.parent)
        rows.append(row)
    return pd.DataFrame(rows)


def load_metrics(run_dir: Path | str, which: str = "metrics") -> pd.DataFrame:
    """Per-epoch (``metrics``) or per-update (``updates``) table of one run."""
    path = Path(run_dir) / f"{which}.csv"
    return pd.read_csv(path) if path.exists() else pd.DataFrame()
