"""The events Lambda hands a function, built locally: stream records, contexts, scheduled events."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime
from typing import Any

FAKE_ACCOUNT = "123456789012"


def _lambda_value(value: Any) -> Any:
    """boto3 hands binary attributes back as bytes; Lambda events carry them as base64 text."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _lambda_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lambda_value(v) for v in value]
    return value


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One boto3 `get_records` record as it appears in a Lambda DynamoDB event."""
    out = _lambda_value({k: v for k, v in record.items() if k != "dynamodb"})
    ddb = _lambda_value({k: v for k, v in record["dynamodb"].items() if k != "ApproximateCreationDateTime"})
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created = created.timestamp()
    # Chalice's DynamoDBRecord needs epoch seconds here and raises on a datetime.
    ddb["ApproximateCreationDateTime"] = float(created if created is not None else time.time())
    out.update(
        {
            "eventSource": "aws:dynamodb",
            "awsRegion": out.get("awsRegion") or region,
            "eventSourceARN": stream_arn,
            "dynamodb": ddb,
        }
    )
    return out


def lambda_context(function_name: str) -> Any:
    """A Lambda context like the one chalice local passes to routes."""
    from chalice.local import LambdaContext

    return LambdaContext(function_name, memory_size=128, max_runtime_ms=60_000)


def scheduled_event(name: str, at: datetime, region: str) -> dict[str, Any]:
    """The EventBridge "Scheduled Event" a rule delivers at `at`."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": FAKE_ACCOUNT,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{FAKE_ACCOUNT}:rule/{name}"],
        "detail": {},
    }
