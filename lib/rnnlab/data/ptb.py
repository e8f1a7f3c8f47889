"""Penn Treebank in Mikolov's preprocessing (``simple-examples``), word level and character level.

- ``ptb-word``: whitespace tokens; every line ends with ``<eos>``, which is part of the 10 000-word vocabulary
  (9 999 words incl. ``<unk>``, plus ``<eos>``). Metric: perplexity = exp(mean nats per word).
- ``ptb-char``: space-separated symbols, ``_`` marks word boundaries; every line ends with the end-of-line symbol
  ``<eol>``, giving the 50-symbol alphabet of Pascanu et al. 2014 (49 symbols + EOL). Metric: bits per character
  = mean nats / ln 2.

The vocabulary is built from the training split, most frequent first (ties alphabetical), so ids are fixed.
See docs/data.md §4 for counts.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from rnnlab.data.catalog import TEXT, search_folders
from rnnlab.data.dataset import SPLITS, Dataset
from rnnlab.data.registry import DATASETS, Provenance, canonical_source, source_file
from rnnlab.errors import RnnlabError

EOS = "<eos>"  # end of line, word level
EOL = "<eol>"  # end of line, character level
LEVELS = {"ptb-word": EOS, "ptb-char": EOL}


def read_lines(path: str | Path, end_token: str) -> list[list[str]]:
    """Tokens of each line of a PTB file, each line closed by ``end_token``."""
    return read_lines_and_sha256(path, end_token)[0]


def read_lines_and_sha256(path: str | Path, end_token: str) -> tuple[list[list[str]], str]:
    """The tokens of :func:`read_lines` and the sha256 of the very bytes they were read from."""
    try:
        data = Path(path).read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RnnlabError(f"cannot read PTB file {str(path)!r} ({err}); fetch it again with `rnnlab data fetch`") \
            from None
    lines = text.split("\n")
    if lines and not lines[-1].strip():  # the file ends with a newline (and, for char files, a space)
        lines.pop()
    return [line.split() + [end_token] for line in lines], hashlib.sha256(data).hexdigest()


def build_vocab(lines: list[list[str]]) -> list[str]:
    """Every token of ``lines``, most frequent first, ties in alphabetical order."""
    counts = Counter(token for line in lines for token in line)
    return sorted(counts, key=lambda token: (-counts[token], token))


def encode(lines: list[list[str]], vocab: list[str], where: str) -> list[torch.Tensor]:
    index = {token: i for i, token in enumerate(vocab)}
    try:
        ids = np.fromiter((index[token] for line in lines for token in line), dtype=np.int64)
    except KeyError as err:
        raise RnnlabError(f"{where}: token {err.args[0]!r} is not in the training vocabulary") from None
    return list(torch.from_numpy(ids).split([len(line) for line in lines]))


def find_ptb_files(name: str, root=None) -> dict[str, Path] | None:
    folders = search_folders(root)
    for folder in folders:
        paths = {split: Path(folder) / entry.relpath for split, entry in TEXT[name].items()}
        if all(p.is_file() for p in paths.values()):
            return paths
    return None


def load_ptb(name: str, root=None, max_sequences: int | None = None) -> Dataset:
    """Load ``ptb-word`` or ``ptb-char``; the vocabulary always comes from the full training split."""
    paths = find_ptb_files(name, root)
    if paths is None:
        folders = ", ".join(str(f) for f in search_folders(root))
        wanted = ", ".join(e.relpath for e in TEXT[name].values())
        raise RnnlabError(f"dataset {name!r}: files missing in {folders} (need {wanted}); run `rnnlab data fetch "
                          f"{name}` or `rnnlab data fetch {name} --from DIR`, or set RNNLAB_DATA")
    end_token = LEVELS[name]
    read = {split: read_lines_and_sha256(paths[split], end_token) for split in SPLITS}
    lines = {split: tokens for split, (tokens, _) in read.items()}
    vocab = build_vocab(lines["train"])
    splits = {split: encode(lines[split][:max_sequences], vocab, f"{paths[split].name}") for split in SPLITS}
    files = tuple(source_file(paths[split], sha256) for split, (_, sha256) in read.items())
    return Dataset(name=name, source=canonical_source(name, paths.values()), kind="text", splits=splits,
                   n_in=len(vocab), n_out=len(vocab), loss="categorical", metric=DATASETS[name].metric, vocab=vocab,
                   description="Penn Treebank (Mikolov), " + ("words" if name == "ptb-word" else "characters"),
                   provenance=Provenance("canonical", name, name, files))


def load(name: str, root=None, *, seed: int = 0, max_sequences: int | None = None) -> Dataset:
    """The loader of PTB's two sets (:mod:`rnnlab.data.loaders`): :func:`load_ptb` (no seed)."""
    return load_ptb(name, root, max_sequences)
