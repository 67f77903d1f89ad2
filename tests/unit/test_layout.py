"""The README's layout lists chalicelib's packages and modules exactly as they are on disk."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _readme_layout() -> dict[str, set[str]]:
    block = (ROOT / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1].split("\n## ", 1)[0]
    listed: dict[str, set[str]] = {}
    package = None
    for line in block.splitlines():
        named = re.match(r" {6}(\w+)/", line)
        if named:
            package = named.group(1)
            listed[package] = set()
        elif not line.startswith(" " * 7):  # a line at package level or above ends the list
            package = None
        if package:
            listed[package] |= set(re.findall(r"\b(\w+)\.py\b", line))
    return listed


def test_the_readme_layout_lists_the_packages_exactly_as_they_are():
    on_disk = {
        p.name: {m.stem for m in p.glob("*.py") if m.stem != "__init__"}
        for p in (ROOT / "chalicelib").iterdir()
        if (p / "__init__.py").exists()
    }
    assert _readme_layout() == on_disk
