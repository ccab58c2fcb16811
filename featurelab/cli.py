"""Command-line interface: ``featurelab screen`` and ``featurelab info``.

Every command is one function that fills a subparser and one that runs it.
Errors in what the user gave (a bad spec, a missing file) end with a
one-line message on stderr and exit status 2, without a traceback.
"""

import argparse
import platform
import sys
import time

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


def _ranked_table(table, top=None):
    """The finished configurations, best first, as aligned text."""
    ok = table[table["status"] == "ok"].sort_values(
        ["accuracy", "fit_time"], ascending=[False, True])
    if top is not None:
        ok = ok.head(top)
    lines = [(f"{'rank':>4}  {'architecture':<22} {'kernels':<9} {'head':<10} "
             f"{'seed':>4}  {'accuracy':>15}  {'features':>8}  {'params':>8}  "
             f"{'fit s':>6}")]
    for rank, row in enumerate(ok.itertuples(), 1):
        lines.append(
            f"{rank:>4}  {row.architecture:<22} {row.kernels:<9} {row.head:<10} "
            f"{row.seed:>4}  {100 * row.accuracy:>7.2f} ± {100 * row.accuracy_std:>5.2f}"
            f"  {int(row.n_features):>8}  {int(row.n_params):>8}  {row.fit_time:>6.2f}"
        )
    failed = table[table["status"] == "failed"]
    for row in failed.itertuples():
        lines.append(f"failed: {row.architecture} / {row.kernels} / {row.head} / "
                     f"seed {row.seed}: {row.error}")
    return "\n".join(lines)


def _run_screen(args):
    from .screen import screen
    from .spec import default_spec, load_spec

    spec = load_spec(args.spec) if args.spec else default_spec(quick=args.quick)
    if args.dataset is not None:
        spec = load_spec({**spec.to_dict(), "data": {
            **spec.to_dict()["data"], "dataset": args.dataset}})
    start = time.perf_counter()
    table = screen(spec, results=args.results, n_jobs=args.n_jobs,
                   scheduler=args.scheduler, verbose=not args.quiet)
    elapsed = time.perf_counter() - start
    print(_ranked_table(table, top=args.top))
    n_ok = int((table["status"] == "ok").sum())
    print(f"\n{n_ok} of {len(table)} configurations scored on {spec.dataset} in "
          f"{elapsed:.1f} s; results in {args.results}")
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
    scr = commands.add_parser(
        "screen", help="rank architectures by last-layer accuracy",
        description="Score every configuration of a screen (architecture x kernel "
                    "source x head x seed) and print them ranked. Without SPEC, "
                    "runs the built-in screen on scikit-learn digits.")
    scr.add_argument("spec", nargs="?", help="screen specification (TOML file)")
    scr.add_argument("--dataset", help="override the spec's dataset: digits, mnist1d "
                                       "or a .npz file with arrays X and y")
    scr.add_argument("--results", default="screen.jsonl",
                     help="JSON-lines results file; finished configurations in it "
                          "are skipped (default: screen.jsonl)")
    scr.add_argument("--n-jobs", type=int, default=1,
                     help="configurations run in parallel (-1: one per core)")
    scr.add_argument("--scheduler", help="Dask scheduler address tcp://host:port, or "
                                         "'local'")
    scr.add_argument("--quick", action="store_true",
                     help="a small built-in screen (a few seconds)")
    scr.add_argument("--top", type=int, default=None, help="print only the best N")
    scr.add_argument("--quiet", action="store_true", help="no progress bar")
    scr.set_defaults(run=_run_screen)
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
    try:
        return args.run(args)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        print(f"featurelab {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
