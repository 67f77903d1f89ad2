"""No function in chalicelib/ or local_stack/ is longer than 60 lines, counted from its `def` line to
its last line (as `ruff format` leaves it; decorators and the blank lines after it are not counted)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TREES = ("chalicelib", "local_stack")
MAX_LINES = 60


def _function_lengths() -> dict[str, int]:
    """Every function and method of both trees (nested ones included): `path::name` -> lines."""
    lengths: dict[str, int] = {}
    for tree in TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=where)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    name = f"{where}::{node.name}"
                    lengths[name] = max(lengths.get(name, 0), node.end_lineno - node.lineno + 1)
    return lengths


def test_no_function_is_longer_than_60_lines():
    too_long = {name: lines for name, lines in _function_lengths().items() if lines > MAX_LINES}
    assert not too_long, "split these into named steps (def line to last line, at most 60):\n" + "\n".join(
        f"{name} ({lines} lines)" for name, lines in sorted(too_long.items())
    )
