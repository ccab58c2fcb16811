"""A strict fake ``cupy`` built on NumPy, to exercise the CuPy code path on CPU.

featurelab detects a CuPy array by ``type(x).__module__ == 'cupy'`` and then
uses ``sys.modules['cupy']`` as its array namespace.  This module provides a
stand-in for that namespace whose arrays behave like device arrays:

* :class:`ndarray` is *not* a NumPy subclass; it holds a NumPy array and its
  ``__module__`` is ``'cupy'``.
* Implicit conversion to NumPy fails, as in CuPy: ``numpy.asarray(fake)``
  raises ``TypeError`` (``__array__``), and mixing a plain ``numpy.ndarray``
  of ``ndim >= 1`` with fake arrays in a ufunc, a NumPy function
  (``__array_ufunc__``/``__array_function__``, NEP 13/18), a function of the
  fake module or ``fake[...] = host_array`` raises ``TypeError``.  0-d NumPy
  arrays, NumPy scalars and Python scalars are accepted.
* Memory semantics follow CuPy: slicing, ``reshape`` and the other view
  operations return fake arrays sharing memory with their parent, ``out=``
  writes into the memory of the (possibly viewed) target and returns that
  target, and moving data between host and "device" (``asarray`` of host
  data, ``get``, ``asnumpy``) always copies.
* Reductions and scalar indexing return 0-d fake arrays, as CuPy does.

Explicit transfers: :func:`asarray`/:func:`array` (host -> device),
``x.get()``/:func:`asnumpy` (device -> host).

Use :func:`install` from a fixture (with pytest's ``monkeypatch``) or the
:func:`installed` context manager; both put :data:`module` into
``sys.modules['cupy']`` and give featurelab a fresh
``_cupy_has_device`` cache, and everything is undone afterwards.
"""

import contextlib
import functools
import sys
import types

import numpy as np
import numpy.lib.mixins

__all__ = ["asarray", "asnumpy", "get_array_module", "install", "installed",
           "module", "ndarray"]

_IMPLICIT_MSG = (
    "Implicit conversion to a NumPy array is not allowed. Please use `.get()` "
    "to construct a NumPy array explicitly."
)

# Host data accepted by explicit transfers only (numpy.asarray would take it).
_UNSUPPORTED_KINDS = "OSUVMm"


def _is_host_array(obj):
    return isinstance(obj, np.ndarray) and obj.ndim >= 1


def _find_host_array(obj):
    """Return the first NumPy array of ndim >= 1 nested in ``obj``, or None."""
    if _is_host_array(obj):
        return obj
    if isinstance(obj, (list, tuple)):
        for item in obj:
            found = _find_host_array(item)
            if found is not None:
                return found
    elif isinstance(obj, dict):
        for item in obj.values():
            found = _find_host_array(item)
            if found is not None:
                return found
    return None


def _reject_host_arrays(what, *objs):
    for obj in objs:
        found = _find_host_array(obj)
        if found is not None:
            raise TypeError(
                f"Unsupported type {type(found)!r} in {what}: a host "
                f"numpy.ndarray of shape {found.shape} was mixed with device "
                "(fake cupy) arrays; move it with cupy.asarray first."
            )


def _unwrap(obj):
    """Replace fake arrays by their NumPy data, recursing into containers."""
    if isinstance(obj, ndarray):
        return obj._a
    if isinstance(obj, tuple):
        items = [_unwrap(item) for item in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
    if isinstance(obj, list):
        return [_unwrap(item) for item in obj]
    if isinstance(obj, dict):
        return {key: _unwrap(value) for key, value in obj.items()}
    return obj


def _wrap(obj, keep=()):
    """Wrap NumPy results as fake arrays.

    ``keep`` holds fake arrays (``out=`` targets, the object a method was
    called on) that are returned themselves when the result is their data.
    """
    if isinstance(obj, np.ndarray):
        for fake in keep:
            if obj is fake._a:
                return fake
        return ndarray._from_numpy(obj)
    if isinstance(obj, np.generic) and obj.dtype.kind in "biufc":
        return ndarray._from_numpy(np.asarray(obj))  # CuPy returns 0-d arrays
    if isinstance(obj, tuple):
        items = [_wrap(item, keep) for item in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
    if isinstance(obj, list):
        return [_wrap(item, keep) for item in obj]
    return obj


def _out_targets(kwargs):
    out = kwargs.get("out")
    if out is None:
        return ()
    outs = out if isinstance(out, tuple) else (out,)
    return tuple(o for o in outs if isinstance(o, ndarray))


def _call(func, args, kwargs, what, keep=()):
    """Call a NumPy callable on unwrapped arguments and wrap its result."""
    _reject_host_arrays(what, args, kwargs)
    keep = tuple(keep) + _out_targets(kwargs)
    result = func(*_unwrap(args), **_unwrap(kwargs))
    return _wrap(result, keep)


_METHODS = frozenset("""
    all any argmax argmin argpartition argsort astype choose clip compress
    conj conjugate copy cumprod cumsum diagonal dot fill flatten item max mean
    min nonzero partition prod put ravel repeat reshape round sort squeeze std
    sum swapaxes take tobytes tolist trace transpose var view
""".split())

_PROPERTIES = frozenset("""
    T mT dtype flags imag itemsize nbytes ndim real shape size strides
""".split())


class ndarray(numpy.lib.mixins.NDArrayOperatorsMixin):
    """Fake device array: a NumPy array that refuses implicit host use.

    ``ndarray(shape, dtype=float, order='C')`` allocates an uninitialised
    array, like ``cupy.ndarray``.
    """

    __slots__ = ("_a",)

    def __init__(self, shape, dtype=float, order="C"):
        self._a = np.empty(shape, dtype=dtype, order=order)

    @classmethod
    def _from_numpy(cls, data):
        self = object.__new__(cls)
        self._a = data
        return self

    # --- NumPy protocols -------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT_MSG)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        for obj in inputs + kwargs.get("out", ()):
            if (hasattr(type(obj), "__array_ufunc__")
                    and not isinstance(obj, (ndarray, np.ndarray))):
                return NotImplemented
        return _call(getattr(ufunc, method), inputs, kwargs,
                     f"numpy.{ufunc.__name__}.{method}")

    def __array_function__(self, func, types_, args, kwargs):
        for t in types_:
            if not issubclass(t, (ndarray, np.ndarray)):
                return NotImplemented
        return _call(func, args, kwargs, f"numpy.{func.__name__}")

    # --- host transfer ---------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True):
        """Copy to the host: a new ``numpy.ndarray`` (or into ``out``)."""
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained from "
                                "cupy.ndarray")
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    # --- attributes ------------------------------------------------------
    def __getattr__(self, name):
        if name == "_a":  # not set yet (e.g. during unpickling)
            raise AttributeError(name)
        if name in _METHODS:
            method = getattr(self._a, name)

            @functools.wraps(method)
            def bound(*args, **kwargs):
                return _call(method, args, kwargs, f"cupy.ndarray.{name}",
                             keep=(self,))

            return bound
        if name in _PROPERTIES:
            return _wrap(getattr(self._a, name))
        raise AttributeError(
            f"'cupy.ndarray' object has no attribute {name!r} (strict fake)"
        )

    @property
    def device(self):
        return "cuda:0"

    # --- container protocol ----------------------------------------------
    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        _reject_host_arrays("cupy.ndarray.__setitem__", value)
        self._a[_unwrap(key)] = _unwrap(value)

    # --- scalar conversion (synchronising, allowed in CuPy) ---------------
    def __bool__(self):
        return bool(self._a)

    def __int__(self):
        return int(self._a)

    def __float__(self):
        return float(self._a)

    def __complex__(self):
        return complex(self._a)

    def __index__(self):
        return self._a.__index__()

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __reduce__(self):
        raise TypeError("the strict fake cupy.ndarray cannot be pickled")


ndarray.__module__ = "cupy"
ndarray.__qualname__ = "ndarray"


# --- module-level functions -----------------------------------------------

def asarray(a, dtype=None, order=None, *, blocking=False):
    """Move ``a`` to the fake device; fake input is returned as is if possible.

    Host input (NumPy arrays, lists, scalars) is always copied.
    """
    if isinstance(a, ndarray):
        if dtype is None or np.dtype(dtype) == a.dtype:
            return a
        return a.astype(dtype)
    if isinstance(a, (list, tuple)) and _find_fake(a):
        _reject_host_arrays("cupy.asarray", a)  # a device/host mix
        a = _unwrap(a)
    data = np.array(a, dtype=dtype, order="K" if order is None else order,
                    copy=True)
    if data.dtype.kind in _UNSUPPORTED_KINDS:
        raise ValueError(f"Unsupported dtype {data.dtype}")
    return ndarray._from_numpy(data)


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0,
          *, blocking=False):
    """Like :func:`asarray` but copies fake input unless ``copy=False``."""
    if isinstance(obj, ndarray):
        data = np.array(obj._a, dtype=dtype, copy=copy, order=order,
                        ndmin=ndmin)
        return obj if data is obj._a else ndarray._from_numpy(data)
    out = asarray(obj, dtype=dtype, order=order)
    if ndmin > out.ndim:
        out = out.reshape((1,) * (ndmin - out.ndim) + out.shape)
    return out


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    """Copy ``a`` to the host (NumPy input is passed to ``numpy.asarray``)."""
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def _find_fake(obj):
    if isinstance(obj, ndarray):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_find_fake(item) for item in obj)
    return False


def get_array_module(*args):
    """Return the fake module when any argument is a fake array, else numpy."""
    return module if any(isinstance(a, ndarray) for a in args) else np


class _Ufunc:
    """A NumPy ufunc seen through the fake module (wraps/unwraps arrays)."""

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__
        self.__doc__ = ufunc.__doc__

    def __call__(self, *args, **kwargs):
        return _call(self._ufunc, args, kwargs, f"cupy.{self.__name__}")

    def __getattr__(self, name):
        attr = getattr(self._ufunc, name)
        if name in ("reduce", "accumulate", "reduceat", "outer", "at"):
            return functools.partial(self._method, attr, name)
        return attr

    def _method(self, method, name, *args, **kwargs):
        return _call(method, args, kwargs, f"cupy.{self.__name__}.{name}")

    def __repr__(self):
        return f"<fake cupy ufunc {self.__name__!r}>"


def _wrap_callable(func, qualname):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return _call(func, args, kwargs, qualname)

    return wrapper


def _translate(obj, qualname):
    """How a NumPy attribute is exposed by the fake module."""
    if isinstance(obj, type):  # dtypes (float32, ...), finfo, errstate, ...
        return obj
    if isinstance(obj, np.ufunc):
        return _Ufunc(obj)
    if isinstance(obj, types.ModuleType):
        return _Namespace(obj, qualname)
    if callable(obj):
        return _wrap_callable(obj, qualname)
    return obj  # constants: pi, inf, nan, newaxis, ...


class _Namespace(types.ModuleType):
    """A NumPy sub-module (``linalg``, ``lib.stride_tricks``, ...) seen
    through the fake: its functions unwrap fake arrays and wrap results."""

    def __init__(self, np_module, qualname):
        super().__init__(qualname)
        self._np_module = np_module

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = _translate(getattr(self._np_module, name),
                           f"{self.__name__}.{name}")
        setattr(self, name, value)
        return value


class _Runtime:
    """``cupy.cuda.runtime``: one fake device (monkeypatch to change)."""

    @staticmethod
    def getDeviceCount():
        return 1

    @staticmethod
    def getDeviceProperties(device):
        if device != 0:
            raise RuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
        return {"name": b"Strict fake device", "totalGlobalMem": 16 * 2**30,
                "major": 9, "minor": 0}


def _build_module():
    mod = _Namespace(np, "cupy")
    mod.__doc__ = "Strict fake of CuPy on top of NumPy (tests/_strict_cupy.py)."
    mod.__file__ = __file__
    mod.ndarray = ndarray
    mod.asarray = asarray
    mod.asanyarray = asarray
    mod.ascontiguousarray = functools.partial(asarray, order="C")
    mod.array = array
    mod.asnumpy = asnumpy
    mod.get_array_module = get_array_module
    mod.cuda = types.SimpleNamespace(runtime=_Runtime())
    mod.__version__ = "13.0.0"
    return mod


#: The fake ``cupy`` module.
module = _build_module()


def install(monkeypatch):
    """Install :data:`module` as ``sys.modules['cupy']`` via ``monkeypatch``.

    featurelab's ``_cupy_has_device`` is replaced by a fresh (empty) cache of
    the same function, so CuPy detection sees the fake now, and the original
    cache -- computed without the fake -- comes back on undo.
    """
    from featurelab import backend

    fresh = functools.lru_cache(maxsize=1)(backend._cupy_has_device.__wrapped__)
    monkeypatch.setattr(backend, "_cupy_has_device", fresh)
    monkeypatch.setitem(sys.modules, "cupy", module)
    return module


@contextlib.contextmanager
def installed():
    """Context manager form of :func:`install`; yields the fake module."""
    import pytest

    with pytest.MonkeyPatch.context() as mp:
        yield install(mp)
