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
