"""Event-driven scans: cloud change events (debounced into one resource_specific scan per schedule
per window), signed inbound webhooks, policy updates and compliance drift. Every trigger fires its
schedule through `shared.schedules.fire`, the same path as cron."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from shared.accounts.models import CloudAccount
from shared.inventory.collectors.providers import resource_types
from shared.platform import jsonin
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.errors import DomainError, InvalidRequest
from shared.platform.patterns import compile_globs
from shared.scans.models import Scan
from shared.schedules.models import Schedule
from shared.schedules.service import fire, webhook_secret

log = logging.getLogger(__name__)
REPLAY_WINDOW_SECONDS = 300
DEBOUNCE_TASK = "schedule-debounced-fire"
EVENT_GRID_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"


class WebhookRejected(DomainError):
    error, error_code, status = "invalid_signature", "AUTH_003", 401
    description = "The webhook signature, timestamp or schedule is not valid"


@dataclass(frozen=True)
class Change:
    """One changed resource, whatever the event format it came in."""

    provider: str
    resource_uid: str
    resource_type: str | None
    native_account: str | None  # AWS account number, Azure subscription id, GCP project


@functools.cache
def _arn_pattern(template: str) -> re.Pattern:
    """An ARN template such as `arn:aws:ec2:{region}:{account}:security-group/{GroupId}` as a regex:
    a placeholder matches one ARN field, a trailing one the rest of the ARN."""
    pieces = re.split(r"(\{[^}]+\})", template)
    regex = ""
    for index, piece in enumerate(pieces):
        if piece.startswith("{"):
            trailing = index == len(pieces) - 2 and pieces[-1] == ""
            regex += ".+" if trailing else "[^:]*"
        else:
            regex += re.escape(piece)
    return re.compile(regex)


def _aws_type(arn: str) -> str | None:
    """Our type for an ARN: templates of the ARN's service that match it; when several do (types
    whose uid is the item's own `Arn`), the one named like the ARN's resource (`user/...`)."""
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    resource = arn.split(":", 5)[-1].split("/", 1)[0].lower()
    candidates = [
        name
        for name, spec in resource_types.items()
        if spec.provider == "aws"
        and getattr(spec, "service", None) == service
        and _arn_pattern(spec.arn).fullmatch(arn)
    ]
    named = [name for name in candidates if name.rsplit(".", 1)[-1].replace("-", "") == resource.replace("-", "")]
    return (named or candidates or [None])[0]


MAX_EVENTS = 1000  # events in one request, and resources named by one event
MAX_ID = 2048  # characters in an ARN, an Azure resource id or a GCP asset name


def _typed(container: dict, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """container[key] when it is of the expected JSON type, None when absent; else a 400 naming it."""
    value = container.get(key)
    if value is None or isinstance(value, kind):
        return value
    names = {dict: "an object", list: "a list", str: "a string"}
    expected = names.get(kind, "a string") if isinstance(kind, type) else " or ".join(names[k] for k in kind)
    raise InvalidRequest(details=[{"field": f"{where}{key}", "message": f"Must be {expected}"}])


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID:
        raise InvalidRequest(details=[{"field": where, "message": f"Must be a string of 1 to {MAX_ID} characters"}])
    return value


def _aws_changes(event: dict) -> list[Change]:
    resources = _typed(event, "resources", list, "") or []
    if len(resources) > MAX_EVENTS:
        raise InvalidRequest(details=[{"field": "resources", "message": f"At most {MAX_EVENTS} resources"}])
    # EventBridge names resources as ARN strings, CloudTrail records as {"ARN": ..., "type": ...}.
    arns = [
        _identifier(item.get("ARN") if isinstance(item, dict) else item, f"resources[{index}]")
        for index, item in enumerate(resources)
    ]
    detail = _typed(event, "detail", dict, "") or {}
    params = _typed(detail, "requestParameters", dict, "detail.") or {}
    region = _typed(event, "region", str, "") or _typed(detail, "awsRegion", str, "detail.")
    account = _typed(event, "account", str, "") or _typed(detail, "recipientAccountId", str, "detail.")
    # CloudTrail API calls name resources in their parameters rather than in `resources`.
    bucket = _typed(params, "bucketName", str, "detail.requestParameters.")
    group = _typed(params, "groupId", str, "detail.requestParameters.")
    if bucket:
        arns.append(f"arn:aws:s3:::{_identifier(bucket, 'detail.requestParameters.bucketName')}")
    if group:
        group = _identifier(group, "detail.requestParameters.groupId")
        arns.append(f"arn:aws:ec2:{region}:{account}:security-group/{group}")
    return [Change("aws", arn, _aws_type(arn), account) for arn in dict.fromkeys(arns)]


def _azure_type(resource_id: str) -> str | None:
    parts = resource_id.split("/")
    try:
        index = [p.lower() for p in parts].index("providers")
    except ValueError:
        return None
    segments = parts[index + 1 :]
    native = "/".join([segments[0]] + segments[1::2]).lower() if segments else ""
    for name, spec in resource_types.items():
        if spec.provider == "azure" and getattr(spec, "native_type", None) == native:
            return name
    return None


def _azure_changes(events: list) -> list[Change]:
    changes = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise InvalidRequest(details=[{"field": f"[{index}]", "message": "Must be an Event Grid event object"}])
        data = _typed(event, "data", dict, f"[{index}].") or {}
        uri = _typed(data, "resourceUri", str, f"[{index}].data.") or _typed(event, "subject", str, f"[{index}].")
        if uri:
            uri = _identifier(uri, f"[{index}].subject")
            subscription = uri.split("/")[2] if uri.lower().startswith("/subscriptions/") else None
            changes.append(Change("azure", uri, _azure_type(uri), subscription))
    return changes


def _gcp_changes(message: dict) -> list[Change]:
    data = jsonin.loads(base64.b64decode(_typed(message, "data", str, "message.") or "", validate=True) or b"{}")
    if not isinstance(data, dict):
        raise ValueError("not an object")
    asset = _typed(data, "asset", dict, "message.data.") or _typed(data, "priorAsset", dict, "message.data.") or {}
    name = _typed(asset, "name", str, "message.data.asset.")
    asset_type = _typed(asset, "assetType", str, "message.data.asset.")
    if not name:
        return []
    name = _identifier(name, "message.data.asset.name")
    canonical = next(
        (
            n
            for n, s in resource_types.items()
            if s.provider == "gcp"
            and getattr(s, "asset_type", None) == asset_type
            and getattr(s, "content_type", "RESOURCE") == "RESOURCE"
        ),
        None,
    )
    ancestors = _typed(asset, "ancestors", list, "message.data.asset.") or []
    project = next(
        (a.split("/", 1)[1] for a in ancestors if isinstance(a, str) and a.startswith("projects/")), None
    )
    return [Change("gcp", name, canonical, project)]


def event_grid_validation(body: Any) -> str | None:
    """The validation code of Event Grid's subscription handshake, when the body is one."""
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    data = first.get("data")
    if first.get("eventType") == EVENT_GRID_VALIDATION and isinstance(data, dict):
        code = data.get("validationCode")
        if isinstance(code, str) and 0 < len(code) <= 200:
            return code
        raise InvalidRequest(details=[{"field": "[0].data.validationCode", "message": "Must be a string"}])
    return None


def parse_events(body: Any) -> list[Change]:
    """AWS EventBridge/CloudTrail events, Azure Event Grid batches, GCP Cloud Asset feed messages
    (Pub/Sub push), one event or a list."""
    if isinstance(body, list):
        if len(body) > MAX_EVENTS:
            raise InvalidRequest(details=[{"field": "body", "message": f"At most {MAX_EVENTS} events per request"}])
        if body and all(isinstance(e, dict) and "eventType" in e for e in body):
            return _azure_changes(body)
        if any(isinstance(item, list) for item in body):
            raise InvalidRequest(details=[{"field": "body", "message": "A list of events holds event objects"}])
        return [change for item in body for change in parse_events(item)]
    if not isinstance(body, dict):
        raise InvalidRequest(details=[{"field": "body", "message": "Expected an event object or a list of events"}])
    if "detail-type" in body or str(body.get("source", "")).startswith("aws."):
        return _aws_changes(body)
    if "eventType" in body:
        return _azure_changes([body])
    if isinstance(body.get("message"), dict) and "data" in body["message"]:
        try:
            return _gcp_changes(body["message"])
        except (ValueError, TypeError):  # JsonInputError included: a bad document inside is named as a whole
            raise InvalidRequest(details=[{"field": "message.data", "message": "Not base64 JSON"}]) from None
    raise InvalidRequest(details=[{"field": "body", "message": "Not an EventBridge, Event Grid or Cloud Asset event"}])


def _matches(rule: dict, change: Change, account_ids: set[str]) -> bool:
    if rule.get("providers") and change.provider not in rule["providers"]:
        return False
    if rule.get("account_ids") and not (account_ids & set(rule["account_ids"])):
        return False
    if rule.get("resource_types") and change.resource_type not in rule["resource_types"]:
        return False
    return not rule.get("resource_ids") or compile_globs(rule["resource_ids"]).match(change.resource_uid) is not None


def accept_events(svc: Services, tenant_id: str, body: Any, account_id: str | None = None) -> dict[str, Any]:
    """Match changes to the tenant's schedules that subscribe to resource changes, and debounce
    them: the first change of a window schedules one fire at its end, later ones join it."""
    changes = parse_events(body)
    with svc.db.session() as session:
        accounts = session.scalars(
            select(CloudAccount).where(CloudAccount.tenant_id == tenant_id, CloudAccount.deleted_at.is_(None))
        ).all()
        if account_id and account_id not in {a.id for a in accounts}:
            raise InvalidRequest(details=[{"field": "account_id", "message": f"Unknown account {account_id}"}])
        schedules = session.scalars(
            select(Schedule).where(Schedule.tenant_id == tenant_id, Schedule.enabled.is_(True))
        ).all()
    matched: dict[str, list[str]] = {}
    for schedule in schedules:
        rule = (schedule.triggers or {}).get("resource_changes")
        if not rule or not rule.get("enabled", True):
            continue
        environment = schedule.scan_config["environment"]
        for change in changes:
            candidates = {a.id for a in accounts if a.provider == change.provider and a.environment == environment}
            if account_id:
                candidates &= {account_id}
            if candidates and _matches(rule, change, candidates):
                matched.setdefault(schedule.id, []).append(change.resource_uid)
    for schedule_id, uids in matched.items():
        rule = next(s for s in schedules if s.id == schedule_id).triggers["resource_changes"]
        _debounce(svc, schedule_id, uids, int(rule.get("debounce_seconds", 60)))
    return {
        "received": len(changes),
        "matched_schedules": sorted(matched),
        "changes": [
            {"provider": c.provider, "resource_uid": c.resource_uid, "resource_type": c.resource_type} for c in changes
        ],
    }


def _debounce(svc: Services, schedule_id: str, uids: list[str], window: int) -> None:
    pending, opened = f"pc:debounce:{schedule_id}:resources", f"pc:debounce:{schedule_id}:window"
    pipe = svc.redis.pipeline()
    pipe.sadd(pending, *uids)
    pipe.expire(pending, window + 3600)
    pipe.set(opened, str(time.time()), nx=True, ex=window + 60)
    first = pipe.execute()[2]
    if first:
        # The countdown IS the debounce window; the fire is idempotent, so a redelivery is harmless.
        svc.celery.send_task(DEBOUNCE_TASK, args=[schedule_id], countdown=window)


def fire_debounced(svc: Services, schedule_id: str) -> str | None:
    """End of a debounce window: one resource_specific scan of everything that changed in it."""
    pending, opened = f"pc:debounce:{schedule_id}:resources", f"pc:debounce:{schedule_id}:window"
    pipe = svc.redis.pipeline()
    pipe.get(opened)
    pipe.smembers(pending)
    pipe.delete(pending, opened)
    started, members, _ = pipe.execute()
    if not members or started is None:
        return None
    fire_time = datetime.fromtimestamp(float(started), tz=UTC)
    uids = sorted(m.decode() if isinstance(m, bytes) else m for m in members)
    run = fire(svc, schedule_id, fire_time, "resource_change", {"resources": uids})
    return run.scan_id if run else None


def verify_webhook(
    svc: Services,
    schedule_id: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float | None = None,
) -> None:
    """HMAC-SHA256 over "<timestamp>.<body>" with the schedule's secret, a timestamp inside the
    replay window, and each signature accepted once."""
    now = time.time() if now is None else now
    with svc.db.session() as session:
        schedule = session.get(Schedule, schedule_id)
    # A Unix time in seconds has at most 12 digits for millennia; a longer one is not a timestamp.
    if schedule is None or not timestamp or not signature or not (timestamp.isascii() and timestamp.isdigit()):
        raise WebhookRejected()
    if len(timestamp) > 12:
        raise WebhookRejected("The webhook timestamp is not a Unix time in seconds")
    if abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        raise WebhookRejected("The webhook timestamp is outside the replay window")
    expected = hmac.new(
        webhook_secret(svc, schedule).encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(f"sha256={expected}", signature):
        raise WebhookRejected()
    if not svc.redis.set(f"pc:webhook-seen:{schedule_id}:{expected}", "1", nx=True, ex=2 * REPLAY_WINDOW_SECONDS):
        raise WebhookRejected("This webhook delivery was already accepted")


def sign_webhook(secret: str, body: bytes, timestamp: int) -> str:
    """What a sender puts in X-PolicyCortex-Signature (documented for callers, used by tests)."""
    return "sha256=" + hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def webhook_fire(svc: Services, schedule_id: str, body: bytes, timestamp: str | None, signature: str | None):
    verify_webhook(svc, schedule_id, body, timestamp, signature)
    return fire(svc, schedule_id, utcnow(), "webhook")


def policy_updated(svc: Services, tenant_id: str, policy_id: str, changed_at: datetime) -> list[str]:
    """A custom policy was created or changed at `changed_at`: run it for the schedules that
    subscribe, once per change (the change's moment is the runs' fire time)."""
    with svc.db.session() as session:
        ids = [
            s.id
            for s in session.scalars(
                select(Schedule).where(Schedule.tenant_id == tenant_id, Schedule.enabled.is_(True))
            )
            if (s.triggers or {}).get("policy_updates", {}).get("enabled")
        ]
    runs = [fire(svc, schedule_id, changed_at, "policy_update", {"policies": [policy_id]}) for schedule_id in ids]
    return [run.scan_id for run in runs if run and run.scan_id]


def drift_reason(rule: dict, score: float | None, previous: float | None) -> str | None:
    """Why a score breaks a drift rule, or None when it does not."""
    if score is None:
        return None
    if rule.get("min_score") is not None and score < rule["min_score"]:
        return f"compliance score {score} is below the threshold {rule['min_score']}"
    if rule.get("max_drop") is not None and previous is not None and previous - score >= rule["max_drop"]:
        return f"compliance score dropped {round(previous - score, 1)} points ({previous} -> {score})"
    return None


def evaluate_drift(svc: Services, scan_id: str) -> list[dict]:
    """After a scan completes: schedules of the same estate (tenant, environment, a shared
    provider) whose drift rule it breaks fire their scan and/or alert. Drift scans do not
    themselves trigger drift, so a low score cannot loop."""
    with svc.db.session() as session:
        scan = session.get(Scan, scan_id)
        if scan is None or scan.status != "completed" or scan.trigger == "compliance_drift":
            return []
        schedules = [
            s
            for s in session.scalars(
                select(Schedule).where(Schedule.tenant_id == scan.tenant_id, Schedule.enabled.is_(True))
            )
            if (s.triggers or {}).get("compliance_drift", {}).get("enabled")
            and s.scan_config["environment"] == scan.environment
            and set(s.scan_config["cloud_providers"]) & set(scan.cloud_providers)
        ]
        score, previous = scan.compliance_score, (scan.results or {}).get("previous_score")
        completed_at = scan.completed_at
    actions = []
    for schedule in schedules:
        rule = schedule.triggers["compliance_drift"]
        reason = drift_reason(rule, score, previous)
        if reason is None:
            continue
        action = {"schedule_id": schedule.id, "reason": reason}
        if rule.get("action", "scan_and_notify") in ("scan", "scan_and_notify"):
            # Fired at the scan's completion: evaluating the same scan again fires nothing more.
            run = fire(svc, schedule.id, completed_at, "compliance_drift", {"reason": reason, "scan_id": scan_id})
            action["scan_id"] = run.scan_id if run else None
        if rule.get("action", "scan_and_notify") in ("notify", "scan_and_notify"):
            action["notified"] = _drift_alert(svc, schedule, scan_id, reason)
        actions.append(action)
    return actions


def _drift_alert(svc: Services, schedule: Schedule, scan_id: str, reason: str) -> int:
    from shared.notifications.delivery import notify
    from shared.scans.notify import scan_summary

    channels = (schedule.notifications or {}).get("channels") or []
    if not channels:
        return 0
    with svc.db.session() as session:
        scan = session.get(Scan, scan_id)
        summary = scan_summary(scan, svc.settings.public_url)
    return len(
        notify(
            svc,
            tenant_id=schedule.tenant_id,
            event="drift.alert",
            scan_id=scan_id,
            schedule_id=schedule.id,
            channel_types=channels,
            payload={"scan": summary, "drift": {"reason": reason}},
        )
    )
