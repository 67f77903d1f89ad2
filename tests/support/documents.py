"""Documents helpers: uploading a file to a filing, an approved report with its PDF attached, an
annual information form, and China wall-clock instants."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from datetime import datetime

import requests

from chalicelib.core.clock import CHINA
from chalicelib.documents import imports
from tests.conftest import auth
from tests.support import report_body

# ---- attachments ---------------------------------------------------------------------------

PDF = b"%PDF-1.7\n" + "新能源汽车产业专利导航报告".encode() * 200
FILER = dict(
    sub="filer-320000", role="filer", province="320000"
)  # the filer of `filed` and `approved_filing`
ADMIN = dict(sub="admin", role="national_admin")
BROWSER = "Mozilla/5.0 (Windows NT 10.0) Chrome/120"


def declaration(data: bytes = PDF, **overrides) -> dict:
    """The body that declares an upload of `data` (a PDF report unless overridden)."""
    body = {
        "name": "导航报告.pdf",
        "purpose": "report",
        "content_type": "application/pdf",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    body.update(overrides)
    return body


def upload(
    client, owner: str, owner_id: str, data: bytes = PDF, sent: bytes | None = None, who=FILER, **overrides
):
    """Declare, PUT the bytes to the presigned URL (`sent` instead of `data` to cheat), complete."""
    started = client.post(f"/{owner}s/{owner_id}/files", declaration(data, **overrides), headers=auth(**who))
    assert started.status == 201, started.json
    put = started.json["upload"]
    answer = requests.put(put["url"], data=data if sent is None else sent, headers=put["headers"], timeout=10)
    assert answer.status_code == 200, answer.text
    return client.post(started.json["links"]["complete"], headers=auth(**who))


def filed(client, province: str = "320000") -> dict:
    """A pending report filed by the province's filer."""
    created = client.post(
        "/filings",
        report_body(province),
        headers=auth(sub=f"filer-{province}", role="filer", province=province),
    )
    assert created.status == 201, created.json
    return created.json


def approve(client, owner: str, owner_id: str) -> None:
    """A national admin approves the filing or publication."""
    assert (
        client.post(f"/{owner}s/{owner_id}/review", {"decision": "approve"}, headers=auth(**ADMIN)).status
        == 200
    )


def approved_publication(client, province: str = "320000", kind: str = "news") -> dict:
    """A publication of the province's filer, approved by a national admin."""
    created = client.post(
        "/publications",
        {"kind": kind, "title": "新闻", "province": province, "body": "正文"},
        headers=auth(sub=f"filer-{province}", role="filer", province=province),
    )
    assert created.status == 201, created.json
    approve(client, "publication", created.json["id"])
    return created.json


def attached_filing(client) -> tuple[dict, dict]:
    """An approved report with its PDF attached: (filing, file)."""
    filing = filed(client)
    completed = upload(client, "filing", filing["id"])
    assert completed.status == 200, completed.json
    approve(client, "filing", filing["id"])
    return filing, completed.json


# ---- annual information forms ----------------------------------------------------------------

JS_ADMIN = auth(sub="js-admin", role="province_admin", province="320000")
PATH = "/provinces/320000/annual-forms/2024"


def form(**overrides) -> dict:
    """A complete annual form body, with `overrides` replacing top-level members."""
    body = {
        "mechanisms": {
            "leading_group": True,
            "work_plan": True,
            "coordination_meetings": 4,
            "description": "省专利导航工作联席会议",
        },
        "funding": {"provincial_funds": 850.5, "other_funds": 120},
        "carriers": [
            {"name": "江苏省产业专利导航服务基地", "type": "navigation_service_base", "city": "南京"}
        ],
        "projects": {"declared": 30, "fiscal_funded": 12, "completed": 8},
        "policies": [
            {
                "title": "江苏省专利导航工程实施方案",
                "issued_on": "2024-03-01",
                "document_number": "苏知发〔2024〕5号",
            }
        ],
        "training": {"sessions": 6, "participants": 480},
        "summary": "年度专利导航工作总结",
    }
    body.update(overrides)
    return body


def china(*parts) -> datetime:
    """datetime(*parts) on China's wall clock."""
    return datetime(*parts, tzinfo=CHINA)


def import_csv(rows: list[dict]) -> str:
    """A bulk-import sheet (CSV under the template's header, base64) of `rows`; absent columns are empty."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=imports.COLUMNS, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return base64.b64encode(out.getvalue().encode()).decode()


def import_sheet(n: int, province: str = "320000") -> str:
    """A one-row bulk-import sheet (CSV, base64) whose reference is its own for each `n`."""
    return import_csv(
        [
            {
                "reference": f"SHEET-{n:04d}",
                "kind": "report",
                "title": f"导航报告 {n}",
                "province": province,
                "unit": "江苏省知识产权局",
                "industry": "5",
                "report_type": "industry_planning",
                "fiscal_funded": "否",
            }
        ]
    )
