"""Tests for :mod:`featurelab.layers`: ConvLayer, PoolLayer, FunctionLayer.

Every computed result is compared with an oracle that does not go through
the layer's code path:

* :func:`scipy_conv`: ``scipy.signal.correlate`` per (sample, kernel,
  channel) on the zero-padded input with a zero-dilated kernel, summed over
  channels and subsampled by the stride;
* :func:`receptive_fields`: every receptive field cut out of the zero-padded
  input by explicit loops over output positions, then normalised
  (``(p - mean) / sqrt(var(ddof=1) + norm_epsilon_)``), whitened
  (``(p_n - mean_) @ whitening_``) and dotted with (or, for ``'triangle'``,
  compared by distance to) the rows of ``bank_``;
* :func:`brute_pool`: loops over windows (``-inf`` padding for max, 0
  otherwise, averages over the full window) and ``skimage``'s
  ``block_reduce``;
* learned kernels: the same patches re-drawn with
  :func:`featurelab.patches.sample_patches` and the same ``RandomState``,
  then scikit-learn ``KMeans``, ``numpy.linalg.eigh`` and ``rng.choice``.

Padding rules come from ``tests/ops/_reference.py`` (written from the
docstrings), nonlinearities are written out with NumPy/SciPy, and local
contrast normalisation is :func:`featurelab.ops.local_contrast_normalize`
(tested on its own in ``tests/ops/test_normalize.py``).
"""

import math

import numpy as np
import pytest
import scipy.signal
import scipy.special
from hypothesis import event, given, settings
from hypothesis import strategies as st
from skimage.measure import block_reduce
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError

from featurelab.kernels import edge_kernels, gabor_bank, random_kernels
from featurelab.layers import ChannelPoolLayer, ConvLayer, FunctionLayer, PoolLayer
from featurelab.ops import local_contrast_normalize
from featurelab.patches import sample_patches
from tests.ops._reference import as_tuple, reference_pads

# --------------------------------------------------------------------------
# data and oracles
# --------------------------------------------------------------------------


def data(shape, seed=0, dtype=np.float64, scale=4.0, offset=1.0):
    """Uniform data with an offset (so that mean removal matters)."""
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * scale + offset).astype(dtype)


def geometry(layer, input_shape):
    """``(size, stride, dilation, pads)`` of a fitted layer's convolution, from
    its parameters and ``kernels_`` by the documented rules."""
    n = len(input_shape) - 1
    size = tuple(layer.kernels_.shape[2:])
    stride = as_tuple(layer.stride, n)
    dilation = as_tuple(layer.dilation, n)
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, size))
    pads = reference_pads(layer.padding, input_shape[1:], extents, stride)
    return size, stride, dilation, pads


def dilate(kernel, dilation):
    """Insert ``dilation - 1`` zeros between the taps of ``kernel``."""
    shape = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel.shape))
    out = np.zeros(shape)
    out[tuple(slice(None, None, d) for d in dilation)] = kernel
    return out


def scipy_conv(x, kernels, stride, dilation, pads):
    """Cross-correlation by scipy.signal.correlate, (N, K, *out), float64."""
    xp = np.pad(np.asarray(x, np.float64), [(0, 0), (0, 0)] + list(pads))
    kernels = np.asarray(kernels, np.float64)
    every = tuple(slice(None, None, s) for s in stride)
    out = []
    for sample in xp:
        maps = []
        for kernel in kernels:
            acc = sum(scipy.signal.correlate(channel, dilate(k, dilation),
                                             mode="valid", method="direct")
                      for channel, k in zip(sample, kernel))
            maps.append(acc[every])
        out.append(maps)
    return np.array(out)


def receptive_fields(x, size, stride, dilation, pads):
    """Every receptive field of the zero-padded ``x``, flattened in the
    kernel order ``(C, *size)``: array ``(N, *out, C * prod(size))``."""
    xp = np.pad(np.asarray(x, np.float64), [(0, 0), (0, 0)] + list(pads))
    extents = [d * (k - 1) + 1 for d, k in zip(dilation, size)]
    out = tuple((n - e) // s + 1 for n, e, s in zip(xp.shape[2:], extents, stride))
    fields = np.empty((x.shape[0],) + out + (x.shape[1] * math.prod(size),))
    for pos in np.ndindex(*out):
        window = tuple(slice(i * s, i * s + e, d)
                       for i, s, e, d in zip(pos, stride, extents, dilation))
        fields[(slice(None),) + pos] = xp[(slice(None), slice(None)) + window].reshape(
            x.shape[0], -1)
    return fields


def preprocess(layer, rows):
    """Normalise and whiten rows (last axis) with the layer's fitted
    ``norm_epsilon_`` and ``whitener_``, in float64."""
    rows = np.asarray(rows, np.float64)
    if layer.normalize == "patch":
        mean = rows.mean(axis=-1, keepdims=True)
        var = rows.var(axis=-1, ddof=1, keepdims=True)
        rows = (rows - mean) / np.sqrt(var + layer.norm_epsilon_)
    if layer.whiten:
        rows = ((rows - np.asarray(layer.whitener_.mean_, np.float64))
                @ np.asarray(layer.whitener_.whitening_, np.float64))
    return rows


def sampled_rows(x, size, dilation, n_patches, rng):
    """The patches ``fit`` samples, re-drawn with ``rng`` (rows)."""
    n = x.ndim - 2
    size, dilation = as_tuple(size, n), as_tuple(dilation, n)
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, size))
    patches = sample_patches(x, extents, n_patches, random_state=rng)
    patches = patches[(slice(None), slice(None))
                      + tuple(slice(None, None, d) for d in dilation)]
    return np.asarray(patches, np.float64).reshape(n_patches, -1)


NONLIN = {
    None: lambda r: r,
    "identity": lambda r: r,
    "relu": lambda r: np.where(r > 0, r, 0.0),
    "abs": np.abs,
    "tanh": np.tanh,
    "sigmoid": scipy.special.expit,
    "soft_threshold": lambda r: np.sign(r) * np.maximum(np.abs(r) - 0.25, 0),
    "split_sign": lambda r: np.concatenate([np.where(r > 0, r, 0.0),
                                            np.where(r < 0, -r, 0.0)], axis=1),
}


def square(r):
    return r * r


def brute_pool(x, mode, size, stride, padding):
    """Pool by explicit loops over windows."""
    n = x.ndim - 2
    size, stride, padding = as_tuple(size, n), as_tuple(stride, n), as_tuple(padding, n)
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(np.asarray(x, np.float64), [(0, 0), (0, 0)] + [(p, p) for p in padding],
                constant_values=fill)
    out = tuple((m - k) // s + 1 for m, k, s in zip(xp.shape[2:], size, stride))
    y = np.empty(x.shape[:2] + out)
    for pos in np.ndindex(*out):
        window = xp[(slice(None), slice(None))
                    + tuple(slice(i * s, i * s + k) for i, s, k in zip(pos, stride, size))]
        w = window.reshape(x.shape[:2] + (-1,))
        if mode == "max":
            v = w.max(axis=-1)
        elif mode == "sum":
            v = w.sum(axis=-1)
        elif mode == "avg":
            v = w.sum(axis=-1) / math.prod(size)
        else:
            v = np.sqrt((w * w).sum(axis=-1))
        y[(slice(None), slice(None)) + pos] = v
    return y


def pool_spec(pool):
    """(mode, size, stride, padding) of a pool argument, from the docstring."""
    if isinstance(pool, dict):
        size = pool["size"]
        stride = pool.get("stride")
        return (pool.get("mode", "max"), size, size if stride is None else stride,
                pool.get("padding", 0))
    mode, size = pool
    return mode, size, size, 0


def expected_transform(layer, x):
    """The whole stage, from the fitted ``kernels_``/``offsets_`` (plain
    convolution) or ``bank_`` (preprocessed receptive fields)."""
    x = np.asarray(x, np.float64)
    size, stride, dilation, pads = geometry(layer, x.shape[1:])
    nonlin = layer.nonlinearity
    if layer.normalize == "patch" or layer.whiten or nonlin == "triangle":
        fields = preprocess(layer, receptive_fields(x, size, stride, dilation, pads))
        bank = np.asarray(layer.bank_, np.float64)
        if nonlin == "triangle":
            z = np.sqrt(((fields[..., None, :] - bank) ** 2).sum(axis=-1))
            resp = np.maximum(z.mean(axis=-1, keepdims=True) - z, 0)
        else:
            resp = fields @ bank.T
        resp = np.moveaxis(resp, -1, 1)
    else:
        resp = scipy_conv(x, layer.kernels_, stride, dilation, pads)
        resp = resp + np.asarray(layer.offsets_, np.float64).reshape(
            (1, -1) + (1,) * (x.ndim - 2))
    if nonlin != "triangle":
        resp = nonlin(resp) if callable(nonlin) else NONLIN[nonlin](resp)
    if layer.pool is not None:
        resp = brute_pool(resp, *pool_spec(layer.pool))
    if layer.normalize == "lcn":
        resp = local_contrast_normalize(resp)
    return resp


def assert_close(got, expected, dtype=np.float64):
    """1e-8 relative (float64) or 1e-4 relative (float32) to the largest
    magnitude, entry by entry."""
    got = np.asarray(got)
    assert got.shape == expected.shape
    assert got.dtype == dtype
    scale = max(float(np.abs(expected).max(initial=0)), 1e-30)
    tol = 1e-8 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * scale)


# --------------------------------------------------------------------------
# 1. kernel sources: what ends up in kernels_ / bank_ / offsets_
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape,size", [((3, 2, 9, 8), (3, 2)), ((3, 2, 12), 4),
                                        ((3, 3, 7, 7), 3)])
@pytest.mark.parametrize("distribution", [None, "rademacher", "orthogonal"])
def test_random_kernels_are_random_kernels_of_the_seed(shape, size, distribution):
    X = data(shape)
    kp = None if distribution is None else {"distribution": distribution}
    layer = ConvLayer(5, size, kernel_params=kp, random_state=4).fit(X)
    n = len(shape) - 2
    expected = random_kernels(5, shape[1], as_tuple(size, n), random_state=4,
                              **(kp or {}))
    np.testing.assert_array_equal(layer.kernels_, expected.astype(np.float64))
    np.testing.assert_array_equal(layer.bank_, layer.kernels_.reshape(5, -1))
    np.testing.assert_array_equal(layer.offsets_, np.zeros(5))
    assert layer.whitener_ is None and layer.norm_epsilon_ is None
    assert layer.input_shape_ == shape[1:]


def test_default_number_of_kernels_is_64():
    layer = ConvLayer(size=3, random_state=0).fit(data((2, 1, 6, 6)))
    assert layer.kernels_.shape == (64, 1, 3, 3)
    assert layer.output_shape_ == (64, 4, 4)


@pytest.mark.parametrize("n_kernels,kp,expected_kp", [
    (None, None, {}),
    (12, None, {"n_orientations": 2}),
    (None, {"n_orientations": 3, "frequencies": (0.25,)}, {"n_orientations": 3,
                                                          "frequencies": (0.25,)}),
    (4, {"frequencies": (0.2,), "phases": (0.0,)}, {"n_orientations": 4,
                                                    "frequencies": (0.2,),
                                                    "phases": (0.0,)}),
])
def test_gabor_kernels_are_the_gabor_bank(n_kernels, kp, expected_kp):
    X = data((2, 2, 9, 9))
    layer = ConvLayer(n_kernels, 5, kernels="gabor", kernel_params=kp).fit(X)
    expected = gabor_bank(5, in_channels=2, **expected_kp)
    np.testing.assert_array_equal(layer.kernels_, expected.astype(np.float64))
    assert layer.output_shape_ == (expected.shape[0], 5, 5)


def test_gabor_default_bank_has_48_kernels():
    layer = ConvLayer(size=3, kernels="gabor").fit(data((1, 1, 5, 5)))
    assert layer.kernels_.shape == (48, 1, 3, 3)


def test_edge_kernels_are_steered_sobel_kernels():
    X = data((2, 1, 6, 7))
    layer = ConvLayer(kernels="edges", size=7).fit(X)  # size is ignored: 3 x 3
    assert layer.kernels_.shape == (4, 1, 3, 3)
    np.testing.assert_array_equal(layer.kernels_, edge_kernels().astype(np.float64))
    # independent check of 0 and 90 degrees: positive multiples of Sobel x / y
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    for k, ref in ((0, sobel_x), (2, sobel_x.T)):
        got = layer.kernels_[k, 0]
        scale = (got * ref).sum() / (ref * ref).sum()
        assert scale > 0
        np.testing.assert_allclose(got, scale * ref, atol=1e-7)


@pytest.mark.parametrize("n_kernels,kp,expected", [
    (3, None, {"directions": (0.0, 60.0, 120.0)}),
    (None, {"kind": "prewitt"}, {"kind": "prewitt"}),
    (None, {"directions": (10, 100)}, {"directions": (10, 100)}),
    (2, {"kind": "scharr"}, {"kind": "scharr", "directions": (0.0, 90.0)}),
])
def test_edge_kernel_count_and_kind(n_kernels, kp, expected):
    X = data((2, 3, 6, 6))
    layer = ConvLayer(n_kernels, kernels="edges", kernel_params=kp).fit(X)
    ref = edge_kernels(in_channels=3, **expected)
    np.testing.assert_allclose(layer.kernels_, ref, rtol=1e-6, atol=1e-7)


def test_edges_n_kernels_conflicting_with_directions_is_rejected():
    layer = ConvLayer(3, kernels="edges", kernel_params={"directions": (0, 90)})
    with pytest.raises(ValueError, match="n_kernels"):
        layer.fit(data((2, 1, 6, 6)))


@pytest.mark.parametrize("normalize,whiten", [(None, False), ("patch", False),
                                              (None, True), ("patch", True)])
@pytest.mark.parametrize("shape,size,dilation", [((6, 2, 9, 8), (3, 2), 1),
                                                 ((8, 1, 20), 4, 2)])
def test_kmeans_bank_is_sklearn_kmeans_of_the_same_patches(normalize, whiten, shape,
                                                           size, dilation):
    X = data(shape, scale=255, offset=0)
    layer = ConvLayer(5, size, kernels="kmeans", normalize=normalize, whiten=whiten,
                      dilation=dilation, n_patches=400, random_state=7).fit(X)
    rng = np.random.RandomState(7)
    rows = preprocess(layer, sampled_rows(X, size, dilation, 400, rng))
    # the same RandomState, advanced by the sampling, seeds k-means
    km = KMeans(5, n_init=1, max_iter=10, tol=1e-4, random_state=rng).fit(rows)
    np.testing.assert_allclose(layer.bank_, km.cluster_centers_, rtol=1e-9, atol=1e-9)


def test_kmeans_kernel_params_reach_the_solver():
    X = data((6, 1, 8, 8))
    layer = ConvLayer(4, 3, kernels="kmeans", n_patches=300, random_state=1,
                      kernel_params={"max_iter": 50, "tol": 0.0}).fit(X)
    rng = np.random.RandomState(1)
    rows = sampled_rows(X, 3, 1, 300, rng)
    km = KMeans(4, n_init=1, max_iter=50, tol=0.0, random_state=rng).fit(rows)
    np.testing.assert_allclose(layer.bank_, km.cluster_centers_, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("whiten", [False, True])
def test_kmeans_featurelab_solver_gives_a_lloyd_fixed_point(whiten):
    X = data((6, 2, 8, 8))
    layer = ConvLayer(4, 3, kernels="kmeans", whiten=whiten, normalize="patch",
                      n_patches=300, random_state=2,
                      kernel_params={"solver": "featurelab", "max_iter": 300,
                                     "tol": 0.0}).fit(X)
    rows = preprocess(layer, sampled_rows(X, 3, 1, 300, np.random.RandomState(2)))
    bank = layer.bank_
    labels = ((rows[:, None, :] - bank[None]) ** 2).sum(-1).argmin(axis=1)
    assert set(labels) == set(range(4))
    for k in range(4):
        np.testing.assert_allclose(bank[k], rows[labels == k].mean(axis=0),
                                   rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("normalize,whiten", [(None, False), ("patch", False),
                                              (None, True), ("patch", True)])
@pytest.mark.parametrize("shape,size,dilation", [((6, 2, 9, 8), (3, 2), 1),
                                                 ((8, 2, 20), 3, 2)])
def test_pca_bank_is_leading_eigenvectors_of_the_same_patches(normalize, whiten, shape,
                                                              size, dilation):
    X = data(shape)
    layer = ConvLayer(4, size, kernels="pca", normalize=normalize, whiten=whiten,
                      dilation=dilation, n_patches=500, random_state=3).fit(X)
    rows = preprocess(layer, sampled_rows(X, size, dilation, 500,
                                          np.random.RandomState(3)))
    rows = rows - rows.mean(axis=1, keepdims=True)
    eigenvalues, vectors = np.linalg.eigh(rows.T @ rows / len(rows))
    top = vectors[:, ::-1][:, :4].T
    assert np.all(np.diff(eigenvalues[::-1][:5]) < 0)  # distinct: unique up to sign
    bank = layer.bank_
    np.testing.assert_allclose(bank @ bank.T, np.eye(4), atol=1e-10)
    np.testing.assert_allclose(np.abs(bank @ top.T), np.eye(4), atol=1e-7)
    # sign rule: the first entry within 1e-4 of the largest magnitude is positive
    for row in bank:
        first = np.argmax(np.abs(row) >= (1 - 1e-4) * np.abs(row).max())
        assert row[first] > 0


def test_pca_remove_mean_false_uses_the_raw_second_moment():
    X = data((6, 1, 8, 8))
    layer = ConvLayer(3, 3, kernels="pca", n_patches=400, random_state=5,
                      kernel_params={"remove_mean": False}).fit(X)
    rows = sampled_rows(X, 3, 1, 400, np.random.RandomState(5))
    _, vectors = np.linalg.eigh(rows.T @ rows / len(rows))
    top = vectors[:, ::-1][:, :3].T
    np.testing.assert_allclose(np.abs(layer.bank_ @ top.T), np.eye(3), atol=1e-7)
    # the leading component of positive data is the (non zero-sum) mean direction
    assert abs(layer.bank_[0].sum()) > 1


@pytest.mark.parametrize("normalize,whiten", [(None, False), ("patch", True)])
@pytest.mark.parametrize("shape,size", [((6, 2, 9, 8), (2, 3)), ((8, 1, 20), 5)])
def test_patches_bank_is_centred_unit_norm_sampled_patches(normalize, whiten, shape, size):
    X = data(shape)
    layer = ConvLayer(6, size, kernels="patches", normalize=normalize, whiten=whiten,
                      n_patches=200, random_state=9).fit(X)
    rng = np.random.RandomState(9)
    rows = preprocess(layer, sampled_rows(X, size, 1, 200, rng))
    chosen = rows[rng.choice(200, 6, replace=False)]
    chosen = chosen - chosen.mean(axis=1, keepdims=True)
    chosen /= np.linalg.norm(chosen, axis=1, keepdims=True)
    np.testing.assert_allclose(layer.bank_, chosen, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("as_list", [False, True])
@pytest.mark.parametrize("shape,kshape", [((2, 2, 7, 6), (3, 2, 3, 2)),
                                          ((2, 3, 10), (4, 3, 5))])
def test_array_kernels_are_used_as_given(as_list, shape, kshape):
    X = data(shape)
    bank = np.random.default_rng(1).standard_normal(kshape)
    layer = ConvLayer(kernels=bank.tolist() if as_list else bank).fit(X)
    np.testing.assert_array_equal(layer.kernels_, bank)
    assert layer.output_shape_[0] == kshape[0]
    # n_kernels may repeat the count; size is taken from the array
    layer = ConvLayer(kshape[0], 9, kernels=bank).fit(X)
    np.testing.assert_array_equal(layer.kernels_, bank)


def test_array_kernels_with_whitening_are_folded():
    X = data((4, 1, 7, 7))
    bank = np.random.default_rng(1).standard_normal((3, 1, 2, 2))
    layer = ConvLayer(kernels=bank, whiten=True, n_patches=200, random_state=0).fit(X)
    np.testing.assert_array_equal(layer.bank_, bank.reshape(3, -1))
    W, mu = layer.whitener_.whitening_, layer.whitener_.mean_
    np.testing.assert_allclose(layer.kernels_.reshape(3, -1), bank.reshape(3, -1) @ W,
                               rtol=1e-12)
    np.testing.assert_allclose(layer.offsets_, -(bank.reshape(3, -1) @ W) @ mu,
                               rtol=1e-12)


def test_callable_kernels_get_count_channels_size_and_the_rng():
    calls = []

    def make(n_kernels, in_channels, size, random_state):
        calls.append((n_kernels, in_channels, size, type(random_state)))
        return random_state.standard_normal((n_kernels, in_channels) + tuple(size))

    X = data((2, 3, 8, 7))
    layer = ConvLayer(5, (3, 2), kernels=make, random_state=11).fit(X)
    assert calls == [(5, 3, (3, 2), np.random.RandomState)]
    expected = np.random.RandomState(11).standard_normal((5, 3, 3, 2))
    np.testing.assert_array_equal(layer.kernels_, expected)
    layer1d = ConvLayer(2, 4, kernels=make, random_state=0).fit(data((2, 1, 9)))
    assert calls[-1][:3] == (2, 1, (4,))
    assert layer1d.kernels_.shape == (2, 1, 4)


# --------------------------------------------------------------------------
# 2. transform = convolution -> nonlinearity -> pooling -> LCN
# --------------------------------------------------------------------------

GEOMETRIES = [
    ((2, 2, 9, 8), 3, {}),
    ((2, 2, 9, 8), (3, 2), {"stride": 2, "padding": "same"}),
    ((2, 1, 9, 8), 2, {"stride": (2, 1), "padding": "same", "dilation": (1, 2)}),
    ((2, 1, 8, 9), (2, 3), {"stride": (1, 2), "padding": "full", "dilation": (2, 1)}),
    ((2, 2, 7, 7), 3, {"padding": 1, "dilation": 2}),
    ((2, 2, 7, 7), 3, {"padding": ((1, 0), (2, 1)), "stride": (1, 2)}),
    ((3, 2, 17), 4, {"stride": 3, "padding": "same", "dilation": 2}),
    ((3, 1, 12), 3, {"padding": 2}),
    ((3, 2, 12), 5, {"padding": "full", "stride": 2}),
    ((3, 2, 12), 2, {"padding": ((0, 3),), "dilation": 3}),
]


@pytest.mark.parametrize("nonlinearity", ["relu", "split_sign", "triangle"])
@pytest.mark.parametrize("shape,size,kw", GEOMETRIES)
def test_random_layer_equals_scipy_correlate(shape, size, kw, nonlinearity):
    X = data(shape, offset=-2.0)
    layer = ConvLayer(3, size, nonlinearity=nonlinearity, random_state=0, **kw).fit(X)
    got = layer.transform(X)
    assert_close(got, expected_transform(layer, X))
    assert got.shape[1:] == layer.output_shape_ == layer.output_shape(shape[1:])


@pytest.mark.parametrize("nonlinearity", [None, "identity", "relu", "abs", "tanh",
                                          "sigmoid", "soft_threshold", "split_sign",
                                          square])
@pytest.mark.parametrize("shape", [(2, 2, 8, 7), (3, 2, 11)])
def test_every_nonlinearity(shape, nonlinearity):
    X = data(shape, offset=-2.0)
    layer = ConvLayer(4, 3, nonlinearity=nonlinearity, random_state=1).fit(X)
    got = layer.transform(X)
    assert_close(got, expected_transform(layer, X))
    n_out = 8 if nonlinearity == "split_sign" else 4
    assert got.shape[1] == layer.output_shape_[0] == n_out


def test_split_sign_doubles_channels_positive_then_negative():
    X = data((2, 1, 6, 6), offset=-2.0)
    plain = ConvLayer(3, 3, nonlinearity=None, random_state=0).fit(X).transform(X)
    split = ConvLayer(3, 3, nonlinearity="split_sign", random_state=0).fit(X).transform(X)
    assert split.shape == (2, 6, 4, 4)
    np.testing.assert_array_equal(split[:, :3], np.maximum(plain, 0))
    np.testing.assert_array_equal(split[:, 3:], np.maximum(-plain, 0))
    np.testing.assert_array_equal(split[:, :3] - split[:, 3:], plain)


POOLS_2D = [
    ("max", 2),
    ["avg", (2, 3)],
    ("l2", 2),
    {"size": 2},
    {"mode": "sum", "size": 3, "stride": 2, "padding": 1},
    {"mode": "max", "size": (3, 2), "stride": (1, 2), "padding": (1, 0)},
    {"mode": "avg", "size": 2, "stride": 3},
]
POOLS_1D = [("max", 3), {"mode": "l2", "size": 2, "stride": 1, "padding": 1},
            {"mode": "avg", "size": 3, "padding": (2,)}]


@pytest.mark.parametrize("pool", POOLS_2D)
def test_pooling_2d(pool):
    X = data((2, 2, 10, 9), offset=-2.0)
    layer = ConvLayer(3, 3, nonlinearity="tanh", pool=pool, random_state=0).fit(X)
    got = layer.transform(X)
    assert_close(got, expected_transform(layer, X))
    assert got.shape[1:] == layer.output_shape_


@pytest.mark.parametrize("pool", POOLS_1D)
def test_pooling_1d(pool):
    X = data((3, 2, 15), offset=-2.0)
    layer = ConvLayer(3, 4, pool=pool, random_state=0).fit(X)
    got = layer.transform(X)
    assert_close(got, expected_transform(layer, X))
    assert got.shape[1:] == layer.output_shape_


@pytest.mark.parametrize("mode,func", [("max", np.max), ("sum", np.sum), ("avg", np.mean)])
def test_non_overlapping_pooling_equals_block_reduce(mode, func):
    X = data((2, 2, 11, 10), offset=-2.0)
    layer = ConvLayer(3, 3, nonlinearity=None, pool=(mode, (2, 3)), random_state=0).fit(X)
    maps = ConvLayer(3, 3, nonlinearity=None, random_state=0).fit(X).transform(X)
    expected = block_reduce(maps[:, :, :8, :6], (1, 1, 2, 3), func)
    np.testing.assert_allclose(layer.transform(X), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,pool", [((2, 2, 12, 11), ("max", 2)),
                                        ((2, 2, 12, 11), None),
                                        ((3, 1, 20), ("avg", 2))])
def test_lcn_is_the_last_step(shape, pool):
    X = data(shape, offset=-2.0)
    layer = ConvLayer(4, 3, nonlinearity="abs", pool=pool, normalize="lcn",
                      random_state=0).fit(X)
    got = layer.transform(X)
    assert_close(got, expected_transform(layer, X))
    before = ConvLayer(4, 3, nonlinearity="abs", pool=pool, random_state=0).fit(X)
    np.testing.assert_allclose(got, local_contrast_normalize(before.transform(X)),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernels,kw", [
    ("gabor", {"n_kernels": 6, "size": 5, "padding": "same", "pool": ("max", 2)}),
    ("gabor", {"size": 3, "stride": 2, "nonlinearity": "abs"}),
    ("edges", {"padding": 1, "nonlinearity": "split_sign"}),
    ("edges", {"dilation": 2, "normalize": "lcn"}),
])
def test_designed_kernel_layers_equal_scipy_correlate(kernels, kw):
    X = data((2, 3, 11, 10))
    layer = ConvLayer(kernels=kernels, **kw).fit(X)
    assert_close(layer.transform(X), expected_transform(layer, X))


def test_callable_and_array_layers_equal_scipy_correlate():
    X = data((2, 2, 8, 9), offset=-2.0)
    bank = np.random.default_rng(3).standard_normal((3, 2, 2, 3))
    by_array = ConvLayer(kernels=bank, stride=(2, 1), padding="same").fit(X)
    by_callable = ConvLayer(3, (2, 3), kernels=lambda *a: bank, stride=(2, 1),
                            padding="same").fit(X)
    for layer in (by_array, by_callable):
        assert_close(layer.transform(X), expected_transform(layer, X))


def test_transform_of_other_samples_and_of_an_empty_batch():
    X = data((4, 2, 8, 8))
    layer = ConvLayer(3, 3, pool=("max", 2), random_state=0).fit(X[:2])
    assert_close(layer.transform(X), expected_transform(layer, X))
    empty = layer.transform(X[:0])
    assert empty.shape == (0, 3, 3, 3)
    fitted_empty = ConvLayer(3, 3, random_state=0).fit(X[:0])
    assert fitted_empty.transform(X).shape == (4, 3, 6, 6)


def test_fit_transform_equals_fit_then_transform_and_input_untouched():
    X = data((3, 2, 8, 8))
    before = X.copy()
    kw = {"n_kernels": 4, "size": 3, "kernels": "kmeans", "normalize": "patch",
          "whiten": True, "nonlinearity": "triangle", "pool": ("avg", 2),
          "n_patches": 200, "random_state": 0}
    a = ConvLayer(**kw).fit_transform(X)
    b = ConvLayer(**kw).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, before)


# --------------------------------------------------------------------------
# 3. preprocessing folded into the kernels, and the triangle encoding
# --------------------------------------------------------------------------

FOLD_GEOMETRIES = [
    ((4, 2, 8, 7), (3, 2), {"stride": (1, 2), "dilation": (2, 1)}),
    ((5, 2, 15), 4, {"stride": 2}),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("nonlinearity", ["identity", "triangle"])
@pytest.mark.parametrize("normalize,whiten", [(None, False), ("patch", False),
                                              (None, True), ("patch", True)])
@pytest.mark.parametrize("kernels", ["random", "kmeans"])
@pytest.mark.parametrize("shape,size,kw", FOLD_GEOMETRIES)
def test_response_is_bank_dot_preprocessed_receptive_field(shape, size, kw, kernels,
                                                           normalize, whiten,
                                                           nonlinearity, dtype):
    X = data(shape, scale=255.0, offset=0.0, dtype=dtype)
    layer = ConvLayer(5, size, kernels=kernels, normalize=normalize, whiten=whiten,
                      nonlinearity=nonlinearity, n_patches=300, random_state=0,
                      **kw).fit(X)
    assert layer.kernels_.dtype == layer.bank_.dtype == layer.offsets_.dtype == dtype
    assert_close(layer.transform(X), expected_transform(layer, X), dtype)


@pytest.mark.parametrize("nonlinearity", ["identity", "triangle"])
@pytest.mark.parametrize("shape,padding", [((3, 2, 7, 8), "same"),
                                           ((3, 2, 7, 8), ((2, 0), 1)),
                                           ((4, 1, 12), "full")])
def test_whitening_with_padding_sees_zero_padded_fields(shape, padding, nonlinearity):
    X = data(shape)
    layer = ConvLayer(4, 3, kernels="kmeans", whiten=True, padding=padding,
                      nonlinearity=nonlinearity, n_patches=300, random_state=0).fit(X)
    assert_close(layer.transform(X), expected_transform(layer, X))


@pytest.mark.parametrize("padding", ["same", 1])
def test_patch_normalisation_with_padding_sees_zero_padded_fields(padding):
    X = data((3, 2, 7, 6), scale=10.0, offset=3.0)
    layer = ConvLayer(4, 3, normalize="patch", padding=padding, nonlinearity=None,
                      n_patches=300, random_state=0).fit(X)
    assert_close(layer.transform(X), expected_transform(layer, X))


def test_patch_normalised_border_response_is_local():
    X = data((1, 1, 7, 7), scale=10.0, offset=3.0)
    layer = ConvLayer(2, 3, normalize="patch", padding="same", nonlinearity=None,
                      n_patches=100, random_state=0).fit(X)
    far = X.copy()
    far[0, 0, 6, 6] += 50.0  # outside the receptive field of output (0, 0)
    np.testing.assert_allclose(layer.transform(far)[0, :, 0, 0],
                               layer.transform(X)[0, :, 0, 0], rtol=1e-10)


def test_triangle_float32_is_accurate_on_data_with_an_offset():
    X = 1000 + np.random.default_rng(0).random((3, 1, 8, 8))
    layer = ConvLayer(4, 3, kernels="kmeans", nonlinearity="triangle", n_patches=300,
                      random_state=0).fit(X)
    f64 = layer.transform(X)
    assert_close(f64, expected_transform(layer, X))
    f32 = layer.transform(X.astype(np.float32))
    np.testing.assert_allclose(f32, f64, atol=1e-3 * np.abs(f64).max())


def test_preprocessing_statistics_come_from_the_sampled_patches():
    X = data((5, 2, 8, 8), scale=255.0, offset=0.0)
    layer = ConvLayer(3, 3, normalize="patch", whiten=True, n_patches=500,
                      norm_epsilon=0.05, whiten_epsilon=0.2, random_state=3).fit(X)
    rows = sampled_rows(X, 3, 1, 500, np.random.RandomState(3))
    epsilon = 0.05 * rows.var(axis=1, ddof=1).mean()
    assert layer.norm_epsilon_ == pytest.approx(epsilon, rel=1e-12)
    normed = ((rows - rows.mean(axis=1, keepdims=True))
              / np.sqrt(rows.var(axis=1, ddof=1, keepdims=True) + epsilon))
    eigenvalues, vectors = np.linalg.eigh(np.cov(normed, rowvar=False))
    # "relative to the mean eigenvalue": up to the n vs n - 1 of the variance
    whiten_eps = layer.whitener_.epsilon
    assert whiten_eps == pytest.approx(0.2 * eigenvalues.mean(), rel=3 / 500)
    whitening = (vectors / np.sqrt(np.maximum(eigenvalues, 0) + whiten_eps)) @ vectors.T
    np.testing.assert_allclose(layer.whitener_.mean_, normed.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(layer.whitener_.whitening_, whitening, rtol=1e-8,
                               atol=1e-10)


def test_norm_epsilon_is_relative_to_the_input_scale():
    X = data((4, 1, 8, 8))
    small = ConvLayer(3, 3, normalize="patch", n_patches=200, random_state=0).fit(X)
    large = ConvLayer(3, 3, normalize="patch", n_patches=200, random_state=0).fit(X * 100)
    assert large.norm_epsilon_ == pytest.approx(1e4 * small.norm_epsilon_, rel=1e-10)
    np.testing.assert_allclose(large.transform(X * 100), small.transform(X),
                               rtol=1e-8, atol=1e-10)


def test_patch_normalisation_ignores_brightness_and_contrast():
    X = data((3, 2, 8, 8))
    layer = ConvLayer(4, 3, kernels="pca", normalize="patch", norm_epsilon=1e-9,
                      n_patches=300, random_state=0).fit(X)
    np.testing.assert_allclose(layer.transform(3 * X + 7), layer.transform(X),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("whiten", [False, True])
def test_triangle_counts_kernels_closer_than_average(whiten):
    X = data((3, 1, 9, 9))
    layer = ConvLayer(6, 3, kernels="kmeans", normalize="patch", whiten=whiten,
                      nonlinearity="triangle", n_patches=400, random_state=0).fit(X)
    out = layer.transform(X)
    assert np.all(out >= 0)
    # at every position some kernel is at most the mean distance away, and
    # some kernel (the farthest) gets exactly 0
    assert np.all(out.min(axis=1) == 0)
    assert np.all(out.max(axis=1) > 0)


# --------------------------------------------------------------------------
# 4. output_shape, dtypes, determinism
# --------------------------------------------------------------------------


def conv_out_size(n, k, s, d, padding):
    e = d * (k - 1) + 1
    if padding == "same":
        return -(-n // s)
    pad = {"valid": 0, "full": 2 * (e - 1)}.get(padding, None)
    pad = 2 * padding if pad is None else pad
    return (n + pad - e) // s + 1 if n + pad >= e else None


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_output_shape_equals_transform_shape(draw_from):
    draw = draw_from.draw
    n = draw(st.sampled_from([1, 2]))
    spatial = tuple(draw(st.integers(1, 9)) for _ in range(n))
    channels = draw(st.integers(1, 2))
    size = tuple(draw(st.integers(1, 4)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n))
    padding = draw(st.one_of(st.sampled_from(["valid", "same", "full"]),
                             st.integers(0, 2)))
    nonlinearity = draw(st.sampled_from(["relu", "split_sign"]))
    pool_kind = draw(st.sampled_from(["none", "pair", "dict"]))
    psize = tuple(draw(st.integers(1, 3)) for _ in range(n))
    mode = draw(st.sampled_from(["max", "avg", "sum", "l2"]))
    if pool_kind == "none":
        pool, pstride, ppad = None, None, None
    elif pool_kind == "pair":
        pool, pstride, ppad = (mode, psize), psize, (0,) * n
    else:
        pstride = tuple(draw(st.integers(1, 3)) for _ in range(n))
        ppad = tuple(draw(st.integers(0, k - 1)) for k in psize)
        pool = {"mode": mode, "size": psize, "stride": pstride, "padding": ppad}

    conv = [conv_out_size(m, k, s, d, padding)
            for m, k, s, d in zip(spatial, size, stride, dilation)]
    expected = None
    if None not in conv:
        out = conv
        if pool is not None:
            out = [(m + 2 * p - k) // s + 1 if m + 2 * p >= k else None
                   for m, k, s, p in zip(conv, psize, pstride, ppad)]
        if None not in out:
            expected = (3 * (2 if nonlinearity == "split_sign" else 1),) + tuple(out)

    layer = ConvLayer(3, size, stride=stride, padding=padding, dilation=dilation,
                      nonlinearity=nonlinearity, pool=pool, random_state=0)
    X = data((2, channels) + spatial)
    event("rejected" if expected is None else "valid")
    if expected is None:
        with pytest.raises(ValueError, match="size|pool"):
            layer.output_shape((channels,) + spatial)
        with pytest.raises(ValueError, match="size|pool"):
            layer.fit(X)
        return
    assert layer.output_shape((channels,) + spatial) == expected
    out = layer.fit(X).transform(X)
    assert out.shape == (2,) + expected
    assert layer.output_shape_ == expected


def test_output_shape_needs_no_fit_and_no_data_for_learned_kernels():
    layer = ConvLayer(16, 5, kernels="kmeans", whiten=True, pool=("max", 2))
    assert layer.output_shape((3, 32, 32)) == (16, 14, 14)
    assert ConvLayer(kernels="gabor", size=7).output_shape((1, 9, 9)) == (48, 3, 3)
    assert ConvLayer(kernels="edges", padding="same").output_shape([2, 9, 9]) == (4, 9, 9)
    bank = np.zeros((7, 2, 3))
    assert ConvLayer(kernels=bank, nonlinearity="split_sign").output_shape((2, 10)) \
        == (14, 8)


DTYPE_CONFIGS = [
    {},
    {"nonlinearity": "sigmoid", "pool": ("l2", 2), "normalize": "lcn"},
    {"nonlinearity": "split_sign", "padding": "same", "stride": 2},
    {"kernels": "gabor", "n_kernels": 6, "nonlinearity": "soft_threshold"},
    {"kernels": "edges", "nonlinearity": "tanh"},
    {"kernels": "kmeans", "normalize": "patch", "whiten": True,
     "nonlinearity": "triangle", "pool": {"mode": "avg", "size": 2, "stride": 1}},
    {"kernels": "pca", "whiten": True, "nonlinearity": "abs"},
    {"kernels": "patches", "normalize": "patch", "nonlinearity": "triangle"},
    {"kernels": lambda n, c, s, rng: np.ones((n, c) + s, dtype=np.float32)},
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", DTYPE_CONFIGS)
def test_dtype_is_preserved(kw, dtype):
    kw = {"n_kernels": 4, "size": 3, "n_patches": 200, "random_state": 0, **kw}
    X = data((3, 2, 9, 9), dtype=dtype)
    layer = ConvLayer(**kw).fit(X)
    out = layer.transform(X)
    assert out.dtype == dtype
    assert layer.kernels_.dtype == layer.offsets_.dtype == layer.bank_.dtype == dtype
    assert np.all(np.isfinite(out))
    # data of the other float dtype keeps its own dtype
    other = np.float32 if dtype == np.float64 else np.float64
    assert layer.transform(X.astype(other)).dtype == other


def test_integer_and_bool_input_become_float64():
    X = np.random.default_rng(0).integers(0, 10, (2, 1, 6, 6))
    layer = ConvLayer(2, 3, random_state=0).fit(X)
    assert layer.transform(X).dtype == np.float64
    np.testing.assert_array_equal(layer.transform(X), layer.transform(X.astype(float)))
    assert layer.transform(X > 4).dtype == np.float64


@pytest.mark.parametrize("kw", [
    {"kernels": "random"},
    {"kernels": "kmeans", "whiten": True},
    {"kernels": "pca", "normalize": "patch"},
    {"kernels": "patches"},
    {"kernels": lambda n, c, s, rng: rng.standard_normal((n, c) + s)},
    {"kernels": "random", "normalize": "patch", "whiten": True},
])
def test_same_seed_same_layer_other_seed_other_layer(kw):
    X = data((4, 2, 8, 8))
    kw = {"n_kernels": 4, "size": 3, "n_patches": 200, **kw}
    a = ConvLayer(random_state=5, **kw).fit(X)
    b = ConvLayer(random_state=5, **kw).fit(X)
    c = ConvLayer(random_state=6, **kw).fit(X)
    np.testing.assert_array_equal(a.kernels_, b.kernels_)
    np.testing.assert_array_equal(a.offsets_, b.offsets_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert not np.allclose(a.kernels_, c.kernels_)
    assert not np.allclose(a.transform(X), c.transform(X))
    # refitting the same estimator reproduces it too
    np.testing.assert_array_equal(a.fit(X).kernels_, b.kernels_)


def test_random_state_instance_is_used_as_is():
    X = data((2, 1, 6, 6))
    by_seed = ConvLayer(3, 3, random_state=8).fit(X)
    by_instance = ConvLayer(3, 3, random_state=np.random.RandomState(8)).fit(X)
    np.testing.assert_array_equal(by_instance.kernels_, by_seed.kernels_)
    shared = np.random.RandomState(8)
    first = ConvLayer(3, 3, random_state=shared).fit(X).kernels_
    second = ConvLayer(3, 3, random_state=shared).fit(X).kernels_
    assert not np.allclose(first, second)  # the instance's stream moves on


def test_designed_kernels_ignore_the_seed():
    X = data((2, 1, 7, 7))
    for kernels in ("gabor", "edges"):
        a = ConvLayer(kernels=kernels, size=3, random_state=0).fit(X)
        b = ConvLayer(kernels=kernels, size=3, random_state=1).fit(X)
        np.testing.assert_array_equal(a.kernels_, b.kernels_)


def test_clone_and_params_round_trip_and_n_params():
    layer = ConvLayer(4, 3, kernels="kmeans", whiten=True, pool=("max", 2),
                      n_patches=200, random_state=0)
    copy = clone(layer)
    assert copy.get_params() == layer.get_params()
    X = data((3, 2, 8, 8))
    layer.fit(X)
    assert layer.n_params_ == 4 * 2 * 9 + 4  # kernels and offsets
    assert ConvLayer(4, 3, random_state=0).fit(X).n_params_ == 4 * 2 * 9
    assert PoolLayer().fit(X).n_params_ == 0
    assert not hasattr(copy, "kernels_")


# --------------------------------------------------------------------------
# 5. backends: the CuPy path must never see a host array
# --------------------------------------------------------------------------


def _device_kernels(n, c, size, rng):
    return rng.standard_normal((n, c) + tuple(size))


BACKEND_CONFIGS = [
    ((3, 2, 9, 8), {"pool": ("max", 2), "nonlinearity": "abs", "padding": "same"}),
    ((3, 2, 9, 9), {"kernels": "gabor", "n_kernels": 6, "normalize": "lcn"}),
    ((3, 2, 9, 8), {"kernels": "edges", "padding": 1, "nonlinearity": "split_sign"}),
    ((3, 2, 9, 8), {"kernels": "pca", "whiten": True, "stride": 2}),
    ((3, 2, 9, 8), {"kernels": "patches", "normalize": "patch", "nonlinearity": "triangle",
                    "dilation": 2}),
    ((3, 2, 9, 8), {"kernels": "kmeans", "whiten": True, "normalize": "patch",
                    "nonlinearity": "triangle", "kernel_params": {"solver": "featurelab"},
                    "pool": {"mode": "avg", "size": 2, "stride": 1}}),
    ((3, 2, 9, 8), {"kernels": np.random.default_rng(0).standard_normal((3, 2, 2, 3)),
                    "n_kernels": None}),
    ((3, 2, 9, 8), {"kernels": _device_kernels, "whiten": True, "nonlinearity": "sigmoid"}),
    ((4, 2, 14), {"padding": "full", "pool": ("l2", 2), "nonlinearity": "triangle"}),
    ((4, 2, 14), {"kernels": "kmeans", "normalize": "patch",
                  "kernel_params": {"solver": "featurelab"}, "stride": 2}),
]


def _on_backend(array, backend):
    module = type(array).__module__.split(".")[0]
    return module == ("numpy" if backend.name == "numpy" else "cupy")


@pytest.mark.parametrize("shape,kw", BACKEND_CONFIGS)
def test_conv_layer_on_each_backend_matches_numpy(backend, shape, kw):
    kw = {"n_kernels": 3, "size": 3, "n_patches": 150, "random_state": 0, **kw}
    X = data(shape)
    ref = ConvLayer(**kw).fit(X)
    layer = ConvLayer(**kw).fit(backend.asarray(X))
    for name in ("kernels_", "offsets_", "bank_"):
        assert _on_backend(getattr(layer, name), backend)
        np.testing.assert_allclose(backend.to_numpy(getattr(layer, name)),
                                   getattr(ref, name), rtol=1e-9, atol=1e-12)
    out = layer.transform(backend.asarray(X))
    assert _on_backend(out, backend)
    assert out.dtype == np.float64
    np.testing.assert_allclose(backend.to_numpy(out), ref.transform(X),
                               rtol=1e-9, atol=1e-10)


def test_pool_and_function_layers_on_each_backend(backend):
    X = data((2, 3, 7, 8))
    got = PoolLayer(3, mode="l2", stride=2, padding=1).fit(backend.asarray(X))
    out = got.transform(backend.asarray(X))
    assert _on_backend(out, backend)
    np.testing.assert_allclose(backend.to_numpy(out), brute_pool(X, "l2", 3, 2, 1),
                               rtol=1e-12)
    layer = FunctionLayer(local_contrast_normalize, kw_args={"sigma": 2.0})
    out = layer.fit(backend.asarray(X)).transform(backend.asarray(X))
    assert _on_backend(out, backend)
    np.testing.assert_allclose(backend.to_numpy(out),
                               local_contrast_normalize(X, sigma=2.0), rtol=1e-10,
                               atol=1e-12)


def test_transform_on_another_backend_names_it(strict_cupy):
    X = data((3, 1, 7, 7))
    layer = ConvLayer(2, 3, random_state=0).fit(strict_cupy.asarray(X))
    with pytest.raises(TypeError, match="fitted on"):
        layer.transform(X)


# --------------------------------------------------------------------------
# 6. PoolLayer and FunctionLayer
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["max", "avg", "sum", "l2"])
@pytest.mark.parametrize("shape,kw", [
    ((2, 3, 9, 8), {"size": 2}),
    ((2, 3, 9, 8), {"size": (3, 2), "stride": (2, 1), "padding": (1, 0)}),
    ((2, 3, 9, 8), {"size": 2, "stride": 3}),
    ((2, 2, 13), {"size": 3, "stride": 2, "padding": 2}),
    ((2, 2, 13), {"size": (4,)}),
])
def test_pool_layer_equals_brute_pool(mode, shape, kw):
    X = data(shape, offset=-2.0)
    layer = PoolLayer(mode=mode, **kw).fit(X)
    size = kw["size"]
    stride = kw.get("stride", size)
    expected = brute_pool(X, mode, size, stride, kw.get("padding", 0))
    got = layer.transform(X)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert got.shape[1:] == layer.output_shape_ == layer.output_shape(shape[1:])
    assert layer.input_shape_ == shape[1:]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool_layer_default_is_2x2_max_and_keeps_dtype(dtype):
    X = data((2, 2, 7, 6), dtype=dtype)
    got = PoolLayer().fit_transform(X)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, block_reduce(X[:, :, :6, :6], (1, 1, 2, 2), np.max))


def test_function_layer_applies_func_with_kw_args():
    def crop_and_scale(x, factor=1.0):
        return x[:, :1, 1:, ::2] * factor

    X = data((3, 2, 7, 8))
    layer = FunctionLayer(crop_and_scale, kw_args={"factor": 3.0}).fit(X)
    assert layer.output_shape_ == (1, 6, 4)
    assert layer.output_shape((2, 7, 8)) == (1, 6, 4)
    assert layer.output_shape((2, 5, 5)) == (1, 4, 3)
    np.testing.assert_array_equal(layer.transform(X), X[:, :1, 1:, ::2] * 3.0)
    layer1d = FunctionLayer(np.abs).fit(data((2, 3, 5), offset=-2))
    assert layer1d.output_shape_ == (3, 5)


def test_function_layer_changing_dimensionality():
    def to_1d(x):
        return x.reshape(x.shape[0], x.shape[1], -1)

    X = data((2, 3, 4, 5))
    layer = FunctionLayer(to_1d).fit(X)
    assert layer.output_shape_ == (3, 20)
    assert layer.transform(X).shape == (2, 3, 20)


@pytest.mark.parametrize("func,kw_args,exc,match", [
    (5, None, TypeError, "^func must be callable"),
    ("abs", None, TypeError, "^func must be callable"),
    (np.abs, [1], TypeError, "^kw_args must be a dict"),
    (lambda x: x.reshape(len(x), -1), None, ValueError, "^func must return a batch"),
    (lambda x: list(x), None, ValueError, "^func must return a batch"),
    (lambda x: x[..., None, None], None, ValueError, "^func must return a batch"),
    (lambda x: x.sum(), None, ValueError, "^func must return a batch"),
])
def test_function_layer_bad_func(func, kw_args, exc, match):
    with pytest.raises(exc, match=match):
        FunctionLayer(func, kw_args=kw_args).fit(data((3, 2, 5, 5)))


def test_function_layer_wrong_sample_count_is_caught_at_transform():
    layer = FunctionLayer(lambda x: x[:1]).fit(data((3, 2, 5, 5)))
    with pytest.raises(ValueError, match="^func must return a batch .* n_samples=3"):
        layer.transform(data((3, 2, 5, 5)))


# --------------------------------------------------------------------------
# 7. bad input
# --------------------------------------------------------------------------

IMAGES = (3, 1, 8, 8)
SIGNALS = (3, 2, 12)


def _wrong_shape_kernels(n, c, size, rng):
    return np.zeros((n + 1, c) + tuple(size))


def _string_kernels(n, c, size, rng):
    return "kernels"


BAD_PARAMS = [
    ({"n_kernels": 0}, IMAGES, ValueError, "^n_kernels must be >= 1"),
    ({"n_kernels": -3}, IMAGES, ValueError, "^n_kernels must be >= 1"),
    ({"n_kernels": 1.5}, IMAGES, TypeError, "^n_kernels must be an int"),
    ({"n_kernels": True}, IMAGES, TypeError, "^n_kernels must be an int"),
    ({"n_kernels": "4"}, IMAGES, TypeError, "^n_kernels must be an int"),
    ({"size": 0}, IMAGES, ValueError, "^size must be >= 1"),
    ({"size": 1.5}, IMAGES, TypeError, "^size must be an int"),
    ({"size": (3, 3, 3)}, IMAGES, ValueError, "^size must be an int or a tuple of 2"),
    ({"size": (3,)}, IMAGES, ValueError, "^size must be"),
    ({"size": (3, 3)}, SIGNALS, ValueError, "^size must be"),
    ({"kernels": "foo"}, IMAGES, ValueError, "^kernels must be one of"),
    ({"kernels": None}, IMAGES, TypeError, "^kernels must be one of"),
    ({"kernels": 5}, IMAGES, TypeError, "^kernels must be one of"),
    ({"kernels": np.zeros((3, 2, 3, 3)), "n_kernels": None}, IMAGES, ValueError,
     r"^kernels must have shape \(n_kernels, 1, \*size\)"),
    ({"kernels": np.zeros((3, 1, 3)), "n_kernels": None}, IMAGES, ValueError,
     "^kernels must be a 4-D array"),
    ({"kernels": np.zeros((0, 1, 3, 3)), "n_kernels": None}, IMAGES, ValueError,
     "^kernels must have shape"),
    ({"kernels": np.zeros((3, 1, 3, 3)), "n_kernels": 2}, IMAGES, ValueError,
     "^n_kernels=2 disagrees with the 3 kernels"),
    ({"kernels": np.zeros((3, 1, 3, 3), complex), "n_kernels": None}, IMAGES, TypeError,
     "^kernels must have a real numeric dtype"),
    ({"kernels": _wrong_shape_kernels}, IMAGES, ValueError,
     r"^kernels callable must return an array of shape \(4, 1, 3, 3\)"),
    ({"kernels": _wrong_shape_kernels, "size": 4}, SIGNALS, ValueError,
     r"^kernels callable must return an array of shape \(4, 2, 4\)"),
    ({"kernels": _string_kernels}, IMAGES, TypeError, "^kernels must have a real"),
    ({"kernels": "gabor", "n_kernels": None}, SIGNALS, ValueError,
     "^kernels='gabor' makes 2-D kernels"),
    ({"kernels": "edges", "n_kernels": None}, SIGNALS, ValueError,
     "^kernels='edges' makes 2-D kernels"),
    ({"kernels": "gabor", "n_kernels": 7}, IMAGES, ValueError,
     "^n_kernels for kernels='gabor' must be a multiple of .* = 6"),
    ({"kernels": "gabor", "n_kernels": 4, "kernel_params": {"phases": (0,)}}, IMAGES,
     ValueError, "^n_kernels for kernels='gabor' must be a multiple of .* = 3"),
    ({"kernels": "gabor", "n_kernels": 12, "kernel_params": {"n_orientations": 2}},
     IMAGES, ValueError, "^n_kernels for kernels='gabor'"),
    ({"kernels": "gabor", "n_kernels": 6, "size": (3, 5)}, IMAGES, ValueError,
     "^size must be square"),
    ({"kernels": "gabor", "n_kernels": 6, "size": 4}, IMAGES, ValueError,
     "^size must be odd"),
    ({"stride": 0}, IMAGES, ValueError, "^stride must be >= 1"),
    ({"stride": 1.0}, IMAGES, TypeError, "^stride must be an int"),
    ({"stride": (1, 2, 3)}, IMAGES, ValueError, "^stride must be an int or a tuple"),
    ({"padding": "foo"}, IMAGES, ValueError, "^padding must be one of"),
    ({"padding": -1}, IMAGES, ValueError, "^padding must be >= 0"),
    ({"padding": 1.5}, IMAGES, TypeError, "^padding must be"),
    ({"padding": (1, 2, 3)}, IMAGES, ValueError, "^padding must be"),
    ({"padding": ((1, 2, 3), 0)}, IMAGES, TypeError, "^padding must be"),
    ({"dilation": 0}, IMAGES, ValueError, "^dilation must be >= 1"),
    ({"dilation": 1.5}, IMAGES, TypeError, "^dilation must be an int"),
    ({"size": 9}, IMAGES, ValueError, r"^size: kernels of dilated size \(9, 9\) .*do not fit"),
    ({"size": 3, "dilation": 4}, IMAGES, ValueError, r"^size: kernels of dilated size \(9, 9\)"),
    ({"size": 13}, SIGNALS, ValueError, r"^size: kernels of dilated size \(13,\)"),
    ({"size": 9, "padding": "same", "kernels": "pca"}, IMAGES, ValueError,
     "^size: patches of dilated size"),
    ({"size": 9, "padding": "full", "whiten": True}, IMAGES, ValueError,
     "^size: patches of dilated size"),
    ({"nonlinearity": "foo"}, IMAGES, ValueError, "^nonlinearity must be one of"),
    ({"nonlinearity": 5}, IMAGES, ValueError, "^nonlinearity must be one of"),
    ({"pool": ("max",)}, IMAGES, TypeError, r"^pool must be None, a \(mode, size\) pair"),
    ({"pool": "max"}, IMAGES, TypeError, "^pool must be None"),
    ({"pool": 2}, IMAGES, TypeError, "^pool must be None"),
    ({"pool": (2, "max")}, IMAGES, TypeError, "^pool must be None"),
    ({"pool": ("max", 2, 1)}, IMAGES, TypeError, "^pool must be None"),
    ({"pool": {"mode": "max"}}, IMAGES, ValueError, "^pool dict needs a 'size'"),
    ({"pool": {"size": 2, "strides": 1}}, IMAGES, ValueError,
     r"^pool dict keys must be among .* unknown \['strides'\]"),
    ({"pool": ("foo", 2)}, IMAGES, ValueError, "^pool mode must be one of"),
    ({"pool": {"mode": "median", "size": 2}}, IMAGES, ValueError, "^pool mode must be"),
    ({"pool": ("max", 0)}, IMAGES, ValueError, "^pool size must be >= 1"),
    ({"pool": ("max", (2, 2, 2))}, IMAGES, ValueError, "^pool size must be"),
    ({"pool": {"size": 2, "stride": 0}}, IMAGES, ValueError, "^pool stride must be >= 1"),
    ({"pool": {"size": 2, "padding": -1}}, IMAGES, ValueError, "^pool padding must be >= 0"),
    ({"pool": ("max", 7)}, IMAGES, ValueError,
     r"^pool: pooling windows of size \(7, 7\) do not fit .* \(6, 6\)"),
    ({"pool": ("max", 11)}, SIGNALS, ValueError, "^pool: pooling windows"),
    ({"normalize": "foo"}, IMAGES, ValueError, "^normalize must be one of"),
    ({"normalize": True}, IMAGES, ValueError, "^normalize must be one of"),
    ({"whiten": "yes"}, IMAGES, TypeError, "^whiten must be True or False"),
    ({"whiten": 1}, IMAGES, TypeError, "^whiten must be True or False"),
    ({"n_patches": 0, "kernels": "pca"}, IMAGES, ValueError, "^n_patches must be >= 1"),
    ({"n_patches": 0, "whiten": True}, IMAGES, ValueError, "^n_patches must be >= 1"),
    ({"n_patches": 10.0, "normalize": "patch"}, IMAGES, TypeError,
     "^n_patches must be an int"),
    ({"norm_epsilon": -1, "normalize": "patch"}, IMAGES, ValueError,
     "^norm_epsilon must be a finite real number > 0"),
    ({"norm_epsilon": 0, "normalize": "patch"}, IMAGES, ValueError, "^norm_epsilon must"),
    ({"norm_epsilon": float("inf"), "normalize": "patch"}, IMAGES, ValueError,
     "^norm_epsilon must"),
    ({"norm_epsilon": "1", "normalize": "patch"}, IMAGES, TypeError, "^norm_epsilon must"),
    ({"whiten_epsilon": 0, "whiten": True}, IMAGES, ValueError,
     "^whiten_epsilon must be a finite real number > 0"),
    ({"whiten_epsilon": float("nan"), "whiten": True}, IMAGES, ValueError,
     "^whiten_epsilon must"),
    ({"kernel_params": "abc"}, IMAGES, TypeError, "^kernel_params must be a dict or None"),
    ({"kernel_params": ("distribution", "normal")}, IMAGES, TypeError,
     "^kernel_params must be a dict"),
    ({"kernel_params": {"foo": 1}}, IMAGES, TypeError, "foo"),
    ({"kernel_params": {"distribution": "cauchy"}}, IMAGES, ValueError,
     "^distribution must be one of"),
    ({"kernels": "kmeans", "kernel_params": {"solver": "magic"}}, IMAGES, ValueError,
     "^solver must be one of"),
    ({"normalize": "patch", "size": 1}, IMAGES, ValueError,
     "^normalize='patch' needs receptive fields of at least 2 values"),
    ({"normalize": "patch", "size": 1}, (3, 1, 5), ValueError, "^normalize='patch' needs"),
    ({"kernels": "kmeans", "n_patches": 3}, IMAGES, ValueError,
     "^n_kernels must be <= n_patches, got n_kernels=4 and n_patches=3"),
    ({"kernels": "patches", "n_patches": 3}, IMAGES, ValueError,
     "^n_kernels must be <= n_patches"),
    ({"kernels": "pca", "n_kernels": 9}, IMAGES, ValueError,
     r"^n_kernels must be <= C \* prod\(size\) - 1 = 8, got 9"),
    ({"kernels": "pca", "n_kernels": None}, IMAGES, ValueError, "^n_kernels must be <="),
]


@pytest.mark.parametrize("kw,shape,exc,match", BAD_PARAMS)
def test_conv_layer_bad_parameters(kw, shape, exc, match):
    kw = {"n_kernels": 4, "size": 3, "n_patches": 50, "random_state": 0, **kw}
    with pytest.raises(exc, match=match):
        ConvLayer(**kw).fit(data(shape))


def _checked_without_data(case):
    """Errors that output_shape must raise too (the others come from making
    the kernels or sampling patches, which only fit does)."""
    kw, _, _, match = case
    made_in_fit = ("n_patches", "norm_epsilon", "whiten_epsilon", "kernel_params")
    return not (any(key in kw for key in made_in_fit)
                or callable(kw.get("kernels"))
                or (isinstance(kw.get("kernels"), str) and kw["kernels"] == "pca")
                or "patches of dilated size" in match
                or "size must be square" in match or "size must be odd" in match)


@pytest.mark.parametrize("kw,shape,exc,match",
                         [case for case in BAD_PARAMS if _checked_without_data(case)])
def test_output_shape_validates_the_same_parameters(kw, shape, exc, match):
    kw = {"n_kernels": 4, "size": 3, **kw}
    with pytest.raises(exc, match=match):
        ConvLayer(**kw).output_shape(shape[1:])


@pytest.mark.parametrize("make", [
    lambda: ConvLayer(2, 3, pool={"size": 2, "padding": 2}, random_state=0),
    lambda: PoolLayer(2, padding=2),
])
def test_pool_padding_not_smaller_than_window_is_rejected_at_fit(make):
    with pytest.raises(ValueError, match="padding"):
        make().fit(data(IMAGES))


@pytest.mark.parametrize("kw,exc,match", [
    ({"size": 0}, ValueError, "size must be >= 1"),
    ({"size": 2.0}, TypeError, "size must be an int"),
    ({"size": 9}, ValueError, r"^size: pooling windows of size \(9, 9\) do not fit"),
    ({"size": (2, 2, 2)}, ValueError, "size must be"),
    ({"mode": "foo"}, ValueError, "mode must be one of"),
    ({"mode": None}, ValueError, "mode must be one of"),
    ({"stride": 0}, ValueError, "stride must be >= 1"),
    ({"padding": -1}, ValueError, "padding must be >= 0"),
    ({"padding": "same"}, TypeError, "padding must be an int"),
])
def test_pool_layer_bad_parameters(kw, exc, match):
    with pytest.raises(exc, match=match):
        PoolLayer(**kw).fit(data(IMAGES))


@pytest.mark.parametrize("X,exc,match", [
    (np.zeros((3, 64)), ValueError, r"^X must be a 3 or 4-D array .* \(3, 64\)"),
    (np.zeros(5), ValueError, "^X must be a 3 or 4-D array"),
    (np.zeros((2, 1, 4, 4, 4)), ValueError, "^X must be a 3 or 4-D array"),
    (np.zeros((2, 1, 0, 4)), ValueError, "^X must have at least one sample on every"),
    (np.zeros((2, 1, 5, 5), complex), TypeError, "^X must have a real numeric dtype"),
    (np.array([["a"]]), TypeError, "^X must have a real numeric dtype"),
])
@pytest.mark.parametrize("make", [lambda: ConvLayer(2, 1), PoolLayer,
                                  lambda: FunctionLayer(np.abs)])
def test_bad_X_at_fit(make, X, exc, match):
    with pytest.raises(exc, match=match):
        make().fit(X)


@pytest.mark.parametrize("make", [
    lambda: ConvLayer(2, 3, random_state=0),
    lambda: ConvLayer(2, 3, kernels="kmeans", normalize="patch", n_patches=50,
                      random_state=0),
    PoolLayer,
    lambda: FunctionLayer(np.abs),
])
def test_bad_X_at_transform(make):
    X = data((3, 2, 8, 8))
    layer = make()
    with pytest.raises(NotFittedError):
        layer.transform(X)
    layer.fit(X)
    with pytest.raises(ValueError, match=r"^X has samples of shape \(1, 8, 8\), but "
                                         r"\w+ was fitted on samples of shape \(2, 8, 8\)"):
        layer.transform(X[:, :1])
    with pytest.raises(ValueError, match=r"^X has samples of shape \(2, 8, 7\)"):
        layer.transform(X[..., :7])
    with pytest.raises(ValueError, match="^X must be a 3 or 4-D array"):
        layer.transform(X[0, 0])
    with pytest.raises(ValueError, match="^X must be a 3 or 4-D array"):
        layer.transform(X[None])
    with pytest.raises(ValueError, match=r"^X has samples of shape \(2, 64\)"):
        layer.transform(X.reshape(3, 2, 64))


def test_n_params_before_fit_is_not_fitted():
    with pytest.raises(NotFittedError):
        _ = ConvLayer(2, 3).n_params_


def test_fitting_patches_from_an_empty_batch_fails_clearly():
    with pytest.raises(ValueError, match="at least one sample"):
        ConvLayer(2, 3, whiten=True).fit(np.zeros((0, 1, 6, 6)))


def test_failed_fit_leaves_the_layer_unfitted():
    layer = ConvLayer(0, 3)
    with pytest.raises(ValueError, match="n_kernels"):
        layer.fit(data(IMAGES))
    layer.set_params(n_kernels=2)
    with pytest.raises(NotFittedError):
        layer.transform(data(IMAGES))


# --------------------------------------------------------------------------
# 7. weight sharing (tiled, locally connected) and ChannelPoolLayer
# --------------------------------------------------------------------------


def expected_unshared(layer, x):
    """The stage with one bank per tile or position: every receptive field
    preprocessed by hand and dotted with (or compared to) the rows of
    ``bank_`` that belong to its position's bank."""
    x = np.asarray(x, np.float64)
    n = x.ndim - 2
    size = tuple(layer.kernels_.shape[-n:])
    stride, dilation = as_tuple(layer.stride, n), as_tuple(layer.dilation, n)
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, size))
    pads = reference_pads(layer.padding, x.shape[2:], extents, stride)
    fields = preprocess(layer, receptive_fields(x, size, stride, dilation, pads))
    out = fields.shape[1:-1]
    tile = as_tuple(layer.tile, n) if layer.sharing == "tiled" else out
    n_kernels = layer.kernels_.shape[n]
    banks = np.asarray(layer.bank_, np.float64).reshape(tile + (n_kernels, -1))
    resp = np.empty((x.shape[0], n_kernels) + out)
    for pos in np.ndindex(*out):
        bank = banks[tuple(p % t for p, t in zip(pos, tile))]
        f = fields[(slice(None),) + pos]
        if layer.nonlinearity == "triangle":
            z = np.sqrt(((f[:, None, :] - bank) ** 2).sum(axis=-1))
            r = np.maximum(z.mean(axis=-1, keepdims=True) - z, 0)
        else:
            r = NONLIN[layer.nonlinearity](f @ bank.T)
        resp[(slice(None), slice(None)) + pos] = r
    if layer.pool is not None:
        resp = brute_pool(resp, *pool_spec(layer.pool))
    return resp


SHARING_GEOMETRIES = [
    ((3, 2, 9, 8), (3, 2), {"padding": 1, "tile": (2, 3)}),
    ((3, 2, 9, 8), 3, {"stride": 2, "dilation": (1, 2), "tile": 2,
                       "pool": ("max", 2)}),
    ((4, 1, 17), 4, {"padding": "same", "tile": 3, "stride": 2}),
]


@pytest.mark.parametrize("sharing", ["tiled", "local"])
@pytest.mark.parametrize("nonlinearity", ["relu", "triangle"])
@pytest.mark.parametrize("normalize,whiten", [(None, False), ("patch", False),
                                              (None, True), ("patch", True)])
@pytest.mark.parametrize("shape,size,kw", SHARING_GEOMETRIES)
def test_unshared_banks_equal_per_position_receptive_field_dots(shape, size, kw, sharing,
                                                                normalize, whiten,
                                                                nonlinearity):
    X = data(shape)
    layer = ConvLayer(3, size, sharing=sharing, normalize=normalize, whiten=whiten,
                      nonlinearity=nonlinearity, n_patches=300, random_state=0,
                      **kw).fit(X)
    assert_close(layer.transform(X), expected_unshared(layer, X))
    assert layer.transform(X).shape == (shape[0],) + layer.output_shape(shape[1:])


def test_bank_shapes_and_parameter_counts():
    X = data((3, 2, 9, 8))
    shared = ConvLayer(4, 3, whiten=True, n_patches=200, random_state=0).fit(X)
    tiled = ConvLayer(4, 3, sharing="tiled", tile=(2, 3), whiten=True, n_patches=200,
                      random_state=0).fit(X)
    local = ConvLayer(4, 3, sharing="local", whiten=True, n_patches=200,
                      random_state=0).fit(X)
    assert shared.kernels_.shape == (4, 2, 3, 3) and shared.offsets_.shape == (4,)
    assert tiled.kernels_.shape == (2, 3, 4, 2, 3, 3) and tiled.offsets_.shape == (2, 3, 4)
    assert local.kernels_.shape == (7, 6, 4, 2, 3, 3) and local.offsets_.shape == (7, 6, 4)
    per_bank = 4 * (2 * 9 + 1)  # weights and one offset per kernel (whitened)
    assert (shared.n_params_, tiled.n_params_, local.n_params_) == (
        per_bank, 6 * per_bank, 42 * per_bank)
    assert tiled.n_params_ == tiled.kernels_.size + tiled.offsets_.size
    assert local._describe_source() == "random, local, whiten"
    assert tiled._describe_source() == "random, tiled 2x3, whiten"


@pytest.mark.parametrize("kernels", ["random", "kmeans"])
def test_tile_one_is_the_shared_layer_and_full_tile_is_local(kernels):
    X = data((4, 2, 7, 6))
    kw = {"kernels": kernels, "whiten": True, "n_patches": 300, "random_state": 0}
    shared = ConvLayer(3, 3, **kw).fit(X)
    tile_one = ConvLayer(3, 3, sharing="tiled", tile=1, **kw).fit(X)
    np.testing.assert_allclose(tile_one.transform(X), shared.transform(X), rtol=1e-10)
    local = ConvLayer(3, 3, sharing="local", **kw).fit(X)
    full = ConvLayer(3, 3, sharing="tiled", tile=(5, 4), **kw).fit(X)
    np.testing.assert_allclose(full.transform(X), local.transform(X), rtol=1e-10)


def test_unshared_kmeans_banks_are_one_kmeans_of_n_banks_times_k_centroids():
    X = data((6, 1, 9, 9))
    tiled = ConvLayer(3, 3, kernels="kmeans", sharing="tiled", tile=2, n_patches=200,
                      random_state=0).fit(X)
    rows = sampled_rows(X, 3, 1, 200, np.random.RandomState(0))
    # no preprocessing: the 12 centroids are centres of those patches
    assert tiled.bank_.shape == (12, 9)
    labels = ((rows[:, None] - tiled.bank_[None]) ** 2).sum(-1).argmin(1)
    for k in range(12):
        if (labels == k).any():
            np.testing.assert_allclose(tiled.bank_[k], rows[labels == k].mean(0),
                                       rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kw,error,match", [
    ({"sharing": "tilted"}, ValueError, "sharing must be one of"),
    ({"sharing": "tiled", "tile": 9}, ValueError, r"tile must be at most .* \(7, 7\)"),
    ({"sharing": "tiled", "tile": 0}, ValueError, "tile"),
    ({"sharing": "tiled", "tile": (2, 2, 2)}, ValueError, "tile"),
    ({"sharing": "local", "kernels": "gabor"}, ValueError, "every bank would be the same"),
    ({"sharing": "tiled", "kernels": "edges"}, ValueError, "one bank per tile"),
    ({"sharing": "local", "kernels": np.ones((2, 1, 3, 3))}, ValueError,
     "one bank per position"),
])
def test_bad_sharing(kw, error, match):
    with pytest.raises(error, match=match):
        ConvLayer(**{"n_kernels": 2, "size": 3, **kw}).fit(data((2, 1, 9, 9)))


def test_unshared_layers_on_each_backend_match_numpy(backend):
    X = data((3, 2, 8, 7))
    for kw in ({"sharing": "tiled", "tile": (2, 3), "normalize": "patch"},
               {"sharing": "local", "whiten": True, "nonlinearity": "triangle"}):
        kw = {"n_kernels": 3, "size": 3, "n_patches": 150, "random_state": 0, **kw}
        ref = ConvLayer(**kw).fit(X).transform(X)
        out = ConvLayer(**kw).fit(backend.asarray(X)).transform(backend.asarray(X))
        assert _on_backend(out, backend)
        np.testing.assert_allclose(backend.to_numpy(out), ref, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("mode", ["max", "avg", "sum", "l2"])
def test_channel_pool_layer_reduces_consecutive_channels(mode, backend):
    X = data((2, 6, 5, 4))
    layer = ChannelPoolLayer(3, mode=mode).fit(backend.asarray(X))
    out = backend.to_numpy(layer.transform(backend.asarray(X)))
    groups = X.reshape(2, 2, 3, 5, 4)
    expected = {"max": groups.max(2), "avg": groups.mean(2), "sum": groups.sum(2),
                "l2": np.sqrt((groups ** 2).sum(2))}[mode]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert layer.output_shape((6, 5, 4)) == (2, 5, 4) == layer.output_shape_
    assert layer._n_params((6, 5, 4)) == 0


@pytest.mark.parametrize("kw,match", [
    ({"group_size": 4}, r"group_size must divide the number of input channels \(6\)"),
    ({"group_size": 0}, "group_size must be >= 1"),
    ({"mode": "median"}, "mode must be one of"),
])
def test_bad_channel_pool(kw, match):
    with pytest.raises(ValueError, match=match):
        ChannelPoolLayer(**kw).fit(data((2, 6, 5, 4)))


def test_pooling_over_rotated_gabor_filters_is_rotation_invariant():
    # every bar at a multiple of 45 degrees excites one orientation of the
    # bank; the max over the 8 orientation x phase channels of a frequency
    # is the same for all of them, while the orientation channels differ
    kp = {"n_orientations": 4, "frequencies": [0.2]}
    conv = ConvLayer(kernels="gabor", size=9, nonlinearity="abs", kernel_params=kp)
    bars = np.zeros((4, 1, 21, 21))
    bars[0, 0, 10, 4:17] = 1
    bars[1] = np.rot90(bars[0], axes=(1, 2))
    bars[2, 0] = np.eye(21)[::-1] * (np.abs(np.subtract.outer(np.arange(21),
                                                              np.arange(21))) < 7)
    bars[3] = np.rot90(bars[2], axes=(1, 2))
    maps = conv.fit(bars).transform(bars)
    per_orientation = maps.max(axis=(2, 3))
    assert np.ptp(per_orientation, axis=0).max() > 0.5 * per_orientation.max()
    pooled = ChannelPoolLayer(8).fit(maps).transform(maps).max(axis=(2, 3))
    np.testing.assert_allclose(pooled[1], pooled[0], rtol=1e-6)
    np.testing.assert_allclose(pooled[3], pooled[2], rtol=1e-6)
