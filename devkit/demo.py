"""`policycortex demo`: a real scan end to end across AWS, Azure, GCP and a hybrid upload.

It starts a moto server seeded with a small insecure AWS estate, local Azure Resource Graph and
GCP Cloud Asset Inventory endpoints (the real SDK clients talk to them), the API under gunicorn
and a Celery worker; makes a key for the `demo` tenant (created on the first run, reused after) and
its four accounts, pushes a datacenter inventory; then acts as a REST caller would: triggers one
scan of all four, follows it, prints the result, and stops what it started."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from devkit.devstack import DevStack, say
from devkit.estates import DEMO_CREDENTIALS, seed_demo_estate
from devkit.fakes.azure import SUBSCRIPTION, FakeAzure, demo_estate
from devkit.fakes.gcp import PROJECT, FakeAssetInventory, seed_estate
from shared.frameworks.library import builtin_frameworks
from shared.platform.context import Services
from shared.platform.settings import Settings
from shared.scans.render import progress_text
from shared.tenants.apikeys import create_key, revoke_key
from shared.tenants.service import create_tenant, tenant_by_name

REGIONS = ("us-east-1", "eu-west-1")
# One tenant for every run, so runs do not pile up tenants; its earlier scans stay (the next scan
# compares with them) and its accounts are replaced, since the local endpoints move between runs.
DEMO_TENANT = "demo"
# What each of the scan's four providers is in the demo: nothing here reaches a real cloud.
TARGETS = {
    "aws": "AWS (local moto endpoint)",
    "azure": "Azure (local Resource Graph fake)",
    "gcp": "GCP (local Cloud Asset fake)",
    "hybrid": "hybrid datacenter (uploaded inventory)",
}
# An on-premises datacenter as its inventory tooling would push it, in the hybrid types: an edge
# firewall that opens SSH to the internet (its RDP allow is shadowed by a deny), a MinIO bucket
# without encryption at rest, a host that still takes SSH passwords and a database without an audit log.
DATACENTER = {
    "resources": [
        {
            "type": "hybrid.firewall",
            "id": "fw-edge-01",
            "name": "dc-edge-firewall",
            "region": "dc-frankfurt",
            "document": {
                "rules": [
                    {
                        "name": "deny-rdp",
                        "action": "deny",
                        "direction": "inbound",
                        "protocol": "tcp",
                        "ports": "3389",
                        "sources": ["0.0.0.0/0"],
                        "priority": 100,
                        "enabled": True,
                    },
                    {
                        "name": "allow-ssh-and-rdp",
                        "action": "allow",
                        "direction": "inbound",
                        "protocol": "tcp",
                        "ports": ["22", "3389"],
                        "sources": ["0.0.0.0/0"],
                        "priority": 200,
                        "enabled": True,
                    },
                    {
                        "name": "allow-https",
                        "action": "allow",
                        "direction": "inbound",
                        "protocol": "tcp",
                        "ports": "443",
                        "sources": ["0.0.0.0/0"],
                        "priority": 300,
                        "enabled": True,
                    },
                ]
            },
        },
        {
            "type": "hybrid.storage",
            "id": "minio-backups",
            "name": "minio-backups",
            "region": "dc-frankfurt",
            "document": {"encryption_at_rest": False, "public_access": False, "versioning": True},
        },
        {
            "type": "hybrid.host",
            "id": "app-01",
            "name": "app-01.dc-frankfurt",
            "region": "dc-frankfurt",
            "document": {
                "hostname": "app-01.dc-frankfurt",
                "os": {"name": "Ubuntu", "version": "22.04", "end_of_life": False},
                "disk_encryption": True,
                "ssh": {"password_authentication": True, "root_login": False},
                "endpoint_protection": True,
                "patched_at": "2026-11-30T02:00:00Z",
            },
        },
        {
            "type": "hybrid.database",
            "id": "orders-db",
            "name": "orders-db",
            "region": "dc-frankfurt",
            "document": {
                "engine": "postgresql",
                "version": "15.6",
                "tls_required": True,
                "audit_logging": False,
                "backups_enabled": True,
            },
        },
    ]
}


def _post(base: str, headers: dict, path: str, body: dict) -> dict:
    response = requests.post(f"{base}{path}", headers=headers, json=body, timeout=60)
    if response.status_code >= 400:
        raise SystemExit(f"POST {path} -> {response.status_code}: {response.text}")
    return response.json()


def _demo_key(settings: Settings) -> tuple[dict[str, str], str]:
    """The Authorization header of a new key for the demo tenant (created on the first run) and the
    key's id, to revoke it when the demo ends."""
    svc = Services(settings)
    try:
        with svc.db.session() as session:
            tenant = tenant_by_name(session, DEMO_TENANT) or create_tenant(session, settings, DEMO_TENANT)
            key, plaintext = create_key(session, tenant, name="demo")
            key_id = key.id
    finally:
        svc.db.dispose()
    return {"Authorization": f"Bearer {plaintext}"}, key_id


def _revoke(settings: Settings, key_id: str) -> None:
    svc = Services(settings)
    try:
        with svc.db.session() as session:
            revoke_key(session, key_id)
    finally:
        svc.db.dispose()


def _remove_earlier_accounts(base: str, headers: dict, names: set[str]) -> None:
    """Soft-delete the accounts an earlier run left (their endpoints' ports are gone); their past
    scans keep pointing at them."""
    response = requests.get(f"{base}/v1/accounts", headers=headers, params={"limit": 100}, timeout=60)
    response.raise_for_status()
    for account in response.json()["accounts"]:
        if account["name"] in names:
            requests.delete(f"{base}/v1/accounts/{account['id']}", headers=headers, timeout=60).raise_for_status()
            say(f"DELETE /v1/accounts/{account['id']} ({account['name']}, left by an earlier run)")


def _evidence_pack(base: str, headers: dict, scan_id: str, path: Path) -> Path:
    """Attest one manual SOC 2 control, as a compliance lead would, and save the SOC 2 evidence pack."""
    attestation = {
        "status": "compliant",
        "justification": "The board's audit committee oversees internal control (charter and 2026 minutes).",
        "evidence": {"url": "https://grc.example.com/soc2/CC1.2"},
        "valid_until": (datetime.now(UTC) + timedelta(days=365)).isoformat(),
    }
    created = _post(base, headers, "/v1/frameworks/soc2/controls/CC1.2/attestations", attestation)
    say(f"POST /v1/frameworks/soc2/controls/CC1.2/attestations -> {created['id']} ({created['state']})")
    pack = requests.get(
        f"{base}/v1/scans/{scan_id}/compliance/soc2/report", headers=headers, params={"format": "html"}, timeout=120
    )
    pack.raise_for_status()
    path.write_bytes(pack.content)
    return path


def run_demo(settings: Settings, *, keep_running: bool = False) -> int:
    headers, key_id = _demo_key(settings)
    try:
        return _run(settings, headers, keep_running=keep_running)
    finally:
        _revoke(settings, key_id)


def _run(settings: Settings, headers: dict[str, str], *, keep_running: bool) -> int:
    with DevStack(settings) as stack:
        moto = stack.start_moto()
        aws_expected = seed_demo_estate(moto, REGIONS)
        rows, details = demo_estate()
        azure = stack.enter_context(FakeAzure(rows, details))
        gcp = stack.enter_context(FakeAssetInventory(seed_estate()))
        for provider, url in (("aws", moto), ("azure", azure.url), ("gcp", gcp.url)):
            say(f"{TARGETS[provider]} on {url}")
        stack.start_worker()
        base = stack.start_api()
        say(f"API (gunicorn) on {base} and a Celery worker; logs in {stack.log_dir}/")
        say(f"tenant {DEMO_TENANT}, with a key for this run (revoked at the end)")

        accounts = [
            {
                "provider": "aws",
                "name": "demo-aws",
                "regions": list(REGIONS),
                "credentials": DEMO_CREDENTIALS,
                "endpoint_url": moto,
            },
            {
                "provider": "azure",
                "name": "demo-azure",
                "endpoint_url": azure.url,
                "credentials": {"access_token": "t", "subscription_id": SUBSCRIPTION},
            },
            {"provider": "gcp", "name": "demo-gcp", "endpoint_url": gcp.url, "credentials": {"project_id": PROJECT}},
            {"provider": "hybrid", "name": "demo-datacenter"},
        ]
        _remove_earlier_accounts(base, headers, {account["name"] for account in accounts})
        for account in accounts:
            created = _post(base, headers, "/v1/accounts", {"environment": "production", **account})
            target = TARGETS[created["provider"]]
            say(f"POST /v1/accounts -> {created['id']} {created['name']}: {target}, collection {created['collection']}")
            if created["provider"] == "hybrid":
                pushed = _post(base, headers, f"/v1/accounts/{created['id']}/inventory", DATACENTER)
                say(f"POST /v1/accounts/{created['id']}/inventory -> {pushed['stored']} resources of the {target}")

        body = {
            "name": "Production Full Compliance Scan",
            "scan_type": "full",
            "environment": "production",
            "cloud_providers": ["aws", "azure", "gcp", "hybrid"],
            "frameworks": list(builtin_frameworks()),  # SOC 2, HIPAA, ISO 27001, PCI DSS, the CIS benchmarks
            "execution": {"immediate": True, "parallel_execution": True, "timeout": "10m"},
        }
        created = _post(base, headers, "/v1/scans", body)
        say("POST /v1/scans -> 202")
        print(json.dumps(created, indent=2))

        def show(scan: dict) -> None:
            say(f"{scan['status']}: {progress_text(scan['progress'])}")

        scan = stack.wait_for_scan(created["id"], headers, timeout=600, on_progress=show)
        say(f"GET /v1/scans/{scan['id']}")
        print(json.dumps(scan, indent=2))
        found = _violations(base, headers, scan["id"])
        by_provider = Counter(v["resource"]["provider"] for v in found)
        say("violations: " + ", ".join(f"{TARGETS.get(p, p)} {n}" for p, n in sorted(by_provider.items())))
        compliance = requests.get(f"{base}/v1/scans/{scan['id']}/compliance", headers=headers, timeout=60).json()
        for framework in compliance["frameworks"]:
            say(
                f"{framework['name']}: score {framework['score']}, controls passed {framework['controls_passed']}, "
                f"failed {framework['controls_failed']}, attested {framework['controls_attested']}, "
                f"manual {framework['controls_manual']}, not applicable {framework['controls_not_applicable']}"
            )
        report = requests.get(
            f"{base}/v1/scans/{scan['id']}/report", headers=headers, params={"format": "html"}, timeout=120
        )
        report.raise_for_status()
        report_path = stack.log_dir / "demo-report.html"
        report_path.write_bytes(report.content)
        say(f"GET /v1/scans/{scan['id']}/report?format=html -> {report_path} (open it in a browser, or print it)")
        pack_path = _evidence_pack(base, headers, scan["id"], stack.log_dir / "demo-soc2-evidence.html")
        say(f"GET /v1/scans/{scan['id']}/compliance/soc2/report?format=html -> {pack_path} (after one attestation)")
        known = {(p, n, r) for p, n, r in aws_expected}
        seen = {(v["policy_id"], v["resource"]["name"], v["resource"]["region"]) for v in found}
        ok = (
            scan["status"] == "completed"
            and not scan["results"]["errors"]
            and known <= seen
            and all(by_provider[p] for p in ("aws", "azure", "gcp", "hybrid"))
        )
        say(
            f"scan {scan['status']}: {len(found)} violations across {len(by_provider)} providers; every known AWS "
            f"finding present: {known <= seen} -> {'OK' if ok else 'MISMATCH'}"
        )
        if keep_running:
            say(f"leaving everything running; API {base}, {headers['Authorization']}. Ctrl-C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return 0 if ok else 1


def _violations(base: str, headers: dict, scan_id: str) -> list[dict]:
    found, cursor = [], None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{base}/v1/scans/{scan_id}/violations", headers=headers, params=params, timeout=60).json()
        found += page["violations"]
        cursor = page["pagination"]["next_cursor"]
        if not cursor:
            return found
