"""Tests of featurelab.ops.difference and featurelab.ops.standardize
against numpy.diff and the formula written out."""

import numpy as np
import pytest

from featurelab.ops import difference, standardize
from tests.ops._reference import normal


@pytest.mark.parametrize("shape", [(3, 2, 10), (2, 1, 5, 7)])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_difference_is_numpy_diff(backend, shape, order):
    x = normal(shape, 0)
    got = backend.to_numpy(difference(backend.asarray(x), order))
    np.testing.assert_allclose(got, np.diff(x, n=order, axis=-1), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_standardize_gives_zero_mean_unit_std_per_sample_and_channel(backend, dtype):
    x = normal((4, 3, 6, 5), 1, dtype) * 7 + 3
    got = backend.to_numpy(standardize(backend.asarray(x)))
    assert got.dtype == dtype
    mean = x.mean(axis=(2, 3), keepdims=True)
    std = x.std(axis=(2, 3), keepdims=True)
    np.testing.assert_allclose(got, (x - mean) / (std + 1e-8), rtol=1e-5, atol=1e-6)
    # invariant to an affine change of each series
    again = backend.to_numpy(standardize(backend.asarray(x * 2.5 - 4)))
    np.testing.assert_allclose(again, got, rtol=1e-4, atol=1e-5)


def test_constant_series_standardise_to_zeros():
    np.testing.assert_array_equal(standardize(np.full((1, 1, 4), 3.0)), np.zeros((1, 1, 4)))


@pytest.mark.parametrize("call,error,match", [
    (lambda: difference(np.zeros((2, 5))), ValueError, "x must be"),
    (lambda: difference(np.zeros((2, 1, 2)), order=2), ValueError,
     "longer than order=2"),
    (lambda: difference(np.zeros((2, 1, 5)), order=0), ValueError, "order must be >= 1"),
    (lambda: standardize(np.zeros((2, 1, 5)), epsilon=0), ValueError, "epsilon"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
