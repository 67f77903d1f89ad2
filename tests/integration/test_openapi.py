"""GET /openapi.json: a valid OpenAPI 3.1 document describing exactly the routes Chalice serves."""
from __future__ import annotations

import pytest


@pytest.fixture
def document(client):
    response = client.get("/openapi.json")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json


def served_operations() -> set[tuple[str, str]]:
    import app
    return {(method.lower(), path) for path, entries in app.app.routes.items() for method in entries}


def test_the_document_is_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] and document["info"]["version"]


def test_the_document_passes_the_openapi_spec_validator(document):
    validator = pytest.importorskip("openapi_spec_validator")
    from openapi_spec_validator.validation import OpenAPIV31SpecValidator
    validator.validate(document, cls=OpenAPIV31SpecValidator)


def test_its_paths_and_methods_are_exactly_the_routes_chalice_serves(document):
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert documented == served_operations()


def test_operation_ids_are_unique_and_path_parameters_declared(document):
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for path, ops in document["paths"].items():
        names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        for op in ops.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


def test_bodies_writes_and_errors_are_described(document):
    schemas = document["components"]["schemas"]
    assert {"type", "title", "status", "detail"} <= set(schemas["Problem"]["required"])
    create = document["paths"]["/filings"]["post"]
    body = schemas[create["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert set(body["required"]) >= {"kind", "title", "province", "unit", "industry"}
    assert body["additionalProperties"] is False
    assert set(body["properties"]["kind"]["enum"]) == {"report", "database", "tool", "application_proof"}
    assert body["properties"]["title"]["maxLength"] == 200
    assert "201" in create["responses"] and "422" in create["responses"]
    assert create["security"] == [{"bearer": []}]
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            problems = [code for code, r in op["responses"].items() if code[0] in "45"]
            for code in problems:
                assert "application/problem+json" in op["responses"][code]["content"], (method, path, code)
            if method in ("post", "put", "delete"):
                assert op.get("security") == [{"bearer": []}], (method, path)
                assert {"401", "403"} <= set(op["responses"]), (method, path)


def test_list_routes_document_limit_and_cursor(document):
    params = {p["name"]: p for p in document["paths"]["/filings"]["get"]["parameters"]}
    assert {"limit", "cursor", "province", "kind", "status", "cycle", "industry"} <= set(params)
    assert params["limit"]["schema"]["maximum"] == 200 and params["limit"]["schema"]["minimum"] == 1


def test_public_routes_need_no_security(document):
    for path in ("/health", "/provinces", "/industries", "/cycles", "/openapi.json"):
        assert "security" not in document["paths"][path]["get"] or {} in document["paths"][path]["get"]["security"]
