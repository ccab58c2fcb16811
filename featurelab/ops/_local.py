"""Locally connected and tiled convolution: unshared and partly shared weights.

A convolution shares one kernel bank across every output position; a
locally connected layer gives every output position its own bank (no sharing);
tiled convolution (Le et al. 2010) sits in between, cycling ``prod(tile)``
banks over the output grid.  All three compute cross-correlation.
"""

import itertools
import math

from .._validation import check_array, check_spatial, window_geometry
from ..backend import get_namespace, parse_memory
from ._conv import _conv

__all__ = ["locally_connected1d", "locally_connected2d", "tiled_conv1d",
           "tiled_conv2d"]

_X_LAYOUT = {
    1: "(n_samples, n_channels, length)",
    2: "(n_samples, n_channels, height, width)",
}
_KERNEL_AXES = {1: ("kernel_length",), 2: ("kernel_height", "kernel_width")}
_OUT_AXES = {1: ("out_length",), 2: ("out_height", "out_width")}
_TILE_AXES = {1: ("tile",), 2: ("tile_height", "tile_width")}


def _layout(*names):
    return "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"


def _validate(x, weights, n_spatial, stride, padding, dilation, bias,
              max_memory, tiled):
    """Check the arguments of the four public functions.

    ``weights`` has layout ``(*grid, n_kernels, n_channels, *kernel_size)``
    where ``grid`` is the output grid (locally connected) or the tile
    (``tiled``).  Return ``(xp, x, weights, stride, pads, dilation, bias,
    budget)``, everything cast to the dtype of ``x``.
    """
    name = "kernels" if tiled else "weights"
    grid_axes = (_TILE_AXES if tiled else _OUT_AXES)[n_spatial]
    xp = get_namespace(x, weights, bias)
    x = check_array(x, "x", n_spatial + 2, _X_LAYOUT[n_spatial])
    check_spatial(x)
    w_layout = _layout(*grid_axes, "n_kernels", "n_channels",
                       *_KERNEL_AXES[n_spatial])
    weights = check_array(weights, name, 2 * n_spatial + 2, w_layout)
    weights = weights.astype(x.dtype, copy=False)
    shape = tuple(weights.shape)
    grid, (n_kernels, n_channels) = shape[:n_spatial], shape[n_spatial:n_spatial + 2]
    ksize = shape[n_spatial + 2:]
    if n_kernels == 0 or 0 in ksize:
        raise ValueError(
            f"{name} must hold at least one kernel of size >= 1 on every axis, "
            f"got {name} of shape {shape} (layout {w_layout})."
        )
    if n_channels != x.shape[1]:
        raise ValueError(
            f"{name} have {n_channels} input channels ({name}.shape"
            f"[{n_spatial + 1}]) but x has {x.shape[1]} channels: expected "
            f"{name} of layout {w_layout} with n_channels = {x.shape[1]}, got "
            f"shape {shape}."
        )
    sizes = tuple(x.shape[2:])
    stride, dilation, pads, out_size = window_geometry(sizes, ksize, stride, padding,
                                                       dilation, what=name)
    how = (f"x of spatial shape {sizes} with kernel size {ksize}, stride "
           f"{stride}, dilation {dilation} and padding={padding!r} gives the "
           f"output grid {out_size}")
    if tiled and not all(1 <= t <= m for t, m in zip(grid, out_size)):
        raise ValueError(
            f"kernels must have a tile {_layout(*grid_axes)} = kernels.shape"
            f"[:{n_spatial}] of sizes between 1 and the output grid on every "
            f"axis ({how}), got tile {grid} from kernels of shape {shape}."
        )
    if not tiled and grid != out_size:
        raise ValueError(
            f"weights must have one kernel bank per output position, shape "
            f"{_layout(*grid_axes)} + (n_kernels, n_channels, ...) with "
            f"{_layout(*grid_axes)} = {out_size} ({how}), got weights of shape "
            f"{shape}."
        )
    if bias is not None:
        expected = grid + (n_kernels,)
        b_layout = f"{_layout(*grid_axes, 'n_kernels')} = {expected}"
        bias = check_array(bias, "bias", n_spatial + 1, b_layout)
        if tuple(bias.shape) != expected:
            raise ValueError(
                f"bias must have shape {b_layout} ({name}.shape"
                f"[:{n_spatial + 1}]), got {tuple(bias.shape)}."
            )
        bias = bias.astype(x.dtype, copy=False)
    budget = parse_memory(max_memory)
    return xp, x, weights, stride, pads, dilation, bias, budget


def _locally_connected(xp, x, weights, stride, pads, dilation, bias, budget):
    """Locally connected cross-correlation of valid input; no checks.

    The windows of all output positions are one strided view of the padded
    input.  Per chunk of ``n`` samples they are copied once into columns
    ``(P, n, C * prod(kernel))`` (``P`` output positions), and one batched
    GEMM over positions with the transposed banks ``(P, C * prod(kernel),
    K)`` gives ``(P, n, K)``, transposed into the ``(N, K, *out)`` output.
    Chunks hold the columns and the GEMM result under ``budget`` bytes; as
    every chunk reads all ``P`` banks, there are no further cache-sized
    blocks (on the 2-core machine they made large layers up to 4x slower).
    """
    n_spatial = x.ndim - 2
    if any(a or b for a, b in pads):
        x = xp.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    n_samples, n_channels = x.shape[:2]
    out_size = tuple(weights.shape[:n_spatial])
    n_kernels = weights.shape[n_spatial]
    ksize = tuple(weights.shape[n_spatial + 2:])
    n_out = math.prod(out_size)
    col_len = n_channels * math.prod(ksize)
    spatial = tuple(range(2, 2 + n_spatial))
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ksize))
    windows = xp.lib.stride_tricks.sliding_window_view(x, extents, axis=spatial)
    windows = windows[
        (slice(None), slice(None))
        + tuple(slice(None, s * (m - 1) + 1, s) for s, m in zip(stride, out_size))
        + tuple(slice(None, None, d) for d in dilation)
    ].transpose(  # (N, C, *out, *kernel) -> (*out, N, C, *kernel)
        spatial + (0, 1) + tuple(range(2 + n_spatial, 2 + 2 * n_spatial)))
    banks = weights.reshape(n_out, n_kernels, col_len).transpose(0, 2, 1)
    out = xp.empty((n_samples, n_kernels) + out_size, dtype=x.dtype)
    flat_out = out.reshape(n_samples, n_kernels, n_out)
    sample_bytes = (col_len + n_kernels) * n_out * x.dtype.itemsize
    chunk = max(1, min(n_samples, budget // sample_bytes))
    buffer = xp.empty(out_size + (chunk, n_channels) + ksize, dtype=x.dtype)
    at_samples = (slice(None),) * n_spatial
    for start in range(0, n_samples, chunk):
        n = min(chunk, n_samples - start)
        cols = buffer[at_samples + (slice(None, n),)]
        cols[...] = windows[at_samples + (slice(start, start + n),)]
        products = xp.matmul(cols.reshape(n_out, n, col_len), banks)
        flat_out[start:start + n] = products.transpose(1, 2, 0)
    if bias is not None:
        out += xp.moveaxis(bias, -1, 0)
    return out


# A kernel set used at no more than this many positions per sample is
# gathered into a locally connected bank instead of getting its own strided
# convolution: with fewer positions the per-set calls cost more than they
# save.  Measured on the 2-core machine with 3x3 and 5x5 kernels, 1-32
# channels, 8-256 samples: one conv per set wins from 16 positions per set,
# the gathered form at 1 (up to 3x) and mostly at 4.
_GATHER_MAX_POSITIONS = 4


def _tiled_conv(xp, x, kernels, stride, pads, dilation, bias, budget):
    """Tiled cross-correlation of valid input; no checks.

    Kernel set ``r`` (a tile index) serves the output positions ``r + tile *
    m``, whose windows start at ``r * stride + m * tile * stride`` in the
    padded input: a plain convolution with stride ``tile * stride`` of the
    input shifted by ``r * stride``.  One such convolution per kernel set,
    evaluated only where the set is used, is written into its strided slice
    of the output; the work is that of one convolution with ``K`` kernels.
    When each set is used at only a few positions, the sets are instead
    gathered into one bank per position and run as a locally connected layer.
    """
    n_spatial = x.ndim - 2
    if any(a or b for a, b in pads):
        x = xp.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    tile = tuple(kernels.shape[:n_spatial])
    ksize = tuple(kernels.shape[n_spatial + 2:])
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ksize))
    out_size = tuple((size - e) // s + 1
                     for size, e, s in zip(x.shape[2:], extents, stride))
    no_pads = ((0, 0),) * n_spatial
    per_set = [-(-m // t) for m, t in zip(out_size, tile)]
    if math.prod(per_set) <= _GATHER_MAX_POSITIONS:
        cycle = xp.ix_(*(xp.arange(m) % t for m, t in zip(out_size, tile)))
        return _locally_connected(xp, x, kernels[cycle], stride, no_pads,
                                  dilation, None if bias is None else bias[cycle],
                                  budget)
    out = xp.empty(x.shape[:1] + (kernels.shape[n_spatial],) + out_size,
                   dtype=x.dtype)
    set_stride = tuple(s * t for s, t in zip(stride, tile))
    for r in itertools.product(*(range(t) for t in tile)):
        counts = [-(-(m - i) // t) for m, i, t in zip(out_size, r, tile)]
        shifted = x[(slice(None), slice(None)) + tuple(
            slice(i * s, i * s + (c - 1) * ss + e)
            for i, s, c, ss, e in zip(r, stride, counts, set_stride, extents))]
        out[(slice(None), slice(None)) + tuple(
            slice(i, None, t) for i, t in zip(r, tile))] = _conv(
            xp, shifted, kernels[r], set_stride, no_pads, dilation,
            None if bias is None else bias[r], False, 1, budget)
    return out


def locally_connected1d(x, weights, *, stride=1, padding="valid", dilation=1,
                        bias=None, max_memory="512MB"):
    """Locally connected layer on a batch of 1-D multichannel signals."""
    return _locally_connected(*_validate(x, weights, 1, stride, padding,
                                         dilation, bias, max_memory, False))


def locally_connected2d(x, weights, *, stride=1, padding="valid", dilation=1,
                        bias=None, max_memory="512MB"):
    """Locally connected layer on a batch of multichannel images."""
    return _locally_connected(*_validate(x, weights, 2, stride, padding,
                                         dilation, bias, max_memory, False))


def tiled_conv1d(x, kernels, *, stride=1, padding="valid", dilation=1,
                 bias=None, max_memory="512MB"):
    """Tiled convolution (Le et al. 2010) of a batch of 1-D signals."""
    return _tiled_conv(*_validate(x, kernels, 1, stride, padding, dilation,
                                  bias, max_memory, True))


def tiled_conv2d(x, kernels, *, stride=1, padding="valid", dilation=1,
                 bias=None, max_memory="512MB"):
    """Tiled convolution (Le et al. 2010) of a batch of images."""
    return _tiled_conv(*_validate(x, kernels, 2, stride, padding, dilation,
                                  bias, max_memory, True))


_DOC_GEOMETRY = """\
    stride : int or tuple of int, default=1
        Step between output positions, per spatial axis.
    padding : {{'valid', 'same', 'full'}} or int or tuple, default='valid'
        As in :func:`featurelab.ops.conv{d}d`: ``'same'`` gives
        ``ceil(size / stride)`` outputs per axis (extra padding of an
        even-sized kernel at the end), an int pads both ends of every axis
        with zeros, a tuple gives one int or ``(before, after)`` pair per
        axis.
    dilation : int or tuple of int, default=1
        Spacing between kernel taps.
"""

_DOC_RAISES = """
    Raises
    ------
    TypeError
        For complex/object dtypes, non-integer sizes, or NumPy and CuPy
        arrays mixed.
    ValueError
        For wrong shapes, a channel mismatch, a bias of the wrong shape,
        kernels larger than the padded input, or
        {grid}.
"""

_DOC_LC = """

    Cross-correlation with unshared weights: output position ``p`` has its
    own bank of ``n_kernels`` kernels, ``y[n, k, p] = bias[p, k] + sum_{{c,
    j}} weights[p, k, c, j] x_padded[n, c, p * stride + j * dilation]``.  A
    convolution is the special case where all banks are equal.

    Parameters
    ----------
    x : array of shape {x_layout}
        Batch of input {what}.  NumPy or CuPy; the output lives on the same
        backend.  float32 and float64 are kept; bool and integer input is cast
        to float64.
    weights : array of shape {w_layout}
        One kernel bank per output position, cast to the dtype of ``x``.  The
        leading axes must equal the output grid that ``x``, the kernel size,
        ``stride``, ``padding`` and ``dilation`` give (see Returns).
{geometry}\
    bias : array of shape {b_layout}, optional
        One bias per output unit, laid out as the leading axes of ``weights``
        (``weights.shape[:{n_lead}]``).
    max_memory : int or str, default='512MB'
        Budget for the windows copied per chunk of samples and their products
        with the banks, ``(n_channels * prod(kernel_size) + n_kernels) *
        prod(out_size) * itemsize`` bytes per sample; samples are processed
        in chunks to respect it (at least one sample per chunk).

    Returns
    -------
    y : array of shape {y_layout}
        Each output size is ``(size + pad_before + pad_after -
        dilation * (k - 1) - 1) // stride + 1``, as for convolution.
{raises}
    Notes
    -----
    One strided view holds the windows of all positions; per chunk they are
    copied once and a batched matrix product over positions does the rest
    (no Python loop over positions or samples).  The layer has
    ``prod(out_size)`` times the parameters of a convolution and the same
    number of multiply-adds.
"""

_DOC_TILED = """

    Le et al. (2010) tiled convolution: ``prod(tile)`` kernel sets, each of
    ``n_kernels`` kernels, take turns over the output grid; output position
    ``p`` uses kernel set ``p mod tile`` (per axis).  ``tile = 1`` is an
    ordinary convolution, ``tile`` equal to the output grid a locally
    connected layer; in between, units ``tile`` apart share weights.

    Parameters
    ----------
    x : array of shape {x_layout}
        Batch of input {what}.  NumPy or CuPy; the output lives on the same
        backend.  float32 and float64 are kept; bool and integer input is cast
        to float64.
    kernels : array of shape {w_layout}
        The kernel sets, cast to the dtype of ``x``.  The tile is read from
        the leading axes, ``kernels.shape[:{n_sp}]`` (there is no separate
        ``tile`` argument to contradict it); each tile size must be at least
        1 and at most the output size on its axis, so that every kernel set
        is used.  A tile that does not divide the output grid is allowed:
        positions wrap modulo the tile and the last tile is partial: along
        an axis of output size ``m``, the kernel sets of index ``>= m % t``
        are used once fewer than the others.
{geometry}\
    bias : array of shape {b_layout}, optional
        One bias per kernel of every set, laid out as the leading axes of
        ``kernels`` (``kernels.shape[:{n_lead}]``).
    max_memory : int or str, default='512MB'
        Budget for temporary buffers, as in :func:`featurelab.ops.conv{d}d`
        (or :func:`locally_connected{d}d` when the sets are gathered, see
        Notes); samples are processed in chunks to respect it.

    Returns
    -------
    y : array of shape {y_layout}
        Same size as the convolution with the same settings.
{raises}
    Notes
    -----
    Kernel set ``r`` serves the positions ``r + tile * m``, whose windows
    are those of a convolution with stride ``stride * tile`` of the input
    shifted by ``r * stride``: one such convolution per set, evaluated only
    at its own positions and written into its strided slice of the output,
    costs in total what one convolution with ``n_kernels`` kernels costs.
    When every set is used at no more than 4 positions per sample (a tile
    close to the output grid), the per-set calls would dominate and the sets
    are gathered into one bank per position and run as
    :func:`locally_connected{d}d` instead.
"""

_LAYOUTS = {
    1: dict(
        x_layout=_X_LAYOUT[1], what="signals",
        y_layout="(n_samples, n_kernels, out_length)",
        lc_w="(out_length, n_kernels, n_channels, kernel_length)",
        lc_b="(out_length, n_kernels)",
        t_w="(tile, n_kernels, n_channels, kernel_length)",
        t_b="(tile, n_kernels)",
    ),
    2: dict(
        x_layout=_X_LAYOUT[2], what="images",
        y_layout="(n_samples, n_kernels, out_height, out_width)",
        lc_w="(out_height, out_width, n_kernels, n_channels, kernel_height, "
             "kernel_width)",
        lc_b="(out_height, out_width, n_kernels)",
        t_w="(tile_height, tile_width, n_kernels, n_channels, kernel_height, "
            "kernel_width)",
        t_b="(tile_height, tile_width, n_kernels)",
    ),
}


def _document(func, template, d, tiled, examples):
    layout = _LAYOUTS[d]
    func.__doc__ += template.format(
        x_layout=layout["x_layout"], what=layout["what"],
        y_layout=layout["y_layout"], d=d, n_sp=d, n_lead=d + 1,
        w_layout=layout["t_w" if tiled else "lc_w"],
        b_layout=layout["t_b" if tiled else "lc_b"],
        geometry=_DOC_GEOMETRY.format(d=d),
        raises=_DOC_RAISES.format(
            grid="a tile below 1 or above the output grid" if tiled
            else "leading axes of weights other than the output grid"),
    ) + examples


_document(locally_connected1d, _DOC_LC, 1, False, """
    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import locally_connected1d
    >>> x = np.array([[[1., 2., 3., 4.]]])          # (N=1, C=1, L=4)
    >>> w = np.array([[[[1., 0.]]],                  # position 0
    ...               [[[0., 1.]]],                  # position 1
    ...               [[[1., 1.]]]])                 # (L_out=3, K=1, C=1, k=2)
    >>> locally_connected1d(x, w)
    array([[[1., 3., 7.]]])
    >>> locally_connected1d(x, w, bias=np.array([[0.], [0.], [-7.]]))
    array([[[1., 3., 0.]]])
""")

_document(locally_connected2d, _DOC_LC, 2, False, """
    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import conv2d, locally_connected2d
    >>> x = np.random.default_rng(0).random((2, 3, 6, 6))    # (N, C, H, W)
    >>> w = np.random.default_rng(1).random((3, 3, 4, 3, 2, 2))
    >>> locally_connected2d(x, w, stride=2).shape            # 3 x 3 positions
    (2, 4, 3, 3)
    >>> shared = np.broadcast_to(w[0, 0], w.shape)           # same bank everywhere
    >>> np.allclose(locally_connected2d(x, shared, stride=2),
    ...             conv2d(x, w[0, 0], stride=2))
    True
""")

_document(tiled_conv1d, _DOC_TILED, 1, True, """
    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import tiled_conv1d
    >>> x = np.array([[[1., 2., 3., 4., 5.]]])       # (N=1, C=1, L=5)
    >>> kernels = np.array([[[[1., 0.]]],            # set 0: positions 0, 2
    ...                     [[[0., 1.]]]])           # set 1: positions 1, 3
    >>> tiled_conv1d(x, kernels)                     # (tile=2, K=1, C=1, k=2)
    array([[[1., 3., 3., 5.]]])
""")

_document(tiled_conv2d, _DOC_TILED, 2, True, """
    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import conv2d, tiled_conv2d
    >>> x = np.random.default_rng(0).random((2, 3, 7, 7))    # (N, C, H, W)
    >>> kernels = np.random.default_rng(1).random((2, 2, 8, 3, 3, 3))
    >>> tiled_conv2d(x, kernels, padding="same").shape       # 2 x 2 kernel sets
    (2, 8, 7, 7)
    >>> np.allclose(tiled_conv2d(x, kernels[:1, :1], padding="same"),
    ...             conv2d(x, kernels[0, 0], padding="same"))   # tile 1 = conv
    True
""")
