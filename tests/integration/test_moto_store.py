"""The local stack's adaptation of moto: pinned, loud when moto changes, DynamoDB's semantics kept.

Each scenario runs against stock moto and against the patched one; the answers, the items
and the stream records must be the same. Then what the patches add: no table copies, TTL
expiry, a trimmed stream that still reads on.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_stack import moto_store

REGION = "cn-north-1"


@contextlib.contextmanager
def patched(on: bool):
    was = moto_store._installed
    (moto_store.install if on else moto_store.uninstall)()
    try:
        yield
    finally:
        (moto_store.install if was else moto_store.uninstall)()


def _table(client, name="t", ttl=False):
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "gs", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "gs", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    if ttl:
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )


def _put(pk, sk, **attrs):
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"N": str(v)} for k, v in attrs.items()}}
    return {"Put": {"TableName": "t", "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def _scenario() -> dict[str, Any]:
    """A run of writes, transactions (landing and cancelled), queries; everything observable."""
    client = boto3.client("dynamodb", region_name=REGION)
    _table(client)
    seen: dict[str, Any] = {}
    for n in range(5):
        client.put_item(
            TableName="t", Item={"pk": {"S": f"P{n % 2}"}, "sk": {"S": f"{n:03d}"}, "v": {"N": str(n)}}
        )
    client.transact_write_items(
        TransactItems=[
            _put("P9", "a", v=1),
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"pk": {"S": "P0"}, "sk": {"S": "000"}},
                    "UpdateExpression": "ADD v :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                _put("P8", "new", v=1),
                _put("P9", "a", v=2),
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "P1"}, "sk": {"S": "001"}},
                        "UpdateExpression": "SET v = :v",
                        "ConditionExpression": "v = :old",
                        "ExpressionAttributeValues": {":v": {"N": "7"}, ":old": {"N": "99"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    seen["reasons"] = cancelled.value.response["CancellationReasons"]
    seen["query"] = client.query(
        TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "P0"}}
    )["Items"]
    seen["page"] = client.query(
        TableName="t",
        KeyConditionExpression="pk = :p AND sk > :s",
        Limit=1,
        ExpressionAttributeValues={":p": {"S": "P1"}, ":s": {"S": "000"}},
    )
    seen["page"].pop("ResponseMetadata")
    seen["miss"] = client.get_item(TableName="t", Key={"pk": {"S": "nope"}, "sk": {"S": "x"}}).get("Item")
    seen["hit"] = client.get_item(
        TableName="t", Key={"pk": {"S": "P9"}, "sk": {"S": "a"}}, ConsistentRead=True
    )["Item"]
    seen["batch"] = client.batch_get_item(
        RequestItems={
            "t": {
                "Keys": [
                    {"pk": {"S": "P0"}, "sk": {"S": "000"}},
                    {"pk": {"S": "P1"}, "sk": {"S": "003"}},
                    {"pk": {"S": "none"}, "sk": {"S": "x"}},
                ],
                "ConsistentRead": True,
            }
        }
    )["Responses"]["t"]
    seen["batch"].sort(key=lambda i: i["sk"]["S"])
    seen["updated"] = client.update_item(
        TableName="t",
        Key={"pk": {"S": "P0"}, "sk": {"S": "002"}},
        UpdateExpression="ADD v :one SET m = :m",
        ReturnValues="ALL_NEW",
        ExpressionAttributeValues={":one": {"N": "1"}, ":m": {"M": {"a": {"N": "1"}}}},
    )["Attributes"]
    seen["deleted"] = client.delete_item(
        TableName="t", Key={"pk": {"S": "P1"}, "sk": {"S": "003"}}, ReturnValues="ALL_OLD"
    )["Attributes"]
    seen["put"] = client.put_item(
        TableName="t", Item={"pk": {"S": "P7"}, "sk": {"S": "b"}, "bin": {"B": b"\x00\xff"}}
    )
    seen["put"].pop("ResponseMetadata")
    seen["paged"] = client.query(
        TableName="t",
        KeyConditionExpression="pk = :p",
        Limit=1,
        ExpressionAttributeValues={":p": {"S": "P0"}},
    )["LastEvaluatedKey"]
    seen["parsed once"] = _parsed_once(client)
    seen["index"] = _index_queries(client)
    seen["counters"] = _counter_updates(client)
    seen["items"] = sorted(client.scan(TableName="t")["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
    seen["pages"] = [
        page["Items"]
        for page in client.get_paginator("scan").paginate(
            TableName="t", ConsistentRead=True, PaginationConfig={"PageSize": 2}
        )
    ]
    arn = client.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records = streams.get_records(ShardIterator=it)["Records"]
    seen["stream"] = [
        (
            r["eventName"],
            r["dynamodb"].get("NewImage"),
            r["dynamodb"].get("OldImage"),
            sorted(r),
            sorted(r["dynamodb"]),
            type(r["dynamodb"]["ApproximateCreationDateTime"]),
        )
        for r in records
    ]
    return seen


def _counter_updates(client) -> dict[str, Any]:
    """ADDs of numbers on a table without a stream (the counters'): what the patch applies itself and
    everything it must leave to moto, alone and inside transactions, answered and stored as moto does."""
    client.create_table(
        TableName="c",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk", "g")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    key = {"pk": {"S": "C"}, "sk": {"S": "1"}}
    client.put_item(
        TableName="c",
        Item={
            **key,
            "n": {"M": {"a": {"N": "2"}, "s": {"S": "x"}, "m": {"M": {}}}},
            "v": {"N": "1"},
            "t": {"S": "x"},
        },
    )

    def add(expression: str, names: dict[str, str], values: dict[str, str], on: dict = key) -> dict:
        return {
            "TableName": "c",
            "Key": on,
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {k: {"N": v} for k, v in values.items()},
        }

    n, a = {"#0": "n", "#1": "a"}, {":0": "1"}
    updates = [
        add("ADD #0.#1 :0, #0.#2 :1", {**n, "#2": "new"}, {":0": "5", ":1": "-3"}),  # existing and absent
        add("ADD #0.#1 :0", n, {":0": "1.5"}),  # int + decimal
        add("ADD #0.#1 :0", n, {":0": "-0.5"}),
        add("ADD #0 :0", {"#0": "v"}, {":0": "10"}),  # top level
        add("ADD #0 :0", {"#0": "w"}, {":0": "4"}),  # top level, absent
        add("ADD #0.#1.#2 :0", {**n, "#1": "m", "#2": "deep"}, a),  # a nested map
        add("ADD #0.#1 :0", n, a, on={"pk": {"S": "C"}, "sk": {"S": "absent"}}),  # no item yet: moto's
        add("ADD #0.#1 :0", {**n, "#1": "s"}, a),  # a string: refused
        add("ADD #0 :0", {"#0": "t"}, a),  # a string at the top: refused
        add("ADD #0.#1.#2 :0", {**n, "#1": "nomap", "#2": "x"}, a),  # no such map: refused
        add("ADD #0.#1 :0", {**n, "#2": "unused"}, a),  # an unused name: refused
        add("ADD #0.#1 :0", n, {":0": "1", ":9": "2"}),  # an unused value: refused
        add("ADD #0.#1 :0, #0.#1 :1", n, {":0": "1", ":1": "2"}),  # one path twice: refused
        add("ADD #0.#1 :0, #0 :1", n, {":0": "1", ":1": "2"}),  # overlapping paths: refused
        add("ADD #0 :0", {"#0": "g"}, a),  # an index key: moto's
        add("ADD #0 :0", {"#0": "sk"}, a),  # a table key: refused
        add("ADD #0.#1   :0", n, a),  # another spelling: moto's
    ]
    answers = []
    for update in updates:
        try:
            answers.append(client.update_item(**update, ReturnValues="ALL_NEW")["Attributes"])
        except ClientError as error:
            answers.append(error.response["Error"])
    other = {"pk": {"S": "C"}, "sk": {"S": "2"}}
    client.put_item(TableName="c", Item={**other, "t": {"S": "x"}})
    good, bad = updates[0], add("ADD #0 :0", {"#0": "t"}, a, on=other)
    client.transact_write_items(TransactItems=[{"Update": good}, _put("C2", "a")])
    answers.append(
        _refusal(lambda: client.transact_write_items(TransactItems=[{"Update": good}, {"Update": bad}]))
    )
    answers.append(client.scan(TableName="c")["Items"])
    return {"answers": answers}


def _index_queries(client) -> list[Any]:
    """Queries on an index (ties on its keys, items without them) and on the table, forward, backward
    and paged: what the query patch walks must come out in moto's order."""
    for n in range(12):
        item = {"pk": {"S": f"G{n % 4}"}, "sk": {"S": f"{n:02d}"}, "g": {"S": f"g{n % 2}"}}
        if n % 5:
            item["gs"] = {"S": f"{n % 3}"}
        client.put_item(TableName="t", Item=item)
    answers = []
    for forward in (True, False):
        for limit in (2, 100):
            for index, key, value in (("by_g", "g", "g0"), ("by_g", "g", "g1"), (None, "pk", "G1")):
                args = {"IndexName": index} if index else {}
                answers.append(
                    [
                        (page["Items"], page.get("LastEvaluatedKey"))
                        for page in client.get_paginator("query").paginate(
                            TableName="t",
                            KeyConditionExpression=f"{key} = :v",
                            ExpressionAttributeValues={":v": {"S": value}},
                            ScanIndexForward=forward,
                            PaginationConfig={"PageSize": limit},
                            **args,
                        )
                    ]
                )
    return answers


def _refusal(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]


def _parsed_once(client) -> dict[str, Any]:
    """What the patches that parse once per text, copy only updated items, size an item once and
    project top-level strings directly must answer as moto does: each text twice, refusals too."""
    seen: dict[str, Any] = {}
    add = {
        "Update": {
            "TableName": "t",
            "Key": {"pk": {"S": "P0"}, "sk": {"S": "000"}},
            "UpdateExpression": "ADD #n.#a :one",
            "ExpressionAttributeNames": {"#n": "n", "#a": "a"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    client.update_item(
        TableName="t",
        Key={"pk": {"S": "P0"}, "sk": {"S": "000"}},
        UpdateExpression="SET n = :m, s = :s",
        ExpressionAttributeValues={":m": {"M": {"b": {"N": "5"}}}, ":s": {"S": "text"}},
    )
    named = _put("T", "c")
    named["Put"].update(ConditionExpression="attribute_not_exists(#p)", ExpressionAttributeNames={"#p": "pk"})
    for n in range(2):  # the same condition and update texts again: answered from what was parsed
        named["Put"]["Item"] = {**named["Put"]["Item"], "pk": {"S": f"T{n}"}}
        client.transact_write_items(
            TransactItems=[_put(f"T{n}", "a", v=n), _put(f"T{n}", "b", v=n), named, add]
        )
    # A write that fails inside a transaction puts back the update before it, in place, and the put.
    bad_add = {
        "Update": {
            "TableName": "t",
            "Key": {"pk": {"S": "P1"}, "sk": {"S": "001"}},
            "UpdateExpression": "ADD s :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    client.put_item(TableName="t", Item={"pk": {"S": "P1"}, "sk": {"S": "001"}, "s": {"S": "x"}})
    seen["rolled back"] = [
        _refusal(lambda: client.transact_write_items(TransactItems=[add, _put("T9", "a"), bad_add]))
        for _ in range(2)
    ]
    unused = {**_put("T8", "a"), "Put": {**_put("T8", "a")["Put"], "ExpressionAttributeNames": {"#x": "x"}}}
    seen["unused name"] = [
        _refusal(lambda: client.transact_write_items(TransactItems=[unused])) for _ in range(2)
    ]
    seen["bad filter"] = [
        _refusal(lambda: client.scan(TableName="t", FilterExpression="v >")) for _ in range(2)
    ]
    seen["too large"] = [
        _refusal(
            lambda: client.put_item(
                TableName="t", Item={"pk": {"S": "big"}, "sk": {"S": "a"}, "x": {"S": "x" * 410_000}}
            )
        )
        for _ in range(2)
    ]
    keys = [{"pk": {"S": "P0"}, "sk": {"S": "000"}}, {"pk": {"S": "T0"}, "sk": {"S": "a"}}]
    seen["projected"] = [
        sorted(
            client.batch_get_item(RequestItems={"t": {"Keys": keys, "ProjectionExpression": projection}})[
                "Responses"
            ]["t"],
            key=lambda i: json.dumps(i, sort_keys=True),
        )
        for projection in ("pk, sk", "pk, absent", "sk, v", "n.a", "s")
    ]
    return seen


def test_patched_moto_answers_exactly_as_stock_moto(monkeypatch):
    applied = []
    add_numbers = moto_store._add_numbers

    def counted(*args):
        item = add_numbers(*args)
        applied.append(item is not None)
        return item

    monkeypatch.setattr(moto_store, "_add_numbers", counted)
    with patched(False), mock_aws():
        stock = _scenario()
    with patched(True), mock_aws():
        fast = _scenario()
    assert fast == stock
    # The counter updates the patch applies itself: six alone, then one in each transaction.
    assert applied.count(True) == 8, applied
    assert [r.get("Code") for r in fast["reasons"]] == [
        "None",
        "ConditionalCheckFailed",
        "ConditionalCheckFailed",
    ]


def test_a_transaction_copies_no_table(monkeypatch):
    import copy as copy_module

    from moto.dynamodb.models.table import Table

    copied = []
    real = copy_module.deepcopy
    monkeypatch.setattr(copy_module, "deepcopy", lambda x, *a: copied.append(type(x)) or real(x, *a))
    with patched(True), mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _table(client)
        client.transact_write_items(TransactItems=[_put("A", str(n)) for n in range(10)])
        with pytest.raises(ClientError):
            client.transact_write_items(TransactItems=[_put("A", "0"), _put("B", "1")])
    assert Table not in copied


def test_items_expire_when_their_ttl_passes_and_not_before():
    with patched(True), mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _table(client, ttl=True)
        client.transact_write_items(
            TransactItems=[_put("M", "old", expires_at=100), _put("M", "new", expires_at=500)]
        )
        client.put_item(TableName="t", Item={"pk": {"S": "K"}, "sk": {"S": "kept"}})
        assert moto_store.expire("t", REGION, 99) == 0
        assert moto_store.expire("t", REGION, 101) == 1
        left = {i["sk"]["S"] for i in client.scan(TableName="t")["Items"]}
        assert left == {"new", "kept"}


def test_a_trimmed_stream_reads_on_from_where_a_reader_stood():
    with patched(True), mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _table(client)
        for n in range(10):
            client.put_item(TableName="t", Item={"pk": {"S": "S"}, "sk": {"S": f"{n:02d}"}})
        arn = client.describe_table(TableName="t")["Table"]["LatestStreamArn"]
        streams = boto3.client("dynamodbstreams", region_name=REGION)
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        first = streams.get_records(
            ShardIterator=streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"],
            Limit=4,
        )["Records"]
        last_seq = int(first[-1]["dynamodb"]["SequenceNumber"])
        assert moto_store.trim_stream("t", REGION, last_seq + 1) == 4
        after = streams.get_records(
            ShardIterator=streams.get_shard_iterator(
                StreamArn=arn,
                ShardId=shard,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=str(last_seq),
            )["ShardIterator"]
        )["Records"]
        assert [r["dynamodb"]["NewImage"]["sk"]["S"] for r in after] == [f"{n:02d}" for n in range(4, 10)]
        horizon = streams.get_records(
            ShardIterator=streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        )["Records"]
        assert horizon[0]["dynamodb"]["SequenceNumber"] == str(last_seq + 1)


def test_stored_items_share_their_short_strings_and_keep_long_ones_apart():
    long_text = "x" * (moto_store.SHARED_TEXT + 1)
    with patched(True), mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _table(client)
        for n in range(2):
            # Each request's JSON brings its own copies of the same texts.
            agent, text = "".join(["Mozilla/5.0 ", "(X11)"]), "".join(["x" * moto_store.SHARED_TEXT, "x"])
            client.put_item(
                TableName="t",
                Item={"pk": {"S": f"E{n}"}, "sk": {"S": "A"}, "agent": {"S": agent}, "long": {"S": text}},
            )
        table = moto_store.table("t", REGION)
        first, second = (next(iter(table.items[key].values())) for key in list(table.items)[:2])
        assert first.attrs["agent"].value is second.attrs["agent"].value
        assert first.attrs["long"].value == second.attrs["long"].value == long_text
        assert first.attrs["long"].value is not second.attrs["long"].value
