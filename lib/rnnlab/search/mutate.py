"""Graph mutations of Jozefowicz et al. 2015's architecture search, and the child proposal.

The six transforms (each picked with equal probability among those that apply to the graph):

1. ``swap_activation``: a unary node's operation becomes another of tanh, σ, ReLU, Linear(0|1|0.9|1.1, ·);
2. ``swap_elementwise``: a binary node's operation becomes another of +, ×, −;
3. ``insert_activation``: a new random unary node between a node and one of its arguments;
4. ``remove_node``: a unary node read exactly once (by a node or as an output) is bypassed;
5. ``replace_by_ancestor``: every reader of a node reads one of the node's (strict) ancestors instead — the nodes
   it depends on, inputs included;
6. ``replace_by_combination``: every reader of node N reads op(A, B) instead, op ∈ {+, ×, −}, A an ancestor of N
   (N itself allowed), B an ancestor of another random node M (M itself allowed) that does not depend on N.

A child gets 1–3 transforms: p ~ U[0, 1] is drawn once, then each further transform (up to 3) is applied with
probability p — so p controls the expected size of the mutation (1 + p + p², the paper's "p controls the mutation
size"; the exact rule is not given, this is our choice). The child is normalized (dead nodes pruned) and must
pass ``validity_problem`` with the search's size bound, else the proposal is retried.
"""

from __future__ import annotations

import random

from rnnlab.cells.graph.nodes import ACTIVATIONS, BINARY, LEAVES, UNARY, Graph, Node, is_linear, validity_problem
from rnnlab.errors import RnnlabError

MUTATIONS = ("swap_activation", "swap_elementwise", "insert_activation", "remove_node", "replace_by_ancestor",
             "replace_by_combination")
MAX_OPERATIONS = 30  # the search's size bound: operations per graph


class _Editable:
    """A graph as {id: Node-like [op, args, bias]} with free ids, rebuilt into a topologically ordered Graph."""

    def __init__(self, graph: Graph):
        self.ops = {i: [n.op, list(n.args), n.bias] for i, n in enumerate(graph.nodes)}
        self.outputs = list(graph.outputs)
        self.next_id = len(graph.nodes)

    def add(self, op: str, args: list[int]) -> int:
        i = self.next_id
        self.next_id += 1
        self.ops[i] = [op, list(args), 0.0]
        return i

    def ensure_leaf(self, name: str) -> int:
        for i, (op, _, _) in self.ops.items():
            if op == name:
                return i
        return self.add(name, [])

    def live(self) -> set[int]:
        seen, todo = set(), list(self.outputs)
        while todo:
            i = todo.pop()
            if i not in seen:
                seen.add(i)
                todo.extend(self.ops[i][1])
        return seen

    def upstream(self, i: int) -> set[int]:
        seen, todo = set(), [i]
        while todo:
            j = todo.pop()
            if j not in seen:
                seen.add(j)
                todo.extend(self.ops[j][1])
        return seen

    def readers(self, i: int) -> int:
        """How many times node i is read (by live nodes, and as an output)."""
        live = self.live()
        return sum(args.count(i) for j, (_, args, _) in self.ops.items() if j in live) + self.outputs.count(i)

    def redirect(self, old: int, new: int, skip: int | None = None) -> None:
        for j, (_, args, _) in self.ops.items():
            if j != skip:
                self.ops[j][1] = [new if a == old else a for a in args]
        self.outputs = [new if o == old else o for o in self.outputs]

    def graph(self) -> Graph:
        order, done = [], set()

        def visit(i):
            if i in done:
                return
            done.add(i)
            for a in self.ops[i][1]:
                visit(a)
            order.append(i)

        for o in self.outputs:
            visit(o)
        index = {old: new for new, old in enumerate(order)}
        nodes = [Node(self.ops[i][0], tuple(index[a] for a in self.ops[i][1]),
                      self.ops[i][2] if is_linear(self.ops[i][0]) else 0.0) for i in order]
        return Graph(nodes, tuple(index[o] for o in self.outputs))


def mutate_once(graph: Graph, rng: random.Random) -> tuple[Graph, str] | None:
    """Apply one random transform (see the module docstring); None when the drawn one does not apply."""
    g = _Editable(graph)
    live = sorted(g.live())
    operations = [i for i in live if g.ops[i][0] not in LEAVES]
    kind = rng.choice(MUTATIONS)
    if kind == "swap_activation":
        unary = [i for i in operations if g.ops[i][0] in UNARY]
        if not unary:
            return None
        i = rng.choice(unary)
        old = g.ops[i][0]
        g.ops[i][0] = rng.choice([a for a in ACTIVATIONS if a != old])
        if not is_linear(g.ops[i][0]):
            g.ops[i][2] = 0.0
        what = f"swap_activation {old}->{g.ops[i][0]}"
    elif kind == "swap_elementwise":
        binary = [i for i in operations if g.ops[i][0] in BINARY]
        if not binary:
            return None
        i = rng.choice(binary)
        old = g.ops[i][0]
        g.ops[i][0] = rng.choice([b for b in BINARY if b != old])
        what = f"swap_elementwise {old}->{g.ops[i][0]}"
    elif kind == "insert_activation":
        edges = [(i, k) for i in operations for k in range(len(g.ops[i][1]))]
        i, k = rng.choice(edges)
        op = rng.choice(ACTIVATIONS)
        g.ops[i][1][k] = g.add(op, [g.ops[i][1][k]])
        what = f"insert_activation {op}"
    elif kind == "remove_node":
        removable = [i for i in operations if g.ops[i][0] in UNARY and g.readers(i) == 1]
        if not removable:
            return None
        i = rng.choice(removable)
        what = f"remove_node {g.ops[i][0]}"
        g.redirect(i, g.ops[i][1][0])
    elif kind == "replace_by_ancestor":
        i = rng.choice(operations)
        ancestors = sorted(g.upstream(i) - {i})
        a = rng.choice(ancestors)
        what = f"replace_by_ancestor {g.ops[i][0]}->{g.ops[a][0]}"
        g.redirect(i, a)
    else:
        i = rng.choice(operations)
        others = [m for m in live if m != i]
        m = rng.choice(others)
        a = rng.choice(sorted(g.upstream(i)))
        candidates = sorted(b for b in g.upstream(m) if i not in g.upstream(b))
        if not candidates:
            return None
        b = rng.choice(candidates)
        op = rng.choice(BINARY)
        new = g.add(op, [a, b])
        g.redirect(i, new, skip=new)
        what = f"replace_by_combination {g.ops[i][0]}->({g.ops[a][0]} {op} {g.ops[b][0]})"
    return g.graph().normalized(), what


def mutate(graph: Graph, rng: random.Random, max_operations: int = MAX_OPERATIONS,
           attempts: int = 100) -> tuple[Graph, list[str], float]:
    """A valid child of ``graph`` with 1–3 transforms: (child, transform descriptions, p). Raises after
    ``attempts`` failed tries (never in practice)."""
    for _ in range(attempts):
        p = rng.random()
        count = 1
        while count < 3 and rng.random() < p:
            count += 1
        child, steps = graph, []
        for _ in range(count):
            result = None
            for _ in range(20):
                try:
                    result = mutate_once(child, rng)
                except RnnlabError:  # the transform made a graph that is no cell (e.g. h' = h): draw another
                    result = None
                if result is not None:
                    break
            if result is None:
                break
            child, what = result
            steps.append(what)
        if len(steps) == count and validity_problem(child, max_operations) is None:
            return child, steps, round(p, 4)
    raise RnnlabError(f"could not produce a valid child of at most {max_operations} operations in {attempts} tries; "
                      "raise max_operations")
