"""pytest only (readers can ignore this file): checks the key outputs of each notebook cell as nbval runs it.

The checks and the expectations live with the tests: tests/notebook_checks.py, tests/notebook_expectations.py.
"""

import sys
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:  # `pytest notebooks` alone: make the tests package importable
    sys.path.insert(0, ROOT)

from tests.notebook_checks import check_notebook_cell  # noqa: E402


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield  # nbval runs the cell (an exception in the cell fails the test here, as before)
    check_notebook_cell(item)
    return result
