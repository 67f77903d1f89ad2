"""Invited organisations (受邀单位) and their invitations.

National admins register demonstration enterprises, pilot universities, research institutes
and central departments; a province admin registers its own province's 产业、科技、金融、人才
departments. An invitation is a single-use code with an expiry; the signed-in user who accepts
it becomes a member: their evaluations count for the organisation's side and results of the
organisation's fields are pushed to them without a subscription.

Storage (records table):
- `ORGS` / `{org id}`: an organisation (kind `organisation`); gsi1pk `ORGS#{province|NATIONAL}`.
- `INVITE` / `{code}`: an invitation (kind `invitation`; stored `open`, `accepted` or `revoked`, listed
  as vocabulary.INVITATION_STATUSES); gsi1pk `INVITES#{org id}`.
- `MEMBER#{sub}` / `ORG`: a user's membership (kind `membership`); gsi1pk `MEMBERS#{org id}`.
- `ORGSUBS#{industry}` / `{sub}`: one row per member and field of their organisation, read by
  the push fan-out next to the users' own subscriptions.
Acceptance writes the invitation, the membership, the field rows and the audit entry in one
transaction conditional on the invitation being unused, so a code admits exactly one user.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from pydantic import Field, model_validator

from chalicelib.core import audit, config, keys, quotas
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso, parse_instant, sortable
from chalicelib.core.errors import Conflict, Forbidden, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Record
from chalicelib.core.paging import INDEX_KEY, decode_cursor, query_page, scope_of, take_page
from chalicelib.core.reference import INDUSTRIES, PROVINCES
from chalicelib.core.schemas import Body, IndustryCodes, ProvinceCode, Text
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.core.vocabulary import Side

# kind → (side its members evaluate as, who registers it)
KINDS: dict[str, tuple[Side, str]] = {
    "demonstration_enterprise": ("enterprise", "national"),  # 全国知识产权优势示范企业
    "pilot_university": ("university", "national"),  # 试点示范高校
    "research_institute": ("research_institute", "national"),  # 科研机构
    "central_department": ("government", "national"),  # 国务院有关部门
    "province_department": ("government", "province"),  # 省级产业、科技、金融、人才部门
}
ORGANISATION_KINDS = tuple(KINDS)
DEPARTMENT_AREAS = ("industry", "science_technology", "finance", "talent")
NATIONAL = "NATIONAL"
MEMBER_ROLES = ("user",)
DEFAULT_VALID_DAYS, MAX_VALID_DAYS = 14, 90
MAX_ID = 64


class OrganisationIn(Body):
    """An organisation to invite: its kind (which fixes its side), name, fields and province."""

    kind: Literal[ORGANISATION_KINDS]
    name: Text(1, 100)
    industries: IndustryCodes = Field(
        min_length=1,
        max_length=len(INDUSTRIES),
        description="industry codes from /industries pushed to its members",
    )
    province: ProvinceCode | None = Field(
        None, description="required for a province_department: its province"
    )
    department_area: Literal[DEPARTMENT_AREAS] | None = Field(
        None, description="province_department only: 产业 / 科技 / 金融 / 人才"
    )

    @model_validator(mode="after")
    def _province_rules(self) -> OrganisationIn:
        if self.kind == "province_department" and (self.province is None or self.department_area is None):
            raise ValueError(Message("a province_department names its province and department_area"))
        if self.kind != "province_department" and self.department_area is not None:
            raise ValueError(Message("only a province_department has a department_area"))
        return self


class InvitationIn(Body):
    valid_days: int = Field(
        DEFAULT_VALID_DAYS, ge=1, le=MAX_VALID_DAYS, description="days until the code expires"
    )
    note: Text(0, 500, multiline=True) | None = None


# ---- keys ----------------------------------------------------------------------------------


def org_key(org_id: str) -> tuple[str, str]:
    return "ORGS", org_id


def invite_key(code: str) -> tuple[str, str]:
    return "INVITE", code


def member_key(sub: str) -> tuple[str, str]:
    return f"MEMBER#{keys.part(sub)}", "ORG"


def field_row_key(industry: str, sub: str) -> tuple[str, str]:
    return f"ORGSUBS#{industry}", sub


def _get(key: tuple[str, str]) -> Record | None:
    try:
        return Record.get(*key, consistent_read=True)
    except Record.DoesNotExist:
        return None


# ---- organisations -------------------------------------------------------------------------


def _may_manage(caller: Caller, kind: str, province: str | None) -> None:
    """National admins manage every entry; a province admin only its own province's departments."""
    if caller.is_national_admin:
        return
    if KINDS[kind][1] != "province":
        raise Forbidden(Message("Only national admins manage %(kind)s entries", kind=kind))
    if province != caller.province:
        raise Forbidden(
            Message(
                "A province_admin of %(province)s manages only its own province's departments",
                province=caller.province,
            )
        )


def register(caller: Caller | None, body: OrganisationIn, now: datetime) -> dict[str, Any]:
    """Register an organisation (national admins: any kind; province admins: their departments)."""
    caller = require(caller)
    _may_manage(caller, body.kind, body.province)
    org_id = f"org-{uuid.uuid4().hex[:12]}"
    data = {
        "id": org_id,
        **body.model_dump(),
        "side": KINDS[body.kind][0],
        "registered_by": caller.sub,
        "registered_at": iso(now),
    }
    record = Record(
        *org_key(org_id),
        kind="organisation",
        data=data,
        created_at=now,
        updated_at=now,
        gsi1pk=f"ORGS#{body.province or NATIONAL}",
        gsi1sk=org_id,
    )
    with transaction() as tx:
        tx.save(record, condition=Record.pk.does_not_exist())
        tx.save(audit.entry("organisation", org_id, "registered", caller, now, data))
    return data


def _organisation(caller: Caller, org_id: str) -> dict[str, Any]:
    """The organisation if the caller manages it (404 unknown, 403 another province's)."""
    found = _get(org_key(org_id)) if len(org_id) <= MAX_ID else None
    if found is None:
        raise NotFound(Message("No organisation %(org_id)s", org_id=org_id))
    _may_manage(caller, found.data["kind"], found.data.get("province"))
    return found.data


def get(caller: Caller | None, org_id: str) -> dict[str, Any]:
    caller = require(caller)
    return _organisation(caller, org_id)


def list_page(
    caller: Caller | None, province: str | None, limit: int, cursor: str | None, secret: str
) -> dict:
    """Organisations the caller manages: national admins all (or one province's), a province admin its own."""
    caller = require(caller)
    if province is not None and province not in PROVINCES:
        raise Invalid(
            Message("Unknown province"),
            errors=[{"field": "province", "message": Message("not a code from /provinces")}],
        )
    if not caller.is_national_admin:
        if province not in (None, caller.province):
            raise Forbidden(
                Message(
                    "A province_admin of %(province)s sees only its own province's departments",
                    province=caller.province,
                )
            )
        province = caller.province
    scope = scope_of("ORGS", province=province)
    start = decode_cursor(cursor, scope, secret)
    if province is None:
        results = Record.query("ORGS", last_evaluated_key=start, page_size=min(limit + 1, 200))
        key_of = lambda r: {"pk": {"S": r.pk}, "sk": {"S": r.sk}}  # noqa: E731
    else:
        results = Record.by_group.query(
            f"ORGS#{province}", last_evaluated_key=start, page_size=min(limit + 1, 200)
        )
        key_of = lambda r: {n: {"S": getattr(r, n)} for n in ("pk", "sk", "gsi1pk", "gsi1sk")}  # noqa: E731
    return take_page(results, limit, key_of, scope, secret).to_dict(lambda r: r.data)


# ---- invitations ---------------------------------------------------------------------------


def invite(caller: Caller | None, org_id: str, body: InvitationIn, now: datetime) -> dict[str, Any]:
    """Issue a single-use invitation code for an organisation the caller manages."""
    caller = require(caller)
    org = _organisation(caller, org_id)
    code = secrets.token_urlsafe(24)
    data = {
        "code": code,
        "organisation": org_id,
        "organisation_name": org["name"],
        "status": "open",
        "note": body.note,
        "issued_by": caller.sub,
        "issued_at": iso(now),
        "expires_at": iso(now + timedelta(days=body.valid_days)),
        "accepted_by": None,
        "accepted_at": None,
    }

    def write(tx) -> None:
        tx.save(
            Record(
                *invite_key(code),
                kind="invitation",
                data=data,
                created_at=now,
                updated_at=now,
                gsi1pk=f"INVITES#{org_id}",
                gsi1sk=f"{sortable(now)}#{code}",
            ),
            condition=Record.pk.does_not_exist(),
        )
        # The code itself is a credential: the trail keeps only its first characters.
        tx.save(
            audit.entry(
                "organisation",
                org_id,
                "invited",
                caller,
                now,
                {"code_prefix": code[:6], "expires_at": data["expires_at"]},
            )
        )

    # an open code holds one of its organisation's slots until it is used or expires
    bound = config.MAX_OPEN_INVITATIONS_PER_ORGANISATION
    if not quotas.with_slot(
        bound, "invitations", (org_id,), _slot_holder(code), now + timedelta(days=body.valid_days), now, write
    ):
        raise Conflict(
            Message(
                "The organisation has %(bound)s open invitations, the most it may have; wait until some are used or expire",
                bound=bound,
            )
        )
    return {**data, "links": {"accept": f"/invitations/{code}/accept"}}


def _slot_holder(code: str) -> str:
    """What names an invitation's slot: a digest, since the code itself is a credential."""
    return hashlib.sha256(code.encode()).hexdigest()


def invitation_status(data: dict[str, Any], now: datetime) -> str:
    """What an invitation lists as (vocabulary.INVITATION_STATUSES): expiry is judged at read time."""
    if data["status"] == "accepted":
        return "used"
    if data["status"] == "open" and now >= parse_instant(data["expires_at"]):
        return "expired"
    return data["status"]


def _render_invitation(data: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {**data, "status": invitation_status(data, now)}


def invitations_page(
    caller: Caller | None, org_id: str, now: datetime, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """One page of the organisation's invitations and their state, newest first."""
    caller = require(caller)
    _organisation(caller, org_id)
    page = query_page(
        partial(Record.by_group.query, f"INVITES#{org_id}", scan_index_forward=False),
        limit,
        cursor,
        scope_of("INVITES", organisation=org_id),
        secret,
        INDEX_KEY,
    )
    return page.to_dict(lambda r: _render_invitation(r.data, now))


def revoke(caller: Caller | None, org_id: str, code: str, now: datetime) -> dict[str, Any]:
    """Revoke an unused invitation of an organisation the caller manages (403/404 as for issuing);
    revoking twice is harmless; a used one is 409: its member stays."""
    caller = require(caller)
    _organisation(caller, org_id)
    invitation = _get(invite_key(code)) if len(code) <= MAX_ID else None
    if invitation is None or invitation.data["organisation"] != org_id:
        raise NotFound(Message("No such invitation of organisation %(org_id)s", org_id=org_id))
    data = invitation.data
    if data["status"] == "accepted":
        raise Conflict(Message("This invitation was used; its member stays"))
    if data["status"] == "revoked":
        return _render_invitation(data, now)
    invitation.data = {**data, "status": "revoked", "revoked_by": caller.sub, "revoked_at": iso(now)}
    invitation.updated_at = now
    # Versioned: an acceptance landing meanwhile makes this fail rather than revoke a used code.
    audit.replace(
        invitation,
        audit.entry("organisation", org_id, "invitation_revoked", caller, now, {"code_prefix": code[:6]}),
        Message("The invitation changed meanwhile (it may have been used); read it again"),
    )
    quotas.release("invitations", (org_id,), _slot_holder(code))  # a revoked code is no longer open
    return _render_invitation(invitation.data, now)


def members_page(
    caller: Caller | None, org_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """One page of the organisation's members, by user."""
    caller = require(caller)
    _organisation(caller, org_id)
    page = query_page(
        partial(Record.by_group.query, f"MEMBERS#{org_id}"),
        limit,
        cursor,
        scope_of("MEMBERS", organisation=org_id),
        secret,
        INDEX_KEY,
    )
    return page.to_dict(lambda r: r.data)


def accept(caller: Caller | None, code: str, now: datetime) -> dict[str, Any]:
    """The signed-in user joins the invitation's organisation; refused (409) when it is used or
    expired, or the user already belongs to another organisation. Nothing changes when refused."""
    caller = require(caller)
    invitation = _get(invite_key(code)) if len(code) <= MAX_ID else None
    if invitation is None:
        raise NotFound(Message("No such invitation"))
    data = invitation.data
    if data["status"] == "revoked":
        raise Conflict(Message("This invitation was revoked"))
    if data["status"] != "open":
        if data["accepted_by"] == caller.sub:
            return membership(caller.sub)
        raise Conflict(Message("This invitation has already been used"))
    if now >= parse_instant(data["expires_at"]):
        raise Conflict(Message("This invitation expired at %(expires_at)s", expires_at=data["expires_at"]))
    org = _get(org_key(data["organisation"]))
    if org is None:
        raise NotFound(Message("The invitation's organisation no longer exists"))
    existing = _get(member_key(caller.sub))
    if existing is not None:
        if existing.data["organisation"] == org.data["id"]:
            return existing.data  # already a member: the code stays unused for someone else
        raise Conflict(
            Message(
                "You already belong to %(organisation_name)s",
                organisation_name=existing.data["organisation_name"],
            )
        )
    member = _member_data(caller, org.data, now)
    invitation.data = {**data, "status": "accepted", "accepted_by": caller.sub, "accepted_at": iso(now)}
    invitation.updated_at = now
    _join(caller, invitation, org.data, member, code, now)
    quotas.release("invitations", (org.data["id"],), _slot_holder(code))  # a used code is no longer open
    return member


def _member_data(caller: Caller, org: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The caller's membership: the organisation's side and fields, from now on."""
    return {
        "user": caller.sub,
        "organisation": org["id"],
        "organisation_name": org["name"],
        "kind": org["kind"],
        "side": org["side"],
        "industries": org["industries"],
        "province": org.get("province"),
        "joined_at": iso(now),
    }


def _join(
    caller: Caller, invitation: Record, org: dict[str, Any], member: dict[str, Any], code: str, now: datetime
) -> None:
    """Write the used invitation, the membership, its field rows and the audit entry in one transaction
    (409 when the code was used, or the caller joined an organisation, meanwhile)."""
    try:
        with transaction() as tx:
            tx.save(invitation)  # versioned: a second acceptance of the same code fails here
            tx.save(
                Record(
                    *member_key(caller.sub),
                    kind="membership",
                    data=member,
                    created_at=now,
                    updated_at=now,
                    gsi1pk=f"MEMBERS#{org['id']}",
                    gsi1sk=caller.sub,
                ),
                condition=Record.pk.does_not_exist(),
            )
            for industry in org["industries"]:
                tx.save(
                    Record(
                        *field_row_key(industry, caller.sub),
                        kind="member_field",
                        created_at=now,
                        data={"user": caller.sub, "organisation": org["id"], "industry": industry},
                    ),
                    condition=Record.pk.does_not_exist(),
                )
            tx.save(
                audit.entry(
                    "organisation",
                    org["id"],
                    "joined",
                    caller,
                    now,
                    {"user": caller.sub, "code_prefix": code[:6]},
                )
            )
    except TransactWriteError as error:
        if not cancelled_by_condition(error):
            raise
        raise Conflict(
            Message("This invitation was used, or you joined an organisation, meanwhile")
        ) from None


def membership(sub: str) -> dict[str, Any] | None:
    """The user's organisation membership, or None."""
    found = _get(member_key(sub))
    return found.data if found else None


def mine(caller: Caller | None) -> dict[str, Any]:
    caller = require(caller)
    found = membership(caller.sub)
    if found is None:
        raise NotFound(Message("You do not belong to an invited organisation; accept an invitation first"))
    return found


def own_side_of(member: dict[str, Any] | None) -> str | None:
    """The province whose own side a member is (a member of its province_department), else None."""
    if member and KINDS.get(member.get("kind"), ("", ""))[1] == "province":
        return member.get("province")
    return None


def as_member(caller: Caller | None) -> Caller | None:
    """The caller with the side of their organisation, when they belong to one (its side wins); a
    province department's member is also that province's own side (never counted for it)."""
    if caller is None or caller.role not in MEMBER_ROLES:
        return caller
    found = membership(caller.sub)
    if found is None:
        return caller
    return dataclasses.replace(caller, side=found["side"], department_of=own_side_of(found))


def members_of_field(industry: str) -> list[str]:
    """Members of organisations covering `industry` (the push fan-out adds them to subscribers)."""
    return [row.sk for row in Record.query(f"ORGSUBS#{industry}")]
