"""docs/code.md names only what exists, its layers table is the one in ``scripts/import_graph.py``, and what it says
asks a fact does ask it.

The page is the map of the library; a module that moves (``train/sweep.py`` -> ``campaigns/sweep.py``) must move on
the map too. Every file it names (``nets/knobs.py``, ``scripts/import_graph.py``, ``cells/*.py``), every dotted
``rnnlab.x.y`` name, every ``path: symbol`` and "``NAME`` in ``path``", every ``rnnlab COMMAND [ACTION]`` and every
notebook number must exist; the layers table (§1) must list each layer of ``LAYERS`` at its rank, and every
subpackage and top-level module of ``lib/rnnlab``; in "Where each fact lives", each module or notebook said to ask
a fact must use, in its code, a name of that fact or its module (the widgets said to ask ``ARCHS`` once did not). The
other pages (README, docs/, results/README.md) are held to the first rules: the ``.py`` files, ``rnnlab.x.y`` modules
and ``rnnlab`` commands they name exist. ``test_the_checks_can_fail`` feeds each check a page with wrong names.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lib" / "rnnlab"
PAGE = ROOT / "docs" / "code.md"
OTHER_PAGES = ("README.md", "results/README.md", *(f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md"))))
# where a name in the page may be rooted: the repository, the package (``nets/knobs.py``), lib/ (``rnnlab/...``),
# docs/ (``data.md``) and notebooks/ (``03_train.ipynb``)
BASES = (ROOT, PACKAGE, ROOT / "lib", ROOT / "docs", ROOT / "notebooks")
PATH_CHARS = r"[\w<>*.-]"
FILE = re.compile(rf"(?<![\w/.<>*-])((?:{PATH_CHARS}+/)*{PATH_CHARS}*\w\.(?:py|ipynb|md|json|toml))(?![\w/])")
DOTTED = re.compile(r"(?<![\w.])rnnlab(?:\.\w+)+")
SPAN = re.compile(r"`([^`\n]+)`")
SLASHED = re.compile(rf"{PATH_CHARS}+(?:/{PATH_CHARS}+)+/?")
NAMED_IN = re.compile(r"`(\w+)` in `([^`\s]+)`")  # "`CELLS` in `cells/__init__.py`"
NOTEBOOKS = re.compile(r"\bnotebooks? (\d\d(?:(?:[–-]|, | and )\d\d)*)")


@cache
def graph():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def tracked_tops() -> frozenset[str]:
    """The repository's top-level folders and the package's subpackages: a slashed name starting elsewhere
    (``runs/``, a git-ignored folder) is not a claim about this checkout."""
    tops = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")} - {"runs", "data"}
    return frozenset(tops | {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} | {"rnnlab"})


def resolve(name: str) -> list[Path]:
    """The files or folders ``name`` may mean (globs expanded; a ``<placeholder>`` part stands for its folder)."""
    name = name.rstrip("/")
    if "<" in name:
        name = name[: name.index("<")].rpartition("/")[0]
    found = []
    for base in BASES:
        if any(c in name for c in "*?["):
            found += sorted(base.glob(name))
        elif name and (base / name).exists():
            found.append(base / name)
        elif name and "." not in name.rpartition("/")[2] and (base / f"{name}.py").is_file():
            found.append(base / f"{name}.py")  # ``viz/gradients``: the module viz/gradients.py
    if not found and "/" not in name:  # a bare name under a folder heading (the README's layout): anywhere
        found = [p for p in project_files() if p.name == name]
    return found


@cache
def project_files() -> tuple[Path, ...]:
    return tuple(p for top in ("lib", "scripts", "tests", "bench", "docs", "notebooks", "experiments", "results")
                 for p in (ROOT / top).rglob("*") if p.is_file())


@cache
def top_level_names(path: Path) -> frozenset[str]:
    """Names a module defines or imports at its top level (what ``module.NAME`` can reach)."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            names.update(ast.literal_eval(node.value))  # what a lazy ``__getattr__`` exports
    return frozenset(names)


def module_path(parts: list[str]) -> Path | None:
    """The file of the dotted module ``parts`` (``["rnnlab", "train", "runs"]``), None when there is none."""
    base = ROOT / "lib" / Path(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return base.with_suffix(".py") if base.with_suffix(".py").is_file() else None


def missing_dotted(name: str) -> str | None:
    """Why ``rnnlab.x.y`` names nothing (None when it does): its longest module prefix must exist, and the next
    part be a top-level name of that module."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        path = module_path(parts[:cut])
        if path is not None:
            if cut == len(parts) or parts[cut] in top_level_names(path):
                return None
            return f"{name}: {'.'.join(parts[:cut])} has no {parts[cut]!r}"
    return f"{name}: no such module"


def prose(markdown: str) -> str:
    """The page without its URLs (a link's address is not a name in this repository)."""
    return re.sub(r"https?://\S+", "", markdown)


def missing_files(markdown: str) -> list[str]:
    """Files named anywhere in the page (``x/y.py``, ``03_train.ipynb``, ``data.md``, ``experiments/x.json``) that do
    not exist. A bare ``.json`` name (``summary.json``, ``point.json``) is a file of a run record, not of the
    repository, and ``<placeholder>.py`` a file yet to be written (its folder must exist)."""
    names = {name for name in FILE.findall(prose(markdown)) if "/" in name or not name.endswith((".json", ".toml"))}
    return sorted(f"{name}: no such file" for name in names if not resolve(name))


def missing_modules(markdown: str) -> list[str]:
    """Dotted ``rnnlab.x.y`` names in the page that name no module or no module-level name."""
    return sorted({why for name in DOTTED.findall(prose(markdown)) if (why := missing_dotted(name))})


def missing_paths_and_symbols(markdown: str) -> list[str]:
    """Slashed paths in code spans (``viz/gradients``, ``cells/graph``), ``path: symbol`` and "``NAME`` in
    ``path``" claims, whose path or symbol does not exist."""
    problems = set()
    for span in SPAN.findall(prose(markdown)):
        path, _, symbol = (part.strip() for part in span.partition(": "))
        if not SLASHED.fullmatch(path) or path.split("/")[0] not in tracked_tops():
            continue
        found = resolve(path)
        if not found:
            problems.add(f"{path}: no such file or folder")
        elif symbol and re.fullmatch(r"\w+", symbol) and found[0].suffix == ".py" \
                and symbol not in top_level_names(found[0]):
            problems.add(f"{path}: defines no {symbol!r}")
    for symbol, path in NAMED_IN.findall(prose(markdown)):
        found = [p for p in resolve(path) if p.suffix == ".py"]
        if SLASHED.fullmatch(path) and found and symbol not in top_level_names(found[0]):
            problems.add(f"{path}: defines no {symbol!r}")
    return sorted(problems)


@cache
def subcommands() -> dict[str, frozenset[str]]:
    """The ``rnnlab`` subcommands (``SUBCOMMANDS`` in cli.py), each with its actions (``rnnlab data list``: the
    ``add_parser`` names of its module; none for most), read from the source without importing anything."""
    for node in ast.parse((PACKAGE / "cli.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "SUBCOMMANDS" for t in node.targets):
            modules = {name: module for name, (module, _) in ast.literal_eval(node.value).items()}
            break
    else:
        raise AssertionError("lib/rnnlab/cli.py has no SUBCOMMANDS")
    actions = {}
    for name, module in modules.items():
        tree = ast.parse(module_path(module.split(".")).read_text(encoding="utf-8"))
        actions[name] = frozenset(call.args[0].value for call in ast.walk(tree) if isinstance(call, ast.Call)
                                  and getattr(call.func, "attr", "") == "add_parser" and call.args
                                  and isinstance(call.args[0], ast.Constant))
    return actions


def missing_commands(markdown: str) -> list[str]:
    """``rnnlab COMMAND [ACTION] ...`` at the start of a code span or a code line whose COMMAND is not a subcommand,
    or whose ACTION is not one of the subcommand's actions (``rnnlab data show``)."""
    blocks = "\n".join(re.findall(r"^\s*```[^\n]*\n(.*?)^\s*```", markdown, flags=re.M | re.S))
    said = [*SPAN.findall(markdown), *blocks.splitlines()]
    problems = set()
    for command, action in (m.groups() for line in said
                            if (m := re.match(r"\s*(?:\$ )?rnnlab ([a-z][\w-]*)(?: ([a-z][\w-]*))?", line))):
        known = subcommands()
        if command not in known:
            problems.add(f"rnnlab {command}: no such subcommand")
        elif known[command] and action and action not in known[command]:
            problems.add(f"rnnlab {command} {action}: no such action (actions: {', '.join(sorted(known[command]))})")
    return sorted(problems)


def missing_notebooks(markdown: str) -> list[str]:
    """``notebook 07``, ``notebooks 00, 04–07``: each number (each end of a range) must be a notebook."""
    present = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    said = {n for group in NOTEBOOKS.findall(markdown) for n in re.findall(r"\d\d", group)}
    return sorted(f"notebook {n}: no notebooks/{n}_*.ipynb" for n in said - present)


def layers_table(markdown: str) -> dict[str, int]:
    """``{layer: rank}`` from the table of the page's "Layers" section (parenthesised notes left out)."""
    section = re.search(r"^## [\d.]*\s*Layers\b.*?(?=^## )", markdown, flags=re.M | re.S)
    assert section, "docs/code.md has no '## N. Layers' section"
    table = {}
    for line in section.group(0).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].isdigit():
            for name in SPAN.findall(re.sub(r"\([^)]*\)", "", cells[1])):
                table[name] = int(cells[0])
    return table


def layer_problems(markdown: str) -> list[str]:
    """The layers table against ``LAYERS`` and against the package's subpackages and top-level modules."""
    table, layers = layers_table(markdown), graph().LAYERS
    present = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    present |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    problems = [f"{name}: rank {rank} in LAYERS, missing from the table" for name, rank in layers.items()
                if name not in table]
    problems += [f"{name}: in lib/rnnlab, missing from the table" for name in sorted(present - set(table) - {*layers})]
    problems += [f"{name}: in the table, not a layer in LAYERS" for name in table if name not in layers]
    problems += [f"{name}: rank {table[name]} in the table, {layers[name]} in LAYERS" for name in table
                 if name in layers and layers[name] != table[name]]
    return problems


IDENTIFIER = re.compile(r"[A-Za-z_]\w*(?:\.\w+)*")
ASKER = re.compile(r"`([^`]+)`(?:\s*\(([^)]*)\))?|\bnotebooks? (\d\d(?:(?:[–-]|, | and )\d\d)*)(?:\s*\(([^)]*)\))?")


def notebook_files(numbers: str) -> list[Path]:
    """``"00 and 04–07"`` -> the notebooks 00, 04, 05, 06, 07."""
    wanted = set()
    for first, last in re.findall(r"(\d\d)(?:[–-](\d\d))?", numbers):
        wanted.update(f"{n:02d}" for n in range(int(first), int(last or first) + 1))
    return sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if p.name[:2] in wanted)


def identifiers(text: str) -> set[str]:
    """The code spans of ``text`` that are identifiers (``ARCHS``, ``Dataset.provenance``: each part too)."""
    found = set()
    for span in SPAN.findall(text):
        if IDENTIFIER.fullmatch(span):
            found |= {span, *span.split(".")}
    return found


def askers_problems(markdown: str) -> list[str]:
    """Each row of "Where each fact lives": every file the third column names as asking (a path, a top-level module
    such as ``generate``, a notebook number) must mention what it is said to ask: a code identifier of the first two
    columns (``ARCHS``, ``has_forget_gate``), the dotted module of a file the second column names
    (``rnnlab.train.pairs``), or an identifier in the parentheses right after it (``(through `Provenance`)``).
    Text after " — " in the third column is a note, not a claim."""
    section = re.search(r"^## [\d.]*\s*Where each fact lives\b.*?(?=^## )", markdown, flags=re.M | re.S)
    assert section, "docs/code.md has no '## N. Where each fact lives' section"
    problems = []
    for line in section.group(0).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("fact", "---"):
            continue
        fact, place, asked_by = cells[0], cells[1], cells[2].split(" — ")[0]
        asked = identifiers(fact) | identifiers(place)
        for path in SPAN.findall(place):
            for found in resolve(path):
                if found.suffix == ".py" and PACKAGE in found.parents:
                    asked.add(".".join(found.relative_to(ROOT / "lib").with_suffix("").parts).removesuffix(".__init__"))
        for span, note, numbers, notebook_note in ASKER.findall(asked_by):
            if numbers:
                files, extra = notebook_files(numbers), identifiers(notebook_note)
                label = f"notebooks {numbers}"
            elif SLASHED.fullmatch(span) or (PACKAGE / f"{span}.py").is_file():
                files = [p for p in resolve(span if "/" in span else f"{span}.py") if p.suffix == ".py"]
                extra, label = identifiers(note), span
            else:
                continue
            for file in files:
                if not (asked | extra) & code_names(file):
                    problems.append(f"{fact[:40]}...: {file.relative_to(ROOT)} ({label}) uses none of "
                                    f"{', '.join(sorted(asked | extra))} in its code")
    return problems


@cache
def code_names(file: Path) -> frozenset[str]:
    """What a module's code (or a notebook's code cells) uses, docstrings and comments left out: every name,
    attribute (``cls.gate_names``, ``getattr(cell, "candidate_names")``), imported name and imported module
    (``rnnlab.train.pairs``, also as ``from rnnlab.train import pairs``)."""
    if file.suffix == ".ipynb":
        cells = json.loads(file.read_text(encoding="utf-8"))["cells"]
        source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        source = re.sub(r"^[%!](?!=).*$", "", source, flags=re.M)  # IPython magics and shell lines
    else:
        source = file.read_text(encoding="utf-8")
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("getattr", "hasattr") \
                and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
            names.add(node.args[1].value)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names |= {alias.name, alias.asname or alias.name.split(".")[0]}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            for alias in node.names:
                names |= {alias.name, alias.asname or alias.name, f"{node.module}.{alias.name}"}
    return frozenset(n for n in names if isinstance(n, str))


CHECKS = (missing_files, missing_modules, missing_paths_and_symbols, missing_commands, missing_notebooks,
          layer_problems, askers_problems)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_code_md_names_what_exists(check):
    problems = check(PAGE.read_text(encoding="utf-8"))
    assert not problems, "docs/code.md is out of date:\n" + "\n".join(problems)


@pytest.mark.parametrize("page", OTHER_PAGES)
def test_pages_name_files_and_modules_that_exist(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    problems = missing_modules(text) + missing_commands(text)
    problems += [p for p in missing_files(text) if p.split(":")[0].endswith(".py")]
    assert not problems, f"{page} names what does not exist:\n" + "\n".join(problems)


def test_the_checks_can_fail():
    ranks: dict[int, list[str]] = {}
    for name, rank in graph().LAYERS.items():
        ranks.setdefault(rank, []).append(f"`{name}`")
    table = ["## 1. Layers", "| rank | package / module | holds |", "|---|---|---|",
             *(f"| {rank} | {', '.join(names)} (a note: `ignored`) | ... |" for rank, names in sorted(ranks.items()))]
    assert layer_problems("\n".join([*table, "## 2. Next"])) == []  # the page built from LAYERS passes
    wrong = "\n".join([
        "\n".join(table).replace("`viz`", "`vizz`").replace("| 5 |", "| 4 |"),
        "## 2. Facts",
        "`nets/knob.py: model_config`, `cells/*.pyx`, scripts/extend_draws.py, `viz/gradient`, 99_missing.ipynb",
        "`nets/knobs.py: no_such_function`, `ARCHS` in `cells/base.py`, `CELLS` in `cells/__init__.py`",
        "rnnlab.train.sweep, rnnlab.nets.no_such_name, rnnlab.nets.model_config, rnnlab.train.runs.load()",
        "`rnnlab frobnicate --x`, `rnnlab extend`, `rnnlab data show jsb`, `rnnlab data stats jsb`",
        "notebooks 00, 04–07 and 98; rnnlab has no such command (prose, not a command line)",
        "## 3. Where each fact lives",
        "| fact | its one place | who asks it |",
        "|---|---|---|",
        "| presets | `ARCHS` in `nets/archs.py` | `nets/cli.py`, the widgets (`viz/widgets.py`)",
        "| a trained model | `load_trained_model` in `train/trained.py` | `generate`, `viz/gradients.py`, notebook 07",
        "| pairs | `train/pairs.py` | notebooks 04–05, notebook 01 (through `load_dataset`) — not `viz/curves.py` |",
        "## 9. The end",
    ])
    assert missing_files(wrong) == ["99_missing.ipynb: no such file", "nets/knob.py: no such file",
                                    "scripts/extend_draws.py: no such file"]
    assert missing_modules(wrong) == ["rnnlab.nets.no_such_name: rnnlab.nets has no 'no_such_name'",
                                      "rnnlab.train.sweep: rnnlab.train has no 'sweep'"]
    assert missing_paths_and_symbols(wrong) == ["cells/*.pyx: no such file or folder",
                                                "cells/base.py: defines no 'ARCHS'",
                                                "nets/knob.py: no such file or folder",
                                                "nets/knobs.py: defines no 'no_such_function'",
                                                "viz/gradient: no such file or folder"]
    assert missing_commands(wrong) == ["rnnlab data show: no such action (actions: fetch, list, stats)",
                                       "rnnlab frobnicate: no such subcommand"]
    assert missing_notebooks(wrong) == ["notebook 98: no notebooks/98_*.ipynb"]
    assert [p.split(" uses none")[0] for p in askers_problems(wrong)] == [
        "presets...: lib/rnnlab/viz/widgets.py (viz/widgets.py)",  # the widgets did not ask ARCHS
        "a trained model...: lib/rnnlab/generate.py (generate)",  # its docstring names load_trained_model; no call
    ]
    assert layer_problems(wrong) == ["viz: rank 8 in LAYERS, missing from the table",
                                     "vizz: in the table, not a layer in LAYERS",
                                     "nets: rank 4 in the table, 5 in LAYERS"]
