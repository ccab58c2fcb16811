"""Tests of featurelab.ops.zoom against scipy.ndimage.zoom."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import ndimage

from featurelab.ops import zoom
from tests.ops._reference import HYP, normal


@pytest.mark.parametrize("shape,factor", [
    ((2, 3, 8, 8), 2), ((1, 2, 8, 8), 3), ((2, 1, 7, 5), (2, 1.5)),
    ((3, 2, 11), 2.5), ((1, 1, 4, 5, 6), (2, 1, 0.5)), ((2, 1, 9, 9), 0.5),
])
@pytest.mark.parametrize("order", [0, 1, 3, 5])
def test_zoom_is_scipy_ndimage_zoom(backend, shape, factor, order):
    x = normal(shape, 0)
    got = backend.to_numpy(zoom(backend.asarray(x), factor, order=order))
    per_axis = factor if isinstance(factor, tuple) else (factor,) * (len(shape) - 2)
    want = ndimage.zoom(x, (1, 1, *per_axis), order=order)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_zoom_keeps_float32_and_matches_in_float32_precision(backend):
    x = normal((2, 1, 8, 8), 1, np.float32)
    got = zoom(backend.asarray(x), 2)
    assert got.dtype == np.float32
    want = ndimage.zoom(x.astype(np.float64), (1, 1, 2, 2), order=3)
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=1e-5, atol=1e-5)


def test_output_size_replaces_factor():
    x = normal((1, 1, 6, 6), 2)
    np.testing.assert_allclose(zoom(x, None, output_size=(12, 9)),
                               ndimage.zoom(x, (1, 1, 2, 1.5)), atol=1e-10)


@HYP
@given(n=st.integers(1, 9), m=st.integers(1, 17), order=st.integers(0, 5),
       a=st.floats(-3, 3), b=st.floats(-3, 3))
def test_zoom_is_linear_and_keeps_constants(n, m, order, a, b):
    x, z = normal((2, 1, n), n), normal((2, 1, n), n + 1)
    zx, zz = zoom(x, None, order=order, output_size=m), zoom(z, None, order=order,
                                                            output_size=m)
    np.testing.assert_allclose(zoom(a * x + b * z, None, order=order, output_size=m),
                               a * zx + b * zz, atol=1e-9)
    # corners coincide (grid_mode=False): the end samples are kept for m > 1
    if m > 1 and n > 1:
        np.testing.assert_allclose(zx[..., [0, -1]], x[..., [0, -1]], atol=1e-9)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"x": np.zeros((2, 8)), "factor": 2}, ValueError, "x must be"),
    ({"x": np.zeros((1, 1, 8, 8)), "factor": 0}, ValueError, "factor must be a finite"),
    ({"x": np.zeros((1, 1, 8, 8)), "factor": float("inf")}, ValueError, "finite"),
    ({"x": np.zeros((1, 1, 8, 8)), "factor": "2"}, TypeError, "factor must be a real"),
    ({"x": np.zeros((1, 1, 8, 8)), "factor": True}, TypeError, "factor must be a real"),
    ({"x": np.zeros((1, 1, 8, 8)), "factor": (2, 2, 2)}, ValueError, "tuple of 2"),
    ({"x": np.zeros((1, 1, 8, 8)), "factor": 0.01}, ValueError, "to none"),
    ({"x": np.zeros((1, 1, 8, 8)), "factor": 2, "order": 6}, ValueError,
     "between 0 and 5"),
    ({"x": np.zeros((1, 1, 8, 8)), "factor": 2, "order": 1.0}, TypeError,
     "order must be an int"),
    ({"x": np.zeros((1, 1, 8, 8)), "factor": 2, "output_size": (0, 4)}, ValueError,
     "output_size must be >= 1"),
    ({"x": np.zeros((1, 1, 8, 8), complex), "factor": 2}, TypeError, "real numeric"),
])
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        zoom(**kwargs)
