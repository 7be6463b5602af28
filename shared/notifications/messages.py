"""What a notification says: one Message per event, laid out as email text or Slack blocks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.policies.severities import SEVERITIES

TEST_EVENT = "test"
# Event names are closed so that a typo in a caller fails loudly instead of sending nothing.
EVENTS = (
    "scan.completed",
    "scan.failed",
    "scan.timed_out",
    "scan.cancelled",
    "drift.alert",
    "schedule.failed",
    TEST_EVENT,
)


TITLES = {
    "scan.completed": "Scan completed",
    "scan.failed": "Scan failed",
    "scan.timed_out": "Scan timed out",
    "scan.cancelled": "Scan cancelled",
    "drift.alert": "Compliance drift",
    "schedule.failed": "Scheduled scan could not start",
    TEST_EVENT: "Test notification",
}


SLACK_EMOJI = {
    "scan.completed": ":white_check_mark:",
    "scan.failed": ":x:",
    "scan.timed_out": ":hourglass:",
    "scan.cancelled": ":no_entry_sign:",
    "drift.alert": ":chart_with_downwards_trend:",
    "schedule.failed": ":warning:",
    TEST_EVENT: ":wave:",
}


def scan_url(public_url: str | None, scan_id: str) -> str | None:
    return f"{public_url.rstrip('/')}/v1/scans/{scan_id}" if public_url else None


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
    counts = ", ".join(f"{severity} {breakdown.get(severity, 0)}" for severity in SEVERITIES)
    return f"{scan.get('total_violations') or 0} ({counts})"


def render_message(event: str, payload: Mapping[str, Any]) -> Message:
    """The title and the facts worth reading, in order, for any event's payload."""
    scan = payload.get("scan") or {}
    schedule = payload.get("schedule") or {}
    title = TITLES.get(event, event)
    if scan.get("name") or schedule.get("name"):
        title = f"{title}: {_one_line(scan.get('name') or schedule['name'])}"
    facts: list[tuple[str, str]] = []
    if schedule:
        facts += [("Schedule", str(schedule.get("id"))), ("Trigger", str(schedule.get("trigger")))]
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
