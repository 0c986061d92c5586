"""Marks for the tests that need a working CuPy and GPU (importable from every test folder:
tests/conftest.py puts this folder on the path)."""

from __future__ import annotations

import importlib.util

import pytest

from attnstudio.core import backends


def cupy_works() -> bool:
    """Whether CuPy imports and a GPU answers (asked afresh, not from the status cache)."""
    if importlib.util.find_spec("cupy") is None:
        return False
    backends.cupy_status.cache_clear()
    return backends.cupy_status().module is not None


needs_gpu = pytest.mark.skipif(not cupy_works(), reason="needs a working CuPy and GPU")
