"""Paging a list computed in memory: every item once in its order, either direction, with cursors
bound to their query (the stored lists' paging is tested against moto in tests/integration)."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.core.paging import computed_page, encode_cursor, scope_of

SECRET = "unit-test-cursor-secret-0123456789abcdef"
SCOPE = scope_of("UNIT", cycle="2024")


def _walk(items, limit, newest_first=False, order=lambda i: (i["at"], i["id"])):
    seen, cursor, sizes = [], None, []
    while True:
        page = computed_page(items, limit, cursor, SCOPE, SECRET, order, newest_first)
        seen += page.items
        sizes.append(len(page.items))
        cursor = page.next_cursor
        if cursor is None:
            return seen, sizes


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 10])
@pytest.mark.parametrize("newest_first", [False, True])
def test_a_computed_list_pages_every_item_once_in_its_order(limit, newest_first):
    items = [{"id": f"x{i}", "at": f"2024-05-{1 + i % 4:02d}"} for i in range(7)]
    seen, sizes = _walk(items, limit, newest_first)
    assert seen == sorted(items, key=lambda i: (i["at"], i["id"]), reverse=newest_first)
    assert all(size == limit for size in sizes[:-1]) and sizes[-1] <= limit


def test_items_added_behind_the_cursor_are_not_repeated_and_ahead_are_seen():
    items = [{"id": f"x{i}", "at": "2024-05-01"} for i in (1, 3, 5)]
    first = computed_page(items, 2, None, SCOPE, SECRET, lambda i: (i["at"], i["id"]))
    later = items + [{"id": "x0", "at": "2024-05-01"}, {"id": "x9", "at": "2024-05-01"}]
    rest = computed_page(later, 10, first.next_cursor, SCOPE, SECRET, lambda i: (i["at"], i["id"]))
    assert [i["id"] for i in first.items + rest.items] == ["x1", "x3", "x5", "x9"]


def test_a_cursor_of_another_query_or_shape_is_a_400():
    items = [{"id": f"x{i}", "at": "2024-05-01"} for i in range(3)]
    order = lambda i: (i["at"], i["id"])  # noqa: E731
    cursor = computed_page(items, 1, None, SCOPE, SECRET, order).next_cursor
    with pytest.raises(BadRequest):
        computed_page(items, 1, cursor, scope_of("UNIT", cycle="2025"), SECRET, order)
    for forged in ({"pk": {"S": "x"}}, {"after": "x1"}, {"after": [1, 2]}):
        with pytest.raises(BadRequest):
            computed_page(items, 1, encode_cursor(forged, SCOPE, SECRET), SCOPE, SECRET, order)
