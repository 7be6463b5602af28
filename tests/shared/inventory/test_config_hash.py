"""One resource, one hash: volatile paths with `*` steps reach into lists, and the clocks of the
IAM user and the CloudTrail trail no longer churn the hash of an unchanged resource."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

from shared.inventory.collectors.aws.cloudtrail import CloudTrailTrail
from shared.inventory.collectors.aws.iam import IamUser
from shared.inventory.collectors.base import CollectedResource

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def hashed(resource_type: str, document: dict, volatile: tuple[str, ...]) -> str:
    return CollectedResource("uid", "id", "name", resource_type, "global", document, volatile).config_hash


def test_a_star_step_reaches_every_element_and_leaves_the_document_alone():
    document = {"Keys": [{"Id": "a", "At": 1}, {"Id": "b", "At": 2}], "Name": "n", "Other": "text"}
    kept = copy.deepcopy(document)
    volatile = ("Keys.*.At", "Other.*.x", "Missing.*.x", "Name.*")
    digest = hashed("aws.iam.user", document, volatile)
    assert document == kept
    moved = {"Keys": [{"Id": "a", "At": 9}, {"Id": "b"}], "Name": "n", "Other": "text"}
    assert hashed("aws.iam.user", moved, volatile) == digest
    renamed = {"Keys": [{"Id": "a", "At": 1}, {"Id": "c", "At": 2}], "Name": "n", "Other": "text"}
    assert hashed("aws.iam.user", renamed, volatile) != digest


def _user(last_used: str, password_used: str, status: str = "Active") -> dict:
    return {
        "UserName": "alice",
        "Arn": "arn:aws:iam::123456789012:user/alice",
        "PasswordLastUsed": password_used,
        "LoginProfile": {"CreateDate": "2025-01-01T00:00:00+00:00"},
        "MFADevices": [],
        "AccessKeys": [
            {
                "AccessKeyId": "AKIAEXAMPLE",
                "Status": status,
                "CreateDate": "2025-06-01T00:00:00+00:00",
                "LastUsed": {"LastUsedDate": last_used, "ServiceName": "s3", "Region": "us-east-1"},
            }
        ],
        "Tags": [{"Key": "team", "Value": "web"}],
    }


def test_an_iam_user_collected_a_day_apart_keeps_its_hash():
    today = IamUser.normalise(_user("2026-03-02T08:00:00+00:00", "2026-03-02T07:00:00+00:00"), NOW)
    tomorrow = IamUser.normalise(
        _user("2026-03-03T09:30:00+00:00", "2026-03-03T10:00:00+00:00"), NOW + timedelta(days=1)
    )
    assert today["AccessKeys"][0]["AgeDays"] != tomorrow["AccessKeys"][0]["AgeDays"]  # the clocks moved
    assert hashed("aws.iam.user", today, IamUser.volatile) == hashed("aws.iam.user", tomorrow, IamUser.volatile)
    disabled = IamUser.normalise(_user("2026-03-02T08:00:00+00:00", "2026-03-02T07:00:00+00:00", "Inactive"), NOW)
    assert hashed("aws.iam.user", disabled, IamUser.volatile) != hashed("aws.iam.user", today, IamUser.volatile)


def _trail(delivered: str, logging: bool = True) -> dict:
    return {
        "Name": "main",
        "TrailARN": "arn:aws:cloudtrail:us-east-1:123456789012:trail/main",
        "IsMultiRegionTrail": True,
        "Status": {
            "IsLogging": logging,
            "LatestDeliveryTime": delivered,
            "LatestDeliveryAttemptTime": delivered,
            "LatestDeliveryAttemptSucceeded": delivered,
            "LatestNotificationTime": delivered,
            "LatestCloudWatchLogsDeliveryTime": delivered,
            "LatestDigestDeliveryTime": delivered,
            "StartLoggingTime": "2025-01-01T00:00:00+00:00",
        },
    }


def test_a_cloudtrail_trail_collected_a_day_apart_keeps_its_hash():
    today = CloudTrailTrail.normalise(_trail("2026-03-02T11:55:00+00:00"), NOW)
    tomorrow = CloudTrailTrail.normalise(_trail("2026-03-03T11:58:00+00:00"), NOW + timedelta(days=1))
    volatile = CloudTrailTrail.volatile
    assert hashed("aws.cloudtrail.trail", today, volatile) == hashed("aws.cloudtrail.trail", tomorrow, volatile)
    stopped = CloudTrailTrail.normalise(_trail("2026-03-02T11:55:00+00:00", logging=False), NOW)
    assert hashed("aws.cloudtrail.trail", stopped, volatile) != hashed("aws.cloudtrail.trail", today, volatile)
