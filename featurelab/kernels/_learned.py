"""Kernels learned without labels from patches: k-means (Coates) and PCA."""

import math
import numbers

from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._estimator import to_batch
from .._validation import as_tuple, check_bool, check_int, check_option, check_positive
from ..backend import get_namespace, is_cupy_array, parse_memory
from ..ops import POOL_MODES, conv1d, conv2d, region_pool
from ..patches import ZCAWhitener, normalize_patches, sample_patches
from ._kmeans import kmeans

__all__ = ["KMeansKernels", "PCAKernels"]

_CONV = {1: conv1d, 2: conv2d}
ENCODINGS = ("triangle", "hard", "soft_threshold")
SOLVERS = ("auto", "featurelab", "sklearn")
# solver='auto': scikit-learn's KMeans below this many centres (NumPy data),
# featurelab's GEMM kmeans from here up.  Whole fits (k-means++ seeding and
# 10 iterations, this 2-core machine): on 100k x 108 float32 patches
# featurelab / scikit-learn = 1.46 for 16 centres, 0.59 for 32, 0.43 for 64,
# 0.28 for 256; on 10k patches of 75-600 dimensions 0.77-1.22 for 16 and
# 0.38-0.54 for 64 (scikit-learn's seeding upcasts the patches to float64
# for every candidate; benchmarks/RESULTS.md).  Was 512, measured on Lloyd
# iterations alone from the same initial centres.
_SKLEARN_BELOW = 32


def _check_regions(regions, n_spatial):
    if regions is None:
        return None
    return as_tuple(regions, n_spatial, "regions")


class _PatchKernels(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared machinery: patch sampling in ``fit``, chunked conv features in
    ``transform`` (subclasses define ``_learn`` and ``_encode``)."""

    def _patch_size(self, batch):
        size = as_tuple(self.size, batch.ndim - 2, "size")
        if any(k > n for k, n in zip(size, batch.shape[2:])):
            raise ValueError(
                f"size must fit in the input on every axis, got size={size} for "
                f"samples of spatial shape {tuple(batch.shape[2:])}."
            )
        return size

    def _sample(self, batch, rng):
        n_patches = check_int(self.n_patches, "n_patches", minimum=1)
        self.patch_size_ = self._patch_size(batch)
        patches = sample_patches(batch, self.patch_size_, n_patches, random_state=rng)
        return patches.reshape(n_patches, -1)

    def transform(self, X):
        """Feature maps of ``X`` (encoded, optionally region-pooled), flattened.

        Parameters
        ----------
        X : array of shape (n_samples, n_features) or (n_samples, *input_shape)

        Returns
        -------
        features : array of shape (n_samples, n_kernels * n_positions)
            ``n_positions`` is the number of regions when ``regions`` is set,
            else the number of (strided, valid) kernel positions.  Same
            backend and float dtype as ``X``.
        """
        check_is_fitted(self)
        batch = to_batch(self, X, reset=False, fitted_on=self.kernels_)
        xp = get_namespace(batch)
        stride, regions = self._check_output_params(batch.ndim - 2)
        kernels = self.kernels_.astype(batch.dtype)
        n_positions = self._n_positions(batch.shape[2:], stride)
        # per sample: responses, distances and whitened-patch maps (at most
        # 2 K + D + 4 maps of the valid positions) live at once
        n_maps = 2 * kernels.shape[0] + math.prod(kernels.shape[1:]) + 4
        valid = self._n_valid(batch.shape[2:], stride)
        chunk = max(1, parse_memory(self.max_memory)
                    // (n_maps * valid * batch.dtype.itemsize))
        out = xp.empty((batch.shape[0], kernels.shape[0] * n_positions),
                       dtype=batch.dtype)
        for start in range(0, batch.shape[0], chunk):
            maps = self._encode(xp, batch[start:start + chunk], kernels, stride)
            if regions is not None:
                maps = region_pool(maps, regions, mode=self.pool_mode)
            out[start:start + maps.shape[0]] = maps.reshape(maps.shape[0], -1)
        return out

    def _check_output_params(self, n_spatial):
        """Validate the parameters that only shape ``transform``'s output."""
        stride = as_tuple(self.stride, n_spatial, "stride")
        regions = _check_regions(self.regions, n_spatial)
        check_option(self.pool_mode, POOL_MODES, "pool_mode")
        return stride, regions

    def _n_positions(self, spatial, stride):
        regions = _check_regions(self.regions, len(spatial))
        if regions is not None:
            return math.prod(regions)
        return self._n_valid(spatial, stride)

    def _n_valid(self, spatial, stride):
        """Number of (strided) valid kernel positions in ``spatial``."""
        return math.prod((n - k) // s + 1 for n, k, s in
                         zip(spatial, self.patch_size_, stride))

    @property
    def _n_features_out(self):
        """Output width, for ``get_feature_names_out``."""
        stride = as_tuple(self.stride, len(self.input_shape_) - 1, "stride")
        return self.kernels_.shape[0] * self._n_positions(self.input_shape_[1:], stride)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _patch_stats(xp, conv, x, size, epsilon, **conv_kw):
    """Per patch position: the mean, ``1 / sqrt(var + epsilon)`` (unbiased
    variance, as :func:`featurelab.patches.normalize_patches`) and the sum of
    squares, each as an ``(n, 1, *positions)`` map.  ``conv_kw`` (stride,
    padding, dilation) place the patches as the layer's convolution does."""
    # a box filter over channels and window: sum the channels first, then
    # one single-channel convolution (C times less im2col work than
    # convolving all channels with ones)
    ones = xp.ones((1, 1) + tuple(size), dtype=x.dtype)
    dim = x.shape[1] * ones.size
    sums = conv(x.sum(axis=1, keepdims=True), ones, **conv_kw)
    squares = conv((x * x).sum(axis=1, keepdims=True), ones, **conv_kw)
    mean = sums / dim
    var = xp.maximum(squares - sums * mean, 0) / (dim - 1)
    return mean, 1 / xp.sqrt(var + epsilon), squares


def cluster_patches(patches, n_clusters, *, spherical=False, solver="auto",
                    max_iter=10, tol=1e-4, random_state=None, max_memory="512MB"):
    """k-means centres of ``patches`` (rows) with the solver rule of
    :class:`KMeansKernels`; returns ``(centers, inertia, n_iter)``."""
    on_device = is_cupy_array(patches)
    check_option(solver, SOLVERS, "solver")
    if solver == "auto":
        use_sklearn = n_clusters < _SKLEARN_BELOW and not (spherical or on_device)
    else:
        use_sklearn = solver == "sklearn"
    if use_sklearn and (spherical or on_device):
        raise ValueError(
            "solver='sklearn' runs on NumPy data and without spherical=True; "
            f"got spherical={spherical} on "
            f"{'CuPy' if on_device else 'NumPy'} data."
        )
    if use_sklearn:
        from sklearn.cluster import KMeans

        model = KMeans(n_clusters, n_init=1, max_iter=max_iter, tol=tol,
                       random_state=random_state).fit(patches)
        return (model.cluster_centers_.astype(patches.dtype),
                float(model.inertia_), int(model.n_iter_))
    centers, _, inertia, n_iter = kmeans(
        patches, n_clusters, max_iter=max_iter, tol=tol, spherical=spherical,
        random_state=random_state, max_memory=max_memory)
    return centers, float(inertia), int(n_iter)


def pca_components(patches, n_components, *, remove_mean=True):
    """Leading eigenvectors of the second moment of ``patches`` (rows, after
    removing each row's mean when ``remove_mean``), as PCANet; returns
    ``(components (n_components, dim), eigenvalues)``.  Each component's
    sign makes its first entry within 1e-4 of the largest magnitude
    positive (deterministic, robust to ties)."""
    xp = get_namespace(patches)
    # without their means, patches span at most dim - 1 directions: the
    # last eigenvector would be the constant (DC) vector
    dim = patches.shape[1] - remove_mean
    if n_components > dim:
        raise ValueError(
            f"n_kernels must be <= C * prod(size){' - 1' * remove_mean} = "
            f"{dim}, got {n_components}."
        )
    if remove_mean:
        patches = patches - patches.mean(axis=1, keepdims=True)
    moment = (patches.T @ patches).astype(xp.float64) / patches.shape[0]
    eigenvalues, vectors = xp.linalg.eigh(moment)
    order = xp.argsort(eigenvalues)[::-1][:n_components]
    components = vectors[:, order].T
    magnitude = xp.abs(components)
    near_peak = magnitude >= (1 - 1e-4) * magnitude.max(axis=1, keepdims=True)
    first = xp.argmax(near_peak, axis=1)
    signs = xp.sign(components[xp.arange(n_components), first])
    return components * signs[:, None], xp.maximum(eigenvalues[order], 0)


def _check_alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number >= 0, got "
                        f"{type(alpha).__name__} {alpha!r}.")
    if not alpha >= 0:
        raise ValueError(f"alpha must be a real number >= 0, got {alpha!r}.")
    return float(alpha)


class KMeansKernels(_PatchKernels):
    """Convolution kernels from k-means over whitened patches (Coates et al.).

    ``fit`` samples ``n_patches`` patches from ``X``, normalises each one
    (subtract its mean, divide by ``sqrt(var + norm_epsilon)``), ZCA-whitens
    them, and runs k-means.  The centroids ``c_k`` live in the whitened
    space; folding the whitening back gives kernels ``v_k = W c_k``
    (``kernels_``) and offsets ``-mean . v_k`` (``offsets_``), so that for
    a patch ``p`` with normalised version ``p_n``, ``w . c_k = p_n . v_k +
    offset_k`` with ``w`` the whitened patch: a convolution of the raw input
    with ``kernels_`` gives the dot products of every whitened patch with
    every centroid.

    ``transform`` encodes every patch position (``stride`` apart):

    * ``'triangle'``: ``f_k = max(0, mean_j(z_j) - z_k)`` with ``z_k = ||w -
      c_k||`` (Coates et al. 2011's best encoder);
    * ``'hard'``: 1 for the nearest centroid, 0 elsewhere;
    * ``'soft_threshold'``: ``f_k = max(0, w . c_k - alpha)``;

    then optionally sums each map over ``regions`` (``(2, 2)``: Coates'
    quadrant pooling) and flattens.

    Parameters
    ----------
    n_kernels : int, default=100
        Number of centroids K.
    size : int or tuple of int, default=6
        Patch (kernel) size per spatial axis.
    input_shape : tuple of int, optional
        ``(C, H, W)`` or ``(C, L)`` of one sample when ``X`` is 2-D; inferred
        from an N-d ``X``; default ``(1, n_features)``.
    n_patches : int, default=100_000
        Patches drawn (uniformly, with replacement) to learn from.
    normalize_patches : bool, default=True
    norm_epsilon : float, default=10.0
        Contrast regulariser, for 0-255 pixel values (use ``10 * (range /
        255) ** 2`` for another range).
    whiten : bool, default=True
    whiten_epsilon : float, default=0.1
        Eigenvalue regulariser of the ZCA whitening.
    spherical : bool, default=False
        Spherical k-means: unit-norm centroids, assignment by cosine.
    encoding : {'triangle', 'hard', 'soft_threshold'}, default='triangle'
    alpha : float, default=0.5
        Threshold of ``'soft_threshold'``.
    regions : int or tuple of int, optional
        Pool each feature map over this grid of regions (see
        :func:`featurelab.ops.region_pool`); None keeps every position.
    pool_mode : {'sum', 'avg', 'max', 'l2'}, default='sum'
    stride : int or tuple of int, default=1
        Step between encoded patch positions in ``transform``.
    max_iter : int, default=10
        k-means iterations (Coates et al. used 10).
    tol : float, default=1e-4
    solver : {'auto', 'featurelab', 'sklearn'}, default='auto'
        The k-means implementation: featurelab's GEMM :func:`kmeans` (NumPy
        or CuPy) or scikit-learn's ``KMeans`` (NumPy only, not spherical).
        ``'auto'`` uses scikit-learn's for fewer than 32 kernels on NumPy
        data (non-spherical), featurelab's otherwise: whole fits (k-means++
        seeding included) took 0.43x scikit-learn's time for 64 centres on
        100k patches of 108 dimensions and 0.28-0.41x for 1600, at equal
        inertia, and 1.46x for 16 (benchmarks/RESULTS.md).
    max_memory : int or str, default='512MB'
        Budget for the feature maps of one chunk of samples in
        ``transform`` (and for k-means' distance blocks).
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    kernels_ : array of shape (n_kernels, C, *size)
    offsets_ : array of shape (n_kernels,)
    cluster_centers_ : array of shape (n_kernels, C * prod(size))
        Centroids in the whitened patch space.
    whitener_ : ZCAWhitener or None
    patch_size_ : tuple of int
    input_shape_ : tuple of int
    inertia_ : float
    n_iter_ : int
    n_features_in_ : int

    References
    ----------
    .. [1] A. Coates, H. Lee and A. Y. Ng, "An analysis of single-layer
       networks in unsupervised feature learning", AISTATS 2011.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from featurelab.kernels import KMeansKernels
    >>> X = load_digits().data                        # (1797, 64), 0..16
    >>> km = KMeansKernels(16, 3, input_shape=(1, 8, 8), n_patches=5000,
    ...                    norm_epsilon=0.04, regions=(2, 2), random_state=0)
    >>> km.fit_transform(X).shape                     # 16 maps x 4 quadrants
    (1797, 64)
    >>> km.kernels_.shape
    (16, 1, 3, 3)
    """

    def __init__(self, n_kernels=100, size=6, *, input_shape=None,
                 n_patches=100_000, normalize_patches=True, norm_epsilon=10.0,
                 whiten=True, whiten_epsilon=0.1, spherical=False,
                 encoding="triangle", alpha=0.5, regions=None, pool_mode="sum",
                 stride=1, max_iter=10, tol=1e-4, solver="auto",
                 max_memory="512MB", random_state=None):
        self.n_kernels = n_kernels
        self.size = size
        self.input_shape = input_shape
        self.n_patches = n_patches
        self.normalize_patches = normalize_patches
        self.norm_epsilon = norm_epsilon
        self.whiten = whiten
        self.whiten_epsilon = whiten_epsilon
        self.spherical = spherical
        self.encoding = encoding
        self.alpha = alpha
        self.regions = regions
        self.pool_mode = pool_mode
        self.stride = stride
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.max_memory = max_memory
        self.random_state = random_state

    def fit(self, X, y=None):
        """Learn the kernels from patches of ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : ignored

        Returns
        -------
        self : KMeansKernels
        """
        n_kernels = check_int(self.n_kernels, "n_kernels", minimum=1)
        check_option(self.encoding, ENCODINGS, "encoding")
        check_option(self.solver, SOLVERS, "solver")
        spherical = check_bool(self.spherical, "spherical")
        _check_alpha(self.alpha)
        self.normalize_patches_ = check_bool(self.normalize_patches, "normalize_patches")
        self.norm_epsilon_ = check_positive(self.norm_epsilon, "norm_epsilon")
        whiten_epsilon = check_positive(self.whiten_epsilon, "whiten_epsilon")
        rng = check_random_state(self.random_state)
        batch = to_batch(self, X, reset=True)
        self._check_output_params(batch.ndim - 2)
        xp = get_namespace(batch)
        patches = self._sample(batch, rng)
        if n_kernels > patches.shape[0]:
            raise ValueError(
                f"n_kernels must be <= n_patches, got n_kernels={n_kernels} and "
                f"n_patches={patches.shape[0]}."
            )
        if self.normalize_patches_:
            if patches.shape[1] < 2:
                raise ValueError(
                    "normalize_patches=True needs patches of at least 2 values, "
                    f"got size={self.patch_size_} with {batch.shape[1]} channel(s)."
                )
            patches = normalize_patches(patches, epsilon=self.norm_epsilon_)
        if check_bool(self.whiten, "whiten"):
            self.whitener_ = ZCAWhitener(epsilon=whiten_epsilon).fit(patches)
            patches = self.whitener_.transform(patches)
            mean, whitening = self.whitener_.mean_, self.whitener_.whitening_
        else:
            self.whitener_ = None
            mean, whitening = None, None
        centers, inertia, n_iter = self._cluster(xp, patches, n_kernels, spherical, rng)
        self.cluster_centers_ = centers
        folded = centers if whitening is None else centers @ whitening
        self.kernels_ = folded.reshape((n_kernels, batch.shape[1]) + self.patch_size_)
        self.offsets_ = (xp.zeros(n_kernels, dtype=centers.dtype) if mean is None
                         else -(folded @ mean))
        self.inertia_, self.n_iter_ = inertia, n_iter
        return self

    def _cluster(self, xp, patches, n_kernels, spherical, rng):
        return cluster_patches(patches, n_kernels, spherical=spherical,
                               solver=self.solver, max_iter=self.max_iter,
                               tol=self.tol, random_state=rng,
                               max_memory=self.max_memory)

    def _encode(self, xp, x, kernels, stride):
        conv = _CONV[x.ndim - 2]
        dim = math.prod(kernels.shape[1:])
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if self.normalize_patches_:
            # Normalised patches ignore an offset of the input, so remove each
            # sample's mean first: the patch sums and squares below then
            # cancel far less in float32 (0-255 data lost ~3 digits without).
            x = x - x.mean(axis=tuple(range(1, x.ndim)), keepdims=True)
            mean, inv_std, squares = _patch_stats(xp, conv, x, self.patch_size_,
                                                  self.norm_epsilon_, stride=stride)
        else:
            mean, inv_std, squares = 0, 1, None

        def whitened_dots(bank, bank_offsets):
            """Dot products of every normalised, whitened patch with the
            folded ``bank`` (kernels in the raw input space)."""
            sums = bank.reshape(bank.shape[0], -1).sum(axis=1)
            resp = conv(x, bank, stride=stride) - mean * sums.reshape(shape)
            return resp * inv_std + bank_offsets.reshape(shape)

        dots = whitened_dots(kernels, self.offsets_.astype(x.dtype))
        if self.encoding == "soft_threshold":
            return xp.maximum(dots - _check_alpha(self.alpha), 0)
        centers = self.cluster_centers_.astype(x.dtype)
        c_norms = (centers * centers).sum(axis=1).reshape(shape)
        if self.encoding == "hard":
            nearest = xp.argmin(c_norms - 2 * dots, axis=1)
            codes = xp.arange(dots.shape[1]).reshape(shape)
            return (nearest[:, None] == codes).astype(x.dtype)
        # triangle needs ||w||^2, the squared norm of every whitened patch
        if self.whitener_ is not None:
            whitening = self.whitener_.whitening_.astype(x.dtype)
            bank = whitening.reshape((dim,) + tuple(kernels.shape[1:]))
            w = whitened_dots(bank, -(whitening @ self.whitener_.mean_.astype(x.dtype)))
            w_sq = (w * w).sum(axis=1, keepdims=True)
        elif self.normalize_patches_:  # ||p - mean||^2 / (var + epsilon)
            w_sq = xp.maximum(squares - dim * mean * mean, 0) * inv_std * inv_std
        else:
            ones = xp.ones((1,) + tuple(kernels.shape[1:]), dtype=x.dtype)
            w_sq = conv(x * x, ones, stride=stride)
        z = xp.sqrt(xp.maximum(w_sq - 2 * dots + c_norms, 0))
        return xp.maximum(z.mean(axis=1, keepdims=True) - z, 0)


class PCAKernels(_PatchKernels):
    """Convolution kernels from the principal components of patches (PCANet).

    ``fit`` samples patches, removes each patch's mean (``remove_mean``), and
    keeps the ``n_kernels`` leading eigenvectors of the patches' second
    moment matrix ``P^T P / n``, as in a PCANet stage.  Each kernel's sign is
    fixed so that its largest-magnitude entry is positive (deterministic).
    ``transform`` convolves with the kernels (their entries sum to 0 when
    ``remove_mean``, so the responses ignore local brightness), optionally
    pools over ``regions``, and flattens.

    Parameters
    ----------
    n_kernels : int, default=8
        Number of components, at most ``C * prod(size)``.
    size : int or tuple of int, default=7
    input_shape : tuple of int, optional
        As in :class:`KMeansKernels`.
    n_patches : int, default=100_000
    remove_mean : bool, default=True
    regions : int or tuple of int, optional
    pool_mode : {'sum', 'avg', 'max', 'l2'}, default='l2'
        ``'l2'`` pools the energy of the (signed) responses.
    stride : int or tuple of int, default=1
    max_memory : int or str, default='512MB'
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    kernels_ : array of shape (n_kernels, C, *size)
    explained_variance_ : array of shape (n_kernels,)
        Eigenvalues of the kept components, descending.
    patch_size_, input_shape_, n_features_in_

    References
    ----------
    .. [1] T.-H. Chan et al., "PCANet: A simple deep learning baseline for
       image classification?", IEEE TIP 2015.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from featurelab.kernels import PCAKernels
    >>> X = load_digits().data
    >>> pca = PCAKernels(4, 3, input_shape=(1, 8, 8), n_patches=5000,
    ...                  regions=2, random_state=0).fit(X)
    >>> pca.kernels_.shape, pca.transform(X).shape
    ((4, 1, 3, 3), (1797, 16))
    >>> bool(abs(pca.kernels_.sum(axis=(1, 2, 3))).max() < 1e-5)  # zero-sum
    True
    """

    def __init__(self, n_kernels=8, size=7, *, input_shape=None, n_patches=100_000,
                 remove_mean=True, regions=None, pool_mode="l2", stride=1,
                 max_memory="512MB", random_state=None):
        self.n_kernels = n_kernels
        self.size = size
        self.input_shape = input_shape
        self.n_patches = n_patches
        self.remove_mean = remove_mean
        self.regions = regions
        self.pool_mode = pool_mode
        self.stride = stride
        self.max_memory = max_memory
        self.random_state = random_state

    def fit(self, X, y=None):
        """Learn the principal components of patches of ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features) or (n_samples, *input_shape)
        y : ignored

        Returns
        -------
        self : PCAKernels
        """
        n_kernels = check_int(self.n_kernels, "n_kernels", minimum=1)
        rng = check_random_state(self.random_state)
        batch = to_batch(self, X, reset=True)
        remove_mean = check_bool(self.remove_mean, "remove_mean")
        self._check_output_params(batch.ndim - 2)
        patches = self._sample(batch, rng)
        components, eigenvalues = pca_components(patches, n_kernels,
                                                 remove_mean=remove_mean)
        self.kernels_ = components.astype(batch.dtype).reshape(
            (n_kernels, batch.shape[1]) + self.patch_size_)
        self.explained_variance_ = eigenvalues.astype(batch.dtype)
        return self

    def _encode(self, xp, x, kernels, stride):
        return _CONV[x.ndim - 2](x, kernels, stride=stride)
