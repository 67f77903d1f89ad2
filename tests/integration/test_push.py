"""Push by industry field: subscriptions, the approval-driven feed, read and evaluated state."""

from __future__ import annotations

import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib.core.models import Record
from chalicelib.selection import subscriptions
from tests.conftest import auth
from tests.streams import StreamTap, deliver
from tests.support import approved_filing, report_body

READER = dict(sub="reader-1", role="user", side="enterprise")
OTHER = dict(sub="reader-2", role="user", side="university")
ADMIN = dict(sub="admin", role="national_admin")
FILER = dict(sub="filer-320000", role="filer", province="320000")


@pytest.fixture
def pipeline(store, client):
    """client + settle(): runs every stream handler of the app over the records written so far."""
    import app as app_module

    tap = StreamTap(store.stream_arn)

    def settle():
        records = tap.take()
        deliver(lambda event: app_module.on_approval_push(event, None), records)
        deliver(lambda event: app_module.on_fact_change(event, None), records)

    return client, settle, store


def subscribe(client, who=READER, industries=("5",), kinds=None):
    body = {"industries": list(industries)}
    if kinds is not None:
        body["kinds"] = kinds
    answer = client.put("/me/subscriptions", body, headers=auth(**who))
    assert answer.status == 200, answer.json
    return answer.json


def feed(client, who=READER, query=""):
    answer = client.get(f"/me/feed{query}", headers=auth(**who))
    assert answer.status == 200, answer.json
    return answer.json


def review(client, filing_id, decision):
    answer = client.post(f"/filings/{filing_id}/review", {"decision": decision}, headers=auth(**ADMIN))
    assert answer.status == 200, answer.json


# ---- subscriptions ------------------------------------------------------------------------


def test_without_subscriptions_a_user_has_no_fields_and_every_kind(client):
    assert client.get("/me/subscriptions", headers=auth(**READER)).json == {
        "industries": [],
        "kinds": ["report", "database", "tool"],
        "updated_at": None,
    }


def test_put_subscriptions_sorts_dedupes_and_reads_back(client):
    saved = subscribe(client, industries=["5", "1", "5"], kinds=["tool", "report"])
    assert saved["industries"] == ["1", "5"] and saved["kinds"] == ["report", "tool"]
    assert client.get("/me/subscriptions", headers=auth(**READER)).json == saved


def test_subscriber_rows_follow_the_subscription_document(client):
    subscribe(client, industries=["1", "5"])
    subscribe(client, industries=["5", "7"], kinds=["tool"])
    assert [r.pk for r in Record.query("SUBS#1")] == []
    assert list(subscriptions.subscribers("5", "tool")) == ["reader-1"]
    assert list(subscriptions.subscribers("5", "report")) == []
    assert list(subscriptions.subscribers("7", "tool")) == ["reader-1"]
    subscribe(client, industries=[])
    assert [r.sk for r in Record.query("SUBS#5")] + [r.sk for r in Record.query("SUBS#7")] == []


def test_experts_may_subscribe_but_filers_and_admins_may_not(client):
    assert (
        client.put("/me/subscriptions", {"industries": ["2"]}, headers=auth(sub="e1", role="expert")).status
        == 200
    )
    for who in (FILER, ADMIN):
        answer = client.put("/me/subscriptions", {"industries": ["2"]}, headers=auth(**who))
        assert answer.status == 403 and answer.headers["Content-Type"].startswith("application/problem+json")
        assert client.get("/me/feed", headers=auth(**who)).status == 403


def test_subscriptions_need_a_token(client):
    assert client.get("/me/subscriptions").status == 401
    assert client.put("/me/subscriptions", {"industries": ["1"]}).status == 401


@pytest.mark.parametrize(
    "body, field",
    [
        ({"industries": ["10"]}, "industries"),
        ({"industries": [1]}, "industries.0"),
        ({"industries": ["1"], "kinds": ["application_proof"]}, "kinds.0"),
        ({"industries": ["1"], "kinds": []}, "kinds"),
        ({"industries": ["1"], "extra": True}, "extra"),
        ({}, "industries"),
    ],
)
def test_bad_subscriptions_are_422_naming_the_field_and_change_nothing(client, body, field):
    answer = client.put("/me/subscriptions", body, headers=auth(**READER))
    assert answer.status == 422
    assert field in [e["field"] for e in answer.json["errors"]]
    assert client.get("/me/subscriptions", headers=auth(**READER)).json["industries"] == []


# ---- the feed -------------------------------------------------------------------------------


def test_an_approved_result_reaches_subscribers_of_its_field_only(pipeline):
    client, settle, store = pipeline
    subscribe(client, READER, ["5"])
    subscribe(client, OTHER, ["1"])
    filing = approved_filing(client)  # industry 5
    assert feed(client)["items"] == []  # not before the stream trigger ran
    settle()
    items = feed(client)["items"]
    assert [i["filing"] for i in items] == [filing["id"]]
    item = items[0]
    assert item["reasons"] == ["approved"] and not item["candidate"] and not item["read"]
    assert item["title"] == filing["title"] and item["industry"] == "5" and item["available"] is True
    assert item["evaluated"] is False and item["links"]["evaluation"] == f"/filings/{filing['id']}/evaluation"
    assert feed(client, OTHER)["items"] == []


def test_kinds_filter_what_is_pushed(pipeline):
    client, settle, store = pipeline
    subscribe(client, READER, ["5"], kinds=["tool"])
    approved_filing(client)  # a report
    tool = approved_filing(client, kind="tool", report_type=None)
    settle()
    assert [i["filing"] for i in feed(client)["items"]] == [tool["id"]]


def test_proofs_of_application_are_not_pushed(pipeline):
    client, settle, store = pipeline
    subscribe(client, READER, ["5"])
    report = approved_filing(client)
    approved_filing(client, kind="application_proof", report_type=None, proves=report["id"])
    settle()
    assert [i["filing"] for i in feed(client)["items"]] == [report["id"]]


def test_pending_and_rejected_results_are_not_pushed(pipeline):
    client, settle, store = pipeline
    subscribe(client, READER, ["5"])
    created = client.post("/filings", report_body(), headers=auth(**FILER)).json
    settle()
    review(client, created["id"], "reject")
    settle()
    assert feed(client)["items"] == []


def test_approve_reject_approve_and_redelivery_push_once_and_keep_read_state(pipeline):
    client, settle, store = pipeline
    subscribe(client, READER, ["5"])
    tap = StreamTap(store.stream_arn)
    filing = approved_filing(client)
    settle()
    assert client.post(f"/me/feed/{filing['id']}/read", headers=auth(**READER)).status == 200
    store.at("2024-05-16T10:00:00+08:00")
    review(client, filing["id"], "reject")
    review(client, filing["id"], "approve")
    settle()
    import app as app_module

    deliver(lambda event: app_module.on_approval_push(event, None), tap.take())  # everything, again
    items = feed(client)["items"]
    assert len(items) == 1 and items[0]["read"] is True
    assert items[0]["approved_at"] == "2024-05-15T10:00:00+08:00"  # the first approval
    assert len(list(Record.query(subscriptions.feed_pk("reader-1")))) == 1


def test_feed_is_newest_first_and_pages_with_a_cursor(pipeline):
    client, settle, store = pipeline
    subscribe(client, READER, ["5"])
    ids = []
    for day in range(1, 6):
        store.at(f"2024-06-0{day}T09:00:00+08:00")
        ids.append(approved_filing(client, title=f"报告 {day}")["id"])
    settle()
    first = feed(client, query="?limit=2")
    assert [i["filing"] for i in first["items"]] == ids[:-3:-1]
    second = feed(client, query=f"?limit=2&cursor={first['next_cursor']}")
    third = feed(client, query=f"?limit=2&cursor={second['next_cursor']}")
    assert [i["filing"] for i in second["items"] + third["items"]] == ids[2::-1]
    assert third["next_cursor"] is None


def test_a_cursor_of_another_users_feed_is_refused(pipeline):
    client, settle, store = pipeline
    subscribe(client, READER, ["5"])
    approved_filing(client)
    approved_filing(client)
    settle()
    cursor = feed(client, query="?limit=1")["next_cursor"]
    answer = client.get(f"/me/feed?limit=1&cursor={cursor}", headers=auth(**OTHER))
    assert answer.status == 400 and answer.json["errors"][0]["field"] == "cursor"


def test_unread_filter_and_marking_read(pipeline):
    client, settle, store = pipeline
    subscribe(client, READER, ["5"])
    a = approved_filing(client)
    b = approved_filing(client)
    settle()
    store.at("2024-05-15T12:00:00+08:00")
    marked = client.post(f"/me/feed/{a['id']}/read", headers=auth(**READER))
    assert marked.status == 200 and marked.json["read_at"] == "2024-05-15T12:00:00+08:00"
    store.at("2024-05-15T13:00:00+08:00")
    again = client.post(f"/me/feed/{a['id']}/read", headers=auth(**READER))
    assert again.json["read_at"] == "2024-05-15T12:00:00+08:00"  # idempotent: first read kept
    assert [i["filing"] for i in feed(client, query="?unread=true")["items"]] == [b["id"]]
    assert len(feed(client, query="?unread=false")["items"]) == 2


def test_marking_a_filing_not_in_your_feed_is_404(pipeline):
    client, settle, store = pipeline
    filing = approved_filing(client)
    settle()
    answer = client.post(f"/me/feed/{filing['id']}/read", headers=auth(**READER))
    assert answer.status == 404 and answer.json["title"] == "Not found"


@pytest.mark.parametrize(
    "query, field", [("?unread=yes", "unread"), ("?limit=0", "limit"), ("?cursor=x", "cursor")]
)
def test_bad_feed_queries_are_4xx(client, query, field):
    answer = client.get(f"/me/feed{query}", headers=auth(**READER))
    assert answer.status in (400, 422) and answer.json["errors"][0]["field"] == field


def test_the_user_evaluates_from_the_feed_and_the_item_shows_it(pipeline):
    client, settle, store = pipeline
    subscribe(client, READER, ["5"])
    filing = approved_filing(client)
    settle()
    link = feed(client)["items"][0]["links"]["evaluation"]
    assert client.put(link, {"score": 4}, headers=auth(**READER)).status == 200
    assert client.put(link, {"score": 5}, headers=auth(**READER)).status == 200  # replaces, counts once
    settle()
    item = feed(client)["items"][0]
    assert item["evaluated"] is True and item["my_score"] == 5
    stats = client.get(f"/filings/{filing['id']}/stats").json
    assert stats["evaluations"]["count"] == 1 and stats["evaluations"]["by_side"]["enterprise"]["count"] == 1


def test_a_result_rejected_after_its_push_shows_as_unavailable(pipeline):
    client, settle, store = pipeline
    subscribe(client, READER, ["5"])
    filing = approved_filing(client)
    settle()
    review(client, filing["id"], "reject")
    assert feed(client)["items"][0]["available"] is False


# ---- the stream trigger -------------------------------------------------------------------

_serialize = TypeSerializer().serialize


def stream_record(seq: int, new: dict | None, old: dict | None = None, name: str = "MODIFY") -> dict:
    ddb = {
        "Keys": {"pk": {"S": "FILING#x"}, "sk": {"S": "A"}},
        "SequenceNumber": str(seq),
        "ApproximateCreationDateTime": 1715738400.0,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        ddb["NewImage"] = {k: _serialize(v) for k, v in new.items()}
    if old is not None:
        ddb["OldImage"] = {k: _serialize(v) for k, v in old.items()}
    return {
        "eventID": f"e{seq}",
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "awsRegion": "cn-north-1",
        "eventSourceARN": "arn:aws:dynamodb:cn-north-1:000000000000:table/t/stream/s",
        "dynamodb": ddb,
    }


def image(filing_id="f1", status="approved", **over):
    return {
        "pk": f"FILING#{filing_id}",
        "sk": "A",
        "entity": "filing",
        "id": filing_id,
        "title": "T",
        "kind": "report",
        "industry": "5",
        "province": "320000",
        "unit": "U",
        "cycle": "2024",
        "status": status,
        "first_approved_at": "2024-05-15T02:00:00.000000+0000",
        **over,
    }


def test_a_poison_record_is_reported_and_does_not_block_the_others(store):
    import app as app_module

    subscriptions.put(_caller(READER), subscriptions.SubscriptionsIn(industries=["5"]), store.clock.now())
    poison = image("bad")
    del poison["industry"]
    event = {
        "Records": [
            stream_record(1, poison, image("bad", "pending")),
            stream_record(2, image("good"), image("good", "pending")),
        ]
    }
    answer = app_module.on_approval_push(event, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert [r.sk for r in Record.query(subscriptions.feed_pk("reader-1"))] == ["good"]


def test_only_a_change_into_approved_pushes(store):
    assert subscriptions.newly_approved(image(status="pending"), image())
    assert subscriptions.newly_approved(None, image())
    assert not subscriptions.newly_approved(image(), image())  # an edit of an approved filing
    assert not subscriptions.newly_approved(image(status="pending"), image(status="rejected"))
    assert not subscriptions.newly_approved(None, {**image(), "entity": "evaluation"})
    assert not subscriptions.newly_approved(image(), None)


def test_an_empty_batch_is_fine(store):
    import app as app_module

    assert app_module.on_approval_push({"Records": []}, None) == {"batchItemFailures": []}


def _caller(who):
    from chalicelib.core.auth import Caller

    return Caller(who["sub"], who["role"], side=who.get("side"))


def test_an_absurdly_long_feed_id_is_a_422_not_a_store_error(client):
    answer = client.post(f"/me/feed/{'x' * 2000}/read", headers=auth(**READER))
    assert answer.status == 422 and answer.json["errors"][0]["field"] == "filing_id"
