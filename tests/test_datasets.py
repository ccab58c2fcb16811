"""Offline loaders, on small files the tests write themselves."""

import gzip
import importlib.metadata
import os
import random
import re
import socket
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from featurelab.datasets import (
    load_cifar10,
    load_digits_images,
    load_image_folder,
    load_mnist,
    load_mnist1d,
)

KIND_ERROR = re.escape("kind must be one of ['test', 'train'], got 'val'.")


# --------------------------------------------------------------------------
# shared checks


@pytest.mark.parametrize("loader", [load_mnist, load_cifar10, load_image_folder])
def test_path_must_be_str_or_pathlike(loader):
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int 3"):
        loader(3)


@pytest.mark.parametrize("loader", [load_mnist, load_cifar10, load_image_folder])
def test_missing_folder_is_named(loader, tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="path .*nowhere.* does not exist"):
        loader(missing)


@pytest.mark.parametrize("loader", [load_mnist, load_cifar10, load_image_folder])
def test_file_instead_of_folder(loader, tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match="path must be a folder, got the file .*a.bin"):
        loader(tmp_path / "a.bin")


@pytest.mark.parametrize("loader", [load_mnist, load_cifar10])
def test_kind_is_validated(loader, tmp_path):
    with pytest.raises(ValueError, match=KIND_ERROR):
        loader(tmp_path, kind="val")


def test_heavy_modules_are_imported_lazily():
    code = ("import sys, featurelab.datasets; "
            "print(sorted(m for m in ('PIL', 'mnist1d', 'requests', "
            "'sklearn.datasets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------
# digits


def test_digits_images():
    from sklearn.datasets import load_digits

    X, y = load_digits_images()
    digits = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.flags.c_contiguous
    np.testing.assert_array_equal(X[:, 0], digits.images)
    np.testing.assert_array_equal(y, digits.target)
    assert X.min() == 0 and X.max() == 16


# --------------------------------------------------------------------------
# MNIST-1D

N_TRAIN, N_TEST, LENGTH = 4000, 1000, 40
VERSION = importlib.metadata.version("mnist1d")
CACHE_NAME = f"mnist1d_v{VERSION}.npz"


class NetworkUsed(AssertionError):
    pass


def _block_network(mp, calls):
    """Make every way out raise (and record the attempt)."""
    import requests

    def refuse(*args, **kwargs):
        calls.append(args)
        raise NetworkUsed(f"network call {args!r}")

    mp.setattr(requests, "get", refuse)
    mp.setattr(requests.Session, "request", refuse)
    mp.setattr(socket.socket, "connect", refuse)
    mp.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def mnist1d_run(tmp_path_factory):
    """Generate MNIST-1D once, with the network blocked, recording what the
    generator was called with and what it returned."""
    import mnist1d.data

    cache_dir = tmp_path_factory.mktemp("mnist1d_cache")
    calls, generated = [], []
    make_dataset = mnist1d.data.make_dataset

    def spy(args):
        generated.append((vars(args).copy(), make_dataset(args)))
        return generated[-1][1]

    random.seed(1234)
    np.random.seed(1234)
    np_before, py_before = np.random.get_state(), random.getstate()
    with pytest.MonkeyPatch.context() as mp:
        _block_network(mp, calls)
        mp.setattr(mnist1d.data, "make_dataset", spy)
        arrays = load_mnist1d(cache_dir=cache_dir)
    np_after, py_after = np.random.get_state(), random.getstate()
    ((args, reference),) = generated
    return {"arrays": arrays, "cache_dir": cache_dir, "calls": calls,
            "args": args, "reference": reference,
            "np_states": (np_before, np_after),
            "py_states": (py_before, py_after)}


def _assert_same(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_mnist1d_shapes_and_dtypes(mnist1d_run):
    X_train, y_train, X_test, y_test = mnist1d_run["arrays"]
    assert X_train.shape == (N_TRAIN, 1, LENGTH) and X_train.dtype == np.float32
    assert X_test.shape == (N_TEST, 1, LENGTH) and X_test.dtype == np.float32
    assert y_train.shape == (N_TRAIN,) and y_train.dtype == np.int64
    assert y_test.shape == (N_TEST,) and y_test.dtype == np.int64
    assert all(a.flags.c_contiguous for a in mnist1d_run["arrays"])


def test_mnist1d_is_the_generator_default(mnist1d_run):
    import mnist1d.data

    assert mnist1d_run["args"] == vars(mnist1d.data.get_dataset_args())
    assert mnist1d_run["args"]["num_samples"] == 5000
    ref = mnist1d_run["reference"]
    X_train, y_train, X_test, y_test = mnist1d_run["arrays"]
    np.testing.assert_array_equal(X_train[:, 0], ref["x"].astype(np.float32))
    np.testing.assert_array_equal(X_test[:, 0], ref["x_test"].astype(np.float32))
    np.testing.assert_array_equal(y_train, ref["y"])
    np.testing.assert_array_equal(y_test, ref["y_test"])


def test_mnist1d_labels_are_balanced(mnist1d_run):
    _, y_train, _, y_test = mnist1d_run["arrays"]
    train, test = np.bincount(y_train, minlength=10), np.bincount(y_test, minlength=10)
    assert len(train) == len(test) == 10
    np.testing.assert_array_equal(train + test, 500)
    assert train.min() >= 370 and train.max() <= 430


def test_mnist1d_is_standardised(mnist1d_run):
    X_train, _, X_test, _ = mnist1d_run["arrays"]
    x = np.concatenate([X_train, X_test]).astype(np.float64)
    assert abs(x.mean()) < 1e-6
    assert abs(x.std() - 1) < 1e-6


def test_mnist1d_makes_no_network_call(mnist1d_run):
    assert mnist1d_run["calls"] == []


def test_mnist1d_restores_the_global_random_state(mnist1d_run):
    np_before, np_after = mnist1d_run["np_states"]
    py_before, py_after = mnist1d_run["py_states"]
    assert py_before == py_after
    assert np_before[0] == np_after[0]
    np.testing.assert_array_equal(np_before[1], np_after[1])
    assert np_before[2:] == np_after[2:]


def test_mnist1d_cache_file(mnist1d_run):
    cache_dir = mnist1d_run["cache_dir"]
    assert sorted(os.listdir(cache_dir)) == [CACHE_NAME]  # no temporary left
    with np.load(cache_dir / CACHE_NAME, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["x_test", "x_train", "y_test", "y_train"]


@pytest.fixture
def no_generation(monkeypatch):
    """Make any generation fail: what loads must come from the cache."""
    import mnist1d.data

    def refuse(*args, **kwargs):
        raise AssertionError("make_dataset called")

    monkeypatch.setattr(mnist1d.data, "make_dataset", refuse)


@pytest.fixture
def fake_generator(monkeypatch, mnist1d_run):
    """A fast stand-in for make_dataset that, like the real one, seeds the
    global generators; returns the list of calls."""
    import mnist1d.data

    calls = []

    def fake(args):
        calls.append(args)
        random.seed(42)
        np.random.seed(42)
        return mnist1d_run["reference"]

    monkeypatch.setattr(mnist1d.data, "make_dataset", fake)
    return calls


def test_mnist1d_cached_equals_fresh(mnist1d_run, no_generation, monkeypatch):
    calls = []
    _block_network(monkeypatch, calls)
    cached = load_mnist1d(cache_dir=str(mnist1d_run["cache_dir"]))
    _assert_same(cached, mnist1d_run["arrays"])
    assert calls == []


def test_mnist1d_regenerate_overwrites(mnist1d_run, fake_generator, tmp_path):
    (tmp_path / CACHE_NAME).write_bytes(b"not an npz file")
    data = load_mnist1d(cache_dir=tmp_path, regenerate=True)
    assert len(fake_generator) == 1
    _assert_same(data, mnist1d_run["arrays"])
    _assert_same(load_mnist1d(cache_dir=tmp_path), mnist1d_run["arrays"])
    assert len(fake_generator) == 1
    assert sorted(os.listdir(tmp_path)) == [CACHE_NAME]


def _npz_bytes(tmp_path, **arrays):
    np.savez(tmp_path / "x.npz", **arrays)
    return (tmp_path / "x.npz").read_bytes()


def _good_arrays(run):
    return dict(zip(["x_train", "y_train", "x_test", "y_test"], run["arrays"]))


@pytest.mark.parametrize("corruption, message", [
    ("garbage", "corrupt or unreadable"),
    ("empty", "corrupt or unreadable"),
    ("truncated", "corrupt or unreadable"),
    ("pickle", "corrupt or unreadable"),
    ("missing_key", "array 'y_test' is missing"),
    ("wrong_shape", r"x_train has shape \(10, 1, 40\) and dtype float32, expected \(4000, 1, 40\)"),
    ("wrong_dtype", r"y_train has shape \(4000,\) and dtype int32"),
    ("bad_label", "y_test has labels outside 0..9"),
    ("nan", "x_test has non-finite values"),
])
def test_mnist1d_corrupt_cache(mnist1d_run, no_generation, tmp_path,
                               corruption, message):
    good = _good_arrays(mnist1d_run)
    cache = tmp_path / "cache"
    cache.mkdir()
    if corruption == "garbage":
        content = b"\x00garbage" * 10
    elif corruption == "empty":
        content = b""
    elif corruption == "truncated":
        content = (mnist1d_run["cache_dir"] / CACHE_NAME).read_bytes()[:5000]
    elif corruption == "pickle":
        content = _npz_bytes(tmp_path, **good, extra=np.array([{}], dtype=object))
    else:
        bad = dict(good)
        if corruption == "missing_key":
            del bad["y_test"]
        elif corruption == "wrong_shape":
            bad["x_train"] = bad["x_train"][:10]
        elif corruption == "wrong_dtype":
            bad["y_train"] = bad["y_train"].astype(np.int32)
        elif corruption == "bad_label":
            bad["y_test"] = bad["y_test"].copy()
            bad["y_test"][3] = 10
        elif corruption == "nan":
            bad["x_test"] = bad["x_test"].copy()
            bad["x_test"][0, 0, 0] = np.nan
        content = _npz_bytes(tmp_path, **bad)
    (cache / CACHE_NAME).write_bytes(content)
    pattern = (f"MNIST-1D cache file '{re.escape(str(cache / CACHE_NAME))}' "
               f"is .*{message}.*regenerate=True")
    with pytest.raises(ValueError, match=pattern):
        load_mnist1d(cache_dir=cache)


def test_mnist1d_cache_dir_from_environment(fake_generator, tmp_path, monkeypatch):
    monkeypatch.setenv("FEATURELAB_DATA", str(tmp_path / "data"))
    load_mnist1d()
    assert (tmp_path / "data" / CACHE_NAME).is_file()


def test_mnist1d_default_cache_dir(fake_generator, tmp_path, monkeypatch):
    monkeypatch.delenv("FEATURELAB_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    load_mnist1d()
    assert (tmp_path / ".cache" / "featurelab" / CACHE_NAME).is_file()


def test_mnist1d_fake_generator_leaves_no_global_state(fake_generator, tmp_path):
    random.seed(7)
    np.random.seed(7)
    expected_py, expected_np = random.random(), np.random.random()
    random.seed(7)
    np.random.seed(7)
    load_mnist1d(cache_dir=tmp_path)
    assert len(fake_generator) == 1
    assert random.random() == expected_py
    assert np.random.random() == expected_np


def test_mnist1d_restores_state_when_generation_fails(tmp_path, monkeypatch):
    import mnist1d.data

    def fail(args):
        np.random.seed(42)
        random.seed(42)
        raise RuntimeError("generator failed")

    monkeypatch.setattr(mnist1d.data, "make_dataset", fail)
    np.random.seed(5)
    random.seed(5)
    expected_np, expected_py = np.random.random(), random.random()
    np.random.seed(5)
    random.seed(5)
    with pytest.raises(RuntimeError, match="generator failed"):
        load_mnist1d(cache_dir=tmp_path)
    assert np.random.random() == expected_np and random.random() == expected_py
    assert os.listdir(tmp_path) == []


def test_mnist1d_unexpected_generator_output(mnist1d_run, tmp_path, monkeypatch):
    import mnist1d.data

    ref = dict(mnist1d_run["reference"], x=mnist1d_run["reference"]["x"][:, :39])
    monkeypatch.setattr(mnist1d.data, "make_dataset", lambda args: ref)
    with pytest.raises(RuntimeError, match=r"generated an unexpected dataset: x_train has shape \(4000, 1, 39\)"):
        load_mnist1d(cache_dir=tmp_path)


def test_mnist1d_unwritable_cache_warns(mnist1d_run, fake_generator, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.warns(RuntimeWarning, match="could not cache MNIST-1D in .*a_file"):
        data = load_mnist1d(cache_dir=blocker / "sub")
    _assert_same(data, mnist1d_run["arrays"])


def test_mnist1d_needs_the_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(ImportError, match=r"pip install mnist1d \(or pip install 'featurelab\[data\]'\)"):
        load_mnist1d(cache_dir=tmp_path)


def test_mnist1d_parameters_are_validated(tmp_path):
    with pytest.raises(TypeError, match="regenerate must be True or False, got str 'yes'"):
        load_mnist1d(cache_dir=tmp_path, regenerate="yes")
    with pytest.raises(TypeError, match="cache_dir must be a str or os.PathLike, got int 5"):
        load_mnist1d(cache_dir=5)
    with pytest.raises(TypeError, match="takes 0 positional arguments"):
        load_mnist1d(tmp_path)


# --------------------------------------------------------------------------
# MNIST (IDX)


def _idx(magic, dims, payload):
    return np.array([magic, *dims], dtype=">u4").tobytes() + bytes(payload)


def _write(path, content, gz=False):
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(content)
    else:
        path.write_bytes(content)


def _write_mnist(folder, prefix, images, labels, gz=False, dotted=False):
    folder.mkdir(parents=True, exist_ok=True)
    sep = "." if dotted else "-"
    n, h, w = images.shape
    _write(folder / f"{prefix}-images{sep}idx3-ubyte",
           _idx(2051, (n, h, w), images.tobytes()), gz)
    _write(folder / f"{prefix}-labels{sep}idx1-ubyte",
           _idx(2049, (len(labels),), labels.tobytes()), gz)


def _random_digits(n, h=28, w=28, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, h, w), dtype=np.uint8),
            rng.integers(0, 10, n, dtype=np.uint8))


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("kind, prefix", [("train", "train"), ("test", "t10k")])
def test_mnist_round_trip(tmp_path, kind, prefix, gz):
    images, labels = _random_digits(5)
    _write_mnist(tmp_path, prefix, images, labels, gz=gz)
    X, y = load_mnist(str(tmp_path), kind=kind)
    assert X.shape == (5, 1, 28, 28) and X.dtype == np.float32
    assert y.shape == (5,) and y.dtype == np.int64
    np.testing.assert_array_equal(X[:, 0], images)
    np.testing.assert_array_equal(y, labels)
    assert X.max() == images.max()  # raw 0..255 scale


def test_mnist_default_kind_is_train_and_kinds_differ(tmp_path):
    _write_mnist(tmp_path, "train", *_random_digits(3, seed=1))
    _write_mnist(tmp_path, "t10k", *_random_digits(2, seed=2))
    assert len(load_mnist(tmp_path)[0]) == 3
    assert len(load_mnist(tmp_path, "test")[0]) == 2


def test_mnist_variant_names_and_other_sizes(tmp_path):
    images, labels = _random_digits(4, h=5, w=3)
    _write_mnist(tmp_path, "train", images, labels, dotted=True, gz=True)
    X, y = load_mnist(tmp_path)
    assert X.shape == (4, 1, 5, 3)
    np.testing.assert_array_equal(X[:, 0], images)
    np.testing.assert_array_equal(y, labels)


def test_mnist_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST train file.* train-images-idx3-ubyte, train-labels-idx1-ubyte .*not found in"):
        load_mnist(tmp_path)
    images, _ = _random_digits(2)
    _write(tmp_path / "t10k-images-idx3-ubyte", _idx(2051, (2, 28, 28), images.tobytes()))
    with pytest.raises(FileNotFoundError, match=r"MNIST test file\(s\) t10k-labels-idx1-ubyte \(or .gz\) not found"):
        load_mnist(tmp_path, kind="test")


def test_mnist_swapped_files_wrong_magic(tmp_path):
    images, labels = _random_digits(2)
    _write(tmp_path / "train-images-idx3-ubyte", _idx(2049, (2,), labels.tobytes()))
    _write(tmp_path / "train-labels-idx1-ubyte",
           _idx(2051, (2, 28, 28), images.tobytes()))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte' is not an IDX images file: magic number 2049, expected 2051"):
        load_mnist(tmp_path)


def test_mnist_labels_wrong_magic(tmp_path):
    images, labels = _random_digits(2)
    _write(tmp_path / "train-images-idx3-ubyte", _idx(2051, (2, 28, 28), images.tobytes()))
    _write(tmp_path / "train-labels-idx1-ubyte", _idx(2051, (2,), labels.tobytes()))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte' is not an IDX labels file: magic number 2051, expected 2049"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("delta", [-1, 1, -784])
def test_mnist_size_must_match_header(tmp_path, delta, gz):
    images, labels = _random_digits(3)
    payload = images.tobytes()
    payload = payload[:delta] if delta < 0 else payload + b"\x00" * delta
    _write(tmp_path / "train-images-idx3-ubyte", _idx(2051, (3, 28, 28), payload), gz)
    _write(tmp_path / "train-labels-idx1-ubyte", _idx(2049, (3,), labels.tobytes()))
    expected = 16 + 3 * 28 * 28
    with pytest.raises(ValueError, match=f"has {expected + delta} bytes, but its header declares 3 x 28 x 28 images, i.e. {expected} bytes"):
        load_mnist(tmp_path)


def test_mnist_short_header(tmp_path):
    _write(tmp_path / "train-images-idx3-ubyte", b"\x00\x00\x08\x03\x00")
    _write(tmp_path / "train-labels-idx1-ubyte", _idx(2049, (0,), b""))
    with pytest.raises(ValueError, match="is not an IDX images file: 5 bytes, shorter than the 16-byte header"):
        load_mnist(tmp_path)


def test_mnist_zero_image_size(tmp_path):
    _write(tmp_path / "train-images-idx3-ubyte", _idx(2051, (2, 0, 28), b""))
    _write(tmp_path / "train-labels-idx1-ubyte", _idx(2049, (2,), b"\x01\x02"))
    with pytest.raises(ValueError, match="declares images of 0x28 pixels; both sizes must be >= 1"):
        load_mnist(tmp_path)


def test_mnist_count_mismatch(tmp_path):
    images, labels = _random_digits(3)
    _write(tmp_path / "train-images-idx3-ubyte", _idx(2051, (3, 28, 28), images.tobytes()))
    _write(tmp_path / "train-labels-idx1-ubyte", _idx(2049, (2,), labels[:2].tobytes()))
    with pytest.raises(ValueError, match="holds 3 images but .*train-labels-idx1-ubyte' holds 2 labels"):
        load_mnist(tmp_path)


def test_mnist_corrupt_gzip(tmp_path):
    images, labels = _random_digits(2)
    _write(tmp_path / "train-images-idx3-ubyte", _idx(2051, (2, 28, 28), images.tobytes()))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"definitely not gzip")
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz' is not a valid gzip file"):
        load_mnist(tmp_path)
    # a truncated gzip stream
    good = gzip.compress(_idx(2049, (2,), labels.tobytes()))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(good[:-6])
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz' is not a valid gzip file"):
        load_mnist(tmp_path)


def test_mnist_empty_set(tmp_path):
    _write_mnist(tmp_path, "t10k", np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8))
    X, y = load_mnist(tmp_path, "test")
    assert X.shape == (0, 1, 28, 28) and y.shape == (0,)


# --------------------------------------------------------------------------
# CIFAR-10 (binary)

RECORD = 3073


def _cifar_records(n, seed):
    rng = np.random.default_rng(seed)
    records = rng.integers(0, 256, (n, RECORD), dtype=np.uint8)
    records[:, 0] = rng.integers(0, 10, n)
    return records


def _write_cifar(folder, counts=(1, 2, 1, 1, 3), n_test=2):
    folder.mkdir(parents=True, exist_ok=True)
    train = []
    for i, n in enumerate(counts, start=1):
        records = _cifar_records(n, seed=i)
        (folder / f"data_batch_{i}.bin").write_bytes(records.tobytes())
        train.append(records)
    test = _cifar_records(n_test, seed=99)
    (folder / "test_batch.bin").write_bytes(test.tobytes())
    return np.concatenate(train), test


def _expected_cifar(records):
    return (records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32),
            records[:, 0].astype(np.int64))


@pytest.mark.parametrize("use_parent", [True, False])
def test_cifar10_round_trip(tmp_path, use_parent):
    folder = tmp_path / "cifar-10-batches-bin"
    train, test = _write_cifar(folder)
    path = tmp_path if use_parent else folder
    for kind, records in [("train", train), ("test", test)]:
        X, y = load_cifar10(path, kind=kind)
        X_ref, y_ref = _expected_cifar(records)
        assert X.shape == (len(records), 3, 32, 32) and X.dtype == np.float32
        assert y.shape == (len(records),) and y.dtype == np.int64
        np.testing.assert_array_equal(X, X_ref)
        np.testing.assert_array_equal(y, y_ref)
    assert len(load_cifar10(str(path))[0]) == 8  # default kind is train


def test_cifar10_channel_layout(tmp_path):
    record = np.zeros(RECORD, dtype=np.uint8)
    record[0] = 4
    record[1:1025] = np.arange(1024) % 256          # red plane, row-major
    record[1025:2049] = 7                           # green
    record[2049 + 32 * 5 + 3] = 200                 # blue at row 5, col 3
    (tmp_path / "test_batch.bin").write_bytes(record.tobytes())
    X, y = load_cifar10(tmp_path, "test")
    assert y.tolist() == [4]
    assert X[0, 0, 0, 1] == 1 and X[0, 0, 1, 0] == 32
    assert (X[0, 1] == 7).all()
    assert X[0, 2, 5, 3] == 200 and X[0, 2].sum() == 200


def test_cifar10_missing_files_are_named(tmp_path):
    _write_cifar(tmp_path)
    (tmp_path / "data_batch_3.bin").unlink()
    (tmp_path / "data_batch_5.bin").unlink()
    with pytest.raises(FileNotFoundError, match=r"CIFAR-10 train file\(s\) data_batch_3.bin, data_batch_5.bin not found in"):
        load_cifar10(tmp_path)
    (tmp_path / "test_batch.bin").unlink()
    with pytest.raises(FileNotFoundError, match="test_batch.bin not found"):
        load_cifar10(tmp_path, kind="test")


def test_cifar10_size_not_whole_records(tmp_path):
    _write_cifar(tmp_path)
    with open(tmp_path / "data_batch_2.bin", "ab") as f:
        f.write(b"\x00")
    with pytest.raises(ValueError, match=f"data_batch_2.bin' has {2 * RECORD + 1} bytes, not a whole number of 3073-byte records"):
        load_cifar10(tmp_path)


def test_cifar10_python_version_is_refused(tmp_path):
    # the pickled CIFAR-10 (data_batch_1 without .bin) is not looked for
    (tmp_path / "data_batch_1").write_bytes(b"\x80\x04pickle")
    with pytest.raises(FileNotFoundError, match="data_batch_1.bin"):
        load_cifar10(tmp_path)


def test_cifar10_empty_file(tmp_path):
    (tmp_path / "test_batch.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="test_batch.bin' is empty"):
        load_cifar10(tmp_path, "test")


def test_cifar10_label_out_of_range(tmp_path):
    records = _cifar_records(3, seed=0)
    records[2, 0] = 10
    (tmp_path / "test_batch.bin").write_bytes(records.tobytes())
    with pytest.raises(ValueError, match="test_batch.bin': record 2 has label 10; labels must be 0..9"):
        load_cifar10(tmp_path, "test")


# --------------------------------------------------------------------------
# folders of images

def _save(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _rgb(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_image_folder_round_trip(tmp_path):
    images = {("dog", "b.png"): _rgb(4, 5, 0), ("dog", "a.png"): _rgb(4, 5, 1),
              ("cat", "z.bmp"): _rgb(4, 5, 2), ("cat", "c.PNG"): _rgb(4, 5, 3)}
    for (cls, name), pixels in images.items():
        _save(tmp_path / cls / name, pixels)
    # skipped: files at the top, non-images, hidden files and folders
    (tmp_path / "README.txt").write_text("not a class")
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    _save(tmp_path / "cat" / ".hidden.png", _rgb(9, 9, 4))
    _save(tmp_path / ".ipynb_checkpoints" / "x.png", _rgb(9, 9, 5))
    X, y, class_names = load_image_folder(tmp_path)
    assert class_names == ["cat", "dog"]
    assert X.shape == (4, 3, 4, 5) and X.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [0, 0, 1, 1]
    order = [("cat", "c.PNG"), ("cat", "z.bmp"), ("dog", "a.png"), ("dog", "b.png")]
    for i, key in enumerate(order):
        np.testing.assert_array_equal(X[i], images[key].transpose(2, 0, 1))


def test_image_folder_grayscale(tmp_path):
    gray = np.random.default_rng(0).integers(0, 256, (3, 4), dtype=np.uint8)
    rgb = _rgb(3, 4, 1)
    _save(tmp_path / "a" / "gray.png", gray)
    _save(tmp_path / "b" / "rgb.png", rgb)
    X, _, names = load_image_folder(str(tmp_path), grayscale=True)
    assert X.shape == (2, 1, 3, 4) and names == ["a", "b"]
    np.testing.assert_array_equal(X[0, 0], gray)
    np.testing.assert_array_equal(X[1, 0], np.asarray(Image.fromarray(rgb).convert("L")))
    # and a gray image read as RGB has three equal channels
    X, _, _ = load_image_folder(tmp_path)
    np.testing.assert_array_equal(X[0], np.stack([gray] * 3))


def test_image_folder_converts_modes(tmp_path):
    rgba = np.dstack([_rgb(2, 3, 0), np.full((2, 3), 17, np.uint8)])
    _save(tmp_path / "a" / "rgba.png", rgba)
    palette = Image.fromarray(_rgb(2, 3, 1)).convert("P")
    palette.save(tmp_path / "a" / "palette.png")
    bilevel = Image.fromarray(np.array([[0, 255, 0], [255, 0, 255]], np.uint8)).convert("1")
    bilevel.save(tmp_path / "a" / "bilevel.png")
    X, _, _ = load_image_folder(tmp_path)
    # sorted: bilevel, palette, rgba
    np.testing.assert_array_equal(X[0, 0], [[0, 255, 0], [255, 0, 255]])
    np.testing.assert_array_equal(X[1], np.asarray(palette.convert("RGB")).transpose(2, 0, 1))
    np.testing.assert_array_equal(X[2], rgba[..., :3].transpose(2, 0, 1))


def test_image_folder_resize(tmp_path):
    small, large = _rgb(4, 6, 0), _rgb(10, 7, 1)
    _save(tmp_path / "a" / "small.png", small)
    _save(tmp_path / "b" / "large.png", large)
    with pytest.raises(ValueError, match=r"images differ in size: .*small.png' is 4x6 but .*large.png' is 10x7 \(height x width\); pass size="):
        load_image_folder(tmp_path)
    X, _, _ = load_image_folder(tmp_path, size=(4, 6))
    assert X.shape == (2, 3, 4, 6)
    np.testing.assert_array_equal(X[0], small.transpose(2, 0, 1))  # already that size
    resized = Image.fromarray(large).resize((6, 4), Image.BILINEAR)
    np.testing.assert_array_equal(X[1], np.asarray(resized).transpose(2, 0, 1))
    assert load_image_folder(tmp_path, size=3, grayscale=True)[0].shape == (2, 1, 3, 3)


def test_image_folder_parameters_are_validated(tmp_path):
    _save(tmp_path / "a" / "x.png", _rgb(2, 2, 0))
    with pytest.raises(ValueError, match=r"size must be >= 1 on every axis, got \(0, 3\)"):
        load_image_folder(tmp_path, size=(0, 3))
    with pytest.raises(ValueError, match=r"size must be an int or a tuple of 2 ints"):
        load_image_folder(tmp_path, size=(1, 2, 3))
    with pytest.raises(TypeError, match="size must be an int or a tuple of 2 ints, got 2.5"):
        load_image_folder(tmp_path, size=2.5)
    with pytest.raises(TypeError, match="grayscale must be True or False, got int 1"):
        load_image_folder(tmp_path, grayscale=1)


def test_image_folder_without_classes(tmp_path):
    _save(tmp_path / "loose.png", _rgb(2, 2, 0))
    with pytest.raises(ValueError, match="has no class subfolders; expected one subfolder of images per class"):
        load_image_folder(tmp_path)


def test_image_folder_class_without_images(tmp_path):
    _save(tmp_path / "a" / "x.png", _rgb(2, 2, 0))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("")
    with pytest.raises(ValueError, match=r"class folder '.*b' has no images \(files ending in .bmp, "):
        load_image_folder(tmp_path)


@pytest.mark.parametrize("content", [b"this is no image", b""])
def test_image_folder_unreadable_file(tmp_path, content):
    _save(tmp_path / "a" / "good.png", _rgb(2, 2, 0))
    (tmp_path / "a" / "bad.png").write_bytes(content)
    with pytest.raises(ValueError, match=r"cannot read image '.*bad.png' \(UnidentifiedImageError"):
        load_image_folder(tmp_path)


def test_image_folder_truncated_file(tmp_path):
    _save(tmp_path / "a" / "full.png", _rgb(16, 16, 0))
    data = (tmp_path / "a" / "full.png").read_bytes()
    (tmp_path / "a" / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cannot read image '.*cut.png' \("):
        load_image_folder(tmp_path)


@pytest.mark.parametrize("pixels", [np.array([[0, 1000]], np.uint16),
                                    np.array([[0.5, 300.0]], np.float32)])
def test_image_folder_refuses_high_depth(tmp_path, pixels):
    path = tmp_path / "a" / ("deep.png" if pixels.dtype == np.uint16 else "deep.tif")
    _save(path, pixels)
    with pytest.raises(ValueError, match=r"image '.*deep.(png|tif)' has mode '(I;16|I|F)' \(16-bit or floating-point pixels\); only 8-bit"):
        load_image_folder(tmp_path)


def test_loaders_do_not_touch_the_network(tmp_path, monkeypatch):
    calls = []
    _block_network(monkeypatch, calls)
    _write_mnist(tmp_path / "m", "train", *_random_digits(2))
    _write_cifar(tmp_path / "c")
    _save(tmp_path / "i" / "a" / "x.png", _rgb(2, 2, 0))
    load_mnist(tmp_path / "m")
    load_cifar10(tmp_path / "c")
    load_image_folder(tmp_path / "i")
    load_digits_images()
    assert calls == []
