"""/v1/scans/schedules: the reference's example, CRUD, validation, the manual trigger, RedBeat
mirroring and reconciling, and cron in the schedule's own time zone (DST included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redbeat import RedBeatSchedulerEntry
from sqlalchemy import update

from shared.schedules.cron import next_occurrence
from shared.schedules.models import Schedule
from shared.schedules.redbeat import entry_name, reconcile
from tests.api.test_auth import assert_envelope
from tests.conftest import provision, wait_for_scan

REFERENCE = {
    "name": "Weekly Production Compliance Scan",
    "description": "Comprehensive compliance assessment every Sunday",
    "schedule": {"cron": "0 6 * * 0", "timezone": "UTC"},
    "scan_config": {
        "scan_type": "full",
        "environment": "production",
        "cloud_providers": ["aws", "azure", "gcp"],
        "frameworks": ["soc2", "hipaa", "iso27001"],
    },
    "notifications": {"on_completion": True, "on_failure": True, "channels": ["email", "slack"]},
    "enabled": True,
}


def entry(svc, schedule_id: str) -> RedBeatSchedulerEntry | None:
    key = RedBeatSchedulerEntry.generate_key(svc.celery, entry_name(schedule_id))
    try:
        return RedBeatSchedulerEntry.from_key(key, app=svc.celery)
    except KeyError:
        return None


def create(client, tenant, body=REFERENCE):
    provision(client, tenant, body)  # the accounts and channels the reference example assumes
    response = client.post("/v1/scans/schedules", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(
    "cron,zone_name,after,expected",
    [
        ("0 6 * * 0", "Europe/Berlin", datetime(2026, 1, 5, tzinfo=UTC), "2026-01-11T05:00:00+00:00"),
        ("0 6 * * 0", "Europe/Berlin", datetime(2026, 7, 6, tzinfo=UTC), "2026-07-12T04:00:00+00:00"),
        # The Sunday DST starts in Berlin (29 March 2026): 06:00 local is already summer time.
        ("0 6 * * 0", "Europe/Berlin", datetime(2026, 3, 28, tzinfo=UTC), "2026-03-29T04:00:00+00:00"),
        (
            "30 9 * * 1-5",
            "America/New_York",
            datetime(2026, 11, 2, 12, tzinfo=UTC),
            "2026-11-02T14:30:00+00:00",
        ),
        ("0 6 * * 0", "UTC", datetime(2026, 1, 5, tzinfo=UTC), "2026-01-11T06:00:00+00:00"),
    ],
)
def test_cron_is_evaluated_in_the_schedules_time_zone(cron, zone_name, after, expected):
    assert next_occurrence(cron, zone_name, after).isoformat() == expected


def test_reference_example_and_crud(client, svc, tenant):
    body = create(client, tenant)
    assert body["id"].startswith("sch_") and body["name"] == REFERENCE["name"]
    assert body["schedule"] == {"cron": "0 6 * * 0", "timezone": "UTC"}
    assert body["scan_config"]["frameworks"] == ["soc2", "hipaa", "iso27001"]
    assert body["enabled"] is True and body["last_run_at"] is None and body["recent_runs"] == []
    assert body["next_run_at"].endswith("Z") and datetime.fromisoformat(body["next_run_at_local"]).weekday() == 6
    assert body["webhook"]["secret"].startswith("whsec_")
    fetched = client.get(f"/v1/scans/schedules/{body['id']}", headers=tenant.headers).get_json()
    assert "secret" not in fetched["webhook"]  # shown once

    # Mirrored into RedBeat at once, pinned to the next occurrence in UTC.
    mirrored = entry(svc, body["id"])
    assert mirrored is not None and mirrored.task == "schedule-fire"
    # RedBeat will wake for it exactly at the occurrence (its due-time formula is easy to skew).
    score = svc.redis.zscore(svc.celery.redbeat_conf.schedule_key, mirrored.key)
    assert abs(score - datetime.fromisoformat(body["next_run_at"].replace("Z", "+00:00")).timestamp()) <= 2
    assert mirrored.args == [body["id"], datetime.fromisoformat(body["next_run_at"].replace("Z", "+00:00")).isoformat()]

    patched = client.patch(
        f"/v1/scans/schedules/{body['id']}",
        headers=tenant.headers,
        json={"schedule": {"timezone": "Europe/Berlin"}, "description": "Sunday 06:00 Berlin"},
    )
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["schedule"] == {"cron": "0 6 * * 0", "timezone": "Europe/Berlin"}
    local = datetime.fromisoformat(patched.get_json()["next_run_at_local"])
    assert (local.hour, local.minute, local.weekday()) == (6, 0, 6)  # Sunday 06:00 on Berlin's clock
    assert local.utcoffset().total_seconds() in (3600, 7200)
    assert entry(svc, body["id"]).args[1] != mirrored.args[1]

    disabled = client.patch(f"/v1/scans/schedules/{body['id']}", headers=tenant.headers, json={"enabled": False})
    assert disabled.get_json()["enabled"] is False and disabled.get_json()["next_run_at"] is None
    assert entry(svc, body["id"]) is None
    client.patch(f"/v1/scans/schedules/{body['id']}", headers=tenant.headers, json={"enabled": True})
    assert entry(svc, body["id"]) is not None

    listing = client.get("/v1/scans/schedules?enabled=true&environment=production", headers=tenant.headers).get_json()
    assert [s["id"] for s in listing["schedules"]] == [body["id"]]
    assert listing["pagination"] == {"total": 1, "limit": 20, "offset": 0, "has_more": False}

    assert client.delete(f"/v1/scans/schedules/{body['id']}", headers=tenant.headers).status_code == 204
    assert entry(svc, body["id"]) is None
    assert_envelope(client.get(f"/v1/scans/schedules/{body['id']}", headers=tenant.headers), 404, "REQ_404")


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"schedule": {"cron": "61 * * * *"}}, "schedule.cron"),
        ({"schedule": {"cron": "* * *"}}, "schedule.cron"),
        ({"schedule": {"cron": "0 6 * * 0", "timezone": "Mars/Olympus"}}, "schedule.timezone"),
        ({"scan_config": {**REFERENCE["scan_config"], "cloud_providers": []}}, "scan_config.cloud_providers"),
        ({"scan_config": {**REFERENCE["scan_config"], "frameworks": ["pci"]}}, "scan_config.frameworks"),
        ({"scan_config": {**REFERENCE["scan_config"], "name": "x"}}, "scan_config.name"),
        ({"triggers": {"compliance_drift": {}}}, "triggers.compliance_drift.min_score"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_schedule_is_400_naming_the_field(client, tenant, changes, field):
    provision(client, tenant, REFERENCE)
    body = {**REFERENCE, **changes}
    response = client.post("/v1/scans/schedules", headers=tenant.headers, json=body)
    # A scan config that could not run is refused as POST /v1/scans refuses it: SCAN_001.
    details = assert_envelope(response, 400, "SCAN_001" if field.startswith("scan_config") else "REQ_001")["details"]
    assert field in [d["field"] for d in details], details


def test_manual_trigger_creates_a_scan_through_the_scan_service(client, worker, svc, tenant, make_account, moto):
    from devkit.estates import seed_demo_estate

    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    body = {**REFERENCE, "scan_config": {**REFERENCE["scan_config"], "cloud_providers": ["aws"]}, "enabled": False}
    schedule = create(client, tenant, body)
    response = client.post(f"/v1/scans/schedules/{schedule['id']}/run", headers=tenant.headers)
    assert response.status_code == 202, response.get_json()
    run = response.get_json()
    assert run["run"]["trigger"] == "manual" and run["run"]["status"] == "created"
    scan = wait_for_scan(client, tenant, run["scan"]["id"])
    assert scan["status"] == "completed" and scan["trigger"] == "manual"
    fetched = client.get(f"/v1/scans/schedules/{schedule['id']}", headers=tenant.headers).get_json()
    assert fetched["last_scan_id"] == scan["id"] and fetched["last_run_at"]
    assert [r["scan_id"] for r in fetched["recent_runs"]] == [scan["id"]]


def test_a_schedule_that_could_never_run_is_refused(client, tenant):
    """The reference example names aws, azure and gcp: with only an AWS account it is a 400, as
    POST /v1/scans would answer for its scan; with every account registered, it is created."""
    provision(client, tenant, {**REFERENCE, "scan_config": {**REFERENCE["scan_config"], "cloud_providers": ["aws"]}})
    response = client.post("/v1/scans/schedules", headers=tenant.headers, json=REFERENCE)
    details = assert_envelope(response, 400, "SCAN_001")["details"]
    assert {d["field"] for d in details} == {"scan_config.cloud_providers"}
    assert [d["message"] for d in details] == [
        "No azure account is registered for environment 'production'",
        "No gcp account is registered for environment 'production'",
    ]
    created = create(client, tenant)["scan_config"]
    assert {k: created[k] for k in REFERENCE["scan_config"]} == REFERENCE["scan_config"]


def test_a_fire_that_cannot_start_is_refused_recorded_and_notified(client, svc, tenant):
    schedule = create(client, tenant)
    accounts = client.get("/v1/accounts?provider=aws", headers=tenant.headers).get_json()["accounts"]
    for account in accounts:  # the accounts disappear after the schedule was made
        client.delete(f"/v1/accounts/{account['id']}", headers=tenant.headers)
    response = client.post(f"/v1/scans/schedules/{schedule['id']}/run", headers=tenant.headers)
    details = assert_envelope(response, 400, "SCAN_001")["details"]
    missing = "No aws account is registered for environment 'production'"
    assert details == [{"field": "cloud_providers", "message": missing}]
    fetched = client.get(f"/v1/scans/schedules/{schedule['id']}", headers=tenant.headers).get_json()
    (run,) = fetched["recent_runs"]
    assert run["status"] == "rejected" and run["scan_id"] is None
    assert run["reason"].startswith("SCAN_001") and "No aws account" in run["reason"]
    # on_failure: the schedule's channels hear of it (email and slack in the reference example).
    deliveries = client.get(
        f"/v1/notifications/deliveries?schedule_id={schedule['id']}", headers=tenant.headers
    ).get_json()["deliveries"]
    assert sorted((d["event"], d["channel_type"]) for d in deliveries) == [
        ("schedule.failed", "email"),
        ("schedule.failed", "slack"),
    ]
    assert "could not start" in deliveries[0]["payload"]["message"]


def test_reconcile_restores_a_flushed_redis_and_drops_strays(client, svc, tenant):
    keep = create(client, tenant)
    gone = create(client, tenant)
    with svc.db.session() as session:
        session.execute(update(Schedule).where(Schedule.id == gone["id"]).values(enabled=False))
    svc.redis.delete(entry(svc, keep["id"]).key)  # Redis lost it
    assert entry(svc, keep["id"]) is None and entry(svc, gone["id"]) is not None
    result = reconcile(svc)
    assert result["created"] >= 1 and result["removed"] >= 1
    # Re-created at the next occurrence (nothing was missed: the schedule was just created).
    restored = datetime.fromisoformat(entry(svc, keep["id"]).args[1])
    assert restored == datetime.fromisoformat(keep["next_run_at"].replace("Z", "+00:00"))
    assert entry(svc, gone["id"]) is None
    again = reconcile(svc)
    assert again["created"] == 0  # nothing to repair the second time


def test_schedules_are_per_tenant(client, make_tenant):
    owner, stranger = make_tenant(), make_tenant()
    schedule = create(client, owner)
    for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/run")]:
        response = client.open(
            f"/v1/scans/schedules/{schedule['id']}{path}", method=method, headers=stranger.headers, json={}
        )
        assert_envelope(response, 404, "REQ_404")
