"""Input transforms of the ROCKET family: first differences, standardisation."""

from .._validation import check_array, check_int, check_positive
from ..backend import get_namespace

__all__ = ["difference", "standardize"]

_LAYOUT = "(n_samples, n_channels, *spatial)"


def difference(x, order=1):
    """Differences along the last axis: ``x[..., 1:] - x[..., :-1]``, ``order``
    times (MultiRocket's second representation of a series).

    Parameters
    ----------
    x : array of shape (n_samples, n_channels, ..., L)
        NumPy or CuPy, at least 3-D; ``L > order``.
    order : int, default=1

    Returns
    -------
    d : array of shape (n_samples, n_channels, ..., L - order)

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import difference
    >>> difference(np.array([[[1., 4., 9., 16.]]]))
    array([[[3., 5., 7.]]])
    >>> difference(np.array([[[1., 4., 9., 16.]]]), order=2)
    array([[[2., 2.]]])
    """
    x = check_array(x, "x", range(3, 33), _LAYOUT)
    order = check_int(order, "order", minimum=1)
    if x.shape[-1] <= order:
        raise ValueError(f"x must be longer than order={order} along its last axis, "
                         f"got shape {tuple(x.shape)}.")
    for _ in range(order):
        x = x[..., 1:] - x[..., :-1]
    return x


def standardize(x, epsilon=1e-8):
    """Each sample and channel to zero mean and unit standard deviation over
    its spatial axes: ``(x - mean) / (std + epsilon)`` (what ROCKET does to
    every series first).

    Parameters
    ----------
    x : array of shape (n_samples, n_channels, *spatial)
        NumPy or CuPy.
    epsilon : float, default=1e-8
        Added to the standard deviation (constant series become zeros).

    Returns
    -------
    z : array of the shape and dtype of ``x``

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.ops import standardize
    >>> z = standardize(np.array([[[1., 2., 3., 4.]]]))
    >>> z.round(3)
    array([[[-1.342, -0.447,  0.447,  1.342]]])
    """
    x = check_array(x, "x", range(3, 33), _LAYOUT)
    epsilon = check_positive(epsilon, "epsilon")
    xp = get_namespace(x)
    axes = tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    std = xp.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True))
    return ((x - mean) / (std + epsilon)).astype(x.dtype, copy=False)
