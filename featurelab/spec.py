"""Screen specifications: parse, validate, expand and hash.

A screen scores every combination of architecture x kernel source x
classifier head x seed on one dataset under one validation protocol
(``../shared/DESIGN.md``, "Screening engine").  The specification is a TOML
file (read with :mod:`tomllib`, never evaluated as code) or the same
structure as a Python dict::

    [data]
    dataset = "digits"        # "digits" | "mnist1d" | path to a .npz (X, y[, X_test, y_test])
    subset = 600              # optional int >= 2: only the first `subset` samples

    [protocol]
    cv = 3                    # stratified k-fold (int >= 2), or
    # holdout = 0.25          # a stratified holdout fraction in (0, 1)
    seed = 0                  # shuffling seed of the folds (default 0)

    [screen]
    kernels = ["random", "kmeans"]  # sources for conv layers that set no `kernels`
    heads = ["ridge"]               # among featurelab.evaluate.HEADS
    seeds = [0]                     # network random_state values
    max_memory = "512MB"

    [[architecture]]                # explicit architectures (zero or more)
    name = "conv32"                 # optional, default "arch<i>"
    output = ["region", 2, "sum"]   # optional FeatureNetwork output
    layers = [
      { type = "conv", n_kernels = 32, size = 3, padding = "same", pool = ["max", 2] },
      { type = "pool", size = 2, mode = "avg" },
      { type = "conv", n_kernels = 64, size = 3, sharing = "tiled", tile = 2 },
      { type = "channel_pool", group_size = 2, mode = "max" },   # maxout
    ]
    # 1-D signals: { type = "bank", kernels = "minirocket", pool = ["ppv"] }

    [grid]                          # optional: every combination of these values
    depth = [1, 2]                  # number of identical conv layers
    n_kernels = [16, 32]
    size = [3, 5]                   # ... any ConvLayer parameter, as a list
    output = [["region", 2, "sum"]]

:func:`load_spec` checks everything that can be checked without the data
and raises ``ValueError`` naming the key (and, for a TOML file, the file and
the line); :meth:`ScreenSpec.configurations` expands the screen into
configuration dicts keyed by a stable hash, and :func:`build_network` turns
one configuration into a :class:`~featurelab.network.FeatureNetwork`.

Examples
--------
>>> from featurelab.spec import build_network, load_spec
>>> spec = load_spec({
...     "data": {"dataset": "digits"},
...     "protocol": {"cv": 3},
...     "screen": {"kernels": ["random", "kmeans"], "heads": ["ridge"]},
...     "grid": {"depth": [1, 2], "n_kernels": [8], "padding": ["same"],
...              "pool": [["max", 2]]},
... })
>>> [a.name for a in spec.architectures]
['d1', 'd2']
>>> configs = spec.configurations()
>>> len(configs)                                    # 2 architectures x 2 sources
4
>>> configs[1]["architecture"], configs[1]["kernels"], len(configs[1]["key"])
('d1', 'kmeans', 16)
>>> net = build_network(configs[1], input_shape=(1, 8, 8))
>>> net.layers[0].kernels, net.layers[0].pool, net.random_state
('kmeans', ('max', 2), 0)
"""

import bisect
import copy
import dataclasses
import hashlib
import inspect
import itertools
import json
import math
import numbers
import os
import re
import tomllib

from ._validation import (
    as_tuple,
    check_bool,
    check_int,
    check_option,
    check_positive,
    resolve_padding,
)
from .backend import parse_memory
from .evaluate import HEADS
from .layers import (
    BANK_SOURCES,
    KERNEL_SOURCES,
    NONLINEARITIES,
    NORMALIZATIONS,
    SHARING,
    BankLayer,
    ChannelPoolLayer,
    ConvLayer,
    PoolLayer,
    _check_pool,
)
from .network import FeatureNetwork, _check_output
from .ops import POOL_MODES

__all__ = [
    "Architecture",
    "ScreenSpec",
    "build_network",
    "config_key",
    "default_spec",
    "load_spec",
]

#: Dataset names that need no path (anything else is a path to a .npz file).
DATASETS = ("digits", "mnist1d")
#: The top-level tables of a spec.
TABLES = ("data", "protocol", "screen", "architecture", "grid")
#: The output of an architecture that sets none.
DEFAULT_OUTPUT = ["region", 2, "sum"]
#: The kernel source of a configuration whose conv layers all set their own.
NO_KERNEL_AXIS = "-"

_LAYERS = {"conv": ConvLayer, "pool": PoolLayer, "channel_pool": ChannelPoolLayer,
           "bank": BankLayer}
_MISSING = object()
_CONFIG_FIELDS = ("layers", "output", "kernels", "head", "seed")


def _param_names(cls):
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


_PARAMS = {kind: _param_names(cls) for kind, cls in _LAYERS.items()}
_DEFAULTS = {kind: cls().get_params() for kind, cls in _LAYERS.items()}
# parameters for which the string "none" (TOML has no null) means None
_NONE_OK = {kind: {k for k, v in _DEFAULTS[kind].items() if v is None}
            for kind in _LAYERS}
_NONE_OK["conv"].add("nonlinearity")
_GRID_KEYS = ["depth"] + _PARAMS["conv"] + ["output"]
# short names of the grid keys in generated architecture names
_ABBREV = {"depth": "d", "n_kernels": "k", "size": "s", "stride": "st",
           "padding": "pad", "dilation": "dil", "nonlinearity": "nl",
           "pool": "pool", "normalize": "norm", "whiten": "white",
           "n_patches": "np", "norm_epsilon": "ne", "whiten_epsilon": "we",
           "sharing": "sh", "tile": "t",
           "kernels": "src", "kernel_params": "kp", "random_state": "rs",
           "output": "out"}


# --------------------------------------------------------------- positions
class _ScanError(Exception):
    pass


class _Scanner:
    """Line numbers of the keys, tables and array entries of a TOML text.

    :mod:`tomllib` reports no positions, so the text (already parsed
    successfully by tomllib, hence valid) is walked once more, recording
    the line where every key path starts: ``("screen", "heads")`` is the
    line of ``heads =`` in ``[screen]``, ``("architecture", 1, "layers", 0,
    "size")`` the line of ``size =`` in the first inline table of the
    ``layers`` of the second ``[[architecture]]``, ``("screen", "heads", 2)``
    the line of the third entry of that array.
    """

    def __init__(self, text):
        self.text = text
        self.i = 0
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.lines = {}

    def line(self, pos):
        return bisect.bisect_left(self.newlines, pos) + 1

    def mark(self, path, pos):
        line = self.line(pos)
        for n in range(1, len(path) + 1):
            self.lines.setdefault(tuple(path[:n]), line)

    def peek(self):
        if self.i >= len(self.text):
            raise _ScanError
        return self.text[self.i]

    def skip(self, newlines):
        t = self.text
        while self.i < len(t):
            c = t[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#":
                end = t.find("\n", self.i)
                self.i = len(t) if end < 0 else end
            else:
                break

    def expect(self, char):
        self.skip(False)
        if self.peek() != char:
            raise _ScanError
        self.i += 1

    def keys(self):
        """A dotted key, as the tuple of its parts."""
        t, parts = self.text, []
        while True:
            self.skip(False)
            c = self.peek()
            if c in "\"'":
                start = self.i
                self.string()
                parts.append(tomllib.loads(f"k = {t[start:self.i]}")["k"])
            else:
                m = re.compile(r"[A-Za-z0-9_-]+").match(t, self.i)
                if m is None:
                    raise _ScanError
                parts.append(m.group())
                self.i = m.end()
            self.skip(False)
            if self.i < len(t) and t[self.i] == ".":
                self.i += 1
                continue
            return tuple(parts)

    def string(self):
        t, i = self.text, self.i
        for quote in ('"""', "'''"):
            if t.startswith(quote, i):
                j = i + 3
                while not t.startswith(quote, j):
                    if j >= len(t):
                        raise _ScanError
                    j += 2 if quote == '"""' and t[j] == "\\" else 1
                j += 3
                for _ in range(2):  # up to two quotes may end the content: """a"""""
                    if j < len(t) and t[j] == quote[0]:
                        j += 1
                self.i = j
                return
        quote, j = t[i], i + 1
        while t[j] != quote:
            if t[j] == "\n":
                raise _ScanError
            j += 2 if quote == '"' and t[j] == "\\" else 1
        self.i = j + 1

    def value(self, path):
        c = self.peek()
        if c in "\"'":
            self.string()
        elif c == "[":
            self.i += 1
            index = 0
            while True:
                self.skip(True)
                if self.peek() == "]":
                    self.i += 1
                    return
                self.mark(path + (index,), self.i)
                self.value(path + (index,))
                self.skip(True)
                if self.peek() == ",":
                    self.i += 1
                index += 1
        elif c == "{":
            self.i += 1
            while True:
                self.skip(True)
                if self.peek() == "}":
                    self.i += 1
                    return
                start = self.i
                keys = self.keys()
                self.mark(path + keys, start)
                self.expect("=")
                self.skip(False)
                self.value(path + keys)
                self.skip(True)
                if self.peek() == ",":
                    self.i += 1
        else:
            m = re.compile(r"[^,\]}\n#]+").match(self.text, self.i)
            if m is None:
                raise _ScanError
            self.i = m.end()

    def scan(self):
        t, table, counts = self.text, (), {}

        def resolve(keys):
            path = ()
            for key in keys:
                path += (key,)
                if path in counts:  # an array of tables: its last element
                    path += (counts[path] - 1,)
            return path

        while True:
            self.skip(True)
            if self.i >= len(t):
                return self.lines
            start = self.i
            if t.startswith("[[", start):
                self.i += 2
                keys = self.keys()
                self.expect("]")
                self.expect("]")
                array = resolve(keys[:-1]) + (keys[-1],)
                counts[array] = counts.get(array, 0) + 1
                table = array + (counts[array] - 1,)
                self.mark(table, start)
            elif t[start] == "[":
                self.i += 1
                keys = self.keys()
                self.expect("]")
                table = resolve(keys)
                self.mark(table, start)
            else:
                keys = self.keys()
                self.mark(table + keys, start)
                self.expect("=")
                self.skip(False)
                self.value(table + keys)


def _key_lines(text):
    """``{key path: line number}`` for a valid TOML text (what could be
    found before anything unexpected)."""
    scanner = _Scanner(text)
    try:
        return scanner.scan()
    except (_ScanError, IndexError, ValueError, tomllib.TOMLDecodeError):
        return scanner.lines


def _format_path(path):
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "spec"


class _Where:
    """Names the source, key path and (for TOML text) line of an error."""

    def __init__(self, source=None, text=None, root=()):
        self.source = source
        self.root = root
        self.lines = _key_lines(text) if text is not None else {}

    def line(self, path):
        for n in range(len(path), 0, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return None

    def error(self, path, message, at=None):
        """A ValueError for ``path``; ``at`` is the path whose line is
        reported (default ``path``; e.g. one entry of a list)."""
        line = self.line(path if at is None else at)
        key = _format_path(self.root + tuple(path))
        if self.source is None:
            prefix = ""
        elif line is None:
            prefix = f"{self.source}: "
        else:
            prefix = f"{self.source}, line {line}: "
        return ValueError(f"{prefix}{key}: {message}")


# ------------------------------------------------------------------ values
def _plain(value, path, where):
    """``value`` as JSON data: tuples become lists, NumPy scalars Python
    numbers; anything else that TOML cannot write is an error."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise where.error(path, f"expected a finite number, got {value!r}.")
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, path + (i,), where) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise where.error(path, f"keys must be strings, got {k!r}.")
            out[k] = _plain(v, path + (k,), where)
        return out
    raise where.error(
        path, f"{type(value).__name__} {value!r} is not a spec value (strings, "
        "numbers, booleans, lists and tables only).")


def _canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def _digest(obj):
    return hashlib.sha256(_canonical_json(obj).encode()).hexdigest()[:16]


def _lists(value):
    """``value`` with every tuple turned into a list (dict input may use
    tuples wherever TOML has arrays)."""
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


def _as_python(value):
    """JSON data back to constructor arguments: lists become tuples (dicts
    stay dicts)."""
    if isinstance(value, (list, tuple)):
        return tuple(_as_python(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_python(v) for k, v in value.items()}
    return value


def _strip_name(message, name):
    """'size must be >= 1' -> 'must be >= 1' (the path already names it)."""
    return message[len(name) + 1:] if message.startswith(name + " ") else message


def _n_axes(value):
    return max(len(value), 1) if isinstance(value, list) else 1


def _pool_axes(pool):
    parts = [pool[1]] if isinstance(pool, list) and len(pool) == 2 else []
    if isinstance(pool, dict):
        parts = [pool.get(k) for k in ("size", "stride", "padding")]
    return max([_n_axes(p) for p in parts] + [1])


def _check_int(value, path, where, minimum, at=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise where.error(path, f"expected an int >= {minimum}, got {value!r}.", at)
    if value < minimum:
        raise where.error(path, f"expected an int >= {minimum}, got {value!r}.", at)
    return int(value)


def _no_duplicates(items, path, where):
    seen = set()
    for j, item in enumerate(items):
        text = _canonical_json(item)
        if text in seen:
            raise where.error(path, f"duplicate entry {item!r}; every entry must "
                              "be different.", at=path + (j,))
        seen.add(text)


def _option_list(value, path, where, options, what, default):
    """A non-empty list of distinct strings among ``options``."""
    if value is _MISSING:
        return tuple(default)
    if not isinstance(value, list) or not value:
        raise where.error(path, f"expected a non-empty list of {what} among "
                          f"{sorted(options)}, got {value!r}.")
    for j, item in enumerate(value):
        if not isinstance(item, str) or item not in options:
            raise where.error(path, f"{item!r} is not one of {sorted(options)}.",
                              at=path + (j,))
    _no_duplicates(value, path, where)
    return tuple(value)


def _conv_value(key, value, path, where, at=None):
    """Check one ConvLayer parameter as far as possible without data;
    return its canonical form."""
    if value == "none" and key in _NONE_OK["conv"]:
        value = None
    try:
        if key == "n_kernels":
            if value is not None:
                check_int(value, key, minimum=1)
        elif key in ("size", "stride", "dilation"):
            as_tuple(value, _n_axes(value), key)
        elif key == "kernels":
            if not isinstance(value, str) or value not in KERNEL_SOURCES:
                raise ValueError(f"{value!r} is not one of {sorted(KERNEL_SOURCES)} "
                                 "(a spec names kernel sources; arrays and callables "
                                 "go to ConvLayer directly).")
        elif key == "padding":
            n = _n_axes(value)
            resolve_padding(value, (1,) * n, (1,) * n, (1,) * n, key)
        elif key == "nonlinearity":
            value = "identity" if value is None else value  # the same function
            check_option(value, NONLINEARITIES, key)
        elif key == "sharing":
            check_option(value, SHARING, key)
        elif key == "tile":
            as_tuple(value, _n_axes(value), key)
        elif key == "pool":
            if value is not None:
                _check_pool(value, _pool_axes(value))
        elif key == "normalize":
            if value is not None:
                check_option(value, NORMALIZATIONS, key)
        elif key == "whiten":
            check_bool(value, key)
        elif key == "n_patches":
            check_int(value, key, minimum=1)
        elif key in ("norm_epsilon", "whiten_epsilon"):
            value = check_positive(value, key)
        else:
            _check_source_options(key, value, "kernel source")
    except (TypeError, ValueError) as exc:
        raise where.error(path, _strip_name(str(exc), key), at) from None
    return value


def _check_source_options(key, value, what):
    """``kernel_params`` (a table of keyword arguments of ``what``) and
    ``random_state`` (an int >= 0), 'none' meaning None."""
    if key == "kernel_params":
        if value is not None and not isinstance(value, dict):
            raise TypeError(f"must be a table of keyword arguments of the {what}, "
                            f"or 'none', got {value!r}.")
    elif key == "random_state" and value is not None:
        check_int(value, key, minimum=0)


def _bank_value(key, value, path, where):
    """Check one BankLayer parameter; return its canonical form."""
    if value == "none" and key in _NONE_OK["bank"]:
        value = None
    try:
        if key == "n_kernels":
            check_int(value, key, minimum=1)
        elif key == "kernels":
            check_option(value, BANK_SOURCES, key)
        elif key == "pool":
            for mode in [value] if isinstance(value, str) else value:
                check_option(mode, POOL_MODES, key)
        else:
            _check_source_options(key, value, "bank")
    except (TypeError, ValueError) as exc:
        raise where.error(path, _strip_name(str(exc), key)) from None
    return value


def _pool_value(key, value, path, where):
    if value == "none" and key in _NONE_OK["pool"]:
        value = None
    try:
        if key == "mode":
            check_option(value, POOL_MODES, key)
        elif key in ("size", "stride"):
            if value is not None:
                as_tuple(value, _n_axes(value), key)
        elif key == "padding":
            as_tuple(value, _n_axes(value), key, minimum=0)
        elif key == "group_size":
            check_int(value, key, minimum=1)
    except (TypeError, ValueError) as exc:
        raise where.error(path, _strip_name(str(exc), key)) from None
    return value


def _layer(raw, path, where, arch):
    """Validate one layer table; return its canonical dict: ``type``, then
    the parameters that differ from the layer's defaults (``kernels`` is
    kept whenever it is given: it takes the layer off the kernel axis)."""
    index = path[-1] if path and isinstance(path[-1], int) else 0
    at = f"layer {index} of architecture {arch!r}"
    if not isinstance(raw, dict):
        raise where.error(path, f"a layer must be a table such as {{ type = "
                          f"\"conv\", n_kernels = 16 }}, got {raw!r} ({at}).")
    kind = raw.get("type", _MISSING)
    if kind is _MISSING:
        raise where.error(path, f"missing key 'type' ('conv', 'pool', "
                          f"'channel_pool' or 'bank') ({at}).")
    if not isinstance(kind, str) or kind not in _LAYERS:
        raise where.error(path + ("type",), f"{kind!r} is not one of "
                          f"{sorted(_LAYERS)} ({at}).")
    names = _PARAMS[kind]
    for key in raw:
        if key != "type" and key not in names:
            raise where.error(path + (key,), f"unknown {kind} layer parameter "
                              f"{key!r} ({at}); expected one of {sorted(names)}.")
    check = {"conv": _conv_value, "bank": _bank_value}.get(kind, _pool_value)
    params = {}
    for key in names:
        if key not in raw:
            continue
        value = check(key, _plain(raw[key], path + (key,), where), path + (key,), where)
        if key == "kernels" or value != _DEFAULTS[kind][key] or \
                type(value) is not type(_DEFAULTS[kind][key]):
            params[key] = value
    try:
        layer = _LAYERS[kind](**_as_python(params))
        if kind == "pool":
            layer._params(max(_n_axes(params.get(k)) for k in ("size", "stride",
                                                                "padding")))
    except (TypeError, ValueError) as exc:
        raise where.error(path, f"{exc} ({at})") from None
    return {"type": kind, **params}


def _output(value, path, where, at=None):
    """Check an output; return it as 'flatten' or [kind, size, mode]."""
    value = _plain(value, path, where)
    try:
        n = _n_axes(value[1]) if isinstance(value, list) and len(value) > 1 else 1
        checked = _check_output(_as_python(value), n)
    except (TypeError, ValueError, IndexError) as exc:
        raise where.error(path, _strip_name(str(exc), "output"), at) from None
    if checked[0] == "flatten":
        return "flatten"
    return [value[0], value[1], checked[2]]


# -------------------------------------------------------------- spec types
@dataclasses.dataclass(frozen=True)
class Architecture:
    """One layer stack and its output, as plain data.

    Attributes
    ----------
    name : str
        Unique within a spec; it does not enter configuration keys.
    layers : tuple of dict
        ``{"type": "conv" | "pool", **params}`` per layer, in canonical
        form: JSON data only (lists, never tuples), parameters equal to the
        layer's default left out (so spelling a default out does not change
        a key), ``nonlinearity='none'`` written as ``'identity'``.
    output : str or list
        ``'flatten'`` or ``[kind, size, mode]``, the
        :class:`~featurelab.network.FeatureNetwork` ``output``.

    Examples
    --------
    >>> from featurelab.spec import load_spec
    >>> spec = load_spec({"data": {"dataset": "digits"}, "protocol": {"cv": 3},
    ...                   "architecture": [{"layers": [
    ...                       {"type": "conv", "n_kernels": 8, "size": 5,
    ...                        "pool": ("max", 2), "normalize": "none"}]}]})
    >>> spec.architectures[0]
    Architecture(name='arch0', layers=({'type': 'conv', 'n_kernels': 8, 'pool': ['max', 2]},), output=['region', 2, 'sum'])
    """

    name: str
    layers: tuple
    output: object

    def __hash__(self):  # the layers are dicts: hash their canonical JSON
        return hash((self.name, _canonical_json([list(self.layers), self.output])))

    def to_dict(self):
        """``{"name", "output", "layers"}`` (copies), as in a spec."""
        return {"name": self.name, "output": copy.deepcopy(self.output),
                "layers": [copy.deepcopy(layer) for layer in self.layers]}

    def uses_kernel_axis(self):
        """True when some conv layer sets no ``kernels`` of its own, so the
        screen's kernel sources apply to it."""
        return any(layer["type"] == "conv" and "kernels" not in layer
                   for layer in self.layers)


def config_key(config, data_hash):
    """The key of a configuration: 16 hex characters of a SHA-256.

    The hash covers the canonical JSON (sorted keys, no spaces) of the
    configuration's ``layers``, ``output``, ``kernels``, ``head`` and
    ``seed`` -- not its architecture name nor any other field -- together
    with ``data_hash`` (:attr:`ScreenSpec.data_hash`).  Renaming an
    architecture keeps its keys; changing any parameter, the data or the
    protocol changes them.

    Parameters
    ----------
    config : dict
        A configuration (:meth:`ScreenSpec.configurations`), possibly read
        back from JSON.
    data_hash : str

    Returns
    -------
    key : str

    Examples
    --------
    >>> from featurelab.spec import config_key, default_spec
    >>> spec = default_spec()
    >>> config = spec.configurations()[0]
    >>> config_key(config, spec.data_hash) == config["key"]
    True
    >>> config_key(dict(config, architecture="renamed"), spec.data_hash) == config["key"]
    True
    """
    missing = [k for k in _CONFIG_FIELDS if k not in config]
    if missing:
        raise ValueError(f"config: missing key(s) {missing}; a configuration has "
                         f"{list(_CONFIG_FIELDS)}.")
    where = _Where(root=("config",))
    body = {k: _plain(config[k], (k,), where) for k in _CONFIG_FIELDS}
    return _digest({"config": body, "data": data_hash})


@dataclasses.dataclass(frozen=True)
class ScreenSpec:
    """A validated screen specification (build it with :func:`load_spec`).

    Attributes
    ----------
    dataset : str
        ``'digits'``, ``'mnist1d'`` or a path to a ``.npz`` file holding
        ``X`` and ``y`` (optionally ``X_test``, ``y_test``), as written in
        the spec (a relative path is relative to the working directory of
        the screen; it is not checked here).
    subset : int or None
        Use only the first ``subset`` samples.
    cv : int or None
        Folds of stratified k-fold cross-validation ...
    holdout : float or None
        ... or the fraction of a stratified holdout set (exactly one is set).
    protocol_seed : int
        Shuffling seed of the folds or of the holdout split.
    kernels : tuple of str
        Kernel sources applied to the conv layers that set none.
    heads : tuple of str
        Classifier heads (:data:`featurelab.evaluate.HEADS`).
    seeds : tuple of int
        ``random_state`` values of the networks.
    max_memory : str or int
        Memory budget of each network (not part of the keys).
    architectures : tuple of Architecture
        Explicit ones first, then the grid's.
    source : str or None
        The TOML file the spec was read from (not compared).
    """

    dataset: str
    subset: int | None
    cv: int | None
    holdout: float | None
    protocol_seed: int
    kernels: tuple
    heads: tuple
    seeds: tuple
    max_memory: str | int
    architectures: tuple
    source: str | None = dataclasses.field(default=None, compare=False)

    @property
    def data_hash(self):
        """16 hex characters identifying the data and the protocol.

        SHA-256 of the canonical JSON of ``dataset``, ``subset``, ``cv``,
        ``holdout`` and ``protocol_seed``: scores are comparable exactly
        when they share it, so one results file belongs to one data hash.
        """
        return _digest({"dataset": self.dataset, "subset": self.subset,
                        "cv": self.cv, "holdout": self.holdout,
                        "protocol_seed": self.protocol_seed})

    def configurations(self):
        """Every configuration of the screen, with its key.

        One per architecture x kernel source x head x seed, nested in that
        order.  An architecture whose conv layers all set their own
        ``kernels`` (or that has no conv layer) does not vary with the
        kernel source: it appears once per head and seed, with
        ``kernels='-'``.

        Returns
        -------
        configs : list of dict
            ``{"key", "architecture", "layers", "output", "kernels",
            "head", "seed"}``: JSON data (fresh copies), ``key`` from
            :func:`config_key`.  :func:`build_network` builds the network.

        Examples
        --------
        >>> from featurelab.spec import load_spec
        >>> spec = load_spec({
        ...     "data": {"dataset": "digits"}, "protocol": {"cv": 3},
        ...     "screen": {"kernels": ["random", "pca"], "heads": ["ridge", "logistic"]},
        ...     "architecture": [
        ...         {"name": "a", "layers": [{"type": "conv", "n_kernels": 8}]},
        ...         {"name": "gabor", "layers": [{"type": "conv", "kernels": "gabor"}]}]})
        >>> [(c["architecture"], c["kernels"], c["head"]) for c in spec.configurations()]
        ... # doctest: +NORMALIZE_WHITESPACE
        [('a', 'random', 'ridge'), ('a', 'random', 'logistic'),
         ('a', 'pca', 'ridge'), ('a', 'pca', 'logistic'),
         ('gabor', '-', 'ridge'), ('gabor', '-', 'logistic')]
        """
        data_hash = self.data_hash
        configs = []
        for arch in self.architectures:
            sources = self.kernels if arch.uses_kernel_axis() else (NO_KERNEL_AXIS,)
            for source, head, seed in itertools.product(sources, self.heads, self.seeds):
                config = {"architecture": arch.name,
                          "layers": [copy.deepcopy(layer) for layer in arch.layers],
                          "output": copy.deepcopy(arch.output),
                          "kernels": source, "head": head, "seed": seed}
                configs.append({"key": config_key(config, data_hash), **config})
        return configs

    def to_dict(self):
        """The spec as a dict that :func:`load_spec` reads back to an equal
        spec (the grid appears expanded, as explicit architectures).

        Examples
        --------
        >>> from featurelab.spec import default_spec, load_spec
        >>> spec = default_spec(quick=True)
        >>> load_spec(spec.to_dict()) == spec
        True
        """
        data = {"dataset": self.dataset}
        if self.subset is not None:
            data["subset"] = self.subset
        protocol = {"cv": self.cv} if self.cv is not None else {"holdout": self.holdout}
        protocol["seed"] = self.protocol_seed
        return {
            "data": data,
            "protocol": protocol,
            "screen": {"kernels": list(self.kernels), "heads": list(self.heads),
                       "seeds": list(self.seeds), "max_memory": self.max_memory},
            "architecture": [arch.to_dict() for arch in self.architectures],
        }


# ------------------------------------------------------------------ parsing
def _table(raw, key, where, required):
    value = raw.get(key, _MISSING)
    if value is _MISSING:
        if required:
            raise where.error((key,), f"missing table [{key}].")
        return {}
    if not isinstance(value, dict):
        raise where.error((key,), f"expected a table [{key}], got {value!r}.")
    return value


def _check_keys(table, allowed, path, where):
    for key in table:
        if key not in allowed:
            raise where.error(path + (key,), f"unknown key {key!r}; expected one "
                              f"of {sorted(allowed)}.")


def _parse_data(raw, where):
    data = _table(raw, "data", where, required=True)
    _check_keys(data, ("dataset", "subset"), ("data",), where)
    dataset = data.get("dataset", _MISSING)
    expected = (f"one of {list(DATASETS)} or a path to a .npz file holding X "
                "and y")
    if dataset is _MISSING:
        raise where.error(("data", "dataset"), f"missing; expected {expected}.")
    if not isinstance(dataset, str) or not dataset.strip():
        raise where.error(("data", "dataset"), f"expected {expected}, got "
                          f"{dataset!r}.")
    if dataset not in DATASETS and not dataset.lower().endswith(".npz"):
        raise where.error(("data", "dataset"), f"{dataset!r} is not {expected}.")
    subset = data.get("subset")
    if subset is not None:
        subset = _check_int(subset, ("data", "subset"), where, 2)
    return dataset, subset


def _parse_protocol(raw, where):
    protocol = _table(raw, "protocol", where, required=True)
    _check_keys(protocol, ("cv", "holdout", "seed"), ("protocol",), where)
    cv, holdout = protocol.get("cv"), protocol.get("holdout")
    if (cv is None) == (holdout is None):
        given = "both" if cv is not None else "neither"
        raise where.error(("protocol", "holdout") if cv is not None else ("protocol",),
                          f"give exactly one of cv (folds, an int >= 2) and "
                          f"holdout (a fraction in (0, 1)), got {given}.")
    if cv is not None:
        cv = _check_int(cv, ("protocol", "cv"), where, 2)
    else:
        if (isinstance(holdout, bool) or not isinstance(holdout, numbers.Real)
                or not 0 < holdout < 1):
            raise where.error(("protocol", "holdout"), f"expected a fraction in "
                              f"(0, 1), got {holdout!r}.")
        holdout = float(holdout)
    seed = _check_int(protocol.get("seed", 0), ("protocol", "seed"), where, 0)
    return cv, holdout, seed


def _parse_screen(raw, where):
    screen = _table(raw, "screen", where, required=False)
    _check_keys(screen, ("kernels", "heads", "seeds", "max_memory"), ("screen",), where)
    kernels = _option_list(screen.get("kernels", _MISSING), ("screen", "kernels"),
                           where, KERNEL_SOURCES, "kernel sources", ["random"])
    heads = _option_list(screen.get("heads", _MISSING), ("screen", "heads"), where,
                         HEADS, "heads", ["ridge"])
    seeds = screen.get("seeds", [0])
    path = ("screen", "seeds")
    if not isinstance(seeds, list) or not seeds:
        raise where.error(path, f"expected a non-empty list of ints >= 0, got "
                          f"{seeds!r}.")
    seeds = [_check_int(s, path, where, 0, at=path + (j,)) for j, s in enumerate(seeds)]
    _no_duplicates(seeds, path, where)
    max_memory = screen.get("max_memory", "512MB")
    if isinstance(max_memory, numbers.Integral) and not isinstance(max_memory, bool):
        max_memory = int(max_memory)
    try:
        parse_memory(max_memory)
    except (TypeError, ValueError) as exc:
        raise where.error(("screen", "max_memory"),
                          _strip_name(str(exc), "max_memory")) from None
    return kernels, heads, tuple(seeds), max_memory


def _parse_architectures(raw, where):
    items = raw.get("architecture", [])
    if not isinstance(items, list):
        raise where.error(("architecture",), "expected [[architecture]] tables (a "
                          f"list of architectures), got {items!r}.")
    archs = []
    for i, item in enumerate(items):
        path = ("architecture", i)
        if not isinstance(item, dict):
            raise where.error(path, f"expected a table with layers (and optionally "
                              f"name and output), got {item!r}.")
        _check_keys(item, ("name", "layers", "output"), path, where)
        name = item.get("name", f"arch{i}")
        if not isinstance(name, str) or not name.strip():
            raise where.error(path + ("name",), f"expected a non-empty string, got "
                              f"{name!r}.")
        layers = item.get("layers", _MISSING)
        if layers is _MISSING:
            raise where.error(path, f"missing key 'layers' (architecture {name!r}).")
        if not isinstance(layers, list) or not layers:
            raise where.error(path + ("layers",), f"expected a non-empty list of "
                              f"layer tables, got {layers!r} (architecture {name!r}).")
        layers = tuple(_layer(layer, path + ("layers", j), where, name)
                       for j, layer in enumerate(layers))
        output = _output(item.get("output", DEFAULT_OUTPUT), path + ("output",), where)
        archs.append((path, Architecture(name, layers, output)))
    return archs


def _label(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "none"
    if isinstance(value, dict):
        return "_".join(f"{k}{_label(v)}" for k, v in value.items())
    if isinstance(value, list):
        parts = [_label(v) for v in value]
        numeric = all(isinstance(v, numbers.Number) for v in value)
        return ("x" if numeric else "").join(parts)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _name_part(key, value):
    label = re.sub(r"[^A-Za-z0-9_.-]", "", _label(value))
    abbrev = _ABBREV.get(key, key)
    return f"{abbrev}{label}" if label[:1].isdigit() else f"{abbrev}_{label}"


def _parse_grid(raw, where):
    if "grid" not in raw:
        return []
    grid = _table(raw, "grid", where, required=True)
    if not grid:
        raise where.error(("grid",), "empty grid: give lists of candidate values, "
                          "e.g. depth = [1, 2] and n_kernels = [16, 32].")
    for key in grid:
        if key not in _GRID_KEYS:
            raise where.error(("grid", key), f"unknown key {key!r}; expected 'depth', "
                              f"'output' or a ConvLayer parameter among "
                              f"{sorted(_PARAMS['conv'])}.")
    values = {}
    for key in _GRID_KEYS:
        if key not in grid:
            continue
        path, items = ("grid", key), grid[key]
        if not isinstance(items, list):
            raise where.error(path, f"expected a list of candidate values, got "
                              f"{items!r} (one candidate is a one-entry list).")
        if not items:
            raise where.error(path, "empty grid: an empty list of candidates gives "
                              "no architecture.")
        checked = []
        for j, item in enumerate(items):
            item = _plain(item, path + (j,), where)
            at = path + (j,)
            try:
                if key == "depth":
                    item = _check_int(item, path, where, 1, at=at)
                elif key == "output":
                    item = _output(item, path, where, at=at)
                else:
                    item = _conv_value(key, item, path, where, at=at)
            except ValueError as exc:
                if key in ("pool", "output") and not isinstance(item, (list, dict)):
                    one = '[["max", 2]]' if key == "pool" else '[["region", 2, "sum"]]'
                    raise ValueError(f"{exc} Each entry of a grid list is one "
                                     f"candidate: a single {key} is written "
                                     f"{key} = {one}.") from None
                raise
            checked.append(item)
        _no_duplicates(checked, path, where)
        values[key] = checked
    values.setdefault("depth", [1])
    values.setdefault("output", [DEFAULT_OUTPUT])
    keys = [k for k in _GRID_KEYS if k in values]
    varying = [k for k in keys if len(values[k]) > 1] or ["depth"]
    archs, names = [], {}
    for combo in itertools.product(*(values[k] for k in keys)):
        setting = dict(zip(keys, combo))
        params = {k: v for k, v in setting.items() if k not in ("depth", "output")}
        name = "-".join(_name_part(k, setting[k]) for k in varying)
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:
            name = f"{name}-{names[name]}"
        layer = _layer({"type": "conv", **params}, ("grid",), where, name)
        layers = tuple(copy.deepcopy(layer) for _ in range(setting["depth"]))
        archs.append((("grid",), Architecture(name, layers, setting["output"])))
    return archs


def _parse(raw, where, source=None):
    if not isinstance(raw, dict):
        raise where.error((), f"a spec is a table of tables ({list(TABLES)}), got "
                          f"{type(raw).__name__}.")
    for key in raw:
        if key not in TABLES:
            raise where.error((key,), f"unknown table {key!r}; expected among "
                              f"{list(TABLES)}.")
    dataset, subset = _parse_data(raw, where)
    cv, holdout, protocol_seed = _parse_protocol(raw, where)
    kernels, heads, seeds, max_memory = _parse_screen(raw, where)
    explicit = _parse_architectures(raw, where)
    grid = _parse_grid(raw, where)
    if not explicit and not grid:
        raise where.error(("architecture",), "no architectures: add "
                          "[[architecture]] tables or a [grid].")
    seen_names, seen_nets = {}, {}
    for path, arch in explicit + grid:
        if arch.name in seen_names:
            other = _format_path(seen_names[arch.name])
            if path[0] == "grid":
                raise where.error(seen_names[arch.name] + ("name",), f"name "
                                  f"{arch.name!r} is also the name of a grid "
                                  "architecture; choose another.")
            raise where.error(path + ("name",), f"duplicate architecture name "
                              f"{arch.name!r} (also {other}).")
        seen_names[arch.name] = path
        net = _canonical_json([list(arch.layers), arch.output])
        if net in seen_nets:
            raise where.error(path, f"architecture {arch.name!r} is the same "
                              f"network as {seen_nets[net]!r}.")
        seen_nets[net] = arch.name
    return ScreenSpec(dataset=dataset, subset=subset, cv=cv, holdout=holdout,
                      protocol_seed=protocol_seed, kernels=kernels, heads=heads,
                      seeds=seeds, max_memory=max_memory,
                      architectures=tuple(arch for _, arch in explicit + grid),
                      source=source)


def load_spec(source):
    """Read and validate a screen specification.

    Parameters
    ----------
    source : ScreenSpec, dict, str or os.PathLike
        A spec (returned as is), a dict with the structure of the TOML
        file (see :mod:`featurelab.spec`; tuples are accepted for lists),
        or the path of a TOML file.

    Returns
    -------
    spec : ScreenSpec

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Invalid TOML, or an invalid key or value.  The message starts with
        the file and line for a TOML file (``"spec.toml, line 12:
        screen.heads: 'svm' is not one of ['auto', 'linear_svc', ...]"``),
        then names the key path, the value and what was
        expected.
    TypeError
        ``source`` has another type.

    Notes
    -----
    Checked without the data: the tables and keys, the dataset name (or a
    ``.npz`` suffix), the protocol, the kernel sources, heads and seeds
    (non-empty, no duplicates), ``max_memory``, every layer parameter whose
    validity does not depend on the input shape (types, ranges, options,
    pooling), the outputs, architecture names (unique, including generated
    grid names) and networks (no two architectures are the same network).
    What depends on the input (a kernel that does not fit the maps, a
    Gabor bank on signals) fails when the screen builds the network.

    In TOML, ``"none"`` stands for None (``pool = "none"``,
    ``normalize = "none"``); lists stand for tuples.  Missing tables and
    keys take defaults: ``[screen]`` ``kernels = ["random"]``,
    ``heads = ["ridge"]``, ``seeds = [0]``, ``max_memory = "512MB"``;
    ``protocol.seed = 0``; an architecture's ``output = ["region", 2,
    "sum"]``; a grid's ``depth = [1]``.  ``[data]`` and ``[protocol]`` (cv
    or holdout) are required.

    Grid architectures are named from the grid values that vary, in the
    order depth, ConvLayer parameters, output: ``d2-k16-s3``,
    ``k32-nl_abs``, ``pool_max2``, ``white_on``.

    Examples
    --------
    >>> import os, tempfile
    >>> from featurelab.spec import load_spec
    >>> text = '''
    ... [data]
    ... dataset = "digits"
    ... [protocol]
    ... cv = 3
    ... [screen]
    ... heads = ["ridge", "svm"]
    ... [grid]
    ... n_kernels = [16, 32]
    ... '''
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "spec.toml")
    ...     with open(path, "w") as f:
    ...         _ = f.write(text)
    ...     try:
    ...         load_spec(path)
    ...     except ValueError as exc:
    ...         print(str(exc).replace(path, "spec.toml"))
    spec.toml, line 7: screen.heads: 'svm' is not one of ['auto', 'linear_svc', ...]...
    """
    if isinstance(source, ScreenSpec):
        return source
    if isinstance(source, dict):
        return _parse(_lists(source), _Where())
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a ScreenSpec, a dict or the path of a TOML "
                        f"file, got {type(source).__name__}.")
    name = os.fspath(source)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if "\n" in name:
        raise ValueError("source: got a string of several lines; pass the path of "
                         "a TOML file, or a dict (tomllib.loads(text)).")
    try:
        with open(name, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"source: spec file {name!r} does not exist.") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}: not a UTF-8 text file ({exc}).") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        at = f", line {match.group(1)}" if match else ""
        raise ValueError(f"{name}{at}: invalid TOML: {exc}") from None
    return _parse(raw, _Where(name, text), source=name)


def build_network(config, *, input_shape=None, max_memory="512MB"):
    """The unfitted network of one configuration.

    Parameters
    ----------
    config : dict
        A configuration of :meth:`ScreenSpec.configurations` (also one read
        back from JSON): its ``layers``, ``output``, ``kernels`` and
        ``seed`` are used.  Conv layers that set no ``kernels`` get
        ``config["kernels"]``; lists become tuples again.
    input_shape : tuple of int, optional
        Passed to :class:`~featurelab.network.FeatureNetwork`.
    max_memory : int or str, default='512MB'
        Passed to :class:`~featurelab.network.FeatureNetwork`.

    Returns
    -------
    network : FeatureNetwork
        With ``random_state=config["seed"]``.

    Raises
    ------
    ValueError
        A key is missing or a value is invalid (the message names
        ``config.<key>``).

    Examples
    --------
    >>> from featurelab.spec import build_network
    >>> net = build_network({"layers": [{"type": "conv", "n_kernels": 8, "size": [3, 3],
    ...                                  "pool": ["max", 2]},
    ...                                 {"type": "pool", "size": 2}],
    ...                      "output": "flatten", "kernels": "pca", "seed": 1})
    >>> net.layers
    [ConvLayer(kernels='pca', n_kernels=8, pool=('max', 2), size=(3, 3)), PoolLayer()]
    >>> net.output, net.random_state
    ('flatten', 1)
    """
    where = _Where(root=("config",))
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}.")
    missing = [k for k in ("layers", "output", "kernels", "seed") if k not in config]
    if missing:
        raise ValueError(f"config: missing key(s) {missing}; a configuration has "
                         f"{list(_CONFIG_FIELDS)}.")
    name = config.get("architecture", "config")
    layers = config["layers"]
    if not isinstance(layers, (list, tuple)) or not layers:
        raise where.error(("layers",), f"expected a non-empty list of layer dicts, "
                          f"got {layers!r}.")
    layers = [_layer(layer, ("layers", i), where, name) for i, layer in enumerate(layers)]
    output = _output(config["output"], ("output",), where)
    source = config["kernels"]
    if source != NO_KERNEL_AXIS:
        source = _conv_value("kernels", source, ("kernels",), where)
    seed = _check_int(config["seed"], ("seed",), where, 0)
    objects = []
    for i, layer in enumerate(layers):
        params = _as_python({k: v for k, v in layer.items() if k != "type"})
        if layer["type"] == "conv" and "kernels" not in params:
            if source == NO_KERNEL_AXIS:
                raise where.error(("kernels",), f"'-' means that every conv layer "
                                  f"sets its own kernels, but layers[{i}] sets none.")
            params["kernels"] = source
        objects.append(_LAYERS[layer["type"]](**params))
    return FeatureNetwork(objects, output=_as_python(output), input_shape=input_shape,
                          max_memory=max_memory, random_state=seed)


def default_spec(quick=False):
    """The built-in screen on scikit-learn's digits (8x8 images).

    Twelve architectures -- depth 1 or 2 x 16, 32 or 64 kernels x kernel
    size 3 or 5 -- of conv layers with ``padding='same'``, per receptive
    field normalisation and ZCA whitening (Coates et al. 2011), ReLU, and
    2x2 max pooling after the last conv layer only (so that 5x5 k-means
    patches fit the 8x8 maps of the second layer), then 2x2 region sums;
    random and k-means kernels; a ridge head; one seed; 3-fold
    cross-validation: 24 configurations.  ``quick=True``: depth 1 or 2 x 16
    or 32 kernels of size 3 on the first 600 digits (8 configurations).

    Parameters
    ----------
    quick : bool, default=False

    Returns
    -------
    spec : ScreenSpec

    Notes
    -----
    Measured on a 2-core machine (``evaluate(net, X, y, head='ridge',
    cv=3)`` run one configuration after the other): the 24 configurations
    took 25-30 s in all (the two largest, 64 kernels of size 5 at depth 2,
    about half of it), the quick screen about 2 s.

    Examples
    --------
    >>> from featurelab.spec import default_spec
    >>> spec = default_spec()
    >>> len(spec.configurations()), spec.architectures[-1].name
    (24, 'd2-k64-s5')
    >>> len(default_spec(quick=True).configurations())
    8
    """
    quick = check_bool(quick, "quick")
    archs = []
    for depth in (1, 2):
        for k in ((16, 32) if quick else (16, 32, 64)):
            for size in ((3,) if quick else (3, 5)):
                layer = {"type": "conv", "n_kernels": k, "size": size,
                         "padding": "same", "normalize": "patch", "whiten": True}
                layers = [dict(layer) for _ in range(depth)]
                layers[-1]["pool"] = ["max", 2]
                archs.append({"name": f"d{depth}-k{k}-s{size}", "layers": layers})
    data = {"dataset": "digits"}
    if quick:
        data["subset"] = 600
    return load_spec({
        "data": data,
        "protocol": {"cv": 3, "seed": 0},
        "screen": {"kernels": ["random", "kmeans"], "heads": ["ridge"], "seeds": [0]},
        "architecture": archs,
    })
