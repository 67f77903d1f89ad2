"""Small storage plumbing shared by the domain modules: transactions and key helpers."""
from __future__ import annotations

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.core.models import Counter, FactBase

__all__ = ["transaction", "TransactWriteError", "cancelled_by_condition"]


def transaction() -> TransactWrite:
    """A write transaction on the bound endpoint (spans the facts and records tables)."""
    # Reuse the models' cached connection: a new Connection builds a botocore client (~200 ms)
    # on every write. `models.bind` drops the cache when the endpoint changes.
    return TransactWrite(connection=FactBase._get_connection().connection)


def cancelled_by_condition(error: TransactWriteError) -> bool:
    """True when a transaction failed only because a condition did not hold."""
    reasons = error.cancellation_reasons or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


def ping() -> None:
    """One cheap read of the counters table; raises whatever the store raises when unreachable."""
    Counter.count("HEALTH")
