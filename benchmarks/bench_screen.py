"""Screening benchmarks (issue 5): the default digits screen, an MNIST-1D screen.

Usage::

    python benchmarks/bench_screen.py [--results FILE] [--resume] [--n-jobs N]
                                      [--quick] [--output FILE]

Three measurements, printed as markdown on stdout (``--output FILE`` also
appends them to FILE):

(a) **Default digits screen.**  ``featurelab.spec.default_spec()`` -- the
    screen the README's first command (``featurelab screen``) runs: 12
    architectures x random/k-means kernels, ridge head, 3-fold CV on the 1797
    digits, 24 configurations -- run by :func:`featurelab.screen.screen` with
    ``results=None`` (nothing read or written), once with ``n_jobs=1`` (the
    CLI's default: one process, BLAS with all its threads) and once with
    ``n_jobs=2`` (two worker processes with one BLAS thread each).  Reported:
    wall time of each (target: under 60 s on 2 cores) and the best
    configuration.

(b) **MNIST-1D screen.**  ``examples/mnist1d.toml``: 24 architectures x
    random/k-means kernels, ridge head, seed 0, a stratified holdout of 25 %
    of the 4000 *training* signals (fit on 3000, score on 1000; the test
    signals are not loaded), with results in ``--results`` (default: a
    temporary file) and ``n_jobs=--n-jobs`` (default 2).  Reported: size, wall
    time, the spread of validation accuracies, the top 5, and the Spearman
    rank correlation (:func:`scipy.stats.spearmanr`, two-sided p-value from
    its t approximation) between the random-kernel and the k-means-kernel
    validation accuracy of the same architecture, rows matched on
    (architecture, head, seed), over the architectures where both succeeded.

(d) **Prefix cache.**  The screen of (b) again, with the same ``n_jobs``,
    without the prefix cache (``cache_memory=None``: every configuration
    computes all of its layers), and the grid of ``examples/digits.toml``
    (16 architectures, of which pairs differ only in their output) with and
    without the cache, ``n_jobs=1``.  Reported: the wall times, how many
    configurations share a layer prefix with another one, and whether the
    validation scores are identical (they must be).

(c) **Test accuracy of the screen's choice.**  The configuration with the
    best validation accuracy in (b) (any kernel source; ties go to the first
    in the spec's order) is rebuilt with :func:`featurelab.spec.build_network`
    and evaluated once with :func:`featurelab.evaluate.evaluate`: network,
    scaler and the same head fitted on all 4000 training signals, accuracy on
    the 1000 test signals (``cv=(X_test, y_test)``).  Target: >= 95 %.  This
    is the only place the test signals are used.

``--results FILE``: where (b) writes its rows.  An existing FILE is refused
unless ``--resume`` is given, which reuses its finished rows (the wall time
then covers only the configurations that were missing).  ``--quick``: the
quick default screen (8 configurations) and the first 8 MNIST-1D
architectures.  About 3-5 minutes on an idle 2-core machine; the machine
lines say how much CPU other processes used meanwhile.
"""

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

# Run from a checkout without installing: put the repository root first.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import bench_ops  # noqa: E402
from bench_ops import (  # noqa: E402
    blas_lines,
    code_line,
    cpu_lines,
    environment_lines,
    markdown_table,
    noise_line,
    record_target,
)

from featurelab.datasets import load_mnist1d  # noqa: E402
from featurelab.evaluate import evaluate  # noqa: E402
from featurelab.screen import screen  # noqa: E402
from featurelab.spec import build_network, default_spec, load_spec  # noqa: E402

MNIST1D_SPEC = Path(_ROOT) / "examples" / "mnist1d.toml"
DIGITS_SPEC = Path(_ROOT) / "examples" / "digits.toml"
QUICK_ARCHITECTURES = 8
CHEAP, LEARNED = "random", "kmeans"
MATCH = ["architecture", "head", "seed"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def _tree_seconds():
    """CPU seconds of this process and of all its descendants, live or
    reaped: the screen's worker processes (joblib/loky) are busy on our
    behalf, so they are not "other processes".  Linux /proc; else only this
    process and its reaped children."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    try:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        text = f.read()
                except OSError:
                    continue
                fields = text[text.rindex(")") + 2:].split()
                # fields[1] = ppid; fields[11:15] = utime stime cutime cstime
                stats[int(entry)] = (int(fields[1]), sum(map(int, fields[11:15])))
    except (OSError, ValueError, IndexError):
        return total
    tick = os.sysconf("SC_CLK_TCK")
    children = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    todo = list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        total += stats[pid][1] / tick
        todo.extend(children.get(pid, []))
    return total


def start_clock():
    """As bench_ops.start_clock, counting the screen's workers as ours."""
    return bench_ops.start_clock(_tree_seconds)


def pct(value):
    return f"{100 * value:.2f}"


# ------------------------------------------------------------ (a) digits
def run_default(quick, n_jobs):
    """Time the default digits screen; return (seconds, table, noise line)."""
    spec = default_spec(quick=quick)
    clock = start_clock()
    table = screen(spec, results=None, n_jobs=n_jobs, verbose=False)
    elapsed, noise = noise_line(clock)
    failed = int((table["status"] != "ok").sum())
    log(f"  default screen, n_jobs={n_jobs}: {len(table)} configurations, "
        f"{failed} failed, {elapsed:.1f} s")
    if not quick:
        record_target(f"default digits screen, n_jobs={n_jobs}", elapsed, 30.0,
                      "< 30 s", elapsed < 30.0, reference_name="target")
    return elapsed, table, noise


# ---------------------------------------------------------- (b) MNIST-1D
def mnist1d_spec(quick):
    spec = load_spec(MNIST1D_SPEC)
    if not quick:
        return spec
    raw = spec.to_dict()
    raw["architecture"] = raw["architecture"][:QUICK_ARCHITECTURES]
    return load_spec(raw)


def run_mnist1d(spec, results, resume, n_jobs, cache_memory="512MB"):
    clock = start_clock()
    table = screen(spec, results=results, n_jobs=n_jobs, resume=resume, verbose=False,
                   cache_memory=cache_memory)
    elapsed, noise = noise_line(clock)
    log(f"  MNIST-1D screen (cache_memory={cache_memory}): {len(table)} "
        f"configurations, {elapsed:.1f} s")
    return elapsed, table, noise


def same_scores(a, b):
    return list(a["key"]) == list(b["key"]) and all(
        list(x) == list(y) for x, y in zip(a["scores"], b["scores"]))


def short(noise):
    return noise.removeprefix("- CPU time used by other processes during the run: ")


def sharing(spec):
    """(configurations sharing at least their first layer with another,
    configurations sharing all layers with another)."""
    from collections import Counter

    from featurelab._prefix import prefix_keys

    keys = [prefix_keys(build_network(c)) for c in spec.configurations()]
    first = Counter(k[0] for k in keys)
    whole = Counter(k[-2] for k in keys)
    return (sum(first[k[0]] > 1 for k in keys), sum(whole[k[-2]] > 1 for k in keys))


def rank_correlation(table):
    """Spearman rho, p-value and the matched pairs (random vs k-means)."""
    from scipy.stats import spearmanr

    ok = table[table["status"] == "ok"]
    cheap = ok[ok["kernels"] == CHEAP][MATCH + ["accuracy"]]
    learned = ok[ok["kernels"] == LEARNED][MATCH + ["accuracy"]]
    pairs = cheap.merge(learned, on=MATCH, suffixes=("_random", "_kmeans"))
    result = spearmanr(pairs["accuracy_random"], pairs["accuracy_kmeans"])
    return float(result.statistic), float(result.pvalue), pairs


def cross_check(table, rho):
    """featurelab.report's own rank correlation of the same table, if any."""
    try:
        from featurelab.report import rank_correlation as report_rank_correlation
    except ImportError:
        return None
    result = report_rank_correlation(table[table["status"] == "ok"], cheap=CHEAP,
                                     learned=LEARNED)
    if result is None:
        return None
    agrees = "agrees" if abs(result.rho - rho) < 1e-12 else "DISAGREES"
    return f"featurelab.report.rank_correlation {agrees}: {result}"


# ---------------------------------------------------------- (c) test once
def best_row(table):
    ok = table[table["status"] == "ok"]
    # idxmax returns the first maximum: ties go to the first in spec order
    return ok.loc[ok["accuracy"].astype(float).idxmax()]


def retrain_and_test(row):
    X, y, X_test, y_test = load_mnist1d()
    config = {k: row[k] for k in ("architecture", "layers", "output", "kernels",
                                  "head", "seed")}
    network = build_network(config, input_shape=X.shape[1:])
    start = time.perf_counter()
    result = evaluate(network, X, y, head=row["head"], cv=(X_test, y_test),
                      random_state=int(row["seed"]))
    elapsed = time.perf_counter() - start
    log(f"  test accuracy of {row['architecture']} ({row['kernels']}): "
        f"{result.accuracy:.4f} [{elapsed:.1f} s]")
    return result, elapsed, len(X), len(X_test)


# ----------------------------------------------------------------- report
def describe_layers(layers, output):
    """'conv 64x5 same white → conv 1024x3 d2 same → adaptive 1 max'."""
    parts = []
    for layer in layers:
        p = dict(layer)
        if p.pop("type") == "pool":
            parts.append(f"{p.get('mode', 'max')} pool {p.get('size', 2)}")
            continue
        text = f"conv {p.pop('n_kernels', '?')}x{p.pop('size', 5)}"
        if "stride" in p:
            text += f" st{p.pop('stride')}"
        if "dilation" in p:
            text += f" d{p.pop('dilation')}"
        if "padding" in p:
            text += f" {p.pop('padding')}"
        if "nonlinearity" in p:
            text += f" {p.pop('nonlinearity')}"
        if p.pop("whiten", False):
            text += " ZCA"
        if "pool" in p:
            pool = p.pop("pool")
            text += f", {pool[0]} pool {pool[1]}" if isinstance(pool, list) else \
                f", pool {pool}"
        text += "".join(f" {k}={v}" for k, v in p.items())
        parts.append(text)
    parts.append(output if isinstance(output, str) else " ".join(map(str, output)))
    return " → ".join(parts)


def machine_info():
    import scipy
    import sklearn

    lines = cpu_lines(f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}")
    return lines + blas_lines() + environment_lines()


def report(default_runs, spec, m_elapsed, m_table, m_noise, resumed, rho, pvalue,
           pairs, check, best, test, test_elapsed, n_train, n_test, cache_runs):
    n_default = len(default_runs[0][2])
    lines = ["### (a) Default digits screen (`featurelab screen`)", ""]
    rows = []
    for n_jobs, elapsed, table, noise in default_runs:
        b = best_row(table)
        rows.append((n_jobs, len(table), int((table["status"] == "ok").sum()),
                     f"{elapsed:.1f}", "met" if elapsed < 60 else "NOT met",
                     f"{b['architecture']} / {b['kernels']}: {pct(b['accuracy'])}",
                     noise.removeprefix("- CPU time used by other processes during "
                                        "the run: ")))
    lines.append(markdown_table(
        ("n_jobs", "configurations", "ok", "wall s", "< 60 s", "best (3-fold CV acc %)",
         "CPU used by other processes"), rows))
    lines.append("")
    lines.append(f"Default screen, {n_default} configurations: "
                 + ", ".join(f"{e:.1f} s with n_jobs={j}" for j, e, _, _ in default_runs)
                 + ".")

    n_archs = len(spec.architectures)
    wins = int((pairs["accuracy_kmeans"] > pairs["accuracy_random"]).sum())
    diff = 100 * (pairs["accuracy_kmeans"] - pairs["accuracy_random"]).mean()
    best_rank = best_learned = None
    if len(pairs):
        ranked = pairs.sort_values("accuracy_random", ascending=False, kind="mergesort")
        best_learned = pairs.loc[pairs["accuracy_kmeans"].idxmax()]
        best_rank = list(ranked.index).index(best_learned.name) + 1
    ok = m_table[m_table["status"] == "ok"]
    acc = ok["accuracy"].astype(float)
    lines += ["", "### (b) MNIST-1D screen (`examples/mnist1d.toml`)", "",
              f"- {n_archs} architectures x {len(spec.kernels)} kernel sources "
              f"({', '.join(spec.kernels)}) x {len(spec.heads)} head(s) "
              f"({', '.join(spec.heads)}) x {len(spec.seeds)} seed(s) = "
              f"{len(m_table)} configurations; {len(ok)} ok, "
              f"{len(m_table) - len(ok)} failed",
              f"- protocol: stratified holdout {spec.holdout} of the 4000 training "
              f"signals (seed {spec.protocol_seed}): fit on "
              f"{round(4000 * (1 - spec.holdout))}, validate on "
              f"{round(4000 * spec.holdout)}; test signals unused",
              f"- wall time: {m_elapsed:.1f} s"
              + (" (resumed: only the configurations missing from the results "
                 "file were run)" if resumed else ""),
              m_noise,
              f"- validation accuracy: min {pct(acc.min())}, median "
              f"{pct(acc.median())}, max {pct(acc.max())} %",
              f"- **Spearman rank correlation, random vs k-means validation "
              f"accuracy across {len(pairs)} architectures: rho = {rho:.3f}, "
              f"p = {pvalue:.2g}** (scipy.stats.spearmanr; rows matched on "
              f"architecture/head/seed)",
              f"- k-means better than random in {wins} of {len(pairs)} "
              f"architectures; mean difference (k-means - random) {diff:+.2f} points"]
    if best_rank is not None:
        lines.append(f"- the best k-means architecture ({best_learned['architecture']}) "
                     f"ranks {best_rank} of {len(pairs)} by random-kernel accuracy")
    if check:
        lines.append(f"- {check}")
    lines += ["", "Top 5 by validation accuracy:", ""]
    top = ok.assign(acc=acc).sort_values("acc", ascending=False, kind="mergesort").head(5)
    rows = [(i + 1, r["architecture"], r["kernels"], r["head"],
             describe_layers(r["layers"], r["output"]), pct(r["accuracy"]),
             r["n_features"], f"{r['fit_time']:.2f}", f"{r['head_time']:.2f}")
            for i, (_, r) in enumerate(top.iterrows())]
    lines.append(markdown_table(("rank", "architecture", "kernels", "head", "layers → output",
                                 "val acc %", "features", "fit s", "head s"), rows))
    lines += ["", "All architectures, validation accuracy % (random / k-means):", ""]
    rows = [(r["architecture"], pct(r["accuracy_random"]), pct(r["accuracy_kmeans"]))
            for _, r in pairs.iterrows()]
    lines.append(markdown_table(("architecture", "random", "k-means"), rows))

    lines += ["", "### (d) Prefix cache: screens with and without it", ""]
    if not cache_runs:
        lines.append("- not measured (the screen of (b) was resumed)")
    rows = []
    for name, n_jobs, n_configs, (n_first, n_whole), cached_s, plain_s, same, noise \
            in cache_runs:
        rows.append((name, n_jobs, n_configs, n_first, n_whole, f"{cached_s:.1f}",
                     f"{plain_s:.1f}", f"{plain_s / cached_s:.2f}",
                     "yes" if same else "NO", noise))
    if rows:
        lines.append(markdown_table(
            ("screen", "n_jobs", "configurations", "share a first layer",
             "share all layers", "with cache s", "without s", "speed-up",
             "same scores", "CPU used by other processes"), rows))
        lines += ["", "\"share a first layer\" / \"share all layers\": configurations "
                  "with another configuration of the screen that has the same first "
                  "layer (parameters, kernel source, seed) / the same layers with "
                  "another output or head."]

    verdict = "met" if test.accuracy >= 0.95 else "NOT met"
    lines += ["", "### (c) The screen's best configuration, retrained, tested once", "",
              f"- selected on validation: {best['architecture']} with {best['kernels']} "
              f"kernels, head {best['head']}, seed {best['seed']} "
              f"({describe_layers(best['layers'], best['output'])}); validation "
              f"accuracy {pct(best['accuracy'])} %",
              f"- retrained on all {n_train} training signals (network without "
              f"labels, scaler and head), scored on the {n_test} test signals: "
              f"**test accuracy {pct(test.accuracy)} %** (target >= 95 %: {verdict}); "
              f"{test.n_features} features, fit {test.fit_time:.1f} s, head "
              f"{test.head_time:.1f} s, {test_elapsed:.1f} s in all"]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Time the default digits screen; screen MNIST-1D architectures, "
                    "correlate random vs k-means scores, test the best one once.")
    parser.add_argument("--results", metavar="FILE",
                        help="results file of the MNIST-1D screen (default: a "
                             "temporary file)")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the finished rows of an existing --results file")
    parser.add_argument("--n-jobs", type=int, default=2,
                        help="n_jobs of the MNIST-1D screen (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help="quick default screen, first 8 MNIST-1D architectures")
    parser.add_argument("--output", metavar="FILE", help="also append the report to FILE")
    args = parser.parse_args(argv)
    if args.results and os.path.exists(args.results) and not args.resume:
        parser.error(f"--results {args.results!r} exists: pass --resume to reuse its "
                     f"rows, or remove it")

    clock = start_clock()
    info = machine_info()
    log("(a) default digits screen")
    default_runs = []
    for n_jobs in (1, 2):
        elapsed, table, noise = run_default(args.quick, n_jobs)
        default_runs.append((n_jobs, elapsed, table, noise))

    log("(b) MNIST-1D screen")
    spec = mnist1d_spec(args.quick)
    with tempfile.TemporaryDirectory() as tmp:
        results = args.results or os.path.join(tmp, "mnist1d.jsonl")
        resumed = args.resume and os.path.exists(results)
        m_elapsed, m_table, m_noise = run_mnist1d(spec, results, args.resume,
                                                  args.n_jobs)
    rho, pvalue, pairs = rank_correlation(m_table)
    check = cross_check(m_table, rho)
    log(f"  Spearman rho = {rho:.3f}, p = {pvalue:.2g} ({len(pairs)} architectures)")

    cache_runs = []
    if not resumed:
        log("(d) screens without the prefix cache")
        plain_s, plain_table, plain_noise = run_mnist1d(spec, None, False, args.n_jobs,
                                                        None)
        cache_runs.append(("MNIST-1D (b)", args.n_jobs, len(m_table), sharing(spec),
                           m_elapsed, plain_s, same_scores(m_table, plain_table),
                           short(plain_noise)))
        digits = load_spec(DIGITS_SPEC)
        if args.quick:
            raw = digits.to_dict()
            raw["architecture"] = raw["architecture"][:QUICK_ARCHITECTURES]
            digits = load_spec(raw)
        timed = {}
        for cache_memory in ("512MB", None):
            run_clock = start_clock()
            table = screen(digits, results=None, verbose=False, cache_memory=cache_memory)
            elapsed, noise = noise_line(run_clock)
            log(f"  digits grid (cache_memory={cache_memory}): {elapsed:.1f} s")
            timed[cache_memory] = (elapsed, table, noise)
        (cached_s, cached, noise), (plain_s, plain, _) = timed["512MB"], timed[None]
        cache_runs.append(("examples/digits.toml", 1, len(cached), sharing(digits),
                           cached_s, plain_s, same_scores(cached, plain), short(noise)))

    log("(c) retrain the best configuration, test once")
    best = best_row(m_table)
    test, test_elapsed, n_train, n_test = retrain_and_test(best)

    elapsed, noise = noise_line(clock)
    today = datetime.date.today().isoformat()
    text = "\n".join([
        f"## Machine and run ({today}, bench_screen.py{' --quick' if args.quick else ''}, "
        f"{elapsed:.0f} s)",
        "",
        *info,
        code_line(("featurelab", "examples")),
        f"- MNIST-1D screen: n_jobs = {args.n_jobs}",
        noise,
        "",
        report(default_runs, spec, m_elapsed, m_table, m_noise, resumed, rho, pvalue,
               pairs, check, best, test, test_elapsed, n_train, n_test, cache_runs),
    ])
    print(text)
    if args.output:
        with open(args.output, "a") as f:
            f.write("\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
