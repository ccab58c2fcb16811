"""Separable 2-D convolution (``conv2d`` with ``method='separable'``).

Private module.  A kernel slice ``w[k, c]`` of rank 1 is an outer product
``u[k, c] v[k, c]^T`` (:func:`rank1_factors`); the convolution with it is a
column pass with ``u`` followed by a row pass with ``v``
(:func:`conv_separable`).
"""

import math

__all__ = ["RANK1_RTOL", "conv_separable", "numerical_rank", "rank1_factors",
           "row_block"]

#: A (kh, kw) kernel slice ``w`` is used as rank 1 when the outer product of
#: its row and column through its largest entry reproduces it to this
#: relative error, ``||w - u v^T||_F <= RANK1_RTOL[dtype] * ||w||_F``.  That
#: error is exactly what 'separable' changes in the kernel, so its results
#: agree with 'direct' to float tolerance.  Outer products rounded to the
#: dtype pass with a wide margin (errors of a few ulps: ~2e-7 in float32,
#: ~4e-16 in float64); for a slice of rank r > 1 the error is at least
#: ``sqrt(s2^2 + ... + sr^2) / ||w||_F`` (singular values ``s1 >= s2 ...``).
RANK1_RTOL = {"float32": 1e-5, "float64": 1e-12}

# On the CPU, a chunk's buffers are kept to about this many bytes: larger
# chunks make fewer, larger GEMMs, smaller ones stay in cache (on the 2-core
# benchmark machine 4 MiB beat 1, 2, 8 and 16 MiB for kernels 3 to 31).
# CuPy gets the whole max_memory budget.
_CPU_BLOCK_BYTES = 4 * 2**20


def rank1_factors(xp, kernels):
    """Rank-1 factors of every (kh, kw) slice of ``kernels``, and how well
    they fit.

    Returns ``(u, v, error)``: ``u`` of shape ``(K, C, kh)`` and ``v`` of
    shape ``(K, C, kw)`` in the dtype of ``kernels``, and ``error`` of shape
    ``(K, C)`` (float64, on the backend), ``||w - outer(u, v)||_F /
    ||w||_F`` (0 for a zero slice).  ``u`` is the column and ``v`` the row
    through the entry of largest magnitude (divided by it, the scale shared
    between both), which reproduces a rank-1 slice to rounding error and
    costs ``O(kh kw)`` per slice, unlike an SVD.  ``None`` when the kernels
    are not finite.
    """
    if not bool(xp.isfinite(kernels).all()):
        return None
    w = kernels.astype(xp.float64)
    n_kernels, n_channels, kh, kw = w.shape
    flat = xp.abs(w).reshape(n_kernels, n_channels, kh * kw)
    pivot = xp.argmax(flat, axis=-1)
    i, j = pivot // kw, pivot % kw
    col = xp.take_along_axis(w, j.reshape(n_kernels, n_channels, 1, 1), axis=3)[..., 0]
    row = xp.take_along_axis(w, i.reshape(n_kernels, n_channels, 1, 1), axis=2)[..., 0, :]
    peak = xp.take_along_axis(row, j.reshape(n_kernels, n_channels, 1), axis=2)[..., 0]
    scale = xp.sqrt(xp.abs(peak))
    scale = xp.where(scale > 0, scale, 1.0)
    u = col / scale[..., None]
    v = row * (xp.sign(peak) / scale)[..., None]
    residual = w - u[..., :, None] * v[..., None, :]
    norm = xp.sqrt((w * w).sum(axis=(2, 3)))
    error = xp.sqrt((residual * residual).sum(axis=(2, 3)))
    error = error / xp.where(norm > 0, norm, 1.0)
    return u.astype(kernels.dtype), v.astype(kernels.dtype), error


def numerical_rank(xp, kernel_slice, rtol):
    """``(rank, s2 / s1)`` of one 2-D slice by SVD (for error messages):
    the number of singular values above ``rtol * s1``."""
    sing = xp.linalg.svd(kernel_slice.astype(xp.float64), compute_uv=False)
    s1 = float(sing[0])
    if s1 == 0:
        return 0, 0.0
    rank = int((sing > rtol * s1).sum())
    return rank, (float(sing[1]) / s1 if sing.shape[0] > 1 else 0.0)


def row_block(out_width, extent):
    """``(n_blocks, block)``: the row pass computes ``block`` outputs per
    banded GEMM, ``n_blocks * block >= out_width`` (balanced blocks).

    A block reads ``(block - 1) * stride + extent`` inputs, so small blocks
    waste fewer flops on the zeros of the band but make smaller GEMMs; the
    target, the power of two >= 1.3 * extent and >= 16 (16 up to extent 12,
    32 up to 24, 64 up to 49), was the best of four rules on the benchmark
    machine for kernels 3 to 31 on 48 to 128 pixel wide images.
    """
    target = max(16, 2 ** math.ceil(math.log2(1.3 * extent)))
    n_blocks = -(-out_width // target)
    return n_blocks, -(-out_width // n_blocks)


def conv_separable(xp, x, u, v, stride, pads, dilation, bias, flip, groups,
                   budget):
    """2-D convolution with rank-1 kernels ``outer(u[k, c], v[k, c])``; no checks.

    Per chunk of samples, in channel-major layout:

    * column pass: every input channel is convolved with the ``K/groups``
      column kernels that read it, by im2col along the height and one GEMM
      per channel, ``(K/groups, kh) @ (kh, n * out_h * width)``, giving
      ``C * K/groups`` maps;
    * row pass: each map is convolved with its row kernel and the maps of
      one kernel are summed over its group's channels.  This is a GEMM with
      a banded (Toeplitz) matrix: the output width is cut into blocks of
      ``block`` outputs, each reading ``block_in = (block - 1) * stride +
      extent`` inputs, so that the band has few zeros; for that the input is
      laid out as overlapping blocks along the width before the column pass
      (which does not mix columns).  One GEMM ``(n * out_h * n_blocks,
      block_in) @ (block_in, block)`` per (kernel, channel).
    """
    n_samples, n_channels = x.shape[:2]
    n_kernels, c_per_group, kh = u.shape
    kw = v.shape[-1]
    k_per_group = n_kernels // groups
    dtype = x.dtype
    if flip:  # flipping w[k, c] flips both of its factors
        u, v = u[..., ::-1], v[..., ::-1]
    (sh, sw), (dh, dw) = stride, dilation
    ew = dw * (kw - 1) + 1
    height, width = x.shape[2:]
    padded_h = height + pads[0][0] + pads[0][1]
    padded_w = width + pads[1][0] + pads[1][1]
    out_h = (padded_h - dh * (kh - 1) - 1) // sh + 1
    out_w = (padded_w - ew) // sw + 1
    n_blocks, block = row_block(out_w, ew)
    block_in = (block - 1) * sw + ew
    need_w = (n_blocks * block - 1) * sw + ew  # the last block may overhang
    extra = max(0, need_w - padded_w)
    x = xp.pad(x, ((0, 0), (0, 0), pads[0], (pads[1][0], pads[1][1] + extra)))
    width_b = n_blocks * block_in
    rows = out_h * n_blocks

    # column kernels (C, K/groups, kh): channel c = g * C/groups + cl is read
    # by kernels g * K/groups + k'
    ucol = u.reshape(groups, k_per_group, c_per_group, kh).transpose(0, 2, 1, 3)
    ucol = xp.ascontiguousarray(ucol.reshape(n_channels, k_per_group, kh))
    # banded row matrices: band[g, cl, k', o * sw + i * dw, o] = v[k, cl, i]
    band = xp.zeros((groups, c_per_group, k_per_group, block_in, block), dtype=dtype)
    taps = xp.arange(kw).reshape(kw, 1)
    outs = xp.arange(block).reshape(1, block)
    vg = v.reshape(groups, k_per_group, c_per_group, kw).transpose(0, 2, 1, 3)
    band[..., outs * sw + taps * dw, outs + 0 * taps] = vg[..., None]

    out = xp.empty((n_samples, n_kernels, out_h, out_w), dtype=dtype)
    sizes = {  # elements per sample of each buffer
        "blocked": n_channels * x.shape[2] * width_b if n_blocks > 1 else 0,
        "cols": n_channels * kh * out_h * width_b,
        "maps": n_channels * k_per_group * out_h * width_b,
        "acc": n_kernels * rows * block,
    }
    if xp.__name__ == "numpy":
        budget = min(budget, _CPU_BLOCK_BYTES)
    chunk = max(1, min(n_samples,
                       budget // max(dtype.itemsize * sum(sizes.values()), 1)))
    buffers = {name: xp.empty(chunk * size, dtype=dtype)
               for name, size in sizes.items() if size}
    h_taps = [slice(i * dh, i * dh + sh * (out_h - 1) + 1, sh) for i in range(kh)]
    for start in range(0, n_samples, chunk):
        n = min(chunk, n_samples - start)
        xs = x[start:start + n].transpose(1, 0, 2, 3)  # (C, n, H, W)
        if n_blocks > 1:
            xb = _take(buffers["blocked"],
                       (n_channels, n, x.shape[2], n_blocks, block_in))
            for b in range(n_blocks):
                lo = b * block * sw
                xb[..., b, :] = xs[..., lo:lo + block_in]
            xs = xb.reshape(n_channels, n, x.shape[2], width_b)
        else:
            xs = xs[..., :block_in]
        cols = _take(buffers["cols"], (n_channels, kh, n, out_h, width_b))
        for i, rows_i in enumerate(h_taps):
            cols[:, i] = xs[:, :, rows_i]
        maps = _take(buffers["maps"], (n_channels, k_per_group, n * out_h * width_b))
        xp.matmul(ucol, cols.reshape(n_channels, kh, -1), out=maps)
        maps = maps.reshape(groups, c_per_group, k_per_group, n * rows, block_in)
        acc = _take(buffers["acc"], (groups, k_per_group, n * rows, block))
        xp.matmul(maps[:, 0], band[:, 0], out=acc)
        for c in range(1, c_per_group):
            acc += xp.matmul(maps[:, c], band[:, c])
        acc = acc.reshape(n_kernels, n, out_h, n_blocks * block)
        out[start:start + n] = acc[..., :out_w].transpose(1, 0, 2, 3)
    if bias is not None:
        out += bias.reshape(-1, 1, 1)
    return out


def _take(buffer, shape):
    """The first ``prod(shape)`` elements of a flat buffer, as ``shape``."""
    return buffer[:math.prod(shape)].reshape(shape)
