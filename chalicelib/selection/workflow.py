"""Selection as a workflow in the notice's order: 参与意愿 (provinces declare results) → 初筛
(only declared results are screened) → 推送 to the field's users and invited organisations →
组织线上评价 by invited evaluators assigned by field with a due date → 备选案例库 (cut once
every assignment is done or due) → 专家评选. Candidates, the cut's rules, expert scores and the
panel's decision stay in excellence.py.

Storage (records table):
- `DECLARED#{cycle}` / `{filing id}`: a province's declaration that a result enters selection.
- `ASSIGN#{cycle}` / `{filing id}#{evaluator}`: an evaluator asked to evaluate a candidate;
  gsi1pk `ASSIGNED#{evaluator}` lists an evaluator's assignments.
Completion is read from the evaluations themselves (one BatchGet by exact key), so it can
never disagree with what the evaluator did.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from chalicelib.core import audit, keys
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import china, iso, sortable
from chalicelib.core.cycles import cycle_or_404, cycles_until
from chalicelib.core.errors import Conflict, Forbidden, Invalid, NotFound
from chalicelib.core.messages import Message, text
from chalicelib.core.models import Evaluation, Filing, Record
from chalicelib.core.paging import MAX_LIMIT, computed_page, query_page, scope_of
from chalicelib.core.schemas import Body
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.documents import feedback, filings
from chalicelib.selection import excellence, organisations, subscriptions
from chalicelib.usage import running_counters
from chalicelib.usage.counting_rules import filing_key

MAX_EVALUATORS = 50
Sub = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=excellence.MAX_SUB)]


class AssignmentIn(Body):
    evaluators: list[Sub] = Field(
        min_length=1,
        max_length=MAX_EVALUATORS,
        description="user ids (sub) of members of invited organisations covering the "
        "candidate's industry field",
    )
    due: date | None = Field(
        None,
        strict=False,
        description="the last China day to evaluate (YYYY-MM-DD); default: "
        "evaluation_days from the excellence rules",
    )

    @field_validator("evaluators")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))


def declared_pk(cycle_id: str) -> str:
    return f"DECLARED#{cycle_id}"


def assignment_key(cycle_id: str, filing_id: str, evaluator: str) -> tuple[str, str]:
    return f"ASSIGN#{cycle_id}", f"{filing_id}#{keys.part(evaluator)}"


def _filing(filing_id: str) -> Filing:
    try:
        if len(filing_id) > excellence.MAX_ID:
            raise Filing.DoesNotExist()
        return Filing.get(*filings.doc_key(filing_id))
    except Filing.DoesNotExist:
        raise NotFound(Message("No filing %(filing_id)s", filing_id=filing_id)) from None


# ---- 参与意愿: declarations ----------------------------------------------------------------


def declare(
    caller: Caller | None, cycle_id: str, filing_id: str, now: datetime
) -> tuple[dict[str, Any], bool]:
    """The filing's province admin enters it into the cycle's selection; (declaration, new?).

    Only an approved result of the cycle, and only during the cycle's declaration period.
    """
    caller = require(caller)
    cycle = cycle_or_404(cycle_id)
    filing = _filing(filing_id)
    if not caller.acts_for(filing.province):
        raise Forbidden(
            Message(
                "Filing %(filing_id)s belongs to %(province)s; only its province declares it",
                filing_id=filing_id,
                province=filing.province,
            )
        )
    opens, closes = excellence.declaration_period(cycle, excellence.rules())
    if not opens <= now < closes:
        raise Conflict(
            Message(
                "Declarations for cycle %(cycle_id)s are accepted from %(opens)s until before %(closes)s",
                cycle_id=cycle_id,
                opens=iso(opens),
                closes=iso(closes),
            )
        )
    _check_declarable(filing, filing_id, cycle_id)
    data = {
        "filing": filing.id,
        "cycle": cycle_id,
        "province": filing.province,
        "declared_by": caller.sub,
        "declared_at": iso(now),
    }
    try:
        with transaction() as tx:
            tx.save(
                Record(
                    declared_pk(cycle_id),
                    filing.id,
                    kind="declaration",
                    data=data,
                    created_at=now,
                    updated_at=now,
                ),
                condition=Record.pk.does_not_exist(),
            )
            tx.save(audit.entry(excellence.ENTITY, f"{cycle_id}/{filing.id}", "declared", caller, now, data))
    except TransactWriteError as error:
        if not cancelled_by_condition(error):
            raise
        return Record.get(declared_pk(cycle_id), filing.id, consistent_read=True).data, False
    return data, True


def _check_declarable(filing: Filing, filing_id: str, cycle_id: str) -> None:
    """Only an approved result of the cycle itself is declared (422 naming every rule it breaks)."""
    failures = []
    if filing.status != "approved":
        failures.append(
            Message("the filing is %(status)s; only approved results are declared", status=filing.status)
        )
    if filing.cycle != cycle_id:
        failures.append(
            Message(
                "the filing belongs to cycle %(cycle)s, not %(cycle_id)s",
                cycle=filing.cycle,
                cycle_id=cycle_id,
            )
        )
    if failures:
        raise Invalid(
            Message(
                "Filing %(filing_id)s cannot be declared for cycle %(cycle_id)s",
                filing_id=filing_id,
                cycle_id=cycle_id,
            ),
            errors=[{"field": "filing_id", "message": f} for f in failures],
        )


def is_declared(cycle_id: str, filing_id: str) -> bool:
    try:
        Record.get(declared_pk(cycle_id), filing_id, consistent_read=True)
    except Record.DoesNotExist:
        return False
    return True


def nominate(
    caller: Caller | None, cycle_id: str, body: excellence.NominationIn, now: datetime
) -> tuple[dict[str, Any], bool]:
    """初筛: screen a result its province declared for the cycle into the candidates (see excellence.nominate)."""
    return excellence.nominate(
        caller, cycle_id, body, now, lambda filing_id: is_declared(cycle_id, filing_id)
    )


def withdraw(caller: Caller | None, cycle_id: str, filing_id: str, now: datetime) -> None:
    """The province takes a declaration back, until the result has become a candidate."""
    caller = require(caller)
    cycle_or_404(cycle_id)
    filing = _filing(filing_id)
    if not caller.acts_for(filing.province):
        raise Forbidden(
            Message(
                "Filing %(filing_id)s belongs to %(province)s; only its province withdraws it",
                filing_id=filing_id,
                province=filing.province,
            )
        )
    if excellence.find_candidate(cycle_id, filing.id) is not None:
        raise Conflict(
            Message(
                "Filing %(filing_id)s is already a candidate; its declaration stands", filing_id=filing_id
            )
        )
    try:
        declared = Record.get(declared_pk(cycle_id), filing.id, consistent_read=True)
    except Record.DoesNotExist:
        raise NotFound(
            Message(
                "Filing %(filing_id)s is not declared for cycle %(cycle_id)s",
                filing_id=filing_id,
                cycle_id=cycle_id,
            )
        ) from None
    with transaction() as tx:
        tx.delete(declared)
        tx.save(audit.entry(excellence.ENTITY, f"{cycle_id}/{filing.id}", "withdrawn", caller, now))


def declarations(caller: Caller | None, cycle_id: str, limit: int, cursor: str | None, secret: str) -> dict:
    """One page of the cycle's declarations by filing: national admins all, a province admin its own."""
    caller = require(caller)
    cycle_or_404(cycle_id)
    province = None if caller.is_national_admin else caller.province

    def query(**kw: Any) -> Iterator[Record]:
        return (
            r
            for r in Record.query(declared_pk(cycle_id), **kw)
            if province is None or r.data["province"] == province
        )

    page = query_page(query, limit, cursor, scope_of("DECLARED", cycle=cycle_id, province=province), secret)
    return page.to_dict(lambda r: r.data)


# ---- 初筛: screening -----------------------------------------------------------------------


def screening(
    caller: Caller | None, cycle_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """The declared results of the cycle, eligible first, each ineligible one with the rules it broke:
    the counts cover them all, `items` is one page."""
    require(caller)
    cycle_or_404(cycle_id)
    declared = [r.data for r in Record.query(declared_pk(cycle_id))]
    ids = [d["filing"] for d in declared]
    found = {f.id: f for f in Filing.batch_get([filings.doc_key(i) for i in ids])} if ids else {}
    numbers = running_counters.read_many({i: filing_key(i) for i in ids})
    candidates = {c.sk for c in Record.query(excellence.candidates_pk(cycle_id))}
    current = excellence.rules()
    items = []
    for d in declared:
        filing = found[d["filing"]]
        evaluations = numbers.get(filing.id, {}).get("evaluations", 0)
        failures = excellence.screening_failures(filing, cycle_id, current)
        items.append(
            {
                "filing": filing.id,
                "title": filing.title,
                "kind": filing.kind,
                "industry": filing.industry,
                "province": filing.province,
                "unit": filing.unit,
                "status": filing.status,
                "evaluations": evaluations,
                "declared_at": d["declared_at"],
                "eligible": not failures,
                "failures": [text(f) for f in failures],  # in the reader's language
                "candidate": filing.id in candidates,
                "links": {"nominate": f"/cycles/{cycle_id}/candidates"},
            }
        )
    # Eligibility is judged now, over the cycle's declarations (at most the provinces' results
    # declared for one cycle), so the list is computed whole and paged in its own order.
    page = computed_page(
        items,
        limit,
        cursor,
        scope_of("SCREENING", cycle=cycle_id),
        secret,
        lambda i: (not i["eligible"], i["province"], i["filing"]),
    )
    return {
        "cycle": cycle_id,
        "rules": current,
        "declared": len(items),
        "eligible": sum(1 for i in items if i["eligible"]),
        **page.to_dict(lambda i: i),
    }


# ---- assignments to invited evaluators ----------------------------------------------------


def _unfit(evaluator: str, member: dict[str, Any] | None, candidate: dict[str, Any]) -> Message | None:
    """Why an invited evaluator cannot evaluate the candidate (None: they can)."""
    if member is None:
        return Message("%(evaluator)s has not accepted an invitation", evaluator=evaluator)
    if candidate["industry"] not in member["industries"]:
        return Message(
            "%(evaluator)s's organisation %(organisation)s does not cover industry field %(industry)s",
            evaluator=evaluator,
            organisation=member["organisation_name"],
            industry=candidate["industry"],
        )
    if organisations.own_side_of(member) == candidate["province"]:
        return Message(
            "conflict of interest: %(evaluator)s belongs to %(organisation)s, a department of "
            "the candidate's own province %(province)s",
            evaluator=evaluator,
            organisation=member["organisation_name"],
            province=candidate["province"],
        )
    return None


def assign(
    caller: Caller | None, cycle_id: str, filing_id: str, body: AssignmentIn, now: datetime, secret: str
) -> dict[str, Any]:
    """Ask invited evaluators to evaluate a candidate; each must belong to an organisation covering
    the candidate's field (422 naming each one that does not; nothing is stored then)."""
    caller = require(caller)
    candidate = excellence.candidate_or_404(cycle_id, filing_id).data
    members = _eligible_members(body.evaluators, candidate, filing_id)
    due = _due_date(body.due, now)
    existing = {
        r.data["evaluator"] for r in Record.query(f"ASSIGN#{cycle_id}", Record.sk.startswith(f"{filing_id}#"))
    }
    new = [e for e in body.evaluators if e not in existing]
    if new:
        with transaction() as tx:
            for item in _assignment_items(caller, cycle_id, filing_id, candidate, members, new, due, now):
                tx.save(item, condition=Record.pk.does_not_exist())
            tx.save(
                audit.entry(
                    excellence.ENTITY,
                    f"{cycle_id}/{filing_id}",
                    "assigned",
                    caller,
                    now,
                    {"evaluators": new, "due": due.isoformat()},
                )
            )
    _push_assigned(cycle_id, filing_id, candidate, body.evaluators, now)
    return completion(caller, cycle_id, filing_id, None, MAX_LIMIT, None, secret)


def _eligible_members(
    evaluators: list[str], candidate: dict[str, Any], filing_id: str
) -> dict[str, dict[str, Any]]:
    """Each evaluator's membership: accepted, covering the candidate's field and not of the candidate's
    own province (422 naming every evaluator that is not)."""
    industry = candidate["industry"]
    members, errors = {}, []
    for i, evaluator in enumerate(evaluators):
        member = organisations.membership(evaluator)
        unfit = _unfit(evaluator, member, candidate)
        if unfit is None:
            members[evaluator] = member
        else:
            errors.append({"field": f"evaluators.{i}", "message": unfit})
    if errors:
        raise Invalid(
            Message(
                "Some evaluators cannot evaluate candidate %(filing_id)s (field %(industry)s)",
                filing_id=filing_id,
                industry=industry,
            ),
            errors=errors,
        )
    return members


def _due_date(asked: date | None, now: datetime) -> date:
    """The last China day to evaluate: the one asked, or evaluation_days from today (422 when past)."""
    due = asked or (china(now) + timedelta(days=excellence.rules()["evaluation_days"])).date()
    if due < china(now).date():
        raise Invalid(
            Message("The due date has passed"),
            errors=[{"field": "due", "message": Message("a China day from today on")}],
        )
    return due


def _assignment_items(
    caller: Caller,
    cycle_id: str,
    filing_id: str,
    candidate: dict[str, Any],
    members: dict[str, dict[str, Any]],
    evaluators: list[str],
    due: date,
    now: datetime,
) -> Iterator[Record]:
    """One assignment of the candidate per evaluator, listed under the evaluator (gsi1)."""
    for evaluator in evaluators:
        m = members[evaluator]
        data = {
            "cycle": cycle_id,
            "filing": filing_id,
            "title": candidate["title"],
            "industry": candidate["industry"],
            "province": candidate["province"],
            "evaluator": evaluator,
            "organisation": m["organisation"],
            "organisation_name": m["organisation_name"],
            "side": m["side"],
            "assigned_by": caller.sub,
            "assigned_at": iso(now),
            "due": due.isoformat(),
            "reminders": 0,
            "last_reminded_on": None,
        }
        yield Record(
            *assignment_key(cycle_id, filing_id, evaluator),
            kind="assignment",
            data=data,
            created_at=now,
            updated_at=now,
            gsi1pk=f"ASSIGNED#{evaluator}",
            gsi1sk=f"{sortable(now)}#{cycle_id}#{filing_id}",
        )


def _push_assigned(
    cycle_id: str, filing_id: str, candidate: dict[str, Any], evaluators: list[str], now: datetime
) -> None:
    """Push the candidate to every evaluator asked, also finishing the pushes of an interrupted earlier call."""
    filing = {k: candidate[k] for k in ("title", "kind", "industry", "province", "unit", "cycle")}
    filing["id"] = filing_id
    item = subscriptions.item_data(
        filing, excellence.approved_at(filing_id, now), "assigned", now, cycle=cycle_id
    )
    for evaluator in evaluators:
        subscriptions.deliver(evaluator, item, now)


def _with_completion(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A candidate's filing belongs to the candidate's cycle, whose pseudonym its evaluations carry.
    keys = [feedback.evaluation_of(r["filing"], r["cycle"], r["evaluator"]) for r in rows]
    done = {(e.pk, e.sk): e for e in Evaluation.batch_get(set(keys))} if keys else {}
    out = []
    for r, key in zip(rows, keys):
        evaluation = done.get(key)
        out.append(
            {
                **r,
                "completed": evaluation is not None,
                "score": int(evaluation.score) if evaluation else None,
                "evaluated_at": iso(evaluation.updated_at) if evaluation else None,
            }
        )
    return out


def _tally(rows: list[dict[str, Any]], by: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        t = out.setdefault(r[by], {"assigned": 0, "completed": 0})
        t["assigned"] += 1
        t["completed"] += r["completed"]
    return out


def completion(
    caller: Caller | None,
    cycle_id: str,
    filing_id: str | None,
    evaluator: str | None,
    limit: int,
    cursor: str | None,
    secret: str,
) -> dict[str, Any]:
    """Assignments of the cycle with completion, per candidate and per evaluator (national admins):
    the tallies cover them all, `items` is one page by candidate and evaluator."""
    require(caller)
    cycle_or_404(cycle_id)
    condition = Record.sk.startswith(f"{filing_id}#") if filing_id else None
    rows = [
        r.data
        for r in Record.query(f"ASSIGN#{cycle_id}", condition)
        if evaluator is None or r.data["evaluator"] == evaluator
    ]
    rows = _with_completion(rows)
    # The tallies are what this read is for and need every assignment of the query (a cycle's
    # candidates times their evaluators), so the items are paged over that computed set.
    page = computed_page(
        rows,
        limit,
        cursor,
        scope_of("ASSIGN", cycle=cycle_id, filing=filing_id, evaluator=evaluator),
        secret,
        lambda r: (r["filing"], r["evaluator"]),
    )
    return {
        "cycle": cycle_id,
        "assigned": len(rows),
        "completed": sum(r["completed"] for r in rows),
        "by_candidate": _tally(rows, "filing"),
        "by_evaluator": _tally(rows, "evaluator"),
        **page.to_dict(lambda r: r),
    }


def mine(caller: Caller | None, limit: int, cursor: str | None, secret: str) -> dict[str, Any]:
    """The caller's assignments, newest first, with whether each is done: the counts cover them all,
    `items` is one page (one evaluator's assignments: computed whole for the counts, like completion)."""
    caller = require(caller)
    rows = _with_completion(
        [r.data for r in Record.by_group.query(f"ASSIGNED#{caller.sub}", scan_index_forward=False)]
    )
    page = computed_page(
        rows,
        limit,
        cursor,
        scope_of("ASSIGNED", evaluator=caller.sub),
        secret,
        lambda r: (r["assigned_at"], r["cycle"], r["filing"]),
        newest_first=True,
    )
    return {
        "assigned": len(rows),
        "completed": sum(r["completed"] for r in rows),
        **page.to_dict(lambda r: {**r, "links": {"evaluation": f"/filings/{r['filing']}/evaluation"}}),
    }


# ---- 备选案例库: the library cut ----------------------------------------------------------


def cut_library(caller: Caller | None, cycle_id: str, now: datetime) -> dict[str, Any]:
    """Cut the candidate library once the organised evaluation is over: every assignment of the
    cycle done or past its due date (409 naming how many are still open)."""
    caller = require(caller)
    cycle_or_404(cycle_id)
    today = china(now).date().isoformat()
    rows = _with_completion([r.data for r in Record.query(f"ASSIGN#{cycle_id}")])
    open_rows = [r for r in rows if not r["completed"] and r.get("due", "") >= today]
    if open_rows:
        last = max(r["due"] for r in open_rows)
        raise Conflict(
            Message(
                "%(open_rows_count)s assignments of cycle %(cycle_id)s are still open (the last due %(last)s); the library is cut once each is done or due",
                open_rows_count=len(open_rows),
                cycle_id=cycle_id,
                last=last,
            )
        )
    return excellence.cut(caller, cycle_id, now)


# ---- reminders (the app's daily schedule) ------------------------------------------------


def remind(now: datetime) -> dict[str, Any]:
    """Remind every evaluator with an unfinished assignment of the current or previous cycle: the
    feed item comes back to the top, unread. At most once per assignment and China day."""
    today = china(now).date().isoformat()
    sent: dict[str, int] = {}
    for cycle in cycles_until(now)[-2:]:
        pending = [
            r
            for r in Record.query(f"ASSIGN#{cycle.id}")
            if r.data.get("last_reminded_on") != today and r.data.get("due", today) >= today
        ]
        done = {
            (row["filing"], row["evaluator"])
            for row in _with_completion([r.data for r in pending])
            if row["completed"]
        }
        for record in pending:
            data = record.data
            if (data["filing"], data["evaluator"]) in done:
                continue
            record.data = {**data, "reminders": data["reminders"] + 1, "last_reminded_on": today}
            record.updated_at = now
            try:
                with transaction() as tx:
                    tx.save(record)  # versioned: a second firing the same day finds it changed
                    tx.save(
                        audit.entry(
                            excellence.ENTITY,
                            f"{cycle.id}/{data['filing']}",
                            "reminded",
                            None,
                            now,
                            {"evaluator": data["evaluator"], "reminders": data["reminders"] + 1},
                        )
                    )
            except TransactWriteError:
                continue
            subscriptions.remind(data["evaluator"], data["filing"], now)
            sent[cycle.id] = sent.get(cycle.id, 0) + 1
    return {"day": today, "reminders": sent}
