"""Settings per stage: deployed stages verify tokens against the portal's JWKS and refuse the
local HS256 secret and clock override."""

from __future__ import annotations

import pytest

from chalicelib.core.config import LOCAL_JWT_SECRET, ConfigError, load_settings
from infra.package import stage_environment

DEPLOYED = ("dev", "prod")


@pytest.mark.parametrize("stage", DEPLOYED)
def test_a_deployed_stage_config_loads_with_jwks_identity_and_no_local_secret(stage):
    settings = load_settings(stage_environment(stage))
    assert settings.stage == stage and not settings.is_local
    assert settings.jwt_secret is None
    assert settings.jwt_issuer and settings.jwt_audience and settings.jwks_url.startswith("https://")
    assert settings.start_at is None


@pytest.mark.parametrize("stage", DEPLOYED)
def test_a_deployed_stage_refuses_the_local_token_secret(stage):
    with pytest.raises(ConfigError, match="NAVI_JWT_SECRET"):
        load_settings({**stage_environment(stage), "NAVI_JWT_SECRET": LOCAL_JWT_SECRET})


@pytest.mark.parametrize("stage", DEPLOYED)
def test_a_deployed_stage_refuses_the_clock_override(stage):
    with pytest.raises(ConfigError, match="NAVI_NOW"):
        load_settings({**stage_environment(stage), "NAVI_NOW": "2024-10-20T10:00:00+08:00"})


@pytest.mark.parametrize(
    "missing",
    ["NAVI_JWT_ISSUER", "NAVI_JWT_AUDIENCE", "NAVI_JWKS_URL", "NAVI_CURSOR_SECRET", "NAVI_PSEUDONYM_SECRET"],
)
def test_a_deployed_stage_without_its_identity_settings_does_not_start(missing):
    env = {k: v for k, v in stage_environment("prod").items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_settings(env)


def test_the_local_stage_uses_the_local_secret_and_may_move_the_clock():
    settings = load_settings({**stage_environment("local"), "NAVI_NOW": "2024-10-20T10:00:00+08:00"})
    assert settings.is_local and settings.jwt_secret == LOCAL_JWT_SECRET
    assert settings.start_at.isoformat() == "2024-10-20T10:00:00+08:00"


@pytest.mark.parametrize("stage", DEPLOYED)
def test_deployed_stage_configs_ship_neither_local_knob(stage):
    env = stage_environment(stage)
    assert "NAVI_JWT_SECRET" not in env and "NAVI_NOW" not in env


def test_a_packaged_function_environment_names_the_tables_and_overrides_the_prefix():
    env = {
        **stage_environment("dev"),
        "NAVI_FACTS_TABLE": "stack-FactsTable-1A2B",
        "NAVI_COUNTERS_TABLE": "stack-CountersTable-3C4D",
        "NAVI_RECORDS_TABLE": "stack-RecordsTable-5E6F",
    }
    settings = load_settings(env)
    assert (settings.facts_table, settings.counters_table, settings.records_table) == (
        "stack-FactsTable-1A2B",
        "stack-CountersTable-3C4D",
        "stack-RecordsTable-5E6F",
    )


def test_disabled_metrics_never_reach_the_console(monkeypatch, capsys):
    """The local stage disables metrics; 150 flushed invocations must print no EMF line."""
    from chalicelib.core import observability as obs

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    for _ in range(150):
        obs.metrics.add_metric(name=obs.BATCH_FAILURES, unit=obs.MetricUnit.Count, value=0)
        obs.flush()
    assert "_aws" not in capsys.readouterr().out


@pytest.mark.parametrize(("stage", "language"), [("dev", "zh-CN"), ("prod", "zh-CN"), ("local", "en")])
def test_deployed_stages_answer_chinese_by_default_and_the_local_stage_english(stage, language):
    assert load_settings(stage_environment(stage)).default_language == language


def test_a_language_the_catalogue_lacks_is_refused_as_the_default():
    with pytest.raises(ConfigError, match="NAVI_DEFAULT_LANGUAGE"):
        load_settings({**stage_environment("local"), "NAVI_DEFAULT_LANGUAGE": "fr"})
