"""Tests for :func:`featurelab.ops.conv1d` and :func:`featurelab.ops.conv2d`.

Every test that computes something takes the ``backend`` fixture: reference
data is made with NumPy, moved with ``backend.asarray`` and read back with
``backend.to_numpy``, so the suite runs once per available array backend.

References used:

* ``scipy.signal.correlate`` / ``scipy.signal.convolve`` per
  (sample, kernel, channel), summed over channels;
* :func:`brute_conv`, a plain-Python loop over output positions and kernel
  taps that knows nothing of im2col, padding copies or chunking.
"""

import itertools
import math
import re

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

from featurelab.ops import _conv as conv_module
from featurelab.ops import _fft as fft_module
from featurelab.ops import _threads as threads_module
from featurelab.ops import conv1d, conv2d
from featurelab.ops._separable import rank1_factors, row_block
from tests.ops._reference import HYP, as_tuple, normal, reference_pads

CONV = {1: conv1d, 2: conv2d}



# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def tolerance(dtype):
    if np.dtype(dtype) == np.float32:
        return {"rtol": 1e-5, "atol": 1e-5}
    return {"rtol": 1e-10, "atol": 1e-10}


def assert_close(got, expected, dtype=np.float64):
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, **tolerance(dtype))


def run(backend, func, x, kernels, bias=None, **kwargs):
    """Call ``func`` on backend copies of NumPy data; return NumPy output."""
    xb = backend.asarray(x)
    kb = backend.asarray(kernels)
    bb = None if bias is None else backend.asarray(bias)
    y = func(xb, kb, bias=bb, **kwargs)
    # Ops follow their input: the output lives on the input's backend.
    assert type(y) is type(xb)
    return backend.to_numpy(y)


def brute_conv(x, w, stride=1, padding="valid", dilation=1, groups=1,
               bias=None, flip=False):
    """Reference convolution: Python loops over every output and every tap."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n_spatial = x.ndim - 2
    n_samples, n_channels = x.shape[:2]
    n_kernels, c_per_group = w.shape[:2]
    ksize = w.shape[2:]
    sizes = x.shape[2:]
    stride = as_tuple(stride, n_spatial)
    dilation = as_tuple(dilation, n_spatial)
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ksize))
    pads = reference_pads(padding, sizes, extents, stride)
    out_size = tuple(
        (n + a + b - e) // s + 1
        for n, (a, b), e, s in zip(sizes, pads, extents, stride)
    )
    k_per_group = n_kernels // groups
    y = np.zeros((n_samples, n_kernels) + out_size)
    for n in range(n_samples):
        for k in range(n_kernels):
            g = k // k_per_group
            for o in itertools.product(*(range(m) for m in out_size)):
                acc = 0.0
                for c in range(c_per_group):
                    for t in itertools.product(*(range(m) for m in ksize)):
                        idx = tuple(
                            o[i] * stride[i] - pads[i][0] + t[i] * dilation[i]
                            for i in range(n_spatial)
                        )
                        if not all(0 <= j < m for j, m in zip(idx, sizes)):
                            continue  # zero padding
                        tap = tuple(m - 1 - j for m, j in zip(ksize, t)) if flip else t
                        acc += x[(n, g * c_per_group + c) + idx] * w[(k, c) + tap]
                if bias is not None:
                    acc += bias[k]
                y[(n, k) + o] = acc
    return y


def scipy_conv(x, w, mode, flip):
    """Per (sample, kernel, channel) scipy.signal oracle, summed over channels."""
    fn = scipy.signal.convolve if flip else scipy.signal.correlate
    return np.array([
        [
            sum(fn(x[n, c], w[k, c], mode=mode, method="direct")
                for c in range(x.shape[1]))
            for k in range(w.shape[0])
        ]
        for n in range(x.shape[0])
    ])


# --------------------------------------------------------------------------
# 1. scipy.signal oracles
# --------------------------------------------------------------------------

# (x shape, kernels shape); 'same' only gets odd kernel sizes because scipy
# puts the extra pad of an even kernel at the start, featurelab at the end.
ORACLE_1D = {
    "valid": [((2, 3, 11), (4, 3, 1)), ((2, 3, 11), (4, 3, 2)),
              ((2, 3, 11), (4, 3, 5)), ((1, 2, 6), (3, 2, 6))],
    "full": [((2, 3, 11), (4, 3, 1)), ((2, 3, 11), (4, 3, 4)),
             ((2, 3, 11), (4, 3, 5)), ((1, 2, 3), (2, 2, 6))],
    "same": [((2, 3, 11), (4, 3, 1)), ((2, 3, 11), (4, 3, 3)),
             ((2, 3, 11), (4, 3, 7)), ((1, 2, 3), (2, 2, 5))],
}
ORACLE_2D = {
    "valid": [((2, 2, 7, 6), (3, 2, 3, 3)), ((2, 2, 7, 6), (3, 2, 2, 4)),
              ((1, 3, 5, 5), (2, 3, 5, 1))],
    "full": [((2, 2, 7, 6), (3, 2, 3, 3)), ((2, 2, 7, 6), (3, 2, 2, 4)),
             ((1, 1, 3, 4), (2, 1, 5, 2))],
    "same": [((2, 2, 7, 6), (3, 2, 3, 3)), ((2, 2, 7, 6), (3, 2, 1, 5)),
             ((1, 1, 3, 4), (2, 1, 5, 7))],
}


def _oracle_params(table, n_spatial):
    return [
        pytest.param(n_spatial, mode, xs, ks,
                     id=f"{n_spatial}d-{mode}-x{xs}-k{ks}")
        for mode, cases in table.items()
        for xs, ks in cases
    ]


@pytest.mark.parametrize("flip", [False, True], ids=["correlate", "convolve"])
@pytest.mark.parametrize(
    "n_spatial, mode, x_shape, k_shape",
    _oracle_params(ORACLE_1D, 1) + _oracle_params(ORACLE_2D, 2),
)
def test_matches_scipy_signal(backend, n_spatial, mode, x_shape, k_shape, flip):
    x = normal(x_shape, seed=1)
    w = normal(k_shape, seed=2)
    y = run(backend, CONV[n_spatial], x, w, padding=mode, flip=flip)
    assert_close(y, scipy_conv(x, w, mode, flip))


def test_docstring_examples_values(backend):
    x = np.array([[[0.0, 1.0, 2.0, 3.0]]])
    w = np.array([[[1.0, 0.0, -1.0]]])
    np.testing.assert_array_equal(run(backend, conv1d, x, w), [[[-2.0, -2.0]]])
    np.testing.assert_array_equal(run(backend, conv1d, x, w, flip=True),
                                  [[[2.0, 2.0]]])
    img = np.arange(16.0).reshape(1, 1, 4, 4)
    sobel = np.array([[[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]]])
    np.testing.assert_array_equal(run(backend, conv2d, img, sobel),
                                  np.full((1, 1, 2, 2), 8.0))


# --------------------------------------------------------------------------
# 2. brute-force reference: stride, dilation, padding, groups, bias
# --------------------------------------------------------------------------

BRUTE_1D = [
    dict(x=(2, 3, 9), w=(2, 3, 3), stride=2),
    dict(x=(2, 3, 10), w=(2, 3, 3), stride=3, dilation=2, padding=2),
    dict(x=(1, 2, 7), w=(3, 2, 2), padding=((1, 3),), stride=2),
    dict(x=(1, 2, 7), w=(3, 2, 3), padding=(4,), dilation=3),
    dict(x=(2, 2, 5), w=(2, 2, 3), padding=[(0, 4)], stride=[2], dilation=[1]),
    dict(x=(2, 4, 8), w=(4, 2, 3), groups=2, padding=1),
    dict(x=(2, 6, 8), w=(3, 2, 2), groups=3, stride=2),
    dict(x=(2, 3, 8), w=(3, 1, 3), groups=3, padding="same"),          # depthwise
    dict(x=(2, 3, 8), w=(6, 1, 2), groups=3, stride=2, dilation=2),    # depthwise x2
    dict(x=(2, 2, 6), w=(3, 2, 3), bias=True, padding="full"),
    dict(x=(2, 2, 9), w=(2, 2, 3), flip=True, stride=2, dilation=2,
         padding=((2, 0),)),
    dict(x=(1, 2, 9), w=(2, 2, 4), padding="same"),                    # even k
    dict(x=(1, 2, 9), w=(2, 2, 2), padding="same", dilation=3),        # extent 4
    dict(x=(1, 2, 10), w=(2, 2, 4), padding="same", stride=3),
    dict(x=(1, 1, 7), w=(1, 1, 5), padding="same", stride=2, dilation=2),
    dict(x=(2, 4, 7), w=(4, 2, 3), groups=2, bias=True, flip=True, stride=2,
         padding="full", dilation=2),
    dict(x=(1, 1, 4), w=(1, 1, 2), stride=10),                         # stride > size
]
BRUTE_2D = [
    dict(x=(2, 2, 6, 7), w=(3, 2, 3, 2), stride=(1, 2)),
    dict(x=(1, 2, 7, 7), w=(2, 2, 2, 3), dilation=(2, 1), stride=2),
    dict(x=(1, 2, 5, 6), w=(2, 2, 3, 3), padding=1),
    dict(x=(1, 2, 5, 6), w=(2, 2, 3, 3), padding=(1, (0, 2))),
    dict(x=(1, 1, 4, 5), w=(2, 1, 2, 3), padding=((1, 0), (2, 1)), stride=(2, 1)),
    dict(x=(2, 4, 5, 5), w=(4, 2, 2, 2), groups=2, bias=True),
    dict(x=(2, 3, 5, 4), w=(3, 1, 3, 3), groups=3, padding="same"),    # depthwise
    dict(x=(1, 2, 6, 6), w=(2, 2, 2, 4), padding="same"),              # even k
    dict(x=(1, 2, 7, 8), w=(2, 2, 3, 2), padding="same", stride=(2, 3)),
    dict(x=(1, 2, 4, 5), w=(2, 2, 3, 2), padding="full", flip=True,
         dilation=(1, 2)),
    dict(x=(2, 2, 6, 5), w=(4, 1, 3, 2), groups=2, flip=True, bias=True,
         stride=(2, 1), dilation=(1, 2), padding=((2, 1), 1)),
]


def _brute_params(cases, n_spatial):
    params = []
    for case in cases:
        label = "-".join(f"{k}={v}" for k, v in case.items())
        params.append(pytest.param(n_spatial, case, id=f"{n_spatial}d-{label}"))
    return params


@pytest.mark.parametrize(
    "n_spatial, case", _brute_params(BRUTE_1D, 1) + _brute_params(BRUTE_2D, 2)
)
def test_matches_brute_force(backend, n_spatial, case):
    case = dict(case)
    x = normal(case.pop("x"), seed=3)
    w = normal(case.pop("w"), seed=4)
    bias = normal(w.shape[0], seed=5) if case.pop("bias", False) else None
    x_copy, w_copy = x.copy(), w.copy()
    y = run(backend, CONV[n_spatial], x, w, bias=bias, **case)
    assert_close(y, brute_conv(x, w, bias=bias, **case))
    # inputs are left untouched
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(w, w_copy)


@pytest.mark.parametrize("n_spatial", [1, 2])
def test_bias_adds_per_kernel_constant(backend, n_spatial):
    x = normal((2, 3) + (6,) * n_spatial, seed=6)
    w = normal((4, 3) + (3,) * n_spatial, seed=7)
    bias = np.array([1.5, -2.0, 0.0, 10.0])
    y0 = run(backend, CONV[n_spatial], x, w, padding="same")
    y1 = run(backend, CONV[n_spatial], x, w, bias=bias, padding="same")
    assert_close(y1 - y0, np.broadcast_to(
        bias.reshape((1, 4) + (1,) * n_spatial), y0.shape))


@pytest.mark.parametrize("n_spatial", [1, 2])
def test_non_contiguous_inputs(backend, n_spatial):
    x = normal((3, 4) + (9,) * n_spatial, seed=8)
    w = normal((2, 4) + (3,) * n_spatial, seed=9)
    # reversed channels + every other sample position: non-contiguous views
    x_view = x[:, ::-1][(Ellipsis, slice(None, None, 2))]
    w_view = np.swapaxes(np.swapaxes(w, 0, 1).copy(), 0, 1)   # F-ish order
    y = run(backend, CONV[n_spatial], x_view, w_view, padding=1, stride=2)
    expected = brute_conv(np.ascontiguousarray(x_view), w, padding=1, stride=2)
    assert_close(y, expected)


@pytest.mark.parametrize(
    "size, k, stride, dilation, before, after",
    [
        (10, 3, 1, 1, 0, 0), (10, 3, 2, 1, 0, 0), (10, 3, 3, 2, 1, 2),
        (7, 7, 1, 1, 0, 0), (7, 4, 2, 2, 3, 0), (5, 1, 4, 3, 0, 0),
        (1, 3, 1, 1, 1, 1), (6, 2, 5, 1, 0, 7), (9, 2, 2, 4, 2, 2),
    ],
)
def test_output_shape_formula(backend, size, k, stride, dilation, before, after):
    expected = (size + before + after - dilation * (k - 1) - 1) // stride + 1
    x = normal((2, 1, size), seed=10)
    w = normal((3, 1, k), seed=11)
    y = run(backend, conv1d, x, w, stride=stride, dilation=dilation,
            padding=((before, after),))
    assert y.shape == (2, 3, expected)
    # the same settings on one axis of a 2-D conv, a different one on the other
    x2 = normal((1, 1, size, 5), seed=12)
    w2 = normal((2, 1, k, 2), seed=13)
    y2 = run(backend, conv2d, x2, w2, stride=(stride, 1),
             dilation=(dilation, 2), padding=((before, after), 0))
    assert y2.shape == (1, 2, expected, 5 - 2 * (2 - 1))


def test_same_padding_gives_ceil_size_over_stride(backend):
    """'same' gives ceil(size/stride) outputs, even kernels padded at the end."""
    rng = np.random.default_rng(14)
    for size, k, stride, dilation in itertools.product(
        range(1, 9), range(1, 6), range(1, 4), range(1, 3)
    ):
        x = rng.standard_normal((1, 1, size))
        w = rng.standard_normal((1, 1, k))
        y = run(backend, conv1d, x, w, padding="same", stride=stride,
                dilation=dilation)
        assert y.shape == (1, 1, math.ceil(size / stride)), (size, k, stride)
        assert_close(y, brute_conv(x, w, padding="same", stride=stride,
                                   dilation=dilation))


@pytest.mark.parametrize("k", [2, 4, 6])
def test_same_even_kernel_extra_pad_at_end(backend, k):
    # With a ramp input the output is easy to reason about: for stride 1 the
    # total padding is k - 1 (odd), with (k - 2) // 2 before and k // 2 after.
    x = np.arange(1.0, 9.0).reshape(1, 1, 8)
    w = np.zeros((1, 1, k))
    w[0, 0, 0] = 1.0   # picks the first sample of every window
    y = run(backend, conv1d, x, w, padding="same")
    before = (k - 1) // 2
    expected = np.concatenate([np.zeros(before), x[0, 0, : 8 - before]])
    np.testing.assert_array_equal(y[0, 0], expected)


def test_full_padding_size(backend):
    for size, k, dilation in [(5, 3, 1), (3, 5, 1), (4, 2, 3), (1, 1, 1)]:
        extent = dilation * (k - 1) + 1
        x = normal((1, 2, size), seed=15)
        w = normal((1, 2, k), seed=16)
        y = run(backend, conv1d, x, w, padding="full", dilation=dilation)
        assert y.shape == (1, 1, size + extent - 1)


# --------------------------------------------------------------------------
# 3. dtypes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("n_spatial", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtype_kept(backend, n_spatial, dtype):
    x = normal((2, 4) + (7,) * n_spatial, seed=17, dtype=dtype)
    w = normal((4, 2) + (3,) * n_spatial, seed=18, dtype=dtype)
    bias = normal(4, seed=19, dtype=dtype)
    kwargs = dict(padding="same", stride=2, groups=2)
    y = run(backend, CONV[n_spatial], x, w, bias=bias, **kwargs)
    assert y.dtype == dtype
    assert_close(y, brute_conv(x, w, bias=bias, **kwargs), dtype)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.bool_])
def test_int_and_bool_input_cast_to_float64(backend, dtype):
    rng = np.random.default_rng(20)
    hi = 2 if dtype is np.bool_ else 5
    x = rng.integers(0, hi, size=(2, 2, 9)).astype(dtype)
    w = rng.integers(-3, 4, size=(3, 2, 3)).astype(dtype if dtype is not np.bool_ else np.int64)
    y = run(backend, conv1d, x, w, padding="full")
    assert y.dtype == np.float64
    # small integers: the float64 result is exact
    np.testing.assert_array_equal(y, brute_conv(x.astype(np.float64), w, padding="full"))
    x2 = rng.integers(0, hi, size=(1, 1, 4, 5)).astype(dtype)
    w2 = np.ones((1, 1, 2, 2), dtype=dtype)
    y2 = run(backend, conv2d, x2, w2)
    assert y2.dtype == np.float64
    np.testing.assert_array_equal(y2, brute_conv(x2.astype(np.float64), w2))


def test_float16_input_cast_to_float64(backend):
    x = normal((1, 1, 6), seed=21, dtype=np.float16)
    w = normal((1, 1, 2), seed=22, dtype=np.float16)
    y = run(backend, conv1d, x, w)
    assert y.dtype == np.float64
    assert_close(y, brute_conv(x.astype(np.float64), w.astype(np.float64)))


@pytest.mark.parametrize(
    "x_dtype, k_dtype, bias_dtype, out_dtype",
    [
        (np.float32, np.float64, None, np.float32),
        (np.float32, np.int64, None, np.float32),
        (np.float32, np.float64, np.float64, np.float32),
        (np.float64, np.float32, np.float32, np.float64),
        (np.int64, np.float32, None, np.float64),
        (np.bool_, np.float32, np.int32, np.float64),
    ],
)
def test_output_dtype_follows_x(backend, x_dtype, k_dtype, bias_dtype, out_dtype):
    rng = np.random.default_rng(23)
    x = rng.integers(0, 2, size=(2, 2, 3, 4)).astype(x_dtype)
    w = rng.integers(-2, 3, size=(3, 2, 2, 2)).astype(k_dtype)
    bias = None if bias_dtype is None else np.array([1, 2, 3], dtype=bias_dtype)
    y = run(backend, conv2d, x, w, bias=bias, padding=1)
    assert y.dtype == out_dtype
    expected = brute_conv(x.astype(np.float64), w.astype(np.float64), padding=1,
                          bias=None if bias is None else bias.astype(np.float64))
    assert_close(y, expected, out_dtype)


def test_float32_x_with_float64_kernels(backend):
    """Non-integer float64 kernels with float32 x: float32 out, right values."""
    x = normal((1, 1, 16), seed=24, dtype=np.float32)
    w = normal((1, 1, 3), seed=25)
    y = run(backend, conv1d, x, w)
    assert y.dtype == np.float32
    expected = brute_conv(x.astype(np.float64), w.astype(np.float32).astype(np.float64))
    assert_close(y, expected, np.float32)


# --------------------------------------------------------------------------
# 4. max_memory chunking
# --------------------------------------------------------------------------

CHUNK_CASES = [
    pytest.param(1, dict(x=(7, 4, 10), w=(6, 2, 3), groups=2, stride=2,
                         padding="same"), id="1d"),
    pytest.param(1, dict(x=(7, 4, 10), w=(6, 2, 1), groups=2), id="1d-pointwise"),
    pytest.param(2, dict(x=(5, 2, 6, 7), w=(3, 2, 3, 2), dilation=(1, 2),
                         padding="full"), id="2d"),
    pytest.param(2, dict(x=(5, 3, 4, 4), w=(3, 1, 1, 1), groups=3, padding=1),
                 id="2d-pointwise"),
]


@pytest.mark.parametrize("max_memory", [1, 1000, "1KB", "0.5 KiB", "2MiB", 10**12])
@pytest.mark.parametrize("n_spatial, case", CHUNK_CASES)
def test_max_memory_does_not_change_result(backend, n_spatial, case, max_memory):
    case = dict(case)
    x = normal(case.pop("x"), seed=26)
    w = normal(case.pop("w"), seed=27)
    bias = normal(w.shape[0], seed=28)
    func = CONV[n_spatial]
    default = run(backend, func, x, w, bias=bias, **case)
    chunked = run(backend, func, x, w, bias=bias, max_memory=max_memory, **case)
    np.testing.assert_allclose(chunked, default, rtol=1e-12, atol=1e-12)
    assert_close(chunked, brute_conv(x, w, bias=bias, **case))


class _MatmulSpy:
    """Namespace proxy recording the batch size of every ``matmul`` call."""

    def __init__(self, xp):
        self._xp = xp
        self.batches = []

    def __getattr__(self, name):
        return getattr(self._xp, name)

    def matmul(self, a, b, *args, **kwargs):
        self.batches.append(b.shape[0])
        return self._xp.matmul(a, b, *args, **kwargs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pointwise", [False, True])
def test_max_memory_bounds_chunks(backend, monkeypatch, pointwise, dtype):
    """Chunks of samples respect max_memory (but hold at least one sample).

    The documented cost of the unfolded columns is ``n_channels *
    prod(kernel_size) * prod(out_size) * itemsize`` bytes per sample.
    """
    real_get_namespace = conv_module.get_namespace
    spies = []

    def spying_get_namespace(*arrays):
        spies.append(_MatmulSpy(real_get_namespace(*arrays)))
        return spies[-1]

    monkeypatch.setattr(conv_module, "get_namespace", spying_get_namespace)
    k = 1 if pointwise else 3
    n_samples = 7
    x = normal((n_samples, 2, 10), seed=29, dtype=dtype)
    w = normal((3, 2, k), seed=30, dtype=dtype)
    sample_bytes = 2 * k * (10 - k + 1) * np.dtype(dtype).itemsize
    expected = brute_conv(x, w)
    for max_memory, budget in [
        (1, 1),
        (sample_bytes - 1, sample_bytes - 1),
        (3 * sample_bytes, 3 * sample_bytes),
        (3 * sample_bytes + sample_bytes // 2, 3 * sample_bytes + sample_bytes // 2),
        ("1KB", 1000),
        ("1.5KB", 1500),
        ("1.5KiB", 1536),
        ("0.001 MB", 1000),
        ("2MiB", 2 * 2**20),
    ]:
        y = run(backend, conv1d, x, w, max_memory=max_memory)
        batches = spies[-1].batches
        assert sum(batches) == n_samples, max_memory
        assert all(b == 1 or b * sample_bytes <= budget for b in batches), (
            max_memory, batches)
        assert_close(y, expected, dtype)
    # a budget smaller than one sample still processes one sample at a time
    run(backend, conv1d, x, w, max_memory=1)
    assert spies[-1].batches == [1] * n_samples
    # the default budget (512MB) holds this whole batch in one chunk
    run(backend, conv1d, x, w)
    assert spies[-1].batches == [n_samples]


# --------------------------------------------------------------------------
# 5. 1x1 kernels (pointwise fast path)
# --------------------------------------------------------------------------

POINTWISE_CASES = [
    dict(),
    dict(groups=2),
    dict(groups=4, bias=True),
    dict(padding=2, bias=True),
    dict(padding="same", dilation=3),
    dict(padding="full", flip=True),
]


@pytest.mark.parametrize("case", POINTWISE_CASES, ids=str)
@pytest.mark.parametrize("n_spatial", [1, 2])
def test_pointwise_kernels(backend, n_spatial, case):
    case = dict(case)
    groups = case.get("groups", 1)
    x = normal((3, 4) + (5,) * n_spatial, seed=31)
    w = normal((4, 4 // groups) + (1,) * n_spatial, seed=32)
    bias = normal(4, seed=33) if case.pop("bias", False) else None
    y = run(backend, CONV[n_spatial], x, w, bias=bias, **case)
    assert_close(y, brute_conv(x, w, bias=bias, **case))
    if groups == 1 and "padding" not in case:
        # independent check: a channel-mixing matrix product
        expected = np.einsum("kc,nc...->nk...", w.reshape(4, 4), x)
        assert_close(y, expected)


@pytest.mark.parametrize("n_spatial", [1, 2])
def test_pointwise_non_contiguous_and_strided(backend, n_spatial):
    x = normal((2, 3) + (8,) * n_spatial, seed=34)
    w = normal((2, 3) + (1,) * n_spatial, seed=35)
    x_view = x[:, ::-1][(Ellipsis, slice(1, None, 2))]
    y = run(backend, CONV[n_spatial], x_view, w)
    assert_close(y, brute_conv(np.ascontiguousarray(x_view), w))
    # stride 2 (not the fast path) equals the fast path on subsampled input
    y_strided = run(backend, CONV[n_spatial], x, w, stride=2)
    sub = x[(Ellipsis,) + (slice(None, None, 2),) * n_spatial]
    assert_close(y_strided, run(backend, CONV[n_spatial], sub, w))


# --------------------------------------------------------------------------
# 6. empty batch and NaN propagation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_spatial, x_shape, k_shape, kwargs, out_shape",
    [
        (1, (0, 3, 10), (4, 3, 3), {}, (0, 4, 8)),
        (1, (0, 3, 10), (4, 3, 3), dict(padding="same", stride=3), (0, 4, 4)),
        (1, (0, 4, 10), (2, 2, 1), dict(groups=2, max_memory=1), (0, 2, 10)),
        (2, (0, 2, 6, 5), (3, 2, 3, 2), dict(padding="full"), (0, 3, 8, 6)),
        (2, (0, 2, 6, 5), (3, 2, 3, 2), dict(stride=2, dilation=(1, 2)),
         (0, 3, 2, 2)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_batch(backend, n_spatial, x_shape, k_shape, kwargs, out_shape, dtype):
    x = np.zeros(x_shape, dtype=dtype)
    w = normal(k_shape, seed=36)
    bias = normal(k_shape[0], seed=37)
    y = run(backend, CONV[n_spatial], x, w, bias=bias, **kwargs)
    assert y.shape == out_shape
    assert y.dtype == dtype


def _window_mask(sizes, nan_pos, ksize, stride, pads, dilation):
    """Outputs whose window (its taps) touches input position ``nan_pos``."""
    out_size = tuple(
        (n + a + b - d * (k - 1) - 1) // s + 1
        for n, (a, b), k, s, d in zip(sizes, pads, ksize, stride, dilation)
    )
    mask = np.zeros(out_size, dtype=bool)
    for o in itertools.product(*(range(m) for m in out_size)):
        for t in itertools.product(*(range(k) for k in ksize)):
            idx = tuple(o[i] * stride[i] - pads[i][0] + t[i] * dilation[i]
                        for i in range(len(sizes)))
            if idx == tuple(nan_pos):
                mask[o] = True
    return mask


@pytest.mark.parametrize(
    "n_spatial, size, nan_pos, ksize, stride, padding, dilation",
    [
        (1, (12,), (5,), (3,), (1,), "valid", (1,)),
        (1, (12,), (0,), (3,), (2,), "same", (1,)),
        (1, (12,), (6,), (3,), (1,), "valid", (3,)),     # taps skip neighbours
        (1, (12,), (11,), (4,), (3,), "full", (2,)),
        (2, (6, 7), (2, 3), (3, 2), (1, 1), "valid", (1, 1)),
        (2, (6, 7), (0, 6), (3, 3), (2, 2), "same", (1, 2)),
        (2, (6, 7), (3, 3), (2, 2), (1, 1), "full", (2, 2)),
    ],
)
def test_nan_propagates_only_to_windows_containing_it(
    backend, n_spatial, size, nan_pos, ksize, stride, padding, dilation
):
    x = normal((3, 4) + size, seed=38)
    x[1, 2][nan_pos] = np.nan            # sample 1, channel 2 (group 1 of 2)
    w = normal((4, 2) + ksize, seed=39)
    y = run(backend, CONV[n_spatial], x, w, stride=stride, padding=padding,
            dilation=dilation, groups=2)
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ksize))
    pads = reference_pads(padding, size, extents, stride)
    mask = _window_mask(size, nan_pos, ksize, stride, pads, dilation)
    assert mask.any() and not mask.all()
    # other samples and the other group's kernels are untouched
    for n in (0, 2):
        assert np.isfinite(y[n]).all()
    assert np.isfinite(y[1, :2]).all()
    for k in (2, 3):
        np.testing.assert_array_equal(np.isnan(y[1, k]), mask)
    # and the finite outputs are the right ones
    x_clean = np.where(np.isnan(x), 0.0, x)
    expected = brute_conv(x_clean, w, stride=stride, padding=padding,
                          dilation=dilation, groups=2)
    finite = np.isfinite(y)
    np.testing.assert_allclose(y[finite], expected[finite], rtol=1e-10, atol=1e-10)


def test_nan_propagates_through_zero_weights(backend):
    """A NaN inside a window gives NaN even where the kernel weight is 0."""
    x = np.ones((1, 1, 6))
    x[0, 0, 2] = np.nan
    w = np.zeros((1, 1, 3))
    y = run(backend, conv1d, x, w)
    np.testing.assert_array_equal(np.isnan(y[0, 0]), [True, True, True, False])
    assert y[0, 0, 3] == 0.0


# --------------------------------------------------------------------------
# 7. property-based tests
# --------------------------------------------------------------------------


@st.composite
def conv_configs(draw, n_spatial):
    """A valid small conv configuration: shapes plus keyword arguments."""
    groups = draw(st.integers(1, 2))
    c_per_group = draw(st.integers(1, 2))
    k_per_group = draw(st.integers(1, 2))
    n_samples = draw(st.integers(1, 2))
    padding_kind = draw(st.sampled_from(["valid", "same", "full", "int"]))
    pad = draw(st.integers(0, 2)) if padding_kind == "int" else 0
    ksize, sizes, strides, dilations = [], [], [], []
    for _ in range(n_spatial):
        k = draw(st.integers(1, 4))
        d = draw(st.integers(1, 2))
        extent = d * (k - 1) + 1
        low = 1 if padding_kind in ("same", "full") else max(1, extent - 2 * pad)
        ksize.append(k)
        dilations.append(d)
        strides.append(draw(st.integers(1, 3)))
        sizes.append(draw(st.integers(low, low + 6)))
    kwargs = dict(
        stride=tuple(strides),
        dilation=tuple(dilations),
        padding=pad if padding_kind == "int" else padding_kind,
        groups=groups,
        flip=draw(st.booleans()),
    )
    x_shape = (n_samples, groups * c_per_group) + tuple(sizes)
    k_shape = (groups * k_per_group, c_per_group) + tuple(ksize)
    return x_shape, k_shape, kwargs


seeds = st.integers(0, 2**32 - 1)
coefs = st.floats(-3.0, 3.0, allow_nan=False)


@pytest.mark.parametrize("n_spatial", [1, 2])
@HYP
@given(data=st.data(), seed=seeds)
def test_property_matches_brute_force(backend, n_spatial, data, seed):
    x_shape, k_shape, kwargs = data.draw(conv_configs(n_spatial))
    x = normal(x_shape, seed)
    w = normal(k_shape, seed + 1)
    bias = normal(k_shape[0], seed + 2)
    y = run(backend, CONV[n_spatial], x, w, bias=bias, **kwargs)
    assert_close(y, brute_conv(x, w, bias=bias, **kwargs))


@pytest.mark.parametrize("n_spatial", [1, 2])
@HYP
@given(data=st.data(), seed=seeds, a=coefs, b=coefs)
def test_property_linear_in_x(backend, n_spatial, data, seed, a, b):
    x_shape, k_shape, kwargs = data.draw(conv_configs(n_spatial))
    x1, x2 = normal(x_shape, seed), normal(x_shape, seed + 1)
    w = normal(k_shape, seed + 2)
    func = CONV[n_spatial]
    lhs = run(backend, func, a * x1 + b * x2, w, **kwargs)
    rhs = a * run(backend, func, x1, w, **kwargs) + b * run(backend, func, x2, w, **kwargs)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("n_spatial", [1, 2])
@HYP
@given(data=st.data(), seed=seeds, a=coefs, b=coefs)
def test_property_linear_in_kernels(backend, n_spatial, data, seed, a, b):
    x_shape, k_shape, kwargs = data.draw(conv_configs(n_spatial))
    x = normal(x_shape, seed)
    w1, w2 = normal(k_shape, seed + 1), normal(k_shape, seed + 2)
    func = CONV[n_spatial]
    lhs = run(backend, func, x, a * w1 + b * w2, **kwargs)
    rhs = a * run(backend, func, x, w1, **kwargs) + b * run(backend, func, x, w2, **kwargs)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("n_spatial", [1, 2])
@HYP
@given(data=st.data(), seed=seeds)
def test_property_flip_is_correlation_with_reversed_kernels(backend, n_spatial, data, seed):
    x_shape, k_shape, kwargs = data.draw(conv_configs(n_spatial))
    kwargs.pop("flip")
    x = normal(x_shape, seed)
    w = normal(k_shape, seed + 1)
    func = CONV[n_spatial]
    reversed_w = w[(Ellipsis,) + (slice(None, None, -1),) * n_spatial].copy()
    assert_close(run(backend, func, x, w, flip=True, **kwargs),
                 run(backend, func, x, reversed_w, flip=False, **kwargs))


@HYP
@given(n=st.integers(1, 10), m=st.integers(1, 10), seed=seeds)
def test_property_true_convolution_commutes_1d(backend, n, m, seed):
    u = normal((1, 1, n), seed)
    v = normal((1, 1, m), seed + 1)
    uv = run(backend, conv1d, u, v, padding="full", flip=True)
    vu = run(backend, conv1d, v, u, padding="full", flip=True)
    assert uv.shape == (1, 1, n + m - 1)
    assert_close(uv, vu)
    assert_close(uv[0, 0], np.convolve(u[0, 0], v[0, 0]))


@HYP
@given(shape_u=st.tuples(st.integers(1, 5), st.integers(1, 5)),
       shape_v=st.tuples(st.integers(1, 5), st.integers(1, 5)), seed=seeds)
def test_property_true_convolution_commutes_2d(backend, shape_u, shape_v, seed):
    u = normal((1, 1) + shape_u, seed)
    v = normal((1, 1) + shape_v, seed + 1)
    uv = run(backend, conv2d, u, v, padding="full", flip=True)
    vu = run(backend, conv2d, v, u, padding="full", flip=True)
    assert_close(uv, vu)


@pytest.mark.parametrize("n_spatial", [1, 2])
@HYP
@given(data=st.data(), seed=seeds)
def test_property_translation_equivariance(backend, n_spatial, data, seed):
    """Shifting the input by m*stride shifts the valid output by m."""
    ksize = [data.draw(st.integers(1, 3)) for _ in range(n_spatial)]
    dilation = [data.draw(st.integers(1, 2)) for _ in range(n_spatial)]
    stride = [data.draw(st.integers(1, 2)) for _ in range(n_spatial)]
    shift = [data.draw(st.integers(0, 2)) for _ in range(n_spatial)]
    # long enough that at least one output overlaps after the shift
    sizes = [d * (k - 1) + 1 + s * m + data.draw(st.integers(0, 4))
             for k, d, s, m in zip(ksize, dilation, stride, shift)]
    z = normal((1, 2) + tuple(n + s * m for n, s, m in zip(sizes, stride, shift)), seed)
    w = normal((2, 2) + tuple(ksize), seed + 1)
    x_ref = z[(Ellipsis,) + tuple(slice(0, n) for n in sizes)]
    x_shifted = z[(Ellipsis,) + tuple(slice(s * m, s * m + n)
                                      for n, s, m in zip(sizes, stride, shift))]
    func = CONV[n_spatial]
    kwargs = dict(stride=tuple(stride), dilation=tuple(dilation))
    y_ref = run(backend, func, x_ref, w, **kwargs)
    y_shifted = run(backend, func, x_shifted, w, **kwargs)
    out = y_ref.shape[2:]
    assert all(o > m for o, m in zip(out, shift))
    ref_part = y_ref[(Ellipsis,) + tuple(slice(m, None) for m in shift)]
    shifted_part = y_shifted[(Ellipsis,) + tuple(slice(0, o - m)
                                                 for o, m in zip(out, shift))]
    assert_close(shifted_part, ref_part)


@pytest.mark.parametrize("n_spatial", [1, 2])
@HYP
@given(data=st.data(), seed=seeds)
def test_property_centred_delta_is_identity(backend, n_spatial, data, seed):
    n_channels = data.draw(st.integers(1, 3))
    depthwise = data.draw(st.booleans())
    half = [data.draw(st.integers(0, 2)) for _ in range(n_spatial)]
    dilation = tuple(data.draw(st.integers(1, 2)) for _ in range(n_spatial))
    sizes = tuple(data.draw(st.integers(1, 7)) for _ in range(n_spatial))
    ksize = tuple(2 * h + 1 for h in half)
    x = normal((2, n_channels) + sizes, seed)
    if depthwise:
        w = np.zeros((n_channels, 1) + ksize)
        for c in range(n_channels):
            w[(c, 0) + tuple(half)] = 1.0
        groups = n_channels
    else:
        w = np.zeros((n_channels, n_channels) + ksize)
        for c in range(n_channels):
            w[(c, c) + tuple(half)] = 1.0
        groups = 1
    y = run(backend, CONV[n_spatial], x, w, padding="same", dilation=dilation,
            groups=groups, flip=data.draw(st.booleans()))
    np.testing.assert_array_equal(y, x)


# --------------------------------------------------------------------------
# 8. bad input
# --------------------------------------------------------------------------


def _msg(name, *fragments):
    """Pattern: the message starts with ``name`` and contains ``fragments``."""
    return "^" + re.escape(name) + r"\b.*" + ".*".join(re.escape(f) for f in fragments)


def _z(*shape, dtype=np.float64):
    return np.zeros(shape, dtype=dtype)


X1, K1 = (2, 3, 8), (4, 3, 3)          # default 1-D shapes
X2, K2 = (2, 3, 6, 6), (4, 3, 3, 3)    # default 2-D shapes

# (n_spatial, x, kernels, kwargs, exception, pattern); x/kernels are shapes
# or ready-made NumPy arrays.
BAD_INPUT = {
    # ndim
    "x-2d-for-conv1d": (1, (3, 8), K1, {}, ValueError,
                        _msg("x", "3-D", "got an array of shape (3, 8) (2-D)")),
    "x-4d-for-conv1d": (1, (1, 3, 8, 1), K1, {}, ValueError,
                        _msg("x", "3-D", "shape (1, 3, 8, 1) (4-D)")),
    "x-3d-for-conv2d": (2, (3, 6, 6), K2, {}, ValueError,
                        _msg("x", "4-D", "shape (3, 6, 6) (3-D)")),
    "kernels-2d-for-conv1d": (1, X1, (3, 3), {}, ValueError,
                              _msg("kernels", "3-D", "shape (3, 3) (2-D)")),
    "kernels-3d-for-conv2d": (2, X2, (4, 3, 3), {}, ValueError,
                              _msg("kernels", "4-D", "shape (4, 3, 3) (3-D)")),
    # channels and groups
    "channel-mismatch": (1, X1, (4, 2, 3), {}, ValueError,
                         _msg("kernels", "2 input channels", "x has 3 channels",
                              "(4, 2, 3)")),
    "channel-mismatch-groups": (2, (1, 4, 5, 5), (4, 4, 3, 3), dict(groups=2),
                                ValueError,
                                _msg("kernels", "4 input channels", "x has 4",
                                     "groups=2", "(n_kernels, 2, ...)")),
    "groups-not-dividing-C": (1, (2, 3, 8), (2, 1, 3), dict(groups=2), ValueError,
                              _msg("groups", "n_channels (3)", "got groups=2")),
    "groups-not-dividing-K": (1, (2, 4, 8), (3, 2, 3), dict(groups=2), ValueError,
                              _msg("groups", "n_kernels (3)", "got groups=2")),
    "groups-0": (1, X1, K1, dict(groups=0), ValueError, _msg("groups", ">= 1", "got 0")),
    "groups-negative": (1, X1, K1, dict(groups=-3), ValueError,
                        _msg("groups", ">= 1", "got -3")),
    "groups-float": (1, X1, K1, dict(groups=1.5), TypeError,
                     _msg("groups", "int", "float 1.5")),
    "groups-bool": (1, X1, K1, dict(groups=True), TypeError,
                    _msg("groups", "int", "bool True")),
    # kernel does not fit
    "kernel-larger-than-input": (1, (1, 1, 3), (1, 1, 5), {}, ValueError,
                                 _msg("kernels", "dilated size (5,)",
                                      "padded input of size (3,)", "'valid'")),
    "dilated-kernel-larger": (1, (1, 1, 4), (1, 1, 3), dict(dilation=2), ValueError,
                              _msg("kernels", "dilated size (5,)", "dilation (2,)",
                                   "padded input of size (4,)")),
    "kernel-larger-after-padding": (2, (1, 1, 4, 4), (1, 1, 7, 3), dict(padding=1),
                                    ValueError,
                                    _msg("kernels", "dilated size (7, 3)",
                                         "padded input of size (6, 6)",
                                         "padding=1")),
    # stride / dilation
    "stride-0": (1, X1, K1, dict(stride=0), ValueError, _msg("stride", ">= 1", "got 0")),
    "stride-negative": (2, X2, K2, dict(stride=(1, -2)), ValueError,
                        _msg("stride", ">= 1", "got (1, -2)")),
    "stride-float": (1, X1, K1, dict(stride=1.5), TypeError, _msg("stride", "int", "1.5")),
    "stride-float-in-tuple": (2, X2, K2, dict(stride=(1, 2.0)), TypeError,
                              _msg("stride", "int", "(1, 2.0)")),
    "stride-str": (1, X1, K1, dict(stride="2"), TypeError, _msg("stride", "int", "'2'")),
    "stride-tuple-length": (2, X2, K2, dict(stride=(1, 2, 3)), ValueError,
                            _msg("stride", "tuple of 2 ints", "got (1, 2, 3)")),
    "stride-tuple-length-1d": (1, X1, K1, dict(stride=(1, 1)), ValueError,
                               _msg("stride", "tuple of 1 ints", "got (1, 1)")),
    "dilation-0": (1, X1, K1, dict(dilation=0), ValueError,
                   _msg("dilation", ">= 1", "got 0")),
    "dilation-negative": (2, X2, K2, dict(dilation=(-1, 1)), ValueError,
                          _msg("dilation", ">= 1", "got (-1, 1)")),
    "dilation-float": (2, X2, K2, dict(dilation=1.5), TypeError,
                       _msg("dilation", "int", "1.5")),
    "dilation-tuple-length": (2, X2, K2, dict(dilation=(1,)), ValueError,
                              _msg("dilation", "tuple of 2 ints", "got (1,)")),
    # padding
    "padding-unknown-string": (1, X1, K1, dict(padding="circular"), ValueError,
                               _msg("padding", "'full', 'same', 'valid'",
                                    "got 'circular'")),
    "padding-wrong-case": (1, X1, K1, dict(padding="SAME"), ValueError,
                           _msg("padding", "got 'SAME'")),
    "padding-negative": (1, X1, K1, dict(padding=-1), ValueError,
                         _msg("padding", ">= 0", "got -1")),
    "padding-negative-pair": (1, X1, K1, dict(padding=((1, -2),)), ValueError,
                              _msg("padding", ">= 0", "got ((1, -2),)")),
    "padding-negative-2d": (2, X2, K2, dict(padding=(0, (2, -1))), ValueError,
                            _msg("padding", ">= 0", "got (0, (2, -1))")),
    "padding-float": (1, X1, K1, dict(padding=1.5), TypeError,
                      _msg("padding", "got 1.5")),
    "padding-triple": (2, X2, K2, dict(padding=((1, 2, 3), 0)), TypeError,
                       _msg("padding", "(before, after) pairs", "got ((1, 2, 3), 0)")),
    "padding-tuple-length": (2, X2, K2, dict(padding=(1, 2, 3)), ValueError,
                             _msg("padding", "tuple of 2 entries", "got (1, 2, 3)")),
    # dtypes
    "x-complex": (1, _z(*X1, dtype=np.complex128), K1, {}, TypeError,
                  _msg("x", "real numeric dtype", "got dtype complex128")),
    "kernels-complex": (2, X2, _z(*K2, dtype=np.complex64), {}, TypeError,
                        _msg("kernels", "real numeric dtype", "got dtype complex64")),
    # bias
    "bias-wrong-length": (1, X1, K1, dict(bias=_z(3)), ValueError,
                          _msg("bias", "(n_kernels,) = (4,)", "got (3,)")),
    "bias-2d": (2, X2, K2, dict(bias=_z(4, 1)), ValueError,
                _msg("bias", "1-D", "(4,)", "got an array of shape (4, 1) (2-D)")),
    "bias-scalar": (1, X1, K1, dict(bias=_z()), ValueError,
                    _msg("bias", "1-D", "shape () (0-D)")),
    "bias-complex": (1, X1, K1, dict(bias=_z(4, dtype=np.complex128)), TypeError,
                     _msg("bias", "real numeric dtype", "complex128")),
    # flip
    "flip-int": (1, X1, K1, dict(flip=1), TypeError, _msg("flip", "True or False", "int 1")),
    "flip-str": (2, X2, K2, dict(flip="yes"), TypeError,
                 _msg("flip", "True or False", "str 'yes'")),
    "flip-none": (1, X1, K1, dict(flip=None), TypeError,
                  _msg("flip", "True or False", "NoneType None")),
    # max_memory
    "max_memory-lots": (1, X1, K1, dict(max_memory="lots"), ValueError,
                        _msg("max_memory", "'512MB'", "got 'lots'")),
    "max_memory-unknown-unit": (1, X1, K1, dict(max_memory="5XB"), ValueError,
                                _msg("max_memory", "got '5XB'")),
    "max_memory-negative": (1, X1, K1, dict(max_memory=-5), ValueError,
                            _msg("max_memory", "positive", "got -5")),
    "max_memory-zero": (2, X2, K2, dict(max_memory=0), ValueError,
                        _msg("max_memory", "positive", "got 0")),
    "max_memory-zero-str": (1, X1, K1, dict(max_memory="0KB"), ValueError,
                            _msg("max_memory", "positive", "got '0KB'")),
    "max_memory-float": (1, X1, K1, dict(max_memory=1.5e6), TypeError,
                         _msg("max_memory", "int", "float 1500000.0")),
    "max_memory-none": (1, X1, K1, dict(max_memory=None), TypeError,
                        _msg("max_memory", "int", "NoneType None")),
    # empty kernel banks
    "zero-kernels": (1, X1, (0, 3, 3), {}, ValueError,
                     _msg("kernels", "at least one kernel", "shape (0, 3, 3)")),
    "zero-size-kernel-axis": (1, X1, (4, 3, 0), {}, ValueError,
                              _msg("kernels", "size >= 1", "shape (4, 3, 0)")),
    "zero-size-kernel-axis-2d": (2, X2, (4, 3, 3, 0), {}, ValueError,
                                 _msg("kernels", "size >= 1", "shape (4, 3, 3, 0)")),
    "zero-kernels-2d": (2, X2, (0, 3, 2, 2), dict(groups=1), ValueError,
                        _msg("kernels", "at least one kernel", "shape (0, 3, 2, 2)")),
}


@pytest.mark.parametrize(
    "n_spatial, x, kernels, kwargs, exc, pattern",
    [pytest.param(*case, id=name) for name, case in BAD_INPUT.items()],
)
def test_bad_input(backend, n_spatial, x, kernels, kwargs, exc, pattern):
    x = _z(*x) if isinstance(x, tuple) else x
    kernels = _z(*kernels) if isinstance(kernels, tuple) else kernels
    kwargs = dict(kwargs)
    if isinstance(kwargs.get("bias"), np.ndarray):
        kwargs["bias"] = backend.asarray(kwargs["bias"])
    with pytest.raises(exc, match=pattern):
        CONV[n_spatial](backend.asarray(x), backend.asarray(kernels), **kwargs)


@pytest.mark.parametrize(
    "x, pattern",
    [
        pytest.param(np.array([[[1.0, None, 2.0]]], dtype=object),
                     _msg("x", "real numeric dtype", "got dtype object"),
                     id="object"),
        pytest.param(np.array([[["a", "b", "c"]]]),
                     _msg("x", "real numeric dtype", "got dtype <U1"), id="string"),
        pytest.param([[[1.0, 2.0, 3.0]], [[1.0]]],
                     _msg("x", "array-like", "got list"), id="ragged-list"),
    ],
)
def test_non_numeric_x_numpy_only(x, pattern):
    # Object, string and ragged data cannot live on a GPU: NumPy only.
    with pytest.raises(TypeError, match=pattern):
        conv1d(x, np.ones((1, 1, 2)))


def test_object_kernels_numpy_only():
    kernels = np.array([[[1.0, 2.0]]], dtype=object)
    with pytest.raises(TypeError, match=_msg("kernels", "got dtype object")):
        conv1d(np.ones((1, 1, 4)), kernels)


@pytest.mark.parametrize("flip", [np.True_, np.False_])
def test_numpy_bool_flip_is_accepted(backend, flip):
    x = np.arange(6.0).reshape(1, 1, 6)
    w = np.array([[[1.0, 2.0, 0.0]]])
    got = backend.to_numpy(conv1d(backend.asarray(x), backend.asarray(w), flip=flip))
    want = conv1d(x, w, flip=bool(flip))
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("padding", ["valid", "same", "full", 1])
def test_empty_spatial_axis_is_rejected(backend, padding):
    x = backend.asarray(np.ones((1, 1, 0)))
    w = backend.asarray(np.ones((1, 1, 3)))
    with pytest.raises(ValueError, match=r"^x must have at least one sample on every spatial axis, got shape \(1, 1, 0\)"):
        conv1d(x, w, padding=padding)


# --------------------------------------------------------------------------
# 9. method='direct' | 'fft' | 'separable' | 'auto'
# --------------------------------------------------------------------------

def rank1(shape, seed, dtype=np.float64):
    """Kernels whose every (kh, kw) slice is an outer product."""
    rng = np.random.default_rng(seed)
    cols = rng.standard_normal(shape[:3] + (1,))
    rows = rng.standard_normal(shape[:2] + (1, shape[3]))
    return (cols * rows).astype(dtype)


def assert_method_close(got, expected, dtype):
    """Agreement to float tolerance, relative to the output's scale (the
    FFT's rounding error is relative to the largest output, not to each)."""
    assert got.shape == expected.shape, (got.shape, expected.shape)
    scale = float(np.abs(expected).max()) if expected.size else 1.0
    tol = 1e-4 if np.dtype(dtype) == np.float32 else 1e-10
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol * max(scale, 1e-30))


METHOD_CASES_2D = [
    dict(x=(2, 3, 9, 8), w=(4, 3, 3, 3)),
    dict(x=(2, 3, 9, 8), w=(4, 3, 3, 3), padding="same", bias=True),
    dict(x=(2, 2, 7, 9), w=(3, 2, 2, 4), padding="full", flip=True),
    dict(x=(2, 2, 10, 11), w=(3, 2, 3, 2), stride=(2, 3), padding=(1, (0, 2))),
    dict(x=(1, 2, 12, 10), w=(2, 2, 3, 3), dilation=(2, 3), padding="same", stride=2),
    dict(x=(2, 4, 8, 8), w=(6, 2, 3, 4), groups=2, bias=True, padding=1),
    dict(x=(2, 3, 7, 6), w=(3, 1, 5, 3), groups=3, padding="same", flip=True),
    dict(x=(3, 2, 6, 40), w=(2, 2, 3, 9), padding="same"),   # ragged row blocks
    dict(x=(2, 2, 5, 34), w=(2, 2, 3, 3)),                   # exact row blocks
    dict(x=(1, 1, 5, 5), w=(1, 1, 5, 5), flip=True),          # kernel = image
    dict(x=(2, 17, 6, 6), w=(2, 17, 3, 3), padding=1),        # fft: GEMM product
    dict(x=(2, 2, 6, 7), w=(2, 2, 1, 3), padding="same"),     # 1-row kernels
]
METHOD_CASES_1D = [
    dict(x=(2, 3, 20), w=(4, 3, 5)),
    dict(x=(2, 3, 20), w=(4, 3, 6), padding="same", stride=3),
    dict(x=(2, 4, 15), w=(4, 2, 3), groups=2, dilation=3, padding="full",
         flip=True, bias=True),
    dict(x=(1, 2, 9), w=(2, 2, 9), padding=((4, 0),)),
    dict(x=(2, 16, 12), w=(3, 16, 4), padding="same"),       # fft: GEMM product
]


def _method_params():
    params = []
    for n_spatial, cases, methods in ((2, METHOD_CASES_2D, ("fft", "separable", "auto")),
                                      (1, METHOD_CASES_1D, ("fft", "auto"))):
        for i, case in enumerate(cases):
            for method in methods:
                params.append(pytest.param(n_spatial, case, method,
                                           id=f"{n_spatial}d-{i}-{method}"))
    return params


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_spatial, case, method", _method_params())
def test_methods_match_direct(backend, n_spatial, case, method, dtype):
    case = dict(case)
    x = normal(case.pop("x"), seed=40, dtype=dtype)
    k_shape = case.pop("w")
    w = (rank1(k_shape, seed=41, dtype=dtype) if n_spatial == 2
         else normal(k_shape, seed=41, dtype=dtype))
    bias = normal(k_shape[0], seed=42, dtype=dtype) if case.pop("bias", False) else None
    x_copy, w_copy = x.copy(), w.copy()
    func = CONV[n_spatial]
    expected = run(backend, func, x, w, bias=bias, method="direct", **case)
    got = run(backend, func, x, w, bias=bias, method=method, **case)
    assert got.dtype == dtype
    assert_method_close(got, expected, dtype)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(w, w_copy)


def test_direct_is_the_existing_routine(backend):
    """method='direct' runs today's im2col + GEMM unchanged (bit for bit)."""
    x = normal((2, 3, 9, 9), seed=43)
    w = normal((4, 3, 3, 3), seed=44)
    xb, wb = backend.asarray(x), backend.asarray(w)
    pads = ((1, 1), (1, 1))
    expected = conv_module._conv(conv_module.get_namespace(xb), xb, wb, (1, 1),
                                 pads, (1, 1), None, False, 1, 2**29)
    got = conv2d(xb, wb, padding=1, method="direct")
    np.testing.assert_array_equal(backend.to_numpy(got), backend.to_numpy(expected))


@pytest.mark.parametrize("method", ["fft", "separable"])
@pytest.mark.parametrize("flip", [False, True], ids=["correlate", "convolve"])
@pytest.mark.parametrize("mode, x_shape, k_shape", [
    (mode, xs, ks) for mode, cases in ORACLE_2D.items() for xs, ks in cases])
def test_methods_match_scipy_signal(backend, mode, x_shape, k_shape, flip, method):
    x = normal(x_shape, seed=45)
    w = rank1(k_shape, seed=46)
    y = run(backend, conv2d, x, w, padding=mode, flip=flip, method=method)
    assert_method_close(y, scipy_conv(x, w, mode, flip), np.float64)


@pytest.mark.parametrize("flip", [False, True], ids=["correlate", "convolve"])
@pytest.mark.parametrize("mode, x_shape, k_shape", [
    (mode, xs, ks) for mode, cases in ORACLE_1D.items() for xs, ks in cases])
def test_fft_matches_scipy_signal_1d(backend, mode, x_shape, k_shape, flip):
    x = normal(x_shape, seed=47)
    w = normal(k_shape, seed=48)
    y = run(backend, conv1d, x, w, padding=mode, flip=flip, method="fft")
    assert_method_close(y, scipy_conv(x, w, mode, flip), np.float64)


@pytest.mark.parametrize("method", ["fft", "separable"])
@pytest.mark.parametrize("max_memory", [1, "3KB", "1MB"])
def test_methods_chunked_and_threaded(backend, monkeypatch, method, max_memory):
    """Chunks of samples (and, for the FFT on NumPy, threads over them) do
    not change the result."""
    monkeypatch.setattr(fft_module, "cpu_threads", lambda: 3)
    x = normal((7, 2, 9, 23), seed=49)
    w = rank1((3, 2, 3, 5), seed=50)
    bias = normal(3, seed=51)
    kwargs = dict(padding="same", stride=(1, 2), bias=bias)
    expected = run(backend, conv2d, x, w, method="direct", **kwargs)
    got = run(backend, conv2d, x, w, method=method, max_memory=max_memory, **kwargs)
    assert_method_close(got, expected, np.float64)


def test_fft_threads_split_whole_chunks(monkeypatch):
    seen = []
    threads_module.run_in_threads(lambda lo, hi: seen.append((lo, hi)), 10, 3, 2)
    assert sorted(seen) == [(0, 6), (6, 10)]       # chunks [0,3) [3,6) | [6,9) [9,10)
    seen.clear()
    threads_module.run_in_threads(lambda lo, hi: seen.append((lo, hi)), 2, 4, 8)
    assert seen == [(0, 2)]                        # one chunk: no thread


@pytest.mark.parametrize("method", ["fft", "separable", "auto"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_methods_empty_batch(backend, method, dtype):
    x = np.zeros((0, 2, 6, 5), dtype=dtype)
    w = rank1((3, 2, 3, 2), seed=52)
    y = run(backend, conv2d, x, w, padding="full", bias=np.ones(3), method=method)
    assert y.shape == (0, 3, 8, 6) and y.dtype == dtype


def test_fast_length():
    def smooth(m):
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        return m == 1

    for n in range(1, 400):
        expected = next(m for m in itertools.count(n) if smooth(m))
        assert fft_module.fast_length(n) == expected, n


def test_row_blocks_cover_the_output():
    for out_width in range(1, 130):
        for extent in (1, 3, 9, 13, 25, 50):
            n_blocks, block = row_block(out_width, extent)
            assert n_blocks * block >= out_width > (n_blocks - 1) * block


# --- rank-1 detection -------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rank1_outer_products_pass(backend, dtype):
    w = rank1((3, 2, 4, 5), seed=53, dtype=dtype)
    w[1, 0] = 0.0                                  # a zero slice is rank 0
    w[2, 1] = np.outer(np.arange(1.0, 5.0), np.ones(5))   # exact small ints
    xp = conv_module.get_namespace(backend.asarray(w))
    u, v, error = rank1_factors(xp, backend.asarray(w))
    u, v, error = (backend.to_numpy(a) for a in (u, v, error))
    assert u.shape == (3, 2, 4) and v.shape == (3, 2, 5) and u.dtype == dtype
    assert error.max() < (1e-6 if dtype == np.float32 else 1e-14)
    np.testing.assert_allclose(u[..., :, None] * v[..., None, :], w,
                               atol=1e-6 if dtype == np.float32 else 1e-13)
    # float64 outer products cast to float32 x are rank 1 too
    x = normal((1, 2, 8, 8), seed=54, dtype=np.float32)
    y = run(backend, conv2d, x, rank1((3, 2, 4, 5), seed=53), method="separable")
    assert y.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_separable_rejects_a_kernel_that_is_not_rank1(backend, dtype):
    w = rank1((3, 2, 3, 3), seed=55, dtype=dtype)
    w[1, 0] = normal((3, 3), seed=56, dtype=dtype)  # random: rank 3
    w[2, 1] += np.float64(1e-3) * np.eye(3, dtype=dtype)  # a small rank-3 part
    x = backend.asarray(normal((1, 2, 6, 6), seed=57, dtype=dtype))
    pattern = (r"^method='separable' needs every \(kernel, channel\) slice .*"
               r"rank 1.* kernels\[1, 0\] has numerical rank 3 \(singular "
               r"values s2/s1 = .*; 2 of 6 slices are not rank 1\.  Use "
               r"method='direct', 'fft' or 'auto'\.$")
    with pytest.raises(ValueError, match=pattern):
        conv2d(x, backend.asarray(w), method="separable")
    # 'auto' falls back to a method that needs no factorisation
    expected = run(backend, conv2d, backend.to_numpy(x), w, method="direct")
    assert_method_close(run(backend, conv2d, backend.to_numpy(x), w, method="auto"),
                        expected, dtype)


def test_separable_tolerance_is_relative_error_of_the_outer_product(backend):
    """A rank-1 slice plus a perturbation of relative size e passes for
    e well below the float64 tolerance and fails well above it."""
    base = rank1((1, 1, 4, 4), seed=58)
    bump = np.zeros_like(base)
    bump[0, 0, 1, 2] = np.linalg.norm(base)
    x = normal((1, 1, 6, 6), seed=59)
    run(backend, conv2d, x, base + 1e-14 * bump, method="separable")
    with pytest.raises(ValueError, match=r"kernels\[0, 0\] has numerical rank 2"):
        run(backend, conv2d, x, base + 1e-9 * bump, method="separable")


def test_separable_rejects_non_finite_kernels(backend):
    w = rank1((2, 1, 3, 3), seed=60)
    w[1, 0, 1, 1] = np.inf
    with pytest.raises(ValueError, match=r"^method='separable' needs finite kernels"):
        run(backend, conv2d, normal((1, 1, 5, 5), seed=61), w, method="separable")


# --- 'auto' -----------------------------------------------------------------

@pytest.fixture
def ran(monkeypatch):
    """Names of the method routines that conv1d/conv2d ran, in order."""
    calls = []
    for name in ("_conv", "conv_fft", "conv_separable"):
        real = getattr(conv_module, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(conv_module, name, spy)
    return calls


def _fixed_costs(monkeypatch, **costs):
    def fake_costs(x_shape, k_shape, methods=("direct", "fft", "separable"),
                   **kwargs):
        return {m: c for m, c in costs.items()
                if m in methods and (m != "separable" or len(k_shape) == 4)}
    monkeypatch.setattr(conv_module, "method_costs", fake_costs)


def test_auto_takes_the_cheapest_applicable_method(backend, monkeypatch, ran):
    x = normal((2, 2, 8, 8), seed=62)
    separable_w, random_w = rank1((3, 2, 3, 3), seed=63), normal((3, 2, 3, 3), seed=64)
    _fixed_costs(monkeypatch, direct=3.0, fft=2.0, separable=1.0)
    for w, method in [(separable_w, "conv_separable"), (random_w, "conv_fft")]:
        ran.clear()
        y = run(backend, conv2d, x, w, padding="same")
        assert ran == [method]
        assert_method_close(y, run(backend, conv2d, x, w, padding="same",
                                   method="direct"), np.float64)
    ran.clear()
    run(backend, conv1d, x[..., 0], random_w[..., 0])     # no 'separable' in 1-D
    assert ran == ["conv_fft"]
    _fixed_costs(monkeypatch, direct=1.0, fft=2.0, separable=3.0)
    ran.clear()
    run(backend, conv2d, x, separable_w)
    assert ran == ["_conv"]
    # 1-wide kernels are never worth two passes
    _fixed_costs(monkeypatch, direct=3.0, fft=2.0, separable=1.0)
    ran.clear()
    run(backend, conv2d, x, separable_w[..., :1])
    assert ran == ["conv_fft"]


@pytest.mark.parametrize("where", ["x", "kernels"])
def test_auto_keeps_nan_local_by_going_direct(backend, monkeypatch, ran, where):
    _fixed_costs(monkeypatch, direct=3.0, fft=2.0, separable=1.0)
    x = normal((2, 1, 8, 8), seed=65)
    w = rank1((2, 1, 3, 3), seed=66)
    if where == "x":
        x[1, 0, 4, 4] = np.nan
    else:
        w[1, 0, 0, 0] = np.nan
    y = run(backend, conv2d, x, w)
    assert ran == ["_conv"]
    if where == "x":
        assert np.isfinite(y[0]).all()
        assert np.isnan(y[1]).sum() == 2 * 9      # the 3 x 3 windows around it
    else:
        assert np.isfinite(y[:, 0]).all() and np.isnan(y[:, 1]).all()


def test_auto_with_the_calibrated_model(backend, ran):
    """Clear-cut cases of the fitted cost model (docs: 'fft' from 9 x 9
    kernels on for 64 x 64 images): direct for small kernels, FFT for
    large ones."""
    x = normal((2, 1, 64, 64), seed=67)
    run(backend, conv2d, x, normal((2, 1, 3, 3), seed=68), padding="same")
    w = normal((2, 1, 41, 41), seed=69)
    y = run(backend, conv2d, x, w, padding="same")
    assert ran == ["_conv", "conv_fft"]
    assert_method_close(y, run(backend, conv2d, x, w, padding="same",
                               method="direct"), np.float64)


def test_cost_model_crossover_on_the_benchmark_shape():
    """The documented choice for (32, 3, 64, 64) float32 images, 16 kernels,
    'same' padding: direct up to 7 x 7, FFT from 9 x 9 (random kernels);
    rank-1 kernels separable from 7 x 7 up to 21 x 21."""
    def costs(k):
        a = (k - 1) // 2
        return conv_module.method_costs(
            (32, 3, 64, 64), (16, 3, k, k), stride=(1, 1), dilation=(1, 1),
            pads=((a, k - 1 - a),) * 2, groups=1)

    def best(k, methods):
        return min(methods, key=costs(k).__getitem__)

    assert [best(k, ("direct", "fft")) for k in (3, 5, 7, 9, 11, 31)] == [
        "direct", "direct", "direct", "fft", "fft", "fft"]
    assert [best(k, ("direct", "fft", "separable")) for k in (5, 7, 15, 21, 31)] == [
        "direct", "separable", "separable", "separable", "fft"]


# --- validation --------------------------------------------------------------

@pytest.mark.parametrize("method", ["fast", "FFT", None, 1])
@pytest.mark.parametrize("n_spatial", [1, 2])
def test_unknown_method(backend, n_spatial, method):
    x = backend.asarray(_z(*(X1 if n_spatial == 1 else X2)))
    w = backend.asarray(_z(*(K1 if n_spatial == 1 else K2)))
    with pytest.raises(ValueError, match=_msg(
            "method", "['auto', 'direct', 'fft', 'separable']", f"got {method!r}")):
        CONV[n_spatial](x, w, method=method)


def test_separable_is_meaningless_in_1d(backend):
    x, w = backend.asarray(_z(*X1)), backend.asarray(_z(*K1))
    with pytest.raises(ValueError, match=r"^method='separable' .* means nothing in "
                                         r"1-D: use method='direct', 'fft' or 'auto'"):
        conv1d(x, w, method="separable")


# --- property: fft == direct --------------------------------------------------

@pytest.mark.parametrize("n_spatial", [1, 2])
@HYP
@given(data=st.data(), seed=seeds)
def test_property_fft_matches_direct(backend, n_spatial, data, seed):
    x_shape, k_shape, kwargs = data.draw(conv_configs(n_spatial))
    x = normal(x_shape, seed)
    w = normal(k_shape, seed + 1)
    bias = normal(k_shape[0], seed + 2)
    func = CONV[n_spatial]
    expected = run(backend, func, x, w, bias=bias, method="direct", **kwargs)
    got = run(backend, func, x, w, bias=bias, method="fft", **kwargs)
    assert_method_close(got, expected, np.float64)
    if n_spatial == 2:
        w1 = rank1(k_shape, seed + 3)
        expected = run(backend, func, x, w1, method="direct", **kwargs)
        got = run(backend, func, x, w1, method="separable", **kwargs)
        assert_method_close(got, expected, np.float64)


# --------------------------------------------------------------------------
# conv_method: what 'auto' picks
# --------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape,k_shape,rank1", [
    ((4, 2, 40, 40), (3, 2, 3, 3), False),
    ((4, 2, 40, 40), (3, 2, 15, 15), False),
    ((4, 2, 40, 40), (3, 2, 15, 15), True),
    ((4, 2, 300), (3, 2, 31), False),
])
def test_conv_method_is_what_auto_runs(x_shape, k_shape, rank1):
    from featurelab.ops import conv_method

    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    if rank1:
        col = rng.standard_normal(k_shape[:2] + (k_shape[2], 1))
        row = rng.standard_normal(k_shape[:2] + (1, k_shape[3]))
        kernels = (col * row).astype(np.float32)
    else:
        kernels = rng.standard_normal(k_shape).astype(np.float32)
    conv = CONV[len(x_shape) - 2]
    method = conv_method(x, kernels, padding="same")
    assert method in ("direct", "fft", "separable")
    if not rank1:
        assert method != "separable"
    np.testing.assert_array_equal(conv(x, kernels, padding="same", method="auto"),
                                  conv(x, kernels, padding="same", method=method))


def test_conv_method_bad_input():
    from featurelab.ops import conv_method

    with pytest.raises(ValueError, match=r"x must be a batch .* got shape \(3, 4\)"):
        conv_method(np.zeros((3, 4)), np.zeros((1, 1, 2)))
    with pytest.raises(ValueError, match="kernels have shape"):
        conv_method(np.zeros((1, 2, 8, 8)), np.zeros((1, 3, 2, 2)))


# -------------------------------------------- channels-last columns

@pytest.mark.parametrize("channels_first", [False, True])
@pytest.mark.parametrize("shape,kshape,pads,stride,dilation,budget", [
    ((5, 1, 40), (30, 1, 9), ((8, 8),), (1,), (2,), 2**20),
    ((4, 3, 50), (20, 3, 7), ((0, 0),), (2,), (3,), 2**20),
    ((7, 2, 30), (5, 2, 3), ((1, 2),), (1,), (1,), 64),    # one sample per chunk
    ((3, 2, 9, 10), (6, 2, 3, 3), ((1, 1), (1, 1)), (1, 1), (1, 2), 2**20),
    ((5, 9, 7, 6), (4, 9, 2, 3), ((0, 1), (2, 0)), (2, 3), (1, 1), 900),
])
def test_channels_last_conv_is_scipy_correlate(backend, shape, kshape, pads, stride,
                                               dilation, budget, channels_first):
    from featurelab.backend import get_namespace

    x, k = normal(shape, 0), normal(kshape, 1)
    xb = backend.asarray(x)
    got = backend.to_numpy(conv_module._conv_channels_last(
        get_namespace(xb), xb, backend.asarray(k), pads, dilation, budget, stride,
        channels_first=channels_first))
    padded = np.pad(x, ((0, 0), (0, 0)) + pads)
    dilated = np.zeros(kshape[:2] + tuple(d * (n - 1) + 1 for n, d in
                                          zip(kshape[2:], dilation)))
    dilated[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in dilation)] = k
    want = np.stack([[sum(scipy.signal.correlate(padded[i, c], dilated[j, c], mode="valid")
                          for c in range(shape[1])) for j in range(kshape[0])]
                     for i in range(shape[0])])
    want = want[(Ellipsis,) + tuple(slice(None, None, s) for s in stride)]
    if not channels_first:
        want = np.moveaxis(want, 1, -1)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("x_shape,k_shape,stride,pads,dilation,last", [
    ((10, 64, 8, 8), (64, 64, 5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1), True),
    ((10, 16, 8, 8), (16, 16, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), True),
    ((10, 32, 8, 8), (64, 32, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), True),
    ((10, 64, 10), (64, 64, 5), (1,), ((2, 2),), (1,), True),
    ((10, 8, 8, 8), (16, 8, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), False),
    ((10, 3, 8, 8), (16, 3, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), False),
    ((10, 32, 32, 32), (64, 32, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), False),
    ((10, 32, 32, 32), (64, 32, 3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2), False),
    ((10, 64, 8, 8), (64, 64, 1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), False),
])
def test_columns_last_rule(x_shape, k_shape, stride, pads, dilation, last):
    """Channels-last columns for many channels on narrow outputs only (the
    measured cases of ``_columns_last``'s docstring)."""
    assert conv_module._columns_last(x_shape, k_shape, stride, pads, dilation) is last


@pytest.fixture
def columns_spy(monkeypatch):
    """Count the direct method's channels-last calls."""
    calls = []
    real = conv_module._conv_channels_last

    def spy(*args, **kwargs):
        calls.append(args[1].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(conv_module, "_conv_channels_last", spy)
    return calls


@pytest.mark.parametrize("n_spatial, case", [
    (2, dict(x=(3, 16, 6, 6), w=(5, 16, 3, 3), padding="same")),
    (2, dict(x=(2, 16, 7, 5), w=(4, 16, 2, 3), padding="full", flip=True)),
    (2, dict(x=(3, 20, 9, 8), w=(6, 20, 3, 2), stride=(2, 3), padding=1)),
    (2, dict(x=(2, 24, 9, 9), w=(3, 24, 3, 3), dilation=(2, 1), padding=(1, 2))),
    (1, dict(x=(4, 10, 4), w=(7, 10, 3), padding="same", flip=True)),
    (1, dict(x=(3, 40, 5), w=(2, 40, 4), stride=2, dilation=2, padding="full")),
])
@pytest.mark.parametrize("max_memory", ["512MB", 1])
def test_direct_channels_last_matches_brute_force(backend, columns_spy, n_spatial, case,
                                                  max_memory):
    """Multichannel input on narrow outputs goes through channels-last
    columns; same results as the loops, with bias, flip, stride, dilation and
    padding, in one chunk or one sample at a time."""
    case = dict(case)
    x = normal(case.pop("x"), seed=70)
    w = normal(case.pop("w"), seed=71)
    bias = normal(w.shape[0], seed=72)
    y = run(backend, CONV[n_spatial], x, w, bias=bias, method="direct",
            max_memory=max_memory, **case)
    assert len(columns_spy) == 1
    assert_close(y, brute_conv(x, w, bias=bias, **case))


@pytest.mark.parametrize("channels_first", [False, True])
def test_channels_last_chunks_respect_max_memory(backend, channels_first):
    """A chunk's input copy, columns and (channels first) transposed result
    fit in the budget, down to one sample at a time."""
    class RowSpy(_MatmulSpy):
        def matmul(self, a, b, *args, **kwargs):
            self.batches.append(a.shape[0])
            return self._xp.matmul(a, b, *args, **kwargs)

    x = normal((9, 16, 4, 4), seed=75)
    w = normal((40, 16, 3, 3), seed=76)     # K = 40: the result outweighs the input
    xb, wb = backend.asarray(x), backend.asarray(w)
    n_out, itemsize = 4 * 4, 8
    per_sample = itemsize * (16 * 9 * n_out + 6 * 6 * 16 + (40 * n_out if channels_first else 0))
    want = brute_conv(x, w, padding=1)
    if not channels_first:
        want = np.moveaxis(want, 1, -1)
    for budget, most in [(1, 1), (per_sample - 1, 1), (3 * per_sample, 3),
                         (3 * per_sample + per_sample // 2, 3), (10**9, 9)]:
        spy = RowSpy(conv_module.get_namespace(xb))
        got = conv_module._conv_channels_last(spy, xb, wb, ((1, 1), (1, 1)), (1, 1), budget,
                                              channels_first=channels_first)
        assert sum(spy.batches) == 9 * n_out, budget
        assert max(spy.batches) == most * n_out, (budget, spy.batches)
        assert_close(backend.to_numpy(got), want)


def test_direct_channels_last_propagates_nan_to_its_windows(backend, columns_spy):
    x = normal((2, 16, 5, 5), seed=73)
    x[1, 7, 0, 4] = np.nan
    w = normal((3, 16, 3, 3), seed=74)
    y = run(backend, conv2d, x, w, padding="same", method="direct")
    assert len(columns_spy) == 1
    mask = _window_mask((5, 5), (0, 4), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1))
    assert np.isfinite(y[0]).all()
    for k in range(3):
        np.testing.assert_array_equal(np.isnan(y[1, k]), mask)


@pytest.mark.parametrize("n_spatial", [1, 2])
@HYP
@given(data=st.data(), seed=seeds)
def test_property_channels_last_matches_brute_force(backend, n_spatial, data, seed):
    """Any ungrouped configuration, forced through channels-last columns."""
    from unittest import mock

    x_shape, k_shape, kwargs = data.draw(conv_configs(n_spatial))
    kwargs["groups"] = 1
    k_shape = (k_shape[0], x_shape[1]) + k_shape[2:]
    x = normal(x_shape, seed)
    w = normal(k_shape, seed + 1)
    bias = normal(k_shape[0], seed + 2)
    with mock.patch.object(conv_module, "_columns_last",
                           lambda *args: math.prod(args[1][2:]) > 1):
        y = run(backend, CONV[n_spatial], x, w, bias=bias, method="direct", **kwargs)
    assert_close(y, brute_conv(x, w, bias=bias, **kwargs))
