"""What every recurrent cell shares: sizes, the hoisted input projection, zero states, default initialisation.

A cell is ONE time step, split so that a sequence loop stays fast (see docs/speed.md):

    x̂_t = A x_t + b                    input_projection(), done for all t at once (one GEMM), then
                                       prepare_input(): any element-wise work on x̂ alone (MUT1's σ(W_xz x))
    ĥ_t = U_1 h_{t-1} (+ b_h)          recurrent_weight(): the first product with the previous h, which a
                                       deep-transition level may stack with its shortcut into one GEMM;
                                       otherwise the step computes x̂_t + U_1 h_{t-1} as one addmm
    state_t = step(x̂_t, state_{t-1}, ĥ_t)

Every other gate and matrix product lives inside ``step``, written as the paper's equation.

A cell built with ``input_size=0`` has no external input (layers 2..L of a deep transition): every input term
W x is absent and only the biases remain, e.g. MUT1's input-only gate z = σ(W_xz x + b_z) becomes σ(b_z).
``prev_size`` is the width of the incoming state; only the tanh cell allows it to differ from ``hidden_size``
(gated cells carry their state through the chain, so the widths must agree).

Token input: an integer tensor of ids is treated as one-hot — the input matrix is indexed (an embedding lookup),
never multiplied by a materialised one-hot vector.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.errors import RnnlabError, check_positive


def project(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``weight @ x + bias`` along the last axis; integer ``x`` holds one-hot ids, which index ``weight``'s columns."""
    if x.is_floating_point():
        return F.linear(x, weight, bias)
    out = F.embedding(x, weight.t())
    return out if bias is None else out + bias


class RecurrentCell(nn.Module):
    """Base class: subclasses set the class attributes and implement ``recurrent_weight`` and ``step``."""

    state_names: tuple[str, ...] = ("h",)
    # every activation ``step`` records in its ``gates`` dict, [0,1] gates and candidates alike
    gate_names: tuple[str, ...] = ()
    # those of ``gate_names`` that are NOT [0,1] gates: tanh-range candidates (LSTM g, GRU/MUT n), a graph cell's
    # non-sigmoid nodes; the [0,1] gates are ``[g for g in gate_names if g not in candidate_names]``
    candidate_names: tuple[str, ...] = ()
    has_forget_gate: bool = False  # a forget gate whose initial bias the ``forget_bias`` option shifts
    default_forget_bias: float | None = None  # forget_bias when not given (None: no forget gate)
    n_blocks: int = 1  # the input projection has n_blocks · block_size rows (one block per gate/candidate)
    block_names: tuple[str, ...] = ("",)  # the name of each input-projection block ("" for a single block)
    # the matrices that multiply the previous state (or, in a deep transition, the step below's output), by parameter
    # name, with the name of each row block stacked in them ("" for an unstacked weight_hh): spectral-norm labels
    recurrent_blocks: dict[str, tuple[str, ...]] = {"weight_hh": ("",)}
    input_weight_names: tuple[str, ...] = ("weight_ih",)  # matrices that multiply the raw input x
    torch_equivalent: str | None = None  # "rnn_tanh", "rnn_relu", "lstm", "gru": this cell IS that torch.nn module
    options: tuple[str, ...] = ()  # keyword options the constructor accepts

    def __init__(self, input_size: int, hidden_size: int, prev_size: int | None = None):
        super().__init__()
        check_positive("input_size", input_size, allow_zero=True)
        check_positive("hidden_size", hidden_size)
        prev_size = hidden_size if prev_size is None else prev_size
        check_positive("prev_size", prev_size)
        if prev_size != hidden_size and not self.allows_width_change():
            raise RnnlabError(
                f"cell {type(self).__name__} carries its state through a deep transition, so the intermediate width "
                f"must equal hidden ({hidden_size}); got {prev_size} (only the tanh cell allows a different width)"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.prev_size = prev_size

    # ----- structure -------------------------------------------------------------------------------------------
    @classmethod
    def allows_width_change(cls) -> bool:
        """Whether ``prev_size`` (a deep transition's intermediate width) may differ from ``hidden_size``."""
        return False

    @classmethod
    def takes_option(cls, name: str) -> bool:
        """Whether the constructor accepts option ``name`` (e.g. "nonlinearity", "forget_bias", "equations")."""
        return name in cls.options

    @property
    def block_size(self) -> int:
        """Rows per pre-activation block (hidden_size; k·hidden_size for a k-piece pooling φ)."""
        return self.hidden_size

    @property
    def projection_size(self) -> int:
        return self.n_blocks * self.block_size

    def is_torch_module(self) -> bool:
        """True when this cell computes exactly what ``torch_equivalent`` computes (the fused path applies)."""
        return self.torch_equivalent is not None and self.input_size > 0 and self.prev_size == self.hidden_size

    def duplicate_parameter_count(self) -> int:
        """Parameters that only ever appear summed with another (torch's b_ih + b_hh); 0 unless overridden."""
        return 0

    # ----- computation -----------------------------------------------------------------------------------------
    def input_bias(self) -> torch.Tensor:
        """The bias added to the input projection (the whole projection when there is no input)."""
        return self.bias_ih

    def input_projection(self, x: torch.Tensor | None) -> torch.Tensor:
        """x̂ = A x + b for every step at once: (T,B,n_in) floats or (T,B) ids -> (T,B,projection_size).

        With no input (``x is None`` or ``input_size == 0``) this is the bias vector alone, (projection_size,).
        """
        if x is None or self.input_size == 0:
            return self.input_bias()
        return project(x, self.weight_ih, self.input_bias())

    def prepare_input(self, x_proj: torch.Tensor) -> torch.Tensor:
        """Element-wise work that depends on x̂ alone, hoisted out of the loop (identity unless overridden)."""
        return x_proj

    def recurrent_weight(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(U_1, b) of the first product with h_{t-1}; ``step`` computes F.linear(h, U_1, b) when not given it."""
        raise NotImplementedError

    def step(self, x_proj, state, h_proj=None, gates=None):
        """One time step from the prepared input; returns the new state tuple; fills ``gates`` if given a dict."""
        raise NotImplementedError

    def stepper(self):
        """``step`` without recording, as a function ``(x_proj, state, h_proj=None) -> state`` for one forward pass.

        A hand-written cell returns a closure over its weights transposed once and its φ as a plain function, so
        the time loop does no per-step transpose, attribute look-up or module call; it computes exactly what
        ``step`` computes, operation for operation (the same floats). Build it inside the forward pass (it reads
        the parameters as they are then: weight noise, ``functional_call``). The default is ``step`` itself."""
        return self.step

    def recurrent_product(self, h: torch.Tensor, h_proj: torch.Tensor | None) -> torch.Tensor:
        """U_1 h (+ b), or the ``h_proj`` the level already computed."""
        if h_proj is not None:
            return h_proj
        weight, bias = self.recurrent_weight()
        return F.linear(h, weight, bias)

    def pre_activation(self, x_proj: torch.Tensor, h: torch.Tensor, h_proj: torch.Tensor | None) -> torch.Tensor:
        """x̂_t + U_1 h_{t-1} (+ b): one fused multiply-add when the product is not given."""
        if h_proj is not None:
            return x_proj + h_proj
        weight, bias = self.recurrent_weight()
        if bias is None:
            return torch.addmm(x_proj, h, weight.t())
        return x_proj + F.linear(h, weight, bias)

    def zero_state(self, batch_size: int, device=None, dtype=None) -> tuple[torch.Tensor, ...]:
        """The all-zero state h_0 (and c_0), each (batch_size, prev_size)."""
        param = next(self.parameters())
        device = param.device if device is None else device
        dtype = param.dtype if dtype is None else dtype
        return tuple(torch.zeros(batch_size, self.prev_size, device=device, dtype=dtype) for _ in self.state_names)

    # ----- initialisation --------------------------------------------------------------------------------------
    def reset_parameters(self) -> None:
        """PyTorch's recurrent default: every parameter ~ U(−1/√H, 1/√H), then ``after_reset`` (e.g. forget bias)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters(recurse=False):
            nn.init.uniform_(param, -bound, bound)
        self.after_reset()

    def after_reset(self) -> None:
        """Hook run after any (re-)initialisation: the LSTMs add their forget-gate bias here."""

    def extra_repr(self) -> str:
        width = f", prev_size={self.prev_size}" if self.prev_size != self.hidden_size else ""
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}{width}"


def new_weight(rows: int, cols: int) -> nn.Parameter | None:
    """An uninitialised (rows, cols) parameter, or None for a zero-width input (the term is absent)."""
    return nn.Parameter(torch.empty(rows, cols)) if cols > 0 else None


def new_vector(size: int) -> nn.Parameter:
    return nn.Parameter(torch.empty(size))
