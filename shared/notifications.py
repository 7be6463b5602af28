"""Notifications: a tenant's channels (email, Slack, signed webhooks), the messages scans and
schedules send through them, the outbound address guard, and delivery with retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
import smtplib
import ssl
import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
import urllib3
from marshmallow import Schema, ValidationError, fields, post_load, validate
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared import metrics
from shared.context import Services
from shared.crypto import CredentialsError
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.models import Scan, utcnow
from shared.notification_models import NotificationChannel, NotificationDelivery
from shared.outbound import BlockedDestination, OutboundGuard, guarded_session
from shared.progress import SEVERITY_FIELDS
from shared.registry import Registry
from shared.scans.render import duration, iso
from shared.scans.schemas import TERMINAL_STATUSES, Closed, error_details
from shared.settings import PREFIX, TLS_MODES, Settings

log = logging.getLogger(__name__)

DELIVERY_STATUSES = ("pending", "delivered", "failed")
FAILURE_STATUSES = ("failed", "timed_out")
TEST_EVENT = "test"
# Event names are closed so that a typo in a caller fails loudly instead of sending nothing.
EVENTS = ("scan.completed", "scan.failed", "scan.timed_out", "scan.cancelled", "drift.alert", TEST_EVENT)
# Below the broker's visibility timeout (2 x shard time limit), with jitter: Redis would hand a task
# that waits longer for its ETA to a second worker.
RETRY_CAP_SECONDS = 900
USER_AGENT = "PolicyCortex-Notifications/1.0"
SIGNATURE_HEADER = "X-PolicyCortex-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300


# --- signing ---------------------------------------------------------------------------------


def new_webhook_secret() -> str:
    return f"whsec_{secrets.token_hex(32)}"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The X-PolicyCortex-Signature value: `t=<unix ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str, body: bytes, header: str, *, tolerance: int = SIGNATURE_TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """What a receiver does: the timestamp is recent and one v1 signature matches the body."""
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False  # an old signed body replayed later is refused
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


# --- messages --------------------------------------------------------------------------------

TITLES = {
    "scan.completed": "Scan completed",
    "scan.failed": "Scan failed",
    "scan.timed_out": "Scan timed out",
    "scan.cancelled": "Scan cancelled",
    "drift.alert": "Compliance drift",
    TEST_EVENT: "Test notification",
}
SLACK_EMOJI = {
    "scan.completed": ":white_check_mark:",
    "scan.failed": ":x:",
    "scan.timed_out": ":hourglass:",
    "scan.cancelled": ":no_entry_sign:",
    "drift.alert": ":chart_with_downwards_trend:",
    TEST_EVENT: ":wave:",
}


def scan_url(public_url: str | None, scan_id: str) -> str | None:
    return f"{public_url.rstrip('/')}/v1/scans/{scan_id}" if public_url else None


def scan_summary(scan: Scan, public_url: str | None) -> dict[str, Any]:
    """What a notification says about a scan; schedules put the same dict in drift alerts."""
    results = scan.results or {}
    breakdown = results.get("violation_breakdown") or {}
    return {
        "id": scan.id,
        "name": scan.name,
        "status": scan.status,
        "status_reason": scan.status_reason,
        "scan_type": scan.scan_type,
        "environment": scan.environment,
        "cloud_providers": scan.cloud_providers,
        "frameworks": scan.frameworks,
        "compliance_score": scan.compliance_score,
        "previous_score": results.get("previous_score"),
        "total_violations": results.get("total_violations", scan.total_violations),
        "violation_breakdown": {severity: breakdown.get(severity, 0) for severity in SEVERITY_FIELDS},
        "new_violations": results.get("new_violations"),
        "resolved_violations": results.get("resolved_violations"),
        "resources_scanned": scan.resources_scanned,
        "started_at": iso(scan.started_at),
        "completed_at": iso(scan.completed_at),
        "duration": duration(scan),
        "url": scan_url(public_url, scan.id),
    }


@dataclass(frozen=True)
class Message:
    """A notification rendered once, then laid out per channel (email text, Slack blocks)."""

    event: str
    title: str
    facts: list[tuple[str, str]]
    url: str | None
    reference: str | None  # the scan id, named when there is no link to show

    @property
    def summary(self) -> str:
        return f"{self.title}. " + "; ".join(f"{label}: {value}" for label, value in self.facts[:3])


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def _score(scan: dict) -> str:
    score, previous = scan.get("compliance_score"), scan.get("previous_score")
    if score is None:
        return "n/a (nothing was evaluated)"
    if previous is None:
        return f"{score:.1f}"
    return f"{score:.1f} (previous {previous:.1f}, {score - previous:+.1f})"


def _violations(scan: dict) -> str:
    breakdown = scan.get("violation_breakdown") or {}
    counts = ", ".join(f"{severity} {breakdown.get(severity, 0)}" for severity in SEVERITY_FIELDS)
    return f"{scan.get('total_violations') or 0} ({counts})"


def render_message(event: str, payload: Mapping[str, Any]) -> Message:
    """The title and the facts worth reading, in order, for any event's payload."""
    scan = payload.get("scan") or {}
    title = TITLES.get(event, event)
    if scan.get("name"):
        title = f"{title}: {_one_line(scan['name'])}"
    facts: list[tuple[str, str]] = []
    drift = payload.get("drift") or {}
    if drift.get("reason"):
        facts.append(("Drift", _one_line(drift["reason"])))
    if scan:
        facts += [
            ("Status", scan.get("status") or "unknown"),
            ("Compliance score", _score(scan)),
            ("Violations", _violations(scan)),
        ]
        if scan.get("new_violations") is not None:
            facts.append(
                ("New / resolved", f"{scan['new_violations']} new, {scan.get('resolved_violations') or 0} resolved")
            )
        facts.append(("Environment", _one_line(scan.get("environment") or "")))
        if scan.get("cloud_providers"):
            facts.append(("Providers", ", ".join(scan["cloud_providers"])))
        if scan.get("duration"):
            facts.append(("Duration", scan["duration"]))
        if scan.get("status_reason"):
            facts.append(("Reason", _one_line(scan["status_reason"])))
    if payload.get("message"):
        facts.append(("Message", _one_line(payload["message"])))
    return Message(event, title, facts, scan.get("url"), scan.get("id"))


def email_text(message: Message) -> str:
    lines = [message.title, ""]
    lines += [f"{label}: {value}" for label, value in message.facts]
    if message.url:
        lines += ["", f"View the scan: {message.url}"]
    elif message.reference:
        lines += ["", f"Scan id: {message.reference}"]
    lines += ["", "-- ", "Sent by PolicyCortex. Change these notifications at /v1/notifications/channels."]
    return "\n".join(lines) + "\n"


def _slack_escape(value: str) -> str:
    # Slack's mrkdwn reserves these three characters; a scan name must not become a link or mention.
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(message: Message) -> dict[str, Any]:
    """An incoming-webhook body: `text` for notifications and old clients, blocks for reading."""
    emoji = SLACK_EMOJI.get(message.event, ":bell:")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{emoji} {message.title}"[:150], "emoji": True}}
    ]
    if message.facts:
        blocks.append(
            {
                "type": "section",
                # Slack shows at most ten fields per section, two per row.
                "fields": [
                    {"type": "mrkdwn", "text": f"*{label}*\n{_slack_escape(value)}"}
                    for label, value in message.facts[:10]
                ],
            }
        )
    if message.url:
        link = f"<{message.url}|View scan {message.reference}>"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": link}})
    elif message.reference:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Scan `{message.reference}`"}]})
    text_line = _slack_escape(message.summary) + (f" <{message.url}|View scan>" if message.url else "")
    return {"text": text_line, "blocks": blocks}


# --- channel types ---------------------------------------------------------------------------


class DeliveryError(Exception):
    """One attempt failed; `retryable` says whether another attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool, response_status: int | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.response_status = response_status


@dataclass(frozen=True)
class DeliveryJob:
    """Everything one attempt needs, read from the database before the network is touched."""

    delivery_id: int
    event: str
    created_at: datetime
    payload: dict
    config: dict  # the channel's config as a client sends it (an SMTP password, a Slack URL included)
    secrets: dict  # the channel's decrypted secrets
    settings: Settings
    guard: OutboundGuard

    @property
    def message(self) -> Message:
        return render_message(self.event, self.payload)


@dataclass(frozen=True)
class Sent:
    response_status: int | None
    note: str | None = None  # e.g. recipients an SMTP server refused while accepting others


class ChannelType:
    """A channel type: its config schema, which fields are secret, what it connects to, how it sends."""

    schema: ClassVar[type[Schema]]

    def split(self, config: dict, stored_secrets: dict) -> tuple[dict, dict]:
        """(what the API shows, what is encrypted) from a validated config."""
        return dict(config), {}

    def full_config(self, public: dict, stored_secrets: dict) -> dict:
        """The config as a client sends it, secrets included: what a PATCH merges into."""
        return dict(public)

    def merge(self, full: dict, patch: dict) -> dict:
        return {**full, **patch}

    def destinations(self, config: dict) -> list[tuple[str, str, int]]:
        """(field, host, port) of every address this channel will connect to, for the guard."""
        return []

    def shown_once(self, stored_secrets: dict) -> dict:
        """Secrets the creation response returns, once."""
        return {}

    def send(self, job: DeliveryJob) -> Sent:
        raise NotImplementedError


channel_types: Registry[type[ChannelType]] = Registry("notification channel type")


def _url_destination(name: str, url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return name, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def post_json(job: DeliveryJob, url: str, body: bytes, headers: Mapping[str, str]) -> Sent:
    """POST one body; 2xx is delivered, 5xx/408/429 and network errors are worth retrying."""
    host = urlsplit(url).hostname
    try:
        job.guard.check_url(url)
        with guarded_session(job.guard) as http:
            # Redirects are not followed: the guard approved this URL, not wherever it points next.
            # Streamed, so an endpoint answering with a huge body costs us only the bytes we read.
            response = http.post(
                url,
                data=body,
                headers=dict(headers),
                timeout=job.settings.notify_timeout,
                allow_redirects=False,
                stream=True,
            )
            status, snippet = response.status_code, b""
            if not 200 <= status < 300:
                # Best effort: the status decides the outcome, the body only explains it.
                with suppress(urllib3.exceptions.HTTPError, OSError):
                    snippet = response.raw.read(200, decode_content=True)
            response.close()
    except BlockedDestination as exc:
        raise DeliveryError(f"Refused: {exc}", retryable=False) from None
    except requests.Timeout:
        raise DeliveryError(f"Timed out after {job.settings.notify_timeout}s at {host}", retryable=True) from None
    except requests.RequestException as exc:
        raise DeliveryError(f"Could not connect to {host} ({type(exc).__name__})", retryable=True) from None
    if 200 <= status < 300:
        return Sent(status)
    snippet = _one_line(snippet.decode(errors="replace"))
    retryable = status >= 500 or status in (408, 425, 429)
    raise DeliveryError(
        f"HTTP {status} from {host}: {snippet}".rstrip(": "), retryable=retryable, response_status=status
    )


class SmtpSchema(Closed):
    host = fields.String(required=True, validate=validate.Length(min=1, max=253))
    port = fields.Integer(load_default=587, validate=validate.Range(min=1, max=65535))
    username = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    password = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    tls = fields.String(load_default="starttls", validate=validate.OneOf(TLS_MODES))
    from_address = fields.Email(load_default=None, allow_none=True)


class EmailConfigSchema(Closed):
    recipients = fields.List(fields.Email(), required=True, validate=validate.Length(min=1, max=50))
    smtp = fields.Nested(SmtpSchema, load_default=None, allow_none=True)


@channel_types.register("email")
class EmailChannel(ChannelType):
    """Plain-text mail through the service's SMTP server, or through the channel's own."""

    schema = EmailConfigSchema

    def split(self, config: dict, stored_secrets: dict) -> tuple[dict, dict]:
        smtp = config.get("smtp")
        if not smtp:
            return {"recipients": config["recipients"], "smtp": None}, {}
        public = {key: value for key, value in smtp.items() if key != "password"}
        public["password_set"] = bool(smtp.get("password"))
        secret = {"smtp_password": smtp["password"]} if smtp.get("password") else {}
        return {"recipients": config["recipients"], "smtp": public}, secret

    def full_config(self, public: dict, stored_secrets: dict) -> dict:
        smtp = public.get("smtp")
        if smtp:
            smtp = {key: value for key, value in smtp.items() if key != "password_set"}
            smtp["password"] = stored_secrets.get("smtp_password")
        return {"recipients": public["recipients"], "smtp": smtp}

    def merge(self, full: dict, patch: dict) -> dict:
        merged = {**full, **patch}
        old, new = full.get("smtp"), patch.get("smtp")
        if isinstance(new, dict) and old and "password" not in new:
            merged["smtp"] = {**new, "password": old.get("password")}  # an unsent secret is kept
        return merged

    def destinations(self, config: dict) -> list[tuple[str, str, int]]:
        # The service's own SMTP server is the operator's choice; a tenant's override is checked.
        smtp = config.get("smtp")
        return [("config.smtp.host", smtp["host"], smtp["port"])] if smtp else []

    def send(self, job: DeliveryJob) -> Sent:
        settings, message, smtp = job.settings, job.message, job.config.get("smtp")
        if smtp:
            host, port, tls = smtp["host"], smtp["port"], smtp["tls"]
            username, password = smtp.get("username"), smtp.get("password")
            sender = smtp.get("from_address") or settings.smtp_from
        elif settings.smtp_host:
            host, port, tls = settings.smtp_host, settings.smtp_port, settings.smtp_tls
            username, password, sender = settings.smtp_username, settings.smtp_password, settings.smtp_from
        else:
            raise DeliveryError(f"No SMTP server is configured ({PREFIX}SMTP_HOST)", retryable=False)
        mail = EmailMessage()
        mail["Subject"] = f"[PolicyCortex] {message.title}"
        mail["From"] = sender
        mail["To"] = ", ".join(job.config["recipients"])
        mail["Message-ID"] = make_msgid(domain="policycortex")
        mail["X-PolicyCortex-Event"] = job.event
        mail["X-PolicyCortex-Delivery"] = str(job.delivery_id)
        mail.set_content(email_text(message))
        try:
            if smtp:
                job.guard.check_host(host, port)
            return self._converse(job, mail, host, port, tls, username, password, checked=bool(smtp))
        except BlockedDestination as exc:
            raise DeliveryError(f"Refused: {exc}", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(sorted(exc.recipients))
            raise DeliveryError(f"The SMTP server refused every recipient: {refused}", retryable=False) from None
        except smtplib.SMTPResponseException as exc:
            reply = _one_line(
                exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            )[:200]
            # 4xx replies are temporary by definition (RFC 5321); 5xx ones will not change.
            raise DeliveryError(f"SMTP {exc.smtp_code} from {host}: {reply}", retryable=exc.smtp_code < 500) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(f"{host} does not support STARTTLS or AUTH as configured", retryable=False) from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise DeliveryError(
                f"Could not deliver through {host}:{port} ({type(exc).__name__})", retryable=True
            ) from None

    @staticmethod
    def _converse(
        job: DeliveryJob,
        mail: EmailMessage,
        host: str,
        port: int,
        tls: str,
        username: str | None,
        password: str | None,
        *,
        checked: bool,
    ) -> Sent:
        timeout = job.settings.notify_timeout
        context = ssl.create_default_context()
        if tls == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if checked:
                job.guard.check_peer(host, client.sock)
            if tls == "starttls":
                client.starttls(context=context)
            if username:
                client.login(username, password or "")
            refused = client.send_message(mail)
            # The message is accepted now; a failing QUIT must not make it look undelivered.
            with suppress(smtplib.SMTPException, OSError):
                client.quit()
        finally:
            client.close()
        note = f"Refused recipients: {', '.join(sorted(refused))}" if refused else None
        return Sent(250, note)


class SlackConfigSchema(Closed):
    webhook_url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)


def redact_url(url: str) -> str:
    """The URL without its last path segment (where Slack puts the token), query or credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    head = parts.path.rstrip("/").rpartition("/")[0]
    return f"{parts.scheme}://{netloc}{head}/********"


@channel_types.register("slack")
class SlackChannel(ChannelType):
    """A Slack incoming webhook. Its URL is the credential, so only a redacted form is shown."""

    schema = SlackConfigSchema

    def split(self, config: dict, stored_secrets: dict) -> tuple[dict, dict]:
        return {"webhook_url": redact_url(config["webhook_url"])}, {"webhook_url": config["webhook_url"]}

    def full_config(self, public: dict, stored_secrets: dict) -> dict:
        return {"webhook_url": stored_secrets.get("webhook_url")}

    def destinations(self, config: dict) -> list[tuple[str, str, int]]:
        return [_url_destination("config.webhook_url", config["webhook_url"])]

    def send(self, job: DeliveryJob) -> Sent:
        body = json.dumps(slack_body(job.message)).encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        return post_json(job, job.config["webhook_url"], body, headers)


class WebhookConfigSchema(Closed):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)


def webhook_body(job: DeliveryJob) -> bytes:
    document = {"id": job.delivery_id, "event": job.event, "created_at": iso(job.created_at), "data": job.payload}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


@channel_types.register("webhook")
class WebhookChannel(ChannelType):
    """A JSON POST signed with the channel's secret (HMAC-SHA256 over "<timestamp>.<body>")."""

    schema = WebhookConfigSchema

    def split(self, config: dict, stored_secrets: dict) -> tuple[dict, dict]:
        secret = stored_secrets.get("secret") or new_webhook_secret()
        return {"url": config["url"], "signature": "hmac-sha256"}, {"secret": secret}

    def full_config(self, public: dict, stored_secrets: dict) -> dict:
        return {"url": public["url"]}

    def destinations(self, config: dict) -> list[tuple[str, str, int]]:
        return [_url_destination("config.url", config["url"])]

    def shown_once(self, stored_secrets: dict) -> dict:
        return {"secret": stored_secrets["secret"]}

    def send(self, job: DeliveryJob) -> Sent:
        body = webhook_body(job)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-PolicyCortex-Event": job.event,
            # Receivers de-duplicate on this id: delivery is at least once.
            "X-PolicyCortex-Delivery": str(job.delivery_id),
            # Signed per attempt, so a retry hours later still passes the receiver's replay window.
            SIGNATURE_HEADER: sign(job.secrets["secret"], body, int(time.time())),
        }
        return post_json(job, job.config["url"], body, headers)


def channel_type(name: str) -> ChannelType:
    return channel_types.get(name)()


# --- channels: requests, rendering, CRUD -----------------------------------------------------


def _non_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def _load_config(kind: str, config: dict) -> dict:
    try:
        return channel_type(kind).schema().load(config)
    except ValidationError as exc:
        raise ValidationError(exc.messages, "config") from None


class ChannelRequestSchema(Closed):
    type = fields.String(required=True, validate=validate.OneOf(channel_types.names()))
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), _non_blank])
    enabled = fields.Boolean(load_default=True)
    config = fields.Dict(keys=fields.String(), required=True)

    @post_load
    def _config(self, data: dict, **kwargs: Any) -> dict:
        return {**data, "config": _load_config(data["type"], data["config"])}


class ChannelPatchSchema(Closed):
    """A PATCH changes what it names; config keys replace the stored ones, unsent secrets are kept."""

    name = fields.String(validate=[validate.Length(min=1, max=200), _non_blank])
    enabled = fields.Boolean()
    config = fields.Dict(keys=fields.String())


class ChannelListQuerySchema(Closed):
    type = fields.String(validate=validate.OneOf(channel_types.names()))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class DeliveryListQuerySchema(Closed):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    channel_id = fields.String(validate=validate.Length(min=1, max=32))
    scan_id = fields.String(validate=validate.Length(min=1, max=32))
    schedule_id = fields.String(validate=validate.Length(min=1, max=32))
    event = fields.String(validate=validate.OneOf(EVENTS))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


def render_channel(channel: NotificationChannel, *, shown_once: dict | None = None) -> dict[str, Any]:
    body = {
        "id": channel.id,
        "type": channel.type,
        "name": channel.name,
        "enabled": channel.enabled,
        "config": channel.config,
        "created_at": iso(channel.created_at),
        "updated_at": iso(channel.updated_at),
    }
    body.update(shown_once or {})
    return body


def _check_destinations(svc: Services, kind: ChannelType, config: dict) -> None:
    guard = svc.settings.outbound_guard
    details = []
    for name, host, port in kind.destinations(config):
        try:
            guard.check_host(host, port)
        except BlockedDestination as exc:
            details.append({"field": name, "message": f"{exc}; allow-list it in {PREFIX}OUTBOUND_ALLOWLIST"})
    if details:
        raise InvalidRequest("The channel's destination is not allowed", details=details)


def create_channel(svc: Services, tenant_id: str, data: dict) -> tuple[NotificationChannel, dict]:
    """Store a validated channel; returns it and the secrets shown this once (a webhook's secret)."""
    kind = channel_type(data["type"])
    _check_destinations(svc, kind, data["config"])
    public, stored_secrets = kind.split(data["config"], {})
    now = utcnow()
    channel = NotificationChannel(
        tenant_id=tenant_id,
        type=data["type"],
        name=data["name"],
        enabled=data["enabled"],
        config=public,
        secrets_encrypted=svc.vault.encrypt(stored_secrets) if stored_secrets else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with svc.db.session() as session:
            session.add(channel)
    except IntegrityError:
        raise Conflict(f"A notification channel named '{data['name']}' already exists") from None
    return channel, kind.shown_once(stored_secrets)


def get_channel(session: Session, tenant_id: str, channel_id: str, *, lock: bool = False) -> NotificationChannel:
    query = select(NotificationChannel).where(
        NotificationChannel.id == channel_id,
        NotificationChannel.tenant_id == tenant_id,
        NotificationChannel.deleted_at.is_(None),
    )
    channel = session.scalar(query.with_for_update() if lock else query)
    if channel is None:
        raise NotFound(f"Notification channel {channel_id} does not exist")
    return channel


def list_channels(session: Session, tenant_id: str, query: dict) -> tuple[list[NotificationChannel], int]:
    conditions = [NotificationChannel.tenant_id == tenant_id, NotificationChannel.deleted_at.is_(None)]
    if query.get("type"):
        conditions.append(NotificationChannel.type == query["type"])
    total = session.scalar(select(func.count()).select_from(NotificationChannel).where(*conditions))
    rows = session.scalars(
        select(NotificationChannel)
        .where(*conditions)
        .order_by(NotificationChannel.created_at, NotificationChannel.id)
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return list(rows), total


def update_channel(svc: Services, tenant_id: str, channel_id: str, data: dict) -> NotificationChannel:
    try:
        with svc.db.session() as session:
            channel = get_channel(session, tenant_id, channel_id, lock=True)
            if "config" in data:
                kind = channel_type(channel.type)
                stored_secrets = svc.vault.decrypt(channel.secrets_encrypted)
                merged = kind.merge(kind.full_config(channel.config, stored_secrets), data["config"])
                config = _load_config(channel.type, merged)
                _check_destinations(svc, kind, config)
                public, stored_secrets = kind.split(config, stored_secrets)
                channel.config = public
                channel.secrets_encrypted = svc.vault.encrypt(stored_secrets) if stored_secrets else None
            if "name" in data:
                channel.name = data["name"]
            if "enabled" in data:
                channel.enabled = data["enabled"]
            channel.updated_at = utcnow()
            session.flush()
    except ValidationError as exc:
        raise InvalidRequest(details=error_details(exc.normalized_messages())) from None
    except IntegrityError:
        raise Conflict(f"A notification channel named '{data.get('name')}' already exists") from None
    return channel


def delete_channel(svc: Services, tenant_id: str, channel_id: str) -> None:
    """Soft delete: past deliveries keep naming the channel; its secrets are destroyed now."""
    with svc.db.session() as session:
        channel = get_channel(session, tenant_id, channel_id, lock=True)
        channel.deleted_at = utcnow()
        channel.enabled = False
        channel.secrets_encrypted = None


# --- deliveries ------------------------------------------------------------------------------


def render_delivery(delivery: NotificationDelivery, channel_type_name: str) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "channel_id": delivery.channel_id,
        "channel_type": channel_type_name,
        "event": delivery.event,
        "scan_id": delivery.scan_id,
        "schedule_id": delivery.schedule_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "response_status": delivery.response_status,
        "created_at": iso(delivery.created_at),
        "delivered_at": iso(delivery.delivered_at),
        "next_attempt_at": iso(delivery.next_attempt_at),
        "payload": delivery.payload,
    }


def list_deliveries(
    session: Session, tenant_id: str, query: dict
) -> tuple[list[tuple[NotificationDelivery, str]], int]:
    """Newest first, with each delivery's channel type."""
    conditions = [NotificationDelivery.tenant_id == tenant_id]
    for name in ("status", "channel_id", "scan_id", "schedule_id", "event"):
        if query.get(name):
            conditions.append(getattr(NotificationDelivery, name) == query[name])
    total = session.scalar(select(func.count()).select_from(NotificationDelivery).where(*conditions))
    rows = session.execute(
        select(NotificationDelivery, NotificationChannel.type)
        .join(NotificationChannel, NotificationChannel.id == NotificationDelivery.channel_id)
        .where(*conditions)
        .order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id.desc())
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return [(delivery, kind) for delivery, kind in rows], total


def get_delivery(session: Session, tenant_id: str, delivery_id: int) -> tuple[NotificationDelivery, str]:
    row = session.execute(
        select(NotificationDelivery, NotificationChannel.type)
        .join(NotificationChannel, NotificationChannel.id == NotificationDelivery.channel_id)
        .where(NotificationDelivery.id == delivery_id, NotificationDelivery.tenant_id == tenant_id)
    ).first()
    if row is None:
        raise NotFound(f"Delivery {delivery_id} does not exist")
    return row[0], row[1]


def notify(
    svc: Services,
    *,
    tenant_id: str,
    event: str,
    scan_id: str | None = None,
    schedule_id: str | None = None,
    channel_types: Iterable[str] = ("email", "slack", "webhook"),
    payload: Mapping[str, Any],
) -> list[int]:
    """Notify every enabled channel of the tenant whose type is in `channel_types`: one delivery
    row each, committed, then one `notification-deliver` task each. A scan event reaches a channel
    once however often this is called (finalize and schedules may both ask). Returns the new
    delivery ids. Schedules call it for drift alerts with `payload={"scan": scan_summary(...),
    "drift": {"reason": "..."}}`."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}; known: {', '.join(EVENTS)}")
    wanted = sorted(set(channel_types))
    if not wanted:
        return []
    with svc.db.session() as session:
        channel_ids = session.scalars(
            select(NotificationChannel.id).where(
                NotificationChannel.tenant_id == tenant_id,
                NotificationChannel.type.in_(wanted),
                NotificationChannel.enabled.is_(True),
                NotificationChannel.deleted_at.is_(None),
            )
        ).all()
        if not channel_ids:
            return []
        now = utcnow()
        rows = [
            {
                "tenant_id": tenant_id,
                "channel_id": channel_id,
                "event": event,
                "scan_id": scan_id,
                "schedule_id": schedule_id,
                "status": "pending",
                "attempts": 0,
                "payload": dict(payload),
                "created_at": now,
                "next_attempt_at": now,
            }
            for channel_id in channel_ids
        ]
        statement = insert(NotificationDelivery).values(rows)
        if scan_id is not None:
            statement = statement.on_conflict_do_nothing(
                index_elements=["channel_id", "event", "scan_id"], index_where=text("scan_id IS NOT NULL")
            )
        delivery_ids = list(session.scalars(statement.returning(NotificationDelivery.id)))
    for delivery_id in delivery_ids:  # after the commit: the worker must find the rows
        svc.enqueue("notification-deliver", delivery_id)
    return delivery_ids


def notify_scan_finished(svc: Services, scan_id: str) -> list[int]:
    """What finalize calls: notify as the scan's `notifications` ask (`on_completion` for any
    ended scan, `on_failure` for failed and timed-out ones) on the channel types it lists."""
    with svc.db.session() as session:
        scan = session.get(Scan, scan_id)
        if scan is None or scan.status not in TERMINAL_STATUSES:
            return []
        wishes = scan.notifications or {}
        wanted = wishes.get("on_completion") or (wishes.get("on_failure") and scan.status in FAILURE_STATUSES)
        if not wanted or not wishes.get("channels"):
            return []
        payload = {"scan": scan_summary(scan, svc.settings.public_url)}
        tenant_id, schedule_id, status = scan.tenant_id, scan.schedule_id, scan.status
    return notify(
        svc,
        tenant_id=tenant_id,
        event=f"scan.{status}",
        scan_id=scan_id,
        schedule_id=schedule_id,
        channel_types=wishes["channels"],
        payload=payload,
    )


def requeue_overdue(svc: Services, *, overdue: timedelta = timedelta(minutes=15), limit: int = 1000) -> list[int]:
    """For housekeeping: enqueue again the pending deliveries whose attempt is long overdue, i.e.
    whose task was lost (the broker was down at enqueue, a queue was purged). A task that is only
    late makes one extra attempt, which the row counts like any other."""
    with svc.db.session() as session:
        delivery_ids = list(
            session.scalars(
                select(NotificationDelivery.id)
                .where(
                    NotificationDelivery.status == "pending",
                    NotificationDelivery.next_attempt_at < utcnow() - overdue,
                )
                .order_by(NotificationDelivery.id)
                .limit(limit)
            )
        )
    for delivery_id in delivery_ids:
        svc.enqueue("notification-deliver", delivery_id)
    return delivery_ids


def retry_delay(attempt: int, base: int) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): base, 2 x base, 4 x base, ...
    capped at 15 minutes, plus up to 25% jitter so a burst of failures does not retry in lockstep."""
    delay = min(base * 2 ** (attempt - 1), RETRY_CAP_SECONDS)
    return delay * (1 + random.random() / 4)


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: int
    status: str
    attempts: int
    retry_in: float | None = None  # seconds until the next attempt is due, when one is


def deliver(svc: Services, delivery_id: int, *, allow_retry: bool = True) -> DeliveryOutcome:
    """Make one attempt at a pending delivery and record its outcome. The row counts attempts, so
    a redelivered task or a crashed worker uses up attempts too and the cap holds."""
    settings = svc.settings
    with svc.db.session() as session:
        delivery = session.get(NotificationDelivery, delivery_id, with_for_update=True)
        if delivery is None:
            return DeliveryOutcome(delivery_id, "missing", 0)
        if delivery.status != "pending":
            return DeliveryOutcome(delivery_id, delivery.status, delivery.attempts)
        channel = session.get(NotificationChannel, delivery.channel_id)
        delivery.attempts += 1
        attempt = delivery.attempts
        problem, stored_secrets = None, {}
        if channel.deleted_at is not None:
            problem = "The channel was deleted"
        elif not channel.enabled and delivery.event != TEST_EVENT:
            problem = "The channel is disabled"
        else:
            try:
                stored_secrets = svc.vault.decrypt(channel.secrets_encrypted)
            except CredentialsError:
                problem = f"The channel's secrets cannot be decrypted with {PREFIX}SECRET_KEYS"
        if problem:
            delivery.status, delivery.last_error, delivery.next_attempt_at = "failed", problem, None
            metrics.delivery_finished(channel.type, "failed")
            return DeliveryOutcome(delivery_id, "failed", attempt)
        kind = channel_type(channel.type)
        job = DeliveryJob(
            delivery_id=delivery.id,
            event=delivery.event,
            created_at=delivery.created_at,
            payload=delivery.payload,
            config=kind.full_config(channel.config, stored_secrets),
            secrets=stored_secrets,
            settings=settings,
            guard=settings.outbound_guard,
        )
    # The network is touched outside the transaction: a slow endpoint must hold no lock or connection.
    error: DeliveryError | None = None
    sent = Sent(None)
    try:
        sent = kind.send(job)
    except DeliveryError as exc:
        error = exc
    except Exception as exc:  # a bug must still end on the row, within the attempt cap, not loop forever
        log.exception("notification delivery %s crashed", delivery_id)
        error = DeliveryError(f"Internal error ({type(exc).__name__})", retryable=True)
    retry_in = None
    with svc.db.session() as session:
        delivery = session.get(NotificationDelivery, delivery_id, with_for_update=True)
        now = utcnow()
        if error is None:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
            delivery.response_status = sent.response_status
            if sent.note:
                delivery.last_error = sent.note
        else:
            log.info("notification delivery %s attempt %s failed: %s", delivery_id, attempt, error.message)
            delivery.last_error, delivery.response_status = error.message, error.response_status
            if allow_retry and error.retryable and attempt < settings.notify_max_attempts:
                retry_in = retry_delay(attempt, settings.notify_retry_base)
                delivery.next_attempt_at = now + timedelta(seconds=retry_in)
            else:
                delivery.status, delivery.next_attempt_at = "failed", None
        status = delivery.status
    metrics.delivery_finished(channel.type, status if retry_in is None else "retrying")
    return DeliveryOutcome(delivery_id, status, attempt, retry_in)


def send_test(svc: Services, tenant_id: str, channel_id: str) -> tuple[NotificationDelivery, str]:
    """Send a test message to one channel now (disabled ones too) and return its delivery."""
    with svc.db.session() as session:
        channel = get_channel(session, tenant_id, channel_id)
        now = utcnow()
        delivery = NotificationDelivery(
            tenant_id=tenant_id,
            channel_id=channel.id,
            event=TEST_EVENT,
            status="pending",
            attempts=0,
            payload={"message": f"PolicyCortex can reach the channel '{channel.name}'."},
            created_at=now,
            next_attempt_at=now,
        )
        session.add(delivery)
        session.flush()
        delivery_id = delivery.id
    # One attempt, no retries: the caller is waiting for the answer.
    deliver(svc, delivery_id, allow_retry=False)
    with svc.db.session() as session:
        return get_delivery(session, tenant_id, delivery_id)
