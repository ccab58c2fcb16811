"""Random kernels: Gaussian, uniform, Rademacher, orthogonal, data patches."""

import math

import numpy as np
from sklearn.utils import check_random_state

from .._validation import as_tuple, check_bool, check_int, check_option
from ..patches import sample_patches

__all__ = ["DISTRIBUTIONS", "patch_kernels", "random_kernels"]

#: Distributions accepted by :func:`random_kernels`.
DISTRIBUTIONS = ("normal", "uniform", "rademacher", "orthogonal")


def _kernel_size(size):
    """An int is a square 2-D kernel; a tuple gives the size per axis."""
    if isinstance(size, (tuple, list)):
        if len(size) not in (1, 2):
            raise ValueError(
                f"size must be an int (square 2-D kernel) or a tuple of 1 or 2 "
                f"ints, got {size!r}."
            )
        return as_tuple(size, len(size), "size")
    return as_tuple(size, 2, "size")


def _check_dtype(dtype):
    try:
        checked = None if dtype is None else np.dtype(dtype)
    except TypeError:
        checked = None
    if checked not in (np.float32, np.float64):
        shown = repr(dtype) if checked is None else checked.name
        raise TypeError(f"dtype must be float32 or float64, got {shown}.")
    return checked


def _normalize_rows(w, zero_mean, normalize):
    """Centre and/or scale each row to unit norm (zero rows stay zero);
    works on any backend."""
    if zero_mean:
        w = w - w.mean(axis=1, keepdims=True)
    if normalize:
        norms = (w * w).sum(axis=1, keepdims=True) ** 0.5
        w = w / (norms + (norms == 0))
    return w


def _orthogonal(rng, n_rows, n_cols):
    """Rows orthonormal in blocks of ``n_cols`` (Haar-distributed blocks).

    A block of ``m`` rows is the Q factor of a reduced QR of an ``(n_cols,
    m)`` Gaussian matrix, sign-fixed: the first ``m`` columns of a Haar
    orthogonal matrix, at ``O(n_cols m^2)`` cost instead of ``O(n_cols^3)``.
    """
    blocks = []
    for start in range(0, n_rows, n_cols):
        m = min(n_cols, n_rows - start)
        q, r = np.linalg.qr(rng.standard_normal((n_cols, m)))
        blocks.append((q * np.sign(np.diag(r))).T)
    return np.concatenate(blocks, axis=0)


def random_kernels(n_kernels, in_channels, size, *, distribution="normal",
                   normalize=True, zero_mean=False, random_state=None,
                   dtype=np.float32):
    """Draw a bank of random convolution kernels.

    Parameters
    ----------
    n_kernels : int
        Number of kernels K, >= 1.
    in_channels : int
        Input channels C, >= 1.
    size : int or tuple of int
        An int gives a square 2-D kernel ``(size, size)``; ``(k,)`` a 1-D
        kernel; ``(kh, kw)`` a 2-D one.
    distribution : {'normal', 'uniform', 'rademacher', 'orthogonal'}, default='normal'
        Entries i.i.d. N(0, 1), U(-1, 1) or +-1 with probability 1/2; or
        ``'orthogonal'``: the flattened kernels (length ``D = C * prod(size)``)
        are orthonormal when ``n_kernels <= D``, and beyond that come in
        independent blocks of ``D`` orthonormal kernels.
    normalize : bool, default=True
        Scale each kernel to unit L2 norm.
    zero_mean : bool, default=False
        Subtract each kernel's mean first (as ROCKET does), so that the
        kernels ignore the input's local brightness.  With ``'orthogonal'``
        the kernels then lose exact orthogonality.
    random_state : int, RandomState instance or None, default=None
    dtype : {float32, float64}, default=float32

    Returns
    -------
    kernels : ndarray of shape (n_kernels, in_channels, *size)
        A NumPy array; move it with :func:`featurelab.backend.asarray`.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels import random_kernels
    >>> w = random_kernels(16, 3, 5, random_state=0)
    >>> w.shape, w.dtype
    ((16, 3, 5, 5), dtype('float32'))
    >>> np.allclose(np.linalg.norm(w.reshape(16, -1), axis=1), 1)
    True
    >>> q = random_kernels(8, 1, (9,), distribution="orthogonal", random_state=0)
    >>> np.allclose(q.reshape(8, 9) @ q.reshape(8, 9).T, np.eye(8), atol=1e-6)
    True
    """
    n_kernels = check_int(n_kernels, "n_kernels", minimum=1)
    in_channels = check_int(in_channels, "in_channels", minimum=1)
    size = _kernel_size(size)
    check_option(distribution, DISTRIBUTIONS, "distribution")
    normalize = check_bool(normalize, "normalize")
    zero_mean = check_bool(zero_mean, "zero_mean")
    dtype = _check_dtype(dtype)
    rng = check_random_state(random_state)
    dim = in_channels * math.prod(size)
    if distribution == "normal":
        w = rng.standard_normal((n_kernels, dim))
    elif distribution == "uniform":
        w = rng.uniform(-1, 1, (n_kernels, dim))
    elif distribution == "rademacher":
        w = rng.choice(np.array([-1.0, 1.0]), (n_kernels, dim))
    else:
        w = _orthogonal(rng, n_kernels, dim)
    w = _normalize_rows(w, zero_mean, normalize)
    return w.reshape((n_kernels, in_channels) + size).astype(dtype)


def patch_kernels(x, n_kernels, size, *, zero_mean=True, normalize=True,
                  random_state=None, dtype=np.float32):
    """Use random patches of the data as kernels ("imprinting").

    Parameters
    ----------
    x : array of shape (n_samples, n_channels, length) or (n_samples, n_channels, height, width)
        Data to draw the patches from (NumPy or CuPy).
    n_kernels : int
        Number of kernels, >= 1 (patches are drawn with replacement).
    size : int or tuple of int
        Kernel size per spatial axis.
    zero_mean : bool, default=True
        Subtract each patch's mean, so kernels respond to structure, not
        brightness.
    normalize : bool, default=True
        Scale each kernel to unit L2 norm (flat patches are left at zero).
    random_state : int, RandomState instance or None, default=None
    dtype : {float32, float64}, default=float32

    Returns
    -------
    kernels : array of shape (n_kernels, n_channels, *size)
        On the backend of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels import patch_kernels
    >>> x = np.random.default_rng(0).random((20, 1, 8, 8))
    >>> patch_kernels(x, 10, 3, random_state=0).shape
    (10, 1, 3, 3)
    """
    n_kernels = check_int(n_kernels, "n_kernels", minimum=1)
    zero_mean = check_bool(zero_mean, "zero_mean")
    normalize = check_bool(normalize, "normalize")
    dtype = _check_dtype(dtype)
    patches = sample_patches(x, size, n_kernels, random_state=random_state)
    flat = patches.reshape(n_kernels, -1).astype(dtype)
    return _normalize_rows(flat, zero_mean, normalize).reshape(patches.shape)
