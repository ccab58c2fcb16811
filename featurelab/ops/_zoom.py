"""Spline zoom of the spatial axes, as one small matrix product per axis.

Spline interpolation (``scipy.ndimage.zoom``) is linear and separable: along
one axis of ``n`` samples, zooming to ``m`` samples is an ``(m, n)`` matrix.
:func:`zoom` builds that matrix once per axis with SciPy (on the host, by
zooming the identity) and applies it with ``matmul`` on the array's own
backend, so NumPy and CuPy run the same code and agree with
``scipy.ndimage.zoom`` to rounding.  Small images (scikit-learn's 8 x 8
digits) zoomed by 2 or 3 let a wavelet bank's finest scale fall between
pixels, which is what :func:`featurelab.presets.scattering2d`'s ``upsample``
uses.
"""

import functools
import numbers

import numpy as np

from .._validation import as_tuple, check_array, check_int
from ..backend import asarray, get_namespace, is_cupy_array

__all__ = ["zoom"]


@functools.lru_cache(maxsize=64)
def _zoom_matrix(n_in, n_out, order):
    """The ``(n_out, n_in)`` float64 matrix of ``scipy.ndimage.zoom`` along
    one axis (defaults: ``mode='constant'``, ``grid_mode=False``)."""
    from scipy import ndimage

    eye = np.eye(n_in)
    matrix = ndimage.zoom(eye, (n_out / n_in, 1), order=order)
    if matrix.shape[0] != n_out:       # ndimage rounds n_in * factor
        raise AssertionError(f"zoom matrix of {matrix.shape}, expected {n_out} rows")
    matrix.setflags(write=False)
    return matrix


def _output_sizes(in_sizes, factor):
    ndim = len(in_sizes)
    items = factor if isinstance(factor, (tuple, list)) else (factor,) * ndim
    if len(items) != ndim:
        raise ValueError(f"factor must be a number or a tuple of {ndim} numbers "
                         f"(one per spatial axis), got {factor!r}.")
    sizes = []
    for n, f in zip(in_sizes, items):
        if isinstance(f, (bool, np.bool_)) or not isinstance(f, numbers.Real):
            raise TypeError(f"factor must be a real number > 0 or a tuple of them, "
                            f"got {factor!r}.")
        if not 0 < f < float("inf"):
            raise ValueError(f"factor must be a finite real number > 0 on every axis, "
                             f"got {factor!r}.")
        size = int(round(n * f))
        if size < 1:
            raise ValueError(f"factor={factor!r} zooms an axis of {n} samples to "
                             "none; use a larger factor.")
        sizes.append(size)
    return tuple(sizes)


def zoom(x, factor, *, order=3, output_size=None):
    """Zoom the spatial axes of a batch by spline interpolation.

    The same as ``scipy.ndimage.zoom(x, (1, 1, *factor), order=order)``
    (its defaults: ``mode='constant'``, ``grid_mode=False``, so the corner
    samples of the input and output coincide), for NumPy and CuPy arrays.

    Parameters
    ----------
    x : array of shape (n_samples, n_channels, *spatial)
        NumPy or CuPy, 1 to 3 spatial axes.
    factor : float or tuple of float
        Zoom per spatial axis (> 0); an axis of ``n`` samples becomes
        ``round(n * factor)`` samples.  Ignored when ``output_size`` is
        given.
    order : int, default=3
        Spline order, 0 (nearest) to 5; 1 is linear, 3 cubic.
    output_size : int or tuple of int, optional
        The spatial shape of the result, instead of ``factor``.

    Returns
    -------
    y : array of shape (n_samples, n_channels, *output_spatial)
        Same backend and dtype as ``x`` (float32 stays float32).

    Notes
    -----
    Each axis is one ``matmul`` with an ``(m, n)`` interpolation matrix:
    ``O(m n)`` per line, cheap for the small images it is meant for (use a
    dedicated resampler for large ones).  The matrices are cached per
    ``(n, m, order)``.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import zoom
    >>> x = np.arange(4.0).reshape(1, 1, 2, 2)
    >>> zoom(x, 2, order=1).shape
    (1, 1, 4, 4)
    >>> zoom(x, 1.5, order=1)[0, 0]
    array([[0. , 0.5, 1. ],
           [1. , 1.5, 2. ],
           [2. , 2.5, 3. ]])
    """
    x = check_array(x, "x", (3, 4, 5), "(n_samples, n_channels, *spatial)")
    order = check_int(order, "order", minimum=0)
    if order > 5:
        raise ValueError(f"order must be between 0 and 5, got {order}.")
    in_sizes = tuple(int(n) for n in x.shape[2:])
    if output_size is None:
        out_sizes = _output_sizes(in_sizes, factor)
    else:
        out_sizes = as_tuple(output_size, len(in_sizes), "output_size")
    xp = get_namespace(x)
    backend = "cupy" if is_cupy_array(x) else "numpy"
    y = x
    for axis, (n, m) in enumerate(zip(in_sizes, out_sizes)):
        if n == m:
            continue
        matrix = asarray(_zoom_matrix(n, m, order), backend=backend, dtype=x.dtype)
        moved = xp.moveaxis(y, 2 + axis, -1)
        y = xp.moveaxis(moved @ matrix.T, -1, 2 + axis)
    return xp.ascontiguousarray(y)
