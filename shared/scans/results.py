"""A scan's results in depth: its violations (filtered, keyset-paginated) and its compliance per
framework and control, all derived from what the shards recorded."""

from __future__ import annotations

import hashlib
import json
from contextlib import suppress
from typing import Any

from marshmallow import RAISE, Schema, fields, validate
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Row, String, any_, column, func, or_, select, values
from sqlalchemy.dialects.postgresql import aggregate_order_by, array
from sqlalchemy.orm import Session

from shared.attestations.models import Attestation
from shared.attestations.service import current_attestations
from shared.catalog.service import Catalog, unknown_frameworks
from shared.findings.models import finding_id
from shared.inventory.models import Resource
from shared.platform import cursors
from shared.platform.crypto import CredentialVault
from shared.platform.durations import iso
from shared.platform.errors import InvalidRequest, ViolationsPurged
from shared.platform.patterns import glob_to_like
from shared.policies.severities import SEVERITIES
from shared.scans.models import Scan, Violation, violation_id
from shared.scans.summary import compliance_score, scan_stats


class ViolationQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    policy = fields.String()
    framework = fields.String()
    resource = fields.String(metadata={"description": "glob over the resource uid or name"})
    new = fields.Boolean(metadata={"description": "only violations that the previous scan did not have"})
    muted = fields.Boolean(
        metadata={"description": "true: only the violations mute rules cover (left out by default, as from the counts)"}
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(metadata={"description": "next_cursor of the previous page"})


FILTERS = frozenset({"severity", "policy", "framework", "resource", "new", "muted"})
COUNT_CACHE_SECONDS = 3600


def encode_cursor(vault: CredentialVault, scan_id: str, after: int) -> str:
    """The next page's cursor: where this page ended, sealed (opaque, and only good for its scan)."""
    return cursors.seal(vault, {"scan": scan_id}, after)


def decode_cursor(vault: CredentialVault, scan_id: str, value: str | None) -> int:
    return cursors.unseal(vault, {"scan": scan_id}, value, "Not a cursor of this scan's violations")


def _filters(catalog: Catalog, query: dict) -> list:
    conditions = []
    if query.get("severity"):
        conditions.append(Violation.severity == query["severity"])
    if query.get("policy"):
        conditions.append(Violation.policy_id == query["policy"])
    if query.get("framework"):
        framework = catalog.frameworks.get(query["framework"])
        if framework is None:
            message = unknown_frameworks([query["framework"]], catalog.frameworks)
            raise InvalidRequest(details=[{"field": "framework", "message": message}])
        conditions.append(Violation.policy_id.in_(sorted(framework.policy_ids)))
    if query.get("resource"):
        pattern = glob_to_like(query["resource"])
        conditions.append(
            or_(Violation.resource_uid.like(pattern, escape="\\"), Violation.resource_name.like(pattern, escape="\\"))
        )
    if query.get("new") is not None:
        conditions.append(Violation.is_new.is_(query["new"]))
    # Muted violations are shown when asked for, and otherwise left out, as they are from the figures.
    conditions.append(Violation.muted_by.is_not(None) if query.get("muted") else Violation.muted_by.is_(None))
    return conditions


def _count_key(scan: Scan, catalog: Catalog, query: dict) -> str:
    """The cache key of a count: the filters as given, a framework as the policies it holds now (a
    tenant may edit its own framework)."""
    used = {name: query[name] for name in sorted(FILTERS) if query.get(name) is not None}
    used["mutes_applied_at"] = (scan.results or {}).get("mutes_applied_at")  # a mute rule change recounts
    if "framework" in used:
        used["framework"] = sorted(catalog.frameworks[query["framework"]].policy_ids)
    digest = hashlib.sha1(json.dumps(used, sort_keys=True).encode()).hexdigest()
    return f"pc:scan:{scan.id}:violations-count:{digest}"


def _total(session: Session, scan: Scan, catalog: Catalog, query: dict, conditions: list, cache: Redis | None) -> int:
    """Matching violations: a finalized scan's results already count them when there is no filter,
    or only `severity` (the breakdown) or only `new` (new_violations). Other filters are counted on
    the (scan_id, ...) indexes; a finalized scan's violations no longer change, so its counts are
    kept in Redis for an hour (a Redis that cannot answer just means counting again)."""
    used = {name for name in FILTERS if query.get(name) is not None and not (name == "muted" and not query[name])}
    if scan.results is not None and used <= {"severity"}:
        breakdown = scan.results["violation_breakdown"]
        return breakdown.get(query["severity"], 0) if used else sum(breakdown.values())
    if scan.results is not None and used == {"new"}:
        new = scan.results["new_violations"]
        return new if query["new"] else scan.results["total_violations"] - new
    key = _count_key(scan, catalog, query) if cache is not None and scan.results is not None else None
    with suppress(RedisError):
        if key and (kept := cache.get(key)) is not None:
            return int(kept)
    total = session.scalar(select(func.count()).select_from(Violation).where(Violation.scan_id == scan.id, *conditions))
    with suppress(RedisError):
        if key:
            cache.set(key, total, ex=COUNT_CACHE_SECONDS)
    return total


def list_violations(
    session: Session, scan: Scan, catalog: Catalog, query: dict, after: int, *, cache: Redis | None = None
) -> tuple[list[Row], int, bool]:
    """One page after the cursor, the total matching (counts kept in `cache`), and whether more follow."""
    if scan.violations_purged_at is not None:
        raise ViolationsPurged(
            f"The violations of scan {scan.id} were deleted by the retention policy; "
            "its summary stays in GET /v1/scans/<id>",
            purged_at=iso(scan.violations_purged_at),
        )
    conditions = _filters(catalog, query)
    rows = session.execute(
        select(Violation.__table__)  # plain rows: a 500-row page is rendered, never changed
        # `= ANY(ARRAY[id])`, not `=`: with `=` the planner drops scan_id from the ORDER BY and, for a
        # scan holding a good share of the table, walks the primary key through every other scan's
        # rows (0.5 s at 1M violations); this way only the (scan_id, ..., id) indexes give the order.
        .where(Violation.scan_id == any_(array([scan.id])), *conditions, *([Violation.id > after] if after else []))
        .order_by(Violation.scan_id, Violation.id)
        .limit(query["limit"] + 1)
    ).all()
    total = _total(session, scan, catalog, query, conditions, cache)
    return list(rows[: query["limit"]]), total, len(rows) > query["limit"]


def render_violations(rows: list[Row], catalog: Catalog) -> list[dict[str, Any]]:
    return [render_violation(row, catalog) for row in rows]


def render_violation(violation: Violation | Row, catalog: Catalog) -> dict[str, Any]:
    policy = catalog.policies.get(violation.policy_id)
    return {
        "id": violation_id(violation.scan_id, violation.fingerprint),
        "finding_id": finding_id(violation.fingerprint),
        "policy_id": violation.policy_id,
        "title": policy.title if policy else violation.policy_id,
        "severity": violation.severity,
        "status_extended": violation.status_extended,
        "is_new": violation.is_new,
        "resource": {
            "uid": violation.resource_uid,
            "name": violation.resource_name,
            "type": violation.resource_type,
            "provider": violation.provider,
            "account_id": violation.account_id,
            "region": violation.region,
        },
        "remediation": {
            "text": policy.remediation_text if policy else None,
            "effort": f"{violation.effort_minutes}m",
            "action": policy.remediation_action if policy else None,
            "status": violation.remediation_status,
        },
        "frameworks": catalog.mappings(violation.policy_id),
        "muted": {"rule_id": violation.muted_by} if violation.muted_by else None,
    }


CONTROL_STATUSES = ("passed", "failed", "manual", "attested", "not_applicable")
FAILING_SHOWN = 10  # failing resources listed per control in the compliance answer (the evidence pack lists all)


def control_status(evaluated: int, failed: int, automated: bool, attestation: Attestation | None) -> str:
    """Evidence first: a control whose policies ran is passed or failed by them. One without
    evidence in this scan (no policy, or none of its resources) is what its current attestation
    says (compliant: attested, non_compliant: failed, not_applicable), else manual (open) when no
    policy evidences it, or not_applicable when its policies found nothing to check."""
    if automated and evaluated:
        return "failed" if failed else "passed"
    if attestation is not None:
        return {"compliant": "attested", "non_compliant": "failed"}.get(attestation.status, "not_applicable")
    return "manual" if not automated else "not_applicable"


def _failing_by_control(
    session: Session, scan: Scan, framework, failing_policies: set[str], limit: int | None
) -> dict[str, tuple[list[str], int]]:
    """Control id -> the resources that failed any of its policies in this scan (uids, sorted, at
    most `limit`) and how many there are: one grouped query per framework."""
    pairs = [(c.id, pid) for c in framework.controls for pid in c.policy_ids if pid in failing_policies]
    if not pairs or scan.violations_purged_at is not None:
        return {}
    mapping = values(column("control_id", String), column("policy_id", String), name="mapping").data(pairs)
    uids = func.array_agg(aggregate_order_by(Violation.resource_uid.distinct(), Violation.resource_uid))
    rows = session.execute(
        select(mapping.c.control_id, func.count(Violation.resource_uid.distinct()), uids[1:limit] if limit else uids)
        .join(Violation, Violation.policy_id == mapping.c.policy_id)
        .where(Violation.scan_id == scan.id, Violation.muted_by.is_(None))
        .group_by(mapping.c.control_id)
    ).all()
    return {control_id: (list(shown), total) for control_id, total, shown in rows}


def _violations_per_policy(session: Session, scan: Scan, stats: dict) -> dict[str, int]:
    if scan.violations_purged_at is not None:  # retention deleted the rows; each failed check was one
        return {pid: failed for pid, (_, failed) in stats.items()}
    return dict(
        session.execute(
            select(Violation.policy_id, func.count())
            .where(Violation.scan_id == scan.id, Violation.muted_by.is_(None))
            .group_by(Violation.policy_id)
        ).all()
    )


def _attestation_summary(attestation: Attestation | None) -> dict[str, Any] | None:
    if attestation is None:
        return None
    return {
        "id": attestation.id,
        "status": attestation.status,
        "justification": attestation.justification,
        "valid_until": iso(attestation.valid_until),
        "attested_by": {"key_id": attestation.attested_by_key_id, "key_name": attestation.attested_by_key_name},
    }


def control_results(
    session: Session,
    scan: Scan,
    catalog: Catalog,
    framework,
    *,
    stats: dict | None = None,
    violations: dict[str, int] | None = None,
    failing_limit: int | None = FAILING_SHOWN,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Each control of `framework` in this scan: its status, the evidence behind it (policies with
    their rationale and counts, failing resources, the attestation that counts) and the tallies."""
    if stats is None:
        stats = scan_stats(session, scan.id)
    if violations is None:
        violations = _violations_per_policy(session, scan, stats)
    severities = {pid: catalog.policies[pid].severity for pid in stats if pid in catalog.policies}
    attested = current_attestations(session, scan.tenant_id, framework.id)
    failing = _failing_by_control(
        session, scan, framework, {pid for pid, (_, failed) in stats.items() if failed}, failing_limit
    )
    counts = dict.fromkeys(CONTROL_STATUSES, 0)
    controls = []
    for control in framework.controls:
        in_scan = [pid for pid in control.policy_ids if pid in stats]
        evaluated = sum(stats[pid][0] for pid in in_scan)
        failed = sum(stats[pid][1] for pid in in_scan)
        attestation = attested.get(control.id)
        status = control_status(evaluated, failed, control.automated, attestation)
        counts[status] += 1
        resources, resources_total = failing.get(control.id, ([], 0))
        if scan.violations_purged_at is not None and failed:
            resources_total = None  # retention deleted the rows that named them: unknown, not zero
        controls.append(
            {
                "id": control.id,
                "title": control.title,
                "status": status,
                "automated": control.automated,
                "policies": [
                    {
                        "id": pid,
                        "title": catalog.policies[pid].title,
                        "rationale": control.rationales.get(pid),
                        "checks_evaluated": stats.get(pid, (0, 0))[0],
                        "checks_failed": stats.get(pid, (0, 0))[1],
                    }
                    for pid in control.policy_ids
                    if pid in catalog.policies
                ],
                "score": compliance_score({pid: stats[pid] for pid in in_scan}, severities),
                "checks_evaluated": evaluated,
                "checks_failed": failed,
                "violations": sum(violations.get(pid, 0) for pid in in_scan),
                "failing_resources": resources,
                "failing_resources_total": resources_total,
                "attestation": _attestation_summary(attestation),
            }
        )
    return controls, counts


def compliance(session: Session, scan: Scan, catalog: Catalog) -> dict[str, Any]:
    """Per framework: its score (from its checked controls only), each control's status, score and
    evidence, and how many controls are automated, attested, failing or open."""
    stats = scan_stats(session, scan.id)
    violations = _violations_per_policy(session, scan, stats)
    frameworks = []
    for framework in scan_frameworks(scan, catalog):
        controls, counts = control_results(session, scan, catalog, framework, stats=stats, violations=violations)
        frameworks.append({**framework_summary(framework, controls, counts), "controls": controls})
    return {
        "scan_id": scan.id,
        "status": scan.status,
        "partial": scan.status != "completed",
        "compliance_score": scan.compliance_score,
        "frameworks": frameworks,
    }


def scan_frameworks(scan: Scan, catalog: Catalog) -> list:
    """The frameworks a scan is judged against: those it named, else each holding one of its policies."""
    if scan.frameworks:
        return [catalog.frameworks[f] for f in scan.frameworks if f in catalog.frameworks]
    return [f for f in catalog.frameworks.values() if f.policy_ids & set(scan.policy_ids)]


def framework_score(controls: list[dict[str, Any]]) -> float | None:
    """The mean of the scores of the controls its policies checked in this scan (each control the
    scan's formula over its own checks): a framework is judged control by control, as an auditor
    does, so two frameworks resting on the same policies still score by their own structure.
    Controls without checks (manual, attested, not applicable) do not count; None when none has."""
    scored = [control["score"] for control in controls if control["score"] is not None]
    return round(sum(scored) / len(scored), 1) if scored else None


def framework_summary(framework, controls: list[dict[str, Any]], counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": framework.id,
        "name": framework.name,
        "version": framework.version,
        "score": framework_score(controls),
        "controls_total": len(framework.controls),
        "controls_automated": sum(1 for c in framework.controls if c.automated),
        "controls_scored": sum(1 for c in controls if c["score"] is not None),
        **{f"controls_{status}": counts[status] for status in CONTROL_STATUSES},
    }


def resource_violations(session: Session, catalog: Catalog, resource: Resource) -> list[dict[str, Any]]:
    """A resource's violations in the last scan that saw it, for the inventory's detail view."""
    if not resource.last_scan_id:
        return []
    rows = session.scalars(
        select(Violation)
        .where(
            Violation.scan_id == resource.last_scan_id,
            Violation.account_id == resource.account_id,
            Violation.resource_uid == resource.resource_uid,
        )
        .order_by(Violation.policy_id)
    )
    return [
        {
            "policy_id": v.policy_id,
            "title": catalog.policies[v.policy_id].title if v.policy_id in catalog.policies else v.policy_id,
            "severity": v.severity,
            "status_extended": v.status_extended,
            "is_new": v.is_new,
            "scan_id": v.scan_id,
            "finding_id": finding_id(v.fingerprint),
            "muted": {"rule_id": v.muted_by} if v.muted_by else None,
        }
        for v in rows
    ]


SCANS_SHOWN = 50  # the latest scans that saw a finding, in its detail


def finding_scans(session: Session, tenant_id: str, fingerprint: str) -> list[dict[str, Any]]:
    """The latest scans whose violations include the finding (its fingerprint), newest first."""
    rows = session.execute(
        select(Violation.scan_id, Scan.completed_at, Violation.muted_by)
        .join(Scan, Scan.id == Violation.scan_id)
        .where(Violation.fingerprint == fingerprint, Scan.tenant_id == tenant_id)
        .order_by(Violation.id.desc())
        .limit(SCANS_SHOWN)
    ).all()
    return [
        {"scan_id": scan_id, "completed_at": iso(completed_at), "muted": muted_by is not None}
        for scan_id, completed_at, muted_by in rows
    ]
