"""The cost model's request-unit meter bills what DynamoDB's on-demand rules bill (bench/capacity.py)."""

from __future__ import annotations

import os

import boto3
import pytest
from moto import mock_aws

from bench.capacity import CapacityMeter

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

REGION = "cn-north-1"
meter = CapacityMeter(region=REGION)


@pytest.fixture
def table():
    meter.install()
    with mock_aws():
        meter.restart()
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        yield client
    meter.uninstall()


def units(name: str) -> tuple[float, float]:
    return meter.units[name]["write"], meter.units[name]["read"]


def test_a_write_costs_a_unit_per_started_kilobyte_plus_one_per_index_it_lands_in(table):
    big = "x" * 1500
    with meter.phase("plain"):
        table.put_item(TableName="t", Item={"pk": {"S": "a"}, "sk": {"S": "A"}, "v": {"S": big}})
    with meter.phase("indexed"):
        table.put_item(
            TableName="t", Item={"pk": {"S": "b"}, "sk": {"S": "A"}, "g": {"S": "1"}, "v": {"S": big}}
        )
    assert units("plain") == (2, 0)
    assert units("indexed") == (4, 0)


def test_a_transaction_costs_twice_and_a_failed_condition_still_costs(table):
    item = {"pk": {"S": "c"}, "sk": {"S": "A"}}
    with meter.phase("transaction"):
        table.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": item}}])
    with meter.phase("refused"):
        with pytest.raises(table.exceptions.ConditionalCheckFailedException):
            table.put_item(TableName="t", Item=item, ConditionExpression="attribute_not_exists(pk)")
    assert units("transaction") == (2, 0)
    assert units("refused") == (1, 0)


def test_moving_an_item_to_another_index_key_writes_the_index_twice(table):
    table.put_item(TableName="t", Item={"pk": {"S": "d"}, "sk": {"S": "A"}, "g": {"S": "1"}})
    with meter.phase("move"):
        table.update_item(
            TableName="t",
            Key={"pk": {"S": "d"}, "sk": {"S": "A"}},
            UpdateExpression="SET g = :g",
            ExpressionAttributeValues={":g": {"S": "2"}},
        )
    assert units("move") == (3, 0)


def test_reads_cost_a_unit_per_4_kb_and_half_when_eventually_consistent(table):
    table.put_item(TableName="t", Item={"pk": {"S": "e"}, "sk": {"S": "A"}, "v": {"S": "y" * 5000}})
    with meter.phase("strong"):
        table.get_item(TableName="t", Key={"pk": {"S": "e"}, "sk": {"S": "A"}}, ConsistentRead=True)
    with meter.phase("eventual"):
        table.get_item(TableName="t", Key={"pk": {"S": "e"}, "sk": {"S": "A"}})
    with meter.phase("missing"):
        table.get_item(TableName="t", Key={"pk": {"S": "nope"}, "sk": {"S": "A"}})
    assert units("strong") == (0, 2)
    assert units("eventual") == (0, 1)
    assert units("missing") == (0, 0.5)
