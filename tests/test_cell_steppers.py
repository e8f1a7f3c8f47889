"""Every cell's ``stepper()`` (the time loop's step, weights transposed once per forward pass) computes exactly what
its ``step`` computes: the same outputs and the same gradients, bit for bit, with and without external input and
with and without the first product given (``h_proj``, as a DT(S) level passes it)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnlab.cells import CELLS, make_cell

T, B, N_IN, H = 6, 3, 5, 4


def unroll(cell, step, x, state, with_h_proj):
    prepared = cell.prepare_input(cell.input_projection(x))
    outs = []
    for t in range(T):
        weight, bias = cell.recurrent_weight()
        h_proj = F.linear(state[0], weight, bias) if with_h_proj else None
        state = step(prepared[t] if x is not None else prepared, state, h_proj)
        outs.append(state[0])
    return torch.stack(outs), state


@pytest.mark.parametrize("with_h_proj", [False, True], ids=["addmm", "h_proj"])
@pytest.mark.parametrize("with_input", [True, False], ids=["input", "no-input"])
@pytest.mark.parametrize("name", list(CELLS))
def test_stepper_is_step_bit_for_bit(name, with_input, with_h_proj):
    torch.manual_seed(0)
    cell = make_cell(name, N_IN if with_input else 0, H).double()
    x = torch.randn(T, B, N_IN, dtype=torch.float64) if with_input else None
    state = tuple(torch.randn(B, H, dtype=torch.float64) for _ in cell.state_names)
    probe = torch.randn(T, B, H, dtype=torch.float64)
    results = []
    for use_stepper in (False, True):
        cell.zero_grad()
        out, final = unroll(cell, cell.stepper() if use_stepper else cell.step, x, state, with_h_proj)
        ((out * probe).sum() + final[-1].sum()).backward()
        results.append((out.detach(), [p.grad for p in cell.parameters()]))
    (out_step, grads_step), (out_stepper, grads_stepper) = results
    assert torch.equal(out_step, out_stepper)
    for a, b in zip(grads_step, grads_stepper, strict=True):
        assert (a is None and b is None) or torch.equal(a, b)
