"""The real `make package` output (chalice package, then cfn-lint): wired, partition-neutral,
least-privilege and lint-clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra import template
from infra.package import stage_config, stage_deployment, stage_environment, to_cloudformation
from infra.tables import TABLES
from tests.support.infra import CHALICE_NAMES, LINT_REGIONS, STAGE, YEAR_END_MOTO_S, as_list, statements


def dynamodb_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for name, r in resources.items()
        if r.get("Type") == "AWS::IAM::Role"
        for s in statements(resources, name)
        if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
    ]


def test_packaging_writes_the_template_its_translation_and_the_zip(packaged):
    result, sam, cfn = packaged
    assert sam["Transform"] == "AWS::Serverless-2016-10-31" and "Transform" not in cfn
    assert result.zip.stat().st_size > 1_000_000
    print(f"packaged in {result.seconds:.1f} s, zip {result.zip.stat().st_size / 1e6:.1f} MB")


def test_every_packaged_stream_trigger_reports_item_failures_retries_bisects_and_parks_failures(packaged):
    _, sam, cfn = packaged
    functions = template.functions_of(sam)
    assert "FactsStream" in functions and "YearEnd" in functions  # discovered, not declared
    stream_events = [
        e
        for f in functions.values()
        for e in (f["Properties"].get("Events") or {}).values()
        if e["Type"] == "DynamoDB"
    ]
    assert stream_events
    for event in stream_events:
        props = event["Properties"]
        assert props["Stream"] == {"Fn::GetAtt": ["FactsTable", "StreamArn"]}
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["MaximumRetryAttempts"] == template.Wiring().max_retries
        assert props["BisectBatchOnFunctionError"] is True
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["FailureQueue", "Arn"]
        }
    mappings = [
        r["Properties"] for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert len(mappings) == len(stream_events)
    for mapping in mappings:
        assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["FactsTable", "StreamArn"]}
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["FailureQueue", "Arn"]
        }
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
    roles = [
        r
        for r in sam["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
        and "lambda.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
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
                    assert resource["Fn::Sub"].split("}")[1] in {
                        f"/index/{i}" for i in ("gsi1", "gsi2", "gsi3")
                    } | {"/stream/*"}, resource


def test_cfn_lint_finds_nothing_in_the_template_or_its_translation(packaged):
    result, _, _ = packaged
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--regions",
            *LINT_REGIONS,
            "--",
            str(result.sam),
            str(result.cloudformation),
        ],
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout) == (0, ""), done.stdout + done.stderr


def resources_of_type(cfn: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in cfn["Resources"].items() if r["Type"] == kind}


def test_every_packaged_function_has_its_stages_memory_timeout_and_architecture(packaged):
    _, sam, cfn = packaged
    config = stage_config(STAGE)
    functions = template.functions_of(sam)
    assert set(functions) == set(CHALICE_NAMES)
    for name, _function in functions.items():
        wanted = config["lambda_functions"][CHALICE_NAMES[name]]
        props = cfn["Resources"][name]["Properties"]
        assert props["MemorySize"] == wanted["lambda_memory_size"] > 128
        assert props["Timeout"] == wanted["lambda_timeout"]
        assert props["Architectures"] == [config["lambda_architecture"]]
    assert cfn["Resources"]["APIHandler"]["Properties"]["Timeout"] < template.API_GATEWAY_INTEGRATION_LIMIT_S
    assert cfn["Resources"]["YearEnd"]["Properties"]["Timeout"] >= 5 * YEAR_END_MOTO_S


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
    assert log_groups and all(
        g["Properties"]["RetentionInDays"] == template.Wiring().log_retention_days
        for g in log_groups.values()
    )
    assert cfn["Resources"]["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]
    }


def test_alarms_fire_on_5xx_on_throttled_requests_and_on_throttled_functions(packaged):
    _, sam, cfn = packaged
    alarms = resources_of_type(cfn, "AWS::CloudWatch::Alarm")
    five = alarms["Api5xxAlarm"]["Properties"]
    assert (five["Namespace"], five["MetricName"], five["Threshold"]) == ("AWS/ApiGateway", "5XXError", 1)
    assert {"Name": "Stage", "Value": stage_config(STAGE)["api_gateway_stage"]} in five["Dimensions"]
    throttled = alarms["ApiThrottledAlarm"]["Properties"]
    (metric,) = cfn["Resources"]["ApiThrottledMetric"]["Properties"]["MetricTransformations"]
    assert (throttled["Namespace"], throttled["MetricName"]) == (
        metric["MetricNamespace"],
        metric["MetricName"],
    )
    assert "429" in cfn["Resources"]["ApiThrottledMetric"]["Properties"]["FilterPattern"]
    assert cfn["Resources"]["ApiThrottledMetric"]["Properties"]["LogGroupName"] == {
        "Ref": "ApiAccessLogGroup"
    }
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
        assert cfn["Resources"][name]["Properties"]["TracingConfig"]["Mode"] == {
            "Fn::If": ["InChina", "PassThrough", "Active"]
        }


def test_the_dashboard_shows_intake_lag_failures_api_latency_and_the_year_end_run(packaged):
    from chalicelib.core import observability as obs

    _, _, cfn = packaged
    (board,) = resources_of_type(cfn, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(board["Properties"]["DashboardBody"]["Fn::Sub"])
    env = stage_environment(STAGE)
    lines = {w["properties"]["title"]: w["properties"]["metrics"] for w in body["widgets"]}

    def has(title_part: str, namespace: str, metric: str, stat: str | None = None) -> bool:
        return any(
            title_part in title
            and line[:2] == [namespace, metric]
            and (stat is None or line[-1].get("stat") == stat)
            for title, metrics in lines.items()
            for line in metrics
            if isinstance(line[0], str)
        )

    ns = env["POWERTOOLS_METRICS_NAMESPACE"]
    assert has("Events accepted", ns, obs.EVENTS_ACCEPTED)
    assert any(
        "PERIOD" in line[0].get("expression", "")
        for m in lines.values()
        for line in m
        if isinstance(line[0], dict)
    )  # per second, not per period
    assert has("Counter lag", ns, obs.COUNTER_LAG_SECONDS, "p95")
    assert has("batch failures", ns, obs.BATCH_FAILURES)
    assert has("API latency", "AWS/ApiGateway", "Latency", "p95")
    assert has("API latency", "AWS/ApiGateway", "5XXError")
    assert has("Year-end", "AWS/Lambda", "Duration")
    service_lines = [
        line
        for m in lines.values()
        for line in m
        if isinstance(line[0], str) and line[0] == ns and "service" in line
    ]
    assert all(line[line.index("service") + 1] == env["POWERTOOLS_SERVICE_NAME"] for line in service_lines)
