"""Running counters: applied exactly once from the facts stream, read by stats and scoring.

Why exactly once: a stream record's counter changes are written in one DynamoDB
transaction together with a marker item named by the record's eventID (conditional on
the marker not existing). Either both land or neither does. Before writing, the batch
reads its markers and drops records already applied, so a duplicate delivery, a retried
batch, a crash between two transactions or a replay hours later (markers live config.MARKER_TTL,
far longer than the stream's 24 hours) changes nothing. The changes themselves are
f(new) - f(old) of stored facts (see counting_rules.py), so order does not matter either.
Within a batch, the changes to one counter are summed: N events on one filing cost one
counter update per transaction (a transaction holds at most 100 writes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from chalicelib.core import observability as obs
from chalicelib.core import streams
from chalicelib.core.config import MARKER_TTL
from chalicelib.core.models import Counter, FactBase, Filing, Publication
from chalicelib.core.reference import PROVINCES
from chalicelib.core.store import (
    MAX_TRANSACTION_ITEMS,
    TransactWriteError,
    cancelled_by_condition,
    transaction,
)
from chalicelib.documents.lifecycle import DOC_SK
from chalicelib.usage import counting_rules, event_chains
from chalicelib.usage.counting_rules import Deltas

K = TypeVar("K")


@dataclass
class Delivery:
    """One stream record's counter changes; `marker` is the record's eventID. `record`: (kind, partition)
    of the filing or publication a usage fact counts on, whose exclusion from scoring apply() checks.
    `withdrawn`: the mirrors (sort key -> numbers) of a record the takedown it carries excludes."""

    marker: str
    deltas: Deltas = field(default_factory=dict)
    record: tuple[str, str] | None = None
    withdrawn: tuple[str, dict[str, dict[str, int]]] | None = None


MARKER = "SEEN#"  # partition prefix of the applied-delivery markers (not counters)


def marker_key(marker: str) -> tuple[str, str]:
    return f"{MARKER}{marker}", "A"


# ---- computing a record's changes ------------------------------------------------------


def delivery_of(event_id: str, event_name: str, old: dict | None, new: dict | None) -> Delivery:
    """The counter changes of one stream record (raises on a malformed image: a poison record)."""
    entity = (new or old or {}).get("entity")
    if entity == "event":
        # Events are immutable: only their first full image counts (moto may also send
        # a keys-only INSERT or a no-op MODIFY, which carry nothing).
        if event_name != "INSERT" or old or not new:
            return Delivery(event_id)
        return Delivery(event_id, counting_rules.event_contribution(new), counting_rules.record_of(new))
    delivery = Delivery(event_id, counting_rules.state_change(old, new), counting_rules.record_of(new or old))
    if entity in counting_rules.TARGETS and counting_rules.excluded(new) and not counting_rules.excluded(old):
        # The takedown excluding the record: what its usage added outside the record leaves every counter.
        # The mirrors are final here: usage committed after the takedown was stored never adds to them (apply).
        delivery.withdrawn = (new["pk"], _mirrors(new["pk"]))
    return delivery


def _mirrors(record_pk: str) -> dict[str, dict[str, int]]:
    """A record's mirrors of what its usage added outside its partition (counting_rules.mirror_key)."""
    return {
        c.sk: numbers(c)
        for c in Counter.query(record_pk, Counter.sk.startswith(counting_rules.MIRROR), consistent_read=True)
    }


# ---- applying changes exactly once ---------------------------------------------------


def apply(deliveries: list[Delivery], now: datetime, marker_ttl: timedelta = MARKER_TTL) -> int:
    """Apply each delivery's changes unless its marker shows it was applied; returns how many were."""
    pending = {d.marker: d for d in deliveries if d.deltas or d.withdrawn}
    if not pending:
        return 0
    # One read for the markers and for which counters exist (update or create): a round trip saved per batch.
    counters = {key for d in pending.values() for key in d.deltas}
    stored = _stored([marker_key(m) for m in pending] + sorted(counters))
    fresh = [d for m, d in pending.items() if marker_key(m) not in stored]
    for delivery in fresh:
        if delivery.withdrawn:
            _withdraw(*delivery.withdrawn)
    # A withdrawal deletes mirrors: which counters exist is read again then.
    existing = None if any(d.withdrawn for d in fresh) else stored
    expires = int((now + marker_ttl).timestamp())
    applied = 0
    for chunk in _chunks([d for d in fresh if d.deltas]):
        try:
            _commit(chunk, expires, existing)
        except TransactWriteError as error:
            if not cancelled_by_condition(error):
                raise
            # Optimistic: records are read only when a condition failed, most often because a takedown
            # excluded one of them. A failure again (a duplicate delivery being applied concurrently)
            # raises: the stream retries the batch and the markers sort out what already landed.
            _unscore_excluded(chunk)
            existing = None  # what another writer created meanwhile is read again from here on
            _commit([d for d in chunk if d.deltas], expires, existing)
        applied += len(chunk)
    return applied


def _stored(keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these counters-table keys hold an item (a consistent read)."""
    return {
        (c.pk, c.sk) for c in Counter.batch_get(keys, consistent_read=True, attributes_to_get=["pk", "sk"])
    }


def _commit(chunk: list[Delivery], expires: int, existing: set[tuple[str, str]] | None) -> None:
    """One transaction: the chunk's markers, a check that no record it adds usage of outside the record is
    excluded, and its summed changes (an existing counter updated, a new one created). `existing`: the
    counter keys known to exist (None: read them), extended by what this transaction creates."""
    summed: Deltas = {}
    for delivery in chunk:
        counting_rules.merge(summed, delivery.deltas)
    known = _stored(list(summed)) if existing is None else existing
    with transaction() as tx:
        for delivery in chunk:
            tx.save(
                Counter(*marker_key(delivery.marker), expires_at=expires),
                condition=Counter.pk.does_not_exist(),
            )
        for kind, record_pk in _scored_records(chunk):
            # A takedown excluding the record, stored at any time before this commits, cancels it.
            model = RECORD_MODELS[kind]
            tx.condition_check(
                model,
                record_pk,
                DOC_SK,
                condition=model.excluded_from_scoring.does_not_exist()
                | (model.excluded_from_scoring == False),  # noqa: E712 (a condition, not a test)
            )
        for key, values in summed.items():
            if key in known:
                tx.update(Counter(*key), actions=[Counter.n[name].add(v) for name, v in values.items()])
            else:
                tx.save(Counter(*key, n=values), condition=Counter.pk.does_not_exist())
    if existing is not None:
        existing.update(summed)  # each was updated or created: the next chunk updates it


RECORD_MODELS = {"filing": Filing, "publication": Publication}


def _scored_records(deliveries: list[Delivery]) -> set[tuple[str, str]]:
    """The records whose usage these deliveries add outside the record (so each is checked not excluded)."""
    return {
        d.record
        for d in deliveries
        if d.record and counting_rules.unscored(d.deltas, d.record[1]) != d.deltas
    }


def _unscore_excluded(deliveries: list[Delivery]) -> list[Delivery]:
    """Leave out what usage on records a takedown excluded from scoring adds outside the record."""
    records = {d.record for d in deliveries if d.record}
    excluded: set[str] = set()
    for kind in RECORD_MODELS:
        keys = [(pk, DOC_SK) for k, pk in records if k == kind]
        if keys:
            excluded |= {
                r.pk
                for r in RECORD_MODELS[kind].batch_get(
                    keys, consistent_read=True, attributes_to_get=["pk", "status", "excluded_from_scoring"]
                )
                if counting_rules.excluded(
                    {"status": r.status, "excluded_from_scoring": r.excluded_from_scoring}
                )
            }
    for delivery in deliveries:
        if delivery.record and delivery.record[1] in excluded:
            delivery.deltas = counting_rules.unscored(delivery.deltas, delivery.record[1])
    return deliveries


def _withdraw(record_pk: str, mirrors: Mapping[str, Mapping[str, int]]) -> None:
    """Take an excluded record's mirrored usage out of the counters it was added to, each mirror deleted in
    the transaction that subtracts it (on condition it is still there), so a retry or a duplicate delivery
    finds nothing left to take; as many transactions as the mirrors need."""
    remaining = sorted(mirrors)
    per = MAX_TRANSACTION_ITEMS // 2  # a mirror costs two writes: its deletion and the subtraction
    while remaining:
        part, remaining = remaining[:per], remaining[per:]
        try:
            with transaction() as tx:
                for sk in part:
                    tx.delete(Counter(record_pk, sk), condition=Counter.pk.exists())
                    taken = [Counter.n[name].add(-v) for name, v in mirrors[sk].items() if v]
                    if taken:
                        tx.update(Counter(*counting_rules.mirrored_key(sk)), actions=taken)
        except TransactWriteError as error:
            if not cancelled_by_condition(error):
                raise
            # A duplicate delivery took some of them meanwhile: the rest are taken again.
            left = Counter.batch_get(
                [(record_pk, sk) for sk in part], consistent_read=True, attributes_to_get=["sk"]
            )
            remaining = sorted({c.sk for c in left}) + remaining


def _chunks(deliveries: list[Delivery]) -> Iterable[list[Delivery]]:
    chunk: list[Delivery] = []
    keys: set[tuple[str, str]] = set()
    for delivery in deliveries:
        # Its counters, and its record's condition check (a facts-table item: never a counter key).
        own = set(delivery.deltas) | ({delivery.record} if delivery.record else set())
        if chunk and len(chunk) + 1 + len(keys | own) > MAX_TRANSACTION_ITEMS:
            yield chunk
            chunk, keys = [], set()
        chunk.append(delivery)
        keys |= own
    if chunk:
        yield chunk


# ---- the stream handler --------------------------------------------------------------

TTL_PRINCIPAL = "dynamodb.amazonaws.com"  # who DynamoDB names as the remover of an item its TTL expired


def expired_by_ttl(record: dict) -> bool:
    """A REMOVE that DynamoDB's TTL made (raw facts leaving by retention): it must not decrement."""
    identity = record.get("userIdentity") or {}
    return (
        record.get("eventName") == "REMOVE"
        and identity.get("type") == "Service"
        and identity.get("principalId") == TTL_PRINCIPAL
    )


def handle_stream_batch(raw_event: dict, now: datetime, marker_ttl: timedelta = MARKER_TTL) -> dict:
    """Process a Lambda DynamoDB-stream event; returns the partial batch response.

    A record whose changes cannot be computed is reported as a batch item failure, so
    Lambda retries from it and finally sends it to the on-failure queue without blocking
    the shard. A failure while writing raises: the whole batch is retried, and the
    markers make the retry apply only what had not landed.
    """
    deliveries: list[Delivery] = []

    def one(record) -> None:
        if expired_by_ttl(record.raw_event):
            deliveries.append(Delivery(record.event_id))  # retention, not a change of what people did
            return
        dynamodb = record.dynamodb
        deliveries.append(
            delivery_of(
                record.event_id,
                record.event_name.name,
                dynamodb.old_image or None,
                dynamodb.new_image or None,
            )
        )

    answer = streams.each_record(raw_event, one)
    apply(deliveries, now, marker_ttl)
    return answer


def count_stream_batch(raw_event: dict, now: datetime, marker_ttl: timedelta = MARKER_TTL) -> dict:
    """The facts-stream trigger: count the batch, then record its failures and counting lag as metrics."""
    return streams.measure(
        raw_event, handle_stream_batch(raw_event, now, marker_ttl), obs.COUNTER_LAG_SECONDS
    )


# ---- reading -------------------------------------------------------------------------


def values(pk: str, sk: str) -> dict[str, int]:
    """The numbers under one counter key (empty when nothing was counted yet)."""
    try:
        return numbers(Counter.get(pk, sk))
    except Counter.DoesNotExist:
        return {}


def filing_stats(filing_id: str) -> dict[str, int]:
    return values(*counting_rules.filing_key(filing_id))


def province_cycle(province: str, cycle_id: str) -> dict[str, int]:
    return values(*counting_rules.cycle_key(province, cycle_id))


def province_cycle_all(cycle_id: str, provinces: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
    """Province×cycle counters of every unit in one batched read."""
    codes = list(provinces or PROVINCES)
    found = read_many({p: counting_rules.cycle_key(p, cycle_id) for p in codes})
    return {code: found.get(code, {}) for code in codes}


def read_many(keys: Mapping[K, tuple[str, str]]) -> dict[K, dict[str, int]]:
    """The numbers under each of `keys` in batched reads by exact key, named as the caller names
    each key; a key with nothing counted yet is left out."""
    names = {key: name for name, key in keys.items()}
    if not names:
        return {}
    return {names[(c.pk, c.sk)]: numbers(c) for c in Counter.batch_get(list(names))}


def months(pk: str) -> dict[str, dict[str, int]]:
    """The per-month counters under one partition (a province, a filing, a publication), keyed "YYYY-MM"."""
    return {
        c.sk[len(counting_rules.MONTH) :]: numbers(c)
        for c in Counter.query(pk, Counter.sk.startswith(counting_rules.MONTH))
    }


def province_months(province: str) -> dict[str, dict[str, int]]:
    """Province×month counters, keyed "YYYY-MM" (China time)."""
    return months(counting_rules.province_pk(province))


def accounts(unit: str, cycle_id: str) -> dict[str, dict[str, int]]:
    """Per-account interaction counts on one unit's results (a province code or a `unit_pk`) in one cycle."""
    return {c.sk: numbers(c) for c in Counter.query(counting_rules.account_pk(unit, cycle_id))}


def seed(pk: str, sk: str, counts: dict[str, int]) -> None:
    """Write a counter item outright (benchmarks and tests that need counters without events)."""
    Counter(pk, sk, n=counts).save()


def numbers(counter: Counter) -> dict[str, int]:
    """A counter item's numbers, counter name → int."""
    return decode(counter.n.as_dict() if counter.n is not None else None)


def decode(raw: Mapping[str, Any] | None) -> dict[str, int]:
    """The one decoding of a counter item's `n` map (read by the model or scanned raw)."""
    return {name: int(value) for name, value in (raw or {}).items()}


# ---- recount and repair --------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    pk: str
    sk: str
    name: str
    stored: int
    expected: int


def _scan(table: str) -> Iterable[dict[str, Any]]:
    # Only the recount scans: boto3 on top of PynamoDB's botocore is ~30 ms of every cold start.
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    meta = FactBase.Meta
    client = boto3.client("dynamodb", region_name=meta.region, endpoint_url=meta.host)
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            yield {k: deserializer.deserialize(v) for k, v in item.items()}


def facts() -> Iterable[dict[str, Any]]:
    """Every stored fact, read consistently (the recount's input)."""
    return _scan(FactBase.Meta.table_name)


def recount(stored_facts: Iterable[dict[str, Any]] | None = None) -> Deltas:
    """Every counter recomputed from the facts alone."""
    return counting_rules.recount(facts() if stored_facts is None else stored_facts)


def order_problems(stored_facts: Iterable[dict[str, Any]] | None = None) -> list[str]:
    """Places in click chains that break the order rule (none, by construction)."""
    return event_chains.chain_problems(facts() if stored_facts is None else stored_facts)


def stored() -> Deltas:
    """Every counter as kept (markers excluded)."""
    out: Deltas = {}
    for item in _scan(Counter.Meta.table_name):
        if item["pk"].startswith(MARKER):
            continue
        kept = {name: value for name, value in decode(item.get("n")).items() if value}
        if kept:
            out[(item["pk"], item["sk"])] = kept
    return out


def drift(expected: Deltas | None = None, kept: Deltas | None = None) -> list[Drift]:
    """Every counter whose kept value differs from the recount."""
    expected = recount() if expected is None else expected
    kept = stored() if kept is None else kept
    found = []
    for key in sorted(set(expected) | set(kept)):
        want, have = expected.get(key, {}), kept.get(key, {})
        for name in sorted(set(want) | set(have)):
            if want.get(name, 0) != have.get(name, 0):
                found.append(Drift(key[0], key[1], name, have.get(name, 0), want.get(name, 0)))
    return found


def repair(found: list[Drift]) -> int:
    """Set each drifted counter to its recounted value; returns how many were fixed."""
    by_key: dict[tuple[str, str], dict[str, int]] = {}
    for d in found:
        by_key.setdefault((d.pk, d.sk), {})[d.name] = d.expected
    for (pk, sk), fixes in by_key.items():
        try:
            Counter.get(pk, sk, consistent_read=True)
        except Counter.DoesNotExist:
            Counter(pk, sk, n=fixes).save()
            continue
        Counter(pk, sk).update(actions=[Counter.n[name].set(value) for name, value in fixes.items()])
    return len(found)
