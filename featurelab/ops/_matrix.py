"""Convolution as a matrix, and what convolution saves: parameters and FLOPs.

A convolution of one sample is a linear map, so it is a matrix: Toeplitz in
1-D, doubly block Toeplitz in 2-D (doubly block circulant with a periodic
boundary).  The matrix is mostly zeros: every output depends on only
``C * prod(kernel_size)`` inputs (*sparse interactions*) and every row reuses
the same ``K * C * prod(kernel_size)`` numbers (*parameter sharing*).
:func:`conv_matrix` builds that matrix, :func:`matrix_density` measures how
sparse it is, and :func:`count_parameters` / :func:`count_flops` compare a
convolution with a dense, a locally connected and a tiled layer on the same
input and output grid.
"""

import itertools
import math

import numpy as np
import scipy.sparse

from .._validation import (
    as_tuple,
    check_array,
    check_bool,
    check_int,
    check_option,
    resolve_padding,
)
from ..backend import is_cupy_array, to_numpy

__all__ = ["LAYER_KINDS", "conv_matrix", "count_flops", "count_parameters",
           "matrix_density"]

#: Layer kinds understood by :func:`count_parameters` and :func:`count_flops`.
LAYER_KINDS = ("conv", "dense", "locally_connected", "tiled")

_KERNEL_LAYOUT = ("(n_kernels, n_channels, kernel_length) or "
                  "(n_kernels, n_channels, kernel_height, kernel_width)")


# --------------------------------------------------------------------------
# shared checks
# --------------------------------------------------------------------------


def _check_input_shape(input_shape, n_spatial=(1, 2)):
    """``input_shape`` as a ``(C, *spatial)`` tuple of ints >= 1 with
    ``n_spatial`` (an int or a tuple of accepted ints) spatial axes."""
    accepted = (n_spatial,) if isinstance(n_spatial, int) else n_spatial
    layouts = {1: "(n_channels, length)", 2: "(n_channels, height, width)"}
    if (not isinstance(input_shape, (tuple, list))
            or len(input_shape) - 1 not in accepted):
        expected = " or ".join(layouts[n] for n in accepted)
        raise ValueError(
            f"input_shape must be a tuple {expected} of ints (one sample, "
            f"channels first), got {input_shape!r}."
        )
    return as_tuple(tuple(input_shape), len(input_shape), "input_shape")


def _output_size(in_size, extents, stride, pads, name):
    """Output size per axis of a strided window sweep over padded input."""
    out = tuple((n + a + b - e) // s + 1
                for n, e, s, (a, b) in zip(in_size, extents, stride, pads))
    if any(o < 1 for o in out):
        raise ValueError(
            f"{name} of dilated size {tuple(extents)} does not fit in the "
            f"padded input of size "
            f"{tuple(n + a + b for n, (a, b) in zip(in_size, pads))} "
            f"(input {tuple(in_size)}, padding {tuple(pads)})."
        )
    return out


# --------------------------------------------------------------------------
# the convolution matrix
# --------------------------------------------------------------------------


def conv_matrix(kernel, input_shape, *, padding="valid", stride=1, dilation=1,
                flip=False, boundary="zero", dense=False,
                max_entries=50_000_000):
    """Return the matrix of a convolution of one multichannel sample.

    ``M @ x.ravel()`` equals ``conv1d`` / ``conv2d`` of ``x[None]`` with the
    same ``kernel``, ``padding``, ``stride``, ``dilation`` and ``flip``,
    raveled: rows are outputs in ``(n_kernels, *out_size)`` C order, columns
    inputs in ``(n_channels, *in_size)`` C order.

    Parameters
    ----------
    kernel : array of shape (K, C, k) or (K, C, kh, kw)
        Kernel bank, laid out as for :func:`featurelab.ops.conv1d` /
        :func:`featurelab.ops.conv2d`.  float32 and float64 are kept; bool
        and integer kernels become float64.  The matrix is built on the host
        (``scipy.sparse`` is NumPy only): a CuPy kernel is copied with
        :func:`featurelab.backend.to_numpy` and the result is NumPy/SciPy.
    input_shape : tuple of int
        ``(C, L)`` or ``(C, H, W)``: the shape of one input sample.  ``C``
        must equal ``kernel.shape[1]``.
    padding : {'valid', 'same', 'full'} or int or tuple, default='valid'
        Zero padding, exactly as in ``conv1d`` / ``conv2d``.  Must stay
        ``'valid'`` when ``boundary='circular'``.
    stride, dilation : int or tuple of int, default=1
        Per spatial axis, as in ``conv1d`` / ``conv2d``.
    flip : bool, default=False
        False: cross-correlation (what ``conv*`` compute); True: true
        convolution (the kernel reversed along every spatial axis).
    boundary : {'zero', 'circular'}, default='zero'
        ``'zero'``: the input is padded with zeros as ``padding`` says; the
        matrix is Toeplitz in 1-D and doubly block Toeplitz in 2-D (block
        Toeplitz in the rows, each block Toeplitz) for stride 1.
        ``'circular'``: periodic convolution; ``ceil(size / stride)`` outputs
        per axis, aligned as with ``padding='same'`` but with the padding
        filled by wrapping the input around (``x[i mod size]``); the matrix is
        circulant in 1-D and doubly block circulant in 2-D for stride 1.
    dense : bool, default=False
        Return a NumPy array instead of a ``scipy.sparse.csr_matrix``.
    max_entries : int, default=50_000_000
        Refuse (ValueError) to build a sparse matrix with more than this many
        stored entries, or a dense one with more than this many entries in
        all.  Raise it to build larger matrices.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix or numpy.ndarray
        Shape ``(K * prod(out_size), C * prod(in_size))``, dtype of the
        kernel.  The sparse matrix stores the full connectivity pattern: a
        kernel tap that happens to be 0 is still stored (call
        ``matrix.eliminate_zeros()`` to drop it).  With ``boundary='zero'``
        it stores ``K * C * prod_axes(n_pairs)`` entries, where ``n_pairs``
        counts the (output, tap) pairs of an axis that land inside the input;
        with ``'valid'`` padding that is ``C * prod(kernel_size)`` per row.

    Raises
    ------
    TypeError
        For non-numeric kernels, non-integer sizes or non-bool flags.
    ValueError
        For a kernel that is not 3-D or 4-D, an ``input_shape`` that does not
        match it, a kernel larger than the padded input, a padding with
        ``boundary='circular'``, or a matrix larger than ``max_entries``.

    See Also
    --------
    matrix_density : fraction of stored entries.
    featurelab.ops.conv2d : the same map, computed without the matrix.

    Notes
    -----
    Entry ``(k * P + p, c * N + i)`` holds ``w[k, c, j]`` when output ``p``
    reads input ``i`` through tap ``j`` (``P = prod(out_size)``,
    ``N = prod(in_size)``).  The COO indices are built with NumPy broadcasting,
    one pass per kernel tap.  With ``boundary='circular'`` and a dilated
    kernel wider than the input, two taps may wrap onto the same input; their
    weights are summed into one entry.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import conv1d, conv_matrix, matrix_density
    >>> w = np.array([[[1., 2., 3.]]])                  # (K=1, C=1, k=3)
    >>> conv_matrix(w, (1, 5), dense=True)              # Toeplitz
    array([[1., 2., 3., 0., 0.],
           [0., 1., 2., 3., 0.],
           [0., 0., 1., 2., 3.]])
    >>> conv_matrix(w, (1, 4), boundary="circular", dense=True)  # circulant
    array([[2., 3., 0., 1.],
           [1., 2., 3., 0.],
           [0., 1., 2., 3.],
           [3., 0., 1., 2.]])
    >>> x = np.arange(5.0)[None]                        # one sample (C=1, L=5)
    >>> M = conv_matrix(w, x.shape, padding="same")     # scipy.sparse CSR
    >>> np.allclose(M @ x.ravel(), conv1d(x[None], w, padding="same").ravel())
    True

    Sparse interactions of a 2-D convolution: each output reads
    ``C * kh * kw = 3 * 3 * 3`` inputs out of ``3 * 16 * 16``:

    >>> kernels = np.ones((8, 3, 3, 3), dtype=np.float32)
    >>> M = conv_matrix(kernels, (3, 16, 16))
    >>> M.shape, M.dtype
    ((1568, 768), dtype('float32'))
    >>> int(M.getnnz(axis=1).max())                     # nonzeros per row
    27
    >>> round(matrix_density(M), 4)                     # fraction of nonzeros
    0.0352
    """
    if is_cupy_array(kernel):
        kernel = to_numpy(kernel)
    kernel = check_array(kernel, "kernel", (3, 4), _KERNEL_LAYOUT)
    n_spatial = kernel.ndim - 2
    n_kernels, n_channels, *ksize = kernel.shape
    ksize = tuple(ksize)
    if n_kernels == 0 or n_channels == 0 or 0 in ksize:
        raise ValueError(
            f"kernel must hold at least one kernel, one channel and one tap "
            f"per axis, got kernel of shape {tuple(kernel.shape)}."
        )
    input_shape = _check_input_shape(input_shape, n_spatial)
    if input_shape[0] != n_channels:
        raise ValueError(
            f"input_shape has {input_shape[0]} channels but the kernel has "
            f"{n_channels} (kernel.shape[1]): expected input_shape "
            f"({n_channels}, ...), got {input_shape!r}."
        )
    in_size = input_shape[1:]
    stride = as_tuple(stride, n_spatial, "stride")
    dilation = as_tuple(dilation, n_spatial, "dilation")
    flip = check_bool(flip, "flip")
    boundary = check_option(boundary, ("zero", "circular"), "boundary")
    dense = check_bool(dense, "dense")
    max_entries = check_int(max_entries, "max_entries", minimum=1)
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ksize))
    circular = boundary == "circular"
    if circular:
        if not (isinstance(padding, str) and padding == "valid"):
            raise ValueError(
                f"padding must be left at 'valid' with boundary='circular' "
                f"(the periodic boundary sets the output size to "
                f"ceil(size / stride)), got padding={padding!r}."
            )
        pads = resolve_padding("same", in_size, extents, stride)
        out_size = tuple(-(-n // s) for n, s in zip(in_size, stride))
    else:
        pads = resolve_padding(padding, in_size, extents, stride)
        out_size = _output_size(in_size, extents, stride, pads, "kernel")

    # Per axis and tap: input index read by each output position.
    axis_index = [
        np.arange(o)[None, :] * s + np.arange(k)[:, None] * d - a
        for o, k, s, d, (a, _) in zip(out_size, ksize, stride, dilation, pads)
    ]
    if circular:
        axis_index = [ix % n for ix, n in zip(axis_index, in_size)]
        n_pairs = [ix.size for ix in axis_index]
    else:
        axis_index = [np.where((ix >= 0) & (ix < n), ix, -1)
                      for ix, n in zip(axis_index, in_size)]
        n_pairs = [int((ix >= 0).sum()) for ix in axis_index]
    n_out, n_in = math.prod(out_size), math.prod(in_size)
    shape = (n_kernels * n_out, n_channels * n_in)
    nnz = n_kernels * n_channels * math.prod(n_pairs)
    _check_size(shape, nnz, dense, max_entries)

    if flip:
        kernel = kernel[(Ellipsis,) + (slice(None, None, -1),) * n_spatial]
    out_pos = np.arange(n_out).reshape(out_size)
    row_base = (np.arange(n_kernels) * n_out)[:, None, None]
    col_base = (np.arange(n_channels) * n_in)[None, :, None]
    rows, cols, vals = [], [], []
    for tap in itertools.product(*(range(k) for k in ksize)):
        # Input position of every output position for this tap (-1: padding).
        grids = np.broadcast_arrays(
            *np.ix_(*(ix[j] for ix, j in zip(axis_index, tap))))
        inside = np.all([g >= 0 for g in grids], axis=0)
        in_pos = np.ravel_multi_index(tuple(g[inside] for g in grids), in_size)
        p = out_pos[inside]
        weights = kernel[(slice(None), slice(None)) + tap][:, :, None]
        rows.append(np.broadcast_to(row_base + p, (n_kernels, n_channels, p.size)))
        cols.append(np.broadcast_to(col_base + in_pos, (n_kernels, n_channels, p.size)))
        vals.append(np.broadcast_to(weights, (n_kernels, n_channels, p.size)))
    rows, cols, vals = (np.concatenate([a.ravel() for a in parts])
                        for parts in (rows, cols, vals))
    matrix = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=shape,
                                     dtype=kernel.dtype)
    if dense:
        return matrix.toarray()  # sums taps that wrapped onto one input
    matrix = matrix.tocsr()
    matrix.sum_duplicates()
    return matrix


def _check_size(shape, nnz, dense, max_entries):
    """Refuse a matrix over the ``max_entries`` budget, saying how large."""
    if dense:
        total = shape[0] * shape[1]
        if total > max_entries:
            raise ValueError(
                f"the dense convolution matrix of shape {shape} would have "
                f"{total:,} entries, more than max_entries={max_entries:,}; "
                f"use dense=False (it has about {nnz:,} nonzeros) or pass a "
                f"larger max_entries to raise the limit."
            )
    elif nnz > max_entries:
        raise ValueError(
            f"the sparse convolution matrix of shape {shape} would store an "
            f"estimated {nnz:,} nonzeros, more than max_entries="
            f"{max_entries:,}; pass a larger max_entries to raise the limit "
            f"(memory is about 12-16 bytes per nonzero)."
        )


def matrix_density(matrix):
    """Return the fraction of a matrix's entries that are nonzero.

    Parameters
    ----------
    matrix : scipy.sparse matrix or array or array_like (2-D)
        For a sparse matrix the *stored* entries are counted (``nnz``): for
        :func:`conv_matrix` that is the connectivity of the layer, including
        kernel taps that happen to be 0.  For a dense array the nonzero
        values are counted.  A CuPy array is copied to the host.

    Returns
    -------
    density : float
        ``nonzeros / (rows * columns)``, in [0, 1]; 0.0 for an empty matrix.

    Examples
    --------
    A 'valid' convolution of a ``C x H x W`` input stores ``C * kh * kw``
    entries per row out of ``C * H * W``:

    >>> import numpy as np
    >>> from featurelab.ops import conv_matrix, matrix_density
    >>> M = conv_matrix(np.ones((4, 2, 3, 3)), (2, 10, 10))
    >>> matrix_density(M) == (2 * 3 * 3) / (2 * 10 * 10)
    True
    >>> matrix_density(np.eye(4))
    0.25
    """
    if scipy.sparse.issparse(matrix):
        if matrix.ndim != 2:
            raise ValueError(
                f"matrix must be 2-D, got a sparse array of shape {matrix.shape}."
            )
        count, shape = matrix.nnz, matrix.shape
    else:
        if is_cupy_array(matrix):
            matrix = to_numpy(matrix)
        matrix = check_array(matrix, "matrix", 2, "(n_rows, n_columns)")
        count, shape = np.count_nonzero(matrix), matrix.shape
    size = shape[0] * shape[1]
    return float(count) / size if size else 0.0


# --------------------------------------------------------------------------
# parameter and FLOP counts
# --------------------------------------------------------------------------


def _layer_sizes(layer, input_shape, n_kernels, kernel_size, stride, padding,
                 tile, bias):
    """Validate the counting arguments; return what the formulas need."""
    layer = check_option(layer, LAYER_KINDS, "layer")
    input_shape = _check_input_shape(input_shape)
    n_spatial = len(input_shape) - 1
    if n_kernels is None:
        raise ValueError(
            "n_kernels is required: the number of output channels K."
        )
    n_kernels = check_int(n_kernels, "n_kernels", minimum=1)
    if kernel_size is None:
        raise ValueError(
            "kernel_size is required: it sets the output grid of every layer "
            "kind (and the receptive field of all but 'dense')."
        )
    kernel_size = as_tuple(kernel_size, n_spatial, "kernel_size")
    stride = as_tuple(stride, n_spatial, "stride")
    in_size = input_shape[1:]
    pads = resolve_padding(padding, in_size, kernel_size, stride)
    out_size = _output_size(in_size, kernel_size, stride, pads, "kernel_size")
    if layer == "tiled":
        if tile is None:
            raise ValueError(
                "tile is required for layer='tiled': the number of kernel "
                "sets per axis (an int or one int per spatial axis)."
            )
        tile = as_tuple(tile, n_spatial, "tile")
    elif tile is not None:
        raise ValueError(
            f"tile applies only to layer='tiled', got tile={tile!r} with "
            f"layer={layer!r}."
        )
    bias = check_bool(bias, "bias")
    return (layer, input_shape[0], math.prod(in_size), n_kernels,
            math.prod(kernel_size), math.prod(out_size), tile, bias)


_COUNT_PARAMS_DOC = """
    Parameters
    ----------
    layer : {'dense', 'conv', 'locally_connected', 'tiled'}
        Kind of layer (see :data:`LAYER_KINDS`).
    input_shape : tuple of int
        ``(C, L)`` or ``(C, H, W)``: one input sample, channels first.
    n_kernels : int
        ``K``, the number of output channels (required).
    kernel_size : int or tuple of int
        ``k`` per spatial axis (required).  With ``stride`` and ``padding``
        it fixes the output grid ``(K, *out_size)``, the same for every
        layer kind, so that counts compare like with like; for ``'dense'``
        it only sets that grid.
    stride : int or tuple of int, default=1
    padding : {'valid', 'same', 'full'} or int or tuple, default='valid'
        As in :func:`featurelab.ops.conv2d`.
    tile : int or tuple of int, optional
        ``t`` per spatial axis, required for ``'tiled'`` and refused by the
        other kinds: ``prod(t)`` kernel banks are rotated across the output
        positions (Le et al. 2010); ``t = 1`` is a convolution and a tile as
        large as the output grid a locally connected layer.
    bias : bool, default=True
"""


def count_parameters(layer, input_shape, *, n_kernels=None, kernel_size=None,
                     stride=1, padding="valid", tile=None, bias=True):
    """Count the trainable parameters of a layer; bias included by default.

    With ``N = prod(in_size)`` input and ``P = prod(out_size)`` output
    positions, ``C`` input channels, ``K`` kernels of ``k = prod(kernel_size)``
    taps:

    ========================  =========================  ==================
    layer                     weights                    bias (if ``bias``)
    ========================  =========================  ==================
    ``'dense'``               ``(C * N) * (K * P)``      ``K * P``
    ``'conv'``                ``K * C * k``              ``K``
    ``'locally_connected'``   ``P * K * C * k``          ``K * P``
    ``'tiled'``               ``prod(t) * K * C * k``    ``prod(t) * K``
    ========================  =========================  ==================

    Parameter sharing is the gap between the last three rows: a convolution
    needs ``P`` times fewer weights than unshared (locally connected) ones,
    which in turn need ``N / k`` times fewer than a dense layer.  For
    ``'tiled'`` every one of the ``prod(t)`` kernel banks is counted, even
    when ``t`` exceeds the output grid and some are never used.
    """
    layer, c, n, k_out, k, p, tile, bias = _layer_sizes(
        layer, input_shape, n_kernels, kernel_size, stride, padding, tile, bias)
    if layer == "dense":
        weights, biases = c * n * k_out * p, k_out * p
    elif layer == "conv":
        weights, biases = k_out * c * k, k_out
    elif layer == "locally_connected":
        weights, biases = p * k_out * c * k, p * k_out
    else:  # tiled: one kernel bank per tile position
        weights, biases = math.prod(tile) * k_out * c * k, math.prod(tile) * k_out
    return weights + biases if bias else weights


count_parameters.__doc__ += _COUNT_PARAMS_DOC + """
    Returns
    -------
    n_parameters : int

    Raises
    ------
    TypeError
        For non-integer sizes or a non-bool ``bias``.
    ValueError
        For an unknown layer, a missing or invalid size, a ``tile`` given to
        a layer other than ``'tiled'``, or a kernel larger than the padded
        input.

    Examples
    --------
    A 3x3 convolution with 16 kernels on a 1 x 28 x 28 image (26 x 26
    outputs per kernel):

    >>> from featurelab.ops import count_parameters
    >>> count_parameters("conv", (1, 28, 28), n_kernels=16, kernel_size=3)
    160
    >>> count_parameters("locally_connected", (1, 28, 28), n_kernels=16,
    ...                  kernel_size=3)
    108160
    >>> count_parameters("tiled", (1, 28, 28), n_kernels=16, kernel_size=3,
    ...                  tile=2, bias=False)
    576
    >>> count_parameters("dense", (1, 28, 28), n_kernels=16, kernel_size=3)
    8490560
"""


def count_flops(layer, input_shape, *, n_kernels=None, kernel_size=None,
                stride=1, padding="valid", tile=None, bias=True):
    """Count the floating-point operations of a layer on one sample.

    A multiply-add counts as 2 flops, so a layer costs twice the number of
    weights applied to the input (with ``N``, ``P``, ``C``, ``K``, ``k`` as
    in :func:`count_parameters`):

    ========================  =========================
    layer                     flops per sample
    ========================  =========================
    ``'dense'``               ``2 * (C * N) * (K * P)``
    ``'conv'``                ``2 * K * C * k * P``
    ``'locally_connected'``   ``2 * K * C * k * P``
    ``'tiled'``               ``2 * K * C * k * P``
    ========================  =========================

    Convolution, locally connected and tiled layers do the same work (sparse
    interactions); they differ only in how many distinct weights they store.
    ``bias`` does not change the count: summing ``m`` products and a bias is
    ``m`` multiplies and ``m`` adds, exactly ``2 m``; it is accepted so that
    both functions take the same arguments.
    """
    layer, c, n, k_out, k, p, _, _ = _layer_sizes(
        layer, input_shape, n_kernels, kernel_size, stride, padding, tile, bias)
    if layer == "dense":
        return 2 * c * n * k_out * p
    return 2 * k_out * c * k * p


count_flops.__doc__ += _COUNT_PARAMS_DOC + """
    Returns
    -------
    n_flops : int

    Raises
    ------
    TypeError, ValueError
        As :func:`count_parameters`.

    Examples
    --------
    >>> from featurelab.ops import count_flops
    >>> count_flops("conv", (1, 28, 28), n_kernels=16, kernel_size=3)
    194688
    >>> count_flops("dense", (1, 28, 28), n_kernels=16, kernel_size=3)
    16959488
    >>> count_flops("conv", (2, 100), n_kernels=4, kernel_size=5,
    ...             padding="same", stride=2)           # 1-D, 50 outputs
    4000
"""
