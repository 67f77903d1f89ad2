"""Key parts a caller chooses (a token's sub, an id it sends) are escaped here, once, so that no
value can spell a separator and so reach another namespace's key: a user whose sub is
`ROLE#province_admin#320000` keys `NOTE#ROLE%23province_admin%23320000`, never the role's
reminders. Each key is still built by the module that owns it (with `part`).
"""

from __future__ import annotations

SEPARATOR = "#"
ESCAPE = "%"


def part(value: str) -> str:
    """`value` as one key component: the escape and the separator percent-encoded, all else as is.

    Injective, and a no-op on values without `#` or `%` (every sub and id the platform has stored),
    so existing keys keep their format."""
    return value.replace(ESCAPE, "%25").replace(SEPARATOR, "%23")


def whole(component: str) -> str:
    """The value a `part` encoded (its inverse): every escape in a component starts `%23` or `%25`."""
    return component.replace("%23", SEPARATOR).replace("%25", ESCAPE)
