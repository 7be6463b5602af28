"""What every report format renders: one finished scan's summary, scope, compliance, score trend and
violations, loaded once; and the registry of formats that turn it into a streamed document."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select

from shared.accounts.models import CloudAccount
from shared.catalog.service import Catalog, catalog_for
from shared.platform.context import Services
from shared.platform.db import Database, utcnow
from shared.platform.errors import Conflict
from shared.platform.registry import Registry
from shared.policies.severities import SEVERITIES
from shared.scans import render, results, service
from shared.scans.models import Scan, Violation
from shared.scans.schemas import TERMINAL_STATUSES

TREND_POINTS = 12  # this scan and the finished scans of its scope before it
STREAM_BATCH = 1000  # violations fetched per round trip of the server-side cursor
SEVERITY_RANK = case({severity: rank for rank, severity in enumerate(SEVERITIES)}, value=Violation.severity, else_=9)


@dataclass
class ScanReport:
    """A finished scan as the reports show it. Everything but the violations is loaded up front (a
    missing scan or one still running fails before a byte is sent); the violations are streamed."""

    scan: Scan
    details: dict[str, Any]  # GET /v1/scans/<id>, as the API renders it
    compliance: dict[str, Any]  # GET /v1/scans/<id>/compliance
    accounts: dict[str, dict[str, Any]]  # the scan's target accounts by id
    trend: list[dict[str, Any]]  # oldest first, this scan last
    catalog: Catalog
    generated_at: datetime
    db: Database
    # Violations mute rules cover are listed (marked muted; OCSF status Suppressed) unless left out.
    include_muted: bool = True

    def _kept(self) -> list:
        return [] if self.include_muted else [Violation.muted_by.is_(None)]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.details["results"]["errors"]

    @property
    def state(self) -> str:
        """`completed`, or what makes the results incomplete: `partial` (completed with errors in
        some shards), `cancelled`, `timed_out` or `failed`."""
        if self.scan.status == "completed":
            return "partial" if self.errors else "completed"
        return self.scan.status

    @property
    def partial(self) -> bool:
        return self.state != "completed"

    def account_name(self, account_id: str) -> str:
        account = self.accounts.get(account_id)
        return account["name"] if account else account_id

    def framework_name(self, framework_id: str) -> str:
        framework = self.catalog.frameworks.get(framework_id)
        return framework.name if framework else framework_id

    def requirements(self, mappings: dict[str, list[str]]) -> list[str]:
        """A violation's framework controls as `SOC 2 CC6.1`, from its `frameworks` mapping."""
        return [f"{self.framework_name(fid)} {control}" for fid, controls in mappings.items() for control in controls]

    def violations(self) -> Iterator[Violation]:
        """Every violation, most severe first, grouped by policy, through one server-side cursor:
        however large the scan, one batch at a time is in memory. Opened lazily, when the response is sent."""
        query = (
            select(Violation)
            .where(Violation.scan_id == self.scan.id, *self._kept())
            .order_by(SEVERITY_RANK, Violation.policy_id, Violation.resource_uid, Violation.id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        with self.db.session() as session:
            yield from session.scalars(query)

    def policy_totals(self) -> dict[str, tuple[int, int]]:
        """Violations and effort minutes per policy (of those the report lists)."""
        with self.db.session() as session:
            rows = session.execute(
                select(Violation.policy_id, func.count(), func.sum(Violation.effort_minutes))
                .where(Violation.scan_id == self.scan.id, *self._kept())
                .group_by(Violation.policy_id)
            )
            return {policy_id: (count, int(effort)) for policy_id, count, effort in rows}

    def render_violation(self, row: Violation) -> dict[str, Any]:
        """A violation as GET /v1/scans/<id>/violations renders it."""
        return results.render_violation(row, self.catalog)


def load_report(
    svc: Services, tenant_id: str, scan_id: str, *, base_url: str, include_muted: bool = True
) -> ScanReport:
    """The report of a finished scan of the tenant: 404 for an unknown or another tenant's scan,
    409 while it is pending or running (its results are not derived yet)."""
    with svc.db.session() as session:
        scan = service.get_scan(session, tenant_id, scan_id)
        if scan.status not in TERMINAL_STATUSES:
            raise Conflict(f"Scan {scan_id} is {scan.status}; its report is available once it ends")
        catalog = catalog_for(session, tenant_id)
        compliance = results.compliance(session, scan, catalog)
        accounts = {
            account.id: {
                "id": account.id,
                "name": account.name,
                "provider": account.provider,
                "environment": account.environment,
                "regions": account.regions,
            }
            for account in session.scalars(
                select(CloudAccount).where(CloudAccount.id.in_(scan.account_ids)).order_by(CloudAccount.name)
            )
        }
        trend = _trend(session, scan)
    counts = render.live_counts(svc.redis, [scan])[scan.id]
    return ScanReport(
        scan=scan,
        details=render.details(scan, counts, queue_position=0, base_url=base_url),
        compliance=compliance,
        accounts=accounts,
        trend=trend,
        catalog=catalog,
        generated_at=utcnow(),
        db=svc.db,
        include_muted=include_muted,
    )


def _trend(session, scan: Scan) -> list[dict[str, Any]]:
    """The score of this scan and of the finished, scored scans of the same scope before it."""
    rows = session.execute(
        select(Scan.id, Scan.status, Scan.created_at, Scan.compliance_score)
        .where(
            Scan.tenant_id == scan.tenant_id,
            Scan.scope_key == scan.scope_key,
            Scan.status.in_(TERMINAL_STATUSES),
            Scan.created_at <= scan.created_at,
            or_(Scan.compliance_score.is_not(None), Scan.id == scan.id),
        )
        .order_by(Scan.created_at.desc(), Scan.id.desc())
        .limit(TREND_POINTS)
    ).all()
    return [
        {
            "scan_id": row.id,
            "status": row.status,
            "created_at": render.iso(row.created_at),
            "compliance_score": row.compliance_score,
            "current": row.id == scan.id,
        }
        for row in reversed(rows)
    ]


@dataclass(frozen=True)
class ReportFormat:
    name: str
    media_type: str
    extension: str
    inline: bool  # shown by a browser (json, html) rather than saved (csv, ocsf)
    render: Callable[[ScanReport], Iterator[str]]
    headers: tuple[tuple[str, str], ...] = ()


formats: Registry[ReportFormat] = Registry("report format")


def report_format(
    name: str, *, media_type: str, extension: str, inline: bool = False, headers: dict[str, str] | None = None
) -> Callable[[Callable[[ScanReport], Iterator[str]]], Callable[[ScanReport], Iterator[str]]]:
    """Register a function that renders a ScanReport as chunks of text under a format name."""

    def decorate(render_chunks: Callable[[ScanReport], Iterator[str]]) -> Callable[[ScanReport], Iterator[str]]:
        formats.register(name)(
            ReportFormat(name, media_type, extension, inline, render_chunks, tuple((headers or {}).items()))
        )
        return render_chunks

    return decorate
