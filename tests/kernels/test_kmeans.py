"""Tests for :func:`featurelab.kernels._kmeans.kmeans`.

Every test that clusters takes the ``backend`` fixture: data are made with
NumPy, moved with ``backend.asarray`` and results read back with
``backend.to_numpy``, so the same assertions run on NumPy, on the strict fake
CuPy (which rejects any host array mixed into device code) and on CuPy when a
GPU is present.

References used:

* scikit-learn's ``KMeans(algorithm='lloyd', n_init=1)``: on float64 data and
  the same ``random_state`` featurelab draws the same initial samples and
  runs the same iterations, so centres, labels, inertia and ``n_iter`` agree;
* brute-force distances: ``((X[:, None] - C[None]) ** 2).sum(-1)`` in float64
  for labels and inertia; normalised dot products for spherical k-means;
* hand-built cases for empty clusters (duplicated or far-away initial
  centres), whose re-seeding rule is written out from the docstring.
"""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from featurelab.backend import get_namespace
from featurelab.kernels._kmeans import _duplicate_rows, kmeans


def blobs(n_samples=300, n_features=4, centers=5, std=0.3, seed=0,
          dtype=np.float64):
    X, y = make_blobs(n_samples, n_features, centers=centers,
                      cluster_std=std, center_box=(-10, 10),
                      random_state=seed)
    return X.astype(dtype), y


def run(backend, X, n_clusters, **kwargs):
    """kmeans on a backend copy of NumPy ``X`` (and of an array ``init``);
    results back in NumPy."""
    if isinstance(kwargs.get("init"), np.ndarray):
        kwargs["init"] = backend.asarray(kwargs["init"])
    centers, labels, inertia, n_iter = kmeans(backend.asarray(X), n_clusters,
                                              **kwargs)
    assert type(centers) is type(backend.asarray(np.zeros(1)))
    assert type(labels) is type(centers)
    assert isinstance(inertia, float) and isinstance(n_iter, int)
    return backend.to_numpy(centers), backend.to_numpy(labels), inertia, n_iter


def sq_dists(X, C):
    X, C = np.asarray(X, np.float64), np.asarray(C, np.float64)
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)


def unit_rows(X):
    X = np.asarray(X, np.float64)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1)


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_well_separated_blobs_are_recovered(backend, init, dtype):
    X, y = blobs(dtype=dtype)
    centers, labels, inertia, _ = run(backend, X, 5, init=init,
                                      random_state=0)
    sk = KMeans(5, init=init, n_init=1, random_state=0).fit(X)
    assert adjusted_rand_score(labels, sk.labels_) == 1.0
    assert adjusted_rand_score(labels, y) == 1.0
    assert centers.dtype == dtype
    np.testing.assert_allclose(inertia, sk.inertia_, rtol=1e-4)


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("seed", [0, 1])
def test_same_run_as_sklearn_on_float64(backend, init, seed):
    # Overlapping blobs: several iterations; same draws, same arithmetic.
    X, _ = blobs(400, 3, centers=6, std=2.5, seed=seed)
    centers, labels, inertia, n_iter = run(backend, X, 6, init=init,
                                           random_state=seed)
    sk = KMeans(6, init=init, n_init=1, random_state=seed,
                algorithm="lloyd").fit(X)
    assert n_iter == sk.n_iter_ > 2
    np.testing.assert_array_equal(labels, sk.labels_)
    np.testing.assert_allclose(centers, sk.cluster_centers_, rtol=1e-10,
                               atol=1e-10)
    np.testing.assert_allclose(inertia, sk.inertia_, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_labels_and_inertia_match_brute_force(backend, dtype):
    X, _ = blobs(500, 6, centers=8, std=3.0, seed=3, dtype=dtype)
    centers, labels, inertia, _ = run(backend, X, 8, random_state=1,
                                      max_iter=4, tol=0)
    d2 = sq_dists(X, centers)
    rows = np.arange(len(X))
    # float32 GEMM distances may swap near ties only
    assert np.all(d2[rows, labels] <= d2.min(1) * (1 + 1e-5) + 1e-6)
    if dtype == np.float64:
        np.testing.assert_array_equal(labels, d2.argmin(1))
    np.testing.assert_allclose(inertia, d2[rows, labels].sum(), rtol=1e-6)


def test_inertia_never_increases_over_iterations(backend):
    X, _ = blobs(600, 5, centers=10, std=4.0, seed=4)
    init = X[np.random.default_rng(0).choice(len(X), 10, replace=False)]
    history = []
    for max_iter in range(1, 9):
        _, _, inertia, n_iter = run(backend, X, 10, init=init,
                                    max_iter=max_iter, tol=0)
        history.append(inertia)
        assert n_iter == max_iter  # still moving after 8 iterations
    assert all(b <= a * (1 + 1e-12) for a, b in zip(history, history[1:]))
    assert history[-1] < history[0]
    # Starting point: the inertia of the initial centres themselves.
    assert history[0] <= sq_dists(X, init).min(1).sum()


def test_converged_run_stops_and_is_a_fixed_point(backend):
    X, _ = blobs(300, 3, centers=4, std=1.0, seed=5)
    centers, labels, _, n_iter = run(backend, X, 4, random_state=0, tol=0,
                                     max_iter=100)
    assert n_iter < 100
    for j in range(4):  # each centre is the mean of its samples
        np.testing.assert_allclose(centers[j], X[labels == j].mean(0),
                                   rtol=1e-12, atol=1e-12)
    _, _, _, n_iter_loose = run(backend, X, 4, random_state=0, tol=1e9)
    assert n_iter_loose == 1


# --------------------------------------------------------------------------
# empty clusters
# --------------------------------------------------------------------------


def test_duplicated_initial_centres_are_reseeded_farthest_first(backend):
    X, _ = blobs(200, 2, centers=3, std=1.0, seed=6)
    init = np.array([X[0], X[0], X[0], X[50]])  # clusters 1 and 2 empty
    centers, labels, _, _ = run(backend, X, 4, init=init, max_iter=1, tol=0)
    d2 = sq_dists(X, init[[0, 3]])
    nearest = d2.min(1)
    order = np.argsort(-nearest, kind="stable")
    # farthest sample -> lowest empty cluster, second farthest -> the next
    np.testing.assert_array_equal(centers[1], X[order[0]])
    np.testing.assert_array_equal(centers[2], X[order[1]])
    # the others are the means of what is left of their clusters
    first = d2.argmin(1)
    rest = np.setdiff1d(np.arange(len(X)), order[:2])
    for j, col in ((0, 0), (3, 1)):
        members = rest[first[rest] == col]
        np.testing.assert_allclose(centers[j], X[members].mean(0), rtol=1e-12)
    assert len(np.unique(labels)) == 4


def test_duplicate_rows_helper(backend):
    # rows 0, 2 and 5 are equal; rows 1 and 3 share their norm but differ;
    # row 4 is unique; -0.0 equals 0.0.
    C = np.array([[3.0, 4.0, 0.0], [4.0, 3.0, 0.0], [3.0, 4.0, -0.0],
                  [0.0, 3.0, 4.0], [1.0, 1.0, 1.0], [3.0, 4.0, 0.0]])
    xp = get_namespace(backend.asarray(C))
    Cb = backend.asarray(C)
    got = _duplicate_rows(xp, Cb, (Cb * Cb).sum(axis=1))
    np.testing.assert_array_equal(backend.to_numpy(got), [2, 5])
    Cb = backend.asarray(C[[0, 1, 3, 4]])
    assert _duplicate_rows(xp, Cb, (Cb * Cb).sum(axis=1)) is None


def test_repeated_centres_never_split_their_samples(backend):
    # 14 copies of one initial centre among 40 (every third one).  Without
    # the duplicate check, OpenBLAS rounding sends some samples to copy 9
    # instead of copy 0 for this shape; with it the first copy takes them
    # all and the 13 others are re-seeded with the farthest samples.
    rng = np.random.default_rng(19)
    X = rng.standard_normal((600, 20)).astype(np.float32)
    init = X[rng.choice(600, 40, replace=False)]
    copies = np.arange(0, 40, 3)
    init[copies] = X[0]
    centers, labels, _, _ = run(backend, X, 40, init=init, max_iter=1, tol=0)
    distinct = np.setdiff1d(np.arange(40), copies[1:])
    nearest = sq_dists(X, init[distinct]).min(1)
    farthest = np.argsort(-nearest, kind="stable")[:13]
    np.testing.assert_array_equal(centers[copies[1:]], X[farthest])
    assert len(np.unique(centers, axis=0)) == 40


def test_far_away_initial_centre_is_reseeded(backend):
    X, y = blobs(300, 3, centers=3, std=0.5, seed=7)
    init = np.array([X[y == 0][0], X[y == 1][0], [1e4, 1e4, 1e4]])
    centers, labels, inertia, _ = run(backend, X, 3, init=init, tol=0)
    assert np.bincount(labels, minlength=3).min() > 0
    assert np.abs(centers).max() < 100
    sk = KMeans(3, init=init, n_init=1, tol=0, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(labels, sk.labels_)
    np.testing.assert_allclose(inertia, sk.inertia_, rtol=1e-10)


def test_as_many_clusters_as_samples(backend):
    X, _ = blobs(12, 2, centers=3, seed=8)
    centers, labels, inertia, _ = run(backend, X, 12, random_state=0)
    assert sorted(labels.tolist()) == list(range(12))
    np.testing.assert_allclose(centers[labels], X)
    assert inertia == 0.0


def test_one_cluster_is_the_mean(backend):
    X, _ = blobs(50, 3, seed=9)
    centers, labels, inertia, _ = run(backend, X, 1, random_state=0)
    np.testing.assert_allclose(centers[0], X.mean(0), rtol=1e-12)
    assert not labels.any()
    np.testing.assert_allclose(inertia, ((X - X.mean(0)) ** 2).sum())


# --------------------------------------------------------------------------
# spherical k-means
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spherical(backend, dtype):
    X, _ = blobs(400, 5, centers=6, std=2.0, seed=10, dtype=dtype)
    X[7] = 0  # an all-zero row is allowed
    centers, labels, inertia, n_iter = run(backend, X, 6, spherical=True,
                                           random_state=0, tol=0)
    assert centers.dtype == dtype
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 1,
                               rtol=1e-6 if dtype == np.float32 else 1e-12)
    U = unit_rows(X)
    cos = U @ np.asarray(centers, np.float64).T
    rows = np.arange(len(X))
    if dtype == np.float64:
        np.testing.assert_array_equal(labels[rows != 7],
                                      cos.argmax(1)[rows != 7])
    else:
        assert np.all(cos[rows, labels] >= cos.max(1) - 1e-5)
    # unit rows: ||u - c||^2 = 2 (1 - cos); the zero row adds ||c||^2 = 1
    want = 2 * (1 - cos[rows, labels])[rows != 7].sum() + 1
    np.testing.assert_allclose(inertia, want, rtol=1e-5)
    np.testing.assert_allclose(
        inertia, ((U - np.asarray(centers, np.float64)[labels]) ** 2).sum(),
        rtol=1e-5)
    if n_iter < 300 and dtype == np.float64:  # converged: centres are fixed
        for j in range(6):
            s = U[labels == j].sum(0)
            np.testing.assert_allclose(centers[j], s / np.linalg.norm(s),
                                       rtol=1e-10, atol=1e-12)


def test_spherical_ignores_row_scale(backend):
    X, _ = blobs(200, 4, centers=4, std=1.0, seed=11)
    scale = np.random.default_rng(0).uniform(0.1, 10, size=(len(X), 1))
    a = run(backend, X, 4, spherical=True, random_state=2)
    b = run(backend, X * scale, 4, spherical=True, random_state=2)
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_allclose(a[0], b[0], rtol=1e-10, atol=1e-12)


def test_spherical_init_array_is_normalised(backend):
    X, _ = blobs(100, 3, centers=2, seed=12)
    init = 5 * unit_rows(X[:2])
    a = run(backend, X, 2, init=init, spherical=True, max_iter=1)
    b = run(backend, X, 2, init=init / 5, spherical=True, max_iter=1)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)


# --------------------------------------------------------------------------
# determinism, dtypes, chunking, inputs left alone
# --------------------------------------------------------------------------


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_deterministic_under_random_state(backend, init):
    X, _ = blobs(300, 4, centers=8, std=3.0, seed=13)
    a = run(backend, X, 8, init=init, random_state=42)
    b = run(backend, X, 8, init=init, random_state=np.random.RandomState(42))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2:] == b[2:]
    c = run(backend, X, 8, init=init, random_state=43, max_iter=1)
    d = run(backend, X, 8, init=init, random_state=42, max_iter=1)
    assert not np.array_equal(c[0], d[0])


def test_same_results_on_every_backend(backend):
    X, _ = blobs(300, 4, centers=5, std=2.0, seed=14)
    want = kmeans(X, 5, random_state=0)
    got = run(backend, X, 5, random_state=0)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_array_equal(got[1], want[1])
    assert got[3] == want[3]


def test_dtypes(backend):
    X, _ = blobs(100, 3, centers=3, seed=15)
    c32, labels, _, _ = run(backend, X.astype(np.float32), 3, random_state=0,
                            init=X[:3].astype(np.float64))
    assert c32.dtype == np.float32 and labels.dtype == np.int64
    c_int, _, _, _ = run(backend, np.rint(X).astype(np.int32), 3,
                         random_state=0)
    assert c_int.dtype == np.float64


@pytest.mark.parametrize("spherical", [False, True])
def test_chunked_equals_unchunked(backend, spherical):
    X, _ = blobs(301, 5, centers=7, std=3.0, seed=16)
    whole = run(backend, X, 7, random_state=0, spherical=spherical)
    # 7 centres x 8 bytes x 13 samples: 13-sample chunks, an uneven last one
    chunked = run(backend, X, 7, random_state=0, spherical=spherical,
                  max_memory=7 * 8 * 13)
    one_row = run(backend, X, 7, random_state=0, spherical=spherical,
                  max_memory=1)
    for got in (chunked, one_row):
        np.testing.assert_array_equal(got[1], whole[1])
        np.testing.assert_allclose(got[0], whole[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got[2], whole[2], rtol=1e-12)
        assert got[3] == whole[3]


def test_inputs_are_not_modified(backend):
    X, _ = blobs(100, 3, centers=3, seed=17)
    init = X[[0, 40, 80]] * 1.5
    X_dev, init_dev = backend.asarray(X), backend.asarray(init)
    kmeans(X_dev, 3, init=init_dev, spherical=True)
    np.testing.assert_array_equal(backend.to_numpy(X_dev), X)
    np.testing.assert_array_equal(backend.to_numpy(init_dev), init)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------

X_OK = np.arange(20.0).reshape(10, 2)

BAD_INPUT = {
    "X-1d": (np.ones(5), 2, {}, ValueError,
             r"^X must be a 2-D array of shape \(n_samples, n_features\), got "
             r"an array of shape \(5,\)"),
    "X-no-features": (np.ones((5, 0)), 2, {}, ValueError,
                      r"^X must have at least one feature, got shape \(5, 0\)"),
    "X-complex": (np.ones((5, 2), complex), 2, {}, TypeError,
                  r"^X must have a real numeric dtype, got dtype complex128"),
    "X-nan": (np.where(X_OK == 3, np.nan, X_OK), 2, {}, ValueError,
              r"^X must contain only finite values"),
    "X-inf": (np.where(X_OK == 3, np.inf, X_OK), 2, {}, ValueError,
              r"^X must contain only finite values"),
    "n_clusters-0": (X_OK, 0, {}, ValueError,
                     r"^n_clusters must be >= 1, got 0"),
    "n_clusters-too-many": (X_OK, 11, {}, ValueError,
                            r"^n_clusters must be <= n_samples = 10, got "
                            r"n_clusters=11"),
    "n_clusters-float": (X_OK, 2.0, {}, TypeError,
                         r"^n_clusters must be an int, got float 2.0"),
    "init-unknown": (X_OK, 2, dict(init="kmeans++"), ValueError,
                     r"^init must be one of \['k-means\+\+', 'random'\], got "
                     r"'kmeans\+\+'"),
    "init-shape": (X_OK, 2, dict(init=np.ones((3, 2))), ValueError,
                   r"^init must be 'k-means\+\+', 'random' or an array of "
                   r"shape \(n_clusters, n_features\) = \(2, 2\), got an "
                   r"array of shape \(3, 2\)"),
    "init-1d": (X_OK, 2, dict(init=np.ones(2)), ValueError,
                r"^init must be a 2-D array of shape \(n_clusters, "
                r"n_features\) = \(2, 2\)"),
    "init-nan": (X_OK, 2, dict(init=np.array([[0.0, 1], [np.nan, 1]])),
                 ValueError, r"^init must contain only finite values"),
    "init-zero-row-spherical": (X_OK, 2, dict(init=np.array([[0.0, 0], [1, 1]]),
                                              spherical=True), ValueError,
                                r"^init must have non-zero rows when "
                                r"spherical=True, got 1 all-zero row"),
    "max_iter-0": (X_OK, 2, dict(max_iter=0), ValueError,
                   r"^max_iter must be >= 1, got 0"),
    "tol-negative": (X_OK, 2, dict(tol=-1e-3), ValueError,
                     r"^tol must be a finite real number >= 0, got -0.001"),
    "tol-nan": (X_OK, 2, dict(tol=float("nan")), ValueError,
                r"^tol must be a finite real number >= 0, got nan"),
    "tol-str": (X_OK, 2, dict(tol="0"), TypeError,
                r"^tol must be a real number >= 0, got str '0'"),
    "spherical-int": (X_OK, 2, dict(spherical=1), TypeError,
                      r"^spherical must be True or False, got int 1"),
    "max_memory-bad": (X_OK, 2, dict(max_memory="lots"), ValueError,
                       r"^max_memory must be a number of bytes"),
    "random_state-bad": (X_OK, 2, dict(random_state="seed"), ValueError,
                         r"'seed' cannot be used to seed"),
}


@pytest.mark.parametrize(
    "X, n_clusters, kwargs, exc, pattern",
    [pytest.param(*case, id=name) for name, case in BAD_INPUT.items()],
)
def test_bad_input(backend, X, n_clusters, kwargs, exc, pattern):
    kwargs = dict(kwargs)
    if isinstance(kwargs.get("init"), np.ndarray):
        kwargs["init"] = backend.asarray(kwargs["init"])
    with pytest.raises(exc, match=pattern):
        kmeans(backend.asarray(X), n_clusters, **kwargs)


def test_init_on_another_backend_is_rejected(strict_cupy):
    X = strict_cupy.asarray(X_OK)
    with pytest.raises(TypeError, match=r"^init must be on the backend of X: "
                       r"X is a CuPy \(device\) array, init is a NumPy "
                       r"\(host\) ndarray"):
        kmeans(X, 2, init=X_OK[:2])
    with pytest.raises(TypeError, match=r"^init must be on the backend of X: "
                       r"X is a NumPy \(host\) array, init is a CuPy"):
        kmeans(X_OK, 2, init=strict_cupy.asarray(X_OK[:2]))
