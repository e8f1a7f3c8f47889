"""The one container every dataset loader returns, whatever the task.

Shapes (what the batcher and the trainer rely on):

- music: ``splits[s]`` is a list of float32 tensors ``(T, 88)`` of 0/1; column j is MIDI pitch 21 + j.
- text: a list of int64 tensors ``(T,)``, one per line including its end-of-line token.
- synthetic: a list of int64 tensors ``(T,)``, and ``score_masks[s]`` a list of bool tensors ``(T,)`` marking the
  positions whose *prediction* is scored (position t is scored when token t is an answer character); the batcher
  aligns them with the targets ``sequence[1:]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rnnlab.data.layout import HIGHEST_PITCH, LOWEST_PITCH, N_KEYS, SPLITS
from rnnlab.errors import RnnlabError

if TYPE_CHECKING:  # keeps this module (and bach-music21's worker processes) free of the torch import
    import torch

    from rnnlab.data.registry import Provenance

__all__ = ["HIGHEST_PITCH", "LOWEST_PITCH", "N_KEYS", "SPLITS", "Dataset"]  # the layout constants, re-exported


@dataclass
class Dataset:
    """A loaded dataset: its splits, its sizes, how it is scored, and where it came from: ``source`` (one line of
    text for people and run records) and ``provenance`` (the same facts, structured; see
    :class:`rnnlab.data.registry.Provenance`; None for a Dataset built by hand)."""

    name: str
    source: str  # e.g. "canonical jsb (polyphonic/JSB Chorales.pickle)", "music21 stand-in (bach-music21): ...",
    # "generated seed=0": names no folder of this machine (the files read are in provenance)
    kind: str  # "music" | "text" | "synthetic"
    splits: dict[str, list[torch.Tensor]]
    n_in: int
    n_out: int
    loss: str  # "bernoulli" | "categorical"
    metric: str  # "nll" | "bpc" | "ppl" | "accuracy"
    vocab: list[str] | None = None
    score_masks: dict[str, list[torch.Tensor]] | None = None
    description: str = ""
    piece_names: dict[str, list[str]] | None = None  # file name of each piece, where known (bach-music21)
    provenance: Provenance | None = None

    def summary_fields(self) -> dict:
        """What a run summary records about its data: ``data_source`` (the text, as always) and, when known, the
        structured ``data_origin``, ``data_loaded``, ``data_paper_dataset`` and ``data_files`` {file: sha256}, each
        file named as in a data folder (``polyphonic/JSB Chorales.pickle``) or by its bare name: no machine's path."""
        fields = {"data_source": self.source}
        if self.provenance is not None:
            fields.update(self.provenance.summary_fields())
        return fields

    def stats(self):
        """A pandas DataFrame with one row per split plus ``all`` (see :mod:`rnnlab.data.stats`)."""
        from rnnlab.data.stats import dataset_stats

        return dataset_stats(self)

    def content_sha256(self) -> str:
        """sha256 of the splits' contents (split names, shapes and values), whatever file they came from: two runs
        with the same fingerprint saw the same data."""
        import hashlib

        digest = hashlib.sha256()
        for split in SPLITS:
            for tensor in self.splits.get(split, []):
                digest.update(f"{split}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
                digest.update(tensor.contiguous().numpy().tobytes())
        return digest.hexdigest()

    @property
    def token_input(self) -> bool:
        """Its inputs are token ids (a vocabulary), not 0/1 frames: its kind's fact in the registry."""
        from rnnlab.data.registry import KIND_SPECS

        return KIND_SPECS[self.kind].token_input

    def decode(self, tokens) -> str:
        """Text of a token sequence (text and synthetic sets), its symbols joined as its registry unit says
        (``DatasetSpec.separator``: words spaced, characters abut; a set outside the registry: abut)."""
        from rnnlab.data.registry import DATASETS

        if self.vocab is None:
            raise RnnlabError(f"{self.name} is a music set; it has no vocabulary to decode")
        symbols = [self.vocab[int(t)] for t in tokens]
        spec = DATASETS.get(self.name)
        return (spec.separator if spec is not None else "").join(symbols)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.splits.items())
        return f"Dataset({self.name!r}, kind={self.kind!r}, {sizes}, n_in={self.n_in}, source={self.source!r})"
