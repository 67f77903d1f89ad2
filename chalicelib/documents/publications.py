"""Publications: news, notices, policy documents and navigation info, reviewed like filings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso
from chalicelib.core.cycles import cycle_for
from chalicelib.core.errors import Conflict, Invalid
from chalicelib.core.messages import Message
from chalicelib.core.models import Publication
from chalicelib.core.paging import Page
from chalicelib.core.reference import PROVINCES
from chalicelib.core.schemas import Body, Text
from chalicelib.core.vocabulary import NATIONAL_OFFICE, PUBLICATION_KINDS, REVIEW_STATUSES, PublicationKind
from chalicelib.documents import lifecycle
from chalicelib.documents.lifecycle import ReviewIn

PREFIX = "PUBS"
PUBLISHERS = (*lifecycle.FILERS, "national_admin")  # a province's staff, and the national office


def _publisher(code: str) -> str:
    if code != NATIONAL_OFFICE and code not in PROVINCES:
        raise ValueError(
            Message(
                "not a provincial unit code from /provinces, nor '%(national_office)s'",
                national_office=NATIONAL_OFFICE,
            )
        )
    return code


class PublicationIn(Body):
    kind: PublicationKind
    title: Text(1, 200)
    province: Annotated[str, AfterValidator(_publisher)] | None = Field(
        default=None,
        description="the publishing province (its staff); absent or 'national' for the national "
        "office (national admins, published at once)",
    )
    body: Text(1, 20000, multiline=True)


def key(publication_id: str) -> str:
    """The partition of a publication: its own item and its counters."""
    return f"PUB#{publication_id}"


def doc_key(publication_id: str) -> tuple[str, str]:
    """The publication's own item."""
    return key(publication_id), lifecycle.DOC_SK


def create(caller: Caller | None, body: PublicationIn, now: datetime) -> Publication:
    """Publish for the caller's own province (it waits for review as `pending`), or for the national office."""
    if caller is not None and caller.is_national_admin:
        return _publish_national(caller, body, now)
    if body.province in (None, NATIONAL_OFFICE):
        raise Invalid(
            Message("A province publishes under its own code"),
            errors=[{"field": "province", "message": Message("required: your 6-digit province code")}],
        )
    caller, cycle = lifecycle.filing_cycle(caller, body.province, now)
    publication_id = str(uuid.uuid4())
    publication = Publication(
        key(publication_id),
        "A",
        entity="publication",
        id=publication_id,
        kind=body.kind,
        title=body.title,
        province=body.province,
        body=body.body,
        status="pending",
        filed_at=now,
        cycle=cycle.id,
        author=caller.sub,
    )
    lifecycle.index_keys(PREFIX, publication)
    lifecycle.save_new(publication, "publication", caller, now, body.model_dump())
    return publication


def _publish_national(caller: Caller, body: PublicationIn, now: datetime) -> Publication:
    """The national office's own notice: national admins review publications, so theirs is approved as it
    is published (audited as published); it counts for no province."""
    if body.province not in (None, NATIONAL_OFFICE):
        raise Invalid(
            Message("The national office publishes as 'national'"),
            errors=[
                {
                    "field": "province",
                    "message": Message(
                        "absent or '%(national_office)s' for a national admin",
                        national_office=NATIONAL_OFFICE,
                    ),
                }
            ],
        )
    cycle = cycle_for(now)
    if cycle is None:
        raise Conflict(Message("No evaluation cycle holds the current time"))
    publication_id = str(uuid.uuid4())
    publication = Publication(
        key(publication_id),
        "A",
        entity="publication",
        id=publication_id,
        kind=body.kind,
        title=body.title,
        province=NATIONAL_OFFICE,
        body=body.body,
        status="approved",
        filed_at=now,
        cycle=cycle.id,
        author=caller.sub,
        reviewed_at=now,
        reviewed_by=caller.sub,
        versions=[{"revision": 1, "proposal": None, "approved_at": iso(now), "by": caller.sub}],
    )
    lifecycle.index_keys(PREFIX, publication)
    lifecycle.save_new(
        publication,
        "publication",
        caller,
        now,
        {**body.model_dump(), "province": NATIONAL_OFFICE, "published": True},
    )
    return publication


def writable(caller: Caller | None, publication_id: str) -> Publication:
    """A publication the caller's province may change (404 missing, 403 another province's)."""
    return lifecycle.get_writable(Publication, key(publication_id), caller, "publication")


def revise(caller: Caller | None, publication_id: str, body: PublicationIn, now: datetime) -> Publication:
    """Correct and resubmit a publication of the caller's province (lifecycle.revise)."""
    publication = writable(caller, publication_id)
    lifecycle.same_province(body.province or "", publication.province)
    return lifecycle.revise(
        publication, PREFIX, "publication", caller, body.model_dump(exclude={"province"}), now
    )


def withdraw(caller: Caller | None, publication_id: str, now: datetime) -> Publication:
    """Withdraw a publication of the caller's province before approval."""
    publication = writable(caller, publication_id)
    return lifecycle.withdraw(publication, PREFIX, "publication", caller, now)


def get(caller: Caller | None, publication_id: str) -> Publication:
    return lifecycle.get_visible(Publication, key(publication_id), caller, "publication")


def get_approved(caller: Caller | None, publication_id: str) -> Publication:
    """A visible publication that has been approved: what likes, favorites and comments may target."""
    publication = get(caller, publication_id)
    if publication.status != "approved":
        raise Conflict(
            Message(
                "Publication %(publication_id)s is %(status)s; only approved publications take this",
                publication_id=publication_id,
                status=publication.status,
            )
        )
    return publication


def list_page(
    caller: Caller | None, params: dict[str, str | None], limit: int, cursor: str | None, secret: str
) -> Page:
    """Publications newest first, filtered by province, kind, status and cycle."""
    filters = lifecycle.checked_filters(
        params,
        {"province": (*PROVINCES, NATIONAL_OFFICE), "kind": PUBLICATION_KINDS, "status": REVIEW_STATUSES},
    )
    return lifecycle.list_page(Publication, PREFIX, caller, filters, limit, cursor, secret)


def review(caller: Caller | None, publication_id: str, body: ReviewIn, now: datetime) -> Publication:
    """Approve or reject a publication (national admins)."""
    caller = require(caller)
    publication = get(caller, publication_id)
    return lifecycle.review(publication, PREFIX, "publication", caller, body.decision, body.note, now)


def take_down(
    caller: Caller | None, publication_id: str, body: lifecycle.TakedownIn, now: datetime
) -> Publication:
    """Take an approved publication out of public view with a reason (national admins; lifecycle.take_down)."""
    caller = require(caller)
    return lifecycle.take_down(get(caller, publication_id), PREFIX, "publication", caller, body, now)


def render(publication: Publication) -> dict[str, Any]:
    return {
        "id": publication.id,
        "kind": publication.kind,
        "title": publication.title,
        "province": publication.province,
        "body": publication.body,
        "status": publication.status,
        "filed_at": iso(publication.filed_at),
        "cycle": publication.cycle,
        "reviewed_at": iso(publication.reviewed_at) if publication.reviewed_at else None,
        "review_note": publication.review_note,
        **lifecycle.revision_state(publication),
        **lifecycle.takedown_state(publication),
    }
