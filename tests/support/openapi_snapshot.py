"""The OpenAPI document's operations in a reviewable form (one line each, in document order), and the
stored snapshot they are held to: a route whose path, method, summary, status, media types, roles or
tag changes fails tests/unit/test_openapi_snapshot.py. After a deliberate change or addition:

    .venv/bin/python -m tests.support.openapi_snapshot     # rewrites tests/support/openapi_operations.jsonl
"""

from __future__ import annotations

import json
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("openapi_operations.jsonl")


def current_document() -> dict:
    """The document /openapi.json answers, built from the registry the app fills on import."""
    import app  # noqa: F401  (registers every route)
    from chalicelib.core import openapi
    from chalicelib.core.route_registry import ROUTES

    return openapi.document(ROUTES)


def operations(document: dict) -> list[dict]:
    """One entry per operation: what a client relies on, without the schemas' bodies (a CORS preflight,
    the same on every path, by its place only)."""
    return [
        _entry(method, path, op) if method != "options" else {"op": f"OPTIONS {path}"}
        for path, methods in document["paths"].items()
        for method, op in methods.items()
    ]


def _entry(method: str, path: str, op: dict) -> dict:
    answers = op["responses"]
    return {
        "op": f"{method.upper()} {path}",
        "id": op["operationId"],
        "tags": op["tags"],
        "summary": op["summary"],
        "roles": op.get("x-roles"),
        "security": op.get("security"),
        "query": [p["name"] for p in op["parameters"] if p["in"] == "query"],
        "body": op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema"),
        "success": {code: sorted(a.get("content", {})) for code, a in answers.items() if code[0] in "23"},
        "refusals": [code for code in answers if code[0] not in "23"],
    }


def stored() -> list[dict]:
    return [json.loads(line) for line in SNAPSHOT.read_text(encoding="utf-8").splitlines()]


def write() -> None:
    lines = [json.dumps(entry, ensure_ascii=False) for entry in operations(current_document())]
    SNAPSHOT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write()
