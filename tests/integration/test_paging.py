"""Cursor paging of lists: every item once, newest first, limit 1..200 (default 50), cursors that
cannot be altered or replayed against another query."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from chalicelib.core.auth import Caller
from chalicelib.documents import filings
from chalicelib.documents.filings import FilingIn
from tests.conftest import auth
from tests.support import report_body

NATIONAL = Caller("boss", "national_admin")
FILER_JS = dict(sub="filer-js", role="filer", province="320000")


def seed(
    store, count: int, *, approve=lambda i: True, province=lambda i: "320000", kind=lambda i: "report"
) -> list[str]:
    """`count` filings one minute apart (domain calls: fast); returns their ids, newest first."""
    made = []
    for i in range(count):
        store.clock.advance(minutes=1)
        p, k = province(i), kind(i)
        body = FilingIn.model_validate(report_body(p, kind=k, report_type="other" if k == "report" else None))
        filing = filings.create(Caller(f"filer-{p}", "filer", p), body, store.clock.now())
        if approve(i):
            filings.review(NATIONAL, filing.id, _approve(), store.clock.now())
        made.append(filing.id)
    return made[::-1]


def _approve():
    from chalicelib.documents.lifecycle import ReviewIn

    return ReviewIn(decision="approve")


def walk(client, path: str, headers=None, limit: int | None = None) -> tuple[list[str], list[int]]:
    """Follow next_cursor to the end; (ids in order, page sizes)."""
    ids, sizes, cursor = [], [], None
    sep = "&" if "?" in path else "?"
    while True:
        query = [f"limit={limit}"] if limit else []
        if cursor:
            query.append(f"cursor={cursor}")
        response = client.get(path + (sep + "&".join(query) if query else ""), headers=headers or {})
        assert response.status == 200, response.json
        assert set(response.json) == {"items", "next_cursor"}
        ids += [item["id"] for item in response.json["items"]]
        sizes.append(len(response.json["items"]))
        cursor = response.json["next_cursor"]
        if cursor is None:
            return ids, sizes
        assert len(sizes) < 100, "paging does not end"


def test_the_default_page_is_50_and_walking_sees_each_item_once_newest_first(client, store):
    made = seed(store, 120)
    ids, sizes = walk(client, "/filings")
    assert sizes == [50, 50, 20]
    assert ids == made


def test_a_limit_of_200_is_the_most_and_beyond_is_refused(client, store):
    made = seed(store, 201)
    ids, sizes = walk(client, "/filings", limit=200)
    assert sizes == [200, 1] and ids == made
    for bad in ("201", "0", "1000", "-5", "x"):
        response = client.get(f"/filings?limit={bad}")
        assert response.status in (400, 422)
        assert response.json["errors"][0]["field"] == "limit"


def test_a_list_of_exactly_limit_items_has_no_next_cursor(client, store):
    seed(store, 5)
    response = client.get("/filings?limit=5")
    assert len(response.json["items"]) == 5 and response.json["next_cursor"] is None
    assert client.get("/filings").json["next_cursor"] is None


@pytest.mark.parametrize("limit", [1, 3, 7, 50])
def test_hidden_items_between_visible_ones_do_not_shorten_or_repeat_pages(client, store, limit):
    made = seed(store, 40, approve=lambda i: i % 3 == 0, province=lambda i: "320000" if i % 2 else "330000")
    approved = [fid for fid, i in zip(made, range(39, -1, -1)) if i % 3 == 0]
    mine_or_approved = [fid for fid, i in zip(made, range(39, -1, -1)) if i % 3 == 0 or i % 2]
    public, sizes = walk(client, "/filings", limit=limit)
    assert public == approved
    assert all(size == limit for size in sizes[:-1])
    assert walk(client, "/filings", auth(**FILER_JS), limit)[0] == mine_or_approved
    assert walk(client, "/filings", auth(sub="boss", role="national_admin"), limit)[0] == made


def test_filtered_lists_page_too(client, store):
    made = seed(
        store,
        30,
        province=lambda i: ("320000", "330000", "110000")[i % 3],
        kind=lambda i: ("report", "tool")[i % 2],
    )
    ages = range(29, -1, -1)
    expected = [fid for fid, i in zip(made, ages) if i % 3 == 1 and i % 2 == 1]
    assert walk(client, "/filings?province=330000&kind=tool", limit=2)[0] == expected
    assert walk(client, "/filings?status=approved&industry=5", limit=4)[0] == made


def test_items_filed_while_walking_do_not_cause_duplicates_or_misses(client, store):
    made = seed(store, 10)
    first = client.get("/filings?limit=4").json
    seed(store, 3)  # newer than everything: they belong before the cursor
    rest, _ = walk(client, f"/filings?cursor={first['next_cursor']}", limit=4)
    assert [i["id"] for i in first["items"]] + rest == made


def _tamper(cursor: str) -> list[str]:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    variants = []
    for at in (0, 5, len(raw) // 2, len(raw) - 1):  # version byte, nonce, sealed key, tag
        flipped = bytearray(raw)
        flipped[at] ^= 0x01
        variants.append(base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode())
    # The old signed-JWT format, made with this very secret, and a readable key are refused too.
    old = jwt.encode(
        {"k": {"pk": {"S": "FILING#x"}}, "s": "whatever"}, "navi-local-cursor-secret-not-for-deployed-stages"
    )
    return variants + [
        cursor[:-5],
        cursor + "x",
        cursor[:20],
        "not-a-cursor",
        old,
        "x" * 5000,
        base64.urlsafe_b64encode(b'{"k": {}}').decode(),
        "%C2%B2",
    ]


def test_a_tampered_cursor_is_a_400_problem(client, store):
    seed(store, 5)
    cursor = client.get("/filings?limit=2").json["next_cursor"]
    for bad in _tamper(cursor):
        response = client.get(f"/filings?limit=2&cursor={bad}")
        assert response.status == 400, (bad, response.json)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json["errors"][0]["field"] == "cursor"


def test_a_cursor_reveals_nothing_of_the_table_layout(client, store):
    seed(store, 3)
    for path in ("/filings?limit=1", "/filings?province=320000&limit=1"):
        cursor = client.get(path).json["next_cursor"]
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        for secret in (b'"pk"', b'"sk"', b"gsi", b"FILING", b"320000"):
            assert secret not in raw, (path, secret)  # the old cursors carried all of these readably
        with pytest.raises(ValueError):
            json.loads(raw)


def test_a_cursor_only_works_for_the_query_that_made_it(client, store):
    seed(store, 6, province=lambda i: ("320000", "330000")[i % 2])
    cursor = client.get("/filings?province=320000&limit=1").json["next_cursor"]
    assert client.get(f"/filings?province=320000&limit=1&cursor={cursor}").status == 200
    elsewhere = [
        ("/filings?province=330000&limit=1", {}),
        ("/filings?limit=1", {}),
        ("/filings?province=320000&kind=tool&limit=1", {}),
        ("/filings?province=320000&limit=1", auth(sub="boss", role="national_admin")),  # other visibility
        ("/publications?province=320000&limit=1", {}),
    ]
    for path, headers in elsewhere:
        response = client.get(f"{path}&cursor={cursor}", headers=headers)
        assert response.status == 400, (path, response.json)
        assert response.json["errors"][0]["field"] == "cursor"


def test_a_cursor_from_another_deployment_secret_is_refused(client, store):
    from chalicelib.core import paging

    seed(store, 3)
    foreign = paging.encode_cursor({"pk": {"S": "x"}}, "whatever", "another-secret-entirely-0123456789")
    assert client.get(f"/filings?cursor={foreign}").status == 400
