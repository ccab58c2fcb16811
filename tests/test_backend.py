"""featurelab.backend: namespace detection, backend switch, transfers, memory."""

import functools
import importlib.abc
import importlib.util
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import featurelab.backend as fb
from featurelab.backend import (
    asarray,
    cupy_available,
    get_backend,
    get_namespace,
    is_cupy_array,
    parse_memory,
    to_numpy,
    use_backend,
)
from tests import _strict_cupy
from tests._strict_cupy import ndarray as FakeArray

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_cupy(monkeypatch):
    """CuPy made unimportable (``import cupy`` raises ImportError)."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    fresh = functools.lru_cache(maxsize=1)(fb._cupy_has_device.__wrapped__)
    monkeypatch.setattr(fb, "_cupy_has_device", fresh)


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("FEATURELAB_BACKEND", raising=False)


# --------------------------------------------------------------------------
# get_namespace / is_cupy_array
# --------------------------------------------------------------------------

@pytest.mark.parametrize("arrays", [
    (np.ones(2),),
    (np.ones(2), np.zeros((3, 3), dtype=np.float32)),
    ([1, 2], None, 3.0, 4),
    (None,),
    (np.float64(1.0), np.array(2.0)),
    (),
], ids=["one", "two", "list-none-scalars", "none", "numpy-scalars", "empty"])
def test_get_namespace_numpy(arrays):
    assert get_namespace(*arrays) is np


def test_get_namespace_fake_cupy_returns_the_installed_module(strict_cupy):
    a = strict_cupy.zeros(3)
    assert get_namespace(a) is strict_cupy
    assert get_namespace(a, None, strict_cupy.ones((2, 2))) is strict_cupy
    assert get_namespace(None, a) is sys.modules["cupy"]


@pytest.mark.parametrize("other", [np.ones(3), [1.0, 2.0], 3.0],
                         ids=["ndarray", "list", "float"])
def test_get_namespace_mixed_raises_type_error_naming_the_mix(strict_cupy, other):
    a = strict_cupy.zeros(3)
    for args in ((a, other), (other, a), (None, a, other)):
        with pytest.raises(TypeError, match="mix") as info:
            get_namespace(*args)
        message = str(info.value)
        assert "cupy.ndarray" in message
        assert f"{type(other).__module__}.{type(other).__name__}" in message
        assert "NoneType" not in message


def test_is_cupy_array():
    assert not is_cupy_array(np.zeros(3))
    assert not is_cupy_array([1, 2])
    assert not is_cupy_array(None)
    assert not is_cupy_array(np.float32(1))
    assert is_cupy_array(_strict_cupy.asarray([1.0]))

    class InCupyCore:
        pass

    class InCupyx:
        pass

    InCupyCore.__module__ = "cupy._core.core"
    InCupyx.__module__ = "cupyx.scipy"
    assert is_cupy_array(InCupyCore())
    assert not is_cupy_array(InCupyx())


def test_is_cupy_array_does_not_import_cupy(no_cupy):
    assert not is_cupy_array(np.zeros(1))
    assert get_namespace(np.zeros(1)) is np
    assert sys.modules["cupy"] is None


# --------------------------------------------------------------------------
# FEATURELAB_BACKEND, use_backend, auto
# --------------------------------------------------------------------------

def test_default_without_cupy_is_numpy(clean_env, no_cupy):
    assert get_backend() == "numpy"
    assert cupy_available() is False


def test_default_with_fake_cupy_and_a_device_is_cupy(clean_env, strict_cupy):
    assert get_backend() == "cupy"
    assert isinstance(asarray([1.0, 2.0]), FakeArray)


@pytest.mark.parametrize("value, expected", [
    ("numpy", "numpy"), ("NumPy", "numpy"), ("cupy", "cupy"), ("CUPY", "cupy"),
    ("auto", "cupy"), ("Auto", "cupy"),
])
def test_env_var_with_fake_cupy(monkeypatch, strict_cupy, value, expected):
    monkeypatch.setenv("FEATURELAB_BACKEND", value)
    assert get_backend() == expected


@pytest.mark.parametrize("value, expected", [
    ("numpy", "numpy"), ("auto", "numpy"),
])
def test_env_var_without_cupy(monkeypatch, no_cupy, value, expected):
    monkeypatch.setenv("FEATURELAB_BACKEND", value)
    assert get_backend() == expected


def test_env_var_cupy_without_cupy_fails_at_once(monkeypatch, no_cupy):
    monkeypatch.setenv("FEATURELAB_BACKEND", "cupy")
    with pytest.raises(ImportError, match="FEATURELAB_BACKEND='cupy' needs CuPy"):
        get_backend()
    with pytest.raises(ImportError, match="needs CuPy"):
        asarray([1.0])


@pytest.mark.parametrize("value", ["torch", "", "gpu", "numpy ", "cuda"])
def test_env_var_invalid_raises_value_error_naming_it(monkeypatch, value):
    monkeypatch.setenv("FEATURELAB_BACKEND", value)
    with pytest.raises(ValueError, match="FEATURELAB_BACKEND") as info:
        get_backend()
    assert repr(value) in str(info.value)


def test_use_backend_overrides_env_var(monkeypatch, strict_cupy):
    monkeypatch.setenv("FEATURELAB_BACKEND", "cupy")
    with use_backend("numpy"):
        assert get_backend() == "numpy"
        assert isinstance(asarray([1.0]), np.ndarray)
    assert get_backend() == "cupy"


def test_use_backend_nests_and_restores(clean_env, strict_cupy):
    assert get_backend() == "cupy"
    with use_backend("numpy"):
        assert get_backend() == "numpy"
        with use_backend("cupy"):
            assert get_backend() == "cupy"
            with use_backend("NUMPY"):
                assert get_backend() == "numpy"
            assert get_backend() == "cupy"
        assert get_backend() == "numpy"
        with use_backend("auto"):
            assert get_backend() == "cupy"
        assert get_backend() == "numpy"
    assert get_backend() == "cupy"


def test_use_backend_restores_after_an_exception(clean_env, no_cupy):
    with pytest.raises(RuntimeError, match="boom"):
        with use_backend("numpy"):
            with use_backend("auto"):
                raise RuntimeError("boom")
    assert get_backend() == "numpy"
    assert fb._backend_override.get() is None


@pytest.mark.parametrize("name", ["torch", "", None, 1, "gpu"])
def test_use_backend_invalid_name_raises_value_error(name):
    with pytest.raises(ValueError, match="name must be one of"):
        with use_backend(name):
            pass  # pragma: no cover
    assert fb._backend_override.get() is None


def test_use_backend_cupy_without_cupy_raises_import_error(clean_env, no_cupy):
    with pytest.raises(ImportError, match="use_backend\\('cupy'\\) needs CuPy"):
        with use_backend("cupy"):
            pass  # pragma: no cover
    assert get_backend() == "numpy"
    with use_backend("auto"):  # auto never needs CuPy
        assert get_backend() == "numpy"


def test_use_backend_is_local_to_the_thread(clean_env, strict_cupy):
    seen = []
    with use_backend("numpy"):
        thread = threading.Thread(target=lambda: seen.append(get_backend()))
        thread.start()
        thread.join()
        assert get_backend() == "numpy"
    assert seen == ["cupy"]


@pytest.mark.parametrize("device_count", [1, 2])
def test_auto_picks_cupy_when_a_device_answers(clean_env, strict_cupy,
                                               monkeypatch, device_count):
    monkeypatch.setattr(strict_cupy.cuda.runtime, "getDeviceCount",
                        lambda: device_count)
    fb._cupy_has_device.cache_clear()
    assert cupy_available() is True
    assert get_backend() == "cupy"
    assert isinstance(asarray([1.0], backend="auto"), FakeArray)


def _raise_no_driver():
    raise RuntimeError("cudaErrorInsufficientDriver")


@pytest.mark.parametrize("count", [lambda: 0, _raise_no_driver],
                         ids=["zero-devices", "raises"])
def test_auto_picks_numpy_without_a_device(clean_env, strict_cupy, monkeypatch,
                                           count):
    monkeypatch.setattr(strict_cupy.cuda.runtime, "getDeviceCount", count)
    fb._cupy_has_device.cache_clear()
    assert cupy_available() is False
    assert get_backend() == "numpy"
    assert isinstance(asarray([1.0], backend="auto"), np.ndarray)
    with use_backend("cupy"):  # CuPy imports: explicit choice still allowed
        assert get_backend() == "cupy"


class _BrokenCupyFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``cupy`` and fails while executing it (a broken CUDA install)."""

    executed = 0

    def find_spec(self, name, path=None, target=None):
        if name == "cupy":
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        self.executed += 1
        raise OSError("libcudart.so.12: cannot open shared object file")


def test_cupy_raising_at_import_counts_as_absent(clean_env, monkeypatch):
    finder = _BrokenCupyFinder()
    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    fresh = functools.lru_cache(maxsize=1)(fb._cupy_has_device.__wrapped__)
    monkeypatch.setattr(fb, "_cupy_has_device", fresh)
    assert cupy_available() is False
    assert get_backend() == "numpy"
    with pytest.raises(ImportError, match="needs CuPy"):
        with use_backend("cupy"):
            pass  # pragma: no cover
    assert finder.executed == 2
    assert "cupy" not in sys.modules


def test_cupy_available_is_cached(strict_cupy, monkeypatch):
    calls = []

    def count():
        calls.append(1)
        return 1

    monkeypatch.setattr(strict_cupy.cuda.runtime, "getDeviceCount", count)
    fb._cupy_has_device.cache_clear()
    assert cupy_available() and cupy_available() and cupy_available()
    assert len(calls) == 1


# --------------------------------------------------------------------------
# to_numpy / asarray
# --------------------------------------------------------------------------

def test_to_numpy_of_host_data():
    a = np.arange(3.0)
    assert to_numpy(a) is a
    out = to_numpy([1, 2])
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [1, 2])
    scalar = to_numpy(2.5)
    assert isinstance(scalar, np.ndarray) and scalar.shape == () and scalar == 2.5


def test_to_numpy_of_fake_cupy_copies_to_host(strict_cupy):
    d = strict_cupy.asarray(np.arange(6.0).reshape(2, 3))
    h = to_numpy(d)
    assert isinstance(h, np.ndarray) and h.shape == (2, 3)
    np.testing.assert_array_equal(h, np.arange(6.0).reshape(2, 3))
    h[0, 0] = 42.0
    assert float(d[0, 0]) == 0.0


@pytest.mark.parametrize("dtype", [None, "float32", np.float64, "int64"])
def test_asarray_to_numpy(dtype):
    out = asarray([[1, 2], [3, 4]], backend="numpy", dtype=dtype)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.dtype(dtype if dtype is not None else np.int_)
    np.testing.assert_array_equal(out, [[1, 2], [3, 4]])


def test_asarray_device_to_numpy(strict_cupy):
    d = strict_cupy.asarray([1.5, 2.5])
    out = asarray(d, backend="numpy", dtype="float32")
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, [1.5, 2.5])


@pytest.mark.parametrize("dtype", [None, "float32", np.float64])
@pytest.mark.parametrize("source", ["list", "numpy", "fake"])
def test_asarray_to_cupy(strict_cupy, source, dtype):
    data = {"list": [1.0, 2.0], "numpy": np.array([1.0, 2.0]),
            "fake": strict_cupy.asarray([1.0, 2.0])}[source]
    out = asarray(data, backend="cupy", dtype=dtype)
    assert isinstance(out, FakeArray)
    assert out.dtype == np.dtype(dtype if dtype is not None else np.float64)
    np.testing.assert_array_equal(out.get(), [1.0, 2.0])


def test_asarray_follows_the_backend_setting(clean_env, strict_cupy):
    with use_backend("numpy"):
        assert isinstance(asarray([1.0]), np.ndarray)
    with use_backend("cupy"):
        assert isinstance(asarray(np.ones(2)), FakeArray)


def test_asarray_to_cupy_without_cupy_raises_import_error(no_cupy):
    with pytest.raises(ImportError, match="backend='cupy' needs CuPy"):
        asarray([1.0], backend="cupy")
    assert isinstance(asarray([1.0], backend="auto"), np.ndarray)


@pytest.mark.parametrize("backend", ["torch", "gpu", 3])
def test_asarray_invalid_backend_raises_value_error(backend):
    with pytest.raises(ValueError, match="backend must be one of"):
        asarray([1.0], backend=backend)


# --------------------------------------------------------------------------
# parse_memory
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (1, 1),
    (2**28, 2**28),
    (np.int64(4096), 4096),
    (np.int32(7), 7),
    ("100", 100),
    ("100B", 100),
    ("512MB", 512 * 10**6),
    ("512mb", 512 * 10**6),
    (" 7 kb ", 7000),
    ("2GB", 2 * 10**9),
    ("3TB", 3 * 10**12),
    ("1KiB", 1024),
    ("1kib", 1024),
    ("4 MiB", 4 * 2**20),
    ("1.5 GiB", 1610612736),
    ("2TiB", 2 * 2**40),
    (".5KB", 500),
    ("0.25MiB", 2**18),
])
def test_parse_memory_valid(value, expected):
    result = parse_memory(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [
    "", "MB", "12XB", "1e9", "-5MB", "+5MB", "5 M B", "1,000", "0x10", "5.",
    "5..0MB", "GiB 1", "1 PB", "inf", "nan", "1 KiBs",
])
def test_parse_memory_bad_strings_raise_value_error(value):
    with pytest.raises(ValueError, match="max_memory must be a number of bytes") as info:
        parse_memory(value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [0, -1, -(2**40), "0", "0MB", "0.0GiB",
                                   "0.0001KB", np.int64(0)])
def test_parse_memory_zero_or_negative_raises_value_error(value):
    with pytest.raises(ValueError, match="max_memory must be positive"):
        parse_memory(value)


@pytest.mark.parametrize("value", [True, False, np.True_, 1.5, 512.0,
                                   np.float64(8.0), None, b"512MB", [512], (1,)])
def test_parse_memory_bad_types_raise_type_error(value):
    with pytest.raises(TypeError, match="max_memory must be an int") as info:
        parse_memory(value)
    assert type(value).__name__ in str(info.value)


def test_parse_memory_names_the_given_parameter():
    with pytest.raises(ValueError, match="^budget must be"):
        parse_memory("lots", name="budget")
    with pytest.raises(TypeError, match="^budget must be"):
        parse_memory(1.0, name="budget")
    with pytest.raises(ValueError, match="^budget must be positive"):
        parse_memory(0, name="budget")


def test_parse_memory_decimal_is_exact():
    assert parse_memory("1.001KB") == 1001
    assert parse_memory("12345678901234567891") == 12345678901234567891


def test_parse_memory_huge_number_is_exact_not_overflow():
    assert parse_memory("9" * 400 + "GB") == int("9" * 400) * 10**9


# --------------------------------------------------------------------------
# Importing featurelab never imports CuPy
# --------------------------------------------------------------------------

def _run_python(code, *flags):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p]
    )
    env.pop("FEATURELAB_BACKEND", None)
    return subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(code)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_import_with_cupy_blocked_works_without_warnings():
    proc = _run_python("""
        import sys
        sys.modules["cupy"] = None
        import featurelab
        import featurelab.backend as fb
        import featurelab.ops
        import numpy as np
        assert fb.cupy_available() is False
        assert fb.get_backend() == "numpy"
        y = featurelab.ops.conv1d(np.ones((1, 1, 4)), np.ones((1, 1, 2)))
        assert y.tolist() == [[[2.0, 2.0, 2.0]]], y
        print("OK", featurelab.__version__)
    """, "-W", "error")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK ")
    assert proc.stderr == ""


def test_import_does_not_import_or_look_for_cupy():
    proc = _run_python("""
        import sys
        looked_up = []

        class Spy:
            @staticmethod
            def find_spec(name, path=None, target=None):
                if name.split(".")[0] in ("cupy", "cupyx", "cupy_backends"):
                    looked_up.append(name)
                return None

        sys.meta_path.insert(0, Spy)
        import featurelab
        import featurelab.backend as fb
        import featurelab.ops
        import numpy as np
        fb.get_namespace(np.ones(2), [1], None)
        fb.is_cupy_array(np.ones(2))
        fb.to_numpy([1.0])
        fb.asarray([1.0], backend="numpy")
        fb.parse_memory("1GB")
        with fb.use_backend("numpy"):
            fb.get_backend()
        featurelab.ops.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)))
        assert looked_up == [], looked_up
        assert not any(m.split(".")[0] == "cupy" for m in sys.modules), sorted(sys.modules)
        print("OK")
    """, "-W", "error")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "OK"
