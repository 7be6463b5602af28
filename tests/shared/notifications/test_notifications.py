"""Notifications without a database: signing and verifying, the outbound address guard, settings,
message rendering, back-off, and the channel registry."""

from __future__ import annotations

import hashlib
import hmac
import threading

import pytest
from marshmallow import ValidationError
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shared.notifications.channels.slack import redact_url
from shared.notifications.channels.types import channel_types
from shared.notifications.delivery import retry_delay
from shared.notifications.messages import email_text, render_message, slack_body
from shared.notifications.schemas import ChannelRequestSchema
from shared.notifications.signing import sign, verify_signature
from shared.platform.outbound import BlockedDestination, OutboundGuard, guarded_session
from shared.platform.settings import Settings, SettingsError
from shared.scans.schemas import CHANNELS

SECRET = "whsec_" + "ab" * 32
KEY = "x" * 43 + "="  # any non-empty key list passes Settings' validation
BODY = b'{"event":"scan.completed","id":7}'


def stub_resolver(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


# --- signing -----------------------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    header = sign(SECRET, BODY, 1_700_000_000)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_signature_verifies_within_the_tolerance():
    header = sign(SECRET, BODY, 1_700_000_000)
    assert verify_signature(SECRET, BODY, header, now=1_700_000_000)
    assert verify_signature(SECRET, BODY, header, now=1_700_000_299)


@pytest.mark.parametrize(
    "secret,body,now",
    [
        ("whsec_other", BODY, 1_700_000_000),  # wrong secret
        (SECRET, BODY + b" ", 1_700_000_000),  # body changed after signing
        (SECRET, BODY, 1_700_000_301),  # replayed after the window
        (SECRET, BODY, 1_699_999_699),  # from the future beyond the window
    ],
)
def test_signature_rejects_tampering_and_replay(secret, body, now):
    assert not verify_signature(secret, body, sign(SECRET, BODY, 1_700_000_000), now=now)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=1700000000", "t=soon,v1=abc", "garbage"])
def test_malformed_signature_headers_are_rejected(header):
    assert not verify_signature(SECRET, BODY, header, now=1_700_000_000)


def test_any_of_several_v1_signatures_may_match():
    good = sign(SECRET, BODY, 1_700_000_000).split("v1=")[1]
    header = f"t=1700000000,v1={'0' * 64},v1={good}"
    assert verify_signature(SECRET, BODY, header, now=1_700_000_000)


# --- the outbound guard ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1.2.3:8080/hook",
        "https://10.0.0.5/hook",
        "https://172.16.4.4/hook",
        "https://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata endpoint
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0:9000/",
        "http://224.0.0.1/",  # multicast
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fd12:3456::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
        "http://localhost:8000/hook",  # resolved by the system
        "http://internal.example.com/hook",  # resolves to a private address
        "http://mixed.example.com/hook",  # one public and one private address
        "http://nowhere.example.com/hook",  # does not resolve
        "ftp://files.example.com/hook",
        "file:///etc/passwd",
        "http:///no-host",
    ],
)
def test_guard_refuses_non_public_destinations(url):
    guard = OutboundGuard.from_allowlist(
        [],
        resolver=stub_resolver(
            {
                "localhost": ["127.0.0.1"],
                "internal.example.com": ["10.1.2.3"],
                "mixed.example.com": ["93.184.216.34", "192.168.0.7"],
                "files.example.com": ["93.184.216.34"],
            }
        ),
    )
    if url.startswith("http://localhost"):
        guard = OutboundGuard.from_allowlist([])  # the real resolver: localhost is loopback
    with pytest.raises(BlockedDestination):
        guard.check_url(url)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.slack.com/services/T0/B0/x", "https://93.184.216.34/x", "https://[2606:4700::1111]:8443/x"],
)
def test_guard_accepts_public_destinations(url):
    guard = OutboundGuard.from_allowlist([], resolver=stub_resolver({"hooks.slack.com": ["52.1.2.3"]}))
    guard.check_url(url)


@pytest.mark.parametrize(
    "allowlist,url",
    [
        (["127.0.0.1"], "http://127.0.0.1:5000/hook"),
        (["10.0.0.0/8"], "https://10.200.1.1/hook"),
        (["10.0.0.0/8"], "https://internal.example.com/hook"),  # allowed by the resolved address
        (["hooks.internal"], "https://hooks.internal/hook"),  # allowed by name, whatever it resolves to
        (["HOOKS.internal."], "https://hooks.INTERNAL/hook"),
        (["::1"], "http://[::1]:8080/hook"),
    ],
)
def test_allow_listed_hosts_and_networks_pass(allowlist, url):
    resolver = stub_resolver({"internal.example.com": ["10.1.2.3"], "hooks.internal": ["192.168.9.9"]})
    OutboundGuard.from_allowlist(allowlist, resolver=resolver).check_url(url)


def test_allow_list_is_exact_not_a_suffix():
    resolver = stub_resolver({"evil-hooks.internal": ["192.168.9.9"]})
    with pytest.raises(BlockedDestination, match="192.168.9.9"):
        OutboundGuard.from_allowlist(["hooks.internal"], resolver=resolver).check_url("https://evil-hooks.internal/")


@pytest.fixture(scope="module")
def local_http():
    @Request.application
    def app(request):
        return Response("ok")

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()


def test_guard_checks_the_connected_address_not_only_the_first_answer(local_http):
    """DNS rebinding: the name looked public when checked, then the connection went to loopback."""
    port = local_http.split(":")[1]
    guard = OutboundGuard.from_allowlist([], resolver=stub_resolver({"localhost": ["93.184.216.34"]}))
    guard.check_url(f"http://localhost:{port}/")  # the pre-flight check is fooled...
    with guarded_session(guard) as http, pytest.raises(BlockedDestination, match="connected to 127.0.0.1"):
        http.post(f"http://localhost:{port}/", data=b"{}")  # ...the connection is not


def test_guarded_session_reaches_allow_listed_addresses(local_http):
    with guarded_session(OutboundGuard.from_allowlist(["127.0.0.1"])) as http:
        assert http.post(f"http://{local_http}/", data=b"{}").status_code == 200


# --- settings ----------------------------------------------------------------------------------


def test_settings_from_environment():
    settings = Settings.from_env(
        {
            "POLICYCORTEX_SECRET_KEYS": KEY,
            "POLICYCORTEX_SMTP_HOST": "smtp.example.com",
            "POLICYCORTEX_SMTP_PORT": "465",
            "POLICYCORTEX_SMTP_USERNAME": "mailer",
            "POLICYCORTEX_SMTP_PASSWORD": "s3cret",
            "POLICYCORTEX_SMTP_TLS": "TLS",
            "POLICYCORTEX_SMTP_FROM": "alerts@example.com",
            "POLICYCORTEX_OUTBOUND_ALLOWLIST": "127.0.0.1, 10.0.0.0/8 ,hooks.internal",
            "POLICYCORTEX_NOTIFY_MAX_ATTEMPTS": "7",
        }
    )
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_tls) == ("smtp.example.com", 465, "tls")
    assert (settings.smtp_username, settings.smtp_password, settings.smtp_from) == (
        "mailer",
        "s3cret",
        "alerts@example.com",
    )
    assert settings.outbound_allowlist == ("127.0.0.1", "10.0.0.0/8", "hooks.internal")
    assert settings.notify_max_attempts == 7
    defaults = Settings.from_env({"POLICYCORTEX_SECRET_KEYS": KEY})
    assert defaults.smtp_host is None and defaults.smtp_tls == "starttls" and defaults.outbound_allowlist == ()


@pytest.mark.parametrize(
    "env",
    [
        {"POLICYCORTEX_SMTP_TLS": "ssl"},
        {"POLICYCORTEX_SMTP_PORT": "smtp"},
        {"POLICYCORTEX_SMTP_PORT": "70000"},
        {"POLICYCORTEX_NOTIFY_MAX_ATTEMPTS": "0"},
        {"POLICYCORTEX_OUTBOUND_ALLOWLIST": "10.0.0.0/8,not a host"},
    ],
)
def test_bad_settings_fail_loudly(env):
    with pytest.raises(SettingsError):
        Settings.from_env({"POLICYCORTEX_SECRET_KEYS": KEY, **env})


# --- messages ----------------------------------------------------------------------------------

SCAN = {
    "id": "scan_0123456789abcdef",
    "name": "Production <Full> Scan & more",
    "status": "completed",
    "status_reason": None,
    "environment": "production",
    "cloud_providers": ["aws", "gcp"],
    "compliance_score": 87.5,
    "previous_score": 85.0,
    "total_violations": 12,
    "violation_breakdown": {"critical": 1, "high": 3, "medium": 5, "low": 3},
    "new_violations": 4,
    "resolved_violations": 2,
    "duration": "4m12s",
    "url": "https://policycortex.example.com/v1/scans/scan_0123456789abcdef",
}


def test_scan_message_has_score_counts_and_link():
    message = render_message("scan.completed", {"scan": SCAN})
    assert message.title == "Scan completed: Production <Full> Scan & more"
    facts = dict(message.facts)
    assert facts["Compliance score"] == "87.5 (previous 85.0, +2.5)"
    assert facts["Violations"] == "12 (critical 1, high 3, medium 5, low 3)"
    assert facts["New / resolved"] == "4 new, 2 resolved"
    assert facts["Providers"] == "aws, gcp"
    text = email_text(message)
    assert "Compliance score: 87.5 (previous 85.0, +2.5)" in text
    assert "Violations: 12 (critical 1, high 3, medium 5, low 3)" in text
    assert f"View the scan: {SCAN['url']}" in text


def test_slack_message_is_readable_and_escaped():
    body = slack_body(render_message("scan.completed", {"scan": SCAN}))
    header, section, link = body["blocks"]
    assert header["text"]["text"] == ":white_check_mark: Scan completed: Production <Full> Scan & more"
    fields = [f["text"] for f in section["fields"]]
    assert "*Compliance score*\n87.5 (previous 85.0, +2.5)" in fields
    assert "*Violations*\n12 (critical 1, high 3, medium 5, low 3)" in fields
    assert link["text"]["text"] == f"<{SCAN['url']}|View scan {SCAN['id']}>"
    # mrkdwn text escapes the name, so it cannot turn into a link or a mention
    assert "Production &lt;Full&gt; Scan &amp; more" in body["text"]
    assert body["text"].endswith(f"<{SCAN['url']}|View scan>")


def test_failed_scan_without_score_or_link():
    scan = {**SCAN, "status": "failed", "compliance_score": None, "status_reason": "All 2 shards\nfailed", "url": None}
    message = render_message("scan.failed", {"scan": scan})
    facts = dict(message.facts)
    assert facts["Compliance score"] == "n/a (nothing was evaluated)"
    assert facts["Reason"] == "All 2 shards failed"  # one line: it may end up in a header
    assert "Scan id: scan_0123456789abcdef" in email_text(message)
    assert slack_body(message)["blocks"][-1]["type"] == "context"


def test_drift_alert_leads_with_the_drift():
    message = render_message("drift.alert", {"scan": SCAN, "drift": {"reason": "Score fell 6.0 points"}})
    assert message.title.startswith("Compliance drift: ")
    assert message.facts[0] == ("Drift", "Score fell 6.0 points")


def test_test_message():
    message = render_message("test", {"message": "PolicyCortex can reach the channel 'ops'."})
    assert message.title == "Test notification"
    assert message.facts == [("Message", "PolicyCortex can reach the channel 'ops'.")]


# --- back-off, redaction, registry, validation -------------------------------------------------


def test_retry_delay_doubles_with_jitter_and_is_capped():
    for attempt, low in [(1, 30), (2, 60), (3, 120), (4, 240)]:
        assert low <= retry_delay(attempt, 30) <= low * 1.25
    assert 900 <= retry_delay(30, 30) <= 1125  # below the broker visibility timeout


def test_slack_url_redaction_hides_the_token():
    url = "https://hooks.slack.com/services/T0AAA/B0BBB/XyZsecretToken?x=1"
    assert redact_url(url) == "https://hooks.slack.com/services/T0AAA/B0BBB/********"
    assert "XyZsecretToken" not in redact_url(url)
    assert redact_url("http://user:pw@[::1]:8080/hook") == "http://[::1]:8080/********"


def test_every_channel_type_of_the_scan_schema_is_registered():
    assert channel_types.names() == sorted(CHANNELS)
    for name, kind in channel_types.items():
        assert kind.registry_name == name
        assert kind.schema is not None and kind.__doc__


@pytest.mark.parametrize(
    "body,field",
    [
        ({"type": "pager", "name": "x", "config": {}}, "type"),
        ({"type": "email", "name": "x", "config": {"recipients": ["not-an-address"]}}, "config"),
        ({"type": "email", "name": "x", "config": {"recipients": []}}, "config"),
        ({"type": "email", "name": "x", "config": {"recipients": ["a@example.com"], "cc": []}}, "config"),
        ({"type": "webhook", "name": "x", "config": {}}, "config"),
        ({"type": "slack", "name": " ", "config": {"webhook_url": "https://hooks.slack.com/x"}}, "name"),
        ({"type": "slack", "name": "x", "config": {"webhook_url": "gopher://hooks.slack.com/x"}}, "config"),
    ],
)
def test_channel_requests_are_validated(body, field):
    with pytest.raises(ValidationError) as caught:
        ChannelRequestSchema().load(body)
    assert field in caught.value.messages


def test_refusals_say_why():
    guard = OutboundGuard.from_allowlist([], resolver=stub_resolver({"intranet.example.com": ["10.9.8.7"]}))
    with pytest.raises(BlockedDestination, match=r"^10\.0\.0\.5 is not a public address$"):
        guard.check_url("https://10.0.0.5/hook")
    with pytest.raises(BlockedDestination, match=r"^intranet\.example\.com resolves to 10\.9\.8\.7, which is not"):
        guard.check_url("https://intranet.example.com/hook")
    with pytest.raises(BlockedDestination, match=r"^nowhere\.example\.com does not resolve$"):
        guard.check_url("https://nowhere.example.com/hook")
