"""Score a feature transformer with a scikit-learn classifier head.

The point of featurelab is to compute features with a network whose kernels
were never trained on labels and to fit only a linear classifier on them.
:func:`evaluate` does that under cross-validation without leaking the test
fold into any fitted step: per fold, the (unsupervised) transformer, the
scaler and the head are all fitted on the training fold only.
"""

import dataclasses
import numbers
import time

import numpy as np
import scipy.sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, RidgeClassifierCV, SGDClassifier
from sklearn.metrics import accuracy_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from ._estimator import is_sample_list
from ._validation import check_bool, check_int, check_option
from .backend import get_namespace, is_cupy_array, to_numpy

__all__ = ["HEADS", "EvaluationResult", "evaluate"]

#: Names accepted by ``evaluate(head=...)``.
HEADS = ("logistic", "linear_svc", "ridge", "auto", "sgd")

#: ``head='auto'``: ridge above this many features, logistic regression below.
AUTO_RIDGE_FEATURES = 10_000
#: ``head='sgd'``: samples per chunk and passes over the training samples.
SGD_CHUNK = 1024
SGD_EPOCHS = 5


@dataclasses.dataclass(frozen=True)
class EvaluationResult:
    """Scores and timings of one :func:`evaluate` call.

    Attributes
    ----------
    accuracy : float
        Mean test accuracy over the folds.
    accuracy_std : float
        Standard deviation of the fold accuracies (``ddof=0``, as
        scikit-learn's ``cv_results_``); 0.0 for a single test set.
    scores : tuple of float
        Test accuracy of each fold, in the splitter's order.
    fit_time : float
        Seconds per fold, averaged: fitting the transformer on the training
        fold and transforming the training fold.
    transform_time : float
        Seconds per fold, averaged: transforming the test fold.
    head_time : float
        Seconds per fold, averaged: fitting the scaler (if any) and the head
        on the training features.
    n_features : int
        Number of features the transformer returned (the largest over the
        folds; folds differ only when the output size depends on the data,
        as with ``PCA(n_components=0.95)``).
    n_splits : int
        Number of folds (1 for an explicit test set).

    Examples
    --------
    >>> r = EvaluationResult(accuracy=0.98125, accuracy_std=0.004,
    ...                      scores=(0.98, 0.9825), fit_time=1.21,
    ...                      transform_time=0.3, head_time=0.012,
    ...                      n_features=256, n_splits=2)
    >>> print(r)
    accuracy 0.981 ± 0.004 (2 folds), 256 features, fit 1.2 s, transform 0.3 s, head 12 ms
    >>> r.to_dict()["scores"]
    [0.98, 0.9825]
    """

    accuracy: float
    accuracy_std: float
    scores: tuple
    fit_time: float
    transform_time: float
    head_time: float
    n_features: int
    n_splits: int

    def to_dict(self):
        """Return the fields as a dict of plain Python values (JSON-ready).

        ``scores`` becomes a list.
        """
        out = dataclasses.asdict(self)
        out["scores"] = list(self.scores)
        return out

    def __str__(self):
        folds = f"{self.n_splits} fold{'s' if self.n_splits != 1 else ''}"
        return (
            f"accuracy {self.accuracy:.3f} ± {self.accuracy_std:.3f} ({folds}), "
            f"{self.n_features} features, fit {_seconds(self.fit_time)}, "
            f"transform {_seconds(self.transform_time)}, "
            f"head {_seconds(self.head_time)}"
        )


def _seconds(t):
    """Format a duration: '1.2 s' from 0.1 s up, '12 ms' below."""
    if t >= 0.1:
        return f"{t:.1f} s"
    if t >= 0.001:
        return f"{t * 1e3:.0f} ms"
    return f"{t * 1e6:.0f} µs"


def evaluate(transformer, X, y, *, head="logistic", cv=5, scale=True,
             random_state=None):
    """Cross-validated accuracy of a classifier head on unsupervised features.

    For every fold, a fresh clone of ``transformer`` is fitted on the
    training samples only (without labels), the training and test samples
    are transformed once each, a ``StandardScaler`` (if ``scale``) is fitted
    on the training features, and a clone of the head is fitted on them and
    scored on the test features. Nothing fitted ever sees the test fold.

    Parameters
    ----------
    transformer : scikit-learn transformer
        An unfitted estimator with ``fit`` and ``transform``, typically a
        :class:`featurelab.network.FeatureNetwork`; it is cloned for every
        fold and fitted as ``fit(X_train)``: labels never reach it. Its
        ``transform`` must return an array of shape (n_samples, n_features).
    X : array of shape (n_samples, n_features) or (n_samples, C, L) or (n_samples, C, H, W), or list
        Samples along axis 0; any number of further axes is passed on to the
        transformer as is (no dtype conversion). NumPy or CuPy.  A list of
        array samples (of different sizes, say) is passed on as a list of
        the fold's samples.
    y : array-like of shape (n_samples,)
        Class labels (at least two classes).
    head : {'logistic', 'linear_svc', 'ridge', 'auto', 'sgd'} or classifier, default='logistic'
        The classifier fitted on the features: ``'logistic'`` is
        ``LogisticRegression(max_iter=1000)``, ``'linear_svc'`` is
        ``LinearSVC(C=0.1, dual=True, max_iter=5000)``, ``'ridge'`` is
        ``RidgeClassifierCV(alphas=np.logspace(-3, 3, 7))``; ``'auto'`` is
        ``'ridge'`` for more than 10,000 features (the ROCKET family's
        choice) and ``'logistic'`` otherwise; ``'sgd'`` is an incremental
        ``SGDClassifier`` (hinge loss, ``alpha=1e-4``) fitted with
        ``partial_fit`` on chunks of 1024 training samples, 5 passes in a
        shuffled chunk order, after a ``StandardScaler`` fitted the same
        way: the training features are never all in memory (the training
        samples are transformed once per pass and once for the scaler);
        or any classifier instance with ``fit`` and ``predict`` (cloned per
        fold).
    cv : int, CV splitter or tuple (X_test, y_test), default=5
        An int >= 2 is the number of folds of
        ``StratifiedKFold(cv, shuffle=True, random_state=random_state)``. A
        splitter is any object with ``split(X, y)`` yielding (train, test)
        index arrays (it sees a placeholder of the right length for ``X``,
        and ``y``). A tuple ``(X_test, y_test)`` fits everything on all of
        ``(X, y)`` and scores once on that test set.
    scale : bool, default=True
        Standardise the features (fitted on the training features) before
        the head.
    random_state : int, RandomState instance or None, default=None
        Shuffles the folds of an int ``cv`` and seeds the ``'linear_svc'``
        head. The same value gives the same folds and scores. The
        transformer's own randomness is set by its own ``random_state``.

    Returns
    -------
    result : EvaluationResult
        Mean and per-fold accuracy, mean per-fold timings (measured with
        :func:`time.perf_counter`), feature dimension and number of folds.

    Raises
    ------
    ValueError
        Lengths of ``X`` and ``y`` (or of the test set) differ, ``X`` has
        fewer than two axes, ``y`` is not 1-D or has one class, ``cv`` or
        ``head`` has a bad value, a split is empty or leaks, or the
        transformer's output is not (n_samples, n_features).
    TypeError
        ``transformer``, ``head``, ``cv``, ``scale`` or ``random_state``
        has the wrong type.

    Notes
    -----
    The training features are computed as ``fit(X_train).transform(X_train)``
    rather than with ``fit_transform``, so training and test features go
    through the same code path. Features are moved to NumPy (from CuPy)
    before the scaler and the head.

    The ``'linear_svc'`` head uses ``C=0.1`` and the dual solver: on
    standardised features of a few hundred to a few thousand dimensions,
    scikit-learn's ``C=1`` did not converge within 5000 iterations in some
    cases (both solvers), and ``dual='auto'`` picks the primal solver when
    samples outnumber features, which was 2-15x slower there (ReLU random
    features of digits); accuracy was the same or better. Pass
    ``LinearSVC(...)`` for other settings.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from featurelab.evaluate import evaluate
    >>> X, y = load_digits(return_X_y=True)
    >>> result = evaluate(PCA(n_components=16), X[:500], y[:500], cv=3,
    ...                   random_state=0)
    >>> print(result)
    accuracy 0.960 ± 0.011 (3 folds), 16 features, fit ..., transform ..., head ...
    >>> result.scores
    (0.952..., 0.976..., 0.951...)

    An explicit test set instead of folds, with a ridge head:

    >>> result = evaluate(PCA(n_components=16), X[:500], y[:500],
    ...                   cv=(X[500:800], y[500:800]), head="ridge")
    >>> result.n_splits, result.accuracy_std
    (1, 0.0)
    """
    _check_transformer(transformer)
    scale = check_bool(scale, "scale")
    _check_random_state(random_state)
    head = _resolve_head(head, random_state)
    X, y = _check_Xy(X, y, "X", "y")
    _check_classes(y)

    if isinstance(cv, tuple):
        X_test, y_test = _check_test_set(cv, X)
        folds = [(X, y, X_test, y_test)]
    else:
        splits = _splits(cv, y, random_state)
        folds = (
            (_take(X, train), y[train], _take(X, test), y[test])
            for train, test in splits
        )

    run = _run_fold_incremental if isinstance(head, _SGDHead) else _run_fold
    runs = [run(transformer, head, scale, *fold) for fold in folds]
    return _summarize(runs)


def _summarize(runs):
    """The :class:`EvaluationResult` of per-fold runs (score, fit s,
    transform s, head s, n_features)."""
    scores, fit_t, transform_t, head_t, n_features = zip(*runs)
    return EvaluationResult(
        accuracy=float(np.mean(scores)),
        accuracy_std=float(np.std(scores)),
        scores=tuple(float(s) for s in scores),
        fit_time=float(np.mean(fit_t)),
        transform_time=float(np.mean(transform_t)),
        head_time=float(np.mean(head_t)),
        n_features=int(max(n_features)),
        n_splits=len(runs),
    )


def _run_fold(transformer, head, scale, X_train, y_train, X_test, y_test):
    """Fit and score one fold; return (score, fit s, transform s, head s,
    n_features)."""
    t0 = time.perf_counter()
    fitted = _clone(transformer).fit(X_train)
    F_train = _features(fitted.transform(X_train), len(y_train), "X_train")
    t1 = time.perf_counter()
    F_test = _features(fitted.transform(X_test), len(y_test), "X_test")
    t2 = time.perf_counter()
    score, head_time = _score_features(head, scale, F_train, y_train, F_test, y_test)
    return score, t1 - t0, t2 - t1, head_time, F_train.shape[1]


@dataclasses.dataclass(frozen=True)
class _SGDHead:
    """``head='sgd'``: an incremental head fitted chunk by chunk."""

    random_state: object = None

    def classifier(self):
        return SGDClassifier(loss="hinge", alpha=1e-4, random_state=self.random_state)

    def chunks(self, n_samples, epoch):
        """Index arrays of the training chunks of pass ``epoch``."""
        starts = np.arange(0, n_samples, SGD_CHUNK)
        order = np.random.RandomState(epoch).permutation(len(starts))
        return [np.arange(starts[i], min(starts[i] + SGD_CHUNK, n_samples))
                for i in order]

    def fit(self, features, y, n_samples, scale):
        """Fit the scaler (or None) and the classifier from ``features(index)``,
        the training features of the rows ``index``."""
        scaler = StandardScaler() if scale else None
        if scaler is not None:
            for index in self.chunks(n_samples, 0):
                scaler.partial_fit(features(index))
        classifier = self.classifier()
        classes = np.unique(y)
        for epoch in range(SGD_EPOCHS):
            for index in self.chunks(n_samples, epoch):
                F = features(index)
                classifier.partial_fit(F if scaler is None else scaler.transform(F),
                                       y[index], classes=classes)
        return scaler, classifier


def _run_fold_incremental(transformer, head, scale, X_train, y_train, X_test, y_test):
    """:func:`_run_fold` for ``head='sgd'``: features chunk by chunk, never
    all of them at once."""
    t0 = time.perf_counter()
    fitted = _clone(transformer).fit(X_train)
    t1 = time.perf_counter()
    timing = {"transform": 0.0}
    n_features = []

    def features(index):
        start = time.perf_counter()
        F = _features(fitted.transform(_take(X_train, index)), len(index), "X_train")
        timing["transform"] += time.perf_counter() - start
        n_features.append(F.shape[1])
        return F

    scaler, classifier = head.fit(features, y_train, len(y_train), scale)
    t2 = time.perf_counter()
    correct = 0
    for start in range(0, len(y_test), SGD_CHUNK):
        index = np.arange(start, min(start + SGD_CHUNK, len(y_test)))
        F = _features(fitted.transform(_take(X_test, index)), len(index), "X_test")
        _check_widths(n_features[0], F.shape[1])
        if scaler is not None:
            F = scaler.transform(F)
        correct += int((classifier.predict(F) == y_test[index]).sum())
    t3 = time.perf_counter()
    fit_time = (t1 - t0) + timing["transform"]
    head_time = (t2 - t1) - timing["transform"]
    return correct / len(y_test), fit_time, t3 - t2, head_time, n_features[0]


def _check_widths(n_train, n_test):
    """The training and test features must have the same number of columns."""
    if n_test != n_train:
        raise ValueError(
            f"transformer must return the same number of features for the "
            f"training and test samples, got {n_train} and {n_test}."
        )


def _score_features(head, scale, F_train, y_train, F_test, y_test):
    """Fit the scaler and a clone of ``head`` on the training features;
    return (test accuracy, seconds of the fits)."""
    _check_widths(F_train.shape[1], F_test.shape[1])
    t0 = time.perf_counter()
    if isinstance(head, _SGDHead):  # the same chunks as without the features in memory
        scaler, classifier = head.fit(lambda index: F_train[index], y_train,
                                      len(y_train), scale)
        head_time = time.perf_counter() - t0
        if scaler is not None:
            F_test = scaler.transform(F_test)
        return accuracy_score(y_test, classifier.predict(F_test)), head_time
    if isinstance(head, str):  # 'auto'
        head = _resolve_head(
            "ridge" if F_train.shape[1] > AUTO_RIDGE_FEATURES else "logistic", None)
    scaler = StandardScaler() if scale else None
    if scaler is not None:
        F_train = scaler.fit_transform(F_train)
    classifier = _clone(head).fit(F_train, y_train)
    head_time = time.perf_counter() - t0
    if scaler is not None:
        F_test = scaler.transform(F_test)
    return accuracy_score(y_test, classifier.predict(F_test)), head_time


def _features(F, n_samples, source):
    """Check a transformer output and return it on the host."""
    if not scipy.sparse.issparse(F):
        F = to_numpy(F)
    if F.ndim != 2:
        raise ValueError(
            f"transformer must return an array of shape (n_samples, "
            f"n_features), got shape {tuple(F.shape)} ({F.ndim}-D) from "
            f"{source}; flatten the features in the transformer."
        )
    if F.shape[0] != n_samples:
        raise ValueError(
            f"transformer must return one row per sample, got "
            f"{F.shape[0]} rows for the {n_samples} samples of {source}."
        )
    return F


def _clone(estimator):
    # safe=False: objects without get_params are deep-copied, as sklearn does
    # for non-estimator parameters.
    return clone(estimator, safe=False)


def _lacks_methods(obj, methods):
    """A description of ``obj`` if it is not an instance with ``methods``
    (a class passed instead of an instance counts as lacking), else None."""
    if isinstance(obj, type):
        return f"the class {obj.__name__}"
    if not all(callable(getattr(obj, m, None)) for m in methods):
        return f"{type(obj).__name__} {obj!r}"
    return None


def _check_transformer(transformer):
    what = _lacks_methods(transformer, ("fit", "transform"))
    if what is not None:
        raise TypeError(
            "transformer must be a scikit-learn transformer instance with fit "
            f"and transform methods, e.g. PCA(n_components=16), got {what}."
        )


def _resolve_head(head, random_state):
    """Return an (unfitted) classifier for ``head``."""
    if isinstance(head, str):
        check_option(head, HEADS, "head")
        if head == "logistic":
            return LogisticRegression(max_iter=1000)
        if head == "linear_svc":
            return LinearSVC(C=0.1, dual=True, max_iter=5000,
                             random_state=random_state)
        if head == "auto":
            return "auto"  # resolved when the number of features is known
        if head == "sgd":
            return _SGDHead(random_state)
        return RidgeClassifierCV(alphas=np.logspace(-3, 3, 7))
    what = _lacks_methods(head, ("fit", "predict"))
    if what is not None:
        raise TypeError(
            f"head must be one of {sorted(HEADS)} or a classifier instance "
            f"with fit and predict methods, e.g. LinearSVC(C=1.0), got {what}."
        )
    return head


def _check_random_state(random_state):
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise TypeError(
            "random_state must be None, an int or a numpy.random.RandomState, "
            f"got {type(random_state).__name__} {random_state!r}."
        )
    if not 0 <= random_state < 2**32:
        raise ValueError(
            f"random_state must be in [0, 2**32 - 1], got {random_state}."
        )


def _check_Xy(X, y, x_name, y_name):
    """Validate the sample axis of X and y; return X (as is, or as a NumPy
    array when it had no shape) and y as a 1-D NumPy array."""
    if is_sample_list(X):  # passed on to the transformer as a list
        X = list(X)
        n_samples = len(X)
    else:
        if not hasattr(X, "shape"):
            X = np.asarray(X)
        n_samples = X.shape[0]
    if not isinstance(X, list) and X.ndim < 2:
        raise ValueError(
            f"{x_name} must be an array of shape (n_samples, n_features) or "
            f"(n_samples, *input_shape), got shape {tuple(X.shape)} "
            f"({X.ndim}-D)."
        )
    y = to_numpy(y)
    if y.ndim != 1:
        raise ValueError(
            f"{y_name} must be a 1-D array of class labels, got shape "
            f"{y.shape}."
        )
    if n_samples != y.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of samples, got "
            f"{n_samples} and {y.shape[0]}."
        )
    return X, y


def _check_classes(y):
    classes = np.unique(y)
    if classes.size < 2:
        raise ValueError(
            f"y must contain at least 2 classes, got {classes.size}: "
            f"{classes.tolist()}."
        )


def _check_test_set(cv, X):
    if len(cv) != 2:
        raise ValueError(
            f"cv must be a tuple (X_test, y_test) when given as a tuple, got "
            f"a tuple of length {len(cv)}."
        )
    X_test, y_test = _check_Xy(*cv, "X_test", "y_test")
    if isinstance(X, list) or isinstance(X_test, list):
        if len(X_test) == 0:
            raise ValueError("X_test must hold at least one sample, got 0.")
        return X_test, y_test
    if tuple(X_test.shape[1:]) != tuple(X.shape[1:]):
        raise ValueError(
            f"X_test must have the same shape as X after the sample axis, got "
            f"{tuple(X_test.shape)} for X of shape {tuple(X.shape)}."
        )
    if X_test.shape[0] == 0:
        raise ValueError("X_test must hold at least one sample, got 0.")
    if is_cupy_array(X_test) != is_cupy_array(X):
        get_namespace(X, X_test)  # raises the backend-mix TypeError
    return X_test, y_test


def _splits(cv, y, random_state):
    """Return the list of (train, test) integer index arrays of ``cv``."""
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        n_splits = check_int(cv, "cv", minimum=2)
        cv = StratifiedKFold(n_splits=n_splits, shuffle=True,
                             random_state=random_state)
    elif not callable(getattr(cv, "split", None)) or isinstance(cv, type):
        raise TypeError(
            "cv must be an int >= 2, a scikit-learn CV splitter instance (with "
            "a split method) or a tuple (X_test, y_test), got "
            f"{type(cv).__name__} {cv!r}."
        )
    n_samples = y.shape[0]
    placeholder = np.zeros((n_samples, 1))
    splits = []
    for i, (train, test) in enumerate(cv.split(placeholder, y)):
        train, test = _indices(train, n_samples), _indices(test, n_samples)
        if train.size == 0 or test.size == 0:
            raise ValueError(
                f"cv must give non-empty training and test sets, got "
                f"{train.size} training and {test.size} test samples in "
                f"split {i}."
            )
        if np.intersect1d(train, test).size:
            raise ValueError(
                f"cv must give disjoint training and test sets, but split {i} "
                "has samples in both."
            )
        splits.append((train, test))
    if not splits:
        raise ValueError(f"cv must give at least one split, got none from {cv!r}.")
    return splits


def _take(X, index):
    """Rows ``index`` (a NumPy integer array) of ``X``, on ``X``'s backend."""
    if hasattr(X, "iloc"):  # pandas: positional, not label, indexing
        return X.iloc[index]
    if isinstance(X, list):  # samples of different sizes
        return [X[i] for i in index]
    return X[get_namespace(X).asarray(index)]


def _indices(index, n_samples):
    """Return a split's indices (integer array or boolean mask) as intp."""
    index = np.asarray(index)
    if index.shape == (0,):
        return np.empty(0, dtype=np.intp)
    if index.dtype == bool and index.shape == (n_samples,):
        return np.flatnonzero(index)
    integer = index.ndim == 1 and index.dtype.kind in "iu"
    if integer and 0 <= index.min() and index.max() < n_samples:
        return index.astype(np.intp, copy=False)
    got = f"an array of dtype {index.dtype} and shape {index.shape}"
    if integer:
        got += f" with values in [{index.min()}, {index.max()}]"
    raise ValueError(
        f"cv must give 1-D integer indices in [0, {n_samples}) or boolean "
        f"masks of length {n_samples}, got {got}."
    )
