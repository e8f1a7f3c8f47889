"""Penn Treebank in Mikolov's preprocessing (``simple-examples``), word level and character level.

- ``ptb-word``: whitespace tokens; every line ends with ``<eos>``, which is part of the 10 000-word vocabulary
  (9 999 words incl. ``<unk>``, plus ``<eos>``). Metric: perplexity = exp(mean nats per word).
- ``ptb-char``: space-separated symbols, ``_`` marks word boundaries; every line ends with the end-of-line symbol
  ``<eol>``, giving the 50-symbol alphabet of Pascanu et al. 2014 (49 symbols + EOL). Metric: bits per character
  = mean nats / ln 2.

The vocabulary is built from the training split, most frequent first (ties alphabetical), so ids are fixed.
See docs/data.md §4 for counts. All three files are read and checked against the catalogue's sha256
(:mod:`rnnlab.data.checksums`) before any is decoded: one changed character is refused in one line, or with
``allow_noncanonical=True`` loaded as ``noncanonical`` data.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from rnnlab.data.catalog import TEXT, search_folders
from rnnlab.data.checksums import check_file, find_file
from rnnlab.data.dataset import SPLITS, Dataset
from rnnlab.data.registry import DATASETS, NONCANONICAL, Provenance, canonical_source, noncanonical_source, source_file
from rnnlab.errors import RnnlabError

EOS = "<eos>"  # end of line, word level
EOL = "<eol>"  # end of line, character level
LEVELS = {"ptb-word": EOS, "ptb-char": EOL}


def read_lines(path: str | Path, end_token: str) -> list[list[str]]:
    """Tokens of each line of a PTB file, each line closed by ``end_token``."""
    return read_lines_and_sha256(path, end_token)[0]


def read_lines_and_sha256(path: str | Path, end_token: str) -> tuple[list[list[str]], str]:
    """The tokens of :func:`read_lines` and the sha256 of the very bytes they were read from."""
    data = _read_bytes(path)
    return _tokens(data, path, end_token), hashlib.sha256(data).hexdigest()


def _read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise RnnlabError(f"cannot read PTB file {str(path)!r} ({err.strerror or err}); make it readable, or move it "
                          "out of the way and run `rnnlab data fetch ptb-word` (or ptb-char)") from None


def _tokens(data: bytes, path: str | Path, end_token: str) -> list[list[str]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RnnlabError(f"cannot read PTB file {str(path)!r} ({err}); fetch it again with `rnnlab data fetch`") \
            from None
    lines = text.split("\n")
    if lines and not lines[-1].strip():  # the file ends with a newline (and, for char files, a space)
        lines.pop()
    return [line.split() + [end_token] for line in lines]


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
    """The three files of ``name`` from the first search folder that has all three (a folder, a link to nowhere
    or a link loop at a file's name is one line: :func:`rnnlab.data.checksums.find_file`)."""
    for folder in search_folders(root):
        paths = {split: find_file(name, entry, [folder]) for split, entry in TEXT[name].items()}
        if all(p is not None for p in paths.values()):
            return paths
    return None


def _missing_message(name: str, root) -> str:
    folders = search_folders(root)
    wanted = ", ".join(e.relpath for e in TEXT[name].values())
    partial = [(folder, [e.relpath for e in TEXT[name].values() if not (Path(folder) / e.relpath).is_file()])
               for folder in folders]
    partial = [(folder, missing) for folder, missing in partial if len(missing) < len(TEXT[name])]
    named = ", ".join(str(f) + ("" if Path(f).exists() else " (does not exist)") for f in folders)
    where = f"{', '.join(partial[0][1])} missing in {partial[0][0]} (the other splits are there)" if partial else \
        f"files missing in {named} (need {wanted})"
    return (f"dataset {name!r}: {where}; run `rnnlab data fetch {name}` or `rnnlab data fetch {name} --from DIR`, "
            "or set RNNLAB_DATA")


def load_ptb(name: str, root=None, max_sequences: int | None = None, allow_noncanonical: bool = False) -> Dataset:
    """Load ``ptb-word`` or ``ptb-char``; the vocabulary always comes from the full training split. All three
    files are checked against the catalogue's sha256 before any is decoded; a mismatch is one line, or with
    ``allow_noncanonical`` the set is loaded and recorded as ``noncanonical``."""
    paths = find_ptb_files(name, root)
    if paths is None:
        raise RnnlabError(_missing_message(name, root))
    data = {split: _read_bytes(paths[split]) for split in SPLITS}
    sha256 = {split: hashlib.sha256(data[split]).hexdigest() for split in SPLITS}
    wrong = [split for split in SPLITS
             if check_file(name, TEXT[name][split], paths[split], sha256[split], allow_noncanonical) is False]
    end_token = LEVELS[name]
    lines = {split: _tokens(data[split], paths[split], end_token) for split in SPLITS}
    vocab = build_vocab(lines["train"])
    splits = {split: encode(lines[split][:max_sequences], vocab, f"{paths[split].name}") for split in SPLITS}
    files = tuple(source_file(paths[split], sha256[split]) for split in SPLITS)
    why = "; ".join(f"{TEXT[name][split].relpath} has sha256 {sha256[split][:16]}, not the catalogued "
                    f"{TEXT[name][split].sha256[:16]}" for split in wrong)
    source = noncanonical_source(name, paths.values(), why) if wrong else canonical_source(name, paths.values())
    return Dataset(name=name, source=source, kind="text", splits=splits,
                   n_in=len(vocab), n_out=len(vocab), loss="categorical", metric=DATASETS[name].metric, vocab=vocab,
                   description="Penn Treebank (Mikolov), " + ("words" if name == "ptb-word" else "characters"),
                   provenance=Provenance(NONCANONICAL if wrong else "canonical", name, name, files))


def load(name: str, root=None, *, seed: int = 0, max_sequences: int | None = None,
         allow_noncanonical: bool = False) -> Dataset:
    """The loader of PTB's two sets (:mod:`rnnlab.data.loaders`): :func:`load_ptb` (no seed)."""
    return load_ptb(name, root, max_sequences, allow_noncanonical)
