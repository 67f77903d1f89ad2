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
from chalicelib.core.messages import Message
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
            raise ValueError(Message("bidirectional control U+%(code)04X is not allowed", code=ord(char)))
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            raise ValueError(
                Message("control or unassigned character U+%(code)04X is not allowed", code=ord(char))
            )
        if ord(char) in TAGS:
            raise ValueError(Message("invisible tag character U+%(code)04X is not allowed", code=ord(char)))
        if not multiline and unicodedata.category(char) in ONE_LINE_REFUSED_CATEGORIES:
            raise ValueError(
                Message(
                    "invisible or line-separator character U+%(code)04X is not allowed on one line",
                    code=ord(char),
                )
            )
    if text and all(
        c.isspace() or c in BLANK_LETTERS or unicodedata.category(c) in INVISIBLE_CATEGORIES for c in text
    ):
        raise ValueError(Message("must contain visible characters"))
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
        raise ValueError(Message("not a provincial unit code from /provinces"))
    return code


def _industry(code: str) -> str:
    if code not in INDUSTRIES:
        raise ValueError(Message("not an industry code from /industries"))
    return code


def _industries(codes: list[str]) -> list[str]:
    unknown = [code for code in codes if code not in INDUSTRIES]
    if unknown:
        raise ValueError(
            Message("not industry codes from /industries: %(codes)s", codes=", ".join(map(str, unknown)))
        )
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
            Message("The body must be a JSON object"),
            errors=[{"field": "", "message": Message("must be a JSON object")}],
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(Message("The body has invalid fields"), errors=_errors(exc)) from None


def _errors(exc: ValidationError) -> list[dict]:
    out = []
    for err in exc.errors():
        ctx_error = (err.get("ctx") or {}).get("error")
        field = ".".join(str(p) for p in err["loc"])
        if isinstance(ctx_error, FieldErrors):
            # A nested model's rule names its fields below where the model sits (events.3.type).
            out.extend({"field": f"{field}.{f}" if field else f, "message": m} for f, m in ctx_error.problems)
            continue
        out.append({"field": field, "message": _message(err, ctx_error)})
    return out


# pydantic's messages as catalogue messages, by error type (and whether its count is 1): the English of
# each is pydantic's own text, so an English answer reads as pydantic wrote it.
PYDANTIC_MESSAGES = {
    "missing": Message("Field required"),
    "extra_forbidden": Message("unknown field"),
    "string_type": Message("Input should be a valid string"),
    "int_type": Message("Input should be a valid integer"),
    "float_type": Message("Input should be a valid number"),
    "bool_type": Message("Input should be a valid boolean"),
    "list_type": Message("Input should be a valid list"),
    "dict_type": Message("Input should be a valid dictionary"),
    "finite_number": Message("Input should be a finite number"),
    "literal_error": Message("Input should be %(expected)s"),
    "enum": Message("Input should be %(expected)s"),
    "greater_than": Message("Input should be greater than %(gt)s"),
    "greater_than_equal": Message("Input should be greater than or equal to %(ge)s"),
    "less_than": Message("Input should be less than %(lt)s"),
    "less_than_equal": Message("Input should be less than or equal to %(le)s"),
    ("string_too_short", 1): Message("String should have at least %(min_length)s character"),
    "string_too_short": Message("String should have at least %(min_length)s characters"),
    ("string_too_long", 1): Message("String should have at most %(max_length)s character"),
    "string_too_long": Message("String should have at most %(max_length)s characters"),
    ("too_short", 1): Message(
        "%(field_type)s should have at least %(min_length)s item after validation, not %(actual_length)s"
    ),
    "too_short": Message(
        "%(field_type)s should have at least %(min_length)s items after validation, not %(actual_length)s"
    ),
    ("too_long", 1): Message(
        "%(field_type)s should have at most %(max_length)s item after validation, not %(actual_length)s"
    ),
    "too_long": Message(
        "%(field_type)s should have at most %(max_length)s items after validation, not %(actual_length)s"
    ),
    "value_error": Message("Value error, %(error)s"),
}


def _message(err: dict, ctx_error: object) -> str:
    """The error's message from the catalogue; pydantic's own English text where the catalogue has none."""
    kind, ctx = err["type"], dict(err.get("ctx") or {})
    if kind == "extra_forbidden":
        return PYDANTIC_MESSAGES[kind]
    if isinstance(ctx_error, Exception):
        ctx["error"] = ctx_error.args[0] if ctx_error.args else str(ctx_error)
    count = next((ctx[k] for k in ("min_length", "max_length") if k in ctx), None)
    template = PYDANTIC_MESSAGES.get((kind, count)) or PYDANTIC_MESSAGES.get(kind)
    if template is None:
        return err["msg"]
    try:
        message = Message(template.msgid, **ctx)
    except (KeyError, TypeError, ValueError):
        return err["msg"]
    return message if message == err["msg"] else err["msg"]
