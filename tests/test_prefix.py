"""Tests of featurelab._prefix: screens reuse shared layer prefixes per fold.

The oracle is the same screen without the cache (``cache_memory=None``),
which evaluates every configuration from scratch with
:func:`featurelab.evaluate.evaluate`.
"""

import os

import numpy as np
import pytest

from featurelab import _prefix
from featurelab import screen as screen_module
from featurelab._prefix import PrefixCache, parse_cache_memory, prefix_keys
from featurelab.layers import ConvLayer
from featurelab.network import FeatureNetwork
from featurelab.screen import screen
from featurelab.spec import build_network, load_spec

BASE = {"type": "conv", "n_kernels": 6, "size": 3, "padding": "same", "whiten": True,
        "n_patches": 200}


def _spec(max_memory="512MB", protocol=None, kernels=("random", "kmeans")):
    second = {"type": "conv", "n_kernels": 8, "size": 3, "n_patches": 200}
    return {
        "data": {"dataset": "digits", "subset": 240},
        "protocol": protocol or {"cv": 3, "seed": 0},
        "screen": {"kernels": list(kernels), "heads": ["ridge", "logistic"], "seeds": [0],
                   "max_memory": max_memory},
        "architecture": [
            {"name": "one", "layers": [dict(BASE)]},
            {"name": "one-flat", "output": "flatten", "layers": [dict(BASE)]},
            {"name": "two", "layers": [dict(BASE), dict(second)]},
            {"name": "two-pool", "layers": [dict(BASE), dict(second, pool=["max", 2])]},
            {"name": "three", "output": ["adaptive", 1, "max"],
             "layers": [dict(BASE), dict(second), dict(second, n_kernels=4)]},
            {"name": "alone", "layers": [{"type": "conv", "n_kernels": 4, "size": 5}]},
        ],
    }


def _assert_same_results(cached, plain):
    assert list(cached["key"]) == list(plain["key"])
    assert (cached["status"] == "ok").all() and (plain["status"] == "ok").all()
    for a, b in zip(cached["scores"], plain["scores"]):
        assert list(a) == list(b)
    assert list(cached["n_features"]) == list(plain["n_features"])
    assert list(cached["n_params"]) == list(plain["n_params"])


@pytest.fixture(scope="module")
def plain():
    """The oracle: the screen of ``_spec()`` without the cache."""
    return screen(_spec(), results=None, verbose=False, cache_memory=None)


@pytest.mark.parametrize("cache_memory", ["512MB", 0, 20_000])
def test_cached_screen_equals_screen_without_cache(cache_memory, plain, tmp_path):
    cached = screen(_spec(), results=tmp_path / "r.jsonl", verbose=False,
                    cache_memory=cache_memory, cache_dir=tmp_path)
    _assert_same_results(cached, plain)
    assert sorted(os.listdir(tmp_path)) == ["r.jsonl"]  # spill directories removed


def test_cache_with_a_fit_subset_and_a_holdout(tmp_path):
    # 300 KB: the layers are pretrained on a subset of the training samples
    spec = _spec(max_memory="300KB", protocol={"holdout": 0.25, "seed": 1},
                 kernels=["kmeans"])
    net = build_network(load_spec(spec).configurations()[4], max_memory="300KB")
    X = np.random.RandomState(0).rand(180, 1, 8, 8).astype(np.float32)
    assert net.fit(X).n_fit_samples_ < 180
    plain = screen(spec, results=None, verbose=False, cache_memory=None)
    cached = screen(spec, results=None, verbose=False, cache_memory="1MB")
    _assert_same_results(cached, plain)


def _count_fits(monkeypatch):
    calls = []
    fit = ConvLayer.fit

    def counting_fit(self, X, y=None):
        calls.append((self.n_kernels, X.shape[1:]))
        return fit(self, X, y)

    monkeypatch.setattr(ConvLayer, "fit", counting_fit)
    return calls


def test_shared_layers_are_fitted_once_per_fold(monkeypatch):
    spec = _spec(kernels=["kmeans"])
    calls = _count_fits(monkeypatch)
    screen(spec, results=None, verbose=False, cache_memory=None)
    # 6 architectures x 2 heads x 3 folds, one fit per layer
    assert len(calls) == 2 * 3 * (1 + 1 + 2 + 2 + 3 + 1)
    calls.clear()
    screen(spec, results=None, verbose=False)
    # per fold: the shared first layer once; 'two' and 'three' share their
    # second layer, 'two-pool' has its own; 'three' its third; 'alone' its
    # one; the second head refits nothing
    assert len(calls) == 3 * (1 + 1 + 1 + 1 + 1)
    assert sum(shape == (1, 8, 8) and k == 6 for k, shape in calls) == 3


def test_a_reused_prefix_is_charged_to_every_configuration():
    table = screen(_spec(kernels=["random"]), results=None, verbose=False)
    by = table.set_index(["architecture", "head"])
    for arch in ("one", "two", "three"):
        ridge, logistic = by.loc[(arch, "ridge")], by.loc[(arch, "logistic")]
        # the second head reused the features: it is charged their cost
        assert ridge["fit_time"] == logistic["fit_time"] > 0
        assert ridge["transform_time"] == logistic["transform_time"] > 0
    # 'two' reused the first layer of 'one' and still pays for it
    assert by.loc[("two", "ridge"), "fit_time"] > by.loc[("one", "ridge"), "fit_time"] / 10


def test_spilled_maps_are_npy_files_removed_at_the_end(monkeypatch, tmp_path):
    seen = []
    close = PrefixCache.close

    def spy(self):
        if self._tmp is not None:
            files = sorted(os.listdir(self._tmp))
            seen.append((self.spills, files, [np.load(os.path.join(self._tmp, f),
                                                      allow_pickle=False).shape
                                              for f in files]))
        close(self)

    monkeypatch.setattr(PrefixCache, "close", spy)
    screen(_spec(kernels=["random"]), results=None, verbose=False, cache_memory=0,
           cache_dir=tmp_path)
    assert seen and all(spills > 0 for spills, _, _ in seen)
    # entries still alive at the end are .npy files of maps; nothing else
    for _, files, shapes in seen:
        assert all(f.endswith(".npy") for f in files)
        assert all(len(shape) in (2, 4) for shape in shapes)
    assert os.listdir(tmp_path) == []


def test_in_memory_bytes_stay_within_the_budget(monkeypatch):
    peaks = []
    put = PrefixCache.put

    def spy(self, key, entry):
        put(self, key, entry)
        peaks.append((self.nbytes, self.max_memory))

    monkeypatch.setattr(PrefixCache, "put", spy)
    screen(_spec(kernels=["random"]), results=None, verbose=False, cache_memory=100_000)
    assert peaks
    assert all(nbytes <= budget for nbytes, budget in peaks)
    assert max(nbytes for nbytes, _ in peaks) > 0


def test_cache_plan_release_and_spill(tmp_path):
    a, b = ConvLayer(4, 3), ConvLayer(8, 3)
    nets = [FeatureNetwork([a], random_state=0),
            FeatureNetwork([a], output="flatten", random_state=0),
            FeatureNetwork([a, b], random_state=0), FeatureNetwork([b], random_state=0)]
    keys = [prefix_keys(net) for net in nets]
    cache = PrefixCache(max_memory=1000, directory=tmp_path)
    cache.plan(nets)
    assert cache.shared(keys[0][0]) and cache.extended(keys[0][0])
    assert not cache.shared(keys[0][1]) and not cache.shared(keys[3][0])
    assert cache.outputs(keys[0][0]) == {keys[0][1]: ("region", 2, "sum"),
                                         keys[1][1]: "flatten"}
    cache.release(keys[2])
    assert not cache.extended(keys[0][0]) and cache.shared(keys[0][0])
    cache.release(keys[1])
    assert cache.outputs(keys[0][0]) == {keys[0][1]: ("region", 2, "sum")}
    assert not cache.shared(keys[0][0])
    cache.plan([FeatureNetwork([a], random_state=0)])   # one more user: 'a' again
    in_memory = cache.allocate((10, 5))            # 200 bytes
    spilled = cache.allocate((100, 5))             # 2000 bytes: over the budget
    assert type(in_memory) is np.ndarray and isinstance(spilled, np.memmap)
    assert cache.nbytes == 200 and cache.spills == 1
    spilled[:] = 1.5
    a_key = keys[0][0]
    cache.put((0, 10, a_key), _prefix._Entry(in_memory, spilled, 0.0, 0.0, 0.0))
    assert cache.get((0, 10, a_key)) is not None and cache.hits == 1
    path = spilled.filename
    assert np.load(path, allow_pickle=False).sum() == 750.0
    cache.release(keys[0])                         # one user of 'a' left
    assert cache.get((0, 10, a_key)) is not None
    cache.release(keys[0])
    assert cache.get((0, 10, a_key)) is None
    assert cache.nbytes == 0 and not os.path.exists(path)
    stored = cache.store(np.ones((300, 2), dtype=np.float32))   # 2400 bytes
    assert isinstance(stored, np.memmap) and stored.sum() == 600
    spill_dir = os.path.dirname(stored.filename)
    cache.close()
    assert not os.path.exists(spill_dir) and os.listdir(tmp_path) == []


def test_prefix_keys():
    def net(layers, output=("region", 2, "sum"), seed=0):
        return FeatureNetwork(layers, output=output, random_state=seed)

    a, b = ConvLayer(4, 3), ConvLayer(8, 3)
    one, two = prefix_keys(net([a])), prefix_keys(net([a, b]))
    assert len(one) == 2 and len(two) == 3
    assert one[0] == two[0] and one[1] != two[1]
    assert prefix_keys(net([a], output="flatten"))[0] == one[0]
    assert prefix_keys(net([a], output="flatten"))[1] != one[1]
    assert prefix_keys(net([a], seed=1))[0] != one[0]
    assert prefix_keys(net([ConvLayer(4, 3, kernels="kmeans")]))[0] != one[0]


def test_tasks_group_configurations_by_first_layer():
    configs = load_spec(_spec(kernels=["random"])).configurations()
    tasks = screen_module._tasks(configs, "512MB", 1, True)
    names = [[c["architecture"] for c in task] for task in tasks]
    assert sorted(map(len, names)) == [2, 10]
    assert sorted(name for task in names for name in task) == sorted(
        c["architecture"] for c in configs)
    # more workers than tasks: the largest task is split
    assert len(screen_module._tasks(configs, "512MB", 4, True)) == 4
    assert len(screen_module._tasks(configs, "512MB", 1, False)) == len(configs)


def test_parallel_cached_screen_equals_serial(plain, tmp_path):
    parallel = screen(_spec(), results=tmp_path / "p.jsonl", n_jobs=2, verbose=False)
    _assert_same_results(parallel, plain)


@pytest.mark.parametrize("value, error, match", [
    ("lots", ValueError, "cache_memory"),
    (-1, ValueError, "cache_memory must be positive"),
    (True, TypeError, "cache_memory"),
])
def test_bad_cache_memory(value, error, match):
    with pytest.raises(error, match=match):
        parse_cache_memory(value)
    with pytest.raises(error, match=match):
        screen(_spec(), results=None, verbose=False, cache_memory=value)


def test_missing_cache_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="cache_dir must be an existing directory"):
        screen(_spec(), results=None, verbose=False, cache_dir=tmp_path / "nope")


def test_networks_differing_in_output_share_one_pass_over_the_last_layer(monkeypatch):
    second = {"type": "conv", "n_kernels": 8, "size": 3, "n_patches": 200}
    spec = _spec(kernels=["kmeans"])
    spec["screen"]["heads"] = ["ridge"]
    spec["architecture"] = [
        {"name": name, "output": output, "layers": [dict(BASE), dict(second)]}
        for name, output in [("gmax", ["adaptive", 1, "max"]),
                             ("gavg", ["adaptive", 1, "avg"]),
                             ("quad", ["region", 2, "sum"]),
                             ("too-fine", ["region", 9, "sum"])]]   # 6x6 maps: fails
    allocated = []
    allocate = PrefixCache.allocate

    def spy(self, shape):
        allocated.append(shape)
        return allocate(self, shape)

    monkeypatch.setattr(PrefixCache, "allocate", spy)
    calls = _count_fits(monkeypatch)
    cached = screen(spec, results=None, verbose=False)
    # per fold: each layer fitted once; no maps stored (nothing deeper)
    assert len(calls) == 3 * 2 and allocated == []
    by = cached.set_index("architecture")
    assert by.loc["too-fine", "status"] == "failed"
    assert "output regions" in by.loc["too-fine", "error"]
    monkeypatch.undo()
    plain = screen(spec, results=None, verbose=False, cache_memory=None)
    for a, b in zip(cached["scores"][:3], plain["scores"][:3]):
        assert list(a) == list(b)
    assert plain.set_index("architecture").loc["too-fine", "status"] == "failed"
