"""Notifications through the API and a real worker: channel CRUD and its authorization matrix,
email to a local SMTP server (aiosmtpd), Slack and signed webhooks to a local HTTP server, the
outbound guard at creation and at delivery, and a failing endpoint retried with back-off."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import ssl
import threading
import time
from dataclasses import replace
from datetime import timedelta
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from celery.contrib.testing.worker import start_worker
from kombu import Queue
from kombu.asynchronous import get_event_loop, set_event_loop
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shared.notifications.delivery import requeue_overdue
from shared.notifications.models import NotificationChannel, NotificationDelivery
from shared.platform.db import utcnow
from shared.platform.settings import Settings
from shared.scans.models import Scan
from shared.scans.notify import notify_scan_finished
from tests.api.test_auth import assert_envelope
from tests.conftest import free_port, scan_body

PUBLIC_URL = "https://policycortex.example.com"
# A queue of this module's own, so only its worker (which knows the task) takes these messages.
QUEUE = "notifications-under-test"
SMTP_LOGIN = ("mailer", "s3cret-password")
CHANNEL = "chn_0000000000000000"
ROUTES = [
    ("GET", "/v1/notifications/channels", "read"),
    ("POST", "/v1/notifications/channels", "write"),
    ("GET", f"/v1/notifications/channels/{CHANNEL}", "read"),
    ("PATCH", f"/v1/notifications/channels/{CHANNEL}", "write"),
    ("DELETE", f"/v1/notifications/channels/{CHANNEL}", "write"),
    ("POST", f"/v1/notifications/channels/{CHANNEL}/test", "write"),
    ("GET", "/v1/notifications/deliveries", "read"),
]


# --- local servers -----------------------------------------------------------------------------


class MailSink:
    """An aiosmtpd handler that keeps every message, and whether its session authenticated."""

    def __init__(self):
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "message": email.message_from_bytes(envelope.original_content, policy=default_policy),
                "authenticated": session.authenticated,
            }
        )
        return "250 Message accepted"

    def to(self, recipient: str) -> list[dict]:
        return [m for m in self.messages if recipient in m["rcpt_tos"]]


def smtp_authenticator(server, session, envelope, mechanism, auth_data):
    ok = (auth_data.login.decode(), auth_data.password.decode()) == SMTP_LOGIN
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture(scope="session")
def smtp_server():
    sink = MailSink()
    # AUTH over plain text is allowed here only because the test server has no certificate.
    controller = Controller(
        sink, hostname="127.0.0.1", port=free_port(), authenticator=smtp_authenticator, auth_require_tls=False
    )
    controller.start()
    yield controller, sink
    controller.stop()


@pytest.fixture(scope="module")
def smtp_certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1; tests trust it through SSL_CERT_FILE."""
    import ipaddress
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture(scope="module")
def tls_smtp_servers(smtp_certificate):
    """Two servers with the certificate: one offering STARTTLS (and AUTH only after it), one
    speaking TLS from the first byte."""
    cert_file, key_file = smtp_certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    sink = MailSink()
    starttls = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=smtp_authenticator,
        tls_context=context,
        require_starttls=True,
    )
    # aiosmtpd does not see that an implicit-TLS session is encrypted, so it must be told to offer AUTH.
    implicit = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=smtp_authenticator,
        ssl_context=context,
        auth_require_tls=False,
    )
    starttls.start()
    implicit.start()
    yield {"starttls": starttls.port, "tls": implicit.port}, sink
    starttls.stop()
    implicit.stop()


class HookSink:
    """A local HTTP endpoint: /fail answers 500, /gone 404, anything else 200; every request kept."""

    def __init__(self):
        self.requests: list[dict] = []

    @Request.application
    def __call__(self, request):
        self.requests.append(
            {
                "path": request.path,
                "headers": dict(request.headers),
                "body": request.get_data(),
                "at": time.monotonic(),
            }
        )
        if request.path.startswith("/fail"):
            return Response("boom", status=500)
        if request.path.startswith("/gone"):
            return Response("no such hook", status=404)
        return Response("ok")

    def at(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]


@pytest.fixture(scope="session")
def hooks():
    sink = HookSink()
    server = make_server("127.0.0.1", 0, sink, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", sink
    server.shutdown()


# --- the app, the worker and the client ---------------------------------------------------------


@pytest.fixture(scope="session")
def notify_settings(settings, smtp_server) -> Settings:
    controller, _ = smtp_server
    return replace(
        settings,
        public_url=PUBLIC_URL,
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_tls="none",
        smtp_from="policycortex@example.com",
        outbound_allowlist=("127.0.0.1",),  # the local servers are loopback
        notify_max_attempts=3,
        notify_retry_base=1,
        notify_timeout=5,
    )


@pytest.fixture(scope="session")
def notify_celery(settings, svc, notify_settings):
    """A Celery app with the notification task and its route, as the lead's one-line change makes them."""
    from workers.celery_app import create_celery

    app = create_celery(notify_settings)
    app.loader.import_module("workers.notification_tasks")
    app.conf.task_routes = {**app.conf.task_routes, "notification-deliver": {"queue": QUEUE}}
    app.conf.task_queues = [*app.conf.task_queues, Queue(QUEUE)]
    return app


@pytest.fixture(scope="session")
def notify_svc(notify_celery):
    return notify_celery.services


@pytest.fixture(scope="session")
def notify_worker(notify_celery):
    """A real worker for this module's queue, beside the session's `worker` in this process. Two
    in-process workers need care: (1) stopping one stops all (celery.contrib.testing sets a global
    `should_terminate`), so this one lives as long as the session does; (2) a worker adopts kombu's
    process-wide event loop when one exists and its ETA timer is then never driven, so retries with
    a countdown would never run: this one gets an event loop of its own."""
    assert "notification-deliver" in notify_celery.tasks
    borrowed = get_event_loop()
    set_event_loop(None)
    try:
        with start_worker(
            notify_celery, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=30, queues=[QUEUE]
        ) as running:
            set_event_loop(borrowed)
            yield running
    finally:
        set_event_loop(borrowed)


@pytest.fixture(scope="module")
def notify_client(settings, notify_celery):
    from api.app import create_app
    from api.notifications import bp

    app = create_app(replace(settings, public_url=PUBLIC_URL), celery=notify_celery)
    if "notifications" not in app.blueprints:  # until api/__init__.py registers it
        app.register_blueprint(bp)
    return app.test_client()


# --- helpers -----------------------------------------------------------------------------------


def create_channel(client, tenant, body: dict) -> dict:
    response = client.post("/v1/notifications/channels", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def make_scan(svc, tenant, *, status: str = "completed", notifications: dict | None = None) -> str:
    """A finished scan as finalize leaves it."""
    now = utcnow()
    failed = status in ("failed", "timed_out")
    scan = Scan(
        tenant_id=tenant.id,
        name="Weekly production scan",
        scan_type="full",
        status=status,
        status_reason="All 2 shards failed; first error AccessDenied: no" if failed else None,
        environment="production",
        cloud_providers=["aws"],
        frameworks=["soc2"],
        policy_ids=[],
        account_ids=[],
        scope={},
        execution={},
        notifications=notifications or {"on_completion": True, "on_failure": True, "channels": []},
        scope_key="notifications-test",
        created_at=now - timedelta(minutes=5),
        started_at=now - timedelta(minutes=4, seconds=12),
        completed_at=now,
        compliance_score=None if failed else 87.5,
        total_violations=0 if failed else 12,
        resources_scanned=40,
        total_resources=40,
        results={
            "compliance_score": None if failed else 87.5,
            "previous_score": None if failed else 85.0,
            "total_violations": 0 if failed else 12,
            "new_violations": 0 if failed else 4,
            "resolved_violations": 0 if failed else 2,
            "violation_breakdown": {"critical": 0, "high": 0, "medium": 0, "low": 0}
            if failed
            else {"critical": 1, "high": 3, "medium": 5, "low": 3},
            "errors": [],
        },
    )
    with svc.db.session() as session:
        session.add(scan)
    return scan.id


def deliveries(client, tenant, **filters) -> dict:
    response = client.get("/v1/notifications/deliveries", query_string=filters, headers=tenant.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def wait_for_deliveries(client, tenant, *, count: int, timeout: float = 30, **filters) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        rows = deliveries(client, tenant, **filters)["deliveries"]
        if len(rows) >= count and all(row["status"] != "pending" for row in rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries still pending after {timeout}s: {rows}")
        time.sleep(0.05)


def stored_secrets(svc, channel_id: str) -> dict:
    with svc.db.session() as session:
        return svc.vault.decrypt(session.get(NotificationChannel, channel_id).secrets_encrypted)


# --- authorization matrix ----------------------------------------------------------------------


@pytest.mark.parametrize("method,path,scope", ROUTES)
def test_no_key_is_401(notify_client, method, path, scope):
    response = notify_client.open(path, method=method)
    assert_envelope(response, 401, "AUTH_001")


@pytest.mark.parametrize("method,path,scope", [r for r in ROUTES if r[2] == "write"])
def test_read_only_key_cannot_write(notify_client, make_tenant, method, path, scope):
    reader = make_tenant(scopes=("read",))
    assert_envelope(notify_client.open(path, method=method, headers=reader.headers, json={}), 403, "AUTH_002")


@pytest.mark.parametrize("method,path,scope", [r for r in ROUTES if r[2] == "read"])
def test_write_only_key_cannot_read(notify_client, make_tenant, method, path, scope):
    writer = make_tenant(scopes=("write",))
    assert_envelope(notify_client.open(path, method=method, headers=writer.headers), 403, "AUTH_002")


def test_other_tenants_channels_and_deliveries_are_invisible(notify_client, make_tenant, hooks):
    owner, stranger = make_tenant(), make_tenant()
    base, _ = hooks
    channel = create_channel(
        notify_client, owner, {"type": "webhook", "name": "ops", "config": {"url": f"{base}/owner"}}
    )
    assert (
        notify_client.post(f"/v1/notifications/channels/{channel['id']}/test", headers=owner.headers).status_code == 200
    )
    for method, suffix in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/test")]:
        path = f"/v1/notifications/channels/{channel['id']}{suffix}"
        body = {"name": "mine now"} if method == "PATCH" else None
        assert_envelope(notify_client.open(path, method=method, headers=stranger.headers, json=body), 404, "REQ_404")
    assert (
        notify_client.get("/v1/notifications/channels", headers=stranger.headers).get_json()["pagination"]["total"] == 0
    )
    assert deliveries(notify_client, stranger)["pagination"]["total"] == 0
    assert deliveries(notify_client, stranger, channel_id=channel["id"])["deliveries"] == []
    # The owner still sees both.
    assert notify_client.get(f"/v1/notifications/channels/{channel['id']}", headers=owner.headers).status_code == 200
    assert deliveries(notify_client, owner, channel_id=channel["id"])["pagination"]["total"] == 1


# --- channel CRUD ------------------------------------------------------------------------------


def test_webhook_secret_is_shown_once_and_stored_encrypted(notify_client, notify_svc, tenant, hooks):
    base, _ = hooks
    created = create_channel(
        notify_client, tenant, {"type": "webhook", "name": "siem", "config": {"url": f"{base}/siem"}}
    )
    assert created["id"].startswith("chn_") and len(created["id"]) == 20
    assert created["type"] == "webhook" and created["enabled"] is True
    assert created["config"] == {"url": f"{base}/siem", "signature": "hmac-sha256"}
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) == 6 + 64
    fetched = notify_client.get(f"/v1/notifications/channels/{created['id']}", headers=tenant.headers)
    listed = notify_client.get("/v1/notifications/channels", headers=tenant.headers)
    for response in (fetched, listed):
        assert secret not in response.get_data(as_text=True)
    assert "secret" not in fetched.get_json()
    with notify_svc.db.session() as session:
        row = session.get(NotificationChannel, created["id"])
        assert secret.encode() not in row.secrets_encrypted and secret not in json.dumps(row.config)
    assert stored_secrets(notify_svc, created["id"]) == {"secret": secret}


def test_slack_url_and_smtp_password_never_come_back(notify_client, notify_svc, tenant, hooks, smtp_server):
    base, _ = hooks
    controller, _ = smtp_server
    slack = create_channel(
        notify_client,
        tenant,
        {"type": "slack", "name": "alerts", "config": {"webhook_url": f"{base}/services/T01/B02/TopSecretToken"}},
    )
    assert slack["config"] == {"webhook_url": f"{base}/services/T01/B02/********"}
    mail = create_channel(
        notify_client,
        tenant,
        {
            "type": "email",
            "name": "security team",
            "config": {
                "recipients": ["sec@example.com"],
                "smtp": {
                    "host": "127.0.0.1",
                    "port": controller.port,
                    "username": SMTP_LOGIN[0],
                    "password": SMTP_LOGIN[1],
                    "tls": "none",
                },
            },
        },
    )
    assert mail["config"] == {
        "recipients": ["sec@example.com"],
        "smtp": {
            "host": "127.0.0.1",
            "port": controller.port,
            "username": SMTP_LOGIN[0],
            "password_set": True,
            "tls": "none",
            "from_address": None,
        },
    }
    listing = notify_client.get("/v1/notifications/channels", headers=tenant.headers).get_data(as_text=True)
    for secret in ("TopSecretToken", SMTP_LOGIN[1]):
        assert secret not in listing
        assert secret not in json.dumps([slack, mail])
    assert stored_secrets(notify_svc, slack["id"]) == {"webhook_url": f"{base}/services/T01/B02/TopSecretToken"}
    assert stored_secrets(notify_svc, mail["id"]) == {"smtp_password": SMTP_LOGIN[1]}


@pytest.mark.parametrize(
    "body,field",
    [
        ({"type": "pager", "name": "x", "config": {}}, "type"),
        ({"type": "email", "name": "x", "config": {"recipients": ["nobody"]}}, "config.recipients[0]"),
        ({"type": "email", "name": "x", "config": {"recipients": ["a@example.com"], "bcc": []}}, "config.bcc"),
        ({"type": "email", "name": "x", "config": {"recipients": ["a@example.com"], "smtp": {}}}, "config.smtp.host"),
        ({"type": "webhook", "name": "x", "config": {}}, "config.url"),
        ({"type": "webhook", "name": "x", "config": {"url": "ftp://example.com/x"}}, "config.url"),
        ({"type": "slack", "name": "x"}, "config"),
        ({"type": "slack", "name": "x", "config": {"webhook_url": "https://hooks.slack.com/x"}, "id": "y"}, "id"),
    ],
)
def test_bad_channels_are_400_naming_the_field(notify_client, tenant, body, field):
    response = notify_client.post("/v1/notifications/channels", json=body, headers=tenant.headers)
    details = assert_envelope(response, 400, "REQ_001")["details"]
    assert field in [d["field"] for d in details], details


@pytest.mark.parametrize(
    "config,field",
    [
        ({"type": "webhook", "config": {"url": "http://10.0.0.1/hook"}}, "config.url"),
        ({"type": "webhook", "config": {"url": "http://127.0.0.2:8080/hook"}}, "config.url"),  # only .1 is allowed
        ({"type": "slack", "config": {"webhook_url": "http://169.254.169.254/latest/x"}}, "config.webhook_url"),
        ({"type": "webhook", "config": {"url": "http://[::1]:8080/hook"}}, "config.url"),
        (
            {"type": "email", "config": {"recipients": ["a@example.com"], "smtp": {"host": "192.168.0.25"}}},
            "config.smtp.host",
        ),
    ],
)
def test_private_destinations_are_refused_at_creation(notify_client, tenant, config, field):
    response = notify_client.post(
        "/v1/notifications/channels", json={"name": "internal", **config}, headers=tenant.headers
    )
    details = assert_envelope(response, 400, "REQ_001")["details"]
    assert details[0]["field"] == field
    assert "not a public address" in details[0]["message"]
    assert "POLICYCORTEX_OUTBOUND_ALLOWLIST" in details[0]["message"]


def test_duplicate_names_conflict_until_deleted(notify_client, notify_svc, tenant, hooks):
    base, _ = hooks
    body = {"type": "webhook", "name": "dup", "config": {"url": f"{base}/dup"}}
    first = create_channel(notify_client, tenant, body)
    response = notify_client.post("/v1/notifications/channels", json=body, headers=tenant.headers)
    assert_envelope(response, 409, "REQ_409")
    path = f"/v1/notifications/channels/{first['id']}"
    assert notify_client.delete(path, headers=tenant.headers).status_code == 204
    assert_envelope(notify_client.get(path, headers=tenant.headers), 404, "REQ_404")
    assert_envelope(notify_client.delete(path, headers=tenant.headers), 404, "REQ_404")
    with notify_svc.db.session() as session:
        row = session.get(NotificationChannel, first["id"])
        assert row.deleted_at is not None and row.secrets_encrypted is None  # secrets destroyed
    create_channel(notify_client, tenant, body)  # the name is free again


def test_patch_changes_what_it_names_and_keeps_unsent_secrets(notify_client, notify_svc, tenant, hooks, smtp_server):
    base, _ = hooks
    controller, _ = smtp_server
    hook = create_channel(notify_client, tenant, {"type": "webhook", "name": "hook", "config": {"url": f"{base}/a"}})
    path = f"/v1/notifications/channels/{hook['id']}"
    response = notify_client.patch(
        path, json={"name": "renamed", "enabled": False, "config": {"url": f"{base}/b"}}, headers=tenant.headers
    )
    assert response.status_code == 200, response.get_json()
    patched = response.get_json()
    assert (patched["name"], patched["enabled"], patched["config"]["url"]) == ("renamed", False, f"{base}/b")
    assert "secret" not in patched
    assert stored_secrets(notify_svc, hook["id"]) == {"secret": hook["secret"]}  # the signing secret survives

    smtp = {"host": "127.0.0.1", "port": controller.port, "username": "u", "password": "keep-me", "tls": "none"}
    mail = create_channel(
        notify_client,
        tenant,
        {"type": "email", "name": "mail", "config": {"recipients": ["a@example.com"], "smtp": smtp}},
    )
    new_smtp = {k: v for k, v in smtp.items() if k != "password"} | {"username": "v"}
    response = notify_client.patch(
        f"/v1/notifications/channels/{mail['id']}",
        json={"config": {"recipients": ["b@example.com"], "smtp": new_smtp}},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.get_json()
    config = response.get_json()["config"]
    assert config["recipients"] == ["b@example.com"]
    assert (config["smtp"]["username"], config["smtp"]["password_set"]) == ("v", True)
    assert stored_secrets(notify_svc, mail["id"]) == {"smtp_password": "keep-me"}

    for body, field in [
        ({"type": "slack"}, "type"),
        ({"config": {"url": "not a url"}}, "config.url"),
        ({"config": {"url": "http://10.1.1.1/x"}}, "config.url"),
        ({"name": ""}, "name"),
    ]:
        response = notify_client.patch(path, json=body, headers=tenant.headers)
        details = assert_envelope(response, 400, "REQ_001")["details"]
        assert details[0]["field"] == field, details


def test_channel_listing_filters_and_paginates(notify_client, tenant, hooks):
    base, _ = hooks
    for index in range(3):
        create_channel(notify_client, tenant, {"type": "webhook", "name": f"w{index}", "config": {"url": f"{base}/w"}})
    create_channel(notify_client, tenant, {"type": "email", "name": "m", "config": {"recipients": ["a@example.com"]}})
    page = notify_client.get("/v1/notifications/channels?limit=2&offset=1", headers=tenant.headers).get_json()
    assert [c["name"] for c in page["channels"]] == ["w1", "w2"]
    assert page["pagination"] == {"total": 4, "limit": 2, "offset": 1, "has_more": True}
    emails = notify_client.get("/v1/notifications/channels?type=email", headers=tenant.headers).get_json()
    assert [c["name"] for c in emails["channels"]] == ["m"]
    response = notify_client.get("/v1/notifications/channels?kind=email", headers=tenant.headers)
    assert_envelope(response, 400, "REQ_001")


# --- deliveries through the worker -------------------------------------------------------------


def test_scan_completion_is_emailed_with_its_summary(notify_client, notify_svc, notify_worker, tenant, smtp_server):
    _, sink = smtp_server
    recipient = f"{tenant.id}@example.com"
    channel = create_channel(
        notify_client, tenant, {"type": "email", "name": "team", "config": {"recipients": [recipient]}}
    )
    scan_id = make_scan(notify_svc, tenant, notifications={"on_completion": True, "channels": ["email"]})
    assert len(notify_scan_finished(notify_svc, scan_id)) == 1
    [row] = wait_for_deliveries(notify_client, tenant, count=1, scan_id=scan_id)
    assert (row["status"], row["channel_id"], row["channel_type"]) == ("delivered", channel["id"], "email")
    assert (row["event"], row["attempts"], row["last_error"]) == ("scan.completed", 1, None)
    [mail] = sink.to(recipient)
    assert mail["mail_from"] == "policycortex@example.com"
    message = mail["message"]
    assert message["Subject"] == "[PolicyCortex] Scan completed: Weekly production scan"
    assert message["X-PolicyCortex-Delivery"] == str(row["id"])
    body = message.get_content()
    assert "Compliance score: 87.5 (previous 85.0, +2.5)" in body
    assert "Violations: 12 (critical 1, high 3, medium 5, low 3)" in body
    assert "New / resolved: 4 new, 2 resolved" in body
    assert f"View the scan: {PUBLIC_URL}/v1/scans/{scan_id}" in body


def test_email_through_the_channels_own_server_with_auth(notify_client, tenant, smtp_server):
    controller, sink = smtp_server
    recipient = f"auth-{tenant.id}@example.com"
    smtp = {"host": "127.0.0.1", "port": controller.port, "username": SMTP_LOGIN[0], "tls": "none"}
    good = create_channel(
        notify_client,
        tenant,
        {
            "type": "email",
            "name": "own server",
            "config": {
                "recipients": [recipient],
                "smtp": {**smtp, "password": SMTP_LOGIN[1], "from_address": "alerts@example.com"},
            },
        },
    )
    response = notify_client.post(f"/v1/notifications/channels/{good['id']}/test", headers=tenant.headers)
    assert response.status_code == 200
    assert response.get_json()["status"] == "delivered"
    [mail] = sink.to(recipient)
    assert mail["authenticated"] and mail["mail_from"] == "alerts@example.com"
    assert mail["message"]["Subject"] == "[PolicyCortex] Test notification"

    bad = create_channel(
        notify_client,
        tenant,
        {
            "type": "email",
            "name": "bad login",
            "config": {"recipients": [recipient], "smtp": {**smtp, "password": "x"}},
        },
    )
    result = notify_client.post(f"/v1/notifications/channels/{bad['id']}/test", headers=tenant.headers).get_json()
    assert (result["status"], result["attempts"]) == ("failed", 1)
    assert result["last_error"].startswith("SMTP 535 from 127.0.0.1")
    assert len(sink.to(recipient)) == 1


@pytest.mark.parametrize("tls", ["starttls", "tls"])
def test_email_over_tls_with_auth(notify_client, tenant, tls_smtp_servers, smtp_certificate, monkeypatch, tls):
    ports, sink = tls_smtp_servers
    recipient = f"{tls}-{tenant.id}@example.com"
    smtp = {"host": "127.0.0.1", "port": ports[tls], "username": SMTP_LOGIN[0], "password": SMTP_LOGIN[1], "tls": tls}
    channel = create_channel(
        notify_client, tenant, {"type": "email", "name": tls, "config": {"recipients": [recipient], "smtp": smtp}}
    )
    test_path = f"/v1/notifications/channels/{channel['id']}/test"
    # Without trusting the certificate, TLS refuses the server: nothing is sent, the password neither.
    untrusted = notify_client.post(test_path, headers=tenant.headers).get_json()
    assert untrusted["status"] == "failed" and "SSLCertVerificationError" in untrusted["last_error"]
    assert sink.to(recipient) == []
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp_certificate[0]))
    trusted = notify_client.post(test_path, headers=tenant.headers).get_json()
    assert trusted["status"] == "delivered", trusted["last_error"]
    [mail] = sink.to(recipient)
    assert mail["authenticated"]


def test_scan_completion_posts_a_readable_slack_message(notify_client, notify_svc, notify_worker, tenant, hooks):
    base, sink = hooks
    path = f"/services/T01/B02/{tenant.id}"
    create_channel(
        notify_client, tenant, {"type": "slack", "name": "#compliance", "config": {"webhook_url": base + path}}
    )
    scan_id = make_scan(notify_svc, tenant, notifications={"on_completion": True, "channels": ["slack"]})
    notify_scan_finished(notify_svc, scan_id)
    [row] = wait_for_deliveries(notify_client, tenant, count=1, scan_id=scan_id)
    assert (row["status"], row["response_status"]) == ("delivered", 200)
    [request] = sink.at(path)
    assert request["headers"]["Content-Type"] == "application/json"
    body = json.loads(request["body"])
    assert body["text"].startswith("Scan completed: Weekly production scan.")
    header, section, link = body["blocks"]
    assert header["text"]["text"] == ":white_check_mark: Scan completed: Weekly production scan"
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in section["fields"]}
    assert fields["*Status*"] == "completed"
    assert fields["*Compliance score*"] == "87.5 (previous 85.0, +2.5)"
    assert fields["*Violations*"] == "12 (critical 1, high 3, medium 5, low 3)"
    assert link["text"]["text"] == f"<{PUBLIC_URL}/v1/scans/{scan_id}|View scan {scan_id}>"


def test_webhook_body_is_signed_with_the_channel_secret(notify_client, notify_svc, notify_worker, tenant, hooks):
    base, sink = hooks
    path = f"/hooks/{tenant.id}"
    channel = create_channel(notify_client, tenant, {"type": "webhook", "name": "siem", "config": {"url": base + path}})
    scan_id = make_scan(
        notify_svc, tenant, status="failed", notifications={"on_failure": True, "channels": ["webhook"]}
    )
    notify_scan_finished(notify_svc, scan_id)
    [row] = wait_for_deliveries(notify_client, tenant, count=1, scan_id=scan_id)
    assert (row["status"], row["event"]) == ("delivered", "scan.failed")
    [request] = sink.at(path)
    headers = request["headers"]
    assert headers["X-Policycortex-Event"] == "scan.failed"
    assert headers["X-Policycortex-Delivery"] == str(row["id"])
    # Verified as a receiver would, from the header alone and the secret shown at creation.
    parts = dict(item.split("=", 1) for item in headers["X-Policycortex-Signature"].split(","))
    timestamp = int(parts["t"])
    assert abs(time.time() - timestamp) < 300
    expected = hmac.new(channel["secret"].encode(), f"{timestamp}.".encode() + request["body"], hashlib.sha256)
    assert hmac.compare_digest(parts["v1"], expected.hexdigest())
    document = json.loads(request["body"])
    assert (document["id"], document["event"]) == (row["id"], "scan.failed")
    scan = document["data"]["scan"]
    assert (scan["id"], scan["status"], scan["compliance_score"]) == (scan_id, "failed", None)
    assert scan["status_reason"].startswith("All 2 shards failed")
    assert scan["url"] == f"{PUBLIC_URL}/v1/scans/{scan_id}"


def test_scans_notify_only_the_listed_types_and_only_when_asked(
    notify_client, notify_svc, notify_worker, tenant, hooks
):
    base, _ = hooks
    slack = create_channel(
        notify_client, tenant, {"type": "slack", "name": "s", "config": {"webhook_url": f"{base}/s"}}
    )
    create_channel(notify_client, tenant, {"type": "webhook", "name": "w", "config": {"url": f"{base}/w"}})
    muted = create_channel(
        notify_client, tenant, {"type": "slack", "name": "muted", "config": {"webhook_url": f"{base}/m"}}
    )
    notify_client.patch(f"/v1/notifications/channels/{muted['id']}", json={"enabled": False}, headers=tenant.headers)

    completed = make_scan(notify_svc, tenant, notifications={"on_failure": True, "channels": ["slack", "webhook"]})
    assert notify_scan_finished(notify_svc, completed) == []  # completed, and only failures were asked for
    silent = make_scan(notify_svc, tenant, notifications={"on_completion": True, "channels": []})
    assert notify_scan_finished(notify_svc, silent) == []
    timed_out = make_scan(
        notify_svc, tenant, status="timed_out", notifications={"on_failure": True, "channels": ["slack"]}
    )
    assert len(notify_scan_finished(notify_svc, timed_out)) == 1  # the enabled slack channel only
    assert notify_scan_finished(notify_svc, timed_out) == []  # asked twice, delivered once
    [row] = wait_for_deliveries(notify_client, tenant, count=1, scan_id=timed_out)
    assert (row["channel_id"], row["event"], row["status"]) == (slack["id"], "scan.timed_out", "delivered")
    assert deliveries(notify_client, tenant)["pagination"]["total"] == 1


def test_a_failing_endpoint_is_retried_with_back_off_then_failed(
    notify_client, notify_svc, notify_worker, tenant, hooks
):
    base, sink = hooks
    path = f"/fail/{tenant.id}"
    channel = create_channel(
        notify_client, tenant, {"type": "webhook", "name": "flaky", "config": {"url": base + path}}
    )
    scan_id = make_scan(notify_svc, tenant, notifications={"on_completion": True, "channels": ["webhook"]})
    notify_scan_finished(notify_svc, scan_id)

    # Between attempts the delivery is pending, with its error and when it will be tried again.
    deadline = time.monotonic() + 20
    while True:
        [row] = deliveries(notify_client, tenant, scan_id=scan_id)["deliveries"]
        if row["status"] == "pending" and row["last_error"]:
            break
        assert time.monotonic() < deadline, row
        time.sleep(0.02)
    assert row["next_attempt_at"] is not None and row["last_error"].startswith("HTTP 500")

    [row] = wait_for_deliveries(notify_client, tenant, count=1, scan_id=scan_id)
    assert (row["status"], row["attempts"], row["response_status"]) == ("failed", 3, 500)
    assert row["last_error"] == "HTTP 500 from 127.0.0.1: boom"
    assert row["next_attempt_at"] is None and row["delivered_at"] is None
    listed = deliveries(notify_client, tenant, status="failed", channel_id=channel["id"])
    assert [d["id"] for d in listed["deliveries"]] == [row["id"]]
    attempts = sink.at(path)
    assert len(attempts) == 3  # notify_max_attempts
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(attempts, attempts[1:], strict=False)]
    # Back-off doubles from notify_retry_base (1 s): at least 1 s, then at least 2 s.
    assert gaps[0] >= 1.0 and gaps[1] >= 2.0, gaps


def test_permanent_http_errors_are_not_retried(notify_client, tenant, hooks):
    base, sink = hooks
    path = f"/gone/{tenant.id}"
    channel = create_channel(notify_client, tenant, {"type": "webhook", "name": "gone", "config": {"url": base + path}})
    result = notify_client.post(f"/v1/notifications/channels/{channel['id']}/test", headers=tenant.headers).get_json()
    assert (result["status"], result["attempts"], result["response_status"]) == ("failed", 1, 404)
    assert result["last_error"] == "HTTP 404 from 127.0.0.1: no such hook"
    assert len(sink.at(path)) == 1


def test_guard_is_applied_again_at_delivery(notify_client, notify_svc, notify_settings, tenant, hooks):
    """A destination allowed when the channel was created is refused once the allow-list changes."""
    base, sink = hooks
    path = f"/later-refused/{tenant.id}"
    channel = create_channel(notify_client, tenant, {"type": "webhook", "name": "lan", "config": {"url": base + path}})
    notify_svc.settings = replace(notify_settings, outbound_allowlist=())
    try:
        result = notify_client.post(f"/v1/notifications/channels/{channel['id']}/test", headers=tenant.headers)
    finally:
        notify_svc.settings = notify_settings
    delivery = result.get_json()
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)
    assert delivery["last_error"] == "Refused: 127.0.0.1 is not a public address"
    assert sink.at(path) == []


def test_test_message_and_delivery_listing(notify_client, tenant, hooks):
    base, sink = hooks
    path = f"/test/{tenant.id}"
    channel = create_channel(notify_client, tenant, {"type": "webhook", "name": "t", "config": {"url": base + path}})
    test_path = f"/v1/notifications/channels/{channel['id']}/test"
    first = notify_client.post(test_path, headers=tenant.headers).get_json()
    assert (first["status"], first["event"], first["channel_type"], first["scan_id"]) == (
        "delivered",
        "test",
        "webhook",
        None,
    )
    assert first["payload"] == {"message": "PolicyCortex can reach the channel 't'."}
    second = notify_client.post(test_path, headers=tenant.headers).get_json()
    assert len(sink.at(path)) == 2
    page = deliveries(notify_client, tenant, limit=1)
    assert [d["id"] for d in page["deliveries"]] == [second["id"]]  # newest first
    assert page["pagination"] == {"total": 2, "limit": 1, "offset": 0, "has_more": True}
    assert deliveries(notify_client, tenant, status="failed")["pagination"]["total"] == 0
    for query, field in [({"status": "lost"}, "status"), ({"limit": 0}, "limit"), ({"colour": "red"}, "colour")]:
        response = notify_client.get("/v1/notifications/deliveries", query_string=query, headers=tenant.headers)
        assert assert_envelope(response, 400, "REQ_001")["details"][0]["field"] == field


def test_housekeeping_requeues_deliveries_whose_task_was_lost(notify_client, notify_svc, notify_worker, tenant, hooks):
    base, sink = hooks
    path = f"/lost/{tenant.id}"
    channel = create_channel(notify_client, tenant, {"type": "webhook", "name": "l", "config": {"url": base + path}})
    long_ago = utcnow() - timedelta(hours=1)
    with notify_svc.db.session() as session:  # as notify leaves it when the broker was down at enqueue
        lost = NotificationDelivery(
            tenant_id=tenant.id,
            channel_id=channel["id"],
            channel_type=channel["type"],
            event="scan.completed",
            scan_id="scan_00000000000lost",
            status="pending",
            attempts=0,
            payload={"scan": {"id": "scan_00000000000lost", "name": "lost"}},
            created_at=long_ago,
            next_attempt_at=long_ago,
        )
        session.add(lost)
    assert lost.id in requeue_overdue(notify_svc)
    [row] = wait_for_deliveries(notify_client, tenant, count=1, scan_id="scan_00000000000lost")
    assert (row["status"], row["attempts"]) == ("delivered", 1)
    assert len(sink.at(path)) == 1


def test_naming_a_channel_type_the_tenant_lacks_is_400(client, tenant, make_account, moto):
    make_account(tenant, endpoint_url=moto)
    body = scan_body(notifications={"on_completion": True, "channels": ["email", "slack"]})
    response = client.post("/v1/scans", headers=tenant.headers, json=body)
    details = assert_envelope(response, 400, "SCAN_001")["details"]
    assert [(d["field"], d["message"].split(";")[0]) for d in details] == [
        ("notifications.channels", "No enabled email channel is configured"),
        ("notifications.channels", "No enabled slack channel is configured"),
    ]


def test_a_notification_that_cannot_be_sent_is_recorded_with_why(notify_svc, tenant):
    """The channel was there when the scan was made; it is gone when the scan ends."""
    scan_id = make_scan(notify_svc, tenant, notifications={"on_completion": True, "channels": ["slack"]})
    assert notify_scan_finished(notify_svc, scan_id) == []
    with notify_svc.db.session() as session:
        (row,) = session.scalars(select(NotificationDelivery).where(NotificationDelivery.scan_id == scan_id)).all()
    assert (row.status, row.channel_id, row.channel_type) == ("skipped", None, "slack")
    assert row.last_error.startswith("The tenant has no enabled slack channel")
