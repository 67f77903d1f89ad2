"""Domain errors. Each maps to one RFC 9457 problem; chalicelib/api renders them in the request's language
(title and detail are core/messages.py Messages: English, with their catalogue id)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.messages import Message


class Problem(Exception):
    """A refusal the caller can act on: rendered as application/problem+json."""

    status = 400
    title = Message("Bad request")
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


def _problem(name: str, status: int, title: Message) -> type[Problem]:
    slug = title.lower().replace(" ", "-")
    return type(name, (Problem,), {"status": status, "title": title, "type": f"/problems/{slug}"})


BadRequest = _problem("BadRequest", 400, Message("Bad request"))
Unauthorized = _problem("Unauthorized", 401, Message("Unauthorized"))
Forbidden = _problem("Forbidden", 403, Message("Forbidden"))
NotFound = _problem("NotFound", 404, Message("Not found"))
Conflict = _problem("Conflict", 409, Message("Conflict"))
PayloadTooLarge = _problem("PayloadTooLarge", 413, Message("Payload too large"))
UnsupportedMediaType = _problem("UnsupportedMediaType", 415, Message("Unsupported media type"))
Invalid = _problem("Invalid", 422, Message("Validation failed"))
TooManyRequests = _problem("TooManyRequests", 429, Message("Too many requests"))
