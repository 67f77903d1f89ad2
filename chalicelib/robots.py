"""COUNTER robots and crawlers: user agents whose events are accepted but never counted.

The operator installs the COUNTER list (Project-Counter/counter-bots JSON, a list of
{"pattern": regex, ...}) and points NAVI_ROBOTS_FILE at it; without it a short built-in
list catches the common crawlers. Patterns match case-insensitively anywhere in the agent.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

_META = re.compile(r"[\\^$.|?*+()\[\]{}]")

FALLBACK_PATTERNS = (
    "bot", "spider", "crawl", "slurp", "^.?$", "curl", "wget", "python-requests", "python-urllib",
    "headless", "phantomjs", "scrapy", "httpclient", "java/", "go-http-client", "libwww", "okhttp",
    "facebookexternalhit", "mediapartners", "baiduspider", "sogou", "yisouspider", "bytespider",
)


class Robots:
    """A precompiled matcher over many patterns, with a cache for the agents seen most."""

    def __init__(self, patterns: list[str] | tuple[str, ...]):
        # Two thirds of the COUNTER list are plain words: a substring test is ~15x cheaper
        # than letting one big alternation try every pattern at every position.
        literals, regexes = [], []
        for pattern in patterns:
            if not _META.search(pattern):
                literals.append(pattern.lower())
                continue
            try:
                re.compile(pattern)
            except re.error:
                continue  # one bad upstream pattern must not disable the whole list
            regexes.append(f"(?:{pattern})")
        self.size = len(literals) + len(regexes)
        self._literals = tuple(literals)
        self._regex = re.compile("|".join(regexes) or "(?!)", re.IGNORECASE)
        self.is_robot = lru_cache(maxsize=4096)(self._match)

    def _match(self, user_agent: str | None) -> bool:
        agent = user_agent or ""
        lowered = agent.lower()
        return any(word in lowered for word in self._literals) or bool(self._regex.search(agent))


def load(path: str | None) -> Robots:
    """The COUNTER list from `path` if given and readable, else the built-in fallback."""
    if path:
        try:
            entries = json.loads(Path(path).read_text(encoding="utf-8"))
            patterns = [e["pattern"] for e in entries if isinstance(e, dict) and e.get("pattern")]
            if patterns:
                return Robots(patterns)
        except (OSError, ValueError, TypeError):
            pass
    return Robots(FALLBACK_PATTERNS)
