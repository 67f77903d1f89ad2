"""Hostile input refused by the rules themselves: scheme models, CORS origins per stage, token redaction."""

from __future__ import annotations

import copy
import json

import pytest

from chalicelib.scoring import scheme


def test_the_scheme_models_refuse_nan_even_without_the_http_layer():
    body = {k: copy.deepcopy(scheme.DEFAULT_SCHEME)[k] for k in ("name", "areas", "bonus", "flags")}
    body["bonus"]["cap"] = float("nan")
    with pytest.raises(ValueError):
        scheme.SchemeIn.model_validate(body)


@pytest.mark.parametrize(
    "text",
    [
        "GET /filings?access_token=opaque-secret-1&x=1",
        '{"access_token": "opaque-secret-1", "score": 5}',
        'message quoting a body {\\"refresh_token\\": \\"opaque-secret-1\\"}',
        "Authorization: Bearer opaque-secret-1",
    ],
)
def test_tokens_are_redacted_whatever_carried_them(text):
    from chalicelib.core.logs import redact

    assert "opaque-secret-1" not in redact(text) and "[redacted]" in redact(text)


def test_cors_origins_are_exact_per_stage_and_https_when_deployed():
    from chalicelib.core.config import ConfigError, load_settings

    deployed = {
        "NAVI_STAGE": "prod",
        "NAVI_JWT_ISSUER": "i",
        "NAVI_JWT_AUDIENCE": "a",
        "NAVI_JWKS_URL": "u",
        "NAVI_CURSOR_SECRET": "s" * 32,
        "NAVI_PSEUDONYM_SECRET": "p" * 32,
    }
    local = load_settings(
        {"NAVI_STAGE": "local", "NAVI_CORS_ORIGINS": "http://localhost:3000, HTTP://127.0.0.1:3000/"}
    )
    assert local.cors_origins == ("http://localhost:3000", "http://127.0.0.1:3000")
    assert load_settings({**deployed, "NAVI_CORS_ORIGINS": "https://portal.example.gov.cn"}).cors_origins == (
        "https://portal.example.gov.cn",
    )
    assert load_settings(deployed).cors_origins == ()
    for bad in (
        "*",
        "http://portal.example.gov.cn",
        "https://portal.example.gov.cn/app",
        "portal.example.gov.cn",
    ):
        with pytest.raises(ConfigError):
            load_settings({**deployed, "NAVI_CORS_ORIGINS": bad})


def test_every_stage_in_chalice_config_names_its_portal_origins():
    from pathlib import Path

    from chalicelib.core.config import load_settings

    stages = json.loads((Path(__file__).parent.parent.parent / ".chalice" / "config.json").read_text())[
        "stages"
    ]
    for name, stage in stages.items():
        env = {
            **stage["environment_variables"],
            "NAVI_CURSOR_SECRET": "s" * 32,
            "NAVI_PSEUDONYM_SECRET": "p" * 32,
        }
        assert load_settings(env).cors_origins, name
