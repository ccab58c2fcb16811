"""Convolution and cross-correlation of batched multichannel signals/images."""

import itertools
import math

from .._validation import (
    check_array,
    check_bool,
    check_int,
    check_option,
    check_spatial,
    window_geometry,
)
from ..backend import get_namespace, parse_memory
from ._fft import conv_fft, fft_shape
from ._separable import (
    RANK1_RTOL,
    conv_separable,
    numerical_rank,
    rank1_factors,
    row_block,
)

__all__ = ["METHODS", "conv1d", "conv2d", "conv_method"]

#: Values of the ``method`` parameter of conv1d/conv2d.
METHODS = ("auto", "direct", "fft", "separable")

# On the CPU, columns are built and multiplied in blocks of at most this size
# (about one core's L2 cache), so that the GEMM reads them warm: on the 2-core
# benchmark machine this took the (64,64,16,16)*(128,64,3,3) 'same' case from
# 18-19 ms to 13.6 ms and left the other reference shapes unchanged
# (benchmarks/RESULTS.md).  CuPy gets the whole max_memory budget.
_CPU_BLOCK_BYTES = 2**20
# The channels-last columns (:func:`_conv_channels_last`) come in larger
# blocks: with 64 channels of 8 x 8 maps and 5 x 5 kernels, 4 MB took 70 ms
# where 1 MB took 79 and 16 MB 86 (2-core AMD EPYC).
_CPU_LAST_BLOCK_BYTES = 4 * 2**20
# The direct method builds channels-last columns from this many input
# channels on (and at least twice the output width; :func:`_columns_last`).
_LAST_MIN_CHANNELS = 8

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
    stride, dilation, pads, _ = window_geometry(x.shape[2:], kernels.shape[2:], stride,
                                                padding, dilation)
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

    Through channels-last columns (:func:`_conv_channels_last`) where
    :func:`_columns_last` says they are faster, else channels-first columns
    (:func:`_conv_channels_first`); then the bias.
    """
    n_spatial = x.ndim - 2
    if flip:
        kernels = kernels[(Ellipsis,) + (slice(None, None, -1),) * n_spatial]
    if groups == 1 and _columns_last(x.shape, kernels.shape, stride, pads, dilation):
        out = _conv_channels_last(xp, x, kernels, pads, dilation, budget, stride,
                                  channels_first=True)
    else:
        out = _conv_channels_first(xp, x, kernels, stride, pads, dilation, groups,
                                   budget)
    if bias is not None:
        out += bias.reshape((-1,) + (1,) * n_spatial)
    return out


def _out_size(padded, ksize, stride, dilation):
    """Output sizes of dilated windows swept with ``stride`` over ``padded``
    sizes."""
    return tuple((size - d * (k - 1) - 1) // s + 1
                 for size, k, s, d in zip(padded, ksize, stride, dilation))


def _tap_slices(offset, stride, dilation, out_size):
    """Spatial slices of the input values that kernel tap ``offset`` meets
    at every output position."""
    return tuple(slice(o * d, o * d + s * (m - 1) + 1, s)
                 for o, d, s, m in zip(offset, dilation, stride, out_size))


def _conv_channels_first(xp, x, kernels, stride, pads, dilation, groups, budget):
    """Cross-correlation of valid input through channels-first columns; no
    checks, no bias.

    The input is unfolded into columns ``(n, C, *kernel_size, *out_size)``
    (one strided slice copied per kernel offset, vectorised over samples and
    channels), then one batched GEMM ``(groups, K/groups, C/groups*k) @
    (n, groups, C/groups*k, P)`` writes straight into the output, which is
    already in ``(N, K, *out_size)`` layout.  Samples are processed in chunks
    so that the columns of one chunk stay under ``budget`` bytes (and, on the
    CPU, under a cache-sized block).
    """
    if any(a or b for a, b in pads):
        x = xp.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    n_samples, n_channels = x.shape[:2]
    n_kernels = kernels.shape[0]
    ksize = tuple(kernels.shape[2:])
    out_size = _out_size(x.shape[2:], ksize, stride, dilation)
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
             (slice(None), slice(None)) + _tap_slices(offset, stride, dilation, out_size))
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
    return out


def _columns_last(x_shape, k_shape, stride, pads, dilation):
    """Whether the direct method should build channels-last columns: for
    many channels on narrow outputs (``C >= 2 * out_width * stride``), where
    the channels-first columns of :func:`_conv` would be copied in short
    runs of ``out_width`` values.

    Measured (float32, 2-core AMD EPYC, ``benchmarks/RESULTS.md``): 8 x 8
    maps of 16 to 64 channels 1.5-2.8x faster, 4 x 4 outputs 2.4-2.9x;
    (64, 64, 16, 16) * (128, 64, 3, 3) about even; 32 x 32 maps of 8 to 32
    channels, strided or dilated, and 1 to 4 channels 1.2-5x slower, so those
    stay channels first.
    """
    n_channels, ksize = x_shape[1], k_shape[2:]
    (width,) = _out_size((x_shape[-1] + sum(pads[-1]),), ksize[-1:], stride[-1:],
                         dilation[-1:])
    return (n_channels >= _LAST_MIN_CHANNELS and n_channels >= 2 * width * stride[-1]
            and math.prod(ksize) > 1)


def _conv_channels_last(xp, x, kernels, pads, dilation, budget, stride=None,
                        channels_first=False):
    """Cross-correlation of valid input through channels-last columns; no
    checks, no groups, no bias.

    Each chunk of samples is copied once into a zero-padded channels-last
    buffer ``(n, *padded, C)``, unfolded into columns ``(n, *out_size,
    *kernel_size, C)`` (one strided slice per kernel offset, copied in runs
    of ``C`` contiguous values on both sides) and multiplied by the kernels
    in one 2-D GEMM ``(n P, k C) @ (k C, K)``.  The result is ``(n,
    *out_size, K)``, or with ``channels_first`` the usual ``(n, K,
    *out_size)`` (transposed chunk by chunk while it is in cache).

    Two uses: banks of many small kernels on one channel (ROCKET), where
    the one large GEMM beats per-sample GEMMs and a global reduction over
    positions runs along rows of ``K`` contiguous values; and multichannel
    input, where the channels-first columns of :func:`_conv` are copied in
    runs of only ``out_width`` values (2-3x slower on 8 x 8 to 16 x 16 maps
    of 32-64 channels, ``benchmarks/RESULTS.md``).
    """
    n_spatial = x.ndim - 2
    stride = (1,) * n_spatial if stride is None else stride
    n_samples, n_channels = x.shape[:2]
    n_kernels = kernels.shape[0]
    ksize = tuple(kernels.shape[2:])
    padded = tuple(size + a + b for size, (a, b) in zip(x.shape[2:], pads))
    out_size = _out_size(padded, ksize, stride, dilation)
    n_out = math.prod(out_size)
    col_len = n_channels * math.prod(ksize)
    # rows (k..., C) to match the columns
    weights = xp.moveaxis(kernels, 1, -1).reshape(n_kernels, col_len).T
    if channels_first:
        out = xp.empty((n_samples, n_kernels) + out_size, dtype=x.dtype)
    else:
        out = xp.empty((n_samples,) + out_size + (n_kernels,), dtype=x.dtype)
    if n_samples == 0:
        return out
    # max_memory bounds all three buffers of a chunk (input copy, columns,
    # transposed result); on the CPU the columns also stay cache-sized
    col_bytes = col_len * n_out * x.dtype.itemsize
    sample_bytes = col_bytes + x.dtype.itemsize * (
        math.prod(padded) * n_channels + (n_kernels * n_out if channels_first else 0))
    chunk = max(1, budget // sample_bytes)
    if xp.__name__ == "numpy":
        chunk = min(chunk, max(1, _CPU_LAST_BLOCK_BYTES // col_bytes))
    chunk = min(chunk, n_samples)
    inputs = xp.zeros((chunk,) + padded + (n_channels,), dtype=x.dtype)
    interior = (slice(None),) + tuple(slice(a, a + size)
                                      for (a, _), size in zip(pads, x.shape[2:]))
    cols = xp.empty((chunk,) + out_size + ksize + (n_channels,), dtype=x.dtype)
    if channels_first:
        result = xp.empty((chunk,) + out_size + (n_kernels,), dtype=x.dtype)
    spatial = (slice(None),) * n_spatial
    windows = [((slice(None),) + spatial + offset,
                (slice(None),) + _tap_slices(offset, stride, dilation, out_size))
               for offset in itertools.product(*(range(k) for k in ksize))]
    for start in range(0, n_samples, chunk):
        n = min(chunk, n_samples - start)
        xs = inputs[:n]
        xs[interior] = xp.moveaxis(x[start:start + n], 1, -1)
        for col_index, x_index in windows:
            cols[:n][col_index] = xs[x_index]
        target = (result[:n] if channels_first else out[start:start + n])
        xp.matmul(cols[:n].reshape(n * n_out, col_len), weights,
                  out=target.reshape(n * n_out, n_kernels))
        if channels_first:
            out[start:start + n] = xp.moveaxis(target, -1, 1)
    return out


# --------------------------------------------------------------------------
# method='direct' | 'fft' | 'separable' | 'auto'
# --------------------------------------------------------------------------

def _check_method(method, n_spatial):
    """Validate ``method`` for a convolution with ``n_spatial`` axes."""
    method = check_option(method, METHODS, "method")
    if method == "separable" and n_spatial != 2:
        raise ValueError(
            "method='separable' factorises 2-D kernels into a column and a row "
            "pass and means nothing in 1-D: use method='direct', 'fft' or "
            "'auto' with conv1d."
        )
    return method


def _rank1_or_raise(xp, kernels):
    """``(u, v)`` rank-1 factors of every kernel slice, or a ValueError
    naming the first slice that is not rank 1 (explicit 'separable')."""
    factors = rank1_factors(xp, kernels)
    if factors is None:
        raise ValueError(
            "method='separable' needs finite kernels, but kernels contain NaN "
            "or infinity; use method='direct'."
        )
    u, v, error = factors
    tol = RANK1_RTOL[kernels.dtype.name]
    bad = error > tol
    if bool(bad.any()):
        first = int(xp.argmax(bad.reshape(-1)))
        k, c = divmod(first, kernels.shape[1])
        rank, ratio = numerical_rank(xp, kernels[k, c], tol)
        raise ValueError(
            f"method='separable' needs every (kernel, channel) slice of the "
            f"kernels to be rank 1 (an outer product), but kernels[{k}, {c}] "
            f"has numerical rank {rank} (singular values s2/s1 = {ratio:.3g}; the "
            f"outer product of its row and column through its largest entry "
            f"is off by {float(error[k, c]):.3g} of its norm, more than the "
            f"{tol:g} allowed for {kernels.dtype.name}); "
            f"{int(bad.sum())} of {bad.size} slices are not rank 1.  Use "
            f"method='direct', 'fft' or 'auto'."
        )
    return u, v


def _dispatch(xp, x, kernels, stride, pads, dilation, bias, flip, groups,
              budget, method):
    """Run the convolution with ``method`` (validated arguments)."""
    factors = None
    if method == "auto":
        method, factors = _choose_method(xp, x, kernels, stride, pads, dilation,
                                         groups, budget)
    elif method == "separable":
        factors = _rank1_or_raise(xp, kernels)
    if method == "direct":
        return _conv(xp, x, kernels, stride, pads, dilation, bias, flip, groups,
                     budget)
    if method == "fft":
        return conv_fft(xp, x, kernels, stride, pads, dilation, bias, flip,
                        groups, budget)
    u, v = factors
    return conv_separable(xp, x, u, v, stride, pads, dilation, bias, flip,
                          groups, budget)


def _choose_method(xp, x, kernels, stride, pads, dilation, groups, budget):
    """``(method, rank-1 factors or None)`` chosen by :func:`method_costs`.

    'separable' is considered only for 2-D kernels of at least 2 x 2 whose
    every slice passes the rank-1 test (:func:`rank1_factors`, run only when
    the cost model says separable would beat the best of 'direct' and
    'fft').  Input or kernels with NaN or infinity always go to 'direct',
    the only method that keeps a NaN in the outputs whose window holds it.
    """
    if x.shape[0] == 0:
        return "direct", None
    geometry = dict(stride=stride, pads=pads, dilation=dilation, groups=groups,
                    itemsize=x.dtype.itemsize, budget=budget,
                    cpu=xp.__name__ == "numpy")
    # small problems: no other method can beat 'direct' (fixed costs alone)
    floor = min(_COST_CONSTANTS[m]["fixed"] for m in ("fft", "separable"))
    if method_costs(x.shape, kernels.shape, methods=("direct",),
                    **geometry)["direct"] <= floor:
        return "direct", None
    costs = method_costs(x.shape, kernels.shape, **geometry)
    best = min(("direct", "fft"), key=costs.__getitem__)
    factors = None
    if ("separable" in costs and min(kernels.shape[2:]) > 1
            and costs["separable"] < costs[best]):
        found = rank1_factors(xp, kernels)
        if found is not None and not bool((found[2] > RANK1_RTOL[x.dtype.name]).any()):
            best, factors = "separable", found[:2]
    if best != "direct" and not (bool(xp.isfinite(x).all())
                                 and bool(xp.isfinite(kernels).all())):
        return "direct", None
    return best, factors


# Seconds per unit of work of each method, fitted by non-negative least
# squares on relative errors (``benchmarks/bench_methods.py --calibrate``:
# 108 cases, 1-D and 2-D, best of 5 runs in each of 5 passes) to float32
# timings on the 2-core AMD EPYC benchmark machine with 2 BLAS threads.  The
# 10th-90th percentiles of estimate / measured time are 0.59-1.22 (direct),
# 0.69-1.20 (fft) and 0.84-1.09 (separable), and the model's pick is within
# 10 % of the fastest method in 104 of the 108 cases.  'auto' only compares
# the estimates, so only their ratios matter; on a GPU they are a rough
# guide (they were measured on the CPU).
_COST_CONSTANTS = {
    "direct": {"call": 6.5e-07, "fixed": 2.06e-05, "flop": 5.66e-12,
               "mem": 1.32e-10},
    "fft": {"call": 0.0, "cfft": 3.9e-10, "cflop": 1.06e-10, "cmul": 5.07e-10,
            "fft": 1.55e-10, "fixed": 9.49e-05, "lines": 1.1e-08, "mem": 0.0},
    "separable": {"add": 2.27e-10, "call": 3.05e-07, "fixed": 0.000107,
                  "flop": 5.4e-12, "mem": 1.69e-10, "rank": 3.04e-09},
}


def _fft_passes(sizes, shape, count, keep=None):
    """``(lines, length, real)`` of the 1-D FFT passes over ``count`` maps.

    Forward (``keep`` None): rfft of the ``prod(sizes[:-1])`` rows of the
    unpadded maps along the last axis, then complex FFTs along the others,
    each over the lines not yet known to be zero.  Inverse (``keep``: the
    outputs kept per axis): complex inverse FFTs along every axis but the
    last, each keeping ``keep[a]`` indices, then the real inverse along the
    last axis on the kept rows only.
    """
    n_spatial = len(shape)
    half = shape[-1] // 2 + 1
    passes = []
    if keep is None:
        passes.append((count * math.prod(sizes[:-1]), shape[-1], True))
        for a in range(n_spatial - 2, -1, -1):
            lines = count * math.prod(sizes[:a]) * math.prod(shape[a + 1:-1]) * half
            passes.append((lines, shape[a], False))
    else:
        for a in range(n_spatial - 1):
            lines = count * math.prod(keep[:a]) * math.prod(shape[a + 1:-1]) * half
            passes.append((lines, shape[a], False))
        passes.append((count * math.prod(keep[:-1]), shape[-1], True))
    return passes


def method_work(x_shape, k_shape, *, stride, pads, dilation, groups, itemsize=4,
                budget=512 * 2**20, cpu=True, methods=METHODS[1:]):
    """Units of work of each method (the terms of :func:`method_costs`).

    Returns ``{method: {term: count}}`` for those of ``methods`` among
    'direct', 'fft' and (2-D only) 'separable', for ``N`` samples of ``C`` channels, ``K`` kernels of size
    ``k`` in ``g`` groups, padded input size ``S``, output size ``P``, FFT
    size ``L`` (``F`` rfft frequencies):

    * direct: ``flop = 2 N K (C/g) prod(k) prod(P)`` (the GEMM), ``mem = N
      C prod(k) prod(P) + N K prod(P)`` (unfolded columns and output
      elements), ``call = chunks * prod(k)`` (one strided copy per kernel
      offset and chunk);
    * fft: ``fft = sum(lines * L_a log2(L_a)) / 2`` over the real passes
      (along the last axis), ``cfft`` the same without the 1/2 over the
      complex passes (along the other axes, strided), and ``lines`` over
      all the 1-D passes of the ``N C`` forward, ``K C/g`` kernel and
      ``N K`` inverse transforms (:func:`_fft_passes`: lines of zeros and
      of unused outputs are skipped); ``cmul = N K (C/g) F`` complex
      multiply-adds (or ``cflop = 8 N K (C/g) F`` in one complex GEMM per
      frequency from 16 channels per group on), ``mem = N (C + K) prod(L)
      + N K prod(P)``, ``call = chunks * (C/g + 4)``;
    * separable: column pass then banded row pass (blocks of ``B`` outputs
      reading ``B_in`` inputs, ``W_b = blocks * B_in``, ``R = P_h *
      blocks`` rows): ``flop = 2 N C (K/g) kh P_h W_b + 2 N K (C/g) R B_in
      B``, ``mem = N C (S_h + kh P_h + (K/g) P_h) W_b + N K prod(P) + K
      (C/g) B_in B`` (the last: the band matrices), ``add = N K (C/g - 1)
      R B``, ``call = chunks * (kh + blocks + C + K C/g)`` (copies and GEMM
      calls), ``rank = K (C/g) kh kw`` (the rank-1 test).

    Every method also has ``fixed = 1``.
    """
    n, c = x_shape[:2]
    k = k_shape[0]
    cg = c // groups
    kg = k // groups
    ksize = tuple(k_shape[2:])
    n_spatial = len(ksize)
    extents = tuple(d * (m - 1) + 1 for d, m in zip(dilation, ksize))
    padded = tuple(s + a + b for s, (a, b) in zip(x_shape[2:], pads))
    out = tuple((p - e) // s + 1 for p, e, s in zip(padded, extents, stride))
    kprod, pprod = math.prod(ksize), math.prod(out)

    def chunks(sample_bytes, block):
        size = max(1, (min(budget, block) if cpu else budget) // max(sample_bytes, 1))
        return -(-n // size) if n else 0

    work = {}
    pointwise = kprod == 1 and all(s == 1 for s in stride)
    work["direct"] = {
        "fixed": 1,
        "flop": 2 * n * k * cg * kprod * pprod,
        "mem": (0 if pointwise else n * c * kprod * pprod) + n * k * pprod,
        "call": chunks(c * kprod * pprod * itemsize, _CPU_BLOCK_BYTES) * kprod,
    }
    if "fft" not in methods and "separable" not in methods:
        return {m: t for m, t in work.items() if m in methods}
    shape = fft_shape(padded)
    lprod = math.prod(shape)
    n_freq = math.prod(shape[:-1]) * (shape[-1] // 2 + 1)
    matmul = cg >= 16
    fft_bytes = itemsize * ((c + k) * lprod + 2 * (c + 2 * k) * n_freq)
    passes = (_fft_passes(x_shape[2:], shape, n * c)
              + _fft_passes(extents, shape, k * cg)
              + _fft_passes(shape, shape, n * k, keep=out))
    work["fft"] = {
        "fixed": 1,
        "fft": sum(lines * size * math.log2(max(size, 2)) * 0.5
                   for lines, size, real in passes if real),
        "cfft": sum(lines * size * math.log2(max(size, 2))
                    for lines, size, real in passes if not real),
        "lines": sum(lines for lines, _, _ in passes),
        "cmul": 0 if matmul else n * k * cg * n_freq,
        "cflop": 8 * n * k * cg * n_freq if matmul else 0,
        "mem": n * (c + k) * lprod + n * k * pprod,
        "call": chunks(fft_bytes, 4 * 2**20) * (cg + 4),
    }
    if n_spatial == 2:
        kh = ksize[0]
        sw, ew = stride[1], extents[1]
        out_h, out_w = out
        n_blocks, block = row_block(out_w, ew)
        block_in = (block - 1) * sw + ew
        wb = n_blocks * block_in
        rows = out_h * n_blocks
        sep_bytes = itemsize * (c * padded[0] * wb + c * (kh + kg) * out_h * wb
                                + k * rows * block)
        work["separable"] = {
            "fixed": 1,
            "flop": 2 * n * c * kg * kh * out_h * wb
            + 2 * n * k * cg * rows * block_in * block,
            "mem": n * c * (padded[0] + kh * out_h + kg * out_h) * wb + n * k * pprod
            + k * cg * block_in * block,
            "add": n * k * (cg - 1) * rows * block,
            "call": chunks(sep_bytes, 16 * 2**20) * (kh + n_blocks + c + k * cg),
            "rank": k * cg * kprod,
        }
    return {m: t for m, t in work.items() if m in methods}


def method_costs(x_shape, k_shape, *, stride, pads, dilation, groups,
                 itemsize=4, budget=512 * 2**20, cpu=True, methods=METHODS[1:]):
    """Estimated seconds of each of ``methods``: ``sum(work * constant)``
    over the terms of :func:`method_work`, with the constants
    ``_COST_CONSTANTS`` measured on the benchmark machine.  'separable'
    (2-D only) assumes rank-1 kernels and includes the rank test."""
    work = method_work(x_shape, k_shape, stride=stride, pads=pads,
                       dilation=dilation, groups=groups, itemsize=itemsize,
                       budget=budget, cpu=cpu, methods=methods)
    return {
        method: sum(count * _COST_CONSTANTS[method][term]
                    for term, count in terms.items())
        for method, terms in work.items()
    }


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
        Budget for the temporary arrays of a chunk of samples (unfolded
        columns, spectra or intermediate maps, by method); samples are
        processed in chunks to respect it (at least one sample per chunk).
        On the CPU the chunks are further kept to a few MB, which is faster
        (cache).  'fft' and 'separable' also hold, for the whole call, the
        kernels' spectra (``n_kernels * n_channels / groups`` half spectra)
        or banded row matrices (``n_kernels * n_channels / groups`` matrices
        of about ``(stride * b + dilated_width) x b``, with ``b`` between 16
        and 2.6 times the dilated kernel width).
    method : {{'auto', 'direct', 'fft', 'separable'}}, default='auto'
        How to compute; all give the same result up to float rounding (see
        Notes).  ``'direct'``: im2col + one GEMM per chunk, best for small
        kernels.  ``'fft'``: products of spectra (``numpy.fft`` /
        ``cupy.fft``), best for large kernels.  ``'separable'`` (2-D only):
        for kernels whose every ``(kernel, channel)`` slice is rank 1, an
        outer product ``u v^T`` (Gaussian, box, Sobel...), a column pass
        with ``u`` then a row pass with ``v``; a ValueError names the first
        slice that is not.  ``'auto'``: the method a cost model, calibrated
        on a 2-core CPU, estimates fastest for these shapes; 'separable'
        only when every slice is rank 1, 'direct' whenever ``x`` or the
        kernels hold NaN or infinity.  There, for ``(32, 3, 64, 64)``
        float32 images, 16 kernels and ``'same'`` padding, 'fft' beats
        'direct' from 9 x 9 kernels on, and rank-1 kernels go 'separable'
        from 7 x 7 up to about 21 x 21, 'fft' above.

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
        For wrong shapes, channel mismatches, sizes < 1, unknown padding,
        kernels larger than the padded input, an unknown ``method``,
        ``method='separable'`` in 1-D or with a kernel slice that is not
        rank 1 (or not finite).

    Notes
    -----
    ``'direct'`` unfolds the input into columns taking ``n_channels *
    prod(kernel_size) * prod(out_size) * itemsize`` bytes per sample, and
    chunking over samples bounds them by ``max_memory``.  Empty batches
    give empty outputs.  With ``'direct'`` NaN propagates to every output
    whose window contains it, and only there.

    ``'fft'`` zero-pads to the next ``2^a 3^b 5^c`` size along each axis
    (at least the padded input), computes the full stride-1 result and
    keeps every ``stride``-th output; dilation inserts zeros into the
    kernels.  float32 input is computed in complex64 (where the FFT library
    does so, NumPy >= 2 and CuPy), with errors of about 1e-6 times the
    largest output of the sample (float64: about 1e-15), not of each
    output: small outputs next to large ones have larger relative errors
    than with 'direct'.  On NumPy, chunks of samples run on as many threads
    as NumPy's BLAS uses.  A NaN or infinity in a sample's input spreads to
    all of its outputs.

    ``'separable'`` uses a slice ``w`` as rank 1 when the outer product of
    its row and column through its largest entry reproduces it to
    ``||w - u v^T||_F <= rtol ||w||_F`` with ``rtol`` 1e-5 for float32 and
    1e-12 for float64, so it changes the kernels by at most that.  Its row
    pass is a banded matrix product over blocks of 16 to 64 outputs, so a
    NaN in the input spreads along the row within such a block.

    ``'auto'`` estimates every method's time as a weighted sum of its
    operation counts (GEMM flops, elements copied, FFT lengths and lines,
    Python-level calls; ``featurelab.ops._conv.method_costs``) and runs the
    cheapest; the weights were fitted to timings on the 2-core benchmark
    machine (``benchmarks/bench_methods.py``), where its pick was within
    10 % of the fastest method in 104 of 108 measured shapes.
"""


def conv1d(x, kernels, *, stride=1, padding="valid", dilation=1, bias=None,
           flip=False, groups=1, max_memory="512MB", method="auto"):
    """Cross-correlate (or convolve) a batch of 1-D multichannel signals."""
    method = _check_method(method, 1)
    return _dispatch(*_validate_conv(x, kernels, 1, stride, padding, dilation,
                                     bias, flip, groups, max_memory), method)


def conv2d(x, kernels, *, stride=1, padding="valid", dilation=1, bias=None,
           flip=False, groups=1, max_memory="512MB", method="auto"):
    """Cross-correlate (or convolve) a batch of multichannel images."""
    method = _check_method(method, 2)
    return _dispatch(*_validate_conv(x, kernels, 2, stride, padding, dilation,
                                     bias, flip, groups, max_memory), method)


def conv_method(x, kernels, *, stride=1, padding="valid", dilation=1, groups=1,
                max_memory="512MB"):
    """The method ``conv1d``/``conv2d(..., method='auto')`` uses for these
    arguments: ``'direct'``, ``'fft'`` or ``'separable'``.

    The choice follows the cost model of :func:`method_costs` (fitted to
    timings on the CPU, see the Notes of :func:`conv2d`); ``'separable'``
    only for 2-D kernels whose every slice is rank 1.

    Parameters
    ----------
    x, kernels, stride, padding, dilation, groups, max_memory
        As for :func:`conv1d` / :func:`conv2d` (2-D when ``x`` is 4-D).

    Returns
    -------
    method : str

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import conv_method
    >>> x = np.zeros((32, 3, 64, 64), dtype=np.float32)
    >>> conv_method(x, np.ones((16, 3, 3, 3), dtype=np.float32))
    'direct'
    >>> blur = np.outer(np.hanning(21), np.hanning(21)).astype(np.float32)
    >>> conv_method(x, np.broadcast_to(blur, (16, 3, 21, 21)))     # rank 1
    'separable'
    """
    n_spatial = getattr(x, "ndim", 0) - 2
    if n_spatial not in (1, 2):
        raise ValueError(f"x must be a batch (n_samples, n_channels, length) or "
                         f"(n_samples, n_channels, height, width), got shape "
                         f"{tuple(getattr(x, 'shape', ()))}.")
    xp, x, kernels, stride, pads, dilation, _, _, groups, budget = _validate_conv(
        x, kernels, n_spatial, stride, padding, dilation, None, False, groups,
        max_memory)
    return _choose_method(xp, x, kernels, stride, pads, dilation, groups, budget)[0]


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
    >>> np.allclose(conv1d(x, w, method="fft"), conv1d(x, w, method="direct"))
    True
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

    Sobel kernels are rank 1 (a column ``[1, 2, 1]`` times a row
    ``[-1, 0, 1]``), so every method applies:

    >>> direct = conv2d(x, sobel_x, method="direct")
    >>> all(np.allclose(conv2d(x, sobel_x, method=m), direct)
    ...     for m in ("separable", "fft", "auto"))
    True
    >>> conv2d(x, np.ones((1, 1, 3, 3)) + np.eye(3), method="separable")
    Traceback (most recent call last):
    ...
    ValueError: method='separable' needs every (kernel, channel) slice ...
"""
