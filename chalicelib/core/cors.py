"""CORS for the portal: exact origins per stage (Settings.cors_origins), never a wildcard.

The app answers preflights itself (chalicelib/api/routing.py registers an OPTIONS route per path), so
the local server and API Gateway, which proxies OPTIONS to the function, give the same answers."""

from __future__ import annotations

ALLOWED_HEADERS = ("Authorization", "Content-Type", "Accept")
EXPOSED_HEADERS = ("Location", "Content-Disposition")
MAX_AGE_SECONDS = 600


def _allowed(origin: str | None, origins: tuple[str, ...]) -> bool:
    return origin is not None and origin.lower().rstrip("/") in origins


def response_headers(origin: str | None, origins: tuple[str, ...]) -> dict[str, str]:
    """Headers letting an allowed origin read an actual response (any status, problems included)."""
    headers = {"Vary": "Origin"}  # caches must not hand one origin's answer to another
    if _allowed(origin, origins):
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Expose-Headers": ", ".join(EXPOSED_HEADERS),
            }
        )
    return headers


def preflight_headers(
    origin: str | None, method: str | None, allowed_methods: list[str], origins: tuple[str, ...]
) -> dict[str, str] | None:
    """The answer headers of a preflight; {} for a plain OPTIONS, None when the origin is refused."""
    if origin is None:
        return {}
    if not _allowed(origin, origins) or (method is not None and method.upper() not in allowed_methods):
        return None
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ", ".join(allowed_methods),
        "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
        "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
        "Vary": "Origin",
    }
