import subprocess
import sys

import numpy as np
import pytest

import featurelab
from featurelab.cli import build_parser, main, system_info


def test_info_prints_every_field(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for key in ("featurelab", "python", "backend", "numpy", "cupy", "blas", "device"):
        assert f"{key}:" in out
    assert featurelab.__version__ in out
    assert np.__version__ in out


def test_system_info_values():
    info = system_info()
    assert info["featurelab"] == featurelab.__version__
    assert info["backend"] in ("numpy", "cupy")
    assert info["numpy"] == np.__version__


def test_info_respects_backend_env(monkeypatch, capsys):
    monkeypatch.setenv("FEATURELAB_BACKEND", "numpy")
    main(["info"])
    assert "backend: numpy" in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: featurelab" in capsys.readouterr().out


def test_unknown_command_exits_with_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--version"])
    assert exc.value.code == 0
    assert featurelab.__version__ in capsys.readouterr().out


def test_python_dash_m_runs_info():
    result = subprocess.run(
        [sys.executable, "-m", "featurelab", "info"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert "featurelab: " + featurelab.__version__ in result.stdout


def test_info_reports_an_invalid_backend_instead_of_crashing(monkeypatch, capsys):
    monkeypatch.setenv("FEATURELAB_BACKEND", "gpu")
    assert main(["info"]) == 0
    assert "backend: unavailable: FEATURELAB_BACKEND must be one of" in capsys.readouterr().out


# ------------------------------------------------------- screen and report
_SPEC = """\
[data]
dataset = "digits"
subset = 240

[protocol]
cv = 3

[screen]
kernels = ["random", "kmeans"]
heads = ["ridge"]
seeds = [0]

[grid]
depth = [1]
n_kernels = [4, 8, 16]
size = [3]
"""


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    """A tiny digits screen run through `featurelab screen`: (spec, results, output)."""
    import contextlib
    import io

    directory = tmp_path_factory.mktemp("screen")
    spec = directory / "spec.toml"
    spec.write_text(_SPEC)
    results = directory / "tiny.jsonl"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["screen", str(spec), "--results", str(results), "--quiet"])
    assert status == 0
    return spec, results, out.getvalue()


def _copy(results, tmp_path):
    target = tmp_path / "copy.jsonl"
    target.write_bytes(results.read_bytes())
    return target


def test_screen_prints_correlation_and_writes_plots(screened):
    _, results, out = screened
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["rank", "architecture", "kernels"]
    accuracies = [float(line.split()[5]) for line in lines[1:7]]
    assert accuracies == sorted(accuracies, reverse=True)
    assert "6 of 6 configurations scored on digits" in out
    assert ("Spearman rank correlation random vs kmeans across 3 architectures: "
            "rho = ") in out
    plots = results.with_name("tiny_plots")
    assert (f"plots written to {plots}: pareto.png, rank_correlation.png, "
            f"kernels.png") in out
    for name in ("pareto.png", "rank_correlation.png", "kernels.png"):
        assert (plots / name).stat().st_size > 0


def test_screen_no_plots_and_plot_failure_keep_the_screen(screened, tmp_path, capsys,
                                                          monkeypatch):
    spec, results, _ = screened
    copy = _copy(results, tmp_path)    # finished: the screen only reads it
    assert main(["screen", str(spec), "--results", str(copy), "--quiet",
                 "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "6 of 6 configurations" in out and "plots written" not in out
    assert not (tmp_path / "copy_plots").exists()

    def broken(*args, **kwargs):
        raise ValueError("no room")

    monkeypatch.setattr("featurelab.plot.save_report_plots", broken)
    assert main(["screen", str(spec), "--results", str(copy), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("featurelab screen: warning: plots not written")
    assert "ValueError: no room" in err


def test_report_prints_the_summary_and_writes_plots(screened, tmp_path, capsys):
    _, results, _ = screened
    plots = tmp_path / "p"
    assert main(["report", str(results), "--plots", str(plots), "--top", "2"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "6 configurations: 6 scored, 0 failed"
    assert lines[2].split()[:3] == ["rank", "architecture", "kernels"]
    assert lines[5] == "... 4 more"
    assert "Pareto front of accuracy vs cost" in out
    assert "Spearman rank correlation random vs kmeans across 3 architectures" in out
    assert lines[-1] == f"plots written to {plots}: pareto.png, rank_correlation.png"
    assert sorted(p.name for p in plots.iterdir()) == ["pareto.png",
                                                       "rank_correlation.png"]


def test_report_default_plot_directory_and_kernels(screened, tmp_path, capsys):
    _, results, _ = screened
    copy = _copy(results, tmp_path)
    assert main(["report", str(copy), "--dataset", "digits"]) == 0
    plots = tmp_path / "copy_plots"
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"plots written to {plots}: pareto.png, rank_correlation.png, kernels.png")
    assert (plots / "kernels.png").stat().st_size > 0
    (tmp_path / "sub").mkdir()
    other = _copy(results, tmp_path / "sub")
    assert main(["report", str(other), "--no-plots"]) == 0
    assert "plots written" not in capsys.readouterr().out
    assert not (tmp_path / "sub" / "copy_plots").exists()


@pytest.mark.parametrize("argv, message", [
    (["report", "{tmp}/missing.jsonl"], "no such results file"),
    (["report", "{results}", "--learned", "pca"], "no scored row has kernels 'pca'"),
    (["report", "{results}", "--top", "0"], "--top must be >= 1"),
    (["report", "{results}", "--plots", "{tmp}/a-file"], "exists and is not a directory"),
    (["report", "{tmp}/corrupt.jsonl"], "is corrupt"),
])
def test_report_errors_are_one_line(screened, tmp_path, capsys, argv, message):
    _, results, _ = screened
    (tmp_path / "a-file").write_text("")
    (tmp_path / "corrupt.jsonl").write_text("not json\n")
    argv = [a.format(tmp=tmp_path, results=results) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("featurelab report: error:") and message in err
    assert len(err.splitlines()) == 1


def test_report_help_lists_its_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--plots", "--top", "--no-plots", "--learned", "--dataset"):
        assert option in out


# ------------------------------------------------------------------- bench
def test_bench_without_benchmarks_directory_is_a_one_line_error(tmp_path, capsys,
                                                                monkeypatch):
    monkeypatch.setattr("featurelab.cli.BENCHMARKS_DIR", tmp_path / "nowhere")
    assert main(["bench", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("featurelab bench: error: benchmarks directory")
    assert len(err.splitlines()) == 1


def test_bench_runs_each_script_with_quick_and_skips_ops_without_torch(
        tmp_path, capsys, monkeypatch):
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "bench_ops.py").write_text("print('ops ran')\n")
    (bench / "bench_kmeans.py").write_text(
        "import sys, os\n# accepts --quick\nprint('kmeans', sys.argv[1:], "
        "os.path.basename(os.getcwd()))\n")
    (bench / "bench_accuracy.py").write_text("import sys\nprint('accuracy', "
                                             "sys.argv[1:])\nsys.exit(3)\n")
    (bench / "bench_screen.py").write_text("print('screen ran')\n")
    (bench / "bench_methods.py").write_text("import sys\n# --quick\nprint('methods', "
                                            "sys.argv[1:])\n")
    monkeypatch.setattr("featurelab.cli.BENCHMARKS_DIR", bench)
    monkeypatch.setattr("featurelab.cli._has_torch", lambda: False)
    assert main(["bench", "--quick"]) == 1          # bench_accuracy.py failed
    out = capsys.readouterr().out
    assert "bench_ops.py: skipped, PyTorch" in out and "ops ran" not in out
    assert f"kmeans ['--quick'] {tmp_path.name}" in out   # run from the root
    assert "accuracy []" in out                     # no --quick option: not passed
    assert "screen ran" in out and "methods ['--quick']" in out
    assert "bench_accuracy.py failed (exit 3" in out

    monkeypatch.setattr("featurelab.cli._has_torch", lambda: True)
    (bench / "bench_accuracy.py").unlink()
    assert main(["bench"]) == 1
    out = capsys.readouterr().out
    assert "ops ran" in out and "kmeans []" in out
    assert "bench_accuracy.py: missing" in out


def test_bench_prints_one_table_of_the_targets_the_scripts_record(tmp_path, capsys,
                                                                    monkeypatch):
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    # a script records through benchmarks/bench_ops.py's record_target; the
    # fakes append the same JSON lines to the file the CLI names
    record = ("import json, os\n"
              "with open(os.environ['FEATURELAB_BENCH_TARGETS'], 'a') as f:\n"
              "    f.write(json.dumps({row}) + '\\n')\n")
    (bench / "bench_ops.py").write_text(record.format(row=repr(dict(
        case="conv2d case", featurelab=0.002, reference=0.004, reference_name="torch",
        unit="s", target="ratio <= 0.8", passed=True, gflops=123.4, peak=0.456))))
    (bench / "bench_memory.py").write_text(record.format(row=repr(dict(
        case="transform", featurelab=600.0, reference=512.0, reference_name="max_memory",
        unit="MB", target="peak <= 1.1 x budget", passed=False))))
    (bench / "peers.py").write_text(record.format(row=repr(dict(
        case="accuracy", featurelab=98.53, reference=97.4, reference_name="table",
        unit="%", target=">= 98.0 %", passed=True))))
    monkeypatch.setattr("featurelab.cli.BENCHMARKS_DIR", bench)
    monkeypatch.setattr("featurelab.cli._has_torch", lambda: True)
    assert main(["bench"]) == 1                     # the other scripts are missing
    out = capsys.readouterr().out
    table = out[out.index("## Targets"):]
    assert ("| conv2d case | 2.00 ms | torch: 4.00 ms | 0.50 | 123.4 | 46% | "
            "ratio <= 0.8 | pass |") in table
    assert ("| transform | 600 MB | max_memory: 512 MB | 1.17 | - | - | "
            "peak <= 1.1 x budget | FAIL |") in table
    assert "| accuracy | 98.53 % | table: 97.40 % | - | - | - | >= 98.0 % | pass |" in table
    assert "FEATURELAB_BENCH_TARGETS" not in __import__("os").environ


def test_record_target_writes_only_when_asked(tmp_path, monkeypatch):
    import importlib.util
    import json

    from featurelab.cli import BENCHMARKS_DIR, TARGETS_ENV

    spec = importlib.util.spec_from_file_location("bench_ops",
                                                  BENCHMARKS_DIR / "bench_ops.py")
    bench_ops = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_ops)
    monkeypatch.delenv(TARGETS_ENV, raising=False)
    bench_ops.record_target("a", 1.0, 2.0, "ratio <= 0.8", True)   # no file: no-op
    path = tmp_path / "t.jsonl"
    monkeypatch.setenv(TARGETS_ENV, str(path))
    bench_ops.record_target("a", 1.0, 2.0, "ratio <= 0.8", True, gflops=5.0)
    # NumPy scalars, as the scripts compute them, are written as plain JSON
    bench_ops.record_target("b", np.float32(1.5), np.float64(2.0), "ratio <= 0.8",
                            np.float64(0.75) <= 0.8, peak=np.float64(0.5))
    first, second = map(json.loads, path.read_text().splitlines())
    assert first["case"] == "a" and first["passed"] is True and first["gflops"] == 5.0
    assert second["passed"] is True and second["featurelab"] == 1.5
    assert second["peak"] == 0.5 and second["gflops"] is None


@pytest.mark.parametrize("flags, expected", [
    ([], ("512MB", None)),
    (["--cache-memory", "off"], (None, None)),
    (["--cache-memory", "0", "--cache-dir", "."], (0, ".")),
    (["--cache-memory", "2GB"], ("2GB", None)),
])
def test_screen_cache_flags_reach_the_engine(flags, expected, tmp_path, monkeypatch,
                                             capsys):
    import types

    import pandas as pd

    seen = {}

    def fake_screen(spec, **kwargs):
        seen.update(kwargs)
        return pd.DataFrame({"status": []})

    monkeypatch.setattr("featurelab.screen.screen", fake_screen)
    summary = types.SimpleNamespace(correlation_line=lambda: "")
    monkeypatch.setattr("featurelab.report.summarize", lambda table: summary)
    monkeypatch.setattr("featurelab.cli._ranked_table", lambda summary, top: "")
    assert main(["screen", "--quick", "--results", str(tmp_path / "r.jsonl"),
                 "--no-plots", "--quiet"] + flags) == 0
    assert (seen["cache_memory"], seen["cache_dir"]) == expected


def test_screen_bad_cache_memory_is_a_one_line_error(tmp_path, capsys):
    assert main(["screen", "--quick", "--results", str(tmp_path / "r.jsonl"),
                 "--cache-memory", "lots"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("featurelab screen: error: cache_memory")
    assert len(err.strip().splitlines()) == 1
