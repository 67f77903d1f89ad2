"""The message catalogue: Accept-Language negotiation, every message of the code translated with the
same parameters, the shipped .mo compiled from the .po, English answers unchanged."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from chalicelib.core import messages
from chalicelib.core.errors import NotFound
from chalicelib.core.messages import CHINESE, ENGLISH, Message, negotiate
from chalicelib.core.schemas import _errors
from chalicelib.documents import notifications
from chalicelib.documents.filings import FilingIn

ROOT = Path(__file__).resolve().parents[2]
PO = messages.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN", CHINESE),
        ("zh", CHINESE),
        ("zh-Hans", CHINESE),
        ("zh-Hans-CN", CHINESE),
        ("ZH-cn", CHINESE),
        ("en-US", ENGLISH),
        ("en", ENGLISH),
        ("en;q=0.4, zh-CN;q=0.8", CHINESE),
        ("zh-CN;q=0.5, en-US;q=0.9", ENGLISH),
        ("fr-FR, zh;q=0.7, en;q=0.3", CHINESE),
        ("zh-CN;q=0, en;q=0.1", ENGLISH),  # q=0: not acceptable
        ("en, zh", ENGLISH),  # a tie: the first
    ],
)
def test_the_supported_language_of_the_highest_q_is_answered(header, expected):
    assert negotiate(header, ENGLISH) == expected
    assert negotiate(header, CHINESE) == expected


@pytest.mark.parametrize(
    "header", [None, "", "*", "fr-FR", "de;q=0.9, ja", "zh-CN;q=banana", "=;;,", "x" * 5000]
)
def test_an_absent_unmatched_or_garbage_header_gets_the_stages_default(header):
    assert negotiate(header, ENGLISH) == ENGLISH
    assert negotiate(header, CHINESE) == CHINESE


def _code_messages() -> set[str]:
    """Every catalogue id of the code: the first argument of each Message("...") call (babel.cfg)."""
    found = set()
    for path in [*(ROOT / "chalicelib").rglob("*.py"), *(ROOT / "local_stack").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Message"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    return found


def _po_entries() -> dict[str, tuple[str, bool]]:
    """msgid -> (msgstr, fuzzy) of the Chinese .po, read as gettext writes it (quoted lines continue)."""
    entries, fuzzy, field, current = {}, False, None, {"msgid": "", "msgstr": ""}

    def close():
        if field is not None and current["msgid"]:
            entries[current["msgid"]] = (current["msgstr"], fuzzy)

    for line in PO.read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("#,"):
            fuzzy = "fuzzy" in line
        elif line.startswith("msgid "):
            close()
            field, current = "msgid", {"msgid": ast.literal_eval(line[6:]), "msgstr": ""}
        elif line.startswith("msgstr "):
            field = "msgstr"
            current["msgstr"] = ast.literal_eval(line[7:])
        elif line.startswith('"') and field:
            current[field] += ast.literal_eval(line)
        elif not line.strip():
            close()
            field, fuzzy = None, False
    return entries


def test_every_message_of_the_code_has_a_chinese_translation():
    entries = _po_entries()
    untranslated = sorted(m for m in _code_messages() if not entries.get(m, ("", True))[0] or entries[m][1])
    assert untranslated == [], "run pybabel extract/update and translate (README, Languages)"


def test_the_catalogue_holds_no_message_the_code_no_longer_has():
    assert sorted(set(_po_entries()) - _code_messages()) == []


def test_a_translation_takes_the_same_parameters_as_its_english():
    for msgid, (msgstr, _) in _po_entries().items():
        assert sorted(PLACEHOLDER.findall(msgstr)) == sorted(PLACEHOLDER.findall(msgid)), msgid


def test_the_shipped_mo_is_the_compiled_po():
    with MO.open("rb") as compiled:
        shipped = {k: v for k, v in gettext.GNUTranslations(compiled)._catalog.items() if k}
    assert shipped == {k: v for k, (v, fuzzy) in _po_entries().items() if v and not fuzzy}, (
        "run pybabel compile (README, Languages)"
    )


def test_a_message_is_its_english_text_and_renders_in_chinese():
    message = Message("No filing %(filing_id)s", filing_id="f-1")
    assert message == "No filing f-1" and message.render(ENGLISH) == "No filing f-1"
    assert message.render(CHINESE) == "没有成果 f-1"
    problem = NotFound(message).to_dict()
    assert problem == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No filing f-1",
    }


def test_a_problem_renders_in_the_chosen_language_and_says_so():
    problem = NotFound(Message("No filing %(filing_id)s", filing_id="f-1")).to_dict()
    token = messages.choose("zh-CN", ENGLISH)
    try:
        body = messages.localized_problem(problem)
        assert (body["title"], body["detail"]) == ("未找到", "没有成果 f-1")
        assert messages.language_headers({"Vary": "Origin"}) == {
            "Content-Language": CHINESE,
            "Vary": "Origin, Accept-Language",
        }
    finally:
        messages.release(token)
    assert messages.current() == ENGLISH and messages.language_headers({}) == {}


def test_pydantic_messages_keep_their_english_and_translate():
    with pytest.raises(ValidationError) as caught:
        FilingIn.model_validate({"title": "", "unknown": 1})
    errors = _errors(caught.value)
    assert {"field": "kind", "message": "Field required"} in errors
    assert {"field": "unknown", "message": "unknown field"} in errors
    english = {e["field"]: e["message"] for e in errors}
    assert english["title"] == next(e["msg"] for e in caught.value.errors() if e["loc"] == ("title",))
    token = messages.choose("zh", ENGLISH)
    try:
        chinese = {e["field"]: messages.text(e["message"]) for e in errors}
    finally:
        messages.release(token)
    assert chinese["kind"] == "必填字段" and chinese["unknown"] == "未知字段"
    assert chinese["title"].startswith("字符串至少须有")


def test_every_notification_topic_has_a_title_and_a_text():
    assert set(notifications.TOPIC_MESSAGES) == set(notifications.TOPICS)
    told = notifications.rendered(
        {"topic": "demand_closed", "title": "需求甲", "at": "2025-01-01T00:00:00+08:00"}, CHINESE
    )
    assert told["message"] == {"title": "您的需求已关闭", "text": "需求甲 已关闭。"}
    assert told["title"] == "需求甲"  # the stored data stays as it was
