"""Array backend: NumPy or CuPy behind one namespace.

Every op in featurelab is written once against a namespace ``xp`` obtained
from :func:`get_namespace`, so the same code runs on NumPy arrays (CPU) and on
CuPy arrays (GPU).  Ops follow their input: NumPy in, NumPy out; CuPy in, CuPy
out.  The *backend setting* (``FEATURELAB_BACKEND`` or :func:`use_backend`)
only decides where new data is placed by :func:`asarray`; the estimators
so far (``featurelab.kernels``, ``featurelab.patches``) also follow their
input's backend (see docs/design.md).

CuPy is never imported when featurelab is imported; it is imported on first
use, and a missing CuPy is not an error unless the CuPy backend is asked for.
The backend choice is the only global state of the package; it lives in a
:class:`contextvars.ContextVar`, so :func:`use_backend` is thread-safe.
"""

import contextlib
import contextvars
import fractions
import functools
import importlib
import os
import re
import sys

import numpy as np

__all__ = [
    "BACKENDS",
    "asarray",
    "cupy_available",
    "get_backend",
    "get_namespace",
    "is_cupy_array",
    "parse_memory",
    "to_numpy",
    "use_backend",
]

#: Names accepted by :func:`use_backend` and ``FEATURELAB_BACKEND``.
BACKENDS = ("numpy", "cupy", "auto")

_backend_override = contextvars.ContextVar("featurelab_backend", default=None)


def _import_cupy():
    """Import and return CuPy, or ``None`` when it is not installed."""
    try:
        return importlib.import_module("cupy")
    except Exception:  # ImportError, or a broken CUDA install raising at import
        return None


@functools.lru_cache(maxsize=1)
def _cupy_has_device():
    cupy = _import_cupy()
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device
        return False


def cupy_available():
    """Return True when CuPy imports and a CUDA device answers.

    Returns
    -------
    available : bool

    Examples
    --------
    >>> isinstance(cupy_available(), bool)
    True
    """
    return _cupy_has_device()


def _check_backend_name(name, source):
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ValueError(
            f"{source} must be one of {set(BACKENDS)}, got {name!r}."
        )
    return name.lower()


def get_backend():
    """Return the backend in use for new data: ``'numpy'`` or ``'cupy'``.

    The choice is, by priority: the innermost :func:`use_backend` block, the
    ``FEATURELAB_BACKEND`` environment variable, then ``'auto'``.  ``'auto'``
    resolves to ``'cupy'`` only when CuPy imports and a CUDA device answers;
    an explicit ``'cupy'`` raises ImportError when CuPy does not import.

    Returns
    -------
    backend : {'numpy', 'cupy'}

    Examples
    --------
    >>> with use_backend("numpy"):
    ...     get_backend()
    'numpy'
    """
    name = _backend_override.get()
    if name is None:
        name = _check_backend_name(
            os.environ.get("FEATURELAB_BACKEND", "auto"), "FEATURELAB_BACKEND"
        )
    if name == "auto":
        return "cupy" if cupy_available() else "numpy"
    if name == "cupy":
        _require_cupy("FEATURELAB_BACKEND='cupy'")
    return name


def _require_cupy(what):
    cupy = _import_cupy()
    if cupy is None:
        raise ImportError(
            f"{what} needs CuPy; install featurelab[gpu] (cupy-cuda12x) on a "
            "machine with a CUDA device."
        )
    return cupy


@contextlib.contextmanager
def use_backend(name):
    """Context manager that selects the backend for new data.

    Parameters
    ----------
    name : {'numpy', 'cupy', 'auto'}
        ``'cupy'`` raises ImportError on entry when CuPy cannot be imported.

    Examples
    --------
    >>> import numpy as np
    >>> with use_backend("numpy"):
    ...     type(asarray([1.0, 2.0])).__module__
    'numpy'
    """
    name = _check_backend_name(name, "name")
    if name == "cupy":
        _require_cupy("use_backend('cupy')")
    token = _backend_override.set(name)
    try:
        yield
    finally:
        _backend_override.reset(token)


def is_cupy_array(x):
    """Return True when ``x`` is a CuPy array (without importing CuPy).

    Examples
    --------
    >>> import numpy as np
    >>> is_cupy_array(np.zeros(3))
    False
    """
    return type(x).__module__.split(".")[0] == "cupy"


def get_namespace(*arrays):
    """Return the array module (``numpy`` or ``cupy``) of ``arrays``.

    Parameters
    ----------
    *arrays : array_like or None
        ``None``, Python scalars and lists count as NumPy.

    Returns
    -------
    xp : module
        ``numpy`` or ``cupy``.

    Raises
    ------
    TypeError
        When NumPy (host) and CuPy (device) arrays are mixed.

    Examples
    --------
    >>> import numpy as np
    >>> get_namespace(np.ones(2), np.zeros(3)).__name__
    'numpy'
    """
    on_device = [is_cupy_array(a) for a in arrays if a is not None]
    if any(on_device):
        if not all(on_device):
            kinds = [type(a).__module__ + "." + type(a).__name__
                     for a in arrays if a is not None]
            raise TypeError(
                "arrays must all be NumPy arrays or all be CuPy arrays, got a "
                f"mix: {kinds}. Move them with featurelab.backend.asarray."
            )
        return sys.modules["cupy"]
    return np


def to_numpy(x):
    """Return ``x`` as a NumPy array, copying from the device if needed.

    Examples
    --------
    >>> to_numpy([1, 2])
    array([1, 2])
    """
    if is_cupy_array(x):
        return x.get()
    return np.asarray(x)


def asarray(x, backend=None, dtype=None):
    """Return ``x`` as an array of ``backend`` (default: :func:`get_backend`).

    Parameters
    ----------
    x : array_like
        NumPy array, CuPy array, or anything ``numpy.asarray`` accepts.
    backend : {'numpy', 'cupy', 'auto'}, optional
    dtype : dtype, optional

    Returns
    -------
    array : numpy.ndarray or cupy.ndarray

    Examples
    --------
    >>> asarray([1, 2], backend="numpy", dtype="float32")
    array([1., 2.], dtype=float32)
    """
    if backend is None:
        backend = get_backend()
    backend = _check_backend_name(backend, "backend")
    if backend == "auto":
        backend = "cupy" if cupy_available() else "numpy"
    if backend == "numpy":
        return np.asarray(to_numpy(x), dtype=dtype)
    return _require_cupy("backend='cupy'").asarray(x, dtype=dtype)


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_memory(value, name="max_memory"):
    """Convert a memory budget such as ``'512MB'`` or ``2**28`` to bytes.

    Parameters
    ----------
    value : int or str
        A positive number of bytes, or a string made of a number and a unit
        among B, KB, MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB
        (powers of 1024).
    name : str
        Parameter name used in error messages.

    Returns
    -------
    n_bytes : int

    Examples
    --------
    >>> parse_memory("512MB")
    512000000
    >>> parse_memory("1.5 GiB")
    1610612736
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        n_bytes = int(value)
    elif isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", value)
        unit = match.group(2).upper() if match else None
        if match is None or unit not in _UNITS:
            raise ValueError(
                f"{name} must be a number of bytes or a string like '512MB' "
                f"or '1GiB', got {value!r}."
            )
        n_bytes = int(fractions.Fraction(match.group(1)) * _UNITS[unit])
    else:
        raise TypeError(
            f"{name} must be an int (bytes) or a str like '512MB', got "
            f"{type(value).__name__} {value!r}."
        )
    if n_bytes <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}.")
    return n_bytes
