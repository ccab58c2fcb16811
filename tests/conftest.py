"""Shared fixtures: the op suite runs once per available array backend."""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from featurelab.backend import cupy_available, to_numpy


@dataclass(frozen=True)
class Backend:
    """How a test moves NumPy reference data to a backend and back."""

    name: str
    asarray: Callable
    to_numpy: Callable


def _numpy_backend():
    return Backend("numpy", np.asarray, to_numpy)


def _cupy_backend():
    import cupy

    return Backend("cupy", cupy.asarray, to_numpy)


_BACKEND_PARAMS = [
    pytest.param(_numpy_backend, id="numpy"),
    pytest.param(
        _cupy_backend,
        id="cupy",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a CUDA device"),
        ],
    ),
]


@pytest.fixture(params=_BACKEND_PARAMS)
def backend(request):
    """A :class:`Backend`: ``backend.asarray(np_array)`` puts test data on it."""
    return request.param()
