"""What a handler reads from the request being served (the caller, the body, query parameters, a
list's paging) and the process's services and clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice import Chalice
from chalice.app import Request

from chalicelib import composition
from chalicelib.core.auth import Caller
from chalicelib.core.paging import computed_page, parse_limit, scope_of
from chalicelib.core.request_parsing import json_body, param
from chalicelib.core.schemas import parse

# The app the capability blueprints are registered on (routing.register): Chalice keeps the request
# being served on it, and a blueprint reads it from there too.
_served: list[Chalice] = []


def bind(app: Chalice) -> None:
    _served[:] = [app]


def request() -> Request:
    return _served[0].current_request


def services() -> composition.Services:
    return composition.services()


def now() -> datetime:
    return services().clock.now()


def cursor_secret() -> str:
    return services().settings.cursor_secret


def caller() -> Caller | None:
    served = request()
    if hasattr(served, "navi_caller"):  # the token is decoded once per request
        return served.navi_caller
    served.navi_caller = services().authenticator.caller(served.headers.get("authorization"))
    return served.navi_caller


def body(model):
    served = request()
    return parse(model, json_body(served.raw_body, served.headers.get("content-type")))


def optional_body(model):
    """The body, or the model's defaults when the request has none."""
    return body(model) if request().raw_body else model()


def user_agent() -> str | None:
    return request().headers.get("user-agent")


def query(name: str, kind: str) -> str | None:
    """A query parameter in its declared format (chalicelib.core.request_parsing.PARAM_FORMATS); 422 otherwise."""
    return param(name, (request().query_params or {}).get(name), kind)


def flag(name: str) -> bool:
    return query(name, "flag") == "true"


def filters(declared: dict[str, str]) -> dict[str, str | None]:
    """The list filters of the query string, each checked against its declared format."""
    return {name: query(name, kind) for name, kind in declared.items()}


def paging() -> tuple[int, str | None, str]:
    """limit, cursor and the stage's cursor secret: what every list's domain function pages with."""
    limit = parse_limit((request().query_params or {}).get("limit"))
    return limit, query("cursor", "cursor"), cursor_secret()


def reference_page(name: str, items: list[Any]) -> dict:
    """A page of a reference list (a few dozen entries known to the code, in their fixed order): paged
    like every list."""
    page_limit, cursor, secret = paging()
    page = computed_page(
        enumerate(items), page_limit, cursor, scope_of(name), secret, lambda pair: (pair[0],)
    )
    return page.to_dict(lambda pair: pair[1])
