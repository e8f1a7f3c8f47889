"""Notebook 13 in a real browser: JupyterLab on localhost, headless Chromium through Playwright (as test_browser.py).

Opens a copy of ``13_architecture_search.ipynb``, runs every cell in the smoke profile (the kernel is started by the
Jupyter server, so the notebook runs interactively: the head-to-head and the search run in the background), then
uses it as a reader would and checks what the page shows:

- the equations box: the LSTM typed in is checked (the line says two states) and drawn (the drawing gains ``c'``);
  a broken equation is one red line, with no traceback anywhere on the page;
- the search launcher: its top list fills in while the notebook is idle, and its headline says it finished;
- train against the GRU under another name: the results table is labelled by that name;
- the candidate picker: an unknown id is one line naming the valid ids; a valid id draws that candidate; the live
  search can be picked too.

Screenshots of each step go to a temporary folder (named in the failure message), for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from rnnlab.cells.graph import LIBRARY, parse_equations
from rnnlab.viz.export import find_chromium
from tests.conftest import PROJECT_ROOT
from tests.test_browser import CHROMIUM_ARGS, _free_port, _run_all_cells, _wait_for_a_settled_kernel

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = PROJECT_ROOT / "notebooks" / "13_architecture_search.ipynb"
RUN_ALL_S = 300  # smoke profile on a loaded 2-core machine: imports, two small trainings, a 4-step search
SHOTS = Path(tempfile.mkdtemp(prefix="rnnlab-browser-13-"))


@pytest.fixture(scope="module")
def notebook_13(tmp_path_factory):
    """A token-less JupyterLab on a free localhost port serving a copy of 13 (the server of test_browser.py's
    ``lab_url``, whose notebook is 04)."""
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no chromium found: the real-browser test needs Debian's chromium "
                    "(bash scripts/ensure-chromium.sh)")
    pytest.importorskip("playwright.sync_api", reason="the real-browser test needs the playwright Python package")
    root = tmp_path_factory.mktemp("lab13")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    home = root / "home"
    env = dict(os.environ, HOME=str(home), RNNLAB_SMOKE="1", JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               IPYTHONDIR=str(home / "ipython"), BROWSER_PATH=chromium)
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"autoStartDefaultKernel": true}')
    news = home / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)  # no "notified about Jupyter news?" toast over the screenshots
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port = _free_port()
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
               "--LabApp.news_url=", "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = open(root / "jupyterlab.log", "w")  # noqa: SIM115 - closed after the server stops
    server = subprocess.Popen(command, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start; log: {(root / 'jupyterlab.log').read_text()[-2000:]}")
                time.sleep(0.3)
        yield url, chromium
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _text(locator) -> str:
    return " ".join((locator.text_content() or "").split())


def _wait_text(page, locator, pattern: str, timeout_s: float) -> str:
    """Wait until ``locator``'s text matches ``pattern``; return the text."""
    deadline = time.monotonic() + timeout_s
    while True:
        text = _text(locator) if locator.count() else ""
        if re.search(pattern, text):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s:.0f} s for {pattern!r}; the page shows {text[:300]!r}")
        page.wait_for_timeout(250)


def _shot(page, locator, name: str) -> None:
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(SHOTS / f"{name}.png"))


def test_equations_box_launcher_head_to_head_and_picker(notebook_13):
    from playwright.sync_api import sync_playwright

    url, chromium = notebook_13
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.add_locator_handler(page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept"),
                                 lambda button: button.click())
        try:
            page.goto(f"{url}/lab/tree/{NOTEBOOK.name}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            _wait_for_a_settled_kernel(page, console)
            _run_all_cells(page)

            # ---- the equations box: checked and drawn as it is edited --------------------------------------------
            editor = page.locator(".widget-vbox", has=page.locator(".widget-textarea")).first
            box = editor.locator(".widget-textarea textarea")
            box.wait_for(state="attached", timeout=RUN_ALL_S * 1000)
            box.scroll_into_view_if_needed()  # JupyterLab renders only the cells on screen
            status = editor.locator(".widget-html").first
            drawing = editor.locator(".js-plotly-plot").first
            assert "a valid cell: 12 operations" in _wait_text(page, status, r"a valid cell", 120)
            _wait_text(page, drawing.locator(".gtitle"), r"^the cell in the box, as a graph$", 120)
            box.fill(LIBRARY["lstm"].strip())
            assert "two states (h, c)" in _wait_text(page, status, r"two states", 60)
            _wait_text(page, drawing, r"c': \+", 60)  # the new drawing: c' is a node now
            _shot(page, editor, "1-lstm-drawn")
            nodes_lstm = drawing.locator(".scatterlayer .point").count()
            lstm = parse_equations(LIBRARY["lstm"]).normalized()
            assert nodes_lstm == len(lstm.nodes) == 24, nodes_lstm  # x h c, 8 W, 4 +, o f i g, 2 ×, c', tanh, h'

            box.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("h' = tanh(lin(x)")  # a reader typing: every keystroke is checked
            line = _wait_text(page, status, r"expected '\)' at the end", 60)
            assert line.startswith("✗") and "last valid cell" in line, line
            assert status.locator("br").count() == 0 and "Traceback" not in _text(page.locator(".jp-Notebook"))
            assert drawing.locator(".scatterlayer .point").count() == nodes_lstm  # the LSTM stays drawn
            _shot(page, editor, "2-bad-equation")
            box.fill(LIBRARY["mgu"].strip())
            _wait_text(page, status, r"a valid cell: 12 operations", 60)

            # ---- the launcher: the top list fills in while the notebook is free ----------------------------------
            launcher = page.locator(".widget-vbox", has=page.locator(".widget-label", has_text="workers")).first
            headline = launcher.locator(".widget-html").first
            launcher.scroll_into_view_if_needed()
            _wait_text(page, headline, r"step 4\b.* of 4 \(finished\)", RUN_ALL_S)
            board = launcher.locator(".widget-html table")
            assert "gru" in _text(board) and board.locator("tbody tr").count() >= 1
            _shot(page, launcher, "3-search-finished")

            # ---- train against the GRU under a name the reader gives ---------------------------------------------
            progress = editor.locator(".widget-html").nth(2)
            progress.scroll_into_view_if_needed()
            _wait_text(page, progress, r"mgu against the GRU: 6 runs", RUN_ALL_S)  # Run All started it
            name = editor.locator(".widget-text", has=page.locator(".widget-label", has_text=re.compile("^name$")))
            name.locator("input").fill("zhou_mgu")
            name.locator("input").press("Enter")
            editor.locator("button", has_text="train against the GRU").click()
            _wait_text(page, progress, r"zhou_mgu against the GRU: 6 runs", 240)
            results = editor.locator(".widget-html table")
            cells = {_text(cell) for cell in results.locator("tbody tr td:first-child").all()}
            assert cells == {"zhou_mgu", "gru"}, cells
            _shot(page, editor, "4-head-to-head-named")

            # ---- the candidate picker: a bad id is one line, a good one is drawn; both searches -------------------
            picker = page.locator(".widget-vbox", has=page.locator(".widget-label", has_text="search")).last
            key = picker.locator(".widget-text", has=page.locator(".widget-label",
                                                                   has_text=re.compile("^candidate$"))).locator("input")
            line = picker.locator(".widget-html").first
            picker.scroll_into_view_if_needed()
            picked = picker.locator(".js-plotly-plot .gtitle")
            key.fill("9999")
            key.press("Enter")
            text = _wait_text(page, line, r"no candidate 9999", 60)
            assert text.startswith("✗ no candidate 9999 in the committed search") and "ids 0..431" in text, text
            assert "IndexError" not in _text(page.locator(".jp-Notebook"))
            _shot(page, picker, "5-unknown-id")
            key.fill("138")
            key.press("Enter")
            _wait_text(page, line, r"candidate #138 \(id 138 of 0\.\.431\)", 60)
            _wait_text(page, picked, r"candidate #138 \(the committed search\)", 60)
            _shot(page, picker, "6-candidate-138")
            picker.locator("select").select_option(label="the live search")
            key.fill("1")
            key.press("Enter")
            _wait_text(page, line, r"the live search: candidate lstm \(id 1 of 0\.\.3\)", 60)
            _wait_text(page, picked, r"candidate lstm \(the live search\)", 60)
            _shot(page, picker, "7-live-lstm")
            assert page.locator("text=Error displaying widget").count() == 0
            page.screenshot(path=str(SHOTS / "8-page.png"), full_page=True)
        except Exception as error:
            page.screenshot(path=str(SHOTS / "failure.png"), full_page=True)
            tail = "\n".join(console[-15:])
            raise AssertionError(f"browser test of 13 failed ({error}); screenshots: {SHOTS}; console:\n{tail}") \
                from error
        finally:
            browser.close()


def teardown_module():
    print(f"\nscreenshots of notebook 13 in the browser: {SHOTS}")
    if not any(SHOTS.iterdir()):
        shutil.rmtree(SHOTS, ignore_errors=True)
