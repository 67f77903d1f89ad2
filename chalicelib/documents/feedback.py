"""Feedback reaches the province: a filing's evaluations, and a province-wide feed of 意见建议.

The feed reads the facts index by_province: an evaluation with feedback, by someone other
than the evaluated unit's own staff, carries gsi1pk `FEEDBACK#<province>` and gsi1sk
`<updated at>#<filing>#<user>`, set when it is stored (`index`), so the newest comes first
and a replaced evaluation moves to the top. Who evaluated (their pseudonym in the filing's cycle)
is shown to national admins only.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import pseudonyms
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso, sortable
from chalicelib.core.errors import Forbidden, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Evaluation
from chalicelib.core.paging import Page, decode_cursor, scope_of, take_page
from chalicelib.core.reference import INDUSTRIES, PROVINCES
from chalicelib.core.vocabulary import SIDES
from chalicelib.documents import filings

PREFIX = "FEEDBACK"
EVALUATION = "EVAL#"  # sort-key prefix of the evaluations in a filing's partition


def evaluation_key(filing_id: str, user: str) -> tuple[str, str]:
    """One user's evaluation of one filing (a second evaluation replaces the first); `user` as stored:
    the pseudonym in the filing's cycle."""
    return filings.key(filing_id), f"{EVALUATION}{user}"


def evaluation_of(filing_id: str, filing_cycle: str, sub: str) -> tuple[str, str]:
    """The key of the evaluation user `sub` holds on a filing of `filing_cycle`."""
    return evaluation_key(filing_id, pseudonyms.of(sub, filing_cycle))


def index(evaluation: Evaluation) -> None:
    """Put an evaluation with feedback in its province's feed (own staff's notes are not users' needs)."""
    if evaluation.feedback and not evaluation.author:
        evaluation.gsi1pk = f"{PREFIX}#{evaluation.province}"
        evaluation.gsi1sk = f"{sortable(evaluation.updated_at)}#{evaluation.filing}#{evaluation.user}"
    else:
        evaluation.gsi1pk = evaluation.gsi1sk = None


def _reader(caller: Caller | None, province: str) -> Caller:
    caller = require(caller)
    if not caller.sees_all_of(province):
        raise Forbidden(Message("Only the province's own staff and national admins read its feedback"))
    return caller


def filing_evaluations(
    caller: Caller | None, filing_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """One page of a filing's evaluations, oldest first (its province's staff and national admins)."""
    filing = filings.get(caller, filing_id)
    caller = _reader(caller, filing.province)
    scope = scope_of("EVALUATIONS", filing=filing_id)
    results = Evaluation.query(
        filings.key(filing_id),
        Evaluation.sk.startswith(EVALUATION),
        last_evaluated_key=decode_cursor(cursor, scope, secret),
        page_size=min(limit + 1, 200),
    )
    page = take_page(results, limit, lambda e: {"pk": {"S": e.pk}, "sk": {"S": e.sk}}, scope, secret)
    return page.to_dict(lambda e: render(e, caller))


def province_feed(
    caller: Caller | None,
    province: str,
    params: dict[str, str | None],
    limit: int,
    cursor: str | None,
    secret: str,
) -> dict[str, Any]:
    """One page of the feedback users left on a province's results, newest first, by industry and side."""
    if province not in PROVINCES:
        raise NotFound(Message("No provincial unit %(province)s", province=province))
    caller = _reader(caller, province)
    industry, side = params.get("industry"), params.get("side")
    for field, value, allowed in (("industry", industry, INDUSTRIES), ("side", side, SIDES)):
        if value is not None and value not in allowed:
            raise Invalid(
                Message("Unknown %(field)s %(value)r", field=field, value=value),
                errors=[{"field": field, "message": Message("unknown value")}],
            )
    condition = None
    for term in (
        (Evaluation.industry == industry) if industry else None,
        (Evaluation.side == side) if side else None,
    ):
        if term is not None:
            condition = term if condition is None else condition & term
    scope = scope_of(PREFIX, province=province, industry=industry, side=side)
    results = Evaluation.by_province.query(
        f"{PREFIX}#{province}",
        filter_condition=condition,
        scan_index_forward=False,
        last_evaluated_key=decode_cursor(cursor, scope, secret),
        page_size=min(limit + 1, 200),
    )

    def key_of(e: Evaluation) -> dict:
        return {name: {"S": getattr(e, name)} for name in ("pk", "sk", "gsi1pk", "gsi1sk")}

    page: Page = take_page(results, limit, key_of, scope, secret)
    return page.to_dict(lambda e: render(e, caller))


def render(evaluation: Evaluation, reader: Caller) -> dict[str, Any]:
    out = {
        "filing": evaluation.filing,
        "industry": evaluation.industry,
        "side": evaluation.side,
        "score": int(evaluation.score),
        "feedback": evaluation.feedback,
        "own_staff": bool(evaluation.author),
        "updated_at": iso(evaluation.updated_at),
    }
    if reader.is_national_admin:
        out["user"] = evaluation.user
    return out
