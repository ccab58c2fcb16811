"""The screening engine: score a grid of architectures, resumably, in parallel.

A screen evaluates every configuration of a :class:`featurelab.spec.ScreenSpec`
(architecture x kernel source x head x seed) with
:func:`featurelab.evaluate.evaluate` under one validation protocol, and
appends one JSON line per finished configuration to a results file
(:class:`featurelab.results.ResultsFile`).  Re-running the same screen skips
what is done, so a screen killed at any moment loses nothing that had
finished.  ``screen.py`` composes estimators; it knows nothing about arrays.
"""

import os
import time
import tracemalloc

import numpy as np

from ._prefix import PrefixCache, evaluate_cached, parse_cache_memory, prefix_keys
from ._validation import check_bool, check_int
from .evaluate import _splits, evaluate
from .results import ResultsFile
from .spec import build_network, load_spec

__all__ = ["COLUMNS", "load_dataset", "load_screen_data", "run_configuration", "screen"]

#: Columns of the table :func:`screen` returns, in order.
COLUMNS = ("key", "architecture", "kernels", "head", "seed", "status", "accuracy",
           "accuracy_std", "fit_time", "transform_time", "head_time", "n_features",
           "n_params", "peak_memory", "error", "scores", "layers", "output")


def load_screen_data(spec):
    """The samples and labels a screen runs on.

    ``'digits'``: scikit-learn's digits as ``(1797, 1, 8, 8)`` images;
    ``'mnist1d'``: the 4000 MNIST-1D training signals (the test signals are
    kept out of every screen); otherwise a local ``.npz`` file with arrays
    ``X`` (``(n_samples, C, ...)``) and ``y`` (read with
    ``allow_pickle=False``).  ``spec.subset`` keeps the first samples.

    Parameters
    ----------
    spec : ScreenSpec, dict or path

    Returns
    -------
    X : ndarray of shape (n_samples, C, *spatial), float32
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> from featurelab.screen import load_screen_data
    >>> X, y = load_screen_data({"data": {"dataset": "digits", "subset": 100},
    ...                          "protocol": {"cv": 3},
    ...                          "screen": {"kernels": ["random"], "heads": ["ridge"],
    ...                                     "seeds": [0]},
    ...                          "architecture": [{"layers": [{"type": "conv"}]}]})
    >>> X.shape, y.shape
    ((100, 1, 8, 8), (100,))
    """
    spec = load_spec(spec)
    return load_dataset(spec.dataset, spec.subset)


def load_dataset(dataset, subset=None):
    """The samples and labels of ``dataset`` (as :func:`load_screen_data`
    reads them), the first ``subset`` of them when given."""
    if dataset == "digits":
        from .datasets import load_digits_images

        X, y = load_digits_images()
    elif dataset == "mnist1d":
        from .datasets import load_mnist1d

        X, y, _, _ = load_mnist1d()
    else:
        path = os.fspath(dataset)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"dataset must be 'digits', 'mnist1d' or an existing .npz file, "
                f"got {dataset!r} (no such file)."
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                X, y = data["X"], data["y"]
        except KeyError as exc:
            raise ValueError(f"dataset file {path!r} must hold arrays 'X' and 'y'.") from exc
        except (OSError, ValueError) as exc:
            raise ValueError(f"dataset file {path!r} is not a readable .npz "
                             f"file: {exc}") from exc
        if X.ndim not in (3, 4) or len(X) != len(y):
            raise ValueError(
                f"dataset file {path!r}: X must be (n_samples, C, L) or "
                f"(n_samples, C, H, W) and y (n_samples,), got X {X.shape} and "
                f"y {y.shape}."
            )
    if subset is not None:
        X, y = X[:subset], y[:subset]
    return np.asarray(X, dtype=np.float32), np.asarray(y)


def _splitter(spec):
    from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

    if spec.cv is not None:
        return StratifiedKFold(spec.cv, shuffle=True, random_state=spec.protocol_seed)
    return StratifiedShuffleSplit(1, test_size=spec.holdout,
                                  random_state=spec.protocol_seed)


def _n_params(network, input_shape):
    """Stored parameters of ``network`` for samples of ``input_shape``,
    from the shapes (no fit needed)."""
    total, shape = 0, tuple(input_shape)
    for layer in network.layers:
        total += layer._n_params(shape)
        shape = layer.output_shape(shape)
    return total


def run_configuration(config, X, y, cv, *, max_memory="512MB", cache=None):
    """Evaluate one configuration; never raises for a failing configuration.

    Parameters
    ----------
    config : dict
        One of :meth:`featurelab.spec.ScreenSpec.configurations`.
    X, y : arrays
    cv : int or CV splitter
    max_memory : int or str
    cache : PrefixCache, optional
        Reuse (and fill) cached layer prefixes
        (:func:`featurelab._prefix.evaluate_cached`); the configuration's
        keys are released from it when done.

    Returns
    -------
    row : dict
        The configuration's identity (key, architecture, kernels, head, seed,
        layers, output), ``status`` ``'ok'`` or ``'failed'`` (with
        ``error``), and on success the scores of
        :class:`featurelab.evaluate.EvaluationResult`, ``n_params`` and
        ``peak_memory`` (bytes traced by :mod:`tracemalloc` during the
        evaluation: host allocations of NumPy and Python).
    """
    row = {name: config[name] for name in ("key", "architecture", "kernels", "head",
                                           "seed", "layers", "output")}
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    keys = ()
    try:
        network = build_network(config, max_memory=max_memory)
        if cache is None:
            result = evaluate(network, X, y, head=config["head"], cv=cv,
                              random_state=config["seed"])
        else:
            keys = prefix_keys(network)
            result = evaluate_cached(network, X, y, head=config["head"],
                                     splits=_splits(cv, y, None), cache=cache,
                                     random_state=config["seed"])
        n_params = _n_params(network, X.shape[1:])
    except Exception as exc:  # noqa: BLE001 - a failed configuration is a result
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    else:
        row.update(status="ok", error=None, n_params=n_params, **result.to_dict())
        row["peak_memory"] = int(tracemalloc.get_traced_memory()[1])
    finally:
        if cache is not None:
            cache.release(keys)
        if not tracing:
            tracemalloc.stop()
    row["wall_time"] = time.perf_counter() - start
    return row


def _network(config, max_memory):
    """The network of a configuration, or None when it does not build (it
    will fail as a row)."""
    try:
        return build_network(config, max_memory=max_memory)
    except Exception:  # noqa: BLE001 - reported when the configuration runs
        return None


def _static_keys(config, max_memory):
    """The prefix keys of a configuration (empty when it does not build)."""
    network = _network(config, max_memory)
    return [] if network is None else prefix_keys(network)


def _tasks(todo, max_memory, n_workers, caching):
    """Split ``todo`` into tasks: configurations that share a first layer
    (same layer, kernels and seed) form one task, run by one worker with one
    prefix cache, ordered so that configurations sharing longer prefixes run
    next to each other.  With fewer tasks than workers, the largest tasks are
    halved."""
    if not caching:
        return [[config] for config in todo]
    groups = {}
    for config in todo:
        keys = _static_keys(config, max_memory)
        first = keys[0] if keys else ("failed", config["key"])
        groups.setdefault(first, []).append((keys, config))
    tasks = [[config for _, config in sorted(group, key=lambda kc: kc[0])]
             for group in groups.values()]
    while len(tasks) < n_workers:
        tasks.sort(key=len)
        if len(tasks[-1]) < 2:
            break
        big = tasks.pop()
        tasks += [big[:len(big) // 2], big[len(big) // 2:]]
    return tasks


def run_task(configs, X, y, cv, *, max_memory="512MB", cache_memory="512MB",
             cache_dir=None):
    """Yield the row of every configuration of ``configs`` in order, with
    one :class:`~featurelab._prefix.PrefixCache` over them (none when
    ``cache_memory`` is None or a single configuration runs)."""
    if cache_memory is None or len(configs) < 2:
        for config in configs:
            yield run_configuration(config, X, y, cv, max_memory=max_memory)
        return
    with PrefixCache(cache_memory, cache_dir) as cache:
        networks = (_network(config, max_memory) for config in configs)
        cache.plan(network for network in networks if network is not None)
        for config in configs:
            yield run_configuration(config, X, y, cv, max_memory=max_memory,
                                    cache=cache)


def _run_in_worker(configs, X, y, cv, max_memory, cache_memory, cache_dir, n_threads):
    """A worker's job: one task with ``n_threads`` BLAS threads."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads):
        return list(run_task(configs, X, y, cv, max_memory=max_memory,
                             cache_memory=cache_memory, cache_dir=cache_dir))


def _progress(total, verbose):
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="screen", unit="config")


def screen(spec, *, results="screen.jsonl", n_jobs=1, scheduler=None, resume=True,
           verbose=True, cache_memory="512MB", cache_dir=None):
    """Score every configuration of a screen; return the table of results.

    Parameters
    ----------
    spec : ScreenSpec, dict or path to a TOML file
        See :func:`featurelab.spec.load_spec`.
    results : str, path or None, default='screen.jsonl'
        The JSON-lines results file: one line per finished configuration,
        flushed and fsync'ed.  A file holds the results of one dataset and
        protocol (``spec.data_hash``); a file of another is refused.  None
        keeps the results in memory only.
    n_jobs : int, default=1
        Configurations evaluated in parallel (joblib processes; -1: one per
        core).  Each worker gets ``cores // n_jobs`` BLAS threads
        (threadpoolctl), so that workers do not oversubscribe the cores.
    scheduler : str, optional
        ``'tcp://host:port'`` of a Dask distributed scheduler, or
        ``'local'`` for a ``distributed.LocalCluster``: the same
        configurations run on its workers (needs ``featurelab[dask]``).
    resume : bool, default=True
        Skip the configurations already in ``results``.  False starts the
        file afresh (its rows are deleted).
    verbose : bool, default=True
        A progress bar over configurations, with the best accuracy so far.
    cache_memory : int or str or None, default='512MB'
        Memory for the prefix cache of each worker: configurations that
        share their first layers (same layer parameters, kernel source and
        seed) fit those layers and compute their maps once per fold, and
        configurations that differ only in the head share their features.
        Cached maps beyond this budget are written to ``.npy`` files (never
        pickled); ``0`` keeps none in memory; None disables the cache.
        Results are the same either way.
    cache_dir : str or path, optional
        Where the cache's temporary directories for spilled maps are made
        (removed when a task ends); default: the system's temporary
        directory.

    Returns
    -------
    table : pandas.DataFrame
        One row per configuration of ``spec`` (in the order of
        ``spec.configurations()``), with the columns :data:`COLUMNS`.

    Examples
    --------
    >>> from featurelab.screen import screen
    >>> spec = {"data": {"dataset": "digits", "subset": 300},
    ...         "protocol": {"cv": 3},
    ...         "screen": {"kernels": ["random"], "heads": ["ridge"], "seeds": [0]},
    ...         "architecture": [
    ...             {"name": "k8", "layers": [{"type": "conv", "n_kernels": 8, "size": 3}]},
    ...             {"name": "k16", "layers": [{"type": "conv", "n_kernels": 16, "size": 3}]}]}
    >>> table = screen(spec, results=None, verbose=False)
    >>> list(table["architecture"]), list(table["status"])
    (['k8', 'k16'], ['ok', 'ok'])
    >>> bool((table["accuracy"] > 0.8).all())
    True
    """
    import pandas as pd

    spec = load_spec(spec)
    n_jobs = check_int(n_jobs, "n_jobs")
    if n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be -1 or >= 1, got {n_jobs}.")
    resume = check_bool(resume, "resume")
    verbose = check_bool(verbose, "verbose")
    if cache_memory is not None:
        parse_cache_memory(cache_memory)
    if cache_dir is not None and not os.path.isdir(cache_dir):
        raise FileNotFoundError(f"cache_dir must be an existing directory, got "
                                f"{os.fspath(cache_dir)!r}.")
    configs = spec.configurations()
    X, y = load_screen_data(spec)
    cv = _splitter(spec)
    store = None
    rows = {}
    if results is not None:
        if not resume and os.path.exists(results):
            os.remove(results)
        store = ResultsFile(results, spec.data_hash)
        rows = {row["key"]: row for row in store.read()}
    todo = [c for c in configs if c["key"] not in rows]
    bar = _progress(len(configs), verbose)
    if bar is not None:
        bar.update(len(configs) - len(todo))
    best = max((r["accuracy"] for r in rows.values() if r.get("status") == "ok"),
               default=None)

    def record(row):
        nonlocal best
        if store is not None:
            store.append(row)
        rows[row["key"]] = row
        if row["status"] == "ok" and (best is None or row["accuracy"] > best):
            best = row["accuracy"]
        if bar is not None:
            bar.update(1)
            if best is not None:
                bar.set_postfix(best=f"{best:.4f}")

    try:
        for row in _execute(todo, X, y, cv, spec.max_memory, n_jobs, scheduler,
                            cache_memory, cache_dir):
            record(row)
    finally:
        if bar is not None:
            bar.close()
    table = pd.DataFrame([rows[c["key"]] for c in configs])
    for column in COLUMNS:
        if column not in table:
            table[column] = None
    return table[list(COLUMNS) + [c for c in table.columns if c not in COLUMNS]]


def _execute(todo, X, y, cv, max_memory, n_jobs, scheduler, cache_memory, cache_dir):
    """Yield the rows of ``todo`` as they finish: one by one in this process
    (``n_jobs=1``), or task by task from the workers."""
    if not todo:
        return
    caching = cache_memory is not None
    if n_jobs == 1 and scheduler is None:
        for task in _tasks(todo, max_memory, 1, caching):
            yield from run_task(task, X, y, cv, max_memory=max_memory,
                                cache_memory=cache_memory, cache_dir=cache_dir)
        return
    from joblib import Parallel, delayed, parallel_config

    cores = os.cpu_count() or 1
    client = cluster = None
    if scheduler is None:
        workers = cores if n_jobs == -1 else n_jobs
    else:
        client, cluster = _dask_client(scheduler)
        workers = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
    try:
        n_threads = max(1, cores // max(workers, 1))
        tasks = _tasks(todo, max_memory, max(workers, n_jobs), caching)
        jobs = (delayed(_run_in_worker)(task, X, y, cv, max_memory, cache_memory,
                                        cache_dir, n_threads) for task in tasks)
        with parallel_config(backend="dask" if client is not None else "loky"):
            for rows in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs):
                yield from rows
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _dask_client(scheduler):
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError(
            "scheduler needs Dask distributed: pip install 'featurelab[dask]'."
        ) from exc
    if not isinstance(scheduler, str) or not scheduler:
        raise ValueError(f"scheduler must be 'local' or 'tcp://host:port', got "
                         f"{scheduler!r}.")
    if scheduler == "local":
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster
    return Client(scheduler), None
