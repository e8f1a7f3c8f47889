"""The project's own promises: pinned environments agree, notebooks are clean and covered, the CLI explains itself."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib

import pytest

from tests.conftest import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


def _pyproject_packages() -> list[str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + project["optional-dependencies"]["dev"]


def _environment_yml_pip_packages() -> list[str]:
    packages, in_pip = [], False
    for line in (PROJECT_ROOT / "environment.yml").read_text().splitlines():
        stripped = line.split("#", 1)[0].strip()
        if stripped == "- pip:":
            in_pip = True
        elif in_pip and stripped.startswith("- ") and not stripped.startswith("- -e"):
            packages.append(stripped[2:].strip())
    return packages


def test_environment_yml_names_the_same_pinned_packages_as_pyproject():
    assert sorted(_environment_yml_pip_packages()) == sorted(_pyproject_packages())
    assert "python=3.11" in (PROJECT_ROOT / "environment.yml").read_text()


def test_every_dependency_is_pinned_exactly():
    unpinned = [p for p in _pyproject_packages() if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][\w.]*", p)]
    assert unpinned == []


def test_product_card_layout_exists():
    for name in ("README.md", "environment.yml", "notebooks", "lib", "figures", "tests", "data", "pyproject.toml",
                 "Makefile", ".ci/run", "bench", "experiments"):
        assert (PROJECT_ROOT / name).exists(), name


def test_readme_gives_the_two_commands_and_ci_calls_the_test_command():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    ci = (PROJECT_ROOT / ".ci/run").read_text()
    commands = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert commands[-1] == "make test"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def test_notebook_is_committed_without_stray_outputs(notebook):
    """Only cells that nbval checks (``# NBVAL_CHECK_OUTPUT``) may carry outputs; no execution counts elsewhere."""
    nb = json.loads(notebook.read_text())
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        checked = "NBVAL_CHECK_OUTPUT" in "".join(cell["source"])
        if not checked:
            assert not cell.get("outputs"), f"{notebook.name} cell {index} carries outputs"
            assert cell.get("execution_count") is None, f"{notebook.name} cell {index} has an execution count"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def test_notebook_starts_with_typed_parameters_including_smoke_and_seed(notebook):
    nb = json.loads(notebook.read_text())
    first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "parameters" in first_code["metadata"].get("tags", []), "first code cell must be tagged 'parameters'"
    lines = [ln for ln in "".join(first_code["source"]).splitlines() if ln.strip() and not ln.startswith("#")]
    for line in lines:
        assert re.match(r"^\w+: (\"?)[\w| \[\],.]+\1 = .+  # \S", line), f"untyped or uncommented knob: {line!r}"
    names = {ln.split(":")[0] for ln in lines}
    assert {"smoke", "seed"} <= names
    import papermill as pm

    parsed = pm.inspect_notebook(str(notebook))
    assert set(parsed) == names, f"papermill cannot parse the knobs {sorted(names - set(parsed))}"
    assert all(p["help"] for p in parsed.values()), "every knob needs a comment papermill can show"


def test_every_notebook_is_in_the_workbook_and_the_test_matrix():
    """A new notebook must be numbered (so ``make run`` executes it) and sit where ``make test`` runs nbval."""
    from rnnlab.workbook import workbook_notebooks

    assert NOTEBOOKS, "the workbook has no notebooks"
    assert [nb.name for nb in workbook_notebooks()] == [nb.name for nb in NOTEBOOKS]
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    test_recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "notebooks" in test_recipe and "--nbval-lax" in test_recipe and "RNNLAB_SMOKE=1" in test_recipe


@pytest.mark.slow
def test_cli_help_explains_every_subcommand():
    out = subprocess.run([sys.executable, "-m", "rnnlab.cli", "--help"], capture_output=True, text=True, check=True)
    for sub in ("data", "archs", "train", "sweep", "report"):
        assert sub in out.stdout
        sub_help = subprocess.run([sys.executable, "-m", "rnnlab.cli", sub, "--help"], capture_output=True,
                                  text=True)
        assert sub_help.returncode == 0, sub_help.stderr
        assert "usage: rnnlab " + sub in sub_help.stdout


LINTED = ("lib", "tests", "bench", "notebooks", "scripts")  # every folder that holds Python


def test_ruff_lints_every_python_file_clean():
    ruff = PROJECT_ROOT / ".venv" / "bin" / "ruff"
    exe = str(ruff) if ruff.exists() else "ruff"
    result = subprocess.run([exe, "check", *LINTED], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_lint_and_the_ruff_test_cover_every_python_file():
    lint = (PROJECT_ROOT / "Makefile").read_text().split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert lint.split("ruff check", 1)[1].split() == list(LINTED)
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "*.py", "*.ipynb"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True).stdout.split()
    outside = sorted(path for path in tracked if path.split("/")[0] not in LINTED)
    assert not outside, f"Python outside the linted folders {LINTED}: {outside}"


def test_workbook_gives_only_the_training_notebook_a_fresh_run_directory(tmp_path, monkeypatch):
    """03_train writes its record (and executed copy) to a new run dir; 07_generate's run_dir (a run to read) is
    left to its own default."""
    import papermill as pm

    from rnnlab import workbook

    calls = []
    monkeypatch.setattr(pm, "execute_notebook", lambda src, dst, parameters, **kw: calls.append((src, dst, parameters)))
    monkeypatch.setattr(workbook, "runs_dir", lambda: tmp_path)
    workbook.execute(PROJECT_ROOT / "notebooks" / "03_train.ipynb", tmp_path / "nb", {})
    workbook.execute(PROJECT_ROOT / "notebooks" / "07_generate.ipynb", tmp_path / "nb", {})
    (_, train_out, train_params), (_, gen_out, gen_params) = calls
    assert train_params["run_dir"] and train_out.startswith(train_params["run_dir"])
    assert "run_dir" not in gen_params and gen_out == str(tmp_path / "nb" / "07_generate.ipynb")
