"""The service's JSON log (Powertools) and the redaction that keeps every token out of it."""

from __future__ import annotations

import json
import re

from aws_lambda_powertools import Logger

# A JWT (header.payload.signature, the header always base64 of '{"'), a credential after a scheme,
# a token in a query string or form (`access_token=...`) or a JSON body (`"access_token": "..."`,
# its quotes escaped once or more when a message quoting it is itself logged as JSON).
_TOKEN_NAMES = r"(?:access|id|refresh)_token"
_SECRETS = re.compile(
    r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"
    r"|(?i:\b(bearer|basic)\s+)[^\s\"'\\,]+"
    rf"|(?i:\b({_TOKEN_NAMES})=)[^&\s\"'\\,]+"
    rf'|(?i:(\\*"{_TOKEN_NAMES}\\*"\s*:\s*\\*"))[^"\\]*'
)


def redact(text: str) -> str:
    """`text` with every token cut out (JWTs, bearer/basic credentials, access_token= and JSON values)."""

    def replace(m: re.Match) -> str:
        if m.group(1):
            return f"{m.group(1)} [redacted]"
        if m.group(2):
            return f"{m.group(2)}=[redacted]"
        if m.group(3):
            return f"{m.group(3)}[redacted]"
        return "[redacted-jwt]"

    return _SECRETS.sub(replace, text)


def redacted_json(log: dict) -> str:
    """Powertools' log serializer with tokens cut out, whatever carried them (an exception, a header)."""
    return redact(json.dumps(log, default=str, separators=(",", ":"), ensure_ascii=False))


logger = Logger(service="patentnavi-eval", json_serializer=redacted_json)  # no token reaches a log
