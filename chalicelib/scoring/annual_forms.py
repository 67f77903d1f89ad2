"""Annual information forms (年度信息表): what a provincial office reports each year.

A form for `year` is accepted from 15 October 00:00:00 to 31 October 23:59:59 of that year,
China time; it describes the cycle closing on 30 September of `year` and feeds that cycle's
"basic support" indicators and the fiscal-filing completeness ratio.
Forms are internal administrative reports: the province's own staff and national admins
read them; the public sees only the points they earn in published scores.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require, require_province
from chalicelib.core.clock import CHINA, iso
from chalicelib.core.errors import Conflict, Forbidden, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Attachment, Record
from chalicelib.core.paging import computed_page, scope_of
from chalicelib.core.reference import PROVINCES
from chalicelib.core.schemas import Body, Text
from chalicelib.core.store import TransactWriteError, transaction
from chalicelib.documents import attachments

FIRST_YEAR = 2023  # the first cycle closed on 30 September 2023
# The form window: from this day of October to the month's end, China time.
WINDOW_MONTH, WINDOW_OPENS_ON = 10, 15

Count = Annotated[int, Field(ge=0, le=1_000_000)]
Money = Annotated[float, Field(ge=0, le=10_000_000, description="10k yuan (万元)")]


class Mechanisms(Body):
    leading_group: bool = Field(description="a leading group or joint meeting for patent navigation exists")
    work_plan: bool = Field(description="a provincial patent-navigation work plan is in force")
    coordination_meetings: Count = 0
    description: Text(0, 2000, multiline=True) | None = None


class Funding(Body):
    provincial_funds: Money = Field(description="provincial fiscal funds for navigation work, 10k yuan")
    other_funds: Money = 0.0
    description: Text(0, 2000, multiline=True) | None = None


class Carrier(Body):
    name: Text(1, 200)
    type: Literal[
        "navigation_service_base", "ip_service_center", "industry_alliance", "university_center", "other"
    ]
    city: Text(0, 50) | None = None


class Projects(Body):
    declared: Count = Field(description="patent-navigation projects under way in the year")
    fiscal_funded: Count = Field(description="of which funded by public money; each should be filed")
    completed: Count = 0

    @model_validator(mode="after")
    def _parts(self) -> Projects:
        if self.fiscal_funded > self.declared or self.completed > self.declared:
            raise ValueError(Message("fiscal_funded and completed cannot exceed declared"))
        return self


class Policy(Body):
    model_config = ConfigDict(extra="forbid", strict=False)  # issued_on arrives as an ISO date string

    title: Text(1, 200)
    issued_on: date
    document_number: Text(0, 100) | None = None


class Training(Body):
    sessions: Count = 0
    participants: Count = 0


class AnnualFormIn(Body):
    """The whole form; a PUT replaces the previous one of the same year."""

    mechanisms: Mechanisms
    funding: Funding
    carriers: list[Carrier] = Field(default_factory=list, max_length=500)
    projects: Projects
    policies: list[Policy] = Field(default_factory=list, max_length=500)
    training: Training = Training()
    summary: Text(0, 5000, multiline=True) | None = None


def window(year: int) -> tuple[datetime, datetime]:
    """[opens, closes) of the form window of `year` in China time: 15 Oct 00:00 to 1 Nov 00:00."""
    closes = (year + 1, 1) if WINDOW_MONTH == 12 else (year, WINDOW_MONTH + 1)
    return datetime(year, WINDOW_MONTH, WINDOW_OPENS_ON, tzinfo=CHINA), datetime(*closes, 1, tzinfo=CHINA)


def window_text() -> str:
    """The window's days as prose, "15–31 October" (the same every year)."""
    opens, closes = window(FIRST_YEAR)
    last_day = closes - timedelta(days=1)
    return f"{opens.day}–{last_day.day} {opens:%B}"


def parse_year(raw: str) -> int:
    if not (raw.isdigit() and len(raw) == 4 and FIRST_YEAR <= int(raw) <= 9999):
        raise Invalid(
            Message("year must be a four-digit year from %(first_year)s", first_year=FIRST_YEAR),
            errors=[
                {
                    "field": "year",
                    "message": Message("must be a year from %(first_year)s", first_year=FIRST_YEAR),
                }
            ],
        )
    return int(raw)


def _province(code: str) -> str:
    if code not in PROVINCES:
        raise NotFound(Message("No provincial unit %(code)s", code=code))
    return code


def check_window(year: int, now: datetime, province: str | None = None) -> None:
    """409 outside the window of `year` (window_text), saying when it opens or that it closed, unless a
    national admin reopened it for `province` until later than `now`."""
    opens, closes = window(year)
    if province is not None and not opens <= now < closes:
        reopening = reopened(province, year)
        if reopening is not None and now < datetime.fromisoformat(reopening["until"]):
            return
    if now < opens:
        raise Conflict(
            Message(
                "The %(year)s annual form window opens at %(opens)s (%(window_text)s %(year)s, China time)",
                year=year,
                opens=iso(opens),
                window_text=window_text(),
            ),
            opens_at=iso(opens),
            closes_at=iso(closes),
        )
    if now >= closes:
        raise Conflict(
            Message(
                "The %(year)s annual form window closed at %(closes)s (it was open %(window_text)s %(year)s, China time)",
                year=year,
                closes=iso(closes),
                window_text=window_text(),
            ),
            opens_at=iso(opens),
            closes_at=iso(closes),
        )


def key(province: str) -> str:
    return f"FORM#{province}"


def put(
    caller: Caller | None, province: str, year: int, body: AnnualFormIn, now: datetime
) -> tuple[dict, bool]:
    """Store the province's form for `year`; (rendered form, created?). Every PUT is audited."""
    caller = require(caller)
    require_province(caller, _province(province))
    check_window(year, now, province)
    data = body.model_dump(mode="json")
    try:
        record = Record.get(key(province), str(year))
        created = False
        record.data, record.updated_at = data, now
    except Record.DoesNotExist:
        record = Record(
            key(province), str(year), kind="annual_form", data=data, created_at=now, updated_at=now
        )
        created = True
    try:
        with transaction() as tx:
            tx.save(record)  # the version attribute makes this conditional on what we read
            tx.save(
                audit.entry(
                    "annual_form",
                    f"{province}/{year}",
                    "created" if created else "replaced",
                    caller,
                    now,
                    data,
                )
            )
    except TransactWriteError:
        raise Conflict(
            Message("The form changed while it was being saved; read it again and retry")
        ) from None
    return render(province, year, record), created


def get(caller: Caller | None, province: str, year: int) -> dict:
    """The province's form for `year`: its own staff and national admins only."""
    caller = require(caller)
    if not caller.sees_all_of(_province(province)):
        raise Forbidden(Message("Annual forms are read by the province's own staff and national admins"))
    try:
        return render(province, year, Record.get(key(province), str(year)))
    except Record.DoesNotExist:
        raise NotFound(
            Message("No %(year)s annual form from %(province)s", year=year, province=province)
        ) from None


def render(province: str, year: int, record: Record) -> dict[str, Any]:
    opens, closes = window(year)
    return {
        "province": province,
        "year": year,
        "form": record.data,
        "revision": record.version,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "late": record.updated_at >= closes,
        "window": {"opens_at": iso(opens), "closes_at": iso(closes)},
    }


# ---- oversight: reopening one province's window, the national overview -----------------------

MAX_REOPEN = timedelta(days=60)  # a reopened window closes within this; a later one needs a new reason


class ReopenIn(Body):
    model_config = ConfigDict(extra="forbid", strict=False)  # until arrives as an ISO instant string

    reason: Text(1, 2000, multiline=True) = Field(description="why this province may still submit (audited)")
    until: datetime = Field(description="the new deadline, an ISO 8601 instant with offset")


def reopen_key(province: str, year: int) -> tuple[str, str]:
    return key(province), f"{year}#REOPENED"


def reopened(province: str, year: int) -> dict[str, Any] | None:
    """The reopening of `province`'s window of `year`: {reason, until, by, at}, or None."""
    try:
        return Record.get(*reopen_key(province, year)).data
    except Record.DoesNotExist:
        return None


def reopen(caller: Caller | None, province: str, year: int, body: ReopenIn, now: datetime) -> dict[str, Any]:
    """Reopen the window for one province until a deadline, with a reason (national admins; audited). A
    later reopening replaces the earlier one."""
    caller = require(caller)
    _province(province)
    until = body.until
    if until.tzinfo is None:
        raise Invalid(
            Message("until needs an offset"),
            errors=[{"field": "until", "message": Message("give an offset, e.g. +08:00")}],
        )
    if not now < until <= now + MAX_REOPEN:
        raise Invalid(
            Message("until must lie in the future, within 60 days"),
            errors=[
                {
                    "field": "until",
                    "message": Message("between now and %(latest)s", latest=iso(now + MAX_REOPEN)),
                }
            ],
        )
    data = {"reason": body.reason, "until": iso(until), "by": caller.sub, "at": iso(now)}
    try:
        record = Record.get(*reopen_key(province, year))
        record.data, record.updated_at = data, now
    except Record.DoesNotExist:
        record = Record(
            *reopen_key(province, year),
            kind="annual_form_reopening",
            data=data,
            created_at=now,
            updated_at=now,
        )
    audit.replace(
        record,
        audit.entry("annual_form", f"{province}/{year}", "reopened", caller, now, data),
        Message("The window was reopened meanwhile; read the overview and retry"),
    )
    return {"province": province, "year": year, "reopened": data}


def submitted(year: int) -> set[str]:
    """The provinces whose form for `year` is in (one BatchGet of 32 keys)."""
    return set(forms_of(year))


def overview(caller: Caller | None, year: int) -> dict[str, Any]:
    """All 32 units' forms of `year` at a glance (national admins): status, submitted at, completeness,
    late, reopened; one BatchGet of the forms and the reopenings."""
    require(caller)
    opens, closes = window(year)
    keys = [(key(code), str(year)) for code in PROVINCES] + [reopen_key(code, year) for code in PROVINCES]
    found = {(r.pk, r.sk): r for r in Record.batch_get(keys)}
    items = []
    for code, name in PROVINCES.items():
        form, reopening = found.get((key(code), str(year))), found.get(reopen_key(code, year))
        items.append(
            {
                "province": code,
                "name": name,
                "status": "submitted" if form else "missing",
                "submitted_at": iso(form.created_at) if form else None,
                "updated_at": iso(form.updated_at) if form else None,
                "late": bool(form and form.updated_at >= closes),
                "completeness": round(completeness(form.data if form else None), 4),
                "reopened": reopening.data if reopening else None,
            }
        )
    return {
        "year": year,
        "window": {"opens_at": iso(opens), "closes_at": iso(closes)},
        "submitted": sum(i["status"] == "submitted" for i in items),
        "items": items,
    }


def overview_page(
    caller: Caller | None, year: int, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """One page of the overview (its totals cover all 32 units), in the order of the provinces."""
    whole = overview(caller, year)
    order = {code: n for n, code in enumerate(PROVINCES)}
    page = computed_page(
        whole["items"],
        limit,
        cursor,
        scope_of("ANNUAL_OVERVIEW", year=year),
        secret,
        order=lambda item: (order[item["province"]],),
    )
    return {**whole, **page.to_dict(lambda item: item)}


def forms_of(year: int) -> dict[str, dict]:
    """Every province's form for `year` (one BatchGet of 32 keys): code → form data."""
    return {
        r.pk.split("#", 1)[1]: r.data
        for r in Record.batch_get([(key(code), str(year)) for code in PROVINCES])
    }


def proofs_of(province: str, year: int) -> frozenset[str]:
    """The purposes of the stored proof files of `province`'s form of `year` (one Query)."""
    owner = attachments.files_pk(attachments.FORM_OWNER, attachments.form_owner_id(province, year))
    return frozenset(a.purpose for a in Attachment.query(owner) if a.state == "stored")


SECTIONS = ("mechanisms", "funding", "carriers", "projects", "policies", "training", "summary")


def completeness(form: dict | None) -> float:
    """Share of the form's sections that carry substance (0 without a form)."""
    if not form:
        return 0.0
    m, f, p, t = form["mechanisms"], form["funding"], form["projects"], form["training"]
    filled = [
        m["leading_group"] or m["work_plan"] or m["coordination_meetings"] > 0,
        f["provincial_funds"] + f["other_funds"] > 0,
        len(form["carriers"]) > 0,
        p["declared"] > 0,
        len(form["policies"]) > 0,
        t["sessions"] > 0,
        bool((form.get("summary") or "").strip()),
    ]
    return sum(filled) / len(filled)
