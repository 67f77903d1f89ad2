"""The local stack's journal keeps its kill -9 bound while a long moto call holds the store.

A page of a full-table scan held the store lock 2.6 s; a group that waited for it left writes
acknowledged before the scan off the disk for that long."""

from __future__ import annotations

import json
import threading
import time
import uuid

import boto3
import pytest

from local_stack import moto_store, persistence
from local_stack.moto_store import LockedMotoServer

REGION = "cn-northwest-1"  # not the session stack's region: its tables stay out of this store


@pytest.fixture
def server():
    moto = LockedMotoServer(ip_address="127.0.0.1", port=0)
    moto.start()
    host, port = moto.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        moto.stop()


def _journaled(path, pk: str) -> bool:
    journal = path / "journal-1.json"
    return journal.exists() and any(
        json.loads(line).get("Keys", {}).get("pk") == {"S": pk} for line in journal.read_bytes().splitlines()
    )


def test_a_write_acknowledged_before_a_long_store_call_is_on_disk_within_1_s(server, tmp_path):
    client = boto3.client("dynamodb", endpoint_url=server, region_name=REGION)
    name = f"journal-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    store = persistence.DataStore(tmp_path, REGION, {"t": name}, None, lambda: None)
    store.open()
    try:
        client.put_item(TableName=name, Item={"pk": {"S": "acknowledged"}})
        acknowledged = time.monotonic()
        held = threading.Event()

        def long_call() -> None:  # what a scan page of a national year does to the lock
            with moto_store.STORE_LOCK:
                held.set()
                time.sleep(2.0)

        thread = threading.Thread(target=long_call)
        thread.start()
        held.wait()
        while not _journaled(tmp_path, "acknowledged") and time.monotonic() - acknowledged < 2.5:
            time.sleep(0.02)
        on_disk = time.monotonic() - acknowledged
        thread.join()
        assert _journaled(tmp_path, "acknowledged")
        assert on_disk < 1.0, f"journaled {on_disk:.2f} s after it was acknowledged"
    finally:
        store.close()
