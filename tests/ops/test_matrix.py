"""Tests for :mod:`featurelab.ops._matrix`: the convolution matrix and the
parameter / FLOP counts.

References used:

* ``conv1d`` / ``conv2d`` themselves: ``M @ x.ravel()`` must equal them;
* :func:`brute_circular`, a plain-Python loop with modular input indices,
  and ``scipy.ndimage.correlate`` / ``convolve`` with ``mode='wrap'`` for the
  periodic boundary;
* hand-computed counts, and the sizes of the arrays a layer would store.
"""

import itertools
import math

import numpy as np
import pytest
import scipy.linalg
import scipy.ndimage
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st

from featurelab.ops import (
    LAYER_KINDS,
    conv1d,
    conv2d,
    conv_matrix,
    count_flops,
    count_parameters,
    matrix_density,
)
from tests.ops._reference import HYP, as_tuple, normal, reference_pads

CONV = {1: conv1d, 2: conv2d}



# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def conv_of(x, w, **kwargs):
    """conv1d/conv2d of one sample, raveled."""
    return CONV[w.ndim - 2](x[None], w, **kwargs).ravel()


def brute_circular(x, w, stride=1, dilation=1, flip=False):
    """Periodic convolution by loops: outputs ``ceil(n / s)`` per axis,
    aligned as 'same' padding, inputs read at ``index mod n``."""
    n_spatial = x.ndim - 1
    sizes, ksize = x.shape[1:], w.shape[2:]
    stride, dilation = as_tuple(stride, n_spatial), as_tuple(dilation, n_spatial)
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ksize))
    pads = reference_pads("same", sizes, extents, stride)
    out_size = tuple(math.ceil(n / s) for n, s in zip(sizes, stride))
    y = np.zeros((w.shape[0],) + out_size)
    for k in range(w.shape[0]):
        for o in itertools.product(*(range(m) for m in out_size)):
            acc = 0.0
            for c in range(w.shape[1]):
                for t in itertools.product(*(range(m) for m in ksize)):
                    idx = tuple((o[i] * stride[i] + t[i] * dilation[i] - pads[i][0])
                                % sizes[i] for i in range(n_spatial))
                    tap = tuple(m - 1 - j for m, j in zip(ksize, t)) if flip else t
                    acc += x[(c,) + idx] * w[(k, c) + tap]
            y[(k,) + o] = acc
    return y.ravel()


def axis_pairs(size, k, stride, dilation, pad):
    """(output, tap) pairs of one axis that read a real (unpadded) input."""
    extent = dilation * (k - 1) + 1
    n_out = (size + sum(pad) - extent) // stride + 1
    return sum(0 <= o * stride + j * dilation - pad[0] < size
               for o in range(n_out) for j in range(k))


# --------------------------------------------------------------------------
# 1. M @ x equals conv1d / conv2d (zero boundary)
# --------------------------------------------------------------------------

PADDINGS = {
    1: ["valid", "same", "full", 0, 2, ((1, 3),), [(0, 2)]],
    2: ["valid", "same", "full", 1, (2, 0), ((1, 0), (0, 2))],
}


@pytest.mark.parametrize("flip", [False, True], ids=["correlate", "convolve"])
@pytest.mark.parametrize(
    "n_spatial, padding",
    [pytest.param(n, p, id=f"{n}d-{p!r}") for n in (1, 2) for p in PADDINGS[n]],
)
def test_matches_conv(n_spatial, padding, flip):
    if n_spatial == 1:
        x, w = normal((3, 11), 0), normal((4, 3, 3), 1)
        strides, dilations = [1, 2, 3], [1, 2]
    else:
        x, w = normal((2, 7, 6), 0), normal((3, 2, 3, 2), 1)
        strides, dilations = [1, 2, (1, 3)], [1, (2, 1)]
    for stride, dilation in itertools.product(strides, dilations):
        kwargs = dict(padding=padding, stride=stride, dilation=dilation, flip=flip)
        M = conv_matrix(w, x.shape, **kwargs)
        expected = conv_of(x, w, **kwargs)
        assert M.shape == (expected.size, x.size)
        np.testing.assert_allclose(M @ x.ravel(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("n_spatial", [1, 2])
def test_matrix_applies_to_a_batch_of_samples(n_spatial):
    """Columns of ``M @ X.T`` are the convolutions of each sample."""
    shape = (2, 9) if n_spatial == 1 else (2, 5, 6)
    X = normal((4,) + shape, 2)
    w = normal((3, 2) + (3,) * n_spatial, 3)
    M = conv_matrix(w, shape, padding="same", stride=2)
    y = CONV[n_spatial](X, w, padding="same", stride=2).reshape(4, -1)
    np.testing.assert_allclose((M @ X.reshape(4, -1).T).T, y, atol=1e-10)


@pytest.mark.parametrize("n_spatial", [1, 2])
def test_kernel_on_every_backend_gives_a_host_matrix(backend, n_spatial):
    shape = (2, 8) if n_spatial == 1 else (2, 5, 4)
    w = normal((3, 2) + (2,) * n_spatial, 4)
    M = conv_matrix(backend.asarray(w), shape, padding="full")
    assert isinstance(M, scipy.sparse.csr_matrix)
    expected = conv_matrix(w, shape, padding="full")
    np.testing.assert_array_equal(M.toarray(), expected.toarray())
    D = conv_matrix(backend.asarray(w), shape, padding="full", dense=True)
    assert type(D) is np.ndarray


@pytest.mark.parametrize("dtype, expected", [
    (np.float32, np.float32), (np.float64, np.float64),
    (np.int32, np.float64), (np.bool_, np.float64), (np.float16, np.float64),
])
@pytest.mark.parametrize("dense", [False, True])
def test_dtype_follows_kernel(dtype, expected, dense):
    w = np.ones((2, 1, 3), dtype=dtype)
    M = conv_matrix(w, (1, 6), dense=dense)
    assert M.dtype == expected


def test_float32_matrix_matches_float32_conv():
    x, w = normal((3, 6, 6), 5, np.float32), normal((4, 3, 3, 3), 6, np.float32)
    M = conv_matrix(w, x.shape, padding="same")
    np.testing.assert_allclose(M @ x.ravel(), conv_of(x, w, padding="same"),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("boundary", ["zero", "circular"])
@pytest.mark.parametrize("n_spatial", [1, 2])
def test_dense_equals_sparse(n_spatial, boundary):
    shape = (2, 7) if n_spatial == 1 else (2, 4, 5)
    w = normal((3, 2) + (3,) * n_spatial, 7)
    kwargs = dict(stride=2, dilation=2, flip=True, boundary=boundary)
    if boundary == "zero":
        kwargs["padding"] = "full"
    M = conv_matrix(w, shape, **kwargs)
    D = conv_matrix(w, shape, dense=True, **kwargs)
    assert isinstance(M, scipy.sparse.csr_matrix)
    assert isinstance(D, np.ndarray) and D.shape == M.shape
    np.testing.assert_array_equal(D, M.toarray())


def test_list_kernel_and_list_input_shape_accepted():
    M = conv_matrix([[[1, 2]]], [1, 3], dense=True)
    np.testing.assert_array_equal(M, [[1.0, 2.0, 0.0], [0.0, 1.0, 2.0]])


# --------------------------------------------------------------------------
# 2. structure: Toeplitz, doubly block Toeplitz, circulant; nonzero counts
# --------------------------------------------------------------------------


@pytest.mark.parametrize("padding", ["valid", "same", "full", 2])
def test_1d_matrix_is_toeplitz(padding):
    w = normal((1, 1, 4), 8)
    M = conv_matrix(w, (1, 9), padding=padding, dense=True)
    np.testing.assert_array_equal(M, scipy.linalg.toeplitz(M[:, 0], M[0]))


def test_1d_multichannel_matrix_is_a_grid_of_toeplitz_blocks():
    w = normal((3, 2, 3), 9)
    M = conv_matrix(w, (2, 8), padding="same", dense=True)
    n_out = 8
    for k, c in itertools.product(range(3), range(2)):
        block = M[k * n_out:(k + 1) * n_out, c * 8:(c + 1) * 8]
        np.testing.assert_array_equal(block, scipy.linalg.toeplitz(block[:, 0], block[0]))
        assert np.count_nonzero(block) > 0


@pytest.mark.parametrize("padding", ["valid", "same", "full"])
def test_2d_matrix_is_doubly_block_toeplitz(padding):
    H, W = 5, 6
    w = normal((1, 1, 3, 2), 10)
    M = conv_matrix(w, (1, H, W), padding=padding, dense=True)
    out_h, out_w = conv2d(np.zeros((1, 1, H, W)), w, padding=padding).shape[2:]
    blocks = M.reshape(out_h, out_w, H, W).transpose(0, 2, 1, 3)  # (r, q, ., .)
    for r, q in itertools.product(range(out_h), range(H)):
        block = blocks[r, q]
        # each block is Toeplitz and depends only on q - r
        np.testing.assert_array_equal(block, scipy.linalg.toeplitz(block[:, 0], block[0]))
        if r > 0 and q > 0:
            np.testing.assert_array_equal(block, blocks[r - 1, q - 1])


def test_circular_1d_is_circulant():
    w = normal((1, 1, 3), 11)
    M = conv_matrix(w, (1, 7), boundary="circular", dense=True)
    np.testing.assert_array_equal(M, scipy.linalg.circulant(M[:, 0]))


def test_circular_2d_is_doubly_block_circulant():
    H, W = 4, 5
    w = normal((1, 1, 3, 3), 12)
    M = conv_matrix(w, (1, H, W), boundary="circular", dense=True)
    blocks = M.reshape(H, W, H, W).transpose(0, 2, 1, 3)
    for r, q in itertools.product(range(H), range(H)):
        block = blocks[r, q]
        np.testing.assert_array_equal(block, scipy.linalg.circulant(block[:, 0]))
        np.testing.assert_array_equal(block, blocks[(r + 1) % H, (q + 1) % H])


@pytest.mark.parametrize("n_spatial", [1, 2])
def test_valid_nonzeros_per_row_is_receptive_field(n_spatial):
    shape = (3, 10) if n_spatial == 1 else (3, 7, 8)
    ksize = (4,) if n_spatial == 1 else (3, 2)
    w = normal((5, 3) + ksize, 13)
    M = conv_matrix(w, shape)
    n_out = math.prod(n - k + 1 for n, k in zip(shape[1:], ksize))
    assert M.nnz == 5 * 3 * math.prod(ksize) * n_out
    np.testing.assert_array_equal(M.getnnz(axis=1), 3 * math.prod(ksize))
    assert matrix_density(M) == pytest.approx(
        3 * math.prod(ksize) / math.prod(shape))


@pytest.mark.parametrize("padding", ["same", "full", 1, ((2, 0), (0, 3))])
@pytest.mark.parametrize("stride, dilation", [(1, 1), (2, 1), (1, 2), ((2, 3), (1, 2))])
def test_nonzeros_match_per_axis_formula(padding, stride, dilation):
    shape, ksize, K, C = (2, 6, 7), (3, 2), 3, 2
    w = normal((K, C) + ksize, 14)
    M = conv_matrix(w, shape, padding=padding, stride=stride, dilation=dilation)
    s2, d2 = as_tuple(stride, 2), as_tuple(dilation, 2)
    extents = tuple(d * (k - 1) + 1 for d, k in zip(d2, ksize))
    pads = reference_pads(padding, shape[1:], extents, s2)
    expected = K * C * math.prod(
        axis_pairs(n, k, s, d, p)
        for n, k, s, d, p in zip(shape[1:], ksize, s2, d2, pads))
    assert M.nnz == expected
    assert np.count_nonzero(M.toarray()) == expected  # no zero taps here


def test_zero_kernel_taps_stay_stored():
    """The pattern is the layer's connectivity, not the kernel's values."""
    sobel = np.array([[[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]]])
    M = conv_matrix(sobel, (1, 5, 5))
    assert M.nnz == 9 * 9
    assert matrix_density(M) == pytest.approx(9 / 25)
    assert matrix_density(M.toarray()) == pytest.approx(6 / 25)
    M.eliminate_zeros()
    assert M.nnz == 6 * 9


# --------------------------------------------------------------------------
# 3. circular boundary
# --------------------------------------------------------------------------


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("n_spatial", [1, 2])
def test_circular_matches_scipy_ndimage_wrap(n_spatial, flip):
    """Odd kernels, stride 1: ndimage centres the kernel as 'same' does."""
    shape = (2, 9) if n_spatial == 1 else (2, 6, 5)
    ksize = (5,) if n_spatial == 1 else (3, 5)
    x, w = normal(shape, 15), normal((3, 2) + ksize, 16)
    M = conv_matrix(w, shape, boundary="circular", flip=flip)
    fn = scipy.ndimage.convolve if flip else scipy.ndimage.correlate
    expected = np.stack([
        sum(fn(x[c], w[k, c], mode="wrap") for c in range(2)) for k in range(3)
    ]).ravel()
    np.testing.assert_allclose(M @ x.ravel(), expected, atol=1e-10)


@pytest.mark.parametrize("case", [
    dict(shape=(2, 9), ksize=(4,), stride=2),
    dict(shape=(1, 7), ksize=(3,), dilation=3, flip=True),
    dict(shape=(1, 4), ksize=(3,), dilation=2),          # taps wrap onto one input
    dict(shape=(1, 3), ksize=(6,)),                      # kernel wider than input
    dict(shape=(2, 5, 4), ksize=(2, 3), stride=(2, 1), flip=True),
    dict(shape=(1, 3, 4), ksize=(4, 4), dilation=(1, 2), stride=2),
], ids=str)
def test_circular_matches_brute_loop(case):
    kwargs = {k: case[k] for k in ("stride", "dilation", "flip") if k in case}
    x = normal(case["shape"], 17)
    w = normal((2, case["shape"][0]) + case["ksize"], 18)
    M = conv_matrix(w, case["shape"], boundary="circular", **kwargs)
    expected = brute_circular(x, w, **kwargs)
    np.testing.assert_allclose(M @ x.ravel(), expected, atol=1e-10)
    D = conv_matrix(w, case["shape"], boundary="circular", dense=True, **kwargs)
    np.testing.assert_allclose(D, M.toarray(), atol=1e-12)


def test_circular_equals_conv_of_wrap_padded_input():
    x, w = normal((2, 6, 7), 19), normal((3, 2, 4, 3), 20)
    pads = reference_pads("same", (6, 7), (4, 3), (2, 2))
    padded = np.pad(x, ((0, 0),) + pads, mode="wrap")
    M = conv_matrix(w, x.shape, boundary="circular", stride=2)
    np.testing.assert_allclose(M @ x.ravel(), conv_of(padded, w, stride=2),
                               atol=1e-10)


def test_circular_output_size_is_ceil_size_over_stride():
    M = conv_matrix(np.ones((2, 1, 3, 3)), (1, 7, 5), boundary="circular",
                    stride=(2, 3))
    assert M.shape == (2 * 4 * 2, 35)
    assert M.nnz == 2 * 9 * 4 * 2


# --------------------------------------------------------------------------
# 4. property: the matrix view equals the convolution
# --------------------------------------------------------------------------


@st.composite
def matrix_cases(draw):
    n_spatial = draw(st.sampled_from([1, 2]))
    n_channels, n_kernels = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    boundary = draw(st.sampled_from(["zero", "circular"]))
    kind = draw(st.sampled_from(["valid", "same", "full", "int"]))
    pad = draw(st.integers(0, 2))
    ksize, dilation, stride, sizes = [], [], [], []
    for _ in range(n_spatial):
        k, d = draw(st.integers(1, 4)), draw(st.integers(1, 2))
        ksize.append(k)
        dilation.append(d)
        stride.append(draw(st.integers(1, 3)))
        fit = d * (k - 1) + 1 - (2 * pad if kind == "int" else 0)
        low = max(fit, 1) if boundary == "zero" and kind in ("valid", "int") else 1
        sizes.append(draw(st.integers(low, low + 5)))
    padding = "valid" if boundary == "circular" else (pad if kind == "int" else kind)
    return dict(
        shape=(n_channels, *sizes), ksize=(n_kernels, n_channels, *ksize),
        padding=padding, stride=tuple(stride), dilation=tuple(dilation),
        flip=draw(st.booleans()), boundary=boundary,
        seed=draw(st.integers(0, 2**16)),
    )


@HYP
@given(case=matrix_cases())
def test_property_matrix_view_equals_conv(case):
    x = normal(case["shape"], case["seed"])
    w = normal(case["ksize"], case["seed"] + 1)
    kwargs = dict(stride=case["stride"], dilation=case["dilation"], flip=case["flip"])
    M = conv_matrix(w, case["shape"], padding=case["padding"],
                    boundary=case["boundary"], **kwargs)
    if case["boundary"] == "zero":
        expected = conv_of(x, w, padding=case["padding"], **kwargs)
    else:
        expected = brute_circular(x, w, **kwargs)
    np.testing.assert_allclose(M @ x.ravel(), expected, rtol=1e-9, atol=1e-9)
    assert M.nnz <= w.size * M.shape[0] // w.shape[0]


# --------------------------------------------------------------------------
# 5. size limit
# --------------------------------------------------------------------------


def test_sparse_limit_is_on_nonzeros():
    w = np.ones((4, 2, 3, 3))
    nnz = 4 * 2 * 9 * 6 * 6
    assert conv_matrix(w, (2, 8, 8), max_entries=nnz).nnz == nnz
    with pytest.raises(ValueError, match=r"estimated 2,592 nonzeros.*"
                       r"max_entries=2,591.*larger max_entries"):
        conv_matrix(w, (2, 8, 8), max_entries=nnz - 1)


def test_dense_limit_is_on_all_entries():
    w = np.ones((4, 2, 3, 3))
    total = (4 * 36) * (2 * 64)
    assert conv_matrix(w, (2, 8, 8), dense=True, max_entries=total).size == total
    with pytest.raises(ValueError, match=r"18,432 entries.*max_entries=18,431.*"
                       r"dense=False.*larger max_entries"):
        conv_matrix(w, (2, 8, 8), dense=True, max_entries=total - 1)


def test_default_limit_refuses_a_huge_matrix_before_building_it():
    w = np.ones((64, 64, 5, 5), dtype=np.float32)
    with pytest.raises(ValueError, match=r"nonzeros.*max_entries=50,000,000"):
        conv_matrix(w, (64, 256, 256), padding="same")


# --------------------------------------------------------------------------
# 6. bad input to conv_matrix
# --------------------------------------------------------------------------

W1 = np.ones((2, 1, 3))


@pytest.mark.parametrize("kernel, input_shape, kwargs, error, match", [
    (np.ones((3, 3)), (1, 5), {}, ValueError, r"kernel must be a 3 or 4-D"),
    (np.ones((1, 1, 1, 2, 2)), (1, 5, 5), {}, ValueError, r"kernel must be a 3 or 4-D"),
    (np.ones((1, 1, 3), dtype=complex), (1, 5), {}, TypeError, r"kernel must have a real"),
    (np.ones((0, 1, 3)), (1, 5), {}, ValueError, r"at least one kernel"),
    (np.ones((1, 1, 0)), (1, 5), {}, ValueError, r"at least one kernel"),
    (W1, (1, 5, 5), {}, ValueError, r"input_shape must be a tuple \(n_channels, length\)"),
    (W1, 5, {}, ValueError, r"input_shape must be a tuple"),
    (W1, (2, 5), {}, ValueError, r"input_shape has 2 channels but the kernel has 1"),
    (W1, (1, 5.0), {}, TypeError, r"input_shape must be an int or a tuple"),
    (W1, (1, 0), {}, ValueError, r"input_shape must be >= 1"),
    (W1, (1, 2), {}, ValueError, r"does not fit in the padded input"),
    (W1, (1, 5), dict(padding="half"), ValueError, r"padding must be one of"),
    (W1, (1, 5), dict(padding=-1), ValueError, r"padding must be >= 0"),
    (W1, (1, 5), dict(padding=1.5), TypeError, r"padding must be"),
    (W1, (1, 5), dict(stride=0), ValueError, r"stride must be >= 1"),
    (W1, (1, 5), dict(stride=(1, 1)), ValueError, r"stride must be an int or a tuple of 1"),
    (W1, (1, 5), dict(dilation=1.0), TypeError, r"dilation must be an int"),
    (W1, (1, 5), dict(flip=1), TypeError, r"flip must be True or False"),
    (W1, (1, 5), dict(dense="yes"), TypeError, r"dense must be True or False"),
    (W1, (1, 5), dict(boundary="reflect"), ValueError, r"boundary must be one of"),
    (W1, (1, 5), dict(boundary="circular", padding="same"), ValueError,
     r"padding must be left at 'valid' with boundary='circular'"),
    (W1, (1, 5), dict(boundary="circular", padding=0), ValueError,
     r"padding must be left at 'valid'"),
    (W1, (1, 5), dict(max_entries=0), ValueError, r"max_entries must be >= 1"),
    (W1, (1, 5), dict(max_entries=1e9), TypeError, r"max_entries must be an int"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_conv_matrix_bad_input(kernel, input_shape, kwargs, error, match):
    with pytest.raises(error, match=match):
        conv_matrix(kernel, input_shape, **kwargs)


def test_matrix_density_values_and_bad_input(backend):
    assert matrix_density(np.eye(4)) == 0.25
    assert matrix_density([[0, 1], [1, 1]]) == 0.75
    assert matrix_density(backend.asarray(np.eye(5))) == pytest.approx(0.2)
    assert matrix_density(scipy.sparse.csr_matrix((3, 4))) == 0.0
    assert matrix_density(np.zeros((0, 3))) == 0.0
    with pytest.raises(ValueError, match=r"matrix must be a 2-D"):
        matrix_density(np.ones((2, 2, 2)))
    with pytest.raises(TypeError, match=r"matrix must have a real"):
        matrix_density(np.array([["a"]]))


# --------------------------------------------------------------------------
# 7. parameter and FLOP counts
# --------------------------------------------------------------------------


def test_counts_by_hand_2d():
    # C=3, 10x10 input, K=4, 3x3 kernels: 8x8 outputs (P=64, N=100, k=9)
    args = dict(n_kernels=4, kernel_size=3)
    assert count_parameters("dense", (3, 10, 10), **args) == 300 * 256 + 256
    assert count_parameters("conv", (3, 10, 10), **args) == 4 * 27 + 4
    assert count_parameters("locally_connected", (3, 10, 10), **args) == 64 * 108 + 256
    assert count_parameters("tiled", (3, 10, 10), tile=(2, 4), **args) == 8 * 108 + 32
    assert count_parameters("conv", (3, 10, 10), bias=False, **args) == 108
    assert count_flops("dense", (3, 10, 10), **args) == 2 * 300 * 256
    for layer in ("conv", "locally_connected"):
        assert count_flops(layer, (3, 10, 10), **args) == 2 * 108 * 64
    assert count_flops("tiled", (3, 10, 10), tile=2, **args) == 2 * 108 * 64


def test_counts_by_hand_1d_with_stride_and_padding():
    # C=2, L=20, K=5, k=4, stride 3, 'same': ceil(20/3)=7 outputs
    args = dict(n_kernels=5, kernel_size=4, stride=3, padding="same")
    assert count_parameters("conv", (2, 20), **args) == 40 + 5
    assert count_parameters("locally_connected", (2, 20), **args) == 7 * 40 + 35
    assert count_parameters("dense", (2, 20), bias=False, **args) == 40 * 35
    assert count_flops("conv", (2, 20), **args) == 2 * 40 * 7
    assert count_flops("dense", (2, 20), **args) == 2 * 40 * 35
    assert count_flops("conv", (2, 20), n_kernels=5, kernel_size=(4,),
                       padding=((0, 2),)) == 2 * 40 * 19


@pytest.mark.parametrize("bias", [True, False])
def test_bias_does_not_change_flops(bias):
    for layer in ("dense", "conv", "locally_connected"):
        assert (count_flops(layer, (1, 9), n_kernels=2, kernel_size=2, bias=bias)
                == count_flops(layer, (1, 9), n_kernels=2, kernel_size=2))


@pytest.mark.parametrize("n_spatial", [1, 2])
def test_counts_match_stored_arrays(n_spatial):
    """Counts equal the sizes of the arrays each layer kind would store."""
    shape = (3, 12) if n_spatial == 1 else (3, 9, 8)
    ksize = (3,) if n_spatial == 1 else (3, 2)
    K = 4
    kernels = normal((K, 3) + ksize, 21)
    out = conv2d if n_spatial == 2 else conv1d
    out_size = out(np.zeros((1,) + shape), kernels).shape[2:]
    args = dict(n_kernels=K, kernel_size=ksize)
    # conv: the kernel bank and one bias per kernel
    assert count_parameters("conv", shape, **args) == kernels.size + K
    # dense: one weight per entry of the (dense) layer matrix, one bias per row
    D = conv_matrix(kernels, shape, dense=True)
    assert count_parameters("dense", shape, **args) == D.size + D.shape[0]
    assert count_flops("dense", shape, **args) == 2 * D.size
    # conv ('valid'): one multiply-add per stored entry of the conv matrix
    assert count_flops("conv", shape, **args) == 2 * conv_matrix(kernels, shape).nnz
    # locally connected: weights (*out, K, C, *k), bias (K, *out)
    lc_weights = np.empty(out_size + kernels.shape)
    assert count_parameters("locally_connected", shape, **args) == (
        lc_weights.size + K * math.prod(out_size))
    # tiled: one bank per tile position
    tiled = np.empty((2,) * n_spatial + kernels.shape)
    assert count_parameters("tiled", shape, tile=2, bias=False, **args) == tiled.size


def test_tiled_limits():
    """tile 1 is a convolution; a tile covering the output is locally connected."""
    shape, args = (2, 7, 6), dict(n_kernels=3, kernel_size=(2, 3))
    out_size = (6, 4)
    assert (count_parameters("tiled", shape, tile=1, **args)
            == count_parameters("conv", shape, **args))
    assert (count_parameters("tiled", shape, tile=out_size, **args)
            == count_parameters("locally_connected", shape, **args))
    assert all(count_flops(layer, shape, tile=out_size if layer == "tiled" else None,
                           **args) == count_flops("conv", shape, **args)
               for layer in ("tiled", "locally_connected"))


def test_counts_are_exact_python_ints():
    n = count_parameters("dense", (512, 256, 256), n_kernels=512, kernel_size=1)
    assert type(n) is int and n == (512 * 65536) ** 2 + 512 * 65536
    assert type(count_flops("conv", (1, 5), n_kernels=1, kernel_size=1)) is int


def test_layer_kinds_constant():
    assert set(LAYER_KINDS) == {"dense", "conv", "locally_connected", "tiled"}


@pytest.mark.parametrize("func", [count_parameters, count_flops])
@pytest.mark.parametrize("layer, input_shape, kwargs, error, match", [
    ("pooling", (1, 8), dict(n_kernels=1, kernel_size=2), ValueError, r"layer must be one of"),
    (None, (1, 8), dict(n_kernels=1, kernel_size=2), ValueError, r"layer must be one of"),
    ("conv", (1,), dict(n_kernels=1, kernel_size=2), ValueError, r"input_shape must be a tuple"),
    ("conv", (1, 2, 3, 4), dict(n_kernels=1, kernel_size=2), ValueError,
     r"input_shape must be a tuple .*\(n_channels, height, width\)"),
    ("conv", 8, dict(n_kernels=1, kernel_size=2), ValueError, r"input_shape must be a tuple"),
    ("conv", (1, 8.0), dict(n_kernels=1, kernel_size=2), TypeError, r"input_shape must be an int"),
    ("conv", (0, 8), dict(n_kernels=1, kernel_size=2), ValueError, r"input_shape must be >= 1"),
    ("conv", (1, 8), dict(kernel_size=2), ValueError, r"n_kernels is required"),
    ("conv", (1, 8), dict(n_kernels=0, kernel_size=2), ValueError, r"n_kernels must be >= 1"),
    ("conv", (1, 8), dict(n_kernels=2.0, kernel_size=2), TypeError, r"n_kernels must be an int"),
    ("conv", (1, 8), dict(n_kernels=True, kernel_size=2), TypeError, r"n_kernels must be an int"),
    ("conv", (1, 8), dict(n_kernels=1), ValueError, r"kernel_size is required"),
    ("conv", (1, 8), dict(n_kernels=1, kernel_size=0), ValueError, r"kernel_size must be >= 1"),
    ("conv", (1, 8), dict(n_kernels=1, kernel_size="3"), TypeError, r"kernel_size must be an int"),
    ("conv", (1, 8, 8), dict(n_kernels=1, kernel_size=(3, 3, 3)), ValueError,
     r"kernel_size must be an int or a tuple of 2"),
    ("conv", (1, 8), dict(n_kernels=1, kernel_size=9), ValueError,
     r"kernel_size of dilated size \(9,\) does not fit"),
    ("conv", (1, 8), dict(n_kernels=1, kernel_size=3, stride=0), ValueError,
     r"stride must be >= 1"),
    ("conv", (1, 8), dict(n_kernels=1, kernel_size=3, padding="half"), ValueError,
     r"padding must be one of"),
    ("tiled", (1, 8), dict(n_kernels=1, kernel_size=3), ValueError,
     r"tile is required for layer='tiled'"),
    ("tiled", (1, 8), dict(n_kernels=1, kernel_size=3, tile=0), ValueError,
     r"tile must be >= 1"),
    ("tiled", (1, 8), dict(n_kernels=1, kernel_size=3, tile=1.5), TypeError,
     r"tile must be an int"),
    ("conv", (1, 8), dict(n_kernels=1, kernel_size=3, tile=2), ValueError,
     r"tile applies only to layer='tiled'.*layer='conv'"),
    ("conv", (1, 8), dict(n_kernels=1, kernel_size=3, bias=1), TypeError,
     r"bias must be True or False"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_count_bad_input(func, layer, input_shape, kwargs, error, match):
    with pytest.raises(error, match=match):
        func(layer, input_shape, **kwargs)
