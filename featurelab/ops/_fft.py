"""Convolution through the FFT (``conv1d``/``conv2d`` with ``method='fft'``).

Private module: :func:`conv_fft` takes the validated arguments of
:func:`featurelab.ops._conv._conv` and returns the same result, computed with
the FFTs of the backend namespace (``xp.fft.rfftn``, ``ifft``, ``irfft`` of
numpy.fft or cupy.fft).
"""

import math

from ._threads import cpu_threads, run_in_threads

__all__ = ["conv_fft", "fast_length", "fft_shape"]

# On the CPU the transforms of a chunk are kept to about this many bytes of
# temporaries, so that the spectrum product and the inverse transform read
# warm data (on the 2-core benchmark machine the product of a chunk of 4
# samples ran 2.5x faster than that of the whole batch).  CuPy gets the whole
# max_memory budget.
_CPU_BLOCK_BYTES = 4 * 2**20

# Above this many input channels per group, the spectrum product is one
# batched complex GEMM per frequency instead of a running multiply-add over
# channels (the multiply-add makes n_channels passes over the spectra).
_MATMUL_MIN_CHANNELS = 16


def fast_length(n):
    """Smallest ``2**a * 3**b * 5**c >= n``: a size both pocketfft (NumPy) and
    cuFFT transform quickly (sizes with large prime factors run 1.5-3x slower).
    """
    best = 2 ** math.ceil(math.log2(max(n, 1)))
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            # smallest power of two times p35 that reaches n
            m = p35 * 2 ** max(0, math.ceil(math.log2(n / p35)))
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def fft_shape(padded):
    """FFT length per axis for (zero-padded) inputs of size ``padded``.

    Circular cross-correlation of length ``L >= padded`` equals the linear
    one on the ``padded - extent + 1`` valid outputs (``x[i + j]`` never
    wraps around for those), so the transform need not cover
    ``padded + extent - 1``.
    """
    return tuple(fast_length(p) for p in padded)


def conv_fft(xp, x, kernels, stride, pads, dilation, bias, flip, groups, budget):
    """Cross-correlate (or convolve, ``flip``) valid input with FFTs; no checks.

    The kernels are flipped if asked, dilated by inserting zeros, placed in
    an array of the FFT size circularly shifted by the padding before the
    input (so that output ``i`` of the circular correlation of the unpadded
    input is output ``i`` of the padded one), and transformed once.  Then,
    per chunk of samples, the input is transformed (the library zero-pads it
    to the FFT size), multiplied by the conjugate kernel spectra and summed
    over the input channels of each group; the inverse transform keeps only
    every ``stride``-th valid index along each axis before transforming the
    next (the last, real, transform is the costly one), and the result is
    written into the ``(N, K, *out)`` output.  float32 input is computed in
    float32/complex64 where the FFT library does so (NumPy >= 2, CuPy).
    """
    n_spatial = x.ndim - 2
    axes = tuple(range(-n_spatial, 0))
    n_samples, n_channels = x.shape[:2]
    n_kernels, c_per_group = kernels.shape[:2]
    k_per_group = n_kernels // groups
    ksize = tuple(kernels.shape[2:])
    dtype = x.dtype
    if flip:
        kernels = kernels[(Ellipsis,) + (slice(None, None, -1),) * n_spatial]
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ksize))
    sizes = tuple(x.shape[2:])
    padded = tuple(s + a + b for s, (a, b) in zip(sizes, pads))
    shape = fft_shape(padded)
    out_size = tuple((p - e) // s + 1 for p, e, s in zip(padded, extents, stride))
    out = xp.empty((n_samples, n_kernels) + out_size, dtype=dtype)
    if n_samples == 0:
        return _add_bias(out, bias, n_spatial)

    # kernel taps at (j * dilation - pad_before) mod L: correlating the
    # unpadded input with them gives the padded input's outputs at index 0..
    placed = xp.zeros((n_kernels, c_per_group) + shape, dtype=dtype)
    placed[(Ellipsis,) + tuple(slice(0, e, d) for e, d in zip(extents, dilation))] = kernels
    if any(a for a, _ in pads):
        placed = xp.roll(placed, tuple(-a for a, _ in pads), axis=axes)
    spec_shape = shape[:-1] + (shape[-1] // 2 + 1,)
    n_freq = math.prod(spec_shape)
    # Every transform uses norm='ortho': then irfft(rfft(x) * W) needs W, the
    # spectrum of the kernels without normalisation (= ortho * sqrt(prod L)).
    # (NumPy 2.x runs forward transforms with the default norm 3-10x slower:
    # its scale factor is the Python int 1, which makes the gufunc buffer.)
    w_spec = xp.fft.rfftn(placed, axes=axes, norm="ortho")
    w_spec = xp.conj(w_spec * math.sqrt(math.prod(shape)))  # conjugate: correlation
    del placed
    complex_dtype = w_spec.dtype
    w_spec = w_spec.reshape(groups, k_per_group, c_per_group, n_freq)
    use_matmul = c_per_group >= _MATMUL_MIN_CHANNELS
    if use_matmul:  # (groups, F, K/groups, C/groups): one GEMM per frequency
        w_spec = xp.ascontiguousarray(w_spec.transpose(0, 3, 1, 2))
    else:  # (groups, C/groups, K/groups, F): one contiguous slice per channel
        w_spec = xp.ascontiguousarray(w_spec.transpose(0, 2, 1, 3))
    keep = tuple(slice(0, (m - 1) * s + 1, s) for m, s in zip(out_size, stride))

    item = dtype.itemsize
    sample_bytes = item * (n_channels * math.prod(shape) + n_kernels * math.prod(shape)
                           + 2 * (n_channels + 2 * n_kernels) * n_freq)
    threads = 1
    if xp.__name__ == "numpy":
        budget = min(budget, _CPU_BLOCK_BYTES)
        threads = cpu_threads()
    chunk = max(1, min(n_samples, budget // threads // max(sample_bytes, 1)))

    def transform(lo, hi):
        """Samples lo..hi, chunk by chunk, with buffers of their own."""
        if not use_matmul:
            product = xp.empty((chunk, groups, k_per_group, n_freq),
                               dtype=complex_dtype)
            term = xp.empty_like(product)
        for start in range(lo, hi, chunk):
            n = min(chunk, hi - start)
            x_spec = xp.fft.rfftn(x[start:start + n], s=shape, axes=axes,
                                  norm="ortho")
            x_spec = x_spec.reshape(n, groups, c_per_group, n_freq)
            if use_matmul:
                # (groups, F, K/g, C/g) @ (groups, F, C/g, n) -> (groups, F, K/g, n)
                y_spec = xp.matmul(w_spec, x_spec.transpose(1, 3, 2, 0))
                y_spec = y_spec.transpose(3, 0, 2, 1)
            else:
                y_spec = product[:n]
                tmp = term[:n]
                for c in range(c_per_group):
                    xp.multiply(x_spec[:, :, c, None], w_spec[:, c],
                                out=y_spec if c == 0 else tmp)
                    if c:
                        y_spec += tmp
            y = y_spec.reshape((n, n_kernels) + spec_shape)
            for axis in range(n_spatial - 1):  # complex axes: keep output rows
                y = xp.fft.ifft(y, axis=2 + axis, norm="ortho")
                y = y[(slice(None),) * (2 + axis) + (keep[axis],)]
            y = xp.fft.irfft(y, n=shape[-1], axis=-1, norm="ortho")
            out[start:start + n] = y[..., keep[-1]]

    run_in_threads(transform, n_samples, chunk, threads)
    return _add_bias(out, bias, n_spatial)


def _add_bias(out, bias, n_spatial):
    if bias is not None:
        out += bias.reshape((-1,) + (1,) * n_spatial)
    return out
