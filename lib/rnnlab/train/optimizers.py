"""Optimizers of the papers: plain SGD (Pascanu 2014, Jozefowicz 2015), RMSProp (Chung 2014), Adam (modern default).

The training step (``rnnlab.train.trainer``) keeps every trainable parameter as a view into one flat buffer and
every gradient as a view into another (``FlatParameters``), so zeroing the gradients, clipping them and perturbing
the weights are one operation each. The optimizers here do ``torch.optim``'s arithmetic, operation for operation
(``SGD``, ``RMSprop``, ``Adam``: the single-tensor forms, without momentum or weight decay), as one ``torch._foreach_*``
call per operation: the same kernels on the same tensors, so a run reproduces bit for bit what ``torch.optim`` did
(``tests/test_lean_step.py``). Their ``state_dict`` is ``torch.optim``'s, so checkpoints written by either load in
the other. Not importing ``torch.optim`` also spares a process the import of ``torch._dynamo`` (seconds) that
constructing a ``torch.optim`` optimizer triggers.
"""

from __future__ import annotations

import math

import torch

from rnnlab.errors import RnnlabError, check_choice
from rnnlab.train.config import OPTIMIZERS


class FlatParameters:
    """A model's trainable parameters as views into one contiguous buffer ``data``, their gradients into ``grad``.

    Each parameter starts on a 64-byte boundary (the gaps are never read). The parameters that ``noisy(name,
    parameter)`` selects (the weight matrices weight noise perturbs) come first, in the model's order, so they are
    one slice ``data[:n_noisy]``; ``noise_views`` are views of the same shapes into ``noise``, a buffer of that
    length. ``params`` and ``grads`` list the parameters and their gradients in the model's order (the order
    clipping sums their norms in). The model must not be moved (``.to``) afterwards.
    """

    def __init__(self, model: torch.nn.Module, noisy=lambda name, param: False):
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise RnnlabError("the model has no trainable parameter")
        first = named[0][1]
        if any(p.dtype != first.dtype or p.device != first.device for _, p in named):
            raise RnnlabError("the model's parameters must share one dtype and device to be trained")
        order = [np for np in named if noisy(*np)] + [np for np in named if not noisy(*np)]
        # every parameter starts on a 64-byte boundary, as a tensor of its own would (PyTorch's CPU allocator
        # aligns to 64 bytes): matrix kernels pick their code path by alignment, and a misaligned view gives other
        # roundings than the separate tensors the recorded runs trained with
        align = max(1, 64 // first.element_size())
        starts, stop = [], 0
        for _, param in order:
            start = -(-stop // align) * align
            starts.append(start)
            stop = start + param.numel()
        self.n_noisy = max((start + p.numel() for start, (n, p) in zip(starts, order, strict=True) if noisy(n, p)),
                           default=0)
        self.data = torch.zeros(stop, dtype=first.dtype, device=first.device)
        self.grad = torch.zeros_like(self.data)
        self.noise = torch.zeros(self.n_noisy, dtype=first.dtype, device=first.device)  # the gaps stay 0
        self.backup = torch.empty_like(self.noise)
        self.noise_views = []
        with torch.no_grad():
            for start, (name, param) in zip(starts, order, strict=True):
                stop = start + param.numel()
                view = self.data[start:stop].view_as(param)
                view.copy_(param)
                param.data = view
                param.grad = self.grad[start:stop].view_as(param)
                if noisy(name, param):
                    self.noise_views.append(self.noise[start:stop].view_as(param))
        self.params = [p for _, p in named]
        self.grads = [p.grad for p in self.params]

    def zero_grad(self) -> None:
        self.grad.zero_()

    def clip_grad_norm(self, max_norm: float | None) -> torch.Tensor:
        """The gradients' global 2-norm, and scale them to at most ``max_norm``: ``torch.nn.utils.clip_grad_norm_``'s
        arithmetic (a norm per tensor, the norm of those, the same coefficient), one multiply of the whole buffer."""
        norms = torch._foreach_norm(self.grads, 2.0)
        total = torch.linalg.vector_norm(torch.stack(norms), 2.0)
        if max_norm is not None and math.isfinite(max_norm):
            coefficient = torch.clamp(max_norm / (total + 1e-6), max=1.0)
            self.grad.mul_(coefficient)
        return total


class _Optimizer:
    """What the trainer needs of an optimizer: ``param_groups`` (dicts with ``params``, ``lr`` and the rest of
    ``torch.optim``'s keys, plus an optional ``lr_scale``), ``step``, ``state_dict`` and ``load_state_dict``."""

    defaults: dict = {}
    state_names: tuple[str, ...] = ()

    def __init__(self, params, lr: float, **hyper):
        groups = list(params)
        if not groups or not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.param_groups = []
        for group in groups:
            self.param_groups.append({"lr": lr, **self.defaults, **hyper,
                                      **{k: v for k, v in group.items() if k != "params"},
                                      "params": list(group["params"])})
        self.state: dict = {}

    def _group_state(self, group) -> list[list[torch.Tensor]]:
        """Per state name, the tensors of ``group``'s parameters (created, zero, on the first step)."""
        for p in group["params"]:
            if p not in self.state:
                self.state[p] = {"step": torch.tensor(0.0), **{n: torch.zeros_like(p) for n in self.state_names}}
        return [[self.state[p][n] for p in group["params"]] for n in ("step", *self.state_names)]

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            params = group["params"]
            grads = [p.grad for p in params]
            if any(g is None for g in grads):
                keep = [i for i, g in enumerate(grads) if g is not None]
                params, grads = [params[i] for i in keep], [grads[i] for i in keep]
                group = {**group, "params": params}
            if params:
                steps, *state = self._group_state(group)
                torch._foreach_add_(steps, 1.0)
                self._update(group, params, grads, steps, *state)

    def _update(self, group, params, grads, steps, *state) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """``torch.optim.Optimizer.state_dict``'s layout: parameters numbered across the groups in order."""
        index, groups = {}, []
        for group in self.param_groups:
            numbers = []
            for p in group["params"]:
                index.setdefault(p, len(index))
                numbers.append(index[p])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": numbers})
        state = {index[p]: dict(s) for p, s in self.state.items() if p in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, saved: dict) -> None:
        """Load a ``state_dict`` of this class or of the same ``torch.optim`` optimizer (same groups and sizes)."""
        groups = saved["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(g["params"]) != len(own["params"]) for g, own in zip(groups, self.param_groups, strict=True)):
            raise ValueError("the saved optimizer state has other parameter groups than this optimizer")
        by_number = {}
        for group, own in zip(groups, self.param_groups, strict=True):
            by_number.update(zip(group["params"], own["params"], strict=True))
        state = {}
        for number, values in saved["state"].items():
            param = by_number[int(number)]
            state[param] = {k: (v.detach().clone() if k == "step" else v.detach().to(param).clone())
                            if torch.is_tensor(v) else v for k, v in values.items()}
            missing = {"step", *self.state_names} - set(state[param])
            if missing:
                raise ValueError(f"the saved optimizer state lacks {sorted(missing)}")
        self.state = state
        for group, own in zip(groups, self.param_groups, strict=True):
            own.update({k: v for k, v in group.items() if k != "params"})


class SGD(_Optimizer):
    """``torch.optim.SGD(params, lr)``: p ← p − lr·g."""

    defaults = {"momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": False, "maximize": False,
                "foreach": None, "differentiable": False, "fused": None}

    @torch.no_grad()
    def step(self) -> None:  # torch.optim.SGD without momentum keeps no state
        for group in self.param_groups:
            pairs = [(p, p.grad) for p in group["params"] if p.grad is not None]
            if pairs:
                params, grads = zip(*pairs, strict=True)
                torch._foreach_add_(list(params), list(grads), alpha=-group["lr"])


class RMSprop(_Optimizer):
    """``torch.optim.RMSprop(params, lr, alpha, eps)``: s ← α·s + (1−α)·g²; p ← p − lr·g / (√s + ε)."""

    defaults = {"momentum": 0, "alpha": 0.99, "eps": 1e-8, "centered": False, "weight_decay": 0, "capturable": False,
                "foreach": None, "maximize": False, "differentiable": False}
    state_names = ("square_avg",)

    def _update(self, group, params, grads, steps, square_avgs) -> None:
        alpha = group["alpha"]
        torch._foreach_mul_(square_avgs, alpha)
        torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - alpha)
        avg = torch._foreach_sqrt(square_avgs)
        torch._foreach_add_(avg, group["eps"])
        torch._foreach_addcdiv_(params, grads, avg, value=-group["lr"])


class Adam(_Optimizer):
    """``torch.optim.Adam(params, lr)``: m ← lerp(m, g, 1−β₁), v ← β₂·v + (1−β₂)·g²,
    p ← p − lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)."""

    defaults = {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False, "maximize": False,
                "foreach": None, "capturable": False, "differentiable": False, "fused": None,
                "decoupled_weight_decay": False}
    state_names = ("exp_avg", "exp_avg_sq")

    def _update(self, group, params, grads, steps, exp_avgs, exp_avg_sqs) -> None:
        beta1, beta2 = group["betas"]
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
        for param, exp_avg, exp_avg_sq, step in zip(params, exp_avgs, exp_avg_sqs, steps, strict=True):
            t = step.item()
            step_size = group["lr"] / (1 - beta1**t)
            denom = (exp_avg_sq.sqrt() / (1 - beta2**t) ** 0.5).add_(group["eps"])
            param.addcdiv_(exp_avg, denom, value=-step_size)


OPTIMIZER_CLASSES = {"sgd": (SGD, {}), "rmsprop": (RMSprop, {"alpha": 0.9, "eps": 1e-6}), "adam": (Adam, {})}


def make_optimizer(name: str, params, lr: float) -> _Optimizer:
    """``params``: parameters, or parameter groups that may carry an ``lr_scale`` (pretrained parameters).

    SGD; RMSProp with α = 0.9, ε = 1e-6 (Chung et al.); Adam with torch's defaults."""
    check_choice("optimizer", name, OPTIMIZERS)
    cls, hyper = OPTIMIZER_CLASSES[name]
    return cls(params, lr, **hyper)


def set_lr(optimizer, lr: float) -> None:
    """Set the scheduled rate; a group with an ``lr_scale`` (pretrained parameters) gets ``lr * lr_scale``."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
