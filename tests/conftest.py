"""Stack fixtures: the whole system served in-process (moto, API, stream poller, scheduler).

`stack` starts once per session; override `stack_env` in a nearer conftest to change its
environment (e.g. {"NAVI_NOW": "2025-12-31T22:59:00+08:00"}). `api` talks to it over HTTP.
"""
from __future__ import annotations

import os
import time
from typing import Any, Iterator

import jwt
import pytest
import requests

# moto needs credentials and a region before any client exists; botocore 1.44 would route
# stream calls to an account-id host moto does not answer.
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_REGION", "cn-north-1")
os.environ.setdefault("AWS_DEFAULT_REGION", os.environ["AWS_REGION"])

JWT_SECRET = "navi-local-dev-secret"


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str | None]:
    """Environment overrides for the session stack (None removes a variable)."""
    return {}


@pytest.fixture(scope="session")
def stack(stack_env) -> Iterator[Any]:
    """The real app served with moto, its stream handlers and its schedules."""
    from local_stack.stack import start_stack
    running = start_stack(port=0, env_overrides=stack_env)
    yield running
    running.stop()


class Api:
    """A small HTTP client for the stack: base URL, JSON bodies, bearer tokens."""

    def __init__(self, stack: Any):
        self.stack = stack
        self.url = stack.url
        self.session = requests.Session()

    def token(self, role: str = "user", province: str | None = None, side: str | None = None,
              sub: str = "u1", ttl: int = 3600, **claims: Any) -> str:
        """A local-stage HS256 token."""
        payload = {"sub": sub, "role": role, "exp": int(time.time()) + ttl, **claims}
        if province:
            payload["province"] = province
        if side:
            payload["side"] = side
        return jwt.encode(payload, JWT_SECRET, algorithm="HS256")

    def request(self, method: str, path: str, json: Any = None, token: str | None = None,
                headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.request(method, self.url + path, json=json, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.request("POST", path, json=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.request("PUT", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def drain(self) -> None:
        """Wait until the stream handlers have seen every write so far."""
        self.stack.drain()


@pytest.fixture
def api(stack) -> Iterator[Api]:
    """HTTP client for the session stack; restores its tables and services first."""
    stack.ensure()
    client = Api(stack)
    yield client
    client.session.close()
