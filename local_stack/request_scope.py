"""One request per thread in the local server, as one Lambda environment serves one event at a time.

Chalice keeps the request being served in `app.current_request` (and its context in
`app.lambda_context`): plain attributes of the one app object. Lambda never runs two
events in one environment, but the local server serves each connection on its own
thread, so a request could read another's caller and body. These attributes become
per-thread here; the deployed app is untouched.
"""

from __future__ import annotations

import threading
from typing import Any

_PER_THREAD = ("current_request", "lambda_context")


def _per_thread(name: str) -> property:
    def get(self: Any) -> Any:
        return getattr(self._navi_thread_state, name, None)

    def set_(self: Any, value: Any) -> None:
        self._navi_thread_state.__dict__[name] = value

    return property(get, set_)


def one_request_per_thread(app: Any) -> None:
    """Make `app`'s current request and Lambda context per thread (idempotent)."""
    if getattr(type(app), "_navi_per_thread", False):
        return
    state = threading.local()
    cls = type(app)
    scoped = type(
        f"PerThread{cls.__name__}",
        (cls,),
        {"_navi_per_thread": True, **{name: _per_thread(name) for name in _PER_THREAD}},
    )
    for name in _PER_THREAD:
        app.__dict__.pop(name, None)
    object.__setattr__(app, "_navi_thread_state", state)
    app.__class__ = scoped
