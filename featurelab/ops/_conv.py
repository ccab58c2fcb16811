"""Convolution and cross-correlation of batched multichannel signals/images."""

import itertools
import math

from .._validation import (as_tuple, check_array, check_bool, check_int,
                           check_spatial, resolve_padding)
from ..backend import get_namespace, parse_memory

__all__ = ["conv1d", "conv2d"]

# On the CPU, columns are built and multiplied in blocks of at most this size
# (about one core's L2 cache), so that the GEMM reads them warm: on the 2-core
# benchmark machine this took the (64,64,16,16)*(128,64,3,3) 'same' case from
# 18-19 ms to 13.6 ms and left the other reference shapes unchanged
# (benchmarks/RESULTS.md).  CuPy gets the whole max_memory budget.
_CPU_BLOCK_BYTES = 2**20

_LAYOUTS = {
    1: ("(n_samples, n_channels, length)", "(n_kernels, n_channels // groups, kernel_length)"),
    2: ("(n_samples, n_channels, height, width)",
        "(n_kernels, n_channels // groups, kernel_height, kernel_width)"),
}


def _validate_conv(x, kernels, n_spatial, stride, padding, dilation, bias,
                   flip, groups, max_memory):
    """Check every argument of conv1d/conv2d; return them normalised, in the
    order of :func:`_conv`'s parameters."""
    xp = get_namespace(x, kernels, bias)
    x_layout, k_layout = _LAYOUTS[n_spatial]
    x = check_array(x, "x", n_spatial + 2, x_layout)
    check_spatial(x)
    kernels = check_array(kernels, "kernels", n_spatial + 2, k_layout)
    dtype = x.dtype
    kernels = kernels.astype(dtype, copy=False)
    groups = check_int(groups, "groups", minimum=1)
    n_channels, n_kernels = x.shape[1], kernels.shape[0]
    if n_kernels == 0 or 0 in kernels.shape[2:]:
        raise ValueError(
            f"kernels must hold at least one kernel of size >= 1 on every "
            f"axis, got kernels of shape {tuple(kernels.shape)}."
        )
    if n_channels % groups or n_kernels % groups:
        raise ValueError(
            f"groups must divide both n_channels ({n_channels}) and n_kernels "
            f"({n_kernels}), got groups={groups}."
        )
    if kernels.shape[1] * groups != n_channels:
        raise ValueError(
            f"kernels have shape[1] = {kernels.shape[1]} input channels per "
            f"group but x has {n_channels} channels and groups={groups}: "
            f"expected kernels of "
            f"shape (n_kernels, {n_channels // groups}, ...), got "
            f"{tuple(kernels.shape)}."
        )
    stride = as_tuple(stride, n_spatial, "stride")
    dilation = as_tuple(dilation, n_spatial, "dilation")
    ksize = kernels.shape[2:]
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ksize))
    pads = resolve_padding(padding, x.shape[2:], extents, stride)
    padded = tuple(s + a + b for s, (a, b) in zip(x.shape[2:], pads))
    if any(p < e for p, e in zip(padded, extents)):
        raise ValueError(
            f"kernels of dilated size {extents} (kernel size {tuple(ksize)}, "
            f"dilation {dilation}) do not fit in the padded input of size "
            f"{padded} (input {tuple(x.shape[2:])}, padding={padding!r})."
        )
    if bias is not None:
        bias = check_array(bias, "bias", 1, f"(n_kernels,) = ({n_kernels},)")
        if bias.shape[0] != n_kernels:
            raise ValueError(
                f"bias must have shape (n_kernels,) = ({n_kernels},), got "
                f"{tuple(bias.shape)}."
            )
        bias = bias.astype(dtype, copy=False)
    flip = check_bool(flip, "flip")
    budget = parse_memory(max_memory)
    return xp, x, kernels, stride, pads, dilation, bias, flip, groups, budget


def _conv(xp, x, kernels, stride, pads, dilation, bias, flip, groups, budget):
    """Cross-correlate (or convolve, ``flip``) valid input; no checks.

    The input is unfolded into columns ``(n, C, *kernel_size, *out_size)``
    (one strided slice copied per kernel offset, vectorised over samples and
    channels), then one batched GEMM ``(groups, K/groups, C/groups*k) @
    (n, groups, C/groups*k, P)`` writes straight into the output, which is
    already in ``(N, K, *out_size)`` layout.  Samples are processed in chunks
    so that the columns of one chunk stay under ``budget`` bytes (and, on the
    CPU, under a cache-sized block).
    """
    n_spatial = x.ndim - 2
    if flip:
        kernels = kernels[(Ellipsis,) + (slice(None, None, -1),) * n_spatial]
    if any(a or b for a, b in pads):
        x = xp.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    n_samples, n_channels = x.shape[:2]
    n_kernels = kernels.shape[0]
    ksize = tuple(kernels.shape[2:])
    out_size = tuple(
        (size - d * (k - 1) - 1) // s + 1
        for size, k, s, d in zip(x.shape[2:], ksize, stride, dilation)
    )
    n_out = math.prod(out_size)
    col_len = (n_channels // groups) * math.prod(ksize)
    weights = kernels.reshape(groups, n_kernels // groups, col_len)
    out = xp.empty((n_samples, n_kernels) + out_size, dtype=x.dtype)
    pointwise = math.prod(ksize) == 1 and all(s == 1 for s in stride)
    sample_bytes = n_channels * math.prod(ksize) * n_out * x.dtype.itemsize
    if xp.__name__ == "numpy":  # cache-sized blocks: the GEMM reads warm columns
        budget = min(budget, _CPU_BLOCK_BYTES)
    chunk = max(1, budget // max(sample_bytes, 1))
    if not pointwise:  # one buffer for all chunks: no page faults per chunk
        buffer = xp.empty((min(chunk, n_samples), n_channels) + ksize + out_size,
                          dtype=x.dtype)
        windows = [
            ((slice(None), slice(None)) + offset,
             (slice(None), slice(None)) + tuple(
                 slice(o * d, o * d + s * (m - 1) + 1, s)
                 for o, d, s, m in zip(offset, dilation, stride, out_size)))
            for offset in itertools.product(*(range(k) for k in ksize))
        ]
    for start in range(0, n_samples, chunk):
        xs = x[start:start + chunk]
        n = xs.shape[0]
        if pointwise:
            cols = xs
        else:
            cols = buffer[:n]
            for col_index, x_index in windows:
                cols[col_index] = xs[x_index]
        cols = cols.reshape(n, groups, col_len, n_out)
        target = out[start:start + n].reshape(n, groups, n_kernels // groups, n_out)
        xp.matmul(weights, cols, out=target)
    if bias is not None:
        out += bias.reshape((n_kernels,) + (1,) * n_spatial)
    return out


_DOC_COMMON = """
    Parameters
    ----------
    x : array of shape {x_layout}
        Batch of input {what}.  NumPy or CuPy; the output lives on the same
        backend.  float32 and float64 are kept; bool and integer input is cast
        to float64.
    kernels : array of shape {k_layout}
        Kernel bank, cast to the dtype of ``x``.
    stride : int or tuple of int, default=1
        Step between output positions, per spatial axis.
    padding : {{'valid', 'same', 'full'}} or int or tuple, default='valid'
        ``'valid'``: no padding; ``'full'``: every partial overlap;
        ``'same'``: ``ceil(size / stride)`` outputs per axis, the extra
        padding of an even-sized kernel going at the end (as in PyTorch and
        TensorFlow; ``scipy.signal`` puts it at the start).  An int pads both
        ends of every axis with zeros; a tuple gives one int or one
        ``(before, after)`` pair per spatial axis.
    dilation : int or tuple of int, default=1
        Spacing between kernel taps: a kernel of size ``k`` covers
        ``dilation * (k - 1) + 1`` input samples.
    bias : array of shape (n_kernels,), optional
        Added to every output of the matching kernel.
    flip : bool, default=False
        False computes cross-correlation, ``y[i] = sum_j x[i + j] w[j]``, as
        deep-learning libraries do.  True computes true convolution,
        ``y[i] = sum_j x[i - j] w[j]``, which is cross-correlation with the
        kernels flipped along every spatial axis; only true convolution is
        commutative and associative.
    groups : int, default=1
        Split channels and kernels into ``groups`` independent blocks: kernel
        ``k`` sees channels ``g * C/groups`` to ``(g + 1) * C/groups`` where
        ``g = k // (n_kernels / groups)``.  ``groups = n_channels`` gives a
        depthwise convolution.
    max_memory : int or str, default='512MB'
        Budget for the temporary unfolded columns; samples are processed in
        chunks to respect it (at least one sample per chunk).  On the CPU the
        chunks are further kept to a few MB, which is faster (cache).

    Returns
    -------
    y : array of shape {y_layout}
        Each output size is ``(size + pad_before + pad_after -
        dilation * (k - 1) - 1) // stride + 1``.

    Raises
    ------
    TypeError
        For complex/object dtypes, non-integer sizes, or NumPy and CuPy
        arrays mixed.
    ValueError
        For wrong shapes, channel mismatches, sizes < 1, unknown padding, or
        kernels larger than the padded input.

    Notes
    -----
    Implemented as im2col + GEMM: the unfolded columns take
    ``n_channels * prod(kernel_size) * prod(out_size) * itemsize`` bytes per
    sample, and chunking over samples bounds them by ``max_memory``.  Empty
    batches give empty outputs; NaN propagates to every output whose window
    contains it.
"""


def conv1d(x, kernels, *, stride=1, padding="valid", dilation=1, bias=None,
           flip=False, groups=1, max_memory="512MB"):
    """Cross-correlate (or convolve) a batch of 1-D multichannel signals."""
    return _conv(*_validate_conv(x, kernels, 1, stride, padding, dilation,
                                 bias, flip, groups, max_memory))


def conv2d(x, kernels, *, stride=1, padding="valid", dilation=1, bias=None,
           flip=False, groups=1, max_memory="512MB"):
    """Cross-correlate (or convolve) a batch of multichannel images."""
    return _conv(*_validate_conv(x, kernels, 2, stride, padding, dilation,
                                 bias, flip, groups, max_memory))


conv1d.__doc__ += _DOC_COMMON.format(
    x_layout=_LAYOUTS[1][0], k_layout=_LAYOUTS[1][1], what="signals",
    y_layout="(n_samples, n_kernels, out_length)",
) + """
    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import conv1d
    >>> x = np.array([[[0., 1., 2., 3.]]])          # (N=1, C=1, L=4)
    >>> w = np.array([[[1., 0., -1.]]])             # (K=1, C=1, k=3)
    >>> conv1d(x, w)                                # cross-correlation
    array([[[-2., -2.]]])
    >>> conv1d(x, w, flip=True)                     # true convolution
    array([[[2., 2.]]])
    >>> conv1d(x, w, padding="same").shape
    (1, 1, 4)
"""

conv2d.__doc__ += _DOC_COMMON.format(
    x_layout=_LAYOUTS[2][0], k_layout=_LAYOUTS[2][1], what="images",
    y_layout="(n_samples, n_kernels, out_height, out_width)",
) + """
    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import conv2d
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)      # (N, C, H, W)
    >>> sobel_x = np.array([[[[-1., 0., 1.],
    ...                       [-2., 0., 2.],
    ...                       [-1., 0., 1.]]]])     # (K, C, kh, kw)
    >>> conv2d(x, sobel_x)
    array([[[[8., 8.],
             [8., 8.]]]])
    >>> conv2d(x, sobel_x, padding="same", stride=2).shape
    (1, 1, 2, 2)
"""
