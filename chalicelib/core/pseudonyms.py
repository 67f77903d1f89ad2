"""Pseudonyms of users in facts (PIPL minimisation): a keyed hash, never the user id.

pseudonym = HMAC-SHA256(cycle key, user id), cycle key = HMAC-SHA256(stage secret, cycle id).
The stage secret comes from the secret store (NAVI_PSEUDONYM_SECRET, like the cursor secret), so
nobody holding the facts alone can test a guessed id; one key per cycle means a user's facts link
within a cycle (chains, COUNTER uniques, per-account flags) and not across cycles.

A commenter's public display name is keyed by the same secret for another purpose (`display_name`),
so nobody can link it to the facts' pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from chalicelib.core.config import load_settings

PREFIX = "u1_"  # marks a pseudonym (and its scheme's version) wherever it is stored
NO_CYCLE = "-"  # the cycle id of an instant no cycle holds
DISPLAY_PREFIX = "用户-"  # a commenter's public name: this and ten hex digits
_bound: list[str] = []  # the stage secret bound by the composition root (chalicelib/composition.py)


def bind(secret: str) -> None:
    """Use this stage secret from now on (the composition root binds it with the tables)."""
    _bound[:] = [secret]


@lru_cache(maxsize=64)
def _cycle_key(secret: str, cycle_id: str) -> bytes:
    return hmac.new(secret.encode(), f"cycle:{cycle_id}".encode(), hashlib.sha256).digest()


@lru_cache(maxsize=65536)
def _pseudonym(secret: str, cycle_id: str, user: str) -> str:
    digest = hmac.new(_cycle_key(secret, cycle_id), user.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:40]  # 160 bits: no collision among any number of users this platform sees


def _secret() -> str:
    if not _bound:  # a process that has not built its services yet reads the stage's own
        bind(load_settings().pseudonym_secret)
    return _bound[0]


def of(user: str, cycle_id: str | None) -> str:
    """The user's pseudonym in one cycle (None: an instant outside every cycle)."""
    return keyed(_secret(), user, cycle_id)


def is_pseudonym(value: str) -> bool:
    """Whether a stored `user` is already a pseudonym (facts stored before it was one hold the id)."""
    return value.startswith(PREFIX)


@lru_cache(maxsize=4)
def _display_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"purpose:comment-display-name", hashlib.sha256).digest()


@lru_cache(maxsize=4096)
def _display(secret: str, user: str) -> str:
    return DISPLAY_PREFIX + hmac.new(_display_key(secret), user.encode(), hashlib.sha256).hexdigest()[:10]


def display_name(user: str) -> str:
    """The user's public name on comments: stable across records and cycles, unlinkable to `of`."""
    return _display(_secret(), user)


def keyed(secret: str, user: str, cycle_id: str | None) -> str:
    """The user's pseudonym in one cycle under a stage secret named by the caller (a stack of its own)."""
    return _pseudonym(secret, cycle_id or NO_CYCLE, user)


# Coarse browser families, first match wins (Edge and Opera also say Chrome, Chrome also says Safari).
_FAMILIES = (
    ("edg", "Edge"),
    ("opr/", "Opera"),
    ("opera", "Opera"),
    ("micromessenger", "WeChat"),
    ("firefox", "Firefox"),
    ("crios", "Chrome"),
    ("chrome", "Chrome"),
    ("safari", "Safari"),
    ("trident", "IE"),
    ("msie", "IE"),
)


def agent_family(user_agent: str | None) -> str:
    """What is kept of a user agent besides the robot verdict: its browser family, no version or system."""
    agent = (user_agent or "").lower()
    if not agent:
        return "none"
    return next((family for needle, family in _FAMILIES if needle in agent), "other")
