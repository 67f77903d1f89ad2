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
                # COUNTER_SUSHI refuses with its own Exception body, as its specification requires.
                sushi = path.startswith("/sushi/") and method != "options"
                refusal = "application/json" if sushi else "application/problem+json"
                assert refusal in op["responses"][code]["content"], (method, path, code)
            if method in ("post", "put", "delete"):
                assert op.get("security") == [{"bearer": []}], (method, path)
                assert {"401", "403"} <= set(op["responses"]), (method, path)


def test_list_routes_document_limit_and_cursor(document):
    params = {p["name"]: p for p in document["paths"]["/filings"]["get"]["parameters"]}
    assert {"limit", "cursor", "province", "kind", "status", "cycle", "industry"} <= set(params)
    assert params["limit"]["schema"]["maximum"] == 200 and params["limit"]["schema"]["minimum"] == 1


def test_public_routes_need_no_security(document):
    for path in ("/health", "/provinces", "/industries", "/cycles", "/openapi.json"):
        assert (
            "security" not in document["paths"][path]["get"]
            or {} in document["paths"][path]["get"]["security"]
        )


def test_docs_is_a_page_whose_assets_the_api_serves_itself_with_their_types(client):
    import re
    from urllib.parse import urljoin, urlparse

    page = client.get("/docs")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    referenced = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(referenced) == 3
    expected = {".css": "text/css", ".js": "text/javascript"}
    for ref in referenced:
        url = urlparse(urljoin("https://portal.example/api/docs", ref))
        assert url.netloc == "portal.example" and url.path.startswith("/api/"), (
            ref
        )  # same origin, stage-relative
        asset = client.get(url.path.removeprefix("/api"))
        assert asset.status == 200, ref
        assert asset.headers["Content-Type"].split(";")[0] == expected[ref[ref.rindex(".") :]], ref
        assert len(asset.text) > 10
    bundle = client.get("/docs/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text and len(bundle.text) > 500_000  # the real dist, not a stub
    assert '"openapi.json"' in client.get("/docs/init.js").text


def test_non_json_answers_are_documented_with_their_media_types(document):
    paths = document["paths"]
    assert set(paths["/cycles/{cycle}/scores.csv"]["get"]["responses"]["200"]["content"]) == {"text/csv"}
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    for path in ("/cycles/{cycle}/scores.xlsx", "/provinces/{code}/usage-report.xlsx"):
        assert set(paths[path]["get"]["responses"]["200"]["content"]) == {xlsx}, path
    assert set(paths["/provinces/{code}/usage-report.tsv"]["get"]["responses"]["200"]["content"]) == {
        "text/tab-separated-values"
    }
    download = paths["/filings/{filing_id}/files/{file_id}"]["get"]["responses"]["303"]
    assert download["headers"]["Location"]["required"] and "content" not in download
    for path, ops in paths.items():
        for method, op in ops.items():
            sushi = path.startswith("/sushi/") and method != "options"  # its own Exception body, as specified
            refusal = "application/json" if sushi else "application/problem+json"
            assert refusal in op["responses"]["default"]["content"], path
