"""route(): registers a handler on its capability's blueprint, records it for the OpenAPI document,
checks its path parameters and roles before it runs and renders Problems; and the CORS preflight
every path answers."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Chalice, Response

from chalicelib.api import current
from chalicelib.api.responses import json_response, problem_response
from chalicelib.core import cors
from chalicelib.core.auth import admit
from chalicelib.core.errors import Problem
from chalicelib.core.messages import Message
from chalicelib.core.paging import DEFAULT_LIMIT, MAX_LIMIT
from chalicelib.core.problems import generic_problem, problem_body
from chalicelib.core.request_parsing import PATH_PARAMS, param, param_schema
from chalicelib.core.route_registry import JSON_TYPE, ROUTES, RouteDoc

# Every list's query: `limit` (1..MAX_LIMIT, default 50) and the opaque `cursor` of the page before.
LIST_QUERY = {
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    "cursor": param_schema("cursor"),
}


def documented(filters: dict[str, str]) -> dict[str, dict]:
    """The OpenAPI query parameters of list filters, each in its declared format."""
    return {name: param_schema(kind) for name, kind in filters.items()}


class Routes:
    """One capability's routes: the Chalice blueprint that serves them and what the OpenAPI
    document says of each, in declaration order (the registry takes them on registration)."""

    def __init__(self, import_name: str):
        self.blueprint = Blueprint(import_name)
        self.docs: list[RouteDoc] = []
        self._preflights: set[str] = set()

    def route(
        self,
        path: str,
        method: str,
        summary: str,
        *,
        roles: tuple[str, ...] = (),
        body: type | None = None,
        query: dict | None = None,
        auth: str = "optional",
        status: int = 200,
        tag: str = "platform",
        response: dict | None = None,
        media: tuple[str, ...] = (JSON_TYPE,),
        errors: dict | None = None,
    ) -> Callable[[Callable[..., Any]], Any]:
        """Register a route, record it for the OpenAPI document, render Problems.

        `roles`: who may call it, the one role check of the API; anyone else is refused (401
        anonymous, 403 another role) before the handler runs, so before its body is judged.
        Declaring roles makes the token required. Checks that depend on the record (the filing's
        province, the caller's own organisation...) stay in the domain.
        `media`: the media types a success answers, each documented (a 303 or 204 answers none).
        `errors`: the JSON schema of a protocol's own error body, where it answers no problem (SUSHI)."""
        if roles:
            auth = "required"
        media = () if status in (204, 303) else tuple(media)
        self.docs.append(
            RouteDoc(
                method,
                path,
                summary,
                body,
                query or {},
                auth,
                status,
                response,
                tag=tag,
                roles=tuple(roles),
                media=media,
                errors=errors,
            )
        )
        path_params = {
            name: PATH_PARAMS[name] for name in re.findall(r"{(\w+)}", path)
        }  # KeyError: declare it
        self._preflight(path)
        guard = _guarded(path_params, auth == "required", tuple(roles), status)
        # Accept any content type here so a wrong one gets our 415 problem, not Chalice's.
        return lambda view: self.blueprint.route(path, methods=[method], content_types=["*/*"])(guard(view))

    def _preflight(self, path: str) -> None:
        """Register the OPTIONS handler of `path` once; it answers CORS preflights."""
        if path in self._preflights:
            return
        self._preflights.add(path)
        self.docs.append(
            RouteDoc(
                "OPTIONS",
                path,
                "CORS preflight: allowed for the stage's portal origins",
                auth="none",
                status=204,
                tag="platform",
            )
        )
        blueprint = self.blueprint

        def preflight(**_params):
            allowed = sorted(m for m in blueprint.current_app.routes[path] if m != "OPTIONS") + ["OPTIONS"]
            return _preflight_answer(current.request(), allowed)

        preflight.__name__ = "preflight_" + (re.sub(r"\W+", "_", path).strip("_") or "root")
        blueprint.route(path, methods=["OPTIONS"], content_types=["*/*"])(preflight)


def _guarded(path_params: dict[str, str], token_required: bool, roles: tuple[str, ...], status: int):
    """The wrapper of a view: path parameters in their formats, then the caller's role, then the view;
    a Problem anywhere is its problem+json answer."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def handle(**params):
            try:
                for name, kind in path_params.items():
                    param(name, params[name], kind)
                # A write without a good token is 401 before its body is even read.
                if token_required:
                    admit(current.caller(), roles)  # the one role check of the API's routes
                answer = view(**params)
                return answer if isinstance(answer, Response) else json_response(answer, status)
            except Problem as problem:
                return problem_response(*problem_body(problem))

        return handle

    return decorate


def _preflight_answer(request: Any, allowed: list[str]) -> Response:
    """204 with the CORS headers for one of the stage's portal origins, else a 403 problem."""
    headers = cors.preflight_headers(
        request.headers.get("origin"),
        request.headers.get("access-control-request-method"),
        allowed,
        current.services().settings.cors_origins,
    )
    if headers is None:
        return problem_response(
            403,
            generic_problem(403, Message("This origin may not call the API from a browser")),
            {"Allow": ", ".join(allowed)},
        )
    return Response(body="", status_code=204, headers={"Allow": ", ".join(allowed), **headers})


def register(app: Chalice, *capabilities: Routes) -> None:
    """Serve each capability's routes on `app`; the registry (and so the OpenAPI document) lists them
    in this order."""
    current.bind(app)
    for routes in capabilities:
        app.register_blueprint(routes.blueprint)
        ROUTES.extend(routes.docs)
