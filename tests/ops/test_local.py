"""Tests for the locally connected and tiled convolution operators.

Every test that computes something takes the ``backend`` fixture (NumPy and
the strict fake CuPy; real CuPy where there is a device).  References:

* :func:`brute`, a plain-Python loop over output positions, kernels,
  channels and taps, given the kernel bank of each position: ``weights[o]``
  for a locally connected layer, ``kernels[o mod tile]`` for a tiled one;
* ``conv1d``/``conv2d`` for the limits (shared weights, tile 1), and
  ``locally_connected*`` for a tile as large as the output grid.
"""

import itertools
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from featurelab.ops import (
    _local,
    conv1d,
    conv2d,
    locally_connected1d,
    locally_connected2d,
    tiled_conv1d,
    tiled_conv2d,
)
from tests.ops._reference import HYP, as_tuple, normal, reference_pads

CONV = {1: conv1d, 2: conv2d}
LOCAL = {1: locally_connected1d, 2: locally_connected2d}
TILED = {1: tiled_conv1d, 2: tiled_conv2d}



# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def assert_close(got, expected, dtype=np.float64):
    assert got.shape == expected.shape, (got.shape, expected.shape)
    tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-10
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def run(backend, func, x, weights, bias=None, **kwargs):
    """Call ``func`` on backend copies of NumPy data; return NumPy output."""
    xb = backend.asarray(x)
    y = func(xb, backend.asarray(weights),
             bias=None if bias is None else backend.asarray(bias), **kwargs)
    assert type(y) is type(xb)  # the output follows the input's backend
    return backend.to_numpy(y)


def geometry(x_shape, ksize, stride=1, padding="valid", dilation=1):
    """(stride, dilation, pads, out_size) from the documented rules."""
    n = len(ksize)
    stride, dilation = as_tuple(stride, n), as_tuple(dilation, n)
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ksize))
    pads = reference_pads(padding, x_shape[2:], extents, stride)
    out = tuple((m + a + b - e) // s + 1 for m, (a, b), e, s
                in zip(x_shape[2:], pads, extents, stride))
    return stride, dilation, pads, out


def brute(x, bank_of, n_kernels, ksize, stride=1, padding="valid",
          dilation=1, bias_of=None):
    """Loop reference: ``y[n, k, o] = bias_of(o)[k] + sum_{c, t}
    x_padded[n, c, o * stride + t * dilation] * bank_of(o)[k, c, t]``."""
    x = np.asarray(x, dtype=np.float64)
    sizes = x.shape[2:]
    stride, dilation, pads, out = geometry(x.shape, ksize, stride, padding,
                                           dilation)
    y = np.zeros(x.shape[:1] + (n_kernels,) + out)
    for n, o in itertools.product(range(x.shape[0]),
                                  itertools.product(*map(range, out))):
        bank = bank_of(o)
        for k in range(n_kernels):
            acc = 0.0 if bias_of is None else bias_of(o)[k]
            for c in range(x.shape[1]):
                for t in itertools.product(*map(range, ksize)):
                    idx = tuple(o[i] * stride[i] - pads[i][0] + t[i] * dilation[i]
                                for i in range(len(sizes)))
                    if all(0 <= j < m for j, m in zip(idx, sizes)):
                        acc += x[(n, c) + idx] * bank[(k, c) + t]
            y[(n, k) + o] = acc
    return y


def brute_local(x, weights, bias=None, **kwargs):
    n_spatial = x.ndim - 2
    return brute(x, lambda o: weights[o], weights.shape[n_spatial],
                 weights.shape[n_spatial + 2:], **kwargs,
                 bias_of=None if bias is None else (lambda o: bias[o]))


def brute_tiled(x, kernels, bias=None, **kwargs):
    n_spatial = x.ndim - 2
    tile = kernels.shape[:n_spatial]

    def cycle(o):
        return tuple(i % t for i, t in zip(o, tile))

    return brute(x, lambda o: kernels[cycle(o)], kernels.shape[n_spatial],
                 kernels.shape[n_spatial + 2:], **kwargs,
                 bias_of=None if bias is None else (lambda o: bias[cycle(o)]))


@pytest.fixture(params=["auto", "per_set", "gathered"])
def tiled_path(request, monkeypatch):
    """Run tiled convolution by its automatic choice, or force one way."""
    limit = {"per_set": -1, "gathered": 10**9}.get(request.param)
    if limit is not None:
        monkeypatch.setattr(_local, "_GATHER_MAX_POSITIONS", limit)
    return request.param


def _params(cases):
    return [pytest.param(case, id="-".join(f"{k}={v}" for k, v in case.items()))
            for case in cases]


# --------------------------------------------------------------------------
# 1. locally connected: against the loop and the shared-weights limit
# --------------------------------------------------------------------------

LOCAL_CASES = [
    dict(x=(2, 3, 9), K=2, k=(3,), stride=2, bias=True),
    dict(x=(2, 2, 10), K=3, k=(3,), stride=3, dilation=2, padding=2),
    dict(x=(1, 2, 7), K=2, k=(2,), padding=((1, 3),), stride=2, bias=True),
    dict(x=(2, 2, 8), K=2, k=(4,), padding="same"),
    dict(x=(1, 2, 6), K=2, k=(3,), padding="full", dilation=2, bias=True),
    dict(x=(2, 1, 5), K=1, k=(1,)),
    dict(x=(1, 1, 4), K=1, k=(2,), stride=10),
    dict(x=(2, 2, 6, 7), K=3, k=(3, 2), stride=(1, 2), bias=True),
    dict(x=(1, 2, 7, 7), K=2, k=(2, 3), dilation=(2, 1), stride=2),
    dict(x=(1, 2, 5, 6), K=2, k=(3, 3), padding=1, bias=True),
    dict(x=(2, 3, 5, 6), K=2, k=(3, 3), padding="same", stride=(2, 1)),
    dict(x=(1, 1, 4, 5), K=2, k=(2, 3), padding=((1, 0), (2, 1)), bias=True),
    dict(x=(1, 2, 4, 5), K=1, k=(2, 2), padding="full", dilation=(1, 2)),
]


def _draw_local(case, seed, dtype=np.float64):
    """x, weights, bias and keyword arguments for a LOCAL_CASES entry."""
    case = dict(case)
    x_shape, n_kernels, ksize = case.pop("x"), case.pop("K"), case.pop("k")
    with_bias = case.pop("bias", False)
    out = geometry(x_shape, ksize, **case)[3]
    x = normal(x_shape, seed, dtype)
    weights = normal(out + (n_kernels, x_shape[1]) + ksize, seed + 1, dtype)
    bias = normal(out + (n_kernels,), seed + 2, dtype) if with_bias else None
    return x, weights, bias, case


@pytest.mark.parametrize("case", _params(LOCAL_CASES))
def test_locally_connected_matches_loop(backend, case):
    x, weights, bias, kwargs = _draw_local(case, seed=1)
    x_copy, w_copy = x.copy(), weights.copy()
    y = run(backend, LOCAL[x.ndim - 2], x, weights, bias=bias, **kwargs)
    assert_close(y, brute_local(x, weights, bias, **kwargs))
    np.testing.assert_array_equal(x, x_copy)  # inputs untouched
    np.testing.assert_array_equal(weights, w_copy)


@pytest.mark.parametrize("case", _params(LOCAL_CASES))
def test_shared_weights_equal_conv(backend, case):
    x, weights, _, kwargs = _draw_local(case, seed=2)
    n_spatial = x.ndim - 2
    kernels = weights[(0,) * n_spatial]
    shared = np.broadcast_to(kernels, weights.shape)
    bias = normal(kernels.shape[0], seed=3)
    y = run(backend, LOCAL[n_spatial], x, shared,
            bias=np.broadcast_to(bias, weights.shape[:n_spatial + 1]), **kwargs)
    assert_close(y, run(backend, CONV[n_spatial], x, kernels, bias=bias, **kwargs))


@pytest.mark.parametrize("n_spatial", [1, 2])
def test_bias_adds_one_constant_per_unit(backend, n_spatial):
    x = normal((2, 2) + (5,) * n_spatial, seed=4)
    weights = normal((3,) * n_spatial + (2, 2) + (3,) * n_spatial, seed=5)
    bias = normal((3,) * n_spatial + (2,), seed=6)
    y0 = run(backend, LOCAL[n_spatial], x, weights)
    y1 = run(backend, LOCAL[n_spatial], x, weights, bias=bias)
    assert_close(y1 - y0, np.broadcast_to(np.moveaxis(bias, -1, 0), y0.shape))


@pytest.mark.parametrize("n_spatial", [1, 2])
def test_non_contiguous_inputs(backend, n_spatial):
    x = normal((3, 4) + (9,) * n_spatial, seed=7)
    x_view = x[:, ::-2][(Ellipsis,) + (slice(None, None, 2),) * n_spatial]
    weights = normal((3,) * n_spatial + (2, 2) + (3,) * n_spatial, seed=8)
    w_view = np.swapaxes(np.swapaxes(weights, 0, -1).copy(), 0, -1)
    y = run(backend, LOCAL[n_spatial], x_view, w_view, padding=1, stride=2)
    assert_close(y, brute_local(np.ascontiguousarray(x_view), weights,
                                padding=1, stride=2))


# --------------------------------------------------------------------------
# 2. tiled: against the loop and both limits
# --------------------------------------------------------------------------

TILED_CASES = [
    dict(x=(2, 2, 11), K=2, k=(3,), tile=(3,), bias=True),       # 9 = 3 * 3
    dict(x=(2, 2, 11), K=2, k=(3,), tile=(4,)),                  # 9 = 4+4+1
    dict(x=(1, 2, 12), K=2, k=(2,), tile=(2,), stride=2, padding="same",
         bias=True),
    dict(x=(2, 1, 10), K=3, k=(3,), tile=(3,), dilation=2, padding=1),  # 8
    dict(x=(1, 2, 9), K=2, k=(3,), tile=(5,), padding="full", bias=True),
    dict(x=(2, 2, 7, 8), K=2, k=(3, 3), tile=(2, 3), bias=True),  # (5, 6)
    dict(x=(1, 2, 9, 9), K=2, k=(2, 2), tile=(3, 2), stride=2,
         padding="same"),                                         # (5, 5)
    dict(x=(2, 1, 8, 7), K=3, k=(3, 2), tile=(4, 4), dilation=(1, 2),
         padding=1, bias=True),                                   # (8, 7)
    dict(x=(1, 2, 6, 6), K=1, k=(3, 3), tile=(1, 3), padding="full"),
]


def _draw_tiled(case, seed, dtype=np.float64):
    case = dict(case)
    x_shape, n_kernels, ksize = case.pop("x"), case.pop("K"), case.pop("k")
    tile = case.pop("tile")
    with_bias = case.pop("bias", False)
    x = normal(x_shape, seed, dtype)
    kernels = normal(tile + (n_kernels, x_shape[1]) + ksize, seed + 1, dtype)
    bias = normal(tile + (n_kernels,), seed + 2, dtype) if with_bias else None
    return x, kernels, bias, case


@pytest.mark.parametrize("case", _params(TILED_CASES))
def test_tiled_matches_loop(backend, tiled_path, case):
    x, kernels, bias, kwargs = _draw_tiled(case, seed=10)
    y = run(backend, TILED[x.ndim - 2], x, kernels, bias=bias, **kwargs)
    assert_close(y, brute_tiled(x, kernels, bias, **kwargs))


@pytest.mark.parametrize("case", _params(TILED_CASES))
def test_tile_one_equals_conv(backend, tiled_path, case):
    x, kernels, _, kwargs = _draw_tiled(case, seed=11)
    n_spatial = x.ndim - 2
    one = kernels[(slice(0, 1),) * n_spatial]
    bias = normal(kernels.shape[n_spatial], seed=12)
    y = run(backend, TILED[n_spatial], x, one,
            bias=bias.reshape((1,) * n_spatial + (-1,)), **kwargs)
    assert_close(y, run(backend, CONV[n_spatial], x, one[(0,) * n_spatial],
                        bias=bias, **kwargs))


@pytest.mark.parametrize("case", _params(LOCAL_CASES))
def test_tile_of_output_grid_equals_locally_connected(backend, tiled_path, case):
    x, weights, bias, kwargs = _draw_local(case, seed=13)
    n_spatial = x.ndim - 2
    y = run(backend, TILED[n_spatial], x, weights, bias=bias, **kwargs)
    assert_close(y, run(backend, LOCAL[n_spatial], x, weights, bias=bias,
                        **kwargs))


def test_partial_last_tile_reuses_first_kernel_set(backend):
    """Output 5 with tile 2: positions 0, 2, 4 use set 0, positions 1, 3 set 1."""
    x = np.arange(1.0, 7.0).reshape(1, 1, 6)
    kernels = np.array([[[[1.0, 0.0]]], [[[0.0, 10.0]]]])   # (2, 1, 1, 2)
    y = run(backend, tiled_conv1d, x, kernels, bias=np.array([[0.5], [0.0]]))
    np.testing.assert_array_equal(y, [[[1.5, 30.0, 3.5, 50.0, 5.5]]])


# --------------------------------------------------------------------------
# 3. max_memory chunking
# --------------------------------------------------------------------------

@pytest.mark.parametrize("max_memory", [1, 500, "1KB", 10**12])
@pytest.mark.parametrize("n_spatial", [1, 2])
def test_max_memory_does_not_change_result(backend, tiled_path, n_spatial,
                                           max_memory):
    x = normal((5, 2) + (7,) * n_spatial, seed=20)
    weights = normal((4,) * n_spatial + (3, 2) + (2,) * n_spatial, seed=21)
    bias = normal((4,) * n_spatial + (3,), seed=22)
    kwargs = dict(stride=2, padding="same")
    for func in (LOCAL[n_spatial], TILED[n_spatial]):
        w = weights if func is LOCAL[n_spatial] else weights[(slice(0, 3),) * n_spatial]
        b = bias if func is LOCAL[n_spatial] else bias[(slice(0, 3),) * n_spatial]
        default = run(backend, func, x, w, bias=b, **kwargs)
        chunked = run(backend, func, x, w, bias=b, max_memory=max_memory, **kwargs)
        np.testing.assert_allclose(chunked, default, rtol=1e-12, atol=1e-12)
    assert_close(default, brute_tiled(x, w, b, **kwargs))


class _MatmulSpy:
    """Namespace proxy recording the sample count of every ``matmul``."""

    def __init__(self, xp):
        self._xp = xp
        self.samples = []

    def __getattr__(self, name):
        return getattr(self._xp, name)

    def matmul(self, cols, banks, *args, **kwargs):
        self.samples.append(cols.shape[1])     # columns are (P, n, C * k)
        return self._xp.matmul(cols, banks, *args, **kwargs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_memory_bounds_chunks(backend, monkeypatch, dtype):
    """Chunks respect the documented ``(C * prod(k) + K) * P * itemsize``
    bytes per sample (and hold at least one sample)."""
    spies = []

    def spying_get_namespace(*arrays, real=_local.get_namespace):
        spies.append(_MatmulSpy(real(*arrays)))
        return spies[-1]

    monkeypatch.setattr(_local, "get_namespace", spying_get_namespace)
    n_samples, n_out = 7, 8
    x = normal((n_samples, 2, 10), seed=23, dtype=dtype)
    weights = normal((n_out, 3, 2, 3), seed=24, dtype=dtype)
    sample_bytes = (2 * 3 + 3) * n_out * np.dtype(dtype).itemsize
    expected = brute_local(x, weights)
    for budget in [1, sample_bytes - 1, 3 * sample_bytes, 3 * sample_bytes + 5,
                   10**9]:
        y = run(backend, locally_connected1d, x, weights, max_memory=budget)
        chunks = spies[-1].samples
        assert sum(chunks) == n_samples, budget
        assert all(n == 1 or n * sample_bytes <= budget for n in chunks), chunks
        assert_close(y, expected, dtype)
    assert spies[-1].samples == [n_samples]
    run(backend, locally_connected1d, x, weights, max_memory=3 * sample_bytes)
    assert spies[-1].samples == [3, 3, 1]


# --------------------------------------------------------------------------
# 4. dtypes and empty batches
# --------------------------------------------------------------------------

@pytest.mark.parametrize("n_spatial", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtype_kept(backend, tiled_path, n_spatial, dtype):
    x, weights, bias, kwargs = _draw_local(
        dict(x=(2, 3) + (6,) * n_spatial, K=2, k=(3,) * n_spatial, stride=2,
             padding="same", bias=True), seed=30, dtype=dtype)
    y = run(backend, LOCAL[n_spatial], x, weights.astype(np.float64),
            bias=bias.astype(np.float64), **kwargs)   # x's dtype wins
    assert y.dtype == dtype
    assert_close(y, brute_local(x, weights, bias, **kwargs), dtype)
    tile = (slice(0, 2),) * n_spatial
    y = run(backend, TILED[n_spatial], x, weights[tile], bias=bias[tile], **kwargs)
    assert y.dtype == dtype
    assert_close(y, brute_tiled(x, weights[tile], bias[tile], **kwargs), dtype)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_])
def test_int_and_bool_input_cast_to_float64(backend, dtype):
    rng = np.random.default_rng(31)
    x = rng.integers(0, 2, size=(2, 2, 6)).astype(dtype)
    weights = rng.integers(-3, 4, size=(4, 2, 2, 3))
    for func in (locally_connected1d, tiled_conv1d):
        y = run(backend, func, x, weights)
        assert y.dtype == np.float64
        np.testing.assert_array_equal(y, brute_local(x, weights))


@pytest.mark.parametrize("n_spatial", [1, 2])
def test_empty_batch(backend, tiled_path, n_spatial):
    x = np.zeros((0, 2) + (5,) * n_spatial, dtype=np.float32)
    weights = normal((3,) * n_spatial + (4, 2) + (3,) * n_spatial, seed=32)
    bias = normal((3,) * n_spatial + (4,), seed=33)
    for func in (LOCAL[n_spatial], TILED[n_spatial]):
        y = run(backend, func, x, weights, bias=bias)
        assert y.shape == (0, 4) + (3,) * n_spatial and y.dtype == np.float32


# --------------------------------------------------------------------------
# 5. properties
# --------------------------------------------------------------------------

@st.composite
def configs(draw, n_spatial):
    """A small valid geometry: x shape, kernel size, keyword arguments."""
    padding_kind = draw(st.sampled_from(["valid", "same", "full", "int"]))
    pad = draw(st.integers(0, 2)) if padding_kind == "int" else 0
    ksize, sizes, strides, dilations = [], [], [], []
    for _ in range(n_spatial):
        k, d = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        extent = d * (k - 1) + 1
        low = 1 if padding_kind in ("same", "full") else max(1, extent - 2 * pad)
        ksize.append(k)
        dilations.append(d)
        strides.append(draw(st.integers(1, 3)))
        sizes.append(draw(st.integers(low, low + 5)))
    kwargs = dict(stride=tuple(strides), dilation=tuple(dilations),
                  padding=pad if padding_kind == "int" else padding_kind)
    x_shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + tuple(sizes)
    return x_shape, tuple(ksize), draw(st.integers(1, 2)), kwargs


seeds = st.integers(0, 2**32 - 1)
coefs = st.floats(-3.0, 3.0, allow_nan=False)


@pytest.mark.parametrize("n_spatial", [1, 2])
@HYP
@given(data=st.data(), seed=seeds)
def test_property_matches_loop(backend, n_spatial, data, seed):
    x_shape, ksize, n_kernels, kwargs = data.draw(configs(n_spatial))
    out = geometry(x_shape, ksize, **kwargs)[3]
    tile = tuple(data.draw(st.integers(1, m)) for m in out)
    x = normal(x_shape, seed)
    kernels = normal(tile + (n_kernels, x_shape[1]) + ksize, seed + 1)
    bias = normal(tile + (n_kernels,), seed + 2)
    y = run(backend, TILED[n_spatial], x, kernels, bias=bias, **kwargs)
    assert_close(y, brute_tiled(x, kernels, bias, **kwargs))
    if tile == out:
        assert_close(y, run(backend, LOCAL[n_spatial], x, kernels, bias=bias,
                            **kwargs))


@pytest.mark.parametrize("op", ["local", "tiled"])
@pytest.mark.parametrize("n_spatial", [1, 2])
@HYP
@given(data=st.data(), seed=seeds, a=coefs, b=coefs)
def test_property_linear_in_x(backend, n_spatial, op, data, seed, a, b):
    x_shape, ksize, n_kernels, kwargs = data.draw(configs(n_spatial))
    out = geometry(x_shape, ksize, **kwargs)[3]
    grid = out if op == "local" else tuple(data.draw(st.integers(1, m)) for m in out)
    func = (LOCAL if op == "local" else TILED)[n_spatial]
    x1, x2 = normal(x_shape, seed), normal(x_shape, seed + 1)
    w = normal(grid + (n_kernels, x_shape[1]) + ksize, seed + 2)
    lhs = run(backend, func, a * x1 + b * x2, w, **kwargs)
    rhs = a * run(backend, func, x1, w, **kwargs) + b * run(backend, func, x2, w, **kwargs)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("n_spatial", [1, 2])
@HYP
@given(data=st.data(), seed=seeds)
def test_property_tiled_equivariant_to_whole_tile_shifts(backend, n_spatial,
                                                        data, seed):
    """Shifting the input by tile * stride shifts the valid output by tile."""
    ksize = tuple(data.draw(st.integers(1, 3)) for _ in range(n_spatial))
    stride = tuple(data.draw(st.integers(1, 2)) for _ in range(n_spatial))
    tile = tuple(data.draw(st.integers(1, 3)) for _ in range(n_spatial))
    sizes = tuple(k + s * (2 * t - 1) + data.draw(st.integers(0, 3))
                  for k, s, t in zip(ksize, stride, tile))
    shift = tuple(s * t for s, t in zip(stride, tile))
    z = normal((1, 2) + tuple(n + m for n, m in zip(sizes, shift)), seed)
    kernels = normal(tile + (2, 2) + ksize, seed + 1)
    y_ref = run(backend, TILED[n_spatial], z[(Ellipsis,) + tuple(map(slice, sizes))],
                kernels, stride=stride)
    y_shift = run(backend, TILED[n_spatial],
                  z[(Ellipsis,) + tuple(slice(m, m + n) for n, m in zip(sizes, shift))],
                  kernels, stride=stride)
    out = y_ref.shape[2:]
    assert_close(y_shift[(Ellipsis,) + tuple(slice(0, o - t) for o, t in zip(out, tile))],
                 y_ref[(Ellipsis,) + tuple(slice(t, None) for t in tile)])


# --------------------------------------------------------------------------
# 6. bad input
# --------------------------------------------------------------------------


def _msg(name, *fragments):
    """Pattern: the message starts with ``name`` and contains ``fragments``."""
    return "^" + re.escape(name) + r"\b.*" + ".*".join(re.escape(f) for f in fragments)


X1, W1, T1 = (2, 3, 8), (6, 4, 3, 3), (2, 4, 3, 3)        # out grid (6,)
X2, W2, T2 = (2, 3, 6, 6), (4, 4, 4, 3, 3, 3), (2, 2, 4, 3, 3, 3)

# (op, n_spatial, x shape, weights shape, kwargs, exception, pattern)
BAD_INPUT = {
    "x-2d": ("local", 1, (3, 8), W1, {}, ValueError,
             _msg("x", "3-D", "(n_samples, n_channels, length)", "shape (3, 8)")),
    "x-3d-for-2d": ("tiled", 2, (3, 6, 6), T2, {}, ValueError,
                    _msg("x", "4-D", "shape (3, 6, 6) (3-D)")),
    "x-empty-axis": ("local", 1, (2, 3, 0), W1, {}, ValueError,
                     _msg("x", "at least one sample", "(2, 3, 0)")),
    "weights-ndim": ("local", 2, X2, (4, 3, 3, 3), {}, ValueError,
                     _msg("weights", "6-D", "(out_height, out_width, n_kernels",
                          "shape (4, 3, 3, 3) (4-D)")),
    "kernels-ndim": ("tiled", 1, X1, (4, 3, 3), {}, ValueError,
                     _msg("kernels", "4-D", "(tile, n_kernels, n_channels",
                          "shape (4, 3, 3) (3-D)")),
    "weights-complex": ("local", 1, X1, np.zeros(W1, complex), {}, TypeError,
                        _msg("weights", "real numeric dtype", "complex128")),
    "x-complex": ("tiled", 1, np.zeros(X1, complex), T1, {}, TypeError,
                  _msg("x", "real numeric dtype", "complex128")),
    "channel-mismatch": ("local", 1, X1, (6, 4, 2, 3), {}, ValueError,
                         _msg("weights", "2 input channels", "weights.shape[2]",
                              "x has 3 channels", "got shape (6, 4, 2, 3)")),
    "channel-mismatch-tiled": ("tiled", 2, X2, (2, 2, 4, 5, 3, 3), {}, ValueError,
                               _msg("kernels", "5 input channels",
                                    "kernels.shape[3]", "x has 3 channels")),
    "zero-kernels": ("local", 1, X1, (6, 0, 3, 3), {}, ValueError,
                     _msg("weights", "at least one kernel", "(6, 0, 3, 3)")),
    "zero-kernel-size": ("tiled", 2, X2, (2, 2, 4, 3, 3, 0), {}, ValueError,
                         _msg("kernels", "size >= 1", "(2, 2, 4, 3, 3, 0)")),
    "grid-mismatch": ("local", 2, X2, W2, dict(stride=2), ValueError,
                      _msg("weights", "one kernel bank per output position",
                           "(out_height, out_width) = (2, 2)",
                           "x of spatial shape (6, 6) with kernel size (3, 3), "
                           "stride (2, 2), dilation (1, 1) and padding='valid' "
                           "gives the output grid (2, 2)",
                           "got weights of shape (4, 4, 4, 3, 3, 3)")),
    "grid-mismatch-same": ("local", 1, X1, W1, dict(padding="same"), ValueError,
                           _msg("weights", "(out_length,) = (8,)",
                                "padding='same' gives the output grid (8,)",
                                "got weights of shape (6, 4, 3, 3)")),
    "grid-transposed": ("local", 2, (1, 3, 6, 5), (3, 4, 4, 3, 3, 3), {}, ValueError,
                        _msg("weights", "= (4, 3)", "got weights of shape (3, 4, 4")),
    "tile-zero": ("tiled", 1, X1, (0, 4, 3, 3), {}, ValueError,
                  _msg("kernels", "tile (tile,) = kernels.shape[:1]",
                       "between 1 and the output grid",
                       "gives the output grid (6,)", "got tile (0,)")),
    "tile-too-large": ("tiled", 2, X2, (2, 5, 4, 3, 3, 3), {}, ValueError,
                       _msg("kernels", "tile (tile_height, tile_width)",
                            "output grid (4, 4)", "got tile (2, 5)",
                            "kernels of shape (2, 5, 4, 3, 3, 3)")),
    "tile-too-large-stride": ("tiled", 1, X1, T1, dict(stride=6), ValueError,
                              _msg("kernels", "stride (6,)", "output grid (1,)",
                                   "got tile (2,)")),
    "kernel-too-large": ("local", 1, (1, 3, 2), (1, 4, 3, 3), {}, ValueError,
                         _msg("weights", "dilated size (3,)",
                              "padded input of size (2,)", "padding='valid'")),
    "dilated-too-large": ("tiled", 2, X2, T2, dict(dilation=(1, 3)), ValueError,
                          _msg("kernels", "dilated size (3, 7)", "dilation (1, 3)",
                               "padded input of size (6, 6)")),
    "bias-wrong-shape": ("local", 1, X1, W1, dict(bias=np.zeros((4, 6))), ValueError,
                         _msg("bias", "(out_length, n_kernels) = (6, 4)",
                              "weights.shape[:2]", "got (4, 6)")),
    "bias-1d-for-local": ("local", 2, X2, W2, dict(bias=np.zeros(4)), ValueError,
                          _msg("bias", "3-D", "(out_height, out_width, n_kernels) "
                               "= (4, 4, 4)", "shape (4,) (1-D)")),
    "bias-tiled": ("tiled", 2, X2, T2, dict(bias=np.zeros((2, 2, 3))), ValueError,
                   _msg("bias", "(tile_height, tile_width, n_kernels) = (2, 2, 4)",
                        "kernels.shape[:3]", "got (2, 2, 3)")),
    "bias-complex": ("tiled", 1, X1, T1, dict(bias=np.zeros((2, 4), complex)),
                     TypeError, _msg("bias", "real numeric dtype")),
    "stride-zero": ("local", 1, X1, W1, dict(stride=0), ValueError,
                    _msg("stride", ">= 1", "got 0")),
    "stride-float": ("tiled", 2, X2, T2, dict(stride=(1, 1.5)), TypeError,
                     _msg("stride", "int", "(1, 1.5)")),
    "dilation-length": ("local", 2, X2, W2, dict(dilation=(1, 1, 1)), ValueError,
                        _msg("dilation", "tuple of 2 ints", "got (1, 1, 1)")),
    "padding-unknown": ("tiled", 1, X1, T1, dict(padding="circular"), ValueError,
                        _msg("padding", "'full', 'same', 'valid'", "got 'circular'")),
    "padding-negative": ("local", 1, X1, W1, dict(padding=-1), ValueError,
                         _msg("padding", ">= 0", "got -1")),
    "max_memory-bad": ("local", 1, X1, W1, dict(max_memory="lots"), ValueError,
                       _msg("max_memory", "'512MB'", "got 'lots'")),
    "max_memory-zero": ("tiled", 1, X1, T1, dict(max_memory=0), ValueError,
                        _msg("max_memory", "positive", "got 0")),
}


@pytest.mark.parametrize(
    "op, n_spatial, x, weights, kwargs, exc, pattern",
    [pytest.param(*case, id=name) for name, case in BAD_INPUT.items()],
)
def test_bad_input(backend, op, n_spatial, x, weights, kwargs, exc, pattern):
    x = np.zeros(x) if isinstance(x, tuple) else x
    weights = np.zeros(weights) if isinstance(weights, tuple) else weights
    kwargs = dict(kwargs)
    if "bias" in kwargs:
        kwargs["bias"] = backend.asarray(kwargs["bias"])
    func = (LOCAL if op == "local" else TILED)[n_spatial]
    with pytest.raises(exc, match=pattern):
        func(backend.asarray(x), backend.asarray(weights), **kwargs)


@pytest.mark.parametrize("func", [locally_connected1d, tiled_conv1d])
@pytest.mark.parametrize("host", ["x", "weights", "bias"])
def test_mixed_numpy_and_cupy_rejected(strict_cupy, func, host):
    weights = np.zeros(W1 if func is locally_connected1d else T1)
    arrays = dict(x=np.zeros(X1), weights=weights, bias=np.zeros(weights.shape[:2]))
    arrays = {name: a if name == host else strict_cupy.asarray(a)
              for name, a in arrays.items()}
    with pytest.raises(TypeError, match="must all be NumPy arrays or all be CuPy"):
        func(arrays["x"], arrays["weights"], bias=arrays["bias"])
