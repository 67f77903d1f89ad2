"""Shared test helpers that are not fixtures: request bodies and an approved filing."""
from __future__ import annotations

from typing import Any

from tests.conftest import Client, auth


def report_body(province: str = "320000", **overrides: Any) -> dict:
    body = {"kind": "report", "title": "新能源汽车产业专利导航报告", "province": province, "unit": "江苏省知识产权局",
            "industry": "5", "report_type": "industry_planning", "fiscal_funded": True,
            "summary": "产业专利导航分析", "proves": None}
    body.update(overrides)
    return body


def approved_filing(client: Client, province: str = "320000", **overrides: Any) -> dict:
    """File and approve a report; returns the approved filing."""
    created = client.post("/filings", report_body(province, **overrides),
                          headers=auth(sub=f"filer-{province}", role="filer", province=province))
    assert created.status == 201, created.json
    reviewed = client.post(f"/filings/{created.json['id']}/review", {"decision": "approve"},
                           headers=auth(sub="admin", role="national_admin"))
    assert reviewed.status == 200, reviewed.json
    return reviewed.json
