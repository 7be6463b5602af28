"""What a finished scan does to the tenant's findings: those it saw are opened (or reopened, or
kept open), those its completed shards judged again and no longer saw are resolved, and the mute
rules in force are applied to what it saw. Set-based SQL in the finalizer's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from shared.findings.muting import FINDINGS, mute_findings, rules_in_force

# A resolved finding its scan saw again opens anew: the event says so before the upsert hides it.
REOPEN = """
INSERT INTO finding_events (finding_id, tenant_id, status, reason, scan_id, at)
SELECT f.id, f.tenant_id, 'open', 'Seen again by scan ' || :scan || ' after it was resolved', :scan, :now
FROM findings f JOIN violations v ON v.fingerprint = f.fingerprint
WHERE v.scan_id = :scan AND f.tenant_id = :tenant AND f.status = 'resolved'
"""

# One finding per (tenant, fingerprint); its public id is derived like finding_id() in models. A
# (re)opened finding points at the resource's configuration version when that was recorded since the
# scope's previous scan (`since`), by this scan or an upload: the change that introduced it. With no
# previous scan, only a first version counts (the resource appeared with it).
UPSERT = """
WITH upserted AS (
    INSERT INTO findings (
        public_id, tenant_id, fingerprint, account_id, provider, region, resource_type, resource_uid,
        resource_name, policy_id, severity, status, status_extended, first_seen_at, last_seen_at,
        status_changed_at, first_scan_id, last_scan_id, introduced_by_version_id)
    SELECT 'fnd_' || left(encode(sha256(convert_to('finding:' || v.fingerprint, 'UTF8')), 'hex'), 16),
           :tenant, v.fingerprint, v.account_id, v.provider, v.region, v.resource_type, v.resource_uid,
           v.resource_name, v.policy_id, v.severity, 'open', v.status_extended, :now, :now, :now, :scan, :scan,
           rv.id
    FROM violations v
    LEFT JOIN resources r ON r.account_id = v.account_id AND r.resource_uid = v.resource_uid
    LEFT JOIN resource_versions rv ON rv.resource_id = r.id AND rv.version = r.config_version
        AND (rv.recorded_at > CAST(:since AS timestamptz) OR (CAST(:since AS timestamptz) IS NULL AND rv.version = 1))
    WHERE v.scan_id = :scan
    ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET
        last_seen_at = excluded.last_seen_at,
        last_scan_id = excluded.last_scan_id,
        severity = excluded.severity,
        status_extended = excluded.status_extended,
        resource_name = excluded.resource_name,
        region = excluded.region,
        status = CASE WHEN findings.status = 'resolved' THEN 'open' ELSE findings.status END,
        status_changed_at = CASE WHEN findings.status = 'resolved' THEN excluded.status_changed_at
                                 ELSE findings.status_changed_at END,
        introduced_by_version_id = CASE WHEN findings.status = 'resolved' THEN excluded.introduced_by_version_id
                                        ELSE findings.introduced_by_version_id END,
        resolved_at = NULL
    RETURNING id, (xmax = 0) AS inserted
)
INSERT INTO finding_events (finding_id, tenant_id, status, reason, scan_id, at)
SELECT id, :tenant, 'open', 'First seen by scan ' || :scan, :scan, :now FROM upserted WHERE inserted
"""

# Resolved: an open or muted finding of a policy this scan ran, on a resource one of its completed
# shards covered (its account, its type, its region or the account-wide "global" shard), that the
# scan did not see: the resource passed, or is gone. A failed or partial shard resolves nothing.
RESOLVE = """
WITH resolved AS (
    UPDATE findings f SET status = 'resolved', resolved_at = :now, status_changed_at = :now, muted_by = NULL
    WHERE f.tenant_id = :tenant AND f.status IN ('open', 'muted') AND f.last_scan_id <> :scan
      AND f.policy_id = ANY(CAST(:policies AS text[]))
      AND EXISTS (
          SELECT 1 FROM scan_shards s
          WHERE s.scan_id = :scan AND s.status = 'completed' AND s.account_id = f.account_id
            AND s.resource_types ? f.resource_type AND (s.region = f.region OR s.region = 'global'))
    RETURNING f.id
)
INSERT INTO finding_events (finding_id, tenant_id, status, reason, scan_id, at)
SELECT id, :tenant, 'resolved', 'Not found by scan ' || :scan || ': the resource passed or is gone', :scan, :now
FROM resolved
"""


def record_findings(
    session: Session,
    tenant_id: str,
    scan_id: str,
    policy_ids: list[str],
    now: datetime,
    *,
    judged: bool,
    since: datetime | None,
) -> None:
    """Bring the tenant's findings up to date with a scan whose shards have all ended (`judged`:
    at least one of them completed, so it can resolve; `since`: when the scope's previous scan
    completed), and mute what the rules in force cover."""
    params = {"tenant": tenant_id, "scan": scan_id, "now": now}
    session.execute(text(REOPEN), params)
    session.execute(text(UPSERT), {**params, "since": since})
    if judged:
        session.execute(text(RESOLVE), {**params, "policies": list(policy_ids)})
    rules = rules_in_force(session, tenant_id, now)
    if rules:
        mute_findings(session, tenant_id, FINDINGS.c.last_scan_id == scan_id, rules, now)


# An account removed: its open and muted findings are closed, as no scan will judge them again.
CLOSE_ACCOUNT = """
WITH closed AS (
    UPDATE findings SET status = 'resolved', resolved_at = :now, status_changed_at = :now, muted_by = NULL
    WHERE tenant_id = :tenant AND account_id = :account AND status IN ('open', 'muted')
    RETURNING id
)
INSERT INTO finding_events (finding_id, tenant_id, status, reason, at)
SELECT id, :tenant, 'resolved', 'Its account ' || :account || ' was removed', :now FROM closed
"""


def close_account_findings(session: Session, tenant_id: str, account_id: str, now: datetime) -> int:
    """Resolve the findings of a removed account, each with its reason; returns how many."""
    return session.execute(text(CLOSE_ACCOUNT), {"tenant": tenant_id, "account": account_id, "now": now}).rowcount
