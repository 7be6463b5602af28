"""One tenant can never hurt another, and no input gets a 500: what was tried as an attacker would
(issue 15), each as a test that would have caught it."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from redis import Redis

from api.app import create_app
from shared.platform.outbound import OutboundGuard
from shared.platform.patterns import PatternError, compile_regex
from shared.policies.templates import MAX_RENDERED, Template
from shared.schedules.models import Schedule
from shared.schedules.redbeat import reconcile
from tests.api.test_auth import assert_envelope
from tests.api.test_schedules import REFERENCE, create
from tests.conftest import scan_body, wait_for_scan

POLICY = {
    "id": "pol_acme_names",
    "title": "Names",
    "provider": "aws",
    "resource_type": "aws.s3.bucket",
    "severity": "low",
    "description": "d",
    "fails_when": {"key": "Name", "regex": "^(a+)+$"},
    "status_extended": {"pass": "{name} ok.", "fail": "{name} is all a."},
    "remediation": {"text": "Rename it.", "effort": "5m"},
}


def policy(**changes) -> dict:
    return {**POLICY, **changes}


def first_detail(response, status=400) -> dict:
    body = assert_envelope(response, status, "REQ_001" if status == 400 else response.get_json()["error_code"])
    return body["details"][0]


# --- regexes on a linear-time engine -------------------------------------------------------------


def test_a_catastrophic_regex_is_linear_and_the_scan_ends(client, worker, tenant):
    """^(a+)+$ against 40 a's and a "!" kept a worker busy for 25 minutes on Python's engine."""
    assert client.post("/v1/policies", headers=tenant.headers, json=POLICY).status_code == 201
    account = client.post(
        "/v1/accounts", headers=tenant.headers, json={"provider": "hybrid", "name": "dc", "environment": "production"}
    ).get_json()
    evil = "a" * 40 + "!"
    upload = {"resources": [{"type": "aws.s3.bucket", "id": evil, "region": "dc-1", "document": {"Name": evil}}]}
    assert (
        client.post(f"/v1/accounts/{account['id']}/inventory", headers=tenant.headers, json=upload).status_code == 202
    )
    body = scan_body(cloud_providers=["hybrid"], frameworks=[], scope={"include_policies": ["pol_acme_names"]})
    body["scan_type"] = "policy_specific"
    started = client.post("/v1/scans", headers=tenant.headers, json=body).get_json()
    scan = wait_for_scan(client, tenant, started["id"], timeout=60)
    assert scan["status"] == "completed" and scan["results"]["total_violations"] == 0


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=x)y", r"(?<=x)y", "x{1001}{1001}", "(", "a" * 1001])
def test_patterns_re2_cannot_run_are_refused_at_creation(client, tenant, pattern):
    detail = first_detail(
        client.post("/v1/policies", headers=tenant.headers, json=policy(fails_when={"key": "Name", "regex": pattern}))
    )
    assert detail["field"] == "fails_when.regex"


def test_the_regex_engine_is_linear():
    regex = compile_regex("^(a+)+$")
    started = time.perf_counter()
    assert regex.search("a" * 100_000 + "!") is None
    assert time.perf_counter() - started < 5  # a backtracking engine would not end this century
    with pytest.raises(PatternError):
        compile_regex(r"(\w+)\1")


def test_conditions_are_bounded(client, tenant):
    deep: dict = {"key": "Name", "eq": "x"}
    for _ in range(40):
        deep = {"not": deep}
    detail = first_detail(client.post("/v1/policies", headers=tenant.headers, json=policy(fails_when=deep)))
    assert detail["field"] == "fails_when" and "nested deeper" in detail["message"]


# --- templates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template", ["{name:>5000000}", "{0}", "{", "{name!z}", "{name.__class__}", "{name[0]}", "{x}"]
)
def test_unsafe_templates_are_refused_at_creation(client, tenant, template):
    body = policy(status_extended={"pass": "{name} ok.", "fail": template})
    detail = first_detail(client.post("/v1/policies", headers=tenant.headers, json=body))
    assert detail["field"] == "status_extended.fail"
    assert "0x" not in detail["message"]  # no interpreter address


def test_rendered_sentences_are_capped():
    rendered = Template.parse("{name:>64}" * 8).render({"name": "b" * 400})
    assert len(rendered) == MAX_RENDERED and rendered.endswith("…")


# --- schedules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cron,words",
    [
        ("0 0 30 2 *", "never fires"),
        ("0 6 * * 8", "day of week 8 is out of range 0-7"),
        ("61 * * * *", "minute 61 is out of range 0-59"),
        ("0 0 0 * *", "day of month 0 is out of range 1-31"),
        ("0 6 * * *" + ",1" * 200, "at most 100 characters"),
        ("*/0 * * * *", "step '/0'"),
    ],
)
def test_crons_that_cannot_fire_name_the_field(client, tenant, cron, words):
    body = {**REFERENCE, "schedule": {"cron": cron, "timezone": "UTC"}}
    body["scan_config"] = {**REFERENCE["scan_config"], "cloud_providers": ["aws"]}
    detail = first_detail(client.post("/v1/scans/schedules", headers=tenant.headers, json=body))
    assert detail["field"] == "schedule.cron" and words in detail["message"]
    assert client.get("/v1/scans/schedules", headers=tenant.headers).status_code == 200


def test_one_bad_schedule_row_never_stops_the_reconcile(client, svc, tenant, make_tenant):
    good = create(client, tenant)
    other = make_tenant()
    bad = create(client, other)
    with svc.db.session() as session:  # a row written before validation refused it
        session.get(Schedule, bad["id"]).cron = "0 0 30 2 *"
    svc.redis.flushdb()
    report = reconcile(svc)
    assert report["failed"] >= 1 and report["created"] >= 1
    key = f"pc:redbeat:schedule:{good['id']}"
    assert svc.redis.exists(key)
    listed = client.get("/v1/scans/schedules", headers=other.headers)
    assert listed.status_code == 200
    assert [s["next_run_at"] for s in listed.get_json()["schedules"] if s["id"] == bad["id"]] == [None]


# --- rate limits ---------------------------------------------------------------------------------


def test_failed_authentication_is_limited_per_address_and_leaves_no_state_per_token(settings, celery_app, tenant):
    app = create_app(replace(settings, auth_failure_limit="5/minute"), celery=celery_app)
    client = app.test_client()
    caller = {"REMOTE_ADDR": "198.51.100.77"}
    redis = Redis.from_url(settings.redis_url)
    before = len(list(redis.scan_iter("pc:ratelimit*")))
    answers = [
        client.get("/v1/scans", headers={"Authorization": f"Bearer sk_live_random{n}"}, environ_base=caller).status_code
        for n in range(12)
    ]
    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
    assert len(list(redis.scan_iter("pc:ratelimit*"))) - before <= 2  # the address's counter, not one per token
    # Even a valid key from that address waits: the address is what guessed.
    assert client.get("/v1/scans", headers=tenant.headers, environ_base=caller).status_code == 429
    # Another address is not affected.
    assert (
        client.get("/v1/scans", headers=tenant.headers, environ_base={"REMOTE_ADDR": "198.51.100.78"}).status_code
        == 200
    )


def test_the_rate_limit_is_per_key_over_all_routes(settings, celery_app, make_tenant):
    app = create_app(replace(settings, rate_limit="6/minute"), celery=celery_app)
    client = app.test_client()
    limited = make_tenant()
    routes = ["/v1/scans", "/v1/accounts", "/v1/policies", "/v1/frameworks", "/v1/resources", "/v1/scans/schedules"]
    answers = [client.get(route, headers=limited.headers).status_code for route in routes]
    assert answers == [200] * 6
    assert_envelope(client.get("/v1/notifications/channels", headers=limited.headers), 429, "REQ_429")


# --- the outbound guard --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata service
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "::ffff:169.254.169.254",
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:0:a00:1",  # IPv4-translated
        "fe80::5efe:a9fe:a9fe",  # ISATAP
    ],
)
def test_ipv6_forms_that_embed_private_ipv4_are_refused(address):
    assert not OutboundGuard.from_allowlist([]).address_allowed(address)


def test_ipv6_forms_of_public_ipv4_stay_allowed():
    guard = OutboundGuard.from_allowlist([])
    assert all(guard.address_allowed(a) for a in ("64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111"))


@pytest.mark.parametrize("url", ["http://[64:ff9b::7f00:1]/hook", "http://[2002:7f00:1::]:8080/hook"])
def test_embedded_loopback_webhooks_are_refused(settings, tenant, url):
    from workers.celery_app import create_celery

    strict = replace(settings, outbound_allowlist=())
    client = create_app(strict, celery=create_celery(strict)).test_client()
    body = {"type": "webhook", "name": "hook", "config": {"url": url}}
    detail = first_detail(client.post("/v1/notifications/channels", headers=tenant.headers, json=body))
    assert detail["field"] == "config.url"


# --- what an allow-listed endpoint says stays there ----------------------------------------------

SECRET = "INTERNAL-SECRET-4711"


class _Internal(BaseHTTPRequestHandler):
    """An internal service a tenant points its account at: every answer quotes a secret."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        kind = self.server.kind
        if kind == "xml-denied":
            body = f"<ErrorResponse><Error><Code>AccessDenied</Code><Message>{SECRET}</Message></Error></ErrorResponse>"
            status, ctype = 403, "text/xml"
        elif kind == "json":
            body, status, ctype = json.dumps({"ok": True, "note": SECRET}), 200, "application/json"
        else:
            body, status, ctype = f"<html><body>{SECRET}</body></html>", 500, "text/html"
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(params=["xml-denied", "html-500", "json"])
def internal(request):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Internal)
    server.kind = request.param
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_verify_and_scans_never_echo_an_endpoints_body(client, worker, tenant, make_account, internal):
    account = make_account(tenant, endpoint_url=internal, regions=("us-east-1",))
    verified = client.post(f"/v1/accounts/{account['id']}/verify", headers=tenant.headers)
    assert verified.status_code == 200 and verified.get_json()["verified"] is False
    assert SECRET not in verified.get_data(as_text=True)
    body = scan_body(scope={"include_policies": ["pol_s3_versioning"]})
    body["scan_type"] = "policy_specific"
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=body).get_json()["id"])
    assert scan["results"]["errors"] and SECRET not in json.dumps(scan)


# --- opaque ids ----------------------------------------------------------------------------------


def test_public_ids_are_opaque(client, worker, tenant):
    account = client.post(
        "/v1/accounts", headers=tenant.headers, json={"provider": "hybrid", "name": "dc", "environment": "production"}
    ).get_json()
    names = [f"bucket-{n}" for n in range(4)]
    upload = {
        "resources": [{"type": "aws.s3.bucket", "id": n, "region": "dc-1", "document": {"Name": n}} for n in names]
    }
    client.post(f"/v1/accounts/{account['id']}/inventory", headers=tenant.headers, json=upload)
    resources = client.get("/v1/resources", headers=tenant.headers).get_json()["resources"]
    assert all(re.fullmatch(r"res_[0-9a-f]{16}", r["id"]) for r in resources)
    assert client.get(f"/v1/resources/{resources[0]['id']}", headers=tenant.headers).status_code == 200
    scan = client.post("/v1/scans", headers=tenant.headers, json=scan_body(cloud_providers=["hybrid"])).get_json()
    wait_for_scan(client, tenant, scan["id"])
    page = client.get(f"/v1/scans/{scan['id']}/violations?limit=1", headers=tenant.headers).get_json()
    assert re.fullmatch(r"vio_[0-9a-f]{16}", page["violations"][0]["id"])
    cursor = page["pagination"]["next_cursor"]
    assert cursor.startswith("cur_") and not re.search(r"\d{4,}$", cursor.removeprefix("cur_")[:8])
    assert client.get(f"/v1/scans/{scan['id']}/violations?cursor={cursor}", headers=tenant.headers).status_code == 200


# --- bad input is a 400, never a 500 -------------------------------------------------------------

JSON_ENDPOINTS = [
    ("POST", "/v1/scans"),
    ("POST", "/v1/accounts"),
    ("POST", "/v1/policies"),
    ("POST", "/v1/frameworks"),
    ("POST", "/v1/scans/schedules"),
    ("POST", "/v1/notifications/channels"),
    ("POST", "/v1/events"),
]


@pytest.mark.parametrize("method,path", JSON_ENDPOINTS)
def test_deeply_nested_json_is_a_400(client, tenant, method, path):
    body = "[" * 1000 + "]" * 1000
    response = client.open(
        path, method=method, data=body, headers={**tenant.headers, "Content-Type": "application/json"}
    )
    assert "nested deeper" in first_detail(response)["message"]


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("/v1/accounts", '{"provider": "aws", "name": "\\ud800", "environment": "p"}', "body.name"),
        (
            "/v1/scans",
            '{"name": "x\\udfff", "scan_type": "full", "environment": "p", "cloud_providers": ["aws"]}',
            "body.name",
        ),
        ("/v1/notifications/channels", '{"type": "slack", "name": "\\ud83d", "config": {}}', "body.name"),
        ("/v1/accounts", '{"provider": "aws", "name": NaN, "environment": "p"}', "body"),
    ],
)
def test_strings_and_numbers_postgresql_cannot_store_are_400(client, tenant, path, body, field):
    response = client.post(path, data=body, headers={**tenant.headers, "Content-Type": "application/json"})
    assert first_detail(response)["field"] == field


@pytest.mark.parametrize(
    "path",
    ["/v1/scans", "/v1/accounts", "/v1/resources", "/v1/policies", "/v1/scans/schedules", "/v1/notifications/channels"],
)
def test_offsets_past_a_bigint_are_400(client, tenant, path):
    assert first_detail(client.get(f"{path}?offset={2**63}", headers=tenant.headers))["field"] == "offset"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"source": "aws.s3", "detail-type": "x", "resources": "arn:aws:s3:::b"}, "resources"),
        ({"source": "aws.s3", "detail-type": "x", "resources": [17]}, "resources[0]"),
        ({"source": "aws.s3", "detail-type": "x", "detail": []}, "detail"),
        (
            {"source": "aws.s3", "detail-type": "x", "detail": {"requestParameters": {"bucketName": 5}}},
            "detail.requestParameters.bucketName",
        ),
        (
            [{"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "data": {"validationCode": 7}}],
            "[0].data.validationCode",
        ),
        ([{"eventType": "x", "data": "nope"}], "[0].data"),
        ([[1]], "body"),
        ({"message": {"data": "!!!"}}, "message.data"),
    ],
)
def test_malformed_events_are_400(client, tenant, body, field):
    assert first_detail(client.post("/v1/events", headers=tenant.headers, json=body))["field"] == field


def test_cloudtrail_resources_in_their_own_form_are_accepted(client, tenant):
    event = {
        "source": "aws.cloudtrail",
        "detail-type": "AWS API Call via CloudTrail",
        "account": "123456789012",
        "region": "us-east-1",
        "resources": [{"ARN": "arn:aws:s3:::uploads", "accountId": "123456789012", "type": "AWS::S3::Bucket"}],
    }
    response = client.post("/v1/events", headers=tenant.headers, json=event)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["changes"] == [
        {"provider": "aws", "resource_uid": "arn:aws:s3:::uploads", "resource_type": "aws.s3.bucket"}
    ]


@pytest.mark.parametrize("kind,key", [("webhook", "url"), ("slack", "webhook_url")])
def test_ports_past_65535_are_400_on_create_and_patch(client, tenant, kind, key):
    bad = {"type": kind, "name": f"n-{kind}", "config": {key: "https://localhost:99999/x"}}
    assert (
        first_detail(client.post("/v1/notifications/channels", headers=tenant.headers, json=bad))["field"]
        == f"config.{key}"
    )
    good = {**bad, "config": {key: "https://localhost/x"}}  # localhost: allow-listed in the tests' settings
    created = client.post("/v1/notifications/channels", headers=tenant.headers, json=good)
    assert created.status_code == 201, created.get_json()
    patch = client.patch(
        f"/v1/notifications/channels/{created.get_json()['id']}", headers=tenant.headers, json={"config": bad["config"]}
    )
    assert first_detail(patch)["field"] == f"config.{key}"


@pytest.mark.parametrize("path", ["/v1/policies/pol_acme_names", "/v1/frameworks/acme-fw"])
@pytest.mark.parametrize("body", [[1, 2], "text", 5])
def test_patching_with_a_non_object_is_400(client, tenant, path, body):
    client.post("/v1/policies", headers=tenant.headers, json=POLICY)
    framework = {"id": "acme-fw", "name": "fw", "controls": [{"id": "C-1", "title": "t", "policies": [POLICY["id"]]}]}
    client.post("/v1/frameworks", headers=tenant.headers, json=framework)
    assert first_detail(client.patch(path, headers=tenant.headers, json=body))["field"] == "body"


def test_a_webhook_timestamp_of_5000_digits_is_refused(client, tenant):
    schedule = create(client, tenant)
    response = client.post(
        f"/v1/scans/schedules/{schedule['id']}/webhook",
        data=b"{}",
        headers={"X-PolicyCortex-Timestamp": "9" * 5000, "X-PolicyCortex-Signature": "sha256=00"},
    )
    assert response.status_code == 401 and response.get_json()["error_code"] == "AUTH_003"
