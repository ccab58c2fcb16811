"""Prefix caching for screens: shared first layers are computed once per fold.

Configurations of a screen often share their first layers: a grid over the
second layer's width, a sweep of output poolings, several heads on one
network.  Layer seeds depend only on the network seed and the layer's
position (:class:`featurelab.network.FeatureNetwork`), so such networks fit
their shared layers identically; :class:`PrefixCache` keeps, per fold, the
maps that the fitted layers of a shared prefix give the training and test
samples, and :func:`evaluate_cached` starts every configuration from the
deepest cached prefix it has.

The cache holds host (NumPy) arrays within a byte budget; an entry that does
not fit is written to ``.npy`` files in a private temporary directory and read
back memory-mapped (never pickled).  Entries are dropped as soon as no
configuration still to run needs them: the planner counts the users of every
prefix up front (:meth:`PrefixCache.plan`).
"""

import dataclasses
import math
import os
import shutil
import tempfile
import time

import numpy as np
from sklearn.base import clone

from ._estimator import to_batch
from .backend import asarray, parse_memory
from .evaluate import _resolve_head, _score_features, _summarize
from .network import _check_output

__all__ = ["PrefixCache", "evaluate_cached", "parse_cache_memory", "prefix_keys"]


def parse_cache_memory(value):
    """Bytes of a ``cache_memory`` budget: as
    :func:`featurelab.backend.parse_memory`, and 0 (spill everything)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value == 0:
        return 0
    return parse_memory(value, "cache_memory")


def prefix_keys(network):
    """The identity of every prefix of an unfitted ``network``.

    Element ``d - 1`` identifies the first ``d`` layers (their classes and
    parameters, and the network seed that seeds them); the last element, one
    past the layers, adds the output pooling: networks with equal last keys
    compute the same features.  The fit subset is not part of the key (it
    depends on the data): :func:`evaluate_cached` adds its size.
    """
    keys, layers = [], []
    for layer in network.layers:
        params = sorted(layer.get_params(deep=False).items())
        layers.append((type(layer).__name__, params))
        keys.append(repr((network.random_state, layers)))
    keys.append(repr((network.random_state, layers, network.output)))
    return keys


@dataclasses.dataclass
class _Entry:
    """A cached prefix of one fold: the maps (or features) its fitted layers
    give the training and test samples, and what they cost.  The fitted
    layers themselves are not needed again: every later layer starts from
    the maps."""

    train: np.ndarray
    test: np.ndarray
    fit_time: float
    train_time: float
    test_time: float
    nbytes: int = 0           # bytes held in memory (0 when spilled)
    paths: tuple = ()         # spilled .npy files


class PrefixCache:
    """Fitted layer prefixes and their maps, per fold, within a memory budget.

    Parameters
    ----------
    max_memory : int or str
        Bytes of maps held in memory (``'512MB'``, ``0``...).  Entries that
        do not fit are spilled to ``.npy`` files.
    directory : str or path, optional
        Where a private temporary directory for spilled entries is made
        (created on the first spill, removed by :meth:`close`); default: the
        system's temporary directory.

    Attributes
    ----------
    nbytes : int
        Bytes of maps held in memory now (never above ``max_memory``).
    hits, spills : int
        Prefixes reused, and entries written to disk, so far.

    Examples
    --------
    >>> from featurelab._prefix import PrefixCache, prefix_keys
    >>> from featurelab.layers import ConvLayer
    >>> from featurelab.network import FeatureNetwork
    >>> one = FeatureNetwork([ConvLayer(8, 3)], random_state=0)
    >>> two = FeatureNetwork([ConvLayer(8, 3), ConvLayer(16, 3)], random_state=0)
    >>> first = prefix_keys(one)[0]             # the first layer and the seed
    >>> first == prefix_keys(two)[0]
    True
    >>> with PrefixCache(max_memory=100) as cache:
    ...     cache.plan([one, two])
    ...     train = cache.allocate((10, 4))    # 160 bytes: over the budget
    ...     cache.shared(first), cache.extended(first), type(train).__name__
    (True, True, 'memmap')
    """

    def __init__(self, max_memory, directory=None):
        self.max_memory = parse_cache_memory(max_memory)
        self.directory = directory
        self.nbytes = 0
        self.hits = 0
        self.spills = 0
        self._uses = {}
        self._outputs = {}
        self._deeper = {}
        self._entries = {}
        self._tmp = None
        self._files = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ planning
    def plan(self, networks):
        """Count the users of every prefix key of ``networks`` (the
        configurations still to run; see :func:`prefix_keys`), and note the
        outputs of the networks that share all their layers."""
        for network in networks:
            keys = prefix_keys(network)
            for key in set(keys):
                self._uses[key] = self._uses.get(key, 0) + 1
            for key in keys[:-2]:
                self._deeper[key] = self._deeper.get(key, 0) + 1
            self._outputs.setdefault(keys[-2], {})[keys[-1]] = network.output

    def shared(self, key):
        """Whether a configuration still to run besides the current one
        uses ``key``."""
        return self._uses.get(key, 0) >= 2

    def uses(self, key):
        """How many configurations still to run (the current one included)
        use ``key``."""
        return self._uses.get(key, 0)

    def extended(self, key):
        """Whether a configuration still to run has more layers after the
        prefix ``key``."""
        return self._deeper.get(key, 0) > 0

    def outputs(self, layers_key):
        """``{features key: output}`` of the configurations still to run
        whose layers are ``layers_key``."""
        return {k: o for k, o in self._outputs.get(layers_key, {}).items()
                if self._uses.get(k, 0) > 0}

    def release(self, keys):
        """A configuration using ``keys`` is done: drop the entries nobody
        else needs."""
        for key in keys[:-2]:
            self._deeper[key] = self._deeper.get(key, 0) - 1
        for key in set(keys):
            uses = self._uses.get(key, 0) - 1
            self._uses[key] = uses
            if uses <= 0:
                for dynamic in [k for k in self._entries if k[-1] == key]:
                    self._drop(dynamic)

    # ------------------------------------------------------------- storage
    def _reserve(self, nbytes):
        """Reserve ``nbytes`` of the memory budget if they fit (until the
        entry is dropped); otherwise count a spill.  Returns whether they
        fit."""
        if self.nbytes + nbytes <= self.max_memory:
            self.nbytes += nbytes
            return True
        self.spills += 1
        return False

    def allocate(self, shape):
        """A float32 array of ``shape`` for maps to be cached: in memory when
        it fits the budget, otherwise a ``.npy`` file opened as a memmap."""
        if self._reserve(4 * math.prod(shape)):
            return np.empty(shape, dtype=np.float32)
        return np.lib.format.open_memmap(self._new_path(), mode="w+",
                                         dtype=np.float32, shape=shape)

    def store(self, array):
        """Keep ``array`` (computed outside the cache): in memory when it
        fits the budget, otherwise saved to ``.npy`` and memory-mapped."""
        array = np.asarray(array)
        if self._reserve(array.nbytes):
            return array
        path = self._new_path()
        np.save(path, array, allow_pickle=False)
        return np.load(path, mmap_mode="r", allow_pickle=False)

    def put(self, key, entry):
        entry.nbytes = sum(a.nbytes for a in (entry.train, entry.test)
                           if not isinstance(a, np.memmap))
        entry.paths = tuple(a.filename for a in (entry.train, entry.test)
                            if isinstance(a, np.memmap))
        self._entries[key] = entry

    def get(self, key, count=True):
        """The entry of ``key``, or None; ``count``: a hit if found."""
        entry = self._entries.get(key)
        if entry is not None and count:
            self.hits += 1
        return entry

    def _new_path(self):
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="featurelab-cache-", dir=self.directory)
        self._files += 1
        return os.path.join(self._tmp, f"maps-{self._files}.npy")

    def _drop(self, key):
        entry = self._entries.pop(key)
        self.nbytes -= entry.nbytes
        entry.train = entry.test = None
        for path in entry.paths:
            try:
                os.remove(path)
            except OSError:  # pragma: no cover - still mapped on some platforms
                pass

    def close(self):
        """Drop every entry and remove the spill directory."""
        for key in list(self._entries):
            self._drop(key)
        self.nbytes = 0
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _fits(network, output):
    """Whether ``output`` applies to the last maps of the fitted ``network``
    (a configuration whose output does not will fail on its own)."""
    last = network.shapes_[-1]
    try:
        network._n_out(last, _check_output(output, len(last) - 1))
    except (TypeError, ValueError):
        return False
    return True


def _rows(maps, index, full):
    """The fit samples' maps: all of ``maps`` when the subset is the whole
    set, else the rows ``index`` (a copy in memory)."""
    return maps if full else maps[index]


def evaluate_cached(network, X, y, *, head, splits, cache, random_state=None):
    """:func:`featurelab.evaluate.evaluate` of ``network`` (scaled features,
    these ``splits``), reusing and filling ``cache``.

    Per fold: cached features (a configuration with the same layers and
    output ran before) are used as they are.  Otherwise the deepest cached
    prefix is reused (its maps); every deeper prefix that a configuration
    still to run shares, short of the last layer, is computed layer by
    layer and cached; the rest runs as in ``FeatureNetwork.transform``, in
    one pass that also pools the last maps with the output of every
    configuration still to run that has the same layers, whose features are
    cached (the full maps of the last layer are not stored for that).  The times of a
    reused prefix or pass are charged again, so that ``fit_time`` and
    ``transform_time`` are the network's own cost whatever ran before it.
    The caller releases the network's keys when done
    (:meth:`PrefixCache.release`).

    Returns
    -------
    result : EvaluationResult
    """
    head = _resolve_head(head, random_state)
    keys = prefix_keys(network)
    n_layers = len(network.layers)
    # prefixes to store: shared ones where a network still to run turns
    # away from this one (it has other layers after, or ends there while
    # this one goes on); the whole stack only when a deeper network builds
    # on it: networks that differ only in their output share one pass over
    # the last layers instead
    depth = max((d for d in range(1, n_layers + 1) if cache.shared(keys[d - 1]) and (
        cache.uses(keys[d - 1]) > cache.uses(keys[d]) if d < n_layers
        else cache.extended(keys[d - 1]))), default=0)
    runs = []
    for fold, (train, test) in enumerate(splits):
        fitted = clone(network)
        start = time.perf_counter()
        batch, index = fitted._prepare(X[train])
        test_batch = to_batch(fitted, X[test], reset=False)
        full = len(index) == batch.shape[0]
        prepare_time = time.perf_counter() - start

        def key(static):
            """The cache key of a prefix (or features) key in this fold."""
            return (fold, len(index), static)

        def fit_input(maps, everything):
            """The fit samples' maps, or the first one only for a layer that
            learns nothing from data (its fit needs the shape)."""
            rows = _rows(maps, index, full) if everything else maps[index[:1]]
            return asarray(rows, backend=fitted.backend_, dtype=np.float32)

        features = cache.get(key(keys[n_layers]))
        if features is not None:
            F_train, F_test = features.train, features.test
            fit_t, train_t, test_t = (features.fit_time, features.train_time,
                                      features.test_time)
        else:
            reached, train_maps, test_maps = 0, batch, test_batch
            fit_t, train_t, test_t = prepare_time, 0.0, 0.0
            for d in range(n_layers, 0, -1):
                entry = cache.get(key(keys[d - 1]))
                if entry is not None:
                    reached, train_maps, test_maps = d, entry.train, entry.test
                    fit_t, train_t, test_t = entry.fit_time, entry.train_time, entry.test_time
                    break
            budget = parse_memory(fitted.max_memory) // 2
            for i in range(reached, depth):
                layer, shape = fitted.layers_[i], fitted.shapes_[i]
                t0 = time.perf_counter()
                layer.fit(fit_input(train_maps, layer._needs_data()))
                t1 = time.perf_counter()
                out_shape = fitted.shapes_[i + 1]
                train_maps = fitted._apply(train_maps, layer, shape, budget,
                                           out=cache.allocate((len(train),) + out_shape))
                t2 = time.perf_counter()
                test_maps = fitted._apply(test_maps, layer, shape, budget,
                                          out=cache.allocate((len(test),) + out_shape))
                t3 = time.perf_counter()
                fit_t, train_t, test_t = fit_t + t1 - t0, train_t + t2 - t1, test_t + t3 - t2
                cache.put(key(keys[i]), _Entry(train_maps, test_maps, fit_t, train_t, test_t))
            reached = max(reached, depth)
            t0 = time.perf_counter()
            fitted._pretrain(fit_input(train_maps, reached <= fitted._last_data_layer()),
                             start=reached)
            # this network's output first, then those of the configurations
            # still to run with the same layers (whose features are not cached)
            outputs = {keys[n_layers]: network.output}
            for other, output in cache.outputs(keys[n_layers - 1]).items():
                if other not in outputs and _fits(fitted, output) and cache.get(
                        key(other), count=False) is None:
                    outputs[other] = output
            t1 = time.perf_counter()
            trains = fitted._features(train_maps, start=reached,
                                      outputs=list(outputs.values()))
            t2 = time.perf_counter()
            tests = fitted._features(test_maps, start=reached,
                                     outputs=list(outputs.values()))
            t3 = time.perf_counter()
            fit_t, train_t, test_t = fit_t + t1 - t0, train_t + t2 - t1, test_t + t3 - t2
            F_train, F_test = trains[0], tests[0]
            for j, other in enumerate(outputs):
                if other != keys[n_layers] or cache.shared(other):
                    cache.put(key(other),
                              _Entry(cache.store(trains[j]), cache.store(tests[j]),
                                     fit_t, train_t, test_t))
        score, head_t = _score_features(head, True, F_train, y[train], F_test, y[test])
        runs.append((score, fit_t + train_t, test_t, head_t, F_train.shape[1]))
    return _summarize(runs)
