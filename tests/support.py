"""Shared test support: an in-process moto store with the real tables, a chalice.test client
and token minting. Import the fixtures you need: `from tests.support import store, client`."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime
from typing import Any

import boto3
import jwt
import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "cn-north-1")
os.environ.setdefault("AWS_REGION", "cn-north-1")
# botocore 1.44 routes stream calls to an account-id host moto does not match (stack-notes).
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"

from moto import mock_aws  # noqa: E402

from chalicelib.core import runtime  # noqa: E402
from chalicelib.core.clock import FixedClock, parse_instant  # noqa: E402
from chalicelib.core.config import LOCAL_JWT_SECRET, load_settings  # noqa: E402
from infra.files import create_bucket  # noqa: E402
from infra.tables import create_tables  # noqa: E402

DEFAULT_NOW = "2024-05-15T10:00:00+08:00"


def token(sub: str = "u1", role: str = "user", province: str | None = None, side: str | None = None,
          exp: int | None = None, secret: str = LOCAL_JWT_SECRET, **claims: Any) -> str:
    """A local-stage HS256 bearer token."""
    payload = {"sub": sub, "role": role, "exp": exp or int(time.time()) + 3600, **claims}
    if province:
        payload["province"] = province
    if side:
        payload["side"] = side
    return jwt.encode(payload, secret, algorithm="HS256")


def auth(**kw: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(**kw)}", "Content-Type": "application/json"}


class Store:
    """Handle on the moto-backed store of one test: clock, settings, stream ARN."""

    def __init__(self, clock: FixedClock, stream_arn: str | None):
        self.clock = clock
        self.stream_arn = stream_arn
        self.settings = runtime.services().settings

    def at(self, instant: str | datetime) -> None:
        self.clock.set(parse_instant(instant) if isinstance(instant, str) else instant)


@pytest.fixture
def store():
    """Fresh moto DynamoDB with the deployable tables, services bound, clock fixed."""
    with mock_aws():
        settings = load_settings({"NAVI_STAGE": "test", "NAVI_TABLE_PREFIX": "navi-test",
                                  "AWS_REGION": "cn-north-1"})
        arns = create_tables(boto3.client("dynamodb", region_name="cn-north-1"), settings)
        create_bucket(boto3.client("s3", region_name="cn-north-1"), settings)
        clock = FixedClock(parse_instant(DEFAULT_NOW))
        runtime.install(runtime.Services(settings=settings, clock=clock))
        yield Store(clock, arns["facts"])
        runtime.reset()


class ApiClient:
    """chalice.test HTTP client with JSON helpers; answers carry .status, .json, .headers."""

    def __init__(self, http):
        self._http = http

    def call(self, method: str, path: str, body: Any = None, headers: dict | None = None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
        kwargs = {"headers": headers or {}}
        if data is not None:
            kwargs["body"] = data
        response = getattr(self._http, method.lower())(path, **kwargs)
        response.status = response.status_code
        try:
            response.json = json.loads(response.body) if response.body else None
        except ValueError:
            response.json = None
        return response

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


@pytest.fixture
def client(store):
    """The app behind chalice's in-process test client, on the moto store."""
    from chalice.test import Client

    import app as app_module
    with Client(app_module.app, stage_name="local") as test_client:
        yield ApiClient(test_client.http)


def report_body(province: str = "320000", **overrides: Any) -> dict:
    body = {"kind": "report", "title": "新能源汽车产业专利导航报告", "province": province, "unit": "江苏省知识产权局",
            "industry": "5", "report_type": "industry_planning", "fiscal_funded": True,
            "summary": "产业专利导航分析", "proves": None}
    body.update(overrides)
    return body


def approved_filing(client: ApiClient, province: str = "320000", **overrides: Any) -> dict:
    """File and approve a report; returns the approved filing."""
    created = client.post("/filings", report_body(province, **overrides),
                          headers=auth(sub=f"filer-{province}", role="filer", province=province))
    assert created.status == 201, created.json
    reviewed = client.post(f"/filings/{created.json['id']}/review", {"decision": "approve"},
                           headers=auth(sub="admin", role="national_admin"))
    assert reviewed.status == 200, reviewed.json
    return reviewed.json
