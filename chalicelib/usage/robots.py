"""COUNTER robots and machines: user agents whose events are accepted but never counted.

The lists come from the `counter-robots` package (the COUNTER Code of Practice's robots
and machines lists, shipped as package data), so every stage and the Lambda package carry
the full lists. Its own helpers match case-sensitively (`SemrushBot` passes the lowercase
`bot` pattern as a human); COUNTER matching is case-insensitive, so this module compiles
the same patterns itself.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files

_META = re.compile(r"[\\^$.|?*+()\[\]{}]")
_UPPER_ESCAPE = re.compile(r"\\[A-Z]")
LISTS = ("robot.txt", "machine.txt")  # the package's data files: robots/crawlers, then scripts


class Robots:
    """A precompiled matcher over many patterns, with a cache for the agents seen most."""

    def __init__(self, patterns: list[str] | tuple[str, ...]):
        # Matching a lowercased agent against lowercased patterns is case-insensitive matching
        # (unless a pattern has an uppercase escape such as \S, which keeps re.IGNORECASE).
        # Plain words are substring tests and each regex is tried on its own: Python's re does
        # not turn one big alternation into a trie, and on the COUNTER lists that alternation
        # is ~4x slower than this loop (bench/bench_robots.py).
        literals, regexes = [], []
        for pattern in patterns:
            if not _META.search(pattern):
                literals.append(pattern.lower())
                continue
            try:
                regexes.append(
                    re.compile(pattern, re.IGNORECASE)
                    if _UPPER_ESCAPE.search(pattern)
                    else re.compile(pattern.lower())
                )
            except re.error:
                continue  # one bad upstream pattern must not disable the whole list
        self.size = len(literals) + len(regexes)
        self._literals = tuple(literals)
        self._regexes = tuple(regexes)
        self.is_robot = lru_cache(maxsize=4096)(self._match)

    def _match(self, user_agent: str | None) -> bool:
        agent = (user_agent or "").lower()
        return any(word in agent for word in self._literals) or any(r.search(agent) for r in self._regexes)


def counter_patterns() -> list[str]:
    """Every pattern of the COUNTER robots and machines lists, as the package ships them."""
    data = files("counter_robots") / "data"
    return [
        line.strip()
        for name in LISTS
        for line in (data / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


@lru_cache(maxsize=1)
def counter() -> Robots:
    """The matcher over the COUNTER lists (built once per process)."""
    return Robots(counter_patterns())
