"""Test helpers shared across modules and levels that are not fixtures: callers' token claims,
request bodies, an approved filing, the store's item count and problem checks.

Helpers of one capability live beside this in tests/support/<capability>.py; test modules
import helpers from here, never from one another.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import boto3
from botocore.config import Config

from tests.conftest import Client, auth


def report_body(province: str = "320000", **overrides: Any) -> dict:
    """A valid POST /filings body: a report of the province, `overrides` replacing members."""
    body = {
        "kind": "report",
        "title": "新能源汽车产业专利导航报告",
        "province": province,
        "unit": "江苏省知识产权局",
        "industry": "5",
        "report_type": "industry_planning",
        "fiscal_funded": True,
        "summary": "产业专利导航分析",
        "proves": None,
    }
    body.update(overrides)
    return body


def approved_filing(client: Client, province: str = "320000", **overrides: Any) -> dict:
    """File and approve a report; returns the approved filing."""
    created = client.post(
        "/filings",
        report_body(province, **overrides),
        headers=auth(sub=f"filer-{province}", role="filer", province=province),
    )
    assert created.status == 201, created.json
    reviewed = client.post(
        f"/filings/{created.json['id']}/review",
        {"decision": "approve"},
        headers=auth(sub="admin", role="national_admin"),
    )
    assert reviewed.status == 200, reviewed.json
    return reviewed.json


# ---- callers (token claims) ---------------------------------------------------------------

FILER = dict(sub="filer-js", role="filer", province="320000")
ADMIN_JS = dict(sub="admin-js", role="province_admin", province="320000")
FILER_ZJ = dict(sub="filer-zj", role="filer", province="330000")
NATIONAL = dict(sub="boss", role="national_admin")
USER = dict(sub="reader", role="user", side="enterprise")
EXPERT = dict(sub="expert", role="expert")


@functools.cache
def moto_client(service: str, region: str = "cn-north-1") -> Any:
    """A boto3 client for the in-process moto, made once per process (each costs ~5 ms to build).

    It ignores AWS_ENDPOINT_URL*: a session stack started earlier in the process points those at its
    moto server, and a client built then would stay bound to it.
    """
    import moto  # noqa: F401  # moto intercepts only the clients made after it was imported

    return boto3.client(service, region_name=region, config=Config(ignore_configured_endpoint_urls=True))


def stored_items(store) -> int:
    """Every item in the three tables: a refused request must not change this."""
    # Counted in moto's own table, not by a scan: a scan sizes every item (the 1 MB page bound),
    # ~1 ms a call, and the role matrix of tests/integration/test_auth.py counts 840 times.
    from local_stack import moto_store

    s = store.settings
    return sum(len(moto_store.table(t, s.region)) for t in (s.facts_table, s.counters_table, s.records_table))


def proof_of(client, filing_id: str, province: str = "320000", approve: bool = True) -> str:
    """An application_proof filing proving `filing_id` (approved unless told otherwise)."""
    who = dict(sub=f"filer-{province}", role="filer", province=province)
    created = client.post(
        "/filings",
        report_body(province, kind="application_proof", report_type=None, proves=filing_id),
        headers=auth(**who),
    )
    assert created.status == 201, created.json
    if approve:
        client.post(
            f"/filings/{created.json['id']}/review", {"decision": "approve"}, headers=auth(**NATIONAL)
        )
    return created.json["id"]


# ---- problems (RFC 9457) ------------------------------------------------------------------

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    """The answer is a problem of `status` with the four RFC 9457 members."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    assert response.status == status, (response.status, response.body[:300])
    assert headers["content-type"] == PROBLEM
    problem = json.loads(response.body)
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert problem["status"] == status
    assert all(isinstance(problem[k], str) and problem[k] for k in ("type", "title", "detail"))
    return problem


def live_problem(response, status: int) -> dict:
    """The same check over HTTP, where headers keep their case and the body is already parsed."""
    assert response.status == status, (response.status, response.text[:300])
    assert response.headers["Content-Type"] == PROBLEM
    problem = response.json
    assert {"type", "title", "status", "detail"} <= set(problem) and problem["status"] == status
    return problem


# the portal origin CORS tests (unit, integration, e2e) share
PORTAL = "http://localhost:3000"  # the local stage's NAVI_CORS_ORIGINS in .chalice/config.json
