"""What a forward pass with ``record=True`` returns: every layer's activations per step, and ∂L/∂h_t afterwards.

Layer names:
    ``input/layer{j}``      deep-input layer j (before the recurrence)
    ``level{k}/step{l}``    recurrent level k (0 = bottom), step l of its deep transition inside one time step
                            (l = 0 reads x_t; the last step is the level's state; a plain level has only step0)
    ``output/layer{j}``     deep-output intermediate layer j (the final linear map to the logits is not recorded)

Shapes (T steps, B sequences, H the layer's width): ``h`` (T,B,H); ``c`` (T,B,H) for LSTM cells, else None;
``gates`` maps gate names to (T,B,H) activations — LSTMs: i, f, o and the candidate g (a removed gate is absent,
it is the constant 1); GRU/MUT: z, r and the candidate n; the tanh cell and dense layers have none.
The recorded tensors are detached copies; ``grad_h`` returns the total derivative ∂L/∂h_t of the last
``backward()`` for every t, taken from the live graph through ``retain_grad``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from rnnlab.errors import RnnlabError, check_choice


@dataclass
class LayerRecord:
    """One layer's recorded activations (see the module docstring for names and shapes)."""

    name: str
    h: torch.Tensor
    c: torch.Tensor | None = None
    gates: dict[str, torch.Tensor] = field(default_factory=dict)
    live: list[torch.Tensor] = field(default_factory=list, repr=False)  # graph tensors whose .grad is ∂L/∂h


class Recording:
    """The layers of one recorded forward pass, bottom to top."""

    def __init__(self) -> None:
        self.layers: list[LayerRecord] = []

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    def __getitem__(self, name: str) -> LayerRecord:
        check_choice("recorded layer", name, self.names)
        return self.layers[self.names.index(name)]

    def add_steps(self, name: str, hs: list, cs: list | None = None, gates: list[dict] | None = None) -> None:
        """Record a recurrent layer from its per-step h_t (and c_t, gate dicts); h_t keep their gradients."""
        for h in hs:
            if h.requires_grad:
                h.retain_grad()
        stacked = {key: torch.stack([g[key] for g in gates]).detach() for key in gates[0]} if gates else {}
        c = torch.stack(cs).detach() if cs else None
        self.layers.append(LayerRecord(name, torch.stack(hs).detach(), c, stacked, list(hs)))

    def add_sequence(self, name: str, h: torch.Tensor) -> None:
        """Record a layer computed for all steps at once, (T,B,H)."""
        if h.requires_grad:
            h.retain_grad()
        self.layers.append(LayerRecord(name, h.detach(), live=[h]))

    def grad_h(self, name: str) -> torch.Tensor:
        """∂L/∂h_t for every t as (T,B,H), after ``loss.backward()`` (zeros where h_t did not reach the loss)."""
        live = self[name].live
        if not any(h.grad is not None for h in live):
            raise RnnlabError(
                f"no gradient recorded for layer {name!r}: run the forward pass with gradients enabled and call "
                "loss.backward() first"
            )
        grads = [h.grad if h.grad is not None else torch.zeros_like(h) for h in live]
        return grads[0] if len(live) == 1 and live[0].dim() == 3 else torch.stack(grads)

    def __repr__(self) -> str:
        return f"Recording({', '.join(f'{r.name}{tuple(r.h.shape)}' for r in self.layers)})"
