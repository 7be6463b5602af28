"""Event-driven scans: resource-change events debounced into one scan, signed inbound webhooks,
policy-update triggers and compliance drift."""

from __future__ import annotations

import base64
import json
import time

import pytest
from sqlalchemy import select

from devkit.estates import seed_demo_estate
from shared.scans.models import Scan
from shared.schedules.models import ScheduleRun
from shared.schedules.triggers import drift_reason, parse_events, sign_webhook
from tests.api.test_auth import assert_envelope
from tests.api.test_schedules import REFERENCE, create
from tests.conftest import scan_body, wait_for_scan

AWS_SCHEDULE = {**REFERENCE, "scan_config": {**REFERENCE["scan_config"], "cloud_providers": ["aws"]}}
EVENTBRIDGE = {
    "version": "0",
    "id": "e1",
    "detail-type": "AWS API Call via CloudTrail",
    "source": "aws.s3",
    "account": "123456789012",
    "region": "us-east-1",
    "resources": [],
    "detail": {
        "eventSource": "s3.amazonaws.com",
        "eventName": "PutBucketEncryption",
        "requestParameters": {"bucketName": "logs-prod"},
    },
}


def event_for_bucket(name: str) -> dict:
    return {**EVENTBRIDGE, "id": name, "detail": {**EVENTBRIDGE["detail"], "requestParameters": {"bucketName": name}}}


def runs_of(svc, schedule_id: str) -> list[ScheduleRun]:
    with svc.db.session() as session:
        return list(session.scalars(select(ScheduleRun).where(ScheduleRun.schedule_id == schedule_id)))


def wait_for_run(svc, schedule_id: str, timeout: float = 30) -> ScheduleRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in runs_of(svc, schedule_id) if r.scan_id]
        if runs:
            return runs[0]
        time.sleep(0.1)
    raise AssertionError("the schedule did not fire")


def test_event_formats_are_understood():
    aws = parse_events(event_for_bucket("b"))
    assert [(c.provider, c.resource_uid, c.resource_type) for c in aws] == [("aws", "arn:aws:s3:::b", "aws.s3.bucket")]
    uri = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg-1"
    azure = parse_events(
        [
            {
                "id": "1",
                "eventType": "Microsoft.Resources.ResourceWriteSuccess",
                "subject": uri,
                "data": {"resourceUri": uri},
            }
        ]
    )
    assert [(c.provider, c.resource_type, c.native_account) for c in azure] == [("azure", "azure.network.nsg", "s1")]
    feed = {
        "asset": {
            "name": "//compute.googleapis.com/projects/p1/global/firewalls/fw",
            "assetType": "compute.googleapis.com/Firewall",
            "ancestors": ["projects/123"],
        }
    }
    gcp = parse_events({"message": {"data": base64.b64encode(json.dumps(feed).encode()).decode()}, "subscription": "s"})
    assert [(c.provider, c.resource_type) for c in gcp] == [("gcp", "gcp.compute.firewall")]


def test_burst_of_events_is_debounced_into_one_resource_specific_scan(client, worker, svc, tenant, make_account, moto):
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    schedule = create(
        client,
        tenant,
        {
            **AWS_SCHEDULE,
            "enabled": True,
            "triggers": {
                "resource_changes": {
                    "providers": ["aws"],
                    "resource_types": ["aws.s3.bucket"],
                    "resource_ids": ["arn:aws:s3:::*"],
                    "debounce_seconds": 1,
                }
            },
        },
    )
    for name in ("logs-prod", "test-scratch", "logs-prod", "payroll-exports"):
        response = client.post("/v1/events", headers=tenant.headers, json=event_for_bucket(name))
        assert response.status_code == 202 and response.get_json()["matched_schedules"] == [schedule["id"]]
    unrelated = client.post(
        "/v1/events",
        headers=tenant.headers,
        json={**EVENTBRIDGE, "source": "aws.ec2", "detail": {"requestParameters": {"groupId": "sg-1"}}},
    )
    assert unrelated.get_json()["matched_schedules"] == []

    run = wait_for_run(svc, schedule["id"])
    assert run.trigger == "resource_change"
    scan = wait_for_scan(client, tenant, run.scan_id)
    assert scan["scan_type"] == "resource_specific" and scan["status"] == "completed"
    assert sorted(scan["scope"]["include_resources"]) == [
        "arn:aws:s3:::logs-prod",
        "arn:aws:s3:::payroll-exports",
        "arn:aws:s3:::test-scratch",
    ]
    assert scan["progress"]["scanned_resources"] == 3
    time.sleep(1.5)  # the window has closed: nothing else fires
    assert len(runs_of(svc, schedule["id"])) == 1


def test_signed_webhooks_run_the_schedule_once(client, worker, svc, tenant, make_account, moto):
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    schedule = create(client, tenant, AWS_SCHEDULE)
    secret, url = schedule["webhook"]["secret"], f"/v1/scans/schedules/{schedule['id']}/webhook"
    body = b'{"source": "ci", "pipeline": 42}'
    now = int(time.time())

    def post(signature, timestamp=now, payload=body):
        return client.post(
            url,
            data=payload,
            content_type="application/json",
            headers={"X-PolicyCortex-Timestamp": str(timestamp), "X-PolicyCortex-Signature": signature},
        )

    accepted = post(sign_webhook(secret, body, now))
    assert accepted.status_code == 202, accepted.get_json()
    assert accepted.get_json()["run"]["trigger"] == "webhook" and accepted.get_json()["run"]["scan_id"]
    assert_envelope(post(sign_webhook(secret, body, now)), 401, "AUTH_003")  # a replay
    assert_envelope(post(sign_webhook("whsec_wrong", body, now)), 401, "AUTH_003")
    assert_envelope(post(sign_webhook(secret, body, now), payload=b'{"tampered": 1}'), 401, "AUTH_003")
    old = now - 3600
    assert_envelope(post(sign_webhook(secret, body, old), timestamp=old), 401, "AUTH_003")
    assert_envelope(client.post(url, data=body, content_type="application/json"), 401, "AUTH_003")
    assert_envelope(
        client.post(
            "/v1/scans/schedules/sch_ffffffffffffffff/webhook",
            data=body,
            headers={"X-PolicyCortex-Timestamp": str(now), "X-PolicyCortex-Signature": "x"},
        ),
        401,
        "AUTH_003",
    )
    assert [r.trigger for r in runs_of(svc, schedule["id"])] == ["webhook"]
    wait_for_scan(client, tenant, accepted.get_json()["run"]["scan_id"])


def test_policy_updates_start_a_policy_specific_scan(client, worker, svc, tenant, make_account, moto):
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    schedule = create(client, tenant, {**AWS_SCHEDULE, "triggers": {"policy_updates": {"enabled": True}}})
    policy = {
        "id": "pol_acme_no_scratch",
        "title": "No scratch buckets",
        "provider": "aws",
        "resource_type": "aws.s3.bucket",
        "severity": "low",
        "description": "d",
        "fails_when": {"key": "Name", "glob": "*-scratch"},
        "status_extended": {"pass": "{name} ok.", "fail": "{name} is a scratch bucket."},
        "remediation": {"text": "Delete it.", "effort": "5m"},
    }
    assert client.post("/v1/policies", headers=tenant.headers, json=policy).status_code == 201
    run = wait_for_run(svc, schedule["id"])
    assert run.trigger == "policy_update"
    scan = wait_for_scan(client, tenant, run.scan_id)
    assert scan["scan_type"] == "policy_specific" and scan["scope"]["include_policies"] == ["pol_acme_no_scratch"]
    assert scan["results"]["total_violations"] == 1


@pytest.mark.parametrize(
    "rule,score,previous,expected",
    [
        ({"min_score": 90}, 85.0, None, "compliance score 85.0 is below the threshold 90"),
        ({"min_score": 80}, 85.0, None, None),
        ({"max_drop": 5}, 85.0, 92.0, "compliance score dropped 7.0 points (92.0 -> 85.0)"),
        ({"max_drop": 5}, 90.0, 92.0, None),
        ({"max_drop": 5}, 90.0, None, None),
        ({"min_score": 90}, None, None, None),
    ],
)
def test_drift_rules(rule, score, previous, expected):
    assert drift_reason(rule, score, previous) == expected


def test_compliance_drift_fires_the_schedules_scan(client, worker, svc, tenant, make_account, moto):
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    schedule = create(
        client,
        tenant,
        {**AWS_SCHEDULE, "enabled": True, "triggers": {"compliance_drift": {"min_score": 99.5, "action": "scan"}}},
    )
    first = wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=scan_body()).json["id"])
    assert first["results"]["compliance_score"] < 99.5
    run = wait_for_run(svc, schedule["id"])
    assert run.trigger == "compliance_drift" and "below the threshold 99.5" in run.details["reason"]
    drift_scan = wait_for_scan(client, tenant, run.scan_id)
    assert drift_scan["trigger"] == "compliance_drift"
    with svc.db.session() as session:  # the drift scan does not trigger drift again
        count = len(session.scalars(select(Scan.id).where(Scan.schedule_id == schedule["id"])).all())
    assert count == 1


def test_events_need_a_key_and_a_known_format(client, tenant):
    assert_envelope(client.post("/v1/events", json=EVENTBRIDGE), 401, "AUTH_001")
    assert_envelope(client.post("/v1/events", headers=tenant.headers, json={"hello": 1}), 400, "REQ_001")
    assert_envelope(
        client.post("/v1/events?account_id=acc_nope", headers=tenant.headers, json=EVENTBRIDGE), 400, "REQ_001"
    )
    validation = client.post(
        "/v1/events",
        headers=tenant.headers,
        json=[
            {
                "id": "v",
                "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
            }
        ],
    )
    assert validation.get_json() == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}
