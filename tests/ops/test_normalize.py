"""Tests for :func:`featurelab.ops.local_contrast_normalize` and
:func:`featurelab.ops.gaussian_window`.

Reference: :func:`reference_lcn` follows the formula of the docstring with
``scipy.ndimage.gaussian_filter(mode='constant')`` as the zero-padded
Gaussian smoothing ``G *``, applied to the channel means and to ones (the
window mass inside the input, to renormalise the borders).  Every test that
computes something takes the ``backend`` fixture.
"""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter, gaussian_filter1d

from featurelab.backend import get_namespace
from featurelab.ops import gaussian_window, local_contrast_normalize
from tests.ops._reference import HYP


def run(backend, x, *args, **kwargs):
    y = local_contrast_normalize(backend.asarray(x), *args, **kwargs)
    return backend.to_numpy(y)


def sample(shape, seed, dtype=np.float64):
    return np.random.default_rng(seed).random(shape).astype(dtype)


def reference_lcn(x, sigma=1.0, truncate=4.0, divisive=True, eps=1e-6):
    """The docstring's formula, with SciPy's zero-padded Gaussian filter."""
    x = np.asarray(x, dtype=np.float64)
    n_spatial = x.ndim - 2
    sigmas = (0.0,) + (sigma,) * n_spatial  # sigma 0: the sample axis is left alone

    def smooth(a):  # a: (n_samples, *spatial)
        return gaussian_filter(a, sigmas, mode="constant", cval=0.0,
                               truncate=truncate)

    mass = smooth(np.ones((1,) + x.shape[2:]))
    v = x - (smooth(x.mean(axis=1)) / mass)[:, None]
    if not divisive:
        return v
    s = np.sqrt(smooth((v * v).mean(axis=1)) / mass)[:, None]
    spatial = tuple(range(2, x.ndim))
    c = np.maximum(s.mean(axis=spatial, keepdims=True), eps)
    return v / np.maximum(s, c)


def textured(shape, seed):
    """Faint noise with one bright patch: the local divisor ``s`` is above
    its spatial mean near the patch and below it elsewhere, so both branches
    of ``max(s, c)`` are used."""
    x = 0.05 * sample(shape, seed)
    patch = (0, slice(None)) + tuple(slice(n // 3, n // 3 + max(1, n // 4))
                                     for n in shape[2:])
    x[patch] += 3.0 * sample(x[patch].shape, seed + 1)
    return x


# --------------------------------------------------------------------------
# against the reference
# --------------------------------------------------------------------------

CASES = [
    # shape, sigma, truncate
    ((2, 3, 9, 8), 1.0, 4.0),
    ((2, 3, 9, 8), 0.5, 4.0),
    ((2, 3, 9, 8), 1.7, 2.5),
    ((1, 2, 12, 10), 2.0, 1.0),
    ((2, 1, 6, 7), 3.0, 4.0),      # window (25 wide) larger than the input
    ((1, 4, 3, 11), 1.0, 1.4),     # radius int(1.9) = 1
    ((2, 3, 15), 1.0, 4.0),        # 1-D
    ((2, 3, 15), 0.6, 3.0),
    ((3, 2, 20), 2.5, 2.0),
    ((1, 1, 5), 4.0, 4.0),         # 1-D, window larger than the input
]


@pytest.mark.parametrize("shape,sigma,truncate", CASES)
@pytest.mark.parametrize("divisive", [True, False])
def test_matches_reference(backend, shape, sigma, truncate, divisive):
    x = sample(shape, seed=1)
    got = run(backend, x, sigma, truncate=truncate, divisive=divisive)
    expected = reference_lcn(x, sigma, truncate, divisive)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", [(2, 3, 16, 14), (2, 4, 30)])
def test_matches_reference_on_textured_input(backend, shape):
    x = textured(shape, seed=2)
    expected = reference_lcn(x, 1.5, 3.0)
    # Both branches of max(s, c) are exercised by this input.
    v = reference_lcn(x, 1.5, 3.0, divisive=False)
    ratio = v / expected  # = max(s, c) where v != 0
    ratio = ratio[np.abs(v) > 1e-12]
    assert ratio.max() > 1.5 * ratio.min()
    got = run(backend, x, 1.5, truncate=3.0)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_default_parameters(backend):
    x = sample((2, 3, 10, 10), seed=3)
    np.testing.assert_allclose(run(backend, x),
                               reference_lcn(x, 1.0, 4.0, True, 1e-6),
                               rtol=1e-10, atol=1e-10)


def test_float32_kept_and_close(backend):
    x = sample((2, 3, 9, 8), seed=4)
    got = run(backend, x.astype(np.float32), 1.2)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reference_lcn(x, 1.2), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_, np.float16])
def test_int_bool_float16_cast_to_float64(backend, dtype):
    x = np.random.default_rng(5).integers(0, 2, (2, 3, 7, 6)).astype(dtype)
    got = run(backend, x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, reference_lcn(x.astype(np.float64)),
                               rtol=1e-10, atol=1e-10)


def test_eps_floor_applies_when_contrast_is_low(backend):
    # With eps above every local s, the divisor is eps everywhere.
    x = sample((2, 3, 8, 8), seed=6)
    v = run(backend, x, 1.0, divisive=False)
    got = run(backend, x, 1.0, eps=1e3)
    np.testing.assert_allclose(got, v / 1e3, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got, reference_lcn(x, 1.0, eps=1e3),
                               rtol=1e-10, atol=1e-13)


def test_divisor_floor_is_per_sample(backend):
    # Sample 1 has 1000x the contrast of sample 0; normalising the batch
    # equals normalising each sample alone.
    x = sample((2, 3, 8, 9), seed=7)
    x[1] *= 1000.0
    batch = run(backend, x, 1.3)
    for i in range(2):
        np.testing.assert_allclose(batch[i:i + 1], run(backend, x[i:i + 1], 1.3),
                                   rtol=1e-10, atol=1e-10)


def test_subtractive_step_removes_local_channel_mean(backend):
    # Away from the borders G * 1 = 1 and the channel mean of v, smoothed,
    # vanishes; check the docstring's v directly at every position.
    x = sample((1, 2, 7, 7), seed=8)
    v = run(backend, x, 0.8, truncate=2.0, divisive=False)
    w = gaussian_window(0.8, 2.0)
    r = w.size // 2
    m = x.mean(axis=1)[0]
    padded = np.pad(m, r)
    ones = np.pad(np.ones_like(m), r)
    for i in range(7):
        for j in range(7):
            patch = padded[i:i + 2 * r + 1, j:j + 2 * r + 1]
            mass = ones[i:i + 2 * r + 1, j:j + 2 * r + 1]
            local_mean = (np.outer(w, w) * patch).sum() / (np.outer(w, w) * mass).sum()
            np.testing.assert_allclose(v[0, :, i, j], x[0, :, i, j] - local_mean,
                                       rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------


@HYP
@given(value=st.floats(-100.0, 100.0), n_spatial=st.sampled_from([1, 2]),
       sigma=st.floats(0.3, 3.0), divisive=st.booleans())
def test_constant_input_maps_to_zero(backend, value, n_spatial, sigma,
                                     divisive):
    x = np.full((2, 3) + (6,) * n_spatial, value)
    got = run(backend, x, sigma, divisive=divisive)
    np.testing.assert_allclose(got, 0.0, atol=1e-6)


@pytest.mark.parametrize("dtype,value", [(np.float32, 3.0), (np.float32, 100.0),
                                         (np.float32, 0.1), (np.float64, 1e10)])
def test_constant_input_maps_to_zero_rounding(backend, dtype, value):
    # The rounding noise of the subtractive step must not be amplified by
    # the divisive step (the op removes each sample's mean first).
    x = np.full((1, 2, 5, 5), value, dtype=dtype)
    got = run(backend, x)
    np.testing.assert_allclose(got, 0.0, atol=1e-6)


@HYP
@given(shift=st.floats(-50.0, 50.0), seed=st.integers(0, 2**16),
       n_spatial=st.sampled_from([1, 2]), divisive=st.booleans())
def test_invariant_to_adding_a_constant(backend, shift, seed, n_spatial,
                                        divisive):
    x = sample((2, 3) + (7,) * n_spatial, seed)
    np.testing.assert_allclose(run(backend, x + shift, divisive=divisive),
                               run(backend, x, divisive=divisive),
                               rtol=1e-8, atol=1e-8)


@HYP
@given(scale=st.floats(1e-3, 1e3), seed=st.integers(0, 2**16),
       n_spatial=st.sampled_from([1, 2]))
def test_invariant_to_positive_scale(backend, scale, seed, n_spatial):
    # x in [0, 1): the divisor is ~0.3 * scale >= 3e-4, far above eps.
    x = sample((2, 3) + (7,) * n_spatial, seed)
    np.testing.assert_allclose(run(backend, scale * x), run(backend, x),
                               rtol=1e-9, atol=1e-9)


def test_scale_not_invariant_at_eps_floor(backend):
    # The flip side: once the divisor is at the eps floor the output scales
    # with the input (the floor keeps flat regions from being amplified).
    x = sample((1, 2, 6, 6), seed=9)
    small = run(backend, 1e-9 * x)
    np.testing.assert_allclose(small, 1e-9 * run(backend, x, divisive=False) / 1e-6,
                               rtol=1e-6, atol=1e-12)
    assert np.abs(small).max() < 1e-2


def test_channel_permutation_equivariance(backend):
    x = sample((2, 4, 6, 5), seed=10)
    perm = [2, 0, 3, 1]
    np.testing.assert_allclose(run(backend, x[:, perm]), run(backend, x)[:, perm],
                               rtol=1e-12, atol=1e-12)


def test_docstring_example(backend):
    x = np.full((1, 2, 5, 5), 3.0)
    assert np.abs(run(backend, x)).max() < 1e-8
    y = run(backend, np.random.default_rng(0).random((2, 3, 16, 16)))
    assert y.shape == (2, 3, 16, 16)


@pytest.mark.parametrize("shape", [(0, 3, 5, 5), (2, 0, 4, 4), (0, 2, 6)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_input(backend, shape, dtype):
    got = run(backend, np.zeros(shape, dtype=dtype))
    assert got.shape == shape and got.dtype == dtype


def test_input_not_modified(backend):
    x = sample((2, 3, 6, 6), seed=11)
    xb = backend.asarray(x.copy())
    local_contrast_normalize(xb)
    local_contrast_normalize(xb, divisive=False)
    np.testing.assert_array_equal(backend.to_numpy(xb), x)


# --------------------------------------------------------------------------
# gaussian_window
# --------------------------------------------------------------------------


@pytest.mark.parametrize("sigma,truncate", [
    (1.0, 4.0), (1.0, 1.0), (0.5, 3.0), (1.3, 2.5), (2.0, 0.2), (0.1, 4.0),
    (1.0, 1.5), (3.7, 4.0), (0.25, 2.0),
])
def test_gaussian_window(backend, sigma, truncate):
    xp = get_namespace(backend.asarray(np.zeros(1)))
    w = backend.to_numpy(gaussian_window(sigma, truncate, xp=xp))
    radius = int(truncate * sigma + 0.5)
    assert w.shape == (2 * radius + 1,)
    assert w.dtype == np.float64
    np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(w, w[::-1])
    assert np.argmax(w) == radius
    # SciPy's kernel: filter a centred impulse.
    impulse = np.zeros(2 * radius + 1)
    impulse[radius] = 1.0
    expected = gaussian_filter1d(impulse, sigma, truncate=truncate,
                                 mode="constant")
    np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-15)
    t = np.arange(-radius, radius + 1)
    unnormalised = np.exp(-0.5 * (t / sigma) ** 2)
    np.testing.assert_allclose(w, unnormalised / unnormalised.sum(), rtol=1e-14)


def test_gaussian_window_defaults_and_example():
    w = gaussian_window(1.0)
    assert w.shape == (9,) and type(w) is np.ndarray
    np.testing.assert_allclose(gaussian_window(1.0, truncate=1.0),
                               [0.2741, 0.4519, 0.2741], atol=5e-5)


def test_gaussian_window_dtype(backend):
    xp = get_namespace(backend.asarray(np.zeros(1)))
    w = backend.to_numpy(gaussian_window(1.5, 3.0, xp=xp, dtype="float32"))
    assert w.dtype == np.float32
    np.testing.assert_allclose(w, gaussian_window(1.5, 3.0), rtol=1e-6)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sigma", "truncate", "eps"])
@pytest.mark.parametrize("value,shown", [
    (0, "0"), (0.0, r"0\.0"), (-1.5, r"-1\.5"), (float("nan"), "nan"),
    (float("inf"), "inf"), (-float("inf"), "-inf"),
])
def test_bad_positive_parameter_value(backend, name, value, shown):
    x = backend.asarray(sample((1, 2, 5, 5), seed=12))
    with pytest.raises(ValueError,
                       match=rf"^{name} must be a finite real number > 0, got {shown}\.$"):
        local_contrast_normalize(x, **{name: value})


@pytest.mark.parametrize("name", ["sigma", "truncate", "eps"])
@pytest.mark.parametrize("value,shown", [
    ("1.0", "str '1.0'"), (None, "NoneType None"), (True, "bool True"),
    (1j, "complex 1j"),
])
def test_bad_positive_parameter_type(backend, name, value, shown):
    x = backend.asarray(sample((1, 2, 5, 5), seed=12))
    with pytest.raises(TypeError,
                       match=rf"^{name} must be a finite real number > 0, got {shown}\.$"):
        local_contrast_normalize(x, **{name: value})


def test_huge_truncate_is_capped_at_the_input_size(backend):
    # Taps further than the input size only meet padding, and the local means
    # are renormalised: a huge window equals one reaching across the input.
    x = sample((2, 3, 5, 6), seed=13)
    got = run(backend, x, sigma=1.0, truncate=1e300)
    np.testing.assert_allclose(got, reference_lcn(x, sigma=1.0, truncate=5.0),
                               rtol=1e-9, atol=1e-12)


def test_huge_sigma_gives_a_flat_window(backend):
    x = sample((2, 3, 5, 6), seed=14)
    got = run(backend, x, sigma=1e300)
    flat = reference_lcn(x, sigma=1e6, truncate=5e-6)  # radius 5, weights ~1
    np.testing.assert_allclose(got, flat, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("value", [1, 0, "yes", None, 1.0])
def test_bad_divisive(backend, value):
    x = backend.asarray(sample((1, 2, 5, 5), seed=14))
    with pytest.raises(TypeError, match=(
            rf"divisive must be (a bool|True or False), got .*{value!r}\.")):
        local_contrast_normalize(x, divisive=value)


def test_numpy_bool_divisive_accepted(backend):
    x = sample((1, 2, 5, 5), seed=15)
    np.testing.assert_array_equal(run(backend, x, divisive=np.bool_(False)),
                                  run(backend, x, divisive=False))
    np.testing.assert_array_equal(run(backend, x, divisive=np.bool_(True)),
                                  run(backend, x, divisive=True))


@pytest.mark.parametrize("shape", [(3, 4), (1, 2, 3, 4, 5), (5,)])
def test_bad_ndim(backend, shape):
    x = backend.asarray(np.zeros(shape))
    pattern = rf"x must be a 3 or 4-D array .*got an array of shape {re_shape(shape)}"
    with pytest.raises(ValueError, match=pattern):
        local_contrast_normalize(x)


def re_shape(shape):
    return re.escape(str(tuple(shape)))


def test_complex_rejected(backend):
    x = backend.asarray(np.ones((1, 2, 4, 4), dtype=np.complex128))
    with pytest.raises(TypeError,
                       match=r"x must have a real numeric dtype, got dtype complex128"):
        local_contrast_normalize(x)


def test_empty_spatial_axis_is_rejected(backend):
    with pytest.raises(ValueError, match=r"^x must have at least one sample on every "
                                         r"spatial axis, got shape \(2, 1, 0, 4\)"):
        local_contrast_normalize(backend.asarray(np.zeros((2, 1, 0, 4))))
