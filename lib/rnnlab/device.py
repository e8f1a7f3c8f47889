"""Pick the compute device: CUDA when present, CPU otherwise."""

from __future__ import annotations

import re

import torch

from rnnlab.errors import RnnlabError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def check_device_name(name) -> None:
    """One line unless ``name`` is one of ``DEVICE_CHOICES`` or ``cuda:N`` with N a GPU index (digits)."""
    if name not in DEVICE_CHOICES and not re.fullmatch(r"cuda:\d+", str(name)):
        raise RnnlabError(f"unknown device {name!r}; valid choices: {', '.join(DEVICE_CHOICES)}, cuda:N (N a GPU "
                          "index such as 0)")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` gives CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(name).startswith("cuda") and not torch.cuda.is_available():
        raise RnnlabError(f"device {name!r} requested but no CUDA GPU is available; use device='auto' or 'cpu'")
    return torch.device(name)
