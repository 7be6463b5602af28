"""Account-level and monitoring services against moto: CloudTrail per region, GuardDuty, Security
Hub, CloudWatch alarms, CIS metric filters, SNS, AWS Config and Inspector; where moto lacks an
operation, the document in the shape of the API reference's answer."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from shared.inventory.collectors.aws.logs import MetricFilters
from shared.inventory.collectors.base import CollectionError
from shared.policies.policy import builtin_policies
from tests.aws_faults import FaultyCloud
from tests.shared.inventory.collectors.test_aws import ACCOUNT, HOME, OTHER, aws, collect, failing, make_collector

TRAIL_POLICIES = (
    "pol_cloudtrail_enabled",
    "pol_cloudtrail_multi_region_management_events",
    "pol_cloudtrail_s3_object_write_events",
    "pol_cloudtrail_s3_object_read_events",
    "pol_cloudtrail_insights",
)
GUARDDUTY_POLICIES = (
    "pol_guardduty_enabled",
    "pol_guardduty_s3_protection",
    "pol_guardduty_eks_audit_logs",
    "pol_guardduty_malware_protection",
    "pol_guardduty_rds_protection",
    "pol_guardduty_lambda_protection",
    "pol_guardduty_runtime_monitoring",
)
INSPECTOR_POLICIES = {
    "pol_inspector_ec2_scanning": "EC2",
    "pol_inspector_ecr_scanning": "ECR",
    "pol_inspector_lambda_scanning": "LAMBDA",
    "pol_inspector_lambda_code_scanning": "LAMBDA_CODE",
}
FILTER_POLICIES = sorted(p for p in builtin_policies() if p.startswith("pol_cloudwatch_log_metric_filter_"))


def only(resources: dict) -> dict:
    (resource,) = resources.values()
    return {"region": resource}


def failing_of(policies, resources) -> set[str]:
    return {policy for policy in policies if failing(policy, resources)}


def trail(endpoint: str, name: str, *, multi_region: bool = True, start: bool = True, **options) -> str:
    aws("s3", endpoint).create_bucket(Bucket=f"{name}-logs")
    arn = aws("cloudtrail", endpoint).create_trail(
        Name=name, S3BucketName=f"{name}-logs", IsMultiRegionTrail=multi_region, **options
    )["TrailARN"]
    if start:
        aws("cloudtrail", endpoint).start_logging(Name=name)
    return arn


def test_an_account_without_a_trail_fails_in_every_region(moto):
    collector = make_collector(moto, regions=(HOME, OTHER))
    for region in (HOME, OTHER):
        (account,) = collect(collector, "aws.cloudtrail.account", region).values()
        assert account.uid == f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trails" and account.name == ACCOUNT
        assert account.document["trailList"] == [] and account.document["LoggingTrails"] == []
        assert failing_of(TRAIL_POLICIES, {"a": account}) == set(TRAIL_POLICIES), region


def test_a_multi_region_trail_logging_management_events_passes(moto):
    trail(moto, "main")
    aws("cloudtrail", moto).put_event_selectors(
        TrailName="main", EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )
    collector = make_collector(moto, regions=(HOME, OTHER))
    home = only(collect(collector, "aws.cloudtrail.account", HOME))
    (main,) = home["region"].document["trailList"]
    assert main["ManagementEvents"] == "All" and main["S3ObjectEvents"] == "None"
    assert home["region"].document["MultiRegionManagementTrails"] == ["main"]
    assert failing_of(TRAIL_POLICIES, home) == {
        "pol_cloudtrail_s3_object_write_events",
        "pol_cloudtrail_s3_object_read_events",
        "pol_cloudtrail_insights",
    }
    # Delivery times move with every delivery, not with the configuration: the account document
    # leaves them out, the trail's configuration hash ignores them.
    assert set(main["Status"]) & {"LatestDeliveryTime", "LatestDeliveryAttemptTime"} == set()
    trail_now = collect(collector, "aws.cloudtrail.trail")["main"]
    status = {**trail_now.document["Status"], "LatestDeliveryTime": "2030-01-01T00:00:00+00:00"}
    later = dataclasses.replace(trail_now, document={**trail_now.document, "Status": status})
    assert trail_now.document["Status"]["LatestDeliveryTime"] and later.config_hash == trail_now.config_hash

    # The shadow of the trail records the other region; its status is read there by ARN.
    other = only(collect(collector, "aws.cloudtrail.account", OTHER))
    assert [t["HomeRegion"] for t in other["region"].document["trailList"]] == [HOME]
    assert failing("pol_cloudtrail_enabled", other) == set()


def test_trails_that_stop_or_cover_one_region_fail_the_cis_test(moto):
    trail(moto, "stopped", start=False)
    trail(moto, "local", multi_region=False)
    resources = only(collect(make_collector(moto), "aws.cloudtrail.account"))
    document = resources["region"].document
    assert {t["Name"] for t in document["trailList"]} == {"stopped", "local"}
    assert document["LoggingTrails"] == ["local"] and document["MultiRegionManagementTrails"] == []
    assert failing("pol_cloudtrail_enabled", resources) == set()
    assert failing("pol_cloudtrail_multi_region_management_events", resources) == {"region"}


def test_s3_object_events_from_basic_and_advanced_selectors(moto):
    trail(moto, "writes")
    trail(moto, "reads", multi_region=False)
    client = aws("cloudtrail", moto)
    every_bucket = [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]
    client.put_event_selectors(
        TrailName="writes",
        EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True, "DataResources": every_bucket}],
    )
    client.put_event_selectors(
        TrailName="reads",
        AdvancedEventSelectors=[
            {
                "Name": "object reads",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "readOnly", "Equals": ["true"]},
                    {"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::reads-logs/"]},
                ],
            }
        ],
    )
    resources = only(collect(make_collector(moto), "aws.cloudtrail.account"))
    document = resources["region"].document
    assert {t["Name"]: (t["ManagementEvents"], t["S3ObjectEvents"]) for t in document["trailList"]} == {
        "writes": ("WriteOnly", "WriteOnly"),
        "reads": ("None", "ReadOnly"),
    }
    assert document["S3WriteEventTrails"] == ["writes"] and document["S3ReadEventTrails"] == ["reads"]
    assert failing("pol_cloudtrail_s3_object_write_events", resources) == set()
    assert failing("pol_cloudtrail_s3_object_read_events", resources) == set()
    assert failing("pol_cloudtrail_multi_region_management_events", resources) == {"region"}  # writes only

    # Selectors naming one bucket do not record every bucket.
    client.put_event_selectors(
        TrailName="writes",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::writes-logs/"]}],
            }
        ],
    )
    resources = only(collect(make_collector(moto), "aws.cloudtrail.account"))
    assert failing("pol_cloudtrail_s3_object_write_events", resources) == {"region"}
    assert failing("pol_cloudtrail_multi_region_management_events", resources) == set()


def test_trails_deliver_to_cloudwatch_logs(moto):
    aws("logs", moto).create_log_group(logGroupName="cloudtrail")
    trail(
        moto,
        "watched",
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:{HOME}:{ACCOUNT}:log-group:cloudtrail:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/cloudtrail-to-logs",
    )
    trail(moto, "unwatched")
    trails = collect(make_collector(moto), "aws.cloudtrail.trail")
    assert failing("pol_cloudtrail_cloudwatch_logs", trails) == {"unwatched"}


def test_the_trail_bucket_has_access_logging(moto):
    """CIS 3.4, read through S3 from the trail's type; a bucket this account cannot read (another
    account's log archive) is left to that account's scan."""
    trail(moto, "logged")
    trail(moto, "unlogged")
    s3 = aws("s3", moto)
    s3.create_bucket(Bucket="access-logs")
    s3.put_bucket_acl(Bucket="access-logs", ACL="log-delivery-write")
    s3.put_bucket_logging(
        Bucket="logged-logs",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "cloudtrail/"}},
    )
    with FaultyCloud(moto) as cloud:
        cloud.deny(service="s3", code="AccessDenied")  # the only S3 call: GetBucketLogging
        elsewhere = collect(make_collector(cloud.url), "aws.cloudtrail.trail")
    assert "S3BucketLogging" not in elsewhere["logged"].document
    assert failing("pol_cloudtrail_bucket_access_logging", elsewhere) == set()
    trails = collect(make_collector(moto), "aws.cloudtrail.trail")
    assert trails["logged"].document["S3BucketLogging"]["LoggingEnabled"]["TargetBucket"] == "access-logs"
    assert failing("pol_cloudtrail_bucket_access_logging", trails) == {"unlogged"}


def test_guardduty_detector_per_region(moto):
    collector = make_collector(moto, regions=(HOME, OTHER))
    none = only(collect(collector, "aws.guardduty.detector", OTHER))
    assert none["region"].document == {"DetectorIds": []}
    assert none["region"].uid == f"arn:aws:guardduty:{OTHER}:{ACCOUNT}:detector-status"
    assert failing_of(GUARDDUTY_POLICIES, none) == set(GUARDDUTY_POLICIES)

    enabled = ("S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION", "RUNTIME_MONITORING")
    detector_id = aws("guardduty", moto).create_detector(
        Enable=True,
        DataSources={"S3Logs": {"Enable": True}},
        Features=[{"Name": name, "Status": "ENABLED"} for name in enabled]
        + [{"Name": "RDS_LOGIN_EVENTS", "Status": "DISABLED"}],
    )["DetectorId"]
    resources = only(collect(collector, "aws.guardduty.detector", HOME))
    detector = resources["region"].document["Detector"]
    assert detector["DetectorId"] == detector_id and detector["Status"] == "ENABLED"
    # Kubernetes audit logs come from the older DataSources answer, the rest from Features.
    assert detector["FeatureStatus"] == {
        "S3_DATA_EVENTS": "ENABLED",
        "EKS_AUDIT_LOGS": "DISABLED",
        "EBS_MALWARE_PROTECTION": "ENABLED",
        "RUNTIME_MONITORING": "ENABLED",
        "RDS_LOGIN_EVENTS": "DISABLED",
    }
    assert failing_of(GUARDDUTY_POLICIES, resources) == {
        "pol_guardduty_eks_audit_logs",
        "pol_guardduty_rds_protection",
        "pol_guardduty_lambda_protection",
    }

    aws("guardduty", moto).update_detector(DetectorId=detector_id, Enable=False)  # suspended
    resources = only(collect(collector, "aws.guardduty.detector", HOME))
    assert failing_of(GUARDDUTY_POLICIES, resources) == set(GUARDDUTY_POLICIES)


def test_security_hub_off_is_an_empty_document_that_fails(moto):
    resources = only(collect(make_collector(moto), "aws.securityhub.hub"))
    assert resources["region"].document == {}
    assert resources["region"].uid == f"arn:aws:securityhub:{HOME}:{ACCOUNT}:hub/default"
    assert failing("pol_securityhub_enabled", resources) == {"region"}
    assert failing("pol_securityhub_fsbp_standard", resources) == {"region"}


def test_security_hub_on_reads_its_standards(moto):
    # moto answers DescribeHub but has no GetEnabledStandards: the listing reaches the detail call.
    aws("securityhub", moto).enable_security_hub(EnableDefaultStandards=True)
    with pytest.raises(CollectionError) as error:
        collect(make_collector(moto), "aws.securityhub.hub")
    assert "GetEnabledStandards" in error.value.message

    # The document as DescribeHub and GetEnabledStandards answer (shapes of the API reference).
    hub = {
        "HubArn": f"arn:aws:securityhub:{HOME}:{ACCOUNT}:hub/default",
        "SubscribedAt": "2024-03-01T10:00:00.000Z",
        "AutoEnableControls": True,
        "ControlFindingGenerator": "SECURITY_CONTROL",
    }

    def subscription(standard: str, status: str = "READY") -> dict:
        return {
            "StandardsSubscriptionArn": f"arn:aws:securityhub:{HOME}:{ACCOUNT}:subscription/{standard}",
            "StandardsArn": f"arn:aws:securityhub:{HOME}::standards/{standard}",
            "StandardsInput": {},
            "StandardsStatus": status,
        }

    fsbp = "aws-foundational-security-best-practices/v/1.0.0"
    documents = {
        "fsbp": {**hub, "StandardsSubscriptions": [subscription(fsbp), subscription("pci-dss/v/3.2.1")]},
        "pci-only": {**hub, "StandardsSubscriptions": [subscription("pci-dss/v/3.2.1")]},
        "fsbp-failed": {**hub, "StandardsSubscriptions": [subscription(fsbp, "FAILED")]},
    }
    resources = {name: SimpleNamespace(document=document) for name, document in documents.items()}
    assert failing("pol_securityhub_enabled", resources) == set()
    assert failing("pol_securityhub_fsbp_standard", resources) == {"pci-only", "fsbp-failed"}


def test_cloudwatch_alarms_need_activated_actions(moto):
    cloudwatch = aws("cloudwatch", moto)
    topic = aws("sns", moto).create_topic(Name="on-call")["TopicArn"]
    metric = {
        "MetricName": "CPUUtilization",
        "Namespace": "AWS/EC2",
        "Statistic": "Average",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 90.0,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    cloudwatch.put_metric_alarm(AlarmName="paged", AlarmActions=[topic], **metric)
    cloudwatch.put_metric_alarm(AlarmName="silent", **metric)
    cloudwatch.put_metric_alarm(AlarmName="muted", AlarmActions=[topic], ActionsEnabled=False, **metric)
    alarms = collect(make_collector(moto), "aws.cloudwatch.alarm")
    assert set(alarms) == {"paged", "silent", "muted"}
    assert alarms["paged"].uid == f"arn:aws:cloudwatch:{HOME}:{ACCOUNT}:alarm:paged"
    assert failing("pol_cloudwatch_alarm_actions_configured", alarms) == {"silent"}
    assert failing("pol_cloudwatch_alarm_actions_enabled", alarms) == {"muted"}


def test_cis_metric_filters(moto):
    collector = make_collector(moto)
    resources = only(collect(collector, "aws.logs.metric-filters"))
    assert resources["region"].uid == f"arn:aws:logs:{HOME}:{ACCOUNT}:metric-filters"
    assert resources["region"].document["metricFilters"] == []
    assert failing_of(FILTER_POLICIES, resources) == set(FILTER_POLICIES)

    # The benchmark's own patterns (each policy's passing example), put through moto.
    logs = aws("logs", moto)
    logs.create_log_group(logGroupName="cloudtrail")
    policies = builtin_policies()
    for policy_id in FILTER_POLICIES:
        (example,) = policies[policy_id].examples["pass"]["metricFilters"]
        logs.put_metric_filter(
            logGroupName="cloudtrail",
            filterName=example["filterName"],
            filterPattern=example["filterPattern"],
            metricTransformations=example["metricTransformations"],
        )
    # 40 more filters on other log groups: the region's filters take a second page of 50.
    for index in range(40):
        logs.create_log_group(logGroupName=f"app-{index:02d}")
        logs.put_metric_filter(
            logGroupName=f"app-{index:02d}",
            filterName="errors",
            filterPattern="ERROR",
            metricTransformations=[{"metricName": f"Errors{index}", "metricNamespace": "App", "metricValue": "1"}],
        )
    # Filters without an alarm on their metric count for nothing.
    resources = only(collect(collector, "aws.logs.metric-filters"))
    assert len(resources["region"].document["metricFilters"]) == 55
    assert failing_of(FILTER_POLICIES, resources) == set(FILTER_POLICIES)

    # An alarm with an action on each metric, except root usage's, whose alarm has its actions off.
    cloudwatch = aws("cloudwatch", moto)
    topic = aws("sns", moto).create_topic(Name="security-alarms")["TopicArn"]
    for policy_id in FILTER_POLICIES:
        (example,) = policies[policy_id].examples["pass"]["metricFilters"]
        (metric,) = example["metricTransformations"]
        cloudwatch.put_metric_alarm(
            AlarmName=example["filterName"],
            MetricName=metric["metricName"],
            Namespace=metric["metricNamespace"],
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[topic],
            ActionsEnabled=example["filterName"] != "root-usage",
        )
    resources = only(collect(collector, "aws.logs.metric-filters"))
    document = resources["region"].document
    assert document["FiltersFor"]["RootUsage"] == []
    assert document["FiltersFor"]["UnauthorizedApiCalls"] == ["cloudtrail:unauthorized-api-calls"]
    assert failing_of(FILTER_POLICIES, resources) == {"pol_cloudwatch_log_metric_filter_root_usage"}


@pytest.mark.parametrize(
    "pattern,covers",
    [
        # A trail change filter without StopLogging misses the event attackers use most.
        (
            "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) "
            "|| ($.eventName = StartLogging) }",
            [],
        ),
        # Every Organizations event: broader than the benchmark's list, and enough.
        ('{ $.eventSource = "organizations.amazonaws.com" }', ["OrganizationsChanges"]),
        # The pre-3.0 wording of 4.1 and 4.2, without the terms v3.0.0 added.
        ('{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }', ["UnauthorizedApiCalls"]),
        ('{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }', ["ConsoleSignInWithoutMfa"]),
        # Root use by a service on its behalf is excluded only with both terms.
        ('{ $.userIdentity.type = "Root" }', []),
    ],
)
def test_metric_filter_patterns(pattern, covers):
    alarm = {"AlarmName": "a", "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:alarms"], "ActionsEnabled": True}
    filters = {
        "metricFilters": [{"filterName": "f", "filterPattern": pattern, "logGroupName": "trail", "Alarms": [alarm]}]
    }
    document = MetricFilters.normalise(filters, datetime.now(UTC))
    assert [name for name, found in document["FiltersFor"].items() if found] == covers


def test_sns_topics_and_subscriptions(moto):
    sns = aws("sns", moto)
    sealed = sns.create_topic(Name="sealed", Attributes={"KmsMasterKeyId": "alias/aws/sns"})["TopicArn"]
    public = sns.create_topic(Name="public")["TopicArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "SNS:Publish", "Resource": public}],
    }
    sns.set_topic_attributes(TopicArn=public, AttributeName="Policy", AttributeValue=json.dumps(policy))
    sns.subscribe(TopicArn=sealed, Protocol="https", Endpoint="https://hooks.example.com/sns")
    sns.subscribe(TopicArn=public, Protocol="http", Endpoint="http://ops:secret@hooks.example.com/sns")
    collector = make_collector(moto)

    topics = collect(collector, "aws.sns.topic")
    assert set(topics) == {"sealed", "public"} and topics["sealed"].uid == sealed
    assert topics["sealed"].document["Attributes"]["Policy"]["Statement"][0]["Principals"] == ["*"]
    assert failing("pol_sns_topic_kms_encryption", topics) == {"public"}
    assert failing("pol_sns_topic_not_public", topics) == {"public"}  # the default policy has a condition

    subscriptions = collect(collector, "aws.sns.subscription")
    assert set(subscriptions) == {
        "sealed:https:https://hooks.example.com/sns",
        "public:http:http://ops:****@hooks.example.com/sns",  # no password in the document
    }
    assert failing("pol_sns_subscription_https", subscriptions) == {"public:http:http://ops:****@hooks.example.com/sns"}


def test_config_recorder_failure(moto):
    config = aws("config", moto)
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/config",
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-history"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    recorders = only(collect(make_collector(moto), "aws.config.recorder"))
    assert failing("pol_config_recorder_no_failure", recorders) == set()

    # moto's recorder never fails: the status as DescribeConfigurationRecorderStatus reports one.
    failed = {
        **recorders["region"].document,
        "ConfigurationRecordersStatus": [
            {
                "name": "default",
                "recording": True,
                "lastStatus": "Failure",
                "lastErrorCode": "NoSuchBucket",
                "lastErrorMessage": "The specified bucket does not exist",
            }
        ],
    }
    assert failing("pol_config_recorder_no_failure", {"failed": SimpleNamespace(document=failed)}) == {"failed"}


def test_inspector_scanning_per_resource_type(moto):
    collector = make_collector(moto)
    resources = only(collect(collector, "aws.inspector2.account"))
    assert resources["region"].uid == f"arn:aws:inspector2:{HOME}:{ACCOUNT}:account-status"
    assert failing_of(INSPECTOR_POLICIES, resources) == set(INSPECTOR_POLICIES)

    aws("inspector2", moto).enable(accountIds=[ACCOUNT], resourceTypes=["EC2", "ECR"])
    resources = only(collect(collector, "aws.inspector2.account"))
    (status,) = resources["region"].document["accounts"]
    assert status["accountId"] == ACCOUNT and status["resourceState"]["ec2"]["status"] == "ENABLED"
    assert failing_of(INSPECTOR_POLICIES, resources) == {
        "pol_inspector_lambda_scanning",
        "pol_inspector_lambda_code_scanning",
    }


def test_the_account_security_contact(moto):
    collector = make_collector(moto)
    (account,) = collect(collector, "aws.account.security-contact", "global").values()
    assert account.uid == f"arn:aws:account::{ACCOUNT}:alternate-contact/security" and account.document == {}
    assert failing("pol_account_security_contact", {"a": account}) == {"a"}
    aws("account", moto).put_alternate_contact(
        AlternateContactType="SECURITY",
        Name="Security team",
        Title="Security",
        EmailAddress="security@example.com",
        PhoneNumber="+15550100",
    )
    (account,) = collect(collector, "aws.account.security-contact", "global").values()
    assert account.document["AlternateContact"]["EmailAddress"] == "security@example.com"
    assert failing("pol_account_security_contact", {"a": account}) == set()
