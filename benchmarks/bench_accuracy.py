"""Accuracy of unsupervised featurelab networks with a linear head (issue 4).

Usage::

    python benchmarks/bench_accuracy.py [--seeds N] [--quick] [--output FILE]

"Last layer only": every network below is fitted without labels
(``FeatureNetwork.fit(X)``: random kernels are drawn, learned kernels and
whitening are fitted on unlabelled patches); only a scikit-learn classifier
("head") is trained on its features, after a ``StandardScaler`` fitted on the
training features.  Candidates are a handful of configurations chosen during
an exploration described in ``benchmarks/RESULTS.md``; this script does not
repeat the exploration.

**MNIST-1D** (``featurelab.datasets.load_mnist1d``: 4000 training and 1000
test signals of length 40, generated locally).  Protocol:

1. Validation: for each candidate, each seed (``FeatureNetwork(...,
   random_state=seed)``, seeds ``0 .. N-1``, default N = 3) and each of its
   heads, the network is fitted on the first 3000 training signals, the
   scaler and head on their features, and accuracy is measured on the last
   1000 training signals.  The test set is not touched.
2. Selection: each candidate's head is the one with the best mean validation
   accuracy over the seeds.  The headline network is the candidate of the
   group "random 2-layer" (``kernels='random'`` in both layers) with the best
   mean validation accuracy; the best candidate that uses no data at all
   (no whitening) is reported too.
3. Test: every candidate is refitted with its chosen head on all 4000
   training signals (network, scaler and head; same seeds) and scored once
   per seed on the 1000 test signals with :func:`featurelab.evaluate`
   (``cv=(X_test, y_test)``).  Test accuracies are mean +- std over the
   seeds; they played no part in any choice.

Heads: ``'ridge'`` = ``RidgeClassifierCV(alphas=np.logspace(-2, 4, 7))``
(its alpha is chosen by efficient leave-one-out on the training features
only), ``'logistic'`` = ``LogisticRegression(C=1.0, max_iter=2000)``,
``'linear_svc'`` = ``LinearSVC(C=0.01, max_iter=5000)``.  The random 2-layer
candidates are validated with all three; the other rows with ridge only
(heads were within validation noise of each other in the exploration, and
ridge is the cheapest).

**scikit-learn digits** (``load_digits_images``: 1797 images of 8x8):
5-fold ``StratifiedKFold(shuffle=True, random_state=0)`` with
:func:`featurelab.evaluate` (network, scaler and head fitted on the
training folds only), head ``LogisticRegression(C=0.1, max_iter=2000)`` for
every row, network ``random_state=0``.  Accuracy is mean +- std over the
folds.  The digits configurations were picked while looking at this same
cross-validation, so the best row is optimistic by the selection (there is
no separate test set); every row is printed.

Reported per row: architecture, kernel sources, head, feature dimension,
validation accuracy (MNIST-1D), test accuracy or CV accuracy, and per fit
(means over seeds or folds): "fit s" = network fit + transform of the
training samples, "head s" = scaler + head fit, "transform s" = transform of
the test samples (1000 signals; one fold of 359-360 digits).  Times are wall
clock on whatever else the machine is running; the last line of the machine
description says how much CPU other processes took meanwhile.

Output is markdown on stdout; ``--output FILE`` appends it to FILE.
``--quick`` uses one seed.  About 3-4 minutes with 3 seeds on an idle
2-core machine.
"""

import argparse
import datetime
import importlib.metadata
import os
import sys
import time
import warnings

import numpy as np

# Run from a checkout without installing: put the repository root first.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bench_ops import (  # noqa: E402
    blas_lines,
    code_line,
    cpu_lines,
    environment_lines,
    markdown_table,
    noise_line,
    start_clock,
)
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression, RidgeClassifierCV  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, StandardScaler  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from featurelab.datasets import load_digits_images, load_mnist1d  # noqa: E402
from featurelab.evaluate import evaluate  # noqa: E402
from featurelab.layers import ConvLayer  # noqa: E402
from featurelab.network import FeatureNetwork  # noqa: E402

N_FIT = 3000  # MNIST-1D: first N_FIT training signals fit, the rest validate

HEADS = {
    "ridge": RidgeClassifierCV(alphas=np.logspace(-2, 4, 7)),
    "logistic": LogisticRegression(C=1.0, max_iter=2000),
    "linear_svc": LinearSVC(C=0.01, max_iter=5000),
}
DIGITS_HEAD = ("logistic C=0.1", LogisticRegression(C=0.1, max_iter=2000))
ALL_HEADS = tuple(HEADS)
RANDOM_2L = "random 2-layer"
ZM = {"zero_mean": True}  # random kernels with zero mean (layer 2)


def flatten(X):
    """Raw samples as rows (the reference transformer)."""
    return X.reshape(len(X), -1)


class Candidate:
    """One row: a network (or the raw input) and how it is evaluated."""

    def __init__(self, name, layers, output="flatten", *, group="", heads=("ridge",)):
        self.name, self.layers, self.output = name, layers, output
        self.group, self.heads = group, heads

    def transformer(self, seed):
        if self.layers is None:
            return FunctionTransformer(flatten)
        return FeatureNetwork([clone(layer) for layer in self.layers],
                              output=self.output, random_state=seed)

    @property
    def data_free(self):
        """True when fitting the network looks at no data at all."""
        if self.layers is None:
            return False
        for layer in self.layers:
            p = layer.get_params()
            if p["kernels"] in ("kmeans", "pca", "patches") or p["whiten"] \
                    or p["normalize"] == "patch":
                return False
        return True

    def architecture(self, input_shape):
        """'64x5 same relu → 1024x3 d2 same relu → adaptive 1 max' for
        samples of ``input_shape`` (which gives the size of kernel banks)."""
        if self.layers is None:
            return "raw input"
        parts, shape = [], tuple(input_shape)
        for layer in self.layers:
            parts.append(describe_layer(layer, shape))
            shape = layer.output_shape(shape)
        out = self.output
        parts.append("flatten" if out == "flatten" else " ".join(map(str, out)))
        return " → ".join(parts)


def describe_layer(layer, input_shape):
    """Compact text of a ConvLayer: '1024x3 d2 same relu, max pool 2'."""
    p = layer.get_params()
    n_out = layer.output_shape(input_shape)[0]
    if p["nonlinearity"] == "split_sign":
        n_out //= 2
    text = f"{n_out}x{p['size']}"
    if p["dilation"] != 1:
        text += f" d{p['dilation']}"
    if p["padding"] != "valid":
        text += f" {p['padding']}"
    text += f" {p['nonlinearity'] or 'identity'}"
    if p["pool"] is not None:
        text += f", {p['pool'][0]} pool {p['pool'][1]}"
    return text


def kernel_label(layers):
    if layers is None:
        return "-"
    labels = []
    for layer in layers:
        p = layer.get_params()
        label = {"kmeans": "k-means", "pca": "PCA"}.get(p["kernels"], p["kernels"])
        if p["kernels"] == "random" and (p["kernel_params"] or {}).get("zero_mean"):
            label += " (zero-mean)"
        extras = [e for e, on in (("patch-norm", p["normalize"] == "patch"),
                                  ("ZCA", p["whiten"])) if on]
        labels.append(label + (" on " + "+".join(extras) + " patches" if extras else ""))
    return " / ".join(labels)


def mnist1d_candidates():
    C = ConvLayer
    l1 = C(64, 5, padding="same")
    l1_zca = C(64, 5, padding="same", whiten=True)

    def l2(n):
        return C(n, 3, padding="same", dilation=2, kernel_params=ZM)

    return [
        Candidate("logistic regression on raw signals", None, heads=("logistic",)),
        Candidate("random, 1 layer", [C(1024, 9, padding="same")],
                  ("adaptive", 1, "max")),
        Candidate("random 2L, brief's starting point",
                  [l1, C(256, 3, padding="same", dilation=2, pool=("max", 2))],
                  ("adaptive", 2, "max"), group=RANDOM_2L, heads=ALL_HEADS),
        Candidate("random 2L, 1024 global max", [l1, l2(1024)], ("adaptive", 1, "max"),
                  group=RANDOM_2L, heads=ALL_HEADS),
        Candidate("random 2L, ZCA L1, 1024", [l1_zca, l2(1024)], ("adaptive", 1, "max"),
                  group=RANDOM_2L, heads=ALL_HEADS),
        Candidate("random 2L, ZCA L1, 2048", [l1_zca, l2(2048)], ("adaptive", 1, "max"),
                  group=RANDOM_2L, heads=ALL_HEADS),
        Candidate("random, 3 layers",
                  [l1, C(128, 3, padding="same", kernel_params=ZM), l2(1024)],
                  ("adaptive", 1, "max")),
        Candidate("k-means L1 (triangle)",
                  [C(64, 5, padding="same", kernels="kmeans", whiten=True,
                     nonlinearity="triangle"), l2(1024)],
                  ("adaptive", 1, "max")),
        Candidate("k-means both layers",
                  [C(64, 5, padding="same", kernels="kmeans", whiten=True),
                   C(1024, 3, padding="same", dilation=2, kernels="kmeans", whiten=True)],
                  ("adaptive", 1, "max")),
        Candidate("PCA L1 (PCANet-style)",
                  [C(4, 5, padding="same", kernels="pca", nonlinearity="split_sign"),
                   l2(1024)],
                  ("adaptive", 1, "max")),
    ]


def digits_candidates():
    C = ConvLayer
    return [
        Candidate("logistic regression on raw pixels", None),
        Candidate("random, 1 layer", [C(32, 3, padding="same", pool=("max", 2))]),
        Candidate("random, 2 layers",
                  [C(64, 3, padding="same", pool=("max", 2)),
                   C(256, 3, padding="same", kernel_params=ZM)],
                  ("adaptive", 2, "max")),
        Candidate("gabor", [C(None, 5, kernels="gabor", padding="same",
                              nonlinearity="abs", pool=("max", 2))]),
        Candidate("gabor + random",
                  [C(None, 5, kernels="gabor", padding="same", nonlinearity="abs",
                     pool=("max", 2)),
                   C(256, 3, padding="same", kernel_params=ZM)],
                  ("adaptive", 2, "max")),
        Candidate("k-means (Coates)",
                  [C(128, 3, kernels="kmeans", normalize="patch", whiten=True,
                     nonlinearity="triangle", pool=("avg", 2))]),
    ]


# ---------------------------------------------------------------- MNIST-1D

def validation_scores(cand, seed, X_fit, y_fit, X_val, y_val):
    """Validation accuracy of every head of ``cand`` for one seed.

    The protocol of :func:`featurelab.evaluate` (network fitted on the fit
    split without labels, scaler and head on its features), with the
    features computed once for all heads.
    """
    net = cand.transformer(seed).fit(X_fit)
    F_fit, F_val = net.transform(X_fit), net.transform(X_val)
    scaler = StandardScaler().fit(F_fit)
    F_fit, F_val = scaler.transform(F_fit), scaler.transform(F_val)
    return {h: accuracy_score(y_val, clone(HEADS[h]).fit(F_fit, y_fit).predict(F_val))
            for h in cand.heads}


def run_mnist1d(seeds, log):
    X, y, X_test, y_test = load_mnist1d()
    X_fit, y_fit, X_val, y_val = X[:N_FIT], y[:N_FIT], X[N_FIT:], y[N_FIT:]
    results = []
    for cand in mnist1d_candidates():
        start = time.perf_counter()
        val = {h: [] for h in cand.heads}
        for seed in seeds:
            for h, acc in validation_scores(cand, seed, X_fit, y_fit, X_val, y_val).items():
                val[h].append(acc)
        # ties go to the first head listed (ridge, the cheapest)
        head = max(cand.heads, key=lambda h: np.mean(val[h]))
        tests = [evaluate(cand.transformer(seed), X, y, head=HEADS[head],
                          cv=(X_test, y_test)) for seed in seeds]
        results.append({"cand": cand, "val": val, "head": head, "tests": tests})
        log(f"  MNIST-1D {cand.name}: val {np.mean(val[head]):.4f} ({head}), test "
            f"{np.mean([t.accuracy for t in tests]):.4f} "
            f"[{time.perf_counter() - start:.0f} s]")
    return results


# ------------------------------------------------------------------ digits

def run_digits(log):
    X, y = load_digits_images()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    results = []
    for cand in digits_candidates():
        start = time.perf_counter()
        result = evaluate(cand.transformer(0), X, y, head=DIGITS_HEAD[1], cv=cv)
        results.append({"cand": cand, "result": result})
        log(f"  digits {cand.name}: {result.accuracy:.4f} "
            f"[{time.perf_counter() - start:.0f} s]")
    return results


# ----------------------------------------------------------------- report

def pct(values):
    values = np.asarray(values, dtype=float) * 100
    return f"{values.mean():.2f} ± {values.std():.2f}"


def secs(values):
    return f"{np.mean(values):.2f}"


def _plural(n, word):
    return f"{n} {word}{'s' if n != 1 else ''}"


def report(mnist, digits, seeds):
    n = len(seeds)
    seeds_text = _plural(n, "seed")
    selectable = [r for r in mnist if r["cand"].group == RANDOM_2L]
    best = max(selectable, key=lambda r: np.mean(r["val"][r["head"]]))
    free = [r for r in selectable if r["cand"].data_free]
    best_free = max(free, key=lambda r: np.mean(r["val"][r["head"]]))

    header = ("dataset", "architecture", "kernels (per layer)", "head", "features",
              f"val acc % ({seeds_text})", "test acc % / CV acc %", "fit s",
              "head s", "transform s")
    rows = []
    for r in mnist:
        cand, tests = r["cand"], r["tests"]
        mark = (" **(selected)**" if r is best else
                " *(best data-free)*" if r is best_free else "")
        rows.append((
            "MNIST-1D", f"{cand.name}{mark}: {cand.architecture((1, 40))}",
            kernel_label(cand.layers), r["head"], tests[0].n_features,
            pct(r["val"][r["head"]]),
            f"{pct([t.accuracy for t in tests])} (test, {seeds_text})",
            secs([t.fit_time for t in tests]), secs([t.head_time for t in tests]),
            secs([t.transform_time for t in tests])))
    for r in digits:
        cand, res = r["cand"], r["result"]
        rows.append((
            "digits", f"{cand.name}: {cand.architecture((1, 8, 8))}", kernel_label(cand.layers),
            DIGITS_HEAD[0], res.n_features, "-",
            f"{res.accuracy * 100:.2f} ± {res.accuracy_std * 100:.2f} (5-fold CV)",
            f"{res.fit_time:.2f}", f"{res.head_time:.2f}", f"{res.transform_time:.2f}"))

    head_rows = [(r["cand"].name, *(pct(r["val"][h]) if h in r["val"] else "-"
                                    for h in ALL_HEADS), r["head"])
                 for r in selectable]
    best_test = [t.accuracy for t in best["tests"]]
    free_test = [t.accuracy for t in best_free["tests"]]
    per_seed = ", ".join(f"{a * 100:.1f}" for a in best_test)
    best_digits = max(digits[1:], key=lambda r: r["result"].accuracy)
    digits_acc = best_digits["result"].accuracy
    raw_digits = digits[0]["result"].accuracy

    def verdict(value, goal):
        return "met" if value >= goal else "NOT met"

    head_intro = (
        f"MNIST-1D validation accuracy % of the {RANDOM_2L} candidates by head "
        f"(mean ± std over {seeds_text}; fit on the first {N_FIT} training "
        f"signals, scored on the last {4000 - N_FIT}):")
    headline = (
        f"- MNIST-1D headline ({RANDOM_2L}, selected on validation): "
        f"{best['cand'].name}, head {best['head']}: test accuracy "
        f"{pct(best_test)} % over {seeds_text} (per seed: {per_seed}); "
        f"target >= 90 %: {verdict(np.mean(best_test), 0.90)}, aim >= 95 %: "
        f"{verdict(np.mean(best_test), 0.95)}.")
    data_free = (
        f"- MNIST-1D best data-free {RANDOM_2L} candidate by validation (no "
        f"whitening: kernels drawn without looking at any data): "
        f"{best_free['cand'].name}, head {best_free['head']}: test accuracy "
        f"{pct(free_test)} %.")
    digits_line = (
        f"- digits best row: {best_digits['cand'].name}: {digits_acc * 100:.2f} ± "
        f"{best_digits['result'].accuracy_std * 100:.2f} % (5-fold CV; target "
        f">= 98 %: {verdict(digits_acc, 0.98)}); raw-pixel reference "
        f"{raw_digits * 100:.2f} %.")
    return "\n".join([markdown_table(header, rows), "", head_intro, "",
                      markdown_table(("candidate", *ALL_HEADS, "chosen"), head_rows),
                      "", headline, data_free, digits_line])


def machine_info():
    import scipy
    import sklearn

    lines = cpu_lines(f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}")
    try:
        lines.append(f"- mnist1d {importlib.metadata.version('mnist1d')}")
    except importlib.metadata.PackageNotFoundError:
        lines.append("- mnist1d: version unknown")
    return lines + blas_lines() + [code_line()] + environment_lines()


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Last-layer-only accuracy of featurelab networks on "
                    "MNIST-1D and the scikit-learn digits.")
    parser.add_argument("--seeds", type=int, default=None,
                        help="network seeds 0..N-1 for MNIST-1D (default 3)")
    parser.add_argument("--quick", action="store_true", help="one seed")
    parser.add_argument("--output", metavar="FILE",
                        help="also append the report to FILE")
    args = parser.parse_args(argv)
    n_seeds = args.seeds if args.seeds is not None else (1 if args.quick else 3)
    if n_seeds < 1:
        parser.error("--seeds must be >= 1")
    seeds = list(range(n_seeds))

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    clock = start_clock()
    info = machine_info()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        mnist = run_mnist1d(seeds, log)
        digits = run_digits(log)
    n_conv = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    for w in caught:  # show any other warning as usual
        if not issubclass(w.category, ConvergenceWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    elapsed, noise = noise_line(clock)
    info.append(noise)
    info.append(f"- ConvergenceWarnings from the heads: {n_conv}")
    today = datetime.date.today().isoformat()
    text = "\n".join([
        f"## Machine and run ({today}, bench_accuracy.py, {elapsed:.0f} s)",
        "",
        *info,
        "",
        report(mnist, digits, seeds),
    ])
    print(text)
    if args.output:
        with open(args.output, "a") as f:
            f.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
