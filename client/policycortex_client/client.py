"""Client: the PolicyCortex REST API by resource (scans, schedules, accounts, findings, mute rules,
reports), typed answers, list iterators over every page, and the scan stream.

    client = Client()  # POLICYCORTEX_URL and POLICYCORTEX_API_KEY
    created = client.scans.trigger(name="nightly", environment="production", cloud_providers=["aws"])
    final = client.scans.watch(created["id"], callback=print)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, overload

import requests

from . import stream
from .errors import PolicyCortexError
from .http import Http, write_atomically
from .pagination import cursor_items, offset_items
from .types import (
    Account,
    AccountList,
    AccountVerification,
    Compliance,
    Finding,
    FindingList,
    InventoryPushed,
    MuteRule,
    MuteRuleList,
    RemediationAttempts,
    ReportFormat,
    Scan,
    ScanCancelled,
    ScanCreated,
    ScanList,
    ScanListItem,
    Schedule,
    ScheduleList,
    ScheduleRunStarted,
    StreamMessage,
    Violation,
    ViolationList,
    WebhookFired,
)

DEFAULT_URL = "http://127.0.0.1:8000"  # what `make up` binds
RECONNECT_DELAYS = (1, 2, 4, 8, 15)  # seconds between reopenings of a stream cut short


def _body(body: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """`f(body)`, `f(**fields)` or both (fields over the body's)."""
    return {**(body or {}), **fields}


class Client:
    """One tenant's view of the API. Arguments not given come from POLICYCORTEX_URL (default the
    local API) and POLICYCORTEX_API_KEY; without a key, calls that need one raise Unauthorized."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30,
        session: requests.Session | None = None,
    ):
        base_url = base_url or os.environ.get("POLICYCORTEX_URL", "").strip() or DEFAULT_URL
        api_key = api_key or os.environ.get("POLICYCORTEX_API_KEY", "").strip() or None
        self.http = Http(base_url, api_key, timeout=timeout, session=session)
        self.scans = Scans(self.http)
        self.reports = Reports(self.http)
        self.schedules = Schedules(self.http)
        self.accounts = Accounts(self.http)
        self.findings = Findings(self.http)
        self.mute_rules = MuteRules(self.http)

    @property
    def base_url(self) -> str:
        return self.http.base_url

    def close(self) -> None:
        self.http.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Group:
    def __init__(self, http: Http):
        self.http = http


class Scans(_Group):
    def trigger(
        self, body: Mapping[str, Any] | None = None, /, *, idempotency_key: str | None = None, **fields: Any
    ) -> ScanCreated:
        """POST /v1/scans: `trigger({...})` or `trigger(name=..., environment=..., cloud_providers=[...])`.
        The same Idempotency-Key and body within 24 hours answers the first answer again."""
        headers = {"Idempotency-Key": idempotency_key}
        return self.http.call("scans.trigger", json=_body(body, fields), headers=headers)

    def page(self, **filters: Any) -> ScanList:
        """One page of GET /v1/scans (limit, offset, status, environment, scan_type, created_after/before)."""
        return self.http.call("scans.list", query=filters)

    def list(self, **filters: Any) -> Iterator[ScanListItem]:
        """Every scan the filters select, newest first, a page (of `limit`) at a time."""
        return offset_items(self.page, "scans", filters)

    def get(self, scan_id: str) -> Scan:
        return self.http.call("scans.get", {"scan_id": scan_id})

    def cancel(self, scan_id: str) -> ScanCancelled:
        """Cancel a pending or running scan; one that already ended raises Conflict (SCAN_003)."""
        return self.http.call("scans.cancel", {"scan_id": scan_id})

    def compliance(self, scan_id: str) -> Compliance:
        return self.http.call("scans.compliance", {"scan_id": scan_id})

    def remediations(self, scan_id: str) -> RemediationAttempts:
        return self.http.call("scans.remediations", {"scan_id": scan_id})

    def violations_page(self, scan_id: str, **filters: Any) -> ViolationList:
        """One page of GET /v1/scans/<id>/violations (severity, policy, framework, resource, new,
        muted, limit, cursor); retention's purge raises Gone (SCAN_004)."""
        return self.http.call("scans.violations", {"scan_id": scan_id}, query=filters)

    def violations(self, scan_id: str, **filters: Any) -> Iterator[Violation]:
        """Every violation the filters select, following `next_cursor`."""
        return cursor_items(lambda **params: self.violations_page(scan_id, **params), "violations", filters)

    def stream(self, scan_id: str, *, ping_seconds: float = 30) -> Iterator[StreamMessage]:
        """The scan stream's messages (a snapshot first) until the server closes it after the end;
        any other close raises StreamClosed (NotFound, Unauthorized, ... for the closes that say why)."""
        self.http.url("scans.stream", {"scan_id": scan_id})  # the table declares it
        headers = {"Authorization": f"Bearer {self.http.api_key}"} if self.http.api_key else {}
        url = stream.stream_url(self.http.base_url, scan_id)
        return stream.messages(url, headers, ping_seconds=ping_seconds)

    def watch(
        self,
        scan_id: str,
        callback: Callable[[StreamMessage], object] | None = None,
        *,
        reconnect_delays: Iterable[float] = RECONNECT_DELAYS,
    ) -> Scan:
        """Follow the scan to its end, calling `callback` with each stream message, and answer the
        scan as it ended. A stream cut short (an API restart, a busy server) is reopened after each
        of `reconnect_delays`; its new snapshot picks up where the old stream was."""
        delays = iter(reconnect_delays)
        while True:
            try:
                for message in self.stream(scan_id):
                    if callback is not None:
                        callback(message)
                return self.get(scan_id)
            except PolicyCortexError as exc:
                delay = next(delays, None) if exc.error_code in stream.RETRYABLE else None
                if delay is None:
                    raise
                time.sleep(delay)

    @overload
    def report(
        self, scan_id: str, format: ReportFormat = ..., *, muted: str | None = ..., path: None = ...
    ) -> bytes: ...

    @overload
    def report(
        self, scan_id: str, format: ReportFormat = ..., *, muted: str | None = ..., path: str | os.PathLike[str]
    ) -> int: ...

    def report(
        self,
        scan_id: str,
        format: ReportFormat = "json",
        *,
        muted: str | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> bytes | int:
        """A finished scan's report: its bytes, or with `path` streamed to that file (which appears
        only once complete) and the number of bytes written."""
        reports = Reports(self.http)
        if path is None:
            return reports.get(scan_id, format, muted=muted)
        return reports.save(scan_id, path, format, muted=muted)


class Reports(_Group):
    def chunks(self, scan_id: str, format: ReportFormat = "json", *, muted: str | None = None) -> Iterator[bytes]:
        """GET /v1/scans/<id>/report as it arrives; a refusal raises before the first chunk."""
        query = {"format": format, "muted": muted}
        return self.http.download("reports.report", {"scan_id": scan_id}, query)

    def get(self, scan_id: str, format: ReportFormat = "json", *, muted: str | None = None) -> bytes:
        return b"".join(self.chunks(scan_id, format, muted=muted))

    def save(
        self,
        scan_id: str,
        path: str | os.PathLike[str],
        format: ReportFormat = "json",
        *,
        muted: str | None = None,
    ) -> int:
        """Stream the report to `path` (replaced only once complete); the number of bytes."""
        return write_atomically(path, self.chunks(scan_id, format, muted=muted))

    def evidence_pack_chunks(self, scan_id: str, framework_id: str, format: str = "json") -> Iterator[bytes]:
        """GET /v1/scans/<id>/compliance/<framework>/report (json, csv or html) as it arrives."""
        path = {"scan_id": scan_id, "framework_id": framework_id}
        return self.http.download("reports.evidence_pack", path, {"format": format})

    def evidence_pack(self, scan_id: str, framework_id: str, format: str = "json") -> bytes:
        return b"".join(self.evidence_pack_chunks(scan_id, framework_id, format))


class Schedules(_Group):
    def create(
        self, body: Mapping[str, Any] | None = None, /, *, idempotency_key: str | None = None, **fields: Any
    ) -> Schedule:
        """POST /v1/scans/schedules; the answer's `webhook.secret` is shown this once."""
        headers = {"Idempotency-Key": idempotency_key}
        return self.http.call("schedules.create", json=_body(body, fields), headers=headers)

    def page(self, **filters: Any) -> ScheduleList:
        """One page of GET /v1/scans/schedules (enabled, environment, q, limit, offset)."""
        return self.http.call("schedules.list", query=filters)

    def list(self, **filters: Any) -> Iterator[Schedule]:
        return offset_items(self.page, "schedules", filters)

    def get(self, schedule_id: str) -> Schedule:
        return self.http.call("schedules.get", {"schedule_id": schedule_id})

    def update(self, schedule_id: str, body: Mapping[str, Any] | None = None, /, **fields: Any) -> Schedule:
        return self.http.call("schedules.update", {"schedule_id": schedule_id}, json=_body(body, fields))

    def delete(self, schedule_id: str) -> None:
        self.http.call("schedules.delete", {"schedule_id": schedule_id})

    def run(self, schedule_id: str) -> ScheduleRunStarted:
        """Run the schedule now; `scan` is absent when the run was rejected (see `run.reason`)."""
        return self.http.call("schedules.run", {"schedule_id": schedule_id})

    def fire_webhook(
        self, schedule_id: str, secret: str, body: bytes = b"", *, timestamp: int | None = None
    ) -> WebhookFired:
        """What an external system does to fire a schedule: no API key, an HMAC-SHA256 of
        "<timestamp>.<body>" with the schedule's webhook secret."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "X-PolicyCortex-Timestamp": stamp,
            "X-PolicyCortex-Signature": f"sha256={digest}",
            "Content-Type": "application/json",
            "Authorization": None,  # the schedule's secret is the credential here
        }
        path = {"schedule_id": schedule_id}
        return self.http.call("schedules.fire_webhook", path, data=body, transport_headers=headers)


class Accounts(_Group):
    def create(
        self, body: Mapping[str, Any] | None = None, /, *, idempotency_key: str | None = None, **fields: Any
    ) -> Account:
        """POST /v1/accounts; credentials are sent once and never shown again (`has_credentials`)."""
        headers = {"Idempotency-Key": idempotency_key}
        return self.http.call("accounts.create", json=_body(body, fields), headers=headers)

    def page(self, **filters: Any) -> AccountList:
        """One page of GET /v1/accounts (provider, environment, limit, offset)."""
        return self.http.call("accounts.list", query=filters)

    def list(self, **filters: Any) -> Iterator[Account]:
        return offset_items(self.page, "accounts", filters)

    def get(self, account_id: str) -> Account:
        return self.http.call("accounts.get", {"account_id": account_id})

    def delete(self, account_id: str) -> None:
        self.http.call("accounts.delete", {"account_id": account_id})

    def verify(self, account_id: str) -> AccountVerification:
        """Check the credentials and the permissions scans need, from where the API runs."""
        return self.http.call("accounts.verify", {"account_id": account_id})

    def push_inventory(
        self,
        account_id: str,
        resources: Iterable[Mapping[str, Any]] | None = None,
        *,
        mode: str | None = None,
        data: bytes | Iterable[bytes] | None = None,
        content_type: str = "application/json",
    ) -> InventoryPushed:
        """Upload an inventory-collected account's snapshot: `resources` as our JSON, or `data`
        already encoded (an asset export as application/x-ndjson, say)."""
        if data is None:
            document: dict[str, Any] = {"resources": list(resources or [])}
            if mode is not None:
                document["mode"] = mode
            return self.http.call("accounts.push_inventory", {"account_id": account_id}, json=document)
        path = {"account_id": account_id}
        encoding = {"Content-Type": content_type}
        return self.http.call("accounts.push_inventory", path, data=data, transport_headers=encoding)


class Findings(_Group):
    def page(self, **filters: Any) -> FindingList:
        """One page of GET /v1/findings (status, severity, provider, account_id, region, policy,
        framework, control, resource, first_seen_after/before, limit, cursor)."""
        return self.http.call("findings.list", query=filters)

    def list(self, **filters: Any) -> Iterator[Finding]:
        """Every finding the filters select, following `next_cursor`."""
        return cursor_items(self.page, "findings", filters)

    def get(self, finding_id: str) -> Finding:
        """A finding with its history, the scans that saw it and the change that introduced it."""
        return self.http.call("findings.get", {"finding_id": finding_id})


class MuteRules(_Group):
    def create(self, body: Mapping[str, Any] | None = None, /, **fields: Any) -> MuteRule:
        return self.http.call("mute_rules.create", json=_body(body, fields))

    def page(self, **filters: Any) -> MuteRuleList:
        """One page of GET /v1/mute-rules (state, limit, offset)."""
        return self.http.call("mute_rules.list", query=filters)

    def list(self, **filters: Any) -> Iterator[MuteRule]:
        return offset_items(self.page, "mute_rules", filters)

    def get(self, rule_id: str) -> MuteRule:
        return self.http.call("mute_rules.get", {"rule_id": rule_id})

    def update(self, rule_id: str, body: Mapping[str, Any] | None = None, /, **fields: Any) -> MuteRule:
        return self.http.call("mute_rules.update", {"rule_id": rule_id}, json=_body(body, fields))

    def disable(self, rule_id: str, reason: str | None = None) -> MuteRule:
        """Stop a rule: what it muted counts again at once; the rule stays on record."""
        body = {"reason": reason} if reason else None
        return self.http.call("mute_rules.disable", {"rule_id": rule_id}, json=body)
