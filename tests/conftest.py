"""Shared fixtures: the op suite runs once per available array backend."""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from featurelab.backend import cupy_available, to_numpy
from tests import _strict_cupy


@dataclass(frozen=True)
class Backend:
    """How a test moves NumPy reference data to a backend and back."""

    name: str
    asarray: Callable
    to_numpy: Callable


def _numpy_backend():
    return Backend("numpy", np.asarray, to_numpy)


def _strict_cupy_backend():
    """The CuPy code path on CPU, through the strict fake in _strict_cupy."""
    return Backend("strict_cupy", _strict_cupy.asarray, to_numpy)


def _cupy_backend():
    import cupy

    return Backend("cupy", cupy.asarray, to_numpy)


_BACKEND_PARAMS = [
    pytest.param(_numpy_backend, id="numpy"),
    pytest.param(_strict_cupy_backend, id="strict_cupy"),
    pytest.param(
        _cupy_backend,
        id="cupy",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a CUDA device"),
        ],
    ),
]



@pytest.fixture(autouse=True)
def _install_strict_cupy(request):
    """Put the fake into ``sys.modules['cupy']`` for tests run with the
    ``strict_cupy`` param of :func:`backend` (undone after the test)."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and (
        callspec.params.get("backend") is _strict_cupy_backend
    ):
        _strict_cupy.install(request.getfixturevalue("monkeypatch"))


@pytest.fixture
def strict_cupy(monkeypatch):
    """The strict fake ``cupy`` module, installed for the test."""
    return _strict_cupy.install(monkeypatch)


@pytest.fixture(params=_BACKEND_PARAMS)
def backend(request):
    """A :class:`Backend`: ``backend.asarray(np_array)`` puts test data on it."""
    return request.param()
