"""route(..., roles=...) (chalicelib/api/routing.py): the role check runs before the handler and the
roles are documented; app.py only wires (imports at the top, services from the one container)."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from chalicelib import composition
from chalicelib.core.auth import ROLES
from chalicelib.core.errors import Conflict
from chalicelib.core.route_registry import ROUTES
from chalicelib.scoring import scheme
from tests.conftest import auth

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
API = sorted((ROOT / "chalicelib" / "api").glob("*.py"))
NATIONAL_ONLY = "/scoring-scheme"  # PUT: roles=("national_admin",), with a body


@pytest.fixture
def reached(monkeypatch):
    """Replaces the handler's domain call: records that the handler body ran."""
    calls = []

    def store_new(*args, **kwargs):
        calls.append(args)
        raise Conflict("the handler ran")

    monkeypatch.setattr(scheme, "store_new", store_new)
    return calls


def test_anonymous_is_401_before_the_body_is_read(client, reached):
    response = client.call(
        "PUT", NATIONAL_ONLY, raw=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["detail"] == "This action needs a bearer token"
    assert reached == []


def test_another_role_is_403_before_the_body_is_read(client, reached):
    response = client.call("PUT", NATIONAL_ONLY, raw=b"{not json", headers=auth(role="user"))
    assert response.status == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["detail"] == "Role user may not do this; allowed: national_admin"
    assert reached == []


def test_a_bad_token_is_401_even_on_a_role_route(client, reached):
    response = client.call(
        "PUT",
        NATIONAL_ONLY,
        raw=b"{}",
        headers={"Authorization": "Bearer nope", "Content-Type": "application/json"},
    )
    assert response.status == 401 and reached == []


def test_an_allowed_role_reaches_the_handler(client, reached):
    response = client.call("PUT", NATIONAL_ONLY, raw=b"{not json", headers=auth(role="national_admin"))
    assert response.status == 400  # now the body is judged: malformed JSON
    good = scheme.describe(scheme.default_scheme())
    body = {k: good[k] for k in scheme.SchemeIn.model_fields if k in good}
    response = client.put(NATIONAL_ONLY, body, headers=auth(role="national_admin"))
    assert response.status == 409 and len(reached) == 1, response.json


def test_declared_roles_are_in_the_openapi_document(client):
    document = client.get("/openapi.json").json
    declared = [r for r in ROUTES if r.roles]
    assert len(declared) >= 40
    for r in declared:
        op = document["paths"][r.path][r.method.lower()]
        assert op["x-roles"] == list(r.roles), (r.method, r.path)
        assert all(role in op["description"] for role in r.roles)
        assert op["security"] == [{"bearer": []}]
        assert {"401", "403"} <= set(op["responses"])
    put_scheme = document["paths"][NATIONAL_ONLY]["put"]
    assert put_scheme["x-roles"] == ["national_admin"]
    assert document["paths"]["/filings"]["post"]["x-roles"] == ["filer", "province_admin"]
    assert "x-roles" not in document["paths"]["/filings"]["get"]  # anyone, signed in or not


def test_declared_roles_are_roles_and_need_a_token():
    for r in ROUTES:
        assert set(r.roles) <= set(ROLES), (r.method, r.path)
        if r.roles:
            assert r.auth == "required", (r.method, r.path)


# ---- app.py only wires ---------------------------------------------------------------


def _functions(tree: ast.AST):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_app_imports_only_at_the_top():
    tree = ast.parse(APP.read_text(encoding="utf-8"))
    local = [
        (f.name, n.lineno)
        for f in _functions(tree)
        for n in ast.walk(f)
        if isinstance(n, (ast.Import, ast.ImportFrom))
    ]
    assert local == []
    body_imports = [n.lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    first_statement = next(
        n.lineno for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom, ast.Expr))
    )
    assert max(body_imports) < first_statement  # none further down the module


def test_roles_are_checked_in_one_place():
    checks = []
    for module in [APP, *API]:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        checks += [
            (module.name, n.lineno)
            for n in ast.walk(tree)
            if isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", None)) in ("require", "admit")
        ]
    routing = ROOT / "chalicelib" / "api" / "routing.py"
    guard = next(
        f for f in _functions(ast.parse(routing.read_text(encoding="utf-8"))) if f.name == "_guarded"
    )
    assert len(checks) == 1 and checks[0][0] == "routing.py"  # no hand-written checks in handlers
    assert guard.lineno < checks[0][1] <= guard.end_lineno  # in route()'s wrapper only


def test_app_declares_no_route_of_its_own():
    assert "route(" not in APP.read_text(encoding="utf-8")  # each capability's are in chalicelib/api/


def test_app_keeps_no_services_of_its_own():
    import app
    from chalicelib.core.auth import Authenticator
    from chalicelib.usage.robots import Robots

    assert not [name for name, value in vars(app).items() if isinstance(value, (Authenticator, Robots))]


def test_services_build_the_authenticator_once_and_again_for_new_settings(store):
    built = composition.services()
    assert composition.services().authenticator is built.authenticator
    assert composition.override(clock=built.clock).authenticator is built.authenticator
    other = composition.override(settings=replace(built.settings, jwt_secret="x" * 40))
    assert other.authenticator is not built.authenticator
    assert composition.services().robots is composition.services().robots
