"""A cell as a small computation graph (Jozefowicz et al. 2015): the node kinds, the graph, and its canonical form.

Every node has the hidden width H. Leaves are the inputs ``x`` (the input, embedded to H where the graph needs it
raw, see ``cell.py``), ``h`` (the previous state) and, for two-state cells, ``c``. Operations:

    lin(v), lin[1](v), lin[0.9](v), lin[1.1](v)   Linear(a, v) = W v + b with a added to W's diagonal (a v + W v + b);
                                                  each occurrence has its own W and b
    tanh(v), sigmoid(v), relu(v)                  activations
    u + v, u * v, u - v                           element-wise sum, product, difference

The outputs are the new state(s): ``h'`` (and ``c'``). ``ACTIVATIONS`` is the set the "swap an activation" mutation
draws from (the paper's {tanh, σ, ReLU, Linear(0,·), Linear(1,·), Linear(0.9,·), Linear(1.1,·)}).

Canonical form (so identical graphs compare equal): the graph is pruned to what the outputs read, parameter-free
nodes with the same operation on the same arguments are merged (they compute the same value; Linear nodes are never
merged, each one is its own weight), the operands of + and * are sorted by their structure, and the nodes are
numbered in depth-first post-order from h' then c' (a node read several times sorts by its structure plus its
number of readers). ``Graph.canonical()`` prints that form: a node read more than
once gets its own line ``t1 = ...`` (numbered in that order), everything else is written inline. Two graphs are
equal when their canonical texts are. (A rare tie — two operands of + or * with the same structure that share
different nodes with the rest of the graph — is broken by position, so two such isomorphic graphs may print
differently; the search then merely evaluates a duplicate.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rnnlab.errors import RnnlabError

LEAVES = ("x", "h", "c")
LINEAR_SHIFTS = {"lin": 0.0, "lin[1]": 1.0, "lin[0.9]": 0.9, "lin[1.1]": 1.1}  # Linear(a, ·): op name -> a
ACTIVATIONS = ("tanh", "sigmoid", "relu", *LINEAR_SHIFTS)
UNARY = ACTIVATIONS
BINARY = ("+", "*", "-")
COMMUTATIVE = ("+", "*")
OUTPUTS = ("h'", "c'")
MAX_NODES = 40  # operation nodes a graph may hold (the search's size bound is smaller, see rnnlab.search)
MAX_BIAS = 1000.0  # |bias| of lin(v, bias=b) (LSTM-b's is 1; a float32 sigmoid saturates long before this)
MAX_WRITTEN = 100_000  # characters of a graph written out as one tree (``signatures``; the search's reach ~250)


def check_bias(bias) -> str | None:
    """Why ``bias`` is no valid initial bias offset of a Linear node, or None."""
    if isinstance(bias, bool) or not isinstance(bias, int | float) or not math.isfinite(bias):
        return f"bias= takes a finite number (no nan, inf or overflow like 1e999) of magnitude at most {MAX_BIAS:g}"
    if abs(bias) > MAX_BIAS:
        return f"bias= takes a number of magnitude at most {MAX_BIAS:g}"
    return None


def is_linear(op: str) -> bool:
    return op in LINEAR_SHIFTS


@dataclass(frozen=True)
class Node:
    """One node: a leaf (``op`` in LEAVES, no args) or an operation on earlier nodes (indices into the graph)."""

    op: str
    args: tuple[int, ...] = ()
    bias: float = 0.0  # Linear nodes only: added to b at initialisation (``lin(v, bias=1)``, LSTM-b's forget gate)

    def call(self, arg: str) -> str:
        """This unary node applied to the text ``arg``."""
        extra = ""
        if self.bias:
            text = f"{self.bias:g}"
            extra = f", bias={text if float(text) == self.bias else repr(float(self.bias))}"  # exact, and short
        return f"{self.op}({arg}{extra})"


@dataclass
class Graph:
    """Nodes in topological order (arguments before users), the output indices (h' [, c']) and optional labels."""

    nodes: list[Node]
    outputs: tuple[int, ...]
    labels: dict[int, str] = field(default_factory=dict)  # user names of nodes (display only, not part of equality)

    # ----- structure ---------------------------------------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return len(self.outputs)

    def leaf(self, name: str) -> int | None:
        for i, node in enumerate(self.nodes):
            if node.op == name:
                return i
        return None

    def consumers(self) -> list[list[int]]:
        """For every node, the nodes that read it (with repetition when read twice)."""
        users: list[list[int]] = [[] for _ in self.nodes]
        for i, node in enumerate(self.nodes):
            for a in node.args:
                users[a].append(i)
        return users

    def upstream(self, index: int) -> set[int]:
        """Every node ``index`` depends on, itself included."""
        seen, todo = set(), [index]
        while todo:
            i = todo.pop()
            if i not in seen:
                seen.add(i)
                todo.extend(self.nodes[i].args)
        return seen

    def depends_on(self, index: int) -> set[str]:
        """The leaves (x, h, c) that node ``index`` reads."""
        return {self.nodes[i].op for i in self.upstream(index) if self.nodes[i].op in LEAVES}

    def n_operations(self) -> int:
        return sum(node.op not in LEAVES for node in self.nodes)

    def n_linear(self) -> int:
        return sum(is_linear(node.op) for node in self.nodes)

    def check(self) -> None:
        """Raise unless the graph is well formed: topological order, arities, outputs, leaves."""
        if not 1 <= len(self.outputs) <= 2:
            raise RnnlabError(f"a cell has 1 or 2 states (h' [, c']), got {len(self.outputs)} outputs")
        for i, node in enumerate(self.nodes):
            if node.op in LEAVES:
                arity = 0
            elif node.op in UNARY:
                arity = 1
            elif node.op in BINARY:
                arity = 2
            else:
                raise RnnlabError(f"unknown operation {node.op!r}; valid: {', '.join(UNARY + BINARY)}")
            if len(node.args) != arity or any(not 0 <= a < i for a in node.args):
                raise RnnlabError(f"node {i} ({node.op}) has bad arguments {node.args}")
            if node.bias and not is_linear(node.op):
                raise RnnlabError(f"node {i} ({node.op}) has a bias ({node.bias!r}); only Linear nodes take one")
            problem = check_bias(node.bias)
            if problem is not None:
                raise RnnlabError(f"node {i} ({node.op}): {problem}, got {node.bias!r}")
        uses_c = self.leaf("c") is not None and any(self.leaf("c") in n.args for n in self.nodes)
        if uses_c and len(self.outputs) < 2:
            raise RnnlabError("the equations read c but never define c' (a two-state cell needs both h' and c')")
        for name, out in zip(OUTPUTS, self.outputs, strict=False):
            if self.nodes[out].op in LEAVES:
                raise RnnlabError(f"{name} must be computed, not the input {self.nodes[out].op!r} itself")
        if self.n_operations() > MAX_NODES:
            raise RnnlabError(f"the graph has {self.n_operations()} operations; at most {MAX_NODES} are allowed")
        written = self.written_size()
        if written > MAX_WRITTEN:
            raise RnnlabError(f"the graph written out as one tree (shared nodes repeated) takes {written} "
                              f"characters; at most {MAX_WRITTEN} are allowed (a chain of nodes each read twice "
                              "doubles it per step)")

    def written_size(self) -> int:
        """About the length of the longest ``signatures()`` entry, counted without building the texts (a chain of
        shared nodes doubles it at every step: 40 nodes could reach 2**40 characters)."""
        size: list[int] = []
        for node in self.nodes:
            size.append(len(node.op) + 16 + sum(size[a] for a in node.args))
        return max(size, default=0)

    # ----- canonical form ----------------------------------------------------------------------------------------
    def signatures(self) -> list[str]:
        """Each node's structure as a tree expression (shared nodes written out, commutative operands sorted),
        where a node read k > 1 times is marked ``#k`` — so a shared lin(h) sorts apart from a private one."""
        readers = [len(users) for users in self.consumers()]
        for out in self.outputs:
            readers[out] += 1
        sig: list[str] = []
        for i, node in enumerate(self.nodes):
            if node.op in LEAVES:
                sig.append(node.op)
                continue
            if node.op in UNARY:
                text = node.call(sig[node.args[0]])
            else:
                parts = [sig[a] for a in node.args]
                if node.op in COMMUTATIVE:
                    parts.sort()
                text = f"({parts[0]}{node.op}{parts[1]})"
            sig.append(f"{text}#{readers[i]}" if readers[i] > 1 else text)
        return sig

    def normalized(self) -> Graph:
        """The canonical graph: pruned, parameter-free duplicates merged, commutative operands sorted, nodes in
        depth-first post-order from the outputs (leaves x, h, c first). Labels follow their nodes."""
        self.check()
        graph = self._merged()
        sig = graph.signatures()
        order: list[int] = []
        done: set[int] = set()

        def visit(i: int) -> None:
            if i in done:
                return
            done.add(i)
            node = graph.nodes[i]
            args = list(node.args)
            if node.op in COMMUTATIVE:
                args.sort(key=lambda a: sig[a])
            for a in args:
                visit(a)
            order.append(i)

        for leaf in LEAVES:  # the leaves the outputs read come first, in a fixed order
            j = graph.leaf(leaf)
            if j is not None and any(j in graph.upstream(o) for o in graph.outputs):
                visit(j)
        for out in graph.outputs:
            visit(out)
        new_index = {old: new for new, old in enumerate(order)}
        nodes = []
        for old in order:
            node = graph.nodes[old]
            args = [new_index[a] for a in node.args]
            if node.op in COMMUTATIVE:
                args.sort(key=lambda a: sig[order[a]])
            nodes.append(Node(node.op, tuple(args), node.bias))
        labels = {new_index[i]: name for i, name in graph.labels.items() if i in new_index}
        return Graph(nodes, tuple(new_index[o] for o in graph.outputs), labels)

    def _merged(self) -> Graph:
        """Merge parameter-free nodes with the same operation and arguments (and duplicate leaves)."""
        key_to_index: dict[tuple, int] = {}
        remap: dict[int, int] = {}
        nodes: list[Node] = []
        labels: dict[int, str] = {}
        for i, node in enumerate(self.nodes):
            args = [remap[a] for a in node.args]
            if node.op in COMMUTATIVE:
                args.sort()
            new = Node(node.op, tuple(args), node.bias)
            key = (new.op, new.args)
            if not is_linear(node.op) and key in key_to_index:
                remap[i] = key_to_index[key]
            else:
                remap[i] = len(nodes)
                key_to_index.setdefault(key, len(nodes))
                nodes.append(new)
            if i in self.labels:
                labels.setdefault(remap[i], self.labels[i])
        return Graph(nodes, tuple(remap[o] for o in self.outputs), labels)

    def canonical(self) -> str:
        """The canonical text (generated names t1, t2, ...); equal graphs give equal texts."""
        return self.normalized().text(use_labels=False)

    def text(self, use_labels: bool = True) -> str:
        """Equations, one per line: named intermediate nodes in order, then h' (and c' where read by h' first).

        A node gets a line when it is read more than once (or when ``use_labels`` and it has a label); outputs are
        always named h' / c'. Call on a normalized graph for the canonical layout.
        """
        users = self.consumers()
        names: dict[int, str] = {}
        for k, out in enumerate(self.outputs):
            names.setdefault(out, OUTPUTS[k])
        counter = 0
        for i, node in enumerate(self.nodes):
            if node.op in LEAVES or i in names:
                continue
            if len(users[i]) > 1 or (use_labels and i in self.labels):
                counter += 1
                names[i] = self.labels[i] if use_labels and i in self.labels else f"t{counter}"
        if use_labels:  # generated names must not collide with labels
            taken = set(self.labels.values())
            for i, name in list(names.items()):
                if i not in self.labels and name in taken and name not in OUTPUTS:
                    names[i] = f"{name}_"

        def expr(i: int, top: bool = False) -> str:
            node = self.nodes[i]
            if node.op in LEAVES:
                return node.op
            if not top and i in names:
                return names[i]
            if node.op in UNARY:
                return node.call(expr(node.args[0]))
            left, right = (expr(a) for a in node.args)
            # precedence: * binds tighter than + and -; both are left-associative
            if node.op == "*":
                left = _wrap(self, node.args[0], names, left, ("+", "-"))
                right = _wrap(self, node.args[1], names, right, ("+", "-", "*"))
            else:
                right = _wrap(self, node.args[1], names, right, ("+", "-"))
            return f"{left} {node.op} {right}"

        lines = [f"{names[i]} = {expr(i, top=True)}" for i in range(len(self.nodes)) if i in names]
        return "\n".join(lines)

    def __eq__(self, other) -> bool:
        return isinstance(other, Graph) and self.canonical() == other.canonical()

    def __hash__(self) -> int:
        return hash(self.canonical())


def _wrap(graph: Graph, index: int, names: dict[int, str], text: str, ops: tuple[str, ...]) -> str:
    node = graph.nodes[index]
    if index not in names and node.op in ops:
        return f"({text})"
    return text


def relevant_states(graph: Graph) -> tuple[set[str], set[str]]:
    """(states that influence h' over time, leaves those states read).

    h' is what the network reads out; c matters when h' reads it, or reads a state that reads it (through time).
    """
    reads = {name: graph.depends_on(out) for name, out in zip(("h", "c"), graph.outputs, strict=False)}
    relevant = {"h"}
    while True:
        grown = relevant | {s for r in relevant for s in reads[r] if s in reads}
        if grown == relevant:
            break
        relevant = grown
    return relevant, set().union(*(reads[s] for s in relevant))


def validity_problem(graph: Graph, max_operations: int | None = None) -> str | None:
    """Why ``graph`` is not a usable cell, or None: h' must (over time) read x and the old state; a two-state graph
    must use its c; every node must feed an output; the size bound holds."""
    try:
        graph.check()
    except RnnlabError as err:
        return str(err)
    relevant, leaves = relevant_states(graph)
    if "x" not in leaves:
        return "the new state does not depend on the input x"
    if not leaves & {"h", "c"}:
        return "the new state does not depend on the old state"
    if graph.n_states == 2 and "c" not in relevant:
        return "c is dead: h' never reads c (directly or through time)"
    reachable = set().union(*(graph.upstream(o) for o in graph.outputs))
    dead = [i for i, n in enumerate(graph.nodes) if i not in reachable and n.op not in LEAVES]
    if dead:
        return f"{len(dead)} dead node(s) feed no output"
    bound = MAX_NODES if max_operations is None else max_operations
    if graph.n_operations() > bound:
        return f"too big: {graph.n_operations()} operations > {bound}"
    return None
