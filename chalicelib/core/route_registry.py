"""The route registry: what the OpenAPI document says of each route the app registers
(chalicelib/api/routing.py fills it, chalicelib/core/openapi.py reads it)."""

from __future__ import annotations

from dataclasses import dataclass, field

JSON_TYPE = "application/json"


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
    roles: tuple[str, ...] = ()  # who may call it (checked before the body); empty: anyone the auth admits
    media: tuple[str, ...] = (JSON_TYPE,)  # what a success answers (a 303 or 204 answers no body)
    errors: dict | None = (
        None  # a protocol's own JSON error body (COUNTER_SUSHI's Exception) instead of a problem
    )


# Every route in the order the app registers it; the document lists paths in this order.
ROUTES: list[RouteDoc] = []
