"""A scheme stored before the swarm thresholds existed reads back with their defaults."""

from __future__ import annotations

from chalicelib.scoring import scheme
from tests.support.scoring import RULES


def test_a_scheme_stored_before_the_swarm_thresholds_existed_gets_their_defaults():
    old = scheme.default_scheme()
    old["flags"] = {k: v for k, v in old["flags"].items() if not k.startswith("swarm_")}
    assert scheme.flag_rules(old)["swarm_min_accounts"] == RULES["swarm_min_accounts"]
