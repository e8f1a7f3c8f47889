"""The restricted unpickler: admits the Python-2 music pickle format, refuses anything that could run code."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from rnnlab.data.safe_pickle import safe_load
from rnnlab.errors import RnnlabError


class _RunsShell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _CallsEval:
    def __reduce__(self):
        return (eval, ("1 + 1",))


def test_os_system_reduce_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"train": [_RunsShell(marker)]}, protocol=2)
    pickle.loads(payload)  # sanity: the payload is a working exploit ...
    assert marker.exists()
    marker.unlink()
    with pytest.raises(RnnlabError, match=r"refusing to unpickle global (posix|nt|os)\.system"):
        safe_load(payload)
    assert not marker.exists()  # ... which the restricted unpickler never ran


@pytest.mark.parametrize("payload", [
    pickle.dumps(_CallsEval(), protocol=2),
    pickle.dumps(np.arange(3), protocol=2),  # arrays need numpy.core.multiarray._reconstruct
    pickle.dumps(np.float64(1.5), protocol=2),  # a scalar, but not an integer pitch
    pickle.dumps({1, 2}, protocol=2),  # builtins.set: a harmless global, but not one the format uses
], ids=["eval", "ndarray", "float-scalar", "set"])
def test_every_other_global_is_refused(payload):
    with pytest.raises(RnnlabError) as err:
        safe_load(payload)
    assert "\n" not in str(err.value)


# {'train': [[(numpy.int64(60),)]]} written opcode by opcode the way Python 2 cPickle wrote the original files
# (SHORT_BINSTRING payloads, GLOBAL numpy.core.multiarray.scalar, numpy.dtype('i8') rebuilt with BUILD).
PYTHON2_STYLE = (b"\x80\x02}U\x05train]]cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\nU\x02i8K\x00K\x01\x87R"
                 b"(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbU\x08<\x00\x00\x00\x00\x00\x00\x00\x86R\x85aas.")


def test_python2_style_numpy_scalar_pickle_loads_as_plain_ints():
    trusted = pickle.loads(PYTHON2_STYLE, encoding="latin1")
    assert trusted == {"train": [[(np.int64(60),)]]}
    loaded = safe_load(PYTHON2_STYLE)
    assert loaded == {"train": [[(60,)]]} and type(loaded["train"][0][0][0]) is int


def test_numpy2_pickle_of_int64_tuples_loads_like_pickle_does():
    content = {"train": [[(np.int64(60), np.int64(64)), ()]], "valid": [[(np.int64(21),)]], "test": []}
    payload = pickle.dumps(content, protocol=4)  # numpy 2 names numpy._core.multiarray.scalar
    expected = pickle.loads(payload)  # trusted: we made it
    loaded = safe_load(payload)
    assert loaded == {k: [[tuple(int(p) for p in step) for step in seq] for seq in v] for k, v in expected.items()}
    assert all(type(p) is int for p in loaded["train"][0][0])


def test_truncated_pickle_is_one_line_naming_the_problem():
    payload = pickle.dumps({"train": [[(60, 64)] * 100]}, protocol=2)
    with pytest.raises(RnnlabError, match="truncated or corrupt") as err:
        safe_load(payload[: len(payload) // 2], what="music pickle 'x.pickle'")
    assert "\n" not in str(err.value) and "x.pickle" in str(err.value) and "rnnlab data fetch" in str(err.value)


@pytest.mark.canonical
def test_original_jsb_pickle_loads_identically_to_an_unrestricted_load(canonical_data):
    data = (canonical_data / "polyphonic" / "JSB Chorales.pickle").read_bytes()
    trusted = pickle.loads(data, encoding="latin1")  # the CI copy is sha256-verified (docs/data.md §3.2)
    assert safe_load(data) == {k: [[tuple(int(p) for p in step) for step in seq] for seq in v]
                               for k, v in trusted.items()}
