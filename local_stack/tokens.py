"""Bearer tokens the local stage accepts: HS256, signed with its shared secret.

The one place tokens are minted for the local stack: tests, scripts/rehearse.py and
scripts/export_scores.py. Deployed stages accept only their identity provider's RS256 tokens.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from chalicelib.core.config import LOCAL_JWT_SECRET


def token(
    role: str = "user",
    *,
    sub: str = "u1",
    province: str | None = None,
    side: str | None = None,
    ttl: int = 3600,
    exp: int | None = None,
    secret: str = LOCAL_JWT_SECRET,
    **claims: Any,
) -> str:
    """A local-stage HS256 token for `role`; `exp` (epoch seconds) wins over `ttl` (seconds from now)."""
    payload = {"sub": sub, "role": role, "exp": exp or int(time.time()) + ttl, **claims}
    if province:
        payload["province"] = province
    if side:
        payload["side"] = side
    return jwt.encode(payload, secret, algorithm="HS256")


def main(argv: list[str] | None = None) -> None:
    """`python -m local_stack.tokens filer --province 320000`: print a token for curl."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("role")
    parser.add_argument("--sub", default="u1")
    parser.add_argument("--province")
    parser.add_argument("--side")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds the token lives")
    args = parser.parse_args(argv)
    print(token(args.role, sub=args.sub, province=args.province, side=args.side, ttl=args.ttl))


if __name__ == "__main__":
    main()
