"""One recurrent level: Pascanu et al.'s transition function, plain or deep, with or without the shortcut.

A transition of depth L chains L cell applications inside one time step (Pascanu et al. 2014, §3.3.1, generalised
from the tanh unit to ANY cell): the state tuple threads through them and only the last one's result is carried
to t+1. Step 1 reads x_t and the previous state; steps 2..L read no external input (DT). With the shortcut (DT(S))
the last step additionally reads [x_t ; h_{t-1}] — its input x_t through its own input matrix U_L and h_{t-1}
through the shortcut matrix S into every one of its pre-activation blocks. For the tanh cell and L = 2:

    z_t = φ(W_1 h_{t-1} + U_1 x_t + b_1)                 (width transition_hidden)
    h_t = φ(W_2 z_t + S h_{t-1} + U_2 x_t + b_2)         DT(S); without S and U_2 x_t it is the DT-RNN

exactly docs/papers.md §1.2 (derived from Pascanu's Table 1) and GroundHog's ``RecurrentMultiLayerShortPathInpAll``.
For gated cells the intermediate steps are gated cells of the same width carrying (h, c) along the chain.

Speed (docs/speed.md): the input projections of all steps are one GEMM; the loop iterates
``unbind(0)``; per step the first product with h_{t-1} and the shortcut S h_{t-1} are one stacked GEMM.
A plain level whose cell IS a torch.nn module trains through that fused module (``fused.py``) unless recording
or reading token ids (torch.nn modules take dense input; the loop indexes the input matrix instead).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.cells import make_cell
from rnnlab.errors import RnnlabError, check_positive
from rnnlab.nets.fused import fused_forward
from rnnlab.nets.recording import Recording


class RecurrentLevel(nn.Module):
    """``depth`` cells chained inside each time step; ``shortcut`` adds Pascanu's DT(S) connections."""

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        *,
        depth: int = 1,
        intermediate_size: int | None = None,
        shortcut: bool = False,
        cell_options: dict | None = None,
        intermediate_options: dict | None = None,
    ):
        super().__init__()
        check_positive("transition_depth", depth)
        if shortcut and depth < 2:
            raise RnnlabError(f"a shortcut needs a deep transition (transition_depth >= 2), got {depth}")
        intermediate_size = hidden_size if intermediate_size is None else intermediate_size
        cells, prev = [], hidden_size
        for step in range(depth):
            top = step == depth - 1
            width = hidden_size if top else intermediate_size
            reads_x = step == 0 or (top and shortcut)
            options = (cell_options if top else intermediate_options) or {}
            cells.append(make_cell(cell, input_size if reads_x else 0, width, prev_size=prev, **options))
            prev = width
        self.cells = nn.ModuleList(cells)
        self.shortcut_weight = nn.Parameter(torch.empty(cells[-1].projection_size, hidden_size)) if shortcut else None
        self.input_size, self.hidden_size, self.depth = input_size, hidden_size, depth
        self.reset_shortcut()

    def reset_shortcut(self) -> None:
        if self.shortcut_weight is not None:
            bound = 1.0 / math.sqrt(self.hidden_size)
            nn.init.uniform_(self.shortcut_weight, -bound, bound)

    @property
    def state_names(self) -> tuple[str, ...]:
        return self.cells[-1].state_names

    def can_fuse(self) -> bool:
        return self.depth == 1 and self.cells[0].is_torch_module()

    def zero_state(self, batch_size: int, device=None, dtype=None) -> tuple[torch.Tensor, ...]:
        """The carried state is what the first step reads (and the last step writes): width ``hidden_size``."""
        return self.cells[0].zero_state(batch_size, device, dtype)

    def forward(self, x, state, *, record: Recording | None = None, name: str = "level", fused: bool = True):
        """x: (T,B,n_in) floats or (T,B) ids; state: tuple of (B,H). Returns (T,B,H) outputs and the final state."""
        if fused and record is None and x.is_floating_point() and self.can_fuse():
            return fused_forward(self.cells[0], x, state)
        if record is None:
            return self.run(x, state)
        return self.loop(x, state, record, name)

    def run(self, x, state):
        """The loop without recording, as tight as a hand-written one: each cell's ``stepper`` (weights transposed
        once per call, φ a plain function), the stacked first product (with the shortcut) transposed once. The
        same operations as ``loop``, in the same order, so the same floats."""
        cells = list(self.cells)
        steps = [cell.stepper() for cell in cells]
        x_first = cells[0].prepare_input(cells[0].input_projection(x)).unbind(0)
        outputs = []
        if len(cells) == 1:
            step = steps[0]
            for x_t in x_first:
                state = step(x_t, state)
                outputs.append(state[0])
            return torch.stack(outputs), state
        first, top, middle = steps[0], steps[-1], list(zip(steps[1:-1], [
            cell.prepare_input(cell.input_projection(None)) for cell in cells[1:-1]], strict=True))
        if self.shortcut_weight is None:
            top_input = cells[-1].prepare_input(cells[-1].input_projection(None))
            for x_t in x_first:
                inner = first(x_t, state)
                for step, x_inner in middle:
                    inner = step(x_inner, inner)
                state = top(top_input, inner)
                outputs.append(state[0])
            return torch.stack(outputs), state
        weight, bias = cells[0].recurrent_weight()
        sizes = (weight.shape[0], self.shortcut_weight.shape[0])
        weight_t = torch.cat((weight, self.shortcut_weight)).t()
        bias = None if bias is None else torch.cat((bias, bias.new_zeros(sizes[1])))
        prepare_top = cells[-1].prepare_input
        for x_t, x_top in zip(x_first, cells[-1].input_projection(x).unbind(0), strict=True):
            # F.linear(h, W, b) is addmm(b, h, W.t()), and without b mm(h, W.t())
            product = torch.mm(state[0], weight_t) if bias is None else torch.addmm(bias, state[0], weight_t)
            h_proj, h_short = product.split(sizes, -1)
            inner = first(x_t, state, h_proj)
            for step, x_inner in middle:
                inner = step(x_inner, inner)
            state = top(prepare_top(x_top + h_short), inner)
            outputs.append(state[0])
        return torch.stack(outputs), state

    def loop(self, x, state, record: Recording | None = None, name: str = "level"):
        """The reference loop: one cell step after another, for every time step."""
        cells = list(self.cells)
        depth, shortcut = len(cells), self.shortcut_weight is not None
        x_first = cells[0].prepare_input(cells[0].input_projection(x)).unbind(0)
        inner = [cell.prepare_input(cell.input_projection(None)) for cell in cells[1:]]
        if shortcut:
            weight, bias = cells[0].recurrent_weight()
            x_top = cells[-1].input_projection(x).unbind(0)
            sizes = (weight.shape[0], self.shortcut_weight.shape[0])
            weight = torch.cat((weight, self.shortcut_weight))
            bias = None if bias is None else torch.cat((bias, bias.new_zeros(sizes[1])))
        traces = [([], [], []) for _ in cells] if record is not None else None
        outputs = []
        h_proj = None
        for t, x_t in enumerate(x_first):
            if shortcut:
                h_proj, h_short = F.linear(state[0], weight, bias).split(sizes, -1)
            for step, cell in enumerate(cells):
                if step == 0:
                    x_proj = x_t
                elif shortcut and step == depth - 1:
                    x_proj = cell.prepare_input(x_top[t] + h_short)
                else:
                    x_proj = inner[step - 1]
                gates = {} if traces is not None else None
                state = cell.step(x_proj, state, h_proj if step == 0 else None, gates)
                if traces is not None:
                    hs, cs, gs = traces[step]
                    hs.append(state[0])
                    gs.append(gates)
                    if len(state) > 1:
                        cs.append(state[1])
            outputs.append(state[0])
        if traces is not None:
            for step, (hs, cs, gs) in enumerate(traces):
                record.add_steps(f"{name}/step{step}", hs, cs or None, gs)
        return torch.stack(outputs), state
