"""The live local stack, served once per session: moto, the API over HTTP, the stream poller, the scheduler.

Override `stack_env` in a nearer conftest to change its environment (e.g.
{"NAVI_NOW": "2025-12-31T22:59:00+08:00"}). `api` is the one `Client` over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Client, over_http
from tests.support.served import quick_session


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


@pytest.fixture
def api(stack) -> Iterator[Client]:
    """The API of the session stack over HTTP; restores its tables and services first."""
    stack.ensure()
    session = quick_session()
    yield Client(over_http(stack.url, session), url=stack.url, stack=stack, session=session)
    session.close()
