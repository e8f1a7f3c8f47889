"""Figure export: the same figure gives the same bytes; runs write outside the tracked files; publishing is explicit."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib

import plotly.graph_objects as go
import pytest

from rnnlab.paths import PROJECT_ROOT, figures_dir
from rnnlab.viz import export


def _figure() -> go.Figure:  # built afresh each call: equal figures, distinct objects
    return go.Figure([go.Scatter(x=[0, 1, 2, 3], y=[1.0, 0.5, 0.25, 0.125], name="decay"),
                      go.Heatmap(z=[[0, 1], [1, 0]], showscale=False)],
                     layout=dict(title="same figure", xaxis_title="t"))


def _tiny_png(pixel: int = 0) -> bytes:
    """A valid 1x1 grey PNG, built by hand (no Chromium needed)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes([0, pixel])))
            + chunk(b"IEND", b""))


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_exporting_the_same_figure_twice_leaves_every_byte_unchanged(tmp_path):
    first = export.save_figure(_figure(), "same", folder=tmp_path, png=False)
    before = _snapshot(tmp_path)
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    second = export.save_figure(_figure(), "same", folder=tmp_path, png=False)
    assert first == second and _snapshot(tmp_path) == before
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps, "unchanged files are not rewritten"
    assert b'id="rnnlab-same"' in before["same.html"]  # a name-derived div id, not a fresh uuid
    export.save_figure(_figure(), "same", folder=tmp_path / "elsewhere", png=False)
    assert (tmp_path / "elsewhere" / "same.html").read_bytes() == before["same.html"]


@pytest.mark.slow
@pytest.mark.skipif(export.find_chromium() is None, reason="no Chromium: kaleido cannot render PNGs here")
def test_the_same_figure_twice_gives_the_same_png_bytes(tmp_path):
    export.save_figure(_figure(), "same", folder=tmp_path, width=300, height=200, scale=1)
    before = _snapshot(tmp_path)
    export.save_figure(_figure(), "same", folder=tmp_path, width=300, height=200, scale=1)
    assert _snapshot(tmp_path) == before
    assert export.png_key(before["same.png"]) == export.figure_key(_figure(), 300, 200, 1)
    changed = _figure().update_layout(title="another title")
    export.save_figure(changed, "same", folder=tmp_path, width=300, height=200, scale=1)
    after = _snapshot(tmp_path)
    assert after["same.png"] != before["same.png"] and after["same.html"] != before["same.html"]


def test_png_key_is_a_valid_text_chunk_and_replaces_an_older_one():
    image = _tiny_png()
    assert export.png_key(image) is None and export.png_key(b"not a png") is None
    keyed = export.with_png_key(image, "abc")
    assert export.png_key(keyed) == "abc" and keyed.endswith(image[-12:])  # IEND stays last
    rekeyed = export.with_png_key(keyed, "def")
    assert export.png_key(rekeyed) == "def" and rekeyed.count(b"rnnlab-figure") == 1
    assert len(export._png_chunks(rekeyed)) == 4  # IHDR, IDAT, tEXt, IEND (each CRC written by _png_chunk)


def test_a_run_writes_figures_outside_the_tracked_files(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNLAB_FIGURES", raising=False)
    monkeypatch.delenv("RNNLAB_RUNS", raising=False)
    default = export.output_dir()
    assert default == PROJECT_ROOT / "runs" / "figures" and figures_dir() not in (default, *default.parents)
    if shutil.which("git") and (PROJECT_ROOT / ".git").exists():
        ignored = subprocess.run(["git", "check-ignore", "-q", str(default / "learning_curves.html")],
                                 cwd=PROJECT_ROOT)
        assert ignored.returncode == 0, "runs/figures/ must be git-ignored"
    monkeypatch.setenv("RNNLAB_RUNS", str(tmp_path / "store"))
    written = export.save_figure(_figure(), "default_folder", png=False)
    assert written["html"] == tmp_path / "store" / "figures" / "default_folder.html"
    monkeypatch.setenv("RNNLAB_FIGURES", str(tmp_path / "chosen"))
    assert export.save_figure(_figure(), "x", png=False)["html"].parent == tmp_path / "chosen"


def test_publishing_copies_only_what_changed(tmp_path):
    source, dest = tmp_path / "run", tmp_path / "figures"
    export.save_figure(_figure(), "curves", folder=source, png=False)
    (source / "roll.png").write_bytes(export.with_png_key(_tiny_png(0), "k1"))
    (source / "notes.txt").write_text("not a figure")
    assert sorted(p.name for p in export.publish_figures(source, dest)) == ["curves.html", "plotly.min.js",
                                                                             "roll.png"]
    assert not (dest / "notes.txt").exists()
    assert export.publish_figures(source, dest) == []
    (source / "roll.png").write_bytes(export.with_png_key(_tiny_png(7), "k1"))  # re-encoded, same figure key
    assert export.publish_figures(source, dest) == []
    (source / "roll.png").write_bytes(export.with_png_key(_tiny_png(7), "k2"))
    assert export.publish_figures(source, dest) == [dest / "roll.png"]


def test_workbook_publish_figures_runs_no_notebook(tmp_path, monkeypatch, capsys):
    from rnnlab import workbook

    monkeypatch.setenv("RNNLAB_FIGURES", str(tmp_path / "run"))
    monkeypatch.setattr(export, "figures_dir", lambda: tmp_path / "figures")
    monkeypatch.setattr(workbook, "execute", lambda *a, **k: pytest.fail("--publish-figures must not run notebooks"))
    export.save_figure(_figure(), "curves", png=False)
    assert workbook.main(["--publish-figures"]) == 0
    assert (tmp_path / "figures" / "curves.html").read_bytes() == (tmp_path / "run" / "curves.html").read_bytes()
    assert "published 2 changed figure file(s)" in capsys.readouterr().out


# ------------------------------------------------------------------- a sweep's figures: one plotly.js, PNGs later
def test_figures_inside_a_sweep_folder_share_its_one_plotlyjs(tmp_path):
    sweep = tmp_path / "store" / "s"
    sweep.mkdir(parents=True)
    (sweep / "spec.json").write_text("{}")  # what makes a folder a sweep's (campaigns.spec.SPEC_FILE)
    pages = [export.save_figure(_figure(), "curves", folder=sweep / point / "figures", png=False)["html"]
             for point in ("jsb/gru/lr=1e-3", "jsb/gru/lr=2e-3", "single")]
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob(export.PLOTLYJS)] == ["store/s/plotly.min.js"]
    for page in pages:
        assert sorted(p.name for p in page.parent.iterdir()) == ["curves.html"]
        src = page.read_text().split('<script charset="utf-8" src="', 1)[1].split('"', 1)[0]
        assert (page.parent / src).resolve() == (sweep / export.PLOTLYJS).resolve()
    alone = export.save_figure(_figure(), "curves", folder=tmp_path / "store" / "run" / "figures", png=False)["html"]
    assert (alone.parent / export.PLOTLYJS).is_file()  # outside a sweep: its own bundle, as before
    assert export.shared_bundle_folder(tmp_path / "store" / "run" / "figures") == tmp_path / "store" / "run" / "figures"
    too_deep = sweep / "a" / "b" / "c" / "d" / "e" / "figures"  # further below than a point's figures can lie
    assert export.shared_bundle_folder(too_deep) == too_deep


def test_a_figures_html_gives_back_its_figure():
    fig = _figure().update_layout(title="</script> é \u2028 ünïcode")
    back = export.figure_from_html(export.figure_html(fig, "same"))
    assert json.loads(back.to_json()) == json.loads(go.Figure(fig).to_json())
    with pytest.raises(ValueError, match="no rnnlab figure"):
        export.figure_from_html("<html><body>Plotly.newPlot('x', [], {})</body></html>")


def test_rendering_pngs_without_chromium_is_one_line_and_needs_none_when_all_are_current(tmp_path, monkeypatch):
    from rnnlab.cli import main

    export.save_figure(_figure(), "curves", folder=tmp_path / "run" / "figures", png=False)
    (tmp_path / "run" / "figures" / "notes.html").write_text("<html>not a figure</html>")  # skipped in a folder
    monkeypatch.setattr(export, "find_chromium", lambda: None)
    with pytest.raises(export.RnnlabError, match=r"no Chromium found to render 1 PNG\(s\)"):
        export.render_pngs([tmp_path / "run"])
    with pytest.raises(export.RnnlabError, match="holds no figure written by rnnlab"):
        export.render_pngs([tmp_path / "run" / "figures" / "notes.html"])
    assert main(["figures", str(tmp_path / "nothing")]) == 2
    assert main(["figures", str(tmp_path / "run"), "--scale", "nan"]) == 2
    page = tmp_path / "run" / "figures" / "curves.html"
    key = export.figure_key(export.figure_from_html(page.read_bytes()), 1000, 600, 2.0)
    page.with_suffix(".png").write_bytes(export.with_png_key(_tiny_png(), key))  # this figure's, at this size
    assert export.render_pngs([tmp_path]) == []  # nothing to render: no Chromium needed


@pytest.mark.slow
@pytest.mark.skipif(export.find_chromium() is None, reason="no Chromium: kaleido cannot render PNGs here")
def test_rnnlab_figures_renders_every_html_figure_of_a_sweep_once(tmp_path, capsys):
    from rnnlab.cli import main

    for point in ("a", "b"):
        export.save_figure(_figure().update_layout(title=point), "curves", folder=tmp_path / point / "figures",
                           png=False)
    assert main(["figures", str(tmp_path), "--width", "300", "--height", "200", "--scale", "1"]) == 0
    assert "rendered 2 PNG(s)" in capsys.readouterr().out
    for point in ("a", "b"):
        png = (tmp_path / point / "figures" / "curves.png").read_bytes()
        figure = export.figure_from_html((tmp_path / point / "figures" / "curves.html").read_bytes())
        assert export.png_key(png) == export.figure_key(figure, 300, 200, 1.0)  # --scale is a float
    assert export.render_pngs([tmp_path], width=300, height=200, scale=1.0) == []  # current: kept
