"""FeatureNetwork: stacked layers as one scikit-learn transformer.

``fit`` pretrains greedily, one layer at a time and without labels: layer 1
is fitted on the input, the input goes through it, layer 2 is fitted on
that, and so on.  ``transform`` pushes chunks of samples through every layer
and returns a 2-D float32 NumPy feature matrix, so that any scikit-learn
classifier can be trained on top.
"""

import math
import time

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    clone,
)
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._estimator import is_sample_list, to_batch
from ._validation import as_tuple, check_int, check_option
from .backend import asarray, get_backend, get_namespace, parse_memory, to_numpy
from .layers import _Layer
from .ops import POOL_MODES, adaptive_pool, region_pool

__all__ = ["FeatureNetwork"]

OUTPUTS = ("region", "adaptive", "flatten")
BACKENDS = ("auto", "numpy", "cupy")


def _check_output(output, n_spatial):
    """Normalise ``output`` to ``('flatten',)`` or ``(kind, size, mode)``."""
    if output == "flatten":
        return ("flatten",)
    if (isinstance(output, (tuple, list)) and len(output) in (2, 3)
            and output[0] in ("region", "adaptive")):
        kind, size = output[0], output[1]
        mode = output[2] if len(output) == 3 else ("sum" if kind == "region" else "max")
        check_option(mode, POOL_MODES, "output mode")
        return kind, as_tuple(size, n_spatial, "output size"), mode
    raise ValueError(
        "output must be 'flatten', ('region', regions, mode) or ('adaptive', "
        f"size, mode) (mode optional), got {output!r}."
    )


def _conv_budget(budget):
    """The share of a chunk's budget given to the im2col columns of one
    convolution (the rest holds the feature maps)."""
    return max(budget // 8, 1)


def _upsample(maps, size):
    """``maps`` ``(n, C, *m)`` at spatial ``size`` by nearest neighbour
    (position ``i`` of ``n`` takes ``i * m // n``)."""
    xp = get_namespace(maps)
    for axis, (n, m) in enumerate(zip(size, maps.shape[2:])):
        maps = xp.take(maps, xp.arange(n) * m // n, axis=axis + 2)
    return maps


def _is_sample_list(X):
    """Whether ``X`` is a list of samples ``(C, L)`` or ``(C, H, W)``."""
    return is_sample_list(X, (2, 3))


def _check_samples(X, input_shape):
    """The samples of a list as float32 arrays of one backend, each
    ``(C, L)`` or ``(C, H, W)`` with the channels (and number of axes) of
    ``input_shape`` (or of the first sample)."""
    first = X[0]
    ndim, channels = first.ndim, int(first.shape[0])
    if input_shape is not None:
        ndim, channels = len(input_shape), input_shape[0]
    xp = get_namespace(*X)
    samples = []
    for i, x in enumerate(X):
        if x.ndim != ndim or int(x.shape[0]) != channels or 0 in x.shape:
            layout = "(C, L)" if ndim == 2 else "(C, H, W)"
            raise ValueError(
                f"X[{i}] must be a sample of shape {layout} with C = {channels} "
                f"(every sample of a list has the same channels and number of axes; "
                f"sizes may differ), got shape {tuple(x.shape)}."
            )
        x = x.astype(xp.float32, copy=False)
        if not bool(xp.isfinite(x).all()):
            raise ValueError(f"X[{i}] contains NaN or infinity.")
        samples.append(x)
    return samples


def _center_crop(samples):
    """The samples cropped (centred) to the smallest size on every axis,
    stacked."""
    size = tuple(min(int(x.shape[a]) for x in samples)
                 for a in range(1, samples[0].ndim))
    crops = []
    for x in samples:
        starts = [(int(n) - m) // 2 for n, m in zip(x.shape[1:], size)]
        crops.append(x[(slice(None),) + tuple(slice(a, a + m)
                                              for a, m in zip(starts, size))])
    return get_namespace(*crops).stack(crops)


class FeatureNetwork(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A feature network: layers pretrained greedily, as one transformer.

    Parameters
    ----------
    layers : list of layers
        :class:`~featurelab.layers.ConvLayer`, :class:`~featurelab.layers.PoolLayer`,
        :class:`~featurelab.layers.ChannelPoolLayer` or
        :class:`~featurelab.layers.FunctionLayer` instances, applied in order.  They are cloned in ``fit`` (the fitted ones are in
        ``layers_``).
    output : 'flatten' or tuple, default=('region', 2, 'sum')
        How the last maps become a feature vector:
        ``('region', regions, mode)`` pools each map over a grid of
        ``regions`` per axis (:func:`featurelab.ops.region_pool`; ``2`` is
        Coates' quadrants on images, halves on signals);
        ``('adaptive', size, mode)`` pools to a fixed size
        (:func:`featurelab.ops.adaptive_pool`); ``'flatten'`` keeps every
        position.  Then the maps are flattened channel-major.
    input_shape : tuple of int, optional
        ``(C, H, W)`` or ``(C, L)`` of one sample, for 2-D ``X`` of shape
        ``(n_samples, n_features)``; inferred from an N-d ``X``; default
        ``(1, n_features)`` (each row a 1-D signal).  A 3-D ``X`` is
        ``(n_samples, C, L)``, or ``(n_samples, H, W)`` with
        ``input_shape=(1, H, W)``.
    backend : {'auto', 'numpy', 'cupy'}, default='auto'
        Where the layers compute (``'auto'``: see
        :func:`featurelab.backend.get_backend`).  ``X`` may live on either;
        chunks are moved to the backend and features come back as NumPy.
    max_memory : int or str, default='512MB'
        Budget for the working arrays: ``fit`` pretrains on a random subset
        of at most as many samples as fit in half of it, ``transform`` runs
        in chunks of samples sized to fit it (besides ``X`` and the
        returned features).  The patches a layer samples in ``fit``
        (``n_patches x C x prod(size)`` values) do not grow with the number
        of samples and are not counted.
    batch_size : int, optional
        Fixed number of samples per chunk, instead of sizing chunks from
        ``max_memory``.
    verbose : bool, default=False
        Show tqdm progress bars over layers (``fit``) and chunks.
    random_state : int, RandomState instance or None, default=None
        Seeds the fit subset and every layer whose own ``random_state`` is
        None; a fixed seed gives bitwise-identical features on one backend.

    Attributes
    ----------
    layers_ : list of fitted layers
    input_shape_ : tuple of int
    shapes_ : list of tuple of int
        ``(C, *spatial)`` of the input and after every layer.
    n_features_out_ : int
    n_features_in_ : int
    n_fit_samples_ : int
        Number of samples the layers were pretrained on.
    backend_ : {'numpy', 'cupy'}
    fit_time_ : float
        Seconds spent in ``fit``.

    Notes
    -----
    Parameters of the layers are reachable as ``layers__<i>__<param>``
    (e.g. ``layers__0__n_kernels``), in ``get_params``, ``set_params``,
    ``GridSearchCV`` and ``Pipeline`` (``featurenetwork__layers__0__n_kernels``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from featurelab.layers import ConvLayer
    >>> from featurelab.network import FeatureNetwork
    >>> X, y = load_digits(return_X_y=True)
    >>> net = FeatureNetwork([ConvLayer(16, 3, pool=("max", 2))],
    ...                      input_shape=(1, 8, 8), random_state=0)
    >>> net.fit_transform(X).shape                   # 16 maps x 2 x 2 regions
    (1797, 64)
    >>> net.get_params()["layers__0__n_kernels"]
    16
    """

    def __init__(self, layers, *, output=("region", 2, "sum"), input_shape=None,
                 backend="auto", max_memory="512MB", batch_size=None, verbose=False,
                 random_state=None):
        self.layers = layers
        self.output = output
        self.input_shape = input_shape
        self.backend = backend
        self.max_memory = max_memory
        self.batch_size = batch_size
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------ nested params
    def get_params(self, deep=True):
        """Parameters; with ``deep`` also ``layers__<i>__<param>`` of every
        layer (as :class:`sklearn.pipeline.Pipeline` does for its steps)."""
        params = super().get_params(deep=False)
        if deep and isinstance(self.layers, (list, tuple)):
            for i, layer in enumerate(self.layers):
                if hasattr(layer, "get_params"):
                    params[f"layers__{i}"] = layer
                    for key, value in layer.get_params(deep=True).items():
                        params[f"layers__{i}__{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters, including ``layers__<i>`` (replace a layer) and
        ``layers__<i>__<param>``."""
        nested = {k: v for k, v in params.items() if k.startswith("layers__")}
        own = {k: v for k, v in params.items() if k not in nested}
        if own:
            super().set_params(**own)
        for key, value in nested.items():
            index, _, sub = key[len("layers__"):].partition("__")
            layers = list(self.layers)
            if not index.isdigit() or int(index) >= len(layers):
                raise ValueError(
                    f"Invalid parameter {key!r} for {type(self).__name__}: layer "
                    f"index {index!r} is not in 0..{len(layers) - 1}."
                )
            if sub:
                layers[int(index)].set_params(**{sub: value})
            else:
                layers[int(index)] = value
                self.layers = layers
        return self

    # --------------------------------------------------------- validation
    def _check_layers(self):
        layers = self.layers
        if not isinstance(layers, (list, tuple)) or len(layers) == 0:
            raise ValueError(
                f"layers must be a non-empty list of featurelab layers, got {layers!r}."
            )
        for i, layer in enumerate(layers):
            if not isinstance(layer, _Layer):
                raise TypeError(
                    f"layers[{i}] must be a ConvLayer, PoolLayer, ChannelPoolLayer or "
                    "FunctionLayer, "
                    f"got {type(layer).__name__}."
                )
        return layers

    def _backend(self):
        name = check_option(self.backend, BACKENDS, "backend")
        return get_backend() if name == "auto" else name

    def _chunk(self, per_sample, budget):
        """Samples per chunk: ``batch_size``, or as many as fit ``budget``."""
        if self.batch_size is not None:
            return check_int(self.batch_size, "batch_size", minimum=1)
        return max(1, budget // max(per_sample, 1))

    def _progress(self, iterable, **kw):
        if not self.verbose:
            return iterable
        from tqdm.auto import tqdm

        return tqdm(iterable, **kw)

    # ---------------------------------------------------------------- fit
    def fit(self, X, y=None):
        """Pretrain the layers greedily on ``X`` (labels are ignored).

        Parameters
        ----------
        X : array of shape (n_samples, n_features) or (n_samples, C, *spatial)
            NumPy or CuPy; or ``(n_samples, H, W)`` with ``input_shape=(1, H,
            W)``; or a list of samples ``(C, L)`` / ``(C, H, W)`` of different
            sizes, which are cropped (centred) to the smallest size on every
            axis for the pretraining (``input_shape_`` is that size).
        y : ignored

        Returns
        -------
        self : FeatureNetwork
        """
        start = time.perf_counter()
        if _is_sample_list(X):
            X = _center_crop(_check_samples(X, None))
        batch, index = self._prepare(X)
        current = asarray(batch[index], backend=self.backend_, dtype=np.float32)
        self._pretrain(current)
        self.fit_time_ = time.perf_counter() - start
        return self

    def _prepare(self, X):
        """Everything of ``fit`` but the fitting: validate, clone and seed
        the layers, infer the shapes and draw the fit subset.

        Returns the validated batch and the (sorted) indices of the samples
        the layers are pretrained on.
        """
        layers = self._check_layers()
        self.backend_ = self._backend()
        budget = parse_memory(self.max_memory)
        self._chunk(1, 1)  # validates batch_size
        batch = to_batch(self, X, reset=True)
        n_spatial = batch.ndim - 2
        output = _check_output(self.output, n_spatial)
        # one draw for the fit subset, then one per layer in order (drawn
        # even when a layer has its own seed): layer i's seed depends only on
        # random_state and i, so networks that share their first layers fit
        # them identically whatever their depth
        rng = check_random_state(self.random_state)
        subset_rng = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
        self.layers_ = []
        for layer in layers:
            layer = clone(layer)
            seed = int(rng.randint(np.iinfo(np.int32).max))
            if "random_state" in layer.get_params(deep=False) and layer.random_state is None:
                layer.set_params(random_state=seed)
            self.layers_.append(layer)
        # shapes (validates every layer's parameters before any work)
        shapes = self._layer_shapes(batch.shape[1:])
        self.shapes_ = shapes
        self._output_params = output
        self.n_features_out_ = self._n_out(shapes[-1], output)
        # pretrain on a subset whose stored maps (the input of a layer and
        # its output) fit in half of the budget; the other half is the
        # working space of the chunked transforms between layers
        itemsize = 4
        last_data = self._last_data_layer()
        stored = max(itemsize * (math.prod(shapes[i]) + math.prod(shapes[i + 1]))
                     for i in range(last_data + 1)) if last_data >= 0 else 1
        n = batch.shape[0]
        n_fit = min(n, max(1, (budget // 2) // stored)) if last_data >= 0 else 1
        index = (np.arange(n) if n_fit == n
                 else np.sort(subset_rng.choice(n, n_fit, replace=False)))
        self.n_fit_samples_ = n_fit
        return batch, index

    def _last_data_layer(self):
        """Index of the last layer that learns from data (-1: none)."""
        return max((i for i, layer in enumerate(self.layers_) if layer._needs_data()),
                   default=-1)

    def _pretrain(self, current, start=0):
        """Fit ``layers_[start:]`` greedily; ``current`` holds the fit
        samples' maps at the input of layer ``start`` (on the backend)."""
        budget = parse_memory(self.max_memory)
        last_data = self._last_data_layer()
        n_layers = len(self.layers_)
        for i in self._progress(range(start, n_layers), desc="fit layers",
                                total=n_layers - start):
            layer = self.layers_[i]
            layer.fit(current)
            if i < last_data:
                current = self._apply(current, layer, self.shapes_[i], budget // 2)
            elif i + 1 < n_layers:
                # later layers learn nothing: fix their shapes on one sample
                current = layer._transform(current[:1], _conv_budget(budget))

    @staticmethod
    def _n_out(shape, output):
        if output[0] == "flatten":
            return math.prod(shape)
        grid = output[1]
        if len(grid) != len(shape) - 1:
            raise ValueError(
                f"output size {grid} must have one entry per spatial axis of the "
                f"last maps, of shape {shape}."
            )
        if output[0] == "region" and any(g > s for g, s in zip(grid, shape[1:])):
            raise ValueError(
                f"output regions {grid} must be at most the spatial shape of the "
                f"last maps, {shape[1:]}."
            )
        return shape[0] * math.prod(grid)

    def _apply(self, x, layer, shape, budget, out=None):
        """Push ``x`` through ``layer`` chunk by chunk into one preallocated
        array (or into ``out``, e.g. a NumPy memmap), with ``budget`` bytes
        of working space.  ``x`` may live on the host; chunks are moved to
        the backend."""
        chunk = self._chunk(layer._work_bytes(shape, 4), budget - _conv_budget(budget))
        for start in range(0, x.shape[0], chunk):
            y = layer._transform(asarray(x[start:start + chunk], backend=self.backend_,
                                         dtype=np.float32), _conv_budget(budget))
            if out is None:
                out = get_namespace(y).empty((x.shape[0],) + tuple(y.shape[1:]),
                                             dtype=y.dtype)
            elif isinstance(out, np.ndarray):
                y = to_numpy(y)
            out[start:start + y.shape[0]] = y
        return out

    # ---------------------------------------------------------- transform
    def transform(self, X):
        """Features of ``X``, computed chunk by chunk through every layer.

        Parameters
        ----------
        X : array of shape (n_samples, n_features) or (n_samples, C, *spatial), or list
            A list of samples ``(C, L)`` / ``(C, H, W)`` may mix sizes (the
            channels must be those of the fit): each gets one row of
            ``n_features_out_`` features, which needs an output that pools to
            a fixed size (``('region', ...)`` or ``('adaptive', ...)``; not
            ``'flatten'``) and layers that accept the size (not
            ``sharing='local'``).  Samples of one size go through together.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out_), float32
            NumPy, whatever the backend.

        Examples
        --------
        >>> import numpy as np
        >>> from featurelab.layers import ConvLayer
        >>> from featurelab.network import FeatureNetwork
        >>> rng = np.random.default_rng(0)
        >>> images = [rng.random((1, 12, 12)), rng.random((1, 20, 15)),
        ...           rng.random((1, 9, 30))]
        >>> net = FeatureNetwork([ConvLayer(8, 3)], output=("adaptive", 1, "max"),
        ...                      random_state=0).fit(images)
        >>> net.input_shape_                   # the crops it was pretrained on
        (1, 9, 12)
        >>> net.transform(images).shape        # one row of 8 features per image
        (3, 8)
        """
        check_is_fitted(self)
        if _is_sample_list(X):
            return self._transform_list(X)
        return self._features(to_batch(self, X, reset=False))

    def _transform_list(self, X):
        """Features of a list of samples of any sizes: samples of one shape
        go through the layers together."""
        samples = _check_samples(X, self.input_shape_)
        out = np.empty((len(samples), self.n_features_out_), dtype=np.float32)
        groups = {}
        for i, sample in enumerate(samples):
            groups.setdefault(tuple(sample.shape), []).append(i)
        for shape, index in groups.items():
            shapes = self._shapes_for(shape, index[0])
            xp = get_namespace(samples[index[0]])
            batch = xp.stack([samples[i] for i in index])
            out[np.asarray(index)] = self._features(batch, shapes=shapes)
        return out

    def _layer_shapes(self, shape):
        """``(C, *spatial)`` of samples of ``shape`` and after every layer of
        ``layers_`` (validates the layers' parameters; errors name the layer)."""
        shapes = [tuple(int(s) for s in shape)]
        for i, layer in enumerate(self.layers_):
            try:
                shapes.append(tuple(layer.output_shape(shapes[-1])))
            except (ValueError, TypeError) as exc:
                raise type(exc)(f"layers[{i}]: {exc}") from exc
        return shapes

    def _shapes_for(self, shape, first):
        """The shapes through the layers of samples of ``shape`` (``first``:
        the index of one such sample, for the error messages)."""
        try:
            shapes = self._layer_shapes(shape)
            n_out = self._n_out(shapes[-1], self._output_params)
        except ValueError as exc:
            raise ValueError(f"X[{first}] of shape {tuple(shape)}: {exc}") from exc
        if n_out != self.n_features_out_:
            raise ValueError(
                f"X[{first}] of shape {tuple(shape)} gives {n_out} features, not "
                f"{self.n_features_out_}: output={self.output!r} keeps positions; "
                "use ('region', ...) or ('adaptive', ...) for samples of different "
                "sizes."
            )
        return shapes

    def _features(self, maps, start=0, shapes=None, outputs=None):
        """Features of ``maps``, the input of layer ``start`` (host or
        backend), chunk by chunk through ``layers_[start:]`` and the output
        pooling; ``shapes``: the sample shapes through the layers, when
        not ``shapes_``.  With ``outputs`` (a list of ``output`` values),
        one feature matrix per output from the same pass through the
        layers."""
        budget = parse_memory(self.max_memory)
        layers = self.layers_[start:]
        shapes = self.shapes_ if shapes is None else shapes
        pools = [self._output_params] if outputs is None else [
            _check_output(o, len(shapes[-1]) - 1) for o in outputs]
        widths = [self._n_out(shapes[-1], pool) for pool in pools]
        per = max((layer._work_bytes(s, 4) for layer, s in zip(layers, shapes[start:])),
                  default=4 * math.prod(shapes[start]))
        per += 4 * sum(widths)
        chunk = self._chunk(per, budget - _conv_budget(budget))
        out = [np.empty((maps.shape[0], w), dtype=np.float32) for w in widths]
        starts = range(0, maps.shape[0], chunk)
        for begin in self._progress(starts, desc="transform", total=len(starts)):
            y = asarray(maps[begin:begin + chunk], backend=self.backend_,
                        dtype=np.float32)
            for layer in layers:
                y = layer._transform(y, _conv_budget(budget))
            for features, pool in zip(out, pools):
                features[begin:begin + y.shape[0]] = to_numpy(self._pool_output(y, pool))
        return out[0] if outputs is None else out

    def dense_features(self, X, *, layers="last"):
        """Features of every input position, at the input's resolution.

        For labelling every pixel (or time step) with a scikit-learn
        classifier: ``F = net.dense_features(X)`` then
        ``clf.fit(F.reshape(-1, F.shape[-1]), labels.ravel())``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features) or (n_samples, C, *spatial)
            As for :meth:`transform`, but one array: the samples share a
            size (call it once per size for samples of different sizes).
        layers : 'last', 'all' or list of int, default='last'
            Whose maps: the last layer's, every layer's concatenated
            ("hypercolumns", Hariharan et al. 2015), or those of the given
            layer indices, in that order.

        Returns
        -------
        features : ndarray of shape (n_samples, *spatial, n_channels), float32
            The maps brought to the input's spatial size by nearest
            neighbour: on each axis, input position ``i`` of ``n`` takes map
            position ``i * m // n`` of ``m``.  That aligns maps that cover
            the input uniformly (``padding='same'``, pooling); maps of
            ``'valid'`` convolutions are stretched over the input.  NumPy,
            whatever the backend.

        Examples
        --------
        >>> import numpy as np
        >>> from featurelab.layers import ConvLayer
        >>> from featurelab.network import FeatureNetwork
        >>> X = np.random.default_rng(0).random((3, 1, 16, 16))
        >>> net = FeatureNetwork([ConvLayer(4, 3, padding="same", pool=("max", 2)),
        ...                       ConvLayer(6, 3, padding="same")],
        ...                      random_state=0).fit(X)
        >>> net.dense_features(X).shape               # 6 maps of 8 x 8, upsampled
        (3, 16, 16, 6)
        >>> net.dense_features(X, layers="all").shape  # 4 + 6 channels per pixel
        (3, 16, 16, 10)
        """
        check_is_fitted(self)
        if _is_sample_list(X):
            raise TypeError("dense_features needs one array of samples of one size, got "
                            "a list; call it once per size.")
        n_layers = len(self.layers_)
        if isinstance(layers, str) and layers in ("last", "all"):
            chosen = [n_layers - 1] if layers == "last" else list(range(n_layers))
        elif (isinstance(layers, (list, tuple)) and layers
              and all(isinstance(i, int) and not isinstance(i, bool) for i in layers)):
            chosen = [i % n_layers if -n_layers <= i < n_layers else None for i in layers]
            if None in chosen:
                raise ValueError(f"layers must index the {n_layers} layers, got "
                                 f"{list(layers)}.")
        else:
            raise ValueError(f"layers must be 'last', 'all' or a non-empty list of "
                             f"layer indices, got {layers!r}.")
        batch = to_batch(self, X, reset=False)
        spatial = tuple(batch.shape[2:])
        n_channels = sum(self.shapes_[i + 1][0] for i in chosen)
        budget = parse_memory(self.max_memory)
        per = max(layer._work_bytes(s, 4) for layer, s in zip(self.layers_, self.shapes_))
        per += 8 * math.prod(spatial) * n_channels
        chunk = self._chunk(per, budget - _conv_budget(budget))
        out = np.empty((batch.shape[0],) + spatial + (n_channels,), dtype=np.float32)
        for begin in range(0, batch.shape[0], chunk):
            y = asarray(batch[begin:begin + chunk], backend=self.backend_,
                        dtype=np.float32)
            maps = {}
            for i, layer in enumerate(self.layers_[:max(chosen) + 1]):
                y = layer._transform(y, _conv_budget(budget))
                if i in chosen:
                    maps[i] = y
            offset = 0
            for i in chosen:
                up = _upsample(maps[i], spatial)
                c = up.shape[1]
                out[begin:begin + up.shape[0], ..., offset:offset + c] = to_numpy(
                    get_namespace(up).moveaxis(up, 1, -1))
                offset += c
        return out

    def _pool_output(self, y, output=None):
        output = self._output_params if output is None else output
        if output[0] == "region":
            y = region_pool(y, output[1], mode=output[2])
        elif output[0] == "adaptive":
            y = adaptive_pool(y, output[1], mode=output[2])
        return y.reshape(y.shape[0], -1)

    # --------------------------------------------------------- reporting
    def describe(self):
        """A table of the fitted layers: output shape, kernel source,
        parameter count, and the feature dimension.

        Returns
        -------
        text : str

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from featurelab.layers import ConvLayer
        >>> from featurelab.network import FeatureNetwork
        >>> X = load_digits().data
        >>> net = FeatureNetwork([ConvLayer(8, 3)], input_shape=(1, 8, 8),
        ...                      random_state=0).fit(X)
        >>> print(net.describe())
        layer  type       source   output shape  params
        input                      (1, 8, 8)
        0      ConvLayer  random   (8, 6, 6)     72
        output region 2x2 sum      (8, 2, 2)
        features: 32
        """
        check_is_fitted(self)
        rows = [("layer", "type", "source", "output shape", "params"),
                ("input", "", "", str(self.shapes_[0]), "")]
        for i, (layer, shape) in enumerate(zip(self.layers_, self.shapes_[1:])):
            rows.append((str(i), type(layer).__name__, layer._describe_source(),
                         str(shape), str(layer.n_params_)))
        out = self._output_params
        last = self.shapes_[-1]
        if out[0] == "flatten":
            rows.append(("output flatten", "", "", str(last), ""))
        else:
            grid = "x".join(map(str, out[1]))
            rows.append((f"output {out[0]} {grid} {out[2]}", "", "",
                         str((last[0],) + out[1]), ""))
        widths = [max(len(r[c]) for r in rows if not r[0].startswith("output"))
                  for c in range(5)]
        lines = []
        for r in rows:
            if r[0].startswith("output"):
                lines.append(f"{r[0]:<{sum(widths[:3]) + 4}}{r[3]}".rstrip())
            else:
                lines.append("  ".join(f"{v:<{w}}" for v, w in zip(r, widths)).rstrip())
        lines.append(f"features: {self.n_features_out_}")
        return "\n".join(lines)

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.non_deterministic = False
        return tags
