"""Settings, built once from the environment that `.chalice/config.json` sets per stage."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.core.clock import parse_instant
from chalicelib.core.messages import CHINESE, ENGLISH, LANGUAGES

LOCAL_STAGES = frozenset({"local", "test"})
LOCAL_JWT_SECRET = "navi-local-dev-secret"
# How long a stream record's dedup marker is kept by default: far longer than the stream's 24 hours
# in which it can deliver the record again.
MARKER_TTL = timedelta(days=7)
# Bounds on what one caller can create (core/quotas.py keeps them exact under concurrency); the
# same on every stage, so the portal can print them.
MAX_FILES_PER_RECORD = 20  # stored files of one filing or publication (409)
MAX_PENDING_UPLOADS_PER_PROVINCE = 100  # declared, not completed, not expired uploads of one province (409)
MAX_COMMENTS_PER_DAY = 20  # comments of one user on one record in one China day (429)
MAX_OPEN_INVITATIONS_PER_ORGANISATION = 500  # unused, unexpired invitation codes of one organisation (409)
MAX_EVENTS_PER_REQUEST = 100  # views in one POST /events (422 beyond)
NOTIFICATIONS_KEPT_PER_USER = 500  # a user's own notifications: the newest are kept, older ones dropped
# A browser origin: scheme, host and optional port, nothing else (no path, no wildcard).
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?", re.ASCII)


class ConfigError(RuntimeError):
    """The environment describes a deployment that must not run."""


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    facts_table: str
    counters_table: str
    records_table: str
    dynamodb_endpoint: str | None
    jwt_secret: str | None
    jwt_issuer: str | None
    jwt_audience: str | None
    jwks_url: str | None
    cursor_secret: str
    start_at: datetime | None
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call the API (the portal's)
    files_bucket: str = "navi-local-files"  # attachments (attachments.py)
    s3_endpoint: str | None = None  # moto's server locally: presigned URLs must name it
    marker_ttl: timedelta = MARKER_TTL
    pseudonym_secret: str = "navi-local-pseudonym-secret-not-for-deployed-stages"  # core/pseudonyms.py
    default_language: str = ENGLISH  # answered when Accept-Language names none we hold (core/messages.py)

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the stage's environment; refuse local-only knobs on deployed stages."""
    env = os.environ if env is None else env
    stage = env.get("NAVI_STAGE", "local")
    local = stage in LOCAL_STAGES
    prefix = env.get("NAVI_TABLE_PREFIX", f"navi-{stage}")
    if not local:
        # The local secret and clock override would let anyone mint tokens or move time.
        if "NAVI_NOW" in env:
            raise ConfigError(f"NAVI_NOW is refused on deployed stage {stage!r}")
        if "NAVI_JWT_SECRET" in env:
            raise ConfigError(f"NAVI_JWT_SECRET is refused on deployed stage {stage!r}")
        missing = [
            k
            for k in (
                "NAVI_JWT_ISSUER",
                "NAVI_JWT_AUDIENCE",
                "NAVI_JWKS_URL",
                "NAVI_CURSOR_SECRET",
                "NAVI_PSEUDONYM_SECRET",
            )
            if not env.get(k)
        ]
        if missing:
            raise ConfigError(f"deployed stage {stage!r} needs {', '.join(missing)}")
    start = env.get("NAVI_NOW")
    # Officials read Chinese: deployed stages answer it by default; local runs and tests, English.
    language = env.get("NAVI_DEFAULT_LANGUAGE") or (ENGLISH if local else CHINESE)
    if language not in LANGUAGES:
        raise ConfigError(f"NAVI_DEFAULT_LANGUAGE is {language!r}; give one of {', '.join(LANGUAGES)}")
    cors_origins = _origins(env.get("NAVI_CORS_ORIGINS", ""), https_only=not local)
    return Settings(
        stage=stage,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "cn-north-1",
        facts_table=env.get("NAVI_FACTS_TABLE", f"{prefix}-facts"),
        counters_table=env.get("NAVI_COUNTERS_TABLE", f"{prefix}-counters"),
        records_table=env.get("NAVI_RECORDS_TABLE", f"{prefix}-records"),
        dynamodb_endpoint=env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL"),
        jwt_secret=env.get("NAVI_JWT_SECRET", LOCAL_JWT_SECRET) if local else None,
        jwt_issuer=env.get("NAVI_JWT_ISSUER") or None,
        jwt_audience=env.get("NAVI_JWT_AUDIENCE") or None,
        jwks_url=env.get("NAVI_JWKS_URL") or None,
        cursor_secret=env.get("NAVI_CURSOR_SECRET") or "navi-local-cursor-secret-not-for-deployed-stages",
        start_at=parse_instant(start) if start else None,
        cors_origins=cors_origins,
        marker_ttl=timedelta(seconds=int(env.get("NAVI_MARKER_TTL_SECONDS") or MARKER_TTL.total_seconds())),
        files_bucket=env.get("NAVI_FILES_BUCKET") or f"{prefix}-files",
        s3_endpoint=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"),
        pseudonym_secret=env.get("NAVI_PSEUDONYM_SECRET")
        or "navi-local-pseudonym-secret-not-for-deployed-stages",
        default_language=language,
    )


def _origins(raw: str, https_only: bool) -> tuple[str, ...]:
    """NAVI_CORS_ORIGINS: comma-separated exact origins; deployed stages allow https only."""
    origins = tuple(o.strip().lower().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if not _ORIGIN.fullmatch(origin) or (https_only and not origin.startswith("https://")):
            raise ConfigError(
                f"NAVI_CORS_ORIGINS holds {origin!r}; give exact origins like https://portal.example.cn"
            )
    return origins
