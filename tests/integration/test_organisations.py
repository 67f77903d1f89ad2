"""Invited organisations: who registers what, single-use invitations that expire, membership
(side from the organisation) and pushes of the organisation's fields without subscribing."""

from __future__ import annotations

import pytest

from chalicelib.core import pseudonyms
from chalicelib.documents import feedback
from chalicelib.selection import subscriptions
from tests.conftest import auth
from tests.streams import StreamTap, deliver
from tests.support import approved_filing, stored_items
from tests.support.selection import ADMIN, ENTERPRISE, MEMBER, invitation, joined, register

JS_ADMIN = dict(sub="js-admin", role="province_admin", province="320000")
ZJ_ADMIN = dict(sub="zj-admin", role="province_admin", province="330000")
JS_DEPT = {
    "kind": "province_department",
    "name": "江苏省科学技术厅",
    "industries": ["1"],
    "province": "320000",
    "department_area": "science_technology",
}


def test_national_admins_register_organisations_with_their_side_from_the_kind(client):
    for kind, side in [
        ("demonstration_enterprise", "enterprise"),
        ("pilot_university", "university"),
        ("research_institute", "research_institute"),
        ("central_department", "government"),
    ]:
        answer = register(client, {**ENTERPRISE, "kind": kind})
        assert answer.status == 201 and answer.json["side"] == side, answer.json
    listed = client.get("/organisations", headers=auth(**ADMIN)).json["items"]
    assert len(listed) == 4


def test_a_province_admin_registers_only_its_own_provinces_departments(client, store):
    own = register(client, JS_DEPT, JS_ADMIN)
    assert own.status == 201 and own.json["side"] == "government"
    before = stored_items(store)
    assert register(client, {**JS_DEPT, "province": "330000"}, JS_ADMIN).status == 403
    assert register(client, ENTERPRISE, JS_ADMIN).status == 403
    assert stored_items(store) == before
    assert [o["id"] for o in client.get("/organisations", headers=auth(**JS_ADMIN)).json["items"]] == [
        own.json["id"]
    ]
    assert client.get("/organisations", headers=auth(**ZJ_ADMIN)).json["items"] == []
    assert client.get("/organisations?province=320000", headers=auth(**ZJ_ADMIN)).status == 403
    assert client.get(f"/organisations/{own.json['id']}", headers=auth(**ZJ_ADMIN)).status == 403


def test_an_invitation_for_another_provinces_department_is_403_and_stores_nothing(client, store):
    dept = register(client, JS_DEPT, JS_ADMIN).json
    before = stored_items(store)
    answer = client.post(f"/organisations/{dept['id']}/invitations", {}, headers=auth(**ZJ_ADMIN))
    assert answer.status == 403 and answer.headers["Content-Type"] == "application/problem+json"
    assert stored_items(store) == before
    assert invitation(client, dept["id"], JS_ADMIN)["organisation"] == dept["id"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({**ENTERPRISE, "industries": []}, "industries"),
        ({**ENTERPRISE, "industries": ["42"]}, "industries"),
        ({**ENTERPRISE, "kind": "bank"}, "kind"),
        ({**ENTERPRISE, "name": ""}, "name"),
        ({**JS_DEPT, "department_area": None}, ""),
        ({**ENTERPRISE, "department_area": "finance"}, ""),
    ],
)
def test_a_bad_organisation_is_422(client, body, field):
    answer = register(client, body)
    assert answer.status == 422 and field in [e["field"] for e in answer.json["errors"]], answer.json


def test_accepting_makes_the_user_a_member_with_the_organisations_side(client):
    org, member = joined(client)
    assert member["organisation"] == org["id"] and member["side"] == "enterprise"
    assert client.get("/me/organisation", headers=auth(**MEMBER)).json["industries"] == ["5", "6"]
    assert [
        m["user"]
        for m in client.get(f"/organisations/{org['id']}/members", headers=auth(**ADMIN)).json["items"]
    ] == ["ent-user"]
    filing = approved_filing(client, industry="5")
    assert (
        client.put(f"/filings/{filing['id']}/evaluation", {"score": 4}, headers=auth(**MEMBER)).status == 200
    )
    from chalicelib.core.models import Evaluation

    assert (
        Evaluation.get(*feedback.evaluation_of(filing["id"], filing["cycle"], "ent-user")).side
        == "enterprise"
    )


def test_a_used_invitation_is_refused_and_changes_nothing(client, store):
    org = register(client).json
    code = invitation(client, org["id"])["code"]
    assert client.post(f"/invitations/{code}/accept", headers=auth(**MEMBER)).status == 200
    again = client.post(f"/invitations/{code}/accept", headers=auth(**MEMBER))
    assert again.status == 200  # the same user again: nothing new
    before = stored_items(store)
    other = client.post(f"/invitations/{code}/accept", headers=auth(sub="someone-else", role="user"))
    assert other.status == 409 and "already been used" in other.json["detail"]
    assert stored_items(store) == before


def test_an_expired_invitation_is_refused_and_changes_nothing(client, store):
    org = register(client).json
    code = invitation(client, org["id"], valid_days=1)["code"]
    store.at("2024-05-16T10:00:00+08:00")  # DEFAULT_NOW + 1 day: expired at that instant
    before = stored_items(store)
    answer = client.post(f"/invitations/{code}/accept", headers=auth(**MEMBER))
    assert answer.status == 409 and "expired" in answer.json["detail"]
    assert stored_items(store) == before
    assert client.get("/me/organisation", headers=auth(**MEMBER)).status == 404


def test_unknown_codes_wrong_roles_and_second_organisations_are_refused(client):
    assert client.post("/invitations/" + "A" * 32 + "/accept", headers=auth(**MEMBER)).status == 404
    assert (
        client.post("/invitations/nope/accept", headers=auth(**MEMBER)).status == 422
    )  # not a code's format
    assert client.post("/invitations/" + "x" * 300 + "/accept", headers=auth(**MEMBER)).status == 422
    org, _ = joined(client)
    second = register(client, {**ENTERPRISE, "name": "另一家企业"}).json
    code = invitation(client, second["id"])["code"]
    assert client.post(f"/invitations/{code}/accept", headers=auth(**ADMIN)).status == 403
    answer = client.post(f"/invitations/{code}/accept", headers=auth(**MEMBER))
    assert answer.status == 409 and org["name"] in answer.json["detail"]
    listed = client.get(f"/organisations/{second['id']}/invitations", headers=auth(**ADMIN)).json["items"]
    assert listed[0]["status"] == "open"


def test_members_are_pushed_their_organisations_fields_without_subscribing(client, store):
    tap = StreamTap(store.stream_arn)
    joined(client)
    in_field = approved_filing(client, industry="6")
    elsewhere = approved_filing(client, industry="1")
    deliver(lambda event: subscriptions.handle_stream_batch(event, store.clock.now()), tap.take())
    feed = client.get("/me/feed", headers=auth(**MEMBER)).json["items"]
    assert [i["filing"] for i in feed] == [in_field["id"]]
    assert elsewhere["id"] not in {i["filing"] for i in feed}
    assert client.get("/me/subscriptions", headers=auth(**MEMBER)).json["industries"] == []


def test_a_member_accepting_a_second_code_of_its_organisation_leaves_that_code_unused(client):
    org, _ = joined(client)
    code = invitation(client, org["id"])["code"]
    assert client.post(f"/invitations/{code}/accept", headers=auth(**MEMBER)).status == 200
    other = client.post(f"/invitations/{code}/accept", headers=auth(sub="colleague", role="user"))
    assert other.status == 200 and other.json["organisation"] == org["id"]


# ---- revoking, and what each invitation lists as --------------------------------------------


def _listed(client, org_id, who=ADMIN) -> dict[str, str]:
    """code → listed status, from every page of the organisation's invitations."""
    found, cursor = {}, None
    while True:
        page = client.get(
            f"/organisations/{org_id}/invitations?limit=2" + (f"&cursor={cursor}" if cursor else ""),
            headers=auth(**who),
        ).json
        found.update({i["code"]: i["status"] for i in page["items"]})
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_a_revoked_invitation_lists_as_revoked_and_cannot_be_accepted(client, store):
    from chalicelib.core import audit

    org = register(client).json
    code = invitation(client, org["id"])["code"]
    answer = client.delete(f"/organisations/{org['id']}/invitations/{code}", headers=auth(**ADMIN))
    assert (
        answer.status == 200 and answer.json["status"] == "revoked" and answer.json["revoked_by"] == "admin"
    )
    assert _listed(client, org["id"]) == {code: "revoked"}
    before = stored_items(store)
    refused = client.post(f"/invitations/{code}/accept", headers=auth(**MEMBER))
    assert refused.status == 409 and "revoked" in refused.json["detail"]
    assert stored_items(store) == before
    assert client.get("/me/organisation", headers=auth(**MEMBER)).status == 404
    again = client.delete(f"/organisations/{org['id']}/invitations/{code}", headers=auth(**ADMIN))
    assert again.status == 200 and again.json["status"] == "revoked"  # revoking twice is harmless
    assert stored_items(store) == before
    # Entries of one instant have no order among them.
    assert sorted(e["action"] for e in audit.trail("organisation", org["id"])) == [
        "invitation_revoked",
        "invited",
        "registered",
    ]


def test_only_the_organisations_managers_revoke_and_a_used_code_stays_used(client, store):
    dept = register(client, JS_DEPT, JS_ADMIN).json
    code = invitation(client, dept["id"], JS_ADMIN)["code"]
    other = register(client).json
    before = stored_items(store)
    assert (
        client.delete(f"/organisations/{dept['id']}/invitations/{code}", headers=auth(**ZJ_ADMIN)).status
        == 403
    )
    assert (
        client.delete(f"/organisations/{dept['id']}/invitations/{code}", headers=auth(**MEMBER)).status == 403
    )
    assert client.delete(f"/organisations/{dept['id']}/invitations/{code}").status == 401
    assert (
        client.delete(f"/organisations/{dept['id']}/invitations/{'A' * 32}", headers=auth(**JS_ADMIN)).status
        == 404
    )
    assert (
        client.delete(f"/organisations/{other['id']}/invitations/{code}", headers=auth(**ADMIN)).status == 404
    )
    assert stored_items(store) == before
    assert client.post(f"/invitations/{code}/accept", headers=auth(**MEMBER)).status == 200
    before = stored_items(store)
    used = client.delete(f"/organisations/{dept['id']}/invitations/{code}", headers=auth(**JS_ADMIN))
    assert used.status == 409 and used.headers["Content-Type"] == "application/problem+json"
    assert stored_items(store) == before
    assert _listed(client, dept["id"], JS_ADMIN) == {code: "used"}


def test_an_expired_code_lists_as_expired_from_the_instant_it_expires(client, store):
    org = register(client).json
    short = invitation(client, org["id"], valid_days=1)["code"]
    long = invitation(client, org["id"], valid_days=30)["code"]
    assert _listed(client, org["id"]) == {short: "open", long: "open"}
    store.at("2024-05-16T09:59:59+08:00")
    assert _listed(client, org["id"])[short] == "open"
    store.at("2024-05-16T10:00:00+08:00")  # DEFAULT_NOW + 1 day
    assert _listed(client, org["id"]) == {short: "expired", long: "open"}


def test_invitations_and_members_page_newest_first_without_repeats(client, store):
    org = register(client).json
    codes = []
    for _ in range(5):
        store.clock.advance(minutes=1)
        codes.append(invitation(client, org["id"])["code"])
    first = client.get(f"/organisations/{org['id']}/invitations?limit=2", headers=auth(**ADMIN)).json
    assert len(first["items"]) == 2 and first["next_cursor"]
    assert list(_listed(client, org["id"])) == codes[::-1]
    for i, code in enumerate(codes[:3]):
        assert (
            client.post(f"/invitations/{code}/accept", headers=auth(sub=f"m-{i}", role="user")).status == 200
        )
    page = client.get(f"/organisations/{org['id']}/members?limit=2", headers=auth(**ADMIN)).json
    rest = client.get(
        f"/organisations/{org['id']}/members?limit=2&cursor={page['next_cursor']}", headers=auth(**ADMIN)
    ).json
    assert [m["user"] for m in page["items"] + rest["items"]] == ["m-0", "m-1", "m-2"] and rest[
        "next_cursor"
    ] is None


# ---- a province's own departments are its own side -------------------------------------

JS_DEPT_MEMBER = dict(sub="js-dept-user", role="user")


def test_a_member_of_a_provinces_own_department_is_stored_but_never_counted_on_its_results(store, client):
    from chalicelib.usage import running_counters

    tap = StreamTap(store.stream_arn)
    own, other = (
        approved_filing(client, "320000", industry="1"),
        approved_filing(client, "330000", industry="1"),
    )
    org = register(client, JS_DEPT, JS_ADMIN).json
    code = invitation(client, org["id"], who=JS_ADMIN)["code"]
    assert client.post(f"/invitations/{code}/accept", headers=auth(**JS_DEPT_MEMBER)).status == 200
    for filing in (own, other):
        answer = client.put(
            f"/filings/{filing['id']}/evaluation", {"score": 5}, headers=auth(**JS_DEPT_MEMBER)
        )
        assert answer.status == 200 and answer.json["side"] == "government", answer.json
    deliver(lambda event: running_counters.handle_stream_batch(event, store.clock.now()), tap.take())
    assert client.get(f"/filings/{own['id']}/stats").json["evaluations"]["count"] == 0  # like own staff
    assert client.get(f"/filings/{other['id']}/stats").json["evaluations"]["count"] == 1
    stored = client.get(f"/filings/{own['id']}/evaluations", headers=auth(**ADMIN)).json["items"]
    assert [e["user"] for e in stored] == [pseudonyms.of("js-dept-user", own["cycle"])]


def test_assigning_a_provinces_own_department_member_to_its_candidate_is_422_naming_them(store, client):
    from tests.support.selection import evaluated, nominate

    org = register(client, {**JS_DEPT, "industries": ["5"]}, JS_ADMIN).json
    code = invitation(client, org["id"], who=JS_ADMIN)["code"]
    client.post(f"/invitations/{code}/accept", headers=auth(**JS_DEPT_MEMBER))
    own = evaluated(client)  # 320000, field 5
    assert nominate(client, own["id"]).status == 201
    before = stored_items(store)
    answer = client.post(
        f"/cycles/2024/candidates/{own['id']}/assignments",
        {"evaluators": ["js-dept-user"]},
        headers=auth(**ADMIN),
    )
    assert answer.status == 422 and answer.json["errors"][0]["field"] == "evaluators.0"
    assert (
        "js-dept-user" in answer.json["errors"][0]["message"]
        and "own province" in answer.json["errors"][0]["message"]
    )
    assert stored_items(store) == before
    zj = evaluated(client, province="330000")
    assert nominate(client, zj["id"], province="330000").status == 201
    assert (
        client.post(
            f"/cycles/2024/candidates/{zj['id']}/assignments",
            {"evaluators": ["js-dept-user"]},
            headers=auth(**ADMIN),
        ).status
        == 200
    )
