"""Mute rule records: what a rule matches (SQL over findings), and its changes kept append-only."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from shared.findings.models import MuteRule, MuteRuleChange
from shared.findings.muting import FINDINGS, matches
from shared.platform.db import utcnow


def rule(**selectors) -> MuteRule:
    """A rule with the given selectors, the others unset (empty)."""
    empty = {"policy_ids": [], "account_ids": [], "regions": [], "resources": [], "tags": {}}
    return MuteRule(**{**empty, **selectors})


def sql(condition) -> str:
    return str(condition.compile(compile_kwargs={"literal_binds": True}))


def test_each_selector_becomes_its_own_condition_and_all_must_hold():
    assert "findings.policy_id IN ('pol_a')" in sql(matches(rule(policy_ids=["pol_a"]), FINDINGS))
    both = sql(matches(rule(regions=["eu-west-1"], resources=["*-logs"]), FINDINGS))
    assert "findings.region IN ('eu-west-1')" in both and " AND " in both
    # A glob is matched against the uid or the name, as a LIKE pattern with its own wildcards escaped.
    assert "LIKE '%-logs'" in both and "findings.resource_name LIKE" in both
    literal = sql(matches(rule(resources=["a_b%c"]), FINDINGS))
    assert "'a\\_b\\%c'" in literal
    tagged = sql(matches(rule(tags={"env": "prod*"}), FINDINGS))
    assert "EXISTS" in tagged and "resources.config" in tagged and "LIKE 'prod%'" in tagged


def test_a_rule_without_a_selector_matches_nothing():
    assert sql(matches(rule(), FINDINGS)) == "false"


def test_rule_changes_are_append_only(svc, tenant):
    now = utcnow()
    with svc.db.session() as session:
        kept = MuteRule(
            tenant_id=tenant.id, name="n", reason="r", policy_ids=["p"], account_ids=[], regions=[], resources=[],
            tags={}, enabled=True, created_by_key_id="key_x", created_by_key_name="ci", created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(kept)
        session.flush()
        session.add(
            MuteRuleChange(rule_id=kept.id, tenant_id=tenant.id, action="created", rule={"id": kept.id}, at=now)
        )
    with pytest.raises(DBAPIError, match="append-only"), svc.db.session() as session:
        session.execute(text("UPDATE mute_rule_changes SET action = 'disabled' WHERE rule_id = :r"), {"r": kept.id})
    with svc.db.session() as session:
        assert session.scalars(select(MuteRuleChange.action).where(MuteRuleChange.rule_id == kept.id)).all() == [
            "created"
        ]
