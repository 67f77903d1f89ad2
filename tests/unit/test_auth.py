"""Every write route is in the role matrix and documented as needing a token."""

from __future__ import annotations

from tests.support.roles import ALLOWED, write_routes


def test_every_write_route_is_in_the_matrix():
    unknown = [r for r in write_routes() if r not in ALLOWED]
    assert not unknown, f"add these write routes to ALLOWED in tests/support/roles.py: {unknown}"


def test_every_write_route_is_documented_as_needing_a_token():
    from chalicelib.core.route_registry import ROUTES

    documented = {(r.method, r.path): r.auth for r in ROUTES}
    assert {r: documented.get(r) for r in write_routes()} == {r: "required" for r in write_routes()}
