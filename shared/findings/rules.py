"""Mute rules as records: accepted risk, with its reason, its owner (the API key) and an optional
expiry, validated and kept with every change in mute_rule_changes. Applying a change to findings
and scans is shared.scans.mutes's work (it calls these in its transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import ValidationError, fields, validate, validates, validates_schema
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shared.accounts.models import CloudAccount
from shared.catalog.service import catalog_for, unknown_policies
from shared.findings.models import MuteRule, MuteRuleChange
from shared.findings.muting import rules_in_force
from shared.platform.db import utcnow
from shared.platform.durations import iso
from shared.platform.errors import Conflict, InvalidRequest, NotFound
from shared.platform.schemas import Closed, bounded_list, error_details, non_blank, offset_field
from shared.tenants.apikeys import Principal

MAX_RULES_IN_FORCE = 200  # per tenant: every scan and every change weighs each rule in force
SELECTORS = ("policy_ids", "account_ids", "regions", "resources", "tags")
STATES = ("active", "expired", "disabled")
# `*` (any run) and `?` (one character): the globs run as SQL LIKE over findings and violations.
GLOB = validate.Regexp(r"^[^\[\]\x00]{1,512}$", error="A glob is 1-512 characters of text, * and ? (no brackets)")


def _tags(value: Any) -> None:
    if not isinstance(value, dict) or len(value) > 20:
        raise ValidationError("tags is an object of at most 20 tag keys, each with a glob over its value")
    for key, glob in value.items():
        if not (isinstance(key, str) and 0 < len(key) <= 128 and isinstance(glob, str)):
            raise ValidationError("Each tag key is 1-128 characters, and its value a glob string")
        GLOB(glob)


class MuteRuleRequestSchema(Closed):
    name = fields.String(validate=[validate.Length(min=1, max=200), non_blank])
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=5_000), non_blank])
    policy_ids = bounded_list(fields.String(validate=validate.Length(min=1, max=100)), 100)
    account_ids = bounded_list(fields.String(validate=validate.Length(min=1, max=32)), 100)
    regions = bounded_list(fields.String(validate=validate.Length(min=1, max=64)), 100)
    resources = bounded_list(fields.String(validate=GLOB), 50)
    tags = fields.Dict(keys=fields.String(), values=fields.String(), validate=_tags)
    expires_at = fields.AwareDateTime(allow_none=True, default_timezone=None)

    @validates("expires_at")
    def _future(self, value: datetime | None, **kwargs) -> None:
        if value is not None and value <= utcnow():
            raise ValidationError("expires_at must be in the future")

    @validates_schema
    def _selects(self, data: dict, partial=None, **kwargs) -> None:
        if not partial and not any(data.get(name) for name in SELECTORS):
            raise ValidationError(
                "A mute rule selects what it mutes: set at least one of policy_ids, account_ids, regions, "
                "resources or tags",
                "policy_ids",
            )


class MuteRuleQuerySchema(Closed):
    state = fields.String(validate=validate.OneOf(STATES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = offset_field()


class DisableRequestSchema(Closed):
    reason = fields.String(validate=[validate.Length(min=1, max=5_000), non_blank])


def _load(schema: Closed, document: Any) -> dict:
    try:
        return schema.load(document if isinstance(document, dict) else None)
    except ValidationError as exc:
        raise InvalidRequest("The mute rule does not validate", details=error_details(exc.messages)) from None


def _check_targets(session: Session, tenant_id: str, data: dict) -> None:
    """Policies and accounts a rule names exist for the tenant: a typo would mute nothing, silently."""
    details = []
    catalog = catalog_for(session, tenant_id)
    unknown = sorted(set(data.get("policy_ids") or ()) - set(catalog.policies))
    if unknown:
        details.append({"field": "policy_ids", "message": unknown_policies(unknown[:10], catalog.policies)})
    wanted = set(data.get("account_ids") or ())
    if wanted:
        known = set(
            session.scalars(
                select(CloudAccount.id).where(CloudAccount.tenant_id == tenant_id, CloudAccount.id.in_(wanted))
            )
        )
        if wanted - known:
            details.append(
                {"field": "account_ids", "message": f"Unknown accounts: {', '.join(sorted(wanted - known))}"}
            )
    if details:
        raise InvalidRequest("The mute rule names what does not exist", details=details)


def snapshot(rule: MuteRule) -> dict[str, Any]:
    """The rule as it stands, as kept in its history and shown to callers."""
    return {
        "id": rule.id,
        "name": rule.name,
        "reason": rule.reason,
        "policy_ids": list(rule.policy_ids),
        "account_ids": list(rule.account_ids),
        "regions": list(rule.regions),
        "resources": list(rule.resources),
        "tags": dict(rule.tags),
        "expires_at": iso(rule.expires_at),
        "enabled": rule.enabled,
    }


def _record(session: Session, rule: MuteRule, action: str, principal: Principal | None, now: datetime) -> None:
    session.add(
        MuteRuleChange(
            rule_id=rule.id,
            tenant_id=rule.tenant_id,
            action=action,
            rule=snapshot(rule),
            changed_by_key_id=principal.key_id if principal else None,
            changed_by_key_name=principal.key_name if principal else None,
            at=now,
        )
    )


def state(rule: MuteRule, now: datetime) -> str:
    if not rule.enabled:
        return "disabled"
    return "expired" if rule.expires_at is not None and rule.expires_at <= now else "active"


def load_request(document: Any, *, partial: bool = False) -> dict:
    return _load(MuteRuleRequestSchema(partial=partial), document)


def create(session: Session, principal: Principal, data: dict, now: datetime) -> MuteRule:
    _check_targets(session, principal.tenant_id, data)
    if len(rules_in_force(session, principal.tenant_id, now)) >= MAX_RULES_IN_FORCE:
        raise Conflict(
            f"The tenant has {MAX_RULES_IN_FORCE} mute rules in force, the most it may have; "
            "disable or narrow one first"
        )
    rule = MuteRule(
        tenant_id=principal.tenant_id,
        name=data.get("name") or data["reason"][:200],
        reason=data["reason"],
        **{name: data.get(name) or ({} if name == "tags" else []) for name in SELECTORS},
        expires_at=data.get("expires_at"),
        enabled=True,
        created_by_key_id=principal.key_id,
        created_by_key_name=principal.key_name,
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    session.flush()
    _record(session, rule, "created", principal, now)
    return rule


def _get(session: Session, tenant_id: str, rule_id: str, *, lock: bool = False) -> MuteRule:
    query = select(MuteRule).where(MuteRule.id == rule_id, MuteRule.tenant_id == tenant_id)
    rule = session.scalar(query.with_for_update() if lock else query)
    if rule is None:
        raise NotFound(f"Mute rule {rule_id} does not exist")
    return rule


def update(session: Session, principal: Principal, rule_id: str, changes: dict, now: datetime) -> MuteRule:
    """PATCH: the fields given replace the stored ones; a disabled rule stays disabled."""
    rule = _get(session, principal.tenant_id, rule_id, lock=True)
    if not rule.enabled:
        raise Conflict(f"Mute rule {rule_id} is disabled; create a new rule instead")
    _check_targets(session, principal.tenant_id, changes)
    if not any(changes.get(name, getattr(rule, name)) for name in SELECTORS):
        raise InvalidRequest(
            "The mute rule does not validate",
            details=[{"field": "policy_ids", "message": "A mute rule keeps at least one selector"}],
        )
    for name, value in changes.items():
        setattr(rule, name, ({} if name == "tags" else []) if value is None and name in SELECTORS else value)
    rule.updated_at = now
    rule.expiry_applied_at = None  # a new expiry is applied when it comes
    session.flush()
    _record(session, rule, "updated", principal, now)
    return rule


def disable(session: Session, principal: Principal, rule_id: str, document: Any, now: datetime) -> MuteRule:
    """Stop a rule: the rule and its history stay on record."""
    _load(DisableRequestSchema(), document if document is not None else {})
    rule = _get(session, principal.tenant_id, rule_id, lock=True)
    if not rule.enabled:
        raise Conflict(f"Mute rule {rule_id} is already disabled")
    rule.enabled, rule.updated_at = False, now
    session.flush()
    _record(session, rule, "disabled", principal, now)
    return rule


def expire_due(session: Session, now: datetime, limit: int = 500) -> list[MuteRule]:
    """Rules whose expiry has come and was not applied yet: recorded as expired (by nobody)."""
    due = session.scalars(
        select(MuteRule)
        .where(MuteRule.enabled.is_(True), MuteRule.expires_at <= now, MuteRule.expiry_applied_at.is_(None))
        .order_by(MuteRule.tenant_id, MuteRule.id)
        .with_for_update(skip_locked=True)
        .limit(limit)
    ).all()
    for rule in due:
        rule.expiry_applied_at = now
        _record(session, rule, "expired", None, now)
    session.flush()
    return list(due)


def list_rules(session: Session, tenant_id: str, query: dict) -> tuple[list[MuteRule], int]:
    now = utcnow()
    conditions = [MuteRule.tenant_id == tenant_id]
    wanted = query.get("state")
    if wanted == "disabled":
        conditions.append(MuteRule.enabled.is_(False))
    elif wanted == "expired":
        conditions += [MuteRule.enabled.is_(True), MuteRule.expires_at <= now]
    elif wanted == "active":
        conditions += [MuteRule.enabled.is_(True), or_(MuteRule.expires_at.is_(None), MuteRule.expires_at > now)]
    total = session.scalar(select(func.count()).select_from(MuteRule).where(*conditions))
    rows = session.scalars(
        select(MuteRule)
        .where(*conditions)
        .order_by(MuteRule.created_at.desc(), MuteRule.id)
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return list(rows), total


def get_rule(session: Session, tenant_id: str, rule_id: str) -> MuteRule:
    return _get(session, tenant_id, rule_id)


def changes(session: Session, rule: MuteRule) -> list[dict[str, Any]]:
    rows = session.scalars(select(MuteRuleChange).where(MuteRuleChange.rule_id == rule.id).order_by(MuteRuleChange.id))
    return [
        {
            "action": row.action,
            "at": iso(row.at),
            "by": {"key_id": row.changed_by_key_id, "key_name": row.changed_by_key_name}
            if row.changed_by_key_id
            else None,
            "rule": row.rule,
        }
        for row in rows
    ]


def render(rule: MuteRule, *, applied: dict | None = None, history: list[dict] | None = None) -> dict[str, Any]:
    now = utcnow()
    body = {
        **snapshot(rule),
        "state": state(rule, now),
        "created_by": {"key_id": rule.created_by_key_id, "key_name": rule.created_by_key_name},
        "created_at": iso(rule.created_at),
        "updated_at": iso(rule.updated_at),
    }
    if applied is not None:
        body["applied"] = applied
    if history is not None:
        body["history"] = history
    return body
