"""The ROCKET-family presets on MNIST-1D, and the rocket preset's memory bound.

Usage::

    python benchmarks/bench_presets.py [--quick] [--output FILE]

(a) **MNIST-1D, last layer only.**  ``featurelab.presets.rocket()``,
    ``minirocket()`` and ``multirocket()`` (default sizes, ``random_state=0``)
    fitted without labels on the 4000 training signals, a ridge head
    (``evaluate(..., head='ridge')``: standardised features,
    ``RidgeClassifierCV``) fitted on them, accuracy on the 1000 test signals.
    Reported next to the peer numbers of issue 7 (sktime 1.2.0 +
    RidgeClassifierCV on this machine type).  When sktime is installed (the
    ``bench`` extra does not pull it in), its Rocket, MiniRocket and
    MultiRocket run on the same split in the same run; otherwise the peer
    column is the issue's table and says so.

(b) **Memory.**  The rocket preset (``max_memory='512MB'``) transforms
    100,000 series of length 500 (float32, 200 MB of input) with 1,000
    kernels (``--quick``: 10,000 series); peak traced memory
    (:mod:`tracemalloc`) during the transform, beyond the input and output,
    against the budget, and the throughput.  10,000 kernels would take ten
    times as long with the same chunks.

The machine lines of bench_ops.py come first.
"""

import argparse
import datetime
import os
import sys
import time
import tracemalloc

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bench_ops import (  # noqa: E402
    blas_lines,
    code_line,
    cpu_lines,
    emit,
    environment_lines,
    markdown_table,
    noise_line,
    start_clock,
)

from featurelab import presets  # noqa: E402
from featurelab.datasets import load_mnist1d  # noqa: E402
from featurelab.evaluate import evaluate  # noqa: E402

#: Issue 7's table: sktime 1.2.0 + RidgeClassifierCV, MNIST-1D 4000/1000.
PEERS = {"rocket": (0.972, 38.0, 20_000), "minirocket": (0.927, 30.0, 9_996),
         "multirocket": (0.974, 57.0, 49_728)}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sktime_peer(name, X, y, X_test, y_test):
    """Accuracy and seconds of sktime's transform + RidgeClassifierCV, or None."""
    try:
        from sklearn.linear_model import RidgeClassifierCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sktime.transformations.panel import rocket as sk
    except ImportError:
        return None
    transform = {"rocket": sk.Rocket, "minirocket": sk.MiniRocket,
                 "multirocket": sk.MultiRocket}[name](random_state=0)
    start = time.perf_counter()
    model = make_pipeline(transform, StandardScaler(with_mean=False),
                          RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)))
    model.fit(X.astype(np.float64), y)
    accuracy = model.score(X_test.astype(np.float64), y_test)
    return accuracy, time.perf_counter() - start


def accuracy_table():
    X, y, X_test, y_test = load_mnist1d()
    rows = []
    for name in ("rocket", "minirocket", "multirocket"):
        start = time.perf_counter()
        result = evaluate(getattr(presets, name)(random_state=0), X, y, head="ridge",
                          cv=(X_test, y_test))
        elapsed = time.perf_counter() - start
        log(f"  {name}: {result.accuracy:.4f} in {elapsed:.1f} s")
        peer = sktime_peer(name, X, y, X_test, y_test)
        acc, secs, n_feat = PEERS[name]
        if peer is None:
            peer_text = f"{100 * acc:.1f} % in {secs:.0f} s (issue 7's table; sktime not installed)"
        else:
            peer_text = f"{100 * peer[0]:.1f} % in {peer[1]:.1f} s (sktime, this run)"
        rows.append((name, f"{100 * result.accuracy:.1f}", result.n_features,
                     f"{result.fit_time:.1f}", f"{result.transform_time:.1f}",
                     f"{result.head_time:.1f}", f"{elapsed:.1f}", peer_text,
                     f"{100 * (result.accuracy - acc):+.1f}"))
    return markdown_table(("preset", "test acc %", "features", "fit + train features s",
                           "test features s", "head s", "total s", "peer",
                           "vs table (points)"), rows)


def memory_run(n_series, length=500, n_kernels=1000):
    X = np.random.default_rng(0).standard_normal((n_series, 1, length)).astype(np.float32)
    net = presets.rocket(n_kernels, random_state=0, max_memory="512MB").fit(X[:100])
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    F = net.transform(X)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    extra = peak - F.nbytes
    log(f"  memory: {n_series} series, peak {peak / 1e6:.0f} MB ({extra / 1e6:.0f} MB "
        f"beyond the output), {elapsed:.1f} s")
    return markdown_table(
        ("series x length", "kernels", "input MB", "features MB", "peak traced MB "
         "(beyond input)", "working MB (beyond output)", "budget MB", "within", "s",
         "series/s"),
        [(f"{n_series} x {length}", n_kernels, f"{X.nbytes / 1e6:.0f}",
          f"{F.nbytes / 1e6:.0f}", f"{peak / 1e6:.0f}", f"{extra / 1e6:.0f}", "512",
          "yes" if extra <= 512e6 * 1.1 else "NO", f"{elapsed:.1f}",
          f"{n_series / elapsed:.0f}")])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output")
    args = parser.parse_args(argv)
    clock = start_clock()
    import scipy
    import sklearn
    info = (cpu_lines(f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}")
            + blas_lines() + environment_lines() + [code_line(("featurelab",))])
    log("(a) MNIST-1D")
    table = accuracy_table()
    log("(b) memory")
    memory = memory_run(10_000 if args.quick else 100_000)
    elapsed, noise = noise_line(clock)
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    report = "\n".join(
        [f"## ROCKET-family presets, {stamp} ({elapsed:.0f} s)", ""] + info
        + [noise, "", "### (a) MNIST-1D, last layer only (ridge head)", "", table, "",
           "### (b) rocket preset memory, max_memory='512MB'", "", memory, ""])
    return emit(report, [], args.output)


if __name__ == "__main__":
    sys.exit(main())
