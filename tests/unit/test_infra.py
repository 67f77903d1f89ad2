"""The deployable template: `make package` output is wired, partition-neutral, least-privilege
and lint-clean. These build the merge template from made-up `chalice package` output; the
real package (and cfn-lint on it) is checked in tests/integration/test_infra.py."""

from __future__ import annotations

from typing import Any

import pytest

from infra import template
from infra.package import check_architecture, stage_config, stage_deployment, stage_environment
from infra.tables import cloudformation_resources
from tests.support.infra import CHALICE_NAMES, as_list, statements

PLACEHOLDER = "arn:aws:dynamodb:cn-north-1:000000000000:table/navi-{}/stream/placeholder"


def chalice_like(**events: dict[str, Any]) -> dict[str, Any]:
    """A template shaped like `chalice package` output: an API handler plus the given functions."""

    def function(handler: str, function_events: dict | None = None) -> dict[str, Any]:
        props: dict[str, Any] = {
            "Handler": handler,
            "Role": "placeholder",
            "MemorySize": 512,
            "Timeout": 20,
            "Environment": {"Variables": {"NAVI_STAGE": "dev"}},
        }
        if function_events:
            props["Events"] = function_events
        return {"Type": "AWS::Serverless::Function", "Properties": props}

    resources = {"APIHandler": function("app.app")}
    for name, function_events in events.items():
        resources[name] = function(f"app.{name}", function_events)
    return {"Resources": resources}


def stream_event(table: str) -> dict[str, Any]:
    return {
        "Type": "DynamoDB",
        "Properties": {
            "Stream": PLACEHOLDER.format(table),
            "BatchSize": 100,
            "StartingPosition": "TRIM_HORIZON",
        },
    }


def merged(sam: dict[str, Any], stage: str = "dev") -> dict[str, Any]:
    return template.merge_template(sam, stage_environment(stage), stage_deployment(stage))


# ---- merge template (fast) -----------------------------------------------------------


def test_a_stream_event_is_rewired_to_its_tables_stream_with_partial_batch_failures():
    out = merged(chalice_like(FactsStream={"FactsStreamDynamodbEventSource": stream_event("facts")}))
    props = out["Resources"]["FactsStream"]["Properties"]["Events"]["FactsStreamDynamodbEventSource"][
        "Properties"
    ]
    assert props["Stream"] == {"Fn::GetAtt": ["FactsTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["MaximumRetryAttempts"] == template.Wiring().max_retries
    assert props["BisectBatchOnFunctionError"] is True
    assert props["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]}}
    }
    assert out["Resources"]["FailureQueue"]["Type"] == "AWS::SQS::Queue"
    assert "FactsStreamIteratorAgeAlarm" in out["Resources"]


def test_the_tables_are_the_single_declaration_of_infra_tables():
    out = merged(chalice_like())
    for logical_id, resource in cloudformation_resources().items():
        assert out["Resources"][logical_id] == resource


def test_a_stream_on_a_table_without_one_refuses_to_package():
    with pytest.raises(template.PackagingError, match="no stream"):
        merged(chalice_like(FactsStream={"E": stream_event("counters")}))


def test_a_stream_naming_no_known_table_refuses_to_package():
    with pytest.raises(template.PackagingError, match="names no table"):
        merged(chalice_like(FactsStream={"E": stream_event("ledger")}))


def test_a_function_without_a_declared_access_refuses_to_package():
    with pytest.raises(template.PackagingError, match="ACCESS"):
        merged(chalice_like(Surprise={}))


def test_every_function_gets_its_own_role_table_names_and_identity_parameters():
    out = merged(
        chalice_like(
            FactsStream={"E": stream_event("facts")},
            YearEnd={"Y": {"Type": "Schedule", "Properties": {"Schedule": "cron(0 15 31 12 ? *)"}}},
        )
    )
    for function in ("APIHandler", "FactsStream", "YearEnd"):
        props = out["Resources"][function]["Properties"]
        assert props["Role"] == {"Fn::GetAtt": [f"{function}Role", "Arn"]}
        variables = props["Environment"]["Variables"]
        assert variables["NAVI_FACTS_TABLE"] == {"Ref": "FactsTable"}
        assert variables["NAVI_COUNTERS_TABLE"] == {"Ref": "CountersTable"}
        assert variables["NAVI_RECORDS_TABLE"] == {"Ref": "RecordsTable"}
        assert variables["NAVI_JWT_ISSUER"] == {"Ref": "JwtIssuer"}
        assert variables["NAVI_JWKS_URL"] == {"Ref": "JwksUrl"}
        assert variables["NAVI_CURSOR_SECRET"] == {"Ref": "CursorSecret"}
    env = stage_environment("dev")
    assert out["Parameters"]["JwtAudience"]["Default"] == env["NAVI_JWT_AUDIENCE"]
    assert out["Parameters"]["CursorSecret"]["NoEcho"] is True
    assert "Default" not in out["Parameters"]["CursorSecret"]  # "replace-at-deploy" must not deploy
    assert "Events" not in out["Resources"]["YearEnd"]["Properties"]  # schedules keep Chalice's event


def test_stream_read_and_failure_queue_are_granted_only_to_stream_functions():
    out = merged(chalice_like(FactsStream={"E": stream_event("facts")}))
    api = {a for s in statements(out["Resources"], "APIHandlerRole") for a in as_list(s["Action"])}
    stream = {a for s in statements(out["Resources"], "FactsStreamRole") for a in as_list(s["Action"])}
    assert "dynamodb:GetRecords" not in api and "sqs:SendMessage" not in api
    assert {"dynamodb:GetRecords", "dynamodb:GetShardIterator", "sqs:SendMessage"} <= stream
    # The counters trigger only reads facts.
    writes = [s for s in statements(out["Resources"], "FactsStreamRole") if "dynamodb:PutItem" in s["Action"]]
    assert [s["Resource"] for s in writes] == [[{"Fn::GetAtt": ["CountersTable", "Arn"]}]]


def test_unknown_routes_on_the_deployed_api_answer_a_404_problem():
    from infra.template import gateway_problems

    body = gateway_problems()["RestAPI"]["Properties"]["DefinitionBody"]
    response = body["x-amazon-apigateway-gateway-responses"]["MISSING_AUTHENTICATION_TOKEN"]
    assert response["statusCode"] == 404
    assert "problem+json" in response["responseParameters"]["gatewayresponse.header.Content-Type"]


# ---- sizing, throttling, access log, alarms, dashboard -------------------------------


def test_an_api_timeout_reaching_api_gateways_limit_refuses_to_package():
    sam = chalice_like()
    sam["Resources"]["APIHandler"]["Properties"]["Timeout"] = template.API_GATEWAY_INTEGRATION_LIMIT_S
    with pytest.raises(template.PackagingError, match="29 s integration limit"):
        merged(sam)


def test_a_function_left_at_chalices_default_size_refuses_to_package():
    sam = chalice_like(YearEnd={})
    del sam["Resources"]["YearEnd"]["Properties"]["MemorySize"]
    with pytest.raises(template.PackagingError, match="lambda_memory_size"):
        merged(sam)


def test_a_stage_without_throttling_or_batching_refuses_to_package():
    config = {k: v for k, v in stage_config("prod").items() if k != "api_throttling"}
    with pytest.raises(template.PackagingError, match="api_throttling"):
        template.Deployment.of_stage(config, stage_environment("prod"))


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_deployed_stage_declares_sizes_throttling_and_batching(stage):
    config, deployment = stage_config(stage), stage_deployment(stage)
    assert set(config["lambda_functions"]) == set(CHALICE_NAMES.values())
    assert 0 < deployment.rate_limit <= deployment.burst_limit
    assert 1 <= deployment.batch_size <= 1000 and 0 <= deployment.window_seconds <= 300
    assert config["lambda_architecture"] in ("x86_64", "arm64")


def test_a_package_whose_wheels_were_built_for_another_cpu_is_refused(tmp_path):
    import zipfile

    archive = tmp_path / "deployment.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so", b"")
        z.writestr("cryptography/hazmat/bindings/_rust.abi3.so", b"")
    sam = chalice_like()
    sam["Resources"]["APIHandler"]["Properties"]["Architectures"] = ["x86_64"]
    check_architecture(archive, sam)
    sam["Resources"]["APIHandler"]["Properties"]["Architectures"] = ["arm64"]
    with pytest.raises(template.PackagingError, match="aarch64|x86_64"):
        check_architecture(archive, sam)
