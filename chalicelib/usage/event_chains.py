"""The counting order of views and downloads: each counted event's place, given once, when stored.

A chain is the events of one type, user and filing (or publication). Its head item holds the last place
given (`seq`) and the time of that event (`last_at`). A request's counted events are
written in DynamoDB transactions together with their chain heads: each head is put on
condition that its `seq` is still the one read, each event on condition that its key is
new. So either an event and the head that gave its place land together, or neither does;
two writers can never give one place twice (the second's condition fails and it reads
the head again); and a resent event id fails its own condition and is a duplicate.

An event stores its place: `seq` and `prev_at`, the time of the event before it in the
chain. Times in a chain never go back: an event's time is the later of its receipt and
`last_at`, so writers whose clocks differ still produce a monotone chain. Events of one
request share the receipt instant and take places in request order. Counting rules read
only the event's own stored place (counting_rules.event_values), so the stream trigger and the
recount agree whatever the delivery order or timing: no later write can precede an event.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from chalicelib.core import keys
from chalicelib.core.clock import parse_instant
from chalicelib.core.errors import Problem
from chalicelib.core.messages import Message
from chalicelib.core.models import ChainHead, UsageEvent
from chalicelib.core.store import (
    CONDITION_FAILED,
    MAX_TRANSACTION_ITEMS,
    TransactWriteError,
    cancellation_codes,
    transaction,
)
from chalicelib.usage import counting_rules

MAX_ROUNDS = 25  # rounds of re-reading heads when another writer took places first


EVENT, CHAIN = "EVENT#", "CHAIN#"  # partition prefixes of usage events and of their chains' heads


def event_key(user: str, event_id: str) -> tuple[str, str]:
    """Events are keyed by (user, client event id): a resend hits the same key."""
    return f"{EVENT}{keys.part(user)}#{keys.part(event_id)}", "A"


def chain_key(target_kind: str, target: str, kind: str, user: str) -> tuple[str, str]:
    """A filing's chains keep their first key format; other targets name their kind."""
    named = keys.part(target) if target_kind == "filing" else f"{target_kind}:{keys.part(target)}"
    return f"{CHAIN}{named}#{kind}#{keys.part(user)}", "HEAD"


def chain_of(event: Mapping) -> tuple[str, str]:
    return chain_key(*counting_rules.target_of(event), event["type"], event["user"])


@dataclass(frozen=True)
class Head:
    """A chain's state before a write: the last place given and its time (none yet: 0, None)."""

    seq: int = 0
    last_at: datetime | None = None


@dataclass(frozen=True)
class Place:
    seq: int
    at: datetime
    prev_at: datetime | None


def places(head: Head, received: datetime, count: int) -> list[Place]:
    """The places of `count` events received together, after `head` (pure)."""
    at = max(received, head.last_at) if head.last_at else received
    out, prev = [], head.last_at
    for i in range(count):
        out.append(Place(head.seq + i + 1, at, prev))
        prev = at
    return out


class Busy(Problem):
    status = 503
    title = Message("Busy")


@dataclass
class Outcome:
    stored: list[UsageEvent]
    duplicates: list[UsageEvent]


@dataclass
class HeadWrite:
    """A chain head to put, on condition that its seq is still `expected` (0: no head yet)."""

    item: ChainHead
    expected: int


# A unit of a transaction: an event, and the head to write with it when it is its chain's last.
Entry = tuple[UsageEvent, "HeadWrite | None"]

# Cancellation reasons that mean "try again": a place taken meanwhile, another transaction
# on the same item (DynamoDB's TransactionConflict), throttling. Anything else is a bug.
RETRYABLE = frozenset(
    {CONDITION_FAILED, "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "None"}
)


def store(events: Sequence[UsageEvent], counted: Sequence[bool], received: datetime) -> Outcome:
    """Store a request's events, received together, in request order; counted ones take places.

    Counted events get `seq`, `prev_at` and their chain's time in `at` here. Returns which
    were stored and which were resends of events stored before.
    """
    pending = list(zip(events, counted))
    outcome = Outcome([], [])
    for round_ in range(MAX_ROUNDS):
        heads = _read_heads({_chain(e) for e, c in pending if c})
        settled: set[int] = set()
        for group in _transactions(_assign(pending, heads, received)):
            duplicate = _write(group)
            if duplicate is not None:
                # Later runs of a chain were placed after this one: they wait for the next round.
                outcome.duplicates.extend(event for (event, _), dup in zip(group, duplicate) if dup)
                settled.update(id(event) for (event, _), dup in zip(group, duplicate) if dup)
                break
            outcome.stored.extend(event for event, _ in group)
            settled.update(id(event) for event, _ in group)
        pending = [(e, c) for e, c in pending if id(e) not in settled]
        if not pending:
            return outcome
        time.sleep(random.uniform(0, 0.005 * (round_ + 1)))  # let the other writer finish
    raise Busy(Message("Too many concurrent writes to the same click chains; send the batch again"))


def _chain(event: UsageEvent) -> tuple[str, str]:
    return chain_of(
        {"filing": event.filing, "publication": event.publication, "type": event.type, "user": event.user}
    )


def _read_heads(keys: set[tuple[str, str]]) -> dict[tuple[str, str], Head]:
    found = (
        {
            (h.pk, h.sk): Head(int(h.seq), h.last_at)
            for h in ChainHead.batch_get(list(keys), consistent_read=True)
        }
        if keys
        else {}
    )
    return {key: found.get(key, Head()) for key in keys}


def _assign(
    pending: list[tuple[UsageEvent, bool]], heads: dict[tuple[str, str], Head], received: datetime
) -> list[list[Entry]]:
    """Give places; returns segments that must land whole (a run of a chain's events with its head)."""
    by_chain: dict[tuple[str, str], list[UsageEvent]] = {}
    segments: list[list[Entry]] = []
    for event, is_counted in pending:
        if is_counted:
            by_chain.setdefault(_chain(event), []).append(event)
        else:
            event.at, event.seq, event.prev_at = received, None, None
            segments.append([(event, None)])
    for key, chain in by_chain.items():
        head = heads[key]
        for start in range(0, len(chain), MAX_TRANSACTION_ITEMS - 1):
            run = chain[start : start + MAX_TRANSACTION_ITEMS - 1]
            given = places(head, received, len(run))
            for event, place in zip(run, given):
                event.seq, event.at, event.prev_at = place.seq, place.at, place.prev_at
            write = HeadWrite(
                ChainHead(
                    *key,
                    entity="chain",
                    seq=given[-1].seq,
                    last_at=given[-1].at,
                    expires_at=run[-1].expires_at,
                ),
                head.seq,
            )  # kept as long as its events
            segments.append([(e, None) for e in run[:-1]] + [(run[-1], write)])
            head = Head(given[-1].seq, given[-1].at)
    return segments


def _transactions(segments: list[list[Entry]]) -> Iterable[list[Entry]]:
    """Pack whole segments into transactions of at most MAX_TRANSACTION_ITEMS writes."""
    group: list[Entry] = []
    size = 0
    for segment in segments:
        weight = len(segment) + sum(1 for _, head in segment if head is not None)
        if group and size + weight > MAX_TRANSACTION_ITEMS:
            yield group
            group, size = [], 0
        group.extend(segment)
        size += weight
    if group:
        yield group


def _write(group: list[Entry]) -> list[bool] | None:
    """Write one transaction: None when it landed, else per entry whether its event was a resend."""
    try:
        with transaction() as tx:
            for event, _ in group:
                tx.save(event, condition=UsageEvent.pk.does_not_exist())
            for _, head in group:
                if head is not None:
                    tx.save(
                        head.item,
                        condition=ChainHead.pk.does_not_exist()
                        if head.expected == 0
                        else ChainHead.seq == head.expected,
                    )
        return None
    except TransactWriteError as error:
        reasons = cancellation_codes(error)
        if not reasons or any(code not in RETRYABLE for code in reasons):
            raise
        # Puts come first in the transaction, in group order: a failed event condition is a resend.
        return [code == CONDITION_FAILED for code in reasons[: len(group)]]


def chain_problems(facts: Iterable[Mapping]) -> list[str]:
    """Every way the stored places break the order rule (none, by construction): for tests and recount."""
    chains: dict[tuple[str, str], list[Mapping]] = {}
    heads: dict[tuple[str, str], Mapping] = {}
    for fact in facts:
        if fact.get("entity") == "event" and fact.get("seq") is not None:
            chains.setdefault(chain_of(fact), []).append(fact)
        elif fact.get("entity") == "chain":
            heads[(fact["pk"], fact["sk"])] = fact
    problems = []
    for key, events in chains.items():
        events.sort(key=lambda e: int(e["seq"]))
        prev = None
        for n, event in enumerate(events, 1):
            at, prev_at = _when(event["at"]), _when(event.get("prev_at"))
            if int(event["seq"]) != n:
                problems.append(f"{key[0]}: place {event['seq']} where {n} was due")
            if prev_at != (prev and _when(prev["at"])) or (prev_at and at < prev_at):
                problems.append(f"{key[0]}: event {event['id']} does not follow the event before it")
            prev = event
        head = heads.get(key)
        if (
            head is None
            or int(head["seq"]) != len(events)
            or _when(head["last_at"]) != _when(events[-1]["at"])
        ):
            problems.append(f"{key[0]}: head does not name the last place")
    return problems


def _when(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_instant(str(value))
