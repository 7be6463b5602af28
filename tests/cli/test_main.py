"""The operator CLI: tenants and API keys against the real database; accounts, schedules and
reports through the REST API of a live server."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from cli.main import main
from shared.accounts.models import CloudAccount
from shared.platform.db import utcnow
from shared.scans.models import Violation
from shared.tenants.apikeys import authenticate
from tests.api.test_stream import make_scan, serve
from tests.conftest import free_port


def run(settings, *args):
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "POLICYCORTEX_SECRET_KEYS": ",".join(settings.secret_keys),
    }
    return CliRunner().invoke(main, list(args), env={**os.environ, **env}, catch_exceptions=False)


def test_tenant_and_key_lifecycle(settings, database, svc):
    name = f"cli-{os.getpid()}-{id(run)}"
    assert run(settings, "tenant", "create", name, "--max-concurrent", "3").exit_code == 0
    created = run(settings, "apikey", "create", "--tenant", name, "--scope", "read", "--expires-in", "30")
    assert created.exit_code == 0
    key = created.stdout.strip()
    assert key.startswith("sk_live_")
    with svc.db.session() as session:
        principal = authenticate(session, key)
    assert principal.scopes == frozenset({"read"})
    listing = run(settings, "apikey", "list", "--tenant", name).stdout
    assert key[:12] in listing and key not in listing  # only the prefix is ever shown again
    key_id = listing.split()[0]
    assert run(settings, "apikey", "revoke", key_id).exit_code == 0
    with svc.db.session() as session:
        assert authenticate(session, key) is None
    assert "max_concurrent=3" in run(settings, "tenant", "list").stdout
    assert run(settings, "apikey", "create", "--tenant", "nobody-here").exit_code != 0


# --- accounts, schedules and reports: through the REST API of a live server, with a tenant's key ---


@pytest.fixture(scope="module")
def api_url(app):
    with serve(app) as url:
        yield url


@pytest.fixture()
def api(api_url, tenant):
    """Invoke `policycortex ...` as the tenant: the key and URL come from the environment."""

    def invoke(*args: str, key: str | None = None, input: str | None = None):
        env = {"POLICYCORTEX_URL": api_url, "POLICYCORTEX_API_KEY": tenant.key if key is None else key}
        return CliRunner().invoke(main, list(args), env=env, input=input)

    return invoke


def test_accounts_add_list_verify_without_echoing_credentials(api, svc, tenant, moto, tmp_path):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY-" + str(os.getpid())
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({"access_key_id": "AKIAEXAMPLEKEY", "secret_access_key": secret}))
    added = api(
        "accounts", "add", "prod-aws", "--provider", "aws", "--environment", "production",
        "--region", "us-east-1", "--endpoint-url", moto, "--credentials", str(credentials),
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    account_id, provider, name, environment, collection, regions, stored = added.stdout.strip().split("\t")
    assert (provider, name, environment, collection, regions, stored) == (
        "aws", "prod-aws", "production", "api", "us-east-1", "credentials=stored",
    )  # fmt: skip
    with svc.db.session() as session:
        row = session.get(CloudAccount, account_id)
        assert row.tenant_id == tenant.id
        assert svc.vault.decrypt(row.credentials_encrypted)["secret_access_key"] == secret  # sent, then encrypted
    # From stdin, as JSON of the API's answer; a dead endpoint to verify against below.
    piped = api(
        "accounts", "add", "dead-aws", "--provider", "aws", "--environment", "staging", "--json",
        "--endpoint-url", f"http://127.0.0.1:{free_port()}", "--credentials", "-",
        input=credentials.read_text(),
    )  # fmt: skip
    assert piped.exit_code == 0, piped.output
    dead = json.loads(piped.stdout)
    assert dead["has_credentials"] is True and dead["regions"] == []

    # Refusals are the API's envelope in one line, and never quote the secret either.
    refused = [
        api("accounts", "add", "prod-aws", "--provider", "aws", "--environment", "production",
            "--credentials", str(credentials)),
        api("accounts", "add", "x", "--provider", "aws", "--environment", "production", "--credentials", "-",
            input=json.dumps({"password": secret})),
        api("accounts", "add", "x", "--provider", "aws", "--environment", "production", "--credentials", "-",
            input='{"secret_access_key": "' + secret),
    ]  # fmt: skip
    assert [r.exit_code for r in refused] == [1, 1, 1]
    assert "REQ_409 conflict: An account named 'prod-aws' already exists" in refused[0].output
    assert "REQ_001 invalid_request" in refused[1].output and "Unknown credential field(s) for aws: password" in (
        refused[1].output
    )
    assert refused[2].output == "Error: --credentials is not JSON (line 1, column 23)\n"
    for result in (added, piped, *refused):
        assert secret not in result.output

    listing = api("accounts", "list", "--provider", "aws")
    assert listing.exit_code == 0
    assert [line.split("\t")[2] for line in listing.stdout.splitlines()] == ["prod-aws", "dead-aws"]
    assert api("accounts", "list", "--environment", "staging").stdout.startswith(f"{dead['id']}\taws\tdead-aws\t")
    assert secret not in listing.output

    verified = api("accounts", "verify", account_id)
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith("ok\tcredentials\tAuthenticated as arn:aws:sts::")
    assert verified.stdout.endswith(f"{account_id} verified\n")
    unreachable = api("accounts", "verify", dead["id"])
    assert unreachable.exit_code == 3  # checked: not ready
    assert unreachable.stdout.startswith("FAIL\tcredentials\tEndpointConnectionError")
    assert unreachable.stdout.endswith(f"{dead['id']} not verified\n")
    assert "REQ_404 not_found: Account acc_0000000000000000 does not exist" in (
        api("accounts", "verify", "acc_0000000000000000").output
    )


def test_schedules_list(api, client, tenant, make_tenant):
    from tests.api.test_schedules import REFERENCE
    from tests.conftest import provision

    provision(client, tenant, REFERENCE)
    weekly = client.post("/v1/scans/schedules", json=REFERENCE, headers=tenant.headers).get_json()
    paused = {**REFERENCE, "name": "Paused nightly", "schedule": {"cron": "0 2 * * *", "timezone": "Europe/Berlin"}}
    nightly = client.post("/v1/scans/schedules", json={**paused, "enabled": False}, headers=tenant.headers).get_json()
    listed = api("schedules", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert sorted(line.split("\t")[0] for line in lines) == sorted([weekly["id"], nightly["id"]])
    assert (
        f"{weekly['id']}\tenabled\t0 6 * * 0\tUTC\tnext={weekly['next_run_at']}\tlast=-\t-\t"
        "Weekly Production Compliance Scan"
    ) in lines
    disabled = api("schedules", "list", "--disabled").stdout
    assert disabled == f"{nightly['id']}\tdisabled\t0 2 * * *\tEurope/Berlin\tnext=-\tlast=-\t-\tPaused nightly\n"
    assert json.loads(api("schedules", "list", "-q", "nightly", "--json").stdout)["pagination"]["total"] == 1
    assert api("schedules", "list", key=make_tenant().key).stdout == ""  # another tenant's key sees its own


def test_reports_get(api, client, svc, tenant, tmp_path):
    results = {
        "compliance_score": 80.0,
        "total_violations": 1,
        "violation_breakdown": {"critical": 0, "high": 0, "medium": 1, "low": 0},
        "errors": [],
    }
    scan_id = make_scan(svc, tenant, status="completed", completed_at=utcnow(), results=results)
    with svc.db.session() as session:
        session.add(
            Violation(
                scan_id=scan_id, shard_id=0, fingerprint="a" * 40, policy_id="pol_s3_versioning", severity="medium",
                provider="aws", account_id="acc_0000000000000000", region="us-east-1", resource_type="aws.s3.bucket",
                resource_uid="arn:aws:s3:::logs-prod", resource_name="logs-prod",
                status_extended="S3 bucket logs-prod has versioning disabled.", effort_minutes=15, is_new=True,
            )
        )  # fmt: skip
    for fmt, suffix in (("csv", "csv"), ("ocsf", "ocsf.json"), ("html", "html"), ("json", "json")):
        target = tmp_path / f"report.{suffix}"
        fetched = api("reports", "get", scan_id, "--format", fmt, "-o", str(target))
        assert fetched.exit_code == 0, fetched.output
        expected = client.get(f"/v1/scans/{scan_id}/report?format={fmt}", headers=tenant.headers).get_data()
        if fmt == "json":  # generated_at is the moment of each request
            assert json.loads(target.read_bytes())["violations"] == json.loads(expected)["violations"]
        else:
            assert target.read_bytes() == expected  # byte for byte
        assert fetched.stderr == f"wrote {target.stat().st_size} bytes to {target}\n"
    assert "logs-prod" in (tmp_path / "report.csv").read_text()

    to_stdout = api("reports", "get", scan_id)  # json by default, on stdout
    assert to_stdout.exit_code == 0 and json.loads(to_stdout.stdout)["scan"]["id"] == scan_id

    refused = api("reports", "get", scan_id, "--format", "pdf", "-o", str(tmp_path / "report.pdf"))
    assert refused.exit_code == 1
    assert "REQ_001 invalid_request: Request validation failed (format: Must be one of: csv, html, json, ocsf.)" in (
        refused.output
    )
    missing = api("reports", "get", "scan_0000000000000000", "-o", str(tmp_path / "missing.json"))
    assert "REQ_404 not_found: Scan scan_0000000000000000 does not exist" in missing.output
    nowhere = api("reports", "get", scan_id, "-o", str(tmp_path / "no-such-dir" / "report.json"))
    assert nowhere.exit_code == 1 and "cannot write" in nowhere.output and "No such file or directory" in nowhere.output
    running = api("reports", "get", make_scan(svc, tenant), "--format", "html")
    assert running.exit_code == 1 and "REQ_409 conflict: Scan scan_" in running.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "report.csv",
        "report.html",
        "report.json",
        "report.ocsf.json",
    ]
