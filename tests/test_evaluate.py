"""Tests for :mod:`featurelab.evaluate`.

References used:

* ``sklearn.model_selection.cross_val_score`` on a ``Pipeline([transformer,
  StandardScaler(), head])`` with the same splitter: the scores of
  :func:`evaluate` must be equal to its scores, fold by fold;
* ``Pipeline.fit(X, y).score(X_test, y_test)`` for an explicit test set;
* transformers and heads that record what they were fitted on, to check that
  no test sample reaches a fitted step and that labels never reach the
  transformer.
"""

import dataclasses
import json
import re
import time
from typing import ClassVar

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from featurelab.evaluate import HEADS, EvaluationResult, evaluate


@pytest.fixture(scope="module")
def digits():
    """300 digits: X (300, 64) float64, y (300,) with all ten classes."""
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def _oracle(transformer, head, X, y, cv, scale=True):
    steps = [("features", transformer)]
    if scale:
        steps.append(("scale", StandardScaler()))
    steps.append(("head", head))
    return cross_val_score(Pipeline(steps), X, y, cv=cv)


def _flatten(X):
    return X.reshape(X.shape[0], -1)


class Flatten(TransformerMixin, BaseEstimator):
    """Stateless: flattens every sample (works on any backend)."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        return X.reshape(X.shape[0], -1)


def recorder_class():
    """A new transformer class whose ``fits``/``transforms`` class lists
    collect, across clones, the sample ids (column 0 of X) of every call.
    ``transform`` drops the id column."""

    class Recorder(TransformerMixin, BaseEstimator):
        fits: ClassVar[list] = []
        transforms: ClassVar[list] = []

        def fit(self, X, y=None):
            type(self).fits.append({"ids": X[:, 0].astype(int), "y": y})
            self.fitted_ = True
            return self

        def transform(self, X):
            type(self).transforms.append(X[:, 0].astype(int))
            return X[:, 1:]

    return Recorder


class RecordingHead(ClassifierMixin, BaseEstimator):
    """Nearest-class-mean classifier that keeps what it was fitted on."""

    fitted_on: ClassVar[list] = []

    def fit(self, X, y):
        type(self).fitted_on.append(np.array(X, copy=True))
        self.classes_ = np.unique(y)
        self.means_ = np.stack([X[y == c].mean(axis=0) for c in self.classes_])
        return self

    def predict(self, X):
        d = ((X[:, None, :] - self.means_[None]) ** 2).sum(axis=-1)
        return self.classes_[d.argmin(axis=1)]


# ---------------------------------------------------------------- oracles


def test_pca_logistic_equals_cross_val_score(digits):
    X, y = digits
    result = evaluate(PCA(n_components=16), X, y, cv=5, random_state=0)
    expected = _oracle(PCA(n_components=16), LogisticRegression(max_iter=1000),
                       X, y, StratifiedKFold(5, shuffle=True, random_state=0))
    np.testing.assert_allclose(result.scores, expected)
    assert result.accuracy == pytest.approx(expected.mean())
    assert result.accuracy_std == pytest.approx(expected.std())
    assert result.n_splits == 5 and result.n_features == 16
    assert isinstance(result.scores, tuple)
    assert all(type(s) is float for s in result.scores)


@pytest.mark.parametrize("name, head", [
    ("logistic", LogisticRegression(max_iter=1000)),
    ("linear_svc", LinearSVC(C=0.1, dual=True, max_iter=5000, random_state=3)),
    ("ridge", RidgeClassifierCV(alphas=np.logspace(-3, 3, 7))),
])
def test_head_strings_equal_their_classifiers(digits, name, head):
    X, y = digits
    result = evaluate(PCA(n_components=12), X, y, head=name, cv=3,
                      random_state=3)
    expected = _oracle(PCA(n_components=12), head, X, y,
                       StratifiedKFold(3, shuffle=True, random_state=3))
    np.testing.assert_allclose(result.scores, expected)
    assert result.accuracy > 0.8


def test_heads_lists_the_string_options():
    assert HEADS == ("logistic", "linear_svc", "ridge", "auto", "sgd")


def test_custom_head_instance_is_cloned_not_fitted(digits):
    X, y = digits
    head = KNeighborsClassifier(n_neighbors=3)
    transformer = PCA(n_components=10)
    result = evaluate(transformer, X, y, head=head, cv=4, random_state=1)
    expected = _oracle(PCA(n_components=10), KNeighborsClassifier(n_neighbors=3),
                       X, y, StratifiedKFold(4, shuffle=True, random_state=1))
    np.testing.assert_allclose(result.scores, expected)
    assert not hasattr(head, "classes_")
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(transformer)


def test_splitter_object_and_no_scaling(digits):
    X, y = digits
    cv = KFold(3, shuffle=True, random_state=2)
    result = evaluate(PCA(n_components=8), X, y, head="ridge", cv=cv,
                      scale=False)
    expected = _oracle(PCA(n_components=8),
                       RidgeClassifierCV(alphas=np.logspace(-3, 3, 7)),
                       X, y, cv, scale=False)
    np.testing.assert_allclose(result.scores, expected)
    assert result.n_splits == 3


def test_explicit_test_set_equals_pipeline_score(digits):
    X, y = digits
    X_all, y_all = load_digits(return_X_y=True)
    X_test, y_test = X_all[300:500], y_all[300:500]
    result = evaluate(PCA(n_components=16), X, y, cv=(X_test, y_test))
    pipe = Pipeline([("pca", PCA(n_components=16)), ("scale", StandardScaler()),
                     ("head", LogisticRegression(max_iter=1000))])
    expected = pipe.fit(X, y).score(X_test, y_test)
    assert result.scores == (pytest.approx(expected),)
    assert result.accuracy == pytest.approx(expected)
    assert result.accuracy_std == 0.0 and result.n_splits == 1


def test_nd_input_indexes_samples_on_axis_0(digits):
    X, y = digits
    images = X.reshape(-1, 1, 8, 8)
    flat = evaluate(FunctionTransformer(), X, y, cv=3, random_state=0)
    nd = evaluate(FunctionTransformer(_flatten), images, y, cv=3,
                  random_state=0)
    assert nd.scores == flat.scores
    assert nd.n_features == 64
    X_test = load_digits().data[300:400].reshape(-1, 1, 8, 8)
    y_test = load_digits().target[300:400]
    held_out = evaluate(FunctionTransformer(_flatten), images, y,
                        cv=(X_test, y_test))
    assert held_out.n_splits == 1 and held_out.n_features == 64


def test_float32_features_and_list_input(digits):
    X, y = digits
    to32 = FunctionTransformer(lambda X: np.asarray(X, dtype=np.float32))
    result = evaluate(to32, X.tolist(), y.tolist(), cv=3, random_state=0)
    reference = evaluate(FunctionTransformer(), X, y, cv=3, random_state=0)
    np.testing.assert_allclose(result.scores, reference.scores, atol=0.02)
    assert result.n_features == 64


def test_device_arrays_match_numpy(digits, backend):
    X, y = digits
    images = X.reshape(-1, 1, 8, 8)
    reference = evaluate(Flatten(), images, y, cv=3, random_state=0)
    on_device = evaluate(Flatten(), backend.asarray(images), backend.asarray(y),
                         cv=3, random_state=0)
    assert on_device.scores == reference.scores
    X_test = backend.asarray(images[:50])
    held_out = evaluate(Flatten(), backend.asarray(images), y,
                        cv=(X_test, y[:50]))
    assert held_out.n_splits == 1


def test_boolean_mask_splits(digits):
    X, y = digits

    class MaskSplit:
        def split(self, X, y=None):
            mask = np.arange(len(X)) % 3 == 0
            yield ~mask, mask

    result = evaluate(PCA(n_components=8), X, y, head="ridge", cv=MaskSplit())
    mask = np.arange(len(y)) % 3 == 0
    expected = evaluate(PCA(n_components=8), X[~mask], y[~mask], head="ridge",
                        cv=(X[mask], y[mask]))
    assert result.scores == expected.scores


class Frame:
    """Minimal DataFrame stand-in: ``[]`` would select columns, ``iloc`` rows."""

    def __init__(self, values):
        self.values = values
        self.shape = values.shape
        self.ndim = values.ndim
        self.iloc = values

    def __getitem__(self, key):
        raise AssertionError("rows must be taken with iloc")


def test_dataframe_rows_are_taken_by_position(digits):
    X, y = digits
    result = evaluate(FunctionTransformer(), Frame(X), y, cv=3, random_state=0)
    expected = evaluate(FunctionTransformer(), X, y, cv=3, random_state=0)
    assert result.scores == expected.scores


def test_test_set_on_another_backend_is_rejected(digits, strict_cupy):
    X, y = digits
    with pytest.raises(TypeError, match="arrays must all be NumPy arrays or all "
                                        "be CuPy arrays"):
        evaluate(Flatten(), strict_cupy.asarray(X), y, cv=(X[:10], y[:10]))


# ---------------------------------------------------------------- leakage


def test_transformer_is_fitted_on_training_folds_only(digits):
    X, y = digits
    ids = np.arange(len(y))
    X_ids = np.column_stack([ids, X])
    Recorder = recorder_class()
    result = evaluate(Recorder(), X_ids, y, cv=5, random_state=0)

    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    assert result.n_splits == 5
    assert len(Recorder.fits) == 5  # one fit per fold, on a fresh clone
    assert len(Recorder.transforms) == 10  # train then test, once each
    seen_in_test = []
    for k, (train, test) in enumerate(folds):
        fit_ids = Recorder.fits[k]["ids"]
        assert Recorder.fits[k]["y"] is None  # labels never reach it
        assert np.intersect1d(fit_ids, test).size == 0
        np.testing.assert_array_equal(np.sort(fit_ids), np.sort(train))
        np.testing.assert_array_equal(Recorder.transforms[2 * k], fit_ids)
        np.testing.assert_array_equal(np.sort(Recorder.transforms[2 * k + 1]),
                                      np.sort(test))
        seen_in_test.append(test)
    np.testing.assert_array_equal(np.sort(np.concatenate(seen_in_test)), ids)


def test_explicit_test_set_never_fitted_on(digits):
    X, y = digits
    X_ids = np.column_stack([np.arange(len(y)), X])
    X_test = np.column_stack([np.arange(1000, 1050), X[:50]])
    Recorder = recorder_class()
    evaluate(Recorder(), X_ids, y, cv=(X_test, y[:50]))
    assert len(Recorder.fits) == 1
    np.testing.assert_array_equal(Recorder.fits[0]["ids"], np.arange(len(y)))
    np.testing.assert_array_equal(Recorder.transforms[1], np.arange(1000, 1050))


def test_scaler_and_head_see_training_features_only(digits):
    X, y = digits
    RecordingHead.fitted_on.clear()
    evaluate(PCA(n_components=6), X, y, head=RecordingHead(), cv=3,
             random_state=0)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    assert len(RecordingHead.fitted_on) == 3
    for F, (train, _) in zip(RecordingHead.fitted_on, folds):
        assert F.shape == (len(train), 6)
        # standardised with statistics of exactly these rows
        np.testing.assert_allclose(F.mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(F.std(axis=0), 1)


def test_same_random_state_same_folds_and_scores(digits):
    X, y = digits
    X_ids = np.column_stack([np.arange(len(y)), X])
    runs = {}
    for seed in (7, 7, 8):
        Recorder = recorder_class()
        result = evaluate(Recorder(), X_ids, y, head="linear_svc", cv=3,
                          random_state=seed)
        runs.setdefault(seed, []).append(
            (result.scores, [f["ids"] for f in Recorder.fits]))
    (scores_a, fits_a), (scores_b, fits_b) = runs[7]
    assert scores_a == scores_b
    for a, b in zip(fits_a, fits_b):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, c) for a, c in zip(fits_a, runs[8][0][1]))


# ---------------------------------------------------------------- result


class Sleepy(TransformerMixin, BaseEstimator):
    """Sleeps 20 ms in fit and 10 ms in transform."""

    def fit(self, X, y=None):
        time.sleep(0.02)
        self.fitted_ = True
        return self

    def transform(self, X):
        time.sleep(0.01)
        return X


def test_times_are_attributed_to_their_step(digits):
    X, y = digits
    result = evaluate(Sleepy(), X[:100], y[:100], cv=2, random_state=0)
    assert result.fit_time >= 0.03  # fit + training transform
    assert 0.01 <= result.transform_time < result.fit_time
    assert result.head_time > 0


def test_str_and_to_dict(digits):
    X, y = digits
    result = evaluate(PCA(n_components=16), X, y, cv=5, random_state=0)
    pattern = (r"accuracy \d\.\d{3} ± \d\.\d{3} \(5 folds\), 16 features, "
               r"fit [\d.]+ (s|ms|µs), transform [\d.]+ (s|ms|µs), "
               r"head [\d.]+ (s|ms|µs)")
    assert re.fullmatch(pattern, str(result))
    d = json.loads(json.dumps(result.to_dict()))
    assert d["scores"] == list(result.scores)
    assert set(d) == {"accuracy", "accuracy_std", "scores", "fit_time",
                      "transform_time", "head_time", "n_features", "n_splits"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.accuracy = 1.0


def test_str_format():
    r = EvaluationResult(accuracy=0.98125, accuracy_std=0.0041,
                         scores=(0.9771, 0.9854), fit_time=1.234,
                         transform_time=0.3, head_time=0.0123,
                         n_features=256, n_splits=2)
    assert str(r) == ("accuracy 0.981 ± 0.004 (2 folds), 256 features, "
                      "fit 1.2 s, transform 0.3 s, head 12 ms")
    one = dataclasses.replace(r, n_splits=1, head_time=5e-5)
    assert "(1 fold)" in str(one) and "head 50 µs" in str(one)


# ---------------------------------------------------------------- bad input


class ThreeD(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X.reshape(X.shape[0], 8, 8)


class DropsRows(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X[1:]


class NarrowerOnNewData(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        self.X_fit_ = X
        return self

    def transform(self, X):
        return X[:, :10] if X is self.X_fit_ else X[:, :5]


class OverlappingSplit:
    def split(self, X, y=None):
        n = len(X)
        yield np.arange(n - 10), np.arange(n - 20, n)


class EmptyTestSplit:
    def split(self, X, y=None):
        yield np.arange(len(X)), np.array([], dtype=int)


class OutOfRangeSplit:
    def split(self, X, y=None):
        n = len(X)
        yield np.arange(n // 2), np.arange(n // 2, n + 1)


class NoSplits:
    def split(self, X, y=None):
        return iter(())


@pytest.mark.parametrize("kwargs, error, match", [
    ({"head": "svm"}, ValueError,
     r"head must be one of \['auto', 'linear_svc', 'logistic', 'ridge', 'sgd'\], "
     r"got 'svm'"),
    ({"head": PCA()}, TypeError,
     r"head must be one of .* fit and predict .*got PCA"),
    ({"head": LogisticRegression}, TypeError,
     r"head must be .*got the class LogisticRegression"),
    ({"cv": 1}, ValueError, r"cv must be >= 2, got 1"),
    ({"cv": 2.5}, TypeError,
     (r"cv must be an int >= 2, a scikit-learn CV splitter .* or a tuple "
      r"\(X_test, y_test\), got float 2.5")),
    ({"cv": True}, TypeError, r"cv must be an int >= 2.*got bool True"),
    ({"cv": [1, 2]}, TypeError, r"cv must be an int >= 2.*got list"),
    ({"cv": KFold}, TypeError, r"cv must be .*splitter instance"),
    ({"cv": (1, 2, 3)}, ValueError,
     r"cv must be a tuple \(X_test, y_test\) .*length 3"),
    ({"cv": (np.zeros((5, 64)), np.zeros(4))}, ValueError,
     r"X_test and y_test must have the same number of samples, got 5 and 4"),
    ({"cv": (np.zeros((5, 63)), np.zeros(5))}, ValueError,
     (r"X_test must have the same shape as X after the sample axis, got "
      r"\(5, 63\) for X of shape \(300, 64\)")),
    ({"cv": (np.zeros((0, 64)), np.zeros(0))}, ValueError,
     r"X_test must hold at least one sample"),
    ({"cv": OverlappingSplit()}, ValueError,
     r"cv must give disjoint training and test sets, but split 0"),
    ({"cv": EmptyTestSplit()}, ValueError,
     r"cv must give non-empty training and test sets, got 300 training and 0 test"),
    ({"cv": NoSplits()}, ValueError, r"cv must give at least one split"),
    ({"cv": OutOfRangeSplit()}, ValueError,
     (r"cv must give 1-D integer indices in \[0, 300\) or boolean masks of "
      r"length 300, got an array of dtype int\d+ and shape \(151,\) with values in "
      r"\[150, 300\]")),
    ({"scale": "yes"}, TypeError, r"scale must be True or False, got str 'yes'"),
    ({"random_state": -1}, ValueError,
     r"random_state must be in \[0, 2\*\*32 - 1\], got -1"),
    ({"random_state": 1.5}, TypeError,
     r"random_state must be None, an int or a numpy.random.RandomState, got float 1.5"),
])
def test_bad_parameters(digits, kwargs, error, match):
    X, y = digits
    with pytest.raises(error, match=match):
        evaluate(PCA(n_components=4), X, y, **kwargs)


@pytest.mark.parametrize("transformer, error, match", [
    (LogisticRegression(), TypeError,
     (r"transformer must be a scikit-learn transformer instance with fit and "
      r"transform methods.*got LogisticRegression")),
    (PCA, TypeError, r"transformer must be .*got the class PCA"),
    (ThreeD(), ValueError,
     (r"transformer must return an array of shape \(n_samples, n_features\), "
      r"got shape \(\d+, 8, 8\) \(3-D\)")),
    (DropsRows(), ValueError,
     (r"transformer must return one row per sample, got \d+ rows for the \d+ "
      r"samples of X_train")),
    (NarrowerOnNewData(), ValueError,
     (r"transformer must return the same number of features for the training "
      r"and test samples, got 10 and 5")),
])
def test_bad_transformers(digits, transformer, error, match):
    X, y = digits
    with pytest.raises(error, match=match):
        evaluate(transformer, X, y, cv=2, random_state=0)


@pytest.mark.parametrize("X, y, match", [
    (np.zeros((10, 4)), np.arange(9) % 2,
     r"X and y must have the same number of samples, got 10 and 9"),
    (np.zeros(10), np.arange(10) % 2,
     (r"X must be an array of shape \(n_samples, n_features\) or "
      r"\(n_samples, \*input_shape\), got shape \(10,\) \(1-D\)")),
    (np.zeros((10, 4)), np.zeros((10, 1)),
     r"y must be a 1-D array of class labels, got shape \(10, 1\)"),
    (np.zeros((10, 4)), np.ones(10), r"y must contain at least 2 classes, got 1"),
])
def test_bad_data(X, y, match):
    with pytest.raises(ValueError, match=match):
        evaluate(FunctionTransformer(), X, y, cv=2)


def test_feature_network_is_pretrained_on_training_folds_only(digits):
    """A FeatureNetwork whose k-means layer memorises its fit data: the
    per-fold networks evaluate() builds must equal networks fitted by hand on
    the training folds alone (same clone, same seed)."""
    from featurelab import ConvLayer, FeatureNetwork

    X, y = digits
    X, y = X[:240], y[:240]
    net = FeatureNetwork([ConvLayer(8, 3, kernels="kmeans", n_patches=200)],
                         input_shape=(1, 8, 8), random_state=0)
    result = evaluate(net, X, y, head="ridge", cv=3, random_state=0)
    expected = []
    for train, test in StratifiedKFold(3, shuffle=True, random_state=0).split(X, y):
        fitted = clone(net).fit(X[train])
        scaler = StandardScaler().fit(fitted.transform(X[train]))
        head = RidgeClassifierCV(alphas=np.logspace(-3, 3, 7)).fit(
            scaler.transform(fitted.transform(X[train])), y[train])
        expected.append(head.score(scaler.transform(fitted.transform(X[test])), y[test]))
    np.testing.assert_allclose(result.scores, expected)
    assert result.n_features == 8 * 4


def test_a_list_of_samples_of_different_sizes_is_passed_on_as_lists():
    from featurelab.layers import ConvLayer
    from featurelab.network import FeatureNetwork

    rng = np.random.default_rng(0)
    X = [rng.random((1, 8 + i % 3, 9 + i % 4)).astype(np.float32) for i in range(60)]
    y = np.arange(60) % 3
    for sample, label in zip(X, y):
        sample += label            # something to learn
    net = FeatureNetwork([ConvLayer(4, 3)], output=("adaptive", 1, "avg"),
                         random_state=0)
    result = evaluate(net, X, y, head="ridge", cv=3, random_state=0)
    expected = []
    for train, test in StratifiedKFold(3, shuffle=True, random_state=0).split(
            np.zeros(60), y):
        fitted = clone(net).fit([X[i] for i in train])
        F_train = fitted.transform([X[i] for i in train])
        F_test = fitted.transform([X[i] for i in test])
        scaler = StandardScaler().fit(F_train)
        head = RidgeClassifierCV(alphas=np.logspace(-3, 3, 7)).fit(
            scaler.transform(F_train), y[train])
        expected.append(head.score(scaler.transform(F_test), y[test]))
    np.testing.assert_allclose(result.scores, expected)
    test = evaluate(net, X[:40], y[:40], head="ridge", cv=(X[40:], y[40:]))
    assert test.n_splits == 1
    with pytest.raises(ValueError, match="same number of samples, got 60 and 59"):
        evaluate(net, X, y[:59])



# ------------------------------------------------------- 'auto' and 'sgd'
def test_auto_head_is_ridge_above_10000_features_else_logistic(digits):
    X, y = digits
    few = evaluate(PCA(n_components=16), X, y, head="auto", cv=3, random_state=0)
    logistic = evaluate(PCA(n_components=16), X, y, head="logistic", cv=3, random_state=0)
    assert few.scores == logistic.scores
    wide = FunctionTransformer(lambda A: np.tile(A, (1, 160)))     # 64 * 160 = 10,240
    auto = evaluate(wide, X[:300], y[:300], head="auto", cv=3, random_state=0)
    ridge = evaluate(wide, X[:300], y[:300], head="ridge", cv=3, random_state=0)
    assert auto.n_features == 10_240 and auto.scores == ridge.scores


class _RowCounter(TransformerMixin, BaseEstimator):
    """PCA(16) that records how many rows each transform call saw."""

    calls: ClassVar[list] = []

    def fit(self, X, y=None):
        self.pca_ = PCA(n_components=16, random_state=0).fit(X)
        return self

    def transform(self, X):
        _RowCounter.calls.append(len(X))
        return self.pca_.transform(X)


def test_sgd_head_sees_the_training_features_chunk_by_chunk():
    from featurelab.evaluate import SGD_CHUNK, SGD_EPOCHS

    X, y = load_digits(return_X_y=True)
    X = np.tile(X, (2, 1))[:2500]
    y = np.tile(y, 2)[:2500]
    _RowCounter.calls.clear()
    streamed = evaluate(_RowCounter(), X, y, head="sgd", cv=2, random_state=0)
    assert max(_RowCounter.calls) <= SGD_CHUNK
    # 2 folds x (1 scaler pass + 5 epochs) x 2 chunks of the 1250 training rows,
    # plus 2 test chunks per fold
    assert len(_RowCounter.calls) == 2 * ((1 + SGD_EPOCHS) * 2 + 2)
    assert streamed.accuracy > 0.85
    # the same chunks and passes as with the features in memory
    from featurelab.evaluate import _resolve_head, _score_features

    expected = []
    for train, test in StratifiedKFold(2, shuffle=True, random_state=0).split(X, y):
        fitted = _RowCounter().fit(X[train])
        score, _ = _score_features(_resolve_head("sgd", 0), True, fitted.transform(X[train]),
                                   y[train], fitted.transform(X[test]), y[test])
        expected.append(score)
    np.testing.assert_allclose(streamed.scores, expected)


def test_sgd_head_in_a_screen_spec():
    from featurelab.spec import load_spec

    spec = load_spec({"data": {"dataset": "digits"}, "protocol": {"cv": 3},
                      "screen": {"kernels": ["random"], "heads": ["sgd", "auto"]},
                      "architecture": [{"layers": [{"type": "conv"}]}]})
    assert [c["head"] for c in spec.configurations()] == ["sgd", "auto"]
