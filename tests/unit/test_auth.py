"""Who may call what: bearer tokens (HS256 locally, RS256 via JWKS when deployed), the (unit part: the tests here need neither moto nor the stack)."""
from __future__ import annotations

from tests.integration.test_auth import ALLOWED, write_routes


def test_every_write_route_is_in_the_matrix():
    unknown = [r for r in write_routes() if r not in ALLOWED]
    assert not unknown, f"add these write routes to ALLOWED in tests/integration/test_auth.py: {unknown}"


def test_every_write_route_is_documented_as_needing_a_token():
    from chalicelib.core import http
    documented = {(r.method, r.path): r.auth for r in http.ROUTES}
    assert {r: documented.get(r) for r in write_routes()} == {r: "required" for r in write_routes()}
