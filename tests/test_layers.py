"""The layer contracts of .importlinter (docs/architecture.md): they hold, and they catch a breach."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PACKAGES = ("recgen", "components", "trainer", "pipelines", "serving")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` over the packages under ``root`` (it puts the working directory first on sys.path)."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True)


def test_the_project_keeps_every_layer_contract():
    result = lint_imports(PROJECT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def project_copy(tmp_path):
    for package in PACKAGES:
        shutil.copytree(PROJECT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT / ".importlinter", tmp_path)
    return tmp_path


@pytest.mark.parametrize("module, statement, broken", [
    # A function-level import counts as much as a module-level one.
    ("serving/mmr.py", "def _late():\n    import trainer.config\n", "serving is not allowed to import trainer"),
    ("serving/recommender.py", "from pipelines import recgen_pipeline\n", "serving is not allowed to import pipelines"),
    ("recgen/contracts/features.py", "import recgen.data\n", "recgen.contracts is not allowed to import recgen.data"),
    ("trainer/config.py", "import components.artifacts\n", "trainer is not allowed to import components"),
])
def test_an_import_across_a_layer_fails(project_copy, module, statement, broken):
    path = project_copy / module
    path.write_text(path.read_text() + "\n\n" + statement)
    result = lint_imports(project_copy)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout
