"""The loader of each dataset: the module of :mod:`rnnlab.data` its registry line names (``DatasetSpec.loader``,
by default its kind's: :data:`rnnlab.data.registry.KIND_SPECS`), imported when first asked for.

``load_dataset``, ``check_dataset_options`` and ``rnnlab data fetch`` / ``list`` ask a set's loader, never its name
or kind, so a new set whose files need a new reader is that module and one registry line. A loader module provides

- ``load(name, root=None, *, seed=0, max_sequences=None, **options) -> Dataset`` (required): ``root`` is the data
  folder of canonical files, ``seed`` the generator seed of generated sets, ``options`` those of the registry
  line's ``options`` and, for a canonical set with catalogued files, ``allow_noncanonical`` (check every file read
  with :func:`rnnlab.data.checksums.check_file` and record a mismatch it admits as ``noncanonical``);
- ``check_options(name, options)`` (only where the registry line's ``options`` is None): raise ``RnnlabError`` (one
  line) on an unknown or bad option;
- ``fetch(name, dest, timeout, deadline) -> list[Path]`` (optional): make the set available when that is not a
  download of its catalogued files (the stand-in builds its cache);
- ``inventory_rows(name) -> list[dict]`` (optional): the set's rows of ``rnnlab data list`` when it has no
  catalogued files to list.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from rnnlab.data.registry import spec
from rnnlab.errors import RnnlabError


def loader(name: str) -> ModuleType:
    """The loader module of dataset ``name`` (one-line error naming the valid names for an unknown one)."""
    module = spec(name).loader
    try:
        found = importlib.import_module(f"rnnlab.data.{module}")
    except ModuleNotFoundError as err:
        raise RnnlabError(f"dataset {name!r}: its loader rnnlab.data.{module} does not exist ({err})") from None
    if not callable(getattr(found, "load", None)):
        raise RnnlabError(f"dataset {name!r}: its loader rnnlab.data.{module} has no load() function")
    return found
