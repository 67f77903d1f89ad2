"""`import app`, what every Lambda cold start pays, loads no dev tool and nothing a Lambda never uses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Heavy, or of no use to a Lambda at import: the export workbook writer (openpyxl, loaded by the
# export routes), the fuzzer, moto, hypothesis, pytest, the template linter and translator, the
# local stack, the suite itself, and babel's locale data.
DENIED = (
    "openpyxl",
    "schemathesis",
    "moto",
    "hypothesis",
    "pytest",
    "_pytest",
    "cfnlint",
    "samtranslator",
    "local_stack",
    "tests",
    "babel",
)


def imported_by(module: str, roots: tuple[str, ...]) -> list[str]:
    """The modules under `roots` that `import module` loads in a fresh interpreter, as Lambda starts one."""
    probe = (
        f"import sys; import {module}; "
        f"print(*sorted(m for m in sys.modules if m.split('.')[0] in {set(roots)!r}))"
    )
    # Only what Lambda sets: no NAVI_* stage, no endpoint overrides, no PYTHONPATH from this run.
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "cn-north-1"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_import_app_loads_no_dev_tool():
    assert imported_by("app", DENIED) == []


def test_the_probe_sees_a_library_app_imports_deep_down():
    # pynamodb comes in through chalicelib.core.models, two imports below app.py
    assert "pynamodb.models" in imported_by("app", ("pynamodb",))
