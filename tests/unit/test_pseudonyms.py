"""Pseudonyms of users in usage facts: keyed, stable within a cycle, unlinkable across cycles."""

from __future__ import annotations

import pytest

from chalicelib import composition
from chalicelib.core import pseudonyms
from chalicelib.core.config import load_settings


@pytest.fixture
def secret():
    def use(value: str) -> None:
        composition.override(settings=load_settings({"NAVI_STAGE": "test", "NAVI_PSEUDONYM_SECRET": value}))

    use("k" * 32)
    yield use
    composition.reset()


def test_a_pseudonym_is_stable_within_a_cycle_and_differs_across_cycles_and_users(secret):
    first = pseudonyms.of("reader-1", "2024")
    assert first == pseudonyms.of("reader-1", "2024") and first.startswith(pseudonyms.PREFIX)
    assert "reader-1" not in first
    assert pseudonyms.of("reader-1", "2025") != first
    assert pseudonyms.of("reader-2", "2024") != first


def test_without_the_stage_secret_the_pseudonym_cannot_be_recomputed(secret):
    first = pseudonyms.of("reader-1", "2024")
    secret("x" * 32)
    assert pseudonyms.of("reader-1", "2024") != first


@pytest.mark.parametrize(
    "agent, family",
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "Chrome",
        ),
        ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0", "Edge"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1",
            "Safari",
        ),
        ("Mozilla/5.0 (Linux; Android 13) Chrome/116 Mobile Safari/537.36 MicroMessenger/8.0.42", "WeChat"),
        ("curl/8.4.0", "other"),
        (None, "none"),
        ("", "none"),
    ],
)
def test_an_agent_is_reduced_to_its_browser_family(agent, family):
    assert pseudonyms.agent_family(agent) == family


def test_a_display_name_is_stable_keyed_and_shares_no_key_with_the_facts_pseudonyms(secret):
    name = pseudonyms.display_name("reader-1")
    assert name == pseudonyms.display_name("reader-1") != pseudonyms.display_name("reader-2")
    assert name.startswith(pseudonyms.DISPLAY_PREFIX) and len(name) == len(pseudonyms.DISPLAY_PREFIX) + 10
    digits = name.removeprefix(pseudonyms.DISPLAY_PREFIX)
    assert all(
        digits not in pseudonyms.of("reader-1", cycle) for cycle in ("2021-2023", "2024", "2025", None)
    )
    secret("j" * 32)
    assert pseudonyms.display_name("reader-1") != name
