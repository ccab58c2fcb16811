"""End-to-end memory and throughput of a FeatureNetwork transform (issue 8).

Usage::

    python benchmarks/bench_memory.py [--quick] [--n-images N] [--output FILE]

A 2-layer network on 32 x 32 x 3 images -- Coates-style k-means kernels
(64 of 5 x 5 on patch-normalised, whitened patches, triangle encoding,
2 x 2 max pooling), then 128 random 3 x 3 kernels (ReLU, 2 x 2 max pooling),
output sums over 2 x 2 quadrants -- fitted on 2000 images, transforms 50,000
random images (``--quick``: 10,000) with ``max_memory='512MB'``.

Peak memory of the transform beyond its input and its returned features,
two ways, against the budget:

* **traced**: :mod:`tracemalloc`'s peak of Python/NumPy allocations during
  the transform, minus the output array;
* **RSS**: the resident set size of the process, sampled every 2 ms by a
  thread during the transform (``/proc/self/statm``), its peak minus the
  RSS just before (which holds the input) minus the output.

The target of issue 8 is <= 1.1 x the budget.  Throughput is images per
second of the transform (the traced and RSS runs are separate: tracing
slows NumPy's allocations).  The machine lines of bench_ops.py come first.
"""

import argparse
import datetime
import os
import sys
import threading
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
    record_target,
    start_clock,
)

from featurelab import ConvLayer, FeatureNetwork  # noqa: E402

BUDGET = "512MB"
BUDGET_BYTES = 512 * 10**6
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def rss_bytes():
    """Resident set size of this process (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


class RssPeak:
    """Sample the RSS every ``interval`` seconds in a thread; ``peak``."""

    def __init__(self, interval=0.002):
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def __enter__(self):
        self.peak = rss_bytes()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def network():
    return FeatureNetwork(
        [ConvLayer(64, 5, kernels="kmeans", normalize="patch", whiten=True,
                   nonlinearity="triangle", pool=("max", 2)),
         ConvLayer(128, 3, padding="same", pool=("max", 2))],
        output=("region", 2, "sum"), max_memory=BUDGET, random_state=0)


def measure(n_images):
    rng = np.random.default_rng(0)
    X = rng.random((n_images, 3, 32, 32), dtype=np.float32)
    net = network().fit(X[:2000])
    net.transform(X[:64])                                 # warm-up
    before = rss_bytes()
    with RssPeak() as rss:
        start = time.perf_counter()
        F = net.transform(X)
        elapsed = time.perf_counter() - start
    rss_extra = rss.peak - before - F.nbytes
    del F
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    F = net.transform(X)
    traced = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    traced_extra = traced - F.nbytes
    log(f"  {n_images} images: {elapsed:.1f} s, traced {traced_extra / 1e6:.0f} MB, "
        f"RSS {rss_extra / 1e6:.0f} MB beyond input and output")
    within = max(traced_extra, rss_extra) <= 1.1 * BUDGET_BYTES
    record_target(f"transform {n_images} x 3 x 32 x 32, 2 layers: peak MB beyond "
                  "input and output", max(traced_extra, rss_extra) / 1e6,
                  BUDGET_BYTES / 1e6, "peak <= 1.1 x budget", within,
                  reference_name="max_memory", unit="MB")
    row = (f"{n_images} x 3 x 32 x 32", f"{X.nbytes / 1e6:.0f}", f"{F.nbytes / 1e6:.0f}",
           f"{traced_extra / 1e6:.0f}", f"{rss_extra / 1e6:.0f}",
           f"{max(traced_extra, rss_extra) / BUDGET_BYTES:.2f}",
           "pass" if within else "FAIL", f"{elapsed:.1f}", f"{n_images / elapsed:.0f}")
    return markdown_table(
        ("images", "input MB", "features MB", "traced MB beyond output",
         "RSS MB beyond input + output", "peak / budget", "<= 1.1", "transform s",
         "images/s"), [row]), net.describe() if hasattr(net, "describe") else ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-images", type=int, default=None)
    parser.add_argument("--output")
    args = parser.parse_args(argv)
    n_images = args.n_images or (10_000 if args.quick else 50_000)
    clock = start_clock()
    info = (cpu_lines("float32 input") + blas_lines() + environment_lines()
            + [code_line(("featurelab",))])
    table, description = measure(n_images)
    elapsed, noise = noise_line(clock)
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    report = "\n".join(
        [f"## End-to-end transform memory, max_memory='{BUDGET}', {stamp} "
         f"({elapsed:.0f} s)", ""] + info + [noise, "", table, "", "```",
                                             str(description), "```", ""])
    return emit(report, [], args.output)


if __name__ == "__main__":
    sys.exit(main())
