"""The capability packages import only downward and only the HTTP layer imports Chalice, checked by
import-linter's contracts in pyproject.toml."""

import shutil
import subprocess
import sys
import tomllib
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


def _lint_with(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess:
    """lint-imports over a copy of chalicelib whose `module` (a path under it) ends with `line`."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(
        ROOT / "chalicelib", tmp_path / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    changed = tmp_path / "chalicelib" / module
    changed.write_text(changed.read_text() + f"\n{line}  # noqa\n")
    return _lint(tmp_path)


def test_an_import_against_the_layers_breaks_the_contract(tmp_path):
    result = _lint_with(tmp_path, "core/clock.py", "from chalicelib.usage import robots")
    assert result.returncode != 0 and "chalicelib.core.clock -> chalicelib.usage.robots" in result.stdout


def test_a_domain_module_importing_chalice_breaks_the_contract(tmp_path):
    result = _lint_with(tmp_path, "scoring/scheme.py", "import chalice")
    assert result.returncode != 0 and "chalicelib.scoring.scheme -> chalice" in result.stdout


def test_every_package_but_the_http_layer_is_barred_from_chalice():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    barred = next(c for c in contracts["contracts"] if c.get("forbidden_modules") == ["chalice"])
    lib = ROOT / "chalicelib"
    packages = {f"chalicelib.{p.name}" for p in lib.iterdir() if (p / "__init__.py").exists()}
    modules = {f"chalicelib.{m.stem}" for m in lib.glob("*.py") if m.stem != "__init__"}
    assert set(barred["source_modules"]) == (packages | modules) - {"chalicelib.api"}
