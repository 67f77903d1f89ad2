"""The OpenAPI 3.1 document, generated from the route registry and the pydantic request models."""
from __future__ import annotations

import re
from typing import Any

from chalicelib.core.http import PATH_PARAMS, RouteDoc, param_schema

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}


def _problem(description: str) -> dict:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def document(routes: list[RouteDoc]) -> dict[str, Any]:
    """The whole document; paths equal the routes app.py registers."""
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, dict] = {}
    for r in routes:
        op: dict[str, Any] = {
            "summary": r.summary,
            "operationId": f"{r.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', r.path.lower()).strip('_') or 'root'}",
            "tags": [r.tag],
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": param_schema(PATH_PARAMS[name])}
                for name in re.findall(r"{(\w+)}", r.path)
            ] + [
                {"name": name, "in": "query", "required": False, "schema": schema}
                for name, schema in r.query.items()
            ],
            "responses": {
                str(r.status): {"description": "Success"} if r.status == 204 else {
                    "description": "Success",
                    "content": {"application/json": {"schema": r.response or {"type": "object"}}}},
                "400": _problem("Malformed request"),
                "404": _problem("Not found"),
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
            body_schema = r.body.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in body_schema.pop("$defs", {}).items():
                schemas[name] = sub
            schemas[r.body.__name__] = body_schema
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{r.body.__name__}"}}}}
            op["responses"]["415"] = _problem("Body is not JSON")
            op["responses"]["422"] = _problem("Invalid fields or parameters, each named in errors")
        if op["parameters"]:
            op["responses"].setdefault("422", _problem("A parameter outside its documented format, named in errors"))
        if r.method == "OPTIONS":
            op["responses"]["403"] = _problem("The Origin is not one of the stage's portal origins")
        if r.method in ("POST", "PUT", "DELETE"):
            op["responses"]["409"] = _problem("Conflicts with the current state")
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "patentnavi-eval", "version": "1.0.0",
                 "description": "National patent-navigation evaluation platform: filings, interactions, "
                                "running counters and year-end provincial scores."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
