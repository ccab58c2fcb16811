"""Plots of a screen's report (matplotlib only).

Every ``plot_*`` function draws into the Axes ``ax`` it is given and returns
it; without ``ax`` it opens a new pyplot figure (so that it shows in a
notebook), and it never calls ``plt.show``.  :func:`save_report_plots` does
not touch pyplot at all: it draws into :class:`matplotlib.figure.Figure`
objects and writes PNG files with the Agg renderer, so it works on machines
without a display and leaves no figure open.

Examples
--------
>>> import pandas as pd
>>> from matplotlib.figure import Figure
>>> from featurelab.plot import plot_pareto
>>> from featurelab.report import summarize
>>> rows = pd.DataFrame({"architecture": ["a", "b", "c"], "kernels": "random",
...                      "head": "ridge", "seed": 0, "status": "ok",
...                      "accuracy": [0.8, 0.9, 0.85], "fit_time": [0.1, 0.3, 0.5],
...                      "transform_time": 0.02, "head_time": 0.01})
>>> ax = plot_pareto(summarize(rows), ax=Figure().add_subplot())
>>> ax.get_title()
'Accuracy vs cost: 2 of 3 configurations on the Pareto front'
"""

import math
import os
from pathlib import Path

import numpy as np

from .report import Summary, summarize

__all__ = ["plot_best_kernels", "plot_kernels", "plot_pareto", "plot_rank_correlation",
           "save_report_plots"]


def _axes(ax, figsize=(7, 5)):
    """``ax``, or the Axes of a new pyplot figure."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
        return ax
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got "
                        f"{type(ax).__name__}.")
    return ax


def _as_summary(value, name="summary"):
    if isinstance(value, Summary):
        return value
    try:
        return summarize(value)
    except TypeError:
        raise TypeError(f"{name} must be a Summary, a results DataFrame or the path "
                        f"of a results file, got {type(value).__name__}.") from None


def plot_pareto(summary_or_table, ax=None):
    """Accuracy vs cost of every scored configuration, with the Pareto front.

    One marker per configuration, coloured by kernel source; the cost axis
    (seconds per fold: network fit + transform + head) is logarithmic when
    every cost is positive.  The Pareto front (:attr:`Summary.pareto`) is a
    black step line, its points labelled ``architecture (kernels)``.

    Parameters
    ----------
    summary_or_table : Summary, pandas.DataFrame or path
        A :class:`~featurelab.report.Summary`, or anything
        :func:`~featurelab.report.summarize` reads (the table of
        :func:`~featurelab.screen.screen`, a results file).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
        One ``PathCollection`` per kernel source (legend: the source), the
        front as ``ax.lines[0]``, one annotation per front point.

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from featurelab.plot import plot_pareto
    >>> rows = pd.DataFrame({"architecture": ["a", "b", "a", "b"],
    ...                      "kernels": ["random", "random", "kmeans", "kmeans"],
    ...                      "head": "ridge", "seed": 0, "status": "ok",
    ...                      "accuracy": [0.8, 0.9, 0.85, 0.95],
    ...                      "fit_time": [0.1, 0.3, 0.5, 1.0],
    ...                      "transform_time": 0.02, "head_time": 0.01})
    >>> ax = plot_pareto(rows, ax=Figure().add_subplot())
    >>> [c.get_label() for c in ax.collections], ax.get_xscale()
    (['kmeans', 'random'], 'log')
    >>> sorted(t.get_text() for t in ax.texts)
    ['a (random)', 'b (kmeans)', 'b (random)']
    """
    summary = _as_summary(summary_or_table, "summary_or_table")
    ax = _axes(ax)
    table, front = summary.table, summary.pareto
    if table.empty:
        ax.text(0.5, 0.5, "no configuration scored", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_title(f"Accuracy vs cost: no configuration scored "
                     f"({len(summary.failed)} failed)")
        return ax
    for source, rows in table.groupby("kernels", sort=True):
        ax.scatter(rows["cost"], rows["accuracy"], label=str(source), s=28, alpha=0.8,
                   zorder=3)
    ax.step(front["cost"], front["accuracy"], where="post", color="black",
            linewidth=1, label="Pareto front", zorder=2)
    for row in front.itertuples():
        ax.annotate(f"{row.architecture} ({row.kernels})", (row.cost, row.accuracy),
                    xytext=(4, -10), textcoords="offset points", fontsize=7)
    cost = table["cost"].to_numpy(dtype=float)
    if np.all(cost[np.isfinite(cost)] > 0) and np.isfinite(cost).any():
        from matplotlib.ticker import FuncFormatter, NullFormatter

        ax.set_xscale("log")  # plain numbers (0.03, not 3 x 10^-2) on the ticks
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        finite = cost[np.isfinite(cost)]
        if finite.max() / finite.min() < 100:  # under two decades: label 2x and 5x too
            ax.xaxis.set_minor_formatter(FuncFormatter(
                lambda v, _: f"{v:g}" if f"{v:e}"[0] in "25" else ""))
        else:
            ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("cost per fold: network fit + transform + head (s)")
    ax.set_ylabel("accuracy (mean over folds)")
    ax.set_title(f"Accuracy vs cost: {len(front)} of {len(table)} configurations on "
                 f"the Pareto front")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_rank_correlation(summary, ax=None):
    """Accuracy with cheap (random) vs learned kernels, per architecture.

    One marker per matched architecture (and head), labelled with its
    name, and the diagonal ``y = x``; the title gives Spearman's rho, its
    p-value and the number of points (:class:`~featurelab.report.RankCorrelation`).

    Parameters
    ----------
    summary : Summary or RankCorrelation
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
        The points as ``ax.collections[0]``, the diagonal as ``ax.lines[0]``.

    Raises
    ------
    ValueError
        ``summary.rank_correlation`` is None (fewer than 3 matched
        architectures).

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from featurelab.plot import plot_rank_correlation
    >>> from featurelab.report import summarize
    >>> rows = pd.DataFrame({"architecture": ["a", "b", "c"] * 2,
    ...                      "kernels": ["random"] * 3 + ["kmeans"] * 3,
    ...                      "head": "ridge", "seed": 0, "status": "ok",
    ...                      "accuracy": [0.8, 0.9, 0.85, 0.86, 0.93, 0.9],
    ...                      "fit_time": 0.1, "transform_time": 0.02, "head_time": 0.01})
    >>> ax = plot_rank_correlation(summarize(rows), ax=Figure().add_subplot())
    >>> ax.get_title()
    'random vs kmeans kernels: Spearman rho = 1.00 (p = 0.33, n = 3)'
    """
    from .report import RankCorrelation

    if isinstance(summary, RankCorrelation):
        correlation = summary
    else:
        correlation = _as_summary(summary).rank_correlation
        if correlation is None:
            raise ValueError(
                "summary.rank_correlation is None: fewer than 3 architectures were "
                "scored with both random and learned kernels (same head and seed); "
                "nothing to plot.")
    ax = _axes(ax, figsize=(6, 6))
    pairs = correlation.pairs
    several_heads = pairs["head"].nunique() > 1
    ax.scatter(pairs["cheap"], pairs["learned"], s=30, zorder=3)
    for row in pairs.itertuples():
        label = f"{row.architecture} / {row.head}" if several_heads else row.architecture
        ax.annotate(str(label), (row.cheap, row.learned), xytext=(4, 3),
                    textcoords="offset points", fontsize=7)
    values = np.concatenate([pairs["cheap"].to_numpy(float),
                             pairs["learned"].to_numpy(float)])
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    pad = 0.05 * (hi - lo) if hi > lo else 0.01
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], linestyle="--", color="grey",
            linewidth=1, label="y = x")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel(f"accuracy with {correlation.cheap} kernels")
    ax.set_ylabel(f"accuracy with {correlation.learned} kernels")
    ax.set_title(f"{correlation.cheap} vs {correlation.learned} kernels: Spearman "
                 f"rho = {correlation.rho:.2f} (p = {correlation.pvalue:.2g}, "
                 f"n = {correlation.n})")
    ax.grid(True, alpha=0.3)
    return ax


def _unit(tiles):
    """Each tile (first axis) scaled to [0, 1] by its own min and max."""
    axes = tuple(range(1, tiles.ndim))
    lo = tiles.min(axis=axes, keepdims=True)
    span = tiles.max(axis=axes, keepdims=True) - lo
    return np.where(span > 0, (tiles - lo) / np.where(span > 0, span, 1), 0.5)


# colour between tiles: neither black nor white, so that tile edges show
_GAP = (0.75, 0.82, 0.92)


def _check_ncols(ncols, n):
    if ncols is None:
        return max(1, math.ceil(math.sqrt(n)))
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be an int >= 1 or None, got {ncols!r}.")
    return int(ncols)


def plot_kernels(kernels, ax=None, ncols=None):
    """A grid of convolution kernels.

    2-D kernels ``(K, C, kh, kw)`` become one image: one tile per kernel,
    grey for ``C = 1``, RGB for ``C = 3`` (each tile scaled to [0, 1] by its
    own min and max), and for other ``C`` one grey tile per kernel and
    channel (a row of ``C`` tiles per kernel).  1-D kernels ``(K, C, k)``
    are drawn as curves, one cell per kernel and one line per channel, each
    kernel scaled by its largest absolute weight.

    Parameters
    ----------
    kernels : array of shape (K, C, kh, kw) or (K, C, k)
        NumPy or CuPy (copied to the host), e.g. ``ConvLayer.kernels_``.
    ax : matplotlib.axes.Axes, optional
    ncols : int, optional
        Tiles per row; default ``ceil(sqrt(K))`` (``C`` for the per-channel
        layout).

    Returns
    -------
    ax : matplotlib.axes.Axes
        With one image (2-D kernels) or ``K * C`` lines (1-D kernels).

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from featurelab.kernels import random_kernels
    >>> from featurelab.plot import plot_kernels
    >>> ax = plot_kernels(random_kernels(16, 3, 5, random_state=0),
    ...                   ax=Figure().add_subplot())
    >>> ax.images[0].get_array().shape          # 4 x 4 tiles of 5 x 5, 1 px apart
    (23, 23, 3)
    >>> ax = plot_kernels(np.ones((8, 2, 9)), ax=Figure().add_subplot())
    >>> len(ax.lines)
    16
    """
    from .backend import to_numpy

    w = np.asarray(to_numpy(kernels), dtype=float)
    if w.ndim not in (3, 4) or w.shape[0] == 0 or 0 in w.shape:
        raise ValueError(f"kernels must be an array of shape (K, C, k) or "
                         f"(K, C, kh, kw) with K >= 1, got shape {w.shape}.")
    ax = _axes(ax, figsize=(6, 6))
    K, C = w.shape[:2]
    if w.ndim == 3:
        return _plot_curves(w, ax, _check_ncols(ncols, K))
    if C == 1:
        tiles, ncols = _unit(w[:, 0]), _check_ncols(ncols, K)
    elif C == 3:
        tiles, ncols = _unit(w.transpose(0, 2, 3, 1)), _check_ncols(ncols, K)
    else:
        tiles = _unit(w.reshape((K * C,) + w.shape[2:]))
        ncols = C if ncols is None else _check_ncols(ncols, K * C)
    n, kh, kw = tiles.shape[:3]
    nrows = math.ceil(n / ncols)
    mosaic = np.full((nrows * (kh + 1) - 1, ncols * (kw + 1) - 1) + tiles.shape[3:],
                     np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncols)
        mosaic[r * (kh + 1):r * (kh + 1) + kh, c * (kw + 1):c * (kw + 1) + kw] = tile
    if tiles.ndim == 3:
        import matplotlib

        cmap = matplotlib.colormaps["gray"].with_extremes(bad=_GAP)
        ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    else:
        gap = np.isnan(mosaic).any(axis=-1)
        mosaic[gap] = _GAP
        ax.imshow(mosaic, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"{K} kernels of {C} channel{'s' if C != 1 else ''}, {kh}x{kw}")
    return ax


def _plot_curves(w, ax, ncols):
    K, C, k = w.shape
    scale = np.abs(w).max(axis=(1, 2), keepdims=True)
    w = 0.45 * w / np.where(scale > 0, scale, 1)
    x = np.arange(k)
    for i in range(K):
        r, c = divmod(i, ncols)
        for ch in range(C):
            ax.plot(c * (k + 2) + x, -r + w[i, ch], color=f"C{ch % 10}", linewidth=1)
    ax.set_axis_off()
    ax.set_title(f"{K} kernels of {C} channel{'s' if C != 1 else ''}, length {k}")
    return ax


def plot_best_kernels(summary, X, *, rank=1, max_samples=2000, input_shape=None,
                      ax=None, ncols=None):
    """Fit the best configuration's first conv layer on ``X``; plot its kernels.

    The configuration ranked ``rank`` in ``summary.table`` is rebuilt with
    :func:`featurelab.spec.build_network` (its ``layers``, ``output``,
    ``kernels`` and ``seed``), truncated after its first conv layer (later
    layers are fitted after it and do not change it), fitted without labels
    on ``X`` (at most ``max_samples`` samples drawn with the
    configuration's seed), and that layer's ``kernels_`` are drawn with
    :func:`plot_kernels`.  Learned kernels folded with whitening or patch
    normalisation are shown as applied to the raw input.

    Parameters
    ----------
    summary : Summary, pandas.DataFrame or path
        Rows must hold the configurations (as the table of
        :func:`~featurelab.screen.screen` and results files do).
    X : array of shape (n_samples, C, *spatial) or (n_samples, n_features)
        The screen's data (:func:`featurelab.screen.load_screen_data`).
    rank : int, default=1
        Which row of the ranked table.
    max_samples : int or None, default=2000
        Fit on a random subset of at most this many samples (None: all).
    input_shape : tuple of int, optional
        For 2-D ``X``: passed to the network.
    ax : matplotlib.axes.Axes, optional
    ncols : int, optional
        See :func:`plot_kernels`.

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from featurelab.datasets import load_digits_images
    >>> from featurelab.plot import plot_best_kernels
    >>> X, _ = load_digits_images()
    >>> rows = pd.DataFrame([{"architecture": "k8", "kernels": "kmeans", "head": "ridge",
    ...     "seed": 0, "status": "ok", "accuracy": 0.9, "fit_time": 0.1,
    ...     "transform_time": 0.1, "head_time": 0.1, "output": "flatten",
    ...     "layers": [{"type": "conv", "n_kernels": 8, "size": 3}]}])
    >>> ax = plot_best_kernels(rows, X[:300], ax=Figure().add_subplot())
    >>> ax.get_title()
    'best: k8 (kmeans kernels, seed 0, accuracy 90.00%): 8 kernels of 1 channel, 3x3'
    """
    from .spec import build_network

    summary = _as_summary(summary)
    table = summary.table
    missing = [c for c in ("layers", "output") if c not in table.columns]
    if missing:
        raise ValueError(f"summary.table has no column(s) {missing}: the rows must "
                         f"hold their configurations, as the table of screen() and "
                         f"results files do.")
    if table.empty:
        raise ValueError(f"summary.table is empty: no configuration was scored "
                         f"({len(summary.failed)} failed).")
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not (
            1 <= rank <= len(table)):
        raise ValueError(f"rank must be an int in [1, {len(table)}], got {rank!r}.")
    if max_samples is not None and (isinstance(max_samples, bool) or not isinstance(
            max_samples, (int, np.integer)) or max_samples < 1):
        raise ValueError(f"max_samples must be an int >= 1 or None, got "
                         f"{max_samples!r}.")
    row = table.iloc[int(rank) - 1]
    seed = row["seed"]
    if isinstance(seed, (float, np.floating)) and float(seed).is_integer():
        seed = int(seed)
    layers = list(row["layers"])
    conv = [i for i, layer in enumerate(layers)
            if isinstance(layer, dict) and layer.get("type") == "conv"]
    if not conv:
        raise ValueError(f"architecture {row['architecture']!r} has no conv layer: no "
                         f"kernels to plot.")
    config = {"architecture": row["architecture"], "layers": layers[:conv[0] + 1],
              "output": "flatten", "kernels": row["kernels"], "seed": seed}
    network = build_network(config, input_shape=input_shape)
    if max_samples is not None and len(X) > max_samples:
        index = np.sort(np.random.default_rng(int(seed)).choice(len(X), max_samples,
                                                                 replace=False))
        X = X[index]
    network.fit(X)
    ax = plot_kernels(network.layers_[conv[0]].kernels_, ax=ax, ncols=ncols)
    accuracy = row["accuracy"]
    ax.set_title(f"best: {row['architecture']} ({row['kernels']} kernels, seed {seed}, "
                 f"accuracy {100 * accuracy:.2f}%): {ax.get_title()}"
                 if rank == 1 else
                 f"rank {rank}: {row['architecture']} ({row['kernels']} kernels, seed "
                 f"{seed}, accuracy {100 * accuracy:.2f}%): {ax.get_title()}",
                 fontsize=9)
    return ax


def save_report_plots(summary, directory, X=None, *, input_shape=None, dpi=120):
    """Write the report's plots as PNG files; return their paths.

    ``pareto.png`` (:func:`plot_pareto`; when a configuration was scored),
    ``rank_correlation.png`` (:func:`plot_rank_correlation`; when the
    summary has a rank correlation) and ``kernels.png``
    (:func:`plot_best_kernels`; when ``X`` is given and a configuration was
    scored).  Uses :class:`matplotlib.figure.Figure` and the Agg renderer,
    never pyplot.

    Parameters
    ----------
    summary : Summary, pandas.DataFrame or path
    directory : str or os.PathLike
        Created if missing (with its parents).
    X : array, optional
        The screen's data, for the kernels of the best configuration.
    input_shape : tuple of int, optional
        For a 2-D ``X``.
    dpi : int, default=120

    Returns
    -------
    paths : list of pathlib.Path
        The files written, in the order above.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from featurelab.plot import save_report_plots
    >>> rows = pd.DataFrame({"architecture": ["a", "b", "c"], "kernels": "random",
    ...                      "head": "ridge", "seed": 0, "status": "ok",
    ...                      "accuracy": [0.8, 0.9, 0.85], "fit_time": [0.1, 0.3, 0.5],
    ...                      "transform_time": 0.02, "head_time": 0.01})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = save_report_plots(rows, os.path.join(tmp, "plots"))
    ...     [(p.name, p.stat().st_size > 0) for p in paths]
    [('pareto.png', True)]
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    summary = _as_summary(summary)
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a str or os.PathLike, got "
                        f"{type(directory).__name__}.")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"directory: {str(directory)!r} exists and is not a "
                                 f"directory.")
    directory.mkdir(parents=True, exist_ok=True)
    jobs = []
    if not summary.table.empty:
        jobs.append(("pareto.png", (8, 5.5), lambda ax: plot_pareto(summary, ax=ax)))
    if summary.rank_correlation is not None:
        jobs.append(("rank_correlation.png", (6.5, 6.5),
                     lambda ax: plot_rank_correlation(summary, ax=ax)))
    if X is not None and not summary.table.empty:
        jobs.append(("kernels.png", (7, 7.5), lambda ax: plot_best_kernels(
            summary, X, input_shape=input_shape, ax=ax)))
    paths = []
    for name, size, draw in jobs:
        fig = Figure(figsize=size, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig.add_subplot())
        path = directory / name
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    return paths
