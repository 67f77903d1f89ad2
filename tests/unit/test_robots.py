"""COUNTER robots and machines come from the counter-robots package, matched case-insensitively."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.core.config import load_settings
from chalicelib.usage import robots

AGENTS = {
    "Mozilla/5.0 (compatible; SemrushBot/7~bl)": True,  # the package's own helper calls this a human
    "python-requests/2.32": True,
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)": True,
    "CURL/8.4.0": True,
    "": True,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36": False,
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0": False,
}


@pytest.mark.parametrize("agent, robot", AGENTS.items())
def test_the_counter_lists_classify_agents_case_insensitively_with_no_file_configured(
    agent, robot, monkeypatch
):
    monkeypatch.delenv("NAVI_ROBOTS_FILE", raising=False)
    assert robots.counter().is_robot(agent) is robot


def test_both_counter_lists_are_loaded_in_full_from_the_package():
    import counter_robots

    assert robots.counter().size == len(robots.counter_patterns()) >= 350
    assert not counter_robots.is_robot_or_machine(
        "Mozilla/5.0 (compatible; SemrushBot/7~bl)"
    )  # why we match ourselves


def test_a_bad_pattern_is_skipped_without_disabling_the_others():
    matcher = robots.Robots(["bot", "bad(", r"^Java/\d"])
    assert matcher.size == 2 and matcher.is_robot("java/17") and matcher.is_robot("SomeBOT")


def test_settings_no_longer_name_a_robots_file():
    assert not hasattr(
        load_settings({"NAVI_STAGE": "local", "NAVI_ROBOTS_FILE": "/nowhere.json"}), "robots_file"
    )


def test_requirements_pin_counter_robots_for_the_lambda():
    lines = (Path(__file__).resolve().parent.parent.parent / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("counter-robots==") for line in lines)
