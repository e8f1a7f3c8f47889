"""Execute the workbook headlessly: every numbered notebook, in order, with papermill.

``make run`` calls ``python -m rnnlab.workbook``. Executed notebooks land in ``runs/notebooks/``; the notebooks
themselves write their figures (PNG + interactive HTML) to ``runs/figures/`` (``rnnlab.viz.export.output_dir``), so
a run leaves the checkout as it found it. ``make figures`` (``python -m rnnlab.workbook --publish-figures``) is the
deliberate step that copies those figures into the tracked ``figures/`` shown by the README (only the ones whose
content changed). Parameters can be overridden for all notebooks at once (``-p smoke=True``), e.g. for a quick
end-to-end check.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

from rnnlab.paths import PROJECT_ROOT, runs_dir

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
# Notebooks whose ``run_dir`` knob names the run record they write (other notebooks' ``run_dir`` reads a run).
RUN_RECORD_NOTEBOOKS = ("03_train.ipynb",)


def workbook_notebooks() -> list[Path]:
    """The workbook's notebooks in reading order (``NN_name.ipynb``)."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def execute(notebook: Path, out_dir: Path, parameters: dict) -> float:
    """Run one notebook with papermill; return wall seconds. Raises papermill's error on a failing cell.

    The training notebook (``RUN_RECORD_NOTEBOOKS``) gets a fresh run directory, and its executed copy is written
    into that run directory, beside the run record it produced.
    """
    import papermill as pm

    parameters = dict(parameters)
    if notebook.name in RUN_RECORD_NOTEBOOKS and not parameters.get("run_dir"):
        from rnnlab.train.runs import new_run_dir

        parameters["run_dir"] = str(new_run_dir(runs_dir() / "workbook", notebook.stem))
        out_dir = Path(parameters["run_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    pm.execute_notebook(
        str(notebook),
        str(out_dir / notebook.name),
        parameters=parameters,
        cwd=str(NOTEBOOK_DIR),
        kernel_name="python3",
        progress_bar=False,
    )
    return time.perf_counter() - start


def _parse_parameter(text: str) -> tuple[str, object]:
    name, _, raw = text.partition("=")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnlab.workbook", description=__doc__)
    parser.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="parameter passed to every notebook (Python literal), e.g. -p smoke=True")
    parser.add_argument("--only", nargs="*", help="run only notebooks whose file name contains one of these")
    parser.add_argument("--out", type=Path, default=runs_dir() / "notebooks", help="folder for executed notebooks")
    parser.add_argument("--publish-figures", action="store_true",
                        help="run nothing: copy the figures of the last run (runs/figures/) into figures/, the "
                             "README's figures, changing only those whose content changed")
    args = parser.parse_args(argv)
    if args.publish_figures:
        from rnnlab.viz.export import output_dir, publish_figures

        changed = publish_figures()
        print(f"[workbook] published {len(changed)} changed figure file(s) from {output_dir()} to figures/"
              + "".join(f"\n  {p.name}" for p in changed), flush=True)
        return 0
    parameters = dict(_parse_parameter(p) for p in args.parameter)
    notebooks = [nb for nb in workbook_notebooks() if not args.only or any(s in nb.name for s in args.only)]
    if not notebooks:
        print("rnnlab workbook: no notebooks to run", file=sys.stderr)
        return 1
    total = 0.0
    for nb in notebooks:
        print(f"[workbook] {nb.name} ...", flush=True)
        seconds = execute(nb, args.out, parameters)
        total += seconds
        print(f"[workbook] {nb.name} done in {seconds:.0f} s", flush=True)
    print(f"[workbook] {len(notebooks)} notebooks in {total:.0f} s; executed copies in {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
