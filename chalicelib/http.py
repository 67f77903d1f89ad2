"""HTTP plumbing kept out of app.py: problem+json rendering, body parsing, the route registry
that the OpenAPI document is generated from. No Chalice import: app.py adapts."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import BadRequest, Problem, UnsupportedMediaType

PROBLEM_TYPE = "application/problem+json"
# A JWT (header.payload.signature, the header always base64 of '{"'), or a credential after a scheme.
_SECRETS = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*|(?i:\b(bearer|basic)\s+)[^\s\"'\\,]+")
MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class RouteDoc:
    """What the OpenAPI document says about one route."""

    method: str
    path: str
    summary: str
    body: type | None = None
    query: dict[str, dict] = field(default_factory=dict)
    auth: str = "none"  # "none" | "optional" | "required"
    status: int = 200
    response: dict | None = None
    tag: str = "platform"


ROUTES: list[RouteDoc] = []


def problem_body(problem: Problem) -> tuple[int, dict[str, Any]]:
    return problem.status, problem.to_dict()


def generic_problem(status: int, detail: str) -> dict[str, Any]:
    titles = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
              405: "Method not allowed", 409: "Conflict", 413: "Payload too large",
              415: "Unsupported media type", 422: "Validation failed", 500: "Internal server error",
              503: "Service unavailable"}
    title = titles.get(status, "Error")
    return {"type": f"/problems/{title.lower().replace(' ', '-')}", "title": title, "status": status,
            "detail": detail}


def json_body(raw: bytes | None, content_type: str | None) -> Any:
    """The request's JSON body; 400/413/415 problems for what cannot be read."""
    if raw is None or raw == b"":
        raise BadRequest("A JSON body is required", errors=[{"field": "", "message": "missing body"}])
    if len(raw) > MAX_BODY_BYTES:
        from .errors import PayloadTooLarge
        raise PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes")
    if content_type and "json" not in content_type.lower():
        raise UnsupportedMediaType("Send the body as application/json")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"The body is not valid UTF-8 JSON: {exc}",
                         errors=[{"field": "", "message": "malformed JSON"}]) from None


def redacted_json(log: dict) -> str:
    """Powertools' log serializer with tokens cut out, whatever carried them (an exception, a header)."""
    text = json.dumps(log, default=str, separators=(",", ":"), ensure_ascii=False)
    return _SECRETS.sub(lambda m: f"{m.group(1)} [redacted]" if m.group(1) else "[redacted-jwt]", text)
