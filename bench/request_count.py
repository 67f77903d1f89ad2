"""Counts AWS requests by operation with botocore event hooks, for the benchmark scripts."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager

import botocore.session

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class RequestCounter:
    """Registers a `before-parameter-build` hook on every botocore client created after `install()`."""

    def __init__(self):
        self.calls: Counter[str] = Counter()
        self.items_written = 0
        self._original = None

    def _hook(self, params, model, **_):
        self.calls[model.name] += 1
        if model.name == "TransactWriteItems":
            self.items_written += len(params.get("TransactItems", []))
        elif model.name == "BatchWriteItem":
            self.items_written += sum(len(v) for v in params.get("RequestItems", {}).values())
        elif model.name in WRITES:
            self.items_written += 1

    def install(self) -> None:
        original = botocore.session.Session.create_client
        hook = self._hook

        def create_client(session, *args, **kwargs):
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-parameter-build.dynamodb", hook)
            return client

        self._original = original
        botocore.session.Session.create_client = create_client

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op in WRITES)

    @contextmanager
    def window(self):
        """Yields a dict filled with (write requests, items written, all requests) for the block."""
        before = (self.writes, self.items_written, sum(self.calls.values()))
        out: dict = {}
        yield out
        out["write_requests"] = self.writes - before[0]
        out["items_written"] = self.items_written - before[1]
        out["requests"] = sum(self.calls.values()) - before[2]
