"""Layers: one stage of a feature network each.

A :class:`ConvLayer` is kernels -> convolution -> nonlinearity -> pooling ->
normalisation; its ``fit`` draws or learns the kernels from its own input
(greedy layer-wise pretraining, no labels).  :class:`PoolLayer` pools and
:class:`FunctionLayer` applies any array function.  Layers work on
channels-first batches ``(n_samples, C, L)`` or ``(n_samples, C, H, W)``
(NumPy or CuPy) and are meant to be stacked in a
:class:`featurelab.network.FeatureNetwork`, which turns them into one
scikit-learn transformer.
"""

import dataclasses
import inspect
import math

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._validation import (
    as_tuple,
    check_array,
    check_bool,
    check_int,
    check_option,
    check_positive,
    check_spatial,
    window_geometry,
)
from .backend import asarray, get_namespace, is_cupy_array, parse_memory
from .kernels import (
    edge_kernels,
    gabor_bank,
    minirocket_bank,
    random_kernels,
    rocket_bank,
)
from .kernels._learned import _patch_stats, cluster_patches, pca_components
from .kernels._random import _normalize_rows
from .kernels._rocket import MINIROCKET_KERNELS
from .ops import (
    POOL_MODES,
    channel_pool,
    get_nonlinearity,
    local_contrast_normalize,
    pool1d,
    pool2d,
)
from .ops._conv import _conv, _conv_channels_last
from .ops._local import _locally_connected, _tiled_conv
from .ops._pool import _global_positive
from .patches import ZCAWhitener, normalize_patches, sample_patches

__all__ = ["BankLayer", "ChannelPoolLayer", "ConvLayer", "FunctionLayer", "PoolLayer"]

KERNEL_SOURCES = ("random", "gabor", "edges", "kmeans", "pca", "patches")
NONLINEARITIES = ("relu", "abs", "tanh", "sigmoid", "triangle", "soft_threshold",
                  "split_sign", "identity")
NORMALIZATIONS = ("lcn", "patch")
SHARING = ("shared", "tiled", "local")
_DATA_SOURCES = ("kmeans", "pca", "patches")
_POOL = {1: pool1d, 2: pool2d}
_LAYOUT = "(n_samples, n_channels, length) or (n_samples, n_channels, height, width)"


def _gabor_per_orientation(kernel_params):
    """Kernels per orientation of a Gabor bank: frequencies x phases, with
    :func:`featurelab.kernels.gabor_bank`'s defaults where not given."""
    defaults = inspect.signature(gabor_bank).parameters
    return math.prod(len(kernel_params.get(name, defaults[name].default))
                     for name in ("frequencies", "phases"))


def _check_batch(x, name="X"):
    x = check_array(x, name, (3, 4), _LAYOUT)
    check_spatial(x, name)
    return x


def _check_pool(pool, n_spatial):
    """Normalise ``pool`` to ``None`` or ``(mode, size, stride, padding)``."""
    if pool is None:
        return None
    if isinstance(pool, dict):
        unknown = set(pool) - {"mode", "size", "stride", "padding"}
        if unknown:
            raise ValueError(
                f"pool dict keys must be among 'mode', 'size', 'stride', "
                f"'padding', got unknown {sorted(unknown)}."
            )
        if "size" not in pool:
            raise ValueError(f"pool dict needs a 'size', got {pool!r}.")
        mode, size = pool.get("mode", "max"), pool["size"]
        stride, padding = pool.get("stride"), pool.get("padding", 0)
    elif isinstance(pool, (tuple, list)) and len(pool) == 2 and isinstance(pool[0], str):
        (mode, size), stride, padding = pool, None, 0
    else:
        raise TypeError(
            "pool must be None, a (mode, size) pair such as ('max', 2), or a "
            f"dict(mode=..., size=..., stride=..., padding=...), got {pool!r}."
        )
    check_option(mode, POOL_MODES, "pool mode")
    size = as_tuple(size, n_spatial, "pool size")
    stride = size if stride is None else as_tuple(stride, n_spatial, "pool stride")
    padding = as_tuple(padding, n_spatial, "pool padding", minimum=0)
    if any(p >= k for p, k in zip(padding, size)):
        raise ValueError(
            f"pool padding must be smaller than the pool size on every axis (each "
            f"window must hold an input value), got padding={padding} for "
            f"size={size}."
        )
    return mode, size, stride, padding


def _pool_shape(spatial, size, stride, padding, name):
    out = tuple((n + 2 * p - k) // s + 1
                for n, k, s, p in zip(spatial, size, stride, padding))
    if min(out) < 1:
        raise ValueError(
            f"{name}: pooling windows of size {size} do not fit in feature "
            f"maps of spatial shape {tuple(spatial)}."
        )
    return out


class _Layer(TransformerMixin, BaseEstimator):
    """Common input checks and shape bookkeeping."""

    def _check_fit_input(self, X):
        """Check ``X`` and forget any previous fit (a fit that fails on a
        parameter leaves the layer unfitted)."""
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, name)
        return _check_batch(X)

    def _check_transform_input(self, X):
        check_is_fitted(self)
        X = _check_batch(X)
        fitted_on = getattr(self, "kernels_", None)
        if fitted_on is not None and is_cupy_array(X) != is_cupy_array(fitted_on):
            names = {True: "CuPy", False: "NumPy"}
            raise TypeError(
                f"X is a {names[is_cupy_array(X)]} array but {type(self).__name__} "
                f"was fitted on {names[is_cupy_array(fitted_on)]} arrays; move X "
                "with featurelab.backend.asarray."
            )
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {tuple(X.shape[1:])}, but "
                f"{type(self).__name__} was fitted on samples of shape "
                f"{self.input_shape_}."
            )
        return X

    @property
    def n_params_(self):
        """Number of stored parameters (kernel weights and offsets)."""
        return 0

    def _n_params(self, input_shape):
        """Parameters the layer stores for samples of ``input_shape``."""
        return 0

    def _describe_source(self):
        return "-"

    def _work_bytes(self, input_shape, itemsize):
        """Bytes one sample needs while it goes through ``transform``."""
        return itemsize * (2 * math.prod(input_shape)
                           + 2 * math.prod(self.output_shape(input_shape)))

    def _needs_data(self):
        return False


class ConvLayer(_Layer):
    """One convolutional stage: kernels, convolution, nonlinearity, pooling,
    normalisation.

    ``fit(X)`` draws or learns ``n_kernels`` kernels from the layer's own
    input ``X`` (no labels); ``transform(X)`` maps ``(n_samples, C, ...)``
    to ``(n_samples, K, ...)`` feature maps.  The convolution is a
    cross-correlation, as in deep-learning libraries.

    Preprocessing of the receptive fields is folded into the kernels, so
    ``transform`` is always convolutions of the raw input:

    * ``normalize='patch'`` normalises every receptive field (subtract its
      mean, divide by ``sqrt(var + epsilon)``; Coates et al. 2011) before
      the kernels see it; ``epsilon = norm_epsilon * mean patch variance``
      of the patches seen in ``fit``, so the setting does not depend on the
      input's scale.
    * ``whiten=True`` ZCA-whitens the (normalised) receptive fields with a
      whitening ``W`` and mean ``mu`` estimated in ``fit``; kernels ``c``
      defined in the whitened space are applied as ``W c`` with offset
      ``-mu . W c``.  Learned kernels are learned on whitened patches.

    Parameters
    ----------
    n_kernels : int, optional
        Number of kernels K.  Default (None): 64, or the whole bank for
        ``'gabor'`` (48 kernels: 8 orientations x 3 frequencies x 2 phases)
        and ``'edges'`` (4 directions).  For ``'gabor'`` it must be a
        multiple of ``len(frequencies) * len(phases)``; for ``'edges'`` it
        sets that many directions, evenly spread over 180 degrees.
    size : int or tuple of int, default=5
        Kernel size per spatial axis (an int: the same on every axis).
        Ignored for an array of kernels; ``'edges'`` kernels are 3 wide.
    kernels : str, array or callable, default='random'
        Where the kernels come from:

        * ``'random'``: :func:`featurelab.kernels.random_kernels`
          (unit-norm Gaussian by default);
        * ``'gabor'``: :func:`featurelab.kernels.gabor_bank` (2-D only);
        * ``'edges'``: :func:`featurelab.kernels.edge_kernels` (2-D only);
        * ``'kmeans'``: k-means centroids of the (preprocessed) patches;
        * ``'pca'``: their principal components (PCANet);
        * ``'patches'``: random patches, zero-mean and unit-norm;
        * an array ``(K, C, *size)``: these kernels (K and size from it);
        * a callable ``f(n_kernels, in_channels, size, random_state)``
          returning such an array.
    stride, padding, dilation
        Of the convolution, as :func:`featurelab.ops.conv2d`.
    sharing : {'shared', 'tiled', 'local'}, default='shared'
        How output positions share kernels.  ``'shared'``: one bank of
        ``n_kernels`` kernels everywhere (a convolution).  ``'tiled'``:
        ``prod(tile)`` banks, position ``(i, j)`` using bank ``(i mod t_h,
        j mod t_w)`` (tiled convolution, Le et al. 2010;
        :func:`featurelab.ops.tiled_conv2d`).  ``'local'``: one bank per
        output position, no sharing (a locally connected layer;
        :func:`featurelab.ops.locally_connected2d`).  The banks are one
        draw (or one k-means / PCA fit) of ``n_banks * n_kernels`` kernels
        from the source, split bank by bank, so the source must be able to
        make more than one bank: ``'random'``, ``'kmeans'``, ``'pca'``,
        ``'patches'`` or a callable.  Preprocessing and nonlinearities work
        as for ``'shared'``.
    tile : int or tuple of int, default=2
        Banks per axis for ``sharing='tiled'`` (at most the convolution's
        output size on each axis; positions wrap modulo the tile, so it
        need not divide the output).  Ignored otherwise.
    nonlinearity : str, callable or None, default='relu'
        ``'relu'``, ``'abs'``, ``'tanh'``, ``'sigmoid'``,
        ``'soft_threshold'``, ``'split_sign'`` (doubles the channels:
        ``relu(x)`` then ``relu(-x)``), ``'triangle'``, a callable on
        arrays, or None (identity).  ``'triangle'`` is Coates' encoding
        ``max(0, mean_j z_j - z_k)`` with ``z_k`` the Euclidean distance
        between the (preprocessed) receptive field and kernel ``k`` in the
        kernels' space.
    pool : None, (mode, size) or dict, default=None
        Pooling after the nonlinearity: ``('max', 2)`` or
        ``dict(mode='avg', size=3, stride=2, padding=1)``; the stride
        defaults to the size.  Modes: ``'max'``, ``'avg'``, ``'sum'``,
        ``'l2'``.
    normalize : {None, 'lcn', 'patch'}, default=None
        ``'patch'``: per receptive field, before the kernels (see above);
        ``'lcn'``: local contrast normalisation of the output maps
        (:func:`featurelab.ops.local_contrast_normalize`, Jarrett et al.
        2009), the last step of the stage.
    whiten : bool, default=False
        ZCA-whiten the receptive fields (see above).
    n_patches : int, default=10_000
        Patches sampled from the input in ``fit`` when the kernels or the
        preprocessing need data.
    norm_epsilon : float, default=0.01
        Contrast regulariser of ``normalize='patch'``, relative to the mean
        patch variance.
    whiten_epsilon : float, default=0.1
        Eigenvalue regulariser of the whitening, relative to the mean
        eigenvalue (the mean variance of a patch entry).
    kernel_params : dict, optional
        Extra keyword arguments of the kernel source: e.g.
        ``distribution`` for ``'random'``; ``frequencies``, ``phases``,
        ``bandwidth`` for ``'gabor'``; ``kind`` for ``'edges'``;
        ``max_iter``, ``spherical``, ``solver`` for ``'kmeans'``.
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    kernels_ : array of shape (*banks, K, C, *size)
        The kernels applied to the raw input (preprocessing folded in);
        ``banks`` is ``()`` for ``sharing='shared'``, the tile for
        ``'tiled'`` and the convolution's output grid for ``'local'``.
    offsets_ : array of shape (*banks, K)
        Added to the responses (non-zero only with ``whiten=True``).
    bank_ : array of shape (n_banks * K, C * prod(size))
        The kernels in the space of the preprocessed receptive fields.
    whitener_ : ZCAWhitener or None
    norm_epsilon_ : float or None
        Absolute contrast regulariser of ``normalize='patch'``.
    input_shape_ : tuple of int
        ``(C, *spatial)`` of one input sample.
    output_shape_ : tuple of int
        ``(K, *spatial)`` of one output sample.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.layers import ConvLayer
    >>> x = np.random.default_rng(0).standard_normal((10, 1, 16, 16))
    >>> layer = ConvLayer(8, 3, pool=("max", 2), random_state=0).fit(x)
    >>> layer.transform(x).shape
    (10, 8, 7, 7)
    >>> layer.kernels_.shape
    (8, 1, 3, 3)
    """

    def __init__(self, n_kernels=None, size=5, *, kernels="random", stride=1,
                 padding="valid", dilation=1, sharing="shared", tile=2,
                 nonlinearity="relu", pool=None, normalize=None, whiten=False,
                 n_patches=10_000, norm_epsilon=0.01, whiten_epsilon=0.1,
                 kernel_params=None, random_state=None):
        self.n_kernels = n_kernels
        self.size = size
        self.kernels = kernels
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.sharing = sharing
        self.tile = tile
        self.nonlinearity = nonlinearity
        self.pool = pool
        self.normalize = normalize
        self.whiten = whiten
        self.n_patches = n_patches
        self.norm_epsilon = norm_epsilon
        self.whiten_epsilon = whiten_epsilon
        self.kernel_params = kernel_params
        self.random_state = random_state

    # ------------------------------------------------------------ parameters
    def _source(self):
        source = self.kernels
        if isinstance(source, str):
            return check_option(source, KERNEL_SOURCES, "kernels")
        if callable(source):
            return "callable"
        if hasattr(source, "shape") or isinstance(source, (list, tuple)):
            return "array"
        raise TypeError(
            f"kernels must be one of {sorted(KERNEL_SOURCES)}, an array of shape "
            f"(n_kernels, in_channels, *size) or a callable, got "
            f"{type(source).__name__}."
        )

    def _check_params(self, input_shape):
        """Validate every parameter for inputs of ``input_shape``; return the
        resolved settings as a dict."""
        n_spatial = len(input_shape) - 1
        source = self._source()
        if source in ("gabor", "edges") and n_spatial != 2:
            raise ValueError(
                f"kernels={source!r} makes 2-D kernels; it needs image input "
                f"(n_samples, C, H, W), got samples of shape {input_shape}."
            )
        n_kernels = self.n_kernels
        if n_kernels is not None:
            n_kernels = check_int(n_kernels, "n_kernels", minimum=1)
        if source == "array":
            bank = check_array(self.kernels, "kernels", n_spatial + 2,
                               "(n_kernels, in_channels, *size)")
            if bank.shape[1] != input_shape[0] or 0 in bank.shape:
                raise ValueError(
                    f"kernels must have shape (n_kernels, {input_shape[0]}, "
                    f"*size) for input with {input_shape[0]} channels, got "
                    f"{tuple(bank.shape)}."
                )
            size = tuple(int(k) for k in bank.shape[2:])
        elif source == "edges":
            size = (3, 3)
        else:
            size = as_tuple(self.size, n_spatial, "size")
        stride, dilation, pads, conv_out = window_geometry(
            input_shape[1:], size, self.stride, self.padding, self.dilation,
            what="size: kernels")
        sharing = check_option(self.sharing, SHARING, "sharing")
        banks = ()
        if sharing == "tiled":
            banks = as_tuple(self.tile, n_spatial, "tile")
            if any(t > o for t, o in zip(banks, conv_out)):
                raise ValueError(
                    f"tile must be at most the convolution's output size {conv_out} "
                    f"on every axis, got tile={banks}."
                )
        elif sharing == "local":
            banks = conv_out
        if banks and source in ("gabor", "edges", "array"):
            raise ValueError(
                f"sharing={sharing!r} needs a kernel source that can make one bank "
                f"per {'tile' if sharing == 'tiled' else 'position'} "
                f"('random', 'kmeans', 'pca', 'patches' or a callable), got "
                f"kernels={source!r}: every bank would be the same."
            )
        nonlin = self.nonlinearity
        if nonlin is None:
            nonlin = "identity"
        if not callable(nonlin):
            check_option(nonlin, NONLINEARITIES, "nonlinearity")
        if self.normalize is not None:
            check_option(self.normalize, NORMALIZATIONS, "normalize")
        whiten = check_bool(self.whiten, "whiten")
        patch_norm = self.normalize == "patch"
        dim = input_shape[0] * math.prod(size)
        if patch_norm and dim < 2:
            raise ValueError(
                "normalize='patch' needs receptive fields of at least 2 values, "
                f"got size={size} with {input_shape[0]} channel(s)."
            )
        pool = _check_pool(self.pool, n_spatial)
        kernel_params = {} if self.kernel_params is None else self.kernel_params
        if not isinstance(kernel_params, dict):
            raise TypeError(f"kernel_params must be a dict or None, got "
                            f"{type(kernel_params).__name__}.")
        return {"source": source, "n_kernels": n_kernels, "size": size, "stride": stride,
                    "dilation": dilation, "pads": pads, "conv_out": conv_out, "nonlin": nonlin,
                    "whiten": whiten, "patch_norm": patch_norm, "pool": pool,
                    "kernel_params": kernel_params, "n_spatial": n_spatial,
                    "sharing": sharing, "banks": banks}

    def _n_out_kernels(self, params):
        """The number of kernels the source will produce (validated)."""
        source, n, kp = params["source"], params["n_kernels"], params["kernel_params"]
        if source == "array":
            bank_k = int(self.kernels.shape[0]) if hasattr(self.kernels, "shape") \
                else len(self.kernels)
            if n is not None and n != bank_k:
                raise ValueError(f"n_kernels={n} disagrees with the {bank_k} kernels "
                                 "given in kernels; leave n_kernels=None.")
            return bank_k
        if source == "gabor":
            per = _gabor_per_orientation(kp)
            if n is None:
                return kp.get("n_orientations", 8) * per
            if n % per or "n_orientations" in kp:
                raise ValueError(
                    f"n_kernels for kernels='gabor' must be a multiple of "
                    f"len(frequencies) * len(phases) = {per} (and "
                    f"kernel_params must not also set n_orientations), got "
                    f"n_kernels={n}."
                )
            return n
        if source == "edges":
            if n is not None and "directions" in kp:
                raise ValueError(
                    f"n_kernels for kernels='edges' sets that many evenly spread "
                    f"directions; leave n_kernels=None to use kernel_params"
                    f"['directions'], got n_kernels={n} and directions="
                    f"{kp['directions']!r}."
                )
            return len(kp.get("directions", (0, 45, 90, 135))) if n is None else n
        return 64 if n is None else n

    def output_shape(self, input_shape):
        """Shape ``(K, *spatial)`` of one output sample for one input sample
        of shape ``input_shape = (C, *spatial)`` (validates the parameters).

        Examples
        --------
        >>> ConvLayer(16, 5, pool=("max", 2)).output_shape((3, 32, 32))
        (16, 14, 14)
        """
        input_shape = tuple(int(s) for s in input_shape)
        params = self._check_params(input_shape)
        n_out = self._n_out_kernels(params)
        if params["nonlin"] == "split_sign":
            n_out *= 2
        spatial = params["conv_out"]
        if params["pool"] is not None:
            _, size, stride, padding = params["pool"]
            spatial = _pool_shape(spatial, size, stride, padding, "pool")
        return (n_out,) + tuple(spatial)

    def _needs_data(self):
        return (self._source() in _DATA_SOURCES or check_bool(self.whiten, "whiten")
                or self.normalize == "patch")

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Draw or learn the kernels from ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, C, L) or (n_samples, C, H, W)
            NumPy or CuPy; the kernels live on the same backend.
        y : ignored

        Returns
        -------
        self : ConvLayer
        """
        X = self._check_fit_input(X)
        xp = get_namespace(X)
        input_shape = tuple(int(s) for s in X.shape[1:])
        params = self._check_params(input_shape)
        n_kernels = self._n_out_kernels(params)
        output_shape = self.output_shape(input_shape)
        rng = check_random_state(self.random_state)
        size, source, kp = params["size"], params["source"], params["kernel_params"]
        n_channels = input_shape[0]
        dim = n_channels * math.prod(size)
        patches = None
        if self._needs_data():
            n_patches = check_int(self.n_patches, "n_patches", minimum=1)
            extents = tuple(d * (k - 1) + 1 for d, k in zip(params["dilation"], size))
            if any(e > n for e, n in zip(extents, input_shape[1:])):
                raise ValueError(
                    f"size: patches of dilated size {extents} do not fit in "
                    f"samples of spatial shape {input_shape[1:]}; "
                    "learned kernels and patch preprocessing sample patches "
                    "from the unpadded input."
                )
            patches = sample_patches(X, extents, n_patches, random_state=rng)
            if any(d > 1 for d in params["dilation"]):
                patches = patches[(slice(None), slice(None))
                                  + tuple(slice(None, None, d) for d in params["dilation"])]
            patches = patches.reshape(n_patches, dim)
        norm_epsilon = None
        if params["patch_norm"]:
            rel = check_positive(self.norm_epsilon, "norm_epsilon")
            norm_epsilon = max(rel * float(patches.var(axis=1, ddof=1).mean()),
                                     np.finfo(np.float32).tiny)
            patches = normalize_patches(patches, epsilon=norm_epsilon)
        whitener = None
        if params["whiten"]:
            rel = check_positive(self.whiten_epsilon, "whiten_epsilon")
            scale = max(float(patches.var(axis=0).mean()), np.finfo(np.float32).tiny)
            whitener = ZCAWhitener(epsilon=rel * scale).fit(patches)
            if source in _DATA_SOURCES:     # the only kernels drawn from patches
                patches = whitener.transform(patches)
        banks = params["banks"]
        n_total = n_kernels * math.prod(banks)
        try:
            bank = self._make_bank(xp, source, n_total, n_channels, size, patches,
                                   kp, rng)
        except TypeError as exc:
            if "unexpected keyword argument" not in str(exc):
                raise
            raise TypeError(f"kernel_params: {exc} (kernels={source!r}).") from exc
        dtype = X.dtype
        bank = bank.astype(dtype)
        if whitener is not None:
            folded = bank @ whitener.whitening_.astype(dtype)
            offsets = -(folded @ whitener.mean_.astype(dtype))
        else:
            folded, offsets = bank, xp.zeros(n_total, dtype=dtype)
        self.input_shape_, self.output_shape_ = input_shape, output_shape
        self.norm_epsilon_, self.whitener_, self.bank_ = norm_epsilon, whitener, bank
        self.kernels_ = folded.reshape(banks + (n_kernels, n_channels) + tuple(size))
        self.offsets_ = offsets.reshape(banks + (n_kernels,))
        return self

    def _make_bank(self, xp, source, n_kernels, n_channels, size, patches, kp, rng):
        """Kernels as rows ``(K, C * prod(size))`` in the preprocessed space."""
        dim = n_channels * math.prod(size)
        if source == "random":
            bank = random_kernels(n_kernels, n_channels, size, random_state=rng, **kp)
        elif source == "gabor":
            kp = dict(kp)
            if self.n_kernels is not None:
                kp["n_orientations"] = n_kernels // _gabor_per_orientation(kp)
            if size[0] != size[1]:
                raise ValueError(f"size must be square for kernels='gabor', got {size}.")
            bank = gabor_bank(size[0], in_channels=n_channels, **kp)
        elif source == "edges":
            kp = dict(kp)
            if self.n_kernels is not None:
                kp["directions"] = tuple(180.0 * i / n_kernels for i in range(n_kernels))
            bank = edge_kernels(in_channels=n_channels, **kp)
        elif source == "kmeans":
            if n_kernels > patches.shape[0]:
                raise ValueError(f"n_kernels must be <= n_patches, got n_kernels="
                                 f"{n_kernels} and n_patches={patches.shape[0]}.")
            bank, _, _ = cluster_patches(patches, n_kernels, random_state=rng, **kp)
        elif source == "pca":
            bank, _ = pca_components(patches, n_kernels, **kp)
        elif source == "patches":
            if n_kernels > patches.shape[0]:
                raise ValueError(f"n_kernels must be <= n_patches, got n_kernels="
                                 f"{n_kernels} and n_patches={patches.shape[0]}.")
            rows = rng.choice(patches.shape[0], n_kernels, replace=False)
            bank = _normalize_rows(patches[xp.asarray(rows)], True, True)
        elif source == "callable":
            bank = self.kernels(n_kernels, n_channels, size, rng)
            bank = check_array(bank, "kernels", len(size) + 2,
                               "(n_kernels, in_channels, *size)")
            expected = (n_kernels, n_channels) + tuple(size)
            if tuple(bank.shape) != expected:
                raise ValueError(f"kernels callable must return an array of shape "
                                 f"{expected}, got {tuple(bank.shape)}.")
        else:  # array
            bank = self.kernels
        bank = asarray(bank, backend="numpy" if xp is np else "cupy")
        return bank.reshape(n_kernels, dim)

    # ------------------------------------------------------------ transform
    def transform(self, X):
        """Feature maps of ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, C, *spatial)
            With ``(C, *spatial) == input_shape_``, on the backend of the
            fit.

        Returns
        -------
        maps : array of shape (n_samples, *output_shape_)
            Same backend and dtype as ``X``.
        """
        X = self._check_transform_input(X)
        return self._transform(X, parse_memory("512MB"))

    def _transform(self, x, budget):
        xp = get_namespace(x)
        # the input's own shape (a network may pass samples of another size
        # than the fit's: see FeatureNetwork.transform of a list)
        params = self._check_params(tuple(x.shape[1:]))
        if params["sharing"] == "local" and params["banks"] != self.offsets_.shape[:-1]:
            raise ValueError(
                f"sharing='local' has one bank per output position of the fitted "
                f"input {self.input_shape_}; it cannot transform samples of shape "
                f"{tuple(x.shape[1:])}."
            )
        out_dtype = x.dtype
        pads = params["pads"]
        if (params["nonlin"] == "triangle" and not params["patch_norm"]
                and x.dtype == xp.float32):
            # ||w||^2 - 2 w.c + ||c||^2 cancels badly in float32 when the
            # receptive fields share a large offset: compute in float64, as
            # scikit-learn's euclidean_distances does for float32 input
            x = x.astype(xp.float64)
        dtype = x.dtype
        kernels = self.kernels_.astype(dtype, copy=False)
        offsets = self.offsets_.astype(dtype, copy=False)
        shape = (1, -1) + (1,) * params["n_spatial"]
        stats = None
        if params["patch_norm"]:
            if any(a or b for a, b in pads):
                # zero-pad first, so that removing the sample mean below
                # shifts the padding too (a normalised receptive field then
                # still sees zeros beyond the border)
                x = _zero_pad(xp, x, pads)
                pads = ((0, 0),) * params["n_spatial"]
            # remove each sample's mean: normalised patches ignore it, and
            # the patch sums below then cancel far less in float32
            x = x - x.mean(axis=tuple(range(1, x.ndim)), keepdims=True)

        def conv(inp, bank, bias=None):
            return _conv(xp, inp, bank, params["stride"], pads,
                         params["dilation"], bias, False, 1, budget)

        banks = params["banks"]
        unshared = {"tiled": _tiled_conv, "local": _locally_connected}.get(params["sharing"])

        def apply_banks(inp, bank, bias=None):
            if unshared is None:
                return conv(inp, bank, bias)
            return unshared(xp, inp, bank, params["stride"], pads, params["dilation"],
                            bias, budget)

        def per_position(values):
            """Per-kernel values ``(*banks, K)`` as ``(1, K, *conv_out)``
            (``(1, K, 1, ...)`` for values ``(K,)`` of one shared bank)."""
            if values.ndim == 1:
                return values.reshape(shape)
            out = params["conv_out"]
            index = tuple((xp.arange(o) % b).reshape((-1,) + (1,) * (len(out) - 1 - i))
                          for i, (o, b) in enumerate(zip(out, banks)))
            full = values[index]                       # (*conv_out, K)
            n = len(out)
            return full.transpose((n,) + tuple(range(n)))[None]

        if params["patch_norm"]:
            stats = _patch_stats(xp, conv, x, params["size"], self.norm_epsilon_)

        def dots(bank, bank_offsets, apply=conv):
            """Dot products of every preprocessed receptive field with the
            folded ``bank`` (kernels applied to the raw input)."""
            if stats is None:
                return apply(x, bank, bank_offsets)
            mean, inv_std, _ = stats
            n_axes = params["n_spatial"] + 1
            sums = bank.reshape(bank.shape[:-n_axes] + (-1,)).sum(axis=-1)
            # (resp - mean sums) inv_std + offsets, in place: one temporary
            resp = apply(x, bank)
            resp *= inv_std
            resp -= (mean * inv_std) * per_position(sums)
            resp += per_position(bank_offsets)
            return resp

        resp = dots(kernels, offsets, apply_banks)
        nonlin = params["nonlin"]
        if nonlin == "triangle":
            resp = self._triangle(xp, x, resp, dots, stats, conv, per_position)
        else:
            resp = get_nonlinearity(nonlin)(resp)
        if params["pool"] is not None:
            mode, size, stride, padding = params["pool"]
            resp = _POOL[params["n_spatial"]](resp, size, stride=stride, mode=mode,
                                              padding=padding)
        if self.normalize == "lcn":
            resp = local_contrast_normalize(resp)
        return resp.astype(out_dtype, copy=False)

    def _triangle(self, xp, x, resp, dots, stats, conv, per_position):
        dtype = x.dtype
        bank = self.bank_.astype(dtype, copy=False)
        c_norms = per_position((bank * bank).sum(axis=1).reshape(self.offsets_.shape))
        receptive = tuple(self.kernels_.shape[self.offsets_.ndim:])  # (C, *size)
        if self.whitener_ is not None:
            whitening = self.whitener_.whitening_.astype(dtype)
            w_bank = whitening.reshape((whitening.shape[0],) + receptive)
            w = dots(w_bank, -(whitening @ self.whitener_.mean_.astype(dtype)))
            w_sq = (w * w).sum(axis=1, keepdims=True)
        elif stats is not None:  # ||p - mean||^2 / (var + epsilon)
            mean, inv_std, squares = stats
            dim = math.prod(receptive)
            w_sq = xp.maximum(squares - dim * mean * mean, 0) * inv_std * inv_std
        else:  # channels summed first: one single-channel box convolution
            ones = xp.ones((1, 1) + receptive[1:], dtype=dtype)
            w_sq = conv((x * x).sum(axis=1, keepdims=True), ones)
        z = xp.sqrt(xp.maximum(w_sq - 2 * resp + c_norms, 0))
        return xp.maximum(z.mean(axis=1, keepdims=True) - z, 0)

    # ---------------------------------------------------------- bookkeeping
    @property
    def n_params_(self):
        check_is_fitted(self)
        return self._n_params(self.input_shape_)

    def _n_params(self, input_shape):
        """Kernel weights, plus one offset per kernel when whitened, in
        every bank."""
        params = self._check_params(tuple(input_shape))
        n_kernels = self._n_out_kernels(params) * math.prod(params["banks"])
        return int(n_kernels * (input_shape[0] * math.prod(params["size"])
                                + params["whiten"]))

    def _describe_source(self):
        source = self._source()
        sharing = check_option(self.sharing, SHARING, "sharing")
        tiles = "x".join(map(str, as_tuple(self.tile, len(self.input_shape_) - 1, "tile"))) \
            if sharing == "tiled" and hasattr(self, "input_shape_") else ""
        extras = [f"tiled {tiles}".strip() if sharing == "tiled" else
                  ("local" if sharing == "local" else ""),
                  "whiten" if check_bool(self.whiten, "whiten") else "",
                  f"{self.normalize} norm" if self.normalize else ""]
        label = source if source not in ("array", "callable") else f"given {source}"
        return ", ".join([label] + [e for e in extras if e])

    def _work_bytes(self, input_shape, itemsize):
        params = self._check_params(tuple(input_shape))
        n_k = self._n_out_kernels(params)
        maps = math.prod(params["conv_out"])
        extra = 4
        if params["nonlin"] == "triangle":
            extra += (input_shape[0] * math.prod(params["size"])
                      if check_bool(self.whiten, "whiten") else 0) + n_k
        if params["nonlin"] == "split_sign":
            extra += 2 * n_k
        if params["banks"]:  # the receptive fields gathered per position
            extra += input_shape[0] * math.prod(params["size"])
        return itemsize * (math.prod(input_shape) * 2 + (2 * n_k + extra) * maps
                           + 2 * math.prod(self.output_shape(input_shape)))


def _zero_pad(xp, x, pads):
    """``x`` with zeros added around its spatial axes (``pads`` per axis)."""
    shape = x.shape[:2] + tuple(n + a + b for n, (a, b) in zip(x.shape[2:], pads))
    out = xp.zeros(shape, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(a, a + n) for n, (a, _)
                                           in zip(x.shape[2:], pads))] = x
    return out


BANK_SOURCES = ("rocket", "minirocket")


class BankLayer(_Layer):
    """A heterogeneous kernel bank, each response pooled over the whole signal.

    The ROCKET family's stage (Dempster et al. 2020, 2021; Tan et al. 2022):
    many kernels of different lengths, dilations, paddings and biases, each
    response reduced to a few numbers by global pooling.  Kernels that share
    a length, a dilation and a padding form a group (a
    :class:`featurelab.kernels.KernelGroup`) and are one batched convolution;
    a kernel with several biases is convolved once.

    Parameters
    ----------
    n_kernels : int, default=10_000
        ``'rocket'``: the number of kernels.  ``'minirocket'``: the number
        of (kernel, dilation, bias) responses, rounded down to a multiple of
        84 (9,996 by default).
    kernels : {'rocket', 'minirocket'}, default='rocket'
        :func:`featurelab.kernels.rocket_bank` (random kernels, drawn
        without data) or :func:`featurelab.kernels.minirocket_bank` (fixed
        kernels, biases from quantiles of the training responses).
    pool : str or tuple of str, default=('ppv', 'max')
        Global pooling modes applied to every response (after its bias):
        any of :data:`featurelab.ops.POOL_MODES`, e.g. ``'ppv'`` and
        ``'max'`` (ROCKET), ``'ppv'`` (MiniRocket), ``('ppv', 'mpv',
        'mipv', 'lspv')`` (MultiRocket).
    kernel_params : dict, optional
        More arguments of the bank: ``lengths`` (``'rocket'``),
        ``max_dilations`` (``'minirocket'``).
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    groups_ : list of KernelGroup
        On the backend of the fit.
    n_responses_ : int
        (kernel, bias) pairs; the layer gives ``n_responses_ * len(pool)``
        features, response-major (the modes of response 0, then of 1...).
    input_shape_, output_shape_ : tuple of int
        ``(C, L)`` and ``(n_responses_ * len(pool), 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.layers import BankLayer
    >>> X = np.random.default_rng(0).standard_normal((8, 1, 40)).astype(np.float32)
    >>> layer = BankLayer(100, random_state=0).fit(X)
    >>> layer.transform(X).shape              # 100 kernels x (ppv, max), length 1
    (8, 200, 1)
    >>> ppv = layer.transform(X)[:, ::2, 0]
    >>> bool(((ppv >= 0) & (ppv <= 1)).all())
    True
    """

    def __init__(self, n_kernels=10_000, *, kernels="rocket", pool=("ppv", "max"),
                 kernel_params=None, random_state=None):
        self.n_kernels = n_kernels
        self.kernels = kernels
        self.pool = pool
        self.kernel_params = kernel_params
        self.random_state = random_state

    def _params(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"BankLayer works on signals (n_samples, C, L), got "
                             f"samples of shape {tuple(input_shape)}.")
        source = check_option(self.kernels, BANK_SOURCES, "kernels")
        n = check_int(self.n_kernels, "n_kernels",
                      minimum=MINIROCKET_KERNELS if source == "minirocket" else 1)
        modes = (self.pool,) if isinstance(self.pool, str) else tuple(self.pool)
        if not modes:
            raise ValueError("pool must name at least one pooling mode.")
        for mode in modes:
            check_option(mode, POOL_MODES, "pool")
        kp = {} if self.kernel_params is None else self.kernel_params
        if not isinstance(kp, dict):
            raise TypeError(f"kernel_params must be a dict or None, got "
                            f"{type(kp).__name__}.")
        n_responses = n if source == "rocket" else \
            MINIROCKET_KERNELS * (n // MINIROCKET_KERNELS)
        return source, n, modes, kp, n_responses

    def output_shape(self, input_shape):
        """Shape ``(n_responses * len(pool), 1)`` of one output sample."""
        _, _, modes, _, n_responses = self._params(tuple(input_shape))
        return (n_responses * len(modes), 1)

    def _needs_data(self):
        return check_option(self.kernels, BANK_SOURCES, "kernels") == "minirocket"

    def fit(self, X, y=None):
        """Draw (``'rocket'``) or fit (``'minirocket'``) the bank for ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, C, L)
        y : ignored

        Returns
        -------
        self : BankLayer
        """
        X = self._check_fit_input(X)
        input_shape = tuple(int(s) for s in X.shape[1:])
        source, n, modes, kp, n_responses = self._params(input_shape)
        rng = check_random_state(self.random_state)
        try:
            if source == "rocket":
                groups = rocket_bank(n, input_shape[0], input_shape[1],
                                     random_state=rng, **kp)
            else:
                groups = minirocket_bank(X, n, random_state=rng, **kp)
        except TypeError as exc:
            raise TypeError(f"kernel_params: {exc} (kernels={source!r}).") from exc
        backend = "cupy" if is_cupy_array(X) else "numpy"
        dtype = X.dtype
        self.groups_ = [dataclasses.replace(
            g, kernels=asarray(g.kernels, backend=backend, dtype=dtype),
            biases=asarray(g.biases, backend=backend, dtype=dtype),
            index=asarray(g.index, backend=backend)) for g in groups]
        self.kernels_ = self.groups_[0].kernels  # the backend of the fit
        self.n_responses_ = n_responses
        self.input_shape_ = input_shape
        self.output_shape_ = (n_responses * len(modes), 1)
        return self

    def transform(self, X):
        """Pooled responses of ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, C, L)

        Returns
        -------
        features : array of shape (n_samples, n_responses_ * len(pool), 1)
        """
        X = self._check_transform_input(X)
        return self._transform(X, parse_memory("512MB"))

    def _transform(self, x, budget):
        xp = get_namespace(x)
        _, _, modes, _, n_responses = self._params(tuple(x.shape[1:]))
        n_modes = len(modes)
        out = xp.empty((x.shape[0], n_responses * n_modes), dtype=x.dtype)
        length = x.shape[-1]
        for group in self.groups_:
            kernels = group.kernels.astype(x.dtype, copy=False)
            if 2 * kernels.shape[0] >= length:
                # many kernels on short signals: one GEMM, pooled along rows
                # of kernels (measured: 1.4-2x faster from K >= L / 2 on)
                y = _conv_channels_last(xp, x, kernels, (group.padding,),
                                        (group.dilation,), budget)
            else:           # few kernels on long signals: pooled along time
                y = xp.moveaxis(_conv(xp, x, kernels, (1,), (group.padding,),
                                      (group.dilation,), None, False, 1, budget), 1, 2)
            columns = group.index.reshape(-1) * n_modes
            _pool_biased(xp, y, group.biases.astype(x.dtype, copy=False), modes,
                         out, columns)
        return out[:, :, None]

    def _n_params(self, input_shape):
        """Parameters of the bank, from the shapes alone: MiniRocket's 84
        distinct kernels (all channels) and its biases; for ROCKET, whose
        lengths are drawn in ``fit``, the expected count ``n_kernels * (C *
        mean(lengths) + 1)`` (``n_params_`` counts the drawn bank)."""
        source, n, _, kp, n_responses = self._params(tuple(input_shape))
        if source == "minirocket":
            return int(n_responses + MINIROCKET_KERNELS * 9 * input_shape[0])
        lengths = kp.get("lengths", (7, 9, 11))
        return int(round(n * (input_shape[0] * sum(lengths) / len(lengths) + 1)))

    @property
    def n_params_(self):
        check_is_fitted(self)
        return int(sum(g.kernels.size + g.biases.size for g in self.groups_))

    def _describe_source(self):
        modes = (self.pool,) if isinstance(self.pool, str) else tuple(self.pool)
        return f"{self.kernels} ({', '.join(modes)})"

    def _work_bytes(self, input_shape, itemsize):
        _, _, modes, _, n_responses = self._params(tuple(input_shape))
        length = input_shape[1]
        # the widest group is at most all responses; its padded response,
        # the biased copies and the pooled output
        return itemsize * (2 * math.prod(input_shape) + 3 * n_responses * length
                           + 2 * n_responses * len(modes))


def _pool_biased(xp, y, biases, modes, out, columns):
    """Pool every biased response ``y[:, :, k] + biases[k, j]`` globally with
    each mode, into ``out[:, columns + m]`` (``y``: ``(n, length, K)``,
    channels last or a view of a channels-first array; ``columns``: the
    (k, j) pairs, row-major, times the number of modes).

    ``max`` and ``ppv`` never form the biased responses: ``max(y + b) =
    max(y) + b`` and ``y + b > 0`` exactly when ``y > -b`` (IEEE rounding is
    monotonic and ``y + b`` rounds to 0 only when it is 0), so both equal the
    pooling of ``y + b`` bit for bit.  A NaN in a response makes its PPV NaN,
    as :func:`~featurelab.ops.adaptive_pool` does.  MPV, MIPV and LSPV are
    computed together from the biased responses (channels last, one
    positive indicator).
    """
    n, length, k = y.shape
    b = biases.shape[1]
    positive = peak = None
    for m, mode in enumerate(modes):
        if mode in ("max", "ppv"):
            if peak is None:
                peak = y.max(axis=1)                                      # (n, k)
            if mode == "max":
                value = peak[:, :, None] + biases[None]
            else:
                if b == 1:
                    count = xp.count_nonzero(y > -biases[:, 0], axis=1)[:, :, None]
                else:
                    count = xp.count_nonzero(y[:, :, :, None] > -biases, axis=1)
                value = (count / length).astype(y.dtype, copy=False)
                value = xp.where(xp.isnan(peak)[:, :, None], xp.nan, value)
            out[:, columns + m] = value.reshape(n, k * b)
        else:
            if positive is None:
                biased = (y[:, :, :, None] + biases).reshape(n, length, k * b)
                positive = _global_positive(
                    xp, biased, [mode for mode in modes if mode in ("mpv", "mipv",
                                                                     "lspv")])
                del biased
            out[:, columns + m] = positive[mode]


class _StatelessLayer(_Layer):
    """A layer with nothing to learn: ``fit`` records the shapes."""

    def _fitted_output_shape(self, X):
        return self.output_shape(X.shape[1:])

    def fit(self, X, y=None):
        """Check ``X`` and the parameters; record the shapes (nothing to learn).

        Parameters
        ----------
        X : array of shape (n_samples, C, *spatial)
        y : ignored

        Returns
        -------
        self
        """
        X = self._check_fit_input(X)
        self.output_shape_ = self._fitted_output_shape(X)
        self.input_shape_ = tuple(int(s) for s in X.shape[1:])
        return self

    def transform(self, X):
        """Apply the layer to ``X`` of shape ``(n_samples, *input_shape_)``."""
        return self._transform(self._check_transform_input(X), None)


class PoolLayer(_StatelessLayer):
    """Pooling stage: :func:`featurelab.ops.pool2d` (or ``pool1d``).

    Parameters
    ----------
    size : int or tuple of int, default=2
    mode : str, default='max'
        Any of :data:`featurelab.ops.POOL_MODES`: ``'max'``, ``'avg'``,
        ``'sum'``, ``'l2'``, or the ROCKET family's ``'ppv'``, ``'mpv'``,
        ``'mipv'``, ``'lspv'``.
    stride : int or tuple of int, optional
        Defaults to ``size`` (non-overlapping windows).
    padding : int or tuple of int, default=0

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.layers import PoolLayer
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> PoolLayer(2).fit_transform(x)
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """

    def __init__(self, size=2, *, mode="max", stride=None, padding=0):
        self.size = size
        self.mode = mode
        self.stride = stride
        self.padding = padding

    def _params(self, n_spatial):
        return _check_pool({"mode": self.mode, "size": self.size, "stride": self.stride,
                                "padding": self.padding}, n_spatial)

    def output_shape(self, input_shape):
        """Shape of one output sample for one input sample of ``input_shape``."""
        input_shape = tuple(int(s) for s in input_shape)
        _, size, stride, padding = self._params(len(input_shape) - 1)
        return (input_shape[0],) + _pool_shape(input_shape[1:], size, stride, padding,
                                               "size")

    def _transform(self, x, budget):
        mode, size, stride, padding = self._params(x.ndim - 2)
        return _POOL[x.ndim - 2](x, size, stride=stride, mode=mode, padding=padding)

    def _describe_source(self):
        return f"{self.mode} pool"


class ChannelPoolLayer(_StatelessLayer):
    """Pooling across channels: :func:`featurelab.ops.channel_pool`.

    Groups of ``group_size`` consecutive channels are reduced to one
    (maxout with ``'max'``).  When a group holds separately parametrised
    versions of one kernel -- a Gabor kernel at every orientation, say --
    the pooled map is invariant to what varies inside the group: a learned
    (here: designed) invariance, where spatial pooling gives invariance to
    small translations only.

    Parameters
    ----------
    group_size : int, default=2
        Channels per group; must divide the number of input channels.
    mode : str, default='max'
        Any of :data:`featurelab.ops.POOL_MODES`: ``'max'``, ``'avg'``,
        ``'sum'``, ``'l2'``, or the ROCKET family's ``'ppv'``, ``'mpv'``,
        ``'mipv'``, ``'lspv'``.

    Examples
    --------
    Rotation invariance: ``gabor_bank`` orders kernels frequency, then
    orientation, then phase, so the 4 orientations x 2 phases of one
    frequency are 8 consecutive channels.

    >>> import numpy as np
    >>> from featurelab.layers import ChannelPoolLayer, ConvLayer
    >>> from featurelab.network import FeatureNetwork
    >>> net = FeatureNetwork(
    ...     [ConvLayer(kernels="gabor", size=7, nonlinearity="abs",
    ...                kernel_params={"n_orientations": 4, "frequencies": [0.25]}),
    ...      ChannelPoolLayer(8)], output=("adaptive", 1, "max"))
    >>> x = np.zeros((1, 1, 15, 15), dtype=np.float32)
    >>> x[0, 0, 7, 3:12] = 1                               # a horizontal bar
    >>> turned = np.rot90(x, axes=(2, 3)).copy()           # the same bar, upright
    >>> f = net.fit(x).transform(np.concatenate([x, turned]))
    >>> f.shape, bool(np.allclose(f[0], f[1], rtol=1e-5))
    ((2, 1), True)
    """

    def __init__(self, group_size=2, *, mode="max"):
        self.group_size = group_size
        self.mode = mode

    def output_shape(self, input_shape):
        """Shape of one output sample for one input sample of ``input_shape``."""
        input_shape = tuple(int(s) for s in input_shape)
        check_option(self.mode, POOL_MODES, "mode")
        group = check_int(self.group_size, "group_size", minimum=1)
        if input_shape[0] % group:
            raise ValueError(f"group_size must divide the number of input channels "
                             f"({input_shape[0]}), got group_size={group}.")
        return (input_shape[0] // group,) + input_shape[1:]

    def _transform(self, x, budget):
        return channel_pool(x, self.group_size, mode=self.mode)

    def _describe_source(self):
        return f"{self.mode} over {self.group_size} channels"


class FunctionLayer(_StatelessLayer):
    """Escape hatch: a stage that applies ``func(X, **kw_args)``.

    ``func`` maps a batch ``(n_samples, C, *spatial)`` to a batch
    ``(n_samples, C', *spatial')``, sample by sample (so that chunking over
    samples does not change the result), on NumPy or CuPy arrays.  Use a
    module-level function, not a lambda, if the network must be pickled.

    Parameters
    ----------
    func : callable
    kw_args : dict, optional

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.layers import FunctionLayer
    >>> from featurelab.ops import local_contrast_normalize
    >>> layer = FunctionLayer(local_contrast_normalize, kw_args={"sigma": 2.0})
    >>> layer.fit_transform(np.ones((2, 3, 8, 8))).shape
    (2, 3, 8, 8)
    """

    def __init__(self, func, *, kw_args=None):
        self.func = func
        self.kw_args = kw_args

    def _apply(self, x):
        if not callable(self.func):
            raise TypeError(f"func must be callable, got {type(self.func).__name__}.")
        kw = self.kw_args or {}
        if not isinstance(kw, dict):
            raise TypeError(f"kw_args must be a dict or None, got {type(kw).__name__}.")
        y = self.func(x, **kw)
        if getattr(y, "ndim", None) not in (3, 4) or y.shape[0] != x.shape[0]:
            raise ValueError(
                f"func must return a batch (n_samples, C, *spatial) with "
                f"n_samples={x.shape[0]}, got {getattr(y, 'shape', type(y).__name__)}."
            )
        return y

    def output_shape(self, input_shape):
        """Shape of one output sample (found by running ``func`` on zeros)."""
        return tuple(self._apply(np.zeros((1,) + tuple(input_shape), np.float32)).shape[1:])

    def _fitted_output_shape(self, X):
        return tuple(self._apply(X[:1]).shape[1:])

    def _transform(self, x, budget):
        return self._apply(x)

    def _describe_source(self):
        return getattr(self.func, "__name__", type(self.func).__name__)
