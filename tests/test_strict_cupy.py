"""The strict fake CuPy (tests/_strict_cupy.py) and featurelab ops run on it."""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import featurelab.backend as fb
from featurelab.ops import conv1d, conv2d
from tests import _strict_cupy
from tests._strict_cupy import ndarray as FakeArray

cp = _strict_cupy.module


# --------------------------------------------------------------------------
# The fake itself
# --------------------------------------------------------------------------

def test_fake_array_looks_like_cupy_and_not_like_numpy():
    a = cp.asarray(np.arange(6.0).reshape(2, 3))
    assert type(a).__module__ == "cupy"
    assert type(a).__name__ == "ndarray"
    assert not isinstance(a, np.ndarray)
    assert isinstance(a, cp.ndarray)
    assert fb.is_cupy_array(a)
    assert a.shape == (2, 3) and a.ndim == 2 and a.size == 6
    assert a.dtype == np.float64
    assert isinstance(a.T, FakeArray) and a.T.shape == (3, 2)


@pytest.mark.parametrize("convert", [np.asarray, np.array, np.ascontiguousarray,
                                     lambda a: np.array([a, a])],
                         ids=["asarray", "array", "ascontiguousarray", "list"])
def test_implicit_conversion_to_numpy_raises(convert):
    a = cp.asarray([1.0, 2.0])
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
        convert(a)


_HOST = np.ones((2, 2))

_MIXES = {
    "fake + host": lambda a: a + _HOST,
    "host + fake": lambda a: _HOST + a,
    "host * fake": lambda a: _HOST * a,
    "fake == host": lambda a: a == _HOST,
    "np.add": lambda a: np.add(a, _HOST),
    "np.matmul": lambda a: np.matmul(_HOST, a),
    "np.add out=host": lambda a: np.add(a, a, out=np.empty((2, 2))),
    "np.concatenate": lambda a: np.concatenate([a, _HOST]),
    "np.where": lambda a: np.where(a > 0, a, _HOST),
    "cp.matmul": lambda a: cp.matmul(a, _HOST),
    "cp.stack": lambda a: cp.stack([a, _HOST]),
    "cp.add.reduce out=host": lambda a: cp.add.reduce(a, out=np.empty(2)),
    "cp.asarray([fake, host])": lambda a: cp.asarray([a, _HOST]),
    "method": lambda a: a.dot(_HOST),
    "fake[...] = host": lambda a: a.__setitem__(Ellipsis, _HOST),
}


@pytest.mark.parametrize("mix", list(_MIXES.values()), ids=list(_MIXES))
def test_mixing_a_host_array_raises_type_error(mix):
    a = cp.asarray(np.arange(4.0).reshape(2, 2))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        mix(a)
    np.testing.assert_array_equal(a.get(), np.arange(4.0).reshape(2, 2))


def test_scalars_and_0d_host_arrays_are_accepted():
    a = cp.asarray([1.0, 2.0])
    np.testing.assert_array_equal((a + 1).get(), [2.0, 3.0])
    np.testing.assert_array_equal((a * np.float32(2)).get(), [2.0, 4.0])
    np.testing.assert_array_equal((a - np.array(1.0)).get(), [0.0, 1.0])
    a[0] = np.float64(7.0)
    a[1] = 8
    np.testing.assert_array_equal(a.get(), [7.0, 8.0])


def test_operators_and_functions_return_fake_arrays():
    a = cp.asarray(np.arange(6.0).reshape(2, 3))
    for result in (a + a, a @ a.T, -a, a > 2, np.sqrt(a), cp.exp(a),
                   np.sum(a, axis=0), cp.pad(a, 1), a.reshape(3, 2),
                   a.astype(np.float32), a[:, 1], cp.zeros(3),
                   cp.linalg.norm(a, axis=1)):
        assert isinstance(result, FakeArray), result
    np.testing.assert_array_equal((a @ a.T).get(),
                                  np.arange(6.0).reshape(2, 3)
                                  @ np.arange(6.0).reshape(3, 2).reshape(2, 3).T)


def test_reductions_and_scalar_indexing_give_0d_fake_arrays():
    a = cp.asarray([1.0, 2.0, 3.0])
    for value in (a.sum(), a.max(), cp.mean(a), a[1], np.max(a)):
        assert isinstance(value, FakeArray) and value.ndim == 0
    assert float(a.sum()) == 6.0
    assert int(a[2]) == 3
    assert bool(a[0] == 1.0)
    assert range(10)[cp.asarray(4, dtype=np.int64)] == 4


def test_views_share_memory_with_their_parent():
    parent = cp.zeros((2, 3, 4))
    parent[1].reshape(12)[:] = 1.0
    parent.T[0, 0, 0] = 5.0
    parent[0, :, ::2] = cp.asarray([[2.0, 3.0]] * 3)
    expected = np.zeros((2, 3, 4))
    expected[1] = 1.0
    expected[0, 0, 0] = 5.0
    expected[0, :, ::2] = [2.0, 3.0]
    np.testing.assert_array_equal(parent.get(), expected)


def test_as_strided_in_lib_stride_tricks_shares_memory():
    a = cp.asarray(np.arange(5.0))
    windows = cp.lib.stride_tricks.as_strided(a, shape=(3, 3),
                                              strides=(8, 8))
    assert isinstance(windows, FakeArray)
    np.testing.assert_array_equal(windows.get(),
                                  [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    a[2] = -1.0
    assert float(windows[0, 2]) == -1.0


@pytest.mark.parametrize("how", ["cp.matmul", "np.matmul", "operator"])
def test_matmul_out_into_a_view_writes_into_the_parent(how):
    w = cp.asarray(np.arange(6.0).reshape(2, 3))
    b = cp.asarray(np.arange(12.0).reshape(3, 4))
    parent = cp.zeros((3, 2, 4))
    target = parent[1:2].reshape(2, 4)  # a view of parent's middle block
    if how == "cp.matmul":
        returned = cp.matmul(w, b, out=target)
    elif how == "np.matmul":
        returned = np.matmul(w, b, out=target)
    else:
        target[...] = w @ b
        returned = target
    assert returned is target
    expected = np.zeros((3, 2, 4))
    expected[1] = np.arange(6.0).reshape(2, 3) @ np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(parent.get(), expected)


def test_ufunc_out_and_inplace_operators_write_into_views():
    parent = cp.zeros((2, 3))
    row = parent[1]
    returned = cp.add(cp.ones(3), 2.0, out=row)
    assert returned is row
    row += cp.asarray([1.0, 2.0, 3.0])
    view = parent.T
    view *= 2.0
    np.testing.assert_array_equal(parent.get(), [[0, 0, 0], [8, 10, 12]])


def test_transfers_copy():
    host = np.arange(3.0)
    a = cp.asarray(host)
    host[0] = 99.0
    assert float(a[0]) == 0.0
    back = a.get()
    assert isinstance(back, np.ndarray)
    back[1] = 99.0
    assert float(a[1]) == 1.0
    np.testing.assert_array_equal(cp.asnumpy(a), [0.0, 1.0, 2.0])
    assert isinstance(cp.asnumpy(a), np.ndarray)


def test_asarray_of_a_fake_array():
    a = cp.asarray([1, 2], dtype=np.float64)
    assert cp.asarray(a) is a
    assert cp.asarray(a, dtype=np.float64) is a
    b = cp.asarray(a, dtype=np.float32)
    assert b.dtype == np.float32 and isinstance(b, FakeArray)
    c = cp.array(a)
    c[0] = 5.0
    assert float(a[0]) == 1.0
    stacked = cp.asarray([a, a])
    assert stacked.shape == (2, 2) and isinstance(stacked, FakeArray)


def test_unsupported_dtypes_and_missing_attributes():
    with pytest.raises(ValueError, match="Unsupported dtype"):
        cp.asarray(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="Unsupported dtype"):
        cp.asarray([object()])
    with pytest.raises(AttributeError):
        cp.asarray([1.0]).__array_interface__  # noqa: B018
    with pytest.raises(TypeError, match="iteration over a 0-d array"):
        iter(cp.asarray(1.0))


def test_iteration_and_len():
    a = cp.asarray(np.arange(6.0).reshape(3, 2))
    assert len(a) == 3
    rows = list(a)
    assert all(isinstance(r, FakeArray) for r in rows)
    np.testing.assert_array_equal(rows[2].get(), [4.0, 5.0])


def test_module_exposes_dtypes_constants_and_device_count():
    assert cp.float32 is np.float32
    assert cp.pi == np.pi and cp.newaxis is None
    assert cp.cuda.runtime.getDeviceCount() == 1
    assert cp.get_array_module(cp.zeros(1), None) is cp
    assert cp.get_array_module(np.zeros(1), 3) is np
    x = cp.zeros((2, 2), dtype=cp.float32)
    assert x.dtype == np.float32
    assert cp.finfo(x.dtype).eps == np.finfo(np.float32).eps


def test_installed_context_manager_installs_and_restores():
    before = sys.modules.get("cupy", "absent")
    cache_before = fb._cupy_has_device
    available_before = fb.cupy_available()
    with _strict_cupy.installed() as mod:
        assert sys.modules["cupy"] is mod is cp
        assert fb.cupy_available() is True
        assert fb.get_namespace(cp.zeros(2)) is cp
    assert sys.modules.get("cupy", "absent") is before
    assert fb._cupy_has_device is cache_before
    assert fb.cupy_available() is available_before


def test_featurelab_backend_sees_the_installed_fake(strict_cupy):
    a = fb.asarray([1.0, 2.0], backend="cupy", dtype="float32")
    assert isinstance(a, FakeArray) and a.dtype == np.float32
    assert fb.get_namespace(a, None) is strict_cupy
    back = fb.to_numpy(a)
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, [1.0, 2.0])
    assert isinstance(fb.asarray(a, backend="numpy"), np.ndarray)


# --------------------------------------------------------------------------
# featurelab ops on the fake
# --------------------------------------------------------------------------

def _naive_conv(x, w, stride, pads, dilation, groups, flip, bias):
    """Direct (loop) cross-correlation / convolution, as a reference."""
    n_sp = x.ndim - 2
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0)) + tuple(pads))
    w = w.astype(np.float64)
    if flip:
        w = w[(Ellipsis,) + (slice(None, None, -1),) * n_sp]
    n, c = x.shape[:2]
    k = w.shape[0]
    cg, kg = c // groups, k // groups
    ksize = w.shape[2:]
    out_size = tuple((s - d * (q - 1) - 1) // t + 1
                     for s, q, t, d in zip(x.shape[2:], ksize, stride, dilation))
    y = np.zeros((n, k) + out_size)
    for kk in range(k):
        g = kk // kg
        xg = x[:, g * cg:(g + 1) * cg]
        for pos in np.ndindex(*out_size):
            acc = np.zeros(n)
            for off in np.ndindex(*ksize):
                idx = tuple(p * t + o * d
                            for p, o, t, d in zip(pos, off, stride, dilation))
                acc += xg[(slice(None), slice(None)) + idx] @ w[(kk, slice(None)) + off]
            y[(slice(None), kk) + pos] = acc
    if bias is not None:
        y += bias.reshape((k,) + (1,) * n_sp)
    return y


_CONV_CASES = {
    "1d-valid": dict(n_sp=1, n=3, c=2, k=4, size=(9,), ksize=(3,), kw={}),
    "1d-same-stride-dilation": dict(n_sp=1, n=2, c=2, k=2, size=(10,), ksize=(4,),
                                    kw=dict(padding="same", stride=2, dilation=2)),
    "1d-full-flip-bias": dict(n_sp=1, n=2, c=1, k=3, size=(5,), ksize=(3,),
                              kw=dict(padding="full", flip=True, bias=True)),
    "1d-pointwise-groups": dict(n_sp=1, n=3, c=4, k=6, size=(7,), ksize=(1,),
                                kw=dict(groups=2, bias=True)),
    "2d-valid": dict(n_sp=2, n=2, c=3, k=2, size=(6, 5), ksize=(3, 2), kw={}),
    "2d-same-chunked": dict(n_sp=2, n=5, c=2, k=3, size=(5, 6), ksize=(3, 3),
                            kw=dict(padding="same", max_memory=1)),
    "2d-pairs-stride-dilation-flip": dict(
        n_sp=2, n=2, c=2, k=2, size=(8, 7), ksize=(2, 3),
        kw=dict(padding=((1, 0), 2), stride=(2, 1), dilation=(1, 2), flip=True)),
    "2d-depthwise-bias": dict(n_sp=2, n=2, c=3, k=3, size=(4, 4), ksize=(2, 2),
                              kw=dict(groups=3, bias=True, padding=1)),
    "2d-pointwise-chunked": dict(n_sp=2, n=4, c=3, k=2, size=(3, 4), ksize=(1, 1),
                                 kw=dict(max_memory="100B")),
    "2d-empty-batch": dict(n_sp=2, n=0, c=1, k=2, size=(4, 4), ksize=(3, 3), kw={}),
}


def _case_arrays(case, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    groups = case["kw"].get("groups", 1)
    x = rng.standard_normal((case["n"], case["c"]) + case["size"]).astype(dtype)
    w = rng.standard_normal((case["k"], case["c"] // groups) + case["ksize"])
    b = rng.standard_normal(case["k"]) if case["kw"].get("bias") else None
    kw = dict(case["kw"])
    kw.pop("bias", None)
    return x, w, b, kw


def _conv_fn(n_sp):
    return conv1d if n_sp == 1 else conv2d


@pytest.mark.parametrize("case", list(_CONV_CASES.values()), ids=list(_CONV_CASES))
def test_conv_on_fake_arrays_returns_fake_arrays_matching_numpy(strict_cupy, case):
    x, w, b, kw = _case_arrays(case)
    conv = _conv_fn(case["n_sp"])
    expected = conv(x, w, bias=b, **kw)
    assert isinstance(expected, np.ndarray)
    got = conv(cp.asarray(x), cp.asarray(w),
               bias=None if b is None else cp.asarray(b), **kw)
    assert isinstance(got, FakeArray)
    assert fb.get_namespace(got) is strict_cupy
    assert got.dtype == np.float64 and got.shape == expected.shape
    np.testing.assert_allclose(got.get(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n_sp", [1, 2])
def test_conv_on_fake_arrays_keeps_float32_and_casts_ints(strict_cupy, n_sp):
    conv = _conv_fn(n_sp)
    rng = np.random.default_rng(1)
    shape = (2, 2) + (6,) * n_sp
    x32 = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((3, 2) + (3,) * n_sp)
    got = conv(cp.asarray(x32), cp.asarray(w), padding="same")
    assert isinstance(got, FakeArray) and got.dtype == np.float32
    np.testing.assert_allclose(got.get(), conv(x32, w, padding="same"),
                               rtol=1e-5, atol=1e-5)
    xi = rng.integers(-3, 4, size=shape)
    w32 = w.astype(np.float32)
    got = conv(cp.asarray(xi), cp.asarray(w32))
    assert isinstance(got, FakeArray) and got.dtype == np.float64
    np.testing.assert_allclose(got.get(), conv(xi, w32), rtol=1e-12, atol=1e-12)


def test_conv_on_non_contiguous_fake_input(strict_cupy):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 6, 2, 3))  # (H, W, C, N) -> transposed view
    w = rng.standard_normal((2, 2, 1, 1))
    xt = np.transpose(x, (3, 2, 0, 1))
    got = conv2d(cp.asarray(x).transpose(3, 2, 0, 1), cp.asarray(w))
    assert isinstance(got, FakeArray)
    np.testing.assert_allclose(got.get(), conv2d(xt, w), rtol=1e-12, atol=1e-12)


def test_conv_does_not_modify_fake_inputs(strict_cupy):
    x, w, b, kw = _case_arrays(_CONV_CASES["2d-depthwise-bias"])
    fx, fw, fbias = cp.asarray(x), cp.asarray(w), cp.asarray(b)
    conv2d(fx, fw, bias=fbias, flip=True, **kw)
    np.testing.assert_array_equal(fx.get(), x)
    np.testing.assert_array_equal(fw.get(), w)
    np.testing.assert_array_equal(fbias.get(), b)


@pytest.mark.parametrize("make", [
    lambda x, w, b: conv1d(cp.asarray(x), w),
    lambda x, w, b: conv1d(x, cp.asarray(w)),
    lambda x, w, b: conv1d(cp.asarray(x), w.tolist()),
    lambda x, w, b: conv1d(cp.asarray(x), cp.asarray(w), bias=b),
], ids=["fake-x-host-kernels", "host-x-fake-kernels", "fake-x-list-kernels",
        "fake-x-host-bias"])
def test_conv_mixing_fake_and_host_raises_type_error(strict_cupy, make):
    x = np.ones((1, 1, 5))
    w = np.ones((2, 1, 3))
    b = np.zeros(2)
    with pytest.raises(TypeError, match="mix"):
        make(x, w, b)


def test_conv_validation_errors_on_fake_arrays(strict_cupy):
    w = cp.asarray(np.ones((1, 1, 3)))
    with pytest.raises(TypeError, match="x must have a real numeric dtype"):
        conv1d(cp.asarray(np.ones((1, 1, 5), dtype=complex)), w)
    with pytest.raises(ValueError, match=r"x must be a 3-D array.*\(1, 5\)"):
        conv1d(cp.asarray(np.ones((1, 5))), w)
    with pytest.raises(ValueError, match="do not fit"):
        conv1d(cp.asarray(np.ones((1, 1, 2))), w)
    with pytest.raises(ValueError, match="bias must have shape"):
        conv1d(cp.asarray(np.ones((1, 1, 5))), w, bias=cp.zeros(2))


@st.composite
def _conv_problems(draw):
    n_sp = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 2))
    c = groups * draw(st.integers(1, 2))
    k = groups * draw(st.integers(1, 2))
    n = draw(st.integers(0, 3))
    ksize = tuple(draw(st.integers(1, 3)) for _ in range(n_sp))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(n_sp))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n_sp))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2)))
                 for _ in range(n_sp))
    size = tuple(max(1, d * (q - 1) + 1 - a - b) + draw(st.integers(0, 3))
                 for d, q, (a, b) in zip(dilation, ksize, pads))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c) + size)
    w = rng.standard_normal((k, c // groups) + ksize)
    bias = rng.standard_normal(k) if draw(st.booleans()) else None
    kw = dict(stride=stride, padding=pads, dilation=dilation, groups=groups,
              flip=draw(st.booleans()),
              max_memory=draw(st.sampled_from([1, "1KB", "512MB"])))
    return x, w, bias, kw


@settings(max_examples=40, deadline=None)
@given(_conv_problems())
def test_conv_on_fake_arrays_matches_direct_reference(problem):
    x, w, bias, kw = problem
    conv = _conv_fn(x.ndim - 2)
    expected = _naive_conv(x, w, kw["stride"], kw["padding"], kw["dilation"],
                           kw["groups"], kw["flip"], bias)
    with _strict_cupy.installed():
        got = conv(cp.asarray(x), cp.asarray(w),
                   bias=None if bias is None else cp.asarray(bias), **kw)
        assert isinstance(got, FakeArray)
        np.testing.assert_allclose(got.get(), expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(conv(x, w, bias=bias, **kw), expected,
                               rtol=1e-10, atol=1e-10)


def _other_op_cases():
    from featurelab import ops

    rng = np.random.default_rng(4)
    cases = []
    for x in (rng.standard_normal((2, 4, 9)), rng.standard_normal((2, 4, 7, 6))):
        pool = ops.pool1d if x.ndim == 3 else ops.pool2d
        tag = f"{x.ndim - 2}d"
        for mode in ops.POOL_MODES:
            cases += [
                (f"{pool.__name__}-{mode}", pool, x, dict(size=2, mode=mode)),
                (f"{pool.__name__}-{mode}-overlap-pad", pool, x,
                 dict(size=3, stride=1, mode=mode, padding=1)),
                (f"{pool.__name__}-{mode}-size1", pool, x, dict(size=1, mode=mode)),
                (f"adaptive_pool-{tag}-{mode}", ops.adaptive_pool, x,
                 dict(output_size=4, mode=mode)),
                (f"region_pool-{tag}-{mode}", ops.region_pool, x,
                 dict(regions=2, mode=mode)),
                (f"channel_pool-{tag}-{mode}", ops.channel_pool, x,
                 dict(group_size=2, mode=mode)),
            ]
        cases += [(f"{name}-{tag}", f, x, {})
                  for name, f in ops.NONLINEARITIES.items()]
        cases += [
            (f"lcn-{tag}", ops.local_contrast_normalize, x, {}),
            (f"lcn-{tag}-subtractive", ops.local_contrast_normalize, x,
             dict(divisive=False, sigma=0.7)),
            (f"lcn-{tag}-float32", ops.local_contrast_normalize,
             x.astype(np.float32), {}),
            (f"lcn-{tag}-empty", ops.local_contrast_normalize,
             np.zeros((0,) + x.shape[1:]), {}),
        ]
    cases.append(("relu-int", ops.relu, rng.integers(-3, 3, (2, 3)), {}))
    cases.append(("soft_threshold-alpha", ops.soft_threshold,
                  rng.standard_normal((2, 3)), dict(alpha=0.5)))
    return [pytest.param(*case[1:], id=case[0]) for case in cases]


@pytest.mark.parametrize("op, x, kwargs", _other_op_cases())
def test_other_ops_on_fake_arrays_return_fake_arrays_matching_numpy(
        strict_cupy, op, x, kwargs):
    expected = op(x, **kwargs)
    got = op(cp.asarray(x), **kwargs)
    assert isinstance(got, FakeArray)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    tol = 1e-5 if expected.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got.get(), expected, rtol=tol, atol=tol)


def test_gaussian_window_on_the_fake_namespace(strict_cupy):
    from featurelab.ops import gaussian_window

    w = gaussian_window(1.5, xp=strict_cupy, dtype="float32")
    assert isinstance(w, FakeArray) and w.dtype == np.float32
    np.testing.assert_allclose(w.get(), gaussian_window(1.5, dtype="float32"),
                               rtol=1e-6)


def test_system_info_reports_the_fake_device(strict_cupy, monkeypatch):
    from featurelab.cli import system_info

    monkeypatch.delenv("FEATURELAB_BACKEND", raising=False)
    info = system_info()
    assert info["device"] == "Strict fake device"
    assert info["backend"] == "cupy"
    assert info["cupy"] == strict_cupy.__version__


# --------------------------------------------------------------------------
# The shared ``backend`` fixture (conftest.py), strict_cupy param included
# --------------------------------------------------------------------------

def test_backend_fixture_runs_conv_on_each_backend(backend):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    y = conv2d(backend.asarray(x), backend.asarray(w), bias=backend.asarray(b),
               padding="same")
    if backend.name == "numpy":
        assert isinstance(y, np.ndarray)
        assert sys.modules.get("cupy") is not cp  # fake installed only for its param
    else:
        assert fb.is_cupy_array(y)
        assert fb.get_namespace(y) is sys.modules["cupy"]
    if backend.name == "strict_cupy":
        assert sys.modules["cupy"] is cp
        assert fb.cupy_available() is True
    np.testing.assert_allclose(backend.to_numpy(y),
                               conv2d(x, w, bias=b, padding="same"),
                               rtol=1e-12, atol=1e-12)
