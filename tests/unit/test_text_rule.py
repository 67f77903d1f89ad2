"""The one text rule (core/schemas.py Text): one-line names refuse line separators and invisible format
characters; every text refuses tag characters; multi-line text keeps its line breaks."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from chalicelib.core.schemas import Text

ONE_LINE = TypeAdapter(Text(0, 200))
LINES = TypeAdapter(Text(0, 2000, multiline=True))


@pytest.mark.parametrize(
    "text",
    [
        "示范\u2028企业",
        "示范\u2029企业",
        "示范\u200b企业",
        "示范\u200d企业",
        "示范\ufeff",
        "示范\u00ad企业",
        "a\r\nb",
        "a\nb",
        "a\tb",
        "\u200b",
        "a\x00b",
        "\u202e示范",
    ],
)
def test_one_line_text_refuses_separators_invisible_and_control_characters(text):
    with pytest.raises(ValidationError):
        ONE_LINE.validate_python(text)


@pytest.mark.parametrize("text", ["示范\U000e0041企业", "\U000e0001", "a\U000e007fb", "\u200b\u2060"])
def test_tag_characters_and_invisible_only_text_are_refused_in_any_text(text):
    for rule in (ONE_LINE, LINES):
        with pytest.raises(ValidationError):
            rule.validate_python(text)


@pytest.mark.parametrize("text", ["示范企业（集团）", "=1+1", "Zhang San", "报告 v2.pdf"])
def test_plain_text_passes_both_rules(text):
    assert ONE_LINE.validate_python(text) == text and LINES.validate_python(text) == text


def test_multi_line_text_keeps_line_breaks_and_separators():
    assert LINES.validate_python("第一段\n第二段\t完\u2028第三段") == "第一段\n第二段\t完\u2028第三段"
