"""What every request body shares: the strict Body base, Text, province and industry codes, parse.

Each request body lives in the domain module that consumes it (FilingIn in documents/filings.py,
SchemeIn in scoring/scheme.py; ReviewIn, shared by filings and publications, in their review
workflow documents/lifecycle.py); they all build on these.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, ValidationError

from chalicelib.core.errors import Invalid
from chalicelib.core.reference import INDUSTRIES, PROVINCES

# What no name, title or text may hold: controls (NUL included), surrogates, private-use and
# unassigned code points, and the bidirectional controls that make text display otherwise than
# it is stored (U+202E and friends, "Trojan Source").
REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\n\r\t")  # allowed in multi-line text only
# Characters a one-line name never holds: line and paragraph separators (U+2028, U+2029) and format
# characters (zero-width space and joiners, BOM, soft hyphen), which break a printed line or hide text.
ONE_LINE_REFUSED_CATEGORIES = frozenset({"Zl", "Zp", "Cf"})
# Tag characters spell invisible ASCII ("ASCII smuggling"): refused in every text.
TAGS = range(0xE0000, 0xE0080)
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
        if ord(char) in TAGS:
            raise ValueError(f"invisible tag character U+{ord(char):04X} is not allowed")
        if not multiline and unicodedata.category(char) in ONE_LINE_REFUSED_CATEGORIES:
            raise ValueError(
                f"invisible or line-separator character U+{ord(char):04X} is not allowed on one line"
            )
    if text and all(
        c.isspace() or c in BLANK_LETTERS or unicodedata.category(c) in INVISIBLE_CATEGORIES for c in text
    ):
        raise ValueError("must contain visible characters")
    return text


def _one_line(text: str) -> str:
    return _visible_text(text, multiline=False)


def _lines(text: str) -> str:
    return _visible_text(text, multiline=True)


def Text(lo: int, hi: int, multiline: bool = False):  # noqa: N802  (used as a type)
    """A trimmed string of `lo`..`hi` characters holding something visible and no control characters;
    one line (the default) also refuses tabs, line breaks, line separators and invisible format characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=lo, max_length=hi),
        AfterValidator(_lines if multiline else _one_line),
    ]


class Body(BaseModel):
    """Every request body: unknown fields and loose types are refused."""

    # defer_build: a model's validator is built by its first request, not by every cold start
    # (~15-25 ms of `import app`, bench/bench_coldstart.py); a container builds only the ones it serves.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, defer_build=True)


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


class FieldErrors(ValueError):
    """Several field errors found by one cross-field rule."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


def parse(model: type[Body], data: object) -> Body:
    """Validate `data` against `model`; a 422 naming every bad field otherwise."""
    if not isinstance(data, dict):
        raise Invalid(
            "The body must be a JSON object", errors=[{"field": "", "message": "must be a JSON object"}]
        )
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
