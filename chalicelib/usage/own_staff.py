"""Who does not count for whom: the evaluated unit's own people, on its own results.

A result's author, every filer and province admin of the province it belongs to, and every
member of that province's own departments (invited `province_department` organisations, resolved
from the registry into `Caller.department_of`) are interested parties: their views, downloads, likes, favorites, comments and evaluations on
that province's results are stored and shown but never counted, like robots. The stored
facts carry the answer in their `author` flag (named for the first rule of this kind).
"""

from __future__ import annotations

from typing import Protocol

from chalicelib.core.auth import Caller


class _Result(Protocol):
    author: str
    province: str


def is_own_staff(caller: Caller, result: _Result) -> bool:
    """True when `caller` belongs to the unit `result` is scored for (so it must not count)."""
    return (
        caller.sub == result.author
        or caller.acts_for(result.province)
        or caller.department_of == result.province
    )
