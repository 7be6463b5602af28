"""`policycortex scans` against the real API on a live server thread, through click's CliRunner."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from policycortex_client.errors import envelope_message

from cli.client import api_client
from cli.scans import build_body, scans
from devkit.estates import seed_demo_estate
from tests.api.test_stream import NO_VIOLATIONS, make_scan, serve, stream_enabled_app
from tests.conftest import wait_for_scan

pytestmark = pytest.mark.e2e
REGIONS = ("us-east-1", "eu-west-1")


@pytest.fixture(scope="module")
def cli_app(settings, celery_app):
    return stream_enabled_app(settings, celery_app)


@pytest.fixture(scope="module")
def api_url(cli_app):
    with serve(cli_app) as url:
        yield url


@pytest.fixture()
def run(api_url, tenant):
    """Invoke `policycortex scans ...` as the tenant: the key and URL come from the environment."""

    def invoke(*args: str, key: str | None = None):
        env = {"POLICYCORTEX_URL": api_url, "POLICYCORTEX_API_KEY": tenant.key if key is None else key}
        return CliRunner().invoke(scans, list(args), env=env)

    return invoke


def test_build_body_sets_only_the_named_fields():
    options = dict.fromkeys(("name", "scan_type", "environment", "timeout"))
    options.update(
        providers=(), frameworks=(), include_policies=("pol_network",), include_resources=(), exclude_resources=()
    )
    base = {"name": "from file", "scope": {"exclude_resources": ["sg-0*"]}, "execution": {"timeout": "2h"}}
    body = build_body(base, **{**options, "sequential": True})
    assert body == {
        "name": "from file",
        "scope": {"exclude_resources": ["sg-0*"], "include_policies": ["pol_network"]},
        "execution": {"timeout": "2h", "parallel_execution": False},
        "scan_type": "full",
    }


def test_envelope_becomes_one_clean_line():
    body = {
        "error": "invalid_scan_config",
        "error_description": "Scan configuration validation failed",
        "error_code": "SCAN_001",
        "details": [{"field": "cloud_providers", "message": "At least one cloud provider must be specified"}],
    }
    assert envelope_message(400, body) == (
        "SCAN_001 invalid_scan_config: Scan configuration validation failed "
        "(cloud_providers: At least one cloud provider must be specified)"
    )
    assert envelope_message(502, "<html>") == "HTTP 502"
    with pytest.raises(click.ClickException, match="POLICYCORTEX_API_KEY is not set"):
        api_client({"POLICYCORTEX_URL": "http://127.0.0.1:1"})


def test_trigger_watch_list_show(run, client, worker, tenant, make_account, moto):
    seed_demo_estate(moto, regions=REGIONS)
    make_account(tenant, endpoint_url=moto, regions=REGIONS)
    triggered = run(
        "trigger",
        "--name",
        "cli network scan",
        "--type",
        "policy_specific",
        "--environment",
        "production",
        "--provider",
        "aws",
        "--framework",
        "soc2",
        "--include-policy",
        "pol_network",
        "--exclude-resource",
        "sg-doesnotexist",
        "--timeout",
        "1h",
        "--sequential",
    )
    assert triggered.exit_code == 0, triggered.output
    scan_id, status = triggered.stdout.split()[:2]
    assert scan_id.startswith("scan_") and status == "running"

    watched = run("watch", scan_id)
    assert watched.exit_code == 0, watched.output
    final = client.get(f"/v1/scans/{scan_id}", headers=tenant.headers).get_json()
    results = final["results"]
    assert f"{scan_id} completed in {final['duration']}" in watched.stdout
    assert f"compliance score   {results['compliance_score']}" in watched.stdout
    assert f"violations         {results['total_violations']} (critical " in watched.stdout
    scanned = final["progress"]["scanned_resources"]
    assert f"resources scanned  {scanned} of {scanned}" in watched.stdout
    assert "shard aws us-east-1: completed" in watched.stderr  # the progress side goes to stderr

    listed = run("list", "--status", "completed", "--type", "policy_specific")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.startswith(f"{scan_id}\tcompleted\tpolicy_specific\tproduction\t")

    shown = run("show", scan_id)
    details = json.loads(shown.stdout)
    assert details["name"] == "cli network scan" and details["frameworks"] == ["soc2"]
    assert details["scope"]["include_policies"] == ["pol_network"]
    assert details["scope"]["exclude_resources"] == ["sg-doesnotexist"]
    assert details["execution"] == {"immediate": True, "parallel_execution": False, "timeout": "1h"}

    # Watching a finished scan prints the same summary at once.
    again = run("watch", scan_id)
    assert again.exit_code == 0 and f"{scan_id} completed" in again.stdout

    refused = run("cancel", scan_id)
    assert refused.exit_code == 1
    assert f"SCAN_003 scan_not_cancellable: Scan {scan_id} is already completed" in refused.output


def test_body_file_queue_cancel_and_watch_exit_code(run, client, worker, make_tenant, make_account, moto, tmp_path):
    tenant = make_tenant(max_concurrent=1)
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    body = tmp_path / "scan.json"
    body.write_text(json.dumps({"name": "from file", "environment": "production", "cloud_providers": ["aws"]}))
    first = run("trigger", "--body", str(body), "--json", key=tenant.key)
    second = run("trigger", "--body", str(body), "--name", "queued", key=tenant.key)
    assert json.loads(first.stdout)["name"] == "from file"
    queued_id, status, position = second.stdout.strip().split("\t")
    assert (status, position) == ("pending", "queue position 1")

    cancelled = run("cancel", queued_id, key=tenant.key)
    assert cancelled.stdout == f"{queued_id}\tcancelled\t0 resources scanned, 0 violations kept\n"
    watched = run("watch", queued_id, key=tenant.key)
    assert watched.exit_code == 5  # cancelled
    assert f"{queued_id} cancelled: Cancelled by request" in watched.stdout

    listed = run("list", "--limit", "1", key=tenant.key)
    assert listed.stdout.startswith(queued_id) and "1 of 2; next page: --offset 1" in listed.stderr
    wait_for_scan(client, tenant, json.loads(first.stdout)["id"])


def test_errors_are_one_clean_line(run, tenant):
    missing = run("trigger", "--name", "x", "--environment", "production")
    assert missing.exit_code == 1
    assert missing.output.startswith("Error: SCAN_001 invalid_scan_config: Scan configuration validation failed (")
    assert "cloud_providers: Missing data for required field." in missing.output

    unknown = run("show", "scan_0000000000000000")
    assert unknown.exit_code == 1
    assert "REQ_404 not_found: Scan scan_0000000000000000 does not exist" in unknown.output

    assert "stream closed (4404): scan not found" in run("watch", "scan_0000000000000000").output
    bad_key = run("watch", "scan_0000000000000000", key="sk_live_" + "0" * 48)
    assert bad_key.exit_code == 1 and "stream closed (4401): invalid API key" in bad_key.output
    assert "AUTH_001 invalid_api_key" in run("list", key="sk_live_" + "0" * 48).output
    assert "POLICYCORTEX_API_KEY is not set" in run("list", key="").output


def test_watch_reopens_a_stream_cut_short(cli_app, run, svc, tenant, monkeypatch):
    slots = cli_app.extensions["policycortex_stream"].slots
    monkeypatch.setattr(slots, "limit", 0)  # the server is full: streams are closed with 1013

    class ServerFreesUp:
        def __iter__(self):
            slots.limit = 10
            yield 0

    monkeypatch.setattr("cli.scans.RECONNECT_DELAYS", ServerFreesUp())
    results = {"compliance_score": 100.0, "total_violations": 0, "violation_breakdown": NO_VIOLATIONS}
    scan_id = make_scan(svc, tenant, status="completed", results=results)
    watched = run("watch", scan_id)
    assert watched.exit_code == 0, watched.output
    busy = "too many streams on the server or for this tenant; retry shortly"
    notice = f"stream closed (1013): {busy}; reconnecting in 0s"
    assert notice in watched.stderr
    assert f"{scan_id} completed" in watched.stdout


def test_watch_gives_up_when_the_server_stays_busy(cli_app, run, svc, tenant, monkeypatch):
    monkeypatch.setattr(cli_app.extensions["policycortex_stream"].slots, "limit", 0)
    monkeypatch.setattr("cli.scans.RECONNECT_DELAYS", (0, 0))
    watched = run("watch", make_scan(svc, tenant))
    assert watched.exit_code == 1
    assert watched.stderr.count("reconnecting in 0s") == 2
    assert watched.stderr.rstrip().endswith(
        "Error: stream closed (1013): too many streams on the server or for this tenant; retry shortly"
    )
