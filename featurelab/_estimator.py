"""Input handling shared by featurelab's scikit-learn estimators (private).

NumPy input goes through scikit-learn's own ``validate_data`` (so error
messages, ``n_features_in_`` and feature names behave as every sklearn user
expects); CuPy input gets the equivalent checks without leaving the device.
Convolutional estimators see 2-D ``X`` of shape ``(n_samples, n_features)``
plus an ``input_shape`` such as ``(C, H, W)``, or an N-d batch directly.
"""

import math

import numpy as np
from sklearn.utils.validation import validate_data

from ._validation import check_array
from .backend import get_namespace, is_cupy_array

__all__ = ["is_sample_list", "to_batch", "validate_X"]


def _backend_name(x):
    return "CuPy" if is_cupy_array(x) else "NumPy"


def is_sample_list(X, ndims=None):
    """Whether ``X`` is a non-empty list (or tuple) of array samples, each
    with a number of axes in ``ndims`` (default: at least 2), rather than
    array-like rows; samples of different sizes are passed as such lists."""
    def fits(ndim):
        return ndim >= 2 if ndims is None else ndim in ndims

    return (isinstance(X, (list, tuple)) and len(X) > 0
            and all(fits(getattr(x, "ndim", 0)) for x in X))


def validate_X(estimator, X, *, reset, fitted_on=None):
    """Validate 2-D ``X`` for ``estimator``; keep float32/float64.

    Parameters
    ----------
    estimator : BaseEstimator
    X : array-like of shape (n_samples, n_features)
    reset : bool
        True in ``fit`` (sets ``n_features_in_``), False afterwards (checks
        it).
    fitted_on : array, optional
        A fitted attribute; ``X`` must live on the same backend.
    """
    if fitted_on is not None and is_cupy_array(X) != is_cupy_array(fitted_on):
        raise TypeError(
            f"X is a {_backend_name(X)} array but {type(estimator).__name__} "
            f"was fitted on {_backend_name(fitted_on)} arrays; move X with "
            f"featurelab.backend.asarray(X, backend="
            f"'{_backend_name(fitted_on).lower()}')."
        )
    if not is_cupy_array(X):
        return validate_data(estimator, X, reset=reset,
                             dtype=[np.float64, np.float32])
    xp = get_namespace(X)
    X = check_array(X, "X", 2, "(n_samples, n_features)")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"Found array with shape {tuple(X.shape)}; at least "
                         "one sample and one feature are required.")
    if not bool(xp.isfinite(X).all()):
        raise ValueError("Input X contains NaN or infinity.")
    if reset:
        estimator.n_features_in_ = X.shape[1]
    elif X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
            f"expecting {estimator.n_features_in_} features as input."
        )
    return X


def to_batch(estimator, X, *, reset, fitted_on=None):
    """Validate ``X`` and reshape it to a channels-first batch.

    ``X`` is either an N-d batch ``(n_samples, C, L)`` / ``(n_samples, C, H,
    W)``, or 2-D with ``estimator.input_shape`` giving ``(C, L)`` or ``(C, H,
    W)``.  A 3-D ``X`` is ``(n_samples, C, L)``, unless ``input_shape`` is
    ``(1, H, W)``: then it is ``(n_samples, H, W)``, one-channel images.
    With neither, each row is a one-channel signal ``(1, n_features)``.
    ``fit`` (``reset=True``) stores ``input_shape_``.
    """
    shape = getattr(X, "shape", None)
    nd_shape = None
    if shape is not None and len(shape) in (3, 4):
        nd_shape = tuple(int(s) for s in shape[1:])
        X = X.reshape(shape[0], -1)
    X = validate_X(estimator, X, reset=reset, fitted_on=fitted_on)
    if reset:
        requested = estimator.input_shape
        if requested is not None:
            requested = tuple(int(s) for s in requested)
            if len(requested) not in (2, 3) or math.prod(requested) != X.shape[1]:
                raise ValueError(
                    "input_shape must be (n_channels, length) or (n_channels, "
                    f"height, width) with prod(input_shape) == n_features "
                    f"({X.shape[1]}), got input_shape={estimator.input_shape!r}."
                )
            if nd_shape is not None and (1,) + nd_shape == requested:
                nd_shape = requested  # (n_samples, H, W) of one-channel images
            if nd_shape is not None and nd_shape != requested:
                raise ValueError(
                    f"input_shape={requested} disagrees with the shape of X, "
                    f"{(X.shape[0],) + nd_shape}."
                )
        estimator.input_shape_ = requested or nd_shape or (1, X.shape[1])
    elif nd_shape is not None and (1,) + nd_shape == estimator.input_shape_:
        nd_shape = estimator.input_shape_
    if not reset and nd_shape is not None and nd_shape != estimator.input_shape_:
        raise ValueError(
            f"X has samples of shape {nd_shape}, but {type(estimator).__name__} "
            f"was fitted on samples of shape {estimator.input_shape_}."
        )
    return X.reshape((X.shape[0],) + estimator.input_shape_)
