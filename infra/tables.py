"""The DynamoDB tables: one declaration for CloudFormation, local runs and tests.

Key schemas come from the PynamoDB models (chalicelib/core/models.py); what only matters to
a deployment (streams, TTL, recovery, encryption, protection) is declared here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.core import models
from chalicelib.core.config import Settings


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    key: str  # "facts" | "counters" | "records"
    stream: bool
    ttl_attribute: str | None


TABLES = (
    TableSpec("FactsTable", "facts", stream=True, ttl_attribute="expires_at"),  # raw usage facts (retention)
    TableSpec("CountersTable", "counters", stream=False, ttl_attribute="expires_at"),
    TableSpec("RecordsTable", "records", stream=False, ttl_attribute=None),
)


def _schema(spec: TableSpec, api: bool = False) -> dict[str, Any]:
    base, indexes = models.TABLES[spec.key]
    schema = base._get_schema()
    attributes = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
    gsis = []
    for index in indexes:
        index_schema = index._get_schema()
        for a in index_schema["attribute_definitions"]:
            attributes[a["AttributeName"]] = a["AttributeType"]
        gsis.append(
            {
                "IndexName": index_schema["index_name"],
                "KeySchema": index_schema["key_schema"],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    out: dict[str, Any] = {
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": v} for k, v in attributes.items()],
        "KeySchema": schema["key_schema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if gsis:
        out["GlobalSecondaryIndexes"] = gsis
    if spec.stream:
        out["StreamSpecification"] = {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        if api:  # the CreateTable API wants the flag CloudFormation does without
            out["StreamSpecification"]["StreamEnabled"] = True
    return out


def creation_parameters(key: str, name: str) -> dict[str, Any]:
    """ImportTable's TableCreationParameters for a new table shaped like the table `key` (a restore)."""
    spec = next(spec for spec in TABLES if spec.key == key)
    schema = _schema(spec)
    return {"TableName": name, **{k: v for k, v in schema.items() if k != "StreamSpecification"}}


def cloudformation_resources() -> dict[str, Any]:
    """`AWS::DynamoDB::Table` resources for the deployable template."""
    resources = {}
    for spec in TABLES:
        props = _schema(spec)
        props["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}  # 35 days back
        props["SSESpecification"] = {"SSEEnabled": True}
        props["DeletionProtectionEnabled"] = True
        if spec.ttl_attribute:
            props["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
        resources[spec.logical_id] = {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": props,
        }
    return resources


def create_tables(client: Any, settings: Settings) -> dict[str, str | None]:
    """Create the stage's tables through a boto3 client (local runs, tests).

    Returns each table's stream ARN (None for tables without a stream).
    """
    arns: dict[str, str | None] = {}
    existing = set(client.list_tables()["TableNames"])
    for spec in TABLES:
        name = models.table_name(settings, spec.key)
        if name not in existing:
            client.create_table(TableName=name, **_schema(spec, api=True))
            if spec.ttl_attribute:
                client.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": spec.ttl_attribute, "Enabled": True},
                )
        arns[spec.key] = client.describe_table(TableName=name)["Table"].get("LatestStreamArn")
    return arns
