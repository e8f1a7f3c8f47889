"""04's and 05's explorers used in a real browser: JupyterLab on localhost, driven by headless Chromium (Playwright).

Each test opens a copy of its notebook (autosave never touches the committed one), runs every cell in the smoke
profile (``RNNLAB_SMOKE=1`` in the server's environment), then uses the explorer as a person would and checks from
the DOM what changed on screen:

- 04 (hidden dynamics): picking another architecture redraws the heatmap and the PCA trajectory under that model's
  name and gives the layer menu that model's layers; moving the threshold rewrites the selection line.
- 05 (gradient flow): the checkpoint buttons halve the curves (at initialisation and after training -> one of
  them), the sequence-length slider redraws them over the new length (title and x range), and deselecting
  architectures leaves only the picked ones in the legend.

Screenshots of each state go to a temporary folder (named in a failure's message); ``RNNLAB_SHOTS=DIR`` keeps them
there instead, to look at. Uses Debian's chromium (never ``playwright install``); skips, saying why, without one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from rnnlab.viz.export import find_chromium
from tests.conftest import PROJECT_ROOT
from tests.test_browser import CHROMIUM_ARGS, _free_port, _run_all_cells, _wait_for_a_settled_kernel

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOKS = [PROJECT_ROOT / "notebooks" / name for name in ("04_hidden_dynamics.ipynb", "05_gradient_flow.ipynb")]
RUN_ALL_TIMEOUT_MS = 240_000  # 05's smoke profile trains six tiny models on a loaded 2-core machine
REDRAW_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A token-less JupyterLab on a free localhost port serving copies of 04 and 05; yields (url, chromium)."""
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no chromium found: the real-browser tests need Debian's chromium "
                    "(bash scripts/ensure-chromium.sh)")
    pytest.importorskip("playwright.sync_api", reason="the real-browser tests need the playwright Python package")
    root = tmp_path_factory.mktemp("lab")
    for notebook in NOTEBOOKS:
        shutil.copy(notebook, root / notebook.name)
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


@contextlib.contextmanager
def notebook_page(lab, name: str):
    """A Chromium page on notebook ``name`` with every cell run; yields (page, shot) where ``shot(label)`` saves a
    full-page screenshot. On failure: one more screenshot and the console's last lines in the message."""
    from playwright.sync_api import sync_playwright

    url, chromium = lab
    shots = Path(os.environ.get("RNNLAB_SHOTS") or tempfile.mkdtemp(prefix="rnnlab-browser-"))
    shots.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.add_locator_handler(page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept"),
                                 lambda button: button.click())

        def shot(label: str, locator=None) -> Path:
            path = shots / f"{Path(name).stem}-{label}.png"
            (locator or page).screenshot(path=str(path), **({} if locator else {"full_page": False}))
            return path

        try:
            page.goto(f"{url}/lab/tree/{name}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            _wait_for_a_settled_kernel(page, console)
            _run_all_cells(page)
            yield page, shot
            assert page.locator("text=Error displaying widget").count() == 0
            assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] "
                                ":text('Traceback')").count() == 0
        except Exception as error:
            path = shots / f"{Path(name).stem}-failure.png"
            page.screenshot(path=str(path), full_page=True)
            tail = "\n".join([line for line in console if line.startswith(("error", "warning: Error"))][-10:]
                              + console[-5:])
            raise AssertionError(f"browser test failed ({error}); screenshots in {shots}; console:\n{tail}") from error
        finally:
            browser.close()


def _control(page, label: str, kind: str):
    """The ipywidgets control of class ``kind`` (widget-dropdown, widget-slider, ...) whose label is ``label``."""
    return page.locator(f".{kind}", has=page.locator(".widget-label", has_text=label)).last


def _set_readout(page, slider, value: str) -> None:
    """Type ``value`` into a slider's readout, as a person does to set it exactly."""
    slider.locator(".widget-readout").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(value)
    page.keyboard.press("Enter")


def _wait_for_text(page, locator, text: str) -> None:
    """Wait until ``locator`` (looked up again each time: plotly may replace a title's element) contains ``text``."""
    from playwright.sync_api import expect

    expect(locator).to_contain_text(text, timeout=REDRAW_TIMEOUT_MS)


@pytest.mark.xfail(strict=False, reason="open bug (issue 28): in JupyterLab 04's explorer sometimes shows its PCA and "
                   "matches plots blank after Run All (3 of 5 runs on a loaded machine), and once the heatmap stayed "
                   "titled rnn/lstm 60 s after picking dts-rnn/tanh; remove once fixed")
def test_04_picking_an_architecture_and_a_threshold_redraws_the_explorer(lab):
    with notebook_page(lab, "04_hidden_dynamics.ipynb") as (page, shot):
        arch = _control(page, "architecture", "widget-dropdown")
        arch.wait_for(state="visible", timeout=RUN_ALL_TIMEOUT_MS)
        explorer = page.locator(".widget-vbox", has=arch).first  # the outermost: controls and plots
        explorer.scroll_into_view_if_needed()
        heatmap_title = explorer.locator(".js-plotly-plot", has_text="units on over t").locator(".gtitle").first
        pca_title = explorer.locator(".js-plotly-plot", has_text="PCA of h_t").locator(".gtitle").first
        summary = explorer.locator(".widget-html-content", has_text="matches in").first
        layer = _control(page, "layer", "widget-dropdown").locator("select")
        heatmap_title.wait_for(timeout=REDRAW_TIMEOUT_MS)
        pca_title.wait_for(timeout=REDRAW_TIMEOUT_MS)
        assert heatmap_title.text_content().startswith("rnn/lstm · level0"), heatmap_title.text_content()
        assert pca_title.text_content().startswith("rnn/lstm · level0/step0 · PCA of h_t"), pca_title.text_content()
        layers_before = layer.locator("option").all_text_contents()
        shot("explorer-lstm", explorer)

        arch.locator("select").select_option("dts-rnn/tanh")  # a deep transition: more layers than the LSTM
        _wait_for_text(page, heatmap_title, "dts-rnn/tanh")
        _wait_for_text(page, pca_title, "dts-rnn/tanh")
        layers_after = layer.locator("option").all_text_contents()
        assert layers_after != layers_before and len(layers_after) > len(layers_before), (layers_before,
                                                                                         layers_after)
        shown = layer.evaluate("s => s.options[s.selectedIndex].textContent")
        assert shown == layers_after[-1], (shown, layers_after)  # the top layer is shown first
        assert f"· {layers_after[-1]}" in heatmap_title.text_content()
        shot("explorer-dts", explorer)

        before = summary.text_content()
        assert "≥ 0.30" in before, before
        _set_readout(page, _control(page, "threshold", "widget-slider"), "-0.5")
        _wait_for_text(page, summary, "≥ -0.50")
        assert summary.text_content() != before
        shot("explorer-threshold", explorer)


def _legend(figure) -> list[str]:
    return figure.locator(".legend .traces .legendtext").all_text_contents()


def test_05_checkpoint_length_and_architectures_redraw_the_gradient_curves(lab):
    with notebook_page(lab, "05_gradient_flow.ipynb") as (page, shot):
        length = _control(page, "sequence length", "widget-slider")
        length.wait_for(state="visible", timeout=RUN_ALL_TIMEOUT_MS)
        explorer = page.locator(".widget-vbox", has=length).first  # the outermost: controls and plot
        explorer.scroll_into_view_if_needed()
        figure = explorer.locator(".js-plotly-plot").last
        title = figure.locator(".gtitle")
        traces = figure.locator(".scatterlayer .trace")
        title.wait_for(timeout=REDRAW_TIMEOUT_MS)
        assert "loss on the last of 20 steps" in title.text_content(), title.text_content()
        all_curves = traces.count()
        assert all_curves == 12, all_curves  # six models, at initialisation and after training
        shot("explorer-all", explorer)

        explorer.locator(".widget-toggle-button", has_text="init").click()
        page.wait_for_function("([el, n]) => el.querySelectorAll('.scatterlayer .trace').length === n",
                               arg=[figure.element_handle(), all_curves // 2], timeout=REDRAW_TIMEOUT_MS)
        shot("explorer-init", explorer)

        x_range = figure.locator(".xtick").all_text_contents()
        _set_readout(page, length, "10")
        _wait_for_text(page, title, "loss on the last of 10 steps")
        deadline = time.monotonic() + 30  # the axes may follow the title a moment later on a loaded machine
        while figure.locator(".xtick").all_text_contents() == x_range and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        ticks = [float(t.replace("−", "-")) for t in figure.locator(".xtick").all_text_contents()]
        assert max(ticks) <= 10 < max(float(t.replace("−", "-")) for t in x_range), (x_range, ticks)
        shot("explorer-length10", explorer)

        architectures = _control(page, "architectures", "widget-select-multiple").locator("select")
        architectures.select_option(["rnn/tanh", "rnn/gru"])
        page.wait_for_function("([el, n]) => el.querySelectorAll('.scatterlayer .trace').length === n",
                               arg=[figure.element_handle(), 2], timeout=REDRAW_TIMEOUT_MS)
        assert all(name.startswith(("rnn/tanh", "rnn/gru")) for name in _legend(figure)), _legend(figure)
        shot("explorer-two", explorer)
