"""The results file of a screen: round trip, conversions, crash safety."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from featurelab import results as results_module
from featurelab.results import ResultsFile, load_results

ROOT = Path(__file__).resolve().parents[1]

# A test that does not expect a warning fails on one (pytest.warns still
# catches the expected ones).
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

HASH = "digits-cv5"


@pytest.fixture
def path(tmp_path):
    return tmp_path / "screen.jsonl"


def _lines(path):
    return path.read_bytes().split(b"\n")


def _line(row):
    return json.dumps(row, sort_keys=True, allow_nan=False) + "\n"


# --------------------------------------------------------------- round trip


def test_missing_file_reads_empty(path):
    results = ResultsFile(path, HASH)
    assert results.read() == []
    assert results.done() == set()
    assert load_results(path) == []
    assert not path.exists()


def test_append_read_round_trip(path):
    results = ResultsFile(str(path), HASH)
    assert results.path == path and results.data_hash == HASH
    assert repr(results) == f"ResultsFile({str(path)!r}, data_hash='digits-cv5')"
    rows = [
        {"key": "c", "accuracy": 0.5, "config": {"layers": [{"n": 8}]}},
        {"key": "a", "accuracy": 0.75, "failed": False, "error": None},
        {"key": "b", "accuracy": 1.0, "note": "é ✓\nnew line"},
    ]
    for row in rows:
        results.append(row)
    assert results.read() == [{**row, "data_hash": HASH} for row in rows]
    assert results.done() == {"a", "b", "c"}
    # One line per row, file order kept, nothing but complete lines.
    assert _lines(path)[-1] == b"" and len(_lines(path)) == 4
    # A new object on the same file reads the same rows.
    assert ResultsFile(path, HASH).read() == results.read()
    assert load_results(path) == results.read()


def test_append_does_not_modify_the_row(path):
    row = {"key": "a", "scores": np.array([0.5])}
    ResultsFile(path, HASH).append(row)
    assert set(row) == {"key", "scores"}
    assert isinstance(row["scores"], np.ndarray)


def test_numpy_values_are_written_as_python(path):
    results = ResultsFile(path, HASH)
    results.append({
        "key": "np",
        "i64": np.int64(256), "u8": np.uint8(7), "f32": np.float32(0.25),
        "f64": np.float64(0.1), "flag": np.bool_(True), "name": np.str_("s"),
        "zero_d": np.array(3.5), "matrix": np.arange(6).reshape(2, 3),
        "bools": np.array([True, False]), "pair": (np.int32(1), 2.0),
        "nested": {"scores": np.array([0.5, 0.75], dtype=np.float32)},
    })
    row = results.read()[0]
    assert row == {
        "key": "np", "data_hash": HASH,
        "i64": 256, "u8": 7, "f32": 0.25, "f64": 0.1, "flag": True,
        "name": "s", "zero_d": 3.5, "matrix": [[0, 1, 2], [3, 4, 5]],
        "bools": [True, False], "pair": [1, 2.0],
        "nested": {"scores": [0.5, 0.75]},
    }
    assert type(row["i64"]) is int and type(row["flag"]) is bool
    assert type(row["matrix"][0][0]) is int


def test_nan_and_inf_are_written_as_null(path):
    results = ResultsFile(path, HASH)
    results.append({
        "key": "nan", "acc": float("nan"), "std": np.float32("nan"),
        "time": float("inf"), "low": -np.inf,
        "scores": np.array([0.5, np.nan, np.inf]), "list": [1.0, float("nan")],
    })
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert results.read()[0] == {
        "key": "nan", "data_hash": HASH, "acc": None, "std": None,
        "time": None, "low": None, "scores": [0.5, None, None],
        "list": [1.0, None],
    }


def test_rows_are_written_with_sorted_keys_as_stable_bytes(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    ResultsFile(a, HASH).append({"z": 1, "key": "k", "a": {"y": 2, "x": 1}})
    ResultsFile(b, HASH).append({"a": {"x": 1, "y": 2}, "key": "k", "z": 1,
                                 "data_hash": HASH})
    expected = (b'{"a": {"x": 1, "y": 2}, "data_hash": "digits-cv5", '
                b'"key": "k", "z": 1}\n')
    assert a.read_bytes() == b.read_bytes() == expected


def test_every_append_is_flushed_then_fsynced(path, monkeypatch):
    real_fsync = os.fsync
    synced = []

    def fsync(fd):
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode):
            # The row reached the OS before fsync: flush came first.
            synced.append(path.read_text().count("\n"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    results = ResultsFile(path, HASH)
    for i in range(3):
        results.append({"key": str(i)})
        assert synced == list(range(1, i + 2))


def test_one_write_call_per_row(path, monkeypatch):
    writes = []

    class CountingFile:
        def __init__(self, f):
            self._f = f

        def write(self, data):
            writes.append(data)
            return self._f.write(data)

        def __getattr__(self, name):
            return getattr(self._f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._f.__exit__(*exc)

    def counting_open(file, mode="r", *args, **kwargs):
        f = open(file, mode, *args, **kwargs)  # noqa: SIM115 - the caller closes it
        return CountingFile(f) if "a" in mode else f

    monkeypatch.setattr(results_module, "open", counting_open, raising=False)
    results = ResultsFile(path, HASH)
    rows = [{"key": str(i), "payload": "x" * 10_000 * i} for i in range(4)]
    for row in rows:
        results.append(row)
    assert writes == [_line({**row, "data_hash": HASH}) for row in rows]
    assert all(w.count("\n") == 1 for w in writes)


# -------------------------------------------------------------- bad input


def test_bad_arguments(path):
    with pytest.raises(TypeError, match=r"path must be a str or os.PathLike.*int 3"):
        ResultsFile(3, HASH)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        ResultsFile(b"x.jsonl", HASH)
    with pytest.raises(ValueError, match="path must name the results file"):
        ResultsFile("", HASH)
    with pytest.raises(TypeError, match=r"data_hash must be a str.*int 5"):
        ResultsFile(path, 5)
    with pytest.raises(ValueError, match="data_hash must be a non-empty str"):
        ResultsFile(path, "")
    with pytest.raises(TypeError, match="path must be a str"):
        load_results(None)


@pytest.mark.parametrize("row, error, match", [
    ([("key", "a")], TypeError, r"row must be a dict .* got list"),
    ({"accuracy": 0.5}, ValueError, r"row must have a 'key'.*\['accuracy'\]"),
    ({"key": 3}, TypeError, r"row\['key'\] must be a str, got int 3"),
    ({"key": "a", "data_hash": "other"}, ValueError,
     r"row\['data_hash'\] must be 'digits-cv5'.* got 'other'"),
    ({"key": "a", "config": {"layers": [{"kernels": object()}]}}, TypeError,
     (r"row\['config'\]\['layers'\]\[0\]\['kernels'\] must be "
      r"JSON-serialisable .* got object")),
    ({"key": "a", "z": 1j}, TypeError, r"row\['z'\] .* got complex 1j"),
    ({"key": "a", "s": {1, 2}}, TypeError, r"row\['s'\] .* got set"),
    ({"key": "a", "t": np.datetime64("2024-01-01")}, TypeError,
     r"row\['t'\] .* got datetime64"),
    ({"key": "a", "c": np.array([1j])}, TypeError, r"row\['c'\]\[0\] .* complex"),
    ({"key": "a", "m": {1: "x"}}, TypeError,
     r"row\['m'\] must have str keys .* got the int key 1"),
    ({"key": "a", 2: "x"}, TypeError, r"row must have str keys"),
])
def test_append_refuses_bad_rows_and_writes_nothing(path, row, error, match):
    results = ResultsFile(path, HASH)
    with pytest.raises(error, match=match):
        results.append(row)
    assert not path.exists()


# ------------------------------------------------------------- torn lines


def test_torn_last_line_is_ignored_then_dropped_by_append(path):
    results = ResultsFile(path, HASH)
    results.append({"key": "0", "acc": 0.5})
    results.append({"key": "1", "acc": 0.6})
    torn = _line({"key": "2", "acc": 0.7, "data_hash": HASH})[:20]
    with open(path, "a") as f:
        f.write(torn)

    with pytest.warns(RuntimeWarning, match=r"torn last line \(20 bytes"):
        rows = results.read()
    assert [r["key"] for r in rows] == ["0", "1"]
    with pytest.warns(RuntimeWarning, match="torn"):
        assert results.done() == {"0", "1"}
    with pytest.warns(RuntimeWarning, match="torn"):
        assert len(load_results(path)) == 2

    writer = ResultsFile(path, HASH)     # a new process resuming the screen
    with pytest.warns(RuntimeWarning,
                      match=rf"{path.name} ended with a torn line .* "
                            r"dropped its 20 bytes"):
        writer.append({"key": "2", "acc": 0.7})
    lines = _lines(path)
    assert lines[-1] == b"" and len(lines) == 4
    assert [json.loads(line)["key"] for line in lines[:-1]] == ["0", "1", "2"]
    assert writer.read() == results.read()     # no warning any more
    writer.append({"key": "3"})                # checked once, no warning
    assert [r["key"] for r in writer.read()] == ["0", "1", "2", "3"]


def test_torn_only_line_is_truncated_to_an_empty_file(path):
    path.write_bytes(b'{"data_hash": "digits-cv5", "ke')
    results = ResultsFile(path, HASH)
    with pytest.warns(RuntimeWarning, match="torn"):
        assert results.read() == []
    with pytest.warns(RuntimeWarning, match="dropped its 31 bytes"):
        results.append({"key": "a"})
    assert path.read_text() == _line({"key": "a", "data_hash": HASH})


def test_long_torn_line_is_found_across_chunks(path, monkeypatch):
    monkeypatch.setattr(results_module, "_TAIL_CHUNK", 7)
    results = ResultsFile(path, HASH)
    results.append({"key": "a", "payload": "p" * 50})
    good = path.read_bytes()
    with open(path, "ab") as f:
        f.write(b'{"key": "b", "payload": "' + b"q" * 100)
    with pytest.warns(RuntimeWarning, match="dropped its 125 bytes"):
        ResultsFile(path, HASH).append({"key": "b"})
    assert path.read_bytes() == good + _line({"key": "b",
                                              "data_hash": HASH}).encode()


# ------------------------------------------------- corruption and mixing


@pytest.mark.parametrize("bad, match", [
    (b"{not json", "line 2 is not valid JSON"),
    (b"[1, 2]", "line 2 must be a JSON object with a str 'key'"),
    (b'{"data_hash": "digits-cv5", "acc": 1}', "line 2 must be a JSON object"),
    (b'{"data_hash": "digits-cv5", "key": 7}', "line 2 must be a JSON object"),
    (b'{"key": "\xff"}', "line 2 is not valid JSON"),
])
def test_corrupt_line_in_the_middle_names_the_line(path, bad, match):
    first = _line({"key": "a", "data_hash": HASH}).encode()
    last = _line({"key": "c", "data_hash": HASH}).encode()
    path.write_bytes(first + bad + b"\n" + last)
    with pytest.raises(ValueError, match=rf"results file .*screen.jsonl is corrupt: {match}"):
        ResultsFile(path, HASH).read()
    with pytest.raises(ValueError, match=match):
        load_results(path)


def test_blank_lines_are_skipped(path):
    row = _line({"key": "a", "data_hash": HASH})
    path.write_text("\n" + row + "  \n")
    assert ResultsFile(path, HASH).done() == {"a"}


def test_rows_of_another_data_hash_are_refused(path):
    ResultsFile(path, HASH).append({"key": "a"})
    other = ResultsFile(path, "mnist1d-holdout")
    message = (r"results file .*screen.jsonl belongs to a different "
               r"data/protocol \(data_hash 'digits-cv5' on line 1 vs "
               r"'mnist1d-holdout'\): use another results file")
    with pytest.raises(ValueError, match=message):
        other.read()
    with pytest.raises(ValueError, match=message):
        other.done()
    with pytest.raises(ValueError, match=message):
        other.append({"key": "b"})
    assert ResultsFile(path, HASH).done() == {"a"}      # nothing was written
    # A mixed file (written by hand) is refused on the first foreign row...
    with open(path, "a") as f:
        f.write(_line({"key": "b", "data_hash": "other"}))
    with pytest.raises(ValueError, match=r"data_hash 'other' on line 2"):
        ResultsFile(path, HASH).read()
    # ... and so is a row without a data_hash; reports read them all.
    with open(path, "a") as f:
        f.write(_line({"key": "c"}))
    assert [r.get("data_hash") for r in load_results(path)] == [HASH, "other", None]


def test_duplicate_keys_keep_the_first_row(path):
    results = ResultsFile(path, HASH)
    results.append({"key": "a", "acc": 0.1})
    results.append({"key": "b", "acc": 0.2})
    results.append({"key": "a", "acc": 0.3})
    with pytest.warns(RuntimeWarning,
                      match=r"1 duplicate row\(s\): 'a' \(line 3\); kept the first"):
        rows = results.read()
    assert rows == [{"key": "a", "acc": 0.1, "data_hash": HASH},
                    {"key": "b", "acc": 0.2, "data_hash": HASH}]
    with pytest.warns(RuntimeWarning, match="duplicate"):
        assert load_results(path) == rows


# --------------------------------------------------- a real SIGKILL


N_ROWS = 2_000

WRITER = r"""
import sys
from featurelab.results import ResultsFile

path, n_rows = sys.argv[1], int(sys.argv[2])
results = ResultsFile(path, data_hash="kill-test")
done = results.done()
started = False
for i in range(n_rows):
    key = str(i)
    if key in done:
        continue
    results.append({"key": key, "i": i, "payload": "x" * 300,
                    "scores": [i / 7] * 8})
    print(i, flush=True)        # acknowledged: append returned
    if not started:
        print("started", flush=True)
        started = True
print("finished", flush=True)
"""


def _writer(path, **kwargs):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(N_ROWS)],
        env=env, cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def _acks(text):
    return [int(line) for line in text.split() if line.isdigit()]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_screen_killed_with_sigkill_resumes_without_loss_or_duplicates(path):
    proc = _writer(path)
    try:
        seen = []
        while True:
            line = proc.stdout.readline()
            assert line, f"writer exited early: {proc.stderr.read()}"
            seen.append(line)
            if line.strip() == "started":
                break
        time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    acked = _acks("".join(seen) + out)
    assert "finished" not in out, "the writer finished before it was killed"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # a torn line, maybe
        rows = ResultsFile(path, "kill-test").read()
    n = len(rows)
    assert 0 < n < N_ROWS
    assert [row["key"] for row in rows] == [str(i) for i in range(n)]
    assert [row["i"] for row in rows] == list(range(n))
    # Every row whose append returned is in the file; at most the one being
    # appended when the signal came is there without its acknowledgement.
    assert acked == list(range(len(acked)))
    assert n in (len(acked), len(acked) + 1)

    # The kill may fall between write() and its end: simulate that torn line.
    with open(path, "a") as f:
        f.write(f'{{"data_hash": "kill-test", "i": {n}, "key": "')

    resumed = _writer(path)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert "finished" in out
    assert "torn line" in err and "RuntimeWarning" in err
    assert _acks(out) == list(range(n, N_ROWS))

    rows = ResultsFile(path, "kill-test").read()        # no warning now
    assert [row["key"] for row in rows] == [str(i) for i in range(N_ROWS)]
    lines = _lines(path)
    assert lines[-1] == b"" and len(lines) == N_ROWS + 1
    assert all(json.loads(line)["i"] == i for i, line in enumerate(lines[:-1]))
