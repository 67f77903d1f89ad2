"""Request bodies: the pydantic models that validate input and generate the OpenAPI document."""
from __future__ import annotations

import unicodedata
import uuid
from typing import Annotated, Literal, Optional

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator,
                      model_validator)

from chalicelib.core.errors import Invalid
from chalicelib.core.reference import INDUSTRIES, PROVINCES

# What no name, title or text may hold: controls (NUL included), surrogates, private-use and
# unassigned code points, and the bidirectional controls that make text display otherwise than
# it is stored (U+202E and friends, "Trojan Source").
REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\n\r\t")  # allowed in multi-line text only
# Text made only of these shows nothing: separators, format characters (zero-width space and
# joiners, BOM, word joiner) and the blank letters fonts draw as nothing.
INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cf"})
BLANK_LETTERS = frozenset("\u115f\u1160\u2800\u3164\uffa0")


def _visible_text(text: str, multiline: bool) -> str:
    for char in text:
        if char in LINE_BREAKS and multiline:
            continue
        if char in BIDI_CONTROLS:
            raise ValueError(f"bidirectional control U+{ord(char):04X} is not allowed")
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            raise ValueError(f"control or unassigned character U+{ord(char):04X} is not allowed")
    if text and all(c.isspace() or c in BLANK_LETTERS or unicodedata.category(c) in INVISIBLE_CATEGORIES
                    for c in text):
        raise ValueError("must contain visible characters")
    return text


def _one_line(text: str) -> str:
    return _visible_text(text, multiline=False)


def _lines(text: str) -> str:
    return _visible_text(text, multiline=True)


def Text(lo: int, hi: int, multiline: bool = False):  # noqa: N802  (used as a type)
    """A trimmed string of `lo`..`hi` characters holding something visible and no control characters."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=lo, max_length=hi),
                     AfterValidator(_lines if multiline else _one_line)]


FILING_KINDS = ("report", "database", "tool", "application_proof")
ACCESSIBLE_KINDS = ("database", "tool")  # results used online: they name where (access_url)
REPORT_TYPES = ("regional_planning", "industry_planning", "enterprise_operation",
                "rd_activity", "talent_management", "other")
PUBLICATION_KINDS = ("news", "notice", "policy", "navigation_info")
APPLICATION_STATUSES = ("not_started", "in_progress", "applied", "paused", "discontinued")


class Body(BaseModel):
    """Every request body: unknown fields and loose types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _province(code: str) -> str:
    if code not in PROVINCES:
        raise ValueError("not a provincial unit code from /provinces")
    return code


def _industry(code: str) -> str:
    if code not in INDUSTRIES:
        raise ValueError("not an industry code from /industries")
    return code


def _industries(codes: list[str]) -> list[str]:
    unknown = [code for code in codes if code not in INDUSTRIES]
    if unknown:
        raise ValueError(f"not industry codes from /industries: {', '.join(map(str, unknown))}")
    return sorted(set(codes), key=int)


ProvinceCode = Annotated[str, AfterValidator(_province)]
IndustryCode = Annotated[str, AfterValidator(_industry)]
IndustryCodes = Annotated[list[str], AfterValidator(_industries)]  # deduplicated, in code order


class FilingIn(Body):
    kind: Literal["report", "database", "tool", "application_proof"]
    title: Text(1, 200)
    province: ProvinceCode = Field(description="6-digit province code from /provinces")
    unit: Text(1, 100)
    industry: IndustryCode = Field(description="industry code from /industries")
    report_type: Optional[Literal["regional_planning", "industry_planning", "enterprise_operation",
                                  "rd_activity", "talent_management", "other"]] = None
    fiscal_funded: bool = False
    summary: Optional[Text(0, 2000, multiline=True)] = None
    proves: Optional[str] = Field(default=None, description="for application_proof: the id of the filing it proves")
    access_url: Optional[Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://[^\s]+$")]] = Field(
        default=None, description="for a database or tool: where it is used (http or https URL)")

    @model_validator(mode="after")
    def _kind_rules(self) -> "FilingIn":
        problems = []
        if self.kind != "report" and self.report_type is not None:
            problems.append(("report_type", "only reports have a report_type"))
        if self.kind == "application_proof" and not self.proves:
            problems.append(("proves", "an application_proof names the filing it proves"))
        if self.kind != "application_proof" and self.proves is not None:
            problems.append(("proves", "only an application_proof proves another filing"))
        if self.access_url is not None and self.kind not in ACCESSIBLE_KINDS:
            problems.append(("access_url", "only a database or a tool has an access URL"))
        if problems:
            raise FieldErrors(problems)
        return self


class PublicationIn(Body):
    kind: Literal["news", "notice", "policy", "navigation_info"]
    title: Text(1, 200)
    province: ProvinceCode
    body: Text(1, 20000, multiline=True)


class ReviewIn(Body):
    decision: Literal["approve", "reject"]
    note: Optional[Text(0, 2000, multiline=True)] = None


# How a result is applied. A result earns application points for each state of the
# progression it reaches, in this order and once each; a pause or a discontinuation is
# recorded and earns nothing, and so does a change back or to a state already reached.
APPLICATION_PROGRESSION = ("not_started", "in_progress", "applied")
APPLICATION_STATES = APPLICATION_PROGRESSION + ("paused", "discontinued")


class ApplicationChangeIn(Body):
    status: Literal[APPLICATION_STATES]
    note: Optional[Text(0, 2000, multiline=True)] = None
    proof: Optional[Text(1, 64)] = Field(
        default=None, description="id of an approved application_proof filing of the same province that "
                                  "proves this result; a change earns points only with its proof attached")


class EventIn(Body):
    id: str = Field(description="client-generated UUID; a resent id is a duplicate")
    type: Literal["view"] = Field(description="views only: the platform counts downloads when it serves a file")
    filing: Optional[Text(1, 64)] = Field(default=None, description="the filing viewed (or name a publication)")
    publication: Optional[Text(1, 64)] = Field(default=None, description="the publication viewed")
    user_agent: Optional[Text(0, 1000)] = None

    @model_validator(mode="before")
    @classmethod
    def _no_client_downloads(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("type") == "download":
            raise FieldErrors([("type", "downloads are counted by the platform when it serves the file "
                                        "(GET /filings/{id}/files/{file_id}); clients do not send them")])
        return data

    @model_validator(mode="after")
    def _one_target(self) -> "EventIn":
        if (self.filing is None) == (self.publication is None):
            raise FieldErrors([("filing", "name exactly one of filing and publication")])
        return self

    @field_validator("id")
    @classmethod
    def _uuid(cls, v: str) -> str:
        try:
            return str(uuid.UUID(v))
        except ValueError:
            raise ValueError("must be a UUID") from None


class EventsIn(Body):
    events: list[EventIn] = Field(min_length=1, max_length=100)


class CommentIn(Body):
    text: Text(1, 2000, multiline=True)


class EvaluationIn(Body):
    score: int = Field(ge=1, le=5)
    feedback: Optional[Text(0, 2000, multiline=True)] = None


class FieldErrors(ValueError):
    """Several field errors found by one cross-field rule."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


def parse(model: type[Body], data: object) -> Body:
    """Validate `data` against `model`; a 422 naming every bad field otherwise."""
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object", errors=[{"field": "", "message": "must be a JSON object"}])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid("The body has invalid fields", errors=_errors(exc)) from None


def _errors(exc: ValidationError) -> list[dict]:
    out = []
    for err in exc.errors():
        ctx_error = (err.get("ctx") or {}).get("error")
        field = ".".join(str(p) for p in err["loc"])
        if isinstance(ctx_error, FieldErrors):
            # A nested model's rule names its fields below where the model sits (events.3.type).
            out.extend({"field": f"{field}.{f}" if field else f, "message": m} for f, m in ctx_error.problems)
            continue
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        out.append({"field": field, "message": message})
    return out
