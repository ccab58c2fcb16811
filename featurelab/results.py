"""The results file of a screen: append-only JSON lines, safe against kills.

A screen writes one JSON object per finished configuration, one per line, to
its results file (../shared/DESIGN.md, "Screening engine"). Each row holds at
least ``"key"``, the stable hash of its configuration, and ``"data_hash"``,
which identifies the data and validation protocol the score belongs to. A
re-run of the same screen reads :meth:`ResultsFile.done` and skips those keys,
so a screen stopped at any moment loses nothing that had finished.

Crash safety
------------
:meth:`ResultsFile.append` serialises the row first (so a row that cannot be
written raises before anything touches the file), then opens the file in
append mode, writes the line and its ``"\\n"`` in one ``write`` call, flushes
and ``os.fsync``-s it. Hence, if the writer is killed at any moment (SIGKILL,
out-of-memory killer, Ctrl-C, power loss after ``append`` returned):

* every row that ``append`` returned from is on disk;
* at most the row being written is lost, and then only partly written: a last
  line without its ``"\\n"`` (a *torn* line). Reading ignores it with a
  ``RuntimeWarning``; the first ``append`` of the next process truncates it
  away, with a ``RuntimeWarning``, so the next row starts on a fresh line;
* the file never holds a duplicate row, because the screen skips the keys of
  :meth:`ResultsFile.done` and a torn row is never counted as done.

One writer at a time
--------------------
The screen engine appends from its main process only: parallel workers
(joblib, Dask) return their rows to the main process, which appends them.
Two processes appending to the same file are not supported: one could
truncate the other's row while repairing a torn line. Should it happen anyway,
reading keeps the first row of each duplicated key and warns.

A row cannot be mixed into a file of another data/protocol: ``append`` refuses
a row whose ``"data_hash"`` differs from the file's, and so does ``read``
(``ValueError``): use another results file.
"""

import json
import math
import numbers
import os
import warnings
from pathlib import Path

import numpy as np

__all__ = ["ResultsFile", "load_results"]

# Bytes read at a time when looking for the last newline of a torn file.
_TAIL_CHUNK = 1 << 16


class ResultsFile:
    """An append-only JSON-lines results file bound to one ``data_hash``.

    Parameters
    ----------
    path : str or os.PathLike
        The file; created by the first :meth:`append` (its directory must
        exist).
    data_hash : str
        Identifies the data and validation protocol the rows belong to. Every
        row of the file must carry this ``"data_hash"``.

    Attributes
    ----------
    path : pathlib.Path
    data_hash : str

    Notes
    -----
    Rows are written with ``json.dumps(row, sort_keys=True, allow_nan=False)``
    after conversion by :func:`_jsonable`: NaN and infinite floats become
    ``null``, NumPy scalars and arrays become Python ints, floats, bools and
    lists, tuples become lists. So a row reads back equal to what was written
    up to these conversions, and the same row always gives the same bytes.
    See the module docstring for what survives a killed writer, and for the
    rule that only one process appends.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> tmp = tempfile.TemporaryDirectory()
    >>> results = ResultsFile(os.path.join(tmp.name, "screen.jsonl"),
    ...                       data_hash="digits-cv5")
    >>> results.read()
    []
    >>> results.append({"key": "a1", "accuracy": np.float32(0.5),
    ...                 "scores": np.array([0.5, np.nan])})
    >>> results.append({"key": "b2", "accuracy": 0.75,
    ...                 "n_features": np.int64(256)})
    >>> results.read()[0]
    {'accuracy': 0.5, 'data_hash': 'digits-cv5', 'key': 'a1', 'scores': [0.5, None]}
    >>> sorted(results.done())
    ['a1', 'b2']
    >>> print(results.path.read_text(), end="")
    {"accuracy": 0.5, "data_hash": "digits-cv5", "key": "a1", "scores": [0.5, null]}
    {"accuracy": 0.75, "data_hash": "digits-cv5", "key": "b2", "n_features": 256}

    The same file opened for another data/protocol is refused:

    >>> ResultsFile(results.path, data_hash="mnist1d-holdout").read()
    Traceback (most recent call last):
    ...
    ValueError: results file ... belongs to a different data/protocol ...
    >>> tmp.cleanup()
    """

    def __init__(self, path, data_hash):
        self.path = _check_path(path)
        if not isinstance(data_hash, str):
            raise TypeError(
                f"data_hash must be a str identifying the data and protocol, "
                f"got {type(data_hash).__name__} {data_hash!r}."
            )
        if not data_hash:
            raise ValueError(
                "data_hash must be a non-empty str identifying the data and "
                "protocol, got ''."
            )
        self.data_hash = data_hash
        self._prepared = False

    def __repr__(self):
        return (f"ResultsFile({str(self.path)!r}, "
                f"data_hash={self.data_hash!r})")

    def read(self):
        """Return all complete rows, in file order.

        Returns
        -------
        rows : list of dict
            ``[]`` when the file does not exist. A torn last line (no
            trailing ``"\\n"``, left by a writer killed mid-write) is ignored
            with a ``RuntimeWarning``. Of rows sharing a key (possible only
            if two processes appended), the first is kept, with a
            ``RuntimeWarning``. Blank lines are skipped.

        Raises
        ------
        ValueError
            If a complete line is not a JSON object with a str ``"key"``
            (the file is corrupt; the message names the line), or if a row's
            ``"data_hash"`` is not this file's ``data_hash`` (the file
            belongs to another data/protocol).
        """
        return _read_rows(self.path, self.data_hash)

    def done(self):
        """Return the ``"key"`` of every complete row.

        Returns
        -------
        keys : set of str
            The configurations a resumed screen skips. Raises as
            :meth:`read`.
        """
        return {row["key"] for row in self.read()}

    def append(self, row):
        """Append one row as one JSON line, flushed and fsync-ed.

        Parameters
        ----------
        row : dict
            A mapping with str keys and a str ``"key"``. ``"data_hash"`` is
            added if missing (``row`` itself is not modified). Values may be
            None, bool, int, float, str, lists, tuples, dicts with str keys,
            and NumPy scalars and arrays of those; NaN and infinite floats
            are written as ``null``.

        Raises
        ------
        TypeError
            If ``row`` is not a mapping, its ``"key"`` is not a str, or a
            value cannot be written as JSON (the message names where).
        ValueError
            If ``row`` has no ``"key"``, if ``row["data_hash"]`` differs from
            this file's ``data_hash``, or if the existing file's first row
            belongs to another data/protocol.

        Notes
        -----
        No row is written when it raises. Before the first append of this
        object, a torn last line left by a killed writer is truncated away
        (``RuntimeWarning`` naming the file and the bytes dropped), so the new
        row starts on a fresh line. When it returns, the row is on disk.
        """
        line = self._serialise(row)
        if not self._prepared:
            self._prepare()
            self._prepared = True
        created = not self.path.exists()
        with open(self.path, "a", encoding="utf-8", newline="\n") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        if created:
            _fsync_directory(self.path.parent)

    def _serialise(self, row):
        """Validate ``row`` and return its JSON line, ``"\\n"`` included."""
        if not isinstance(row, dict):
            raise TypeError(
                f"row must be a dict with a str 'key', got "
                f"{type(row).__name__} {_short_repr(row)}."
            )
        if "key" not in row:
            raise ValueError(
                f"row must have a 'key' (the configuration's hash), got a "
                f"row with keys {sorted(map(str, row))}."
            )
        if not isinstance(row["key"], str):
            raise TypeError(
                f"row['key'] must be a str, got {type(row['key']).__name__} "
                f"{_short_repr(row['key'])}."
            )
        row = dict(row)
        found = row.setdefault("data_hash", self.data_hash)
        if found != self.data_hash:
            raise ValueError(
                f"row['data_hash'] must be {self.data_hash!r}, the data_hash "
                f"of results file {self.path}, got {found!r}: rows of another "
                f"data/protocol go to another results file."
            )
        row = _jsonable(row, "row")
        return json.dumps(row, sort_keys=True, allow_nan=False) + "\n"

    def _prepare(self):
        """Drop a torn last line; refuse a file of another data_hash."""
        dropped = _truncate_torn_tail(self.path)
        if dropped:
            warnings.warn(
                f"results file {self.path} ended with a torn line (a writer "
                f"killed mid-write): dropped its {dropped} bytes so that the "
                f"next row starts on a fresh line.",
                RuntimeWarning, stacklevel=3,
            )
        first = _first_row(self.path)
        if first is not None and first.get("data_hash") != self.data_hash:
            raise _mixed_error(self.path, first.get("data_hash"), 1,
                               self.data_hash)


def load_results(path):
    """Read the rows of any results file, whatever its ``data_hash``.

    For reports: rows of several data/protocols are returned as they are.
    Torn last line, duplicate keys and corrupt lines are handled as in
    :meth:`ResultsFile.read`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    rows : list of dict
        In file order; ``[]`` when the file does not exist.

    Examples
    --------
    >>> import os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "screen.jsonl")
    >>> ResultsFile(path, "digits-cv5").append({"key": "a1", "accuracy": 0.9})
    >>> with open(path, "a") as f:       # a writer killed mid-write
    ...     _ = f.write('{"accuracy": 0.8, "key": "b')
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     rows = load_results(path)
    >>> rows
    [{'accuracy': 0.9, 'data_hash': 'digits-cv5', 'key': 'a1'}]
    >>> print(caught[0].message)
    results file ... ignored a torn last line (27 bytes, no trailing newline) ...
    >>> tmp.cleanup()
    """
    return _read_rows(_check_path(path), None)


def _check_path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or os.PathLike naming the results file, got "
            f"{type(path).__name__} {_short_repr(path)}."
        )
    name = os.fspath(path)
    if not isinstance(name, str):
        raise TypeError(
            f"path must be a str or os.PathLike naming the results file, got "
            f"a path of bytes {_short_repr(path)}."
        )
    if not name:
        raise ValueError("path must name the results file, got ''.")
    return Path(name)


def _jsonable(value, where):
    """Return ``value`` with JSON types only.

    NaN and infinite floats become None, NumPy scalars and arrays become
    Python scalars and (nested) lists, tuples become lists. Anything else
    raises TypeError naming ``where`` (e.g. ``row['config']['layers'][0]``).

    Examples
    --------
    >>> import numpy as np
    >>> _jsonable({"a": np.arange(3), "b": (np.float32(1.5), float("inf"))},
    ...           "row")
    {'a': [0, 1, 2], 'b': [1.5, None]}
    >>> _jsonable({"f": len}, "row")
    Traceback (most recent call last):
    ...
    TypeError: row['f'] must be JSON-serialisable ..., got builtin_function_or_method <built-in function len>.
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral) and not isinstance(
            value, np.timedelta64):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(
                    f"{where} must have str keys to be written as JSON, got "
                    f"the {type(k).__name__} key {_short_repr(k)}."
                )
            out[k] = _jsonable(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, np.ndarray):
        value = value.tolist()
        if not isinstance(value, list):          # a 0-d array
            return _jsonable(value, where)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(
        f"{where} must be JSON-serialisable (None, bool, int, float, str, "
        f"list, tuple, dict with str keys, or a NumPy scalar or array of "
        f"those), got {type(value).__name__} {_short_repr(value)}."
    )


def _short_repr(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _truncate_torn_tail(path):
    """Truncate ``path`` just after its last ``"\\n"``; return bytes dropped.

    A missing or empty file, or one that ends with ``"\\n"``, is left alone
    (0 is returned).
    """
    try:
        with open(path, "r+b") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return 0
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return 0
            keep, end = 0, size
            while end > 0:
                start = max(0, end - _TAIL_CHUNK)
                f.seek(start)
                i = f.read(end - start).rfind(b"\n")
                if i >= 0:
                    keep = start + i + 1
                    break
                end = start
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
    except FileNotFoundError:
        return 0
    return size - keep


def _first_row(path):
    """The first line of ``path`` as a dict, or None (missing, empty, torn,
    corrupt: :func:`_read_rows` reports those)."""
    try:
        with open(path, "rb") as f:
            line = f.readline()
    except FileNotFoundError:
        return None
    if not line.endswith(b"\n"):
        return None
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row if isinstance(row, dict) else None


def _fsync_directory(directory):
    """Make a new file's directory entry durable (POSIX; best effort)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _mixed_error(path, found, lineno, expected):
    return ValueError(
        f"results file {path} belongs to a different data/protocol "
        f"(data_hash {found!r} on line {lineno} vs {expected!r}): use another "
        f"results file."
    )


def _read_rows(path, data_hash):
    """Rows of ``path``; ``data_hash=None`` skips the data_hash check."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    torn = lines.pop()          # what follows the last "\n" (b"" if none)
    if torn:
        warnings.warn(
            f"results file {path}: ignored a torn last line ({len(torn)} "
            f"bytes, no trailing newline) left by a writer killed mid-write; "
            f"the next append drops it.",
            RuntimeWarning, stacklevel=3,
        )
    rows, seen, duplicates = [], set(), []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:        # JSONDecodeError, UnicodeDecodeError
            raise ValueError(
                f"results file {path} is corrupt: line {lineno} is not valid "
                f"JSON ({exc}); got {_short_repr(line)}."
            ) from None
        if not isinstance(row, dict) or not isinstance(row.get("key"), str):
            raise ValueError(  # noqa: TRY004 - a corrupt file, not a bad argument
                f"results file {path} is corrupt: line {lineno} must be a JSON "
                f"object with a str 'key', got {_short_repr(line)}."
            )
        if data_hash is not None and row.get("data_hash") != data_hash:
            raise _mixed_error(path, row.get("data_hash"), lineno, data_hash)
        if row["key"] in seen:
            duplicates.append((lineno, row["key"]))
            continue
        seen.add(row["key"])
        rows.append(row)
    if duplicates:
        shown = ", ".join(f"{key!r} (line {n})" for n, key in duplicates[:5])
        more = f" and {len(duplicates) - 5} more" if len(duplicates) > 5 else ""
        warnings.warn(
            f"results file {path} holds {len(duplicates)} duplicate row(s): "
            f"{shown}{more}; kept the first row of each key. Duplicates come "
            f"from two processes appending to the same file (one writer at a "
            f"time is supported).",
            RuntimeWarning, stacklevel=3,
        )
    return rows
