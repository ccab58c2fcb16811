"""Offline data loaders: digits, MNIST-1D, MNIST, CIFAR-10, folders of images.

Nothing here downloads.  The scikit-learn digits ship with scikit-learn;
MNIST-1D is generated on this machine by the ``mnist1d`` package and cached
as a ``.npz`` file; MNIST (IDX files), CIFAR-10 (binary version) and folders
of images are read from local files the user already has.  Pickle is never
loaded.

Every loader returns channels-first ``float32`` arrays, ``(N, C, L)`` for
signals and ``(N, C, H, W)`` for images, with integer labels as ``int64``.
Pixel values keep their raw scale (0..255 for MNIST, CIFAR-10 and image
files, 0..16 for the digits): scaling or standardising is left to the
caller, so that it is visible in the experiment rather than hidden here.
"""

import gzip
import importlib.metadata
import os
import random
import struct
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ._validation import as_tuple, check_bool, check_option

__all__ = [
    "load_cifar10",
    "load_digits_images",
    "load_image_folder",
    "load_mnist",
    "load_mnist1d",
]

_KINDS = ("train", "test")


# --------------------------------------------------------------------------
# paths


def _as_path(path, name):
    """Return ``path`` (str or os.PathLike) as a Path with ``~`` expanded."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a str or os.PathLike, got {type(path).__name__} "
            f"{path!r}."
        )
    return Path(path).expanduser()


def _check_folder(path, name="path"):
    """Return ``path`` as a Path to an existing folder."""
    folder = _as_path(path, name)
    if not folder.exists():
        raise FileNotFoundError(f"{name} {str(folder)!r} does not exist.")
    if not folder.is_dir():
        raise NotADirectoryError(
            f"{name} must be a folder, got the file {str(folder)!r}."
        )
    return folder


# --------------------------------------------------------------------------
# scikit-learn digits


def load_digits_images():
    """The scikit-learn digits as a batch of 8x8 one-channel images.

    1797 handwritten digits, 8x8 pixels, values 0..16 (the number of dark
    pixels in each 4x4 block of the original 32x32 bitmaps), as shipped with
    scikit-learn (:func:`sklearn.datasets.load_digits`); nothing is
    downloaded.

    Returns
    -------
    X : ndarray of shape (1797, 1, 8, 8), float32
        Pixel values 0..16, unscaled.
    y : ndarray of shape (1797,), int64
        Digit labels 0..9.

    Examples
    --------
    >>> from featurelab.datasets import load_digits_images
    >>> X, y = load_digits_images()
    >>> X.shape, X.dtype, y.dtype
    ((1797, 1, 8, 8), dtype('float32'), dtype('int64'))
    >>> float(X.min()), float(X.max())
    (0.0, 16.0)
    >>> y[:10]
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = np.ascontiguousarray(digits.images, dtype=np.float32)[:, None]
    y = np.asarray(digits.target, dtype=np.int64)
    return X, y


# --------------------------------------------------------------------------
# MNIST-1D (generated locally)

# name -> (shape, dtype) of the arrays of the default MNIST-1D dataset
_MNIST1D_ARRAYS = {
    "x_train": ((4000, 1, 40), np.float32),
    "y_train": ((4000,), np.int64),
    "x_test": ((1000, 1, 40), np.float32),
    "y_test": ((1000,), np.int64),
}


def _default_cache_dir():
    env = os.environ.get("FEATURELAB_DATA")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "featurelab"


def _import_mnist1d():
    """Return the ``mnist1d.data`` module and the package version."""
    try:
        import mnist1d.data
    except ImportError as exc:
        raise ImportError(
            "load_mnist1d needs the mnist1d package, which generates "
            "MNIST-1D on this machine: pip install mnist1d (or pip install "
            "'featurelab[data]')."
        ) from exc
    try:
        version = importlib.metadata.version("mnist1d")
    except importlib.metadata.PackageNotFoundError:
        version = getattr(mnist1d, "__version__", "unknown")
    return mnist1d.data, version


def _mnist1d_problems(arrays):
    """List what is wrong with a dict of MNIST-1D arrays (empty if fine)."""
    problems = []
    for key, (shape, dtype) in _MNIST1D_ARRAYS.items():
        if key not in arrays:
            problems.append(f"array {key!r} is missing")
            continue
        a = arrays[key]
        if a.shape != shape or a.dtype != dtype:
            problems.append(
                f"{key} has shape {a.shape} and dtype {a.dtype}, expected "
                f"{shape} and {np.dtype(dtype)}"
            )
        elif key.startswith("y") and (a.min() < 0 or a.max() > 9):
            problems.append(f"{key} has labels outside 0..9")
        elif key.startswith("x") and not np.isfinite(a).all():
            problems.append(f"{key} has non-finite values")
    return problems


def _generate_mnist1d(data_module, version):
    """Run the generator with its defaults, leaving the global RNGs as found.

    ``make_dataset`` seeds NumPy's and Python's global random generators
    (``np.random.seed(42)``, ``random.seed(42)``); their states are saved
    before and restored after, also when the generator fails.
    """
    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        data = data_module.make_dataset(data_module.get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    arrays = {
        "x_train": np.asarray(data["x"], dtype=np.float32)[:, None, :],
        "y_train": np.asarray(data["y"], dtype=np.int64),
        "x_test": np.asarray(data["x_test"], dtype=np.float32)[:, None, :],
        "y_test": np.asarray(data["y_test"], dtype=np.int64),
    }
    arrays = {k: np.ascontiguousarray(a) for k, a in arrays.items()}
    problems = _mnist1d_problems(arrays)
    if problems:
        raise RuntimeError(
            f"mnist1d {version} generated an unexpected dataset: "
            f"{'; '.join(problems)}. featurelab expects the default MNIST-1D "
            "(4000 train and 1000 test signals of length 40)."
        )
    return arrays


def _read_mnist1d_cache(path):
    fix = "delete it or call load_mnist1d(regenerate=True)"
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as exc:  # any failure to read the cache means corrupt
        raise ValueError(
            f"MNIST-1D cache file {str(path)!r} is corrupt or unreadable "
            f"({type(exc).__name__}: {exc}); {fix}."
        ) from exc
    problems = _mnist1d_problems(arrays)
    if problems:
        raise ValueError(
            f"MNIST-1D cache file {str(path)!r} is corrupt: "
            f"{'; '.join(problems)}; {fix}."
        )
    return arrays


def _write_npz_atomic(path, arrays):
    """Write ``arrays`` to ``path`` through a temporary file + os.replace,
    so that a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a public data set
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load_mnist1d(*, cache_dir=None, regenerate=False):
    """MNIST-1D, generated on this machine and cached.

    MNIST-1D (Greydanus & Kobak 2024) is a procedurally generated 1-D
    analogue of MNIST: ten 12-point digit templates are padded, sheared,
    scaled, translated, smoothed and corrupted with correlated and i.i.d.
    noise into signals of length 40, then standardised (mean 0, standard
    deviation 1 over the whole data set).  The default data set (seed 42,
    5000 signals, 500 per class, 80 % for training) is generated with
    ``mnist1d.data.make_dataset`` from the ``mnist1d`` package; its download
    path is never used.  The result is cached as a ``.npz`` file, so later
    calls take milliseconds.

    Parameters
    ----------
    cache_dir : str or os.PathLike, default=None
        Folder of the cache file ``mnist1d_v<version>.npz`` (``<version>``
        is the installed ``mnist1d`` version).  None uses the environment
        variable ``FEATURELAB_DATA`` if set, else ``~/.cache/featurelab``.
        The folder is created if needed.
    regenerate : bool, default=False
        Generate the data even if a cache file exists, and overwrite it
        (also the way to replace a corrupt cache file).

    Returns
    -------
    X_train : ndarray of shape (4000, 1, 40), float32
    y_train : ndarray of shape (4000,), int64
        Labels 0..9, about 400 of each.
    X_test : ndarray of shape (1000, 1, 40), float32
    y_test : ndarray of shape (1000,), int64

    Raises
    ------
    ImportError
        If ``mnist1d`` is not installed (``pip install mnist1d`` or
        ``pip install 'featurelab[data]'``).
    ValueError
        If the cache file exists but is corrupt (and ``regenerate`` is
        False); the message names the file.

    Notes
    -----
    Generating takes about a second.  ``make_dataset`` seeds NumPy's and
    Python's global random generators; their states are saved before and
    restored after, so calling this function changes no global random
    state (other threads drawing from the global generators meanwhile
    would interfere, as with any use of them).  The cache is written to a
    temporary file in the same folder and moved into place, so concurrent
    calls never see a half-written file; if it cannot be written, a
    RuntimeWarning says why and the generated data are returned anyway.
    Only ``.npz`` files are read, with ``allow_pickle=False``.

    References
    ----------
    .. [1] S. Greydanus and D. Kobak, "Scaling down deep learning with
       MNIST-1D", ICML 2024. https://github.com/greydanus/mnist1d

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from featurelab.datasets import load_mnist1d
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     X_train, y_train, X_test, y_test = load_mnist1d(cache_dir=cache)
    >>> X_train.shape, X_train.dtype, X_test.shape, y_test.dtype
    ((4000, 1, 40), dtype('float32'), (1000, 1, 40), dtype('int64'))
    >>> np.bincount(y_train) + np.bincount(y_test)
    array([500, 500, 500, 500, 500, 500, 500, 500, 500, 500])
    """
    regenerate = check_bool(regenerate, "regenerate")
    folder = (_default_cache_dir() if cache_dir is None
              else _as_path(cache_dir, "cache_dir"))
    data_module, version = _import_mnist1d()
    path = folder / f"mnist1d_v{version}.npz"
    if not regenerate and path.exists():
        arrays = _read_mnist1d_cache(path)
    else:
        arrays = _generate_mnist1d(data_module, version)
        try:
            _write_npz_atomic(path, arrays)
        except OSError as exc:
            warnings.warn(
                f"could not cache MNIST-1D in {str(path)!r} ({exc}); the "
                "data will be generated again next time. Pass a writable "
                "cache_dir or set FEATURELAB_DATA.",
                RuntimeWarning, stacklevel=2,
            )
    return tuple(arrays[key] for key in _MNIST1D_ARRAYS)


# --------------------------------------------------------------------------
# MNIST (IDX files)

_IDX_MAGIC = {"images": 2051, "labels": 2049}  # unsigned bytes, 3-D / 1-D
_MNIST_PREFIX = {"train": "train", "test": "t10k"}


def _read_bytes(path):
    """The content of ``path``, decompressed if its name ends in ``.gz``."""
    with open(path, "rb") as raw:
        if path.suffix != ".gz":
            return raw.read()
        try:
            with gzip.GzipFile(fileobj=raw) as f:
                return f.read()
        except (OSError, EOFError) as exc:
            raise ValueError(
                f"{str(path)!r} is not a valid gzip file ({exc})."
            ) from exc


def _find_idx(folder, name):
    """The first existing file among ``name`` (the official name, e.g.
    ``train-images-idx3-ubyte``), the variant with a dot
    (``train-images.idx3-ubyte``) and their ``.gz`` versions; None if there
    is none."""
    stem, idx, ubyte = name.rsplit("-", 2)
    for base in (name, f"{stem}.{idx}-{ubyte}"):
        for candidate in (folder / base, folder / f"{base}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _read_idx(path, what):
    """Read an IDX file of unsigned bytes holding ``what`` ('images', a
    3-D array, or 'labels', a 1-D array), checking its header."""
    data = _read_bytes(path)
    magic = _IDX_MAGIC[what]
    ndim = 3 if what == "images" else 1
    header = 4 + 4 * ndim
    found = struct.unpack(">i", data[:4])[0] if len(data) >= 4 else None
    if found is not None and found != magic:
        raise ValueError(
            f"{str(path)!r} is not an IDX {what} file: magic number {found}, "
            f"expected {magic}."
        )
    if len(data) < header:
        raise ValueError(
            f"{str(path)!r} is not an IDX {what} file: {len(data)} bytes, "
            f"shorter than the {header}-byte header."
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if what == "images" and 0 in dims[1:]:
        raise ValueError(
            f"{str(path)!r} declares images of {dims[1]}x{dims[2]} pixels; "
            "both sizes must be >= 1."
        )
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        shape = " x ".join(map(str, dims))
        raise ValueError(
            f"{str(path)!r} has {len(data)} bytes, but its header declares "
            f"{shape} {what}, i.e. {expected} bytes; the file is truncated "
            "or corrupt."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_mnist(path, kind="train"):
    """MNIST from the original IDX files in a local folder.

    Reads ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte``
    (``kind='train'``, 60000 digits) or ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte`` (``kind='test'``, 10000 digits), each
    optionally gzipped (``.gz``, as distributed).  The variant names with a
    dot (``train-images.idx3-ubyte``) are accepted too.  Files in the same
    format with other image sizes (Fashion-MNIST, KMNIST) load the same way.

    Parameters
    ----------
    path : str or os.PathLike
        Folder holding the files.
    kind : {'train', 'test'}, default='train'

    Returns
    -------
    X : ndarray of shape (n_samples, 1, 28, 28), float32
        Raw pixel values 0..255 (0 is background), not scaled to 0..1.
    y : ndarray of shape (n_samples,), int64
        Labels as stored (0..9 for MNIST).

    Raises
    ------
    FileNotFoundError
        If ``path`` or a file is missing; the message names the file.
    ValueError
        If a header is wrong (magic number 2051 for images, 2049 for labels),
        a file's size does not match its header, a ``.gz`` file is not valid
        gzip, or the numbers of images and labels differ.

    Notes
    -----
    The whole file is read into memory before conversion; the float32
    training set takes 188 MB.

    Examples
    --------
    >>> import gzip, tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from featurelab.datasets import load_mnist
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp.name)
    >>> pixels = np.arange(2 * 28 * 28).astype(np.uint8)      # two images
    >>> header = np.array([2051, 2, 28, 28], dtype=">u4").tobytes()
    >>> _ = (folder / "t10k-images-idx3-ubyte").write_bytes(header + pixels.tobytes())
    >>> with gzip.open(folder / "t10k-labels-idx1-ubyte.gz", "wb") as f:
    ...     _ = f.write(np.array([2049, 2], dtype=">u4").tobytes() + bytes([7, 2]))
    >>> X, y = load_mnist(folder, kind="test")
    >>> X.shape, X.dtype, y
    ((2, 1, 28, 28), dtype('float32'), array([7, 2]))
    >>> X[0, 0, 0, :4]
    array([0., 1., 2., 3.], dtype=float32)
    >>> tmp.cleanup()
    """
    folder = _check_folder(path)
    kind = check_option(kind, _KINDS, "kind")
    prefix = _MNIST_PREFIX[kind]
    names = {"images": f"{prefix}-images-idx3-ubyte",
             "labels": f"{prefix}-labels-idx1-ubyte"}
    files = {what: _find_idx(folder, name) for what, name in names.items()}
    missing = [names[what] for what, f in files.items() if f is None]
    if missing:
        raise FileNotFoundError(
            f"MNIST {kind} file(s) {', '.join(missing)} (or .gz) not found "
            f"in {str(folder)!r}."
        )
    images = _read_idx(files["images"], "images")
    labels = _read_idx(files["labels"], "labels")
    if len(images) != len(labels):
        raise ValueError(
            f"{str(files['images'])!r} holds {len(images)} images but "
            f"{str(files['labels'])!r} holds {len(labels)} labels."
        )
    X = images.astype(np.float32)[:, None]
    y = labels.astype(np.int64)
    return X, y


# --------------------------------------------------------------------------
# CIFAR-10 (binary version)

_CIFAR_FILES = {
    "train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    "test": ("test_batch.bin",),
}
_CIFAR_SHAPE = (3, 32, 32)
_CIFAR_RECORD = 1 + 3 * 32 * 32  # label byte + R, G, B planes


def load_cifar10(path, kind="train"):
    """CIFAR-10 from the binary version's files in a local folder.

    Reads ``data_batch_1.bin`` .. ``data_batch_5.bin`` (``kind='train'``,
    50000 images, in that order) or ``test_batch.bin`` (``kind='test'``,
    10000 images) of the binary version (``cifar-10-binary.tar.gz``, which
    unpacks to ``cifar-10-batches-bin/``).  Each record is one label byte
    followed by the 1024 red, 1024 green and 1024 blue bytes of a 32x32
    image in row-major order.  The Python (pickle) version is not read.

    Parameters
    ----------
    path : str or os.PathLike
        The folder ``cifar-10-batches-bin`` or the folder that contains it.
    kind : {'train', 'test'}, default='train'

    Returns
    -------
    X : ndarray of shape (n_samples, 3, 32, 32), float32
        Raw RGB values 0..255, not scaled.
    y : ndarray of shape (n_samples,), int64
        Labels 0..9 (airplane, automobile, bird, cat, deer, dog, frog,
        horse, ship, truck; ``batches.meta.txt`` lists them).

    Raises
    ------
    FileNotFoundError
        If ``path`` or a batch file is missing; the message names them.
    ValueError
        If a file is empty or its size is not a whole number of 3073-byte
        records, or a label byte is greater than 9.

    Notes
    -----
    The real files hold 10000 records each; any whole number is accepted.
    The output is allocated once and filled file by file: the float32
    training set takes 614 MB.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from featurelab.datasets import load_cifar10
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp.name) / "cifar-10-batches-bin"
    >>> folder.mkdir()
    >>> records = np.zeros((2, 3073), dtype=np.uint8)   # two black images
    >>> records[:, 0] = [3, 8]                          # cat, ship
    >>> records[1, 1:1025] = 255                        # the ship is red
    >>> _ = (folder / "test_batch.bin").write_bytes(records.tobytes())
    >>> X, y = load_cifar10(tmp.name, kind="test")
    >>> X.shape, X.dtype, y
    ((2, 3, 32, 32), dtype('float32'), array([3, 8]))
    >>> X[1, :, 0, 0]
    array([255.,   0.,   0.], dtype=float32)
    >>> tmp.cleanup()
    """
    root = _check_folder(path)
    kind = check_option(kind, _KINDS, "kind")
    nested = root / "cifar-10-batches-bin"
    folder = nested if nested.is_dir() else root
    files = [folder / name for name in _CIFAR_FILES[kind]]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 {kind} file(s) {', '.join(missing)} not found in "
            f"{str(folder)!r} (the binary version, cifar-10-batches-bin)."
        )
    counts = []
    for f in files:
        size = f.stat().st_size
        if size == 0:
            raise ValueError(f"CIFAR-10 file {str(f)!r} is empty.")
        if size % _CIFAR_RECORD:
            raise ValueError(
                f"CIFAR-10 file {str(f)!r} has {size} bytes, not a whole "
                f"number of {_CIFAR_RECORD}-byte records (1 label byte + "
                "3072 pixel bytes); is it the binary version of CIFAR-10?"
            )
        counts.append(size // _CIFAR_RECORD)
    X = np.empty((sum(counts),) + _CIFAR_SHAPE, dtype=np.float32)
    y = np.empty(sum(counts), dtype=np.int64)
    start = 0
    for f, n in zip(files, counts):
        records = np.fromfile(f, dtype=np.uint8)
        if records.size != n * _CIFAR_RECORD:
            raise ValueError(f"CIFAR-10 file {str(f)!r} changed while read.")
        records = records.reshape(n, _CIFAR_RECORD)
        labels = records[:, 0]
        bad = np.flatnonzero(labels > 9)
        if bad.size:
            raise ValueError(
                f"CIFAR-10 file {str(f)!r}: record {bad[0]} has label "
                f"{labels[bad[0]]}; labels must be 0..9."
            )
        X[start:start + n] = records[:, 1:].reshape((n,) + _CIFAR_SHAPE)
        y[start:start + n] = labels
        start += n
    return X, y


# --------------------------------------------------------------------------
# folders of images

_IMAGE_EXTENSIONS = frozenset({
    ".bmp", ".gif", ".jpeg", ".jpg", ".pbm", ".pgm", ".png", ".pnm", ".ppm",
    ".tif", ".tiff", ".webp",
})


def _list_images(folder):
    """Image files directly in ``folder``, sorted by name; hidden files and
    files with other extensions are skipped."""
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".")
        and p.suffix.lower() in _IMAGE_EXTENSIONS
    )


def _read_image(Image, path, mode, size):
    """Read one image as a uint8 array (H, W) or (H, W, 3)."""
    try:
        with Image.open(path) as img:
            img.load()
            source_mode = img.mode
            high_depth = source_mode in ("I", "F") or source_mode.startswith("I;")
            if not high_depth:
                img = img.convert(mode)
                if size is not None and img.size != (size[1], size[0]):
                    img = img.resize((size[1], size[0]), Image.BILINEAR)
                pixels = np.asarray(img)
    except (OSError, SyntaxError, EOFError, ValueError) as exc:
        raise ValueError(
            f"cannot read image {str(path)!r} ({type(exc).__name__}: {exc})."
        ) from exc
    if high_depth:
        raise ValueError(
            f"image {str(path)!r} has mode {source_mode!r} (16-bit or "
            "floating-point pixels); only 8-bit images are supported, since "
            "the output is on the 0..255 scale."
        )
    return pixels


def load_image_folder(path, *, size=None, grayscale=False):
    """Images from a folder with one subfolder per class.

    The layout of torchvision's ``ImageFolder``::

        path/cat/001.png
        path/cat/002.png
        path/dog/001.jpg

    Class names are the subfolder names in sorted order and their labels
    are 0, 1, ...; within a class, files are taken in sorted order.  Files
    directly inside each class folder whose extension is an image one
    (.png, .jpg, .jpeg, .bmp, .gif, .tif, .tiff, .webp, .ppm, .pgm, .pbm,
    .pnm, any case) are read with Pillow; other files, hidden files and
    hidden folders (``.ipynb_checkpoints``) are skipped.

    Parameters
    ----------
    path : str or os.PathLike
    size : int or tuple of (int, int), default=None
        Output ``(height, width)`` (an int is square).  Images of another
        size are resized with Pillow's bilinear filter (which low-pass
        filters when shrinking).  None requires all images to have the same
        size.
    grayscale : bool, default=False
        Convert to one channel (Pillow mode ``'L'``) instead of RGB.

    Returns
    -------
    X : ndarray of shape (n_samples, n_channels, height, width), float32
        Values 0..255; ``n_channels`` is 1 if ``grayscale`` else 3.  Every
        8-bit mode is converted by Pillow (palette and bilevel images are
        expanded, an alpha channel is dropped, not composited).
    y : ndarray of shape (n_samples,), int64
    class_names : list of str
        ``class_names[label]`` is the subfolder of that label.

    Raises
    ------
    ValueError
        If there is no class subfolder, a class has no images, an image
        cannot be read or has 16-bit or floating-point pixels, or the sizes
        differ and ``size`` is None; the message names the file or folder.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from PIL import Image
    >>> from featurelab.datasets import load_image_folder
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for name, value in [("dark", 10), ("light", 240)]:
    ...     (Path(tmp.name) / name).mkdir()
    ...     pixels = np.full((4, 6, 3), value, dtype=np.uint8)
    ...     Image.fromarray(pixels).save(Path(tmp.name) / name / "a.png")
    >>> X, y, class_names = load_image_folder(tmp.name)
    >>> X.shape, X.dtype, y, class_names
    ((2, 3, 4, 6), dtype('float32'), array([0, 1]), ['dark', 'light'])
    >>> load_image_folder(tmp.name, size=2, grayscale=True)[0].shape
    (2, 1, 2, 2)
    >>> tmp.cleanup()
    """
    root = _check_folder(path)
    if size is not None:
        size = as_tuple(size, 2, "size")
    grayscale = check_bool(grayscale, "grayscale")
    class_names = sorted(
        p.name for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".")
    )
    if not class_names:
        raise ValueError(
            f"path {str(root)!r} has no class subfolders; expected one "
            "subfolder of images per class."
        )
    files, labels = [], []
    for label, name in enumerate(class_names):
        found = _list_images(root / name)
        if not found:
            raise ValueError(
                f"class folder {str(root / name)!r} has no images (files "
                f"ending in {', '.join(sorted(_IMAGE_EXTENSIONS))})."
            )
        files += found
        labels += [label] * len(found)

    from PIL import Image

    mode = "L" if grayscale else "RGB"
    X = None
    for i, f in enumerate(files):
        pixels = _read_image(Image, f, mode, size)
        if X is None:
            first, (height, width) = f, pixels.shape[:2]
            X = np.empty((len(files), 1 if grayscale else 3, height, width),
                         dtype=np.float32)
        elif pixels.shape[:2] != (height, width):
            raise ValueError(
                f"images differ in size: {str(first)!r} is {height}x{width} "
                f"but {str(f)!r} is {pixels.shape[0]}x{pixels.shape[1]} "
                "(height x width); pass size=(height, width) to resize them."
            )
        X[i] = pixels[None] if grayscale else pixels.transpose(2, 0, 1)
    return X, np.asarray(labels, dtype=np.int64), class_names
