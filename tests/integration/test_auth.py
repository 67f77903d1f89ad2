"""Who may call what: bearer tokens (HS256 locally, RS256 via JWKS when deployed), the
role × route × province matrix of every write route, and logs that never carry a token."""

from __future__ import annotations

import io
import json
import logging
import re
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import composition
from chalicelib.core.auth import Authenticator
from chalicelib.core.config import LOCAL_JWT_SECRET, ConfigError, load_settings
from chalicelib.core.errors import Unauthorized
from tests.conftest import auth, token
from tests.support import approved_filing, report_body, stored_items
from tests.support.documents import form as annual_form
from tests.support.roles import ALLOWED, NATIONAL_RECORDS, PROVINCE_BOUND, ROLES, write_routes

HOME, ELSEWHERE = "320000", "330000"


def who(role: str, province: str = HOME) -> dict:
    """Token claims for a role; province roles belong to `province`."""
    claims = {"sub": f"{role}-{province}", "role": role}
    if role in ("province_admin", "filer"):
        claims["province"] = province
    if role == "user":
        claims["side"] = "enterprise"
    return claims


# ---- the matrix (declared in tests/support/roles.py) ---------------------------------------


def valid_body(method: str, path: str, filing_id: str, province: str = HOME):
    """A body the route would accept from an allowed caller (as far as the contract says)."""
    return {
        ("POST", "/filings"): report_body(province),
        ("POST", "/filings/{filing_id}/review"): {"decision": "approve"},
        ("POST", "/publications/{publication_id}/review"): {"decision": "approve"},
        ("PUT", "/filings/{filing_id}/application"): {"status": "applied"},
        ("POST", "/publications"): {"kind": "news", "title": "新闻", "province": province, "body": "正文"},
        ("POST", "/events"): {"events": [{"id": str(uuid.uuid4()), "type": "view", "filing": filing_id}]},
        ("POST", "/filings/{filing_id}/comments"): {"text": "很有参考价值"},
        ("PUT", "/filings/{filing_id}/evaluation"): {"score": 4, "feedback": "好"},
        ("PUT", "/provinces/{code}/annual-forms/{year}"): annual_form(),
        ("POST", "/provinces/{code}/annual-forms/{year}/files"): {
            "name": "资金证明.pdf",
            "purpose": "funding_proof",
            "content_type": "application/pdf",
            "size": 10,
            "sha256": "0" * 64,
        },
        ("POST", "/demands"): {
            "to": HOME,
            "kind": "demand",
            "industry": "5",
            "title": "需求",
            "text": "需要专利导航服务",
        },
        ("PUT", "/provinces/{code}/funded-projects/{cycle}"): {
            "projects": [{"number": "JS-2024-01", "title": "导航项目"}]
        },
        ("POST", "/filings/{filing_id}/revisions"): report_body(province),
        ("POST", "/publications/{publication_id}/revisions"): {
            "kind": "news",
            "title": "新闻",
            "province": province,
            "body": "修订正文",
        },
        **{
            ("POST", f"/{owner}s/{{{owner}_id}}/files"): {
                "name": "报告.pdf",
                "purpose": "report",
                "content_type": "application/pdf",
                "size": 10,
                "sha256": "0" * 64,
            }
            for owner in ("filing", "publication")
        },
    }.get((method, path), {})


@pytest.fixture
def targets(client):
    """Real records for the path parameters: an approved filing and a pending publication of HOME, and a
    national notice (NATIONAL_RECORDS)."""
    filing = approved_filing(client, HOME)
    publication = client.post(
        "/publications", valid_body("POST", "/publications", ""), headers=auth(**who("filer"))
    ).json
    notice = client.post(
        "/publications",
        {"kind": "notice", "title": "通知", "body": "正文"},
        headers=auth(**who("national_admin")),
    ).json
    return {
        "filing_id": filing["id"],
        "publication_id": publication["id"],
        "comment_id": "c-1",
        "national_publication_id": notice["id"],
        "code": HOME,
        "invitation": "A" * 32,
        "year": "2024",
        "cycle": "2024",
        "run_id": "r-1",
        "sub": "expert-x",
        "org_id": "org-x",
        "population": "service_bases",
        "objection_id": "obj-x",
        "province": HOME,
        "unit": "SB-x",
        "file_id": "file-1",
        "demand_id": "d-1",
    }


def concrete(path: str, targets: dict) -> str:
    return re.sub(r"{(\w+)}", lambda m: targets[m.group(1)], path)


def _bad_tokens() -> dict[str, str]:
    now = int(time.time())
    base = {"sub": "u1", "role": "national_admin", "exp": now + 600}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "missing": "",
        "not a JWT": "Bearer not-a-jwt",
        "not bearer": "Basic dXNlcjpwYXNz",
        "empty bearer": "Bearer ",
        "expired": "Bearer " + jwt.encode({**base, "exp": now - 5}, LOCAL_JWT_SECRET, algorithm="HS256"),
        "wrong secret": "Bearer "
        + jwt.encode(base, "some-other-secret-of-enough-length!", algorithm="HS256"),
        "wrong algorithm HS512": "Bearer " + jwt.encode(base, LOCAL_JWT_SECRET, algorithm="HS512"),
        "wrong algorithm RS256": "Bearer " + jwt.encode(base, key, algorithm="RS256"),
        "alg none": "Bearer " + jwt.encode(base, None, algorithm="none"),
        "no exp": "Bearer "
        + jwt.encode({"sub": "u1", "role": "national_admin"}, LOCAL_JWT_SECRET, algorithm="HS256"),
        "no sub": "Bearer "
        + jwt.encode({"role": "national_admin", "exp": now + 600}, LOCAL_JWT_SECRET, algorithm="HS256"),
        "unknown role": "Bearer " + jwt.encode({**base, "role": "root"}, LOCAL_JWT_SECRET, algorithm="HS256"),
        "filer without province": "Bearer "
        + jwt.encode({**base, "role": "filer"}, LOCAL_JWT_SECRET, algorithm="HS256"),
        "unknown province": "Bearer "
        + jwt.encode({**base, "role": "filer", "province": "999999"}, LOCAL_JWT_SECRET, algorithm="HS256"),
    }


def test_every_write_route_refuses_missing_and_bad_tokens_with_401(client, store, targets):
    before = stored_items(store)
    failures = []
    bad_tokens = _bad_tokens()  # one RSA key for the run, not one per route (~40 ms each)
    for method, path in write_routes():
        url = concrete(path, targets)
        for name, header in bad_tokens.items():
            headers = {"Content-Type": "application/json", **({"Authorization": header} if header else {})}
            response = client.call(
                method, url, valid_body(method, path, targets["filing_id"]), headers=headers
            )
            if response.status != 401 or response.headers.get("Content-Type") != "application/problem+json":
                failures.append((method, path, name, response.status))
    assert not failures
    assert stored_items(store) == before


def test_every_write_route_refuses_roles_it_does_not_allow_with_403(client, store, targets):
    failures = []
    for method, path in write_routes():
        allowed = ALLOWED.get((method, path))
        if allowed is None:
            continue
        for role in ROLES:
            national = role == "national_admin" and (method, path) in NATIONAL_RECORDS
            url = concrete(
                path,
                {**targets, "publication_id": targets["national_publication_id"]} if national else targets,
            )
            before = stored_items(store)
            body = valid_body(method, path, targets["filing_id"])
            response = client.call(method, url, body, headers=auth(**who(role)))
            refused = response.status == 403
            if role in allowed and response.status in (401, 403):
                failures.append((method, path, role, response.status, "refused an allowed role"))
            if role not in allowed and (not refused or stored_items(store) != before):
                failures.append((method, path, role, response.status, "let a role through"))
    assert not failures


def test_province_bound_routes_refuse_another_provinces_staff(client, store, targets):
    failures = []
    for method, path in sorted(PROVINCE_BOUND):
        for role in sorted(ALLOWED[(method, path)] - {"national_admin"}):  # bound to no province
            before = stored_items(store)
            response = client.call(
                method,
                concrete(path, targets),
                valid_body(method, path, targets["filing_id"]),
                headers=auth(**who(role, ELSEWHERE)),
            )
            if response.status != 403 or stored_items(store) != before:
                failures.append((method, path, role, response.status))
    assert not failures


def test_filing_for_another_province_in_the_body_is_403(client, store):
    before = stored_items(store)
    for role in ("filer", "province_admin"):
        response = client.post("/filings", report_body(ELSEWHERE), headers=auth(**who(role, HOME)))
        assert response.status == 403
        response = client.post(
            "/publications",
            valid_body("POST", "/publications", "", ELSEWHERE),
            headers=auth(**who(role, HOME)),
        )
        assert response.status == 403
    assert stored_items(store) == before


def test_a_comment_is_deleted_by_its_author_or_a_national_admin_only(client, targets):
    path = f"/filings/{targets['filing_id']}/comments"
    made = [
        client.post(path, {"text": f"评论{i}"}, headers=auth(sub="author", role="user", side="government"))
        for i in range(2)
    ]
    assert all(m.status == 201 for m in made), [m.json for m in made]
    first, second = (m.json["id"] for m in made)
    for stranger in (who("user"), who("province_admin"), who("filer"), who("expert")):
        assert client.delete(f"{path}/{first}", headers=auth(**stranger)).status == 403
    assert (
        client.delete(f"{path}/{first}", headers=auth(sub="author", role="user", side="government")).status
        == 204
    )
    assert client.delete(f"{path}/{second}", headers=auth(**who("national_admin"))).status == 204


def test_reads_of_approved_filings_need_no_token(client, targets):
    assert client.get(f"/filings/{targets['filing_id']}").status == 200
    assert client.get("/filings").status == 200


# ---- RS256 via JWKS on a deployed stage --------------------------------------------------

ISSUER, AUDIENCE = "https://idp.example.gov.cn/realms/cnipa", "patentnavi-eval"


class Idp:
    """A stand-in identity provider: an RSA key pair and its JWKS document."""

    def __init__(self, kid: str = "key-1"):
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def token(self, kid: str | None = None, key=None, **claims) -> str:
        payload = {
            "sub": "u-rs",
            "role": "filer",
            "province": HOME,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 600,
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})


class StubJWKS(jwt.PyJWKClient):
    """PyJWKClient answering from a document in memory instead of the network."""

    def __init__(self, document: dict):
        super().__init__("https://idp.invalid/jwks.json", cache_keys=False, cache_jwk_set=False)
        self.document = document

    def fetch_data(self):
        return self.document


def deployed_env(jwks_url: str = "https://idp.invalid/jwks.json") -> dict:
    return {
        "NAVI_STAGE": "prod",
        "NAVI_JWT_ISSUER": ISSUER,
        "NAVI_JWT_AUDIENCE": AUDIENCE,
        "NAVI_JWKS_URL": jwks_url,
        "NAVI_CURSOR_SECRET": "c" * 32,
        "NAVI_PSEUDONYM_SECRET": "p" * 32,
        "NAVI_TABLE_PREFIX": "navi-test",
        "AWS_REGION": "cn-north-1",
    }


@pytest.fixture(scope="module")
def idp():
    return Idp()


@pytest.fixture
def deployed(idp):
    return Authenticator(load_settings(deployed_env()), jwks_client=StubJWKS(idp.jwks))


def test_a_deployed_stage_accepts_rs256_from_its_identity_provider(deployed, idp):
    caller = deployed.caller(f"Bearer {idp.token()}")
    assert (caller.sub, caller.role, caller.province) == ("u-rs", "filer", HOME)


@pytest.mark.parametrize(
    "case",
    [
        "wrong issuer",
        "no issuer",
        "wrong audience",
        "no audience",
        "expired",
        "unknown kid",
        "other key",
        "hs256 local secret",
        "hs256 public key",
        "alg none",
        "no exp",
    ],
)
def test_a_deployed_stage_refuses_tokens_its_identity_provider_did_not_issue(deployed, idp, case):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {
        "sub": "u1",
        "role": "national_admin",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": int(time.time()) + 600,
    }
    token = {
        "wrong issuer": lambda: idp.token(iss="https://evil.example/"),
        "no issuer": lambda: idp.token(iss=None),
        "wrong audience": lambda: idp.token(aud="another-app"),
        "no audience": lambda: idp.token(aud=None),
        "expired": lambda: idp.token(exp=int(time.time()) - 5),
        "unknown kid": lambda: idp.token(kid="key-2"),
        "other key": lambda: idp.token(key=other),
        "hs256 local secret": lambda: jwt.encode(
            claims, LOCAL_JWT_SECRET, algorithm="HS256", headers={"kid": idp.kid}
        ),
        "hs256 public key": lambda: _hmac_with(idp.public_pem(), claims, idp.kid),
        "alg none": lambda: jwt.encode(claims, None, algorithm="none", headers={"kid": idp.kid}),
        "no exp": lambda: idp.token(exp=None),
    }[case]()
    with pytest.raises(Unauthorized):
        deployed.caller(f"Bearer {token}")


def _hmac_with(secret: bytes, claims: dict, kid: str) -> str:
    """The algorithm-confusion attack: HS256 keyed with the RSA public key (PyJWT refuses to sign it)."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def test_the_local_stage_refuses_rs256_tokens(idp):
    local = Authenticator(load_settings({"NAVI_STAGE": "local"}), jwks_client=StubJWKS(idp.jwks))
    with pytest.raises(Unauthorized):
        local.caller(f"Bearer {idp.token()}")


def test_a_deployed_stage_refuses_the_local_secret_and_clock_override():
    for knob in ({"NAVI_JWT_SECRET": LOCAL_JWT_SECRET}, {"NAVI_NOW": "2024-01-01T00:00:00+08:00"}):
        with pytest.raises(ConfigError):
            load_settings({**deployed_env(), **knob})
    with pytest.raises(ConfigError):
        load_settings({"NAVI_STAGE": "prod"})  # no issuer, audience or JWKS: refuse to start


@pytest.fixture
def jwks_url(idp):
    """The identity provider's JWKS served over HTTP on a free local port (PyJWT fetches http/https only)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    document = json.dumps(idp.jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


def test_the_deployed_api_verifies_tokens_against_a_jwks_document(client, store, idp, jwks_url):
    """Black box through the API on a deployed stage: the app fetches the JWKS from its URL."""
    settings = load_settings(deployed_env(jwks_url))
    composition.install(composition.Services(settings=settings, clock=store.clock))

    created = client.post(
        "/filings",
        report_body(HOME),
        headers={"Authorization": f"Bearer {idp.token()}", "Content-Type": "application/json"},
    )
    assert created.status == 201, created.json
    assert created.json["status"] == "pending"

    local = token(sub="forger", role="filer", province=HOME)
    for bad in (local, idp.token(aud="someone-else"), idp.token(iss="https://evil.example/")):
        before = stored_items(store)
        response = client.post(
            "/filings",
            report_body(HOME),
            headers={"Authorization": f"Bearer {bad}", "Content-Type": "application/json"},
        )
        assert response.status == 401, response.json
        assert response.headers["Content-Type"] == "application/problem+json"
        assert stored_items(store) == before
    admin = idp.token(sub="boss", role="national_admin", province=None)
    reviewed = client.post(
        f"/filings/{created.json['id']}/review",
        {"decision": "approve"},
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
    )
    assert reviewed.status == 200 and reviewed.json["status"] == "approved"


# ---- logging -------------------------------------------------------------------------------


@pytest.fixture
def log_lines():
    """Every line the app's Powertools logger writes during the test, as parsed JSON."""
    import app

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(app.logger.registered_formatter)
    target = logging.getLogger(app.logger.name)
    target.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        target.removeHandler(handler)


def test_log_lines_carry_a_request_id_and_never_the_token(client, store, log_lines, monkeypatch):
    good = token(sub="filer-js", role="filer", province=HOME)
    expired = token(sub="filer-js", role="filer", province=HOME, exp=int(time.time()) - 60)
    headers = {"Authorization": f"Bearer {good}", "Content-Type": "application/json"}
    assert client.post("/filings", report_body(HOME), headers=headers).status == 201
    assert client.get("/filings", headers=headers).status == 200
    assert client.get("/filings", headers={"Authorization": f"Bearer {expired}"}).status == 401
    assert client.post("/filings", raw=b"{oops", headers=headers).status == 400

    from chalicelib.documents import filings

    credential = headers["Authorization"]

    def explode(*args, **kwargs):  # a careless error message quoting the caller's credential
        raise RuntimeError(f"store fell over while serving {credential}")

    monkeypatch.setattr(filings, "list_page", explode)
    crashed = client.get("/filings", headers=headers)
    assert crashed.status == 500 and good not in crashed.body.decode()

    lines = log_lines()
    assert len(lines) >= 5
    request_ids = [line.get("request_id") for line in lines if line.get("message") == "request"]
    assert len(request_ids) == 5 and all(request_ids) and len(set(request_ids)) == 5
    text = json.dumps(lines)
    for secret in (good, expired, good.split(".")[2], expired.split(".")[2]):
        assert secret not in text
    assert "authorization" not in text.lower()
