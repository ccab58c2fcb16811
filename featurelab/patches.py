"""Patches of signals and images: window views, random samples, preprocessing.

The patches of a batch are the windows a convolution kernel sees, so a kernel
learned from patches (k-means, PCA) or copied from them (imprinting) can be
applied with :func:`featurelab.ops.conv2d`.  Window views cost no memory;
copies are made only where asked for (a 2-D matrix of patches, or a random
sample of them).
"""

import math

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._estimator import validate_X
from ._validation import (
    as_tuple,
    check_array,
    check_bool,
    check_int,
    check_positive,
    check_spatial,
)
from .backend import get_namespace

__all__ = ["ZCAWhitener", "extract_patches", "normalize_patches", "sample_patches"]

_LAYOUT = ("(n_samples, n_channels, length) or "
           "(n_samples, n_channels, height, width)")


def _check_batch(x, size, name="size"):
    """Validate a batch and a patch size; return (xp, x, size)."""
    xp = get_namespace(x)
    x = check_array(x, "x", (3, 4), _LAYOUT)
    check_spatial(x)
    n_spatial = x.ndim - 2
    size = as_tuple(size, n_spatial, name)
    if any(k > n for k, n in zip(size, x.shape[2:])):
        raise ValueError(
            f"{name} must fit in the input on every axis, got {name}={size} "
            f"for input of spatial shape {tuple(x.shape[2:])}."
        )
    return xp, x, size


def _window_view(xp, x, size, stride):
    """Read-only view of shape (N, *positions, C, *size); no copy."""
    n_spatial = x.ndim - 2
    positions = tuple((n - k) // s + 1
                      for n, k, s in zip(x.shape[2:], size, stride))
    shape = (x.shape[0],) + positions + (x.shape[1],) + tuple(size)
    strides = ((x.strides[0],)
               + tuple(st * s for st, s in zip(x.strides[2:], stride))
               + (x.strides[1],) + tuple(x.strides[2:]))
    assert len(strides) == 2 * n_spatial + 2
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


def extract_patches(x, size, *, stride=1, as_matrix=False):
    """All windows of ``size`` in a batch, as a view or as a matrix.

    Parameters
    ----------
    x : array of shape (n_samples, n_channels, length) or (n_samples, n_channels, height, width)
    size : int or tuple of int
        Patch size per spatial axis.
    stride : int or tuple of int, default=1
        Step between patches.
    as_matrix : bool, default=False
        False returns a read-only window view (no memory); True returns a
        copy of shape ``(n_patches, n_channels * prod(size))``, one row per
        patch, in the flattening order of a kernel ``(C, *size)``.

    Returns
    -------
    patches : array of shape (n_samples, *positions, n_channels, *size)
        or (n_samples * prod(positions), n_channels * prod(size))

    Notes
    -----
    The matrix form takes ``prod(size)`` times the memory of ``x`` (for
    stride 1); use :func:`sample_patches` when a random subset is enough.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.patches import extract_patches
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> extract_patches(x, 2).shape          # (N, rows, cols, C, kh, kw)
    (1, 3, 3, 1, 2, 2)
    >>> extract_patches(x, 2, stride=2, as_matrix=True)
    array([[ 0.,  1.,  4.,  5.],
           [ 2.,  3.,  6.,  7.],
           [ 8.,  9., 12., 13.],
           [10., 11., 14., 15.]])
    """
    xp, x, size = _check_batch(x, size)
    stride = as_tuple(stride, x.ndim - 2, "stride")
    as_matrix = check_bool(as_matrix, "as_matrix")
    view = _window_view(xp, x, size, stride)
    if not as_matrix:
        return view
    # an explicit copy: a reshape alone may return a read-only alias of x
    return view.copy().reshape(-1, x.shape[1] * math.prod(size))


def sample_patches(x, size, n_patches, *, random_state=None):
    """Draw patches uniformly over samples and positions.

    Each patch picks a sample and a position independently and uniformly
    (with replacement, so ``n_patches`` may exceed the number of distinct
    patches); only the drawn patches are copied, so memory does not grow
    with the size of ``x``.

    Parameters
    ----------
    x : array of shape (n_samples, n_channels, length) or (n_samples, n_channels, height, width)
    size : int or tuple of int
    n_patches : int
        Number of patches, >= 1.
    random_state : int, RandomState instance or None, default=None
        Random numbers are drawn on the host (NumPy), so a seed gives the
        same patches on NumPy and CuPy.

    Returns
    -------
    patches : array of shape (n_patches, n_channels, *size)
        Same backend and dtype as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.patches import sample_patches
    >>> x = np.random.default_rng(0).random((10, 3, 32, 32))
    >>> sample_patches(x, (6, 6), 1000, random_state=0).shape
    (1000, 3, 6, 6)
    """
    xp, x, size = _check_batch(x, size)
    n_patches = check_int(n_patches, "n_patches", minimum=1)
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one sample to draw patches from, "
                         f"got shape {tuple(x.shape)}.")
    rng = check_random_state(random_state)
    view = _window_view(xp, x, size, (1,) * (x.ndim - 2))
    n_positions = view.shape[1:x.ndim - 1]
    index = [rng.randint(0, x.shape[0], n_patches)]
    index += [rng.randint(0, n, n_patches) for n in n_positions]
    return view[tuple(xp.asarray(i) for i in index)]


def normalize_patches(patches, *, epsilon=10.0):
    """Per-patch brightness and contrast normalisation (Coates et al. 2011).

    Each patch (a row, or a ``(C, *size)`` block) becomes
    ``(p - mean(p)) / sqrt(var(p) + epsilon)``, with the unbiased variance
    (``ddof=1``, as MATLAB's ``var`` in the authors' code).

    Parameters
    ----------
    patches : array of shape (n_patches, ...)
    epsilon : float, default=10.0
        Regulariser of the contrast; 10 suits 0-255 pixel values (scale it
        by ``(range / 255) ** 2`` for other ranges).  It keeps flat patches
        finite: they map to zeros.

    Returns
    -------
    normalized : array of the same shape and dtype

    References
    ----------
    .. [1] A. Coates, H. Lee and A. Y. Ng, "An analysis of single-layer
       networks in unsupervised feature learning", AISTATS 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.patches import normalize_patches
    >>> p = np.array([[0., 10., 20.], [5., 5., 5.]])
    >>> normalize_patches(p, epsilon=0.0001).round(3)
    array([[-1.,  0.,  1.],
           [ 0.,  0.,  0.]])
    """
    xp = get_namespace(patches)
    patches = check_array(patches, "patches", range(2, 33), "(n_patches, ...)")
    epsilon = check_positive(epsilon, "epsilon")
    flat = patches.reshape(patches.shape[0], -1)
    if flat.shape[1] < 2:
        raise ValueError("patches must hold at least 2 values each to have a "
                         f"variance, got shape {tuple(patches.shape)}.")
    centred = flat - flat.mean(axis=1, keepdims=True)
    var = (centred * centred).sum(axis=1, keepdims=True) / (flat.shape[1] - 1)
    return (centred / xp.sqrt(var + epsilon)).reshape(patches.shape)


class ZCAWhitener(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """ZCA whitening of patch vectors, with eigenvalue regularisation.

    With ``C = U diag(lam) U^T`` the covariance of the training rows, the
    transform is ``(X - mean_) @ W`` with ``W = U diag(1 / sqrt(lam + epsilon))
    U^T``: the whitened data has (nearly) identity covariance and stays as
    close as possible to the input (a symmetric "zero-phase" whitening), so
    whitened image patches still look like patches, with edges enhanced.

    Works on NumPy and CuPy arrays (the backend of ``fit``'s data; transform
    needs data on the same backend).

    Parameters
    ----------
    epsilon : float, default=0.1
        Added to every eigenvalue before the inverse square root: it damps
        the directions of tiny variance (noise) and keeps constant data
        finite.  0.1 is Coates et al.'s value for normalised 0-255 patches.

    Attributes
    ----------
    mean_ : array of shape (n_features,)
    whitening_ : array of shape (n_features, n_features)
        ``W`` above (symmetric).
    coloring_ : array of shape (n_features, n_features)
        ``U diag(sqrt(lam + epsilon)) U^T``, the inverse of ``whitening_``.
    eigenvalues_ : array of shape (n_features,)
        Covariance eigenvalues, ascending.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.patches import ZCAWhitener
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((5000, 3)) @ np.array([[2., 0, 0], [1, 1, 0], [0, 0, .5]])
    >>> Z = ZCAWhitener(epsilon=1e-6).fit_transform(X)
    >>> np.round(np.cov(Z, rowvar=False), 2) + 0.0
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def fit(self, X, y=None):
        """Estimate the mean and the whitening matrix of ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : ZCAWhitener
        """
        X = validate_X(self, X, reset=True)
        epsilon = check_positive(self.epsilon, "epsilon")
        xp = get_namespace(X)
        n_samples = X.shape[0]
        self.mean_ = X.mean(axis=0)
        centred = X - self.mean_
        cov = (centred.T @ centred).astype(xp.float64) / max(n_samples - 1, 1)
        # float64 eigh: NumPy's float32 eigh is no faster, and SciPy's float32
        # one, 1.9x faster alone on 1600 x 1600, ran up to 40x slower on small
        # matrices between NumPy GEMMs (its own BLAS threads contend with
        # NumPy's): measured in the default screen, 45.3 s against 37.8 s
        eigenvalues, vectors = xp.linalg.eigh(cov)
        eigenvalues = xp.maximum(eigenvalues, 0)  # round-off below zero
        scale = 1 / xp.sqrt(eigenvalues + epsilon)
        # the products in X's dtype (float32: twice as fast; equal to the
        # float64 ones within 1.2e-6 of their largest entry on patch
        # covariances, 1.3e-5 on a badly conditioned one)
        vectors, scale = vectors.astype(X.dtype), scale.astype(X.dtype)
        self.whitening_ = (vectors * scale) @ vectors.T
        self.coloring_ = (vectors / scale) @ vectors.T
        self.eigenvalues_ = eigenvalues.astype(X.dtype)
        return self

    def transform(self, X):
        """Whiten ``X``: ``(X - mean_) @ whitening_``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        X_white : array of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = validate_X(self, X, reset=False, fitted_on=self.mean_)
        return (X - self.mean_.astype(X.dtype)) @ self.whitening_.astype(X.dtype)

    def inverse_transform(self, X):
        """Undo the whitening: ``X @ coloring_ + mean_``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        X_original : array of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = validate_X(self, X, reset=False, fitted_on=self.mean_)
        return X @ self.coloring_.astype(X.dtype) + self.mean_.astype(X.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
