"""Pooling over space (windows, regions, adaptive grids) and over channels."""

import itertools
import math

from .._validation import (
    as_tuple,
    check_array,
    check_int,
    check_option,
    check_spatial,
    resolve_padding,
)
from ..backend import get_namespace

__all__ = ["adaptive_pool", "channel_pool", "pool1d", "pool2d", "region_pool"]

POOL_MODES = ("max", "avg", "sum", "l2")

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
    n_outs = [(x.shape[a] - k) // s + 1 for a, k, s in zip(axes, sizes, strides)]

    def tap(offsets):
        index = [slice(None)] * x.ndim
        for axis, o, s, m in zip(axes, offsets, strides, n_outs):
            index[axis] = slice(o, o + s * (m - 1) + 1, s)
        return x[tuple(index)]

    offsets = list(itertools.product(*(range(k) for k in sizes)))
    if len(offsets) == 1:
        return tap(offsets[0]).copy()
    acc = combine(tap(offsets[0]), tap(offsets[1]))
    for offset in offsets[2:]:
        combine(acc, tap(offset), out=acc)
    return acc


# Windows of at most this many taps are reduced over all axes at once;
# larger ones one axis at a time (k1 + k2 passes instead of k1 * k2).  On the
# benchmark machine: 2x2 max 10 ms joint vs 14 ms separable, 3x3 avg 36 ms
# separable vs 56 ms joint (benchmarks/RESULTS.md).
_JOINT_MAX_TAPS = 4


def _pool(xp, x, size, stride, pads, mode):
    """Pool valid input over windows (no checks)."""
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
    mode : {{'max', 'avg', 'sum', 'l2'}}, default='max'
        Reduction over each window; ``'l2'`` is ``sqrt(sum(x ** 2))``.
    padding : int or tuple or {{'valid', 'same', 'full'}}, default=0
        Padding at both ends of each axis (a tuple may give ``(before,
        after)`` pairs); every pad must be smaller than ``size``.  Padded
        cells hold ``-inf`` for ``'max'`` (never selected) and 0 otherwise,
        so ``'avg'`` divides by the full window size, as PyTorch's default
        ``count_include_pad=True`` does.

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
"""


def pool1d(x, size, *, stride=None, mode="max", padding=0):
    """Pool a batch of 1-D signals over sliding windows."""
    xp, x, size, stride, pads = _validate_pool(x, 1, size, stride, padding, mode)
    return _pool(xp, x, size, stride, pads, mode)


def pool2d(x, size, *, stride=None, mode="max", padding=0):
    """Pool a batch of images over sliding windows."""
    xp, x, size, stride, pads = _validate_pool(x, 2, size, stride, padding, mode)
    return _pool(xp, x, size, stride, pads, mode)


pool1d.__doc__ += _POOL_DOC.format(
    layout=_LAYOUT[1], out_layout="(n_samples, n_channels, out_length)"
) + """
    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import pool1d
    >>> x = np.array([[[1., 5., 2., 0., 3., 4.]]])
    >>> pool1d(x, 2)
    array([[[5., 2., 4.]]])
    >>> pool1d(x, 3, stride=1, mode="avg")
    array([[[2.6667, 2.3333, 1.6667, 2.3333]]])
"""

pool2d.__doc__ += _POOL_DOC.format(
    layout=_LAYOUT[2], out_layout="(n_samples, n_channels, out_height, out_width)"
) + """
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
    y = _segment_reduce(xp, x * x if mode == "l2" else x, segments, mode)
    return xp.sqrt(y) if mode == "l2" else y


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
    mode : {'max', 'avg', 'sum', 'l2'}, default='sum'

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
        Output size per spatial axis.
    mode : {'max', 'avg', 'sum', 'l2'}, default='max'

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
    mode : {'max', 'avg', 'sum', 'l2'}, default='max'

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
    if mode == "max":
        return grouped.max(axis=2)
    if mode == "avg":
        return grouped.mean(axis=2)
    if mode == "sum":
        return grouped.sum(axis=2)
    return xp.sqrt((grouped * grouped).sum(axis=2))
