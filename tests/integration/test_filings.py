"""Filings (备案) through the HTTP API, as the portal contract describes them."""

from __future__ import annotations

import pytest

from tests.conftest import auth
from tests.support import (
    ADMIN_JS,
    EXPERT,
    FILER,
    FILER_ZJ,
    NATIONAL,
    USER,
    approved_filing,
    proof_of,
    report_body,
    stored_items,
)


def file(client, who=FILER, **overrides):
    response = client.post(
        "/filings", report_body(who.get("province") or "320000", **overrides), headers=auth(**who)
    )
    assert response.status == 201, response.json
    return response.json


def ids(response) -> set[str]:
    assert response.status == 200, response.json
    assert set(response.json) == {"items", "next_cursor"}
    return {item["id"] for item in response.json["items"]}


# ---- POST /filings ---------------------------------------------------------------------


def test_a_filer_files_a_report_that_waits_pending_with_server_time_and_cycle(client, store):
    store.at("2024-10-20T10:00:00+08:00")
    response = client.post("/filings", report_body(), headers=auth(**FILER))
    assert response.status == 201, response.json
    body = response.json
    assert body["id"] and body["status"] == "pending"
    assert body["filed_at"] == "2024-10-20T10:00:00+08:00"
    assert body["cycle"] == "2025"
    assert response.headers["Location"] == f"/filings/{body['id']}"
    assert response.headers["Content-Type"].startswith("application/json")


def test_chinese_text_round_trips_unchanged(client):
    title, unit, summary = (
        "“十四五”新能源汽车产业专利导航——𠮷野家",
        "江苏省知识产权局（南京）",
        "摘要：含 emoji 🚗 与全角符号，。",
    )
    created = file(client, title=title, unit=unit, summary=summary)
    assert (created["title"], created["unit"], created["summary"]) == (title, unit, summary)
    read = client.get(f"/filings/{created['id']}", headers=auth(**FILER)).json
    assert (read["title"], read["unit"], read["summary"]) == (title, unit, summary)
    raw = client.get(f"/filings/{created['id']}", headers=auth(**FILER)).body.decode("utf-8")
    assert title in raw  # served as UTF-8, not \\u escapes


@pytest.mark.parametrize("who", [FILER, ADMIN_JS])
def test_filers_and_province_admins_file_for_their_own_province(client, who):
    assert file(client, who)["province"] == "320000"


def test_every_kind_can_be_filed(client):
    report = file(client)
    for kind in ("database", "tool"):
        assert file(client, kind=kind, report_type=None)["kind"] == kind
    proof = file(client, kind="application_proof", report_type=None, proves=report["id"])
    assert proof["proves"] == report["id"]


@pytest.mark.parametrize(
    "who,status",
    [
        (NATIONAL, 403),
        (USER, 403),
        (EXPERT, 403),
        (FILER_ZJ, 403),
        (dict(sub="pa", role="province_admin", province="330000"), 403),
    ],
)
def test_only_the_provinces_own_filers_may_file(client, store, who, status):
    before = stored_items(store)
    response = client.post("/filings", report_body("320000"), headers=auth(**who))
    assert response.status == status, response.json
    assert response.headers["Content-Type"] == "application/problem+json"
    assert stored_items(store) == before


def test_filing_without_a_token_is_401_even_with_a_bad_body(client, store):
    before = stored_items(store)
    for body in (report_body(), {}, {"kind": "nope"}):
        response = client.post("/filings", body, headers={"Content-Type": "application/json"})
        assert response.status == 401, response.json
    assert stored_items(store) == before


def test_a_national_admin_is_refused_before_the_body_is_judged(client):
    assert client.post("/filings", {"kind": "nope"}, headers=auth(**NATIONAL)).status == 403


@pytest.mark.parametrize(
    "overrides,fields",
    [
        ({"kind": "patent"}, {"kind"}),
        ({"title": ""}, {"title"}),
        ({"title": "题" * 201}, {"title"}),
        ({"title": None}, {"title"}),
        ({"unit": ""}, {"unit"}),
        ({"unit": "单" * 101}, {"unit"}),
        ({"summary": "要" * 2001}, {"summary"}),
        ({"industry": "99"}, {"industry"}),
        ({"industry": 5}, {"industry"}),
        ({"province": "999999"}, {"province"}),
        ({"province": 320000}, {"province"}),
        ({"report_type": "poem"}, {"report_type"}),
        ({"fiscal_funded": "yes"}, {"fiscal_funded"}),
        ({"colour": "red"}, {"colour"}),
        ({"kind": "tool"}, {"report_type"}),  # report_type is for reports only
        ({"proves": "f-1"}, {"proves"}),  # only an application_proof proves
        ({"kind": "application_proof", "report_type": None, "proves": None}, {"proves"}),
        ({"kind": "application_proof", "report_type": None, "proves": "no-such-filing"}, {"proves"}),
        ({"kind": "x", "title": "", "industry": "0", "colour": 1}, {"kind", "title", "industry", "colour"}),
    ],
)
def test_a_bad_or_unknown_valued_field_is_refused_naming_it(client, store, overrides, fields):
    before = stored_items(store)
    body = report_body()
    body.update(overrides)
    response = client.post("/filings", body, headers=auth(**FILER))
    assert response.status in (400, 422), response.json
    problem = response.json
    assert response.headers["Content-Type"] == "application/problem+json"
    assert {"type", "title", "status", "detail"} <= set(problem) and problem["status"] == response.status
    assert {e["field"] for e in problem["errors"]} == fields
    assert stored_items(store) == before


@pytest.mark.parametrize("missing", ["kind", "title", "province", "unit", "industry"])
def test_required_fields_are_named_when_missing(client, missing):
    body = report_body()
    del body[missing]
    response = client.post("/filings", body, headers=auth(**FILER))
    assert response.status == 422
    assert [e["field"] for e in response.json["errors"]] == [missing]


def test_limits_are_counted_in_characters_not_bytes(client):
    created = file(client, title="题" * 200, unit="单" * 100, summary="要" * 2000)
    assert len(created["title"]) == 200


def test_the_server_sets_status_and_filing_time_not_the_body(client):
    body = report_body(status="approved")
    assert client.post("/filings", body, headers=auth(**FILER)).status == 422


# ---- reading ------------------------------------------------------------------------


def test_the_public_sees_approved_filings_only(client):
    pending = file(client)
    approved = approved_filing(client)
    rejected = file(client)
    client.post(
        f"/filings/{rejected['id']}/review",
        {"decision": "reject", "note": "不完整"},
        headers=auth(**NATIONAL),
    )
    for headers in ({}, auth(**USER), auth(**EXPERT), auth(**FILER_ZJ)):
        assert ids(client.get("/filings", headers=headers)) == {approved["id"]}
        assert client.get(f"/filings/{approved['id']}", headers=headers).status == 200
        for hidden in (pending, rejected):
            response = client.get(f"/filings/{hidden['id']}", headers=headers)
            assert response.status == 404, response.json
            assert response.headers["Content-Type"] == "application/problem+json"


def test_the_own_province_and_national_admins_see_all(client):
    pending, approved = file(client), approved_filing(client)
    other = file(client, FILER_ZJ)
    for who in (FILER, ADMIN_JS):
        assert ids(client.get("/filings", headers=auth(**who))) == {pending["id"], approved["id"]}
        assert client.get(f"/filings/{pending['id']}", headers=auth(**who)).json["status"] == "pending"
        assert client.get(f"/filings/{other['id']}", headers=auth(**who)).status == 404
    assert ids(client.get("/filings", headers=auth(**NATIONAL))) == {
        pending["id"],
        approved["id"],
        other["id"],
    }
    assert client.get(f"/filings/{other['id']}", headers=auth(**NATIONAL)).status == 200


def test_another_province_asking_for_pending_filings_gets_none(client):
    file(client)
    assert ids(client.get("/filings?province=320000&status=pending", headers=auth(**FILER_ZJ))) == set()
    assert ids(client.get("/filings?status=pending")) == set()


def test_filters_narrow_the_list(client, store):
    report = approved_filing(client)
    tool = approved_filing(client, "330000", kind="tool", report_type=None, industry="1")
    store.at("2023-09-01T10:00:00+08:00")
    old = approved_filing(client)
    pending = file(client)
    assert ids(client.get("/filings?province=330000")) == {tool["id"]}
    assert ids(client.get("/filings?kind=tool")) == {tool["id"]}
    assert ids(client.get("/filings?industry=5")) == {report["id"], old["id"]}
    assert ids(client.get("/filings?cycle=2021-2023")) == {old["id"]}
    assert ids(client.get("/filings?cycle=2024&province=320000")) == {report["id"]}
    assert ids(client.get("/filings?status=approved&kind=report")) == {report["id"], old["id"]}
    assert ids(client.get("/filings?status=pending", headers=auth(**NATIONAL))) == {pending["id"]}
    assert ids(client.get("/filings?status=pending&cycle=2021-2023", headers=auth(**FILER))) == {
        pending["id"]
    }


@pytest.mark.parametrize(
    "query,field",
    [
        ("province=12", "province"),
        ("kind=patent", "kind"),
        ("status=draft", "status"),
        ("cycle=2019", "cycle"),
        ("industry=x", "industry"),
        ("limit=0", "limit"),
    ],
)
def test_an_impossible_filter_is_a_4xx_naming_it(client, query, field):
    response = client.get(f"/filings?{query}")
    assert response.status in (400, 422)
    assert [e["field"] for e in response.json["errors"]] == [field]


def test_an_unknown_filing_is_404(client):
    response = client.get("/filings/does-not-exist")
    assert response.status == 404 and response.json["status"] == 404


# ---- review ---------------------------------------------------------------------------


def test_a_national_admin_approves_and_the_public_then_sees_it(client, store):
    created = file(client)
    store.at("2024-06-01T09:30:00+08:00")
    response = client.post(
        f"/filings/{created['id']}/review",
        {"decision": "approve", "note": "符合要求"},
        headers=auth(**NATIONAL),
    )
    assert response.status == 200, response.json
    assert response.json["status"] == "approved"
    assert response.json["reviewed_at"] == "2024-06-01T09:30:00+08:00"
    assert response.json["review_note"] == "符合要求"
    assert response.json["filed_at"] == created["filed_at"] and response.json["cycle"] == created["cycle"]
    assert client.get(f"/filings/{created['id']}").json["status"] == "approved"


def test_a_rejected_filing_stays_hidden(client):
    created = file(client)
    response = client.post(
        f"/filings/{created['id']}/review", {"decision": "reject"}, headers=auth(**NATIONAL)
    )
    assert response.status == 200 and response.json["status"] == "rejected"
    assert client.get(f"/filings/{created['id']}").status == 404


@pytest.mark.parametrize("who", [FILER, ADMIN_JS, FILER_ZJ, USER, EXPERT])
def test_only_national_admins_review(client, store, who):
    created = file(client)
    before = stored_items(store)
    response = client.post(f"/filings/{created['id']}/review", {"decision": "approve"}, headers=auth(**who))
    assert response.status == 403, response.json
    assert stored_items(store) == before
    assert client.get(f"/filings/{created['id']}", headers=auth(**NATIONAL)).json["status"] == "pending"


def test_review_needs_a_token(client):
    created = file(client)
    assert client.post(f"/filings/{created['id']}/review", {"decision": "approve"}).status == 401


@pytest.mark.parametrize(
    "body,fields",
    [
        ({"decision": "maybe"}, {"decision"}),
        ({}, {"decision"}),
        ({"decision": "approve", "x": 1}, {"x"}),
        ({"decision": "approve", "note": "注" * 2001}, {"note"}),
    ],
)
def test_a_bad_review_is_refused_naming_the_field(client, store, body, fields):
    created = file(client)
    before = stored_items(store)
    response = client.post(f"/filings/{created['id']}/review", body, headers=auth(**NATIONAL))
    assert response.status in (400, 422)
    assert {e["field"] for e in response.json["errors"]} == fields
    assert stored_items(store) == before


def test_reviewing_an_unknown_filing_is_404(client):
    assert (
        client.post("/filings/nope/review", {"decision": "approve"}, headers=auth(**NATIONAL)).status == 404
    )


def test_each_review_is_kept_in_the_history(client, store):
    created = file(client)
    for decision in ("reject", "approve"):
        store.clock.advance(minutes=5)
        client.post(f"/filings/{created['id']}/review", {"decision": decision}, headers=auth(**NATIONAL))
    history = client.get(f"/filings/{created['id']}/history", headers=auth(**FILER))
    assert history.status == 200
    assert [e["action"] for e in history.json["items"]] == ["filed", "review:reject", "review:approve"]
    assert client.get(f"/filings/{created['id']}/history", headers=auth(**FILER_ZJ)).status in (403, 404)


# ---- application changes ---------------------------------------------------------------


def test_the_filings_province_records_each_application_change(client, store):
    filing = approved_filing(client)
    proof = proof_of(client, filing["id"])
    changes = [("in_progress", "已在园区推广"), ("applied", None), ("paused", "经费调整")]
    for i, (status, note) in enumerate(changes):
        store.at(f"2024-07-0{i + 1}T08:00:00+08:00")
        who = FILER if i % 2 == 0 else ADMIN_JS
        response = client.put(
            f"/filings/{filing['id']}/application",
            {"status": status, "note": note, "proof": proof},
            headers=auth(**who),
        )
        assert response.status == 200, response.json
        assert response.json["status"] == status and response.json["note"] == note
        assert response.json["at"] == f"2024-07-0{i + 1}T08:00:00+08:00" and response.json["proof"] == proof
    history = client.get(f"/filings/{filing['id']}/application")
    assert history.status == 200
    assert [(c["status"], c["note"]) for c in history.json["items"]] == changes
    assert client.get(f"/filings/{filing['id']}").json["application_status"] == "paused"


def test_a_change_earns_only_for_a_state_reached_further_in_order_with_its_proof(client, store):
    filing = approved_filing(client)
    proof = proof_of(client, filing["id"])
    steps = [
        ("in_progress", None, False),  # no proof attached: kept, earns nothing
        ("in_progress", proof, True),
        ("in_progress", proof, False),  # repeated
        ("not_started", proof, False),  # backwards
        ("paused", proof, False),  # not a step of the progression
        ("applied", proof, True),
        ("in_progress", proof, False),
        ("applied", proof, False),
    ]
    for status, attached, earns in steps:
        store.clock.advance(minutes=1)
        answer = client.put(
            f"/filings/{filing['id']}/application",
            {"status": status, "proof": attached},
            headers=auth(**FILER),
        )
        assert answer.status == 200, answer.json
        assert answer.json["earned"] is earns, (status, attached)
    history = client.get(f"/filings/{filing['id']}/application").json["items"]
    assert [(c["status"], c["earned"]) for c in history] == [(s, e) for s, _, e in steps]


@pytest.mark.parametrize("problem", ["unknown", "not_a_proof", "proves_another", "pending", "other_province"])
def test_a_proof_that_does_not_prove_this_result_is_a_422_and_stores_nothing(client, store, problem):
    filing = approved_filing(client)
    other = approved_filing(client)
    proof = {
        "unknown": lambda: "nope",
        "not_a_proof": lambda: other["id"],
        "proves_another": lambda: proof_of(client, other["id"]),
        "pending": lambda: proof_of(client, filing["id"], approve=False),
        "other_province": lambda: proof_of(client, approved_filing(client, "330000")["id"], "330000"),
    }[problem]()
    before = stored_items(store)
    answer = client.put(
        f"/filings/{filing['id']}/application", {"status": "applied", "proof": proof}, headers=auth(**FILER)
    )
    assert answer.status == 422 and [e["field"] for e in answer.json["errors"]] == ["proof"], answer.json
    assert stored_items(store) == before


@pytest.mark.parametrize(
    "who", [FILER_ZJ, dict(sub="pa", role="province_admin", province="330000"), NATIONAL, USER, EXPERT]
)
def test_only_the_filings_province_changes_its_application(client, store, who):
    filing = approved_filing(client)
    before = stored_items(store)
    response = client.put(f"/filings/{filing['id']}/application", {"status": "applied"}, headers=auth(**who))
    assert response.status == 403, response.json
    assert stored_items(store) == before


def test_another_province_is_refused_with_403_even_on_a_pending_filing(client):
    filing = file(client)
    response = client.put(
        f"/filings/{filing['id']}/application", {"status": "nonsense"}, headers=auth(**FILER_ZJ)
    )
    assert response.status == 403


def test_an_application_change_needs_a_token_and_a_known_status(client, store):
    filing = approved_filing(client)
    before = stored_items(store)
    assert client.put(f"/filings/{filing['id']}/application", {"status": "applied"}).status == 401
    response = client.put(
        f"/filings/{filing['id']}/application", {"status": "done", "extra": 1}, headers=auth(**FILER)
    )
    assert response.status == 422
    assert {e["field"] for e in response.json["errors"]} == {"status", "extra"}
    assert client.put("/filings/nope/application", {"status": "applied"}, headers=auth(**FILER)).status == 404
    assert stored_items(store) == before


def test_a_pending_filing_takes_no_application_change(client):
    filing = file(client)
    response = client.put(
        f"/filings/{filing['id']}/application", {"status": "applied"}, headers=auth(**FILER)
    )
    assert response.status == 409


def test_health_answers_ok(client):
    response = client.get("/health")
    assert response.status == 200 and response.json == {"status": "ok"}
