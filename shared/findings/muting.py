"""Applying mute rules: which rule (the oldest in force that matches) covers each finding and each
violation, in one UPDATE per table, recording every finding that becomes muted or open again.

A rule matches what every selector it sets matches: policy ids, accounts and regions (any of the
listed), resource globs (over the uid or the name) and tags (each key's value against its glob, the
resource's collected `tags`). A rule is in force while enabled and before its expiry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, and_, case, exists, false, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from shared.findings.models import Finding, FindingEvent, MuteRule
from shared.inventory.models import Resource
from shared.platform.patterns import glob_to_like

FINDINGS: Table = Finding.__table__
RESOURCES: Table = Resource.__table__


def rules_in_force(session: Session, tenant_id: str, now: datetime) -> list[MuteRule]:
    return list(
        session.scalars(
            select(MuteRule)
            .where(
                MuteRule.tenant_id == tenant_id,
                MuteRule.enabled.is_(True),
                or_(MuteRule.expires_at.is_(None), MuteRule.expires_at > now),
            )
            .order_by(MuteRule.created_at, MuteRule.id)
        )
    )


def matches(rule: MuteRule, table: Table):
    """The SQL condition under which a finding or violation row (same column names) is the rule's."""
    c = table.c
    conditions = []
    for column, values in ((c.policy_id, rule.policy_ids), (c.account_id, rule.account_ids), (c.region, rule.regions)):
        if values:
            conditions.append(column.in_(values))
    if rule.resources:
        likes = [glob_to_like(glob) for glob in rule.resources]
        conditions.append(
            or_(*(column.like(like, escape="\\") for like in likes for column in (c.resource_uid, c.resource_name)))
        )
    if rule.tags:
        tags = RESOURCES.c.config["tags"]
        conditions.append(
            exists().where(
                RESOURCES.c.account_id == c.account_id,
                RESOURCES.c.resource_uid == c.resource_uid,
                *(tags[key].astext.like(glob_to_like(value), escape="\\") for key, value in rule.tags.items()),
            )
        )
    return and_(*conditions) if conditions else false()  # a rule always sets a selector


def _covering(rules: list[MuteRule], table: Table):
    """The id of the first rule in force that matches the row, else NULL."""
    if not rules:
        return literal(None)
    return case(*((matches(rule, table), rule.id) for rule in rules), else_=None)


def mute_findings(session: Session, tenant_id: str, candidates, rules: list[MuteRule], now: datetime) -> int:
    """Set `muted_by` (and status muted/open) of the tenant's open or muted findings among
    `candidates` to the rule that covers them now, recording each change; returns how many changed."""
    covering = _covering(rules, FINDINGS)
    old = FINDINGS.alias("old")
    changed = (
        update(FINDINGS)
        .where(
            FINDINGS.c.id == old.c.id,
            FINDINGS.c.tenant_id == tenant_id,
            FINDINGS.c.status.in_(("open", "muted")),
            candidates,
            FINDINGS.c.muted_by.is_distinct_from(covering),
        )
        .values(
            muted_by=covering,
            status=case((covering.is_(None), "open"), else_="muted"),
            status_changed_at=now,
        )
        .returning(FINDINGS.c.id, FINDINGS.c.muted_by, old.c.muted_by.label("was"))
        .cte("changed")
    )
    reason = case(
        (changed.c.muted_by.is_not(None), "Muted by rule " + changed.c.muted_by),
        else_="Mute rule " + changed.c.was + " no longer covers it (disabled, expired or changed)",
    )
    result = session.execute(
        insert(FindingEvent).from_select(
            ["finding_id", "tenant_id", "status", "reason", "mute_rule_id", "at"],
            select(
                changed.c.id,
                literal(tenant_id),
                case((changed.c.muted_by.is_(None), "open"), else_="muted"),
                reason,
                case((changed.c.muted_by.is_(None), changed.c.was), else_=changed.c.muted_by),
                literal(now),
            ),
        )
    )
    return result.rowcount


def mute_rows(session: Session, table: Table, candidates, rules: list[MuteRule]) -> set[str]:
    """Set `muted_by` of the rows of `table` (a scan's violations) among `candidates`; returns the
    `scan_id`s of the rows that changed."""
    covering = _covering(rules, table)
    rows = session.execute(
        update(table)
        .where(candidates, table.c.muted_by.is_distinct_from(covering))
        .values(muted_by=covering)
        .returning(table.c.scan_id)
    ).all()
    return {row.scan_id for row in rows}


def touched(changed: list[MuteRule], in_force: list[MuteRule], table: Table):
    """Rows a change of these rules may move: those they covered, and those they cover now."""
    live = [rule for rule in changed if rule in in_force]
    return or_(table.c.muted_by.in_([rule.id for rule in changed]), *(matches(rule, table) for rule in live))
