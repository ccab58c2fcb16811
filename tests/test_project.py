"""The set-up promised by the README is what CI runs."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)


def test_readme_has_exactly_two_setup_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("&& featurelab screen") and "pip install" in commands[0]
    assert "pytest" in commands[1] and ".[test]" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _readme_commands()[1] in ci.splitlines()


def test_notebooks_are_committed_without_outputs():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no tutorial notebook found"
    for path in notebooks:
        cells = json.loads(path.read_text())["cells"]
        for cell in cells:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [], f"{path.name} has committed outputs"
                assert cell["execution_count"] is None


def _readme_examples():
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", readme, flags=re.S)


def test_readme_has_two_python_examples():
    assert len(_readme_examples()) == 2


def test_readme_ops_example_runs():
    namespace = {}
    exec(compile(_readme_examples()[0], "README.md", "exec"), namespace)
    assert namespace["maps"].shape == (10, 64, 32, 32)
    assert namespace["pooled"].shape == (10, 64, 16, 16)
    assert namespace["features"].shape == (10, 256)


def test_readme_network_example_runs(capsys):
    namespace = {}
    exec(compile(_readme_examples()[1], "README.md", "exec"), namespace)
    result = namespace["result"]
    assert result.n_splits == 5 and result.n_features == 64 * 4
    assert result.accuracy > 0.97
    assert "accuracy" in capsys.readouterr().out
