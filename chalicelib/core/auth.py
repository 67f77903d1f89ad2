"""Who is calling: bearer JWTs, HS256 on the local stage and RS256 via JWKS when deployed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.core.config import Settings
from chalicelib.core.errors import Forbidden, Unauthorized
from chalicelib.core.messages import Message
from chalicelib.core.reference import PROVINCES
from chalicelib.core.vocabulary import PROVINCE_ROLES, ROLES, SIDES

if TYPE_CHECKING:
    import jwt


@dataclass(frozen=True)
class Caller:
    sub: str
    role: str
    province: str | None = None
    side: str | None = None
    # Set from the organisation registry (never from a claim): the province whose department the
    # caller is a member of, so its own results never count the caller's interactions.
    department_of: str | None = None

    @property
    def is_national_admin(self) -> bool:
        return self.role == "national_admin"

    def acts_for(self, province: str) -> bool:
        """True when this caller may write that province's records."""
        return self.role in PROVINCE_ROLES and self.province == province

    def sees_all_of(self, province: str) -> bool:
        """National admins and the province's own staff see unapproved records too."""
        return self.is_national_admin or self.acts_for(province)


class Authenticator:
    """Turns an Authorization header into a Caller, or refuses it with 401."""

    def __init__(self, settings: Settings, jwks_client: jwt.PyJWKClient | None = None):
        self._settings = settings
        self._jwks_client = jwks_client

    @cached_property
    def _jwks(self) -> jwt.PyJWKClient:
        if self._jwks_client is not None:
            return self._jwks_client
        import jwt

        return jwt.PyJWKClient(self._settings.jwks_url, cache_keys=True, lifespan=3600)

    def caller(self, authorization: str | None) -> Caller | None:
        """The caller named by the header; None when there is no header at all."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(Message("Authorization must be 'Bearer <JWT>'"))
        claims = self._decode(token.strip())
        return _caller_from(claims)

    def _decode(self, token: str) -> dict:
        # Imported by the first request that carries a token, not by every cold start: PyJWT
        # loads cryptography's RSA and EC code, ~30 ms of `import app`'s ~430 (bench/bench_coldstart.py).
        import jwt

        options = {"require": ["exp", "sub", "role"]}
        try:
            if self._settings.is_local:
                return jwt.decode(token, self._settings.jwt_secret, algorithms=["HS256"], options=options)
            key = self._jwks.get_signing_key_from_jwt(token).key
            return jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                options=options,
                issuer=self._settings.jwt_issuer,
                audience=self._settings.jwt_audience,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized(Message("The token has expired")) from None
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            raise Unauthorized(Message("The token is not valid: %(exc)s", exc=exc)) from None


def _caller_from(claims: dict) -> Caller:
    # Claims are attacker-shaped JSON even when signed by a careless issuer: a list or an object
    # where a string belongs is refused here, before it meets a set lookup or a key.
    for name in ("sub", "role", "province", "side"):
        value = claims.get(name)
        if value is not None and not isinstance(value, str):
            raise Unauthorized(Message("The token's %(name)s claim must be a string", name=name))
    sub, role = claims.get("sub"), claims.get("role")
    if not sub or len(sub) > 256 or not sub.isprintable():
        raise Unauthorized(Message("The token's sub claim must be 1 to 256 printable characters"))
    if role not in ROLES:
        raise Unauthorized(Message("The token's role must be one of %(roles)s", roles=", ".join(ROLES)))
    province = claims.get("province")
    if role in PROVINCE_ROLES and province not in PROVINCES:
        raise Unauthorized(Message("A province_admin or filer token needs a valid 6-digit province claim"))
    if province is not None and province not in PROVINCES:
        raise Unauthorized(Message("The token's province claim is not a known provincial unit"))
    side = claims.get("side")
    if side is not None and side not in SIDES:
        raise Unauthorized(Message("The token's side claim must be one of %(sides)s", sides=", ".join(SIDES)))
    return Caller(sub=sub, role=role, province=province, side=side)


def require(caller: Caller | None, *roles: str) -> Caller:
    """The caller, if signed in with one of `roles` (401 when anonymous, 403 otherwise)."""
    if caller is None:
        raise Unauthorized(Message("This action needs a bearer token"))
    if roles and caller.role not in roles:
        raise Forbidden(
            Message(
                "Role %(role)s may not do this; allowed: %(roles)s", role=caller.role, roles=", ".join(roles)
            )
        )
    return caller


def admit(caller: Caller | None, roles: Collection[str]) -> Caller:
    """A route's check before its handler runs: signed in, and with one of `roles` if it names any."""
    return require(caller, *roles)


def require_province(caller: Caller, province: str) -> None:
    """Refuse writes to another province's records."""
    if not caller.acts_for(province):
        raise Forbidden(
            Message(
                "A %(role)s of %(own)s may not act for %(province)s",
                role=caller.role,
                own=caller.province or Message("no province"),
                province=province,
            )
        )
