"""A restricted unpickler for the Boulanger-Lewandowski music pickles (they come from the internet).

The original files were written by Python 2 cPickle (protocol 2): a dict ``{'train','valid','test'}`` of lists of
sequences, each a list of tuples of MIDI pitches stored as ``numpy.int64`` scalars. Rebuilding such a scalar needs
exactly two globals, ``numpy.dtype`` and ``numpy.core.multiarray.scalar``. This unpickler admits those two and
nothing else, and even for those it calls our own reconstructors, which accept integer dtypes only. Any other
global (``os.system``, ``builtins.eval``, ...) raises :class:`RnnlabError` before it is looked up.
Plain containers (dict, list, tuple, str, int, None) need no globals at all.
"""

from __future__ import annotations

import io
import pickle

import numpy as np

from rnnlab.errors import RnnlabError


def _integer_dtype(spec, align=0, copy=1) -> np.dtype:
    """``numpy.dtype(spec, align, copy)`` as pickled by numpy, restricted to integer dtypes like ``'i8'``."""
    if not isinstance(spec, str) or np.dtype(spec).kind not in "iu":
        raise RnnlabError(f"pickle asks for numpy dtype {spec!r}; only integer pitches are allowed in a music pickle")
    return np.dtype(spec)


def _integer_scalar(dtype, data=None) -> int:
    """``numpy.core.multiarray.scalar(dtype, bytes)`` rebuilt as a plain Python int."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in "iu":
        raise RnnlabError(f"pickle holds a numpy scalar of dtype {dtype!r}; only integer pitches are allowed")
    if isinstance(data, str):  # Python-2 byte strings arrive as latin-1 text with encoding='latin1'
        data = data.encode("latin1")
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise RnnlabError(f"pickle holds a malformed numpy scalar ({len(data or b'')} bytes for dtype {dtype})")
    return int(np.frombuffer(data, dtype=dtype)[0])


ALLOWED_GLOBALS = {
    ("numpy", "dtype"): _integer_dtype,
    ("numpy.core.multiarray", "scalar"): _integer_scalar,
    ("numpy._core.multiarray", "scalar"): _integer_scalar,  # the same function as pickled by numpy >= 2
}


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` admits only :data:`ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise RnnlabError(
                f"refusing to unpickle global {module}.{name}: a music pickle needs only containers and numpy "
                "integer scalars; the file is not a Boulanger-Lewandowski pickle (or was tampered with)"
            ) from None


def safe_load(data: bytes, what: str = "pickle"):
    """Unpickle ``data`` with :class:`RestrictedUnpickler`; every failure is one :class:`RnnlabError` line."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except RnnlabError as err:
        raise RnnlabError(f"{what}: {err}") from None
    except Exception as err:  # truncated or corrupt files raise a zoo of exception types
        raise RnnlabError(
            f"{what} is truncated or corrupt ({type(err).__name__}: {err}); delete it and fetch it again "
            "with `rnnlab data fetch NAME`"
        ) from None
