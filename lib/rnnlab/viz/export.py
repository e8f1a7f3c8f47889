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

HTML files load ``plotly.min.js`` (4.8 MB) by a relative path, so they work offline and stay small (~10 KB): from
their own folder (written there once per plotly version), or, for a figure inside a sweep's folder of the run store
(an ancestor at most ``SHARED_LEVELS`` up that holds the sweep's ``spec.json``), from that sweep folder, so the
points of a sweep share one bundle instead of each carrying a copy (a run folder copied out of its sweep draws its
HTML only with that bundle at the same relative place; its PNGs need none).

PNGs on demand. A PNG costs a Chromium start (seconds, ~13 s per figure on the 2-core machine), so a sweep point's
figures are HTML only (``png=False``) and ``rnnlab figures PATH`` (``render_pngs``) renders them later, all in one
Chromium: each ``NAME.html`` written here holds its figure (``figure_from_html`` reads it back), and gets a
``NAME.png`` beside it unless a PNG of the same figure key is there already.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import warnings
import zlib
from pathlib import Path

import plotly.graph_objects as go

from rnnlab.campaigns.spec import SPEC_FILE
from rnnlab.errors import RnnlabError
from rnnlab.files import atomic_write
from rnnlab.paths import figures_dir, runs_dir

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
PLOTLYJS = "plotly.min.js"
SHARED_LEVELS = 5  # a sweep point's figures folder: <sweep>/<dataset>/<model>/<values>/figures
_DIV_PREFIX = "rnnlab-"  # every HTML figure written here: <div id="rnnlab-NAME">
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
    bundle = shared_bundle_folder(folder)
    _write_plotlyjs(bundle)
    _write_if_changed(html, figure_html(fig, name, Path(os.path.relpath(bundle / PLOTLYJS, folder)).as_posix()))
    written["html"] = html
    if png:
        chromium = find_chromium()
        if chromium is None:
            warnings.warn("no chromium found: PNG export skipped (install Debian's 'chromium'); HTML written",
                          stacklevel=2)
        else:
            os.environ.setdefault("BROWSER_PATH", chromium)
            path = folder / f"{name}.png"
            _write_png(fig, path, width, height, scale)
            written["png"] = path
    return written


def shared_bundle_folder(folder: Path) -> Path:
    """Where the HTML figures of ``folder`` load ``plotly.min.js`` from: the sweep folder ``folder`` lies in (the
    nearest ancestor at most ``SHARED_LEVELS`` up that holds a ``spec.json``), else ``folder`` itself."""
    folder = Path(folder).absolute()
    for ancestor in list(folder.parents)[:SHARED_LEVELS]:
        if (ancestor / SPEC_FILE).is_file():
            return ancestor
    return folder


def figure_html(fig: go.Figure, name: str, plotlyjs: str = PLOTLYJS) -> bytes:
    """The figure's HTML page, loading ``plotly.min.js`` from ``plotlyjs`` (a path relative to the page); its div id
    comes from ``name``, so the same figure always gives the same bytes."""
    div_id = _DIV_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "-", name)
    include = "directory" if plotlyjs == PLOTLYJS else plotlyjs  # "directory": the bytes of earlier releases
    return fig.to_html(include_plotlyjs=include, full_html=True, div_id=div_id).encode("utf-8")


def figure_from_html(page: str | bytes) -> go.Figure:
    """The figure an HTML page of ``figure_html`` draws (its ``Plotly.newPlot`` data and layout), for rendering it
    again (``render_pngs``); a ``ValueError`` when the page holds no such figure."""
    text = page.decode("utf-8") if isinstance(page, bytes) else page
    match = re.search(r'Plotly\.newPlot\(\s*"' + _DIV_PREFIX + r'[A-Za-z0-9_-]*",\s*', text)
    if match is None:
        raise ValueError("no rnnlab figure in this page (Plotly.newPlot of an rnnlab-... div)")
    decoder = json.JSONDecoder()
    data, at = decoder.raw_decode(text, match.end())
    comma = re.compile(r"\s*,\s*").match(text, at)
    if comma is None:
        raise ValueError("the page's figure has data but no layout")
    layout, _ = decoder.raw_decode(text, comma.end())
    return go.Figure(data=data, layout=layout)


def render_pngs(paths, width: int = 1000, height: int = 600, scale: float = 2.0) -> list[Path]:
    """Render ``NAME.png`` beside every HTML figure written here (``NAME.html`` holding an rnnlab figure) found at
    ``paths`` (files, or folders searched recursively), in one Chromium; return the PNGs written. A PNG of the same
    figure key (figure, size, versions) already there is kept. No Chromium is one ``RnnlabError`` line."""
    pages = []
    for path in map(Path, paths):
        if not path.exists():
            raise RnnlabError(f"{str(path)!r} does not exist; give run folders, sweep folders or HTML figures")
        found = sorted(path.rglob("*.html")) if path.is_dir() else [path]
        for page in found:
            try:
                pages.append((page, figure_from_html(page.read_bytes())))
            except (ValueError, UnicodeDecodeError):
                if not path.is_dir():  # named on its own: say so; met in a folder: not one of ours, skipped
                    raise RnnlabError(f"{str(page)!r} holds no figure written by rnnlab") from None
    todo = [(page.with_suffix(".png"), fig) for page, fig in pages
            if not _png_is_current(page.with_suffix(".png"), figure_key(fig, width, height, scale))]
    if not todo:
        return []
    chromium = find_chromium()
    if chromium is None:
        raise RnnlabError(f"no Chromium found to render {len(todo)} PNG(s): install Debian's 'chromium' (or set "
                          "BROWSER_PATH to a Chrome or Chromium); the HTML figures need none")
    os.environ.setdefault("BROWSER_PATH", chromium)
    import kaleido

    kaleido.start_sync_server(silence_warnings=True)  # one Chromium for every PNG
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The kopts argument is ignored")  # plotly's, said once per figure
            for path, fig in todo:
                _write_png(fig, path, width, height, scale)
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
    return [path for path, _ in todo]


def _png_is_current(path: Path, key: str) -> bool:
    return path.is_file() and png_key(path.read_bytes()) == key


def _write_png(fig: go.Figure, path: Path, width: int, height: int, scale: float) -> bool:
    """Render ``fig`` into ``path`` with its figure key, unless the PNG there already carries that key."""
    key = figure_key(fig, width, height, scale)
    if _png_is_current(path, key):
        return False
    image = fig.to_image(format="png", width=width, height=height, scale=scale)
    return _write_if_changed(path, with_png_key(image, key))


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

    bundle = folder / PLOTLYJS
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
