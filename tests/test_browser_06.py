"""Notebook 06, the comparison dashboard, in a real browser (JupyterLab + headless Chromium through Playwright, as
test_browser.py), pointed at the published store (``results/``: 170 runs of the three papers' campaigns).

A copy of ``06_compare.ipynb`` whose ``root`` parameter names the published store is run whole in the smoke profile;
then the dashboard is used as a reader would, and the page is checked after each step:

- on load: the line says how many runs match and which are drawn ("runs 1–10 of 170 drawn"), the curves' title says
  the same, the dot plot has its row labels and none of the "no finished runs" text;
- the dataset dropdown set to ``jsb``: the count line, the page menu, the curves (title and legend) and the table
  rows follow (every row a JSB run), and the runs are labelled by the knob that tells them apart (``lr ...``);
- the page menu set to the second page: other runs in the legend and the table;
- *draw* set to the best of each model: one run per model;
- the dashboard stays at most two screens tall, and the whole notebook far below the 13,000–19,000 px it grew to.

Screenshots of each step go to a temporary folder, named in the failure message (and kept, for a person to look at).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from rnnlab.viz.export import find_chromium
from tests.conftest import PROJECT_ROOT
from tests.test_browser import CHROMIUM_ARGS, _free_port, _run_all_cells, _wait_for_a_settled_kernel

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = PROJECT_ROOT / "notebooks" / "06_compare.ipynb"
STORE = PROJECT_ROOT / "results"  # the published campaigns: 170 runs
RUN_ALL_S = 240  # reading 170 published runs twice on a loaded 2-core machine
DASHBOARD_MAX_PX = 2400  # two screens
NOTEBOOK_MAX_PX = 8000  # the whole notebook: markdown, the dashboard and the static copies (was 13,000-19,000)


@contextlib.contextmanager
def jupyterlab(root: Path, chromium: str, env: dict | None = None):
    """A token-less JupyterLab on a free localhost port serving ``root`` (kernels start without asking; cells are
    not windowed, so every output is laid out and can be measured); yields its URL."""
    home = root / "home"
    env = dict(os.environ, HOME=str(home), RNNLAB_SMOKE="1", JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               IPYTHONDIR=str(home / "ipython"), BROWSER_PATH=chromium, **(env or {}))
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"autoStartDefaultKernel": true, "windowingMode": "none"}')
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
                    raise RuntimeError(f"JupyterLab did not start; log: {(root / 'jupyterlab.log').read_text()[-2000:]}"
                                       ) from None
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def copy_with_parameters(notebook: Path, folder: Path, **values) -> Path:
    """A copy of ``notebook`` in ``folder`` whose parameters cell sets ``values`` (``root="/x"``) instead of its
    defaults (each line ``name: type = default  # comment`` keeps its type and comment)."""
    book = nbformat.read(notebook, as_version=4)
    cell = next(c for c in book.cells if "parameters" in c.metadata.get("tags", []))
    lines = cell.source.splitlines()
    for name, value in values.items():
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{name}:"))
        declared, _, comment = lines[index].partition("  #")
        lines[index] = f"{declared.split('=')[0].rstrip()} = {value!r}  #{comment}"
    cell.source = "\n".join(lines)
    copy = folder / notebook.name
    nbformat.write(book, copy)
    return copy


@pytest.fixture(scope="module")
def lab_06(tmp_path_factory):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no chromium found: the real-browser test needs Debian's chromium "
                    "(bash scripts/ensure-chromium.sh)")
    pytest.importorskip("playwright.sync_api", reason="the real-browser test needs the playwright Python package")
    if len(list(STORE.glob("*/**/summary.json"))) < 100:
        pytest.skip(f"the published store {STORE} holds fewer than 100 runs")
    root = tmp_path_factory.mktemp("lab06")
    copy_with_parameters(NOTEBOOK, root, root=str(STORE))
    with jupyterlab(root, chromium) as url:
        yield url, chromium


def _dropdown(page, label: str):
    return page.locator(".widget-dropdown", has=page.locator("label", has_text=re.compile(f"^{label}$"))).locator(
        "select")


def _wait_for_text(locator, pattern: str, timeout_s: float = 60) -> str:
    """The locator's text once it matches ``pattern`` (a redraw round-trips through the kernel)."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = locator.first.text_content() if locator.count() else ""
        if re.search(pattern, text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"{pattern!r} never showed; last text: {text[:300]!r}")


def test_the_dashboard_follows_its_filters_and_pages_and_stays_two_screens_tall(lab_06):
    from playwright.sync_api import sync_playwright

    url, chromium = lab_06
    shots = Path(tempfile.mkdtemp(prefix="rnnlab-browser-06-"))
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.add_locator_handler(page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept"),
                                 lambda button: button.click())
        try:
            page.goto(f"{url}/lab/tree/{NOTEBOOK.name}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            _wait_for_a_settled_kernel(page, console)
            _run_all_cells(page)
            dashboard = page.locator(".widget-vbox", has=_dropdown(page, "page")).first
            dashboard.wait_for(state="visible", timeout=RUN_ALL_S * 1000)
            summary = dashboard.locator(".widget-html", has_text="Drawn").first
            plots = dashboard.locator(".js-plotly-plot")
            curves, results = plots.nth(0), plots.nth(1)
            table = dashboard.locator("table.dataframe")

            text = _wait_for_text(summary, r"runs 1–10 of 170 drawn")
            assert re.search(r"\b170 of 170 runs", text), text
            assert "Runs 1–10 of 170 drawn" in curves.locator(".gtitle").text_content()
            assert table.locator("tbody tr").count() >= 10
            assert results.locator(".annotation-text").count() == 0  # no "no finished runs to tabulate" left over
            assert results.locator(".ytick text").count() == 10  # the row labels: one per drawn run
            dashboard.screenshot(path=str(shots / "1-loaded.png"))

            _dropdown(page, "dataset").select_option("jsb")
            _wait_for_text(summary, r"\b43 of 170 runs.*runs 1–10 of 43 drawn")
            _wait_for_text(curves.locator(".gtitle"), r"Runs 1–10 of 43 drawn")
            deadline = time.monotonic() + 30
            while not ((labels := _rows(table)) and all(" jsb" in label for label in labels)) \
                    and time.monotonic() < deadline:
                time.sleep(0.25)
            assert labels and all(" jsb" in label for label in labels), labels
            assert any(re.search(r" · lr \d", label) for label in labels), labels  # named by the knob that differs
            assert not any(re.search(r" #\d+$", label) for label in labels), labels
            # ipywidgets draws an option's spaces as no-break spaces
            options = [o.inner_text().replace("\xa0", " ") for o in _dropdown(page, "page").locator("option").all()]
            assert options[:2] == ["runs 1–10 of 43", "runs 11–20 of 43"], options
            assert results.locator(".annotation-text").count() == 0 and results.locator(".ytick text").count() == 10
            legend_1 = _legend(curves)
            dashboard.screenshot(path=str(shots / "2-jsb.png"))

            _dropdown(page, "page").select_option(index=1)  # "runs 11–20 of 43"
            _wait_for_text(summary, r"runs 11–20 of 43 drawn")
            _wait_for_text(curves.locator(".gtitle"), r"Runs 11–20 of 43")
            deadline = time.monotonic() + 30
            while _rows(table) == labels and time.monotonic() < deadline:
                time.sleep(0.25)
            assert not set(_rows(table)) & set(labels), "the second page lists runs of the first"
            deadline = time.monotonic() + 30
            while _legend(curves) == legend_1 and time.monotonic() < deadline:
                time.sleep(0.25)
            assert not set(_legend(curves)) & set(legend_1), "the curves of page 2 are those of page 1"
            dashboard.screenshot(path=str(shots / "3-page-2.png"))

            dashboard.locator(".widget-toggle-button", has_text="best of each model").click()
            text = _wait_for_text(summary, r"the best of each of \d+ models \(of 43 runs\)")
            models = int(re.search(r"best of each of (\d+) models", text).group(1))
            deadline = time.monotonic() + 30  # the summary line is drawn before the results plot
            while results.locator(".ytick text").count() != models and time.monotonic() < deadline:
                time.sleep(0.25)
            assert 3 <= models <= 10 and results.locator(".ytick text").count() == models

            height = dashboard.bounding_box()["height"]
            assert height <= DASHBOARD_MAX_PX, f"the dashboard is {height:.0f} px tall"
            total = page.evaluate("() => document.querySelector('.jp-Notebook').scrollHeight")
            assert total <= NOTEBOOK_MAX_PX, f"the notebook is {total} px tall"
            dashboard.screenshot(path=str(shots / "4-best-of-each.png"))
            assert page.locator("text=Error displaying widget").count() == 0
            assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                                has_text="Traceback").count() == 0
        except Exception as error:
            page.screenshot(path=str(shots / "failure.png"), full_page=True)
            tail = "\n".join(console[-15:])
            raise AssertionError(f"browser test failed ({error}); screenshots: {shots}; console:\n{tail}") from error
        finally:
            browser.close()


def _rows(table) -> list[str]:
    """The first column (the run labels) of the dashboard's table."""
    # read in one evaluation: the table is redrawn while the test reads it, and a row read one by one may be gone
    return table.locator("tbody tr td:first-child").evaluate_all("cells => cells.map(c => c.textContent.trim())")


def _legend(curves) -> list[str]:
    return curves.locator(".legendtext").evaluate_all("texts => texts.map(t => t.textContent)")
