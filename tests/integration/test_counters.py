"""Interactions become facts; the stream trigger turns them into exact counters."""

from __future__ import annotations

import pytest

from chalicelib.usage import running_counters
from tests.conftest import auth
from tests.support import approved_filing
from tests.support.usage import events

USER = dict(sub="reader-1", role="user", side="enterprise")


def stats(client, filing_id):
    return client.get(f"/filings/{filing_id}/stats").json


def test_views_in_one_double_click_chain_count_once_but_each_hour_counts_as_unique(pipeline):
    client, settle, store = pipeline
    filing = approved_filing(client)
    store.at("2024-05-15T10:59:40+08:00")
    assert client.post("/events", events(filing["id"]), headers=auth(**USER)).json == {
        "accepted": 1,
        "duplicates": 0,
        "ignored": 0,
    }
    store.at("2024-05-15T11:00:05+08:00")  # 25 s later: a double click, but a new hour
    client.post("/events", events(filing["id"]), headers=auth(**USER))
    store.at("2024-05-15T11:00:35+08:00")  # 30 s after the last: still the same chain
    client.post("/events", events(filing["id"]), headers=auth(**USER))
    store.at("2024-05-15T11:01:06+08:00")  # 31 s: a new chain
    client.post("/events", events(filing["id"]), headers=auth(**USER))
    settle()
    assert stats(client, filing["id"])["views"] == {"total": 2, "unique": 2}


def test_a_resent_event_id_is_a_duplicate_and_changes_nothing(pipeline):
    client, settle, store = pipeline
    filing = approved_filing(client)
    batch = events(filing["id"])
    assert client.post("/events", batch, headers=auth(**USER)).json["accepted"] == 1
    assert client.post("/events", batch, headers=auth(**USER)).json == {
        "accepted": 0,
        "duplicates": 1,
        "ignored": 0,
    }
    settle()
    assert stats(client, filing["id"])["views"] == {"total": 1, "unique": 1}


def test_events_on_unknown_or_unapproved_filings_are_ignored_not_fatal(pipeline):
    client, settle, _ = pipeline
    filing = approved_filing(client)
    pending = client.post(
        "/filings",
        {"kind": "tool", "title": "工具", "province": "320000", "unit": "u", "industry": "1"},
        headers=auth(sub="f", role="filer", province="320000"),
    ).json
    body = {
        "events": events(filing["id"])["events"] + events(pending["id"])["events"] + events("nope")["events"]
    }
    assert client.post("/events", body, headers=auth(**USER)).json == {
        "accepted": 1,
        "duplicates": 0,
        "ignored": 2,
    }


def test_a_malformed_event_rejects_the_whole_batch(pipeline):
    client, settle, _ = pipeline
    filing = approved_filing(client)
    body = events(filing["id"], n=2)
    body["events"][1]["type"] = "click"
    answer = client.post("/events", body, headers=auth(**USER))
    assert answer.status == 422 and answer.json["errors"][0]["field"] == "events.1.type"
    settle()
    assert stats(client, filing["id"])["views"] == {"total": 0, "unique": 0}


def test_robots_and_the_filings_author_are_accepted_but_never_counted(pipeline):
    client, settle, store = pipeline
    filing = approved_filing(client)
    assert (
        client.post("/events", events(filing["id"], agent="Googlebot/2.1"), headers=auth(**USER)).json[
            "accepted"
        ]
        == 1
    )
    author = dict(sub="filer-320000", role="filer", province="320000")
    client.post("/events", events(filing["id"]), headers=auth(**author))
    client.put(f"/filings/{filing['id']}/like", headers=auth(**author))
    settle()
    s = stats(client, filing["id"])
    assert s["views"] == {"total": 0, "unique": 0} and s["likes"] == 0


def test_likes_and_favorites_are_idempotent_toggles(pipeline):
    client, settle, _ = pipeline
    filing = approved_filing(client)
    for _ in range(2):
        assert client.put(f"/filings/{filing['id']}/like", headers=auth(**USER)).json["like"] is True
    client.put(f"/filings/{filing['id']}/favorite", headers=auth(**USER))
    client.put(f"/filings/{filing['id']}/like", headers=auth(sub="reader-2", role="user"))
    settle()
    assert (stats(client, filing["id"])["likes"], stats(client, filing["id"])["favorites"]) == (2, 1)
    client.delete(f"/filings/{filing['id']}/like", headers=auth(**USER))
    client.delete(f"/filings/{filing['id']}/like", headers=auth(**USER))
    settle()
    assert stats(client, filing["id"])["likes"] == 1


def test_deleted_comments_stop_counting_and_only_the_author_or_national_admin_may_delete(pipeline):
    client, settle, _ = pipeline
    filing = approved_filing(client)
    first = client.post(f"/filings/{filing['id']}/comments", {"text": "很有用"}, headers=auth(**USER))
    assert first.status == 201 and first.json["text"] == "很有用"
    client.post(
        f"/filings/{filing['id']}/comments", {"text": "同意"}, headers=auth(sub="reader-2", role="user")
    )
    assert (
        client.delete(
            f"/filings/{filing['id']}/comments/{first.json['id']}", headers=auth(sub="reader-2", role="user")
        ).status
        == 403
    )
    assert (
        client.delete(f"/filings/{filing['id']}/comments/{first.json['id']}", headers=auth(**USER)).status
        == 204
    )
    settle()
    assert stats(client, filing["id"])["comments"] == 1
    assert [c["text"] for c in client.get(f"/filings/{filing['id']}/comments").json["items"]] == ["同意"]


def test_a_second_evaluation_replaces_the_first_and_means_are_by_side(pipeline):
    client, settle, _ = pipeline
    filing = approved_filing(client)
    path = f"/filings/{filing['id']}/evaluation"
    assert client.put(path, {"score": 2}, headers=auth(**USER)).status == 200
    client.put(path, {"score": 4, "feedback": "实用"}, headers=auth(**USER))
    client.put(path, {"score": 5}, headers=auth(sub="gov-1", role="user", side="government"))
    assert (
        client.put(path, {"score": 5}, headers=auth(sub="x", role="filer", province="110000")).status == 403
    )
    assert client.put(path, {"score": 6}, headers=auth(**USER)).status == 422
    settle()
    evaluations = stats(client, filing["id"])["evaluations"]
    assert evaluations["count"] == 2 and evaluations["mean"] == 4.5
    assert evaluations["by_side"]["enterprise"] == {"count": 1, "mean": 4.0}
    assert evaluations["by_side"]["university"] == {"count": 0, "mean": None}


def test_province_activity_counts_approved_filings_and_usage_for_the_cycle(pipeline):
    client, settle, store = pipeline
    from tests.support.documents import BROWSER, attached_filing

    filing, file = attached_filing(client)  # downloads are counted when the platform serves a file
    assert (
        client.get(file["links"]["download"], headers={**auth(**USER), "User-Agent": BROWSER}).status == 303
    )
    from tests.support import proof_of  # a change earns its point with its proof attached

    client.put(
        f"/filings/{filing['id']}/application",
        {"status": "applied", "note": "已在企业应用", "proof": proof_of(client, filing["id"])},
        headers=auth(sub="filer-320000", role="filer", province="320000"),
    )
    settle()
    activity = client.get("/provinces/320000/activity?cycle=2024").json
    assert activity["approved"]["filings_approved"] == 2  # the result and its proof
    assert activity["approved"]["filings_approved_report"] == 1
    assert activity["downloads"]["total"] == 1 and activity["application_updates"] == 1
    assert activity["months"]["2024-05"]["downloads"]["total"] == 1
    assert client.get("/provinces/999999/activity").status == 404


def test_counters_equal_the_recount_after_a_mixed_history(pipeline):
    client, settle, store = pipeline
    filing = approved_filing(client)
    for second in (0, 10, 50, 3600):
        store.at("2024-05-15T10:00:00+08:00")
        store.clock.advance(seconds=second)
        client.post("/events", events(filing["id"], n=2), headers=auth(**USER))
    client.put(f"/filings/{filing['id']}/like", headers=auth(**USER))
    client.put(f"/filings/{filing['id']}/evaluation", {"score": 3}, headers=auth(**USER))
    settle()
    assert running_counters.drift() == []


def test_records_written_after_a_failed_moto_transaction_still_reach_the_trigger(pipeline):
    # moto restores a table from a copy when a transaction fails; a stream reader holding an
    # old shard iterator then missed every later record (found by the fault-injection test).
    client, settle, _ = pipeline
    filing = approved_filing(client)
    from pynamodb.exceptions import TransactWriteError

    from chalicelib.core.models import Filing
    from chalicelib.core.store import transaction

    with pytest.raises(TransactWriteError):
        with transaction() as tx:
            tx.save(Filing.get(f"FILING#{filing['id']}", "A"), condition=Filing.pk.does_not_exist())
    client.put(f"/filings/{filing['id']}/like", headers=auth(**USER))
    settle()
    assert stats(client, filing["id"])["likes"] == 1
