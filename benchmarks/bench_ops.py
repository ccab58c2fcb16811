"""Time featurelab's convolution and pooling ops against PyTorch on the CPU.

Usage::

    python benchmarks/bench_ops.py [--repeat N] [--quick] [--output FILE]

Each case is first checked for agreement with PyTorch (``np.allclose`` with
``rtol=atol=1e-4`` for float32), then timed with ``time.perf_counter`` as the
best of ``N`` runs after one warm-up run (``N`` = 5 by default, 2 with
``--quick``).  Both libraries run in the same process on the same input
arrays (``torch.from_numpy`` shares the memory, and the conversion is outside
the timed region).

The cases are issue 8's: the four reference convolutions, a strided
(stride 2) and a dilated (dilation 2) one, and max / average pooling 2x2
and 3x3 with stride 2 on ``(256, 64, 32, 32)``; each row says its target
(ratio to torch; share of the GEMM peak for the two large convolutions)
and whether this run met it.

Reported per case: featurelab and torch wall time, their ratio
``featurelab / torch`` (lower is better for featurelab), and for the
convolutions the throughput ``2 * N * K * C * kh * kw * out_positions / time``
in GFLOP/s, also as a fraction of this machine's float32 GEMM peak, measured
in the same run as the best of several 2048 x 2048 ``numpy.matmul`` calls
(``torch.mm`` of the same matrices is shown for comparison).

The machine (CPU, cores, numpy/torch versions, numpy's BLAS kernel
architecture and threads as reported by threadpoolctl, torch threads, and the
``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` overrides if set) is printed
first, so that a table can be read against the setup that produced it.  A
second table times three ways to do 2x2 max pooling (the measurement behind
the design of ``featurelab.ops.pool2d``).

Output is markdown on stdout; ``--output FILE`` appends the same tables to
FILE.  PyTorch is imported only by this script (``pip install
featurelab[bench]``); without it the script exits with status 1.  The whole
run takes well under two minutes on a 2-core machine.

Compare ``OPENBLAS_CORETYPE`` settings by running the script twice, e.g.
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_ops.py``.
"""

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time

import numpy as np

# Run from a checkout without installing: put the repository root first.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from featurelab.ops import conv1d, conv2d, pool2d  # noqa: E402

RTOL = ATOL = 1e-4  # float32 agreement with torch
GEMM_SIZE = 2048


def best_time(fn, repeat=3):
    """Best wall time of ``repeat`` calls of ``fn``, after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _busy_seconds():
    """CPU-seconds all processes have spent busy since boot (Linux), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    # guest time is already counted in user time
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds():
    t = os.times()
    return t.user + t.system


def start_clock(own_seconds=None):
    """Wall time and CPU counters at the start of a run, for noise_line.
    ``own_seconds`` counts the CPU time that is ours (default: this process
    and its reaped children)."""
    own_seconds = own_seconds or _own_seconds
    return time.perf_counter(), _busy_seconds(), own_seconds(), own_seconds


def noise_line(clock):
    """(elapsed seconds, a line saying how much CPU other processes used)."""
    start, busy0, own0, own_seconds = clock
    elapsed = time.perf_counter() - start
    busy1, own1 = _busy_seconds(), own_seconds()
    if busy0 is None or busy1 is None:
        return elapsed, "- CPU time used by other processes: unknown (no /proc/stat)"
    other = max(0.0, (busy1 - busy0) - (own1 - own0))
    verdict = (" (NOISY: rerun on an idle machine)" if other > 0.05 * elapsed
               else " (machine was idle)")
    return elapsed, (f"- CPU time used by other processes during the run: "
                     f"{other:.1f} s over {elapsed:.0f} s wall{verdict}")


def blas_lines():
    """One line per BLAS/OpenMP library loaded (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["- BLAS: threadpoolctl not installed"]
    lines = []
    for info in threadpool_info():
        owner = os.path.basename(os.path.dirname(info["filepath"]))
        lines.append(f"- {info['user_api']} ({owner}): {info.get('internal_api')} "
                     f"{info.get('version')}"
                     + (f", architecture = {info['architecture']}"
                        if info.get("architecture") else "")
                     + f", threads = {info.get('num_threads')}")
    return lines


def record_target(case, featurelab, reference, target, passed, *, reference_name="",
                  gflops=None, peak=None, unit="s"):
    """Append one target row (a case against its reference) to the file named
    by ``$FEATURELAB_BENCH_TARGETS``; does nothing when it is not set.

    ``featurelab`` and ``reference`` are numbers in ``unit`` (seconds by
    default); ``target`` says what was asked (e.g. ``'ratio <= 0.8'``);
    ``passed`` is True, False or None (no target); ``gflops`` and ``peak``
    (a fraction of this machine's GEMM peak) are optional.
    """
    from featurelab.cli import TARGETS_ENV

    path = os.environ.get(TARGETS_ENV)
    if not path:
        return
    import json

    def number(value):           # NumPy scalars are not JSON serialisable
        return None if value is None else float(value)

    row = {"script": os.path.basename(sys.argv[0]), "case": case,
           "featurelab": number(featurelab), "reference": number(reference),
           "reference_name": reference_name, "unit": unit, "target": target,
           "passed": None if passed is None else bool(passed),
           "gflops": number(gflops), "peak": number(peak)}
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


def emit(report, failures, output=None):
    """Print ``report`` (with the correctness ``failures`` in bold), append
    it to ``output`` if given; return the exit status (2 on failures)."""
    if failures:
        report += "\n" + "\n".join("**" + f + "**" for f in failures) + "\n"
    print(report)
    if output:
        with open(output, "a") as f:
            f.write(report + "\n")
    return 2 if failures else 0


def code_line(paths=("featurelab",)):
    """The featurelab commit and whether ``paths`` have uncommitted edits."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        def git(*args):
            return subprocess.run(["git", "-C", root, *args], capture_output=True,
                                  text=True, check=True, timeout=10).stdout.rstrip()
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", *paths)
    except (OSError, subprocess.SubprocessError):
        return "- featurelab code: not a git checkout"
    where = " or ".join(f"{p}/" for p in paths)
    edits = (f"uncommitted changes in {', '.join(line[3:] for line in dirty.splitlines())}"
             if dirty else f"no uncommitted changes in {where}")
    return f"- featurelab code: commit {commit}, {edits}"


def cpu_lines(libraries):
    """CPU and core count, then Python and numpy versions plus ``libraries``."""
    affinity = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                else "?")
    return [
        f"- CPU: {cpu_model()} ({platform.machine()}), "
        f"os.cpu_count() = {os.cpu_count()}, usable cores = {affinity}",
        f"- Python {platform.python_version()}, numpy {np.__version__}, {libraries}",
    ]


def environment_lines():
    """The thread/kernel environment variables and the load average."""
    lines = []
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS"):
        lines.append(f"- {var} = {os.environ[var]!r}" if var in os.environ
                     else f"- {var}: not set")
    if hasattr(os, "getloadavg"):
        load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        lines.append(f"- load average at start (1, 5, 15 min): {load}")
    return lines


def machine_info(torch):
    """Lines describing the machine and the numerical libraries."""
    lines = cpu_lines(f"torch {torch.__version__}")
    try:
        from threadpoolctl import threadpool_info
        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        for info in blas:
            lines.append(
                f"- numpy BLAS: {info.get('internal_api')} {info.get('version')}, "
                f"architecture = {info.get('architecture')}, "
                f"threads = {info.get('num_threads')}"
                + (f", threading = {info['threading_layer']}"
                   if info.get("threading_layer") else "")
            )
        if not blas:
            lines.append("- numpy BLAS: not reported by threadpoolctl")
    except ImportError:
        lines.append("- numpy BLAS: threadpoolctl not installed")
    lines.append(
        f"- torch: get_num_threads() = {torch.get_num_threads()}, "
        f"mkldnn = {torch.backends.mkldnn.is_available()}, "
        f"mkl = {torch.backends.mkl.is_available()}"
    )
    return lines + environment_lines()


def gemm_peak(torch, repeat):
    """Best float32 GEMM GFLOP/s of numpy and torch on 2048 x 2048 matrices."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((GEMM_SIZE, GEMM_SIZE), dtype=np.float32)
    b = rng.standard_normal((GEMM_SIZE, GEMM_SIZE), dtype=np.float32)
    out = np.empty_like(a)
    flops = 2.0 * GEMM_SIZE ** 3
    t_np = best_time(lambda: np.matmul(a, b, out=out), repeat)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    tout = torch.empty_like(ta)
    t_torch = best_time(lambda: torch.mm(ta, tb, out=tout), repeat)
    return flops / t_np / 1e9, flops / t_torch / 1e9


def conv_flops(x_shape, k_shape, out_shape):
    n, c = x_shape[:2]
    k = k_shape[0]
    return 2.0 * n * k * c * np.prod(k_shape[2:]) * np.prod(out_shape[2:])


def build_cases(torch):
    """(name, target ratio, featurelab fn, torch fn, flops function or None)."""
    F = torch.nn.functional
    rng = np.random.default_rng(1234)

    def arr(shape):
        return rng.standard_normal(shape, dtype=np.float32)

    cases = []

    def add_conv(label, target, x_shape, k_shape, padding, dim, peak=None, **kw):
        x, k = arr(x_shape), arr(k_shape)
        tx, tk = torch.from_numpy(x), torch.from_numpy(k)
        fl_op, t_op = (conv2d, F.conv2d) if dim == 2 else (conv1d, F.conv1d)
        extra = "".join(f" {key} {value}" for key, value in kw.items())
        shape = f"conv{dim}d {x_shape}*{k_shape} {padding}{extra}"
        cases.append(dict(
            label=label, shape=shape, target=target, peak=peak,
            fl=lambda: fl_op(x, k, padding=padding, **kw),
            torch=lambda: t_op(tx, tk, padding=padding, **kw),
            flops=lambda out: conv_flops(x_shape, k_shape, out.shape),
        ))

    # issue 8's reference shapes: ratio <= 0.8, and >= 75 % of the GEMM
    # peak for the two large ones
    add_conv("1", 0.8, (256, 3, 32, 32), (1600, 3, 6, 6), "valid", 2, peak=0.75)
    add_conv("2", 0.8, (64, 64, 16, 16), (128, 64, 3, 3), "same", 2, peak=0.75)
    add_conv("3", 0.8, (1797, 1, 8, 8), (128, 1, 3, 3), "valid", 2)
    add_conv("4", 0.8, (4000, 1, 40), (128, 1, 7), "same", 1)
    add_conv("5", 0.8, (128, 32, 32, 32), (64, 32, 3, 3), 1, 2, stride=2)
    add_conv("6", 0.8, (64, 32, 32, 32), (64, 32, 3, 3), 2, 2, dilation=2)

    x = arr((256, 64, 32, 32))
    tx = torch.from_numpy(x)
    for label, mode, size, t_op in (("7", "max", 2, F.max_pool2d),
                                    ("8", "max", 3, F.max_pool2d),
                                    ("9", "avg", 2, F.avg_pool2d),
                                    ("10", "avg", 3, F.avg_pool2d)):
        cases.append(dict(
            label=label, shape=f"{mode} pool {size}x{size} s2 {x.shape}", target=1.0,
            peak=None,
            fl=lambda mode=mode, size=size: pool2d(x, size, stride=2, mode=mode),
            torch=lambda t_op=t_op, size=size: t_op(tx, size, 2), flops=None,
        ))
    return cases, x


def run_cases(torch, cases, repeat, peak):
    rows, failures = [], []
    for case in cases:
        with torch.no_grad():
            ref = case["torch"]().numpy()
        got = np.asarray(case["fl"]())
        ok = got.shape == ref.shape and np.allclose(got, ref, rtol=RTOL, atol=ATOL)
        if not ok:
            diff = (np.abs(got - ref).max() if got.shape == ref.shape
                    else f"shape {got.shape} != {ref.shape}")
            failures.append(f"case {case['label']} ({case['shape']}): "
                            f"featurelab != torch (max abs diff {diff})")
        t_fl = best_time(case["fl"], repeat)
        with torch.no_grad():
            t_torch = best_time(case["torch"], repeat)
        ratio = t_fl / t_torch
        if case["flops"] is not None:
            flops = case["flops"](got)
            gf_fl, gf_torch = flops / t_fl / 1e9, flops / t_torch / 1e9
            gf = f"{gf_fl:.1f}"
            pct = f"{100 * gf_fl / peak:.0f}%"
            gft = f"{gf_torch:.1f}"
        else:
            gf = pct = gft = "-"
        goals, met = [], []
        if case["target"] is not None:
            goals.append(f"ratio <= {case['target']:.1f}")
            met.append(ratio <= case["target"])
        if case["peak"] is not None:
            goals.append(f">= {100 * case['peak']:.0f}% peak")
            met.append(gf_fl >= case["peak"] * peak)
        target = ", ".join(goals) or "-"
        verdict = "-" if not met else ("pass" if all(met) else "FAIL")
        check = "ok" if ok else "MISMATCH"
        record_target(case["shape"], t_fl, t_torch, target,
                      None if not met else all(met), reference_name="torch",
                      gflops=None if case["flops"] is None else gf_fl,
                      peak=None if case["flops"] is None else gf_fl / peak)
        rows.append((case["label"], case["shape"], f"{t_fl * 1e3:.2f}",
                     f"{t_torch * 1e3:.2f}", f"{ratio:.2f}", gf, pct, gft, target,
                     verdict, check))
        print(f"  case {case['label']} done: {case['shape']}", file=sys.stderr)
    header = ("#", "case", "featurelab ms", "torch ms", "ratio fl/torch",
              "featurelab GF/s", "% numpy GEMM peak", "torch GF/s", "target",
              "pass/fail", "allclose")
    return markdown_table(header, rows), failures


def pool_design_table(x, repeat):
    """Three (plus one) ways to do 2x2 / stride 2 max pooling of ``x``."""
    n, c, h, w = x.shape

    def reshape_reduce():
        return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))

    def four_offsets():
        out = np.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2])
        np.maximum(out, x[:, :, 1::2, 0::2], out=out)
        np.maximum(out, x[:, :, 1::2, 1::2], out=out)
        return out

    def separable_no_copy():
        rows = np.maximum(x[:, :, 0::2], x[:, :, 1::2])
        return np.maximum(rows[..., 0::2], rows[..., 1::2])

    variants = [
        ("(a) reshape-and-reduce `x.reshape(N,C,H/2,2,W/2,2).max(axis=(3,5))`",
         reshape_reduce),
        ("(b) `np.maximum` over the four strided 2-D offsets", four_offsets),
        ("(c) `featurelab.ops.pool2d(x, 2)` (windows of <= 4 taps: running "
         "maximum over all offsets at once, as (b))",
         lambda: pool2d(x, 2)),
        ("(d) separable: rows, then columns of the row maxima",
         separable_no_copy),
    ]
    ref = pool2d(x, 2)
    rows = []
    for name, fn in variants:
        assert np.array_equal(fn(), ref), name
        t = best_time(fn, repeat)
        rows.append((name, f"{t * 1e3:.2f}"))
    base = float(rows[2][1])
    rows = [(name, ms, f"{float(ms) / base:.2f}") for name, ms in rows]
    return markdown_table(("max pool 2x2 s2 on " + str(x.shape), "ms",
                           "time / (c)"), rows)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Time featurelab conv/pool ops against PyTorch CPU.")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed runs per case, best reported (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="2 timed runs per case instead of 5")
    parser.add_argument("--output", metavar="FILE",
                        help="also append the tables to FILE")
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (2 if args.quick else 5)
    if repeat < 1:
        parser.error("--repeat must be >= 1")

    try:
        import torch
    except ImportError:
        print("bench_ops.py needs PyTorch as the reference implementation: "
              "pip install torch (CPU build is enough), or "
              "pip install 'featurelab[bench]'.", file=sys.stderr)
        return 1

    clock = start_clock()
    info = machine_info(torch)
    peak_np, peak_torch = gemm_peak(torch, max(repeat, 5))
    gemm = (f"- float32 GEMM {GEMM_SIZE}x{GEMM_SIZE} (best of {max(repeat, 5)}): "
            f"numpy {peak_np:.1f} GF/s, torch.mm {peak_torch:.1f} GF/s")
    cases, pool_input = build_cases(torch)
    table, failures = run_cases(torch, cases, repeat, peak_np)
    design = pool_design_table(pool_input, repeat)
    elapsed, noise = noise_line(clock)

    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    report = "\n".join(
        [f"## featurelab vs torch CPU, {stamp}", ""]
        + info + [gemm, f"- best of {repeat} runs after one warm-up; "
                  f"benchmark wall time {elapsed:.0f} s", noise, "", table, "",
                  "### 2x2 max pooling variants", "", design, ""]
    )
    return emit(report, failures, args.output)


if __name__ == "__main__":
    sys.exit(main())
