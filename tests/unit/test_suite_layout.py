"""The suite's own layout: helpers shared between test modules live in tests/support, and what the
unit tests take from there stays free of moto."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEVELS = ("unit", "integration", "e2e")


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports from, at any depth (function-local imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_no_test_module_imports_another_test_module():
    offending = {
        str(path.relative_to(ROOT)): sorted(
            m
            for m in _imported_modules(path)
            if m.split(".")[:2] in (["tests", level] for level in LEVELS)
            and m.split(".")[-1].startswith("test_")
        )
        for path in (ROOT / "tests").rglob("*.py")
    }
    assert {path: modules for path, modules in offending.items() if modules} == {}, (
        "move the shared helper to tests/support"
    )


def test_the_support_the_unit_tests_use_does_not_import_moto():
    named = {
        m
        for path in (ROOT / "tests" / "unit").glob("test_*.py")
        for m in _imported_modules(path)
        if m.startswith("tests.support")
    }
    # `from tests.support.x import name` also names `tests.support.x.name`: keep the modules only
    modules = sorted(
        m
        for m in named
        if (ROOT / (m.replace(".", "/") + ".py")).exists()
        or (ROOT / m.replace(".", "/") / "__init__.py").exists()
    )
    probe = f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}]; print('moto' in sys.modules)"
    answer = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert answer.stdout.strip() == "False", modules


def test_no_support_module_shadows_a_name_tests_support_holds():
    # importing tests.support.x sets the package's attribute x: a module named like a helper
    # (tests/support/auth.py once did) replaces that helper for every function of the package
    holds = {
        name
        for node in ast.walk(ast.parse((ROOT / "tests" / "support" / "__init__.py").read_text("utf-8")))
        for name in (
            [a.asname or a.name for a in node.names]
            if isinstance(node, ast.ImportFrom)
            else [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            + ([node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else [])
        )
    }
    modules = {path.stem for path in (ROOT / "tests" / "support").glob("*.py")} - {"__init__"}
    assert modules & holds == set()
