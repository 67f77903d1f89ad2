"""DynamoDB on-demand request units of whatever code runs, counted with botocore event hooks.

    meter = CapacityMeter(region="cn-north-1"); meter.install()   # before the code builds its clients
    with mock_aws():
        meter.restart()                                             # its private reader, on this mock
        with meter.phase("api"):
            ...                                                     # real handlers on moto
    meter.units["api"]  # {"write": WRU, "read": RRU, "requests": n, "seconds": time inside DynamoDB}

moto reports no meaningful ConsumedCapacity, so the units are computed from the items as
DynamoDB bills them (developer guide, "Read/write capacity mode" and "Item sizes"):
a write is ceil(size / 1 KB) units of the larger of the item before and after, twice that
inside TransactWriteItems, plus one index write per global secondary index the item is (or
was) in, two when the index key changes; a read is ceil(size / 4 KB) units, half for an
eventually consistent read, twice for a transactional one, summed over a Query/Scan page
before rounding; a missing item still costs the minimum. Items before and after a write are
read through a private client that the hooks do not see (`restart()` it inside each new
moto mock). Stream reads by Lambda are free and are not counted.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import botocore.session

KB = 1024
WRITE_UNIT = 1 * KB
READ_UNIT = 4 * KB


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's wire format, by DynamoDB's sizing rules."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        digits = len(str(Decimal(raw).normalize()).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(attribute_size({"N": n}) for n in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in raw.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of an item (names + values); 0 for no item."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in (item or {}).items())


class CapacityMeter:
    """Counts request units, requests and time inside DynamoDB per named phase."""

    def __init__(self, region: str, classify: Any = None):
        self.region = region
        # Optional (table, key) -> kind: write units are also summed per kind, as "write:<kind>".
        self.classify = classify
        self.units: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.by_operation: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._phase: str | None = None  # outside a phase the hooks do nothing
        self._peek: Any = None
        self._create_client: Any = None
        self._schemas: dict[str, tuple[list[str], list[tuple[str, ...]]]] = {}
        self._installed = False

    # ---- wiring ----------------------------------------------------------------------

    def install(self) -> None:
        """Hook every DynamoDB client botocore creates from now on."""
        if self._installed:
            return
        original = self._create_client = botocore.session.Session.create_client
        meter = self

        def create_client(session, *args, **kwargs):
            client = original(session, *args, **kwargs)
            if client.meta.service_model.service_name == "dynamodb":
                client.meta.events.register("before-call.dynamodb", meter._before)
                client.meta.events.register("after-call.dynamodb", meter._after)
            return client

        botocore.session.Session.create_client = create_client
        self._installed = True

    def uninstall(self) -> None:
        """Stop hooking new clients (clients already hooked stay quiet outside a phase)."""
        if self._installed:
            botocore.session.Session.create_client = self._create_client
            self._installed = False

    def restart(self) -> None:
        """Forget table schemas and the private client: a new moto mock has begun."""
        self._schemas.clear()
        self._peek = self._create_client(botocore.session.get_session(), "dynamodb", region_name=self.region)

    @contextmanager
    def phase(self, name: str) -> Iterator[dict[str, float]]:
        """Attribute everything inside the block to `name`; yields that phase's running totals."""
        previous, self._phase = self._phase, name
        try:
            yield self.units[name]
        finally:
            self._phase = previous

    # ---- hooks ------------------------------------------------------------------------

    def _before(self, model, params, context, **_):
        if self._phase is None:
            return
        request = _request_params(params)
        context["capacity"] = (time.perf_counter(), request, self._old_items(model.name, request))

    def _after(self, model, parsed, context, **_):
        if self._phase is None or "capacity" not in context:
            return
        started, request, old = context.pop("capacity")
        totals = self.units[self._phase]
        write, read = self._units(model.name, request, parsed, old, totals)
        totals["write"] += write
        totals["read"] += read
        totals["requests"] += 1
        self.by_operation[self._phase][model.name] += 1
        # Inside moto and inside this meter: neither is time the function spends on its own.
        totals["seconds"] += time.perf_counter() - started

    # ---- unit rules -------------------------------------------------------------------

    def _schema(self, table: str) -> tuple[list[str], list[tuple[str, ...]]]:
        if table not in self._schemas:
            described = self._peek.describe_table(TableName=table)["Table"]
            key = [k["AttributeName"] for k in described["KeySchema"]]
            indexes = [
                tuple(k["AttributeName"] for k in i["KeySchema"])
                for i in described.get("GlobalSecondaryIndexes", [])
            ]
            self._schemas[table] = (key, indexes)
        return self._schemas[table]

    def _get(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        return self._peek.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def _key_of(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self._schema(table)[0]}

    def _writes_of(
        self, operation: str, request: dict[str, Any]
    ) -> list[tuple[str, dict, dict | None, bool]]:
        """(table, key, new item or None when unknown before the call, transactional) per written item."""
        if operation == "PutItem":
            table = request["TableName"]
            return [(table, self._key_of(table, request["Item"]), request["Item"], False)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(request["TableName"], request["Key"], None, False)]
        if operation == "BatchWriteItem":
            out = []
            for table, entries in request.get("RequestItems", {}).items():
                for entry in entries:
                    if "PutRequest" in entry:
                        item = entry["PutRequest"]["Item"]
                        out.append((table, self._key_of(table, item), item, False))
                    else:
                        out.append((table, entry["DeleteRequest"]["Key"], None, False))
            return out
        if operation == "TransactWriteItems":
            out = []
            for entry in request.get("TransactItems", []):
                ((kind, body),) = entry.items()
                table = body["TableName"]
                key = self._key_of(table, body["Item"]) if kind == "Put" else body["Key"]
                out.append((table, key, body.get("Item"), True))
            return out
        return []

    def _old_items(self, operation: str, request: dict[str, Any]) -> dict[int, dict | None]:
        return {
            i: self._get(table, key)
            for i, (table, key, _, _) in enumerate(self._writes_of(operation, request))
        }

    def _units(
        self,
        operation: str,
        request: dict[str, Any],
        parsed: dict[str, Any],
        old: dict[int, dict | None],
        totals: dict[str, float],
    ) -> tuple[float, float]:
        write = 0.0
        failed = "Error" in parsed
        for i, (table, key, new, transactional) in enumerate(self._writes_of(operation, request)):
            before = old.get(i)
            after = None if failed else self._get(table, key)
            if operation == "TransactWriteItems" and "ConditionCheck" in request["TransactItems"][i]:
                units = 2 * max(1, math.ceil(item_size(before) / WRITE_UNIT))
            else:
                size = max(item_size(before), item_size(after if not failed else new))
                units = (2 if transactional else 1) * max(1, math.ceil(size / WRITE_UNIT))
                if not failed:
                    units += self._index_writes(table, before, after)
            write += units
            if self.classify is not None:
                totals[f"write:{self.classify(table, key)}"] += units
        return write, self._read_units(operation, request, parsed)

    def _index_writes(self, table: str, before: dict | None, after: dict | None) -> float:
        units = 0.0
        for index_key in self._schema(table)[1]:
            old_in = before is not None and all(k in before for k in index_key)
            new_in = after is not None and all(k in after for k in index_key)
            if new_in:
                units += max(1, math.ceil(item_size(after) / WRITE_UNIT))
            if old_in and (not new_in or any(before[k] != after[k] for k in index_key)):
                units += max(1, math.ceil(item_size(before) / WRITE_UNIT))  # the old index entry goes
        return units

    def _read_units(self, operation: str, request: dict[str, Any], parsed: dict[str, Any]) -> float:
        if operation == "GetItem":
            return _read(item_size(parsed.get("Item")), request.get("ConsistentRead", False))
        if operation == "BatchGetItem":
            total = 0.0
            for table, spec in request.get("RequestItems", {}).items():
                found = parsed.get("Responses", {}).get(table, [])
                missing = len(spec.get("Keys", [])) - len(found)
                total += sum(_read(item_size(i), spec.get("ConsistentRead", False)) for i in found)
                total += missing * _read(0, spec.get("ConsistentRead", False))
            return total
        if operation in ("Query", "Scan"):
            items = parsed.get("Items", [])
            size = sum(item_size(i) for i in items)
            if items and parsed.get("ScannedCount", 0) > len(items):  # filtered items were read too
                size = size * parsed["ScannedCount"] / len(items)
            return _read(size, request.get("ConsistentRead", False))
        if operation == "TransactGetItems":
            return sum(
                2 * max(1, math.ceil(item_size(r.get("Item")) / READ_UNIT))
                for r in parsed.get("Responses", [])
            )
        return 0.0

    # ---- storage ------------------------------------------------------------------------

    def stored_bytes(self, table: str, overhead: int = 100) -> tuple[int, int]:
        """(items, bytes billed as storage: item sizes + 100 B each, again per index the item is in)."""
        count = size = 0
        for page in self._peek.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                copies = 1 + sum(all(k in item for k in index) for index in self._schema(table)[1])
                count += 1
                size += copies * (item_size(item) + overhead)
        return count, size


def _read(size: float, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT))
    return units if consistent else units / 2


def _request_params(params: dict[str, Any]) -> dict[str, Any]:
    """The API parameters of a botocore request dict (its JSON body)."""
    import json

    body = params.get("body") or b"{}"
    return json.loads(body.decode() if isinstance(body, bytes) else body)
