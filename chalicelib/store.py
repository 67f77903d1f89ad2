"""Small storage plumbing shared by the domain modules: transactions and key helpers."""
from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from .models import FactBase

__all__ = ["transaction", "TransactWriteError", "cancelled_by_condition"]


def transaction() -> TransactWrite:
    """A write transaction on the bound endpoint (spans the facts and records tables)."""
    meta = FactBase.Meta
    return TransactWrite(connection=Connection(region=meta.region, host=meta.host))


def cancelled_by_condition(error: TransactWriteError) -> bool:
    """True when a transaction failed only because a condition did not hold."""
    reasons = error.cancellation_reasons or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)
