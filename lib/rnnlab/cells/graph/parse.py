"""Equations text ⇄ graph. ``parse_equations(text)`` reads a cell written as equations; ``Graph.text()`` and
``Graph.canonical()`` print one back (see ``nodes.py``).

Syntax (one equation per line, or separated by ``;``; ``#`` starts a comment)::

    z  = sigmoid(lin(x) + lin(h))          # name = expression
    r  = sigmoid(lin(x) + lin(h))
    h' = h + z * (tanh(lin(x) + lin(r * h)) - h)

* inputs: ``x`` (the input), ``h`` (the previous state) and ``c`` (the previous memory of a two-state cell);
* outputs: ``h'`` (required) and ``c'`` (two-state cells); a later equation may read ``h'`` or ``c'``
  (the LSTM's ``h' = sigmoid(...) * tanh(c')``);
* ``lin(v)`` is Linear(0, v) = W v + b with its own W and b at every occurrence; ``lin[a](v)`` (a ∈ {1, 0.9, 1.1})
  adds a to W's diagonal; ``Linear(a, v)`` is accepted too; ``lin(v, bias=1)`` adds 1 to b at initialisation
  (LSTM-b's forget gate; part of the graph's identity, never mutated by the search);
* activations ``tanh``, ``sigmoid`` (also ``sigma``, ``σ``), ``relu``; operators ``+``, ``-``, ``*`` (also ``⊙``,
  ``×``, ``−``) with the usual precedence; a name defined once may be read many times (one shared node).

There are no constants: write the convex mix (1 − z) ⊙ h + z ⊙ n as ``h + z * (n - h)``.

Limits (far above any real cell: the library's longest is 159 characters and nests 4 deep; the children of a
527-step search hold at most 30 operations and nest at most 8 deep): at most ``MAX_TEXT`` characters, ``MAX_DEPTH``
nested calls or parentheses and ``MAX_NODES`` operations; a bias is a finite number of magnitude at most
``nodes.MAX_BIAS`` (``nan``, ``inf``, ``1e999`` are refused). Each limit is one line naming it, checked while
reading, so no input recurses or grows without bound.
"""

from __future__ import annotations

import re

from rnnlab.cells.graph.nodes import LEAVES, LINEAR_SHIFTS, MAX_NODES, OUTPUTS, Graph, Node, check_bias
from rnnlab.errors import RnnlabError

MAX_TEXT = 20_000  # characters of equations text, comments included
MAX_DEPTH = 50  # nested calls and parentheses in one expression
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_TOKEN = re.compile(rf"\s*(?:(?P<num>{_NUMBER})|(?P<name>[A-Za-z_σ][A-Za-z0-9_]*'?)|(?P<op>[-+*=()\[\],⊙×−]))")
_NON_FINITE = ("nan", "inf", "infinity")  # names float() would read as a number
_ALIASES = {"sigma": "sigmoid", "σ": "sigmoid", "sig": "sigmoid", "⊙": "*", "×": "*", "−": "-"}
_FUNCTIONS = ("tanh", "sigmoid", "relu")
_SHIFTS = {value: name for name, value in LINEAR_SHIFTS.items()}


def _clip(text: str, limit: int = 80) -> str:
    """``repr(text)``, cut to about ``limit`` characters: an error about a huge input stays one short line."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 3]) + "..."


def _tokens(line: str) -> list[str]:
    out, pos = [], 0
    line = line.rstrip()
    while pos < len(line):
        match = _TOKEN.match(line, pos)
        if match is None or match.end() == pos:
            raise RnnlabError(f"cannot read {_clip(line[pos:].strip(), 30)} in equation {_clip(line.strip())}")
        token = match.group(match.lastgroup)
        out.append(_ALIASES.get(token, token))
        pos = match.end()
    return out


class _Parser:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.names: dict[str, int] = {}
        self.labels: dict[int, str] = {}
        self.used: set[str] = set()

        self.depth = 0
        self.operations = 0

    def add(self, op: str, *args: int, bias: float = 0.0) -> int:
        if op not in LEAVES:
            self.operations += 1
            if self.operations > MAX_NODES:
                raise RnnlabError(f"the equations hold more than {MAX_NODES} operations; at most {MAX_NODES} are "
                                  "allowed")
        self.nodes.append(Node(op, tuple(args), bias))
        return len(self.nodes) - 1

    def leaf(self, name: str) -> int:
        for i, node in enumerate(self.nodes):
            if node.op == name:
                return i
        return self.add(name)

    def statement(self, tokens: list[str], line: str) -> None:
        if len(tokens) < 3 or tokens[1] != "=" or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*'?", tokens[0]):
            raise RnnlabError(f"an equation reads `name = expression`, got {_clip(line.strip())}")
        name = tokens[0]
        if name in LEAVES:
            raise RnnlabError(f"{name!r} is an input; assign the new state to {name}' instead ({_clip(line.strip())})")
        if name.endswith("'") and name not in OUTPUTS:
            raise RnnlabError(f"unknown output {_clip(name, 30)}; valid outputs: {', '.join(OUTPUTS)}")
        if name in self.names:
            raise RnnlabError(f"{_clip(name, 30)} is defined twice")
        self.tokens, self.pos, self.line = tokens, 2, _clip(line.strip())
        index = self.expression()
        if self.pos != len(tokens):
            raise RnnlabError(f"unexpected {_clip(tokens[self.pos], 30)} in {self.line}")
        self.names[name] = index
        if self.nodes[index].op not in LEAVES:  # `a = h` is an alias of the input, `b = a` keeps a's label
            self.labels.setdefault(index, name)

    # recursive descent: expression := term (('+'|'-') term)* ; term := factor ('*' factor)*
    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            want = f"{expected!r}" if expected else "more"
            raise RnnlabError(f"expected {want} at the end of {self.line}" if token is None
                              else f"expected {want}, got {_clip(token, 30)} in {self.line}")
        self.pos += 1
        return token

    def expression(self) -> int:
        self.depth += 1  # every nesting (a call, parentheses) passes here once: the recursion is bounded
        if self.depth > MAX_DEPTH:
            raise RnnlabError(f"an expression nests deeper than {MAX_DEPTH} calls or parentheses in {self.line}; "
                              f"at most {MAX_DEPTH} are allowed")
        left = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            left = self.add(op, left, self.term())
        self.depth -= 1
        return left

    def term(self) -> int:
        left = self.factor()
        while self.peek() == "*":
            self.take()
            left = self.add("*", left, self.factor())
        return left

    def factor(self) -> int:
        token = self.take()
        if token == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if re.fullmatch(_NUMBER, token) or token.lower() in _NON_FINITE:
            raise RnnlabError(f"constants are not nodes ({_clip(token, 30)} in {self.line}); write (1 - z) * h + "
                              "z * n as h + z * (n - h)")
        if token in _FUNCTIONS:
            return self.call(token)
        if token == "lin":
            op = "lin"
            if self.peek() == "[":
                self.take("[")
                op = self._shift(self.take())
                self.take("]")
            return self.call(op, linear=True)
        if token == "Linear":
            self.take("(")
            op = self._shift(self.take())
            self.take(",")
            return self.call(op, linear=True, opened=True)
        if token in LEAVES:
            return self.leaf(token)
        if token in self.names:
            self.used.add(token)
            return self.names[token]
        if token in OUTPUTS:
            raise RnnlabError(f"{token} is read in {self.line} before it is defined")
        known = ", ".join([*LEAVES, *self.names])
        raise RnnlabError(f"unknown name {_clip(token, 30)} in {self.line}; defined so far: {_clip(known, 80)[1:-1]}; "
                          f"functions: {', '.join(_FUNCTIONS)}, lin, lin[a]")

    def call(self, op: str, linear: bool = False, opened: bool = False) -> int:
        if not opened:
            self.take("(")
        arg = self.expression()
        bias = 0.0
        if linear and self.peek() == ",":
            self.take(",")
            self.take("bias")
            self.take("=")
            sign = -1.0 if self.peek() == "-" else 1.0
            if sign < 0:
                self.take("-")
            token = self.take()
            if not re.fullmatch(_NUMBER, token) and token.lower() not in _NON_FINITE:
                raise RnnlabError(f"bias= takes a number, got {_clip(token, 30)} in {self.line}")
            bias = sign * float(token)
            problem = check_bias(bias)
            if problem is not None:
                raise RnnlabError(f"{problem}, got bias={'-' if sign < 0 else ''}{_clip(token, 30)[1:-1]} in "
                                  f"{self.line}")
        self.take(")")
        return self.add(op, arg, bias=bias)

    def _shift(self, token: str) -> str:
        try:
            value = float(token)
        except ValueError:
            value = None
        if value not in _SHIFTS:
            raise RnnlabError(f"Linear's diagonal shift must be one of 0, 1, 0.9, 1.1; got {_clip(token, 30)} in "
                              f"{self.line}")
        return _SHIFTS[value]


def parse_equations(text: str) -> Graph:
    """Parse equations (see the module docstring) into a normalized ``Graph``; errors name the bad piece."""
    example = "e.g. \"h' = tanh(lin(x) + lin(h))\""
    if not isinstance(text, str):
        raise RnnlabError(f"equations must be a string, {example}; got {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise RnnlabError(f"the equations are {len(text)} characters long; at most {MAX_TEXT} are allowed")
    if not text.strip():
        raise RnnlabError(f"equations must be a non-empty string, {example}; got {text!r}")
    parser = _Parser()
    for raw in re.split(r"[;\n]", text):
        line = raw.split("#", 1)[0]
        if line.strip():
            parser.statement(_tokens(line), line)
    if "h'" not in parser.names:
        what = "only comments" if not parser.names else f"no h' (defined: {_clip(', '.join(parser.names))[1:-1]})"
        raise RnnlabError(f"the equations must define h' (the new state); got {what}")
    unused = [n for n in parser.names if n not in parser.used and n not in OUTPUTS]
    if unused:
        raise RnnlabError(f"{unused[0]!r} is defined but never used")
    outputs = [parser.names["h'"]]
    if "c'" in parser.names:
        outputs.append(parser.names["c'"])
    labels = {i: n for i, n in parser.labels.items() if n not in OUTPUTS}
    graph = Graph(parser.nodes, tuple(outputs), labels)
    return graph.normalized()
