"""Counting order under interleaving: writes and stream deliveries overlap, counters stay exact.

Hypothesis draws a run in which requests (several events at one instant, two writers whose
clocks differ by a few seconds, resends, robots) and stream deliveries (partial, duplicated,
crashed, poisoned, held back and delivered late) interleave in any order: the trigger may
run after any prefix of the writes. Whenever the stream has settled, the counters equal the
recount of the stored facts and the COUNTER rules computed here from the order of the writes.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections import defaultdict
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.core.auth import Caller
from chalicelib.core.clock import china
from chalicelib.usage import counting_rules, event_chains, interactions, running_counters
from chalicelib.usage.interactions import EventsIn
from tests.support.usage import ROBOTS, TARGETS, Crash, poison_record, run_batch, send_usage, world

EXAMPLES = int(os.environ.get("NAVI_FAULT_EXAMPLES", "30"))
USERS = [Caller("u1", "user", side="government"), Caller("u2", "user", side="enterprise")]

write = st.tuples(
    st.just("write"),
    st.integers(0, 1),
    st.integers(0, 1),
    st.integers(0, 2),
    st.sampled_from(["view", "download"]),
    st.integers(1, 4),
    st.booleans(),
    st.sampled_from([0, 0, 1, 5, 29, 30, 31, 59, 600, 3599, 3600]),
)
resend = st.tuples(st.just("resend"), st.integers(0, 30))
deliver = st.tuples(
    st.just("deliver"),
    st.integers(1, 12),
    st.sampled_from(["none", "none", "duplicate", "crash_before", "crash_after", "poison", "hold"]),
    st.integers(0, 2),
)
settle = st.tuples(st.just("settle"))
run = st.lists(st.one_of(write, write, resend, deliver, settle), min_size=1, max_size=40)


class Model:
    """COUNTER R5.1 as the contract states it, over the chains in the order the platform stored them."""

    def __init__(self):
        self.chains: dict[tuple, list] = defaultdict(list)  # chain -> effective times, in stored order

    def stored(self, user: str, target: tuple[str, str], kind: str, received) -> None:
        chain = self.chains[(user, target, kind)]
        chain.append(max(received, chain[-1]) if chain else received)

    def expected(self, target: tuple[str, str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for (_, t, kind), times in self.chains.items():
            if t != target:
                continue
            plural = "views" if kind == "view" else "downloads"
            prev = None
            for at in times:
                if prev is None or at - prev > timedelta(seconds=30):
                    out[f"{plural}_total"] = out.get(f"{plural}_total", 0) + 1
                if prev is None or china(prev).replace(minute=0, second=0, microsecond=0) != china(
                    at
                ).replace(minute=0, second=0, microsecond=0):
                    out[f"{plural}_unique"] = out.get(f"{plural}_unique", 0) + 1
                prev = at
        return out


USAGE = ("views_total", "views_unique", "downloads_total", "downloads_unique")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=run, skew=st.integers(-5, 5))
def test_counters_follow_the_stored_order_whatever_the_interleaving(steps, skew):
    with world() as (clock, tap):
        model = Model()
        sent: list[tuple[Caller, list[dict]]] = []
        records: list[dict] = []
        position = 0
        held: list[list[dict]] = []

        def take() -> None:
            records.extend(tap.take())

        def settle_all() -> None:
            nonlocal position
            take()
            for start in range(position, len(records), 100):
                running_counters.handle_stream_batch({"Records": records[start : start + 100]}, clock.now())
            position = len(records)
            for batch in held:
                running_counters.handle_stream_batch({"Records": batch}, clock.now())
            held.clear()
            facts = list(running_counters.facts())
            assert running_counters.drift(running_counters.recount(facts)) == [], (steps, skew)
            assert running_counters.order_problems(facts) == [], (steps, skew)
            for target in TARGETS:
                kept = running_counters.values(*counting_rules.STATS_KEYS[target[0]](target[1]))
                assert {k: kept.get(k, 0) for k in USAGE} == {
                    k: model.expected(target).get(k, 0) for k in USAGE
                }, (steps, skew, target)

        for step in steps:
            if step[0] == "write":
                _, writer, user, target, kind, count, robot, advance = step
                clock.advance(seconds=advance)
                received = clock.now() + timedelta(seconds=skew if writer else 0)
                caller = USERS[user]
                views = send_usage(
                    caller,
                    kind,
                    TARGETS[target],
                    "crawlbot/1" if robot else "Mozilla/5.0 (X11; Linux)",
                    received,
                    count,
                )
                if views:
                    sent.append((caller, views))
                if not robot:
                    for _ in range(count):
                        model.stored(caller.sub, TARGETS[target], kind, received)
            elif step[0] == "resend" and sent:
                caller, events = sent[step[1] % len(sent)]
                receipt = interactions.record_events(
                    caller, EventsIn.model_validate({"events": events}), None, ROBOTS, clock.now()
                )
                assert receipt.accepted == 0 and receipt.duplicates == len(events)
            elif step[0] == "deliver":
                _, size, fault, crash_at = step
                take()
                batch = records[position : position + size]
                if not batch:
                    continue
                position += len(batch)
                if fault == "hold":
                    held.append(batch)
                    continue
                if fault == "poison":
                    batch = batch[:1] + [poison_record(batch[0])] + batch[1:]
                if fault in ("crash_before", "crash_after"):
                    with contextlib.suppress(Crash):
                        run_batch(batch, clock.now(), fault, crash_at)
                running_counters.handle_stream_batch({"Records": batch}, clock.now())
                if fault == "duplicate":
                    running_counters.handle_stream_batch({"Records": batch}, clock.now())
            elif step[0] == "settle":
                settle_all()
        settle_all()


def test_a_request_of_many_clicks_on_one_filing_counts_once():
    """100 views in one request share one instant: one total, one unique (the issue's first row)."""
    with world() as (clock, tap):
        events = [
            {"id": str(uuid.uuid4()), "type": "view", "filing": "f1", "user_agent": "Mozilla/5.0 (X11)"}
            for _ in range(100)
        ]
        receipt = interactions.record_events(
            USERS[0], EventsIn.model_validate({"events": events}), None, ROBOTS, clock.now()
        )
        assert receipt.accepted == 100
        records = tap.take()
        # Split across two stream batches: the second half must not count again.
        running_counters.handle_stream_batch({"Records": records[:37]}, clock.now())
        running_counters.handle_stream_batch({"Records": records[37:]}, clock.now())
        stats = running_counters.filing_stats("f1")
        assert (stats["views_total"], stats["views_unique"]) == (1, 1)


def test_places_are_monotone_when_a_writer_clock_lags():
    """A writer whose clock is behind still takes the next place, at the chain's latest time."""
    head = event_chains.Head(seq=3, last_at=None)
    with world() as (clock, _):
        now = clock.now()
        later = event_chains.places(event_chains.Head(3, now), now - timedelta(seconds=4), 2)
        assert [p.seq for p in later] == [4, 5]
        assert all(p.at == now for p in later) and later[0].prev_at == now
        assert event_chains.places(head, now, 1)[0].prev_at is None


def test_a_publication_and_a_filing_with_the_same_id_keep_separate_chains_and_counters():
    """Chains and counters are keyed by the target's kind: the same id never shares a place."""
    assert event_chains.chain_key("filing", "x", "view", "u") != event_chains.chain_key(
        "publication", "x", "view", "u"
    )
    assert counting_rules.filing_key("x") != counting_rules.publication_key("x")
    with world() as (clock, tap):
        send_usage(USERS[0], "view", ("publication", "p1"), "Mozilla/5.0 (X11)", clock.now(), 3)
        send_usage(USERS[0], "download", ("publication", "p1"), "Mozilla/5.0 (X11)", clock.now(), 2)
        running_counters.handle_stream_batch({"Records": tap.take()}, clock.now())
        kept = running_counters.values(*counting_rules.publication_key("p1"))
        assert {k: kept[k] for k in USAGE} == {
            "views_total": 1,
            "views_unique": 1,
            "downloads_total": 1,
            "downloads_unique": 1,
        }
        unit = running_counters.province_cycle("320000", "2024")
        assert (
            unit["publication_views_total"] == 1 and "views_total" not in unit
        )  # filings' own views untouched
        assert running_counters.drift() == [] and running_counters.order_problems() == []
