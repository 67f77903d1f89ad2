"""Fault injection: whatever the delivery schedule, counters equal a recount of the facts.

Hypothesis draws an interaction history and a hostile delivery schedule (odd batch
sizes, duplicated batches, batches out of order, crashes before or after any counter
transaction, poison records, a replay of everything at the end) and checks drift is 0.
"""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.core.auth import Caller
from chalicelib.core.errors import NotFound
from chalicelib.core.store import TransactWriteError
from chalicelib.documents import filings, publications
from chalicelib.documents.filings import ApplicationChangeIn
from chalicelib.documents.lifecycle import TakedownIn
from chalicelib.usage import interactions, running_counters
from chalicelib.usage.interactions import CommentIn, EvaluationIn, EventsIn, HideIn
from tests.conftest import auth
from tests.streams import StreamTap, deliver
from tests.support import approved_filing
from tests.support.usage import (
    FILINGS,
    ROBOTS,
    TARGETS,
    Crash,
    events,
    poison_record,
    run_batch,
    send_usage,
    world,
)

EXAMPLES = int(os.environ.get("NAVI_FAULT_EXAMPLES", "30"))
USERS = [
    Caller("u1", "user", side="government"),
    Caller("u2", "user", side="enterprise"),
    Caller("u3", "user", side="university"),
    Caller("author", "filer", province="320000"),
]
MODERATOR = Caller("moderator", "national_admin")

operation = st.one_of(
    st.tuples(
        st.just("event"),
        st.sampled_from(["view", "download"]),
        st.integers(0, 3),
        st.integers(0, 2),
        st.booleans(),
        st.sampled_from([0, 1, 10, 29, 30, 31, 600, 3599, 3600, 86400]),
    ),
    st.tuples(st.just("resend"), st.integers(0, 50)),
    st.tuples(
        st.just("reaction"),
        st.sampled_from(["like", "favorite"]),
        st.integers(0, 3),
        st.integers(0, 2),
        st.booleans(),
    ),
    st.tuples(st.just("comment"), st.integers(0, 3), st.integers(0, 2)),
    st.tuples(st.just("uncomment"), st.integers(0, 20)),
    st.tuples(st.just("hide"), st.integers(0, 20)),
    st.tuples(st.just("takedown"), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("evaluate"), st.integers(0, 2), st.integers(0, 1), st.integers(1, 5)),
    st.tuples(st.just("apply"), st.integers(0, 1), st.sampled_from(["in_progress", "applied"])),
    st.tuples(st.just("later"), st.sampled_from([31, 3600, 40 * 86400, 200 * 86400])),
)

fault = st.sampled_from(["none", "none", "duplicate", "crash_before", "crash_after", "poison", "swap"])
schedule = st.lists(st.tuples(st.integers(1, 40), fault, st.integers(0, 3)), min_size=1, max_size=30)


def play(history, clock) -> None:
    """Run an interaction history through the same domain functions the API calls."""
    sent: list[tuple[Caller, dict]] = []
    comments: list[tuple[Caller, str, str, str]] = []
    down: set[int] = set()  # targets taken down: nothing more reaches them
    for op in history:
        kind = op[0]
        if _on_taken_down(op, down):
            continue
        if kind == "event":
            _, etype, user, target, robot, step = op
            clock.advance(seconds=step)
            views = send_usage(
                USERS[user], etype, TARGETS[target], "crawlbot/1" if robot else "Mozilla/5.0", clock.now()
            )
            sent.extend((USERS[user], event) for event in views)
        elif kind == "resend" and sent:
            caller, event = sent[op[1] % len(sent)]
            interactions.record_events(
                caller, EventsIn.model_validate({"events": [event]}), None, ROBOTS, clock.now()
            )
        elif kind == "reaction":  # on a filing or the publication (TARGETS)
            _, what, user, target, active = op
            owner, target_id = TARGETS[target]
            interactions.set_reaction(USERS[user], target_id, what, active, clock.now(), owner)
        elif kind == "comment":
            caller, (owner, target_id) = USERS[op[1]], TARGETS[op[2]]
            made = interactions.add_comment(caller, target_id, CommentIn(text="意见"), clock.now(), owner)
            comments.append((caller, owner, target_id, made.id))
            clock.advance(seconds=1)
        elif kind == "uncomment" and comments:
            caller, owner, target_id, cid = comments[op[1] % len(comments)]
            with contextlib.suppress(NotFound):  # its record was taken down meanwhile
                interactions.delete_comment(caller, target_id, cid, clock.now(), owner)
        elif kind == "hide" and comments:  # a moderator hides it (a deleted one is 404: nothing changes)
            _, owner, target_id, cid = comments[op[1] % len(comments)]
            with contextlib.suppress(NotFound):
                interactions.hide_comment(
                    MODERATOR, target_id, cid, HideIn(reason="广告"), clock.now(), owner
                )
        elif kind == "evaluate":
            _, user, filing, score = op
            interactions.evaluate(USERS[user], FILINGS[filing], EvaluationIn(score=score), clock.now())
        elif kind == "apply":
            filings.change_application(
                USERS[3], FILINGS[op[1]], ApplicationChangeIn(status=op[2]), clock.now()
            )
        elif kind == "takedown":
            owner, target_id = TARGETS[op[1]]
            module = filings if owner == "filing" else publications
            module.take_down(
                MODERATOR, target_id, TakedownIn(reason="侵权", exclude_from_scoring=op[2]), clock.now()
            )
            down.add(op[1])
        elif kind == "later":
            clock.advance(seconds=op[1])


def _on_taken_down(op, down: set[int]) -> bool:
    """Whether `op` targets a record already taken down (the API refuses those: nothing to play)."""
    kind = op[0]
    if kind == "event":
        return op[3] in down
    if kind == "reaction":
        return op[3] in down
    if kind == "comment":
        return op[2] in down
    if kind in ("evaluate", "apply"):
        return (op[2] if kind == "evaluate" else op[1]) in down  # filings f1, f2 are TARGETS 0 and 1
    if kind == "takedown":
        return op[1] in down
    return False


def deliver_hostile(records: list[dict], plan, now) -> None:
    position, pending = 0, []
    for size, what, crash_at in plan:
        if position >= len(records):
            break
        batch = records[position : position + size]
        if what == "poison":
            batch = batch[:1] + [poison_record(batch[0])] + batch[1:]
        if what == "swap":
            pending.append(batch)  # delivered later, after its successors
            position += size
            continue
        if what in ("crash_before", "crash_after"):
            with contextlib.suppress(Crash):
                run_batch(batch, now, what, crash_at)
        answer = running_counters.handle_stream_batch({"Records": batch}, now)
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        assert all(
            r["dynamodb"]["SequenceNumber"] in failed
            for r in batch
            if r["eventID"] not in {x["eventID"] for x in records}
        ), "only the poison record may fail"
        if what == "duplicate":
            running_counters.handle_stream_batch({"Records": batch}, now)
        position += size
    if position < len(records):
        running_counters.handle_stream_batch({"Records": records[position:]}, now) if len(
            records
        ) - position <= 100 else [
            running_counters.handle_stream_batch({"Records": records[i : i + 100]}, now)
            for i in range(position, len(records), 100)
        ]
    for batch in reversed(pending):
        running_counters.handle_stream_batch({"Records": batch}, now)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=st.lists(operation, min_size=1, max_size=40), plan=schedule)
def test_counters_equal_the_recount_under_any_delivery_schedule(history, plan):
    with world() as (clock, tap):
        play(history, clock)
        records = tap.take()
        if not records:
            return
        now = clock.now() + timedelta(seconds=5)
        deliver_hostile(records, plan, now)
        # A replay hours later of everything the stream still holds changes nothing.
        for start in range(0, len(records), 100):
            running_counters.handle_stream_batch(
                {"Records": records[start : start + 100]}, now + timedelta(hours=20)
            )
        assert running_counters.drift() == [], (history, plan)


def test_a_batch_over_several_transactions_reads_what_exists_once_and_cancels_none(
    store, client, monkeypatch
):
    # Before: a second read per transaction; without carrying what the first created, the next one's
    # create of the same counter was cancelled and committed again.
    tap = StreamTap(store.stream_arn)
    filing = approved_filing(client)
    count = lambda records: deliver(  # noqa: E731
        lambda event: running_counters.handle_stream_batch(event, store.clock.now()), records
    )
    count(tap.take())
    for n in range(60):  # each view adds to the filing's and the province's counters, none of them stored yet
        answer = client.post(
            "/events", events(filing["id"]), headers=auth(sub=f"many-{n}", role="user", side="enterprise")
        )
        assert answer.json["accepted"] == 1
    reads, commits, cancelled = [], [], []
    stored, commit = running_counters._stored, running_counters._commit
    monkeypatch.setattr(running_counters, "_stored", lambda keys: reads.append(len(keys)) or stored(keys))

    def counted(chunk, expires, existing):
        commits.append(len(chunk))
        try:
            return commit(chunk, expires, existing)
        except TransactWriteError:
            cancelled.append(len(chunk))
            raise

    monkeypatch.setattr(running_counters, "_commit", counted)
    usage = [r for r in tap.take() if r["dynamodb"]["NewImage"].get("entity", {}).get("S") == "event"]
    assert len(usage) == 60
    count(usage)
    assert len(commits) > 1 and cancelled == [] and len(reads) == 1, (commits, cancelled, reads)
    assert client.get(f"/filings/{filing['id']}/stats").json["views"]["total"] == 60
    assert running_counters.drift() == []
