"""Opaque, tamper-evident list cursors bound to the query that produced them."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import jwt

from .errors import BadRequest, Invalid

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None

    def to_dict(self, render) -> dict:
        return {"items": [render(i) for i in self.items], "next_cursor": self.next_cursor}


def parse_limit(raw: str | None) -> int:
    """The page size asked for: default 50, 1..200."""
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Invalid("limit must be an integer from 1 to 200",
                      errors=[{"field": "limit", "message": "must be an integer from 1 to 200"}])
    return int(raw)


def scope_of(name: str, **params: Any) -> str:
    """A fingerprint of the list and its filters: a cursor is valid only for the same query."""
    raw = json.dumps([name, params], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_cursor(key: dict, scope: str, secret: str) -> str:
    return jwt.encode({"k": key, "s": scope}, secret, algorithm="HS256")


def decode_cursor(cursor: str | None, scope: str, secret: str) -> dict | None:
    """The start key carried by `cursor`; 400 when it was altered or made for another query."""
    if cursor is None:
        return None
    try:
        payload = jwt.decode(cursor, secret, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        raise BadRequest("The cursor is not valid", errors=[{"field": "cursor", "message": "not a cursor this server issued"}]) from None
    if payload.get("s") != scope or not isinstance(payload.get("k"), dict):
        raise BadRequest("The cursor belongs to another query", errors=[{"field": "cursor", "message": "made for another query"}])
    return payload["k"]


def take_page(results: Iterable[Any], limit: int, key_of, scope: str, secret: str) -> Page:
    """Up to `limit` items from `results`, with a cursor when more remain."""
    items: list[Any] = []
    iterator: Iterator[Any] = iter(results)
    for item in iterator:
        if len(items) == limit:
            return Page(items, encode_cursor(key_of(items[-1]), scope, secret))
        items.append(item)
    return Page(items, None)
