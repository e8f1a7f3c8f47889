"""``GraphCell``: a cell written as equations (``parse.py``), compiled into a fast ``RecurrentCell``.

Compilation (the graph is normalized first, so the parameter layout follows the canonical node order):

* Input embedding (as in Jozefowicz et al., where every node is H wide): when the graph reads x raw (an activation
  or an element-wise op on x, or lin[a](x) with a ≠ 0) the input is embedded, e = E x (``weight_embed``, H × n_in,
  no bias), and every x in the graph reads e. When x only enters through plain ``lin(x)`` maps, W E x is just
  another linear map of x, so those maps read x directly and there is no E (one GEMM less). This is the rule the
  hand-written MUT cells follow (``cells/mut.py``): MUT1/MUT2 read x raw and embed, MUT3 and the GRU do not.
* Hoisted out of the time loop (``input_projection`` + ``prepare_input``): all Linear maps of x are ONE GEMM
  (``weight_x``, the blocks stacked); every node that depends on x alone (MUT1's z = σ(lin(x)), tanh(x), ...)
  is computed for all steps at once.
* Per step: all Linear maps of h are ONE GEMM (``weight_h``, returned by ``recurrent_weight`` so deep-transition
  levels can stack it with the shortcut), all Linear maps of c one more (``weight_c``); Linear maps of inner
  nodes are one GEMM each (``weight_n{j}``); the diagonal shift a v of Linear(a, v) is one element-wise add.
* Every Linear node has its own bias. ``lin(x) + lin(h)`` therefore has two biases where a hand-written cell has
  one (their sum is what matters); the parity tests copy the hand-written bias into one and zero the other.
* ``lin(v, bias=1)`` adds 1 to that bias at initialisation (after every reset), which is how LSTM-b is written.
* With no external input (deep-transition layers 2..L, ``input_size=0``) x is the zero vector: lin(x) is its bias,
  tanh(x) is 0 — the same convention as the hand-written cells ("every W x term is absent").
* ``gates`` receives every operation node's value, keyed by its label (the name it was given in the equations) or
  ``n{i}`` (its index in the canonical order): ``cell.gate_names`` lists them, so ``04``/``05`` can show any node;
  ``cell.candidate_names`` lists those that are not sigmoid nodes (not [0,1] gates: tanh, relu, linear, +, *, −).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rnnlab.cells.base import RecurrentCell, new_vector, new_weight, project
from rnnlab.cells.graph.library import LIBRARY
from rnnlab.cells.graph.nodes import BINARY, LEAVES, LINEAR_SHIFTS, Graph, is_linear, validity_problem
from rnnlab.cells.graph.parse import parse_equations
from rnnlab.errors import RnnlabError

_UNARY_FN = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}
_BINARY_FN = {"+": torch.add, "*": torch.mul, "-": torch.sub}
_LIN, _UNARY, _BIN = 0, 1, 2
DEFAULT_EQUATIONS = LIBRARY["gru"].strip()  # a graph cell built without equations is the GRU


def as_graph(equations) -> Graph:
    """A normalized graph from equations text, a ``Graph``, or None/"" (the default: the GRU)."""
    if isinstance(equations, Graph):
        return equations.normalized()
    if equations is None or (isinstance(equations, str) and not equations.strip()):
        return parse_equations(DEFAULT_EQUATIONS)
    return parse_equations(equations)


class GraphCell(RecurrentCell):
    """A cell from equations (``equations=`` text or a ``Graph``; default the GRU): see the module docstring."""

    options = ("equations",)
    default_equations = DEFAULT_EQUATIONS
    # the structure depends on the equations: every fact below is set per instance in __init__
    block_names: tuple[str, ...] = ()
    recurrent_blocks: dict[str, tuple[str, ...]] = {}

    @classmethod
    def resolve_equations(cls, equations: str | None) -> str:
        """The equations text a config keeps (``default_equations`` when None or ""), checked: it must parse and
        make a usable cell, else one line naming the problem."""
        if equations is not None and not isinstance(equations, str):
            raise RnnlabError(f"equations must be a string of equations, got {type(equations).__name__}")
        text = (equations or cls.default_equations).strip()
        problem = validity_problem(parse_equations(text))
        if problem is not None:
            raise RnnlabError(f"these equations do not make a usable cell: {problem}")
        return text

    def __init__(self, input_size, hidden_size, prev_size=None, *, equations=None):
        super().__init__(input_size, hidden_size, prev_size)
        graph = as_graph(equations)
        problem = validity_problem(graph)
        if problem is not None:
            raise RnnlabError(f"these equations do not make a usable cell: {problem}")
        self.graph = graph
        self.equations = graph.text()
        nodes, H = graph.nodes, hidden_size
        self.state_names = ("h", "c")[: graph.n_states]
        self.node_names = tuple(graph.labels.get(i, f"n{i}") if n.op not in LEAVES else n.op
                                for i, n in enumerate(nodes))
        self.gate_names = tuple(name for name, n in zip(self.node_names, nodes, strict=True) if n.op not in LEAVES)
        self.candidate_names = tuple(name for name, n in zip(self.node_names, nodes, strict=True)
                                     if n.op not in LEAVES and n.op != "sigmoid")
        ix, ih, ic = graph.leaf("x"), graph.leaf("h"), graph.leaf("c")
        self._leaves = (ix, ih, ic)

        # which nodes depend on x alone (hoisted), and does the graph read x raw (then x is embedded)?
        x_only = []
        for node in nodes:
            if node.op in LEAVES:
                x_only.append(node.op == "x")
            else:
                x_only.append(all(x_only[a] for a in node.args))
        self._x_only = x_only
        self.embed = any(ix in n.args and not (n.op == "lin") for n in nodes) if ix is not None else False
        lin_x = [i for i, n in enumerate(nodes) if is_linear(n.op) and n.args[0] == ix]
        lin_h = [i for i, n in enumerate(nodes) if is_linear(n.op) and n.args[0] == ih]
        lin_c = [i for i, n in enumerate(nodes) if is_linear(n.op) and ic is not None and n.args[0] == ic]
        lin_inner = [i for i, n in enumerate(nodes) if is_linear(n.op) and n.args[0] not in (ix, ih, ic)]
        self._lin_x, self._lin_h, self._lin_c, self._lin_inner = lin_x, lin_h, lin_c, lin_inner

        x_width = H if self.embed else input_size
        self.weight_embed = new_weight(H, input_size) if self.embed else None
        self.weight_x = new_weight(len(lin_x) * H, x_width if input_size > 0 else 0) if lin_x else None
        self.bias_x = new_vector(len(lin_x) * H) if lin_x else None
        self.weight_h = new_weight(len(lin_h) * H, H) if lin_h else None
        self.bias_h = new_vector(len(lin_h) * H) if lin_h else None
        self.weight_c = new_weight(len(lin_c) * H, H) if lin_c else None
        self.bias_c = new_vector(len(lin_c) * H) if lin_c else None
        for j, _ in enumerate(lin_inner):
            self.register_parameter(f"weight_n{j}", new_weight(H, H))
            self.register_parameter(f"bias_n{j}", new_vector(H))
        self.input_weight_names = ("weight_embed",) if self.embed else ("weight_x",)

        # where each Linear node's weight and bias live: (weight name, bias name, row slice)
        self.linear_slots: dict[int, tuple[str, str, slice]] = {}
        for group, (w, b) in ((lin_x, ("weight_x", "bias_x")), (lin_h, ("weight_h", "bias_h")),
                              (lin_c, ("weight_c", "bias_c"))):
            for k, i in enumerate(group):
                self.linear_slots[i] = (w, b, slice(k * H, (k + 1) * H))
        for j, i in enumerate(lin_inner):
            self.linear_slots[i] = (f"weight_n{j}", f"bias_n{j}", slice(0, H))

        # diagonal shifts a of Linear(a, ·) per stacked block
        def shifts(group):
            values = [LINEAR_SHIFTS[nodes[i].op] for i in group]
            return torch.tensor(values).repeat_interleave(H) if any(values) else None

        self.register_buffer("shift_x", shifts(lin_x), persistent=False)
        self.register_buffer("shift_h", shifts(lin_h), persistent=False)
        self.register_buffer("shift_c", shifts(lin_c), persistent=False)

        # the prepared input: [lin(x) blocks, e (if embedded), every other x-only node] — one H block each
        hoisted = [i for i in range(len(nodes)) if x_only[i] and nodes[i].op not in LEAVES and i not in lin_x]
        self._slots = lin_x + ([ix] if self.embed else []) + hoisted
        self._hoisted = hoisted
        self.n_blocks = len(lin_x) + int(self.embed)
        self.block_names = tuple(self.node_names[i] for i in lin_x) + (("x",) if self.embed else ())
        # recurrent matrices: the Linear maps of h, of c, and of inner nodes that depend on the state
        self.recurrent_blocks = {}
        if lin_h:
            self.recurrent_blocks["weight_h"] = tuple(self.node_names[i] for i in lin_h)
        if lin_c:
            self.recurrent_blocks["weight_c"] = tuple(self.node_names[i] for i in lin_c)
        for j, i in enumerate(lin_inner):
            if not x_only[i]:
                self.recurrent_blocks[f"weight_n{j}"] = (self.node_names[i],)
        self._plan = []
        for i, node in enumerate(nodes):
            if node.op in LEAVES or x_only[i] or i in lin_h or i in lin_c:
                continue
            self._plan.append(self._instruction(i))
        self._hoisted_plan = [self._instruction(i) for i in hoisted]

        self.reset_parameters()

    def _instruction(self, i: int) -> tuple:
        node = self.graph.nodes[i]
        if is_linear(node.op):
            weight, bias, _ = self.linear_slots[i]
            return (_LIN, i, node.args, (weight, bias, LINEAR_SHIFTS[node.op]))
        if node.op in BINARY:
            return (_BIN, i, node.args, _BINARY_FN[node.op])
        return (_UNARY, i, node.args, _UNARY_FN[node.op])

    def _run(self, plan, values) -> None:
        for kind, i, args, extra in plan:
            if kind == _BIN:
                values[i] = extra(values[args[0]], values[args[1]])
            elif kind == _UNARY:
                values[i] = extra(values[args[0]])
            else:
                weight, bias, shift = extra
                v = values[args[0]]
                out = F.linear(v, getattr(self, weight), getattr(self, bias))
                values[i] = out + shift * v if shift else out

    # ----- RecurrentCell interface -------------------------------------------------------------------------------
    @property
    def projection_size(self) -> int:
        return self.n_blocks * self.hidden_size

    def after_reset(self) -> None:
        """Add each ``lin(v, bias=b0)``'s b0 to its bias (LSTM-b's forget gate)."""
        with torch.no_grad():
            for i, node in enumerate(self.graph.nodes):
                if is_linear(node.op) and node.bias:
                    _, bias, rows = self.linear_slots[i]
                    getattr(self, bias)[rows] += node.bias

    def input_bias(self):
        """The projection with x = 0: the lin(x) biases, and a zero block for e (the embedding of nothing)."""
        parts = [self.bias_x] if self.bias_x is not None else []
        if self.embed:
            parts.append(next(self.parameters()).new_zeros(self.hidden_size))
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    def input_projection(self, x):
        """[lin(x) blocks, e]: every Linear map of x in one GEMM (after the embedding e = E x when x is read raw)."""
        if x is None or self.input_size == 0:
            return self.input_bias()
        if not self.embed:
            return project(x, self.weight_x, self.bias_x)
        e = project(x, self.weight_embed)
        if self.weight_x is None:
            return e
        out = F.linear(e, self.weight_x, self.bias_x)
        if self.shift_x is not None:
            out = out + e.repeat(*([1] * (e.dim() - 1)), len(self._lin_x)) * self.shift_x
        return torch.cat((out, e), -1)

    def prepare_input(self, x_proj):
        """Append every node that depends on x alone, computed for all steps at once (identity when none)."""
        if not self._hoisted:
            return x_proj
        values = self._split_prepared(x_proj, len(self._slots) - len(self._hoisted))
        self._run(self._hoisted_plan, values)
        return torch.cat([x_proj] + [values[i] for i in self._hoisted], -1)

    def _split_prepared(self, prepared, n_slots):
        """Node values with the prepared blocks filled in (x itself only when embedded; else only lin(x) reads x)."""
        values = [None] * len(self.graph.nodes)
        blocks = prepared.split(self.hidden_size, -1) if n_slots > 1 else (prepared,)
        for i, block in zip(self._slots[:n_slots], blocks, strict=False):
            values[i] = block
        return values

    def recurrent_weight(self):
        if self.weight_h is None:
            return next(self.parameters()).new_zeros((0, self.hidden_size)), None
        return self.weight_h, self.bias_h

    def step(self, x_prep, state, h_proj=None, gates=None):
        ix, ih, ic = self._leaves
        values = self._split_prepared(x_prep, len(self._slots))
        h = state[0]
        values[ih] = h
        if ic is not None:
            values[ic] = state[1]
        if self._lin_h:
            pre = h_proj if h_proj is not None else F.linear(h, self.weight_h, self.bias_h)
            if self.shift_h is not None:
                pre = pre + h.repeat(1, len(self._lin_h)) * self.shift_h
            for i, block in zip(self._lin_h, pre.split(self.hidden_size, -1), strict=True):
                values[i] = block
        if self._lin_c:
            c = state[1]
            pre = F.linear(c, self.weight_c, self.bias_c)
            if self.shift_c is not None:
                pre = pre + c.repeat(1, len(self._lin_c)) * self.shift_c
            for i, block in zip(self._lin_c, pre.split(self.hidden_size, -1), strict=True):
                values[i] = block
        self._run(self._plan, values)
        if gates is not None:
            shape = h.shape
            for i, name in enumerate(self.node_names):
                if self.graph.nodes[i].op not in LEAVES:
                    value = values[i]
                    gates[name] = value.expand(shape) if value.shape != shape else value
        out = tuple(values[o] for o in self.graph.outputs)
        if out[-1].shape != h.shape:  # c' = a node of x alone, with no input (a vector): give it the batch
            out = (*out[:-1], out[-1].expand(h.shape))
        return out

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, equations={self.graph.canonical()!r}"
