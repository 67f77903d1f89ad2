"""The one API harness and the one token helper, for every level of the suite.

`Client` speaks one call convention over either transport: chalice.test in-process (the
`client` fixture of tests/integration) or HTTP to the live local stack (the `api` fixture of
tests/e2e). `token` mints a local-stage bearer token; `auth` makes the headers that carry it.
tests/unit needs neither moto nor the stack; tests/integration/conftest.py holds the moto
store, tests/e2e/conftest.py the session stack.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import botocore.loaders
import botocore.session
import pynamodb.connection.base

from local_stack.tokens import token

# moto needs credentials and a region before any client exists; botocore 1.44 would route
# stream calls to an account-id host moto does not answer.
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_REGION", "cn-north-1")
os.environ.setdefault("AWS_DEFAULT_REGION", os.environ["AWS_REGION"])

# Every botocore session builds its own Loader and re-parses botocore's service JSON (endpoints,
# dynamodb, s3: ~70 json.loads per moto-backed test), because moto drops boto3's default session on
# each mock_aws and PynamoDB opens a session per model connection. One Loader for the process
# halves a moto-backed test's CPU (tests/integration/test_filings.py: 52 s -> 25 s); it only
# caches what it read from botocore's own files.
botocore.session.create_loader = functools.lru_cache(maxsize=None)(botocore.loaders.create_loader)

# Every bind of the models (each store fixture) drops their connections, and each model's new
# connection opens its own botocore session: ~130 handler registrations, ~6 ms, for a container of
# configuration. One session per thread serves them all (PynamoDB keeps sessions per thread because
# client creation is not thread-safe; each connection still builds its own client).
_sessions = threading.local()


def _thread_session() -> botocore.session.Session:
    if getattr(_sessions, "session", None) is None:
        _sessions.session = botocore.session.get_session()
    return _sessions.session


pynamodb.connection.base.get_session = _thread_session

__all__ = ["Answer", "Client", "auth", "token"]


def auth(**claims: Any) -> dict[str, str]:
    """Headers of a JSON request carrying a local-stage token with `claims` (see `token`)."""
    return {"Authorization": f"Bearer {token(**claims)}", "Content-Type": "application/json"}


class Answer:
    """One response, alike over both transports: .status, .headers, .body (bytes), .text, .json (None if not JSON)."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body or b""
        self.text = self.body.decode("utf-8", errors="replace")
        try:
            self.json = json.loads(self.body) if self.body else None
        except ValueError:
            self.json = None

    def __repr__(self) -> str:
        return f"<Answer {self.status} {self.text[:200]!r}>"


# A transport sends (method, path, body bytes or None, headers, follow redirects) and answers.
Transport = Callable[[str, str, "bytes | None", dict, bool], Answer]


def in_process(http: Any) -> Transport:
    """chalice.test's client: the app called in this process, no socket."""

    def send(method: str, path: str, data: bytes | None, headers: dict, redirects: bool) -> Answer:
        kwargs: dict[str, Any] = {"headers": headers}
        if data is not None:
            kwargs["body"] = data
        response = getattr(http, method.lower())(path, **kwargs)
        return Answer(response.status_code, response.headers, response.body)

    return send


def over_http(url: str, session: Any) -> Transport:
    """requests to a served stack."""

    def send(method: str, path: str, data: bytes | None, headers: dict, redirects: bool) -> Answer:
        response = session.request(
            method, url + path, data=data, headers=headers, timeout=30, allow_redirects=redirects
        )
        return Answer(response.status_code, response.headers, response.content)

    return send


class Client:
    """The app's API with JSON bodies and bearer tokens, over chalice.test or HTTP alike.

    `call(method, path, body, token=..., headers=..., raw=...)`: `body` is sent as JSON, `raw`
    as given bytes; `token` is a bearer token (`auth(...)` headers work too).
    """

    token = staticmethod(token)

    def __init__(self, transport: Transport, url: str = "", stack: Any = None, session: Any = None):
        self._send, self.url, self.stack, self.session = transport, url, stack, session

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        redirects: bool = True,
    ) -> Answer:
        """Send one request; answers with its status, headers and body."""
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = (
            raw
            if raw is not None
            else (json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
        )
        if body is not None and raw is None:
            headers.setdefault("Content-Type", "application/json")
        return self._send(method, path, data, headers, redirects)

    def get(self, path: str, **kw: Any) -> Answer:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.call("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Answer:
        return self.call("DELETE", path, **kw)

    def drain(self) -> None:
        """Wait until the stack's stream handlers have seen every write so far (HTTP transport only)."""
        self.stack.drain()
