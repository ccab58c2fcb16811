"""Pooling over space (windows, regions, adaptive grids) and over channels."""

import itertools
import math

import numpy as np

from .._validation import (
    as_tuple,
    check_array,
    check_int,
    check_option,
    check_spatial,
    resolve_padding,
)
from ..backend import get_namespace
from ._threads import cpu_threads, run_in_threads

__all__ = ["adaptive_pool", "channel_pool", "pool1d", "pool2d", "region_pool"]

# The last four are the ROCKET-family operators (MultiRocket's PPV, MPV, MIPV
# and LSPV); they are computed by _pool_positive / _flat_positive, not by the
# running reductions of the first four.
POOL_MODES = ("max", "avg", "sum", "l2", "ppv", "mpv", "mipv", "lspv")
_POSITIVE_MODES = ("ppv", "mpv", "mipv", "lspv")

_LAYOUT = {
    1: "(n_samples, n_channels, length)",
    2: "(n_samples, n_channels, height, width)",
}


def _reducers(xp, mode):
    """Return (prepare, combine, finish) for a pooling mode.

    ``combine(acc, part)`` accumulates in place; ``finish(y, window)``
    turns the accumulated values into the pooled ones, ``window`` being the
    number of input samples per output.
    """
    if mode == "max":
        return (lambda x: x), xp.maximum, lambda y, window: y
    prepare = (lambda x: x * x) if mode == "l2" else (lambda x: x)
    if mode == "avg":
        def finish(y, window):
            y /= window
            return y
    elif mode == "l2":
        def finish(y, window):
            return xp.sqrt(y, out=y)
    else:
        def finish(y, window):
            return y
    return prepare, xp.add, finish


def _axis_slice(ndim, axis, sl):
    index = [slice(None)] * ndim
    index[axis] = sl
    return tuple(index)


def _window_reduce(x, axes, sizes, strides, combine):
    """Running reduction over every window offset along ``axes`` jointly.

    Each offset is a strided view of ``x``; the accumulator starts as the
    combination of the first two (so no copy of the first is needed) and is
    updated in place.  Costs ``prod(sizes)`` passes; no window copies.
    """
    taps = _window_taps(x, axes, sizes, strides)
    first = next(taps)
    second = next(taps, None)
    if second is None:
        return first.copy()
    acc = combine(first, second)
    for tap in taps:
        combine(acc, tap, out=acc)
    return acc


def _window_taps(x, axes, sizes, strides):
    """Yield one strided view of ``x`` per window offset along ``axes``.

    View ``t`` holds, for every output position, the input at offset ``t``
    of its window; offsets come in row-major order (the last axis fastest),
    so ``t`` is the offset's index in the window flattened row by row.
    """
    n_outs = [(x.shape[a] - k) // s + 1 for a, k, s in zip(axes, sizes, strides)]
    for offsets in itertools.product(*(range(k) for k in sizes)):
        index = [slice(None)] * x.ndim
        for axis, o, s, m in zip(axes, offsets, strides, n_outs):
            index[axis] = slice(o, o + s * (m - 1) + 1, s)
        yield x[tuple(index)]


# Windows of at most this many taps are reduced over all axes at once;
# larger ones one axis at a time (k1 + k2 passes instead of k1 * k2).  On the
# benchmark machine: 2x2 max 10 ms joint vs 14 ms separable, 3x3 avg 36 ms
# separable vs 56 ms joint (benchmarks/RESULTS.md).
_JOINT_MAX_TAPS = 4


# On the CPU, batches larger than this are pooled in blocks of samples of
# about this size, so that every tap of a window re-reads cached input, and
# the blocks are shared among ``cpu_threads()`` threads (NumPy's ufuncs
# release the GIL).  Measured on (256, 64, 32, 32) float32 (this 2-core
# machine), 3x3 stride 2 average pooling: 16.8 ms whole, 12.2 ms in 4 MB
# blocks, 7.0 ms in 2 MB blocks on 2 threads (PyTorch: 12.0 ms).
_CPU_POOL_BLOCK_BYTES = 2 * 2**20


def _pool(xp, x, size, stride, pads, mode):
    """Pool valid input over windows (no checks)."""
    if mode in _POSITIVE_MODES:
        return _pool_positive(xp, x, size, stride, pads, mode)
    sample_bytes = max(1, x[:1].nbytes)
    if xp is not np or x.shape[0] * sample_bytes <= 2 * _CPU_POOL_BLOCK_BYTES:
        return _pool_block(xp, x, size, stride, pads, mode)
    block = max(1, _CPU_POOL_BLOCK_BYTES // sample_bytes)
    out_size = tuple((n + a + b - k) // s + 1
                     for n, (a, b), k, s in zip(x.shape[2:], pads, size, stride))
    out = np.empty(x.shape[:2] + out_size, dtype=x.dtype)

    def work(lo, hi):
        for start in range(lo, hi, block):
            stop = min(start + block, hi)
            out[start:stop] = _pool_block(xp, x[start:stop], size, stride, pads, mode)

    run_in_threads(work, x.shape[0], block, cpu_threads())
    return out


def _pool_block(xp, x, size, stride, pads, mode):
    """:func:`_pool` of one block of samples (max, avg, sum, l2)."""
    prepare, combine, finish = _reducers(xp, mode)
    y = prepare(x)
    if any(a or b for a, b in pads):
        fill = -math.inf if mode == "max" else 0
        y = xp.pad(y, ((0, 0), (0, 0)) + tuple(pads), constant_values=fill)
    work = [(axis, k, s) for axis, (k, s) in enumerate(zip(size, stride), start=2)
            if (k, s) != (1, 1)]
    if math.prod(k for _, k, _ in work) <= _JOINT_MAX_TAPS:
        work = [tuple(zip(*work))] if work else []
    else:
        work = [((axis,), (k,), (s,)) for axis, k, s in work]
    for axes, sizes, strides in work:
        y = _window_reduce(y, axes, sizes, strides, combine)
    if y is x:
        y = y.copy()
    return finish(y, math.prod(size))


# --------------------------------------------------------------------------
# ROCKET-family operators: ppv, mpv, mipv, lspv
# --------------------------------------------------------------------------


def _positive(xp, x):
    """1 where ``x > 0``, 0 where ``x <= 0`` and NaN where ``x`` is NaN.

    ``maximum(sign(x), 0)``: a float indicator in ``x``'s dtype through which
    NaN propagates (``x > 0`` would silently count a NaN as non-positive).
    """
    s = xp.sign(x)
    return xp.maximum(s, 0, out=s)


def _positive_means(xp, count, total, idx, mode):
    """MPV ``total / count`` (0 without positives) or MIPV ``idx / count``
    (-1 without positives); NaN in ``count`` propagates."""
    empty = count == 0
    denom = xp.where(empty, 1, count)
    if mode == "mpv":
        return total / denom  # total is 0 where count is
    return idx / denom - empty


def _pool_positive(xp, x, size, stride, pads, mode):
    """PPV/MPV/MIPV/LSPV over sliding windows (padded cells: 0, not positive).

    PPV and MPV are window sums, computed by the running reductions of
    :func:`_pool` (separable for large windows); MIPV and LSPV depend on the
    order inside the window and loop over its offsets jointly, in row-major
    order.
    """
    window = math.prod(size)
    pos = _positive(xp, x)
    if mode != "lspv":
        count = _pool(xp, pos, size, stride, pads, "sum")
        if mode == "ppv":
            count /= window
            return count
        if mode == "mpv":
            total = _pool(xp, xp.maximum(x, 0), size, stride, pads, "sum")
            return _positive_means(xp, count, total, None, mode)
    if any(a or b for a, b in pads):
        pos = xp.pad(pos, ((0, 0), (0, 0)) + tuple(pads), constant_values=0)
    axes = tuple(range(2, x.ndim))
    taps = _window_taps(pos, axes, size, stride)
    first = next(taps)
    if mode == "mipv":  # sum of t * positive(offset t); offset 0 adds nothing
        idx = xp.zeros(first.shape, dtype=first.dtype)
        term = xp.empty_like(idx)
        for t, tap in enumerate(taps, start=1):
            xp.multiply(tap, t, out=term)
            idx += term
        return _positive_means(xp, count, None, idx, mode)
    return _longest_run(xp, first, taps)


def _longest_run(xp, first, rest):
    """Longest run of ones in the sequence of indicator arrays ``first, *rest``.

    ``run = (run + 1) * positive`` counts the current run, ``best`` keeps its
    maximum; a NaN indicator makes ``run`` and so ``best`` NaN.
    """
    run = first.copy()
    best = first.copy()
    for tap in rest:
        run += 1
        run *= tap
        xp.maximum(best, run, out=best)
    return best


def _flat_positive(xp, v, mode):
    """PPV/MPV/MIPV/LSPV over the last axis of ``v`` (shape ``(..., n)``)."""
    n = v.shape[-1]
    pos = _positive(xp, v)
    if mode == "lspv":  # one contiguous (...) slab per position
        seq = xp.ascontiguousarray(xp.moveaxis(pos, -1, 0))
        return _longest_run(xp, seq[0], (seq[j] for j in range(1, n)))
    count = pos.sum(axis=-1)
    if mode == "ppv":
        count /= n
        return count
    if mode == "mpv":
        total = xp.maximum(v, 0).sum(axis=-1)
        return _positive_means(xp, count, total, None, mode)
    pos *= xp.arange(n, dtype=pos.dtype)
    return _positive_means(xp, count, None, pos.sum(axis=-1), mode)


def _global_positive(xp, v, modes):
    """PPV/MPV/MIPV/LSPV of ``v`` (shape ``(n, length, R)``) over its axis 1,
    all requested ``modes`` from one positive indicator: ``{mode: (n, R)}``.

    The channels-last twin of :func:`_flat_positive` (same rules, NaN
    propagating), for a bank's responses: every reduction runs along rows
    of ``R`` contiguous values, and the MIPV index sum is one product with
    ``arange(length)``.
    """
    n, length, r = v.shape
    pos = _positive(xp, v)
    count = pos.sum(axis=1)
    out = {}
    for mode in modes:
        if mode == "ppv":
            out[mode] = count / length
        elif mode == "mpv":
            total = xp.maximum(v, 0).sum(axis=1)
            out[mode] = _positive_means(xp, count, total, None, mode)
        elif mode == "mipv":
            idx = xp.matmul(xp.arange(length, dtype=pos.dtype), pos)
            out[mode] = _positive_means(xp, count, None, idx, mode)
        elif mode == "lspv":
            out[mode] = _longest_run(xp, pos[:, 0], (pos[:, j] for j in range(1, length)))
        else:
            raise ValueError(f"not a positive-value mode: {mode!r}")
    return out


def _validate_pool(x, n_spatial, size, stride, padding, mode):
    xp = get_namespace(x)
    x = check_array(x, "x", n_spatial + 2, _LAYOUT[n_spatial])
    check_spatial(x)
    check_option(mode, POOL_MODES, "mode")
    size = as_tuple(size, n_spatial, "size")
    stride = size if stride is None else as_tuple(stride, n_spatial, "stride")
    pads = resolve_padding(padding, x.shape[2:], size, stride)
    if any(max(p) >= k for p, k in zip(pads, size)):
        raise ValueError(
            f"padding must be smaller than the pool size on every axis so "
            f"that each window holds an input value; got padding={padding!r} "
            f"(resolved to {pads}) for size={size}."
        )
    padded = tuple(n + a + b for n, (a, b) in zip(x.shape[2:], pads))
    if any(p < k for p, k in zip(padded, size)):
        raise ValueError(
            f"size {size} is larger than the padded input {padded} "
            f"(input {tuple(x.shape[2:])}, padding={padding!r})."
        )
    return xp, x, size, stride, pads


_POOL_DOC = """
    Parameters
    ----------
    x : array of shape {layout}
        NumPy or CuPy; float32/float64 kept, bool/int cast to float64.
    size : int or tuple of int
        Window size per spatial axis.
    stride : int or tuple of int, optional
        Step between windows; defaults to ``size`` (non-overlapping pooling).
        ``stride < size`` gives overlapping pooling, ``stride > size``
        spaced pooling that skips inputs.
    mode : {{'max', 'avg', 'sum', 'l2', 'ppv', 'mpv', 'mipv', 'lspv'}}, default='max'
        Reduction over each window; ``'l2'`` is ``sqrt(sum(x ** 2))``.  The
        last four are the ROCKET-family operators, defined in the Notes:
        proportion of positive values, mean of the positive values, mean
        index of the positive values, longest run of positive values.
    padding : int or tuple or {{'valid', 'same', 'full'}}, default=0
        Padding at both ends of each axis (a tuple may give ``(before,
        after)`` pairs); every pad must be smaller than ``size``.  Padded
        cells hold ``-inf`` for ``'max'`` (never selected) and 0 otherwise,
        so ``'avg'`` divides by the full window size, as PyTorch's default
        ``count_include_pad=True`` does.  For the ROCKET-family modes a
        padded cell is a window position holding 0, i.e. not positive.

    Returns
    -------
    y : array of shape {out_layout}
        Each output size is ``(size_in + pad_before + pad_after - size)
        // stride + 1``; trailing inputs that fill no whole window are dropped.

    Notes
    -----
    The reduction is a running maximum or sum over the window offsets, each
    offset a strided view of the input: jointly over all axes for windows of
    up to 4 taps, else separably, one spatial axis at a time (``kh + kw``
    passes instead of ``kh * kw``).  Memory is one output-sized accumulator
    per axis; no ``(..., size)`` window copies are built.  Measured on 2
    cores, 2x2 max pooling is ~20x faster this way than a reshape-and-reduce
    (benchmarks/RESULTS.md).  NaN propagates to every window containing it.
{positive}"""

_POSITIVE_DOC = """
    The ROCKET-family modes (Dempster et al. 2020; Tan et al. 2022) look at
    which values of a window are positive, ``x > 0`` (0 is not positive).
    With ``n`` the window size, ``P`` the positions ``j = 0 .. n - 1`` of the
    window whose value is positive and ``|P|`` their number:

    - ``'ppv'``, proportion of positive values: ``|P| / n``, in [0, 1];
    - ``'mpv'``, mean of the positive values: ``sum(x[j] for j in P) / |P|``,
      0 when ``P`` is empty;
    - ``'mipv'``, mean of the indices of the positive values:
      ``sum(P) / |P|``, -1 when ``P`` is empty.  The index is the raw 0-based
      position, not divided by ``n``, as in MultiRocket's reference code
      (``mean_index / ppv``, else -1); so it lies in ``[0, n - 1]`` and the
      empty-window value -1 stays outside that range.  Divide by ``n``
      for a position relative to the window size;
    - ``'lspv'``, longest stretch of positive values: the length of the
      longest run of consecutive positions in ``P``, in ``[0, n]``.

    In 2-D (and for region and adaptive cells) a window is flattened in
    row-major order, the last axis fastest: position ``(r, c)`` of a
    ``kh x kw`` window has index ``r * kw + c``, and a run of positive
    values continues from the end of one window row into the next.  Padded
    cells are window positions that are never positive: they count in ``n``
    (so ``'ppv'`` divides by the full window, as ``'avg'`` does), they shift
    the indices of ``'mipv'`` (index 0 is the window's first cell, padded or
    not) and they break runs.  This is the existing rule (padding holds 0)
    applied unchanged, and it keeps every output comparable across windows
    of one call.  A NaN makes the result NaN (it is neither positive nor
    not); ``+inf`` is positive and ``-inf`` is not.  Memory: one
    output-sized accumulator per statistic (two for ``'lspv'``); ``'mipv'``
    and ``'lspv'`` take ``prod(size)`` passes, ``'ppv'`` and ``'mpv'`` are
    window sums and take the passes of ``'sum'``.
"""


def pool1d(x, size, *, stride=None, mode="max", padding=0):
    """Pool a batch of 1-D signals over sliding windows."""
    xp, x, size, stride, pads = _validate_pool(x, 1, size, stride, padding, mode)
    return _pool(xp, x, size, stride, pads, mode)


def pool2d(x, size, *, stride=None, mode="max", padding=0):
    """Pool a batch of images over sliding windows."""
    xp, x, size, stride, pads = _validate_pool(x, 2, size, stride, padding, mode)
    return _pool(xp, x, size, stride, pads, mode)


_REFERENCES_DOC = """
    References
    ----------
    .. [1] A. Dempster, F. Petitjean and G. I. Webb, "ROCKET: exceptionally
       fast and accurate time series classification using random
       convolutional kernels", Data Mining and Knowledge Discovery 34, 2020.
    .. [2] C. W. Tan, A. Dempster, C. Bergmeir and G. I. Webb, "MultiRocket:
       multiple pooling operators and transformations for fast and effective
       time series classification", Data Mining and Knowledge Discovery 36,
       2022.
"""

pool1d.__doc__ += _POOL_DOC.format(
    layout=_LAYOUT[1], out_layout="(n_samples, n_channels, out_length)",
    positive=_POSITIVE_DOC,
) + _REFERENCES_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import pool1d
    >>> x = np.array([[[1., 5., 2., 0., 3., 4.]]])
    >>> pool1d(x, 2)
    array([[[5., 2., 4.]]])
    >>> pool1d(x, 3, stride=1, mode="avg")
    array([[[2.6667, 2.3333, 1.6667, 2.3333]]])

    The ROCKET-family operators, here over windows of 4 with stride 2:

    >>> r = np.array([[[-1., 2., 3., -4., 5., 6., 7., -8.]]])
    >>> pool1d(r, 4, stride=2, mode="ppv")      # windows 0:4, 2:6, 4:8
    array([[[0.5 , 0.75, 0.75]]])
    >>> pool1d(r, 4, stride=2, mode="mipv")     # 0-based index in the window
    array([[[1.5   , 1.6667, 1.    ]]])
    >>> pool1d(r, 4, stride=2, mode="lspv")
    array([[[2., 2., 3.]]])
"""

pool2d.__doc__ += _POOL_DOC.format(
    layout=_LAYOUT[2], out_layout="(n_samples, n_channels, out_height, out_width)",
    positive=_POSITIVE_DOC,
) + _REFERENCES_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import pool2d
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> pool2d(x, 2)
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    >>> pool2d(x, 2, mode="sum", stride=(2, 1)).shape
    (1, 1, 2, 3)
    >>> s = np.array([[[[1., -1.], [2., 3.]]]])  # flattened: 1, -1, 2, 3
    >>> pool2d(s, 2, mode="mipv"), pool2d(s, 2, mode="lspv")
    (array([[[[1.6667]]]]), array([[[[2.]]]]))
"""


def _segment_reduce(xp, x, segments, mode):
    """Reduce each spatial axis over the given (start, stop) segments."""
    for axis, bounds in enumerate(segments, start=2):
        parts = []
        for start, stop in bounds:
            part = x[_axis_slice(x.ndim, axis, slice(start, stop))]
            if mode == "max":
                parts.append(part.max(axis=axis, keepdims=True))
            elif mode == "avg":
                parts.append(part.mean(axis=axis, keepdims=True))
            else:
                parts.append(part.sum(axis=axis, keepdims=True))
        x = xp.concatenate(parts, axis=axis)
    return x


def _grid_pool(x, grid, mode, name, adaptive):
    xp = get_namespace(x)
    x = check_array(x, "x", (3, 4), "(n_samples, n_channels, length) or "
                    "(n_samples, n_channels, height, width)")
    check_option(mode, POOL_MODES, "mode")
    sizes = x.shape[2:]
    grid = as_tuple(grid, len(sizes), name)
    if not adaptive and any(g > n for g, n in zip(grid, sizes)):
        raise ValueError(
            f"{name} must be <= the input size on every axis, got {name}="
            f"{grid} for input of spatial shape {tuple(sizes)}."
        )
    check_spatial(x)
    if adaptive:  # PyTorch's rule: floor(i * n / g) to ceil((i + 1) * n / g)
        segments = [[(i * n // g, -(-(i + 1) * n // g)) for i in range(g)]
                    for g, n in zip(grid, sizes)]
    else:  # a partition: floor(i * n / g) to floor((i + 1) * n / g)
        segments = [[(i * n // g, (i + 1) * n // g) for i in range(g)]
                    for g, n in zip(grid, sizes)]
    if mode in _POSITIVE_MODES:
        return _segment_positive(xp, x, segments, mode)
    y = _segment_reduce(xp, x * x if mode == "l2" else x, segments, mode)
    return xp.sqrt(y) if mode == "l2" else y


def _segment_positive(xp, x, segments, mode):
    """PPV/MPV/MIPV/LSPV over each cell of the product of the segments.

    A cell (one segment per axis) is flattened in row-major order and
    reduced as a whole: MIPV and LSPV are not separable over axes.
    """
    cells = []
    for bounds in itertools.product(*segments):
        index = (slice(None), slice(None)) + tuple(slice(a, b) for a, b in bounds)
        block = x[index]
        flat = block.reshape(block.shape[:2] + (math.prod(block.shape[2:]),))
        cells.append(_flat_positive(xp, flat, mode))
    y = xp.stack(cells, axis=-1)
    return y.reshape(x.shape[:2] + tuple(len(b) for b in segments))


def region_pool(x, regions=2, mode="sum"):
    """Pool each feature map into a fixed grid of regions.

    The spatial axes are partitioned into ``regions`` nearly equal,
    non-overlapping, contiguous blocks (block ``i`` of an axis of size ``n``
    split into ``g`` spans ``floor(i n / g)`` to ``floor((i + 1) n / g)``),
    and each block is reduced.  The default, 2 regions per axis with
    ``mode='sum'``, is the quadrant pooling of Coates, Lee & Ng (2011).

    Parameters
    ----------
    x : array of shape (n_samples, n_channels, length) or (n_samples, n_channels, height, width)
    regions : int or tuple of int, default=2
        Number of regions per spatial axis (an int: the same on every axis,
        so the default gives quadrants of images and halves of signals); at
        most the axis size.
    mode : {'max', 'avg', 'sum', 'l2', 'ppv', 'mpv', 'mipv', 'lspv'}, default='sum'
        Reduction over each region; ``'l2'`` is ``sqrt(sum(x ** 2))`` and
        the ROCKET-family modes are defined in :func:`pool1d` (a 2-D region
        is flattened in row-major order; indices count from its first cell).

    Returns
    -------
    y : array of shape (n_samples, n_channels, *regions)

    References
    ----------
    .. [1] A. Coates, H. Lee and A. Y. Ng, "An analysis of single-layer
       networks in unsupervised feature learning", AISTATS 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import region_pool
    >>> x = np.arange(25.0).reshape(1, 1, 5, 5)
    >>> region_pool(x, (2, 2))          # rows/cols split 0:2 and 2:5
    array([[[[ 12.,  33.],
             [ 93., 162.]]]])
    """
    return _grid_pool(x, regions, mode, "regions", adaptive=False)


def adaptive_pool(x, output_size, mode="max"):
    """Pool each feature map to a fixed output size, whatever its input size.

    Output cell ``i`` of an axis of size ``n`` pooled to ``m`` cells covers
    inputs ``floor(i n / m)`` to ``ceil((i + 1) n / m)`` (PyTorch's adaptive
    pooling rule): cells may overlap by one sample, and ``m > n`` repeats
    inputs.  Use it so that inputs of different sizes give features of one
    size.

    Parameters
    ----------
    x : array of shape (n_samples, n_channels, length) or (n_samples, n_channels, height, width)
    output_size : int or tuple of int
        Output size per spatial axis; 1 gives global pooling.
    mode : {'max', 'avg', 'sum', 'l2', 'ppv', 'mpv', 'mipv', 'lspv'}, default='max'
        Reduction over each cell; ``'l2'`` is ``sqrt(sum(x ** 2))`` and the
        ROCKET-family modes are defined in :func:`pool1d` (a 2-D cell is
        flattened in row-major order; indices count from its first cell).
        ``adaptive_pool(x, 1, 'ppv')`` is ROCKET's PPV feature of each map.

    Returns
    -------
    y : array of shape (n_samples, n_channels, *output_size)

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import adaptive_pool
    >>> adaptive_pool(np.arange(5.0).reshape(1, 1, 5), 2, mode="avg")
    array([[[1., 3.]]])
    >>> adaptive_pool(np.ones((2, 3, 7, 9)), (2, 2)).shape
    (2, 3, 2, 2)

    Global ROCKET-family features of a series (positive at 1, 2, 4, 5, 6):

    >>> r = np.array([[[-1., 2., 3., -4., 5., 6., 7., -8.]]])
    >>> [adaptive_pool(r, 1, mode=m).item() for m in ("ppv", "mpv", "mipv", "lspv")]
    [0.625, 4.6, 3.6, 3.0]
    """
    return _grid_pool(x, output_size, mode, "output_size", adaptive=True)


def channel_pool(x, group_size, mode="max"):
    """Pool across groups of consecutive channels (maxout when ``'max'``).

    Channels ``g * group_size`` to ``(g + 1) * group_size`` are reduced into
    output channel ``g``.  When the grouped channels come from separately
    parametrised kernels (say, one kernel at several orientations or
    phases), the pooled feature becomes invariant to what varies inside the
    group: a learned invariance, as in maxout networks.

    Parameters
    ----------
    x : array of shape (n_samples, n_channels, ...)
        At least 2-D; any number of trailing spatial axes.
    group_size : int
        Channels per group; must divide ``n_channels``.
    mode : {'max', 'avg', 'sum', 'l2', 'ppv', 'mpv', 'mipv', 'lspv'}, default='max'
        Reduction over each group; ``'l2'`` is ``sqrt(sum(x ** 2))`` and the
        ROCKET-family modes are defined in :func:`pool1d`, the window being
        the group's channels in order (``'mipv'``: mean position in the
        group of the positive channels; ``'lspv'``: longest run of
        consecutive positive channels).

    Returns
    -------
    y : array of shape (n_samples, n_channels // group_size, ...)

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import channel_pool
    >>> x = np.array([[1., -3., 2., 0.5]])     # (N=1, C=4)
    >>> channel_pool(x, 2)
    array([[1., 2.]])
    >>> channel_pool(x, 2, mode="l2")
    array([[3.1623, 2.0616]])
    """
    xp = get_namespace(x)
    x = check_array(x, "x", range(2, 33), "(n_samples, n_channels, ...)")
    check_option(mode, POOL_MODES, "mode")
    group_size = check_int(group_size, "group_size", minimum=1)
    n_channels = x.shape[1]
    if n_channels % group_size:
        raise ValueError(
            f"group_size must divide n_channels ({n_channels}), got "
            f"group_size={group_size}."
        )
    grouped = x.reshape((x.shape[0], n_channels // group_size, group_size) + x.shape[2:])
    if mode in _POSITIVE_MODES:
        return _flat_positive(xp, xp.moveaxis(grouped, 2, -1), mode)
    if mode == "max":
        return grouped.max(axis=2)
    if mode == "avg":
        return grouped.mean(axis=2)
    if mode == "sum":
        return grouped.sum(axis=2)
    return xp.sqrt((grouped * grouped).sum(axis=2))
