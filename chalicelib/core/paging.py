"""Opaque, tamper-evident list cursors bound to the query that produced them.

A cursor is the start key sealed with AES-GCM under a key derived from the stage's cursor
secret, with the query's scope as associated data: clients can neither read the table's layout
(key names, index names) from it nor forge or move it to another query."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.messages import Message
from chalicelib.core.request_parsing import integer_param, param

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_VERSION = b"\x01"  # first byte of every cursor, so the format can change without misreading old ones
_NONCE_BYTES = 12


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None

    def to_dict(self, render) -> dict:
        return {"items": [render(i) for i in self.items], "next_cursor": self.next_cursor}


def parse_limit(raw: str | None) -> int:
    """The page size asked for: default 50, 1..200."""
    limit = integer_param("limit", raw, 1, MAX_LIMIT)
    return DEFAULT_LIMIT if limit is None else limit


def scope_of(name: str, **params: Any) -> str:
    """A fingerprint of the list and its filters: a cursor is valid only for the same query."""
    raw = json.dumps([name, params], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@lru_cache(maxsize=8)
def _aead(secret: str) -> AESGCM:
    # Loaded by the first request that pages, not by every cold start: cryptography's native
    # bindings are ~35 ms of `import app` (bench/bench_coldstart.py), and most requests never page.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    # A dedicated key: the stage secret itself is never used directly as an AES key.
    return AESGCM(hashlib.sha256(b"patentnavi-eval cursor v1\x00" + secret.encode()).digest())


def encode_cursor(key: dict, scope: str, secret: str) -> str:
    """`key` sealed for `scope`: opaque base64url text."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _aead(secret).encrypt(nonce, json.dumps(key, separators=(",", ":")).encode(), scope.encode())
    return base64.urlsafe_b64encode(_VERSION + nonce + sealed).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str | None, scope: str, secret: str) -> dict | None:
    """The start key carried by `cursor`; 400 when it was altered, foreign or made for another query."""
    if cursor is None:
        return None
    param("cursor", cursor, "cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) <= 1 + _NONCE_BYTES or raw[:1] != _VERSION:
        raise _refused()
    from cryptography.exceptions import InvalidTag  # with _aead: not at import

    try:
        plain = _aead(secret).decrypt(raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :], scope.encode())
    except InvalidTag:
        # Tampered, sealed under another secret, or for another query: the tag cannot tell which.
        raise _refused() from None
    key = json.loads(plain)
    if not isinstance(key, dict):
        raise _refused()
    return key


def _refused() -> BadRequest:
    return BadRequest(
        Message("The cursor is not valid for this query"),
        errors=[{"field": "cursor", "message": Message("not a cursor this server issued for this query")}],
    )


def take_page(results: Iterable[Any], limit: int, key_of, scope: str, secret: str) -> Page:
    """Up to `limit` items from `results`, with a cursor when more remain."""
    items: list[Any] = []
    iterator: Iterator[Any] = iter(results)
    for item in iterator:
        if len(items) == limit:
            return Page(items, encode_cursor(key_of(items[-1]), scope, secret))
        items.append(item)
    return Page(items, None)


def keys_of(*names: str) -> Callable[[Any], dict]:
    """A `key_of` for take_page: the item's named key attributes, as DynamoDB's start keys write them."""
    return lambda item: {name: {"S": getattr(item, name)} for name in names}


TABLE_KEY = keys_of("pk", "sk")
INDEX_KEY = keys_of("pk", "sk", "gsi1pk", "gsi1sk")  # a query on a gsi1 index resumes from all four


def query_page(
    query: Callable[..., Iterable[Any]],
    limit: int,
    cursor: str | None,
    scope: str,
    secret: str,
    key_of: Callable[[Any], dict] = TABLE_KEY,
) -> Page:
    """One page of a DynamoDB Query: `query` is called with the cursor's start key and a page size,
    so a page reads about `limit` items whatever the list's length."""
    results = query(
        last_evaluated_key=decode_cursor(cursor, scope, secret), page_size=min(limit + 1, MAX_LIMIT)
    )
    return take_page(results, limit, key_of, scope, secret)


def computed_page(
    items: Iterable[Any],
    limit: int,
    cursor: str | None,
    scope: str,
    secret: str,
    order: Callable[[Any], tuple],
    newest_first: bool = False,
) -> Page:
    """One page of a list computed in memory over a bounded set, in `order` (unique per item, JSON
    values; descending with `newest_first`): the cursor carries the last item's order, so items
    added meanwhile are neither repeated nor skipped."""
    start = decode_cursor(cursor, scope, secret)
    after = start.get("after") if start is not None else None
    if start is not None and not isinstance(after, list):
        raise _refused()
    ordered = sorted(items, key=order, reverse=newest_first)

    def ahead(item: Any) -> bool:
        if after is None:
            return True
        try:
            return list(order(item)) < after if newest_first else list(order(item)) > after
        except TypeError:  # a cursor of this scope always compares; only a forged one cannot
            raise _refused() from None

    return take_page(
        (i for i in ordered if ahead(i)), limit, lambda i: {"after": list(order(i))}, scope, secret
    )
