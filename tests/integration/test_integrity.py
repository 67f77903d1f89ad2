"""Scores that cannot be bought: own staff, repeated application changes, puppet swarms.

Each scenario gives two provinces the same honest activity, then adds what must not buy
points to one of them, runs the stream trigger and a scoring run, and compares."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from chalicelib.core import pseudonyms
from chalicelib.core.clock import parse_instant
from chalicelib.usage import running_counters
from tests.conftest import auth
from tests.streams import StreamTap, deliver
from tests.support import approved_filing

A, B, C = "320000", "330000", "440000"
ADMIN = auth(sub="admin", role="national_admin")
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36"


@pytest.fixture
def world(store, client):
    """client, a `settle()` running the stream trigger, the store, and 3 approved results per province."""
    tap = StreamTap(store.stream_arn)

    def settle():
        deliver(lambda event: running_counters.handle_stream_batch(event, store.clock.now()), tap.take())

    results = {code: [approved_filing(client, code)["id"] for _ in range(3)] for code in (A, B, C)}
    return client, settle, store, results


def view(client, filing_id, who):
    body = {"events": [{"id": str(uuid.uuid4()), "type": "view", "filing": filing_id, "user_agent": BROWSER}]}
    assert client.post("/events", body, headers=auth(**who)).status == 202


def honest(client, results, province, users=6):
    """The same activity on any province's results: views, likes, favorites, a comment, evaluations."""
    for i in range(users):
        who = dict(sub=f"reader-{i}", role="user", side=("enterprise", "university")[i % 2])
        for j, filing_id in enumerate(results[province]):
            view(client, filing_id, who)
            client.put(f"/filings/{filing_id}/like", headers=auth(**who))
            if (i + j) % 2:
                client.put(f"/filings/{filing_id}/favorite", headers=auth(**who))
            if i == j:
                client.post(f"/filings/{filing_id}/comments", {"text": "很有参考价值"}, headers=auth(**who))
            client.put(f"/filings/{filing_id}/evaluation", {"score": 3 + (i + j) % 3}, headers=auth(**who))


def scores(client):
    run_id = client.post("/cycles/2024/scoring-runs", headers=ADMIN).json["run_id"]
    rows = client.get(f"/cycles/2024/scores?run_id={run_id}", headers=ADMIN).json["provinces"]
    return run_id, {row["province"]: row for row in rows}


# ---- own staff -------------------------------------------------------------------------


def test_the_evaluated_provinces_own_staff_are_stored_and_shown_but_never_counted(world):
    client, settle, store, results = world
    honest(client, results, A)
    honest(client, results, B)
    staff = [
        dict(sub=f"filer-{A}", role="filer", province=A),  # the results' author
        dict(sub="colleague", role="filer", province=A),  # another filer of A
        dict(sub="boss", role="province_admin", province=A),
    ]
    for who in staff:
        for filing_id in results[A]:
            view(client, filing_id, who)
            assert client.put(f"/filings/{filing_id}/like", headers=auth(**who)).status == 200
            client.put(f"/filings/{filing_id}/favorite", headers=auth(**who))
            assert (
                client.post(
                    f"/filings/{filing_id}/comments", {"text": "本省同事点评"}, headers=auth(**who)
                ).status
                == 201
            )
    settle()
    _, rows = scores(client)
    assert rows[A]["total"] == rows[B]["total"] > 0
    assert rows[A]["inputs"]["counters"] == rows[B]["inputs"]["counters"]
    shown = client.get(f"/filings/{results[A][0]}/comments").json["items"]
    assert sum(c["text"] == "本省同事点评" for c in shown) == 3  # stored and shown
    assert (
        client.get(f"/filings/{results[A][0]}/stats").json["comments"]
        == client.get(f"/filings/{results[B][0]}/stats").json["comments"]
    )


def test_another_provinces_staff_count_on_results_that_are_not_theirs(world):
    client, settle, _, results = world
    visitor = dict(sub="zj-filer", role="filer", province=B)
    client.put(f"/filings/{results[A][0]}/like", headers=auth(**visitor))
    settle()
    assert client.get(f"/filings/{results[A][0]}/stats").json["likes"] == 1


# ---- application changes ---------------------------------------------------------------


def change(client, filing_id, province, status, proof):
    answer = client.put(
        f"/filings/{filing_id}/application",
        {"status": status, "proof": proof},
        headers=auth(sub=f"filer-{province}", role="filer", province=province),
    )
    assert answer.status == 200, answer.json


def test_repeated_and_backward_application_changes_leave_two_units_equal_even_when_redelivered(world):
    from tests.support import proof_of

    client, settle, store, results = world
    tap = StreamTap(store.stream_arn)
    tap.take()  # what the world fixture wrote; from here on every record is delivered twice
    proofs = {code: {f: proof_of(client, f, code) for f in results[code]} for code in (A, B)}
    for filing_id in results[A]:
        for status in ("in_progress", "applied"):
            store.clock.advance(minutes=1)
            change(client, filing_id, A, status, proofs[A][filing_id])
    for filing_id in results[B]:
        for status in (
            "in_progress",
            "in_progress",
            "applied",
            "paused",
            "in_progress",
            "applied",
            "applied",
            "not_started",
            "applied",
        ):
            store.clock.advance(minutes=1)
            change(client, filing_id, B, status, proofs[B][filing_id])
    records = tap.take()
    handler = lambda event: running_counters.handle_stream_batch(event, store.clock.now())  # noqa: E731
    deliver(handler, records)
    deliver(handler, records[::-1], batch_size=7)  # a late, reordered redelivery changes nothing
    settle()
    _, rows = scores(client)
    assert rows[A]["inputs"]["counters"]["application_updates"] == 6
    assert rows[A]["inputs"]["counters"] == rows[B]["inputs"]["counters"]
    assert rows[A]["total"] == rows[B]["total"]
    assert len(client.get(f"/filings/{results[B][0]}/application").json["items"]) == 9  # all kept
    assert running_counters.drift() == []


# ---- puppet swarms ---------------------------------------------------------------------


def act(client, store, filing_ids, prefix, n=40):
    """`n` brand-new accounts, one a second, each liking and giving 5 stars to every one of `filing_ids`."""
    for i in range(n):
        store.clock.advance(seconds=1)
        who = dict(sub=f"{prefix}-{i:02d}", role="user", side="enterprise")
        for filing_id in filing_ids:
            assert client.put(f"/filings/{filing_id}/like", headers=auth(**who)).status == 200
            assert (
                client.put(f"/filings/{filing_id}/evaluation", {"score": 5}, headers=auth(**who)).status
                == 200
            )


def test_forty_new_single_purpose_accounts_within_a_minute_are_flagged_and_the_honest_twin_is_not(world):
    client, settle, store, results = world
    honest(client, results, A)
    honest(client, results, B)
    store.clock.advance(days=3)
    swarm_started = store.clock.now()
    act(client, store, results[A], "puppet")
    settle()
    run_id, rows = scores(client)
    assert rows[B]["flags"] == [] and rows[C]["flags"] == []
    assert rows[A]["total"] > rows[B]["total"]  # the swarm bought points: the flag is what catches it
    flagged = {f["kind"]: f for f in rows[A]["flags"]}
    assert set(flagged) == {"puppet_swarm", "puppet_extreme_scores"}
    swarm = flagged["puppet_swarm"]["evidence"]
    # the flag names the accounts by their pseudonyms in the cycle, as the counters hold them
    assert sorted(swarm["accounts"]) == sorted(pseudonyms.of(f"puppet-{i:02d}", "2024") for i in range(40))
    assert swarm["account_count"] == 40
    start, end = (parse_instant(swarm["window"][k]) for k in ("first_action_from", "first_action_until"))
    assert start <= swarm_started + timedelta(seconds=1) and end - start <= timedelta(minutes=2)
    own = 40 * 3 * 2  # a like and an evaluation on each of three results
    honest_activity = sum(
        rows[B]["inputs"]["counters"][n] for n in ("likes", "favorites", "comments", "evaluations")
    )
    assert swarm["share"] == pytest.approx(own / (own + honest_activity), abs=1e-4)
    assert "40 accounts" in flagged["puppet_swarm"]["detail"]
    assert flagged["puppet_extreme_scores"]["evidence"]["account_count"] == 40
    assert (
        running_counters.drift() == []
    )  # the account counters the flag reads equal a recount from the facts
    explained = client.get(f"/cycles/2024/scoring-runs/{run_id}/units/{A}/explanation", headers=ADMIN).json
    # A national admin checks the flag without leaving the API; it is open until resolved.
    assert explained["flags"] == [{**f, "resolution": None} for f in rows[A]["flags"]]


def test_many_new_real_users_spread_over_several_provinces_are_not_a_swarm(world):
    client, settle, store, results = world
    honest(client, results, A)
    honest(client, results, B)
    store.clock.advance(days=3)
    act(client, store, results[A] + results[B][:1] + results[C][:1], "reader-new")
    settle()
    _, rows = scores(client)
    assert all(rows[code]["flags"] == [] for code in (A, B, C)), {c: rows[c]["flags"] for c in (A, B, C)}
