"""Time conv2d's methods ('direct', 'separable', 'fft', 'auto') against kernel size.

Usage::

    python benchmarks/bench_methods.py [--repeat N] [--quick] [--threads T]
                                       [--output FILE]
    python benchmarks/bench_methods.py --calibrate [--passes P] [--quick]

Default run: a float32 batch of images ``(32, 3, 64, 64)`` and 16 rank-1
kernels (outer products of random vectors, so that every method applies) of
size ``k x k`` for k in 3, 5, 7, 9, 11, 15, 21, 31, ``padding='same'``, with
``--threads`` (default 2) BLAS threads (threadpoolctl; the FFT path uses as
many threads).  Each method is first checked against 'direct' (max abs
difference <= 1e-4 of the output's max abs value), then timed as the best of
``N`` runs after one warm-up (``best_time`` of bench_ops.py; ``N`` = 5, 2
with ``--quick``), twice per kernel size with the methods in opposite
orders, the better time kept (a method timed right after another is slower
for its first few calls).  The markdown
table gives each method's time, what 'auto' chose (and the cost model's
estimates, ``featurelab.ops._conv.method_costs``), the fastest method, and
whether 'auto' (its own time, rank test included) was within 10 % of the
fastest; then the same for 'auto' with full-rank (random) kernels of the
same shape, where only 'direct' and 'fft' apply (their times do not depend
on the kernels' values).  The machine lines of bench_ops.py come first.

``--calibrate`` times the three methods on a grid of shapes (1-D and 2-D,
1 to 64 channels, kernels 1 to 31, strides, dilations, depthwise groups;
the benchmark's shapes included), keeps each case's best time over
``--passes`` passes (default 3), fits the constants of the cost model by
non-negative least squares on relative errors (scipy.optimize.nnls), one
method at a time, and prints them as the ``_COST_CONSTANTS`` dict of
featurelab/ops/_conv.py, with how often the fitted model picks a method
within 10 % of the fastest and how far its estimates are from the times.

The machine may be shared: the report says how much CPU other processes
used during the run; rerun when it says NOISY.
"""

import argparse
import datetime
import os
import sys

import numpy as np

# Run from a checkout without installing: put the repository root first.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bench_ops import (  # noqa: E402
    best_time,
    blas_lines,
    code_line,
    cpu_lines,
    emit,
    environment_lines,
    markdown_table,
    noise_line,
    start_clock,
)

from featurelab.ops import _conv as conv_module  # noqa: E402
from featurelab.ops import conv1d, conv2d  # noqa: E402

KERNEL_SIZES = (3, 5, 7, 9, 11, 15, 21, 31)
X_SHAPE = (32, 3, 64, 64)
N_KERNELS = 16
METHODS = ("direct", "separable", "fft")
TOLERANCE = 1e-4  # of the output's max abs value (float32)


def rank1_kernels(rng, n_kernels, n_channels, kh, kw, dtype=np.float32):
    cols = rng.standard_normal((n_kernels, n_channels, kh, 1))
    rows = rng.standard_normal((n_kernels, n_channels, 1, kw))
    return (cols * rows).astype(dtype)


def auto_choice(x, kernels, **kwargs):
    """What method='auto' runs for these arguments, and the model's costs."""
    args = conv_module._validate_conv(
        x, kernels, x.ndim - 2, kwargs.get("stride", 1),
        kwargs.get("padding", "valid"), kwargs.get("dilation", 1), None,
        False, kwargs.get("groups", 1), "512MB")
    xp, x, kernels, stride, pads, dilation, _, _, groups, budget = args
    choice, _ = conv_module._choose_method(xp, x, kernels, stride, pads,
                                           dilation, groups, budget)
    costs = conv_module.method_costs(
        x.shape, kernels.shape, stride=stride, pads=pads, dilation=dilation,
        groups=groups, itemsize=x.dtype.itemsize, budget=budget)
    return choice, costs


def kernel_size_table(repeat):
    """Rank-1 kernels (every method applies), then full-rank kernels of the
    same shape (random: 'auto' chooses between 'direct' and 'fft', whose
    times do not depend on the kernels' values)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(X_SHAPE, dtype=np.float32)
    rows, failures = [], []
    for k in KERNEL_SIZES:
        w = rank1_kernels(rng, N_KERNELS, X_SHAPE[1], k, k)
        full = rng.standard_normal(w.shape, dtype=np.float32)
        runs = {m: (w, m) for m in METHODS + ("auto",)}
        runs["auto, full rank"] = (full, "auto")
        for name, (kernels, method) in runs.items():
            ref = conv2d(x, kernels, padding="same", method="direct")
            got = conv2d(x, kernels, padding="same", method=method)
            err = float(np.abs(got - ref).max()) / float(np.abs(ref).max())
            if err > TOLERANCE:
                failures.append(f"k={k} {name}: max abs diff {err:.2g} of "
                                f"the output scale (> {TOLERANCE:g})")
        # two rounds in opposite orders, best of both: a method timed right
        # after another one runs slower for a few calls (allocator state)
        times = dict.fromkeys(runs, float("inf"))
        for names in (list(runs), list(runs)[::-1]):
            for name in names:
                kernels, method = runs[name]
                t = best_time(lambda: conv2d(x, kernels, padding="same",
                                             method=method), repeat)
                times[name] = min(times[name], t)
        choice, costs = auto_choice(x, w, padding="same")
        full_choice, _ = auto_choice(x, full, padding="same")
        fastest = min(METHODS, key=times.__getitem__)
        full_fastest = min(("direct", "fft"), key=times.__getitem__)
        ok = times["auto"] <= 1.10 * times[fastest]
        full_ok = times["auto, full rank"] <= 1.10 * times[full_fastest]
        rows.append((
            k, *(f"{times[m] * 1e3:.1f}" for m in METHODS + ("auto",)),
            choice, fastest, "yes" if ok else "NO",
            f"{times['auto, full rank'] * 1e3:.1f}", full_choice,
            "yes" if full_ok else "NO",
            " / ".join(f"{costs[m] * 1e3:.1f}" for m in METHODS),
        ))
        print(f"  k={k} done", file=sys.stderr)
    header = ("kernel", "direct ms", "separable ms", "fft ms", "auto ms",
              "auto chose", "fastest", "auto within 10 %",
              "full rank: auto ms", "auto chose", "within 10 % of direct, fft",
              "model ms (direct / separable / fft)")
    return markdown_table(header, rows), failures


# --------------------------------------------------------------------------
# calibration of the cost model
# --------------------------------------------------------------------------

def calibration_cases(quick):
    """(x shape, kernel shape, kwargs) on which to fit the cost model."""
    cases = []
    images = [((32, 3, 64, 64), 16), ((8, 16, 32, 32), 32), ((64, 1, 28, 28), 32),
              ((4, 64, 16, 16), 64), ((16, 8, 48, 48), 8)]
    sizes = (1, 3, 5, 9, 15, 25) if not quick else (3, 9, 25)
    for x_shape, n_kernels in images:
        for k in sorted(set(sizes) | (set(KERNEL_SIZES) if x_shape == X_SHAPE
                                      and not quick else set())):
            if k > x_shape[2]:
                continue
            for padding in ("same", "valid"):
                cases.append((x_shape, (n_kernels, x_shape[1], k, k),
                              dict(padding=padding)))
    cases += [
        ((1797, 1, 8, 8), (128, 1, 3, 3), dict(padding="valid")),
        ((1797, 1, 8, 8), (32, 1, 5, 5), dict(padding="same")),
        ((500, 1, 28, 28), (32, 1, 9, 9), dict(padding="same")),
        ((500, 1, 28, 28), (32, 1, 5, 5), dict(padding="valid")),
        ((32, 3, 64, 64), (16, 3, 7, 7), dict(padding="same", stride=2)),
        ((32, 3, 64, 64), (16, 3, 15, 15), dict(padding="same", stride=2)),
        ((32, 3, 64, 64), (16, 3, 5, 5), dict(padding="same", dilation=3)),
        ((32, 3, 64, 64), (16, 3, 3, 11), dict(padding="same")),
        ((16, 16, 32, 32), (16, 1, 7, 7), dict(padding="same", groups=16)),
        ((16, 16, 32, 32), (16, 1, 15, 15), dict(padding="same", groups=16)),
        ((8, 3, 128, 128), (8, 3, 21, 21), dict(padding="same")),
    ]
    for x_shape, n_kernels in [((256, 1, 256), 32), ((64, 8, 1000), 16),
                               ((4000, 1, 40), 128), ((16, 1, 4096), 8)]:
        for k in (3, 9, 31) if not quick else (9,):
            for dilation in (1, 4):
                cases.append((x_shape, (n_kernels, x_shape[1], k),
                              dict(padding="same", dilation=dilation)))
    cases += [  # small problems (fixed costs) and long 1-D kernels
        ((2, 3, 16, 16), (4, 3, 3, 3), dict(padding="valid")),
        ((2, 1, 32, 32), (4, 1, 9, 9), dict(padding="same")),
        ((2, 1, 64, 64), (4, 1, 31, 31), dict(padding="same")),
        ((2, 1, 500), (4, 1, 101), dict(padding="same")),
        ((2, 1, 2000), (4, 1, 301), dict(padding="same")),
        ((16, 1, 4096), (8, 1, 301), dict(padding="same")),
        ((64, 4, 512), (16, 4, 65), dict(padding="valid")),
    ]
    return cases


def _pads(x_shape, k_shape, kwargs):
    """Validated stride/pads/dilation/groups of a case (shape only)."""
    rng = np.random.default_rng(0)
    x = np.zeros((1,) + tuple(x_shape[1:]), dtype=np.float32)
    w = rng.standard_normal(k_shape).astype(np.float32)
    args = conv_module._validate_conv(
        x, w, len(x_shape) - 2, kwargs.get("stride", 1),
        kwargs.get("padding", "valid"), kwargs.get("dilation", 1), None, False,
        kwargs.get("groups", 1), "512MB")
    _, _, _, stride, pads, dilation, _, _, groups, _ = args
    return dict(stride=stride, pads=pads, dilation=dilation, groups=groups)


def measure_cases(repeat, quick):
    """``[(case, {method: work terms}, {method: seconds})]`` on the grid."""
    rng = np.random.default_rng(1)
    results = []
    cases = calibration_cases(quick)
    for i, (x_shape, k_shape, kwargs) in enumerate(cases):
        x = rng.standard_normal(x_shape, dtype=np.float32)
        if len(k_shape) == 4:
            w = rank1_kernels(rng, *k_shape)
            func = conv2d
        else:
            w = rng.standard_normal(k_shape).astype(np.float32)
            func = conv1d
        work = conv_module.method_work(x_shape, k_shape,
                                       **_pads(x_shape, k_shape, kwargs))
        times = {}
        for method in work:
            if method == "direct" and work[method]["flop"] > 2e10:
                continue  # several seconds: far from the crossover anyway
            if method == "separable" and min(k_shape[2:]) == 1:
                continue  # never chosen (one pass of 'direct' is cheaper)
            times[method] = best_time(
                lambda m=method: func(x, w, method=m, **kwargs), repeat)
        results.append(((x_shape, k_shape, kwargs), work, times))
        print(f"  {i + 1}/{len(cases)} {x_shape} * {k_shape} {kwargs}: "
              + ", ".join(f"{m} {t * 1e3:.2f} ms" for m, t in times.items()),
              file=sys.stderr)
    return results


def fit_constants(results):
    """Per method, non-negative constants minimising the relative errors."""
    from scipy.optimize import nnls

    constants = {}
    for method in ("direct", "fft", "separable"):
        rows = [(work[method], times[method]) for _, work, times in results
                if method in times]
        names = sorted({name for terms, _ in rows for name in terms})
        a = np.array([[terms.get(n, 0) / t for n in names] for terms, t in rows])
        b = np.ones(len(rows))  # every row divided by its time
        scale = np.maximum(a.max(axis=0), 1e-300)
        coef, _ = nnls(a / scale, b)
        constants[method] = {n: float(c / s) for n, c, s in zip(names, coef, scale)}
    return constants


def model_quality(results, constants):
    """(cases where the model's pick is within 10 % of the fastest, misses)."""
    good, misses = 0, []
    for case, work, times in results:
        model = {m: sum(c * constants[m][n] for n, c in work[m].items())
                 for m in times}
        chosen = min(model, key=model.__getitem__)
        fastest = min(times, key=times.__getitem__)
        if times[chosen] <= 1.10 * times[fastest]:
            good += 1
        else:
            misses.append(f"{case}: model picks {chosen} "
                          f"({times[chosen] * 1e3:.2f} ms), fastest {fastest} "
                          f"({times[fastest] * 1e3:.2f} ms)")
    return good, misses


def calibrate(repeat, quick, passes):
    """Fit on the best time of each case over ``passes`` passes of the grid
    (on a shared machine a single pass catches other processes' bursts)."""
    results = measure_cases(repeat, quick)
    for _ in range(passes - 1):
        again = measure_cases(repeat, quick)
        results = [(case, work, {m: min(t, other[m]) for m, t in times.items()})
                   for (case, work, times), (_, _, other) in zip(results, again)]
    constants = fit_constants(results)
    good, misses = model_quality(results, constants)
    lines = ["_COST_CONSTANTS = {"]
    for method, terms in constants.items():
        body = ", ".join(f'"{n}": {v:.3g}' for n, v in terms.items())
        lines.append(f'    "{method}": {{{body}}},')
    lines.append("}")
    ratios = {m: np.quantile([sum(c * constants[m][n] for n, c in work[m].items())
                              / times[m] for _, work, times in results
                              if m in times], [0.1, 0.5, 0.9])
              for m in constants}
    quality = (f"{good} of {len(results)} cases; estimate / measured time, "
               "10th, 50th and 90th percentiles: "
               + ", ".join(f"{m} {lo:.2f} {mid:.2f} {hi:.2f}"
                           for m, (lo, mid, hi) in ratios.items()))
    if misses:
        quality += "; misses:\n\n" + "\n".join(f"- {m}" for m in misses)
    return "\n".join(lines), quality


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Time conv2d's methods against kernel size.")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed runs per case, best reported (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="2 timed runs per case (and a smaller grid)")
    parser.add_argument("--threads", type=int, default=2,
                        help="BLAS (and FFT) threads (default 2)")
    parser.add_argument("--calibrate", action="store_true",
                        help="fit the cost model's constants instead")
    parser.add_argument("--passes", type=int, default=3,
                        help="with --calibrate: passes over the grid, best "
                             "time of each case kept (default 3)")
    parser.add_argument("--output", metavar="FILE",
                        help="also append the report to FILE")
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (2 if args.quick else 5)
    if repeat < 1 or args.threads < 1 or args.passes < 1:
        parser.error("--repeat, --threads and --passes must be >= 1")
    import scipy
    from threadpoolctl import threadpool_limits

    clock = start_clock()
    with threadpool_limits(args.threads, user_api="blas"):
        info = (cpu_lines(f"scipy {scipy.__version__}") + blas_lines()
                + environment_lines() + [code_line()])
        if args.calibrate:
            table, quality = calibrate(repeat, args.quick, args.passes)
            failures = []
            title = "cost model constants for featurelab/ops/_conv.py"
            table = ("```python\n" + table + "\n```\n\nthe fitted model picks a "
                     f"method within 10 % of the fastest in {quality}")
        else:
            table, failures = kernel_size_table(repeat)
            title = (f"conv2d methods vs kernel size: x {X_SHAPE} float32, "
                     f"{N_KERNELS} rank-1 kernels, padding='same'")
    elapsed, noise = noise_line(clock)
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    report = "\n".join(
        [f"## {title}, {stamp}", ""] + info
        + [f"- {args.threads} BLAS threads; best of {repeat} runs after one "
           f"warm-up; benchmark wall time {elapsed:.0f} s", noise, "", table, ""])
    return emit(report, failures, args.output)


if __name__ == "__main__":
    sys.exit(main())
