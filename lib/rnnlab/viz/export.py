"""Write a plotly figure to ``figures/`` as interactive HTML and, when a Chromium exists, as PNG (kaleido 1.x).

HTML files load ``plotly.min.js`` from the same folder (written once), so they work offline and stay small.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import plotly.graph_objects as go

from rnnlab.paths import figures_dir

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """Path of an installed Chromium (``$BROWSER_PATH`` first), or None."""
    env = os.environ.get("BROWSER_PATH")
    if env and Path(env).exists():
        return env
    for name in _CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def save_figure(fig: go.Figure, name: str, folder: str | Path | None = None, png: bool = True,
                width: int = 1000, height: int = 600, scale: float = 2.0) -> dict:
    """Write ``name.html`` (and ``name.png``) into ``folder`` (default ``figures/``); return the paths written."""
    folder = Path(folder) if folder is not None else figures_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    html = folder / f"{name}.html"
    fig.write_html(html, include_plotlyjs="directory", full_html=True)
    written["html"] = html
    if png:
        chromium = find_chromium()
        if chromium is None:
            warnings.warn("no chromium found: PNG export skipped (install Debian's 'chromium'); HTML written",
                          stacklevel=2)
        else:
            os.environ.setdefault("BROWSER_PATH", chromium)
            path = folder / f"{name}.png"
            fig.write_image(path, width=width, height=height, scale=scale)
            written["png"] = path
    return written
