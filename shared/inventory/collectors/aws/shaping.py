"""Helpers AWS declarations use to shape a listed item for policies: ages in days, IAM-style policy
documents with list-valued fields, Key/Value attribute lists as objects, port ranges as text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def moment(timestamp: Any) -> datetime | None:
    """The time of an ISO timestamp (as `jsonable` writes them), UTC when it names no zone; None
    when it is not one."""
    if not isinstance(timestamp, str) or not timestamp:
        return None
    try:
        value = datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def days_since(timestamp: Any, now: datetime) -> int | None:
    """Whole days from an ISO timestamp to now (never below 0); None when unknown."""
    at = moment(timestamp)
    return None if at is None else max(0, (now - at).days)


def days_until(timestamp: Any, now: datetime) -> int | None:
    """Whole days from now to an ISO timestamp, negative once it has passed; None when unknown."""
    at = moment(timestamp)
    return None if at is None else (at - now).days


def _principals(principal: Any) -> list[str]:
    if principal == "*":
        return ["*"]
    found: list[str] = []
    if isinstance(principal, dict):
        for value in principal.values():
            found += value if isinstance(value, list) else [value]
    return [str(p) for p in found]


def policy_document(document: Any) -> Any:
    """An IAM-style policy whose list-valued fields are always lists, so conditions can use
    `contains` and `any-item`: Statement, (Not)Action and (Not)Resource become lists, and each
    statement gets `Principals`, every principal it names ("*" for anyone)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return document  # kept as text: a policy cannot match a document it cannot read
    if not isinstance(document, dict):
        return document
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    for statement in statements:
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            if isinstance(statement.get(key), str):
                statement[key] = [statement[key]]
        statement["Principals"] = _principals(statement.get("Principal"))
    document["Statement"] = statements
    return document


def settings_map(pairs: list[dict]) -> dict[str, Any]:
    """Key/Value attribute lists as an object. Dots in keys become underscores (a dot is a step in
    a key path) and "true"/"false" become booleans."""
    values: dict[str, Any] = {}
    for pair in pairs or []:
        value = pair.get("Value")
        values[str(pair.get("Key", "")).replace(".", "_")] = {"true": True, "false": False}.get(value, value)
    return values


def port_spec(permission: dict) -> str | None:
    protocol = str(permission.get("IpProtocol", ""))
    if protocol in ("-1", "all"):
        return "*"
    if protocol in ("tcp", "udp", "6", "17"):
        low, high = permission.get("FromPort"), permission.get("ToPort")
        if low is None or high is None or (low, high) == (-1, -1):
            return "*"
        return f"{low}-{high}"
    return None  # ICMP and other protocols have no ports
