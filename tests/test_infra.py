"""The deployable template: `make package` output is wired, partition-neutral, least-privilege
and lint-clean. One module fixture runs the real `chalice package` (twice, ~5 s with the
wheel cache in .chalice/deployments, ~30 s cold); the rest are fast unit tests."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import template
from infra.package import check_architecture, package, stage_config, stage_deployment, stage_environment, \
    to_cloudformation
from infra.tables import TABLES, cloudformation_resources

ROOT = Path(__file__).resolve().parent.parent
LINT_REGIONS = ["cn-north-1", "cn-northwest-1", "us-east-1"]
STAGE = "prod"  # what `make package STAGE=prod` deploys
YEAR_END_MOTO_S = 55  # bench/bench_scoring.py at national scale on moto, an upper bound (README "Deploy")
CHALICE_NAMES = {"APIHandler": "api_handler", "FactsStream": "facts_stream", "PushStream": "push_stream",
                 "YearEnd": "year_end", "SelectionReminders": "selection_reminders",
                 "AnnualFormReminders": "annual_form_reminders"}
PLACEHOLDER = "arn:aws:dynamodb:cn-north-1:000000000000:table/navi-{}/stream/placeholder"


def chalice_like(**events: dict[str, Any]) -> dict[str, Any]:
    """A template shaped like `chalice package` output: an API handler plus the given functions."""
    def function(handler: str, function_events: dict | None = None) -> dict[str, Any]:
        props: dict[str, Any] = {"Handler": handler, "Role": "placeholder", "MemorySize": 512, "Timeout": 20,
                                 "Environment": {"Variables": {"NAVI_STAGE": "dev"}}}
        if function_events:
            props["Events"] = function_events
        return {"Type": "AWS::Serverless::Function", "Properties": props}

    resources = {"APIHandler": function("app.app")}
    for name, function_events in events.items():
        resources[name] = function(f"app.{name}", function_events)
    return {"Resources": resources}


def stream_event(table: str) -> dict[str, Any]:
    return {"Type": "DynamoDB", "Properties": {"Stream": PLACEHOLDER.format(table), "BatchSize": 100,
                                               "StartingPosition": "TRIM_HORIZON"}}


def merged(sam: dict[str, Any], stage: str = "dev") -> dict[str, Any]:
    return template.merge_template(sam, stage_environment(stage), stage_deployment(stage))


def statements(resources: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [s for p in resources[role]["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def dynamodb_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for name, r in resources.items() if r.get("Type") == "AWS::IAM::Role"
            for s in statements(resources, name) if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]


# ---- merge template (fast) -----------------------------------------------------------

def test_a_stream_event_is_rewired_to_its_tables_stream_with_partial_batch_failures():
    out = merged(chalice_like(FactsStream={"FactsStreamDynamodbEventSource": stream_event("facts")}))
    props = out["Resources"]["FactsStream"]["Properties"]["Events"]["FactsStreamDynamodbEventSource"]["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["FactsTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["MaximumRetryAttempts"] == template.Wiring().max_retries
    assert props["BisectBatchOnFunctionError"] is True
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]}}}
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
    out = merged(chalice_like(FactsStream={"E": stream_event("facts")},
                              YearEnd={"Y": {"Type": "Schedule", "Properties": {"Schedule": "cron(0 15 31 12 ? *)"}}}))
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


# ---- the real package (one run of `chalice package`) ---------------------------------

@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    result = package(STAGE, "cn-north-1", tmp_path_factory.mktemp("package") / "out")
    sam = json.loads(result.sam.read_text())
    cfn = json.loads(result.cloudformation.read_text())
    return result, sam, cfn


def test_packaging_writes_the_template_its_translation_and_the_zip(packaged):
    result, sam, cfn = packaged
    assert sam["Transform"] == "AWS::Serverless-2016-10-31" and "Transform" not in cfn
    assert result.zip.stat().st_size > 1_000_000
    print(f"packaged in {result.seconds:.1f} s, zip {result.zip.stat().st_size / 1e6:.1f} MB")


def test_every_packaged_stream_trigger_reports_item_failures_retries_bisects_and_parks_failures(packaged):
    _, sam, cfn = packaged
    functions = template.functions_of(sam)
    assert "FactsStream" in functions and "YearEnd" in functions  # discovered, not declared
    stream_events = [e for f in functions.values() for e in (f["Properties"].get("Events") or {}).values()
                     if e["Type"] == "DynamoDB"]
    assert stream_events
    for event in stream_events:
        props = event["Properties"]
        assert props["Stream"] == {"Fn::GetAtt": ["FactsTable", "StreamArn"]}
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["MaximumRetryAttempts"] == template.Wiring().max_retries
        assert props["BisectBatchOnFunctionError"] is True
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    mappings = [r["Properties"] for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == len(stream_events)
    for mapping in mappings:
        assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["FactsTable", "StreamArn"]}
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    assert cfn["Resources"]["FailureQueue"]["Type"] == "AWS::SQS::Queue"


def test_the_package_has_no_partition_literal_so_it_deploys_to_aws_cn(packaged):
    result, _, _ = packaged
    for path in (result.sam, result.cloudformation):
        assert "arn:aws:" not in path.read_text()


def test_the_translation_is_the_same_in_every_partition(packaged):
    _, sam, cfn = packaged
    assert to_cloudformation(sam, "us-east-1") == to_cloudformation(sam, "cn-northwest-1") == cfn


def test_every_packaged_function_runs_under_its_own_role_with_the_real_table_names(packaged):
    _, sam, _ = packaged
    for name, function in template.functions_of(sam).items():
        props = function["Properties"]
        assert props["Role"] == {"Fn::GetAtt": [f"{name}Role", "Arn"]}
        assert sam["Resources"][f"{name}Role"]["Type"] == "AWS::IAM::Role"
        for spec in TABLES:
            assert {"Ref": spec.logical_id} in props["Environment"]["Variables"].values()
    roles = [r for r in sam["Resources"].values() if r["Type"] == "AWS::IAM::Role"
             and "lambda.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])]
    assert len(roles) == len(template.functions_of(sam))  # no unused chalice default role


def test_no_dynamodb_permission_names_a_wildcard_resource(packaged):
    _, sam, cfn = packaged
    for resources in (sam["Resources"], cfn["Resources"]):
        found = dynamodb_statements(resources)
        assert found
        for statement in found:
            for resource in as_list(statement["Resource"]):
                assert resource != "*"
                assert isinstance(resource, dict), resource  # always a reference to one of our tables
                text = json.dumps(resource)
                assert any(spec.logical_id in text for spec in TABLES), resource
                if "Fn::Sub" in resource:  # index and stream paths below exactly one table
                    assert resource["Fn::Sub"].split("}")[1] in {f"/index/{i}" for i in ("gsi1", "gsi2", "gsi3")} \
                        | {"/stream/*"}, resource


def test_cfn_lint_finds_nothing_in_the_template_or_its_translation(packaged):
    result, _, _ = packaged
    done = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")), "--regions", *LINT_REGIONS, "--",
                           str(result.sam), str(result.cloudformation)], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, ""), done.stdout + done.stderr


def test_unknown_routes_on_the_deployed_api_answer_a_404_problem():
    from infra.template import gateway_problems
    body = gateway_problems()["RestAPI"]["Properties"]["DefinitionBody"]
    response = body["x-amazon-apigateway-gateway-responses"]["MISSING_AUTHENTICATION_TOKEN"]
    assert response["statusCode"] == 404
    assert "problem+json" in response["responseParameters"]["gatewayresponse.header.Content-Type"]


# ---- sizing, throttling, access log, alarms, dashboard -------------------------------

def resources_of_type(cfn: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in cfn["Resources"].items() if r["Type"] == kind}


def test_every_packaged_function_has_its_stages_memory_timeout_and_architecture(packaged):
    _, sam, cfn = packaged
    config = stage_config(STAGE)
    functions = template.functions_of(sam)
    assert set(functions) == set(CHALICE_NAMES)
    for name, function in functions.items():
        wanted = config["lambda_functions"][CHALICE_NAMES[name]]
        props = cfn["Resources"][name]["Properties"]
        assert props["MemorySize"] == wanted["lambda_memory_size"] > 128
        assert props["Timeout"] == wanted["lambda_timeout"]
        assert props["Architectures"] == [config["lambda_architecture"]]
    assert cfn["Resources"]["APIHandler"]["Properties"]["Timeout"] < template.API_GATEWAY_INTEGRATION_LIMIT_S
    assert cfn["Resources"]["YearEnd"]["Properties"]["Timeout"] >= 5 * YEAR_END_MOTO_S


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


def test_the_api_stage_is_throttled_and_access_logged_with_both_request_ids(packaged):
    _, _, cfn = packaged
    deployment = stage_deployment(STAGE)
    (stage,) = resources_of_type(cfn, "AWS::ApiGateway::Stage").values()
    (throttle,) = stage["Properties"]["MethodSettings"]
    assert (throttle["ResourcePath"], throttle["HttpMethod"]) == ("/*", "*")
    assert throttle["ThrottlingRateLimit"] == deployment.rate_limit
    assert throttle["ThrottlingBurstLimit"] == deployment.burst_limit
    access = stage["Properties"]["AccessLogSetting"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(access["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert fields["lambdaRequestId"] == "$context.awsEndpointRequestId"  # = the Lambda log lines' request_id
    assert fields["status"] == "$context.status"
    log_groups = resources_of_type(cfn, "AWS::Logs::LogGroup")
    assert log_groups and all(g["Properties"]["RetentionInDays"] == template.Wiring().log_retention_days
                              for g in log_groups.values())
    assert cfn["Resources"]["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"] == \
        {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}


def test_alarms_fire_on_5xx_on_throttled_requests_and_on_throttled_functions(packaged):
    _, sam, cfn = packaged
    alarms = resources_of_type(cfn, "AWS::CloudWatch::Alarm")
    five = alarms["Api5xxAlarm"]["Properties"]
    assert (five["Namespace"], five["MetricName"], five["Threshold"]) == ("AWS/ApiGateway", "5XXError", 1)
    assert {"Name": "Stage", "Value": stage_config(STAGE)["api_gateway_stage"]} in five["Dimensions"]
    throttled = alarms["ApiThrottledAlarm"]["Properties"]
    (metric,) = cfn["Resources"]["ApiThrottledMetric"]["Properties"]["MetricTransformations"]
    assert (throttled["Namespace"], throttled["MetricName"]) == (metric["MetricNamespace"], metric["MetricName"])
    assert "429" in cfn["Resources"]["ApiThrottledMetric"]["Properties"]["FilterPattern"]
    assert cfn["Resources"]["ApiThrottledMetric"]["Properties"]["LogGroupName"] == {"Ref": "ApiAccessLogGroup"}
    for function in template.functions_of(sam):
        assert alarms[f"{function}ThrottlesAlarm"]["Properties"]["MetricName"] == "Throttles"
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_stream_mappings_batch_by_the_stages_size_and_window(packaged):
    _, _, cfn = packaged
    deployment = stage_deployment(STAGE)
    mappings = resources_of_type(cfn, "AWS::Lambda::EventSourceMapping").values()
    assert mappings
    for mapping in mappings:
        assert mapping["Properties"]["BatchSize"] == deployment.batch_size
        assert mapping["Properties"]["MaximumBatchingWindowInSeconds"] == deployment.window_seconds


def test_functions_trace_with_x_ray_except_in_china_where_lambda_offers_none(packaged):
    _, _, cfn = packaged
    assert cfn["Conditions"]["InChina"] == {"Fn::Equals": [{"Ref": "AWS::Partition"}, "aws-cn"]}
    for name in CHALICE_NAMES:
        assert cfn["Resources"][name]["Properties"]["TracingConfig"]["Mode"] == \
            {"Fn::If": ["InChina", "PassThrough", "Active"]}


def test_the_dashboard_shows_intake_lag_failures_api_latency_and_the_year_end_run(packaged):
    from chalicelib.core import observability as obs
    _, _, cfn = packaged
    (board,) = resources_of_type(cfn, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(board["Properties"]["DashboardBody"]["Fn::Sub"])
    env = stage_environment(STAGE)
    lines = {w["properties"]["title"]: w["properties"]["metrics"] for w in body["widgets"]}

    def has(title_part: str, namespace: str, metric: str, stat: str | None = None) -> bool:
        return any(title_part in title and line[:2] == [namespace, metric]
                   and (stat is None or line[-1].get("stat") == stat)
                   for title, metrics in lines.items() for line in metrics if isinstance(line[0], str))

    ns = env["POWERTOOLS_METRICS_NAMESPACE"]
    assert has("Events accepted", ns, obs.EVENTS_ACCEPTED)
    assert any("PERIOD" in line[0].get("expression", "") for m in lines.values() for line in m
               if isinstance(line[0], dict))  # per second, not per period
    assert has("Counter lag", ns, obs.COUNTER_LAG_SECONDS, "p95")
    assert has("batch failures", ns, obs.BATCH_FAILURES)
    assert has("API latency", "AWS/ApiGateway", "Latency", "p95")
    assert has("API latency", "AWS/ApiGateway", "5XXError")
    assert has("Year-end", "AWS/Lambda", "Duration")
    service_lines = [line for m in lines.values() for line in m if isinstance(line[0], str) and line[0] == ns
                     and "service" in line]
    assert all(line[line.index("service") + 1] == env["POWERTOOLS_SERVICE_NAME"] for line in service_lines)
