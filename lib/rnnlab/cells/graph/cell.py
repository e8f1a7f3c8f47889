"""``GraphCell``: a cell written as equations (``parse.py``), compiled into a fast ``RecurrentCell``.

Parameters (their layout follows the canonical node order, so it is the same for every way of writing one graph,
and saved runs and the search's seeded initialisation rely on it):

* Input embedding (as in Jozefowicz et al., where every node is H wide): when the graph reads x raw (an activation
  or an element-wise op on x, or lin[a](x) with a ≠ 0) the input is embedded, e = E x (``weight_embed``, H × n_in,
  no bias), and every x in the graph reads e. When x only enters through plain ``lin(x)`` maps, W E x is just
  another linear map of x, so those maps read x directly and there is no E (one GEMM less). This is the rule the
  hand-written MUT cells follow (``cells/mut.py``): MUT1/MUT2 read x raw and embed, MUT3 and the GRU do not.
* ``weight_x``/``bias_x``: every Linear map of x, blocks stacked; ``weight_h``/``bias_h`` those of h (returned by
  ``recurrent_weight`` so deep-transition levels can stack it with the shortcut), ``weight_c``/``bias_c`` those of
  c; ``weight_n{j}``/``bias_n{j}`` the Linear map of the j-th inner node. ``linear_slots`` says where each lives.
* Every Linear node has its own bias. ``lin(x) + lin(h)`` therefore has two biases where a hand-written cell has
  one (their sum is what matters); the parity tests copy the hand-written bias into one and zero the other.
* ``lin(v, bias=1)`` adds 1 to that bias at initialisation (after every reset), which is how LSTM-b is written.
* With no external input (deep-transition layers 2..L, ``input_size=0``) x is the zero vector: lin(x) is its bias,
  tanh(x) is 0 — the same convention as the hand-written cells ("every W x term is absent").

Compilation (how a step runs; docs/search.md "Compiling a graph into a cell" has the measurements):

* A graph whose canonical form is that of a library cell whose hand-written twin is a ``torch.nn`` module (the
  tanh RNN, the LSTM, LSTM-b) takes the twin's fused path: ``torch_equivalent`` is set and ``weight_ih`` …
  ``bias_hh`` are the cell's own parameters in ``torch.nn`` layout (blocks reordered, one gather per forward), so a
  plain level runs ``nn.RNN``/``nn.LSTM`` exactly as the hand-written cell does. ``twin`` names the library cell
  any graph equals (or is None).
* Out of the time loop (``input_projection``, ``prepare_input``): all Linear maps of x are ONE GEMM, and every
  node that depends on x alone is computed for all steps at once. The bias of a Linear map of the state that is
  summed with an x-only node (``lin(x) + lin(h)``, ``tanh(x) + lin(r * h)``) is added there too, so in the loop
  that sum is one ``addmm``. The prepared input holds, in this order: the x-parts of the lin(h) block, of the
  lin(c) block, one block per inner Linear map summed with an x-only node, the x-only nodes the step reads, and
  (for recording only) the x-only nodes found nowhere else.
* Per step: all Linear maps of h are ONE ``addmm`` (that returns the sums with their x-parts), all of c one more,
  split into one activation call per block (one call over adjacent blocks leaves strided gate views and measured
  slower); a Linear map of an inner node is one ``addmm``; ``p + q * r`` and ``p - q * r`` are one ``addcmul`` when
  q * r is read nowhere else; every other node is one operation.
* ``gates`` receives every operation node's value, keyed by its label (the name it was given in the equations) or
  ``n{i}`` (its index in the canonical order): ``cell.gate_names`` lists them, so ``04``/``05`` can show any node;
  ``cell.candidate_names`` lists those that are not sigmoid nodes (not [0,1] gates: tanh, relu, linear, +, *, −).
  The nodes a fused operation skips are computed for the record only (a Linear map of x is read back as its
  prepared block less the bias added to it, so it may differ from W x + b in the last bit).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rnnlab.cells.base import RecurrentCell, new_vector, new_weight, project
from rnnlab.cells.graph.library import LIBRARY, library_graph, library_twin
from rnnlab.cells.graph.nodes import BINARY, LEAVES, LINEAR_SHIFTS, Graph, is_linear, validity_problem
from rnnlab.cells.graph.parse import parse_equations
from rnnlab.cells.lstm import LSTMbCell, LSTMCell
from rnnlab.cells.tanh import TanhCell
from rnnlab.errors import RnnlabError

_UNARY_FN = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}
_BINARY_FN = {"+": torch.add, "*": torch.mul, "-": torch.sub}
_LIN, _UNARY, _BIN = 0, 1, 2  # reference plan (x-only nodes, the record)
_GEMM, _SLIN, _SUNARY, _SBIN, _ADDCMUL = range(5)  # step plan
_VIEW, _GATHER, _BIAS_ONLY = range(3)  # where a GEMM's x-parts come from: a slice, blocks gathered, none
_STEPPERS: dict[str, object] = {}  # generated stepper source -> its compiled ``make`` (shared by equal graphs)
DEFAULT_EQUATIONS = LIBRARY["gru"].strip()  # a graph cell built without equations is the GRU
# library cells whose hand-written twin trains through a fused torch.nn module: the twin's class
FUSED_TWINS = {"tanh": TanhCell, "lstm": LSTMCell, "lstm_b": LSTMbCell}


def as_graph(equations) -> Graph:
    """A normalized graph from equations text, a ``Graph``, or None/"" (the default: the GRU)."""
    if isinstance(equations, Graph):
        return equations.normalized()
    if equations is None or (isinstance(equations, str) and not equations.strip()):
        return parse_equations(DEFAULT_EQUATIONS)
    return parse_equations(equations)


def _role(graph: Graph, users: list[list[int]], i: int) -> str:
    """The label of the first labelled node (or output) reached from node ``i`` following its first reader."""
    while True:
        if i in graph.labels:
            return graph.labels[i]
        if i in graph.outputs:
            return ("h'", "c'")[graph.outputs.index(i)]
        i = users[i][0]


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

        # parameters: their names, shapes and registration order are the saved layout (do not reorder)
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
        shifts_x = [LINEAR_SHIFTS[nodes[i].op] for i in lin_x]
        self._shifts_x = shifts_x if any(shifts_x) else None

        # the input projection: [lin(x) blocks, e (if embedded)] — one H block each
        hoisted = [i for i in range(len(nodes)) if x_only[i] and nodes[i].op not in LEAVES and i not in lin_x]
        self._hoisted = hoisted
        self._hoisted_plan = [self._instruction(i) for i in hoisted]
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

        self._compile_step()
        self._bind_twin()
        self.reset_parameters()

    # ----- compilation -------------------------------------------------------------------------------------------
    def _instruction(self, i: int) -> tuple:
        node = self.graph.nodes[i]
        if is_linear(node.op):
            weight, bias, rows = self.linear_slots[i]
            return (_LIN, i, node.args, (weight, bias, rows, LINEAR_SHIFTS[node.op]))
        if node.op in BINARY:
            return (_BIN, i, node.args, _BINARY_FN[node.op])
        return (_UNARY, i, node.args, _UNARY_FN[node.op])

    def _run(self, plan, values) -> None:
        """The reference evaluation: one operation per node (x-only nodes before the loop; the record)."""
        for kind, i, args, extra in plan:
            if kind == _BIN:
                values[i] = extra(values[args[0]], values[args[1]])
            elif kind == _UNARY:
                values[i] = extra(values[args[0]])
            else:
                weight, bias, rows, shift = extra
                v = values[args[0]]
                w, b = getattr(self, weight), getattr(self, bias)
                if rows.stop - rows.start != b.shape[0]:
                    w, b = w[rows], b[rows]
                out = F.linear(v, w, b) if w is not None else b
                values[i] = torch.add(out, v, alpha=shift) if shift else out

    def _compile_step(self) -> None:
        """The step plan and the prepared-input layout (see the module docstring)."""
        graph, nodes, H, x_only = self.graph, self.graph.nodes, self.hidden_size, self._x_only
        ix, ih, ic = self._leaves
        users = graph.consumers()
        readers = [len(u) + sum(o == i for o in graph.outputs) for i, u in enumerate(users)]

        def partner(lin: int):
            """(the + node, the x-only node it adds) when ``lin`` is read only by a sum with an x-only node."""
            if readers[lin] != 1:
                return None
            add = users[lin][0]
            if nodes[add].op != "+":
                return None
            a, b = nodes[add].args
            other = b if a == lin else a
            if other == lin or not x_only[other]:
                return None
            return add, other

        def bias_of(lin: int) -> tuple:
            _, b, rows = self.linear_slots[lin]
            return b, rows

        # a lin(x) block read only by its sum with a Linear map of the state carries that map's bias
        fold: dict[int, tuple] = {}
        state_lins = [*self._lin_h, *self._lin_c, *(i for i in self._lin_inner if not x_only[i])]
        pairs = {lin: partner(lin) for lin in state_lins}
        for lin, pair in pairs.items():
            if pair is not None and pair[1] in self._lin_x and readers[pair[1]] == 1:
                fold[pair[1]] = bias_of(lin)

        # the prepared input: the projection's blocks, then appended ones; a block is (x-only node, bias or None)
        external = [*self._lin_x, *([ix] if self.embed else [])]
        blocks: list[tuple[int, tuple | None]] = [(i, None) for i in external]

        def block_of(node: int, bias: tuple | None) -> int:
            """The index of the prepared block holding node + bias, appended when no block holds it yet."""
            if node in fold and fold[node] == bias:
                return external.index(node)
            if bias is None and node in external and node not in fold:
                return external.index(node)
            if (node, bias) not in blocks:
                blocks.append((node, bias))
            return blocks.index((node, bias))

        computed: set[int] = set()  # nodes a GEMM instruction writes
        skipped: set[int] = set()  # fused away: computed for the record only
        plan: list[tuple] = []
        for state_index, group, weight in ((0, self._lin_h, "weight_h"), (1, self._lin_c, "weight_c")):
            if not group:
                continue
            sources, targets = [], []  # per row block: the prepared block of its x-part (None: bias only)
            for lin in group:
                pair = pairs[lin]
                if pair is None:
                    sources.append(None)
                    targets.append(lin)
                else:
                    sources.append(block_of(pair[1], None if pair[1] in fold else bias_of(lin)))
                    targets.append(pair[0])
                    skipped.add(lin)
            biases = tuple(bias_of(lin) if src is None else None for lin, src in zip(group, sources, strict=True))
            # each row block, its activation applied when that is its only reader (one call per block: activating
            # adjacent blocks in one call and splitting the result leaves strided gate views, measured slower)
            parts: list[tuple] = []
            for target in targets:
                reader = users[target][0] if readers[target] == 1 else None
                act = nodes[reader].op if reader is not None and nodes[reader].op in _UNARY_FN else None
                out = reader if act else target
                computed.add(out)
                if out != target:
                    skipped.add(target)
                if parts and parts[-1][0] is None and act is None:
                    parts[-1][1].append(out)
                else:
                    parts.append((act, [out]))
            shifts = tuple(LINEAR_SHIFTS[nodes[lin].op] for lin in group)
            sources = tuple(sources)
            if all(src is None for src in sources):
                x_part = (_BIAS_ONLY, None)
            elif sources[0] is not None and sources == tuple(range(sources[0], sources[0] + len(sources))):
                x_part = (_VIEW, (sources[0] * H, (sources[0] + len(sources)) * H))
            else:
                x_part = (_GATHER, tuple(zip(sources, biases, strict=True)))
            plan.append((_GEMM, state_index, x_part,
                         (weight, shifts if any(shifts) else None,
                          tuple((len(outs) * H, _UNARY_FN[act] if act else None, tuple(outs)) for act, outs in parts))))

        fused_adds = {}  # a sum -> (the inner Linear map it absorbs, the prepared block of its x-part)
        for lin in self._lin_inner:
            if not x_only[lin] and pairs[lin] is not None:
                add, other = pairs[lin]
                fused_adds[add] = (lin, block_of(other, None if other in fold else bias_of(lin)))
                skipped.add(lin)

        def fusable_product(i: int) -> bool:
            return nodes[i].op == "*" and readers[i] == 1 and not x_only[i] and i not in skipped

        addcmul: dict[int, tuple[int, int]] = {}  # a + or - node -> (its other operand, the product it absorbs)
        for i, node in enumerate(nodes):
            if node.op in ("+", "-") and not x_only[i] and i not in computed and i not in fused_adds:
                a, b = node.args
                if fusable_product(b):
                    addcmul[i] = (a, b)
                elif node.op == "+" and fusable_product(a):
                    addcmul[i] = (b, a)
                if i in addcmul:
                    skipped.add(addcmul[i][1])
        for i, node in enumerate(nodes):
            if node.op in LEAVES or x_only[i] or i in computed or i in skipped:
                continue
            if i in fused_adds:
                lin, src = fused_adds[i]
                plan.append((_SLIN, i, nodes[lin].args[0], (self.linear_slots[lin][0], None, src,
                                                            LINEAR_SHIFTS[nodes[lin].op])))
            elif is_linear(node.op):
                weight, bias, _ = self.linear_slots[i]
                plan.append((_SLIN, i, node.args[0], (weight, bias, None, LINEAR_SHIFTS[node.op])))
            elif i in addcmul:
                p, m = addcmul[i]
                plan.append((_ADDCMUL, i, (p, *nodes[m].args), -1 if node.op == "-" else 1))
            elif node.op in BINARY:
                plan.append((_SBIN, i, node.args, _BINARY_FN[node.op]))
            else:
                plan.append((_SUNARY, i, node.args, _UNARY_FN[node.op]))
        # the x-only nodes the step reads directly (not through a sum it computes in one addmm)
        reads: list[int] = []
        for kind, _, args, _ in plan:
            if kind in (_SUNARY, _SBIN, _ADDCMUL):
                reads += [a for a in args if x_only[a] and a not in reads]
        reads += [o for o in graph.outputs if x_only[o] and o not in reads]
        self._p_reads = tuple((node, block_of(node, None)) for node in reads)
        # for the record: every x-only operation node that no block holds
        held = {node for node, _ in blocks}
        for i, node in enumerate(nodes):
            if x_only[i] and node.op not in LEAVES and i not in held:
                block_of(i, None)

        self._p_blocks = blocks
        self._fold = fold
        self._step_plan = plan
        self._p_identity = len(blocks) == len(external)

        # whether the step splits the prepared input into its blocks (not when one GEMM reads it as a view)
        self._p_split = bool(self._p_reads) or bool(fused_adds) or any(
            kind == _GEMM and args[0] == _GATHER for kind, _, args, _ in plan)
        # the record: where each x-only node sits in the prepared input, and the bias added to it there
        self._p_where = {}
        for k, (node, bias) in enumerate(blocks):
            self._p_where.setdefault(node, (k, bias if bias is not None else fold.get(node)))
        self._record_plan = [self._instruction(i) for i, n in enumerate(nodes)
                             if n.op not in LEAVES and not x_only[i]]
        self._stepper_source = self._write_stepper()

    def _bind_twin(self) -> None:
        """Recognise a library cell by its canonical form; take the fused path of a twin that is a torch.nn module."""
        self.twin = library_twin(self.graph)
        self.torch_equivalent = None
        self._torch_rows = {}
        twin_class = FUSED_TWINS.get(self.twin)
        if twin_class is None:
            return
        hand = twin_class(1, 1)
        reference = library_graph(self.twin)  # the same nodes in the same order, with the library's labels
        users = reference.consumers()
        order = [name or "h'" for name in hand.block_names]  # the tanh cell's single block is h'
        H = self.hidden_size
        for name, group in (("ih", self._lin_x), ("hh", self._lin_h)):
            roles = [_role(reference, users, i) for i in group]
            perm = [roles.index(r) for r in order]
            rows = torch.cat([torch.arange(k * H, (k + 1) * H) for k in perm]) if perm != sorted(perm) else None
            self.register_buffer(f"_rows_{name}", rows, persistent=False)
        self.torch_equivalent = hand.torch_equivalent

    def _torch_layout(self, own: str, rows: str):
        """A parameter in the fused twin's ``torch.nn`` layout (its blocks gathered into the twin's order)."""
        if self.torch_equivalent is None:
            raise AttributeError(f"only a graph equal to {', '.join(FUSED_TWINS)} has torch.nn parameters")
        param, index = getattr(self, own), getattr(self, rows)
        return param if index is None else param.index_select(0, index)

    weight_ih = property(lambda self: self._torch_layout("weight_x", "_rows_ih"))
    weight_hh = property(lambda self: self._torch_layout("weight_h", "_rows_hh"))
    bias_ih = property(lambda self: self._torch_layout("bias_x", "_rows_ih"))
    bias_hh = property(lambda self: self._torch_layout("bias_h", "_rows_hh"))

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

    def _projection_bias(self):
        """bias_x plus, for each lin(x) block summed only with a Linear map of the state, that map's bias."""
        if self.bias_x is None or not self._fold:
            return self.bias_x
        H = self.hidden_size
        parts = []
        for k, i in enumerate(self._lin_x):
            if i in self._fold:
                name, rows = self._fold[i]
                parts.append(self.bias_x[k * H:(k + 1) * H] + getattr(self, name)[rows])
            else:
                parts.append(self.bias_x[k * H:(k + 1) * H])
        return torch.cat(parts)

    def input_bias(self):
        """The projection with x = 0: the lin(x) biases (with the biases folded into them), and a zero block for
        e (the embedding of nothing)."""
        bias = self._projection_bias()
        parts = [bias] if bias is not None else []
        if self.embed:
            parts.append(next(self.parameters()).new_zeros(self.hidden_size))
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    def input_projection(self, x):
        """[lin(x) blocks, e]: every Linear map of x in one GEMM (after the embedding e = E x when x is read raw)."""
        if x is None or self.input_size == 0:
            return self.input_bias()
        bias = self._projection_bias()
        if not self.embed:
            return project(x, self.weight_x, bias)
        e = project(x, self.weight_embed)
        if self.weight_x is None:
            return e
        out = F.linear(e, self.weight_x, bias)
        if self._shifts_x is not None:  # a·e for lin[a](x), exact in any dtype
            shift = out.new_tensor(self._shifts_x).repeat_interleave(self.hidden_size)
            out = torch.addcmul(out, e.repeat(*([1] * (e.dim() - 1)), len(self._lin_x)), shift)
        return torch.cat((out, e), -1)

    def prepare_input(self, x_proj):
        """The prepared input of the step (module docstring): the projection, then (only where the step needs
        them) x-only nodes computed for all steps at once, and x-parts that carry a bias."""
        if self._p_identity:
            return x_proj
        H = self.hidden_size
        values = [None] * len(self.graph.nodes)
        projected = x_proj.split(H, -1) if self.n_blocks > 1 else (x_proj,)
        external = [*self._lin_x, *([self._leaves[0]] if self.embed else [])]
        for i, block in zip(external, projected, strict=True):
            values[i] = block
        self._run(self._hoisted_plan, values)
        pieces = [x_proj]
        for node, bias in self._p_blocks[len(external):]:
            pieces.append(values[node] if bias is None else values[node] + getattr(self, bias[0])[bias[1]])
        return torch.cat(pieces, -1)

    def recurrent_weight(self):
        """(U, None): every lin(h) in one matrix; its biases are added to the prepared input instead."""
        if self.weight_h is None:
            return next(self.parameters()).new_zeros((0, self.hidden_size)), None
        return self.weight_h, None

    def step(self, x_prep, state, h_proj=None, gates=None):
        ix, ih, ic = self._leaves
        values = [None] * len(self.graph.nodes)
        h = state[0]
        values[ih] = h
        if ic is not None:
            values[ic] = state[1]
        H = self.hidden_size
        blocks = None
        if self._p_split:
            blocks = x_prep.split(H, -1) if x_prep.shape[-1] > H else (x_prep,)
        for node, k in self._p_reads:
            values[node] = blocks[k]
        for kind, i, args, extra in self._step_plan:
            if kind == _GEMM:  # i: state index, args: x-part sources, extra: (weight, shift, parts)
                pre = self._gemm(x_prep, blocks, state[i], args, extra, h_proj if i == 0 else None)
                parts = extra[2]
                pieces = pre.split([p[0] for p in parts], -1) if len(parts) > 1 else (pre,)
                for piece, (_, fn, outs) in zip(pieces, parts, strict=True):
                    if fn is not None:
                        piece = fn(piece)
                    if len(outs) == 1:
                        values[outs[0]] = piece
                    else:
                        for out, v in zip(outs, piece.split(H, -1), strict=True):
                            values[out] = v
            elif kind == _SUNARY:
                values[i] = extra(values[args[0]])
            elif kind == _SBIN:
                values[i] = extra(values[args[0]], values[args[1]])
            elif kind == _ADDCMUL:
                p, a, b = args
                values[i] = torch.addcmul(values[p], values[a], values[b], value=extra)
            else:  # _SLIN: args = the node it reads; extra = (weight, bias or None, block or None, shift)
                weight, bias, src, shift = extra
                v = values[args]
                if src is not None:
                    out = torch.addmm(blocks[src], v, getattr(self, weight).t())
                else:  # F.linear(v, W, b) is addmm(b, v, W.t()); the stepper's transposes W once
                    out = torch.addmm(getattr(self, bias), v, getattr(self, weight).t())
                values[i] = torch.add(out, v, alpha=shift) if shift else out
        if gates is not None:
            self._record(x_prep.split(H, -1) if blocks is None else blocks, state, values, gates)
        out = tuple(values[o] for o in self.graph.outputs)
        if out[-1].shape != h.shape:  # c' = a node of x alone, with no input (a vector): give it the batch
            out = (*out[:-1], out[-1].expand(h.shape))
        return out

    def _gemm(self, x_prep, blocks, s, x_part, extra, h_proj):
        """x-parts + U s for every Linear map of one state (one addmm), plus the diagonal shifts a·s."""
        mode, where = x_part
        weight, shift, _ = extra
        if mode == _VIEW:
            start, stop = where
            x_part = x_prep if start == 0 and stop == x_prep.shape[-1] else x_prep[..., start:stop]
        elif mode == _GATHER:  # blocks in another order, or a bias where a block has no x-part
            H = self.hidden_size
            pieces = [blocks[src] if src is not None else getattr(self, bias[0])[bias[1]] for src, bias in where]
            if any(p.dim() < s.dim() for p in pieces):
                pieces = [p.expand(*s.shape[:-1], H) for p in pieces]
            x_part = torch.cat(pieces, -1)
        else:
            x_part = None
        if h_proj is not None:
            pre = (getattr(self, weight.replace("weight", "bias")) if x_part is None else x_part) + h_proj
        elif x_part is None:
            pre = torch.addmm(getattr(self, weight.replace("weight", "bias")), s, getattr(self, weight).t())
        else:
            pre = torch.addmm(x_part, s, getattr(self, weight).t())
        if shift is not None:  # a·s for lin[a](s), exact in any dtype
            shift = pre.new_tensor(shift).view(len(shift), 1)
            pre = torch.addcmul(pre.view(*pre.shape[:-1], shift.shape[0], self.hidden_size), s.unsqueeze(-2),
                                shift).view(*pre.shape)
        return pre

    def stepper(self):
        """``step`` without recording (``RecurrentCell.stepper``): the plan written out as straight-line Python
        (generated once per graph, module docstring), weights transposed once per forward pass; the same
        operations in the same order as ``step``, so the same floats."""
        source = self._stepper_source
        make = _STEPPERS.get(source)
        if make is None:
            scope = {"torch": torch}
            exec(compile(source, f"<graph stepper {self.graph.canonical()!r}>", "exec"), scope)  # noqa: S102
            make = _STEPPERS[source] = scope["make"]
        return make(self)

    def _write_stepper(self) -> str:
        """Python source of ``make(cell) -> step`` for this graph's plan (the straight-line form of ``step``)."""
        H, x_only = self.hidden_size, self._x_only
        ih, ic = self._leaves[1:]
        setup, body = [], []
        body.append("h = state[0]")
        if ic is not None:
            body.append("c = state[1]")
        names = {ih: "h", ic: "c"} if ic is not None else {ih: "h"}

        def v(i: int) -> str:
            return names.get(i, f"v{i}")

        if self._p_split:
            body.append(f"b = x_prep.split({H}, -1)" if len(self._p_blocks) > 1 else "b = (x_prep,)")
        for node, k in self._p_reads:
            body.append(f"{v(node)} = b[{k}]")
        fn_name = {torch.tanh: "torch.tanh", torch.sigmoid: "torch.sigmoid", torch.relu: "torch.relu",
                   torch.add: "torch.add", torch.mul: "torch.mul", torch.sub: "torch.sub"}
        for n, (kind, i, args, extra) in enumerate(self._step_plan):
            if kind == _GEMM:
                (mode, where), (weight, shift, parts) = args, extra
                s = ("h", "c")[i]
                bias = weight.replace("weight", "bias")
                setup.append(f"w{n} = cell.{weight}.t()")
                if mode == _VIEW:
                    start, stop = where
                    if start == 0 and stop == len(self._p_blocks) * H:
                        x_part = "x_prep"
                    elif self._p_split and stop - start == H:
                        x_part = f"b[{start // H}]"
                    else:
                        x_part = f"x_prep[..., {start}:{stop}]"
                elif mode == _GATHER:
                    pieces = []
                    for j, (src, b) in enumerate(where):
                        if src is None:
                            setup.append(f"g{n}_{j} = cell.{b[0]}[{b[1].start}:{b[1].stop}]")
                        pieces.append(f"b[{src}]" if src is not None else f"g{n}_{j}")
                    if any(src is None for src, _ in where):
                        pieces = [f"{p}.expand_as({s})" for p in pieces]
                    x_part = f"torch.cat(({', '.join(pieces)},), -1)"
                else:
                    setup.append(f"bias{n} = cell.{bias}")
                    x_part = None
                product = f"torch.addmm({x_part or f'bias{n}'}, {s}, w{n})"
                if i == 0:
                    body.append(f"pre = {product} if h_proj is None else {x_part or f'bias{n}'} + h_proj")
                else:
                    body.append(f"pre = {product}")
                if shift is not None:
                    setup.append(f"shift{n} = cell.{weight}.new_tensor({shift!r}).view({len(shift)}, 1)")
                    body.append(f"pre = torch.addcmul(pre.view(*pre.shape[:-1], {len(shift)}, {H}), "
                                f"{s}.unsqueeze(-2), shift{n}).view(*pre.shape)")
                pieces = [f"p{n}_{j}" for j in range(len(parts))]
                if len(parts) > 1:
                    body.append(f"{', '.join(pieces)}, = pre.split({tuple(p[0] for p in parts)!r}, -1)")
                else:
                    body.append(f"{pieces[0]} = pre")
                for piece, (_, fn, outs) in zip(pieces, parts, strict=True):
                    if fn is not None:
                        body.append(f"{piece} = {fn_name[fn]}({piece})")
                    if len(outs) == 1:
                        body.append(f"{v(outs[0])} = {piece}")
                    else:
                        body.append(f"{', '.join(v(o) for o in outs)}, = {piece}.split({H}, -1)")
            elif kind == _SUNARY:
                body.append(f"{v(i)} = {fn_name[extra]}({v(args[0])})")
            elif kind == _SBIN:
                body.append(f"{v(i)} = {fn_name[extra]}({v(args[0])}, {v(args[1])})")
            elif kind == _ADDCMUL:
                p, a, b = args
                body.append(f"{v(i)} = torch.addcmul({v(p)}, {v(a)}, {v(b)}, value={extra})")
            else:
                weight, bias, src, shift = extra
                setup.append(f"w{n} = cell.{weight}.t()")
                if src is not None:
                    body.append(f"{v(i)} = torch.addmm(b[{src}], {v(args)}, w{n})")
                else:
                    setup.append(f"bias{n} = cell.{bias}")
                    body.append(f"{v(i)} = torch.addmm(bias{n}, {v(args)}, w{n})")
                if shift:
                    body.append(f"{v(i)} = torch.add({v(i)}, {v(args)}, alpha={shift!r})")
        outs = [v(o) for o in self.graph.outputs]
        if x_only[self.graph.outputs[-1]]:  # c' = a node of x alone, with no input (a vector): give it the batch
            outs[-1] = f"({outs[-1]} if {outs[-1]}.shape == h.shape else {outs[-1]}.expand(h.shape))"
        body.append(f"return ({', '.join(outs)},)")
        lines = ["def make(cell):", *(f"    {line}" for line in setup),
                 "    def step(x_prep, state, h_proj=None):", *(f"        {line}" for line in body),
                 "    return step", ""]
        return "\n".join(lines)

    def _record(self, blocks, state, values, gates) -> None:
        """Fill ``gates`` with every operation node: the ones a fused operation skipped are computed here."""
        for node, (k, bias) in self._p_where.items():
            if values[node] is None:
                block = blocks[k]
                values[node] = block - getattr(self, bias[0])[bias[1]] if bias is not None else block
        missing = [ins for ins in self._record_plan if values[ins[1]] is None]
        self._run(missing, values)
        shape = state[0].shape
        for i, name in enumerate(self.node_names):
            if self.graph.nodes[i].op not in LEAVES:
                value = values[i]
                gates[name] = value.expand(shape) if value.shape != shape else value

    def extra_repr(self) -> str:
        twin = f", twin={self.twin}" if self.twin else ""
        return f"{super().extra_repr()}, equations={self.graph.canonical()!r}{twin}"
