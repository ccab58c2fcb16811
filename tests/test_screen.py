"""Tests of featurelab.screen (the screening engine) and `featurelab screen`."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from featurelab import screen as screen_module
from featurelab.cli import main
from featurelab.evaluate import evaluate
from featurelab.screen import COLUMNS, load_screen_data, screen
from featurelab.spec import build_network, load_spec


def _spec(**data):
    return {
        "data": {"dataset": "digits", "subset": 240, **data},
        "protocol": {"cv": 3, "seed": 0},
        "screen": {"kernels": ["random", "kmeans"], "heads": ["ridge"], "seeds": [0]},
        "architecture": [
            {"name": "k4", "output": "flatten",
             "layers": [{"type": "conv", "n_kernels": 4, "size": 3, "n_patches": 200}]},
            {"name": "k8-pool", "layers": [
                {"type": "conv", "n_kernels": 8, "size": 3, "padding": "same",
                 "n_patches": 200, "pool": ["max", 2]}]},
        ],
    }


def _toml(path):
    path.write_text(
        '[data]\ndataset = "digits"\nsubset = 240\n\n'
        '[protocol]\ncv = 3\n\n'
        '[screen]\nkernels = ["random"]\nheads = ["ridge"]\nseeds = [0, 1, 2, 3, 4, 5]\n\n'
        '[[architecture]]\nname = "k4"\n'
        'layers = [{ type = "conv", n_kernels = 4, size = 3 }]\n'
    )
    return path


def test_rows_equal_evaluate_of_each_configuration(tmp_path):
    spec = load_spec(_spec())
    table = screen(spec, results=tmp_path / "r.jsonl", verbose=False)
    assert list(table.columns[:len(COLUMNS)]) == list(COLUMNS)
    assert len(table) == len(spec.configurations()) == 4
    assert (table["status"] == "ok").all()
    X, y = load_screen_data(spec)
    for config, row in zip(spec.configurations(), table.itertuples()):
        expected = evaluate(build_network(config), X, y, head="ridge",
                            cv=StratifiedKFold(3, shuffle=True, random_state=0),
                            random_state=config["seed"])
        assert row.key == config["key"]
        np.testing.assert_allclose(row.scores, expected.scores)
        assert row.n_features == expected.n_features
        assert row.peak_memory > 0
    # parameters from the shapes: K * C * k * k
    assert table.set_index("architecture")["n_params"].to_dict() == {"k4": 36, "k8-pool": 72}


def test_resume_skips_finished_configurations(tmp_path, monkeypatch):
    results = tmp_path / "r.jsonl"
    first = screen(_spec(), results=results, verbose=False)
    lines = results.read_text().splitlines()
    assert len(lines) == 4

    def fail(*args, **kwargs):
        raise AssertionError("a finished configuration was run again")

    monkeypatch.setattr(screen_module, "run_configuration", fail)
    again = screen(_spec(), results=results, verbose=False)
    assert results.read_text().splitlines() == lines
    assert list(again["accuracy"]) == list(first["accuracy"])


def test_resume_false_starts_afresh(tmp_path):
    results = tmp_path / "r.jsonl"
    screen(_spec(), results=results, verbose=False)
    screen(_spec(), results=results, verbose=False, resume=False)
    assert len(results.read_text().splitlines()) == 4


def test_extending_a_spec_runs_only_the_new_configurations(tmp_path):
    results = tmp_path / "r.jsonl"
    spec = _spec()
    spec["screen"]["kernels"] = ["random"]
    screen(spec, results=results, verbose=False)
    assert len(results.read_text().splitlines()) == 2
    spec["screen"]["seeds"] = [0, 1]
    table = screen(spec, results=results, verbose=False)
    assert len(table) == 4
    assert len(results.read_text().splitlines()) == 4


def test_results_of_another_dataset_are_refused(tmp_path):
    results = tmp_path / "r.jsonl"
    screen(_spec(), results=results, verbose=False)
    with pytest.raises(ValueError, match="different data"):
        screen(_spec(subset=200), results=results, verbose=False)


def test_failed_configuration_is_recorded_and_the_screen_goes_on(tmp_path):
    spec = _spec()
    spec["screen"]["kernels"] = ["random"]
    spec["architecture"].append({"name": "too-big", "layers": [
        {"type": "conv", "n_kernels": 4, "size": 5},
        {"type": "conv", "n_kernels": 4, "size": 5}]})
    table = screen(spec, results=tmp_path / "r.jsonl", verbose=False)
    by_name = table.set_index("architecture")
    assert by_name.loc["too-big", "status"] == "failed"
    assert "layers[1]: size" in by_name.loc["too-big", "error"]
    assert (by_name.drop("too-big")["status"] == "ok").all()
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok", "failed"]


def test_parallel_workers_give_the_same_results(tmp_path):
    serial = screen(_spec(), results=None, verbose=False)
    parallel = screen(_spec(), results=tmp_path / "p.jsonl", n_jobs=2, verbose=False)
    assert list(parallel["key"]) == list(serial["key"])
    np.testing.assert_array_equal(parallel["accuracy"], serial["accuracy"])


def test_dask_local_cluster_gives_the_same_results(tmp_path):
    pytest.importorskip("distributed")
    serial = screen(_spec(), results=None, verbose=False)
    dask = screen(_spec(), results=tmp_path / "d.jsonl", scheduler="local", verbose=False)
    np.testing.assert_array_equal(dask["accuracy"], serial["accuracy"])
    assert len((tmp_path / "d.jsonl").read_text().splitlines()) == 4


def test_progress_bar_reports_best(tmp_path, capsys):
    screen(_spec(), results=None, verbose=True)
    err = capsys.readouterr().err
    assert "screen" in err and "4/4" in err and "best=" in err


@pytest.mark.parametrize("kw, error, match", [
    ({"n_jobs": 0}, ValueError, "n_jobs must be -1 or >= 1"),
    ({"n_jobs": 1.5}, TypeError, "n_jobs must be an int"),
    ({"resume": "yes"}, TypeError, "resume must be True or False"),
    ({"verbose": 1}, TypeError, "verbose must be True or False"),
])
def test_bad_arguments(kw, error, match):
    with pytest.raises(error, match=match):
        screen(_spec(), results=None, **kw)


def test_bad_dataset_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        screen(_spec(dataset=str(tmp_path / "missing.npz")), results=None)
    np.savez(tmp_path / "bad.npz", X=np.zeros((3, 1, 8, 8)))
    with pytest.raises(ValueError, match="must hold arrays 'X' and 'y'"):
        screen(_spec(dataset=str(tmp_path / "bad.npz")), results=None)


def test_npz_dataset(tmp_path):
    from featurelab.datasets import load_digits_images

    X, y = load_digits_images()
    np.savez(tmp_path / "d.npz", X=X[:240], y=y[:240])
    table = screen(_spec(dataset=str(tmp_path / "d.npz")), results=None, verbose=False)
    reference = screen(_spec(), results=None, verbose=False)
    np.testing.assert_array_equal(table["accuracy"], reference["accuracy"])


# ----------------------------------------------------------------------- CLI
def test_cli_screen_prints_a_ranked_table(tmp_path, capsys):
    spec = _toml(tmp_path / "spec.toml")
    results = tmp_path / "r.jsonl"
    assert main(["screen", str(spec), "--results", str(results), "--quiet"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["rank", "architecture", "kernels"]
    accuracies = [float(line.split()[5]) for line in lines[1:7]]
    assert accuracies == sorted(accuracies, reverse=True)
    assert "6 of 6 configurations scored on digits" in out
    assert len(results.read_text().splitlines()) == 6


def test_cli_bad_spec_is_a_one_line_error(tmp_path, capsys):
    assert main(["screen", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("featurelab screen: error:") and len(err.splitlines()) == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("[data]\ndataset = 3\n")
    assert main(["screen", str(bad)]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_screen_killed_mid_run_resumes_without_loss_or_duplicates(tmp_path):
    spec = _toml(tmp_path / "spec.toml")
    results = tmp_path / "r.jsonl"
    command = [sys.executable, "-m", "featurelab", "screen", str(spec),
               "--results", str(results), "--quiet"]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and len(results.read_bytes().splitlines()) >= 2:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    complete = results.read_text().split("\n")[:-1]  # a torn last line has no "\n"
    done_before = [json.loads(line)["key"] for line in complete]
    assert 2 <= len(done_before) <= 6
    finished = subprocess.run(command, capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=300)
    assert finished.returncode == 0, finished.stderr
    keys = [json.loads(line)["key"] for line in results.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 6
    assert keys[:len(done_before)] == done_before
