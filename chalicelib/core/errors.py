"""Domain errors. Each maps to one RFC 9457 problem; chalicelib/api renders them."""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    """A refusal the caller can act on: rendered as application/problem+json."""

    status = 400
    title = "Bad request"
    type = "about:blank"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def _problem(name: str, status: int, title: str) -> type[Problem]:
    slug = title.lower().replace(" ", "-")
    return type(name, (Problem,), {"status": status, "title": title, "type": f"/problems/{slug}"})


BadRequest = _problem("BadRequest", 400, "Bad request")
Unauthorized = _problem("Unauthorized", 401, "Unauthorized")
Forbidden = _problem("Forbidden", 403, "Forbidden")
NotFound = _problem("NotFound", 404, "Not found")
Conflict = _problem("Conflict", 409, "Conflict")
PayloadTooLarge = _problem("PayloadTooLarge", 413, "Payload too large")
UnsupportedMediaType = _problem("UnsupportedMediaType", 415, "Unsupported media type")
Invalid = _problem("Invalid", 422, "Validation failed")
TooManyRequests = _problem("TooManyRequests", 429, "Too many requests")
