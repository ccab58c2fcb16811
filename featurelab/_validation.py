"""Input validation shared by the public functions (private module).

Every check raises ``ValueError`` or ``TypeError`` with a message that names
the parameter, the value received and what was expected (docs/design.md,
"Bad input").  The checks run once at the public boundary; the private kernels
behind them assume valid input.
"""

import numbers

import numpy as np

from .backend import get_namespace

_FLOAT_KEPT = ("float32", "float64")


def check_array(x, name, ndim, layout):
    """Return ``x`` as a float array of ``ndim`` dimensions on its backend.

    dtype rule (as in scikit-learn): float32 and float64 are kept; bool,
    integer and float16 input is cast to float64; complex, object, string
    and datetime input raises TypeError.

    Parameters
    ----------
    x : array_like
    name : str
        Parameter name used in messages.
    ndim : int or tuple of int or range
        Accepted numbers of dimensions (a range reads "at least start").
    layout : str
        Human description of the expected shape, used in messages.
    """
    if get_namespace(x) is np:
        x = _np_asarray(x, name)
    kind = x.dtype.kind
    if kind not in "biuf":
        raise TypeError(
            f"{name} must have a real numeric dtype, got dtype {x.dtype}; "
            "complex, object, string and datetime arrays are not supported."
        )
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if x.ndim not in ndims:
        expected = (f"an at least {ndims.start}-D" if isinstance(ndims, range)
                    else f"a {' or '.join(map(str, ndims))}-D")
        raise ValueError(
            f"{name} must be {expected} array of shape "
            f"{layout}, got an array of shape {tuple(x.shape)} "
            f"({x.ndim}-D)."
        )
    if x.dtype.name not in _FLOAT_KEPT:
        x = x.astype("float64")
    return x


def _np_asarray(x, name):
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be array-like with a numeric dtype, got "
            f"{type(x).__name__} ({exc})."
        ) from None


def check_int(value, name, minimum=None):
    """Return ``value`` as an int, checking its type and lower bound."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an int, got {type(value).__name__} {value!r}."
        )
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return value


def _per_axis(value, n, name, expected):
    """Return ``value`` as ``n`` per-axis entries: a tuple/list of length
    ``n`` as is, anything else repeated ``n`` times."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{name} must be {expected}, got {value!r}.")
        return tuple(value)
    return (value,) * n


def as_tuple(value, n, name, minimum=1):
    """Expand an int or a length-``n`` sequence of ints to an ``n``-tuple.

    Examples
    --------
    >>> as_tuple(2, 2, "stride")
    (2, 2)
    >>> as_tuple((1, 3), 2, "stride")
    (1, 3)
    """
    items = _per_axis(value, n, name,
                      f"an int or a tuple of {n} ints (one per spatial axis)")
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise TypeError(
                f"{name} must be an int or a tuple of {n} ints, got "
                f"{value!r}."
            )
        if item < minimum:
            raise ValueError(
                f"{name} must be >= {minimum} on every axis, got {value!r}."
            )
        out.append(int(item))
    return tuple(out)


def check_positive(value, name, finite=True):
    """Check that ``value`` is a real number > 0 (and finite); return a float."""
    expected = f"{name} must be a {'finite ' if finite else ''}real number > 0"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{expected}, got {type(value).__name__} {value!r}.")
    if not value > 0 or (finite and float(value) == float("inf")):
        raise ValueError(f"{expected}, got {value!r}.")
    return float(value)


def check_bool(value, name):
    """Check that ``value`` is a Python or NumPy bool; return a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{name} must be True or False, got {type(value).__name__} "
            f"{value!r}."
        )
    return bool(value)


def check_spatial(x, name="x"):
    """Check that every spatial axis (2 and after) of ``x`` is non-empty."""
    if 0 in x.shape[2:]:
        raise ValueError(
            f"{name} must have at least one sample on every spatial axis, got "
            f"shape {tuple(x.shape)}."
        )


def check_option(value, options, name):
    """Check that ``value`` is one of the strings in ``options``."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(
            f"{name} must be one of {sorted(options)}, got {value!r}."
        )
    return value


def resolve_padding(padding, in_sizes, extents, strides, name="padding"):
    """Resolve a padding specification to ``(before, after)`` per axis.

    Parameters
    ----------
    padding : {'valid', 'same', 'full'} or int or tuple
        A tuple has one entry per spatial axis; each entry is an int
        (same padding on both ends) or a ``(before, after)`` pair.
    in_sizes : tuple of int
        Spatial input sizes.
    extents : tuple of int
        Effective (dilated) kernel sizes ``dilation * (k - 1) + 1``.
    strides : tuple of int

    Returns
    -------
    pads : tuple of (int, int)

    Notes
    -----
    ``'same'`` gives ``ceil(size / stride)`` outputs per axis; the total
    padding ``max((out - 1) * stride + extent - size, 0)`` is split with
    the smaller half first, as in PyTorch and TensorFlow.
    """
    n = len(in_sizes)
    if isinstance(padding, str):
        check_option(padding, ("valid", "same", "full"), name)
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "full":
            return tuple((e - 1, e - 1) for e in extents)
        pads = []
        for size, extent, stride in zip(in_sizes, extents, strides):
            n_out = -(-size // stride)
            total = max((n_out - 1) * stride + extent - size, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    entries = _per_axis(
        padding, n, name,
        f"'valid', 'same', 'full', an int or a tuple of {n} entries (one per "
        f"spatial axis; a (before, after) pair is one entry, e.g. ((2, 3),) in "
        f"1-D)")
    pads = []
    for entry in entries:
        pair = entry if isinstance(entry, (tuple, list)) else (entry, entry)
        if len(pair) != 2 or not all(
            isinstance(p, numbers.Integral) and not isinstance(p, bool)
            for p in pair
        ):
            raise TypeError(
                f"{name} must be 'valid', 'same', 'full', an int or a tuple of "
                f"ints or (before, after) pairs, got {padding!r}."
            )
        if min(pair) < 0:
            raise ValueError(f"{name} must be >= 0, got {padding!r}.")
        pads.append((int(pair[0]), int(pair[1])))
    return tuple(pads)


def window_geometry(in_sizes, ksize, stride, padding, dilation, what="kernels"):
    """Geometry of a (dilated) window swept over padded input.

    Parameters
    ----------
    in_sizes, ksize : tuple of int
        Spatial input sizes and window (kernel) sizes.
    stride, padding, dilation
        As for :func:`featurelab.ops.conv2d` (validated here).
    what : str
        How the error names the windows (``'size: kernels'``, ...).

    Returns
    -------
    stride, dilation : tuple of int
    pads : tuple of (int, int)
    out_size : tuple of int

    Raises
    ------
    ValueError
        When the dilated window does not fit in the padded input.
    """
    n = len(in_sizes)
    in_sizes, ksize = tuple(int(s) for s in in_sizes), tuple(int(k) for k in ksize)
    stride = as_tuple(stride, n, "stride")
    dilation = as_tuple(dilation, n, "dilation")
    extents = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ksize))
    pads = resolve_padding(padding, in_sizes, extents, stride)
    padded = tuple(s + a + b for s, (a, b) in zip(in_sizes, pads))
    if any(p < e for p, e in zip(padded, extents)):
        raise ValueError(
            f"{what} of dilated size {extents} (kernel size {ksize}, dilation "
            f"{dilation}) do not fit in the padded input of size {padded} "
            f"(input {in_sizes}, padding={padding!r})."
        )
    out_size = tuple((p - e) // s + 1 for p, e, s in zip(padded, extents, stride))
    return stride, dilation, pads, out_size
