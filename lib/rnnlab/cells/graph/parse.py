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
"""

from __future__ import annotations

import re

from rnnlab.cells.graph.nodes import LEAVES, LINEAR_SHIFTS, OUTPUTS, Graph, Node
from rnnlab.errors import RnnlabError

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_σ][A-Za-z0-9_]*'?)|(?P<op>[-+*=()\[\],⊙×−]))")
_ALIASES = {"sigma": "sigmoid", "σ": "sigmoid", "sig": "sigmoid", "⊙": "*", "×": "*", "−": "-"}
_FUNCTIONS = ("tanh", "sigmoid", "relu")
_SHIFTS = {value: name for name, value in LINEAR_SHIFTS.items()}


def _tokens(line: str) -> list[str]:
    out, pos = [], 0
    line = line.rstrip()
    while pos < len(line):
        match = _TOKEN.match(line, pos)
        if match is None or match.end() == pos:
            raise RnnlabError(f"cannot read {line[pos:].strip()!r} in equation {line.strip()!r}")
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

    def add(self, op: str, *args: int) -> int:
        self.nodes.append(Node(op, tuple(args)))
        return len(self.nodes) - 1

    def leaf(self, name: str) -> int:
        for i, node in enumerate(self.nodes):
            if node.op == name:
                return i
        return self.add(name)

    def statement(self, tokens: list[str], line: str) -> None:
        if len(tokens) < 3 or tokens[1] != "=" or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*'?", tokens[0]):
            raise RnnlabError(f"an equation reads `name = expression`, got {line.strip()!r}")
        name = tokens[0]
        if name in LEAVES:
            raise RnnlabError(f"{name!r} is an input; assign the new state to {name}' instead ({line.strip()!r})")
        if name.endswith("'") and name not in OUTPUTS:
            raise RnnlabError(f"unknown output {name!r}; valid outputs: {', '.join(OUTPUTS)}")
        if name in self.names:
            raise RnnlabError(f"{name!r} is defined twice")
        self.tokens, self.pos, self.line = tokens, 2, line.strip()
        index = self.expression()
        if self.pos != len(tokens):
            raise RnnlabError(f"unexpected {tokens[self.pos]!r} in {self.line!r}")
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
            raise RnnlabError(f"expected {want} at the end of {self.line!r}" if token is None
                              else f"expected {want}, got {token!r} in {self.line!r}")
        self.pos += 1
        return token

    def expression(self) -> int:
        left = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            left = self.add(op, left, self.term())
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
        if re.fullmatch(r"\d+(\.\d+)?", token):
            raise RnnlabError(f"constants are not nodes ({token} in {self.line!r}); write (1 - z) * h + z * n as "
                              "h + z * (n - h)")
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
            raise RnnlabError(f"{token} is read in {self.line!r} before it is defined")
        known = ", ".join([*LEAVES, *self.names]) or "none"
        raise RnnlabError(f"unknown name {token!r} in {self.line!r}; defined so far: {known}; functions: "
                          f"{', '.join(_FUNCTIONS)}, lin, lin[a]")

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
            try:
                bias = sign * float(token)
            except ValueError:
                raise RnnlabError(f"bias= takes a number, got {token!r} in {self.line!r}") from None
        self.take(")")
        self.nodes.append(Node(op, (arg,), bias))
        return len(self.nodes) - 1

    def _shift(self, token: str) -> str:
        try:
            value = float(token)
        except ValueError:
            value = None
        if value not in _SHIFTS:
            raise RnnlabError(f"Linear's diagonal shift must be one of 0, 1, 0.9, 1.1; got {token!r} in {self.line!r}")
        return _SHIFTS[value]


def parse_equations(text: str) -> Graph:
    """Parse equations (see the module docstring) into a normalized ``Graph``; errors name the bad piece."""
    if not isinstance(text, str) or not text.strip():
        raise RnnlabError(f"equations must be a non-empty string, e.g. \"h' = tanh(lin(x) + lin(h))\"; got {text!r}")
    parser = _Parser()
    for raw in re.split(r"[;\n]", text):
        line = raw.split("#", 1)[0]
        if line.strip():
            parser.statement(_tokens(line), line)
    if "h'" not in parser.names:
        raise RnnlabError("the equations must define h' (the new state)")
    unused = [n for n in parser.names if n not in parser.used and n not in OUTPUTS]
    if unused:
        raise RnnlabError(f"{unused[0]!r} is defined but never used")
    outputs = [parser.names["h'"]]
    if "c'" in parser.names:
        outputs.append(parser.names["c'"])
    labels = {i: n for i, n in parser.labels.items() if n not in OUTPUTS}
    graph = Graph(parser.nodes, tuple(outputs), labels)
    return graph.normalized()
