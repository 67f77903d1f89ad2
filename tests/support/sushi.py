"""COUNTER_SUSHI 5.1 helpers: validate an answer against the vendored COUNTER schema subset."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA = json.loads((Path(__file__).parent / "counter_sushi_r51.schema.json").read_text("utf-8"))


def schema_errors(document, model: str) -> list[str]:
    """What makes `document` not a valid `model` ($defs name: PR, IR, Status_List, Error_400...)."""
    validator = Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{model}"}, format_checker=FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
