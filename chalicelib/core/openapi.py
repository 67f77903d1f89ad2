"""The OpenAPI 3.1 document, generated from the route registry and the pydantic request models."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chalicelib.core.request_parsing import PATH_PARAMS, param_schema
from chalicelib.core.route_registry import JSON_TYPE, RouteDoc

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


# What a body of each non-JSON media type is; anything else a route answers is a binary file.
TEXT_MEDIA = {
    "text/csv": "CSV (RFC 4180), UTF-8 with a byte-order mark, a header row first",
    "text/tab-separated-values": "COUNTER R5.1 tabular report, UTF-8, tab-separated",
    "text/html": "an HTML page",
    "text/css": "a style sheet",
    "text/javascript": "a script",
}
PAGE_SCHEMA = {
    "type": "object",
    "required": ["items", "next_cursor"],
    "properties": {"items": {"type": "array"}, "next_cursor": {"type": ["string", "null"]}},
}


def _success(r: RouteDoc) -> dict:
    """The success answer of `r`: each media type it declares with its schema, or a redirect."""
    if r.status == 303:
        return {
            "description": "See Other: follow Location (a short-lived URL) for the file",
            "headers": {"Location": {"required": True, "schema": {"type": "string", "format": "uri"}}},
        }
    if r.status == 204 or not r.media:
        return {"description": "Success"}
    content = {}
    for media in r.media:
        bare = media.split(";")[0].strip()
        if bare == JSON_TYPE:
            schema = r.response or (PAGE_SCHEMA if "cursor" in r.query else {"type": "object"})
        elif bare in TEXT_MEDIA:
            schema = {"type": "string", "description": TEXT_MEDIA[bare]}
        else:
            schema = {"type": "string", "format": "binary", "contentMediaType": bare}
        content[bare] = {"schema": schema}
    return {"description": "Success", "content": content}


def _refusal(r: RouteDoc) -> Callable[[str], dict]:
    """How `r` answers a refusal: a problem, or the protocol's own error body the route declares."""
    if r.errors is not None:
        return lambda description: {"description": description, "content": {JSON_TYPE: {"schema": r.errors}}}
    return lambda description: {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def document(routes: list[RouteDoc]) -> dict[str, Any]:
    """The whole document; paths equal the routes the app registers (chalicelib/api), in that order."""
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, dict] = {}
    for r in routes:
        paths.setdefault(r.path, {})[r.method.lower()] = _operation(r, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "patentnavi-eval",
            "version": "1.0.0",
            "description": "National patent-navigation evaluation platform: filings, interactions, "
            "running counters and year-end provincial scores.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _operation(r: RouteDoc, schemas: dict[str, Any]) -> dict[str, Any]:
    """One route's operation; the body models it names join `schemas`."""
    _problem = _refusal(r)
    op: dict[str, Any] = {
        "summary": r.summary,
        "operationId": f"{r.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', r.path.lower()).strip('_') or 'root'}",
        "tags": [r.tag],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": param_schema(PATH_PARAMS[name])}
            for name in re.findall(r"{(\w+)}", r.path)
        ]
        + [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in r.query.items()
        ],
        "responses": {
            str(r.status): _success(r),
            "400": _problem("Malformed request"),
            "404": _problem("Not found"),
            # Every other refusal (405, 406, 413, 431, 503...) is a problem too.
            "default": _problem("Refused: the status and detail say why"),
        },
    }
    if r.roles:
        # Machine-readable for generated clients, and a line a reader of the rendered docs sees.
        op["x-roles"] = list(r.roles)
        op["description"] = "Roles: " + ", ".join(r.roles) + "."
    if r.auth != "none":
        op["security"] = [{"bearer": []}] if r.auth == "required" else [{"bearer": []}, {}]
        op["responses"]["401"] = _problem("Missing or bad token")
        op["responses"]["403"] = _problem("Role or province does not allow this")
    if r.body is not None:
        op["requestBody"] = _request_body(r.body, schemas)
        op["responses"]["415"] = _problem("Body is not JSON")
        op["responses"]["422"] = _problem("Invalid fields or parameters, each named in errors")
    if op["parameters"]:
        op["responses"].setdefault(
            "422", _problem("A parameter outside its documented format, named in errors")
        )
    if r.method == "OPTIONS":
        op["responses"]["403"] = _problem("The Origin is not one of the stage's portal origins")
    if r.method in ("POST", "PUT", "DELETE"):
        op["responses"]["409"] = _problem("Conflicts with the current state")
    return op


def _request_body(model: type, schemas: dict[str, Any]) -> dict[str, Any]:
    body_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in body_schema.pop("$defs", {}).items():
        schemas[name] = sub
    schemas[model.__name__] = body_schema
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
    }


# ---- /docs: Swagger UI rendering the document, every asset served by the API itself (deployments
# in China cannot count on a foreign CDN). The assets come from the swagger-ui-bundle-v2 package
# (Swagger UI's own dist files); URLs are relative so the page works under API Gateway's stage prefix.
DOCS_INIT = (
    "window.onload = function () {\n"
    '  window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true,\n'
    '    presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"});\n'
    "};\n"
)
DOCS_PAGE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    "<title>patentnavi-eval API</title>\n"
    '<link rel="stylesheet" href="docs/swagger-ui.css">\n</head>\n<body>\n<div id="swagger-ui"></div>\n'
    '<script src="docs/swagger-ui-bundle.js"></script>\n<script src="docs/init.js"></script>\n'
    "</body>\n</html>\n"
)
# Same origin only; Swagger UI sets inline styles and shows inline SVG/data images.
DOCS_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "script-src 'self'; object-src 'none'; frame-ancestors 'none'"
)
# name under /docs/ -> (media type, file of the package's Swagger UI dist, or None for DOCS_INIT)
DOCS_ASSETS: dict[str, tuple[str, str | None]] = {
    "swagger-ui.css": ("text/css; charset=utf-8", "swagger-ui.css"),
    "swagger-ui-bundle.js": ("text/javascript; charset=utf-8", "swagger-ui-bundle.js"),
    "init.js": ("text/javascript; charset=utf-8", None),
}


def docs_asset(name: str) -> str:
    """The text of one /docs asset, read from the installed Swagger UI dist when asked (not at import)."""
    _media, file = DOCS_ASSETS[name]
    if file is None:
        return DOCS_INIT
    from swagger_ui_bundle import swagger_ui_path  # only the /docs routes pay for finding it

    return (swagger_ui_path / file).read_text(encoding="utf-8")
