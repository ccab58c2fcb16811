"""Tests of featurelab.plot: every function returns its Axes with the right artists."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from featurelab.datasets import load_digits_images
from featurelab.plot import (
    plot_best_kernels,
    plot_kernels,
    plot_pareto,
    plot_rank_correlation,
    save_report_plots,
)
from featurelab.report import summarize
from featurelab.results import ResultsFile
from featurelab.spec import build_network

_LAYERS = [{"type": "conv", "n_kernels": 6, "size": 3, "padding": "same",
            "pool": ["max", 2]}]


def _table():
    records = []
    accuracy = {"random": [0.80, 0.90, 0.85, 0.70], "kmeans": [0.84, 0.93, 0.90, 0.78]}
    for source, values in accuracy.items():
        for i, acc in enumerate(values):
            records.append({
                "key": f"{source}{i}", "architecture": f"a{i}", "kernels": source,
                "head": "ridge", "seed": 0, "status": "ok", "accuracy": acc,
                "accuracy_std": 0.01, "fit_time": (i + 1) * (3 if source == "kmeans" else 1)
                / 10, "transform_time": 0.01, "head_time": 0.01, "error": None,
                "layers": _LAYERS, "output": ["region", 2, "sum"]})
    records.append({**records[0], "key": "x", "architecture": "broken",
                    "status": "failed", "accuracy": None, "error": "boom"})
    return pd.DataFrame(records)


@pytest.fixture
def summary():
    return summarize(_table())


@pytest.fixture
def ax():
    return Figure().add_subplot()


def _n_points(ax):
    return sum(len(c.get_offsets()) for c in ax.collections)


def test_plot_pareto_draws_every_point_and_the_front(summary, ax):
    assert plot_pareto(summary, ax=ax) is ax
    assert _n_points(ax) == len(summary.table) == 8
    assert sorted(c.get_label() for c in ax.collections) == ["kmeans", "random"]
    front = ax.lines[0]
    np.testing.assert_allclose(front.get_xdata(), summary.pareto["cost"])
    np.testing.assert_allclose(front.get_ydata(), summary.pareto["accuracy"])
    assert len(ax.texts) == len(summary.pareto)
    assert ax.get_xscale() == "log"
    assert ax.get_title() == (f"Accuracy vs cost: {len(summary.pareto)} of 8 "
                              f"configurations on the Pareto front")


def test_plot_pareto_accepts_a_table_and_opens_a_figure_without_ax():
    before = set(plt.get_fignums())
    try:
        ax = plot_pareto(_table())
        assert isinstance(ax, Axes) and _n_points(ax) == 8
        assert set(plt.get_fignums()) - before
    finally:
        plt.close("all")


def test_plot_pareto_of_a_summary_table_or_results_file(summary, tmp_path):
    ax = plot_pareto(summary.table, ax=Figure().add_subplot())
    assert _n_points(ax) == 8 and len(ax.texts) == len(summary.pareto)
    path = tmp_path / "screen.jsonl"
    store = ResultsFile(path, "digits-cv3")
    for row in _table().to_dict("records"):
        store.append(row)
    ax = plot_pareto(path, ax=Figure().add_subplot())
    assert _n_points(ax) == 8 and len(ax.texts) == len(summary.pareto)


def test_plot_pareto_with_nothing_scored(ax):
    table = _table()
    table["status"] = "failed"
    plot_pareto(table, ax=ax)
    assert "no configuration scored" in ax.get_title() and _n_points(ax) == 0


def test_plot_rank_correlation(summary, ax):
    correlation = summary.rank_correlation
    assert plot_rank_correlation(summary, ax=ax) is ax
    assert _n_points(ax) == correlation.n == 4
    np.testing.assert_allclose(ax.collections[0].get_offsets(),
                               correlation.pairs[["cheap", "learned"]].to_numpy())
    title = ax.get_title()
    assert f"rho = {correlation.rho:.2f}" in title and "n = 4" in title
    assert f"p = {correlation.pvalue:.2g}" in title
    diagonal = ax.lines[0]
    np.testing.assert_allclose(diagonal.get_xdata(), diagonal.get_ydata())
    assert sorted(t.get_text() for t in ax.texts) == ["a0", "a1", "a2", "a3"]
    assert _n_points(plot_rank_correlation(correlation, ax=Figure().add_subplot())) == 4


def test_plot_rank_correlation_without_a_correlation(ax):
    table = _table()
    table = table[table["kernels"] == "random"]
    with pytest.raises(ValueError, match="rank_correlation is None"):
        plot_rank_correlation(summarize(table), ax=ax)


def test_plot_kernels_grey_rgb_channels_and_curves():
    rng = np.random.default_rng(0)
    ax = plot_kernels(rng.standard_normal((5, 1, 3, 3)), ax=Figure().add_subplot(),
                      ncols=2)
    image = ax.images[0].get_array()
    assert image.shape == (3 * 4 - 1, 2 * 4 - 1)  # 3 rows x 2 columns of 3 x 3
    tile = image[:3, :3]
    assert tile.min() == 0 and tile.max() == 1
    assert np.ma.getmaskarray(image)[3].all()  # the gap between tile rows
    ax = plot_kernels(rng.standard_normal((4, 3, 5, 5)), ax=Figure().add_subplot())
    assert ax.images[0].get_array().shape == (11, 11, 3)
    assert ax.get_title() == "4 kernels of 3 channels, 5x5"
    ax = plot_kernels(rng.standard_normal((4, 2, 3, 3)), ax=Figure().add_subplot())
    assert ax.images[0].get_array().shape == (4 * 4 - 1, 2 * 4 - 1)  # a row per kernel
    ax = plot_kernels(rng.standard_normal((6, 2, 7)), ax=Figure().add_subplot())
    assert len(ax.lines) == 12 and ax.get_title() == "6 kernels of 2 channels, length 7"
    ax = plot_kernels(np.zeros((1, 1, 2, 2)), ax=Figure().add_subplot())
    assert (ax.images[0].get_array() == 0.5).all()  # constant kernel: mid grey


def test_plot_kernels_bad_input(ax):
    with pytest.raises(ValueError, match=r"kernels must be .* got shape \(3, 3\)"):
        plot_kernels(np.ones((3, 3)), ax=ax)
    with pytest.raises(ValueError, match="ncols must be an int >= 1"):
        plot_kernels(np.ones((2, 1, 3, 3)), ax=ax, ncols=0)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_kernels(np.ones((2, 1, 3, 3)), ax="left")


def test_plot_best_kernels_fits_the_best_configuration(summary, ax):
    X, _ = load_digits_images()
    X = X[:200]
    assert plot_best_kernels(summary, X, ax=ax) is ax
    best = summary.table.iloc[0]
    assert ax.get_title().startswith(f"best: {best['architecture']} "
                                     f"({best['kernels']} kernels, seed 0")
    assert ax.images[0].get_array().shape == (2 * 4 - 1, 3 * 4 - 1)  # 6 kernels: 2 x 3
    network = build_network({**best.to_dict(), "output": "flatten"}).fit(X)
    expected = plot_kernels(network.layers_[0].kernels_, ax=Figure().add_subplot())
    np.testing.assert_allclose(ax.images[0].get_array(), expected.images[0].get_array())
    other = plot_best_kernels(summary, X, rank=2, max_samples=50,
                              ax=Figure().add_subplot())
    assert other.get_title().startswith("rank 2:")


def test_plot_best_kernels_bad_input(summary, ax):
    X, _ = load_digits_images()
    with pytest.raises(ValueError, match=r"rank must be an int in \[1, 8\]"):
        plot_best_kernels(summary, X, rank=9, ax=ax)
    with pytest.raises(ValueError, match=r"no column\(s\) \['layers'\]"):
        plot_best_kernels(_table().drop(columns="layers"), X, ax=ax)
    with pytest.raises(ValueError, match="max_samples must be"):
        plot_best_kernels(summary, X, max_samples=0, ax=ax)


def test_save_report_plots_writes_pngs_without_pyplot(summary, tmp_path):
    before = plt.get_fignums()
    X, _ = load_digits_images()
    paths = save_report_plots(summary, tmp_path / "plots" / "deep", X=X[:120])
    assert [p.name for p in paths] == ["pareto.png", "rank_correlation.png",
                                       "kernels.png"]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 1000
    assert plt.get_fignums() == before
    table = _table()
    only_random = save_report_plots(table[table["kernels"] == "random"],
                                    tmp_path / "random")
    assert [p.name for p in only_random] == ["pareto.png"]
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        save_report_plots(summary, tmp_path / "file")
