"""Tests for the pooling operators of :mod:`featurelab.ops`.

Covers :func:`pool1d`, :func:`pool2d`, :func:`region_pool`,
:func:`adaptive_pool` and :func:`channel_pool`.  Every test that computes
something takes the ``backend`` fixture: data is made with NumPy, moved with
``backend.asarray`` and read back with ``backend.to_numpy``.

References used:

* :func:`brute_pool`, a plain-Python loop over output positions and window
  offsets that reads each input sample by index (out-of-range reads give the
  padding value: ``-inf`` for ``'max'``, 0 otherwise) and knows nothing of
  strided views or ``numpy.pad``;
* ``skimage.measure.block_reduce`` for non-overlapping pooling of inputs
  that the window divides evenly;
* PyTorch (CPU) ``max_pool``/``avg_pool`` (``count_include_pad=True``) and
  ``adaptive_*_pool`` where its conventions coincide with featurelab's;
* :func:`brute_segments` for region and adaptive pooling, with the segment
  rules written out from the docstrings;
* :func:`rocket_stat`, the ROCKET-family modes (ppv, mpv, mipv, lspv) of one
  window as a plain loop over its values in row-major order, plugged into
  the three references above through ``REDUCE`` (padding reads 0, which is
  not positive, as documented).
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from skimage.measure import block_reduce

from featurelab.ops import (
    POOL_MODES,
    adaptive_pool,
    channel_pool,
    pool1d,
    pool2d,
    region_pool,
)
from tests.ops._reference import HYP, as_tuple, normal, reference_pads

MODES = ("max", "avg", "sum", "l2")
ROCKET_MODES = ("ppv", "mpv", "mipv", "lspv")
POOL = {1: pool1d, 2: pool2d}


REDUCE = {
    "max": lambda w: w.max(axis=-1),
    "sum": lambda w: w.sum(axis=-1),
    "avg": lambda w: w.sum(axis=-1) / w.shape[-1],
    "l2": lambda w: np.sqrt((w * w).sum(axis=-1)),
}


def rocket_stat(values, mode):
    """One ROCKET-family statistic of one window (values in window order)."""
    values = [float(v) for v in values]
    if any(math.isnan(v) for v in values):
        return math.nan
    positive = [j for j, v in enumerate(values) if v > 0]
    if mode == "ppv":
        return len(positive) / len(values)
    if mode == "mpv":
        return sum(values[j] for j in positive) / len(positive) if positive else 0.0
    if mode == "mipv":
        return sum(positive) / len(positive) if positive else -1.0
    best = run = 0
    for v in values:
        run = run + 1 if v > 0 else 0
        best = max(best, run)
    return float(best)


for _mode in ROCKET_MODES:
    REDUCE[_mode] = (lambda m: lambda w: np.apply_along_axis(
        rocket_stat, -1, w, m))(_mode)


# --------------------------------------------------------------------------
# helpers and references
# --------------------------------------------------------------------------


def run(backend, func, x, *args, **kwargs):
    """Call ``func`` on a backend copy of NumPy ``x``; return NumPy output."""
    y = func(backend.asarray(x), *args, **kwargs)
    return backend.to_numpy(y)


def assert_close(got, expected, rtol=1e-12, atol=1e-12):
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def brute_pool(x, size, stride, pads, mode):
    """Loop over output positions and window offsets; index reads only."""
    x = np.asarray(x, dtype=np.float64)
    spatial = x.shape[2:]
    fill = -np.inf if mode == "max" else 0.0
    out_shape = tuple((n + b + a - k) // s + 1
                      for n, k, s, (b, a) in zip(spatial, size, stride, pads))
    y = np.empty(x.shape[:2] + out_shape)
    for out_idx in itertools.product(*(range(m) for m in out_shape)):
        values = []
        for offset in itertools.product(*(range(k) for k in size)):
            in_idx = tuple(i * s + o - b for i, s, o, (b, _)
                           in zip(out_idx, stride, offset, pads))
            if all(0 <= j < n for j, n in zip(in_idx, spatial)):
                values.append(x[(slice(None), slice(None)) + in_idx])
            else:
                values.append(np.full(x.shape[:2], fill))
        y[(slice(None), slice(None)) + out_idx] = REDUCE[mode](
            np.stack(values, axis=-1))
    return y


def region_bounds(n, g):
    return [(i * n // g, (i + 1) * n // g) for i in range(g)]


def adaptive_bounds(n, m):
    return [(i * n // m, -(-(i + 1) * n // m)) for i in range(m)]


def brute_segments(x, bounds, mode):
    """Reduce ``x`` over the product of per-axis (start, stop) segments."""
    x = np.asarray(x, dtype=np.float64)
    n_s, n_c = x.shape[:2]
    y = np.empty((n_s, n_c) + tuple(len(b) for b in bounds))
    for out_idx in itertools.product(*(range(len(b)) for b in bounds)):
        values = []
        for in_idx in itertools.product(
                *(range(*bounds[a][i]) for a, i in enumerate(out_idx))):
            values.append(x[(slice(None), slice(None)) + in_idx])
        y[(slice(None), slice(None)) + out_idx] = REDUCE[mode](
            np.stack(values, axis=-1))
    return y


def brute_channel_pool(x, group_size, mode):
    x = np.asarray(x, dtype=np.float64)
    n_groups = x.shape[1] // group_size
    y = np.empty((x.shape[0], n_groups) + x.shape[2:])
    for g in range(n_groups):
        members = [x[:, g * group_size + j] for j in range(group_size)]
        y[:, g] = REDUCE[mode](np.stack(members, axis=-1))
    return y


# --------------------------------------------------------------------------
# pool1d / pool2d against the brute-force reference
# --------------------------------------------------------------------------


def _valid(spatial, size, stride, padding):
    size = as_tuple(size, len(spatial))
    stride = size if stride is None else as_tuple(stride, len(spatial))
    pads = reference_pads(padding, spatial, size, stride)
    if any(max(p) >= k for p, k in zip(pads, size)):
        return False
    return all(n + a + b >= k for n, (a, b), k in zip(spatial, pads, size))


# (size, stride): overlapping (stride < size), tiling (==, default None) and
# spaced (stride > size) windows.
SIZE_STRIDE_1D = [(1, 1), (1, 2), (2, 1), (2, None), (2, 3), (3, 1), (3, 2),
                  (3, 3), (3, 5), (4, 3)]
PADDING_1D = [0, 1, 2, (1,), ((0, 1),), ((2, 0),), ((1, 2),), "valid",
              "same", "full"]
CASES_1D = [(m, k, s, p) for m in MODES for k, s in SIZE_STRIDE_1D
            for p in PADDING_1D if _valid((11,), k, s, p)]

SIZE_STRIDE_2D = [((2, 2), None), (2, 1), ((3, 2), (1, 2)), ((2, 3), (3, 1)),
                  ((1, 3), (2, 2)), (3, (2, 4)), ((3, 3), 3), ((2, 1), (1, 3))]
PADDING_2D = [0, 1, (1, 0), (0, (1, 2)), ((2, 0), (1, 1)), [(0, 1), 0],
              "valid", "same", "full"]
CASES_2D = [(m, k, s, p) for m in MODES for k, s in SIZE_STRIDE_2D
            for p in PADDING_2D if _valid((7, 6), k, s, p)]


def assert_window_pool(backend, x, mode, size, stride, padding):
    """pool1d/pool2d of ``x`` (on ``backend``) equals :func:`brute_pool`
    with the documented padding rules."""
    n = x.ndim - 2
    kwargs = {} if stride is None else {"stride": stride}
    got = run(backend, pool1d if n == 1 else pool2d, x, size, mode=mode,
              padding=padding, **kwargs)
    k = as_tuple(size, n)
    s = k if stride is None else as_tuple(stride, n)
    expected = brute_pool(x, k, s, reference_pads(padding, x.shape[2:], k, s), mode)
    assert_close(got, expected)


@pytest.mark.parametrize("mode,size,stride,padding", CASES_1D)
def test_pool1d_matches_brute_force(backend, mode, size, stride, padding):
    x = normal((2, 3, 11), seed=1)
    assert_window_pool(backend, x, mode, size, stride, padding)


@pytest.mark.parametrize("mode,size,stride,padding", CASES_2D)
def test_pool2d_matches_brute_force(backend, mode, size, stride, padding):
    x = normal((2, 2, 7, 6), seed=2)
    assert_window_pool(backend, x, mode, size, stride, padding)


def test_brute_force_case_lists_cover_the_grid():
    # Guards the parametrisation: the filters above must not drop whole
    # families of cases (overlapping, spaced, padded, every mode).
    assert {c[0] for c in CASES_1D} == set(MODES)
    assert {c[0] for c in CASES_2D} == set(MODES)
    assert len(CASES_1D) > 200 and len(CASES_2D) > 150
    assert any(p == "same" and s == 5 for _, _, s, p in CASES_1D)
    assert any(p == ((1, 2),) for *_, p in CASES_1D)
    assert any(p == ((2, 0), (1, 1)) for *_, p in CASES_2D)


@pytest.mark.parametrize("mode", MODES)
def test_max_pads_with_minus_inf_and_avg_divides_by_full_window(backend, mode):
    # All-negative input: zero padding would win a max; -inf padding never.
    x = -np.arange(1.0, 6.0).reshape(1, 1, 5)  # [-1, -2, -3, -4, -5]
    got = run(backend, pool1d, x, 3, stride=2, mode=mode, padding=1)
    windows = [[-1.0, -2.0], [-2.0, -3.0, -4.0], [-4.0, -5.0]]  # real cells
    expected = {
        "max": [max(w) for w in windows],
        "sum": [sum(w) for w in windows],
        "avg": [sum(w) / 3 for w in windows],  # padding counts in the mean
        "l2": [math.sqrt(sum(v * v for v in w)) for w in windows],
    }[mode]
    assert_close(got, np.array(expected).reshape(1, 1, 3))


def test_pool_docstring_examples(backend):
    x = np.array([[[1.0, 5.0, 2.0, 0.0, 3.0, 4.0]]])
    assert_close(run(backend, pool1d, x, 2), np.array([[[5.0, 2.0, 4.0]]]))
    assert_close(run(backend, pool1d, x, 3, stride=1, mode="avg"),
                 np.array([[[8 / 3, 7 / 3, 5 / 3, 7 / 3]]]))
    img = np.arange(16.0).reshape(1, 1, 4, 4)
    assert_close(run(backend, pool2d, img, 2),
                 np.array([[[[5.0, 7.0], [13.0, 15.0]]]]))


def test_pool_modes_constant():
    assert tuple(POOL_MODES) == MODES + ROCKET_MODES


# --------------------------------------------------------------------------
# skimage.measure.block_reduce and PyTorch
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("block", [(2, 2), (3, 4), (1, 2), (3, 1), (6, 8)])
def test_pool2d_matches_block_reduce(backend, mode, block):
    x = normal((2, 3, 6, 8), seed=3)
    got = run(backend, pool2d, x, block, mode=mode)
    full = (1, 1) + block
    if mode == "l2":
        expected = np.sqrt(block_reduce(x * x, full, func=np.sum))
    else:
        func = {"max": np.max, "sum": np.sum, "avg": np.mean}[mode]
        expected = block_reduce(x, full, func=func)
    assert_close(got, expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", [1, 3, 4, 12])
def test_pool1d_matches_block_reduce(backend, mode, size):
    x = normal((2, 3, 12), seed=4)
    got = run(backend, pool1d, x, size, mode=mode)
    if mode == "l2":
        expected = np.sqrt(block_reduce(x * x, (1, 1, size), func=np.sum))
    else:
        func = {"max": np.max, "sum": np.sum, "avg": np.mean}[mode]
        expected = block_reduce(x, (1, 1, size), func=func)
    assert_close(got, expected)


@pytest.mark.parametrize("mode", ["max", "avg", "sum"])
@pytest.mark.parametrize("size,stride,padding", [
    (3, 1, 1), ((3, 2), (2, 1), (1, 0)), (2, 2, 1), ((4, 3), (1, 3), (2, 1)),
])
def test_pool2d_matches_torch(backend, mode, size, stride, padding):
    torch = pytest.importorskip("torch")
    x = normal((2, 3, 8, 7), seed=5)
    got = run(backend, pool2d, x, size, stride=stride, mode=mode,
              padding=padding)
    t = torch.from_numpy(x)
    if mode == "max":
        expected = torch.nn.functional.max_pool2d(t, size, stride, padding)
    else:
        expected = torch.nn.functional.avg_pool2d(
            t, size, stride, padding, count_include_pad=True)
        if mode == "sum":
            expected = expected * math.prod(as_tuple(size, 2))
    assert_close(got, expected.numpy())


# --------------------------------------------------------------------------
# output shapes
# --------------------------------------------------------------------------


@HYP
@given(data=st.data())
def test_output_shape_formula(backend, data):
    n_spatial = data.draw(st.sampled_from([1, 2]), label="n_spatial")
    size, stride, pads, spatial = [], [], [], []
    for _ in range(n_spatial):
        k = data.draw(st.integers(1, 4))
        b = data.draw(st.integers(0, k - 1))
        a = data.draw(st.integers(0, k - 1))
        n = data.draw(st.integers(max(1, k - a - b), 9))
        size.append(k)
        stride.append(data.draw(st.integers(1, 5)))
        pads.append((b, a))
        spatial.append(n)
    x = np.zeros((2, 3) + tuple(spatial))
    y = run(backend, POOL[n_spatial], x, tuple(size), stride=tuple(stride),
            padding=tuple(pads))
    expected = tuple((n + b + a - k) // s + 1 for n, k, s, (b, a)
                     in zip(spatial, size, stride, pads))
    assert y.shape == (2, 3) + expected


@pytest.mark.parametrize("length", [1, 5, 6, 7, 10])
@pytest.mark.parametrize("size,stride", [(1, 1), (2, 1), (3, 2), (2, 2),
                                         (3, 3), (2, 4), (1, 3)])
def test_same_padding_gives_ceil_length_over_stride(backend, length, size,
                                                    stride):
    x = normal((1, 2, length), seed=6)
    y = run(backend, pool1d, x, size, stride=stride, padding="same")
    assert y.shape == (1, 2, math.ceil(length / stride))


@pytest.mark.parametrize("padding,expected", [
    ("valid", (2, 3, 3, 2)), ("full", (2, 3, 5, 3)), ("same", (2, 3, 4, 3)),
])
def test_padding_strings_shapes(backend, padding, expected):
    x = np.zeros((2, 3, 7, 5))
    assert run(backend, pool2d, x, (3, 2), stride=(2, 2),
               padding=padding).shape == expected


# --------------------------------------------------------------------------
# dtype, empty batches, NaN
# --------------------------------------------------------------------------


def _all_pools():
    return [
        ("pool1d", lambda x: pool1d(x, 2, mode="avg"), 3),
        ("pool2d", lambda x: pool2d(x, (2, 3), stride=1, mode="l2",
                                    padding=1), 4),
        ("region_pool", lambda x: region_pool(x, (2, 3), mode="avg"), 4),
        ("adaptive_pool", lambda x: adaptive_pool(x, (3, 5), mode="sum"), 4),
        ("channel_pool", lambda x: channel_pool(x, 2, mode="l2"), 4),
    ]


@pytest.mark.parametrize("name,func,ndim", _all_pools(),
                         ids=[p[0] for p in _all_pools()])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtype_preserved(backend, name, func, ndim, dtype):
    x = normal((2, 4, 6, 7)[:ndim], seed=7)
    got = run(backend, func, x.astype(dtype))
    assert got.dtype == dtype
    expected = run(backend, func, x)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_close(got.astype(np.float64), expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name,func,ndim", _all_pools(),
                         ids=[p[0] for p in _all_pools()])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_,
                                   np.float16])
def test_int_bool_float16_cast_to_float64(backend, name, func, ndim, dtype):
    x = np.random.default_rng(8).integers(0, 5, (2, 4, 6, 7)[:ndim])
    got = run(backend, func, x.astype(dtype))
    assert got.dtype == np.float64
    assert_close(got, run(backend, func, x.astype(dtype).astype(np.float64)))


@pytest.mark.parametrize("func,shape,expected", [
    (lambda x: pool1d(x, 2), (0, 3, 8), (0, 3, 4)),
    (lambda x: pool1d(x, 3, stride=1, mode="avg", padding="same"), (0, 2, 5),
     (0, 2, 5)),
    (lambda x: pool2d(x, 2, mode="l2", padding=1), (0, 3, 4, 5), (0, 3, 3, 3)),
    (lambda x: region_pool(x), (0, 3, 4, 4), (0, 3, 2, 2)),
    (lambda x: region_pool(x, 3, mode="max"), (0, 2, 5), (0, 2, 3)),
    (lambda x: adaptive_pool(x, (3, 6), mode="avg"), (0, 3, 4, 4), (0, 3, 3, 6)),
    (lambda x: channel_pool(x, 2), (0, 4, 2), (0, 2, 2)),
    (lambda x: channel_pool(x, 3, mode="sum"), (0, 6), (0, 2)),
], ids=["pool1d", "pool1d-same", "pool2d", "region2d", "region1d", "adaptive",
        "channel3d", "channel2d"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_batch(backend, func, shape, expected, dtype):
    got = run(backend, func, np.zeros(shape, dtype=dtype))
    assert got.shape == expected
    assert got.dtype == dtype


def _nan_input(shape, position, seed):
    x = normal(shape, seed)
    x[(0, 1) + position] = np.nan
    return x


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size,stride,padding,position", [
    (3, 1, 1, 4),      # overlapping: three windows see the NaN
    (2, 2, 0, 5),      # tiling: exactly one window
    (2, 3, 0, 4),      # spaced: windows [0, 1], [3, 4], [6, 7]
    (2, 3, 0, 2),      # spaced: position 2 is skipped by every window
    (3, 2, ((2, 0),), 0),
])
def test_pool1d_nan_only_in_windows_containing_it(backend, mode, size, stride,
                                                  padding, position):
    x = _nan_input((2, 2, 9), (position,), seed=9)
    got = run(backend, pool1d, x, size, stride=stride, mode=mode,
              padding=padding)
    before = reference_pads(padding, (9,), (size,), (stride,))[0][0]
    starts = np.arange(got.shape[-1]) * stride - before
    contains = (starts <= position) & (position < starts + size)
    expected = np.zeros(got.shape, dtype=bool)
    expected[0, 1] = contains
    np.testing.assert_array_equal(np.isnan(got), expected)
    reference = brute_pool(x, (size,), (stride,),
                           reference_pads(padding, (9,), (size,), (stride,)),
                           mode)
    np.testing.assert_allclose(got, reference, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("mode", MODES)
def test_pool2d_nan_only_in_windows_containing_it(backend, mode):
    x = _nan_input((1, 2, 6, 6), (2, 3), seed=10)
    got = run(backend, pool2d, x, (2, 3), stride=(1, 2), mode=mode)
    rows = [i for i in range(got.shape[2]) if i <= 2 < i + 2]
    cols = [j for j in range(got.shape[3]) if 2 * j <= 3 < 2 * j + 3]
    expected = np.zeros(got.shape, dtype=bool)
    expected[0, 1][np.ix_(rows, cols)] = True
    np.testing.assert_array_equal(np.isnan(got), expected)


@pytest.mark.parametrize("mode", MODES)
def test_region_adaptive_channel_nan_confined(backend, mode):
    x = _nan_input((1, 4, 5, 6), (1, 4), seed=11)  # channel 1, row 1, col 4
    region = run(backend, region_pool, x, (2, 3), mode=mode)
    expected = np.zeros(region.shape, dtype=bool)
    expected[0, 1, 0, 2] = True  # rows 0:2, cols 4:6
    np.testing.assert_array_equal(np.isnan(region), expected)

    adaptive = run(backend, adaptive_pool, x, (3, 4), mode=mode)
    expected = np.zeros(adaptive.shape, dtype=bool)
    # rows: [0,2) [1,4) [3,5); cols: [0,2) [1,3) [3,5) [4,6)
    expected[0, 1][np.ix_([0, 1], [2, 3])] = True
    np.testing.assert_array_equal(np.isnan(adaptive), expected)

    channel = run(backend, channel_pool, x, 2, mode=mode)
    expected = np.zeros(channel.shape, dtype=bool)
    expected[0, 0, 1, 4] = True  # channels 0-1 form group 0
    np.testing.assert_array_equal(np.isnan(channel), expected)


def test_input_not_modified(backend):
    x = normal((2, 3, 6, 6), seed=12)
    xb = backend.asarray(x.copy())
    for mode in MODES:
        pool2d(xb, 1, mode=mode)  # the size-1 path returns a copy
        pool2d(xb, 2, stride=1, mode=mode, padding=1)
        region_pool(xb, mode=mode)
        adaptive_pool(xb, 4, mode=mode)
        channel_pool(xb, 3, mode=mode)
    np.testing.assert_array_equal(backend.to_numpy(xb), x)


@pytest.mark.parametrize("mode", MODES)
def test_size_one_pool_returns_independent_copy(backend, mode):
    x = normal((1, 2, 4, 4), seed=13)
    xb = backend.asarray(x.copy())
    y = pool2d(xb, 1, mode=mode)
    expected = np.abs(x) if mode == "l2" else x
    assert_close(backend.to_numpy(y), expected)
    y[...] = 0
    np.testing.assert_array_equal(backend.to_numpy(xb), x)


# --------------------------------------------------------------------------
# properties (hypothesis)
# --------------------------------------------------------------------------


@HYP
@given(data=st.data(), n_spatial=st.sampled_from([1, 2]),
       seed=st.integers(0, 2**16))
def test_max_pool_invariant_to_small_shifts(backend, data, n_spatial, seed):
    """Non-overlapping max pooling ignores a shift that keeps every block's
    maximum inside its block.

    Construction: all values are in [0, 1) except one per block in [1, 2),
    placed so that after shifting by ``|s| < k`` (per axis, either
    direction) it stays in the same block.  The cells that enter a block
    from its neighbour (or the fill, 0) are all non-maxima, so every block
    maximum is unchanged.
    """
    sizes = tuple(data.draw(st.integers(2, 4)) for _ in range(n_spatial))
    blocks = tuple(data.draw(st.integers(1, 3)) for _ in range(n_spatial))
    shifts = tuple(data.draw(st.integers(-(k - 1), k - 1)) for k in sizes)
    rng = np.random.default_rng(seed)
    shape = (2, 2) + tuple(b * k for b, k in zip(blocks, sizes))
    x = rng.uniform(0.0, 1.0, shape)
    for lead in itertools.product(range(2), range(2), *map(range, blocks)):
        index = list(lead[:2])
        for block, k, s in zip(lead[2:], sizes, shifts):
            low, high = (0, k - 1 - s) if s >= 0 else (-s, k - 1)
            index.append(block * k + rng.integers(low, high + 1))
        x[tuple(index)] = rng.uniform(1.0, 2.0)
    shifted = np.zeros_like(x)
    dst = tuple(slice(s, None) if s >= 0 else slice(None, s) for s in shifts)
    src = tuple(slice(None, x.shape[2 + a] - s) if s >= 0 else slice(-s, None)
                for a, s in enumerate(shifts))
    shifted[(slice(None), slice(None)) + dst] = x[(slice(None), slice(None)) + src]

    pool = POOL[n_spatial]
    expected = run(backend, pool, x, sizes)
    np.testing.assert_array_equal(run(backend, pool, shifted, sizes), expected)
    # The construction is not vacuous: every block maximum is >= 1.
    assert expected.min() >= 1.0


@HYP
@given(
    mode=st.sampled_from(["avg", "sum"]),
    size=st.integers(1, 4),
    stride=st.integers(1, 4),
    pad=st.integers(0, 3),
    a=st.floats(-3, 3),
    b=st.floats(-3, 3),
    seed=st.integers(0, 2**16),
)
def test_avg_and_sum_pooling_are_linear(backend, mode, size, stride, pad, a, b,
                                        seed):
    pad = min(pad, size - 1)
    x = normal((2, 2, 7, 6), seed)
    z = normal((2, 2, 7, 6), seed + 1)
    kwargs = dict(stride=stride, mode=mode, padding=pad)
    combined = run(backend, pool2d, a * x + b * z, size, **kwargs)
    separate = (a * run(backend, pool2d, x, size, **kwargs)
                + b * run(backend, pool2d, z, size, **kwargs))
    np.testing.assert_allclose(combined, separate, rtol=1e-10, atol=1e-10)


@HYP
@given(
    value=st.floats(-100, 100),
    size=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    mode=st.sampled_from(MODES),
)
def test_pool_of_constant_is_constant(backend, value, size, stride, mode):
    x = np.full((2, 3, 6, 5), value)
    got = run(backend, pool2d, x, size, stride=stride, mode=mode)
    window = math.prod(size)
    expected = {"max": value, "avg": value, "sum": value * window,
                "l2": abs(value) * math.sqrt(window)}[mode]
    assert got.size > 0
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# region_pool
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("length,regions", [(7, 1), (7, 2), (7, 3), (10, 4),
                                            (7, 7), (10, (3,))])
def test_region_pool_1d_matches_brute_force(backend, mode, length, regions):
    x = normal((2, 3, length), seed=14)
    got = run(backend, region_pool, x, regions, mode=mode)
    g = as_tuple(regions, 1)
    expected = brute_segments(x, [region_bounds(length, g[0])], mode)
    assert_close(got, expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("regions", [(2, 2), (1, 3), (3, 2), (5, 7), (4, 1), 2,
                                     [2, 5]])
def test_region_pool_2d_matches_brute_force(backend, mode, regions):
    x = normal((2, 3, 5, 7), seed=15)
    got = run(backend, region_pool, x, regions, mode=mode)
    g = as_tuple(regions, 2)
    bounds = [region_bounds(5, g[0]), region_bounds(7, g[1])]
    assert_close(got, brute_segments(x, bounds, mode))


@pytest.mark.parametrize("shape", [(2, 3, 6, 9), (2, 3, 7, 5), (1, 1, 2, 3)])
def test_region_pool_default_is_coates_quadrant_sum(backend, shape):
    x = normal(shape, seed=16)
    h, w = shape[2] // 2, shape[3] // 2
    expected = np.stack([
        np.stack([x[:, :, :h, :w].sum(axis=(2, 3)),
                  x[:, :, :h, w:].sum(axis=(2, 3))], axis=-1),
        np.stack([x[:, :, h:, :w].sum(axis=(2, 3)),
                  x[:, :, h:, w:].sum(axis=(2, 3))], axis=-1),
    ], axis=-2)
    got = run(backend, region_pool, x)
    assert_close(got, expected)
    # The four quadrants partition the map.
    assert_close(got.sum(axis=(2, 3)), x.sum(axis=(2, 3)), rtol=1e-10,
                 atol=1e-10)


def test_region_pool_docstring_example(backend):
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    assert_close(run(backend, region_pool, x, (2, 2)),
                 np.array([[[[12.0, 33.0], [93.0, 162.0]]]]))


@pytest.mark.parametrize("regions", [(1, 1), (2, 3), (4, 5), (6, 6), (3, 1)])
def test_region_pool_partitions_the_input(backend, regions):
    x = normal((2, 2, 6, 6), seed=17)
    total = run(backend, region_pool, x, regions, mode="sum").sum(axis=(2, 3))
    assert_close(total, x.sum(axis=(2, 3)), rtol=1e-10, atol=1e-10)
    peak = run(backend, region_pool, x, regions, mode="max").max(axis=(2, 3))
    assert_close(peak, x.max(axis=(2, 3)))


# --------------------------------------------------------------------------
# adaptive_pool
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("output_size", [1, 2, 3, 5, 7, 10, (4,)])
def test_adaptive_pool_1d_matches_brute_force(backend, mode, output_size):
    x = normal((2, 3, 7), seed=18)
    got = run(backend, adaptive_pool, x, output_size, mode=mode)
    m = as_tuple(output_size, 1)[0]
    assert_close(got, brute_segments(x, [adaptive_bounds(7, m)], mode))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("output_size", [(2, 3), (5, 7), (7, 9), (1, 1),
                                         (3, 2), 4, (1, 10)])
def test_adaptive_pool_2d_matches_brute_force(backend, mode, output_size):
    x = normal((2, 2, 5, 7), seed=19)
    got = run(backend, adaptive_pool, x, output_size, mode=mode)
    m = as_tuple(output_size, 2)
    bounds = [adaptive_bounds(5, m[0]), adaptive_bounds(7, m[1])]
    assert_close(got, brute_segments(x, bounds, mode))


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("output_size", [(2, 3), (7, 9), (1, 1), (4, 4)])
def test_adaptive_pool_matches_torch(backend, mode, output_size):
    torch = pytest.importorskip("torch")
    x = normal((2, 3, 5, 7), seed=20)
    got = run(backend, adaptive_pool, x, output_size, mode=mode)
    func = (torch.nn.functional.adaptive_max_pool2d if mode == "max"
            else torch.nn.functional.adaptive_avg_pool2d)
    assert_close(got, func(torch.from_numpy(x), output_size).numpy())


@pytest.mark.parametrize("mode", MODES)
def test_adaptive_pool_fixed_output_for_any_input_size(backend, mode):
    for spatial in [(5, 7), (8, 8), (13, 6), (3, 3), (1, 2)]:
        x = normal((2, 3) + spatial, seed=21)
        got = run(backend, adaptive_pool, x, (4, 4), mode=mode)
        assert got.shape == (2, 3, 4, 4)
        bounds = [adaptive_bounds(n, 4) for n in spatial]
        assert_close(got, brute_segments(x, bounds, mode))
    for length in [3, 9, 16]:
        got = run(backend, adaptive_pool, normal((1, 2, length), 22), 5,
                  mode=mode)
        assert got.shape == (1, 2, 5)


def test_adaptive_pool_docstring_example(backend):
    x = np.arange(5.0).reshape(1, 1, 5)
    assert_close(run(backend, adaptive_pool, x, 2, mode="avg"),
                 np.array([[[1.0, 3.0]]]))


# --------------------------------------------------------------------------
# channel_pool
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,group_size", [
    ((3, 6), 2), ((3, 6), 6), ((2, 6, 5), 1), ((2, 6, 5), 3),
    ((2, 6, 3, 4), 2), ((2, 8, 3, 4), 4), ((1, 4, 2, 2, 3), 2),
])
def test_channel_pool_matches_brute_force(backend, mode, shape, group_size):
    x = normal(shape, seed=23)
    got = run(backend, channel_pool, x, group_size, mode=mode)
    assert_close(got, brute_channel_pool(x, group_size, mode))


def test_channel_pool_docstring_example(backend):
    x = np.array([[1.0, -3.0, 2.0, 0.5]])
    assert_close(run(backend, channel_pool, x, 2), np.array([[1.0, 2.0]]))
    assert_close(run(backend, channel_pool, x, 2, mode="l2"),
                 np.array([[math.sqrt(10.0), math.sqrt(4.25)]]))


def test_channel_pool_max_is_invariant_within_groups(backend):
    # Permuting channels inside each group leaves maxout features unchanged.
    x = normal((2, 6, 4, 4), seed=24)
    perm = [2, 0, 1, 4, 5, 3]
    for mode in MODES:
        np.testing.assert_allclose(
            run(backend, channel_pool, x[:, perm], 3, mode=mode),
            run(backend, channel_pool, x, 3, mode=mode), rtol=1e-12)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------

X1 = np.zeros((1, 2, 6))
X2 = np.zeros((1, 2, 6, 6))

BAD_INPUT = [
    # id, function, x, args, kwargs, exception, match
    ("pool2d-ndim", pool2d, np.zeros((2, 6, 6)), (2,), {}, ValueError,
     r"x must be a 4-D array .*got an array of shape \(2, 6, 6\) \(3-D\)"),
    ("pool1d-ndim", pool1d, X2, (2,), {}, ValueError,
     r"x must be a 3-D array .*got an array of shape \(1, 2, 6, 6\)"),
    ("size-zero", pool2d, X2, (0,), {}, ValueError,
     r"size must be >= 1 on every axis, got 0"),
    ("size-negative-axis", pool2d, X2, ((2, -1),), {}, ValueError,
     r"size must be >= 1 on every axis, got \(2, -1\)"),
    ("stride-zero", pool1d, X1, (2,), {"stride": 0}, ValueError,
     r"stride must be >= 1 on every axis, got 0"),
    ("stride-negative", pool2d, X2, (2,), {"stride": (1, -2)}, ValueError,
     r"stride must be >= 1 on every axis, got \(1, -2\)"),
    ("size-float", pool1d, X1, (2.0,), {}, TypeError,
     r"size must be an int or a tuple of 1 ints, got 2\.0"),
    ("size-bool", pool1d, X1, (True,), {}, TypeError,
     r"size must be an int .*got True"),
    ("stride-str", pool2d, X2, (2,), {"stride": "2"}, TypeError,
     r"stride must be an int or a tuple of 2 ints, got '2'"),
    ("size-tuple-length", pool2d, X2, ((2, 2, 2),), {}, ValueError,
     r"size must be an int or a tuple of 2 ints .*got \(2, 2, 2\)"),
    ("stride-tuple-length", pool1d, X1, (2,), {"stride": (1, 1)}, ValueError,
     r"stride must be an int or a tuple of 1 ints .*got \(1, 1\)"),
    ("padding-tuple-length", pool2d, X2, (2,), {"padding": (1, 1, 1)},
     ValueError, r"padding must be .*tuple of 2 entries .*got \(1, 1, 1\)"),
    ("mode-unknown", pool2d, X2, (2,), {"mode": "median"}, ValueError,
     r"mode must be one of \['avg', 'l2', 'lspv', 'max', 'mipv', 'mpv', 'ppv', "
     r"'sum'\], got 'median'"),
    ("mode-case", pool1d, X1, (2,), {"mode": "MAX"}, ValueError,
     r"mode must be one of .*got 'MAX'"),
    ("padding-equals-size", pool1d, X1, (2,), {"padding": 2}, ValueError,
     r"padding must be smaller than the pool size.*padding=2.*size=\(2,\)"),
    ("padding-pair-too-big", pool2d, X2, (2,), {"padding": (0, (0, 3))},
     ValueError, r"padding must be smaller .*padding=\(0, \(0, 3\)\)"),
    ("padding-negative", pool1d, X1, (3,), {"padding": -1}, ValueError,
     r"padding must be >= 0, got -1"),
    ("padding-negative-pair", pool2d, X2, (3,), {"padding": ((1, -1), 0)},
     ValueError, r"padding must be >= 0, got \(\(1, -1\), 0\)"),
    ("padding-float", pool1d, X1, (3,), {"padding": 1.5}, TypeError,
     r"padding must be .*got 1\.5"),
    ("padding-string", pool1d, X1, (3,), {"padding": "half"}, ValueError,
     r"padding must be one of \['full', 'same', 'valid'\], got 'half'"),
    ("size-larger-than-input", pool1d, np.zeros((1, 2, 3)), (5,), {},
     ValueError, r"size \(5,\) is larger than the padded input \(3,\)"),
    ("size-larger-than-padded", pool2d, np.zeros((1, 1, 2, 6)), (5,),
     {"padding": (1, 0)}, ValueError,
     r"size \(5, 5\) is larger than the padded input \(4, 6\)"),
    ("complex", pool2d, np.zeros((1, 1, 4, 4), dtype=complex), (2,), {},
     TypeError, r"x must have a real numeric dtype, got dtype complex128"),
    ("region-too-many", region_pool, np.zeros((1, 1, 3, 4)), ((4, 2),), {},
     ValueError, r"regions must be <= the input size on every axis, got "
     r"regions=\(4, 2\) for input of spatial shape \(3, 4\)"),
    ("region-too-many-1d", region_pool, np.zeros((1, 1, 3)), (5,), {},
     ValueError, r"regions must be <= the input size .*regions=\(5,\)"),
    ("region-zero", region_pool, X2, ((0, 2),), {}, ValueError,
     r"regions must be >= 1 on every axis, got \(0, 2\)"),
    ("region-tuple-length", region_pool, X1, ((2, 2),), {}, ValueError,
     r"regions must be an int or a tuple of 1 ints .*got \(2, 2\)"),
    ("region-ndim", region_pool, np.zeros((1, 2)), (), {}, ValueError,
     r"x must be a 3 or 4-D array .*got an array of shape \(1, 2\)"),
    ("region-mode", region_pool, X2, (), {"mode": "mean"}, ValueError,
     r"mode must be one of .*got 'mean'"),
    ("adaptive-zero", adaptive_pool, X2, ((0, 3),), {}, ValueError,
     r"output_size must be >= 1 on every axis, got \(0, 3\)"),
    ("adaptive-float", adaptive_pool, X1, (2.5,), {}, TypeError,
     r"output_size must be an int or a tuple of 1 ints, got 2\.5"),
    ("adaptive-empty-spatial", adaptive_pool, np.zeros((1, 2, 0)), (2,), {},
     ValueError, r"x must have .*spatial.*got .*\(.*0,?\)"),
    ("pool1d-empty-spatial", pool1d, np.zeros((1, 2, 0)), (1,), {},
     ValueError, r"x must have .*spatial.*got .*\(.*0,?\)"),
    ("adaptive-ndim", adaptive_pool, np.zeros((1, 2, 3, 4, 5)), (2,), {},
     ValueError, r"x must be a 3 or 4-D array .*\(1, 2, 3, 4, 5\)"),
    ("channel-not-dividing", channel_pool, np.zeros((1, 6, 3)), (4,), {},
     ValueError, r"group_size must divide n_channels \(6\), got group_size=4"),
    ("channel-zero", channel_pool, np.zeros((1, 6, 3)), (0,), {}, ValueError,
     r"group_size must be >= 1, got 0"),
    ("channel-negative", channel_pool, np.zeros((1, 6, 3)), (-2,), {},
     ValueError, r"group_size must be >= 1, got -2"),
    ("channel-float", channel_pool, np.zeros((1, 6, 3)), (2.0,), {}, TypeError,
     r"group_size must be an int, got float 2\.0"),
    ("channel-ndim", channel_pool, np.zeros(6), (2,), {}, ValueError,
     r"x must be an at least 2-D array .*got an array of shape \(6,\)"),
    ("channel-mode", channel_pool, np.zeros((1, 6)), (2,), {"mode": "min"},
     ValueError, r"mode must be one of .*got 'min'"),
    ("mode-rocket-case", pool1d, X1, (2,), {"mode": "PPV"}, ValueError,
     r"mode must be one of \[.*'ppv'.*\], got 'PPV'"),
    ("mode-rocket-unknown", adaptive_pool, X1, (1,), {"mode": "mean_pv"},
     ValueError, r"mode must be one of \['avg', 'l2', 'lspv', 'max', 'mipv', "
     r"'mpv', 'ppv', 'sum'\], got 'mean_pv'"),
    ("mode-rocket-region", region_pool, X2, (), {"mode": "lspv2"}, ValueError,
     r"mode must be one of \[.*'lspv'.*\], got 'lspv2'"),
    ("mode-rocket-channel", channel_pool, np.zeros((1, 6)), (2,),
     {"mode": "pvv"}, ValueError, r"mode must be one of \[.*'mipv'.*\], got 'pvv'"),
    ("rocket-padding-equals-size", pool1d, X1, (2,),
     {"mode": "mipv", "padding": 2}, ValueError,
     r"padding must be smaller than the pool size"),
]


@pytest.mark.parametrize("func,x,args,kwargs,exc,match",
                         [case[1:] for case in BAD_INPUT],
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_input(backend, func, x, args, kwargs, exc, match):
    xb = backend.asarray(x)
    with pytest.raises(exc, match=match):
        func(xb, *args, **kwargs)


@pytest.mark.parametrize("func,args", [
    (pool1d, (2,)), (pool2d, (2,)), (region_pool, ()), (adaptive_pool, (2,)),
    (channel_pool, (1,)),
], ids=["pool1d", "pool2d", "region_pool", "adaptive_pool", "channel_pool"])
def test_object_dtype_rejected(func, args):
    # NumPy only: object arrays cannot live on a device.
    x = np.empty((1, 2, 4, 4), dtype=object)
    x.fill(1.0)
    if func is pool1d:
        x = x[..., 0]
    with pytest.raises(TypeError,
                       match=r"x must have a real numeric dtype, got dtype object"):
        func(x, *args)


def test_region_pool_default_is_halves_and_quadrants(backend):
    x = np.arange(2 * 3 * 6, dtype=float).reshape(2, 3, 6)
    got = backend.to_numpy(region_pool(backend.asarray(x)))
    np.testing.assert_array_equal(got, np.stack([x[..., :3].sum(-1), x[..., 3:].sum(-1)], -1))
    img = np.arange(2 * 1 * 4 * 4, dtype=float).reshape(2, 1, 4, 4)
    got = backend.to_numpy(region_pool(backend.asarray(img)))
    np.testing.assert_array_equal(got, img.reshape(2, 1, 2, 2, 2, 2).sum(axis=(3, 5)))


# --------------------------------------------------------------------------
# ROCKET-family modes: ppv, mpv, mipv, lspv
# --------------------------------------------------------------------------


def signs(shape, seed):
    """Data with long positive and non-positive runs and exact zeros."""
    x = normal(shape, seed) + 0.3
    x[np.abs(x) < 0.25] = 0.0
    return x


CASES_1D_POS = [(m, k, s, p) for m in ROCKET_MODES for k, s in SIZE_STRIDE_1D
                for p in (0, 2, ((1, 2),), "same", "full")
                if _valid((11,), k, s, p)]
CASES_2D_POS = [(m, k, s, p) for m in ROCKET_MODES for k, s in SIZE_STRIDE_2D
                for p in (0, (1, 0), ((2, 0), (1, 1)), "full")
                if _valid((7, 6), k, s, p)]


def test_rocket_case_lists_cover_the_grid():
    assert {c[0] for c in CASES_1D_POS} == set(ROCKET_MODES)
    assert {c[0] for c in CASES_2D_POS} == set(ROCKET_MODES)
    assert any(p == ((1, 2),) and s == 1 for _, _, s, p in CASES_1D_POS)
    assert any(p == ((2, 0), (1, 1)) for *_, p in CASES_2D_POS)


@pytest.mark.parametrize("mode,size,stride,padding", CASES_1D_POS)
def test_rocket_pool1d_matches_brute_force(backend, mode, size, stride,
                                           padding):
    x = signs((2, 3, 11), seed=31)
    assert_window_pool(backend, x, mode, size, stride, padding)


@pytest.mark.parametrize("mode,size,stride,padding", CASES_2D_POS)
def test_rocket_pool2d_matches_brute_force(backend, mode, size, stride,
                                           padding):
    x = signs((2, 2, 7, 6), seed=32)
    assert_window_pool(backend, x, mode, size, stride, padding)


@pytest.mark.parametrize("mode", ROCKET_MODES)
@pytest.mark.parametrize("grid", [1, 2, (3,), 11])
def test_rocket_region_and_adaptive_1d(backend, mode, grid):
    x = signs((2, 3, 11), seed=33)
    g = as_tuple(grid, 1)[0]
    assert_close(run(backend, region_pool, x, grid, mode=mode),
                 brute_segments(x, [region_bounds(11, g)], mode))
    assert_close(run(backend, adaptive_pool, x, grid, mode=mode),
                 brute_segments(x, [adaptive_bounds(11, g)], mode))
    assert_close(run(backend, adaptive_pool, x, 2 * g, mode=mode),
                 brute_segments(x, [adaptive_bounds(11, 2 * g)], mode))


@pytest.mark.parametrize("mode", ROCKET_MODES)
@pytest.mark.parametrize("grid", [1, (2, 3), (5, 1)])
def test_rocket_region_and_adaptive_2d(backend, mode, grid):
    x = signs((2, 2, 5, 7), seed=34)
    g = as_tuple(grid, 2)
    assert_close(run(backend, region_pool, x, grid, mode=mode),
                 brute_segments(x, [region_bounds(5, g[0]),
                                    region_bounds(7, g[1])], mode))
    m = (g[0] + 1, g[1] + 2)  # overlapping cells
    assert_close(run(backend, adaptive_pool, x, m, mode=mode),
                 brute_segments(x, [adaptive_bounds(5, m[0]),
                                    adaptive_bounds(7, m[1])], mode))


@pytest.mark.parametrize("mode", ROCKET_MODES)
@pytest.mark.parametrize("shape,group_size", [
    ((3, 6), 3), ((2, 8, 5), 4), ((2, 6, 3, 4), 2), ((2, 5, 3), 5), ((2, 4, 3), 1),
])
def test_rocket_channel_pool_matches_brute_force(backend, mode, shape,
                                                 group_size):
    x = signs(shape, seed=35)
    got = run(backend, channel_pool, x, group_size, mode=mode)
    assert_close(got, brute_channel_pool(x, group_size, mode))


def _rocket_calls():
    return [
        ("pool1d", lambda x, m: pool1d(x, x.shape[-1], mode=m), 3),
        ("pool2d", lambda x, m: pool2d(x, x.shape[2:], mode=m), 4),
        ("region_pool", lambda x, m: region_pool(x, 1, mode=m), 4),
        ("adaptive_pool", lambda x, m: adaptive_pool(x, 1, mode=m), 3),
        ("channel_pool", lambda x, m: channel_pool(x, x.shape[1], mode=m), 3),
    ]


@pytest.mark.parametrize("name,func,ndim", _rocket_calls(),
                         ids=[c[0] for c in _rocket_calls()])
def test_rocket_no_positive_and_all_positive(backend, name, func, ndim):
    shape = (2, 4, 3, 5)[:ndim]
    n = math.prod(shape[2:]) if name != "channel_pool" else shape[1]
    none = np.zeros(shape)
    none[0] = -np.abs(normal(shape[1:], seed=36))
    none[1, 0] = -np.inf
    got = {m: run(backend, func, none, m) for m in ROCKET_MODES}
    np.testing.assert_array_equal(got["ppv"], 0.0)
    np.testing.assert_array_equal(got["mpv"], 0.0)
    np.testing.assert_array_equal(got["mipv"], -1.0)
    np.testing.assert_array_equal(got["lspv"], 0.0)
    every = np.abs(normal(shape, seed=37)) + 0.5
    got = {m: run(backend, func, every, m) for m in ROCKET_MODES}
    np.testing.assert_array_equal(got["ppv"], 1.0)
    np.testing.assert_array_equal(got["mipv"], (n - 1) / 2)
    np.testing.assert_array_equal(got["lspv"], float(n))
    axes = tuple(range(2, ndim)) if name != "channel_pool" else (1,)
    expected = every.mean(axis=axes, keepdims=True)
    if name == "channel_pool":
        expected = expected[:, 0]
    assert_close(got["mpv"], expected.reshape(got["mpv"].shape), rtol=1e-12)


def test_rocket_padding_is_a_non_positive_window_cell(backend):
    # Windows of [1, 1, 1] padded by 1: [0, 1, 1], [1, 1, 1], [1, 1, 0].
    x = np.ones((1, 1, 3))
    expected = {"ppv": [2 / 3, 1.0, 2 / 3], "mpv": [1.0, 1.0, 1.0],
                "mipv": [1.5, 1.0, 0.5], "lspv": [2.0, 3.0, 2.0]}
    for mode, values in expected.items():
        got = run(backend, pool1d, x, 3, stride=1, mode=mode, padding=1)
        assert_close(got, np.array(values).reshape(1, 1, 3))
    # Padding between positives breaks a run in 2-D too: [[0, 0], [0, 2]].
    img = np.array([[[[2.0]]]])
    got = run(backend, pool2d, img, 2, mode="mipv", padding=((1, 0), (1, 0)))
    assert_close(got, np.array([[[[3.0]]]]))


def test_rocket_2d_windows_are_row_major(backend):
    # [[-1, 1], [1, -1]] flattens to -1, 1, 1, -1: the run crosses rows.
    x = np.array([[[[-1.0, 1.0], [1.0, -1.0]]]])
    assert_close(run(backend, pool2d, x, 2, mode="lspv"), np.full((1, 1, 1, 1), 2.0))
    assert_close(run(backend, pool2d, x, 2, mode="mipv"), np.full((1, 1, 1, 1), 1.5))
    assert_close(run(backend, adaptive_pool, x, 1, mode="lspv"),
                 np.full((1, 1, 1, 1), 2.0))
    # Transposed, the positives sit at flat indices 1 and 2 as well.
    assert_close(run(backend, pool2d, np.swapaxes(x, 2, 3), 2, mode="mipv"),
                 np.full((1, 1, 1, 1), 1.5))
    col = np.array([[[[1.0, -1.0], [1.0, -1.0]]]])  # flat 1, -1, 1, -1
    assert_close(run(backend, pool2d, col, 2, mode="lspv"), np.full((1, 1, 1, 1), 1.0))
    assert_close(run(backend, pool2d, col, 2, mode="mipv"), np.full((1, 1, 1, 1), 1.0))


def test_rocket_docstring_examples(backend):
    r = np.array([[[-1.0, 2.0, 3.0, -4.0, 5.0, 6.0, 7.0, -8.0]]])
    assert_close(run(backend, pool1d, r, 4, stride=2, mode="ppv"),
                 np.array([[[0.5, 0.75, 0.75]]]))
    assert_close(run(backend, pool1d, r, 4, stride=2, mode="mipv"),
                 np.array([[[1.5, 5 / 3, 1.0]]]))
    assert_close(run(backend, pool1d, r, 4, stride=2, mode="lspv"),
                 np.array([[[2.0, 2.0, 3.0]]]))
    got = [run(backend, adaptive_pool, r, 1, mode=m).item() for m in ROCKET_MODES]
    np.testing.assert_allclose(got, [0.625, 4.6, 3.6, 3.0], rtol=1e-12)
    s = np.array([[[[1.0, -1.0], [2.0, 3.0]]]])
    assert_close(run(backend, pool2d, s, 2, mode="mipv"), np.full((1, 1, 1, 1), 5 / 3))


@pytest.mark.parametrize("mode", ROCKET_MODES)
def test_rocket_nan_propagates_and_inf_is_positive(backend, mode):
    x = signs((2, 2, 9), seed=38)
    x[0, 1, 4] = np.nan
    x[1, 0, 2] = np.inf
    x[1, 1, 6] = -np.inf
    got = run(backend, pool1d, x, 3, stride=1, mode=mode, padding=1)
    expected = brute_pool(x, (3,), (1,), ((1, 1),), mode)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    assert np.isnan(got[0, 1, 3:6]).all() and not np.isnan(got[1]).any()
    np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)
    for func, args in [(adaptive_pool, (3,)), (region_pool, (3,)),
                       (channel_pool, (2,))]:
        got = run(backend, func, x, *args, mode=mode)
        nan_cells = np.isnan(got)
        assert nan_cells.any() and nan_cells[0].any() and not nan_cells[1].any()
    if mode == "mpv":  # +inf is a positive value
        assert np.isinf(run(backend, adaptive_pool, x, 1, mode=mode)[1, 0, 0])


@pytest.mark.parametrize("name,func,ndim", _rocket_calls(),
                         ids=[c[0] for c in _rocket_calls()])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_rocket_dtype(backend, name, func, ndim, dtype):
    x = signs((3, 4, 5, 6)[:ndim], seed=39) * 3
    x = x.astype(dtype)
    for mode in ROCKET_MODES:
        got = run(backend, func, x, mode)
        assert got.dtype == (np.float32 if dtype == np.float32 else np.float64)
        expected = run(backend, func, x.astype(np.float64), mode)
        assert_close(got.astype(np.float64), expected, rtol=1e-6, atol=1e-6)
    # Strided pooling keeps float32 too.
    if name in ("pool1d", "pool2d"):
        for mode in ROCKET_MODES:
            y = run(backend, POOL[ndim - 2], x, 2, stride=1, mode=mode, padding=1)
            assert y.dtype == got.dtype


@pytest.mark.parametrize("mode", ROCKET_MODES)
def test_rocket_empty_batch_and_input_not_modified(backend, mode):
    for func, shape, expected in [
        (lambda x: pool1d(x, 3, stride=2, mode=mode, padding=1), (0, 2, 7), (0, 2, 4)),
        (lambda x: pool2d(x, 2, mode=mode), (0, 3, 4, 5), (0, 3, 2, 2)),
        (lambda x: adaptive_pool(x, 1, mode=mode), (0, 3, 6), (0, 3, 1)),
        (lambda x: region_pool(x, 2, mode=mode), (0, 3, 4, 4), (0, 3, 2, 2)),
        (lambda x: channel_pool(x, 2, mode=mode), (0, 4, 3), (0, 2, 3)),
    ]:
        got = run(backend, func, np.zeros(shape, dtype=np.float32))
        assert got.shape == expected and got.dtype == np.float32
    x = signs((2, 4, 6, 6), seed=40)
    xb = backend.asarray(x.copy())
    pool2d(xb, 1, mode=mode)
    pool2d(xb, 3, stride=2, mode=mode, padding=1)
    region_pool(xb, mode=mode)
    adaptive_pool(xb, (1, 4), mode=mode)
    channel_pool(xb, 2, mode=mode)
    np.testing.assert_array_equal(backend.to_numpy(xb), x)


@HYP
@given(data=st.data(), n_spatial=st.sampled_from([1, 2]),
       seed=st.integers(0, 2**16))
def test_rocket_window_invariants(backend, data, n_spatial, seed):
    """ppv in [0, 1] and ppv * n = the number of positives (a 'sum' pool of
    the indicator), mpv * count = the 'sum' pool of relu(x), lspv <= count
    with lspv >= 1 iff count >= 1, mipv = -1 iff count = 0, else in
    [0, n - 1]."""
    size, stride, pads, spatial = [], [], [], []
    for _ in range(n_spatial):
        k = data.draw(st.integers(1, 4))
        b, a = data.draw(st.integers(0, k - 1)), data.draw(st.integers(0, k - 1))
        size.append(k)
        stride.append(data.draw(st.integers(1, 3)))
        pads.append((b, a))
        spatial.append(data.draw(st.integers(max(1, k - a - b), 8)))
    x = signs((2, 2) + tuple(spatial), seed)
    pool = POOL[n_spatial]
    kw = dict(stride=tuple(stride), padding=tuple(pads))
    n = math.prod(size)
    got = {m: run(backend, pool, x, tuple(size), mode=m, **kw)
           for m in ROCKET_MODES}
    count = run(backend, pool, (x > 0).astype(float), tuple(size), mode="sum", **kw)
    relu_sum = run(backend, pool, np.maximum(x, 0), tuple(size), mode="sum", **kw)
    assert ((got["ppv"] >= 0) & (got["ppv"] <= 1)).all()
    np.testing.assert_allclose(got["ppv"] * n, count, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["mpv"] * count, relu_sum, rtol=1e-12, atol=1e-12)
    assert (got["lspv"] <= count).all() and (got["lspv"] <= n).all()
    np.testing.assert_array_equal(got["lspv"] >= 1, count >= 1)
    np.testing.assert_array_equal(got["mipv"] == -1, count == 0)
    assert ((got["mipv"][count > 0] >= 0) & (got["mipv"][count > 0] <= n - 1)).all()


@HYP
@given(length=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_rocket_global_pooling_agrees_and_reverses(backend, length, seed):
    """Every function gives the same global features; reversing the series
    maps mipv to n - 1 - mipv (when there are positives) and keeps the rest."""
    x = signs((2, 3, length), seed)
    for mode in ROCKET_MODES:
        ref = run(backend, adaptive_pool, x, 1, mode=mode)
        assert_close(run(backend, pool1d, x, length, mode=mode), ref)
        assert_close(run(backend, region_pool, x, 1, mode=mode), ref)
        by_channel = run(backend, channel_pool, np.swapaxes(x, 1, 2), length, mode=mode)
        assert_close(np.swapaxes(by_channel, 1, 2), ref)
        flipped = run(backend, adaptive_pool, x[..., ::-1], 1, mode=mode)
        if mode == "mipv":
            flipped = np.where(flipped == -1, -1, length - 1 - flipped)
        assert_close(flipped, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["max", "avg", "sum", "l2"])
@pytest.mark.parametrize("threads", [1, 3])
def test_blocked_and_threaded_pooling_equals_one_block(monkeypatch, mode, threads):
    # large CPU batches are pooled in blocks of samples spread over threads;
    # shrink the block so that a small batch takes that path
    from featurelab.ops import _pool as pool_module

    x = normal((11, 3, 9, 8), 7)
    whole = [pool2d(x, 3, stride=2, padding=1, mode=mode), pool1d(x[:, :, 0], 2, mode=mode)]
    calls = []
    block = pool_module._pool_block

    def counted(*args):
        calls.append(args[1].shape[0])
        return block(*args)

    monkeypatch.setattr(pool_module, "_CPU_POOL_BLOCK_BYTES", 2 * x[:1].nbytes)
    monkeypatch.setattr(pool_module, "_pool_block", counted)
    monkeypatch.setattr(pool_module, "cpu_threads", lambda: threads)
    np.testing.assert_array_equal(pool2d(x, 3, stride=2, padding=1, mode=mode), whole[0])
    assert sorted(calls) == [1, 2, 2, 2, 2, 2]          # 11 samples in blocks of 2
    np.testing.assert_array_equal(pool1d(x[:, :, 0], 2, mode=mode), whole[1])
