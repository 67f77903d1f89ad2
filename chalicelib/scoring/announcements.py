"""Publishing scoring results: the notice (公布), the list of excellent projects (通报), and
corrections. A published run can be superseded by a later run of the same cycle with a
written reason; the public sees the newest publication, the history keeps every one.

Storage (records table):
- `PUBLISHED` / `{cycle}`: the cycle's current publication (what /scores shows the public),
  versioned, so two corrections racing cannot both land.
- `ANNOUNCEMENTS#{cycle}` / `{seq:04d}`: one announcement per publication, never changed:
  the run, who and when, the reason and the run it corrects, the notice, the ranking and the
  excellent projects as they stood in the run.
Each publication writes all three (pointer, announcement, audit entries) in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso
from chalicelib.core.errors import BadRequest, Conflict, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Filing, Record
from chalicelib.core.paging import Page, computed_page, decode_cursor, encode_cursor, scope_of
from chalicelib.core.reference import INDUSTRIES, PROVINCES
from chalicelib.core.schemas import Body, Text
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.documents import filings

PUBLISHED = "PUBLISHED"  # partition of the current-publication pointers, one per scope
ENTITY = "scoring_publication"


class PublishIn(Body):
    """Why this run replaces the published one (required to supersede; kept with the announcement)."""

    reason: Text(1, 2000, multiline=True) | None = None


def scope_key(cycle_id: str, population: str | None = None) -> str:
    """What publications are kept under: the cycle for the provinces, "<population>#<cycle>" for
    another evaluated population (population_sources.py)."""
    return cycle_id if population is None else f"{population}#{cycle_id}"


def published_key(scope: str) -> tuple[str, str]:
    """The pointer to the scope's current publication (what /scores shows the public)."""
    return PUBLISHED, scope


def announcements_pk(scope: str) -> str:
    return f"ANNOUNCEMENTS#{scope}"


def current(scope: str) -> Record | None:
    """The scope's current publication pointer (None before the first publication)."""
    try:
        return Record.get(*published_key(scope), consistent_read=True)
    except Record.DoesNotExist:
        return None


def run_sequence(run_id: str) -> int:
    """The run's place among its cycle's runs (run ids end in a zero-padded counter)."""
    return int(run_id.rsplit("-", 1)[1])


def _industries_of(projects: list[Mapping[str, Any]]) -> dict[str, str]:
    """filing → industry, for excellent projects recorded before they carried it."""
    missing = [p["filing"] for p in projects if not p.get("industry")]
    if not missing:
        return {}
    return {f.id: f.industry for f in Filing.batch_get([filings.doc_key(i) for i in missing])}


def _announced_projects(projects: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The 通报 list of a run's excellent projects, by unit and filing."""
    industries = _industries_of(projects)
    return sorted(
        (
            {
                "filing": p["filing"],
                "title": p["title"],
                "kind": p["kind"],
                "unit": p["unit"],
                "province": p["province"],
                "province_name": PROVINCES.get(p["province"], p["province"]),
                "industry": p.get("industry") or industries.get(p["filing"]),
                # an override is announced as such, with its reason; older projects were "selection"
                "source": p.get("source") if p.get("source") == "override" else "selection",
                "reason": p.get("reason") if p.get("source") == "override" else None,
                "panel_size": (p.get("panel") or {}).get("size"),  # none for an override or older projects
            }
            for p in projects
        ),
        key=lambda p: (p["province"], p["filing"]),
    )


def announcement(
    cycle_id: str,
    header: Mapping[str, Any],
    ranking: list[Mapping[str, Any]],
    seq: int,
    caller: Caller,
    now: datetime,
    reason: str | None,
    supersedes: Mapping[str, Any] | None,
    subject: str = "专利导航工作",
) -> dict:
    """The notice and the excellent-project list of one publication (pure but for old projects' fields)."""
    excellent = _announced_projects(list(header.get("excellent_projects") or []))
    population = header.get("population")
    key = "unit" if population else "province"  # the provinces' rows keep the contract's field name
    top = [{"rank": r["rank"], key: r[key], "name": r["name"], "total": r["total"]} for r in ranking]
    title = f"{cycle_id} 年度{subject}评价结果公布"
    lines = [f"{cycle_id} 年度评价结果（评分方案第 {header['scheme_version']} 版，{header['run_id']}）。"]
    lines += [f"第 {r['rank']} 名 {r['name']}（{r['total']} 分）" for r in top]
    lines.append(f"优秀项目 {len(excellent)} 项，名单见通报。")
    overrides = [p for p in excellent if p["source"] == "override"]
    if overrides:
        lines.append(f"其中 {len(overrides)} 项未经专家评选，由国家知识产权局特别认定，理由见通报。")
    if supersedes:
        title = f"{cycle_id} 年度{subject}评价结果更正公布"
        lines.insert(
            0, f"本公布更正 {supersedes['run_id']}（{supersedes['published_at']} 公布），原因：{reason}"
        )
    return {
        "cycle": cycle_id,
        "population": population,
        "seq": seq,
        "run_id": header["run_id"],
        "scheme_version": header["scheme_version"],
        "published_at": iso(now),
        "published_by": caller.sub,
        "reason": reason,
        "supersedes": dict(supersedes) if supersedes else None,
        "notice": {"title": title, "text": "\n".join(lines)},
        "ranking": top,
        "excellent_projects": excellent,
    }


def _check_replaceable(
    cycle_id: str, header: Mapping[str, Any], before: Mapping[str, Any] | None, reason: str | None
) -> None:
    """409 unless the run is final and, with a run published already, later than it and given a reason."""
    run_id = header["run_id"]
    if header["provisional"]:
        raise Conflict(
            Message(
                "Run %(run_id)s is provisional (the cycle was still open); run the cycle again after it closes and publish that run",
                run_id=run_id,
            )
        )
    if before:
        if not reason:
            raise Conflict(
                Message(
                    "Cycle %(cycle_id)s already has a published run (%(run_id)s); to supersede it, publish a later run with a written reason",
                    cycle_id=cycle_id,
                    run_id=before["run_id"],
                ),
                errors=[{"field": "reason", "message": Message("required to supersede a published run")}],
            )
        if run_sequence(run_id) <= run_sequence(before["run_id"]):
            raise Conflict(
                Message(
                    "Run %(run_id)s is not later than the published run %(published_run_id)s; only a later run of the cycle can supersede it",
                    run_id=run_id,
                    published_run_id=before["run_id"],
                )
            )


def _write(
    caller: Caller,
    scope: str,
    pointer: Record,
    first: bool,
    notice: dict[str, Any],
    data: dict[str, Any],
    now: datetime,
) -> None:
    """The pointer, the announcement and their audit entries in one transaction (409 if the pointer moved)."""
    seq, run_id = data["seq"], data["run_id"]
    audited = {"run_id": run_id, "seq": seq, "reason": data["reason"], "supersedes": data["supersedes"]}
    try:
        with transaction() as tx:
            # A new pointer must not exist yet; an existing one must be the version read above.
            tx.save(pointer, condition=Record.pk.does_not_exist() if first else None)
            tx.save(
                Record(
                    announcements_pk(scope),
                    f"{seq:04d}",
                    kind="announcement",
                    data=notice,
                    created_at=now,
                    updated_at=now,
                ),
                condition=Record.pk.does_not_exist(),
            )
            tx.save(audit.entry(ENTITY, scope, "published" if first else "superseded", caller, now, audited))
            tx.save(audit.entry("scoring_run", run_id, "published", caller, now, data))
    except TransactWriteError as error:
        if not cancelled_by_condition(error):
            raise
        raise Conflict(
            Message("The publication of %(scope)s changed meanwhile; read it again and retry", scope=scope)
        ) from None


def publish(
    caller: Caller | None,
    cycle_id: str,
    header: Mapping[str, Any],
    ranking: list[Mapping[str, Any]],
    reason: str | None,
    now: datetime,
    subject: str = "专利导航工作",
) -> tuple[dict[str, Any], bool]:
    """Publish a stored, final run: (pointer data, newly published?).

    Publishing the run already published changes nothing. Replacing a published run needs a
    later run of the cycle and a reason (409 otherwise; nothing changes).
    """
    caller = require(caller)
    run_id = header["run_id"]
    scope = scope_key(cycle_id, header.get("population"))
    pointer = current(scope)
    before = pointer.data if pointer else None
    if before and before["run_id"] == run_id:
        return before, False
    _check_replaceable(cycle_id, header, before, reason)
    seq = before["seq"] + 1 if before and before.get("seq") else (2 if before else 1)
    supersedes = {"run_id": before["run_id"], "published_at": before["published_at"]} if before else None
    notice = announcement(cycle_id, header, ranking, seq, caller, now, reason, supersedes, subject)
    data = {
        "run_id": run_id,
        "cycle": cycle_id,
        "published_at": iso(now),
        "published_by": caller.sub,
        "seq": seq,
        "reason": reason,
        "supersedes": supersedes,
    }
    if pointer is None:
        pointer = Record(*published_key(scope), kind="published_run", created_at=now)
    pointer.data, pointer.updated_at = data, now
    _write(caller, scope, pointer, before is None, notice, data, now)
    return data, True


# ---- what the public reads ---------------------------------------------------------------


def _bad_cursor() -> BadRequest:
    return BadRequest(
        Message("The cursor is not valid"),
        errors=[{"field": "cursor", "message": Message("not a cursor this server issued")}],
    )


def _render(record: Record, newest_seq: int | None) -> dict[str, Any]:
    data = record.data
    base = (
        f"/populations/{data['population']}/cycles/{data['cycle']}"
        if data.get("population")
        else f"/cycles/{data['cycle']}"
    )
    return {
        **data,
        "current": data["seq"] == newest_seq,
        "links": {
            "scores": f"{base}/scores",
            "excellent_projects": f"{base}/announcement/excellent-projects",
        },
    }


def newest(scope: str) -> Record:
    found = next(iter(Record.query(announcements_pk(scope), scan_index_forward=False, limit=1)), None)
    if found is None:
        raise NotFound(Message("No results of %(scope)s have been published yet", scope=scope))
    return found


def latest(scope: str) -> dict[str, Any]:
    """The newest announcement of the cycle (public)."""
    found = newest(scope)
    return _render(found, found.data["seq"])


def history(scope: str, limit: int, cursor: str | None, secret: str) -> dict[str, Any]:
    """Every announcement of the scope, newest first, each with its reason (public)."""
    query = scope_of("ANNOUNCEMENTS", scope=scope)
    start = decode_cursor(cursor, query, secret)
    after = start.get("after") if start else None
    if start and not isinstance(after, str):
        raise _bad_cursor()
    newest_seq = next(
        (r.data["seq"] for r in Record.query(announcements_pk(scope), scan_index_forward=False, limit=1)),
        None,
    )
    rows = Record.query(
        announcements_pk(scope),
        Record.sk < after if after else None,
        scan_index_forward=False,
        limit=limit + 1,
    )
    items = list(rows)
    next_cursor = encode_cursor({"after": items[limit - 1].sk}, query, secret) if len(items) > limit else None
    return Page(items[:limit], next_cursor).to_dict(lambda r: _render(r, newest_seq))


def excellent_projects(
    cycle_id: str, industry: str | None, province: str | None, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """The 通报 of the newest publication, filtered by industry field and province (public)."""
    errors = []
    if industry is not None and industry not in INDUSTRIES:
        errors.append({"field": "industry", "message": Message("not an industry code from /industries")})
    if province is not None and province not in PROVINCES:
        errors.append({"field": "province", "message": Message("not a provincial unit code from /provinces")})
    if errors:
        raise Invalid(Message("Unknown filter value"), errors=errors)
    found = newest(cycle_id).data
    rows = [
        p
        for p in found["excellent_projects"]
        if (industry is None or p["industry"] == industry) and (province is None or p["province"] == province)
    ]
    scope = scope_of(
        "ANNOUNCED-EXCELLENT", cycle=cycle_id, seq=found["seq"], industry=industry, province=province
    )
    offset = (decode_cursor(cursor, scope, secret) or {"offset": 0}).get("offset")
    if not isinstance(offset, int) or offset < 0:
        raise _bad_cursor()
    more = offset + limit < len(rows)
    page = Page(
        rows[offset : offset + limit],
        encode_cursor({"offset": offset + limit}, scope, secret) if more else None,
    )
    return {
        "cycle": cycle_id,
        "seq": found["seq"],
        "run_id": found["run_id"],
        "published_at": found["published_at"],
        **page.to_dict(lambda p: p),
    }


def trail(caller: Caller | None, scope: str, limit: int, cursor: str | None, secret: str) -> dict[str, Any]:
    """One page of the audit trail of the scope's publications (national admins)."""
    require(caller)
    # Entries of one instant sort by a random suffix; the publication's seq orders them. So the
    # trail (a few entries per publication of one cycle) is read whole and paged in that order.
    entries = audit.trail(ENTITY, scope)
    page = computed_page(
        entries,
        limit,
        cursor,
        scope_of("PUBLICATION_TRAIL", scope=scope),
        secret,
        lambda e: (
            e["at"],
            (e["data"] or {}).get("seq", 0),
            e["action"],
            e["actor"],
            json.dumps(e["data"], sort_keys=True, default=str),
        ),
    )
    return page.to_dict(lambda e: e)
