"""Time featurelab's GEMM k-means against scikit-learn's KMeans on the CPU.

Usage::

    python benchmarks/bench_kmeans.py [--runs R] [--iterations M] [--quick]
                                      [--output FILE]

Data: 100,000 colour patches of 6 x 6 pixels (108 features) cut at random
positions (fixed seed) from the RGB images bundled with scikit-image
(astronaut, chelsea, coffee, rocket, hubble_deep_field, immunohistochemistry,
retina; no download), then prepared as in Coates & Ng: each patch minus its
mean, divided by ``sqrt(var + 10)`` (0-255 scale), then ZCA-whitened with
``eps = 0.1`` (``numpy.linalg.eigh`` of the covariance), float32.

Compared, with 1600 centres and ``M`` Lloyd iterations (default 10, about
what Coates et al. ran):

* scikit-learn ``KMeans(n_clusters=1600, init=C0, n_init=1, max_iter=M,
  tol=0, algorithm='lloyd')``;
* ``featurelab.kernels._kmeans.kmeans(X, 1600, init=C0, max_iter=M, tol=0)``;

where ``C0`` holds 1600 distinct rows of ``X``, drawn with seed ``r`` for
run ``r = 0 .. R-1`` (default R = 8), identical for both.  Both run ``M``
iterations plus a final assignment step.  The two are run alternately (which
goes first swaps every run) and timed with ``time.perf_counter`` after one
warm-up call each; "best" is the fastest of the R runs, "marginal s / iter"
is ``(best time with M iterations - best time with 1 iteration) / (M - 1)``,
which removes set-up and the final assignment step.  Inertia is recomputed
for every result by the same independent float64 NumPy computation,
``sum_i min_k ||x_i - c_k||^2`` on the final centres, next to each library's
own value (scikit-learn accumulates its own in float32).

For context, also timed once: both with their default ``init='k-means++'``
(``random_state=0``; their greedy k-means++ draws the same random numbers)
and ``MiniBatchKMeans(n_clusters=1600, init=C0, n_init=1, max_iter=M,
random_state=0)`` (default ``batch_size=1024`` and early stopping).
A last table repeats the comparison with 64, 256, 512 and 1024 centres (3
initialisations each), where the distance GEMM is a smaller share of the work, and two
design tables time the alternatives behind ``featurelab.kernels._kmeans``:
six ways to compute the per-cluster sums of the update step, and the
assignment pass for several sample-block sizes.  ``--quick`` skips the
k-means++ rows (about 30 s of scikit-learn's seeding) and those tables, and
uses R = 2.

The machine (CPU, cores, versions, every BLAS and OpenMP library that
threadpoolctl sees: numpy's OpenBLAS and the SciPy OpenBLAS that
scikit-learn calls, the ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE``
overrides if set, load) and how much CPU other processes used during the run
are printed first.  Output is markdown on stdout; ``--output FILE`` appends
it to FILE.  About 2 minutes on the 2-core benchmark machine; compare
OpenBLAS kernel settings with
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_kmeans.py``.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
import warnings

import numpy as np

# Run from a checkout without installing: put the repository root first.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bench_ops import (  # noqa: E402
    best_time,
    blas_lines,
    cpu_lines,
    environment_lines,
    markdown_table,
    noise_line,
    record_target,
    start_clock,
)

from featurelab.kernels._kmeans import kmeans  # noqa: E402

IMAGES = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
          "immunohistochemistry", "retina")
N_PATCHES = 100_000
PATCH = 6
N_CLUSTERS = 1600


def whitened_patches(n=N_PATCHES, size=PATCH, seed=0):
    """``n`` normalised, ZCA-whitened RGB patches as float32 (n, 3 size^2)."""
    from skimage import data

    rng = np.random.default_rng(seed)
    images = [getattr(data, name)() for name in IMAGES]
    which = rng.integers(len(images), size=n)
    patches = np.empty((n, size, size, 3), dtype=np.float32)
    for i, image in enumerate(images):
        index = np.flatnonzero(which == i)
        rows = rng.integers(image.shape[0] - size + 1, size=index.size)
        cols = rng.integers(image.shape[1] - size + 1, size=index.size)
        windows = np.lib.stride_tricks.sliding_window_view(
            image, (size, size), axis=(0, 1))     # (H', W', 3, size, size)
        patches[index] = windows[rows, cols].transpose(0, 2, 3, 1)
    X = patches.reshape(n, -1).astype(np.float64)
    X -= X.mean(axis=1, keepdims=True)
    X /= np.sqrt(X.var(axis=1, keepdims=True) + 10)
    X -= X.mean(axis=0)
    eigvals, eigvecs = np.linalg.eigh(X.T @ X / n)
    X = X @ (eigvecs / np.sqrt(eigvals + 0.1)) @ eigvecs.T
    return np.ascontiguousarray(X, dtype=np.float32)


def inertia64(X64, sq_norms, centers, block=4096):
    """Independent objective: sum_i min_k ||x_i - c_k||^2 in float64."""
    C = np.asarray(centers, dtype=np.float64)
    c2 = (C * C).sum(axis=1)
    total = 0.0
    for start in range(0, X64.shape[0], block):
        d2 = X64[start:start + block] @ (-2 * C.T)
        d2 += c2
        d2 = d2.min(axis=1) + sq_norms[start:start + block]
        total += np.maximum(d2, 0).sum()
    return total


def machine_info():
    import scipy
    import sklearn

    lines = cpu_lines(f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}")
    return lines + blas_lines() + environment_lines()


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def sklearn_lloyd(X, init, max_iter):
    from sklearn.cluster import KMeans

    km = KMeans(init.shape[0], init=init, n_init=1, max_iter=max_iter, tol=0,
                algorithm="lloyd", random_state=0).fit(X)
    return km.cluster_centers_, km.inertia_, km.n_iter_


def featurelab_lloyd(X, init, max_iter, n_clusters=None):
    n_clusters = init.shape[0] if n_clusters is None else n_clusters
    centers, _, inertia, n_iter = kmeans(X, n_clusters, init=init,
                                         max_iter=max_iter, tol=0,
                                         random_state=0)
    return centers, inertia, n_iter


def fewer_centres_table(X, X64, sq_norms, M, runs=3,
                        sizes=(64, 256, 512, 1024)):
    """Best of ``runs`` inits for smaller banks: where the GEMM share drops."""
    rows = []
    for k in sizes:
        inits = [X[np.random.default_rng(100 + r).choice(len(X), k,
                                                         replace=False)]
                 for r in range(runs)]
        times = {"sklearn": [], "featurelab": []}
        rel = []
        for r, init in enumerate(inits):
            order = ["sklearn", "featurelab"][::1 if r % 2 == 0 else -1]
            got = {}
            for name in order:
                fn = sklearn_lloyd if name == "sklearn" else featurelab_lloyd
                t, (centers, _, _) = timed(lambda: fn(X, init, M))
                times[name].append(t)
                got[name] = inertia64(X64, sq_norms, centers)
            rel.append((got["featurelab"] - got["sklearn"]) / got["sklearn"])
        a, b = min(times["sklearn"]), min(times["featurelab"])
        rows.append((k, f"{a:.3f}", f"{b:.3f}", f"{b / a:.2f}",
                     f"{statistics.mean(rel):+.1e}",
                     f"[{min(rel):+.1e}, {max(rel):+.1e}]"))
    header = ("n_clusters", f"(a) sklearn best s (of {runs})",
              "(b) featurelab best s", "(b) / (a) time",
              "(b) vs (a) inertia, mean", "range")
    return markdown_table(header, rows)


def update_design_table(X, init):
    """Ways to sum the samples of each cluster (the update step), all
    available in NumPy and CuPy; the labels are those of one assignment to
    ``init``."""
    from featurelab.kernels import _kmeans as km

    n, d = X.shape
    k = len(init)
    data = np.empty((d + 1, n), dtype=X.dtype)
    data[:d], data[d] = X.T, 1
    sq = np.einsum("ij,ij->j", data[:d], data[:d])
    labels = np.empty(n, dtype=np.int64)
    km._assign(np, data, sq, init, km._block_rows(np, 2**30, k * 4), labels,
               np.empty(n, dtype=X.dtype))
    want = np.zeros((k, d))
    np.add.at(want, labels, X.astype(np.float64))

    def per_row_bincount():  # featurelab: one bincount per feature row
        return np.stack([np.bincount(labels, weights=row, minlength=k)
                         for row in data[:d]], axis=1)

    def flat_bincount():
        index = (labels[:, None] * d + np.arange(d)).ravel()
        return np.bincount(index, weights=X.ravel(),
                           minlength=k * d).reshape(k, d)

    def add_at():
        sums = np.zeros((k, d), dtype=X.dtype)
        np.add.at(sums, labels, X)
        return sums

    def sort_reduceat():
        order = np.argsort(labels, kind="stable")
        counts = np.bincount(labels, minlength=k)
        starts = np.cumsum(counts) - counts
        sums = np.zeros((k, d), dtype=X.dtype)
        sums[counts > 0] = np.add.reduceat(X[order], starts[counts > 0])
        return sums

    def sort_cumsum():
        order = np.argsort(labels, kind="stable")
        ends = np.cumsum(np.bincount(labels, minlength=k))
        totals = np.zeros((k + 1, d))
        cums = np.cumsum(X[order], axis=0, dtype=np.float64)
        totals[1:] = np.where((ends > 0)[:, None], cums[ends - 1], 0)
        return np.diff(totals, axis=0)

    def one_hot_gemm(block=4096):
        sums = np.zeros((k, d), dtype=X.dtype)
        for start in range(0, n, block):
            one_hot = (labels[start:start + block, None]
                       == np.arange(k)).astype(X.dtype)
            sums += one_hot.T @ X[start:start + block]
        return sums

    variants = [
        ("(a) `bincount(labels, weights=row)` per feature row of the "
         "transposed data, float64 sums (featurelab)", per_row_bincount),
        ("(b) one `bincount` over `labels * d + feature`", flat_bincount),
        ("(c) `np.add.at(sums, labels, X)` (float32 sums)", add_at),
        ("(d) stable sort + `np.add.reduceat`", sort_reduceat),
        ("(e) stable sort + float64 `cumsum` + differences", sort_cumsum),
        ("(f) one-hot matrix @ X, blocks of 4096 samples", one_hot_gemm),
    ]
    rows = []
    for name, fn in variants:
        err = np.abs(fn() - want).max()
        rows.append([name, best_time(fn), f"{err:.0e}"])
    base = rows[0][1]
    rows = [(name, f"{t * 1e3:.1f}", f"{t / base:.2f}", err)
            for name, t, err in rows]
    return markdown_table(
        (f"update step, {n} x {d} float32, {k} clusters", "ms",
         "time / (a)", "max abs error vs float64"), rows)


def chunk_design_table(X, inits, mib=(0.5, 2, 8, 16, 32, 128)):
    """One assignment pass (GEMM + argmin) for several distance-block sizes,
    as featurelab's ``_assign`` with the block given in samples."""
    from featurelab.kernels import _kmeans as km

    n, d = X.shape
    data = np.empty((d + 1, n), dtype=X.dtype)
    data[:d], data[d] = X.T, 1
    sq = np.einsum("ij,ij->j", data[:d], data[:d])
    labels, dist = np.empty(n, dtype=np.int64), np.empty(n, dtype=X.dtype)
    rows = []
    for size in mib:
        row = [f"{size:g}" + (" (featurelab)" if size * 2**20
                              == km._CPU_BLOCK_BYTES else "")]
        for init in inits:
            block = max(1, int(size * 2**20) // (len(init) * X.dtype.itemsize))
            t = best_time(lambda: km._assign(np, data, sq, init, block,
                                             labels, dist))
            row += [block, f"{t * 1e3:.0f}"]
        rows.append(row)
    header = ["distance block MiB"]
    for init in inits:
        header += [f"samples ({len(init)} centres)", "assignment pass ms"]
    return markdown_table(header, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Time featurelab kmeans against scikit-learn KMeans.")
    parser.add_argument("--runs", type=int, default=None,
                        help="initialisations (timed runs) per method (8)")
    parser.add_argument("--iterations", type=int, default=10,
                        help="Lloyd iterations per run (10)")
    parser.add_argument("--quick", action="store_true",
                        help="2 runs, no k-means++ context rows")
    parser.add_argument("--output", metavar="FILE",
                        help="also append the report to FILE")
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else (2 if args.quick else 8)
    M = args.iterations
    if runs < 1 or M < 2:
        parser.error("--runs must be >= 1 and --iterations >= 2")
    warnings.filterwarnings("ignore", message="Number of distinct clusters")

    clock = start_clock()
    info = machine_info()
    t_data, X = timed(whitened_patches)
    X64 = X.astype(np.float64)
    sq_norms = (X64 * X64).sum(axis=1)
    print(f"  data ready in {t_data:.1f} s: X {X.shape} {X.dtype}",
          file=sys.stderr)

    methods = {"sklearn": sklearn_lloyd, "featurelab": featurelab_lloyd}
    inits = [X[np.random.default_rng(r).choice(len(X), N_CLUSTERS,
                                               replace=False)]
             for r in range(runs)]
    for fn in methods.values():  # warm-up: thread pools, page faults
        fn(X, inits[0], 1)
    t_one = {name: min(timed(lambda: fn(X, inits[0], 1))[0]
                       for _ in range(min(runs, 3)))
             for name, fn in methods.items()}
    results = {name: [] for name in methods}
    for r, init in enumerate(inits):
        order = list(methods) if r % 2 == 0 else list(methods)[::-1]
        for name in order:
            t, (centers, own, n_iter) = timed(
                lambda: methods[name](X, init, M))
            results[name].append(dict(
                time=t, own=own, n_iter=n_iter,
                indep=inertia64(X64, sq_norms, centers)))
        print(f"  run {r} done", file=sys.stderr)

    rows = []
    ref = statistics.mean(res["indep"] for res in results["sklearn"])
    for name, label, init in (
            ("sklearn", "(a) scikit-learn KMeans, algorithm='lloyd'",
             "C0 (array)"),
            ("featurelab", "(b) featurelab kmeans (GEMM)", "C0 (array)")):
        res = results[name]
        times = [x["time"] for x in res]
        best = min(times)
        n_iter = res[0]["n_iter"]
        indep = statistics.mean(x["indep"] for x in res)
        rows.append((label, init, n_iter, f"{best:.2f}",
                     f"{statistics.median(times):.2f}",
                     f"{best / n_iter:.3f}",
                     f"{(best - t_one[name]) / (M - 1):.3f}",
                     f"{statistics.mean(x['own'] for x in res):.1f}",
                     f"{indep:.1f}", f"{(indep - ref) / ref:+.2e}"))

    context, plusplus = [], {}
    if not args.quick:
        from sklearn.cluster import KMeans

        def sk_pp():
            km = KMeans(N_CLUSTERS, init="k-means++", n_init=1, max_iter=M,
                        tol=0, algorithm="lloyd", random_state=0).fit(X)
            return km.cluster_centers_, km.inertia_, km.n_iter_

        context.append(("scikit-learn KMeans, algorithm='lloyd'",
                         "'k-means++'", sk_pp))
        context.append(("featurelab kmeans (GEMM)", "'k-means++'",
                        lambda: featurelab_lloyd(X, "k-means++", M,
                                                 N_CLUSTERS)))

    def minibatch():
        from sklearn.cluster import MiniBatchKMeans

        mb = MiniBatchKMeans(N_CLUSTERS, init=inits[0], n_init=1, max_iter=M,
                             random_state=0).fit(X)
        return mb.cluster_centers_, mb.inertia_, mb.n_steps_

    context.append(("scikit-learn MiniBatchKMeans, batch_size=1024",
                    "C0 (array)", minibatch))
    fewer = None if args.quick else fewer_centres_table(X, X64, sq_norms, M)
    design = (None if args.quick else
              [update_design_table(X, inits[0]),
               chunk_design_table(X, [inits[0], inits[0][:256]])])
    for label, init, fn in context:
        t, (centers, own, n_iter) = timed(fn)
        indep = inertia64(X64, sq_norms, centers)
        steps = f"{n_iter} steps" if "MiniBatch" in label else n_iter
        rows.append((label, init, steps, f"{t:.2f}", "-", "-", "-",
                     f"{own:.1f}", f"{indep:.1f}",
                     f"{(indep - ref) / ref:+.2e}"))
        if init == "'k-means++'":
            plusplus[label.split()[0]] = (t, indep)
        print(f"  {label} {init} done", file=sys.stderr)

    per_run = []
    for r in range(runs):
        a, b = results["sklearn"][r], results["featurelab"][r]
        per_run.append((r, f"{a['indep']:.1f}", f"{b['indep']:.1f}",
                        f"{(b['indep'] - a['indep']) / a['indep']:+.2e}",
                        f"{a['time']:.2f}", f"{b['time']:.2f}",
                        f"{b['time'] / a['time']:.2f}"))
    ratio = (min(x["time"] for x in results["featurelab"])
             / min(x["time"] for x in results["sklearn"]))
    marginal = ((min(x["time"] for x in results["featurelab"])
                 - t_one["featurelab"])
                / (min(x["time"] for x in results["sklearn"])
                   - t_one["sklearn"]))
    rel = [(b["indep"] - a["indep"]) / a["indep"] for a, b in
           zip(results["sklearn"], results["featurelab"])]
    t_fl, t_sk = (min(x["time"] for x in results[k]) for k in ("featurelab", "sklearn"))
    equal = max(rel) <= 1e-3
    record_target(f"k-means {N_CLUSTERS} centres, {M} Lloyd iterations from the same "
                  "C0", t_fl, t_sk, "ratio <= 0.5 at equal inertia",
                  t_fl / t_sk <= 0.5 and equal, reference_name="scikit-learn KMeans")
    if len(plusplus) == 2:
        (a, ia), (b, ib) = plusplus["featurelab"], plusplus["scikit-learn"]
        record_target(f"k-means {N_CLUSTERS} centres, k-means++ seeding + {M} "
                      "iterations", a, b, "ratio <= 0.5 at equal inertia",
                      a / b <= 0.5 and (ia - ib) / ib <= 1e-3,
                      reference_name="scikit-learn KMeans")
    wins = sum(r <= 0 for r in rel)
    sk_inertias = [a["indep"] for a in results["sklearn"]]
    spread = (statistics.pstdev(sk_inertias) / statistics.mean(sk_inertias)
              if runs > 1 else float("nan"))

    elapsed, noise = noise_line(clock)

    header = ("method", "init", "iterations", f"best s (of {runs})",
              "median s", "best s / iter", "marginal s / iter", "own inertia",
              "inertia (float64, independent)", "vs (a)")
    per_run_header = ("init seed r", "(a) sklearn inertia", "(b) featurelab inertia",
                      "(b) vs (a)", "(a) s", "(b) s", "(b) / (a) time")
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    report = "\n".join(
        [f"## featurelab kmeans vs scikit-learn, {stamp}", ""] + info + [
            f"- data: {X.shape[0]} whitened {PATCH}x{PATCH}x3 patches from "
            f"{len(IMAGES)} scikit-image images, {X.dtype}, prepared in "
            f"{t_data:.1f} s; {N_CLUSTERS} centres, {M} iterations, tol=0",
            f"- {runs} runs per method from initial centres C0 = {N_CLUSTERS} "
            f"distinct samples drawn with seed r; one warm-up call each; "
            f"1-iteration best time: sklearn {t_one['sklearn']:.2f} s, "
            f"featurelab {t_one['featurelab']:.2f} s",
            f"- benchmark wall time {elapsed:.0f} s", noise, "",
            markdown_table(header, rows), "",
            "Per initialisation (same C0 for both):", "",
            markdown_table(per_run_header, per_run), "",
            f"featurelab / sklearn best time: {ratio:.2f} (whole run), "
            f"{marginal:.2f} (marginal per iteration). Inertia, (b) vs (a) "
            f"from the same C0: lower or equal in {wins} of {runs} runs, "
            f"relative difference mean {statistics.mean(rel):+.1e}, range "
            f"[{min(rel):+.1e}, {max(rel):+.1e}]; for scale, sklearn's "
            f"inertia varies by {spread:.1e} (std / mean) across the {runs} "
            f"initialisations.", ""]
        + ([f"Fewer centres ({M} iterations, 3 initialisations each, "
            "same protocol):", "", fewer, ""] if fewer else [])
        + (["### Design measurements (best of 3 after a warm-up)", "",
            design[0], "", design[1], ""] if design else []))
    print(report)
    if args.output:
        with open(args.output, "a") as f:
            f.write(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
