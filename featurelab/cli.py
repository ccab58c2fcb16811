"""Command-line interface: ``featurelab info``.

Later commands (``screen``, ``bench``) register themselves the same way: one
function that fills a subparser and one that runs it.
"""

import argparse
import platform
import sys

from . import __version__
from .backend import _import_cupy, cupy_available, get_backend

__all__ = ["main", "system_info"]


def _blas_info():
    """Describe the BLAS libraries NumPy uses (via threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return "unknown (threadpoolctl not installed)"
    libs = [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]
    if not libs:
        return "none found"
    return "; ".join(
        f"{lib.get('internal_api')} {lib.get('version')} "
        f"({lib.get('architecture')}, {lib.get('num_threads')} threads)"
        for lib in libs
    )


def system_info():
    """Return ``{name: value}`` describing featurelab's environment.

    Returns
    -------
    info : dict of str to str
        Keys: featurelab, python, platform, backend, numpy, cupy, blas,
        device.

    Examples
    --------
    >>> info = system_info()
    >>> sorted(info)
    ['backend', 'blas', 'cupy', 'device', 'featurelab', 'numpy', 'platform', 'python']
    """
    import numpy as np

    cupy = _import_cupy()
    device = "none (CPU only)"
    if cupy is not None and cupy_available():
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        device = name.decode() if isinstance(name, bytes) else str(name)
    try:
        backend = get_backend()
    except (ImportError, ValueError) as exc:  # cupy without CuPy, or a bad name
        backend = f"unavailable: {exc}"
    return {
        "featurelab": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "backend": backend,
        "numpy": np.__version__,
        "cupy": cupy.__version__ if cupy is not None else "not installed",
        "blas": _blas_info(),
        "device": device,
    }


def _run_info(args):
    for key, value in system_info().items():
        print(f"{key:>11}: {value}")
    return 0


def build_parser():
    """Return the ``featurelab`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="featurelab",
        description="Screen convolutional architectures with unsupervised features.",
    )
    parser.add_argument("--version", action="version", version=f"featurelab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = commands.add_parser("info", help="print versions, backend, BLAS and device")
    info.set_defaults(run=_run_info)
    return parser


def main(argv=None):
    """Run the command line; return the exit status.

    Examples
    --------
    >>> main(["info"])  # doctest: +ELLIPSIS
     featurelab: ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
