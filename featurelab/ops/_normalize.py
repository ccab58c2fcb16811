"""Local contrast normalisation (Jarrett et al. 2009)."""

import numpy as np

from .._validation import check_array, check_bool, check_positive, check_spatial
from ..backend import get_namespace
from ._conv import _conv

__all__ = ["gaussian_window", "local_contrast_normalize"]


def gaussian_window(sigma, truncate=4.0, xp=None, dtype="float64",
                    max_radius=None):
    """Return the normalised 1-D Gaussian window used for smoothing.

    The window has radius ``int(truncate * sigma + 0.5)`` (as
    ``scipy.ndimage.gaussian_filter``), capped at ``max_radius``, and sums
    to 1.

    Parameters
    ----------
    sigma, truncate : float
        Finite and > 0.
    xp : module, optional
        Array namespace (NumPy by default).
    dtype : dtype, default='float64'
    max_radius : int, optional
        Cap on the radius.  Smoothing an input of size ``n`` with zero
        padding never reaches taps further than ``n - 1`` away, so callers
        that renormalise (as :func:`local_contrast_normalize`) cap it there
        without changing the result.

    Returns
    -------
    window : array of shape (2 * radius + 1,)

    Examples
    --------
    >>> gaussian_window(1.0, truncate=1.0).round(4)
    array([0.2741, 0.4519, 0.2741])
    """
    sigma = check_positive(sigma, "sigma")
    truncate = check_positive(truncate, "truncate")
    if xp is None:
        xp = np
    radius = int(truncate * sigma + 0.5)
    if max_radius is not None:
        radius = min(radius, max_radius)
    t = xp.arange(-radius, radius + 1, dtype=dtype)
    w = xp.exp(-0.5 * (t / sigma) ** 2)
    return w / w.sum()


def _smooth(xp, x, window):
    """Separable zero-padded Gaussian smoothing of (N, 1, *spatial) maps."""
    n_spatial = x.ndim - 2
    radius = (window.shape[0] - 1) // 2
    for axis in range(n_spatial):
        shape = [1] * n_spatial
        shape[axis] = window.shape[0]
        kernel = window.reshape((1, 1) + tuple(shape))
        pads = tuple((radius, radius) if a == axis else (0, 0) for a in range(n_spatial))
        x = _conv(xp, x, kernel, (1,) * n_spatial, pads, (1,) * n_spatial,
                  None, False, 1, 2**29)
    return x


def local_contrast_normalize(x, sigma=1.0, *, truncate=4.0, divisive=True,
                             eps=1e-6):
    """Subtractive and divisive local contrast normalisation.

    With ``G`` a Gaussian window of width ``sigma`` over the spatial axes
    and channel mean ``<.>_c``, for each sample:

    * subtractive step: ``v = x - G * <x>_c / (G * 1)``
    * divisive step: ``s = sqrt(G * <v ** 2>_c / (G * 1))`` and
      ``y = v / max(s, c)`` with ``c = max(mean(s), eps)``, the mean of
      ``s`` over the positions of that sample.

    ``*`` is zero-padded convolution; dividing by ``G * 1`` (the window mass
    inside the input) makes the border estimates proper weighted means, so
    a constant input maps to 0 everywhere.  This is the normalisation of
    Jarrett et al. (2009), with the weights spread uniformly over channels.

    Parameters
    ----------
    x : array of shape (n_samples, n_channels, length) or (n_samples, n_channels, height, width)
    sigma : float, default=1.0
        Standard deviation of the Gaussian window, in samples (finite, > 0).
    truncate : float, default=4.0
        The window extends ``int(truncate * sigma + 0.5)`` samples on each
        side (``sigma=1`` gives a 9-wide window); taps beyond the input size
        are dropped, which changes nothing since they only meet padding.
    divisive : bool, default=True
        False stops after the subtractive step.
    eps : float, default=1e-6
        Floor of the divisor (finite, > 0), so that flat regions are not
        amplified to infinity.

    Returns
    -------
    y : array of the same shape and dtype as ``x``
        A NaN in a sample makes that whole sample NaN (the per-sample
        centring, see the code, touches every position).

    References
    ----------
    .. [1] K. Jarrett, K. Kavukcuoglu, M. Ranzato and Y. LeCun, "What is the
       best multi-stage architecture for object recognition?", ICCV 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import local_contrast_normalize
    >>> x = np.full((1, 2, 5, 5), 3.0)
    >>> float(np.abs(local_contrast_normalize(x)).max())  # flat input -> 0
    0.0
    >>> y = local_contrast_normalize(np.random.default_rng(0).random((2, 3, 16, 16)))
    >>> y.shape
    (2, 3, 16, 16)
    """
    xp = get_namespace(x)
    x = check_array(x, "x", (3, 4), "(n_samples, n_channels, length) or "
                    "(n_samples, n_channels, height, width)")
    sigma = check_positive(sigma, "sigma")
    truncate = check_positive(truncate, "truncate")
    eps = check_positive(eps, "eps")
    divisive = check_bool(divisive, "divisive")
    check_spatial(x)
    if x.shape[0] == 0 or x.shape[1] == 0:
        return x.copy()
    window = gaussian_window(sigma, truncate, xp=xp, dtype=x.dtype,
                             max_radius=max(x.shape[2:]) - 1)
    spatial = tuple(range(2, x.ndim))
    # Removing each sample's global mean first changes nothing in exact
    # arithmetic (the local means are weighted means), but keeps the rounding
    # error relative to the local variations, not to the level of x: a
    # constant input then gives exact zeros instead of amplified noise.
    x = x - x.mean(axis=(1,) + spatial, keepdims=True)
    mass = _smooth(xp, xp.ones((1, 1) + x.shape[2:], dtype=x.dtype), window)
    v = x - _smooth(xp, x.mean(axis=1, keepdims=True), window) / mass
    if not divisive:
        return v
    s = xp.sqrt(_smooth(xp, (v * v).mean(axis=1, keepdims=True), window) / mass)
    floor = xp.maximum(s.mean(axis=spatial, keepdims=True), eps)
    return v / xp.maximum(s, floor)
