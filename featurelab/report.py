"""Ranking report of a screen: ranked table, Pareto front, rank correlation.

:func:`summarize` reads the table of :func:`featurelab.screen.screen` (or a
results file) and returns a :class:`Summary`:

* ``table``: the scored configurations, best first, with a ``rank`` and a
  ``cost`` (seconds per fold: network fit + transform + head);
* ``failed``: the configurations that raised;
* ``pareto``: the configurations that no other one beats on both accuracy
  and cost;
* ``rank_correlation``: the Spearman rank correlation between the accuracy of
  the same architectures with cheap (random) and with learned kernels
  (:class:`RankCorrelation`).  Saxe et al. (2011), "On random weights and
  unsupervised feature learning", found that random weights rank
  architectures much as trained ones do; this number checks it on your data,
  and says whether a screen with random kernels alone can be trusted.
"""

import dataclasses
import math
import os
import warnings

import numpy as np

__all__ = ["LEARNED_SOURCES", "RankCorrelation", "Summary", "format_table",
           "pareto_front", "rank_correlation", "summarize"]

#: Kernel sources learned from the data, candidates for ``learned=``, in the
#: order that breaks ties between equally matched sources.
LEARNED_SOURCES = ("kmeans", "pca")

#: Columns a results table must have.
REQUIRED_COLUMNS = ("architecture", "kernels", "head", "seed", "status", "accuracy",
                    "fit_time", "transform_time", "head_time")

_COST_PARTS = ("fit_time", "transform_time", "head_time")


@dataclasses.dataclass(frozen=True)
class RankCorrelation:
    """Spearman rank correlation of cheap vs learned-kernel accuracies.

    One point per (architecture, head) that was scored with both kernel
    sources on the same seeds; each coordinate is the mean accuracy over
    those seeds.

    Attributes
    ----------
    rho : float
        :func:`scipy.stats.spearmanr` statistic (NaN when one side is
        constant).
    pvalue : float
        Its two-sided p-value (null hypothesis: no association).  For
        ``n <= 8`` it is exact: the fraction of the ``n!`` pairings of the
        two sides whose ``|rho|`` is at least the observed one (with 3
        architectures, a perfect ranking has p = 1/3); above, that of
        :func:`scipy.stats.spearmanr` (t-distribution approximation, which
        for a handful of points is far too small: 0 for any perfect
        ranking).
    n : int
        Number of matched points (architectures, or architecture/head pairs
        when the screen has several heads).
    cheap, learned : str
        The two kernel sources compared.
    pairs : pandas.DataFrame
        The matched points: ``architecture``, ``head``, ``cheap`` and
        ``learned`` (mean accuracies), ``n_seeds``; sorted by ``learned``
        accuracy, best first.

    Examples
    --------
    >>> import pandas as pd
    >>> from featurelab.report import RankCorrelation
    >>> pairs = pd.DataFrame({"architecture": ["a", "b", "c"], "head": "ridge",
    ...                       "cheap": [0.8, 0.9, 0.7], "learned": [0.85, 0.95, 0.8],
    ...                       "n_seeds": 1})
    >>> print(RankCorrelation(1.0, 1 / 3, 3, "random", "kmeans", pairs))
    Spearman rank correlation random vs kmeans across 3 architectures: rho = 1.00 (p = 0.33)
    """

    rho: float
    pvalue: float
    n: int
    cheap: str
    learned: str
    pairs: object = dataclasses.field(default=None, repr=False, compare=False)

    def __str__(self):
        what = "architectures"
        if self.pairs is not None and self.pairs["head"].nunique() > 1:
            what = "architecture/head pairs"
        return (f"Spearman rank correlation {self.cheap} vs {self.learned} across "
                f"{self.n} {what}: rho = {self.rho:.2f} (p = {self.pvalue:.2g})")


@dataclasses.dataclass
class Summary:
    """The ranking report of a screen (see :func:`summarize`).

    Attributes
    ----------
    table : pandas.DataFrame
        The configurations with ``status == 'ok'``, sorted by accuracy
        (best first), then by fit time (fastest first); ``rank`` (1, 2, ...)
        is the first column and ``cost`` (fit + transform + head seconds per
        fold) follows ``head_time``.  Index 0, 1, ...
    failed : pandas.DataFrame
        The configurations that raised (``status != 'ok'``), with their
        ``error``.
    pareto : pandas.DataFrame
        The rows of ``table`` on the Pareto front of accuracy (higher is
        better) vs cost (lower is better), cheapest first.
    rank_correlation : RankCorrelation or None
        None when fewer than 3 architectures were scored with both the
        cheap and a learned kernel source.
    """

    table: object
    failed: object
    pareto: object
    rank_correlation: RankCorrelation | None

    @property
    def best(self):
        """The best configuration (row of ``table`` with rank 1), a dict.

        Raises ``ValueError`` when no configuration was scored.
        """
        if self.table.empty:
            raise ValueError("summary.table is empty: no configuration was scored "
                             f"({len(self.failed)} failed).")
        return self.table.iloc[0].to_dict()

    def correlation_line(self):
        """One line: the rank correlation, or why there is none."""
        if self.rank_correlation is not None:
            return str(self.rank_correlation)
        return ("Spearman rank correlation random vs learned kernels: not computed "
                "(needs ok scores of the same architecture, head and seed with "
                "random and with learned kernels, for at least 3 architectures).")

    def to_string(self, top=10):
        """The report as text: top of the table, Pareto front, correlation.

        Parameters
        ----------
        top : int or None, default=10
            Rows of the table shown (None: all).

        Returns
        -------
        text : str
        """
        if top is not None:
            top = _check_top(top)
        n_ok, n_failed = len(self.table), len(self.failed)
        lines = [f"{n_ok + n_failed} configurations: {n_ok} scored, {n_failed} failed",
                 ""]
        if n_ok:
            lines.append(format_table(self.table, top=top))
            if top is not None and n_ok > top:
                lines.append(f"... {n_ok - top} more")
        for row in self.failed.itertuples():
            lines.append(f"failed: {row.architecture} / {row.kernels} / {row.head} / "
                         f"seed {row.seed}: {getattr(row, 'error', None)}")
        if n_ok:
            heading = (f"Pareto front of accuracy vs cost ({len(self.pareto)} "
                       f"configurations, cheapest first):")
            lines += ["", heading, format_table(self.pareto)]
        lines += ["", self.correlation_line()]
        return "\n".join(lines)

    def __str__(self):
        return self.to_string()


def _check_top(top):
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"top must be an int >= 1 or None, got {top!r}.")
    return int(top)


def format_table(table, top=None):
    """Rows of a ranked table as aligned text, one configuration per line.

    The columns are ``rank architecture kernels head seed accuracy
    features params fit s cost s``; accuracy is in percent, ``mean ± std``
    over the folds (so ``line.split()[5]`` is the mean accuracy; ``-`` for
    a single split, e.g. a holdout, which has no spread).

    Parameters
    ----------
    table : pandas.DataFrame
        :attr:`Summary.table` or :attr:`Summary.pareto` (or any rows of it).
    top : int, optional
        Only the first ``top`` rows.

    Returns
    -------
    text : str

    Examples
    --------
    >>> import pandas as pd
    >>> from featurelab.report import format_table, summarize
    >>> rows = pd.DataFrame({
    ...     "architecture": ["small", "large"], "kernels": "random", "head": "ridge",
    ...     "seed": 0, "status": "ok", "accuracy": [0.9, 0.95],
    ...     "accuracy_std": [0.01, 0.02], "fit_time": [0.1, 1.0],
    ...     "transform_time": [0.05, 0.5], "head_time": [0.01, 0.1],
    ...     "n_features": [64, 512], "n_params": [72, 800]})
    >>> print(format_table(summarize(rows).table))
    rank  architecture  kernels  head   seed        accuracy  features    params   fit s  cost s
       1  large         random   ridge     0  95.00 ±  2.00       512       800    1.00    1.60
       2  small         random   ridge     0  90.00 ±  1.00        64        72    0.10    0.16
    """
    if top is not None:
        table = table.head(_check_top(top))
    width = {name: max([len(name)] + [len(str(v)) for v in table[column]])
             for name, column in (("architecture", "architecture"),
                                  ("kernels", "kernels"), ("head", "head"))}
    header = (f"{'rank':>4}  {'architecture':<{width['architecture']}}  "
              f"{'kernels':<{width['kernels']}}  {'head':<{width['head']}}  "
              f"{'seed':>4}  {'accuracy':>14}  {'features':>8}  {'params':>8}  "
              f"{'fit s':>6}  {'cost s':>6}")
    lines = [header]
    for row in table.to_dict("records"):
        std = row.get("accuracy_std")
        single = _finite(row.get("n_splits")) and row["n_splits"] == 1  # holdout
        std = f"{100 * std:5.2f}" if _finite(std) and not single else "    -"
        lines.append(
            f"{_text(row.get('rank'), 4, '>')}  "
            f"{row['architecture']!s:<{width['architecture']}}  "
            f"{row['kernels']!s:<{width['kernels']}}  {row['head']!s:<{width['head']}}  "
            f"{_text(row['seed'], 4, '>')}  {100 * row['accuracy']:6.2f} ± {std}  "
            f"{_text(row.get('n_features'), 8, '>')}  "
            f"{_text(row.get('n_params'), 8, '>')}  "
            f"{_seconds(row.get('fit_time'))}  {_seconds(row.get('cost'))}"
        )
    return "\n".join(lines)


def _finite(value):
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _text(value, width, align):
    if isinstance(value, (float, np.floating)) and _finite(value) and float(value).is_integer():
        value = int(value)
    elif value is None or (isinstance(value, (float, np.floating)) and not _finite(value)):
        value = "-"
    return f"{value!s:{align}{width}}"


def _seconds(value):
    return f"{float(value):6.2f}" if _finite(value) else f"{'-':>6}"


# ------------------------------------------------------------------ reading
def _as_frame(results):
    """The results as a DataFrame with the required columns."""
    import pandas as pd

    if isinstance(results, (str, os.PathLike)):
        from .results import load_results

        path = os.fspath(results)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"results: no such results file {path!r}.")
        rows = load_results(path)
        if not rows:
            raise ValueError(f"results: results file {path!r} holds no rows.")
        hashes = sorted({str(row.get("data_hash")) for row in rows})
        if len(hashes) > 1:
            raise ValueError(
                f"results: results file {path!r} mixes {len(hashes)} data/protocols "
                f"(data_hash {hashes}); scores of different data cannot be ranked "
                f"together: load it with featurelab.results.load_results and "
                f"summarize the rows of one data_hash.")
        frame = pd.DataFrame(rows)
    elif isinstance(results, pd.DataFrame):
        frame = results.copy()
    else:
        raise TypeError(f"results must be a pandas DataFrame from screen() or the "
                        f"path of a results .jsonl file, got {type(results).__name__}.")
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"results: missing column(s) {missing}; expected the "
                         f"columns of featurelab.screen.COLUMNS, got "
                         f"{list(map(str, frame.columns))}.")
    return frame.reset_index(drop=True)


def _numeric(frame, columns):
    import pandas as pd

    for column in columns:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


# ------------------------------------------------------------------- Pareto
def pareto_front(accuracy, cost):
    """Which points are on the Pareto front of accuracy (max) vs cost (min).

    A point is on the front when no other point has an accuracy at least as
    high and a cost at most as high, one of the two strictly.  Points with
    equal accuracy and cost are all on the front or all off it.  Points with
    a NaN accuracy or cost are never on it.

    Parameters
    ----------
    accuracy, cost : array-like of shape (n,)

    Returns
    -------
    mask : ndarray of bool, shape (n,)

    Examples
    --------
    >>> from featurelab.report import pareto_front
    >>> pareto_front([0.9, 0.8, 0.95, 0.85, 0.9], [1.0, 0.5, 3.0, 2.0, 1.0])
    array([ True,  True,  True, False,  True])
    """
    accuracy = np.asarray(accuracy, dtype=float)
    cost = np.asarray(cost, dtype=float)
    if accuracy.ndim != 1 or accuracy.shape != cost.shape:
        raise ValueError(f"accuracy and cost must be 1-D of the same length, got "
                         f"shapes {accuracy.shape} and {cost.shape}.")
    mask = np.zeros(len(accuracy), dtype=bool)
    valid = np.flatnonzero(~(np.isnan(accuracy) | np.isnan(cost)))
    # cheapest first; within a cost, most accurate first
    order = valid[np.lexsort((-accuracy[valid], cost[valid]))]
    best = -np.inf  # best accuracy among strictly cheaper points
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and cost[order[j]] == cost[order[i]]:
            j += 1
        group = order[i:j]
        top = accuracy[group[0]]
        if top > best:
            mask[group[accuracy[group] == top]] = True
            best = top
        i = j
    return mask


# ------------------------------------------------------- rank correlation
def rank_correlation(table, *, cheap="random", learned=None):
    """Spearman correlation of cheap vs learned-kernel accuracies.

    Rows of ``table`` (scored configurations) with ``kernels == cheap`` and
    with ``kernels == learned`` are matched on (architecture, head, seed);
    the matched accuracies are averaged over seeds per (architecture,
    head), and :func:`scipy.stats.spearmanr` correlates the two across
    those points.

    Parameters
    ----------
    table : pandas.DataFrame
        Scored rows (e.g. :attr:`Summary.table`): ``architecture``,
        ``kernels``, ``head``, ``seed``, ``accuracy``.
    cheap : str, default='random'
        The cheap kernel source.
    learned : str, optional
        The expensive kernel source.  Default: of :data:`LEARNED_SOURCES`
        present in ``table``, the one with the most matched points.

    Returns
    -------
    correlation : RankCorrelation or None
        None when fewer than 3 points match (or no learned source is
        present).

    Raises
    ------
    ValueError
        ``learned`` equals ``cheap``, or is given but not in ``table``.

    Examples
    --------
    >>> import pandas as pd
    >>> from featurelab.report import rank_correlation
    >>> table = pd.DataFrame({
    ...     "architecture": ["a", "b", "c", "d"] * 2,
    ...     "kernels": ["random"] * 4 + ["kmeans"] * 4, "head": "ridge", "seed": 0,
    ...     "accuracy": [0.80, 0.85, 0.90, 0.70, 0.84, 0.88, 0.93, 0.79]})
    >>> result = rank_correlation(table)
    >>> result.rho, result.n, result.learned
    (1.0, 4, 'kmeans')
    >>> result.pairs[["architecture", "cheap", "learned"]]
      architecture  cheap  learned
    0            c   0.90     0.93
    1            b   0.85     0.88
    2            a   0.80     0.84
    3            d   0.70     0.79
    """
    from scipy.stats import spearmanr

    if not isinstance(cheap, str):
        raise TypeError(f"cheap must be a kernel source name (str), got {cheap!r}.")
    sources = [s for s in dict.fromkeys(table["kernels"]) if isinstance(s, str)]
    if learned is None:
        candidates = [s for s in LEARNED_SOURCES if s in sources and s != cheap]
    else:
        if not isinstance(learned, str):
            raise TypeError(f"learned must be a kernel source name (str), got "
                            f"{learned!r}.")
        if learned == cheap:
            raise ValueError(f"learned must differ from cheap, got {learned!r} for "
                             f"both.")
        if learned not in sources:
            raise ValueError(f"learned: no scored row has kernels {learned!r}; the "
                             f"table has kernel sources {sorted(sources)}.")
        candidates = [learned]
    best = None
    for source in candidates:
        pairs = _matched(table, cheap, source)
        if best is None or len(pairs) > len(best[1]):
            best = (source, pairs)
    if best is None or len(best[1]) < 3:
        return None
    source, pairs = best
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input: NaN, as documented
        result = spearmanr(pairs["cheap"], pairs["learned"])
    rho, pvalue = float(result.statistic), float(result.pvalue)
    if len(pairs) <= _EXACT_MAX and math.isfinite(rho):
        pvalue = _exact_pvalue(pairs["cheap"].to_numpy(float),
                               pairs["learned"].to_numpy(float), rho)
    return RankCorrelation(rho=rho, pvalue=pvalue, n=len(pairs), cheap=cheap,
                           learned=source, pairs=pairs)


#: Up to this many points, the p-value enumerates every pairing (8! = 40320).
_EXACT_MAX = 8


def _exact_pvalue(x, y, rho):
    """Two-sided permutation p-value of Spearman's ``rho``, over all pairings.

    Examples
    --------
    >>> round(_exact_pvalue(np.array([1., 2, 3]), np.array([1., 2, 3]), 1.0), 4)
    0.3333
    """
    import itertools

    from scipy.stats import rankdata

    rx, ry = rankdata(x), rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    perms = np.array(list(itertools.permutations(range(len(ry)))))
    rhos = (ry[perms] @ rx) / math.sqrt((rx @ rx) * (ry @ ry))
    return float(np.mean(np.abs(rhos) >= abs(rho) - 1e-12))


def _matched(table, cheap, learned):
    """Mean accuracies of (architecture, head) points scored with both."""
    keys = ["architecture", "head", "seed"]
    columns = keys + ["accuracy"]
    a = table.loc[table["kernels"] == cheap, columns]
    b = table.loc[table["kernels"] == learned, columns]
    a = a[a["accuracy"].notna()].groupby(keys, as_index=False)["accuracy"].mean()
    b = b[b["accuracy"].notna()].groupby(keys, as_index=False)["accuracy"].mean()
    both = a.merge(b, on=keys, suffixes=("_cheap", "_learned"))
    pairs = both.groupby(["architecture", "head"], as_index=False).agg(
        cheap=("accuracy_cheap", "mean"), learned=("accuracy_learned", "mean"),
        n_seeds=("seed", "nunique"))
    return pairs.sort_values(["learned", "cheap"], ascending=False,
                             kind="mergesort").reset_index(drop=True)


# ----------------------------------------------------------------- summary
def summarize(results, *, cheap="random", learned=None):
    """The ranking report of a screen.

    Parameters
    ----------
    results : pandas.DataFrame or str or os.PathLike
        The table of :func:`featurelab.screen.screen`, or the path of its
        results ``.jsonl`` file (read with
        :func:`featurelab.results.load_results`; a file whose rows belong
        to several data/protocols is refused).
    cheap : str, default='random'
        The cheap kernel source of the rank correlation.
    learned : str, optional
        Its expensive kernel source; default: the one of
        :data:`LEARNED_SOURCES` with the most architectures matched with
        ``cheap`` (see :func:`rank_correlation`).

    Returns
    -------
    summary : Summary
        ``table`` (scored rows, ranked), ``failed``, ``pareto`` and
        ``rank_correlation``; ``print(summary)`` shows them.

    Raises
    ------
    FileNotFoundError
        ``results`` names no file.
    ValueError
        A required column is missing, the file is empty, corrupt or mixes
        data/protocols, or ``learned`` is not in the table.
    TypeError
        ``results`` has another type.

    Examples
    --------
    >>> import pandas as pd
    >>> from featurelab.report import summarize
    >>> rows = pd.DataFrame({
    ...     "architecture": ["a", "b", "c", "a", "b", "c", "d"],
    ...     "kernels": ["random"] * 3 + ["kmeans"] * 3 + ["random"],
    ...     "head": "ridge", "seed": 0,
    ...     "status": ["ok"] * 6 + ["failed"],
    ...     "accuracy": [0.80, 0.85, 0.90, 0.84, 0.88, 0.93, None],
    ...     "fit_time": [0.1, 0.2, 0.4, 0.3, 0.6, 1.2, None],
    ...     "transform_time": 0.05, "head_time": 0.01,
    ...     "error": [None] * 6 + ["ValueError: kernel larger than the maps"]})
    >>> summary = summarize(rows)
    >>> summary.table[["rank", "architecture", "kernels", "accuracy", "cost"]]
       rank architecture kernels  accuracy  cost
    0     1            c  kmeans      0.93  1.26
    1     2            c  random      0.90  0.46
    2     3            b  kmeans      0.88  0.66
    3     4            b  random      0.85  0.26
    4     5            a  kmeans      0.84  0.36
    5     6            a  random      0.80  0.16
    >>> list(summary.pareto["rank"]), len(summary.failed)
    ([6, 4, 2, 1], 1)
    >>> print(summary.rank_correlation)
    Spearman rank correlation random vs kmeans across 3 architectures: rho = 1.00 (p = 0.33)
    """
    frame = _as_frame(results)
    # a Summary's own table may come back: its rank and cost are recomputed
    frame = frame.drop(columns=[c for c in ("rank", "cost") if c in frame.columns])
    ok = frame["status"] == "ok"
    failed = frame[~ok].reset_index(drop=True)
    table = _numeric(frame[ok].copy(), ("accuracy",) + _COST_PARTS)
    table["cost"] = table[list(_COST_PARTS)].sum(axis=1, min_count=len(_COST_PARTS))
    table = table.sort_values(["accuracy", "fit_time"], ascending=[False, True],
                              kind="mergesort", na_position="last")
    table = table.reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    columns = [c for c in table.columns if c != "cost"]
    columns.insert(columns.index("head_time") + 1, "cost")
    table = table[columns]
    mask = pareto_front(table["accuracy"].to_numpy(), table["cost"].to_numpy())
    pareto = table[mask].sort_values(["cost", "rank"], kind="mergesort")
    pareto = pareto.reset_index(drop=True)
    correlation = rank_correlation(table, cheap=cheap, learned=learned)
    return Summary(table=table, failed=failed, pareto=pareto,
                   rank_correlation=correlation)
