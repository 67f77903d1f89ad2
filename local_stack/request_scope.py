"""One request per thread in the local server, as one Lambda environment serves one event at a time.

Chalice keeps the request being served in `app.current_request` (and its context in
`app.lambda_context`): plain attributes of the one app object. Lambda never runs two
events in one environment, but the local server serves each connection on its own
thread, so a request could read another's caller and body. `chalice local` makes the
request per thread with Chalice's public `LocalChalice`, by giving the app that class;
this does the same and makes the Lambda context per thread too. The deployed app is untouched.
"""

from __future__ import annotations

import threading
from typing import Any

from chalice.local import LocalChalice


class _LambdaContextPerThread:
    """`lambda_context` kept per thread, as `LocalChalice` keeps `current_request`."""

    _CONTEXTS = threading.local()

    @property
    def lambda_context(self) -> Any:
        return getattr(self._CONTEXTS, "value", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._CONTEXTS.value = value


def one_request_per_thread(app: Any) -> None:
    """Make `app`'s current request and Lambda context per thread (idempotent)."""
    cls = type(app)
    if issubclass(cls, _LambdaContextPerThread):
        return
    for name in ("current_request", "lambda_context"):  # set on the instance before: would hide the class's
        app.__dict__.pop(name, None)
    # What chalice.local.create_local_server does for `chalice local` (it cannot take our handler).
    app.__class__ = type(f"Local{cls.__name__}", (_LambdaContextPerThread, LocalChalice, cls), {})
