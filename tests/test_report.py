"""Tests of featurelab.report: ranked table, Pareto front, rank correlation."""

import itertools
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from featurelab.report import (
    RankCorrelation,
    Summary,
    format_table,
    pareto_front,
    rank_correlation,
    summarize,
)
from featurelab.results import ResultsFile


def _rows(records):
    """A results table from short records (architecture, kernels, accuracy, ...)."""
    defaults = {"head": "ridge", "seed": 0, "status": "ok", "accuracy_std": 0.01,
                "fit_time": 0.1, "transform_time": 0.02, "head_time": 0.01,
                "n_features": 64, "n_params": 72, "error": None}
    return pd.DataFrame([{**defaults, **r} for r in records])


def _pairs_table(cheap, learned, *, seeds=(0,), heads=("ridge",)):
    """Accuracies per architecture for two kernel sources; seed s adds s / 1000."""
    records = []
    for (source, values), head, seed in itertools.product(
            (("random", cheap), ("kmeans", learned)), heads, seeds):
        for i, acc in enumerate(values):
            records.append({"architecture": f"a{i}", "kernels": source, "head": head,
                            "seed": seed, "accuracy": acc + seed / 1000})
    return _rows(records)


# ------------------------------------------------------------------ Pareto
def _oracle(accuracy, cost):
    n = len(accuracy)
    out = np.zeros(n, dtype=bool)
    for i in range(n):
        if math.isnan(accuracy[i]) or math.isnan(cost[i]):
            continue
        out[i] = not any(
            accuracy[j] >= accuracy[i] and cost[j] <= cost[i]
            and (accuracy[j] > accuracy[i] or cost[j] < cost[i])
            for j in range(n) if j != i
            and not (math.isnan(accuracy[j]) or math.isnan(cost[j])))
    return out


_values = st.one_of(st.integers(0, 5).map(float), st.just(float("nan")))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_values, _values), max_size=25))
def test_pareto_front_matches_brute_force(points):
    accuracy = np.array([p[0] for p in points], dtype=float)
    cost = np.array([p[1] for p in points], dtype=float)
    np.testing.assert_array_equal(pareto_front(accuracy, cost), _oracle(accuracy, cost))


def test_pareto_of_summary_matches_brute_force_on_random_tables():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(1, 40))
        rows = _rows([{"architecture": f"a{i}", "kernels": "random",
                       "accuracy": rng.integers(0, 8) / 8,
                       "fit_time": rng.integers(1, 6) / 10,
                       "transform_time": rng.integers(0, 3) / 10,
                       "head_time": 0.0} for i in range(n)])
        summary = summarize(rows)
        table = summary.table
        expected = set(table["rank"][_oracle(table["accuracy"].to_numpy(),
                                             table["cost"].to_numpy())])
        assert set(summary.pareto["rank"]) == expected
        assert list(summary.pareto["cost"]) == sorted(summary.pareto["cost"])


def test_pareto_front_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same length"):
        pareto_front([0.5, 0.6], [1.0])


# ------------------------------------------------------------ the table
def test_table_is_ranked_with_cost_and_failed_rows_apart():
    rows = _rows([
        {"architecture": "a", "kernels": "random", "accuracy": 0.9, "fit_time": 0.5},
        {"architecture": "b", "kernels": "random", "accuracy": 0.95, "fit_time": 0.2},
        {"architecture": "c", "kernels": "random", "accuracy": 0.9, "fit_time": 0.1},
        {"architecture": "d", "kernels": "random", "status": "failed", "accuracy": None,
         "fit_time": None, "error": "ValueError: kernel size 5 > maps 4"},
    ])
    summary = summarize(rows)
    assert isinstance(summary, Summary)
    assert list(summary.table["architecture"]) == ["b", "c", "a"]
    assert list(summary.table["rank"]) == [1, 2, 3]
    assert summary.table.columns[0] == "rank"
    columns = list(summary.table.columns)
    assert columns.index("cost") == columns.index("head_time") + 1
    np.testing.assert_allclose(summary.table["cost"], [0.23, 0.13, 0.53])
    assert list(summary.failed["architecture"]) == ["d"]
    assert summary.failed["error"][0].startswith("ValueError")
    assert summary.best["architecture"] == "b"
    assert set(summary.pareto["architecture"]) == {"b", "c"}


def test_all_failed_gives_empty_table_and_no_best():
    rows = _rows([{"architecture": "a", "kernels": "random", "status": "failed",
                   "accuracy": None, "error": "boom"}])
    summary = summarize(rows)
    assert summary.table.empty and summary.pareto.empty and len(summary.failed) == 1
    assert summary.rank_correlation is None
    with pytest.raises(ValueError, match="no configuration was scored"):
        _ = summary.best
    assert "1 configurations: 0 scored, 1 failed" in str(summary)


def test_bad_input_names_the_problem():
    with pytest.raises(TypeError, match="results must be a pandas DataFrame"):
        summarize([{"accuracy": 1}])
    with pytest.raises(ValueError, match=r"missing column\(s\) \['fit_time'"):
        summarize(_rows([{"architecture": "a", "kernels": "random",
                          "accuracy": 0.5}]).drop(columns="fit_time"))
    with pytest.raises(ValueError, match="top must be an int >= 1"):
        summarize(_rows([{"architecture": "a", "kernels": "random",
                          "accuracy": 0.5}])).to_string(top=0)


# ----------------------------------------------------- rank correlation
def test_spearman_matches_scipy():
    cheap = [0.81, 0.84, 0.90, 0.77, 0.88, 0.86, 0.79, 0.93, 0.85, 0.80]
    learned = [0.85, 0.86, 0.92, 0.80, 0.87, 0.90, 0.84, 0.95, 0.89, 0.82]
    summary = summarize(_pairs_table(cheap, learned))
    result = summary.rank_correlation
    expected = spearmanr(cheap, learned)
    assert isinstance(result, RankCorrelation)
    assert (result.cheap, result.learned, result.n) == ("random", "kmeans", 10)
    assert result.rho == pytest.approx(expected.statistic)
    assert result.pvalue == pytest.approx(expected.pvalue)
    assert list(result.pairs["learned"]) == sorted(learned, reverse=True)


def test_small_n_pvalue_is_exact_over_all_pairings():
    cheap, learned = [0.80, 0.90, 0.85, 0.70, 0.75], [0.82, 0.91, 0.84, 0.79, 0.70]
    result = rank_correlation(_pairs_table(cheap, learned))
    rho = spearmanr(cheap, learned).statistic
    null = [spearmanr(cheap, p).statistic for p in itertools.permutations(learned)]
    assert result.rho == pytest.approx(rho)
    assert result.pvalue == pytest.approx(np.mean(np.abs(null) >= abs(rho) - 1e-12))
    perfect = rank_correlation(_pairs_table([0.1, 0.2, 0.3], [0.4, 0.5, 0.6]))
    assert perfect.rho == pytest.approx(1.0) and perfect.pvalue == pytest.approx(1 / 3)


def test_matching_across_seeds_means_only_the_shared_seeds():
    records = []
    for seed in (0, 1, 2):           # random: seeds 0, 1, 2
        for i in range(4):
            records.append({"architecture": f"a{i}", "kernels": "random", "seed": seed,
                            "accuracy": 0.5 + 0.1 * i + 0.01 * seed})
    for seed in (0, 1):              # kmeans: seeds 0, 1 only
        for i in range(4):
            records.append({"architecture": f"a{i}", "kernels": "kmeans", "seed": seed,
                            "accuracy": 0.9 - 0.1 * i + 0.02 * seed})
    records.append({"architecture": "only-random", "kernels": "random",
                    "accuracy": 0.99})
    records.append({"architecture": "fixed", "kernels": "-", "accuracy": 0.98})
    records.append({"architecture": "a0", "kernels": "kmeans", "seed": 5,
                    "status": "failed", "accuracy": None})
    result = summarize(_rows(records)).rank_correlation
    pairs = result.pairs.set_index("architecture")
    assert sorted(pairs.index) == ["a0", "a1", "a2", "a3"]
    assert (pairs["n_seeds"] == 2).all()
    for i in range(4):   # seed 2 of random has no kmeans partner: not in the mean
        assert pairs.loc[f"a{i}", "cheap"] == pytest.approx(0.5 + 0.1 * i + 0.005)
        assert pairs.loc[f"a{i}", "learned"] == pytest.approx(0.9 - 0.1 * i + 0.01)
    assert result.rho == pytest.approx(-1.0) and result.n == 4


def test_heads_are_separate_points():
    table = _pairs_table([0.8, 0.9, 0.7], [0.85, 0.95, 0.75], heads=("ridge", "logistic"))
    result = rank_correlation(table)
    assert result.n == 6
    assert set(zip(result.pairs["architecture"], result.pairs["head"])) == {
        (f"a{i}", h) for i in range(3) for h in ("ridge", "logistic")}
    assert "across 6 architecture/head pairs" in str(result)


def test_none_with_fewer_than_three_matched_architectures():
    assert rank_correlation(_pairs_table([0.8, 0.9], [0.85, 0.95])) is None
    only_random = _rows([{"architecture": f"a{i}", "kernels": "random",
                          "accuracy": 0.5 + i / 10} for i in range(5)])
    summary = summarize(only_random)
    assert summary.rank_correlation is None
    assert "not computed" in summary.correlation_line()


def test_learned_source_with_most_matches_is_chosen():
    records = [{"architecture": f"a{i}", "kernels": "random", "accuracy": 0.5 + i / 20}
               for i in range(5)]
    records += [{"architecture": f"a{i}", "kernels": "kmeans", "accuracy": 0.9 - i / 20}
                for i in range(3)]
    records += [{"architecture": f"a{i}", "kernels": "pca", "accuracy": 0.6 + i / 20}
                for i in range(4)]
    table = _rows(records)
    assert rank_correlation(table).learned == "pca"
    chosen = rank_correlation(table, learned="kmeans")
    assert (chosen.learned, chosen.n, chosen.rho) == ("kmeans", 3, pytest.approx(-1.0))
    with pytest.raises(ValueError, match="no scored row has kernels 'gabor'"):
        rank_correlation(table, learned="gabor")
    with pytest.raises(ValueError, match="learned must differ from cheap"):
        summarize(table, learned="random")


def test_constant_accuracies_give_nan_rho():
    result = rank_correlation(_pairs_table([0.8, 0.8, 0.8], [0.7, 0.9, 0.8]))
    assert math.isnan(result.rho) and math.isnan(result.pvalue)


# ------------------------------------------------------------ files, text
def test_summarize_reads_a_results_file(tmp_path):
    table = _pairs_table([0.8, 0.9, 0.85, 0.7], [0.84, 0.93, 0.9, 0.8])
    table.loc[len(table)] = {**table.iloc[0].to_dict(), "architecture": "bad",
                             "status": "failed", "accuracy": None, "error": "boom"}
    table["key"] = [f"k{i}" for i in range(len(table))]
    table["layers"] = [[{"type": "conv", "n_kernels": 4}]] * len(table)
    path = tmp_path / "screen.jsonl"
    store = ResultsFile(path, "digits-cv3")
    for row in table.to_dict("records"):
        store.append(row)
    from_file, from_frame = summarize(path), summarize(table)
    columns = ["rank", "key", "architecture", "kernels", "head", "seed", "accuracy",
               "cost"]
    pd.testing.assert_frame_equal(from_file.table[columns], from_frame.table[columns],
                                  check_dtype=False)
    assert from_file.table["layers"][0] == [{"type": "conv", "n_kernels": 4}]
    assert list(from_file.failed["architecture"]) == ["bad"]
    assert from_file.rank_correlation.rho == pytest.approx(from_frame.rank_correlation.rho)
    assert summarize(str(path)).table.shape == from_file.table.shape


def test_results_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such results file"):
        summarize(tmp_path / "missing.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ValueError, match="holds no rows"):
        summarize(empty)
    mixed = tmp_path / "mixed.jsonl"
    row = {"architecture": "a", "kernels": "random", "head": "ridge", "seed": 0,
           "status": "ok", "accuracy": 0.5, "fit_time": 0.1, "transform_time": 0.1,
           "head_time": 0.1}
    ResultsFile(mixed, "one").append({**row, "key": "x"})
    with open(mixed, "a") as f:
        f.write('{"key": "y", "data_hash": "two"}\n')
    with pytest.raises(ValueError, match="mixes 2 data/protocols"):
        summarize(mixed)


def test_str_shows_top_rows_pareto_and_correlation():
    cheap = [0.80, 0.84, 0.90, 0.77, 0.88, 0.86, 0.79, 0.93, 0.85, 0.81]
    learned = [0.85, 0.86, 0.92, 0.80, 0.87, 0.90, 0.84, 0.95, 0.89, 0.82]
    summary = summarize(_pairs_table(cheap, learned))
    text = str(summary)
    lines = text.splitlines()
    assert lines[0] == "20 configurations: 20 scored, 0 failed"
    assert lines[2].split()[:6] == ["rank", "architecture", "kernels", "head", "seed",
                                    "accuracy"]
    ranked = lines[3:13]
    assert [float(line.split()[5]) for line in ranked] == sorted(
        (100 * a for a in cheap + learned), reverse=True)[:10]
    assert lines[13] == "... 10 more"
    assert "Pareto front of accuracy vs cost" in text
    assert re.search(r"^Spearman rank correlation random vs kmeans across 10 "
                     r"architectures: rho = 0\.\d\d \(p = [0-9.e-]+\)$", lines[-1])
    assert len(summary.to_string(top=None).splitlines()) > len(lines)


def test_format_table_handles_missing_numbers():
    rows = _rows([{"architecture": "a", "kernels": "random", "accuracy": 0.5,
                   "accuracy_std": None, "n_features": None}])
    line = format_table(summarize(rows).table).splitlines()[1]
    assert line.split()[5] == "50.00" and line.split()[7] == "-"


def test_single_split_rows_show_no_spread():
    import pandas as pd

    from featurelab.report import format_table, summarize

    rows = pd.DataFrame({
        "architecture": ["a", "b"], "kernels": "random", "head": "ridge", "seed": 0,
        "status": "ok", "accuracy": [0.9, 0.8], "accuracy_std": [0.0, 0.0],
        "fit_time": 0.1, "transform_time": 0.1, "head_time": 0.1,
        "n_features": 8, "n_params": 8, "n_splits": [1, 3]})
    lines = format_table(summarize(rows).table).splitlines()
    assert "90.00 ±     -" in lines[1]
    assert "80.00 ±  0.00" in lines[2]
