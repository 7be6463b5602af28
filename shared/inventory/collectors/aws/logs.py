"""CloudWatch Logs: log groups, and per region the metric filters that watch for CIS section 4 events."""

from __future__ import annotations

import re
from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("logs:DescribeLogGroups", "logs", "describe_log_groups", {"limit": 1})
probe("logs:DescribeMetricFilters", "logs", "describe_metric_filters", {"limit": 1})


@resource_types.register("aws.logs.log-group")
class LogGroup(AwsResource):
    service = "logs"
    list_operation = "describe_log_groups"
    list_key = "logGroups"
    paging = ("nextToken", "nextToken")
    page_size_param = "limit"
    page_size_limits = (1, 50)
    id_template = "{logGroupName}"
    name_template = "{logGroupName}"
    arn = "arn:aws:logs:{region}:{account}:log-group:{logGroupName}"
    details = (Detail("list_tags_for_resource", {"resourceArn": Ref("logGroupArn")}, "tags", "tags"),)
    volatile = ("storedBytes", "metricFilterCount")


def _events(*names: str) -> tuple[tuple[str, str, str], ...]:
    return tuple(("eventName", "=", name) for name in names)


# CIS AWS Foundations v3.0.0 section 4: the terms of each recommended filter pattern that a
# metric filter must contain (field, operator, value). Terms the benchmark added to narrow a
# pattern (4.1's exclusions, 4.2's user type) and retired EC2-Classic events (4.14) are optional.
CIS_PATTERNS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "UnauthorizedApiCalls": (("errorCode", "=", "*UnauthorizedOperation"), ("errorCode", "=", "AccessDenied*")),
    "ConsoleSignInWithoutMfa": (("eventName", "=", "ConsoleLogin"), ("additionalEventData.MFAUsed", "!=", "Yes")),
    "RootUsage": (
        ("userIdentity.type", "=", "Root"),
        ("userIdentity.invokedBy", "NOT EXISTS", ""),
        ("eventType", "!=", "AwsServiceEvent"),
    ),
    "IamPolicyChanges": _events(
        *(f"{verb}{kind}Policy" for verb in ("Delete", "Put") for kind in ("Group", "Role", "User")),
        "CreatePolicy",
        "DeletePolicy",
        "CreatePolicyVersion",
        "DeletePolicyVersion",
        *(f"{verb}{kind}Policy" for verb in ("Attach", "Detach") for kind in ("Role", "User", "Group")),
    ),
    "CloudTrailChanges": _events("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"),
    "ConsoleAuthFailures": (("eventName", "=", "ConsoleLogin"), ("errorMessage", "=", "Failed authentication")),
    "KmsKeyDisableOrDeletion": (
        ("eventSource", "=", "kms.amazonaws.com"),
        *_events("DisableKey", "ScheduleKeyDeletion"),
    ),
    "S3BucketPolicyChanges": (
        ("eventSource", "=", "s3.amazonaws.com"),
        *_events(
            "PutBucketAcl",
            "PutBucketPolicy",
            "PutBucketCors",
            "PutBucketLifecycle",
            "PutBucketReplication",
            "DeleteBucketPolicy",
            "DeleteBucketCors",
            "DeleteBucketLifecycle",
            "DeleteBucketReplication",
        ),
    ),
    "ConfigChanges": (
        ("eventSource", "=", "config.amazonaws.com"),
        *_events(
            "StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel", "PutConfigurationRecorder"
        ),
    ),
    "SecurityGroupChanges": _events(
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress",
        "CreateSecurityGroup",
        "DeleteSecurityGroup",
    ),
    "NetworkAclChanges": _events(
        "CreateNetworkAcl",
        "CreateNetworkAclEntry",
        "DeleteNetworkAcl",
        "DeleteNetworkAclEntry",
        "ReplaceNetworkAclEntry",
        "ReplaceNetworkAclAssociation",
    ),
    "NetworkGatewayChanges": _events(
        "CreateCustomerGateway",
        "DeleteCustomerGateway",
        "AttachInternetGateway",
        "CreateInternetGateway",
        "DeleteInternetGateway",
        "DetachInternetGateway",
    ),
    "RouteTableChanges": (
        ("eventSource", "=", "ec2.amazonaws.com"),
        *_events(
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        ),
    ),
    "VpcChanges": _events(
        "CreateVpc",
        "DeleteVpc",
        "ModifyVpcAttribute",
        "AcceptVpcPeeringConnection",
        "CreateVpcPeeringConnection",
        "DeleteVpcPeeringConnection",
        "RejectVpcPeeringConnection",
    ),
    "OrganizationsChanges": (
        ("eventSource", "=", "organizations.amazonaws.com"),
        *_events(
            "AcceptHandshake",
            "AttachPolicy",
            "CreateAccount",
            "CreateOrganizationalUnit",
            "CreatePolicy",
            "DeclineHandshake",
            "DeleteOrganization",
            "DeleteOrganizationalUnit",
            "DeletePolicy",
            "DetachPolicy",
            "DisablePolicyType",
            "EnablePolicyType",
            "InviteAccountToOrganization",
            "LeaveOrganization",
            "MoveAccount",
            "RemoveAccountFromOrganization",
            "UpdatePolicy",
            "UpdateOrganizationalUnit",
        ),
    ),
}

# One term of a JSON filter pattern: `$.field = value`, `$.field != "value"`, `$.field NOT EXISTS`.
TERM = re.compile(r'\$\.([\w.\[\]]+)\s*(?:(NOT\s+EXISTS|IS\s+NULL)|(!=|=)\s*("[^"]*"|[^\s()&|}]+))', re.IGNORECASE)


def pattern_terms(pattern: str) -> set[tuple[str, str, str]]:
    """The (field, operator, value) terms of a JSON metric filter pattern, quotes removed."""
    terms = set()
    for field, absent, operator, value in TERM.findall(pattern or ""):
        if absent:
            terms.add((field, "NOT EXISTS", ""))
        else:
            terms.add((field, operator, value.strip('"')))
    return terms


def _covers(terms: set[tuple[str, str, str]], required: tuple[tuple[str, str, str], ...]) -> bool:
    """A filter covers a recommendation when it has every required term, or when it matches every
    event of the recommendation's event source (an eventSource term and no eventName term)."""
    if set(required) <= terms:
        return True
    sources = {term for term in required if term[0] == "eventSource"}
    return bool(sources) and sources <= terms and not any(term[0] == "eventName" for term in terms)


def _alarmed(metric_filter: dict) -> bool:
    """An alarm on the filter's metric acts when it fires: it has an action, and actions are on."""
    return any(
        alarm.get("AlarmActions") and alarm.get("ActionsEnabled") is not False
        for alarm in metric_filter.get("Alarms") or []
        if isinstance(alarm, dict)
    )


@resource_types.register("aws.logs.metric-filters")
class MetricFilters(AwsResource):
    """One pseudo-resource per region: the region's metric filters (every page of
    DescribeMetricFilters), each with the CloudWatch alarms on its metric (DescribeAlarmsForMetric,
    one call per filter), and, in `FiltersFor`, which filters implement each CIS section 4
    recommendation: a list of "log group:filter name" per recommendation, empty when none does.
    A filter counts only when an alarm with an enabled action watches its metric; the SNS
    subscriber of that action and which trail feeds the log group are not read."""

    service = "logs"
    list_operation = "describe_metric_filters"
    list_params = {"limit": 50}
    singleton = True
    paging = ("nextToken", "nextToken")
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:logs:{region}:{account}:metric-filters"
    details = (
        Detail(
            "describe_alarms_for_metric",
            {
                "MetricName": Ref("metricTransformations.0.metricName"),
                "Namespace": Ref("metricTransformations.0.metricNamespace"),
            },
            "Alarms",
            "MetricAlarms",
            each="metricFilters",
            service="cloudwatch",
        ),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["metricFilters"] = [f for f in item.get("metricFilters") or [] if isinstance(f, dict)]
        found: dict[str, list[str]] = {name: [] for name in CIS_PATTERNS}
        for metric_filter in filter(_alarmed, item["metricFilters"]):
            terms = pattern_terms(metric_filter.get("filterPattern", ""))
            for name, required in CIS_PATTERNS.items():
                if _covers(terms, required):
                    found[name].append(f"{metric_filter.get('logGroupName')}:{metric_filter.get('filterName')}")
        item["FiltersFor"] = found
        return item
