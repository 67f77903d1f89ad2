"""Bounds on what one caller can create, kept exact by DynamoDB conditions (no read-then-write race).

Two shapes (the bounds themselves are named in core/config.py):
- a tally: a number under one key, raised in the same transaction as the write it counts and only
  while it stays within its bound; a refused transaction stores nothing (files per record, comments
  per user, record and China day);
- slots: `bound` numbered items under one partition, each held by one thing until it is released or
  expires (pending uploads per province, open invitations per organisation). Taking one is a
  conditional put on a free or expired slot in the transaction of the write, so two writers never
  hold one slot and at most `bound` are ever held; a holder that is never released frees its slot
  when it expires. Reading the free slots costs one query of at most `bound` small items, whatever
  the data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pynamodb.exceptions import DeleteError
from pynamodb.transactions import TransactWrite

from chalicelib.core import keys
from chalicelib.core.models import Quota
from chalicelib.core.store import (
    CONDITION_FAILED,
    TransactWriteError,
    cancellation_codes,
    cancelled_by_condition,
    transaction,
)

TALLY = "TALLY"
SLOT_ROUNDS = 5  # free slots tried when other writers take the first ones meanwhile


def _pk(name: str, scope: tuple[str, ...]) -> str:
    return f"QUOTA#{name}#" + "#".join(keys.part(s) for s in scope)


def tally_key(name: str, *scope: str) -> tuple[str, str]:
    return _pk(name, scope), TALLY


def used(name: str, *scope: str) -> int:
    """How many the tally counts now (0 when nothing was ever counted)."""
    try:
        return int(Quota.get(*tally_key(name, *scope), consistent_read=True).used or 0)
    except Quota.DoesNotExist:
        return 0


def count(tx: TransactWrite, bound: int, name: str, *scope: str) -> None:
    """Add to `tx`: raise the tally by one, on condition it stays within `bound`."""
    tx.update(
        Quota(*tally_key(name, *scope)),
        actions=[Quota.used.add(1)],
        condition=Quota.used.does_not_exist() | (Quota.used < bound),
    )


def refused(error: TransactWriteError, position: int) -> bool:
    """True when the transaction's item at `position` (a tally or a slot) was what refused it."""
    codes = cancellation_codes(error)
    return len(codes) > position and codes[position] == CONDITION_FAILED


def add(amount: int, name: str, *scope: str) -> int:
    """Move a tally by `amount` outside any bound; its new value."""
    item = Quota(*tally_key(name, *scope))
    item.update(actions=[Quota.used.add(amount)])
    return int(item.used or 0)


def slot_sk(index: int) -> str:
    return f"SLOT#{index:05d}"


def with_slot(
    bound: int,
    name: str,
    scope: tuple[str, ...],
    holder: str,
    until: datetime,
    now: datetime,
    write: Callable[[TransactWrite], None],
) -> bool:
    """Run `write`'s transaction holding one free slot of the partition until `until`; False when all
    `bound` slots are held (nothing written). Other failures of the transaction are raised."""
    pk = _pk(name, scope)
    held = {s.sk for s in Quota.query(pk, consistent_read=True) if s.expires_at is None or s.expires_at > now}
    free = [slot_sk(i) for i in range(bound) if slot_sk(i) not in held]
    for sk in free[:SLOT_ROUNDS]:
        try:
            with transaction() as tx:
                tx.save(
                    Quota(pk, sk, holder=holder, expires_at=until),
                    condition=Quota.pk.does_not_exist() | (Quota.expires_at <= now),
                )
                write(tx)
            return True
        except TransactWriteError as error:
            if not refused(error, 0):
                raise
    return False


def release(name: str, scope: tuple[str, ...], holder: str) -> None:
    """Free the slot `holder` holds, if it still does (one query of at most the bound's items)."""
    pk = _pk(name, scope)
    for slot in Quota.query(pk, consistent_read=True, filter_condition=Quota.holder == holder):
        try:
            slot.delete(condition=Quota.holder == holder)
        except DeleteError as error:
            if not cancelled_by_condition(error):  # taken over after it expired: not ours to free
                raise
