"""What a request may carry: the strict JSON body and the declared format of every path and query
parameter (the OpenAPI document publishes the same patterns). No Chalice import: chalicelib/api adapts."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from chalicelib.core.errors import BadRequest, Invalid, PayloadTooLarge, UnsupportedMediaType
from chalicelib.core.messages import Message

MAX_BODY_BYTES = 256 * 1024
MAX_DEPTH = 32  # the deepest body model nests 5 levels; Python's parser dies near 1,000

# Path and query parameter formats, each declared once: (regex, what the 422 says); the OpenAPI
# document publishes the same regex as the parameter's pattern, and the English text as its description.
# Only ASCII: str.isdigit() and \d accept superscripts and other scripts' digits that int() refuses
# or reads differently, and those would reach keys of the table.
PARAM_FORMATS: dict[str, tuple[str, Message]] = {
    "digits": (r"[0-9]{1,9}", Message("must be ASCII digits")),
    "id": (
        r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
        Message("must be an id of letters, digits, '_', '.', '-' (at most 64)"),
    ),
    "sub": (r"[\x21-\x7e]{1,256}", Message("must be 1 to 256 printable ASCII characters")),
    "cycle": (r"2021-2023|[0-9]{4}", Message("must be a cycle id from /cycles")),
    "province": (r"[0-9]{6}", Message("must be a 6-digit province code from /provinces")),
    "publisher": (
        r"[0-9]{6}|national",
        Message("must be a 6-digit province code from /provinces or 'national'"),
    ),
    "year": (r"[0-9]{4}", Message("must be a four-digit year")),
    "word": (r"[a-z_]{1,40}", Message("must be a lowercase word from the documented values")),
    "industry": (r"[0-9]{1,3}", Message("must be an industry code from /industries")),
    "cursor": (r"[A-Za-z0-9_-]{1,4096}", Message("must be a next_cursor this API returned")),
    "flag": (r"true|false", Message("must be true or false")),
    "invitation": (r"[A-Za-z0-9_-]{32}", Message("must be the 32-character code of an invitation")),
    "month": (r"[0-9]{4}-(?:0[1-9]|1[0-2])", Message("must be a month YYYY-MM")),
}
# A value the client cannot read, only return: altered, it is a bad request (400), not invalid input.
OPAQUE_FORMATS = frozenset({"cursor"})


def param_schema(kind: str, **extra: Any) -> dict[str, Any]:
    """The OpenAPI schema of a parameter of format `kind` (its pattern is what `param` enforces)."""
    pattern, message = PARAM_FORMATS[kind]
    # The document is the same in every language: its English text, not the Message.
    return {"type": "string", "pattern": f"^(?:{pattern})$", "description": str(message), **extra}


# Every path parameter of every route, by name; the route wrapper checks them all before the view.
PATH_PARAMS: dict[str, str] = {
    "filing_id": "id",
    "publication_id": "id",
    "comment_id": "id",
    "run_id": "id",
    "demand_id": "id",
    "file_id": "id",
    "cycle": "cycle",
    "code": "province",
    "province": "province",
    "year": "year",
    "sub": "sub",
    "org_id": "id",
    "population": "word",
    "invitation": "invitation",
    "objection_id": "id",
    "unit": "id",
}


def param(name: str, raw: str | None, kind: str) -> str | None:
    """A path or query parameter in its declared format (None when absent); 422 naming it otherwise."""
    if raw is None:
        return None
    pattern, message = PARAM_FORMATS[kind]
    if not re.fullmatch(pattern, raw):
        refusal = BadRequest if kind in OPAQUE_FORMATS else Invalid
        raise refusal(
            Message("%(name)s %(rule)s", name=name, rule=message),
            errors=[{"field": name, "message": message}],
        )
    return raw


def integer_param(name: str, raw: str | None, lo: int, hi: int) -> int | None:
    """An ASCII-digit parameter within lo..hi (None when absent); 422 naming it otherwise."""
    digits = param(name, raw, "digits")
    if digits is None:
        return None
    if not lo <= int(digits) <= hi:
        rule = Message("must be an integer from %(lo)s to %(hi)s", lo=lo, hi=hi)
        raise Invalid(
            Message("%(name)s %(rule)s", name=name, rule=rule), errors=[{"field": name, "message": rule}]
        )
    return int(digits)


# application/json or a structured-syntax JSON type (RFC 6839), with at most a UTF-8 charset.
_JSON_MEDIA = re.compile(r"application/(?:[a-z0-9.+-]+\+)?json", re.ASCII)
_CHARSET = re.compile(r"charset=\"?utf-8\"?", re.ASCII | re.IGNORECASE)


def is_json_media_type(content_type: str | None) -> bool:
    """True for `application/json`, `application/<x>+json`, optionally `; charset=utf-8`."""
    if not content_type:
        return False
    media, *params = [part.strip() for part in content_type.split(";")]
    if not _JSON_MEDIA.fullmatch(media.lower()):
        return False
    return all(_CHARSET.fullmatch(p) for p in params)


def json_body(raw: bytes | None, content_type: str | None) -> Any:
    """The request's JSON body, strictly read; 400/413/415/422 problems for what cannot be trusted.

    Refused before any model sees them: a missing or non-JSON content type, nesting deeper than
    MAX_DEPTH, duplicate keys, NaN/Infinity (also 1e999), lone surrogates.
    """
    if raw is None or raw == b"":
        raise BadRequest(
            Message("A JSON body is required"), errors=[{"field": "", "message": Message("missing body")}]
        )
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            Message("The body is larger than %(max_bytes)s bytes", max_bytes=MAX_BODY_BYTES)
        )
    if not is_json_media_type(content_type):
        raise UnsupportedMediaType(Message("Send the body as application/json (charset utf-8 if any)"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            Message("The body is not valid UTF-8: %(error)s", error=str(exc)),
            errors=[{"field": "", "message": Message("malformed JSON")}],
        ) from None
    if _too_deep(text):
        raise BadRequest(
            Message("The body nests deeper than %(max_depth)s levels", max_depth=MAX_DEPTH),
            errors=[
                {"field": "", "message": Message("nested deeper than %(max_depth)s", max_depth=MAX_DEPTH)}
            ],
        )
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as dup:
        raise BadRequest(
            Message("The body repeats the key %(key)r", key=dup.key),
            errors=[{"field": dup.key, "message": Message("duplicate key")}],
        ) from None
    except (ValueError, RecursionError) as exc:
        raise BadRequest(
            Message("The body is not valid JSON: %(error)s", error=str(exc)),
            errors=[{"field": "", "message": Message("malformed JSON")}],
        ) from None
    _refuse_untrustworthy_values(data)
    return data


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key.encode("utf-8", "backslashreplace").decode("utf-8"))
        out[key] = value
    return out


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def _too_deep(text: str) -> bool:
    """True when [ / { nest deeper than MAX_DEPTH; counted without recursion, strings left out."""
    depth = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def _refuse_untrustworthy_values(data: Any) -> None:
    """422 naming the field for a non-finite number or a lone surrogate anywhere in the body."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise Invalid(
                Message("NaN and Infinity are not numbers this API accepts"),
                errors=[{"field": where, "message": Message("must be a finite number")}],
            )
        if isinstance(value, str) and _has_surrogate(value):
            raise Invalid(
                Message("The body holds text that is not valid Unicode"),
                errors=[{"field": where, "message": Message("lone surrogate")}],
            )
        if isinstance(value, dict):
            for key, item in value.items():
                if _has_surrogate(key):
                    raise Invalid(
                        Message("The body holds a key that is not valid Unicode"),
                        errors=[{"field": where, "message": Message("lone surrogate in a key")}],
                    )
                stack.append((f"{where}.{key}" if where else key, item))
        elif isinstance(value, list):
            stack.extend((f"{where}.{i}" if where else str(i), item) for i, item in enumerate(value))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
