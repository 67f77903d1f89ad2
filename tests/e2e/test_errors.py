"""Chalice's own errors (unknown path, method, bad JSON, size) are problems too, over real HTTP."""

from __future__ import annotations

from tests.support import live_problem, report_body


def test_over_http_chalices_own_errors_are_problems_too(api):
    token = api.token("filer", province="320000")
    live_problem(api.get("/no/such/path"), 404)
    live_problem(api.post("/filings/x/y/z", {}, token=token), 404)
    live_problem(api.call("PATCH", "/filings", token=token), 405)
    live_problem(
        api.post("/filings", raw=b"{oops", token=token, headers={"Content-Type": "application/json"}), 400
    )
    live_problem(api.post("/filings", raw=b"{}", token=token, headers={"Content-Type": "text/plain"}), 415)
    live_problem(
        api.post(
            "/filings", raw=b" " * (300 * 1024), token=token, headers={"Content-Type": "application/json"}
        ),
        413,
    )
    live_problem(api.post("/filings", report_body()), 401)
    live_problem(api.post("/filings", report_body(), token=api.token("user")), 403)
    problem = live_problem(api.post("/filings", report_body(kind="x"), token=token), 422)
    assert [e["field"] for e in problem["errors"]] == ["kind"]
    assert api.get("/health").json == {"status": "ok"}
