"""KMeansKernels and PCAKernels: brute-force oracles, sklearn contract, bad input."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from featurelab.kernels import KMeansKernels, PCAKernels
from featurelab.ops import region_pool
from featurelab.patches import extract_patches, normalize_patches


def images(shape=(12, 2, 9, 8), seed=0, scale=255.0):
    return np.random.default_rng(seed).random(shape) * scale


def brute_features(km, X, stride=1):
    """Encode every patch directly: extract, normalise, whiten, compare."""
    size = km.patch_size_
    P = extract_patches(X, size, stride=stride, as_matrix=True)
    if km.normalize_patches:
        P = normalize_patches(P, epsilon=km.norm_epsilon)
    W = km.whitener_.transform(P) if km.whiten else P
    C = km.cluster_centers_
    d = np.sqrt(((W[:, None, :] - C[None]) ** 2).sum(-1))
    if km.encoding == "triangle":
        f = np.maximum(d.mean(1, keepdims=True) - d, 0)
    elif km.encoding == "hard":
        f = np.eye(C.shape[0])[d.argmin(1)]
    else:
        f = np.maximum(W @ C.T - km.alpha, 0)
    positions = tuple((n - k) // stride + 1 for n, k in zip(X.shape[2:], size))
    maps = f.reshape((X.shape[0],) + positions + (C.shape[0],))
    return np.moveaxis(maps, -1, 1)


@pytest.mark.parametrize("encoding", ["triangle", "hard", "soft_threshold"])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("whiten", [True, False])
@pytest.mark.parametrize("shape,size,stride", [
    ((12, 2, 9, 8), (3, 2), 1),
    ((10, 3, 7, 7), 3, 2),
    ((15, 2, 20), 4, 1),
])
def test_kmeans_transform_equals_brute_force(encoding, normalize, whiten, shape,
                                             size, stride):
    X = images(shape)
    km = KMeansKernels(5, size, n_patches=400, normalize_patches=normalize,
                       whiten=whiten, encoding=encoding, stride=stride,
                       random_state=0).fit(X)
    got = km.transform(X)
    expected = brute_features(km, X, stride)
    np.testing.assert_allclose(got, expected.reshape(len(X), -1),
                               rtol=1e-8, atol=1e-8)


def test_kmeans_regions_pool_the_encoded_maps():
    X = images()
    km = KMeansKernels(4, 3, n_patches=300, regions=(2, 2), random_state=0).fit(X)
    maps = brute_features(km, X)
    np.testing.assert_allclose(km.transform(X),
                               region_pool(maps, (2, 2)).reshape(len(X), -1),
                               rtol=1e-8, atol=1e-8)


def test_kmeans_kernels_fold_the_whitening_back():
    """conv(x, kernels_) + offsets_ gives the whitened patches' dot products."""
    X = images()
    km = KMeansKernels(6, 3, n_patches=500, random_state=0).fit(X)
    P = normalize_patches(extract_patches(X, 3, as_matrix=True), epsilon=10.0)
    whitened_dots = km.whitener_.transform(P) @ km.cluster_centers_.T
    folded = P @ km.kernels_.reshape(6, -1).T + km.offsets_
    np.testing.assert_allclose(folded, whitened_dots, rtol=1e-8, atol=1e-8)


def test_kmeans_spherical_centres_have_unit_norm():
    km = KMeansKernels(5, 3, n_patches=500, spherical=True, random_state=0)
    km.fit(images())
    np.testing.assert_allclose(np.linalg.norm(km.cluster_centers_, axis=1), 1,
                               rtol=1e-6)


def test_kmeans_is_deterministic_and_seed_dependent():
    X = images()
    a = KMeansKernels(4, 3, n_patches=300, random_state=1).fit(X).kernels_
    b = KMeansKernels(4, 3, n_patches=300, random_state=1).fit(X).kernels_
    c = KMeansKernels(4, 3, n_patches=300, random_state=2).fit(X).kernels_
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_kmeans_float32_is_kept():
    X = images().astype(np.float32)
    km = KMeansKernels(4, 3, n_patches=300, random_state=0).fit(X)
    assert km.kernels_.dtype == np.float32
    assert km.transform(X).dtype == np.float32
    ref = KMeansKernels(4, 3, n_patches=300, random_state=0).fit(X.astype(np.float64))
    np.testing.assert_allclose(km.transform(X), ref.transform(X.astype(np.float64)),
                               rtol=2e-3, atol=2e-3)


def test_kmeans_sklearn_solver_learns_comparable_centres():
    X = images()
    ours = KMeansKernels(4, 3, n_patches=2000, max_iter=50, solver="featurelab",
                         random_state=0).fit(X)
    theirs = KMeansKernels(4, 3, n_patches=2000, max_iter=50, solver="sklearn",
                           random_state=0).fit(X)
    assert theirs.kernels_.shape == ours.kernels_.shape
    assert theirs.inertia_ < 1.1 * ours.inertia_ and ours.inertia_ < 1.1 * theirs.inertia_


def test_kmeans_on_digits_beats_raw_pixels():
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    km = KMeansKernels(32, 3, input_shape=(1, 8, 8), n_patches=10_000,
                       norm_epsilon=0.04, regions=(2, 2), random_state=0)
    model = make_pipeline(km, StandardScaler(), LogisticRegression(max_iter=500))
    assert cross_val_score(model, X, y, cv=3).mean() > 0.93


def test_nd_input_equals_2d_input_with_input_shape():
    X = images()
    a = KMeansKernels(4, 3, n_patches=300, random_state=0).fit(X)
    b = KMeansKernels(4, 3, input_shape=X.shape[1:], n_patches=300,
                      random_state=0).fit(X.reshape(len(X), -1))
    np.testing.assert_array_equal(a.kernels_, b.kernels_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X.reshape(len(X), -1)))


def test_constant_patches_stay_finite():
    X = np.full((5, 1, 6, 6), 7.0)
    km = KMeansKernels(1, 3, n_patches=50, random_state=0).fit(X)
    assert np.all(np.isfinite(km.kernels_))
    assert np.all(np.isfinite(km.transform(X)))


def test_auto_solver_picks_by_number_of_kernels(monkeypatch):
    import sklearn.cluster

    from featurelab.kernels import _learned

    calls = []
    real = sklearn.cluster.KMeans

    def spy(*args, **kwargs):
        calls.append(args[0] if args else kwargs["n_clusters"])
        return real(*args, **kwargs)

    monkeypatch.setattr(sklearn.cluster, "KMeans", spy)
    monkeypatch.setattr(_learned, "_SKLEARN_BELOW", 5)
    X = images()
    KMeansKernels(4, 3, n_patches=300, random_state=0).fit(X)
    KMeansKernels(5, 3, n_patches=300, random_state=0).fit(X)
    KMeansKernels(4, 3, n_patches=300, spherical=True, random_state=0).fit(X)
    assert calls == [4]


@pytest.mark.parametrize("Estimator", [KMeansKernels, PCAKernels])
def test_fits_and_transforms_on_each_backend(backend, Estimator):
    X = images((8, 1, 7, 7))
    ref = Estimator(3, 3, n_patches=300, regions=(2, 2), random_state=0).fit(X)
    est = Estimator(3, 3, n_patches=300, regions=(2, 2), random_state=0)
    est.fit(backend.asarray(X))
    np.testing.assert_allclose(backend.to_numpy(est.kernels_), ref.kernels_,
                               rtol=1e-6, atol=1e-8)
    got = backend.to_numpy(est.transform(backend.asarray(X)))
    np.testing.assert_allclose(got, ref.transform(X), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("Estimator", [KMeansKernels, PCAKernels])
def test_transform_on_another_backend_names_it(strict_cupy, Estimator):
    X = images((6, 1, 7, 7))
    est = Estimator(2, 3, n_patches=100, random_state=0).fit(strict_cupy.asarray(X))
    with pytest.raises(TypeError, match="X is a NumPy array but .* was fitted on "
                                        "CuPy arrays"):
        est.transform(X)


def test_pca_kernels_are_leading_eigenvectors_of_the_patches():
    X = images((10, 2, 8, 8))
    pca = PCAKernels(5, 3, n_patches=2000, random_state=0).fit(X)
    flat = pca.kernels_.reshape(5, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(5), atol=1e-10)
    np.testing.assert_allclose(flat.sum(axis=1), 0, atol=1e-10)  # remove_mean
    assert np.all(np.diff(pca.explained_variance_) <= 1e-12)
    # the same patches, by an SVD: same subspace and same leading variances
    from sklearn.utils import check_random_state

    from featurelab.patches import sample_patches

    P = sample_patches(X, 3, 2000, random_state=check_random_state(0)).reshape(2000, -1)
    P = P - P.mean(axis=1, keepdims=True)
    _, s, vt = np.linalg.svd(P, full_matrices=False)
    np.testing.assert_allclose(pca.explained_variance_, s[:5] ** 2 / 2000, rtol=1e-8)
    np.testing.assert_allclose(np.abs(flat @ vt[:5].T), np.eye(5), atol=1e-6)


def test_kmeans_float32_is_accurate_on_offset_data():
    """Patch normalisation ignores an input offset; float32 must not lose it
    to cancellation (the op centres each sample first)."""
    X = images((10, 1, 8, 8), scale=40.0) + 1000.0
    km = KMeansKernels(4, 3, n_patches=500, norm_epsilon=1.0, random_state=0)
    km.fit(X)
    exact = brute_features(km, X).reshape(len(X), -1)
    km32 = KMeansKernels(4, 3, n_patches=500, norm_epsilon=1.0, random_state=0)
    got = km32.fit(X.astype(np.float32)).transform(X.astype(np.float32))
    scale = np.abs(exact).max()
    assert np.abs(got - exact).max() < 2e-5 * scale  # 2e-4 without the centring


def test_preprocessing_is_fixed_at_fit():
    X = images()
    km = KMeansKernels(4, 3, n_patches=300, random_state=0).fit(X)
    before = km.transform(X)
    km.set_params(normalize_patches=False, norm_epsilon=1e-3)
    np.testing.assert_array_equal(km.transform(X), before)


def test_feature_names_out():
    km = KMeansKernels(3, 3, n_patches=100, regions=(2, 2), random_state=0)
    F = km.fit_transform(images())
    names = km.get_feature_names_out()
    assert len(names) == F.shape[1] == 12
    assert names[0] == "kmeanskernels0"
    pca = PCAKernels(2, 3, n_patches=100, stride=2, random_state=0).fit(images())
    assert len(pca.get_feature_names_out()) == pca.transform(images()).shape[1]


def test_pca_sign_is_deterministic_for_antisymmetric_kernels():
    # 2-tap kernels without their mean are +-(1, -1)/sqrt(2): the first tap
    # must be the positive one whatever the data and dtype
    for seed in range(6):
        X = images((6, 1, 5, 5), seed=seed)
        for dtype in (np.float64, np.float32):
            k = PCAKernels(1, (1, 2), n_patches=500, random_state=0).fit(
                X.astype(dtype)).kernels_.ravel()
            assert k[0] > 0 > k[1]


def test_pca_transform_is_the_convolution():
    from featurelab.ops import conv2d

    X = images((6, 1, 8, 8))
    pca = PCAKernels(3, 3, n_patches=500, random_state=0).fit(X)
    np.testing.assert_allclose(pca.transform(X),
                               conv2d(X, pca.kernels_).reshape(6, -1), rtol=1e-10)


@pytest.mark.parametrize("make,exc,match", [
    (lambda: KMeansKernels(0, 3), ValueError, r"^n_kernels must be >= 1, got 0"),
    (lambda: KMeansKernels(2, 20), ValueError,
     r"^size must fit in the input on every axis, got size=\(20, 20\)"),
    (lambda: KMeansKernels(50, 3, n_patches=10), ValueError,
     r"^n_kernels must be <= n_patches, got n_kernels=50 and n_patches=10"),
    (lambda: KMeansKernels(2, 3, encoding="soft"), ValueError,
     r"^encoding must be one of .*got 'soft'"),
    (lambda: KMeansKernels(2, 3, solver="torch"), ValueError,
     r"^solver must be one of .*got 'torch'"),
    (lambda: KMeansKernels(2, 3, solver="sklearn", spherical=True), ValueError,
     r"^solver='sklearn' runs on NumPy data and without spherical=True"),
    (lambda: KMeansKernels(2, 3, n_patches=0), ValueError, r"^n_patches must be >= 1, got 0"),
    (lambda: KMeansKernels(2, 3, input_shape=(2, 8, 9)), ValueError,
     r"^input_shape=\(2, 8, 9\) disagrees with the shape of X, \(4, 2, 9, 8\)"),
    (lambda: PCAKernels(18, 3), ValueError,
     r"^n_kernels must be <= C \* prod\(size\) - 1 = 17, got 18"),
    (lambda: PCAKernels(19, 3, remove_mean=False), ValueError,
     r"^n_kernels must be <= C \* prod\(size\) = 18, got 19"),
    (lambda: KMeansKernels(2, 3, pool_mode="bogus"), ValueError,
     r"^pool_mode must be one of .*got 'bogus'"),
    (lambda: KMeansKernels(2, 3, norm_epsilon=-1), ValueError,
     r"^norm_epsilon must be a finite real number > 0, got -1"),
    (lambda: KMeansKernels(2, 3, whiten_epsilon=0), ValueError,
     r"^whiten_epsilon must be a finite real number > 0, got 0"),
    (lambda: KMeansKernels(2, 3, alpha="a"), TypeError,
     r"^alpha must be a real number >= 0, got str 'a'"),
    (lambda: KMeansKernels(2, 3, alpha=-0.5), ValueError,
     r"^alpha must be a real number >= 0, got -0.5"),
    (lambda: KMeansKernels(2, 3, stride=0), ValueError, r"^stride must be >= 1"),
    (lambda: PCAKernels(2, 3, regions=(2, 2, 2)), ValueError, r"^regions must be an int"),
    (lambda: PCAKernels(2, (3, 3, 3)), ValueError, r"^size must be an int or a tuple of 2"),
])
def test_bad_parameters(make, exc, match):
    with pytest.raises(exc, match=match):
        make().fit(images((4, 2, 9, 8)))


@pytest.mark.parametrize("Estimator", [KMeansKernels, PCAKernels])
def test_nan_input_is_rejected(Estimator):
    X = images((4, 1, 6, 6)).reshape(4, -1)
    X[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Estimator(2, 3, input_shape=(1, 6, 6), n_patches=50).fit(X)


def test_input_shape_must_match_n_features():
    with pytest.raises(ValueError, match=r"^input_shape must be .*prod\(input_shape\) == "
                                         r"n_features \(36\), got input_shape=\(1, 5, 5\)"):
        KMeansKernels(2, 3, input_shape=(1, 5, 5)).fit(np.ones((3, 36)))


def test_transform_rejects_samples_of_another_shape():
    km = KMeansKernels(2, 3, n_patches=50, random_state=0).fit(images((4, 1, 6, 6)))
    with pytest.raises(ValueError, match=r"X has 49 features, but KMeansKernels is "
                                         r"expecting 36 features"):
        km.transform(images((4, 1, 7, 7)))


@parametrize_with_checks([
    KMeansKernels(2, 1, n_patches=50, normalize_patches=False, max_iter=5, random_state=0),
    KMeansKernels(2, 1, n_patches=50, normalize_patches=False, whiten=False,
                  encoding="hard", random_state=0),
    PCAKernels(1, 1, n_patches=50, remove_mean=False, random_state=0),
])
def test_sklearn_contract(estimator, check):
    check(estimator)
