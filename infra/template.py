"""The merge template that turns `chalice package` output into the whole deployable system.

`merge_template(sam, stage_env, deployment)` reads the functions and events Chalice packaged
and returns what `chalice package --merge-template` deep-merges into them (dicts merge, lists
replace): the tables from infra/tables.py, one least-privilege role and log group per
function, the stream wiring with partial-batch failures and the stage's batching, the
on-failure queue, the API stage's throttling and access log, the alarms and the dashboard.
Every ARN is built from `${AWS::Partition}` so one template serves aws and aws-cn.
Memory, timeout and architecture are Chalice's own stage keys (`lambda_functions`,
`lambda_architecture` in .chalice/config.json); this module only checks them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib.core.observability import (
    BATCH_FAILURES,
    COUNTER_LAG_SECONDS,
    EVENTS_ACCEPTED,
    EVENTS_DUPLICATE,
)
from infra.tables import TABLES, TableSpec, cloudformation_resources

READ = "read"
CHECK = "check"  # read, and condition checks inside a transaction: no write
WRITE = "write"

# Which tables each packaged function reads or writes, by the logical id Chalice gives it.
# A function missing here fails packaging: a new handler gets a deliberate policy.
ACCESS: dict[str, dict[str, str]] = {
    "APIHandler": {"facts": WRITE, "counters": WRITE, "records": WRITE},
    # Counts facts into counters: an event carries its place in its chain; it reads the records its usage
    # is about, and checks in its transaction that none was excluded from scoring meanwhile (takedowns).
    "FactsStream": {"facts": CHECK, "counters": WRITE},
    # Push feed: the approved filing comes in the stream image; subscribers and feeds are records.
    "PushStream": {"records": WRITE},
    # Year-end scoring: reads counters, forms, schemes and selections; writes runs to records.
    "YearEnd": {"counters": READ, "records": WRITE},
    # Selection reminders: assignments and feeds are records; completion is read from evaluations.
    "SelectionReminders": {"facts": READ, "counters": READ, "records": WRITE},
    # Annual-form window reminders: one notification per province into records.
    "AnnualFormReminders": {"records": WRITE},
}
# tests/integration/test_infra_policy.py runs every function on moto and checks each call against these.

READ_ACTIONS = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"]
# Transactions are authorized as their parts: TransactWriteItems needs no action of its own.
CHECK_ACTIONS = ["dynamodb:ConditionCheckItem"]
WRITE_ACTIONS = ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
STREAM_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]

ENV_TABLES = {"facts": "NAVI_FACTS_TABLE", "counters": "NAVI_COUNTERS_TABLE", "records": "NAVI_RECORDS_TABLE"}
IDENTITY = {  # template parameter -> environment variable; defaults come from the stage config
    "JwtIssuer": "NAVI_JWT_ISSUER",
    "JwtAudience": "NAVI_JWT_AUDIENCE",
    "JwksUrl": "NAVI_JWKS_URL",
}


@dataclass(frozen=True)
class Wiring:
    """Settings of every stream trigger's event source mapping."""

    max_retries: int = 5
    iterator_age_alarm_ms: int = 120_000  # counters "settle within seconds": two minutes is trouble
    # Lambda and API access logs (client IP, path, status, times; no token, no user id, no body) are
    # deleted after 180 days: long enough for a security review of a year-end dispute. The tables'
    # point-in-time backups (infra/tables.py) reach back 35 days, DynamoDB's fixed window: an
    # erasure (DELETE /me/data) or an expired fact leaves the backups within 35 days.
    log_retention_days: int = 180


# API Gateway ends every integration after 29 s; a Lambda still running then works for nobody.
API_GATEWAY_INTEGRATION_LIMIT_S = 29
API_FUNCTION = "APIHandler"
YEAR_END_FUNCTION = "YearEnd"
STREAM_FUNCTIONS = ("FactsStream", "PushStream")
# Counted from the access log: API Gateway publishes 429s only inside 4XXError.
THROTTLED_METRIC = "ApiThrottled"


@dataclass(frozen=True)
class Deployment:
    """Per-stage operating settings from .chalice/config.json (`api_throttling`, `stream_batching`)."""

    rate_limit: float
    burst_limit: int
    batch_size: int
    window_seconds: int
    metrics_namespace: str
    service: str
    api_stage: str = "api"

    @classmethod
    def of_stage(cls, stage_config: dict[str, Any], stage_env: dict[str, str]) -> Deployment:
        """The settings of one stage's config block; a missing key fails packaging."""
        try:
            throttling, batching = stage_config["api_throttling"], stage_config["stream_batching"]
            return cls(
                rate_limit=float(throttling["rate_limit"]),
                burst_limit=int(throttling["burst_limit"]),
                batch_size=int(batching["batch_size"]),
                window_seconds=int(batching["window_seconds"]),
                metrics_namespace=stage_env["POWERTOOLS_METRICS_NAMESPACE"],
                service=stage_env["POWERTOOLS_SERVICE_NAME"],
                api_stage=stage_config.get("api_gateway_stage", "api"),
            )
        except KeyError as missing:
            raise PackagingError(
                f"stage config lacks {missing} (api_throttling, stream_batching, POWERTOOLS_* environment)"
            ) from None


class PackagingError(RuntimeError):
    """The packaged app cannot be wired into a deployable template."""


def _getatt(resource: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [resource, attribute]}


def table_of_stream(stream: Any) -> TableSpec:
    """The table whose stream a packaged event names.

    Chalice bakes the decorator's literal ARN into the template; its table name ends in
    the table's key (`.../table/navi-facts/stream/...` -> facts), which is all we keep of it.
    """
    if not isinstance(stream, str) or ":table/" not in stream:
        raise PackagingError(f"cannot tell which table stream {stream!r} belongs to")
    name = stream.split(":table/", 1)[1].split("/", 1)[0]
    for spec in TABLES:
        if name == spec.key or name.endswith("-" + spec.key):
            if not spec.stream:
                raise PackagingError(f"table {spec.key!r} has no stream; enable it in infra/tables.py")
            return spec
    raise PackagingError(f"stream {stream!r} names no table of infra/tables.py")


def _spec(key: str) -> TableSpec:
    return next(s for s in TABLES if s.key == key)


def _index_names(spec: TableSpec, tables: dict[str, Any]) -> list[str]:
    return [i["IndexName"] for i in tables[spec.logical_id]["Properties"].get("GlobalSecondaryIndexes", [])]


def _table_statements(function: str, tables: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        access = ACCESS[function]
    except KeyError:
        raise PackagingError(f"function {function} has no entry in infra/template.py ACCESS") from None
    statements = []
    for key, level in sorted(access.items()):
        spec = _spec(key)
        table_arn = _getatt(spec.logical_id, "Arn")
        indexes = [
            {"Fn::Sub": f"${{{spec.logical_id}.Arn}}/index/{name}"} for name in _index_names(spec, tables)
        ]
        statements.append(
            {
                "Sid": f"Read{spec.logical_id}",
                "Effect": "Allow",
                "Action": READ_ACTIONS,
                "Resource": [table_arn, *indexes],
            }
        )
        if level in (CHECK, WRITE):
            actions = CHECK_ACTIONS + (WRITE_ACTIONS if level == WRITE else [])
            statements.append(
                {
                    "Sid": f"{level.title()}{spec.logical_id}",
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": [table_arn],
                }
            )
    return statements


def _role(function: str, streams: list[TableSpec], tables: dict[str, Any]) -> dict[str, Any]:
    statements = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [_getatt(f"{function}LogGroup", "Arn")],
        },
        # X-Ray has no resource-level permissions: these two actions only accept "*".
        {
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
        *_table_statements(function, tables),
    ]
    for spec in streams:
        statements.append(
            {
                "Sid": f"Stream{spec.logical_id}",
                "Effect": "Allow",
                "Action": STREAM_ACTIONS,
                "Resource": [_getatt(spec.logical_id, "StreamArn")],
            }
        )
        statements.append(
            {
                "Sid": f"ListStreams{spec.logical_id}",
                "Effect": "Allow",
                "Action": ["dynamodb:ListStreams"],
                "Resource": [{"Fn::Sub": f"${{{spec.logical_id}.Arn}}/stream/*"}],
            }
        )
    if streams:
        statements.append(
            {
                "Sid": "OnFailure",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": [_getatt("FailureQueue", "Arn")],
            }
        )
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": f"{function}Access",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }


def _alarm(
    description: str,
    namespace: str,
    metric: str,
    dimensions: list[dict[str, Any]],
    statistic: str,
    threshold: float,
    periods: int = 1,
) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": 60,
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def functions_of(sam: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The `AWS::Serverless::Function` resources of a packaged template, by logical id."""
    return {
        name: r
        for name, r in sam.get("Resources", {}).items()
        if r.get("Type") == "AWS::Serverless::Function"
    }


def check_sizing(sam: dict[str, Any]) -> None:
    """Refuse an API that could outlive API Gateway, or a function left at Chalice's defaults."""
    for name, function in functions_of(sam).items():
        props = function["Properties"]
        if "MemorySize" not in props or "Timeout" not in props:
            raise PackagingError(f"{name} has no lambda_memory_size/lambda_timeout in .chalice/config.json")
    api = functions_of(sam).get(API_FUNCTION)
    if api and api["Properties"]["Timeout"] >= API_GATEWAY_INTEGRATION_LIMIT_S:
        raise PackagingError(
            f"{API_FUNCTION} timeout {api['Properties']['Timeout']} s is not under API Gateway's "
            f"{API_GATEWAY_INTEGRATION_LIMIT_S} s integration limit"
        )


def merge_template(
    sam: dict[str, Any], stage_env: dict[str, str], deployment: Deployment, wiring: Wiring = Wiring()
) -> dict[str, Any]:
    """What to merge into the packaged `sam` template for a stage with environment `stage_env`."""
    check_sizing(sam)
    tables = cloudformation_resources()
    resources: dict[str, Any] = {**tables, **_failure_handling()}
    environment = _function_environment()
    for function, definition in sorted(functions_of(sam).items()):
        resources.update(_function_resources(function, definition, tables, environment, deployment, wiring))
    resources.update(_api_resources(deployment))
    resources["Dashboard"] = dashboard(deployment, sorted(functions_of(sam)))
    outputs = {
        **{f"{spec.logical_id}Name": {"Value": {"Ref": spec.logical_id}} for spec in TABLES},
        "FailureQueueUrl": {"Value": {"Ref": "FailureQueue"}},
        "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
        "DashboardName": {"Value": {"Ref": "Dashboard"}},
        "ApiAccessLogGroup": {"Value": {"Ref": "ApiAccessLogGroup"}},
    }
    add_files_bucket(resources, outputs)
    conditions = {"InChina": {"Fn::Equals": [{"Ref": "AWS::Partition"}, "aws-cn"]}}
    return {
        "Parameters": _parameters(stage_env),
        "Conditions": conditions,
        "Resources": resources,
        "Outputs": outputs,
    }


def _failure_handling() -> dict[str, Any]:
    """The on-failure queue of the stream triggers, the alarm topic, and the queue's depth alarm."""
    return {
        "FailureQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": True},
        },
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "FailureQueueDepthAlarm": _alarm(
            "Stream records gave up on after retries wait in the on-failure queue",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": _getatt("FailureQueue", "QueueName")}],
            "Maximum",
            1,
        ),
    }


def _function_environment() -> dict[str, Any]:
    """Every function's environment: the table names, the identity parameters and the two secrets."""
    environment = {
        var: {"Ref": spec.logical_id} for spec in TABLES for key, var in ENV_TABLES.items() if spec.key == key
    }
    environment.update({var: {"Ref": param} for param, var in IDENTITY.items()})
    environment["NAVI_CURSOR_SECRET"] = {"Ref": "CursorSecret"}
    environment["NAVI_PSEUDONYM_SECRET"] = {"Ref": "PseudonymSecret"}
    return environment


def _function_resources(
    function: str,
    definition: dict[str, Any],
    tables: dict[str, Any],
    environment: dict[str, Any],
    deployment: Deployment,
    wiring: Wiring,
) -> dict[str, Any]:
    """One packaged function's stream wiring, role, log group and alarms, and its merged properties."""
    events, streams, resources = _stream_events(function, definition, deployment, wiring)
    resources[f"{function}Role"] = _role(function, streams, tables)
    resources[f"{function}LogGroup"] = {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{function}"},
            "RetentionInDays": wiring.log_retention_days,
        },
    }
    resources.update(_function_alarms(function))
    properties: dict[str, Any] = {
        # A fixed name lets the log group (and its policy) exist before the function runs.
        "FunctionName": {"Fn::Sub": f"${{AWS::StackName}}-{function}"},
        "Role": _getatt(f"{function}Role", "Arn"),
        # Lambda's X-Ray integration is not offered in the China regions.
        "Tracing": {"Fn::If": ["InChina", "PassThrough", "Active"]},
        "Environment": {"Variables": environment},
    }
    if events:
        properties["Events"] = events
    resources[function] = {"DependsOn": [f"{function}LogGroup"], "Properties": properties}
    return resources


def _stream_events(
    function: str, definition: dict[str, Any], deployment: Deployment, wiring: Wiring
) -> tuple[dict[str, Any], list[TableSpec], dict[str, Any]]:
    """(the function's DynamoDB stream events rewired, the tables they read, an iterator-age alarm each)."""
    events: dict[str, Any] = {}
    streams: list[TableSpec] = []
    alarms: dict[str, Any] = {}
    for event_name, event in (definition["Properties"].get("Events") or {}).items():
        if event.get("Type") != "DynamoDB":
            continue
        spec = table_of_stream(event["Properties"].get("Stream"))
        streams.append(spec)
        events[event_name] = {
            "Properties": {
                "Stream": _getatt(spec.logical_id, "StreamArn"),
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "MaximumRetryAttempts": wiring.max_retries,
                "BisectBatchOnFunctionError": True,
                "DestinationConfig": {"OnFailure": {"Destination": _getatt("FailureQueue", "Arn")}},
                "BatchSize": deployment.batch_size,
                "MaximumBatchingWindowInSeconds": deployment.window_seconds,
            }
        }
        alarms[f"{function}IteratorAgeAlarm"] = _alarm(
            f"{function} is falling behind the {spec.key} stream",
            "AWS/Lambda",
            "IteratorAge",
            [{"Name": "FunctionName", "Value": {"Ref": function}}],
            "Maximum",
            wiring.iterator_age_alarm_ms,
            3,
        )
    return events, streams, alarms


def _function_alarms(function: str) -> dict[str, Any]:
    """Alarms on any error or throttled invocation of the function."""
    dimensions = [{"Name": "FunctionName", "Value": {"Ref": function}}]
    return {
        f"{function}ErrorsAlarm": _alarm(
            f"{function} raised errors", "AWS/Lambda", "Errors", dimensions, "Sum", 1
        ),
        f"{function}ThrottlesAlarm": _alarm(
            f"{function} invocations were throttled (account or reserved concurrency exhausted)",
            "AWS/Lambda",
            "Throttles",
            dimensions,
            "Sum",
            1,
        ),
    }


def _parameters(stage_env: dict[str, str]) -> dict[str, Any]:
    """The identity provider's parameters (defaulting to the stage's values) and the two secrets."""
    parameters: dict[str, Any] = {
        param: {
            "Type": "String",
            "Default": stage_env[var],
            "MinLength": 1,
            "Description": f"{var} of this stage (the portal identity provider)",
        }
        for param, var in IDENTITY.items()
    }
    parameters["CursorSecret"] = {
        "Type": "String",
        "NoEcho": True,
        "MinLength": 32,
        "Description": "Secret that signs paging cursors (NAVI_CURSOR_SECRET); at least 32 characters",
    }
    parameters["PseudonymSecret"] = {
        "Type": "String",
        "NoEcho": True,
        "MinLength": 32,
        "Description": "Key of the users' pseudonyms in usage facts (NAVI_PSEUDONYM_SECRET); at least 32 "
        "characters; changing it cuts every chain and unique count of the running cycle",
    }
    return parameters


def _api_resources(deployment: Deployment) -> dict[str, Any]:
    """The API stage with its unknown-route problem answer, and the API's alarms."""
    api = api_stage(deployment)
    body = api["RestAPI"]["Properties"]["DefinitionBody"]
    body.update(gateway_problems()["RestAPI"]["Properties"]["DefinitionBody"])
    return {**api, **api_alarms(deployment)}


# One JSON line per request. `requestId` is API Gateway's (the x-amzn-RequestId answer header);
# `lambdaRequestId` is the id of the Lambda invocation that served it: the `request_id` key of
# the API's log lines and of Lambda's START/END/REPORT lines.
ACCESS_LOG_FORMAT = {
    "apiId": "$context.apiId",
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "lambdaRequestId": "$context.awsEndpointRequestId",
    "requestTime": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "path": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "error": "$context.error.responseType",
}


def api_stage(deployment: Deployment, wiring: Wiring = Wiring()) -> dict[str, Any]:
    """The RestAPI's stage throttling and JSON access log, with the log group and the account's
    CloudWatch role API Gateway needs to write it."""
    return {
        "RestAPI": {
            "DependsOn": ["ApiGatewayAccount"],
            "Properties": {
                # A stack-specific name keeps each stage's AWS/ApiGateway metrics (dimension ApiName) apart.
                "Name": {"Fn::Sub": "${AWS::StackName}"},
                "MethodSettings": [
                    {
                        "ResourcePath": "/*",
                        "HttpMethod": "*",
                        "ThrottlingRateLimit": deployment.rate_limit,
                        "ThrottlingBurstLimit": deployment.burst_limit,
                    }
                ],
                "AccessLogSetting": {
                    "DestinationArn": _getatt("ApiAccessLogGroup", "Arn"),
                    "Format": json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")),
                },
                "DefinitionBody": {"info": {"title": {"Fn::Sub": "${AWS::StackName}"}}},
            },
        },
        "ApiAccessLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": {"Fn::Sub": "/aws/apigateway/${AWS::StackName}-access"},
                "RetentionInDays": wiring.log_retention_days,
            },
        },
        "ApiThrottledMetric": {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": {"Ref": "ApiAccessLogGroup"},
                "FilterPattern": '{ $.status = "429" }',
                "MetricTransformations": [
                    {
                        "MetricName": THROTTLED_METRIC,
                        "MetricNamespace": deployment.metrics_namespace,
                        "MetricValue": "1",
                        "Unit": "Count",
                        "Dimensions": [{"Key": "ApiId", "Value": "$.apiId"}],
                    }
                ],
            },
        },
        # API Gateway writes logs through one role per account and region (AWS::ApiGateway::Account).
        "ApiGatewayCloudWatchRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AmazonAPIGatewayPushToCloudWatchLogs"
                    }
                ],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {"CloudWatchRoleArn": _getatt("ApiGatewayCloudWatchRole", "Arn")},
        },
    }


def _api_dimensions(deployment: Deployment) -> list[dict[str, Any]]:
    return [
        {"Name": "ApiName", "Value": {"Fn::Sub": "${AWS::StackName}"}},
        {"Name": "Stage", "Value": deployment.api_stage},
    ]


def api_alarms(deployment: Deployment) -> dict[str, Any]:
    """Alarms on any 5xx (the API promises none) and on requests the stage throttled (429)."""
    throttled = _alarm(
        "API Gateway throttled requests (429) at the stage's rate/burst limit",
        deployment.metrics_namespace,
        THROTTLED_METRIC,
        [{"Name": "ApiId", "Value": {"Ref": "RestAPI"}}],
        "Sum",
        1,
    )
    return {
        "Api5xxAlarm": _alarm(
            "The API answered 5xx", "AWS/ApiGateway", "5XXError", _api_dimensions(deployment), "Sum", 1
        ),
        "ApiThrottledAlarm": throttled,
    }


def add_files_bucket(resources: dict[str, Any], outputs: dict[str, Any]) -> None:
    """The attachments bucket (infra/files.py), its name in every function's environment, and the
    S3 statements of the functions that use it."""
    from infra import files

    resources.update(files.cloudformation_resources())
    for function in (
        name
        for name, r in resources.items()
        if f"{name}Role" in resources and "Properties" in r and "Environment" in r["Properties"]
    ):
        resources[function]["Properties"]["Environment"]["Variables"][files.ENV_VAR] = {
            "Ref": files.LOGICAL_ID
        }
        if function in files.FUNCTIONS:
            policy = resources[f"{function}Role"]["Properties"]["Policies"][0]["PolicyDocument"]
            policy["Statement"].extend(files.role_statements())
    outputs[f"{files.LOGICAL_ID}Name"] = {"Value": {"Ref": files.LOGICAL_ID}}


# API Gateway answers an unknown path itself (403 "Missing Authentication Token"); this makes
# that answer the same 404 problem+json the local server gives. It goes into the API's own
# definition: a separate GatewayResponse resource would drift from the swagger body.
def gateway_problems() -> dict[str, Any]:
    """The RestAPI fragment turning unknown routes into a 404 problem (deep-merged by chalice)."""
    body = '{"type": "/problems/not-found", "title": "Not found", "status": 404, "detail": "No such route"}'
    responses = {
        "MISSING_AUTHENTICATION_TOKEN": {
            "statusCode": 404,
            "responseParameters": {"gatewayresponse.header.Content-Type": "'application/problem+json'"},
            "responseTemplates": {"application/json": body},
        }
    }
    return {
        "RestAPI": {"Properties": {"DefinitionBody": {"x-amazon-apigateway-gateway-responses": responses}}}
    }


def dashboard(deployment: Deployment, functions: list[str]) -> dict[str, Any]:
    """One CloudWatch dashboard: intake, counter lag, stream failures, API latency and errors, year-end."""
    ns = deployment.metrics_namespace
    emf = ["service", deployment.service]  # Powertools puts every EMF metric under the service dimension
    streams = [f for f in functions if f in STREAM_FUNCTIONS]
    widgets = [
        _intake_widget(ns, emf),
        _counter_lag_widget(ns, emf, streams),
        _stream_failures_widget(ns, emf, streams),
        _api_widget(ns, ["ApiName", "${AWS::StackName}", "Stage", deployment.api_stage]),
    ]
    if YEAR_END_FUNCTION in functions:
        widgets.append(_year_end_widget())
    body = json.dumps({"widgets": widgets}, ensure_ascii=False, separators=(",", ":"))
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {"DashboardName": {"Fn::Sub": "${AWS::StackName}"}, "DashboardBody": {"Fn::Sub": body}},
    }


def _function_dimension(name: str) -> list[str]:
    """The FunctionName dimension of a packaged function, as a dashboard metric spells it."""
    return ["FunctionName", f"${{AWS::StackName}}-{name}"]


def _widget(title: str, metrics: list[list[Any]], x: int, y: int, **extra: Any) -> dict[str, Any]:
    """A 12x6 time-series metric widget at (x, y), one-minute periods unless `extra` says otherwise."""
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "view": "timeSeries",
            "stacked": False,
            "metrics": metrics,
            "period": 60,
            **extra,
        },
    }


def _intake_widget(ns: str, emf: list[str]) -> dict[str, Any]:
    return _widget(
        "Events accepted per second",
        [
            [ns, EVENTS_ACCEPTED, *emf, {"id": "accepted", "stat": "Sum", "visible": False}],
            [{"expression": "accepted / PERIOD(accepted)", "label": "events/s", "id": "rate"}],
            [ns, EVENTS_DUPLICATE, *emf, {"stat": "Sum", "label": "duplicates / min"}],
        ],
        0,
        0,
    )


def _counter_lag_widget(ns: str, emf: list[str], streams: list[str]) -> dict[str, Any]:
    return _widget(
        "Counter lag: fact written -> counted (s)",
        [
            [ns, COUNTER_LAG_SECONDS, *emf, {"stat": "p95", "label": "lag p95"}],
            [ns, COUNTER_LAG_SECONDS, *emf, {"stat": "Maximum", "label": "lag max"}],
            *[
                [
                    "AWS/Lambda",
                    "IteratorAge",
                    *_function_dimension(f),
                    {"stat": "Maximum", "label": f"{f} iterator age (ms)", "yAxis": "right"},
                ]
                for f in streams
            ],
        ],
        12,
        0,
    )


def _stream_failures_widget(ns: str, emf: list[str], streams: list[str]) -> dict[str, Any]:
    return _widget(
        "Stream batch failures",
        [
            [ns, BATCH_FAILURES, *emf, {"stat": "Sum", "label": "records reported failed"}],
            [
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                "${FailureQueue.QueueName}",
                {"stat": "Maximum", "label": "parked in the failure queue"},
            ],
            *[
                ["AWS/Lambda", "Errors", *_function_dimension(f), {"stat": "Sum", "label": f"{f} errors"}]
                for f in streams
            ],
        ],
        0,
        6,
    )


def _api_widget(ns: str, api: list[str]) -> dict[str, Any]:
    return _widget(
        "API latency p95 (ms) and errors",
        [
            ["AWS/ApiGateway", "Latency", *api, {"stat": "p95", "label": "latency p95"}],
            ["AWS/ApiGateway", "IntegrationLatency", *api, {"stat": "p95", "label": "integration p95"}],
            ["AWS/ApiGateway", "5XXError", *api, {"stat": "Sum", "label": "5xx", "yAxis": "right"}],
            ["AWS/ApiGateway", "4XXError", *api, {"stat": "Sum", "label": "4xx", "yAxis": "right"}],
            [
                ns,
                THROTTLED_METRIC,
                "ApiId",
                "${RestAPI}",
                {"stat": "Sum", "label": "429 throttled", "yAxis": "right"},
            ],
        ],
        12,
        6,
    )


def _year_end_widget() -> dict[str, Any]:
    return _widget(
        "Year-end run duration (s); set the range to include 31 December",
        [
            [
                "AWS/Lambda",
                "Duration",
                *_function_dimension(YEAR_END_FUNCTION),
                {"id": "ms", "stat": "Maximum", "visible": False},
            ],
            [{"expression": "ms / 1000", "label": "year-end run (s)", "id": "seconds"}],
            [
                "AWS/Lambda",
                "Errors",
                *_function_dimension(YEAR_END_FUNCTION),
                {"stat": "Sum", "label": "errors", "yAxis": "right"},
            ],
        ],
        0,
        12,
        period=3600,
    )
