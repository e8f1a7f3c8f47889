"""The workbook in a real browser: JupyterLab on localhost, driven by headless Chromium through Playwright.

Opens ``04_hidden_dynamics.ipynb`` (a copy, so autosave never touches the committed notebook), runs every cell in
the smoke profile (``RNNLAB_SMOKE=1`` in the server's environment), moves the explorer's time slider and checks
from the DOM that the PCA plot followed: its title names the new step and the red "now" point moved. This proves
the widget stack (ipywidgets + plotly's anywidget FigureWidget in JupyterLab 4) renders and round-trips to the
kernel. Uses Debian's chromium (never ``playwright install``); skips, saying why, when there is none. On failure a
screenshot is written to a temporary folder named in the assertion message.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from rnnlab.viz.export import find_chromium
from tests.conftest import PROJECT_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = PROJECT_ROOT / "notebooks" / "04_hidden_dynamics.ipynb"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
RUN_ALL_TIMEOUT_MS = 100_000  # the smoke profile trains three tiny models; the whole test stays under 2 minutes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    """A token-less JupyterLab on a free localhost port, serving a temporary copy of the notebook."""
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no chromium found: the real-browser test needs Debian's chromium "
                    "(bash scripts/ensure-chromium.sh)")
    pytest.importorskip("playwright.sync_api", reason="the real-browser test needs the playwright Python package")
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    home = root / "home"
    env = dict(os.environ, HOME=str(home), RNNLAB_SMOKE="1", JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               IPYTHONDIR=str(home / "ipython"), BROWSER_PATH=chromium)
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)  # start the notebook's kernel without asking ("Select Kernel" dialog)
    (settings / "tracker.jupyterlab-settings").write_text('{"autoStartDefaultKernel": true}')
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


def _wait_for_a_settled_kernel(page, console: list[str], settle_s: float = 3.0, timeout_s: float = 60) -> None:
    """Wait until the notebook's kernel is idle and has stayed so, with no new kernel connection, for ``settle_s``.

    JupyterLab may connect to the kernel twice while it opens a notebook (or ask which kernel to start); cells run
    before the last connection are silently dropped.
    """
    deadline = time.monotonic() + timeout_s
    quiet_since, connections = None, -1
    while time.monotonic() < deadline:
        now_connections = sum("Starting WebSocket" in line for line in console)
        idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0
        dialog = page.locator(".jp-Dialog").count() > 0
        if not idle or dialog or now_connections != connections:
            quiet_since, connections = time.monotonic(), now_connections
        elif time.monotonic() - quiet_since >= settle_s:
            return
        page.wait_for_timeout(250)
    raise TimeoutError("the notebook's kernel did not settle (idle, connected once) within a minute")


STARTED = "() => [...document.querySelectorAll('.jp-InputPrompt')].some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"


def _run_all_cells(page, attempts: int = 3) -> None:
    """Run > Run All Cells, retried when no cell started (a click can be lost while the kernel (re)connects)."""
    for _ in range(attempts):
        page.click(".lm-MenuBar-item:has-text('Run')")
        page.click(".lm-Menu-item[data-command='runmenu:run-all']")
        try:
            page.wait_for_function(STARTED, timeout=10_000)
            return
        except Exception:  # noqa: BLE001 - retried; the final wait below reports the failure
            page.keyboard.press("Escape")
    page.wait_for_function(STARTED, timeout=1_000)


def test_moving_the_time_slider_moves_the_point_on_the_pca_trajectory(lab_url):
    from playwright.sync_api import sync_playwright

    url, chromium = lab_url
    shots = Path(tempfile.mkdtemp(prefix="rnnlab-browser-"))
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        # should JupyterLab still ask which kernel to start, accept its default (the notebook's python3)
        page.add_locator_handler(page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept"),
                                 lambda button: button.click())
        try:
            page.goto(f"{url}/lab/tree/{NOTEBOOK.name}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            _wait_for_a_settled_kernel(page, console)
            _run_all_cells(page)

            time_slider = page.locator(".widget-slider", has=page.locator(".widget-label", has_text="time t"))
            time_slider.wait_for(state="visible", timeout=RUN_ALL_TIMEOUT_MS)
            trajectory = page.locator(".widget-vbox .js-plotly-plot", has_text="PCA of h_t")
            title = trajectory.locator(".gtitle")
            now = trajectory.locator(".scatterlayer .trace").last.locator(".point")
            title.wait_for(timeout=30_000)
            before_title, before_point = title.text_content(), now.get_attribute("transform")
            assert "t = 0" in before_title, before_title

            readout = time_slider.locator(".widget-readout")
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("5")
            page.keyboard.press("Enter")
            page.wait_for_function(
                "(el) => el.textContent.includes('t = 5')", arg=title.element_handle(), timeout=30_000)
            after_title = title.text_content()
            assert after_title != before_title
            # the title and the traces are redrawn in separate steps: on a loaded machine the point can move a moment
            # after the title, so wait (bounded) for it rather than read it once
            after_point, deadline = now.get_attribute("transform"), time.monotonic() + 30
            while after_point == before_point and time.monotonic() < deadline:
                page.wait_for_timeout(100)
                after_point = now.get_attribute("transform")
            assert after_point != before_point, "the red point did not move within 30 s of the title"
            assert page.locator("text=Error displaying widget").count() == 0
        except Exception as error:
            shot = shots / "failure.png"
            page.screenshot(path=str(shot), full_page=True)
            tail = "\n".join(console[-15:])
            raise AssertionError(f"browser test failed ({error}); screenshot: {shot}; console:\n{tail}") from error
        finally:
            browser.close()
