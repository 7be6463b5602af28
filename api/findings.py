"""/v1/findings: the latest state of each (account, resource, policy) across scans, and
/v1/mute-rules: accepted risk, applied at once to findings and the latest results."""

from __future__ import annotations

from flask import Blueprint, g, request

from api.context import json_body, load, pagination, services, tenant_id
from shared.catalog.service import catalog_for
from shared.findings import queries, rules
from shared.scans import mutes
from shared.scans.results import finding_scans

findings = Blueprint("findings", __name__, url_prefix="/v1/findings")
mute_rules = Blueprint("mute_rules", __name__, url_prefix="/v1/mute-rules")


@findings.get("")
def list_findings():
    """The tenant's findings, ordered by id, with filters and a cursor (no total)."""
    query = load(queries.FindingQuerySchema(), request.args.to_dict())
    vault = services().vault
    with services().db.session() as session:
        catalog = catalog_for(session, tenant_id())
        after = queries.decode_cursor(vault, tenant_id(), query.get("cursor"))
        rows, more = queries.list_findings(session, tenant_id(), catalog, query, after)
    return {
        "findings": [queries.render(row, catalog) for row in rows],
        "pagination": {
            "limit": query["limit"],
            "has_more": more,
            "next_cursor": queries.encode_cursor(vault, tenant_id(), rows[-1].id) if more else None,
        },
    }


@findings.get("/<finding_id>")
def get_finding(finding_id: str):
    """A finding with its status history, the scans that saw it and the change that introduced it."""
    with services().db.session() as session:
        finding = queries.get_finding(session, tenant_id(), finding_id)
        scans = finding_scans(session, tenant_id(), finding.fingerprint)
        return queries.render_details(session, finding, catalog_for(session, tenant_id()), scans)


@mute_rules.post("")
def create_rule():
    """Mute what the rule selects, from now on and in the latest results."""
    rule, applied = mutes.create_rule(services(), g.principal, json_body())
    return rules.render(rule, applied=applied), 201


@mute_rules.get("")
def list_rules():
    query = load(rules.MuteRuleQuerySchema(), request.args.to_dict())
    with services().db.session() as session:
        rows, total = rules.list_rules(session, tenant_id(), query)
    return {
        "mute_rules": [rules.render(row) for row in rows],
        "pagination": pagination(total, query["limit"], query["offset"], len(rows)),
    }


@mute_rules.get("/<rule_id>")
def get_rule(rule_id: str):
    """A rule with every change made to it."""
    with services().db.session() as session:
        rule = rules.get_rule(session, tenant_id(), rule_id)
        return rules.render(rule, history=rules.changes(session, rule))


@mute_rules.patch("/<rule_id>")
def update_rule(rule_id: str):
    rule, applied = mutes.update_rule(services(), g.principal, rule_id, json_body())
    return rules.render(rule, applied=applied)


@mute_rules.post("/<rule_id>/disable")
def disable_rule(rule_id: str):
    """Stop a rule: what it muted counts again at once; the rule stays on record."""
    document = json_body() if request.content_length else None
    rule, applied = mutes.disable_rule(services(), g.principal, rule_id, document)
    return rules.render(rule, applied=applied)
