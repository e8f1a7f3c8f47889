"""Checks on what a notebook cell shows, applied while nbval runs the notebooks (``make test``).

nbval (``--nbval-lax``) executes every code cell and fails only on an exception, so a cell that silently renders an
empty table or a figure without traces passes. ``notebooks/conftest.py`` wraps each cell's test: after nbval has run
the cell, the outputs it collected (``item.test_outputs``: stream text, display data and results, as nbformat output
nodes) are checked against the expectations of ``tests/notebook_expectations.py``, keyed by notebook file name and
cell id (the ``id`` field nbformat 4.5 gives every cell; readers never see it). The notebooks carry no test markup
and run once.

A cell's outputs are sorted into kinds: ``figure`` (Plotly JSON), ``table`` (a DataFrame or Styler rendered as an
HTML table), ``widget``, ``markdown``, ``html`` (other HTML: audio players, download links) and text (stdout and
displays that are plain text only). Figure, Table, Widget, Markdown and Html checks are matched in order to the
outputs of their kind, and a checked cell must show exactly as many outputs of each of these kinds as it has checks
of that kind (an extra or a missing figure fails). Text checks search the cell's text with a regular expression.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import numpy as np

PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"

Bound = int | tuple[float, float]  # an exact count, or an inclusive (low, high) range


def _within(value: float, bound: Bound) -> bool:
    if isinstance(bound, tuple):
        return bound[0] <= value <= bound[1]
    return value == bound


def _show(bound: Bound) -> str:
    return f"between {bound[0]} and {bound[1]}" if isinstance(bound, tuple) else str(bound)


# ---------------------------------------------------------------------------------------------------- outputs


def output_kind(output: Mapping) -> str:
    """'figure', 'table', 'widget', 'markdown', 'html', 'text' or 'stderr' for one nbformat output."""
    if output.get("output_type") == "stream":
        return "text" if output.get("name") == "stdout" else "stderr"
    if output.get("output_type") == "error":
        return "error"
    data = output.get("data", {})
    if PLOTLY in data:
        return "figure"
    if WIDGET in data:
        return "widget"
    html = data.get("text/html", "")
    if "<table" in html:
        return "table"
    if "text/markdown" in data:
        return "markdown"
    if html:
        return "html"
    return "text"


def output_text(output: Mapping) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    return output.get("data", {}).get("text/plain", "")


# ---------------------------------------------------------------------------------------------------- tables


class _TableParser(HTMLParser):
    """The first HTML table's rows: (header rows, body rows), each a list of (text, is_th, colspan, rowspan)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.head: list[list] = []
        self.body: list[list] = []
        self.section = None
        self.cell = None
        self.row = None
        self.done = False
        self.caption = ""

    def handle_starttag(self, tag, attrs):
        if self.done:
            return
        attrs = dict(attrs)
        if tag == "thead":
            self.section = self.head
        elif tag == "tbody":
            self.section = self.body
        elif tag == "tr" and self.section is not None:
            self.row = []
            self.section.append(self.row)
        elif tag in ("th", "td") and self.row is not None:
            self.cell = [tag == "th", int(attrs.get("colspan") or 1), int(attrs.get("rowspan") or 1), ""]

    def handle_endtag(self, tag):
        if self.done:
            return
        if tag in ("th", "td") and self.cell is not None:
            is_th, colspan, rowspan, text = self.cell
            self.row.append((text.strip().replace("\xa0", ""), is_th, colspan, rowspan))
            self.cell = None
        elif tag == "tr":
            self.row = None
        elif tag in ("thead", "tbody"):
            self.section = None
        elif tag == "table":
            self.done = True

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[3] += data


def _grid(rows: list[list]) -> list[list[tuple[str, bool]]]:
    """Expand colspan and rowspan: every row gets one (text, is_th) per column (spanned cells repeat)."""
    grid: list[list[tuple[str, bool]]] = []
    pending: dict[int, tuple[int, tuple[str, bool]]] = {}  # column -> (rows left, cell) from a rowspan above
    for row in rows:
        out: list[tuple[str, bool]] = []
        cells = iter(row)
        column = 0
        while True:
            if column in pending:
                left, cell = pending[column]
                out.append(cell)
                pending[column] = (left - 1, cell)
                if left - 1 == 0:
                    del pending[column]
                column += 1
                continue
            try:
                text, is_th, colspan, rowspan = next(cells)
            except StopIteration:
                break
            for _ in range(colspan):
                if rowspan > 1:
                    pending[column] = (rowspan - 1, (text, is_th))
                out.append((text, is_th))
                column += 1
        while column in pending:  # rowspans that reach past this row's last cell
            left, cell = pending.pop(column)
            out.append(cell)
            if left > 1:
                pending[column] = (left - 1, cell)
            column += 1
        grid.append(out)
    return grid


@dataclass
class ParsedTable:
    """An HTML table as shown: its column labels (index columns first) and body cells."""

    index_labels: list[str]  # labels of the index columns (the index names; '' when unnamed)
    columns: list[str]  # labels of the data columns; MultiIndex levels joined with ' / '
    parts: list[tuple[str, ...]]  # header texts of every column (index first), blanks dropped
    body: list[list[str]]  # the shown rows, index cells first
    shape: tuple[int, int]  # (rows, data columns) of the whole frame, including rows the display elides

    def column(self, label: str) -> list[int]:
        """Positions of the columns whose label, or one of whose header levels, is ``label``."""
        full = self.index_labels + self.columns
        exact = [i for i, name in enumerate(full) if name == label]
        return exact or [i for i, parts in enumerate(self.parts) if label in parts]


def parse_table(html: str) -> ParsedTable:
    parser = _TableParser()
    parser.feed(html)
    head, body = _grid(parser.head), _grid(parser.body)
    width = max([len(r) for r in head + body] or [0])
    n_index = max([sum(1 for _, is_th in row if is_th) for row in body] or [1 if head else 0])
    parts = []
    for j in range(width):
        texts = []
        for row in head:
            text = row[j][0] if j < len(row) else ""
            if text and (not texts or texts[-1] != text):
                texts.append(text)
        parts.append(tuple(texts))
    # An index column's label is its name (the last header row); the names of column levels sit above it.
    index_labels = [p[-1] if p else "" for p in parts[:n_index]]
    columns = [" / ".join(p) for p in parts[n_index:]]
    shown = [[text for text, _ in row] for row in body]
    shape = (len(shown), width - n_index)
    elided = re.search(r"<p>(\d+) rows × (\d+) columns</p>", html)
    if elided:
        shape = (int(elided.group(1)), int(elided.group(2)))
    return ParsedTable(index_labels, columns, parts, shown, shape)


# ---------------------------------------------------------------------------------------------------- figures


def _array(value: Any) -> np.ndarray | None:
    """A trace attribute as an array (plain lists, or Plotly's typed-array encoding {'dtype', 'bdata', 'shape'})."""
    if isinstance(value, Mapping) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape:
            array = array.reshape([int(s) for s in str(shape).split(",")])
        return array
    if isinstance(value, list | tuple):
        try:
            return np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return np.asarray(value, dtype=object)
    return None


def trace_points(trace: Mapping) -> int:
    """Number of data points of a trace: its first non-empty y, x, z, values or r."""
    for key in ("y", "x", "z", "values", "r"):
        array = _array(trace.get(key))
        if array is not None and array.size:
            return int(array.size)
    return 0


def _numbers(trace: Mapping, key: str) -> np.ndarray:
    array = _array(trace.get(key))
    if array is None or array.dtype == object:
        return np.empty(0)
    return array.astype(float).ravel()


def _title(layout: Mapping) -> str:
    title = layout.get("title")
    return (title.get("text") or "") if isinstance(title, Mapping) else (title or "")


# ---------------------------------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Figure:
    """A Plotly figure: trace count, the set of trace names and types, its title, its y values.

    ``names``: the exact set of distinct trace names (unnamed traces ignored); ``has_names``: names that must be
    among them. ``y``: every finite numeric y of every trace in (low, high), at least one finite value, no NaN.
    ``min_points``: every trace has at least this many points (an empty trace draws nothing).
    """

    traces: Bound | None = None
    names: frozenset[str] | set[str] | None = None
    has_names: Iterable[str] = ()
    types: frozenset[str] | set[str] | None = None
    title: str | None = None  # regular expression searched in the layout's title
    y: tuple[float, float] | None = None
    min_points: int = 1
    kind = "figure"

    def problems(self, output: Mapping) -> list[str]:
        figure = output["data"][PLOTLY]
        traces = figure.get("data", [])
        names = {t.get("name") for t in traces if t.get("name")}
        types = {t.get("type", "scatter") for t in traces}
        found = []
        if self.traces is not None and not _within(len(traces), self.traces):
            found.append(f"{len(traces)} traces, expected {_show(self.traces)}")
        if self.names is not None and names != set(self.names):
            found.append(f"trace names {sorted(names)}, expected {sorted(self.names)}")
        missing = set(self.has_names) - names
        if missing:
            found.append(f"no trace named {sorted(missing)} (names: {sorted(names)})")
        if self.types is not None and types != set(self.types):
            found.append(f"trace types {sorted(types)}, expected {sorted(self.types)}")
        title = _title(figure.get("layout", {}))
        if self.title is not None and not re.search(self.title, title):
            found.append(f"title {title!r} does not match {self.title!r}")
        thin = [f"{t.get('name') or t.get('type')} ({trace_points(t)})" for t in traces
                if trace_points(t) < self.min_points]
        if thin:
            found.append(f"traces with fewer than {self.min_points} points: {thin}")
        if self.y is not None:
            values = np.concatenate([_numbers(t, "y") for t in traces] or [np.empty(0)])
            if values.size == 0 or np.isnan(values).any():
                found.append(f"y values: {values.size} numbers, {int(np.isnan(values).sum())} NaN")
            elif values.min() < self.y[0] or values.max() > self.y[1]:
                found.append(f"y values span {values.min():.4g}..{values.max():.4g}, expected within {self.y}")
        return found


Values = tuple[float, float] | set[str] | frozenset[str] | str


@dataclass(frozen=True)
class Table:
    """A table (DataFrame or Styler HTML): its shape, column labels, index and the values of chosen columns.

    ``columns``: the exact data-column labels in order (MultiIndex levels joined by ' / '); ``has_columns``: labels
    that must be among them. ``index``: the exact index labels (the texts of the header cells of each row, one level).
    ``values``: column label (or one level of it) -> (low, high) numeric range (NaN fails), a set of allowed texts, or
    a regular expression every cell must match. Elided rows ('...') are skipped.
    """

    rows: Bound | None = None
    columns: list[str] | None = None
    has_columns: Iterable[str] = ()
    index: list[str] | None = None
    values: Mapping[str, Values] = field(default_factory=dict)
    kind = "table"

    def problems(self, output: Mapping) -> list[str]:
        table = parse_table(output["data"]["text/html"])
        found = []
        if self.rows is not None and not _within(table.shape[0], self.rows):
            found.append(f"{table.shape[0]} rows, expected {_show(self.rows)}")
        if self.columns is not None and table.columns != list(self.columns):
            found.append(f"columns {table.columns}, expected {list(self.columns)}")
        missing = [c for c in self.has_columns if c not in table.columns and not table.column(c)]
        if missing:
            found.append(f"no column {missing} (columns: {table.columns})")
        if self.index is not None:
            index = [row[0] for row in table.body if row and row[0] not in ("...", "…")]
            if index != list(self.index):
                found.append(f"index {index}, expected {list(self.index)}")
        for label, allowed in self.values.items():
            positions = table.column(label)
            if not positions:
                found.append(f"no column {label!r} to check (columns: {table.index_labels + table.columns})")
                continue
            cells = [row[j] for row in table.body for j in positions if j < len(row) and row[j] not in ("...", "…")]
            bad = [cell for cell in cells if not _allowed(cell, allowed)]
            if bad or not cells:
                found.append(f"column {label!r}: {bad[:5] or 'no cells'}{' ...' if len(bad) > 5 else ''} not "
                             f"{_describe(allowed)}")
        return found


def _allowed(cell: str, allowed: Values) -> bool:
    if isinstance(allowed, tuple):
        try:
            value = float(cell.replace(",", ""))
        except ValueError:
            return False
        return not math.isnan(value) and allowed[0] <= value <= allowed[1]
    if isinstance(allowed, set | frozenset):
        return cell in allowed
    return re.fullmatch(allowed, cell) is not None


def _describe(allowed: Values) -> str:
    if isinstance(allowed, tuple):
        return f"numbers within {allowed}"
    if isinstance(allowed, set | frozenset):
        return f"in {sorted(allowed)}"
    return f"matching {allowed!r}"


@dataclass(frozen=True)
class Text:
    """A regular expression searched in the cell's text (stdout, and displays that are plain text only).

    With ``between``, the expression's first group is read as a number at every match and must lie in the range.
    """

    pattern: str
    between: tuple[float, float] | None = None
    kind = "text"

    def problems(self, text: str) -> list[str]:
        matches = list(re.finditer(self.pattern, text))
        if not matches:
            shown = text if len(text) < 600 else text[:300] + " [...] " + text[-300:]
            return [f"text does not match {self.pattern!r}; the cell printed: {shown!r}"]
        if self.between is not None:
            numbers = [float(m.group(1).replace(",", "")) for m in matches]
            bad = [n for n in numbers if not self.between[0] <= n <= self.between[1]]
            if bad:
                return [f"{self.pattern!r}: {bad} outside {self.between}"]
        return []


@dataclass(frozen=True)
class _Rich:
    """An output of another kind whose main content matches a regular expression."""

    pattern: str = ""

    def problems(self, output: Mapping) -> list[str]:
        data = output.get("data", {})
        content = data.get(self.mime) or data.get("text/plain", "")
        if not re.search(self.pattern, content):
            return [f"{self.kind} {content[:200]!r} does not match {self.pattern!r}"]
        return []


@dataclass(frozen=True)
class Widget(_Rich):
    """An ipywidget (its text/plain repr, e.g. "VBox(children=(Dropdown(description='cell', ...")."""

    kind = "widget"
    mime = "text/plain"


@dataclass(frozen=True)
class Markdown(_Rich):
    kind = "markdown"
    mime = "text/markdown"


@dataclass(frozen=True)
class Html(_Rich):
    """HTML that is not a table (an audio player, a download link)."""

    kind = "html"
    mime = "text/html"


Check = Figure | Table | Text | Widget | Markdown | Html
COUNTED = ("figure", "table", "widget", "markdown", "html")


def cell_problems(outputs: list[Mapping], checks: Iterable[Check]) -> list[str]:
    """Every way the outputs of one cell differ from its checks (empty: the cell shows what it should)."""
    checks = list(checks)
    by_kind: dict[str, list[Mapping]] = {}
    for output in outputs:
        by_kind.setdefault(output_kind(output), []).append(output)
    text = "".join(output_text(o) for o in by_kind.get("text", []))
    found = []
    for kind in COUNTED:
        expected = [c for c in checks if c.kind == kind]
        shown = by_kind.get(kind, [])
        if len(expected) != len(shown):
            found.append(f"shows {len(shown)} {kind}(s), expected {len(expected)}")
        for number, (check, output) in enumerate(zip(expected, shown, strict=False), start=1):
            found += [f"{kind} {number}: {p}" for p in check.problems(output)]
    for check in checks:
        if check.kind == "text":
            found += check.problems(text)
    return found


def describe_outputs(outputs: list[Mapping]) -> str:
    """One line per output, to show next to a failure what the cell did show."""
    lines = []
    for output in outputs:
        kind = output_kind(output)
        if kind == "figure":
            traces = output["data"][PLOTLY].get("data", [])
            lines.append(f"figure: {len(traces)} traces {[t.get('name') for t in traces]}")
        elif kind == "table":
            table = parse_table(output["data"]["text/html"])
            lines.append(f"table: {table.shape[0]} rows, columns {table.index_labels + table.columns}")
        else:
            lines.append(f"{kind}: {output_text(output)[:160]!r}")
    return "\n".join(lines)


class NotebookOutputError(AssertionError):
    """A cell ran but did not show what tests/notebook_expectations.py says it should."""


def check_notebook_cell(item, expectations: Mapping[str, Mapping[str, list]] | None = None) -> None:
    """After nbval has run ``item`` (an nbval cell item), check its outputs against the cell's expectations
    (``expectations``: notebook file name -> cell id -> checks; default tests/notebook_expectations.py's).

    Items of other kinds, and cells without expectations, pass through unchanged.
    """
    outputs = getattr(item, "test_outputs", None)
    cell = getattr(item, "cell", None)
    if outputs is None or cell is None:
        return
    if expectations is None:
        from tests.notebook_expectations import EXPECTATIONS as expectations
    checks = expectations.get(item.path.name, {}).get(cell.get("id"))
    if not checks:
        return
    problems = cell_problems(outputs, checks)
    if problems:
        raise NotebookOutputError(
            f"{item.path.name} cell {item.cell_num} (id {cell.get('id')}) ran, but its outputs fail "
            "tests/notebook_expectations.py:\n  - " + "\n  - ".join(problems)
            + "\nthe cell showed:\n  " + describe_outputs(outputs).replace("\n", "\n  "))

if __name__ == "__main__":  # python -m tests.notebook_checks notebooks/NN_name.ipynb: the ids to key checks by
    import sys

    import nbformat

    for path in sys.argv[1:]:
        for number, cell in enumerate(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"):
            print(f"Cell {number:2d}  id {cell.get('id')!s:10}  {cell.source.splitlines()[0] if cell.source else ''}")
