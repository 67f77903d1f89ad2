"""The packaged roles allow what each function really does: every DynamoDB call a handler makes
on the moto store is checked against the IAM statements infra/template.py gives its role."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.client
import pytest

from infra import template
from infra.package import stage_deployment, stage_environment
from tests.conftest import auth
from tests.streams import StreamTap
from tests.support import approved_filing, report_body
from tests.support.infra import CHALICE_NAMES as FUNCTIONS
from tests.support.infra import allowed, packaged_like

USER = dict(sub="reader-1", role="user", side="enterprise")


TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def needed(operation: str, params: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(IAM action, table name, index) an API call is authorized as."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return [
            (f"dynamodb:{TRANSACT[kind]}", body["TableName"], None)
            for item in params["TransactItems"]
            for kind, body in item.items()
        ]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", table, None) for table in params["RequestItems"]]
    index = params.get("IndexName")
    return [(f"dynamodb:{operation}", params["TableName"], f"index/{index}" if index else None)]


S3_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "ListObjectsV2": "s3:ListBucket",
}


def s3_needed(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(IAM action, object key) an S3 call is authorized as (CopyObject: read the source, write the copy)."""
    if operation == "CopyObject":
        return [("s3:GetObject", params["CopySource"]["Key"]), ("s3:PutObject", params["Key"])]
    return [(S3_ACTIONS.get(operation, f"s3:{operation}"), params.get("Key", ""))]


def s3_allowed(function: str) -> list[tuple[str, str]]:
    """(action, object key pattern; "" the bucket itself) the function's role allows on the files bucket."""
    resources = template.merge_template(packaged_like(), stage_environment("dev"), stage_deployment("dev"))[
        "Resources"
    ]
    out = []
    for policy in resources[f"{function}Role"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            for action in (a for a in statement["Action"] if a.startswith("s3:")):
                for resource in statement["Resource"]:
                    out.append(
                        (action, resource["Fn::Sub"].split(".Arn}/", 1)[1] if "Fn::Sub" in resource else "")
                    )
    return out


class Recorder:
    """Records each DynamoDB call with the function it was made for."""

    def __init__(self) -> None:
        self.function = "outside"
        self.thread = threading.get_ident()
        self.calls: list[tuple[str, str, str, str | None]] = []
        self.s3_calls: list[tuple[str, str, str]] = []  # (function, action, object key; "" the bucket)

    @contextlib.contextmanager
    def acting_as(self, function: str) -> Iterator[None]:
        self.function = function
        try:
            yield
        finally:
            self.function = "outside"


@pytest.fixture
def recorder(monkeypatch, store):
    recorded = Recorder()
    original = botocore.client.BaseClient._make_api_call

    def spy(client, operation, params):
        service = client.meta.service_model.service_name
        if threading.get_ident() != recorded.thread:
            # A live stack's workers in this process (other tests' session stack) are not the function.
            return original(client, operation, params)
        if service == "dynamodb" and recorded.function != "outside":
            for action, table, index in needed(operation, params):
                recorded.calls.append((recorded.function, action, table, index))
        if service == "s3" and recorded.function != "outside":
            recorded.s3_calls.extend(
                (recorded.function, action, key) for action, key in s3_needed(operation, params)
            )
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    return recorded


def test_each_function_role_allows_every_dynamodb_call_it_makes(store, client, recorder):
    from chalice.test import Client

    import app as app_module

    tap = StreamTap(store.stream_arn)
    with recorder.acting_as("APIHandler"):
        client.put("/me/subscriptions", {"industries": ["5"]}, headers=auth(**USER))
        filing = approved_filing(client)
        client.post(
            "/events",
            {
                "events": [
                    {
                        "id": str(uuid.uuid4()),
                        "type": "view",
                        "filing": filing["id"],
                        "user_agent": "Mozilla/5.0 Chrome/120",
                    }
                ]
            },
            headers=auth(**USER),
        )
        client.put(f"/filings/{filing['id']}/like", headers=auth(**USER))
        client.post(f"/filings/{filing['id']}/comments", {"text": "很有参考价值"}, headers=auth(**USER))
        client.put(
            f"/filings/{filing['id']}/evaluation", {"score": 4, "feedback": "有用"}, headers=auth(**USER)
        )
        client.get("/provinces/320000/feedback", headers=auth(sub="admin", role="national_admin"))
        client.get(
            "/me/notifications", headers=auth(sub="filer-320000", role="province_admin", province="320000")
        )
        from tests.support.documents import attached_filing, upload

        _, file = attached_filing(client)
        client.get(file["links"]["download"], headers=auth(**USER))
        cheat = client.post(
            "/filings", report_body(), headers=auth(sub="filer-320000", role="filer", province="320000")
        )
        assert upload(client, "filing", cheat.json["id"], sent=b"x" * 10, data=b"y" * 10).status == 422
    records = tap.take()
    assert records
    with Client(app_module.app, stage_name="local") as lambdas:
        for function in ("FactsStream", "PushStream"):
            with recorder.acting_as(function):
                answer = lambdas.lambda_.invoke(FUNCTIONS[function], {"Records": records}).payload
            assert answer == {"batchItemFailures": []}, (function, answer)
        with recorder.acting_as("APIHandler"):
            client.get(f"/filings/{filing['id']}/stats")
            client.get("/me/feed", headers=auth(**USER))
        store.at("2024-12-31T23:00:00+08:00")
        event = lambdas.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        with recorder.acting_as("YearEnd"):
            lambdas.lambda_.invoke(FUNCTIONS["YearEnd"], event)
        with recorder.acting_as("SelectionReminders"):
            lambdas.lambda_.invoke(FUNCTIONS["SelectionReminders"], event)
        store.at("2025-10-15T00:01:00+08:00")
        with recorder.acting_as("AnnualFormReminders"):
            assert lambdas.lambda_.invoke(FUNCTIONS["AnnualFormReminders"], event).payload == {"written": 32}

    from fnmatch import fnmatchcase

    assert {(f, a) for f, a, _ in recorder.s3_calls} >= {
        ("APIHandler", "s3:GetObject"),
        ("APIHandler", "s3:PutObject"),
        ("APIHandler", "s3:DeleteObject"),
    }
    s3_denied = sorted(
        {
            (f, a, k)
            for f, a, k in recorder.s3_calls
            if not any(
                a == allowed_action and (fnmatchcase(k, pattern) if pattern else k == "")
                for allowed_action, pattern in s3_allowed(f)
            )
        }
    )
    assert s3_denied == []
    names = {
        store.settings.facts_table: "FactsTable",
        store.settings.counters_table: "CountersTable",
        store.settings.records_table: "RecordsTable",
    }
    seen = {function for function, *_ in recorder.calls}
    assert seen == set(FUNCTIONS), seen  # every function was exercised and touched DynamoDB
    denied = sorted(
        {
            (function, action, names[table], index)
            for function, action, table, index in recorder.calls
            if (action, names[table], index) not in allowed(function)
        }
    )
    assert denied == []
