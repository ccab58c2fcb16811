"""Tests of featurelab.network.FeatureNetwork."""

import io
import pickle
import tracemalloc

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from featurelab.backend import asarray, to_numpy
from featurelab.layers import ConvLayer, FunctionLayer, PoolLayer
from featurelab.network import FeatureNetwork
from featurelab.ops import adaptive_pool, local_contrast_normalize, region_pool


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300].astype(np.float32), y[:300]


def _net(**kw):
    layers = kw.pop("layers", [ConvLayer(8, 3, pool=("max", 2)), ConvLayer(6, 1)])
    return FeatureNetwork(layers, **{"input_shape": (1, 8, 8), "random_state": 0, **kw})


# --------------------------------------------------------------- sklearn API
@parametrize_with_checks([
    FeatureNetwork([ConvLayer(4, 1)], output="flatten", random_state=0),
    FeatureNetwork([ConvLayer(3, 1, kernels="kmeans", whiten=True, n_patches=40),
                    ConvLayer(2, 1, nonlinearity="triangle")],
                   output=("adaptive", 1, "avg"), random_state=0),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_layers_are_cloned_not_fitted_in_place(digits):
    X, _ = digits
    layer = ConvLayer(4, 3)
    net = FeatureNetwork([layer], input_shape=(1, 8, 8), random_state=0).fit(X)
    assert not hasattr(layer, "kernels_")
    assert net.layers_[0] is not layer
    assert net.layers[0] is layer


def test_transform_matches_layer_by_layer_oracle(digits):
    X, _ = digits
    net = _net(output=("region", 2, "max")).fit(X)
    batch = X.reshape(-1, 1, 8, 8)
    maps = net.layers_[1].transform(net.layers_[0].transform(batch))
    expected = region_pool(maps, 2, mode="max").reshape(len(X), -1)
    np.testing.assert_array_equal(net.transform(X), expected)
    assert net.n_features_out_ == expected.shape[1] == 24


@pytest.mark.parametrize("output, pool", [
    ("flatten", lambda m: m),
    (("region", (1, 2), "l2"), lambda m: region_pool(m, (1, 2), mode="l2")),
    (("adaptive", 3, "avg"), lambda m: adaptive_pool(m, 3, mode="avg")),
    (("adaptive", 2), lambda m: adaptive_pool(m, 2, mode="max")),
    (("region", 3), lambda m: region_pool(m, 3, mode="sum")),
])
def test_output_options(digits, output, pool):
    X, _ = digits
    net = _net(layers=[ConvLayer(5, 3)], output=output).fit(X)
    maps = net.layers_[0].transform(X.reshape(-1, 1, 8, 8))
    np.testing.assert_allclose(net.transform(X), pool(maps).reshape(len(X), -1),
                               rtol=1e-6, atol=1e-6)
    assert net.get_feature_names_out().shape == (net.n_features_out_,)


def test_input_layouts_agree(digits):
    X, _ = digits
    batch4 = X.reshape(-1, 1, 8, 8)
    a = _net().fit(X).transform(X)
    b = _net(input_shape=None).fit(batch4).transform(batch4)
    # (N, H, W) is one-channel images when input_shape says so ...
    c = _net(input_shape=(1, 8, 8)).fit(batch4[:, 0]).transform(batch4[:, 0])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    # ... and (N, C, L) signals otherwise
    signals = _net(input_shape=None, layers=[ConvLayer(4, 3)]).fit(batch4[:, 0])
    assert signals.input_shape_ == (8, 8) and signals.shapes_[1] == (4, 6)


def test_1d_signals_and_default_input_shape():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 30))
    net = FeatureNetwork([ConvLayer(4, 5, pool=("avg", 2))], random_state=0).fit(X)
    assert net.input_shape_ == (1, 30)
    assert net.shapes_ == [(1, 30), (4, 13)]
    F = net.transform(X)
    assert F.shape == (20, 8) and F.dtype == np.float32


def test_output_is_float32_numpy_for_float64_input(digits):
    X, _ = digits
    F = _net().fit(X.astype(np.float64)).transform(X.astype(np.float64))
    assert isinstance(F, np.ndarray) and F.dtype == np.float32 and F.ndim == 2


def test_reproducible_bitwise(digits):
    X, _ = digits
    layers = [ConvLayer(8, 3, kernels="kmeans", normalize="patch", whiten=True,
                        nonlinearity="triangle", n_patches=500),
              ConvLayer(8, 3, padding="same", kernels="pca")]
    a = _net(layers=layers, random_state=7).fit_transform(X)
    b = _net(layers=layers, random_state=7).fit(X).transform(X)
    c = _net(layers=layers, random_state=8).fit_transform(X)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, c)


def test_layer_random_state_wins_over_network_seed(digits):
    X, _ = digits
    layers = [ConvLayer(4, 3, random_state=3)]
    a = _net(layers=layers, random_state=0).fit(X)
    b = _net(layers=layers, random_state=1).fit(X)
    np.testing.assert_array_equal(a.layers_[0].kernels_, b.layers_[0].kernels_)
    c = _net(layers=[ConvLayer(4, 3)], random_state=1).fit(X)
    assert not np.array_equal(a.layers_[0].kernels_, c.layers_[0].kernels_)


def test_chunking_does_not_change_features(digits):
    X, _ = digits
    full = _net().fit(X).transform(X)
    chunked = _net(batch_size=7).fit(X).transform(X)
    tiny = _net(max_memory="16KB").fit(X)
    np.testing.assert_allclose(chunked, full, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(tiny.transform(X), full, rtol=1e-6, atol=1e-6)


def test_fit_subset_bounded_by_memory(digits):
    X, _ = digits
    layers = [ConvLayer(4, 3, kernels="kmeans", n_patches=100)]
    assert _net(layers=layers).fit(X).n_fit_samples_ == len(X)
    small = _net(layers=layers, max_memory="64KB").fit(X)
    assert 1 <= small.n_fit_samples_ < len(X)
    # a network that learns nothing from data needs a single sample
    assert _net(layers=[ConvLayer(4, 3)]).fit(X).n_fit_samples_ == 1


def test_peak_memory_on_data_ten_times_the_budget():
    budget = 4 * 2**20
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10 * budget // (4 * 32 * 32), 1, 32, 32), dtype=np.float32)
    assert X.nbytes >= 10 * budget - 4 * 32 * 32
    net = FeatureNetwork(
        [ConvLayer(8, 3, kernels="kmeans", normalize="patch", whiten=True,
                   nonlinearity="triangle", n_patches=2000, pool=("max", 2)),
         ConvLayer(16, 3, padding="same", pool=("avg", 2))],
        output=("region", 2, "sum"), max_memory=budget, random_state=0)
    out_bytes = len(X) * 16 * 4 * 4
    tracemalloc.start()
    try:
        net.fit(X)
        _, fit_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        F = net.transform(X)
        _, transform_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert F.shape == (len(X), 64)
    # about 0.3 and 0.95 budgets here; 10% slack for Python objects
    assert fit_peak < 1.1 * budget, fit_peak / budget
    assert transform_peak < 1.1 * budget + out_bytes, (transform_peak - out_bytes) / budget
    assert net.n_fit_samples_ < len(X)


def test_clone_pickle(digits):
    X, _ = digits
    net = _net().fit(X)
    F = net.transform(X)
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.transform(X), F)
    fresh = clone(net)
    assert not hasattr(fresh, "layers_")
    np.testing.assert_array_equal(fresh.fit(X).transform(X), F)


def test_nested_params():
    net = _net()
    params = net.get_params()
    assert params["layers__0__n_kernels"] == 8
    assert params["layers__1__size"] == 1
    net.set_params(layers__0__n_kernels=5, layers__1=PoolLayer(2), output="flatten")
    assert net.layers[0].n_kernels == 5
    assert isinstance(net.layers[1], PoolLayer)
    assert net.output == "flatten"
    assert "layers__1__mode" in net.get_params()
    assert "layers__0__n_kernels" not in net.get_params(deep=False)
    with pytest.raises(ValueError, match=r"layers__5__size.*not in 0\.\.1"):
        net.set_params(layers__5__size=3)
    with pytest.raises(ValueError, match="Invalid parameter"):
        net.set_params(layers__0__colour=3)


def test_pipeline_and_grid_search(digits):
    X, y = digits
    pipe = make_pipeline(_net(), StandardScaler(), LogisticRegression(max_iter=500))
    grid = GridSearchCV(pipe, {"featurenetwork__layers__0__n_kernels": [2, 8],
                               "featurenetwork__output": ["flatten", ("region", 1)]},
                        cv=3)
    grid.fit(X, y)
    assert set(grid.best_params_) == {"featurenetwork__layers__0__n_kernels",
                                      "featurenetwork__output"}
    assert grid.best_score_ > 0.8
    assert len(grid.cv_results_["mean_test_score"]) == 4


def test_describe(digits):
    X, _ = digits
    net = _net(layers=[ConvLayer(8, 3, pool=("max", 2)),
                       ConvLayer(4, 1, kernels="pca", whiten=True),
                       PoolLayer(1, mode="avg"),
                       FunctionLayer(local_contrast_normalize)]).fit(X)
    text = net.describe()
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "type", "source", "output", "shape", "params"]
    assert "(1, 8, 8)" in lines[1]
    assert lines[2].split()[:3] == ["0", "ConvLayer", "random"] and "(8, 3, 3)" in lines[2]
    assert lines[2].split()[-1] == "72"
    assert "pca, whiten" in lines[3] and lines[3].split()[-1] == str(4 * 8 + 4)
    assert "avg pool" in lines[4] and "local_contrast_normalize" in lines[5]
    assert "output region 2x2 sum" in lines[6] and "(4, 2, 2)" in lines[6]
    assert lines[-1] == "features: 16"
    assert "FeatureNetwork" in repr(net) and "ConvLayer" in repr(net)


def test_verbose_shows_progress(digits, capsys):
    X, _ = digits
    net = _net(layers=[ConvLayer(4, 3, kernels="pca")], verbose=True, batch_size=50)
    net.fit(X).transform(X)
    err = capsys.readouterr().err
    assert "fit layers" in err and "transform" in err and "6/6" in err


def test_quiet_by_default(digits, capsys):
    X, _ = digits
    _net().fit(X).transform(X)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------ backends
def test_backend_switch_matches_numpy(digits, backend):
    X, _ = digits
    if backend.name == "numpy":
        pytest.skip("compares a device backend with NumPy")
    layers = [ConvLayer(6, 3, kernels="kmeans", normalize="patch", whiten=True,
                        nonlinearity="triangle", n_patches=300, pool=("max", 2)),
              ConvLayer(4, 1, kernels="pca")]
    ref = _net(layers=layers, backend="numpy").fit(X)
    dev = _net(layers=layers, backend="cupy").fit(X)
    F = dev.transform(X)
    assert isinstance(F, np.ndarray) and F.dtype == np.float32
    assert dev.backend_ == "cupy"
    np.testing.assert_allclose(F, ref.transform(X), rtol=1e-4, atol=1e-4)
    # input already on the device gives the same NumPy features
    np.testing.assert_allclose(dev.transform(asarray(X, backend="cupy")), F,
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(to_numpy(dev.layers_[0].kernels_),
                               ref.layers_[0].kernels_, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("kw, error, match", [
    ({"layers": []}, ValueError, r"layers must be a non-empty list"),
    ({"layers": ConvLayer()}, ValueError, r"layers must be a non-empty list"),
    ({"layers": [StandardScaler()]}, TypeError, r"layers\[0\] must be a ConvLayer"),
    ({"layers": [ConvLayer(4, 9)]}, ValueError, r"layers\[0\]: size: kernels of dilated"),
    ({"layers": [ConvLayer(4, 5), ConvLayer(4, 5)]}, ValueError, r"layers\[1\]: size"),
    ({"layers": [ConvLayer(4, 3, nonlinearity="foo")]}, ValueError,
     r"layers\[0\]: nonlinearity must be one of"),
    ({"output": "mean"}, ValueError, r"output must be 'flatten'"),
    ({"output": ("region",)}, ValueError, r"output must be 'flatten'"),
    ({"output": ("region", 2, "median")}, ValueError, r"output mode must be one of"),
    ({"output": ("region", 9)}, ValueError, r"output regions \(9, 9\) must be at most"),
    ({"output": ("adaptive", (2, 2, 2))}, ValueError, r"output size must be"),
    ({"backend": "tpu"}, ValueError, r"backend must be one of"),
    ({"max_memory": "lots"}, ValueError, r"max_memory"),
    ({"batch_size": 0}, ValueError, r"batch_size must be >= 1"),
    ({"batch_size": 2.5}, TypeError, r"batch_size must be an int"),
    ({"input_shape": (2, 8, 8)}, ValueError, r"input_shape must be"),
])
def test_bad_parameters(digits, kw, error, match):
    X, _ = digits
    with pytest.raises(error, match=match):
        _net(**kw).fit(X)


def test_bad_input_at_transform(digits):
    X, _ = digits
    net = _net().fit(X)
    with pytest.raises(ValueError, match="X has 63 features, but FeatureNetwork is "
                                         "expecting 64"):
        net.transform(X[:, :63])
    with pytest.raises(ValueError, match="samples of shape"):
        net.transform(X.reshape(-1, 1, 4, 16))
    with pytest.raises(ValueError, match="NaN"):
        net.transform(np.full_like(X, np.nan))


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        _net().transform(np.zeros((2, 64)))
    with pytest.raises(NotFittedError):
        _net().describe()


def test_cupy_backend_needs_cupy(digits, monkeypatch):
    import featurelab.backend as backend_module

    monkeypatch.setattr(backend_module, "_import_cupy", lambda: None)
    X, _ = digits
    with pytest.raises(ImportError, match="needs CuPy"):
        _net(backend="cupy").fit(X)


def test_progress_bar_writes_to_stderr_only(digits):
    # tqdm must not write into stdout (notebooks, CLI output)
    import contextlib

    X, _ = digits
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _net(verbose=True).fit(X).transform(X)
    assert out.getvalue() == ""


def test_shared_first_layers_are_fitted_identically_whatever_the_depth(digits):
    X, _ = digits
    first = ConvLayer(6, 3, kernels="kmeans", n_patches=300, padding="same")
    shallow = _net(layers=[first], random_state=5).fit(X)
    deep = _net(layers=[first, ConvLayer(4, 3), PoolLayer(2)], random_state=5).fit(X)
    np.testing.assert_array_equal(shallow.layers_[0].kernels_, deep.layers_[0].kernels_)


# ------------------------------------------------- samples of different sizes
def _sizes(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random((2,) + shape).astype(np.float32)
            for shape in [(9, 12), (14, 11), (9, 12), (20, 17), (10, 30)]]


def _fixed_shape_oracle(net, sample):
    """The features of one sample through layers rebuilt from the fitted
    kernels and fitted on that sample's own shape (no list path)."""
    layers = []
    for layer in net.layers_:
        if isinstance(layer, ConvLayer):
            params = layer.get_params()
            params.update(kernels=np.asarray(layer.kernels_), n_kernels=None)
            layers.append(ConvLayer(**params))
        else:
            layers.append(clone(layer))
    oracle = FeatureNetwork(layers, output=net.output, random_state=0)
    return oracle.fit(sample[None]).transform(sample[None])[0]


@pytest.mark.parametrize("output", [("adaptive", 2, "max"), ("region", 2, "sum")])
def test_a_list_of_sizes_gives_one_row_each(output):
    samples = _sizes()
    net = FeatureNetwork([ConvLayer(4, 3, padding="same", pool=("max", 2)),
                          PoolLayer(1), ConvLayer(5, (2, 3), stride=(1, 2))],
                         output=output, random_state=0).fit(samples)
    features = net.transform(samples)
    assert features.shape == (5, 5 * 4) and features.dtype == np.float32
    for sample, row in zip(samples, features):
        np.testing.assert_allclose(row, _fixed_shape_oracle(net, sample), rtol=1e-5,
                                   atol=1e-6)
    # samples of one shape: the same as the stacked array
    same = [samples[0], samples[2]]
    np.testing.assert_array_equal(net.transform(same), features[[0, 2]])


def test_fit_on_a_list_pretrains_on_centred_crops():
    samples = _sizes()
    kw = {"output": ("adaptive", 1, "avg"), "random_state": 0}
    layers = [ConvLayer(3, 3, kernels="kmeans", whiten=True, n_patches=100)]
    net = FeatureNetwork(layers, **kw).fit(samples)
    crops = np.stack([s[:, (s.shape[1] - 9) // 2:(s.shape[1] - 9) // 2 + 9,
                         (s.shape[2] - 11) // 2:(s.shape[2] - 11) // 2 + 11]
                      for s in samples])
    ref = FeatureNetwork(layers, **kw).fit(crops)
    assert net.input_shape_ == (2, 9, 11) == ref.input_shape_
    np.testing.assert_array_equal(net.layers_[0].kernels_, ref.layers_[0].kernels_)
    np.testing.assert_array_equal(net.transform(crops), ref.transform(crops))


def test_one_dimensional_signals_of_different_lengths():
    rng = np.random.default_rng(1)
    signals = [rng.standard_normal((1, n)).astype(np.float32) for n in (40, 25, 61)]
    net = FeatureNetwork([ConvLayer(6, 5, padding="same", dilation=2)],
                         output=("adaptive", 3, "max"), random_state=0).fit(signals)
    features = net.transform(signals)
    assert features.shape == (3, 18)
    for signal, row in zip(signals, features):
        np.testing.assert_allclose(row, _fixed_shape_oracle(net, signal), rtol=1e-5,
                                   atol=1e-6)


def test_sample_lists_on_the_cupy_path(strict_cupy):
    samples = _sizes()
    net = FeatureNetwork([ConvLayer(4, 3)], output=("adaptive", 1, "max"),
                         backend="cupy", random_state=0)
    features = net.fit([strict_cupy.asarray(s) for s in samples]).transform(
        [strict_cupy.asarray(s) for s in samples])
    ref = FeatureNetwork([ConvLayer(4, 3)], output=("adaptive", 1, "max"),
                         random_state=0).fit(samples).transform(samples)
    assert isinstance(features, np.ndarray)
    np.testing.assert_allclose(features, ref, rtol=1e-5, atol=1e-6)


def test_bad_sample_lists():
    samples = _sizes()
    net = FeatureNetwork([ConvLayer(4, 3)], output=("adaptive", 1, "max"),
                         random_state=0).fit(samples)
    with pytest.raises(ValueError, match=r"X\[1\] must be a sample of shape \(C, H, W\) "
                                         r"with C = 2"):
        net.transform([samples[0], samples[1][:1]])
    with pytest.raises(ValueError, match=r"X\[0\] must be a sample"):
        net.transform([np.ones((2, 10))])
    bad = samples[0].copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"X\[0\] contains NaN"):
        net.transform([bad])
    with pytest.raises(ValueError, match=r"X\[0\] of shape \(2, 2, 9\): .*size"):
        net.transform([np.ones((2, 2, 9), np.float32)])
    flat = FeatureNetwork([ConvLayer(4, 3)], output="flatten", random_state=0).fit(samples)
    with pytest.raises(ValueError, match=r"X\[0\] of shape \(2, 9, 12\) gives 280 features, "
                                         r"not 252: output='flatten' keeps positions"):
        flat.transform(samples[:2])
    local = FeatureNetwork([ConvLayer(4, 3, sharing="local")],
                           output=("adaptive", 1, "max"), random_state=0).fit(samples)
    with pytest.raises(ValueError, match="sharing='local' has one bank per output"):
        local.transform(samples[:2])


# ------------------------------------------------------------ dense features
def test_dense_features_are_the_maps_upsampled_channels_last():
    X = np.random.default_rng(0).random((3, 1, 12, 10)).astype(np.float32)
    net = FeatureNetwork([ConvLayer(4, 3, padding="same", pool=("max", 2)),
                          ConvLayer(5, 3, padding="same")], random_state=0).fit(X)
    first = net.layers_[0].transform(X)                 # (3, 4, 6, 5)
    second = net.layers_[1].transform(first)            # (3, 5, 6, 5)
    up = lambda m: np.repeat(np.repeat(m, 2, axis=2), 2, axis=3)  # noqa: E731
    last = net.dense_features(X)
    np.testing.assert_array_equal(last, np.moveaxis(up(second), 1, -1))
    both = net.dense_features(X, layers="all")
    np.testing.assert_array_equal(both, np.concatenate(
        [np.moveaxis(up(first), 1, -1), np.moveaxis(up(second), 1, -1)], axis=-1))
    np.testing.assert_array_equal(net.dense_features(X, layers=[1, 0]),
                                  np.concatenate([last, both[..., :4]], axis=-1))
    np.testing.assert_array_equal(net.dense_features(X, layers=[-2]), both[..., :4])
    small = FeatureNetwork([ConvLayer(4, 3, padding="same", pool=("max", 2))],
                           random_state=0, batch_size=1).fit(X)
    np.testing.assert_array_equal(small.dense_features(X),
                                  np.moveaxis(up(first), 1, -1))


def test_dense_features_nearest_rule_for_uneven_sizes_and_1d():
    x = np.random.default_rng(0).random((2, 1, 11)).astype(np.float32)
    net = FeatureNetwork([ConvLayer(3, 3, pool=("avg", 2))], random_state=0).fit(x)
    maps = net.layers_[0].transform(x)                  # (2, 3, 4): 11 -> 9 -> 4
    dense = net.dense_features(x)
    assert dense.shape == (2, 11, 3)
    for i in range(11):
        np.testing.assert_array_equal(dense[:, i], maps[:, :, i * 4 // 11])


def test_dense_features_on_the_cupy_path(strict_cupy):
    X = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    kw = {"layers": [ConvLayer(3, 3, padding="same", pool=("max", 2))],
          "random_state": 0}
    ref = FeatureNetwork(**kw).fit(X).dense_features(X)
    net = FeatureNetwork(**kw, backend="cupy").fit(strict_cupy.asarray(X))
    got = net.dense_features(strict_cupy.asarray(X))
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, ref, rtol=1e-6)


@pytest.mark.parametrize("layers", ["first", [], [2], [-3], [0.5], True])
def test_bad_dense_layers(layers):
    X = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    net = FeatureNetwork([ConvLayer(3, 3), ConvLayer(2, 3)], random_state=0).fit(X)
    with pytest.raises(ValueError, match="layers must"):
        net.dense_features(X, layers=layers)
