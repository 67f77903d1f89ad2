"""Hostile input over real HTTP: unknown methods, oversized headers, bad Content-Length, CORS,
and tokens kept out of the access log."""

from __future__ import annotations

import http.client
import json
import logging
import uuid

import pytest

from tests.support import PORTAL, PROBLEM, live_problem


def _raw(api, method: str, target: str, headers: dict | None = None) -> http.client.HTTPResponse:
    host, port = api.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest(method, target, skip_accept_encoding=True)
    for name, value in (headers or {}).items():
        conn.putheader(name, value)
    conn.endheaders()
    return conn.getresponse()


@pytest.mark.parametrize(
    "method, target",
    [
        ("TRACE", "/filings"),
        ("TRACE", "/cycles/2024/scores"),
        ("CONNECT", "/filings"),
        ("CONNECT", "example.org:443"),
        ("PROPFIND", "/health"),
    ],
)
def test_unknown_methods_are_a_405_problem_with_allow(api, method, target):
    response = _raw(api, method, target)
    body = json.loads(response.read())
    assert response.status == 405 and response.getheader("Content-Type") == PROBLEM
    assert body["status"] == 405 and body["title"] == "Method not allowed"
    allow = {m.strip() for m in response.getheader("Allow").split(",")}
    assert method not in allow and "GET" in allow
    if target == "/filings":
        assert allow == {"GET", "POST", "OPTIONS"}


def test_an_oversized_header_is_a_431_problem(api):
    response = _raw(api, "GET", "/filings", {"Authorization": "Bearer " + "a" * 80_000})
    body = json.loads(response.read())
    assert response.status == 431 and response.getheader("Content-Type") == PROBLEM and body["status"] == 431
    assert api.get("/health").status == 200


def test_a_bad_content_length_is_a_400_problem_not_a_dropped_connection(api):
    response = _raw(api, "POST", "/events", {"Content-Length": "12abc"})
    assert response.status == 400 and json.loads(response.read())["status"] == 400


def test_a_token_in_the_query_string_never_reaches_the_access_log(api):
    jwt_token = api.token("user", sub="leaky")
    opaque = "opaque-" + uuid.uuid4().hex
    access_log, records = logging.getLogger("local_stack"), []
    handler, level = logging.Handler(logging.INFO), access_log.level
    handler.emit = records.append
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    try:
        api.get(f"/filings?access_token={jwt_token}")
        api.get(f"/filings?limit=1&access_token={opaque}&x=1")
        api.get("/filings", headers={"Authorization": f"Bearer {opaque}"})
    finally:
        access_log.removeHandler(handler)
        access_log.setLevel(level)
    text = "\n".join(r.getMessage() for r in records)
    assert "/filings?access_token=[redacted]" in text
    assert jwt_token not in text and jwt_token.split(".")[2] not in text and opaque not in text


def test_a_preflight_from_the_stages_portal_origin_is_allowed(api):
    answer = api.call(
        "OPTIONS",
        "/filings",
        headers={
            "Origin": PORTAL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert answer.status == 204, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == PORTAL
    assert {"POST", "GET"} <= {m.strip() for m in answer.headers["Access-Control-Allow-Methods"].split(",")}
    assert "Authorization" in answer.headers["Access-Control-Allow-Headers"]
    on_params = api.call(
        "OPTIONS",
        "/cycles/2024/candidates/abc/expert-score",
        headers={"Origin": PORTAL, "Access-Control-Request-Method": "PUT"},
    )
    assert on_params.status == 204 and on_params.headers["Access-Control-Allow-Origin"] == PORTAL


def test_other_origins_get_no_cors_grant(api):
    evil = api.call(
        "OPTIONS",
        "/filings",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    live_problem(evil, 403)
    assert "Access-Control-Allow-Origin" not in evil.headers
    read = api.get("/filings", headers={"Origin": "https://evil.example"})
    assert read.status == 200 and "Access-Control-Allow-Origin" not in read.headers


def test_actual_responses_and_problems_carry_the_portal_origin(api):
    for response in (
        api.get("/filings", headers={"Origin": PORTAL}),
        api.post("/filings", {}, headers={"Origin": PORTAL}),
    ):
        assert response.headers["Access-Control-Allow-Origin"] == PORTAL
        assert "Origin" in response.headers["Vary"]
