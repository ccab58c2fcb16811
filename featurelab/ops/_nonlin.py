"""Pointwise nonlinearities applied between convolution and pooling.

Each takes an array of any shape (``split_sign`` needs a channel axis 1) and
returns a new array of the same backend and dtype.  :func:`get_nonlinearity`
maps the names used in layer specifications to these functions.
"""

import numbers

import numpy as np

from .._validation import check_array
from ..backend import get_namespace

__all__ = [
    "NONLINEARITIES",
    "abs",
    "get_nonlinearity",
    "identity",
    "relu",
    "sigmoid",
    "soft_threshold",
    "split_sign",
    "tanh",
]

_ANY = range(0, 65)


def _prepare(x):
    return get_namespace(x), check_array(x, "x", _ANY, "(...)")


def identity(x):
    """Return a copy of ``x`` (cast to float as every op does).

    Examples
    --------
    >>> import numpy as np
    >>> identity(np.array([-1, 2]))
    array([-1.,  2.])
    """
    xp, x = _prepare(x)
    return x.copy()


def relu(x):
    """Rectified linear unit, ``max(x, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> relu(np.array([-1.0, 0.5]))
    array([0. , 0.5])
    """
    xp, x = _prepare(x)
    return xp.maximum(x, 0)


def abs(x):  # noqa: A001 - the field's name for full-wave rectification
    """Absolute value (full-wave rectification), ``|x|``.

    Jarrett et al. (2009) found rectification by ``|x|`` to matter most in
    random-filter networks: it makes features invariant to the sign
    (polarity) of the filter response.

    Examples
    --------
    >>> import numpy as np
    >>> abs(np.array([-1.0, 0.5]))
    array([1. , 0.5])
    """
    xp, x = _prepare(x)
    return xp.abs(x)


def tanh(x):
    """Hyperbolic tangent.

    Examples
    --------
    >>> import numpy as np
    >>> tanh(np.array([0.0]))
    array([0.])
    """
    xp, x = _prepare(x)
    return xp.tanh(x)


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, computed as
    ``(1 + tanh(x / 2)) / 2`` so that it never overflows.

    Examples
    --------
    >>> import numpy as np
    >>> sigmoid(np.array([0.0, -1000.0, 1000.0]))
    array([0.5, 0. , 1. ])
    """
    xp, x = _prepare(x)
    y = xp.tanh(x * 0.5)
    y += 1
    y *= 0.5
    return y


def soft_threshold(x, alpha=0.25):
    """Soft thresholding (shrinkage), ``sign(x) * max(|x| - alpha, 0)``.

    Parameters
    ----------
    x : array
    alpha : float, default=0.25
        Threshold, >= 0.  Responses smaller than ``alpha`` in magnitude
        become 0; the others move ``alpha`` towards 0.

    Examples
    --------
    >>> import numpy as np
    >>> soft_threshold(np.array([-1.0, 0.1, 0.5]), alpha=0.25)
    array([-0.75,  0.  ,  0.25])
    """
    xp, x = _prepare(x)
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise TypeError(
            f"alpha must be a real number >= 0, got {type(alpha).__name__} "
            f"{alpha!r}."
        )
    if not alpha >= 0:
        raise ValueError(f"alpha must be a real number >= 0, got {alpha!r}.")
    # A Python float keeps float32 input float32 (a NumPy float64 would not).
    return xp.sign(x) * xp.maximum(xp.abs(x) - float(alpha), 0)


def split_sign(x):
    """Split responses by sign: concatenate ``relu(x)`` and ``relu(-x)``
    along the channel axis (axis 1), doubling the channels.

    Unlike ``abs``, this keeps the polarity of each response in separate
    channels (Coates & Ng 2011 use it as the encoder's output).

    Parameters
    ----------
    x : array of shape (n_samples, n_channels, ...)

    Returns
    -------
    y : array of shape (n_samples, 2 * n_channels, ...)

    Examples
    --------
    >>> import numpy as np
    >>> split_sign(np.array([[-1.0, 2.0]]))
    array([[0., 2., 1., 0.]])
    """
    xp = get_namespace(x)
    x = check_array(x, "x", range(2, 65), "(n_samples, n_channels, ...)")
    return xp.concatenate([xp.maximum(x, 0), xp.maximum(-x, 0)], axis=1)


#: Name -> function, as used by layer specifications.
NONLINEARITIES = {
    "identity": identity,
    "relu": relu,
    "abs": abs,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "soft_threshold": soft_threshold,
    "split_sign": split_sign,
}


def get_nonlinearity(name):
    """Return the nonlinearity called ``name`` (or ``name`` if callable).

    Parameters
    ----------
    name : str or callable
        One of the keys of :data:`NONLINEARITIES`.

    Examples
    --------
    >>> get_nonlinearity("relu").__name__
    'relu'
    """
    if callable(name):
        return name
    if not isinstance(name, str) or name not in NONLINEARITIES:
        raise ValueError(
            f"nonlinearity must be one of {sorted(NONLINEARITIES)} or a "
            f"callable, got {name!r}."
        )
    return NONLINEARITIES[name]
