"""The capability packages import only downward, checked by import-linter's contracts in pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", "pyproject.toml"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_import_runs_down_the_layers_and_the_domain_imports_no_chalice_or_dev_tool():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_import_against_the_layers_breaks_the_contract(tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(
        ROOT / "chalicelib", tmp_path / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    clock = tmp_path / "chalicelib" / "core" / "clock.py"
    clock.write_text(clock.read_text() + "\nfrom chalicelib.usage import robots  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode != 0 and "chalicelib.core.clock -> chalicelib.usage.robots" in result.stdout
