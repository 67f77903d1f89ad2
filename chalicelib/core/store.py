"""Small storage plumbing shared by the domain modules: transactions and condition failures."""

from __future__ import annotations

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.core.models import Counter, FactBase

__all__ = [
    "transaction",
    "TransactWriteError",
    "cancelled_by_condition",
    "cancellation_codes",
    "CONDITION_FAILED",
    "MAX_TRANSACTION_ITEMS",
]

# DynamoDB's limit on the writes and checks of one transaction.
MAX_TRANSACTION_ITEMS = 100

# The cancellation reason of a transaction item whose condition did not hold; a single write
# refused the same way reports it with an "Exception" suffix.
CONDITION_FAILED = "ConditionalCheckFailed"


def transaction() -> TransactWrite:
    """A write transaction on the bound endpoint (spans the facts and records tables)."""
    # Reuse the models' cached connection: a new Connection builds a botocore client (~200 ms)
    # on every write. `models.bind` drops the cache when the endpoint changes.
    return TransactWrite(connection=FactBase._get_connection().connection)


def cancellation_codes(error: TransactWriteError) -> list[str]:
    """Why each item of a cancelled transaction was refused, in item order ("None": it was not)."""
    return [r.code if r is not None else "None" for r in (error.cancellation_reasons or [])]


def cancelled_by_condition(error: PynamoDBException) -> bool:
    """True when a write was refused because a condition did not hold: a single put, update or
    delete, or a transaction that one of its items' conditions cancelled."""
    if isinstance(error, TransactWriteError):
        return CONDITION_FAILED in cancellation_codes(error)
    return getattr(error, "cause_response_code", None) == f"{CONDITION_FAILED}Exception"


def ping() -> None:
    """One cheap read of the counters table; raises whatever the store raises when unreachable."""
    Counter.count("HEALTH")
