"""Deployable-template helpers: the functions' logical ids and names, the stage and regions the
template is checked for, IAM statements of a role, and the DynamoDB access a role allows."""

from __future__ import annotations

from typing import Any

from infra import template
from infra.package import stage_deployment, stage_environment

LINT_REGIONS = ["cn-north-1", "cn-northwest-1", "us-east-1"]
STAGE = "prod"  # what `make package STAGE=prod` deploys
YEAR_END_MOTO_S = 55  # bench/bench_scoring.py at national scale on moto, an upper bound (README "Deploy")
# Chalice's logical id of each function, as the merge template sees them after `chalice package`,
# and the function's name
CHALICE_NAMES = {
    "APIHandler": "api_handler",
    "FactsStream": "facts_stream",
    "PushStream": "push_stream",
    "YearEnd": "year_end",
    "SelectionReminders": "selection_reminders",
    "AnnualFormReminders": "annual_form_reminders",
}


def statements(resources: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every IAM statement of the role's policies."""
    return [
        s for p in resources[role]["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    """A policy field as a list (IAM lets one value stand alone)."""
    return value if isinstance(value, list) else [value]


def packaged_like() -> dict[str, Any]:
    """A minimal `chalice package` output with every function, the stream ones on the facts stream."""
    stream = {
        "Type": "DynamoDB",
        "Properties": {
            "Stream": "arn:aws:dynamodb:cn-north-1:000000000000:table/navi-facts/stream/placeholder"
        },
    }
    resources = {}
    for logical_id in CHALICE_NAMES:
        events = {"E": stream} if logical_id.endswith("Stream") else {}
        resources[logical_id] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {"Events": events, "MemorySize": 512, "Timeout": 20},
        }
    return {"Resources": resources}


def _target(resource: Any) -> tuple[str, str | None]:
    """(table logical id, None | "index/<name>" | "stream") of a policy resource."""
    if "Fn::GetAtt" in resource:
        table, attribute = resource["Fn::GetAtt"]
        return table, None if attribute == "Arn" else "stream"
    table, rest = resource["Fn::Sub"][2:].split(".Arn}/", 1)
    return table, rest


def allowed(function: str) -> set[tuple[str, str, str | None]]:
    """(action, table logical id, index) the function's role allows on DynamoDB."""
    resources = template.merge_template(packaged_like(), stage_environment("dev"), stage_deployment("dev"))[
        "Resources"
    ]
    out = set()
    for policy in resources[f"{function}Role"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            for action in statement["Action"]:
                if action.startswith("dynamodb:"):
                    for resource in statement["Resource"]:
                        out.add((action, *_target(resource)))
    return out
