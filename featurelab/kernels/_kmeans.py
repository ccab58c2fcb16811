"""k-means clustering with GEMM distances, written once for NumPy and CuPy.

The hot loop is one matrix product per chunk of samples (BLAS / cuBLAS), an
``argmin`` per row and one ``bincount`` per feature; there is no Python loop
over samples or clusters, and no scikit-learn estimator.  The
measurements behind the choices below are in ``benchmarks/RESULTS.md``
(section "k-means: featurelab GEMM k-means vs scikit-learn").
"""

import math
import numbers

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_array, check_bool, check_int, check_option
from ..backend import get_namespace, is_cupy_array, parse_memory

__all__ = ["kmeans"]

INITS = ("k-means++", "random")

# On the CPU the assignment step works on blocks of samples whose distance
# block is at most this size, even when max_memory allows more.  On the
# 2-core benchmark machine (32 MiB L3; 100k whitened patches, 108 features,
# float32, 1600 centres) one assignment pass took 151-176 ms (Haswell
# kernels) and 86-92 ms (SkylakeX) for 8-16 MiB blocks, 17-33 % more for
# 0.5 MiB and 8-40 % more for 128 MiB; with 256 centres every block from
# 2 to 16 MiB was within 1-2 ms (benchmarks/RESULTS.md).  CuPy gets the
# whole max_memory budget.
_CPU_BLOCK_BYTES = 2**23


def kmeans(X, n_clusters, *, init="k-means++", max_iter=300, tol=1e-4,
           spherical=False, random_state=None, max_memory="512MB"):
    """Cluster the rows of ``X`` with Lloyd's k-means (or spherical k-means).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data, NumPy or CuPy; everything is computed on that backend.
        float32 and float64 are kept; bool and integer input is cast to
        float64.  Must be finite.
    n_clusters : int
        Number of centres, ``1 <= n_clusters <= n_samples``.
    init : {'k-means++', 'random'} or array of shape (n_clusters, n_features), \
default='k-means++'
        ``'k-means++'``: greedy k-means++ (Arthur & Vassilvitskii 2007) as
        in scikit-learn: each new centre is the best, for the potential, of
        ``2 + int(log(n_clusters))`` candidates drawn with probability
        proportional to the squared distance to the nearest centre chosen so
        far.  ``'random'``: ``n_clusters`` rows of ``X`` at distinct
        indices drawn uniformly.  Both draw the same random numbers as
        scikit-learn's ``KMeans`` (``sample_weight=None``), so the same seed
        gives the same initial samples up to floating-point ties, and on
        float64 data without repeated rows the same run as
        ``KMeans(n_clusters, init=init, n_init=1, algorithm='lloyd')``.  An array gives the initial centres
        themselves (on the backend of ``X``, cast to its dtype; with
        ``spherical=True`` its rows are normalised and must be non-zero);
        it is not modified.
    max_iter : int, default=300
        Maximum number of Lloyd iterations (>= 1).
    tol : float, default=1e-4
        Convergence tolerance (>= 0), as in scikit-learn: the iterations stop
        when the sum over centres of the squared centre shift is at most
        ``tol * mean(var(X, axis=0))`` (computed on the unit-normalised rows
        when ``spherical=True``).  They also stop when an assignment step
        leaves every label unchanged.  ``tol=0`` runs until the labels no
        longer change or ``max_iter`` is reached.
    spherical : bool, default=False
        Spherical k-means (Dhillon & Modha 2001): the rows of ``X`` and the
        centres are normalised to unit Euclidean norm, each sample goes to
        the centre of largest cosine similarity, and each new centre is the
        normalised sum of its samples.  Rows of ``X`` that are all zeros stay
        zero (equally similar to every centre).
    random_state : None, int or numpy.random.RandomState, default=None
        Seeds the initialisation; passed to
        ``sklearn.utils.check_random_state``.  Random numbers are drawn on the
        host with NumPy and the resulting indices/values moved to the
        backend, so a given seed picks the same samples on NumPy and CuPy.
    max_memory : int or str, default='512MB'
        Budget for the temporary arrays of one step: the
        ``(chunk, n_clusters)`` block of distances and the
        ``(chunk, n_features)`` block of differences of the final inertia.
        Samples are processed in chunks to respect it (at least one sample per
        chunk); on the CPU the distance block is further kept to 8 MiB
        (1310 samples for 1600 float32 centres), which is faster.  See
        Notes for the memory that does not depend on it.

    Returns
    -------
    centers : array of shape (n_clusters, n_features)
        Final centres, dtype and backend of ``X`` (unit rows if
        ``spherical``).
    labels : array of shape (n_samples,), int64
        Index of the nearest final centre of every sample, on the backend of
        ``X``.  Among centres that are exactly equal, the one of lowest
        index takes all their samples.
    inertia : float
        Sum over samples of the squared Euclidean distance to the assigned
        centre, accumulated in float64 from the exact differences
        ``x - c`` (not from the GEMM shortcut).  With ``spherical=True`` it
        is computed on the unit-normalised rows, so it equals
        ``2 * sum(1 - cos(x, c_label))`` (an all-zero row adds 1).
    n_iter : int
        Number of Lloyd iterations run.

    Raises
    ------
    TypeError
        For non-numeric dtypes, wrong parameter types, or ``X`` and ``init``
        on different backends.
    ValueError
        For a wrong shape, non-finite values, ``n_clusters`` out of
        ``[1, n_samples]``, an unknown ``init`` string, ``max_iter < 1``,
        ``tol < 0`` or a bad ``max_memory``.

    Notes
    -----
    **Iteration.**  One Lloyd iteration is an assignment step (every sample
    to its nearest centre) followed by an update step (every centre to the
    mean of its samples).  After the last iteration the samples are
    assigned once more, so ``labels`` and ``inertia`` always refer to the
    returned ``centers``; ``n_iter`` iterations therefore cost
    ``n_iter + 1`` assignment steps, as in scikit-learn's ``lloyd``.  The
    inertia after ``m`` iterations never increases with ``m`` (up to
    floating-point rounding), empty-cluster re-seeding included.

    **Assignment by GEMM.**  Squared distances are expanded as
    ``||x||^2 - 2 x.c + ||c||^2``.  The data are stored once, transposed,
    with an extra row of ones, ``[X^T; 1]`` of shape
    ``(n_features + 1, n_samples)``, and the centres as
    ``[-2 C^T; ||c||^2]``, so that one matrix product per chunk of samples
    gives ``||c||^2 - 2 x.c`` without a separate broadcast addition; the
    ``argmin`` of each row is the label and ``||x||^2`` is added only to the
    selected entries.  The products run in the dtype of ``X`` (float32 stays
    float32), as in scikit-learn, so for float32 data nearly tied centres
    may be ordered differently than an exact computation would order them.
    Exactly equal centres are found before each assignment step (only
    those sharing a squared norm are compared, by a lexicographic sort)
    and all but the lowest-indexed copy are excluded, so they end up empty
    and are re-seeded: without this, rounding in the GEMM splits the
    samples nearest to a repeated centre between its copies in a way that
    depends on the BLAS library.  Initial centres drawn from data with
    repeated rows (flat image patches) are often repeated.

    **Update by bincount.**  Per-cluster sums are ``n_features + 1`` calls of
    ``bincount(labels, weights=row, minlength=n_clusters)``, one per row of
    the transposed data (the row of ones gives the counts), accumulated in
    float64 on both backends.  On the 100k x 108 float32 benchmark with
    1600 clusters this takes 14 ms per iteration on the CPU, against
    29-30 ms for one flattened ``bincount``, 25-27 ms for a sort and
    ``add.reduceat``, 65-67 ms for a sort and a float64
    ``cumsum``, 67-69 ms for ``np.add.at`` and 180-260 ms for one-hot
    matrix products (benchmarks/RESULTS.md).  ``bincount`` is single
    threaded and costs about the same for any number of clusters, so with
    few clusters the update step, not the distance GEMM, dominates.

    **Empty clusters.**  When the assignment leaves ``m`` clusters empty, the
    ``m`` samples farthest from their assigned centre (distances of that
    assignment step; ties go to the lowest sample index) are moved to
    them, the farthest to the empty cluster of lowest index: each becomes
    the only member, hence the centre, of its new cluster and leaves its
    old cluster, whose
    mean is computed without it (scikit-learn's rule).  This is
    deterministic and lowers the inertia.  A cluster that thereby loses all
    its samples, or a spherical cluster whose samples sum to zero, keeps its
    previous centre.  Clusters can still be empty in the returned labels
    when ``X`` has fewer distinct rows than ``n_clusters``, or when the last
    assignment step empties one.

    **Memory.**  Besides the chunked temporaries bounded by ``max_memory``,
    ``kmeans`` holds one transposed copy of ``X`` with one extra row, a few
    arrays of ``n_samples`` entries, and, during k-means++ initialisation,
    ``2 + int(log(n_clusters))`` distance rows of ``n_samples`` entries.

    **Restarts.**  One run from one initialisation (scikit-learn's
    ``n_init=1``); call again with other seeds and keep the lowest inertia
    for restarts.

    References
    ----------
    .. [1] S. P. Lloyd, "Least squares quantization in PCM", IEEE
       Transactions on Information Theory 28(2), 1982.
    .. [2] D. Arthur and S. Vassilvitskii, "k-means++: the advantages of
       careful seeding", SODA 2007.
    .. [3] I. S. Dhillon and D. S. Modha, "Concept decompositions for large
       sparse text data using clustering", Machine Learning 42, 2001.
    .. [4] A. Coates and A. Y. Ng, "Learning feature representations with
       k-means", Neural Networks: Tricks of the Trade, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.kernels._kmeans import kmeans
    >>> X = np.array([[0., 0.], [0., 1.], [10., 0.], [10., 1.]])
    >>> centers, labels, inertia, n_iter = kmeans(X, 2, random_state=0)
    >>> centers[np.argsort(centers[:, 0])]
    array([[ 0. ,  0.5],
           [10. ,  0.5]])
    >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
    True
    >>> inertia
    1.0
    """
    (xp, X, n_clusters, init, max_iter, tol, spherical, random_state,
     budget) = _validate(X, n_clusters, init, max_iter, tol, spherical,
                         random_state, max_memory)
    return _kmeans(xp, X, n_clusters, init, max_iter, tol, spherical,
                   random_state, budget)


def _validate(X, n_clusters, init, max_iter, tol, spherical, random_state,
              max_memory):
    """Check every argument of :func:`kmeans`; return them normalised."""
    xp = get_namespace(X)
    X = check_array(X, "X", 2, "(n_samples, n_features)")
    n_samples, n_features = X.shape
    if n_features == 0:
        raise ValueError(
            f"X must have at least one feature, got shape {tuple(X.shape)}."
        )
    n_clusters = check_int(n_clusters, "n_clusters", minimum=1)
    if n_clusters > n_samples:
        raise ValueError(
            f"n_clusters must be <= n_samples = {n_samples}, got "
            f"n_clusters={n_clusters}."
        )
    if not bool(xp.isfinite(X).all()):
        raise ValueError("X must contain only finite values, got NaN or inf.")
    if isinstance(init, str):
        init = check_option(init, INITS, "init")
    else:
        init = _check_init_array(xp, X, init, n_clusters)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real):
        raise TypeError(
            f"tol must be a real number >= 0, got {type(tol).__name__} "
            f"{tol!r}."
        )
    if not 0 <= tol < math.inf:
        raise ValueError(f"tol must be a finite real number >= 0, got {tol!r}.")
    spherical = check_bool(spherical, "spherical")
    random_state = check_random_state(random_state)
    budget = parse_memory(max_memory)
    if spherical and not isinstance(init, str):
        norms = xp.sqrt(xp.einsum("ij,ij->i", init, init))
        if not bool((norms > 0).all()):
            raise ValueError(
                "init must have non-zero rows when spherical=True, got "
                f"{int(xp.count_nonzero(norms == 0))} all-zero row(s)."
            )
        init = init / norms[:, None]
    return (xp, X, n_clusters, init, max_iter, float(tol), spherical,
            random_state, budget)


def _check_init_array(xp, X, init, n_clusters):
    if is_cupy_array(init) != is_cupy_array(X):
        where = {True: "a CuPy (device)", False: "a NumPy (host)"}
        raise TypeError(
            f"init must be on the backend of X: X is {where[is_cupy_array(X)]} "
            f"array, init is {where[is_cupy_array(init)]} "
            f"{type(init).__name__}. Move it with featurelab.backend.asarray."
        )
    n_features = X.shape[1]
    layout = f"(n_clusters, n_features) = ({n_clusters}, {n_features})"
    init = check_array(init, "init", 2, layout)
    if tuple(init.shape) != (n_clusters, n_features):
        raise ValueError(
            f"init must be 'k-means++', 'random' or an array of shape "
            f"{layout}, got an array of shape {tuple(init.shape)}."
        )
    if not bool(xp.isfinite(init).all()):
        raise ValueError(
            "init must contain only finite values, got NaN or inf."
        )
    return xp.array(init, dtype=X.dtype)  # a copy: never written to


def _kmeans(xp, X, n_clusters, init, max_iter, tol, spherical, random_state,
            budget):
    """Lloyd iterations on validated input; see :func:`kmeans`."""
    n_samples, n_features = X.shape
    dtype = X.dtype
    # [X^T; 1]: the feature rows feed the GEMM (as a transposed view) and
    # bincount (contiguous rows); the row of ones adds ||c||^2 and counts.
    data = xp.empty((n_features + 1, n_samples), dtype=dtype)
    data[:n_features] = X.T
    data[n_features] = 1
    XT = data[:n_features]
    if spherical:
        norms = xp.sqrt(xp.einsum("ij,ij->j", XT, XT))
        XT /= xp.where(norms > 0, norms, 1)
    sq_norms = xp.einsum("ij,ij->j", XT, XT)

    rows = _block_rows(xp, budget, n_clusters * dtype.itemsize)

    if isinstance(init, str):
        if init == "random":
            seeds = random_state.choice(n_samples, size=n_clusters,
                                        replace=False, p=_uniform(n_samples))
            centers = XT[:, xp.asarray(seeds)].T.copy()
        else:
            centers = _kmeans_plusplus(xp, data, sq_norms, n_clusters,
                                       random_state)
    else:
        centers = init
    tol = tol * float(xp.var(XT, axis=1).mean()) if tol else 0.0

    labels = xp.empty(n_samples, dtype=xp.int64)
    labels_old = xp.empty(n_samples, dtype=xp.int64)
    min_sq_dist = xp.empty(n_samples, dtype=dtype)
    converged_labels = False
    for i in range(max_iter):
        _assign(xp, data, sq_norms, centers, rows, labels, min_sq_dist)
        n_iter = i + 1
        if i and bool(xp.array_equal(labels, labels_old)):
            converged_labels = True  # centers are already the means
            break
        new_centers = _update(xp, data, labels, min_sq_dist, centers,
                              spherical)
        shift = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        labels, labels_old = labels_old, labels
        if shift <= tol:
            break
    if not converged_labels:
        _assign(xp, data, sq_norms, centers, rows, labels, min_sq_dist)
    inertia = _inertia(xp, XT, centers, labels, budget)
    return centers, labels, inertia, n_iter


def _block_rows(xp, budget, row_bytes):
    """Samples per block: temporaries of ``row_bytes`` per sample within
    ``budget`` (and within a cache-friendly block on the CPU), at least 1."""
    if xp.__name__ == "numpy":
        budget = min(budget, _CPU_BLOCK_BYTES)
    return max(1, budget // row_bytes)


def _assign(xp, data, sq_norms, centers, rows, labels, min_sq_dist):
    """Write the nearest centre of every sample into ``labels`` and its
    squared distance (clipped at 0) into ``min_sq_dist``."""
    n_features, n_samples = data.shape[0] - 1, data.shape[1]
    n_clusters = centers.shape[0]
    weights = xp.empty((n_features + 1, n_clusters), dtype=data.dtype)
    weights[:n_features] = centers.T
    weights[:n_features] *= -2
    weights[n_features] = xp.einsum("ij,ij->i", centers, centers)
    duplicates = _duplicate_rows(xp, centers, weights[n_features])
    if duplicates is not None:  # exact ties: the lowest index takes them all
        weights[n_features, duplicates] = xp.inf
    buffer = xp.empty((min(rows, n_samples), n_clusters), dtype=data.dtype)
    for start in range(0, n_samples, rows):
        stop = min(start + rows, n_samples)
        dist = buffer[:stop - start]
        xp.matmul(data[:, start:stop].T, weights, out=dist)  # ||c||^2 - 2 x.c
        chunk_labels = xp.argmin(dist, axis=1)
        labels[start:stop] = chunk_labels
        min_sq_dist[start:stop] = xp.take_along_axis(
            dist, chunk_labels[:, None], axis=1)[:, 0]
    min_sq_dist += sq_norms
    xp.maximum(min_sq_dist, 0, out=min_sq_dist)


def _duplicate_rows(xp, centers, sq_norms):
    """Indices of the rows of ``centers`` equal to a row of lower index, or
    None.  Only rows whose squared norm is shared are compared (sorted
    lexicographically, with the row index as the last key)."""
    order = xp.argsort(sq_norms, kind="stable")
    tied = sq_norms[order[1:]] == sq_norms[order[:-1]]
    if not bool(tied.any()):
        return None
    in_group = xp.zeros(order.shape[0], dtype=bool)
    in_group[1:] |= tied
    in_group[:-1] |= tied
    candidates = order[in_group]
    keys = xp.empty((centers.shape[1] + 1, candidates.shape[0]),
                    dtype=xp.float64)
    keys[0] = candidates  # least significant: lower index first
    keys[1:] = centers[candidates].T
    rows = candidates[xp.lexsort(keys)]
    same = (centers[rows[1:]] == centers[rows[:-1]]).all(axis=1)
    return rows[1:][same] if bool(same.any()) else None


def _update(xp, data, labels, min_sq_dist, centers, spherical):
    """New centres from ``labels``; re-seeds empty clusters in place (it
    rewrites ``labels`` and ``min_sq_dist`` of the samples it moves)."""
    n_clusters, n_features = centers.shape
    counts = xp.bincount(labels, minlength=n_clusters)
    empty = xp.flatnonzero(counts == 0)
    n_empty = int(empty.shape[0])
    if n_empty:
        farthest = xp.argsort(-min_sq_dist, kind="stable")[:n_empty]
        labels[farthest] = empty
        min_sq_dist[farthest] = 0
    sums = xp.stack([xp.bincount(labels, weights=row, minlength=n_clusters)
                     for row in data])  # float64 (n_features + 1, n_clusters)
    means, counts = sums[:n_features].T, sums[n_features]
    if spherical:
        scale = xp.sqrt(xp.einsum("ij,ij->i", means, means))
    else:
        scale = counts
    keep = scale > 0
    means = means / xp.where(keep, scale, 1)[:, None]
    return xp.where(keep[:, None], means.astype(centers.dtype), centers)


def _inertia(xp, XT, centers, labels, budget):
    """Sum of squared distances to the assigned centres, in float64, from
    the differences themselves, over chunks of samples."""
    n_features, n_samples = XT.shape
    rows = _block_rows(xp, budget, 2 * n_features * XT.dtype.itemsize)
    total = 0.0
    for start in range(0, n_samples, rows):
        stop = min(start + rows, n_samples)
        diff = centers[labels[start:stop]]
        diff -= XT[:, start:stop].T
        diff *= diff
        total += float(diff.sum(dtype=xp.float64))
    return total


def _kmeans_plusplus(xp, data, sq_norms, n_clusters, random_state):
    """Greedy k-means++ seeding (scikit-learn's variant and random draws)."""
    n_features, n_samples = data.shape[0] - 1, data.shape[1]
    XT = data[:n_features]
    n_trials = 2 + int(math.log(n_clusters))
    centers = xp.empty((n_clusters, n_features), dtype=data.dtype)
    first = random_state.choice(n_samples, p=_uniform(n_samples))
    centers[0] = XT[:, int(first)]
    closest = _sq_dist_to(xp, data, sq_norms, centers[:1])[0]
    potential = closest.sum(dtype=xp.float64)
    for c in range(1, n_clusters):
        targets = xp.asarray(random_state.uniform(size=n_trials)) * potential
        candidates = xp.searchsorted(xp.cumsum(closest, dtype=xp.float64),
                                     targets)
        candidates = xp.minimum(candidates, n_samples - 1)
        dist = _sq_dist_to(xp, data, sq_norms, XT[:, candidates].T)
        xp.minimum(dist, closest, out=dist)
        potentials = dist.sum(axis=1, dtype=xp.float64)
        best = xp.argmin(potentials)
        potential = potentials[best]
        closest = dist[best]
        centers[c] = XT[:, candidates[best]]
    return centers


def _uniform(n_samples):
    """Uniform sampling probabilities, exactly as scikit-learn's unit
    ``sample_weight / sample_weight.sum()`` (same random draws)."""
    return np.full(n_samples, 1.0) / n_samples


def _sq_dist_to(xp, data, sq_norms, points):
    """Squared distances (clipped at 0) from ``points`` (m, n_features) to
    every sample: an array of shape (m, n_samples)."""
    weights = xp.empty((points.shape[0], data.shape[0]), dtype=data.dtype)
    weights[:, :-1] = points
    weights[:, :-1] *= -2
    weights[:, -1] = xp.einsum("ij,ij->i", points, points)
    dist = weights @ data
    dist += sq_norms
    return xp.maximum(dist, 0, out=dist)
