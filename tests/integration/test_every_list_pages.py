"""Every list pages (portal contract v3): each GET route of the OpenAPI document that answers
`items` takes `limit` up to a documented maximum and answers an opaque `next_cursor`; walking the
cursors sees every item once. A new list route that this walk cannot page fails here."""

from __future__ import annotations

import json
import re

import pytest
import requests

from chalicelib.core.paging import MAX_LIMIT
from tests.conftest import auth
from tests.support import NATIONAL, approved_filing, report_body
from tests.support.documents import PDF, declaration, filed, import_sheet, upload
from tests.support.scoring import CLOSED, seed_counters
from tests.support.selection import ENTERPRISE, evaluated, invitation, nominate, register

FILER = dict(sub="filer-320000", role="filer", province="320000")  # the filer approved_filing uses
JS_ADMIN = dict(sub="js-admin", role="province_admin", province="320000")
MEMBERS = [dict(sub=f"member-{i}", role="user", side="enterprise") for i in range(3)]
USERS = [dict(sub=f"reader-{i}", role="user", side="enterprise") for i in range(3)]
ADMIN = auth(**NATIONAL)


def _ok(answer, status=(200, 201)):
    assert answer.status in ((status,) if isinstance(status, int) else status), answer.json
    return answer.json


def _proof(client, form: str, name: str) -> None:
    """Attach a proof to an annual form: declare, PUT the bytes, complete."""
    started = _ok(
        client.post(f"{form}/files", declaration(name=name, purpose="funding_proof"), headers=auth(**FILER))
    )
    assert (
        requests.put(
            started["upload"]["url"], data=PDF, headers=started["upload"]["headers"], timeout=10
        ).status_code
        == 200
    )
    _ok(client.post(started["links"]["complete"], headers=auth(**FILER)), 200)


@pytest.fixture
def world(store, client):
    """At least three items in every list (where the platform allows three), and the ids to name them."""
    w: dict = {}
    # A pending filing and publication get three files each before approval.
    pending = _ok(client.post("/filings", report_body("320000"), headers=auth(**FILER)))
    publication = _ok(
        client.post(
            "/publications",
            {"kind": "news", "title": "专利导航动态", "province": "320000", "body": "正文"},
            headers=auth(**FILER),
        )
    )
    for owner, doc in (("filing", pending), ("publication", publication)):
        for i in range(3):
            _ok(upload(client, owner, doc["id"], name=f"附件{i}.pdf"))
        _ok(client.post(f"/{owner}s/{doc['id']}/review", {"decision": "approve"}, headers=ADMIN))
    for _ in range(2):
        _ok(
            client.post(
                "/publications",
                {"kind": "notice", "title": "通知", "province": "320000", "body": "正文"},
                headers=auth(**FILER),
            )
        )
    for i in range(3):  # each committing request is one import job
        _ok(
            client.post(
                "/filings/imports",
                {"format": "csv", "content_base64": import_sheet(i), "dry_run": False},
                headers=auth(**FILER),
            )
        )
    filing = pending["id"]
    w.update(filing_id=filing, publication_id=publication["id"])
    # A second approved version of each, and their proofs, funded projects and demands.
    for owner, doc, body in (
        ("filing", pending, report_body("320000", title="修订版")),
        (
            "publication",
            publication,
            {"kind": "news", "title": "专利导航动态（修订）", "province": "320000", "body": "正文"},
        ),
    ):
        _ok(client.post(f"/{owner}s/{doc['id']}/revisions", body, headers=auth(**FILER)))
        _ok(client.post(f"/{owner}s/{doc['id']}/review", {"decision": "approve"}, headers=ADMIN))
    for i in range(2):
        _proof(client, "/provinces/320000/annual-forms/2024", f"资金拨付{i}.pdf")
    _ok(
        client.put(
            "/provinces/320000/funded-projects/2024",
            {"projects": [{"number": f"JS-2024-{i}", "title": f"财政资助项目{i}"} for i in range(3)]},
            headers=auth(**JS_ADMIN),
        )
    )
    for i, user in enumerate(USERS):
        _ok(
            client.post(
                f"/publications/{publication['id']}/comments", {"text": f"评论{i}"}, headers=auth(**user)
            )
        )
        sent = _ok(
            client.post(
                "/demands",
                {
                    "to": "320000",
                    "kind": "demand",
                    "industry": "5",
                    "title": f"需求{i}",
                    "text": "希望获得专利导航分析服务。",
                },
                headers=auth(**user),
            )
        )
        w.setdefault("demand_id", sent["id"])
    w["file_id"] = client.get(f"/filings/{filing}/files").json["items"][0]["id"]
    for i, user in enumerate(USERS):
        _ok(client.post(f"/filings/{filing}/comments", {"text": f"评论{i}"}, headers=auth(**user)))
        _ok(
            client.put(
                f"/filings/{filing}/evaluation", {"score": 4, "feedback": f"建议{i}"}, headers=auth(**user)
            )
        )
    for status in ("not_started", "in_progress", "paused"):
        _ok(client.put(f"/filings/{filing}/application", {"status": status}, headers=auth(**FILER)))
    # Selection in the open cycle 2024: three evaluated results declared, nominated and assigned.
    results = [evaluated(client)["id"] for _ in range(3)]
    for result in results:
        _ok(client.put(f"/cycles/2024/declarations/{result}", headers=auth(**JS_ADMIN)))
        _ok(nominate(client, result))
    orgs = [_ok(register(client, {**ENTERPRISE, "name": f"示范企业{i}"})) for i in range(3)]
    w["org_id"] = orgs[0]["id"]
    for member in MEMBERS:
        code = invitation(client, w["org_id"])["code"]
        _ok(client.post(f"/invitations/{code}/accept", headers=auth(**member)))
    w["invitation"] = invitation(client, w["org_id"])["code"]
    for result in results:
        _ok(
            client.post(
                f"/cycles/2024/candidates/{result}/assignments",
                {"evaluators": [m["sub"] for m in MEMBERS]},
                headers=ADMIN,
            )
        )
    for i in range(3):
        _ok(
            client.post(
                "/populations/service_bases/units",
                {"code": f"SB-{i}", "name": f"服务基地{i}", "province": "320000"},
                headers=ADMIN,
            )
        )
    attributed = filed(client)["id"]  # attribution happens before approval
    _ok(
        client.put(
            f"/filings/{attributed}/attribution",
            {"population": "service_bases", "unit": "SB-0"},
            headers=auth(**JS_ADMIN),
        )
    )
    # Cycle 2024 closes: excellent projects, adjustments, three runs each published in turn.
    store.at(CLOSED)
    for result in results:
        _ok(
            client.post(
                "/cycles/2024/excellent-projects",
                {"filing": result, "reason": "专家组缺席，国家局认定"},
                headers=ADMIN,
            )
        )
        _ok(
            client.post(
                "/cycles/2024/adjustments",
                {"province": "320000", "points": 1, "reason": "核查"},
                headers=ADMIN,
            )
        )
    seed_counters()
    for base in ("/cycles/2024", "/populations/service_bases/cycles/2024"):
        for i in range(3):
            run_id = _ok(client.post(f"{base}/scoring-runs", headers=ADMIN))["run_id"]
            _ok(
                client.post(
                    f"{base}/scoring-runs/{run_id}/publish",
                    {"reason": f"更正{i}"} if i else None,
                    headers=ADMIN,
                ),
                200,
            )
            w.setdefault("run_id", run_id)
    for i in range(3):
        _ok(
            client.post(
                "/populations/service_bases/cycles/2024/adjustments",
                {"unit": f"SB-{i}", "points": 1, "reason": "核查补录服务成果"},
                headers=ADMIN,
            )
        )
    # A later run of the closed cycle is published provisionally and three provinces object to it.
    run_id = _ok(client.post("/cycles/2024/scoring-runs", headers=ADMIN))["run_id"]
    _ok(client.post(f"/cycles/2024/scoring-runs/{run_id}/provisional-publication", headers=ADMIN))
    for province in ("320000", "330000", "310000"):
        objection = _ok(
            client.post(
                "/cycles/2024/objections",
                {"reason": "本省浏览量统计遗漏"},
                headers=auth(sub=f"admin-{province}", role="province_admin", province=province),
            )
        )
        w.setdefault("objection_id", objection["id"])
    return w


# Each list route of the OpenAPI document: the path walked, who walks it, and the fewest items it
# must show once `world` is seeded.
LISTS = {
    "/provinces": ("/provinces", None, 32),
    "/industries": ("/industries", None, 9),
    "/cycles": ("/cycles", None, 3),
    "/populations": ("/populations", None, 3),
    "/filings": ("/filings", NATIONAL, 4),
    "/publications": ("/publications", NATIONAL, 3),
    "/filings/{filing_id}/files": ("/filings/{filing_id}/files", None, 3),
    "/publications/{publication_id}/files": ("/publications/{publication_id}/files", None, 3),
    "/filings/{filing_id}/application": ("/filings/{filing_id}/application", None, 3),
    "/filings/{filing_id}/history": ("/filings/{filing_id}/history", NATIONAL, 3),
    "/filings/{filing_id}/comments": ("/filings/{filing_id}/comments", None, 3),
    "/filings/{filing_id}/evaluations": ("/filings/{filing_id}/evaluations", NATIONAL, 3),
    "/provinces/{code}/feedback": ("/provinces/320000/feedback", NATIONAL, 3),
    "/activity": ("/activity?cycle=2024", None, 32),
    "/me/notifications": ("/me/notifications", FILER, 3),
    "/me/feed": ("/me/feed", MEMBERS[0], 3),
    "/me/assignments": ("/me/assignments", MEMBERS[0], 3),
    "/organisations": ("/organisations", NATIONAL, 3),
    "/organisations/{org_id}/invitations": ("/organisations/{org_id}/invitations", NATIONAL, 4),
    "/organisations/{org_id}/members": ("/organisations/{org_id}/members", NATIONAL, 3),
    "/cycles/{cycle}/declarations": ("/cycles/2024/declarations", NATIONAL, 3),
    "/cycles/{cycle}/screening": ("/cycles/2024/screening", NATIONAL, 3),
    "/cycles/{cycle}/assignments": ("/cycles/2024/assignments", NATIONAL, 9),
    "/cycles/{cycle}/candidates": ("/cycles/2024/candidates", NATIONAL, 3),
    "/cycles/{cycle}/adjustments": ("/cycles/2024/adjustments", NATIONAL, 3),
    "/cycles/{cycle}/excellent-projects": ("/cycles/2024/excellent-projects", None, 3),
    "/cycles/{cycle}/scoring-runs": ("/cycles/2024/scoring-runs", NATIONAL, 3),
    "/cycles/{cycle}/announcements": ("/cycles/2024/announcements", None, 3),
    "/cycles/{cycle}/announcements/history": ("/cycles/2024/announcements/history", NATIONAL, 3),
    "/cycles/{cycle}/announcement/excellent-projects": (
        "/cycles/2024/announcement/excellent-projects",
        None,
        3,
    ),
    "/populations/{population}/units": ("/populations/service_bases/units", None, 3),
    "/provinces/{code}/filing-imports": ("/provinces/320000/filing-imports", FILER, 3),
    "/publications/{publication_id}/comments": ("/publications/{publication_id}/comments", None, 3),
    "/filings/{filing_id}/versions": ("/filings/{filing_id}/versions", None, 2),
    "/publications/{publication_id}/versions": ("/publications/{publication_id}/versions", None, 2),
    "/provinces/{code}/annual-forms/{year}/files": ("/provinces/320000/annual-forms/2024/files", FILER, 2),
    "/annual-forms/{year}": ("/annual-forms/2024", NATIONAL, 32),
    "/provinces/{code}/funded-projects/{cycle}": ("/provinces/320000/funded-projects/2024", JS_ADMIN, 3),
    "/demands": ("/demands?to=320000", JS_ADMIN, 3),
    "/cycles/{cycle}/objections": ("/cycles/2024/objections", NATIONAL, 3),
    "/populations/{population}/cycles/{cycle}/adjustments": (
        "/populations/service_bases/cycles/2024/adjustments",
        NATIONAL,
        3,
    ),
    "/populations/{population}/cycles/{cycle}/announcements": (
        "/populations/service_bases/cycles/2024/announcements",
        None,
        3,
    ),
}


def _document(client) -> dict:
    return client.get("/openapi.json").json


def _list_routes(document: dict) -> dict[str, dict]:
    """GET operations that declare the list parameters: path → its `limit` parameter."""
    found = {}
    for path, operations in document["paths"].items():
        params = {p["name"]: p for p in operations.get("get", {}).get("parameters", [])}
        if "limit" in params or "cursor" in params:
            found[path] = params.get("limit")
    return found


def _fill(template: str, w: dict) -> str:
    values = {
        "code": "320000",
        "province": "320000",
        "cycle": "2024",
        "year": "2024",
        "population": "service_bases",
        "sub": MEMBERS[0]["sub"],
        "unit": "SB-0",
        **w,
    }
    return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), template)


def _key(item) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def _walk(client, path: str, headers: dict, limit: int) -> list:
    items, cursor, sep = [], None, "&" if "?" in path else "?"
    for _ in range(200):
        page = client.get(
            f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""), headers=headers
        )
        assert page.status == 200, (path, page.json)
        assert len(page.json["items"]) <= limit, path
        items += page.json["items"]
        cursor = page.json["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"{path}: paging does not end")


def test_every_list_route_of_the_openapi_document_is_walked_here(client, store):
    routes = _list_routes(_document(client))
    assert set(routes) == set(LISTS), "list routes the walk does not know (or no longer exist)"
    for path, limit in routes.items():
        assert limit is not None and limit["schema"]["maximum"] == MAX_LIMIT, path
        assert limit["schema"]["minimum"] == 1, path


def test_every_list_pages_one_by_one_and_no_other_get_route_answers_an_unpaged_list(client, world):
    """One seeded world (it is slow to build) for both halves: the walk of LISTS, then the sweep."""
    _walk_every_list(client, world)
    _sweep_other_routes(client, world)


def _walk_every_list(client, world: dict) -> None:
    failures = []
    for template, (path, who, fewest) in LISTS.items():
        path, headers = _fill(path, world), auth(**who) if who else {}
        try:
            whole = client.get(path, headers=headers)
            assert whole.status == 200, whole.json
            assert "next_cursor" in whole.json and len(whole.json["items"]) >= fewest, len(
                whole.json["items"]
            )
            first = client.get(path + ("&" if "?" in path else "?") + "limit=1", headers=headers).json
            assert len(first["items"]) == 1 and isinstance(first["next_cursor"], str)
            walked = _walk(client, path, headers, 1)
            keys = [_key(i) for i in walked]
            assert len(keys) == len(set(keys)), "an item came twice"
            assert keys == [_key(i) for i in whole.json["items"]], "walking saw other items than one page"
            too_many = client.get(
                path + ("&" if "?" in path else "?") + f"limit={MAX_LIMIT + 1}", headers=headers
            )
            assert too_many.status == 422 and too_many.json["errors"][0]["field"] == "limit"
            cursor = first["next_cursor"]
            tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
            bad = client.get(
                path + ("&" if "?" in path else "?") + f"limit=1&cursor={tampered}", headers=headers
            )
            assert bad.status == 400 and bad.json["errors"][0]["field"] == "cursor"
        except AssertionError as error:
            failures.append(f"{template}: {error}")
    assert not failures, "\n".join(failures)


def _sweep_other_routes(client, world: dict) -> None:
    """Called with the world's ids, a GET route outside LISTS never answers a top-level `items`."""
    document = _document(client)
    offenders = []
    for template, operations in document["paths"].items():
        if "get" not in operations or template in LISTS:
            continue
        for who in (NATIONAL, MEMBERS[0], FILER, None):
            answer = client.get(_fill(template, world), headers=auth(**who) if who else {})
            if isinstance(answer.json, dict) and "items" in answer.json:
                offenders.append(template)
                break
    assert offenders == [], "routes answering items without the list parameters"


def test_a_single_read_embeds_one_page_of_files_and_the_files_list_continues_it(client, monkeypatch):
    from chalicelib.documents import attachments
    from tests.support.documents import filed

    monkeypatch.setattr(attachments, "EMBEDDED_FILES", 2)
    filing = filed(client)
    names = [f"附件{i}.pdf" for i in range(3)]
    for name in names:
        _ok(upload(client, "filing", filing["id"], name=name))
    one = client.get(f"/filings/{filing['id']}", headers=auth(**FILER)).json
    assert len(one["files"]) == 2 and isinstance(one["files_next_cursor"], str)
    rest = client.get(
        f"/filings/{filing['id']}/files?cursor={one['files_next_cursor']}", headers=auth(**FILER)
    ).json
    assert sorted(f["name"] for f in one["files"] + rest["items"]) == names and rest["next_cursor"] is None
    assert client.get(f"/filings/{filing['id']}/comments?cursor={one['files_next_cursor']}").status in (
        400,
        404,
    )


def test_deleted_comments_leave_no_short_pages(client, store):
    target = approved_filing(client)["id"]
    made = []
    for i in range(5):
        store.clock.advance(seconds=1)  # comments of one millisecond have no order among them
        made.append(
            _ok(client.post(f"/filings/{target}/comments", {"text": f"评论{i}"}, headers=auth(**USERS[0])))[
                "id"
            ]
        )
    for gone in (made[1], made[3]):
        assert client.delete(f"/filings/{target}/comments/{gone}", headers=auth(**USERS[0])).status == 204
    first = client.get(f"/filings/{target}/comments?limit=2").json
    assert [c["id"] for c in first["items"]] == [made[0], made[2]] and first["next_cursor"]
    rest = client.get(f"/filings/{target}/comments?limit=2&cursor={first['next_cursor']}").json
    assert [c["id"] for c in rest["items"]] == [made[4]] and rest["next_cursor"] is None
