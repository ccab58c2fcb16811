"""Tests for :mod:`featurelab.kernels._random`.

Covers :func:`random_kernels` (NumPy output only) and :func:`patch_kernels`
(on the ``backend`` fixture).  References used:

* the documented distributions, checked through their value sets, moments
  and a Kolmogorov-Smirnov test (``scipy.stats.kstest``) at a fixed seed;
* ``Q Q^T = I`` for orthonormal rows, block by block;
* for patch kernels, the brute-force list of all patches
  ``x[n, :, i:i+kh, j:j+kw]``, centred and scaled with plain NumPy.
"""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from featurelab.backend import is_cupy_array
from featurelab.kernels._random import DISTRIBUTIONS, patch_kernels, random_kernels


def flat(w):
    return np.asarray(w).reshape(w.shape[0], -1)


def all_patches(x, size):
    """Every patch of ``x`` (N, C, *spatial) as flattened float64 rows."""
    rows = []
    for n in range(x.shape[0]):
        for pos in itertools.product(*(range(s - k + 1)
                                       for s, k in zip(x.shape[2:], size))):
            window = tuple(slice(i, i + k) for i, k in zip(pos, size))
            rows.append(x[(n, slice(None)) + window].reshape(-1))
    return np.array(rows, dtype=np.float64)


def centre_and_scale(rows, zero_mean, normalize):
    if zero_mean:
        rows = rows - rows.mean(axis=1, keepdims=True)
    if normalize:
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows = np.where(norms > 0, rows / np.where(norms > 0, norms, 1), 0)
    return rows


# --------------------------------------------------------------------------
# random_kernels: shapes, dtype, normalisation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("size,spatial", [
    (3, (3, 3)), (1, (1, 1)), ((5,), (5,)), ([4], (4,)), ((2, 3), (2, 3)),
    ([3, 1], (3, 1)), (np.int64(2), (2, 2)),
])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_random_kernels_shape(size, spatial, distribution):
    w = random_kernels(7, 3, size, distribution=distribution, random_state=0)
    assert isinstance(w, np.ndarray)
    assert w.shape == (7, 3) + spatial
    assert np.isfinite(w).all()


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("dtype,expected", [
    (None, np.float32),  # the default
    (np.float32, np.float32), ("float32", np.float32),
    (np.float64, np.float64), (np.dtype("float64"), np.float64), (float, np.float64),
])
def test_random_kernels_dtype(distribution, dtype, expected):
    kwargs = {} if dtype is None else {"dtype": dtype}
    w = random_kernels(4, 2, 3, distribution=distribution, random_state=0,
                       **kwargs)
    assert w.dtype == expected
    w64 = random_kernels(4, 2, 3, distribution=distribution, random_state=0,
                         dtype=np.float64)
    np.testing.assert_allclose(w, w64, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_kernels_unit_norm(distribution, dtype):
    w = random_kernels(50, 2, (3, 4), distribution=distribution,
                       random_state=1, dtype=dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(np.linalg.norm(flat(w).astype(np.float64), axis=1),
                               1.0, atol=tol)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_random_kernels_zero_mean(distribution):
    w = random_kernels(40, 3, 3, distribution=distribution, zero_mean=True,
                       random_state=2, dtype=np.float64)
    np.testing.assert_allclose(flat(w).mean(axis=1), 0.0, atol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(flat(w), axis=1), 1.0, atol=1e-12)
    # Without normalize: centred only, i.e. the raw draw minus its mean.
    raw = flat(random_kernels(40, 3, 3, distribution=distribution,
                              normalize=False, random_state=2, dtype=np.float64))
    centred = flat(random_kernels(40, 3, 3, distribution=distribution,
                                  normalize=False, zero_mean=True,
                                  random_state=2, dtype=np.float64))
    np.testing.assert_allclose(centred, raw - raw.mean(axis=1, keepdims=True),
                               atol=1e-14)


def test_random_kernels_zero_mean_of_single_value_kernels_is_zero():
    # D = 1: centring leaves zeros, which normalize must keep (no NaN).
    w = random_kernels(5, 1, (1,), zero_mean=True, random_state=0)
    assert np.isfinite(w).all()
    np.testing.assert_array_equal(w, 0.0)


def test_random_kernels_normalize_is_the_scaled_raw_draw():
    raw = flat(random_kernels(20, 2, 3, normalize=False, random_state=3,
                              dtype=np.float64))
    unit = flat(random_kernels(20, 2, 3, random_state=3, dtype=np.float64))
    np.testing.assert_allclose(
        unit, raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-12)


# --------------------------------------------------------------------------
# random_kernels: distributions
# --------------------------------------------------------------------------

K_LARGE = 2000


def test_normal_distribution():
    v = random_kernels(K_LARGE, 1, 5, normalize=False, random_state=4,
                       dtype=np.float64).ravel()
    assert abs(v.mean()) < 0.02
    assert abs(v.var() - 1.0) < 0.03
    assert stats.kstest(v, "norm").pvalue > 1e-3
    assert v.min() < -3.5 and v.max() > 3.5   # unbounded, unlike uniform


def test_uniform_distribution():
    v = random_kernels(K_LARGE, 1, 5, distribution="uniform", normalize=False,
                       random_state=5, dtype=np.float64).ravel()
    assert v.min() >= -1.0 and v.max() <= 1.0
    assert v.min() < -0.99 and v.max() > 0.99
    assert abs(v.mean()) < 0.01
    assert abs(v.var() - 1 / 3) < 0.01
    assert stats.kstest(v, stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-3


def test_rademacher_distribution():
    w = random_kernels(K_LARGE, 2, (4,), distribution="rademacher",
                       normalize=False, random_state=6)
    assert set(np.unique(w)) == {-1.0, 1.0}
    assert abs((w > 0).mean() - 0.5) < 0.02
    # normalised: every entry is +-1/sqrt(D)
    d = 2 * 4
    w = random_kernels(100, 2, (4,), distribution="rademacher",
                       random_state=6, dtype=np.float64)
    np.testing.assert_allclose(np.abs(w), 1 / math.sqrt(d), rtol=1e-12)


def test_normalized_normal_kernels_are_uniform_on_the_sphere():
    # Direction of a Gaussian vector: mean ~ 0, second moment ~ I / D.
    w = flat(random_kernels(K_LARGE, 1, (4,), random_state=7, dtype=np.float64))
    np.testing.assert_allclose(w.mean(axis=0), 0.0, atol=0.03)
    np.testing.assert_allclose(w.T @ w / K_LARGE, np.eye(4) / 4, atol=0.02)


@pytest.mark.parametrize("n_kernels,in_channels,size", [
    (1, 1, (5,)), (8, 1, (9,)), (9, 1, (9,)), (10, 3, 2), (12, 3, 2),
])
@pytest.mark.parametrize("normalize", [True, False])
def test_orthogonal_rows_are_orthonormal(n_kernels, in_channels, size,
                                         normalize):
    w = random_kernels(n_kernels, in_channels, size, distribution="orthogonal",
                       normalize=normalize, random_state=8, dtype=np.float64)
    q = flat(w)
    assert n_kernels <= q.shape[1]
    np.testing.assert_allclose(q @ q.T, np.eye(n_kernels), atol=1e-12)


@pytest.mark.parametrize("n_kernels,in_channels,size", [
    (10, 1, (4,)), (8, 1, (4,)), (25, 2, (2, 3)), (7, 1, (1,)),
])
@pytest.mark.parametrize("dtype,atol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_orthogonal_blocks_beyond_dimension(n_kernels, in_channels, size,
                                            dtype, atol):
    w = random_kernels(n_kernels, in_channels, size, distribution="orthogonal",
                       random_state=9, dtype=dtype)
    q = flat(w).astype(np.float64)
    d = q.shape[1]
    assert n_kernels > d
    blocks = [q[start:start + d] for start in range(0, n_kernels, d)]
    assert len(blocks) == math.ceil(n_kernels / d)
    for block in blocks:
        np.testing.assert_allclose(block @ block.T, np.eye(len(block)),
                                   atol=atol)
    if d > 1:
        # Independent blocks: the second is not the first again (not even up
        # to signs and order, which would give a permutation-like product).
        cross = np.abs(blocks[0] @ blocks[1].T)
        assert not np.allclose(cross, np.round(cross), atol=1e-3)


def test_orthogonal_blocks_are_rotation_invariant_in_distribution():
    # Haar blocks: the first coordinate of a unit row has E[x^2] = 1/D, and
    # there is no sign bias on the diagonal of a block.
    d = 4
    q = flat(random_kernels(4 * 1000, 1, (d,), distribution="orthogonal",
                            random_state=10, dtype=np.float64))
    np.testing.assert_allclose((q ** 2).mean(axis=0), 1 / d, atol=0.02)
    diag = np.concatenate([np.diag(q[i:i + d]) for i in range(0, len(q), d)])
    assert abs(np.mean(diag > 0) - 0.5) < 0.05


def test_orthogonal_with_zero_mean_is_centred():
    q = flat(random_kernels(5, 1, (9,), distribution="orthogonal",
                            zero_mean=True, random_state=11, dtype=np.float64))
    np.testing.assert_allclose(q.mean(axis=1), 0.0, atol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_random_kernels_deterministic(distribution):
    def draw(seed):
        return random_kernels(12, 2, 3, distribution=distribution,
                              random_state=seed)

    np.testing.assert_array_equal(draw(0), draw(0))
    assert not np.array_equal(draw(0), draw(1))
    rs = np.random.RandomState(0)
    np.testing.assert_array_equal(draw(rs), draw(0))
    assert not np.array_equal(draw(rs), draw(0))  # the instance advanced


def test_random_kernels_docstring_examples():
    w = random_kernels(16, 3, 5, random_state=0)
    assert w.shape == (16, 3, 5, 5) and w.dtype == np.float32
    assert np.allclose(np.linalg.norm(w.reshape(16, -1), axis=1), 1)
    q = random_kernels(8, 1, (9,), distribution="orthogonal", random_state=0)
    assert np.allclose(q.reshape(8, 9) @ q.reshape(8, 9).T, np.eye(8), atol=1e-6)


# --------------------------------------------------------------------------
# random_kernels: bad input
# --------------------------------------------------------------------------

BAD_RANDOM = [
    ("n-kernels-zero", (0, 1, 3), {}, ValueError,
     r"n_kernels must be >= 1, got 0"),
    ("n-kernels-negative", (-2, 1, 3), {}, ValueError,
     r"n_kernels must be >= 1, got -2"),
    ("n-kernels-float", (2.0, 1, 3), {}, TypeError,
     r"n_kernels must be an int, got float 2\.0"),
    ("in-channels-zero", (2, 0, 3), {}, ValueError,
     r"in_channels must be >= 1, got 0"),
    ("in-channels-bool", (2, True, 3), {}, TypeError,
     r"in_channels must be an int, got bool True"),
    ("size-zero", (2, 1, 0), {}, ValueError,
     r"size must be >= 1 on every axis, got 0"),
    ("size-zero-axis", (2, 1, (3, 0)), {}, ValueError,
     r"size must be >= 1 on every axis, got \(3, 0\)"),
    ("size-3-tuple", (2, 1, (3, 3, 3)), {}, ValueError,
     (r"size must be an int \(square 2-D kernel\) or a tuple of 1 or 2 "
      r"ints, got \(3, 3, 3\)")),
    ("size-empty-tuple", (2, 1, ()), {}, ValueError,
     r"size must be an int .*tuple of 1 or 2 ints, got \(\)"),
    ("size-float", (2, 1, 3.0), {}, TypeError,
     r"size must be an int or a tuple of 2 ints, got 3\.0"),
    ("size-float-in-tuple", (2, 1, (3, 2.5)), {}, TypeError,
     r"size must be an int or a tuple of 2 ints, got \(3, 2\.5\)"),
    ("distribution-unknown", (2, 1, 3), {"distribution": "gaussian"},
     ValueError, (r"distribution must be one of \['normal', 'orthogonal', "
                  r"'rademacher', 'uniform'\], got 'gaussian'")),
    ("distribution-case", (2, 1, 3), {"distribution": "Normal"}, ValueError,
     r"distribution must be one of .*got 'Normal'"),
    ("dtype-int", (2, 1, 3), {"dtype": int}, TypeError,
     r"dtype must be float32 or float64, got int64"),
    ("dtype-int32", (2, 1, 3), {"dtype": np.int32}, TypeError,
     r"dtype must be float32 or float64, got int32"),
    ("dtype-complex", (2, 1, 3), {"dtype": complex}, TypeError,
     r"dtype must be float32 or float64, got complex128"),
    ("dtype-float16", (2, 1, 3), {"dtype": "float16"}, TypeError,
     r"dtype must be float32 or float64, got float16"),
    ("normalize-int", (2, 1, 3), {"normalize": 1}, TypeError,
     r"normalize must be True or False, got int 1"),
    ("zero-mean-str", (2, 1, 3), {"zero_mean": "yes"}, TypeError,
     r"zero_mean must be True or False, got str 'yes'"),
]


@pytest.mark.parametrize("args,kwargs,exc,match",
                         [case[1:] for case in BAD_RANDOM],
                         ids=[case[0] for case in BAD_RANDOM])
def test_random_kernels_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        random_kernels(*args, **kwargs)


@pytest.mark.parametrize("dtype,shown", [("foo", "'foo'"), (None, "None"),
                                         ("int32", "int32")])
@pytest.mark.parametrize("func,args", [
    (random_kernels, (2, 1, 3)),
    (patch_kernels, (np.zeros((2, 1, 5, 5)), 2, 3)),
], ids=["random_kernels", "patch_kernels"])
def test_unknown_dtype_name_names_the_parameter(func, args, dtype, shown):
    with pytest.raises(TypeError,
                       match=rf"^dtype must be float32 or float64, got {shown}\."):
        func(*args, dtype=dtype)


# --------------------------------------------------------------------------
# patch_kernels
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape,size,spatial", [
    ((6, 3, 8, 7), 3, (3, 3)), ((4, 2, 9, 9), (2, 4), (2, 4)),
    ((5, 2, 20), 5, (5,)), ((3, 1, 11), (4,), (4,)),
])
@pytest.mark.parametrize("zero_mean,normalize", [
    (True, True), (False, True), (True, False), (False, False)])
def test_patch_kernels_are_processed_patches(backend, shape, size, spatial,
                                             zero_mean, normalize):
    x = np.random.default_rng(12).random(shape) * 255
    out = patch_kernels(backend.asarray(x), 25, size, zero_mean=zero_mean,
                        normalize=normalize, random_state=0, dtype=np.float64)
    assert is_cupy_array(out) == (backend.name != "numpy")
    w = backend.to_numpy(out)
    assert w.shape == (25, shape[1]) + spatial
    assert w.dtype == np.float64
    candidates = centre_and_scale(all_patches(x, spatial), zero_mean, normalize)
    for row in flat(w):
        dist = np.abs(candidates - row).max(axis=1)
        assert dist.min() < 1e-9, "kernel is not a processed patch of x"
    if zero_mean:
        np.testing.assert_allclose(flat(w).mean(axis=1), 0, atol=1e-9)
    if normalize:
        np.testing.assert_allclose(np.linalg.norm(flat(w), axis=1), 1,
                                   atol=1e-12)


def test_patch_kernels_default_dtype_float32(backend):
    x = np.random.default_rng(13).random((4, 2, 8, 8))
    w = patch_kernels(backend.asarray(x), 10, 3, random_state=1)
    assert w.dtype == np.float32
    w64 = patch_kernels(backend.asarray(x), 10, 3, random_state=1,
                        dtype=np.float64)
    np.testing.assert_allclose(backend.to_numpy(w), backend.to_numpy(w64),
                               rtol=1e-5, atol=1e-6)


def test_patch_kernels_reproducible_and_backend_independent(backend):
    x = np.random.default_rng(14).random((5, 3, 9, 9))
    expected = patch_kernels(x, 16, 4, random_state=3)
    got = backend.to_numpy(patch_kernels(backend.asarray(x), 16, 4,
                                         random_state=3))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(
        backend.to_numpy(patch_kernels(backend.asarray(x), 16, 4,
                                       random_state=3)), got)
    other = backend.to_numpy(patch_kernels(backend.asarray(x), 16, 4,
                                           random_state=4))
    assert not np.array_equal(other, got)


def test_patch_kernels_flat_patches_stay_zero(backend):
    x = np.full((3, 2, 6, 6), 7.0)
    w = backend.to_numpy(patch_kernels(backend.asarray(x), 8, 3, random_state=0))
    assert np.isfinite(w).all()
    np.testing.assert_array_equal(w, 0.0)


def test_patch_kernels_more_kernels_than_patches(backend):
    x = np.random.default_rng(15).random((1, 1, 3, 3))
    w = backend.to_numpy(patch_kernels(backend.asarray(x), 6, 3, random_state=0,
                                       dtype=np.float64))
    expected = centre_and_scale(x.reshape(1, -1), True, True)
    np.testing.assert_allclose(flat(w), np.repeat(expected, 6, axis=0),
                               atol=1e-12)


def test_patch_kernels_docstring_example():
    x = np.random.default_rng(0).random((20, 1, 8, 8))
    assert patch_kernels(x, 10, 3, random_state=0).shape == (10, 1, 3, 3)


BAD_PATCH = [
    ("size-too-big", (4, 5), {}, np.zeros((2, 1, 4, 6)), ValueError,
     (r"size must fit in the input on every axis, got size=\(5, 5\) for "
      r"input of spatial shape \(4, 6\)")),
    ("size-too-big-1d", (4, (9,)), {}, np.zeros((2, 1, 8)), ValueError,
     r"size must fit in the input .*size=\(9,\) .*\(8,\)"),
    ("size-zero", (4, 0), {}, np.zeros((2, 1, 4, 6)), ValueError,
     r"size must be >= 1 on every axis, got 0"),
    ("n-kernels-zero", (0, 2), {}, np.zeros((2, 1, 4, 6)), ValueError,
     r"n_kernels must be >= 1, got 0"),
    ("dtype-int", (2, 2), {"dtype": int}, np.zeros((2, 1, 4, 6)), TypeError,
     r"dtype must be float32 or float64, got int64"),
    ("zero-mean-int", (2, 2), {"zero_mean": 0}, np.zeros((2, 1, 4, 6)),
     TypeError, r"zero_mean must be True or False, got int 0"),
    ("x-ndim", (2, 2), {}, np.zeros((4, 6)), ValueError,
     r"x must be a 3 or 4-D array"),
]


@pytest.mark.parametrize("args,kwargs,x,exc,match",
                         [case[1:] for case in BAD_PATCH],
                         ids=[case[0] for case in BAD_PATCH])
def test_patch_kernels_bad_input(backend, args, kwargs, x, exc, match):
    with pytest.raises(exc, match=match):
        patch_kernels(backend.asarray(x), *args, **kwargs)


def test_orthogonal_kernels_of_a_large_input_space():
    # 16 kernels of 64 x 7 x 7 (D = 3136): a reduced QR, not a D x D one
    w = random_kernels(16, 64, 7, distribution="orthogonal", random_state=0,
                       dtype=np.float64).reshape(16, -1)
    np.testing.assert_allclose(w @ w.T, np.eye(16), atol=1e-12)
