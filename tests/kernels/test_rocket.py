"""Tests of featurelab.kernels.rocket_bank / minirocket_bank and BankLayer.

Oracles: the published definitions (REFERENCES.md) written out with plain
loops -- ROCKET's sampling rules checked kernel by kernel, MiniRocket's
dilations, paddings and quantile biases recomputed from the same random
draws, and every pooled response recomputed position by position.
"""

import itertools
import math

import numpy as np
import pytest

from featurelab.kernels import KernelGroup, minirocket_bank, rocket_bank
from featurelab.layers import BankLayer


def _kernels(groups):
    """Per kernel (by its first feature index): (weights, biases, dilation,
    padding)."""
    out = {}
    for g in groups:
        for w, b, idx in zip(g.kernels, g.biases, g.index):
            out[int(idx[0])] = (np.asarray(w), np.asarray(b), g.dilation, g.padding)
    return out


# ----------------------------------------------------------------- ROCKET
@pytest.mark.parametrize("n_channels,length", [(1, 40), (3, 60), (1, 12)])
def test_rocket_bank_follows_the_sampling_rules(n_channels, length):
    groups = rocket_bank(300, n_channels, length, random_state=0)
    kernels = _kernels(groups)
    assert sorted(kernels) == list(range(300))
    seen_lengths, seen_pads = set(), set()
    for w, b, dilation, (before, after) in kernels.values():
        k = w.shape[-1]
        seen_lengths.add(k)
        assert w.shape == (n_channels, k) and w.dtype == np.float32
        used = np.flatnonzero(np.abs(w).sum(axis=1))
        assert 1 <= len(used) <= min(n_channels, k)
        np.testing.assert_allclose(w[used].mean(), 0, atol=1e-6)
        assert b.shape == (1,) and -1 <= b[0] <= 1
        assert dilation >= 1 and (k - 1) * dilation <= length - 1
        assert before == after and before in (0, (k - 1) * dilation // 2)
        seen_pads.add(before > 0)
    assert seen_lengths == ({7, 9, 11} if length >= 11 else {7, 9})
    assert seen_pads == {True, False}
    for g in groups:                       # one length, dilation, padding each
        assert isinstance(g, KernelGroup) and g.kernels.ndim == 3


def test_rocket_bank_is_deterministic_and_weights_are_normal():
    a = rocket_bank(2000, 1, 100, random_state=3)
    b = rocket_bank(2000, 1, 100, random_state=3)
    for ga, gb in zip(a, b):
        np.testing.assert_array_equal(ga.kernels, gb.kernels)
    weights = np.concatenate([g.kernels.reshape(-1) for g in a])
    assert abs(weights.std() - 1) < 0.1       # N(0, 1), then centred per kernel
    dilations = np.array([g.dilation for g in a for _ in g.kernels])
    assert dilations.max() > 4                # exponential spread up to (L-1)/(k-1)


def test_rocket_bank_bad_input():
    with pytest.raises(ValueError, match="lengths must hold at least one"):
        rocket_bank(10, 1, 5)
    with pytest.raises(ValueError, match="n_kernels must be >= 1"):
        rocket_bank(0, 1, 40)


# ------------------------------------------------------------- MiniRocket
def _minirocket_reference(X, n_features, seed, max_dilations=32):
    """MiniRocket's bias fitting from its definition, with the same draws."""
    rng = np.random.RandomState(seed)
    n, _, L = X.shape
    per_kernel = n_features // 84
    top = math.log2((L - 1) / 8)
    n_dil = min(per_kernel, max_dilations)
    dil, counts = np.unique(np.floor(2.0 ** np.linspace(0, top, n_dil)).astype(int),
                            return_counts=True)
    per_dil = counts * (per_kernel // n_dil)
    for i in range(per_kernel % n_dil):
        per_dil[i % len(per_dil)] += 1
    golden = (1 + 5 ** 0.5) / 2
    levels = [(i * golden) % 1 for i in range(1, 84 * per_kernel + 1)]
    combos = list(itertools.combinations(range(9), 3))
    out, start = [], 0
    for di, (d, f) in enumerate(zip(dil, per_dil)):
        for k, taps in enumerate(combos):
            w = -np.ones(9)
            w[list(taps)] = 2
            x = X[rng.randint(n)].sum(axis=0).astype(np.float64)
            pad = 4 * d
            xp = np.concatenate([np.zeros(pad), x, np.zeros(pad)])
            response = np.array([sum(w[j] * xp[t + j * d] for j in range(9))
                                 for t in range(L)])
            q = np.quantile(response, levels[start:start + f])
            out.append((w, q, int(d), pad if (di + k) % 2 == 0 else 0, start))
            start += f
    return out


@pytest.mark.parametrize("shape,n_features", [((15, 1, 40), 1000), ((6, 2, 70), 500)])
def test_minirocket_bank_matches_its_definition(shape, n_features):
    X = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    groups = minirocket_bank(X, n_features, random_state=4)
    kernels = _kernels(groups)
    expected = _minirocket_reference(X, n_features, 4)
    assert len(kernels) == len(expected)
    assert sum(g.biases.size for g in groups) == 84 * (n_features // 84)
    for w, q, d, pad, start in expected:
        got_w, got_b, got_d, got_pad = kernels[start]
        assert (got_d, got_pad) == (d, (pad, pad))
        np.testing.assert_array_equal(got_w, np.broadcast_to(w, got_w.shape))
        np.testing.assert_allclose(-got_b, q, rtol=1e-5, atol=1e-5)


def test_minirocket_default_has_9996_responses_and_bad_input():
    X = np.random.default_rng(0).standard_normal((5, 1, 40))
    assert sum(g.biases.size for g in minirocket_bank(X, random_state=0)) == 9996
    with pytest.raises(ValueError, match="longer than 9 samples"):
        minirocket_bank(np.zeros((3, 1, 9)))
    with pytest.raises(ValueError, match="n_features must be >= 84"):
        minirocket_bank(X, 50)


# --------------------------------------------------------------- BankLayer
def _reference_features(layer, X):
    """Every (kernel, bias) response position by position, then pooled by
    each mode from its definition."""
    modes = (layer.pool,) if isinstance(layer.pool, str) else layer.pool
    X = np.asarray(X, np.float64)
    out = np.zeros((X.shape[0], layer.n_responses_ * len(modes)))
    for g in layer.groups_:
        for w, biases, idx in zip(np.asarray(g.kernels, np.float64),
                                  np.asarray(g.biases, np.float64), np.asarray(g.index)):
            k, d, (before, after) = w.shape[-1], g.dilation, g.padding
            xp = np.pad(X, ((0, 0), (0, 0), (before, after)))
            n_out = xp.shape[-1] - (k - 1) * d
            r = np.zeros((X.shape[0], n_out))
            for t in range(n_out):
                for j in range(k):
                    r[:, t] += (xp[:, :, t + j * d] * w[:, j]).sum(axis=1)
            for b, col in zip(biases, idx):
                z = r + b
                for m, mode in enumerate(modes):
                    out[:, col * len(modes) + m] = [_pool_1d(row, mode) for row in z]
    return out


def _pool_1d(z, mode):
    pos = z > 0
    if mode == "max":
        return z.max()
    if mode == "ppv":
        return pos.mean()
    if mode == "mpv":
        return z[pos].mean() if pos.any() else 0.0
    if mode == "mipv":
        return np.flatnonzero(pos).mean() if pos.any() else -1.0
    if mode == "lspv":
        best = run = 0
        for p in pos:
            run = run + 1 if p else 0
            best = max(best, run)
        return best
    raise AssertionError(mode)


@pytest.mark.parametrize("kernels,pool,shape", [
    ("rocket", ("ppv", "max"), (4, 1, 30)),
    ("rocket", ("max", "mpv", "lspv"), (3, 3, 25)),
    ("minirocket", "ppv", (5, 1, 40)),
    ("minirocket", ("ppv", "mpv", "lspv"), (4, 2, 30)),
    ("rocket", ("ppv", "max", "mpv", "mipv", "lspv"), (3, 1, 33)),   # channels first
    ("rocket", ("ppv", "max", "mpv", "mipv", "lspv"), (3, 1, 12)),   # channels last
    ("minirocket", ("ppv", "max", "mipv"), (4, 1, 30)),
])
def test_bank_layer_pools_every_response_by_definition(kernels, pool, shape):
    X = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    n = 40 if kernels == "rocket" else 168
    layer = BankLayer(n, kernels=kernels, pool=pool, random_state=0).fit(X)
    got = layer.transform(X)
    assert got.shape == (shape[0],) + layer.output_shape(shape[1:]) and got.dtype == np.float32
    np.testing.assert_allclose(got[:, :, 0], _reference_features(layer, X), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("n_biases", [1, 3])
def test_bank_max_and_ppv_equal_adaptive_pool_of_the_biased_responses(n_biases):
    # max and PPV are taken without forming y + b (max(y) + b, y > -b): the
    # same float32 numbers, bit for bit, as pooling y + b channels first,
    # also for responses within an ulp of -b
    from featurelab.layers import _pool_biased
    from featurelab.ops import adaptive_pool

    rng = np.random.default_rng(3)
    n, length, k = 4, 25, 6
    biases = rng.uniform(-1, 1, (k, n_biases)).astype(np.float32)
    y = rng.standard_normal((n, length, k)).astype(np.float32)
    edge = -biases[:, 0]
    y[:, :3] = edge                                     # y + b == 0 exactly
    y[:, 3:6] = np.nextafter(edge, np.float32(np.inf))  # one ulp above
    y[:, 6:9] = np.nextafter(edge, np.float32(-np.inf))
    modes = ("ppv", "max", "mpv", "mipv", "lspv")
    out = np.full((n, k * n_biases * len(modes)), np.nan, np.float32)
    columns = np.arange(k * n_biases) * len(modes)
    _pool_biased(np, y, biases, modes, out, columns)
    z = (np.moveaxis(y, 1, -1)[:, :, None, :] + biases[:, :, None]).reshape(
        n, k * n_biases, length)
    for m, mode in enumerate(modes):
        want = adaptive_pool(z, 1, mode)[:, :, 0]
        if mode in ("ppv", "max"):
            np.testing.assert_array_equal(out[:, columns + m], want, err_msg=mode)
        else:
            np.testing.assert_allclose(out[:, columns + m], want, rtol=1e-6, err_msg=mode)


def test_bank_layer_nan_makes_every_pooled_value_of_its_sample_nan():
    X = np.random.default_rng(4).standard_normal((3, 1, 40)).astype(np.float32)
    layer = BankLayer(50, pool=("ppv", "max", "mpv", "mipv", "lspv"), random_state=0).fit(X)
    X[1, 0, 20] = np.nan
    got = layer.transform(X)[:, :, 0]
    assert np.isnan(got[1]).all()
    assert np.isfinite(got[[0, 2]]).all()


def test_bank_layer_on_each_backend(backend):
    X = np.random.default_rng(2).standard_normal((4, 1, 30)).astype(np.float32)
    for kw in ({"kernels": "rocket"}, {"kernels": "minirocket", "pool": "ppv"}):
        ref = BankLayer(84 if kw["kernels"] == "minirocket" else 30, random_state=0,
                        **kw).fit(X)
        layer = BankLayer(**ref.get_params()).fit(backend.asarray(X))
        out = layer.transform(backend.asarray(X))
        np.testing.assert_allclose(backend.to_numpy(out), ref.transform(X), rtol=1e-5,
                                   atol=1e-6)


def test_bank_layer_counts_and_description():
    X = np.zeros((2, 1, 40), np.float32)
    layer = BankLayer(100, random_state=0).fit(X)
    assert layer.n_params_ == sum(g.kernels.size + g.biases.size for g in layer.groups_)
    assert layer._describe_source() == "rocket (ppv, max)"
    assert BankLayer(1000, kernels="minirocket", pool="ppv").output_shape((1, 40)) == (
        924, 1)
    assert BankLayer(50, pool=("ppv", "mpv", "mipv", "lspv")).output_shape((1, 40)) == (
        200, 1)


@pytest.mark.parametrize("kw,shape,error,match", [
    ({"kernels": "gabor"}, (2, 1, 40), ValueError, "kernels must be one of"),
    ({"pool": "median"}, (2, 1, 40), ValueError, "pool must be one of"),
    ({"pool": ()}, (2, 1, 40), ValueError, "pool must name at least one"),
    ({"n_kernels": 0}, (2, 1, 40), ValueError, "n_kernels must be >= 1"),
    ({"kernels": "minirocket", "n_kernels": 80}, (2, 1, 40), ValueError,
     "n_kernels must be >= 84"),
    ({}, (2, 1, 8, 8), ValueError, r"signals \(n_samples, C, L\)"),
    ({"kernel_params": {"nope": 1}}, (2, 1, 40), TypeError, "kernel_params"),
])
def test_bank_layer_bad_input(kw, shape, error, match):
    with pytest.raises(error, match=match):
        BankLayer(**{"n_kernels": 10, **kw}).fit(np.zeros(shape, np.float32))
