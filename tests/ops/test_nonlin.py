"""Tests for the pointwise nonlinearities of :mod:`featurelab.ops`.

Each function is compared with a NumPy/SciPy formula written out here
(``scipy.special.expit`` for the sigmoid).  Every test that computes
something takes the ``backend`` fixture: data is made with NumPy, moved with
``backend.asarray`` and read back with ``backend.to_numpy``.
"""

import functools
import warnings

import numpy as np
import pytest
from scipy.special import expit

from featurelab import ops
from featurelab.ops import (
    NONLINEARITIES,
    get_nonlinearity,
    identity,
    relu,
    sigmoid,
    soft_threshold,
    split_sign,
    tanh,
)
from featurelab.ops import abs as abs_

FORMULAS = {
    "identity": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "abs": np.abs,
    "tanh": np.tanh,
    "sigmoid": expit,
    "soft_threshold": lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.25, 0.0),
}
POINTWISE = sorted(FORMULAS)


def run(backend, func, x, *args, **kwargs):
    y = func(backend.asarray(x), *args, **kwargs)
    return backend.to_numpy(y)


def sample(shape, seed, dtype=np.float64, scale=2.0):
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    return x.astype(dtype)


def tolerance(dtype):
    if np.dtype(dtype) == np.float32:
        return {"rtol": 2e-6, "atol": 2e-7}
    return {"rtol": 1e-14, "atol": 1e-15}


# --------------------------------------------------------------------------
# formulas
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", POINTWISE)
@pytest.mark.parametrize("shape", [(), (7,), (2, 3, 5), (2, 3, 4, 5)])
def test_matches_formula(backend, name, shape):
    x = sample(shape, seed=1)
    if x.ndim:
        x.flat[:3] = [0.0, 0.25, -0.25][:x.size]  # kinks of relu, abs, shrink
    got = run(backend, NONLINEARITIES[name], x)
    expected = FORMULAS[name](x)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, expected, **tolerance(np.float64))


@pytest.mark.parametrize("name", POINTWISE)
def test_matches_formula_float32(backend, name):
    x = sample((3, 4, 6), seed=2, dtype=np.float32)
    got = run(backend, NONLINEARITIES[name], x)
    assert got.dtype == np.float32
    expected = FORMULAS[name](x.astype(np.float64))
    np.testing.assert_allclose(got, expected, **tolerance(np.float32))


def test_relu_abs_exact_values(backend):
    x = np.array([-3.0, -0.5, 0.0, 0.5, 3.0, -np.inf, np.inf])
    np.testing.assert_array_equal(run(backend, relu, x),
                                  [0.0, 0.0, 0.0, 0.5, 3.0, 0.0, np.inf])
    np.testing.assert_array_equal(run(backend, abs_, x),
                                  [3.0, 0.5, 0.0, 0.5, 3.0, np.inf, np.inf])


@pytest.mark.parametrize("name", POINTWISE)
def test_nan_propagates(backend, name):
    x = np.array([-1.0, np.nan, 2.0])
    got = run(backend, NONLINEARITIES[name], x)
    np.testing.assert_array_equal(np.isnan(got), [False, True, False])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_extreme_values_without_warnings(backend, dtype):
    x = np.array([-np.inf, -1e4, -1000.0, -745.0, -100.0, -40.0, -5.0, 0.0,
                  5.0, 40.0, 100.0, 745.0, 1000.0, 1e4, np.inf], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            got = run(backend, sigmoid, x)
    assert got.dtype == dtype
    # The tanh form is accurate to about one unit in the last place of 1
    # (absolute), not relative to tiny values such as expit(-40) = 4e-18.
    np.testing.assert_allclose(got, expit(x.astype(np.float64)), rtol=0,
                               atol=tolerance(dtype)["atol"] * 2)
    assert got[0] == 0.0 and got[-1] == 1.0 and got[7] == 0.5
    assert np.all((got >= 0.0) & (got <= 1.0))
    assert np.all(np.diff(got) >= 0.0)


def test_sigmoid_symmetry(backend):
    x = np.linspace(-30.0, 30.0, 121)
    np.testing.assert_allclose(run(backend, sigmoid, -x),
                               1.0 - run(backend, sigmoid, x), atol=1e-15)


def test_tanh_extreme_values_without_warnings(backend):
    x = np.array([-np.inf, -1e4, -20.0, 0.0, 20.0, 1e4, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            got = run(backend, tanh, x)
    np.testing.assert_array_equal(got, np.tanh(x))


# --------------------------------------------------------------------------
# soft_threshold
# --------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.0, 0.25, 1.0, 1.5, 2, 0, np.float64(0.75),
                                   np.int64(1)])
def test_soft_threshold_formula(backend, alpha):
    x = sample((2, 3, 11), seed=3)
    x[0, 0, :4] = [alpha, -alpha, 0.0, alpha + 1e-3]
    got = run(backend, soft_threshold, x, alpha=alpha)
    expected = np.sign(x) * np.maximum(np.abs(x) - alpha, 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)
    # Small responses are zeroed, the others shrink by exactly alpha.
    small = np.abs(x) <= alpha
    assert np.all(got[small] == 0.0)
    np.testing.assert_allclose(np.abs(got[~small]), np.abs(x[~small]) - alpha,
                               rtol=1e-14, atol=1e-15)


def test_soft_threshold_zero_alpha_is_identity(backend):
    x = sample((4, 5), seed=4)
    np.testing.assert_array_equal(run(backend, soft_threshold, x, alpha=0.0), x)


def test_soft_threshold_positional_alpha_and_default(backend):
    x = np.array([-1.0, 0.1, 0.5])
    np.testing.assert_allclose(run(backend, soft_threshold, x),
                               [-0.75, 0.0, 0.25], rtol=1e-15)
    np.testing.assert_allclose(run(backend, soft_threshold, x, 0.5),
                               [-0.5, 0.0, 0.0], rtol=1e-15)


@pytest.mark.parametrize("alpha", [0.25, 1, np.float32(0.25)])
def test_soft_threshold_keeps_float32(backend, alpha):
    x = sample((3, 5), seed=5, dtype=np.float32)
    got = run(backend, soft_threshold, x, alpha=alpha)
    assert got.dtype == np.float32


def test_soft_threshold_keeps_float32_with_numpy_float64_alpha(backend):
    # NumPy >= 2 (NEP 50) would promote ``abs(x) - np.float64(alpha)`` to
    # float64; the op converts alpha to a Python float first.
    x = sample((3, 5), seed=5, dtype=np.float32)
    got = run(backend, soft_threshold, x, alpha=np.float64(0.25))
    assert got.dtype == np.float32
    np.testing.assert_allclose(
        got, np.sign(x) * np.maximum(np.abs(x) - 0.25, 0), rtol=1e-6)


@pytest.mark.parametrize("alpha,shown", [
    (-0.1, r"-0\.1"), (-1, "-1"), (float("nan"), "nan"),
])
def test_soft_threshold_bad_alpha_value(backend, alpha, shown):
    x = backend.asarray(np.ones(3))
    with pytest.raises(ValueError,
                       match=rf"^alpha must be a real number >= 0, got {shown}\."):
        soft_threshold(x, alpha=alpha)


@pytest.mark.parametrize("alpha,shown", [
    ("0.5", "str '0.5'"), (None, "NoneType None"), (True, "bool True"),
    (1j, "complex 1j"), ([0.5], r"list \[0\.5\]"),
])
def test_soft_threshold_bad_alpha_type(backend, alpha, shown):
    x = backend.asarray(np.ones(3))
    with pytest.raises(TypeError,
                       match=rf"^alpha must be a real number >= 0, got {shown}\."):
        soft_threshold(x, alpha=alpha)


# --------------------------------------------------------------------------
# split_sign
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 7), (2, 3, 4, 5),
                                   (1, 2, 2, 3, 2)])
def test_split_sign(backend, shape):
    x = sample(shape, seed=6)
    x.flat[0] = 0.0
    got = run(backend, split_sign, x)
    n_c = shape[1]
    assert got.shape == (shape[0], 2 * n_c) + shape[2:]
    np.testing.assert_array_equal(got[:, :n_c], np.maximum(x, 0.0))
    np.testing.assert_array_equal(got[:, n_c:], np.maximum(-x, 0.0))
    np.testing.assert_array_equal(got[:, :n_c] - got[:, n_c:], x)
    np.testing.assert_array_equal(got[:, :n_c] + got[:, n_c:], np.abs(x))
    assert np.all(got >= 0.0)


def test_split_sign_docstring_example(backend):
    np.testing.assert_array_equal(
        run(backend, split_sign, np.array([[-1.0, 2.0]])),
        [[0.0, 2.0, 1.0, 0.0]])


@pytest.mark.parametrize("dtype,expected", [
    (np.float32, np.float32), (np.float64, np.float64), (np.int32, np.float64),
    (np.bool_, np.float64),
])
def test_split_sign_dtype(backend, dtype, expected):
    x = np.array([[-2, 0, 3], [1, -1, 0]]).astype(dtype)
    got = run(backend, split_sign, x)
    assert got.dtype == expected
    np.testing.assert_array_equal(got[:, :3] - got[:, 3:], x.astype(np.float64))


def test_split_sign_empty(backend):
    got = run(backend, split_sign, np.zeros((0, 3, 4), dtype=np.float32))
    assert got.shape == (0, 6, 4) and got.dtype == np.float32


@pytest.mark.parametrize("shape", [(), (5,)])
def test_split_sign_needs_channel_axis(backend, shape):
    x = backend.asarray(np.zeros(shape))
    with pytest.raises(ValueError, match=(
            r"x must be an at least 2-D array of shape \(n_samples, "
            r"n_channels, \.\.\.\), got an array of shape \(\d*,?\)")):
        split_sign(x)


# --------------------------------------------------------------------------
# identity and copies
# --------------------------------------------------------------------------


def test_identity_returns_independent_copy(backend):
    x = sample((2, 3, 4), seed=7)
    xb = backend.asarray(x.copy())
    y = identity(xb)
    assert y is not xb
    np.testing.assert_array_equal(backend.to_numpy(y), x)
    y[...] = 0.0
    np.testing.assert_array_equal(backend.to_numpy(xb), x)


def test_identity_casts_int_to_float64(backend):
    got = run(backend, identity, np.array([-1, 2], dtype=np.int64))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [-1.0, 2.0])


@pytest.mark.parametrize("name", sorted(NONLINEARITIES))
def test_input_not_modified_and_output_not_aliased(backend, name):
    x = sample((2, 3, 4), seed=8)
    xb = backend.asarray(x.copy())
    y = NONLINEARITIES[name](xb)
    np.testing.assert_array_equal(backend.to_numpy(xb), x)
    y[...] = 123.0
    np.testing.assert_array_equal(backend.to_numpy(xb), x)


# --------------------------------------------------------------------------
# dtype rules
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NONLINEARITIES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtype_preserved(backend, name, dtype):
    got = run(backend, NONLINEARITIES[name], sample((2, 3, 4), 9, dtype))
    assert got.dtype == dtype


@pytest.mark.parametrize("name", POINTWISE)
@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint16, np.bool_,
                                   np.float16])
def test_int_bool_float16_cast_to_float64(backend, name, dtype):
    x = np.array([[0, 1, 3], [2, 1, 0]]).astype(dtype)
    got = run(backend, NONLINEARITIES[name], x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, FORMULAS[name](x.astype(np.float64)),
                               rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", sorted(NONLINEARITIES))
def test_complex_rejected(backend, name):
    x = backend.asarray(np.ones((2, 2), dtype=np.complex64))
    with pytest.raises(TypeError,
                       match=r"x must have a real numeric dtype, got dtype complex64"):
        NONLINEARITIES[name](x)


@pytest.mark.parametrize("name", sorted(NONLINEARITIES))
def test_object_and_ragged_rejected(name):
    with pytest.raises(TypeError, match=r"x must have a real numeric dtype, got dtype object"):
        NONLINEARITIES[name](np.array([[1.0, "a"]], dtype=object))
    with pytest.raises(TypeError, match=r"x must be array-like with a numeric dtype, got list"):
        NONLINEARITIES[name]([[1.0, 2.0], [3.0]])


# --------------------------------------------------------------------------
# get_nonlinearity
# --------------------------------------------------------------------------


def test_registry_names():
    assert set(NONLINEARITIES) == {"identity", "relu", "abs", "tanh",
                                   "sigmoid", "soft_threshold", "split_sign"}


@pytest.mark.parametrize("name", sorted(NONLINEARITIES))
def test_get_nonlinearity_by_name(backend, name):
    func = get_nonlinearity(name)
    assert func is getattr(ops, name)
    assert func.__name__ == name
    x = sample((2, 3, 4), seed=10)
    got = run(backend, func, x)
    if name == "split_sign":
        expected = np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], axis=1)
    else:
        expected = FORMULAS[name](x)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)


def test_get_nonlinearity_callable_passthrough(backend):
    def square(x):
        return x * x

    assert get_nonlinearity(square) is square
    shrink = functools.partial(soft_threshold, alpha=1.0)
    assert get_nonlinearity(shrink) is shrink
    got = run(backend, get_nonlinearity(shrink), np.array([-2.0, 0.5, 3.0]))
    np.testing.assert_array_equal(got, [-1.0, 0.0, 2.0])


@pytest.mark.parametrize("name,shown", [
    ("ReLU", "'ReLU'"), ("gelu", "'gelu'"), ("", "''"), (None, "None"),
    (3, "3"), (["relu"], r"\['relu'\]"),
])
def test_get_nonlinearity_bad_name(name, shown):
    with pytest.raises(ValueError, match=(
            r"nonlinearity must be one of \['abs', 'identity', 'relu', "
            r"'sigmoid', 'soft_threshold', 'split_sign', 'tanh'\] or a "
            rf"callable, got {shown}\.")):
        get_nonlinearity(name)
