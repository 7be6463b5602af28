"""Retention: `scans-purge` deletes the violations of scans that ended more than
POLICYCORTEX_RETENTION_DAYS ago, in bounded batches, keeping the scans, their summaries and each
scope's latest completed scan (the baseline of the next scan's diff)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from devkit.estates import DEMO_POLICIES, seed_demo_estate
from shared.platform.crypto import CredentialVault
from shared.platform.settings import Settings, SettingsError
from shared.scans.models import Scan, Violation
from shared.scans.retention import purge_expired_violations
from tests.api.test_auth import assert_envelope
from tests.conftest import scan_body, wait_for_scan

pytestmark = pytest.mark.e2e


@pytest.fixture()
def run_scan(client, worker, tenant, make_account, moto):
    """Completed scans of one scope (the demo estate's policies) on the moto server."""
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))

    def run() -> dict:
        body = scan_body(scope={"include_policies": list(DEMO_POLICIES)})
        scan = wait_for_scan(client, tenant, client.post("/v1/scans", json=body, headers=tenant.headers).json["id"])
        assert scan["status"] == "completed" and scan["results"]["total_violations"] > 0
        return scan

    return run


def backdate(svc, scan_id: str, days: int) -> None:
    """As if the scan had run `days` days ago."""
    shift = timedelta(days=days)
    with svc.db.session() as session:
        session.execute(
            update(Scan)
            .where(Scan.id == scan_id)
            .values(
                created_at=Scan.created_at - shift,
                started_at=Scan.started_at - shift,
                completed_at=Scan.completed_at - shift,
            )
        )


def violations_of(svc, scan_id: str) -> int:
    with svc.db.session() as session:
        return session.scalar(select(func.count()).select_from(Violation).where(Violation.scan_id == scan_id))


def test_old_violations_are_purged_and_the_latest_scan_of_the_scope_is_kept(client, svc, celery_app, tenant, run_scan):
    oldest, older, latest = run_scan(), run_scan(), run_scan()
    for scan, days in ((oldest, 402), (older, 401), (latest, 400)):  # all three past the 365 days
        backdate(svc, scan["id"], days)
    compliance_before = client.get(f"/v1/scans/{oldest['id']}/compliance", headers=tenant.headers).get_json()
    kept = violations_of(svc, latest["id"])

    report = celery_app.send_task("scans-purge").get(timeout=60)  # through the test worker

    assert report["violations_deleted"] >= 2 * kept and report["scans_marked"] >= 2
    for scan in (oldest, older):
        assert violations_of(svc, scan["id"]) == 0
        details = client.get(f"/v1/scans/{scan['id']}", headers=tenant.headers).get_json()
        assert details["violations_purged_at"] is not None
        assert details["results"] == scan["results"]  # the summary stays
        gone = assert_envelope(
            client.get(f"/v1/scans/{scan['id']}/violations?severity=high", headers=tenant.headers), 410, "SCAN_004"
        )
        assert gone["error"] == "violations_purged" and gone["purged_at"] == details["violations_purged_at"]
    compliance_after = client.get(f"/v1/scans/{oldest['id']}/compliance", headers=tenant.headers).get_json()
    # Statuses, scores and counts come from the shards' counts, not the deleted rows; which resources
    # failed was only in those rows, so it is no longer known (null, never a false 0).
    failing = [c for f in compliance_before["frameworks"] for c in f["controls"] if c["checks_failed"]]
    assert failing and all(c["failing_resources"] for c in failing)
    for framework in compliance_after["frameworks"]:
        for control in framework["controls"]:
            assert control["failing_resources"] == []
            assert control["failing_resources_total"] is (None if control["checks_failed"] else 0)
            control.pop("failing_resources"), control.pop("failing_resources_total")
    for framework in compliance_before["frameworks"]:
        for control in framework["controls"]:
            control.pop("failing_resources"), control.pop("failing_resources_total")
    assert compliance_after == compliance_before

    # The latest scan of the scope keeps its violations, so the next scan's diff still works.
    assert violations_of(svc, latest["id"]) == kept
    page = client.get(f"/v1/scans/{latest['id']}/violations?limit=500", headers=tenant.headers).get_json()
    assert page["pagination"]["total"] == kept == len(page["violations"])
    after = run_scan()
    assert after["results"]["previous_score"] == latest["results"]["compliance_score"]
    assert after["results"]["new_violations"] == 0 and after["results"]["resolved_violations"] == 0

    # A second run finds nothing left to do.
    assert celery_app.send_task("scans-purge").get(timeout=60) == {
        "scans_marked": 0,
        "violations_deleted": 0,
        "batches": 0,
    }
    assert violations_of(svc, latest["id"]) == kept
    assert client.get(f"/v1/scans/{latest['id']}", headers=tenant.headers).get_json()["violations_purged_at"] is None


def test_deletes_in_bounded_batches_and_only_what_expired(svc, tenant, run_scan):
    expired, within, never_ended, latest = run_scan(), run_scan(), run_scan(), run_scan()
    backdate(svc, expired["id"], 40)
    backdate(svc, within["id"], 20)
    backdate(svc, never_ended["id"], 90)
    with svc.db.session() as session:  # an old scan that never ended is not touched
        session.execute(update(Scan).where(Scan.id == never_ended["id"]).values(status="running", completed_at=None))
    total = violations_of(svc, expired["id"])

    assert purge_expired_violations(svc, retention_days=0)["violations_deleted"] == 0  # 0: kept forever
    assert violations_of(svc, expired["id"]) == total
    report = purge_expired_violations(svc, retention_days=30, batch_size=2)

    assert report == {"scans_marked": 1, "violations_deleted": total, "batches": total // 2 + 1}
    assert violations_of(svc, expired["id"]) == 0
    for kept in (within, never_ended, latest):
        assert violations_of(svc, kept["id"]) == kept["results"]["total_violations"]


def test_retention_settings():
    key = CredentialVault.generate_key()
    defaults = Settings.from_env({"POLICYCORTEX_SECRET_KEYS": key})
    assert (defaults.retention_days, defaults.retention_batch_size) == (365, 5000)
    custom = Settings.from_env(
        {
            "POLICYCORTEX_SECRET_KEYS": key,
            "POLICYCORTEX_RETENTION_DAYS": "0",
            "POLICYCORTEX_RETENTION_BATCH_SIZE": "500",
        }
    )
    assert (custom.retention_days, custom.retention_batch_size) == (0, 500)
    for name, value in (("RETENTION_DAYS", "-1"), ("RETENTION_DAYS", "soon"), ("RETENTION_BATCH_SIZE", "0")):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({"POLICYCORTEX_SECRET_KEYS": key, f"POLICYCORTEX_{name}": value})


def test_beat_runs_the_purge_hourly_on_the_housekeeping_queue(celery_app):
    assert celery_app.amqp.router.route({}, "scans-purge")["queue"].name == "housekeeping"
    entry = celery_app.conf.beat_schedule["scans-purge"]
    assert entry["task"] == "scans-purge" and entry["schedule"] == 3600.0


def test_remediated_violations_outlive_the_purge_as_the_audit_record(client, svc, tenant, run_scan):
    from shared.remediation.models import RemediationAttempt

    old, latest = run_scan(), run_scan()
    backdate(svc, old["id"], 400)
    backdate(svc, latest["id"], 3)  # replaced the old one as the scope's baseline more than 2 days ago
    with svc.db.session() as session:
        fixed = session.scalars(select(Violation).where(Violation.scan_id == old["id"]).limit(1)).one()
        session.add(
            RemediationAttempt(
                scan_id=old["id"], violation_id=fixed.id, action="s3_enable_versioning", dry_run=False, status="fixed"
            )
        )
        fixed_id = fixed.id

    purge_expired_violations(svc)
    purge_expired_violations(svc)  # nothing left to do: the kept row is not selected again

    with svc.db.session() as session:
        left = session.scalars(select(Violation.id).where(Violation.scan_id == old["id"])).all()
    assert left == [fixed_id]
    attempts = client.get(f"/v1/scans/{old['id']}/remediations", headers=tenant.headers).get_json()
    assert len(attempts["remediations"]) == 1 and attempts["remediations"][0]["status"] == "fixed"
