"""Tests for :mod:`featurelab.patches`.

Covers :func:`extract_patches`, :func:`sample_patches`,
:func:`normalize_patches` and :class:`ZCAWhitener`.  Tests that compute
something take the ``backend`` fixture: data is made with NumPy, moved with
``backend.asarray`` and read back with ``backend.to_numpy``.

References used:

* :func:`brute_patches`, plain slicing ``x[n, :, i*s:i*s+kh, j*s:j*s+kw]``
  over every sample and position, knowing nothing of strided views;
* ``sklearn.feature_extraction.image.extract_patches_2d`` for one-channel
  images at stride 1;
* the per-row formula of Coates et al. written out with ``numpy.var``;
* ``scipy.linalg.fractional_matrix_power(cov + epsilon * I, -0.5)`` for the
  ZCA whitening matrix, and sklearn's ``check_estimator``.
"""

import itertools

import numpy as np
import pytest
from scipy.linalg import fractional_matrix_power
from sklearn.feature_extraction.image import extract_patches_2d
from sklearn.utils.estimator_checks import parametrize_with_checks

from featurelab.backend import is_cupy_array
from featurelab.patches import (
    ZCAWhitener,
    extract_patches,
    normalize_patches,
    sample_patches,
)
from tests import _strict_cupy

# --------------------------------------------------------------------------
# helpers and references
# --------------------------------------------------------------------------


def normal(shape, seed, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def as_tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def brute_patches(x, size, stride=1):
    """Dict ``(n, *position) -> patch (C, *size)`` by plain slicing."""
    n_spatial = x.ndim - 2
    size, stride = as_tuple(size, n_spatial), as_tuple(stride, n_spatial)
    positions = [range((n - k) // s + 1)
                 for n, k, s in zip(x.shape[2:], size, stride)]
    out = {}
    for n in range(x.shape[0]):
        for pos in itertools.product(*positions):
            window = tuple(slice(i * s, i * s + k)
                           for i, s, k in zip(pos, stride, size))
            out[(n,) + pos] = x[(n, slice(None)) + window]
    return out


def positions_shape(x, size, stride=1):
    n_spatial = x.ndim - 2
    size, stride = as_tuple(size, n_spatial), as_tuple(stride, n_spatial)
    return tuple((n - k) // s + 1 for n, k, s in zip(x.shape[2:], size, stride))


# --------------------------------------------------------------------------
# extract_patches
# --------------------------------------------------------------------------

EXTRACT_CASES = [
    # shape, size, stride
    ((2, 3, 9), 3, 1),
    ((2, 3, 9), (4,), 2),
    ((1, 1, 7), 7, 1),
    ((3, 2, 10), 1, 3),
    ((2, 3, 6, 7), 3, 1),
    ((2, 3, 6, 7), (2, 3), (2, 1)),
    ((1, 2, 8, 8), 2, 2),
    ((2, 1, 5, 9), (5, 1), (1, 4)),
    ((1, 1, 4, 4), 4, 3),
]


@pytest.mark.parametrize("shape,size,stride", EXTRACT_CASES)
def test_extract_patches_view_matches_brute_force(backend, shape, size, stride):
    x = normal(shape, seed=1)
    view = extract_patches(backend.asarray(x), size, stride=stride)
    got = backend.to_numpy(view)
    n_spatial = x.ndim - 2
    pos = positions_shape(x, size, stride)
    assert got.shape == (shape[0],) + pos + (shape[1],) + as_tuple(size, n_spatial)
    expected = brute_patches(x, size, stride)
    assert len(expected) == shape[0] * int(np.prod(pos))
    for key, patch in expected.items():
        np.testing.assert_array_equal(got[key], patch)


@pytest.mark.parametrize("shape,size,stride", EXTRACT_CASES)
def test_extract_patches_matrix_rows_are_flattened_patches(backend, shape,
                                                           size, stride):
    x = normal(shape, seed=2)
    got = backend.to_numpy(
        extract_patches(backend.asarray(x), size, stride=stride, as_matrix=True))
    expected = brute_patches(x, size, stride)
    # Rows ordered by (sample, positions row-major), each a (C, *size) patch.
    keys = sorted(expected)
    assert got.shape == (len(keys), expected[keys[0]].size)
    for row, key in zip(got, keys):
        np.testing.assert_array_equal(row, expected[key].reshape(-1))


@pytest.mark.parametrize("make_view", [
    lambda a: a[:, :, ::2, 1::3],           # strided spatial axes
    lambda a: a[:, ::-1, :, ::-1],          # negative strides
    lambda a: a.transpose(1, 0, 3, 2),      # Fortran-like layout
    lambda a: np.asfortranarray(a),
], ids=["step", "reversed", "transposed", "fortran"])
def test_extract_patches_non_contiguous_input(make_view):
    base = normal((4, 3, 12, 13), seed=3)
    x = make_view(base)
    for size, stride in [(2, 1), ((3, 2), (2, 3))]:
        view = extract_patches(x, size, stride=stride)
        for key, patch in brute_patches(x, size, stride).items():
            np.testing.assert_array_equal(view[key], patch)
        mat = extract_patches(x, size, stride=stride, as_matrix=True)
        ref = np.stack([p.reshape(-1) for _, p in
                        sorted(brute_patches(x, size, stride).items())])
        np.testing.assert_array_equal(mat, ref)


@pytest.mark.parametrize("shape,size,stride", EXTRACT_CASES)
def test_extract_patches_view_shares_memory_and_is_read_only(shape, size,
                                                             stride):
    x = normal(shape, seed=4)
    view = extract_patches(x, size, stride=stride)
    assert np.shares_memory(view, x)
    assert not view.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        view[(0,) * view.ndim] = 1.0
    # The view follows later changes of x (no copy was made).
    x[0, 0, ...] = 123.0
    assert (view[(0,) * (x.ndim - 1)][0] == 123.0).all()


def test_extract_patches_view_of_non_contiguous_shares_memory():
    base = normal((2, 3, 10, 10), seed=5)
    x = base[:, 1:, ::2, ::-1]
    view = extract_patches(x, 2)
    assert np.shares_memory(view, base)
    assert not view.flags.writeable


@pytest.mark.parametrize("shape,size,stride", [
    ((2, 3, 6, 7), 3, 1),
    ((2, 2, 9), 3, 1),
    ((1, 1, 4, 4), 2, 2),          # the docstring example
    ((2, 1, 8), 2, 2),             # non-overlapping: reshape alone would alias x
    ((1, 1, 4, 4), (2, 4), 2),
])
def test_extract_patches_matrix_is_a_writeable_copy(shape, size, stride):
    # Docstring: "True returns a copy of shape (n_patches, C * prod(size))".
    x = normal(shape, seed=6)
    mat = extract_patches(x, size, stride=stride, as_matrix=True)
    assert not np.shares_memory(mat, x)
    assert mat.flags.writeable
    before = x.copy()
    mat -= mat.mean(axis=1, keepdims=True)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("n_samples,image_shape,size", [
    (1, (6, 7), (3, 2)), (1, (5, 5), (5, 5)), (3, (8, 6), (2, 4)),
    (2, (4, 9), (1, 1)),
])
def test_extract_patches_matches_sklearn_extract_patches_2d(
        backend, n_samples, image_shape, size):
    images = normal((n_samples, 1) + image_shape, seed=7)
    got = backend.to_numpy(
        extract_patches(backend.asarray(images), size, as_matrix=True))
    expected = np.concatenate([
        extract_patches_2d(images[n, 0], size).reshape(-1, size[0] * size[1])
        for n in range(n_samples)])
    # Both list positions row-major, sample after sample: same order.
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    # Order-free comparison as well (as multisets of rows).
    np.testing.assert_array_equal(np.unique(got, axis=0),
                                  np.unique(expected, axis=0))


def test_extract_patches_docstring_example(backend):
    x = backend.asarray(np.arange(16.0).reshape(1, 1, 4, 4))
    assert tuple(extract_patches(x, 2).shape) == (1, 3, 3, 1, 2, 2)
    np.testing.assert_array_equal(
        backend.to_numpy(extract_patches(x, 2, stride=2, as_matrix=True)),
        [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extract_patches_keeps_float_dtype_and_backend(backend, dtype):
    x = backend.asarray(normal((2, 2, 5, 5), seed=8, dtype=dtype))
    for as_matrix in (False, True):
        out = extract_patches(x, 3, as_matrix=as_matrix)
        assert out.dtype == dtype
        assert is_cupy_array(out) == (backend.name != "numpy")


def test_extract_patches_integer_input_becomes_float64():
    x = np.arange(2 * 10).reshape(1, 2, 10)
    out = extract_patches(x, 3, as_matrix=True)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0], [0, 1, 2, 10, 11, 12])


# --------------------------------------------------------------------------
# sample_patches
# --------------------------------------------------------------------------


def locate(patches, x, size):
    """For each patch, the (n, *position) key of the identical brute-force
    patch of ``x`` (asserting there is one)."""
    table = {p.tobytes(): key for key, p in brute_patches(x, size).items()}
    keys = []
    for p in patches:
        key = table.get(np.ascontiguousarray(p).tobytes())
        assert key is not None, "sampled patch is not a patch of x"
        keys.append(key)
    return keys, table


@pytest.mark.parametrize("shape,size", [
    ((3, 2, 7, 6), 3), ((2, 3, 9, 5), (4, 2)), ((4, 1, 11), 4),
    ((2, 2, 12), (5,)), ((1, 1, 3, 3), 3),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sample_patches_are_patches_of_x(backend, shape, size, dtype):
    x = normal(shape, seed=9, dtype=dtype)
    out = sample_patches(backend.asarray(x), size, 50, random_state=0)
    assert is_cupy_array(out) == (backend.name != "numpy")
    got = backend.to_numpy(out)
    n_spatial = x.ndim - 2
    assert got.shape == (50, shape[1]) + as_tuple(size, n_spatial)
    assert got.dtype == dtype
    locate(got, x, size)


def test_sample_patches_reproducible_and_seed_dependent():
    x = normal((5, 2, 10, 10), seed=10)
    a = sample_patches(x, 3, 40, random_state=7)
    np.testing.assert_array_equal(a, sample_patches(x, 3, 40, random_state=7))
    assert not np.array_equal(a, sample_patches(x, 3, 40, random_state=8))
    rs = np.random.RandomState(7)
    np.testing.assert_array_equal(a, sample_patches(x, 3, 40, random_state=rs))
    # A RandomState instance advances, so the next draw differs.
    assert not np.array_equal(a, sample_patches(x, 3, 40, random_state=rs))


def test_sample_patches_same_on_every_backend(backend):
    x = normal((4, 3, 9, 8), seed=11)
    expected = sample_patches(x, (3, 2), 64, random_state=123)
    got = backend.to_numpy(
        sample_patches(backend.asarray(x), (3, 2), 64, random_state=123))
    np.testing.assert_array_equal(got, expected)


def test_sample_patches_numpy_and_strict_cupy_agree(strict_cupy):
    x = normal((3, 2, 13), seed=12)
    on_host = sample_patches(x, 4, 30, random_state=5)
    on_device = sample_patches(strict_cupy.asarray(x), 4, 30, random_state=5)
    assert isinstance(on_host, np.ndarray)
    assert isinstance(on_device, _strict_cupy.ndarray)
    np.testing.assert_array_equal(on_device.get(), on_host)


@pytest.mark.parametrize("shape,size", [((3, 1, 5, 5), 3), ((4, 2, 9), 6)])
def test_sample_patches_cover_all_samples_and_positions(shape, size):
    x = normal(shape, seed=13)
    n_distinct = len(brute_patches(x, size))
    n_draws = 300 * n_distinct
    keys, table = locate(sample_patches(x, size, n_draws, random_state=0),
                         x, size)
    counts = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    # Every (sample, position) is hit, and none is grossly over/under drawn.
    assert set(counts) == set(table.values())
    assert min(counts.values()) > 0.6 * 300
    assert max(counts.values()) < 1.4 * 300
    # Samples and positions separately are hit about uniformly.
    per_sample = np.bincount([k[0] for k in keys], minlength=shape[0])
    np.testing.assert_allclose(per_sample / n_draws, 1 / shape[0], atol=0.03)


def test_sample_patches_more_than_distinct_patches():
    x = normal((1, 2, 3, 4), seed=14)
    out = sample_patches(x, (3, 4), 25, random_state=0)   # one distinct patch
    assert out.shape == (25, 2, 3, 4)
    np.testing.assert_array_equal(out, np.broadcast_to(x, (25, 2, 3, 4)))
    x = normal((2, 1, 4), seed=15)
    out = sample_patches(x, 3, 200, random_state=1)         # 4 distinct
    keys, _ = locate(out, x, 3)
    assert len(set(keys)) == 4


def test_sample_patches_docstring_example():
    x = np.random.default_rng(0).random((10, 3, 32, 32))
    assert sample_patches(x, (6, 6), 1000, random_state=0).shape == (1000, 3, 6, 6)


# --------------------------------------------------------------------------
# normalize_patches
# --------------------------------------------------------------------------


def reference_normalize(p, epsilon):
    flat = p.reshape(p.shape[0], -1).astype(np.float64)
    out = (flat - flat.mean(axis=1, keepdims=True)) / np.sqrt(
        flat.var(axis=1, ddof=1, keepdims=True) + epsilon)
    return out.reshape(p.shape)


@pytest.mark.parametrize("shape", [(20, 9), (15, 3, 4, 4), (10, 2, 5), (4, 2)])
@pytest.mark.parametrize("epsilon", [1e-12, 0.5, 10.0])
def test_normalize_patches_matches_formula(backend, shape, epsilon):
    p = normal(shape, seed=16) * 30 + 100
    got = backend.to_numpy(normalize_patches(backend.asarray(p), epsilon=epsilon))
    assert got.shape == shape
    np.testing.assert_allclose(got, reference_normalize(p, epsilon),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(30, 16), (12, 3, 5, 5)])
def test_normalize_patches_zero_mean_unit_variance(backend, shape):
    p = normal(shape, seed=17) * np.arange(1, shape[0] + 1).reshape(
        (-1,) + (1,) * (len(shape) - 1)) + 7.0
    got = backend.to_numpy(normalize_patches(backend.asarray(p), epsilon=1e-12))
    flat = got.reshape(shape[0], -1)
    np.testing.assert_allclose(flat.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(flat.var(axis=1, ddof=1), 1, rtol=1e-9)


def test_normalize_patches_constant_patches_are_zero(backend):
    p = np.full((5, 2, 3, 3), 42.0)
    p[1] = 0.0
    got = backend.to_numpy(normalize_patches(backend.asarray(p), epsilon=1e-8))
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got, 0.0)


@pytest.mark.parametrize("shape", [(8, 10), (6, 3, 4, 4)])
def test_normalize_patches_keeps_float32(backend, shape):
    p = normal(shape, seed=18, dtype=np.float32) * 50
    out = normalize_patches(backend.asarray(p))
    assert out.dtype == np.float32
    assert tuple(out.shape) == shape
    np.testing.assert_allclose(backend.to_numpy(out), reference_normalize(p, 10.0),
                               rtol=1e-5, atol=1e-6)


def test_normalize_patches_docstring_example():
    p = np.array([[0., 10., 20.], [5., 5., 5.]])
    np.testing.assert_array_equal(
        normalize_patches(p, epsilon=0.0001).round(3),
        [[-1., 0., 1.], [0., 0., 0.]])


@pytest.mark.parametrize("epsilon,exc,match", [
    (0, ValueError, r"epsilon must be a finite real number > 0, got 0"),
    (-1.0, ValueError, r"epsilon must be .*> 0, got -1\.0"),
    (float("inf"), ValueError, r"epsilon must be a finite .*got inf"),
    (float("nan"), ValueError, r"epsilon must be .*got nan"),
    ("1", TypeError, r"epsilon must be .*got str '1'"),
    (None, TypeError, r"epsilon must be .*got NoneType None"),
])
def test_normalize_patches_bad_epsilon(epsilon, exc, match):
    with pytest.raises(exc, match=match):
        normalize_patches(np.ones((3, 4)), epsilon=epsilon)


def test_normalize_patches_bad_shape():
    with pytest.raises(ValueError, match=r"patches must be an at least 2-D"):
        normalize_patches(np.ones(4))
    with pytest.raises(ValueError, match=r"at least 2 values each.*\(3, 1\)"):
        normalize_patches(np.ones((3, 1)))


# --------------------------------------------------------------------------
# ZCAWhitener
# --------------------------------------------------------------------------


@parametrize_with_checks([ZCAWhitener(), ZCAWhitener(epsilon=1e-3)])
def test_zca_sklearn_compatible(estimator, check):
    check(estimator)


def correlated(n=4000, d=5, seed=19, dtype=np.float64):
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((d, d)) + 2 * np.eye(d)
    return (rng.standard_normal((n, d)) @ mixing + rng.normal(size=d) * 5
            ).astype(dtype)


def test_zca_matches_inverse_square_root_of_covariance():
    X = correlated()
    eps = 0.3
    zca = ZCAWhitener(epsilon=eps).fit(X)
    cov = np.cov(X, rowvar=False)
    np.testing.assert_allclose(zca.mean_, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(zca.eigenvalues_, np.linalg.eigvalsh(cov),
                               rtol=1e-10)
    assert np.all(np.diff(zca.eigenvalues_) >= 0)
    expected_w = fractional_matrix_power(cov + eps * np.eye(5), -0.5).real
    np.testing.assert_allclose(zca.whitening_, expected_w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        zca.coloring_, fractional_matrix_power(cov + eps * np.eye(5), 0.5).real,
        rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(zca.transform(X),
                               (X - X.mean(axis=0)) @ expected_w,
                               rtol=1e-9, atol=1e-10)


def test_zca_whitened_covariance_is_identity():
    X = correlated()
    Z = ZCAWhitener(epsilon=1e-12).fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(5), atol=1e-9)


def test_zca_is_symmetric_and_invertible():
    X = correlated()
    zca = ZCAWhitener(epsilon=1e-3).fit(X)
    np.testing.assert_allclose(zca.whitening_, zca.whitening_.T, atol=1e-13)
    np.testing.assert_allclose(zca.coloring_, zca.coloring_.T, atol=1e-12)
    np.testing.assert_allclose(zca.whitening_ @ zca.coloring_, np.eye(5),
                               atol=1e-10)
    # positive definite (a rotation would not be)
    assert np.linalg.eigvalsh(zca.whitening_).min() > 0
    np.testing.assert_allclose(zca.inverse_transform(zca.transform(X)), X,
                               rtol=1e-10, atol=1e-10)


def test_zca_is_the_whitening_closest_to_the_input():
    # Among whitenings W R (R orthogonal), the symmetric one minimises
    # ||Xc - Xc W R||_F; check against PCA whitening and random rotations.
    X = correlated(seed=20)
    zca = ZCAWhitener(epsilon=1e-12).fit(X)
    Xc = X - zca.mean_
    best = np.linalg.norm(Xc - Xc @ zca.whitening_)
    _, vectors = np.linalg.eigh(np.cov(X, rowvar=False))
    rng = np.random.default_rng(0)
    rotations = [vectors] + [np.linalg.qr(rng.standard_normal((5, 5)))[0]
                             for _ in range(20)]
    for rot in rotations:
        other = zca.whitening_ @ rot
        np.testing.assert_allclose(np.cov(Xc @ other, rowvar=False), np.eye(5),
                                   atol=1e-8)
        assert best < np.linalg.norm(Xc - Xc @ other)


def test_zca_constant_data_gives_zeros():
    X = np.full((10, 4), 3.5)
    zca = ZCAWhitener(epsilon=0.1).fit(X)
    Z = zca.transform(X)
    assert np.isfinite(zca.whitening_).all()
    np.testing.assert_array_equal(Z, 0.0)
    np.testing.assert_allclose(zca.whitening_, np.eye(4) / np.sqrt(0.1),
                               rtol=1e-6)
    np.testing.assert_allclose(zca.inverse_transform(Z), X)


@pytest.mark.parametrize("epsilon,exc,match", [
    (0, ValueError, r"epsilon must be a finite real number > 0, got 0"),
    (0.0, ValueError, r"epsilon must be .*> 0, got 0\.0"),
    (-0.1, ValueError, r"epsilon must be .*> 0, got -0\.1"),
    (float("nan"), ValueError, r"epsilon must be .*got nan"),
    ("0.1", TypeError, r"epsilon must be .*got str '0\.1'"),
    (None, TypeError, r"epsilon must be .*got NoneType None"),
    (True, TypeError, r"epsilon must be .*got bool True"),
])
def test_zca_bad_epsilon(epsilon, exc, match):
    with pytest.raises(exc, match=match):
        ZCAWhitener(epsilon=epsilon).fit(correlated(n=20))


def test_zca_keeps_float32():
    X = correlated(dtype=np.float32)
    zca = ZCAWhitener(epsilon=1e-6).fit(X)
    for name in ("mean_", "whitening_", "coloring_", "eigenvalues_"):
        assert getattr(zca, name).dtype == np.float32, name
    Z = zca.transform(X)
    assert Z.dtype == np.float32
    assert zca.inverse_transform(Z).dtype == np.float32
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(5), atol=1e-3)
    reference = ZCAWhitener(epsilon=1e-6).fit(X.astype(np.float64))
    np.testing.assert_allclose(Z, reference.transform(X.astype(np.float64)),
                               rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zca_on_backend_matches_numpy(backend, dtype):
    X = correlated(n=500, dtype=dtype)
    X2 = correlated(n=50, seed=21, dtype=dtype)
    tol = ({"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32
           else {"rtol": 1e-10, "atol": 1e-10})
    expected = ZCAWhitener(epsilon=0.01).fit(X)
    zca = ZCAWhitener(epsilon=0.01).fit(backend.asarray(X))
    assert zca.n_features_in_ == 5
    for name in ("mean_", "whitening_", "coloring_", "eigenvalues_"):
        attr = getattr(zca, name)
        assert is_cupy_array(attr) == (backend.name != "numpy"), name
        assert attr.dtype == dtype
        np.testing.assert_allclose(backend.to_numpy(attr),
                                   getattr(expected, name), **tol)
    Z = zca.transform(backend.asarray(X2))
    assert is_cupy_array(Z) == (backend.name != "numpy")
    assert Z.dtype == dtype
    np.testing.assert_allclose(backend.to_numpy(Z), expected.transform(X2),
                               **tol)
    back = zca.inverse_transform(Z)
    np.testing.assert_allclose(backend.to_numpy(back), X2, **tol)
    np.testing.assert_allclose(
        backend.to_numpy(ZCAWhitener(epsilon=0.01).fit_transform(
            backend.asarray(X))), expected.transform(X), **tol)
    with pytest.raises(ValueError, match=r"X has 4 features, but ZCAWhitener "
                       r"is expecting 5 features"):
        zca.transform(backend.asarray(X2[:, :4]))


def test_zca_fitted_on_cupy_rejects_numpy(strict_cupy):
    X = correlated(n=100)
    zca = ZCAWhitener().fit(strict_cupy.asarray(X))
    for method in (zca.transform, zca.inverse_transform):
        with pytest.raises(TypeError, match=r"X is a NumPy array but "
                           r"ZCAWhitener was fitted on CuPy arrays"):
            method(X)


def test_zca_fitted_on_numpy_rejects_cupy(strict_cupy):
    X = correlated(n=100)
    zca = ZCAWhitener().fit(X)
    for method in (zca.transform, zca.inverse_transform):
        with pytest.raises(TypeError, match=r"X is a CuPy array but "
                           r"ZCAWhitener was fitted on NumPy arrays"):
            method(strict_cupy.asarray(X))


def test_zca_docstring_example():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 3)) @ np.array([[2., 0, 0], [1, 1, 0],
                                                   [0, 0, .5]])
    Z = ZCAWhitener(epsilon=1e-6).fit_transform(X)
    np.testing.assert_array_equal(np.round(np.cov(Z, rowvar=False), 2) + 0.0,
                                  np.eye(3))


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------

X3 = np.zeros((2, 1, 6))
X4 = np.zeros((2, 1, 5, 6))

BAD_INPUT = [
    ("extract-ndim", extract_patches, np.zeros((5, 5)), (2,), {}, ValueError,
     r"x must be a 3 or 4-D array .*got an array of shape \(5, 5\)"),
    ("extract-too-big", extract_patches, X4, ((6, 2),), {}, ValueError,
     (r"size must fit in the input on every axis, got size=\(6, 2\) for "
      r"input of spatial shape \(5, 6\)")),
    ("extract-size-zero", extract_patches, X3, (0,), {}, ValueError,
     r"size must be >= 1 on every axis, got 0"),
    ("extract-size-length", extract_patches, X4, ((2, 2, 2),), {}, ValueError,
     r"size must be an int or a tuple of 2 ints .*got \(2, 2, 2\)"),
    ("extract-size-float", extract_patches, X3, (2.0,), {}, TypeError,
     r"size must be an int or a tuple of 1 ints, got 2\.0"),
    ("extract-stride-zero", extract_patches, X4, (2,), {"stride": (1, 0)},
     ValueError, r"stride must be >= 1 on every axis, got \(1, 0\)"),
    ("extract-as-matrix", extract_patches, X3, (2,), {"as_matrix": 1},
     TypeError, r"as_matrix must be True or False, got int 1"),
    ("extract-complex", extract_patches, X3.astype(complex), (2,), {},
     TypeError, r"x must have a real numeric dtype, got dtype complex128"),
    ("extract-empty-spatial", extract_patches, np.zeros((1, 1, 0, 3)), (1,), {},
     ValueError, r"x must have at least one sample on every spatial axis"),
    ("sample-n-zero", sample_patches, X4, (2, 0), {}, ValueError,
     r"n_patches must be >= 1, got 0"),
    ("sample-n-float", sample_patches, X4, (2, 3.0), {}, TypeError,
     r"n_patches must be an int, got float 3\.0"),
    ("sample-too-big", sample_patches, X3, (7, 3), {}, ValueError,
     r"size must fit in the input .*size=\(7,\)"),
    ("sample-no-samples", sample_patches, np.zeros((0, 1, 4)), (2, 3), {},
     ValueError, r"x must hold at least one sample .*\(0, 1, 4\)"),
    ("sample-ndim", sample_patches, np.zeros((2, 1, 3, 3, 3)), (2, 3), {},
     ValueError, r"x must be a 3 or 4-D array"),
    ("normalize-complex", normalize_patches, np.zeros((2, 3), complex), (), {},
     TypeError, r"patches must have a real numeric dtype"),
]


@pytest.mark.parametrize("func,x,args,kwargs,exc,match",
                         [case[1:] for case in BAD_INPUT],
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_input(backend, func, x, args, kwargs, exc, match):
    xb = backend.asarray(x)
    with pytest.raises(exc, match=match):
        func(xb, *args, **kwargs)
