"""Takedowns: a national admin takes an approved record out of public view with a reason; it is audited and
told to the filer, its counts stay for the cycle unless excluded, and the recount agrees either way."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.usage import counting_rules, running_counters
from tests.conftest import auth
from tests.streams import StreamTap, deliver
from tests.support import ADMIN_JS, FILER_ZJ, NATIONAL, USER, approved_filing, report_body, stored_items
from tests.support.usage import events

FILER = dict(sub="filer-320000", role="filer", province="320000")  # the author of approved_filing's reports


def take_down(client, owner, record_id, **body):
    answer = client.post(
        f"/{owner}s/{record_id}/takedown", {"reason": "侵犯他人著作权", **body}, headers=auth(**NATIONAL)
    )
    assert answer.status == 200, answer.json
    return answer.json


def test_a_taken_down_filing_leaves_public_reads_and_lists_and_its_filer_is_told(pipeline):
    client, settle, store = pipeline
    filing = approved_filing(client)
    store.clock.advance(minutes=1)  # notifications and the audit trail order by time
    down = take_down(client, "filing", filing["id"])
    assert down["status"] == "taken_down" and down["takedown"]["reason"] == "侵犯他人著作权"
    assert down["takedown"]["exclude_from_scoring"] is False
    assert client.get(f"/filings/{filing['id']}").status == 404
    assert client.get(f"/filings/{filing['id']}", headers=auth(**USER)).status == 404
    assert client.get(f"/filings/{filing['id']}/stats").status == 404
    assert client.get(f"/filings/{filing['id']}/comments").status == 404
    assert filing["id"] not in {f["id"] for f in client.get("/filings").json["items"]}
    assert client.get(f"/filings/{filing['id']}", headers=auth(**ADMIN_JS)).json["status"] == "taken_down"
    told = client.get("/me/notifications", headers=auth(**FILER)).json["items"]
    assert told[0]["topic"] == "taken_down" and told[0]["reason"] == "侵犯他人著作权"
    trail = client.get(f"/filings/{filing['id']}/history", headers=auth(**NATIONAL)).json["items"]
    assert trail[-1]["action"] == "taken_down" and trail[-1]["actor"] == NATIONAL["sub"]
    settle()
    assert running_counters.drift() == []


def use(client, filing_id, who=USER):
    """Counted usage of every kind on a filing: a view, a like, a favourite, a comment, an evaluation."""
    client.post("/events", events(filing_id), headers=auth(**who))
    client.put(f"/filings/{filing_id}/like", headers=auth(**who))
    client.put(f"/filings/{filing_id}/favorite", headers=auth(**who))
    client.post(f"/filings/{filing_id}/comments", {"text": "很有参考价值"}, headers=auth(**who))
    client.put(f"/filings/{filing_id}/evaluation", {"score": 4}, headers=auth(**who))


USAGE = (
    "views_total",
    "views_unique",
    "likes",
    "favorites",
    "comments",
    "evaluations",
    "evaluation_score_sum",
)


def scored_usage(cycle="2024"):
    numbers = running_counters.province_cycle("320000", cycle)
    return {name: numbers.get(name, 0) for name in USAGE}


BASE = "service_bases#SB-JS"


def attributed_filing(client):
    """An approved report attributed to the service base SB-JS (registered once), whose usage counts for it."""
    client.post(
        "/populations/service_bases/units",
        {"code": "SB-JS", "name": "江苏服务基地", "province": "320000"},
        headers=auth(**NATIONAL),
    )
    pending = client.post("/filings", report_body(), headers=auth(**FILER)).json
    answer = client.put(
        f"/filings/{pending['id']}/attribution",
        {"population": "service_bases", "unit": "SB-JS"},
        headers=auth(**FILER),
    )
    assert answer.status == 200, answer.json
    reviewed = client.post(
        f"/filings/{pending['id']}/review", {"decision": "approve"}, headers=auth(**NATIONAL)
    )
    assert reviewed.status == 200, reviewed.json
    return reviewed.json


def outside_usage(cycle="2024"):
    """What the anomaly flags and the service base's runs read of the province's and the base's usage: the
    province's months, its per-account counters and each account's units, and the base's cycle, month and
    per-account counters."""
    accounts = running_counters.accounts("320000", cycle)
    base = counting_rules.unit_pk(BASE)
    found = {
        **{("month", m): v for m, v in running_counters.province_months("320000").items()},
        **{("account", a): v for a, v in accounts.items()},
        **{("units", a): running_counters.values(*counting_rules.account_units_key(a)) for a in accounts},
        ("unit", BASE): running_counters.values(*counting_rules.unit_cycle_key(BASE, cycle)),
        **{("unit month", m): v for m, v in running_counters.months(base).items()},
        **{("unit account", a): v for a, v in running_counters.accounts(base, cycle).items()},
    }
    return {
        key: {n: v for n, v in values.items() if v} for key, values in found.items() if any(values.values())
    }


def test_a_takedown_keeps_the_cycles_counts_unless_it_excludes_the_record_and_its_usage(pipeline):
    client, settle, store = pipeline
    kept, excluded = attributed_filing(client), attributed_filing(client)
    for f in (kept, excluded):
        use(client, f["id"])
    settle()
    outside_before = outside_usage()
    before = client.get("/provinces/320000/activity?cycle=2024").json
    assert before["approved"]["filings_approved"] == 2 and before["views"]["total"] == 2
    assert scored_usage()["evaluation_score_sum"] == 8
    take_down(client, "filing", kept["id"])
    take_down(client, "filing", excluded["id"], exclude_from_scoring=True)
    take_down(client, "filing", excluded["id"])  # a second takedown changes nothing
    settle()
    after = client.get("/provinces/320000/activity?cycle=2024").json
    assert after["approved"]["filings_approved"] == 1
    # The kept record's usage stays with the province; the excluded one's leaves it, but stays its own history.
    assert scored_usage() == {
        "views_total": 1,
        "views_unique": 1,
        "likes": 1,
        "favorites": 1,
        "comments": 1,
        "evaluations": 1,
        "evaluation_score_sum": 4,
    }
    assert running_counters.filing_stats(excluded["id"])["views_total"] == 1
    assert running_counters.filing_stats(excluded["id"])["likes"] == 1
    # So do the months, the per-account counters and the base's: the two records were used alike.
    assert outside_usage() == {
        key: {name: value // 2 for name, value in values.items()} for key, values in outside_before.items()
    }
    assert ("unit", BASE) in outside_before and {"account", "unit month", "unit account"} <= {
        k[0] for k in outside_before
    }
    assert running_counters.drift() == []


def test_an_excluding_takedown_counted_twice_or_before_the_usage_it_excludes_takes_it_out_once(store, client):
    tap = StreamTap(store.stream_arn)

    def count(records):
        return deliver(lambda event: running_counters.handle_stream_batch(event, store.clock.now()), records)

    filing = attributed_filing(client)
    use(client, filing["id"])
    count(tap.take())
    assert {key[0] for key in outside_usage()} == {
        "month",
        "account",
        "units",
        "unit",
        "unit month",
        "unit account",
    }
    use(client, filing["id"], dict(sub="reader-2", role="user"))  # not counted yet when the takedown is
    take_down(client, "filing", filing["id"], exclude_from_scoring=True)
    late = tap.take()
    takedown = [
        r for r in late if r["dynamodb"].get("NewImage", {}).get("status", {}).get("S") == "taken_down"
    ]
    assert len(takedown) == 1
    count(takedown + late)  # the takedown first, then the usage stored before it, then the takedown again
    count(tap.history)  # every record delivered again
    assert scored_usage() == dict.fromkeys(USAGE, 0)
    assert outside_usage() == {}
    assert running_counters.filing_stats(filing["id"])["views_total"] == 2
    assert running_counters.drift() == []


def test_usage_counted_while_the_takedown_is_stored_is_retried_and_left_out_of_the_province(
    store, client, monkeypatch
):
    tap = StreamTap(store.stream_arn)

    def count(records):
        return deliver(lambda event: running_counters.handle_stream_batch(event, store.clock.now()), records)

    filing = attributed_filing(client)
    count(tap.take())
    use(client, filing["id"])
    usage = tap.take()
    commit = running_counters._commit
    raced = []

    def takedown_lands_meanwhile(chunk, expires, existing):
        if not raced:  # computed while the record still counts, then the takedown is stored and counted
            raced.append(take_down(client, "filing", filing["id"], exclude_from_scoring=True))
            count(tap.take())
        return commit(chunk, expires, existing)

    monkeypatch.setattr(running_counters, "_commit", takedown_lands_meanwhile)
    count(usage)
    assert raced and scored_usage() == dict.fromkeys(USAGE, 0)
    assert outside_usage() == {}
    assert running_counters.filing_stats(filing["id"])["evaluations"] == 1
    assert running_counters.drift() == []


def test_a_record_used_by_many_accounts_leaves_their_counters_in_several_transactions_once(
    store, client, monkeypatch
):
    tap = StreamTap(store.stream_arn)

    def count(records):
        return deliver(lambda event: running_counters.handle_stream_batch(event, store.clock.now()), records)

    filing = attributed_filing(client)
    for i in range(
        40
    ):  # two mirrors per account (its unit item and its own): more than one transaction holds
        client.put(f"/filings/{filing['id']}/like", headers=auth(sub=f"reader-{i}", role="user"))
    count(tap.take())
    pk = counting_rules.filing_key(filing["id"])[0]
    read_before = running_counters._mirrors(pk)
    assert len(read_before) > running_counters.MAX_TRANSACTION_ITEMS // 2
    take_down(client, "filing", filing["id"], exclude_from_scoring=True)
    count(tap.take())
    assert outside_usage() == {} and running_counters._mirrors(pk) == {}
    # A duplicate delivery that read the mirrors before the first one took them takes nothing again.
    running_counters._withdraw(pk, read_before)
    assert outside_usage() == {} and scored_usage() == dict.fromkeys(USAGE, 0)
    assert running_counters.filing_stats(filing["id"])["likes"] == 40
    assert running_counters.drift() == []


def test_a_taken_down_record_takes_no_more_interactions_revisions_or_reviews(client, store):
    filing = approved_filing(client)
    take_down(client, "filing", filing["id"])
    before = stored_items(store)
    path = f"/filings/{filing['id']}"
    assert client.put(f"{path}/like", headers=auth(**USER)).status == 404
    assert client.post(f"{path}/comments", {"text": "x"}, headers=auth(**USER)).status == 404
    assert client.put(f"{path}/like", headers=auth(**ADMIN_JS)).status == 409
    assert client.post(f"{path}/revisions", report_body(), headers=auth(**FILER)).status == 409
    assert client.post(f"{path}/withdraw", headers=auth(**FILER)).status == 409
    assert client.post(f"{path}/review", {"decision": "approve"}, headers=auth(**NATIONAL)).status == 409
    assert (
        client.post(
            f"{path}/files",
            {
                "name": "a.pdf",
                "purpose": "report",
                "content_type": "application/pdf",
                "size": 10,
                "sha256": "0" * 64,
            },
            headers=auth(**FILER),
        ).status
        == 409
    )
    sent = client.post("/events", events(filing["id"]), headers=auth(**USER))
    assert sent.json == {"accepted": 0, "duplicates": 0, "ignored": 1}
    assert stored_items(store) == before


@pytest.mark.parametrize("who", [FILER, ADMIN_JS, FILER_ZJ, USER])
def test_only_national_admins_take_records_down(client, store, who):
    filing = approved_filing(client)
    before = stored_items(store)
    assert (
        client.post(f"/filings/{filing['id']}/takedown", {"reason": "x"}, headers=auth(**who)).status == 403
    )
    assert client.post(f"/filings/{filing['id']}/takedown", {"reason": "x"}).status == 401
    assert stored_items(store) == before


def test_only_an_approved_record_is_taken_down_and_a_reason_is_required(client, store):
    pending = client.post("/filings", report_body(), headers=auth(**FILER)).json
    withdrawn = client.post("/filings", report_body(), headers=auth(**FILER)).json
    client.post(f"/filings/{withdrawn['id']}/withdraw", headers=auth(**FILER))
    approved = approved_filing(client)
    before = stored_items(store)
    for record in (pending, withdrawn):
        assert (
            client.post(f"/filings/{record['id']}/takedown", {"reason": "x"}, headers=auth(**NATIONAL)).status
            == 409
        )
    missing = client.post(f"/filings/{approved['id']}/takedown", {}, headers=auth(**NATIONAL))
    assert missing.status == 422 and [e["field"] for e in missing.json["errors"]] == ["reason"]
    assert (
        client.post(f"/filings/{uuid.uuid4()}/takedown", {"reason": "x"}, headers=auth(**NATIONAL)).status
        == 404
    )
    assert stored_items(store) == before


def test_a_taken_down_publication_leaves_the_public_and_the_recount_agrees(pipeline):
    client, settle, _ = pipeline
    pub = client.post(
        "/publications",
        {"kind": "notice", "title": "通知", "province": "320000", "body": "正文"},
        headers=auth(**FILER),
    ).json
    client.post(f"/publications/{pub['id']}/review", {"decision": "approve"}, headers=auth(**NATIONAL))
    client.put(f"/publications/{pub['id']}/like", headers=auth(**USER))
    settle()
    take_down(client, "publication", pub["id"], exclude_from_scoring=True)
    settle()
    assert client.get(f"/publications/{pub['id']}").status == 404
    assert pub["id"] not in {p["id"] for p in client.get("/publications").json["items"]}
    activity = client.get(f"/provinces/320000/activity?cycle={pub['cycle']}").json
    assert activity["approved"].get("publications_approved", 0) == 0
    assert running_counters.drift() == []
