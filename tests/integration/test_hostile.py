"""Hostile and clumsy input (issue 15): every row answers with a 4xx problem, never a 5xx, and a
refused request stores nothing. Claims a token can simply make are not trusted."""

from __future__ import annotations

import copy
import json
import logging
import uuid

import pytest

from chalicelib.scoring import scheme
from tests.conftest import auth, token
from tests.support import FILER, approved_filing, assert_problem, report_body, stored_items
from tests.support.selection import assign_expert, name_panel

ADMIN = dict(sub="admin", role="national_admin")
CYCLE = "2024"


def refused(client, store, method: str, path: str, status: int, field: str | None = None, **kw) -> dict:
    """`method path` is refused with a `status` problem naming `field`, and nothing is stored."""
    before = stored_items(store)
    problem = assert_problem(client.call(method, path, **kw), status)
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]], problem
    assert stored_items(store) == before
    return problem


# ---- bodies: depth, duplicates, NaN, content type, text --------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 50_000 + b"]" * 50_000,  # 100 KB of nested arrays
        (b'{"a":' * 2_000) + b"1" + b"}" * 2_000,  # 2,000 nested objects
        b'{"events": ' + b"[" * 40 + b"]" * 40 + b"}",  # just past the limit
    ],
)
def test_deeply_nested_bodies_are_a_400_problem_not_a_crash(client, store, raw):
    problem = refused(client, store, "POST", "/events", 400, raw=raw, headers=auth(sub="u1", role="user"))
    assert "deeper" in problem["detail"]


def test_brackets_inside_strings_do_not_count_as_depth(client):
    body = report_body(title="[" * 100 + "{" * 100)
    assert client.post("/filings", body, headers=auth(**FILER)).status == 201


@pytest.mark.parametrize(
    "raw, field",
    [
        (b'{"score": 1, "score": 5}', "score"),
        (json.dumps(report_body())[:-1].encode() + b', "province": "330000"}', "province"),
    ],
)
def test_duplicate_keys_are_a_400_problem_naming_the_key(client, store, raw, field):
    filing = approved_filing(client)
    path = "/filings" if field == "province" else f"/filings/{filing['id']}/evaluation"
    method = "POST" if field == "province" else "PUT"
    who = FILER if field == "province" else dict(sub="u9", role="user", side="university")
    refused(client, store, method, path, 400, field, raw=raw, headers=auth(**who))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_scheme_with_nan_or_infinite_factors_is_a_422_naming_the_field(client, store, constant):
    body = copy.deepcopy(scheme.DEFAULT_SCHEME)
    body = {k: body[k] for k in ("name", "areas", "bonus", "flags")}
    first = body["areas"][0]["indicators"][0]
    factor = next(iter(first["inputs"]))
    raw = (
        json.dumps(body, ensure_ascii=False)
        .replace(f'"{factor}": {json.dumps(first["inputs"][factor])}', f'"{factor}": {constant}', 1)
        .encode()
    )
    assert constant.encode() in raw
    refused(
        client,
        store,
        "PUT",
        "/scoring-scheme",
        422,
        f"areas.0.indicators.0.inputs.{factor}",
        raw=raw,
        headers=auth(**ADMIN),
    )
    described = client.get("/scoring-scheme")
    assert described.status == 200 and described.json["version"] == 1 and b"NaN" not in described.body


@pytest.mark.parametrize("name", ["\u202e方案", "\u200b\u200b", "方案\x00"])
def test_a_scheme_whose_name_hides_or_controls_text_is_a_422_naming_it(client, store, name):
    body = {k: copy.deepcopy(scheme.DEFAULT_SCHEME)[k] for k in ("name", "areas", "bonus", "flags")}
    body["name"] = name
    refused(
        client,
        store,
        "PUT",
        "/scoring-scheme",
        422,
        "name",
        raw=json.dumps(body).encode(),
        headers=auth(**ADMIN),
    )


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/x-notjson",
        "application/jsonp",
        "application/json-patch",
        "application/json; charset=latin-1",
        "application/json, text/html",
        "text/json",
    ],
)
def test_a_json_write_without_an_exact_json_content_type_is_a_415_problem(client, store, content_type):
    headers = {"Authorization": auth(sub="u1", role="user")["Authorization"]}
    if content_type is not None:
        headers["Content-Type"] = content_type
    raw = json.dumps({"events": [{"id": str(uuid.uuid4()), "type": "view", "filing": "x"}]}).encode()
    refused(client, store, "POST", "/events", 415, raw=raw, headers=headers)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "Application/JSON; charset=UTF-8",
        "application/merge-patch+json",
        'application/json;charset="utf-8"',
    ],
)
def test_json_media_types_are_accepted(client, content_type):
    headers = {**auth(**FILER), "Content-Type": content_type}
    assert client.post("/filings", report_body(), headers=headers).status == 201


@pytest.mark.parametrize(
    "title",
    [
        "\x00",
        "报告\x00",
        "\u202etxt.exe",
        "abc\u2066def",
        "\u200b\u200b",
        "\u200b \ufeff\u2060",
        "\u3164",
        "a\x1bb",
        "line\nbreak",
    ],
)
def test_titles_with_control_characters_or_nothing_visible_are_422(client, store, title):
    refused(
        client, store, "POST", "/filings", 422, "title", body=report_body(title=title), headers=auth(**FILER)
    )


def test_multi_line_text_keeps_its_line_breaks_but_not_other_controls(client, store):
    ok = client.post("/filings", report_body(summary="第一段\n第二段\t完"), headers=auth(**FILER))
    assert ok.status == 201 and ok.json["summary"] == "第一段\n第二段\t完"
    refused(
        client,
        store,
        "POST",
        "/filings",
        422,
        "summary",
        body=report_body(summary="a\x00b"),
        headers=auth(**FILER),
    )
    refused(
        client, store, "POST", "/filings", 422, "unit", body=report_body(unit="\u200d"), headers=auth(**FILER)
    )


def test_a_lone_surrogate_anywhere_is_a_422_problem(client, store):
    raw = json.dumps(report_body(unit="\ud800")).encode()  # json.dumps escapes it as \\ud800
    refused(client, store, "POST", "/filings", 422, "unit", raw=raw, headers=auth(**FILER))
    raw = b'{"\\udfff": 1}'
    refused(client, store, "POST", "/filings", 422, raw=raw, headers=auth(**FILER))


# ---- parameters: one helper, ASCII digits only --------------------------------------------


@pytest.mark.parametrize(
    "path, field, who",
    [
        ("/filings?limit=\u00b2", "limit", None),
        ("/filings?limit=\uff11\uff10", "limit", None),  # full-width 10
        ("/me/feed?limit=\u00b9", "limit", dict(sub="u1", role="user")),
        (f"/cycles/{CYCLE}/scoring-runs?limit=\u00b9", "limit", ADMIN),
        ("/scoring-scheme?version=\u00b2", "version", None),
        ("/scoring-scheme?version=\u0661", "version", None),  # Arabic-Indic 1
        ("/provinces/\uff13\uff12\uff10\uff10\uff10\uff10/activity", "code", None),
        ("/cycles/\uff12\uff10\uff12\uff14/candidates", "cycle", ADMIN),
        ("/filings?cycle=\uff12\uff10\uff12\uff14", "cycle", None),
        ("/me/feed?unread=yes", "unread", dict(sub="u1", role="user")),
        ("/experts/" + "e" * 300 + "/fields", "sub", ADMIN),
    ],
)
def test_parameters_outside_their_ascii_format_are_422_naming_them(client, path, field, who):
    problem = assert_problem(client.get(path, headers=auth(**who) if who else {}), 422)
    assert problem["errors"][0]["field"] == field


def test_an_annual_form_year_of_unicode_digits_is_422(client, store):
    refused(
        client,
        store,
        "PUT",
        "/provinces/320000/annual-forms/\uff12\uff10\uff12\uff14",
        422,
        "year",
        body={},
        headers=auth(sub="pa", role="province_admin", province="320000"),
    )


# ---- tokens: claims of the wrong type ---------------------------------------------------------


@pytest.mark.parametrize(
    "claims",
    [
        {"role": "filer", "province": ["320000"]},
        {"role": "filer", "province": {"code": "320000"}},
        {"role": "expert", "province": ["110000", "320000"]},
        {"role": ["national_admin"]},
        {"role": {"national_admin": True}},
        {"role": "user", "side": ["university"]},
        {"role": "user", "sub": 12345},
        {"role": "user", "sub": ["a"]},
    ],
)
def test_a_signed_token_with_claims_of_the_wrong_type_is_a_401_problem(client, store, claims):
    claims = {"sub": "attacker", **claims}
    headers = {"Authorization": f"Bearer {token(**claims)}", "Content-Type": "application/json"}
    refused(client, store, "POST", "/filings", 401, body=report_body(), headers=headers)
    assert_problem(client.get("/filings", headers=headers), 401)


# ---- conflicts of interest from the registered home province --------------------------------


def _candidate(client) -> dict:
    """A 320000 (Jiangsu) filing declared, screened in and kept by the library cut: experts score it."""
    from tests.support.selection import shortlisted

    return shortlisted(client)


def _score(client, filing, who):
    return client.put(
        f"/cycles/{CYCLE}/candidates/{filing['id']}/expert-score", {"score": 80}, headers=auth(**who)
    )


def _register(client, sub, province):
    return client.put(f"/experts/{sub}/home-province", {"province": province}, headers=auth(**ADMIN))


@pytest.mark.parametrize("claim", [None, "110000", "320000"])
def test_an_expert_from_the_candidates_province_is_refused_whatever_the_token_claims(client, store, claim):
    filing = _candidate(client)
    assert client.put("/experts/js-expert/fields", {"industries": ["5"]}, headers=auth(**ADMIN)).status == 200
    assert _register(client, "js-expert", "320000").status == 200
    who = dict(sub="js-expert", role="expert", province=claim)
    answer = _score(client, filing, who)
    assert answer.status == 403, answer.json
    assert ("Conflict of interest" if claim in (None, "320000") else "disagrees") in answer.json["detail"]


def test_an_expert_without_a_registered_home_province_cannot_score(client, store):
    filing = _candidate(client)
    assert (
        client.put("/experts/new-expert/fields", {"industries": ["5"]}, headers=auth(**ADMIN)).status == 200
    )
    answer = _score(client, filing, dict(sub="new-expert", role="expert", province="110000"))
    assert answer.status == 403 and "No home province is registered" in answer.json["detail"]
    assert _register(client, "new-expert", "110000").status == 200
    others = [dict(sub=f"panel-{i}", role="expert", province="110000") for i in range(4)]
    for expert in others:
        assign_expert(client, expert)
    assert name_panel(client, filing["id"], [dict(sub="new-expert"), *others]).status == 200
    scored = _score(client, filing, dict(sub="new-expert", role="expert"))  # no claim: the registry decides
    assert scored.status == 200 and scored.json["expert_province"] == "110000"


def test_only_national_admins_keep_the_registry_and_each_reads_their_own(client, store):
    assert _register(client, "e1", "110000").status == 200
    mine = client.get("/experts/e1/home-province", headers=auth(sub="e1", role="expert"))
    assert mine.status == 200 and mine.json["province"] == "110000" and mine.json["registered_by"] == "admin"
    assert client.get("/experts/e1/home-province", headers=auth(sub="e2", role="expert")).status == 403
    assert (
        client.put(
            "/experts/e1/home-province", {"province": "320000"}, headers=auth(sub="e1", role="expert")
        ).status
        == 403
    )
    refused(
        client,
        store,
        "PUT",
        "/experts/e1/home-province",
        422,
        "province",
        body={"province": "999999"},
        headers=auth(**ADMIN),
    )
    none = client.get("/experts/nobody/home-province", headers=auth(**ADMIN))
    assert none.status == 200 and none.json["province"] is None


# ---- logs ------------------------------------------------------------------------------


def test_a_crash_quoting_the_query_string_and_body_logs_no_token(client, store, monkeypatch):
    import io

    import app

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(app.logger.registered_formatter)
    logging.getLogger(app.logger.name).addHandler(handler)
    secret = token(sub="leaky", role="user")
    from chalicelib.documents import filings

    def explode(*args, **kwargs):  # a careless message quoting what the caller sent
        raise RuntimeError(
            f'failed /filings?access_token=opaque-77 body {{"access_token": "opaque-77"}} {secret}'
        )

    monkeypatch.setattr(filings, "list_page", explode)
    try:
        assert client.get(f"/filings?access_token={secret}").status == 500
    finally:
        logging.getLogger(app.logger.name).removeHandler(handler)
    logged = stream.getvalue()
    assert "RuntimeError" in logged  # the traceback was logged, tokens cut out
    assert "opaque-77" not in logged and secret not in logged and secret.split(".")[2] not in logged


def test_names_titles_and_reasons_elsewhere_refuse_controls_and_invisible_text_too(client, store):
    from tests.support.documents import JS_ADMIN, PATH, form

    store.at("2024-10-20T10:00:00+08:00")
    carrier = {"name": "\u200b", "type": "other"}
    refused(
        client, store, "PUT", PATH, 422, "carriers.0.name", body=form(carriers=[carrier]), headers=JS_ADMIN
    )
    policy = {"title": "方案\u202e", "issued_on": "2024-03-01"}
    refused(
        client, store, "PUT", PATH, 422, "policies.0.title", body=form(policies=[policy]), headers=JS_ADMIN
    )
    refused(
        client,
        store,
        "POST",
        f"/cycles/{CYCLE}/adjustments",
        422,
        "reason",
        body={"province": "110000", "points": 1, "reason": "\x00"},
        headers=auth(**ADMIN),
    )
    refused(
        client,
        store,
        "POST",
        f"/cycles/{CYCLE}/excellent-projects",
        422,
        "note",
        body={"filing": "x", "reason": "理由", "note": "\u2066\u2069"},
        headers=auth(**ADMIN),
    )
    assert client.put(PATH, form(summary="第一行\n第二行"), headers=JS_ADMIN).status == 201
