"""Per-split statistics of a dataset, in the columns docs/data.md uses, so they can be compared one to one.

Music: sequences, steps (time steps), notes (sounding pitches summed over steps), min/max length, lowest/highest
MIDI pitch, empty steps (no note sounding), max polyphony and mean polyphony = notes / steps.
Text and synthetic: sequences (lines/examples), tokens (including end-of-line tokens), types (distinct tokens),
min/max length; ``unk`` counts ``<unk>`` tokens where the vocabulary has one; ``scored`` counts scored positions
of the synthetic tasks.
"""

from __future__ import annotations

import pandas as pd
import torch

from rnnlab.data.layout import LOWEST_PITCH


def music_split_stats(rolls: list[torch.Tensor]) -> dict:
    if not rolls:
        return {"sequences": 0, "steps": 0, "notes": 0}
    lengths = [r.shape[0] for r in rolls]
    roll = torch.cat(rolls).bool()
    polyphony = roll.sum(1)
    used = roll.any(0).nonzero().flatten()
    notes = int(polyphony.sum())
    return {
        "sequences": len(rolls), "steps": roll.shape[0], "notes": notes,
        "min_len": min(lengths), "max_len": max(lengths),
        "pitch_min": LOWEST_PITCH + int(used.min()) if len(used) else None,
        "pitch_max": LOWEST_PITCH + int(used.max()) if len(used) else None,
        "empty_steps": int((polyphony == 0).sum()), "max_polyphony": int(polyphony.max()),
        "mean_polyphony": notes / max(roll.shape[0], 1),
    }


def token_split_stats(sequences: list[torch.Tensor], vocab: list[str], score_masks=None) -> dict:
    if not sequences:
        return {"sequences": 0, "tokens": 0}
    tokens = torch.cat(sequences)
    row = {"sequences": len(sequences), "tokens": len(tokens), "types": int(tokens.unique().numel()),
           "min_len": min(len(s) for s in sequences), "max_len": max(len(s) for s in sequences)}
    if "<unk>" in vocab:
        row["unk"] = int((tokens == vocab.index("<unk>")).sum())
    if score_masks is not None:
        row["scored"] = int(sum(int(m[1:].sum()) for m in score_masks))
    return row


def dataset_stats(ds) -> pd.DataFrame:
    """One row per split and an ``all`` row (sums, extremes, and the pooled mean polyphony)."""
    splits = dict(ds.splits)
    splits_and_all = {**splits, "all": [s for seqs in splits.values() for s in seqs]}
    rows = {}
    for split, seqs in splits_and_all.items():
        if ds.kind == "music":
            rows[split] = music_split_stats(seqs)
        else:
            masks = None
            if ds.score_masks is not None:
                masks = ds.score_masks[split] if split != "all" else [m for ms in ds.score_masks.values() for m in ms]
            rows[split] = token_split_stats(seqs, ds.vocab, masks)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "split"
    return table
