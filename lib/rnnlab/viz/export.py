"""Write a plotly figure as interactive HTML and, when a Chromium exists, as PNG (kaleido 1.x).

Where figures go. ``save_figure(fig, name)`` writes into ``output_dir()``: ``$RNNLAB_FIGURES`` when set, else
``runs/figures/`` beside the run store (git-ignored). So ``make run``, and any notebook run by hand, never modifies
a tracked file: run outputs stay out of the checkout. The README's figures in ``figures/`` (tracked) are refreshed
deliberately, by a separate command: ``make figures`` (``python -m rnnlab.workbook --publish-figures``) copies the
figures of the last run into ``figures/`` with ``publish_figures``, touching only those whose content changed.
Some figures legitimately change from run to run even when training is seeded (the learning curves against
seconds of training, the comparison of every run in the store), which is why ``make run`` does not write there.

Same figure, same bytes. Plotly names a figure's HTML ``<div>`` with a fresh random uuid on every export; here the
id is derived from the figure's name (``div_id``), so an identical figure gives a byte-identical HTML file, and the
file is not rewritten when its bytes would not change. A PNG carries a ``tEXt`` chunk ``rnnlab-figure`` holding a
SHA-256 of the figure's JSON, the render size and the plotly/kaleido versions (``figure_key``): when the PNG already
there carries the same key it is not rendered again (Chromium's PNG encoding is not guaranteed to be byte-stable),
and ``publish_figures`` compares PNGs by that key, not by their bytes.

HTML files load ``plotly.min.js`` from the same folder (written once per plotly version), so they work offline and
stay small.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import warnings
import zlib
from pathlib import Path

import plotly.graph_objects as go

from rnnlab.files import atomic_write
from rnnlab.paths import figures_dir, runs_dir

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
PNG_KEY = b"rnnlab-figure"  # tEXt keyword of the figure key inside every PNG written here
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def output_dir() -> Path:
    """Where ``save_figure`` writes by default: ``$RNNLAB_FIGURES``, else ``runs/figures/`` (git-ignored)."""
    env = os.environ.get("RNNLAB_FIGURES")
    return Path(env) if env else runs_dir() / "figures"


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
    """Write ``name.html`` (and ``name.png``) into ``folder`` (default ``output_dir()``, outside the checkout's
    tracked files); return the paths of the figure's files. A file whose content would not change is left alone."""
    folder = Path(folder) if folder is not None else output_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    html = folder / f"{name}.html"
    _write_if_changed(html, figure_html(fig, name))
    _write_plotlyjs(folder)
    written["html"] = html
    if png:
        chromium = find_chromium()
        if chromium is None:
            warnings.warn("no chromium found: PNG export skipped (install Debian's 'chromium'); HTML written",
                          stacklevel=2)
        else:
            os.environ.setdefault("BROWSER_PATH", chromium)
            path = folder / f"{name}.png"
            key = figure_key(fig, width, height, scale)
            if not (path.is_file() and png_key(path.read_bytes()) == key):
                image = fig.to_image(format="png", width=width, height=height, scale=scale)
                _write_if_changed(path, with_png_key(image, key))
            written["png"] = path
    return written


def figure_html(fig: go.Figure, name: str) -> bytes:
    """The figure's HTML page, loading ``plotly.min.js`` from its folder; its div id comes from ``name``, so the
    same figure always gives the same bytes."""
    div_id = "rnnlab-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)
    return fig.to_html(include_plotlyjs="directory", full_html=True, div_id=div_id).encode("utf-8")


def figure_key(fig: go.Figure, width: int, height: int, scale: float) -> str:
    """SHA-256 of what a PNG render depends on: the figure's JSON, the size and the plotly and kaleido versions."""
    from importlib.metadata import version

    digest = hashlib.sha256(fig.to_json().encode("utf-8"))
    digest.update(f"|{width}x{height}@{scale}|plotly {version('plotly')}|kaleido {version('kaleido')}".encode())
    return digest.hexdigest()


def with_png_key(image: bytes, key: str) -> bytes:
    """``image`` (a PNG) with a ``tEXt`` chunk ``rnnlab-figure: key`` before its IEND chunk (any older one dropped)."""
    chunks = [c for c in _png_chunks(image) if not (c[0] == b"tEXt" and c[1].split(b"\0", 1)[0] == PNG_KEY)]
    text = PNG_KEY + b"\0" + key.encode("ascii")
    chunks.insert(len(chunks) - 1, (b"tEXt", text))
    return _PNG_SIGNATURE + b"".join(_png_chunk(kind, data) for kind, data in chunks)


def png_key(image: bytes) -> str | None:
    """The ``rnnlab-figure`` key a PNG carries, or None (not a PNG, or written elsewhere)."""
    try:
        for kind, data in _png_chunks(image):
            keyword, _, text = data.partition(b"\0")
            if kind == b"tEXt" and keyword == PNG_KEY:
                return text.decode("ascii")
    except ValueError:
        return None
    return None


def publish_figures(source: str | Path | None = None, dest: str | Path | None = None) -> list[Path]:
    """Copy the figures in ``source`` (default ``output_dir()``, what the last run wrote) into ``dest`` (default
    ``figures/``, the README's figures); return the files that changed. An HTML or JS file is copied when its bytes
    differ, a PNG when its figure key differs (an unchanged figure is never re-encoded)."""
    source = Path(source) if source is not None else output_dir()
    dest = Path(dest) if dest is not None else figures_dir()
    if not source.is_dir():
        from rnnlab.errors import RnnlabError

        raise RnnlabError(f"no figures to publish: {str(source)!r} does not exist (run the workbook first: make run)")
    dest.mkdir(parents=True, exist_ok=True)
    changed = []
    for path in sorted(source.iterdir()):
        if not path.is_file() or path.suffix not in (".html", ".png", ".js"):
            continue
        target = dest / path.name
        new = path.read_bytes()
        if target.is_file():
            old = target.read_bytes()
            same_png = path.suffix == ".png" and png_key(new) is not None and png_key(new) == png_key(old)
            if old == new or same_png:
                continue
        target.write_bytes(new)
        changed.append(target)
    return changed


def _write_if_changed(path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` atomically (``rnnlab.files.atomic_write``: a full disk is one line naming the
    file, and nothing torn is left) unless it already holds exactly that."""
    if path.is_file() and path.read_bytes() == content:
        return False
    with atomic_write(path) as handle:
        handle.write(content)
    return True


def _write_plotlyjs(folder: Path) -> None:
    from plotly.offline import get_plotlyjs

    bundle = folder / "plotly.min.js"
    if not bundle.is_file() or bundle.stat().st_size != len(get_plotlyjs().encode("utf-8")):
        _write_if_changed(bundle, get_plotlyjs().encode("utf-8"))


def _png_chunks(image: bytes) -> list[tuple[bytes, bytes]]:
    if not image.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG")
    chunks, at = [], len(_PNG_SIGNATURE)
    while at < len(image):
        if at + 8 > len(image):
            raise ValueError("truncated PNG")
        (length,), kind = struct.unpack(">I", image[at:at + 4]), image[at + 4:at + 8]
        chunks.append((kind, image[at + 8:at + 8 + length]))
        at += 12 + length
    if not chunks or chunks[-1][0] != b"IEND":
        raise ValueError("PNG without IEND")
    return chunks


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
