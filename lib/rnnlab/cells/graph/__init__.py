"""Cells as graphs (Jozefowicz et al. 2015): write a cell as equations, parse it into a graph, compile it.

- ``nodes.py``: node kinds, ``Graph``, canonical form, validity checks;
- ``parse.py``: ``parse_equations`` (text → graph; ``Graph.text()``/``canonical()`` print it back);
- ``cell.py``: ``GraphCell``, the compiled ``RecurrentCell`` (registered as cell ``"graph"``, option ``equations``);
- ``library.py``: tanh RNN, LSTM, LSTM-b, GRU, MUT1-3 (and MGU, MinimalRNN) as equations;
- ``draw.py``: ``graph_figure``, a drawing of a graph as a plotly figure.
"""

from rnnlab.cells.graph.cell import GraphCell, as_graph
from rnnlab.cells.graph.library import LIBRARY, library_graph
from rnnlab.cells.graph.nodes import Graph, Node, validity_problem
from rnnlab.cells.graph.parse import parse_equations

__all__ = ["LIBRARY", "Graph", "GraphCell", "Node", "as_graph", "library_graph", "parse_equations",
           "validity_problem"]
