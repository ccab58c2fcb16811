"""Command-line interface: ``featurelab screen``, ``report``, ``bench``, ``info``.

Every command is one function that fills a subparser and one that runs it.
Errors in what the user gave (a bad spec, a missing file) end with a
one-line message on stderr and exit status 2, without a traceback.
"""

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import __version__
from .backend import _import_cupy, cupy_available, get_backend

__all__ = ["BENCHMARKS", "BENCHMARKS_DIR", "main", "system_info"]

#: Where ``featurelab bench`` looks for the benchmark scripts: ``benchmarks/``
#: of the source checkout that holds the package (not installed with it).
BENCHMARKS_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
#: The scripts ``featurelab bench`` runs, in order.
BENCHMARKS = ("bench_ops.py", "bench_methods.py", "bench_kmeans.py", "bench_accuracy.py",
              "bench_screen.py", "bench_memory.py", "peers.py")
#: Scripts that need PyTorch (their reference implementation).
_NEEDS_TORCH = ("bench_ops.py",)


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


def _ranked_table(summary, top=None):
    """The finished configurations, best first, then the failed ones, as text."""
    from .report import format_table

    lines = [format_table(summary.table, top=top)]
    for row in summary.failed.itertuples():
        lines.append(f"failed: {row.architecture} / {row.kernels} / {row.head} / "
                     f"seed {row.seed}: {row.error}")
    return "\n".join(lines)


def _plots_directory(results, plots):
    """``plots``, or ``<results stem>_plots`` next to the results file."""
    if plots is not None:
        return Path(plots)
    results = Path(results)
    return results.with_name(f"{results.stem}_plots")


def _print_plots(paths, directory):
    if paths:
        print(f"plots written to {directory}: " + ", ".join(p.name for p in paths))
    else:
        print("no plots written (no configuration scored)")


def _run_screen(args):
    from .plot import save_report_plots
    from .report import summarize
    from .screen import load_screen_data, screen
    from .spec import default_spec, load_spec

    spec = load_spec(args.spec) if args.spec else default_spec(quick=args.quick)
    if args.dataset is not None:
        spec = load_spec({**spec.to_dict(), "data": {
            **spec.to_dict()["data"], "dataset": args.dataset}})
    start = time.perf_counter()
    cache_memory = None if args.cache_memory == "off" else args.cache_memory
    if isinstance(cache_memory, str) and cache_memory.isdigit():
        cache_memory = int(cache_memory)
    table = screen(spec, results=args.results, n_jobs=args.n_jobs,
                   scheduler=args.scheduler, verbose=not args.quiet,
                   cache_memory=cache_memory, cache_dir=args.cache_dir)
    elapsed = time.perf_counter() - start
    summary = summarize(table)
    print(_ranked_table(summary, top=args.top))
    n_ok = int((table["status"] == "ok").sum())
    print(f"\n{n_ok} of {len(table)} configurations scored on {spec.dataset} in "
          f"{elapsed:.1f} s; results in {args.results}")
    print(summary.correlation_line())
    if not args.no_plots:
        directory = _plots_directory(args.results, args.plots)
        try:
            X, _ = load_screen_data(spec)
            paths = save_report_plots(summary, directory, X=X)
        except Exception as exc:  # noqa: BLE001 - the screen itself succeeded
            print(f"featurelab screen: warning: plots not written to {directory}: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)
        else:
            _print_plots(paths, directory)
    return 0


def _run_report(args):
    from .plot import save_report_plots
    from .report import summarize

    if args.top is not None and args.top < 1:
        raise ValueError(f"--top must be >= 1, got {args.top}.")
    summary = summarize(args.results, learned=args.learned)
    print(summary.to_string(top=args.top))
    if not args.no_plots:
        from .screen import load_dataset

        X = load_dataset(args.dataset)[0] if args.dataset is not None else None
        directory = _plots_directory(args.results, args.plots)
        _print_plots(save_report_plots(summary, directory, X=X), directory)
    return 0


def _has_torch():
    return importlib.util.find_spec("torch") is not None


def _run_bench(args):
    directory = BENCHMARKS_DIR
    if not Path(directory).is_dir():
        raise FileNotFoundError(
            f"benchmarks directory {str(directory)!r} not found: the benchmarks are "
            f"not installed with the package; run featurelab bench from a source "
            f"checkout (pip install -e .).")
    directory = Path(directory)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="featurelab-bench-") as tmp:
        targets = Path(tmp) / "targets.jsonl"
        env = {**os.environ, TARGETS_ENV: str(targets)}
        _run_scripts(directory, args, env, outcomes)
        rows = ([json.loads(line) for line in targets.read_text().splitlines() if line]
                if targets.is_file() else [])
    if rows:
        print("\n" + _targets_table(rows))
    print("\nbenchmarks: " + "; ".join(f"{name} {outcome}" for name, outcome in outcomes))
    return 0 if all(o.startswith(("ok", "skipped")) for _, o in outcomes) else 1


#: The variable through which the benchmark scripts record their target rows
#: (``benchmarks/bench_ops.py``'s ``record_target``).
TARGETS_ENV = "FEATURELAB_BENCH_TARGETS"


def _targets_table(rows):
    """One markdown table of every recorded target: case, featurelab, the
    reference, ratio, GF/s, % of the GEMM peak, target, pass/fail."""
    lines = ["## Targets", "",
             "| case | featurelab | reference | ratio | GF/s | % of peak | target | "
             "pass/fail |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        unit = row.get("unit", "s")
        fl, ref = row["featurelab"], row["reference"]

        def show(value):
            if value is None:
                return "-"
            if unit == "%":
                return f"{value:.2f} %"
            return f"{value * 1e3:.2f} ms" if unit == "s" and value < 1 else f"{value:.3g} {unit}"

        # accuracies are compared by their target, not by a ratio
        ratio = f"{fl / ref:.2f}" if fl is not None and ref and unit != "%" else "-"
        gflops = "-" if row.get("gflops") is None else f"{row['gflops']:.1f}"
        peak = "-" if row.get("peak") is None else f"{100 * row['peak']:.0f}%"
        verdict = {True: "pass", False: "FAIL"}.get(row.get("passed"), "-")
        name = row.get("reference_name") or "reference"
        lines.append(f"| {row['case']} | {show(fl)} | {name}: {show(ref)} | {ratio} | "
                     f"{gflops} | {peak} | {row.get('target') or '-'} | {verdict} |")
    return "\n".join(lines)


def _run_scripts(directory, args, env, outcomes):
    """Run each of :data:`BENCHMARKS` from the repository root, streaming its
    output; append ``(name, outcome)`` to ``outcomes``."""
    for name in BENCHMARKS:
        script = directory / name
        if not script.is_file():
            print(f"== {name}: missing from {directory}", flush=True)
            outcomes.append((name, "missing"))
            continue
        if name in _NEEDS_TORCH and not _has_torch():
            print(f"== {name}: skipped, PyTorch (its reference) is not installed: "
                  f"pip install 'featurelab[bench]'", flush=True)
            outcomes.append((name, "skipped (no PyTorch)"))
            continue
        options = ["--quick"] if args.quick and "--quick" in script.read_text() else []
        print(f"== {' '.join([name] + options)}", flush=True)
        start = time.perf_counter()
        with subprocess.Popen([sys.executable, str(script), *options],
                              cwd=directory.parent, stdout=subprocess.PIPE,
                              text=True, bufsize=1, env=env) as process:
            for line in process.stdout:
                print(line, end="", flush=True)
        elapsed = time.perf_counter() - start
        status = "ok" if process.returncode == 0 else f"failed (exit {process.returncode})"
        outcomes.append((name, f"{status}, {elapsed:.0f} s"))


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
    scr.add_argument("--cache-memory", metavar="SIZE", default="512MB",
                     help="memory per worker for the layer maps that configurations "
                          "sharing their first layers reuse (default 512MB; more is "
                          "spilled to .npy files; 0: spill all; off: no cache)")
    scr.add_argument("--cache-dir", metavar="DIR",
                     help="where spilled maps go (default: the temporary directory)")
    scr.add_argument("--quick", action="store_true",
                     help="a small built-in screen (a few seconds)")
    scr.add_argument("--top", type=int, default=None, help="print only the best N")
    scr.add_argument("--quiet", action="store_true", help="no progress bar")
    scr.add_argument("--plots", metavar="DIR",
                     help="where to write the plots (default: <results stem>_plots "
                          "next to the results file)")
    scr.add_argument("--no-plots", action="store_true", help="write no plots")
    scr.set_defaults(run=_run_screen)
    rep = commands.add_parser(
        "report", help="rank the configurations of a results file and plot them",
        description="Print the ranked table, the Pareto front of accuracy vs cost "
                    "and the rank correlation of random vs learned kernels of a "
                    "screen's results file, and write the plots (pareto.png, "
                    "rank_correlation.png, and kernels.png with --dataset).")
    rep.add_argument("results", metavar="FILE", help="a screen's results (.jsonl)")
    rep.add_argument("--plots", metavar="DIR",
                     help="where to write the plots (default: <FILE stem>_plots next "
                          "to FILE)")
    rep.add_argument("--no-plots", action="store_true", help="write no plots")
    rep.add_argument("--top", type=int, default=None, help="print only the best N")
    rep.add_argument("--learned", metavar="SOURCE",
                     help="learned kernel source to correlate with random kernels "
                          "(default: kmeans or pca, the one with most architectures)")
    rep.add_argument("--dataset", help="digits, mnist1d or a .npz file: also fit the "
                                       "best configuration on it and plot its "
                                       "first-layer kernels")
    rep.set_defaults(run=_run_report)
    bench = commands.add_parser(
        "bench", help="run the benchmarks of benchmarks/ (source checkout)",
        description="Run benchmarks/bench_ops.py (against PyTorch; skipped without "
                    "it), bench_methods.py (conv methods and what 'auto' picks), "
                    "bench_kmeans.py (against scikit-learn), bench_accuracy.py, "
                    "bench_screen.py, bench_memory.py (end-to-end transform "
                    "memory) and peers.py (presets against sktime and "
                    "kymatio's numbers) from the repository root and print their "
                    "reports (featurelab / reference time ratios), then one "
                    "table of every target they measured, with pass/fail. "
                    "Minutes each.")
    bench.add_argument("--quick", action="store_true",
                       help="pass --quick to each script (fewer repetitions)")
    bench.set_defaults(run=_run_bench)
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
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"featurelab {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
