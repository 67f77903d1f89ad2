"""The one message catalogue: texts written in English in the code, rendered in the request's language.

A `Message` is its English text (a str, so English answers are the code's own text) that keeps its
catalogue id and named parameters; the answer renders it in the language negotiated from
Accept-Language. Translations are gettext catalogues under chalicelib/locale/, managed with Babel
(README, Languages) and read at run time by the stdlib from the compiled .mo files.
"""

from __future__ import annotations

import gettext
import re
from contextvars import ContextVar, Token
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ENGLISH = "en"
CHINESE = "zh-CN"
LANGUAGES = (ENGLISH, CHINESE)  # what the catalogue holds; the first is the code's own text
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
_GETTEXT_LOCALE = {CHINESE: "zh_CN"}
# The primary subtag of an Accept-Language range, mapped to the language answered: every Chinese
# range (zh, zh-CN, zh-Hans, zh-TW...) reads the simplified catalogue, the only Chinese one.
_PRIMARY = {"en": ENGLISH, "zh": CHINESE}
_RANGE = re.compile(
    r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([01](?:\.[0-9]{0,3})?))?\s*"
)


class Message(str):
    """English text with its catalogue id (`msgid`, python-format `%(name)s`) and parameters."""

    __slots__ = ("msgid", "params")

    def __new__(cls, msgid: str, /, **params: Any) -> Message:
        self = super().__new__(cls, _fill(msgid, params, ENGLISH))
        self.msgid = msgid
        self.params = params
        return self

    def render(self, language: str) -> str:
        """The text in `language` (English for a language the catalogue lacks)."""
        return _fill(translations(language).gettext(self.msgid), self.params, language)

    def __reduce__(self):  # pickled and copied as the message, not as its English text
        return _rebuild, (self.msgid, self.params)


def _rebuild(msgid: str, params: dict[str, Any]) -> Message:
    return Message(msgid, **params)


def _fill(template: str, params: dict[str, Any], language: str) -> str:
    if not params:
        return template
    return template % {k: v.render(language) if isinstance(v, Message) else v for k, v in params.items()}


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `language`, read once per container."""
    locale = _GETTEXT_LOCALE.get(language)
    if locale is None:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[locale])


def negotiate(header: str | None, default: str) -> str:
    """The language to answer for an Accept-Language header (RFC 9110 §12.5.4): the supported
    language of the highest q (the first on a tie); `*`, an empty, unreadable or unmatched header
    gets the stage's `default`."""
    best, best_q = default, 0.0
    for part in (header or "")[:1024].split(","):
        match = _RANGE.fullmatch(part)
        if not match:
            continue
        tag, q = match.group(1), float(match.group(2) or 1)
        language = default if tag == "*" else _PRIMARY.get(tag.split("-")[0].lower())
        if language is not None and q > best_q:
            best, best_q = language, q
    return best


@dataclass
class _Choice:
    language: str
    used: bool = False  # something in the answer was rendered in it


_CHOICE: ContextVar[_Choice | None] = ContextVar("navi_language", default=None)


def choose(header: str | None, default: str) -> Token:
    """Answer the current request in the language its Accept-Language header negotiates; `release`
    the returned token when the answer is built."""
    return _CHOICE.set(_Choice(negotiate(header, default)))


def release(token: Token) -> None:
    _CHOICE.reset(token)


def current() -> str:
    """The language of the answer being built (English outside a request), noted as used."""
    choice = _CHOICE.get()
    if choice is None:
        return ENGLISH
    choice.used = True
    return choice.language


def text(value: str) -> str:
    """`value` in the answer's language when it is a Message; other text as it is."""
    return value.render(current()) if isinstance(value, Message) else value


def localized(value: Any) -> Any:
    """`value` (a problem body, a notification...) with every Message rendered in the answer's language."""
    if isinstance(value, Message):
        return value.render(current())
    if isinstance(value, dict):
        return {k: localized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [localized(v) for v in value]
    return value


def localized_problem(body: dict[str, Any]) -> dict[str, Any]:
    """A problem body in the answer's language; a plain title (a generic problem's) is a catalogue id."""
    out = localized(body)
    title = body.get("title")
    if isinstance(title, str) and not isinstance(title, Message):
        out["title"] = translations(current()).gettext(title)
    return out


def language_headers(headers: dict[str, str]) -> dict[str, str]:
    """Content-Language and Vary for an answer (`headers`: its own) that rendered text in the request's
    language; none for an answer that did not depend on it."""
    choice = _CHOICE.get()
    if choice is None or not choice.used:
        return {}
    vary = next((v for k, v in headers.items() if k.lower() == "vary"), None)
    return {
        "Content-Language": choice.language,
        "Vary": f"{vary}, Accept-Language" if vary else "Accept-Language",
    }


# The kinds of record a message may name (the API's own words in English).
NOUNS = {
    "filing": Message("filing"),
    "publication": Message("publication"),
    "annual_form": Message("annual form"),
}


def noun(word: str) -> str:
    """The record kind `word` as a message (rendered in the answer's language); other words as they are."""
    return NOUNS.get(word, word)


# The titles of the problems http.generic_problem builds (statuses no domain Problem has): their
# English is their catalogue id.
GENERIC_TITLES = (
    Message("Method not allowed"),
    Message("URI too long"),
    Message("Request header fields too large"),
    Message("Internal server error"),
    Message("Not implemented"),
    Message("Service unavailable"),
    Message("Error"),
)
