"""Registered home provinces of evaluators, kept by national admins.

Conflict-of-interest rules (an expert never scores their own province's results) judge from
this registry, never from a token's `province` claim: the claim is optional and an identity
provider may let users shape it. A token whose claim disagrees with the registry is refused.
Experts use it now; other evaluators join it with the organisation registry.

Storage (records table): `EVALUATOR#{sub}` / `HOME`, kind `home_province`; each change writes
an audit entry (entity `home_province`, id = sub) in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from chalicelib.core import audit, keys
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso
from chalicelib.core.errors import Forbidden
from chalicelib.core.messages import Message
from chalicelib.core.models import Record
from chalicelib.core.schemas import Body, ProvinceCode

ENTITY = "home_province"
REGISTER_PATH = "PUT /experts/{sub}/home-province"


class HomeProvinceIn(Body):
    province: ProvinceCode = Field(
        description="6-digit code from /provinces of the evaluator's home province"
    )


def key(sub: str) -> tuple[str, str]:
    return f"EVALUATOR#{keys.part(sub)}", "HOME"


def _get(sub: str) -> Record | None:
    try:
        return Record.get(*key(sub), consistent_read=True)
    except Record.DoesNotExist:
        return None


def register(caller: Caller | None, sub: str, body: HomeProvinceIn, now: datetime) -> dict[str, Any]:
    """Record (or change) an evaluator's home province (national admins)."""
    caller = require(caller)
    doc = _get(sub) or Record(*key(sub), kind=ENTITY, created_at=now)
    before = doc.data["province"] if doc.data else None
    doc.data = {"sub": sub, "province": body.province, "registered_by": caller.sub, "registered_at": iso(now)}
    doc.updated_at = now
    audit.replace(
        doc,
        audit.entry(ENTITY, sub, "registered", caller, now, {"from": before, "to": body.province}),
        Message("The home province changed meanwhile; read it again and retry"),
    )
    return doc.data


def describe(caller: Caller | None, sub: str) -> dict[str, Any]:
    """An evaluator's registered home province: national admins see anyone's, others their own."""
    caller = require(caller)
    if not caller.is_national_admin and caller.sub != sub:
        raise Forbidden(Message("Only national admins read another person's home province"))
    doc = _get(sub)
    return doc.data if doc else {"sub": sub, "province": None, "registered_by": None, "registered_at": None}


def registered(sub: str) -> str | None:
    """The registered home province of `sub`, None when none is registered."""
    doc = _get(sub)
    return doc.data["province"] if doc else None


def home_of(caller: Caller) -> str:
    """The caller's registered home province; 403 when none is registered or the token claims another."""
    doc = _get(caller.sub)
    if doc is None:
        raise Forbidden(
            Message(
                "No home province is registered for %(sub)s; conflicts of interest cannot be judged until a national admin registers it at %(register_path)s",
                sub=caller.sub,
                register_path=REGISTER_PATH,
            )
        )
    home = doc.data["province"]
    if caller.province is not None and caller.province != home:
        raise Forbidden(
            Message(
                "The token's province claim %(province)s disagrees with the registered home province %(home)s",
                province=caller.province,
                home=home,
            )
        )
    return home
