"""Every error leaves as application/problem+json (RFC 9457) and a refused request stores nothing,
including the errors Chalice itself raises (405, unknown paths, bodies it cannot read)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import auth
from tests.support import FILER, NATIONAL, approved_filing, assert_problem, report_body, stored_items

JSON = {"Content-Type": "application/json"}


def test_a_method_a_path_does_not_serve_is_a_405_problem_with_allow(client):
    for method, path in (
        ("PATCH", "/filings"),
        ("DELETE", "/health"),
        ("PUT", "/provinces"),
        ("DELETE", "/filings/abc/review"),
    ):
        response = client.call(method, path, headers=auth(**NATIONAL))
        assert_problem(response, 405)
        assert response.headers["Allow"]


def test_malformed_json_is_a_400_problem(client, store):
    before = stored_items(store)
    for raw in (b"{bad", b'{"kind": "report",}', b"\xff\xfe{}", b'{"title": "\\ud800"'):
        problem = assert_problem(client.post("/filings", raw=raw, headers=auth(**FILER)), 400)
        assert problem["errors"][0]["message"]
    assert stored_items(store) == before


def test_a_body_that_is_not_an_object_is_refused(client):
    for body in ([report_body()], "report", 42, None):
        raw = json.dumps(body).encode()
        response = client.post("/filings", raw=raw, headers=auth(**FILER))
        assert response.status in (400, 422)
        assert_problem(response, response.status)


def test_an_empty_body_is_a_400_problem(client):
    assert_problem(client.post("/filings", raw=b"", headers=auth(**FILER)), 400)
    assert_problem(client.post("/filings", headers=auth(**FILER)), 400)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"],
)
def test_a_body_that_is_not_json_is_a_415_problem(client, store, content_type):
    before = stored_items(store)
    headers = {**auth(**FILER), "Content-Type": content_type}
    assert_problem(client.post("/filings", raw=json.dumps(report_body()).encode(), headers=headers), 415)
    assert stored_items(store) == before


def test_json_with_a_charset_is_accepted(client):
    headers = {**auth(**FILER), "Content-Type": "application/json; charset=utf-8"}
    assert client.post("/filings", report_body(), headers=headers).status == 201


def test_a_huge_body_is_a_413_problem(client, store):
    before = stored_items(store)
    huge = json.dumps(report_body(summary="长" * 3_000_000)).encode()
    assert_problem(client.post("/filings", raw=huge, headers=auth(**FILER)), 413)
    assert stored_items(store) == before


def test_validation_problems_name_each_bad_field(client):
    body = report_body(kind="patent", title="", unit="u" * 101, industry="0", province="1", extra=True)
    problem = assert_problem(client.post("/filings", body, headers=auth(**FILER)), 422)
    assert {e["field"] for e in problem["errors"]} == {
        "kind",
        "title",
        "unit",
        "industry",
        "province",
        "extra",
    }
    assert all(e["message"] for e in problem["errors"])


@pytest.mark.parametrize(
    "query",
    [
        "limit=abc",
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=1.5",
        "cursor=xyz",
        "status=lost",
        "province=000000",
    ],
)
def test_bad_query_parameters_are_4xx_problems(client, query):
    response = client.get(f"/filings?{query}")
    assert response.status in (400, 422)
    problem = assert_problem(response, response.status)
    assert problem["errors"][0]["field"] == query.split("=")[0]


def test_refusals_of_every_kind_store_nothing(client, store):
    filing = approved_filing(client)
    before = stored_items(store)
    refused = [
        client.post("/filings", report_body(), headers=JSON),
        client.post("/filings", report_body("330000"), headers=auth(**FILER)),
        client.post("/filings", report_body(industry="x"), headers=auth(**FILER)),
        client.post("/filings", raw=b"{", headers=auth(**FILER)),
        client.post(f"/filings/{filing['id']}/review", {"decision": "x"}, headers=auth(**NATIONAL)),
        client.post(f"/filings/{filing['id']}/review", {"decision": "approve"}, headers=auth(**FILER)),
        client.put(f"/filings/{filing['id']}/application", {"status": "applied"}, headers=auth(**NATIONAL)),
        client.put(f"/filings/{filing['id']}/application", {"status": "?"}, headers=auth(**FILER)),
        client.post("/publications", {"kind": "news"}, headers=auth(**FILER)),
    ]
    assert all(400 <= r.status < 500 for r in refused), [r.status for r in refused]
    for r in refused:
        assert_problem(r, r.status)
    assert stored_items(store) == before


def test_an_unexpected_failure_is_a_500_problem_that_reveals_nothing(client, monkeypatch):
    from chalicelib.documents import filings

    def broken(*args, **kwargs):
        raise KeyError("secret internal detail")

    monkeypatch.setattr(filings, "list_page", broken)
    response = client.get("/filings")
    problem = assert_problem(response, 500)
    assert "secret internal detail" not in response.body.decode()
    assert "Traceback" not in problem["detail"]


def test_health_is_a_503_problem_when_the_store_is_gone(client, monkeypatch):
    from chalicelib.core.models import Counter

    def unreachable(*args, **kwargs):
        raise ConnectionError("no route to DynamoDB")

    monkeypatch.setattr(Counter, "count", unreachable)
    assert_problem(client.get("/health"), 503)


# ---- the same over real HTTP (chalice local server + moto, as the portal would call it) ----
