"""The evidence pack: one framework as one finished scan saw it, for an auditor. Per control: its
status, the policies behind it with the rationale of each mapping, every failing resource, and the
attestation that counts with its evidence links; as json, csv or a printable html page, streamed
(a control's failing resources are read through one server-side cursor, never all at once)."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from marshmallow import fields, validate
from sqlalchemy import Integer, String, column, func, select, values
from sqlalchemy.dialects.postgresql import aggregate_order_by

from shared.attestations import service as attestations
from shared.catalog.service import catalog_for
from shared.frameworks.library import Framework
from shared.platform.context import Services
from shared.platform.db import Database, utcnow
from shared.platform.durations import iso
from shared.platform.errors import Conflict, NotFound
from shared.platform.schemas import Closed
from shared.reports.csv_report import cell
from shared.reports.html_report import BANNERS, CONTENT_SECURITY_POLICY, environment
from shared.scans import results, service
from shared.scans.models import Scan, Violation
from shared.scans.schemas import TERMINAL_STATUSES
from shared.scans.summary import scan_stats

FORMAT_VERSION = 1
STREAM_BATCH = 1000
CONTROL_FIELDS = ("section", "requirement", "level", "assessment", "coverage")
RESOURCE_KEYS = ("uid", "name", "type", "provider", "account_id", "region")


class EvidenceQuerySchema(Closed):
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(("json", "csv", "html")),
        metadata={"description": "json (default), csv (a row per control and failing resource) or html"},
    )


@dataclass
class EvidencePack:
    scan: Scan
    state: str  # completed, partial, cancelled, timed_out or failed (as the scan report says)
    framework: Framework
    summary: dict[str, Any]  # score and control counts, as GET /v1/scans/<id>/compliance
    controls: list[dict[str, Any]]  # each control's status and evidence, without its failing resources
    failing_policies: list[tuple[str, str]]  # (control id, policy id) pairs whose policy failed
    generated_at: datetime
    db: Database

    @property
    def filename_stem(self) -> str:
        return f"policycortex-{self.scan.id}-{self.framework.id}-evidence"

    def _failing(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(control id, resource) for every resource failing a control's policies, control by
        control in the framework's order, resources by uid: one streamed, grouped query."""
        if not self.failing_policies or self.scan.violations_purged_at is not None:
            return
        order = {c.id: index for index, c in enumerate(self.framework.controls)}
        mapping = values(
            column("ordinal", Integer), column("control_id", String), column("policy_id", String), name="mapping"
        ).data([(order[c], c, p) for c, p in self.failing_policies])
        query = (
            select(
                mapping.c.ordinal,
                mapping.c.control_id,
                Violation.account_id,
                Violation.resource_uid,
                func.min(Violation.resource_name),
                func.min(Violation.resource_type),
                func.min(Violation.provider),
                func.min(Violation.region),
                func.array_agg(aggregate_order_by(Violation.policy_id.distinct(), Violation.policy_id)),
            )
            .join(Violation, Violation.policy_id == mapping.c.policy_id)
            .where(Violation.scan_id == self.scan.id)
            .group_by(mapping.c.ordinal, mapping.c.control_id, Violation.account_id, Violation.resource_uid)
            .order_by(mapping.c.ordinal, Violation.resource_uid, Violation.account_id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        with self.db.session() as session:
            for _, control_id, account_id, uid, name, kind, provider, region, policies in session.execute(query):
                resource = dict(zip(RESOURCE_KEYS, (uid, name, kind, provider, account_id, region), strict=True))
                yield control_id, {**resource, "policies": list(policies)}

    def controls_with_resources(self) -> Iterator[dict[str, Any]]:
        """Each control with `resources`: a lazy iterator over its failing resources (consume it
        before asking for the next control)."""
        groups = itertools.groupby(self._failing(), key=itemgetter(0))
        pending = next(groups, None)
        for control in self.controls:
            if pending is not None and pending[0] == control["id"]:
                yield {**control, "resources": (resource for _, resource in pending[1])}
                pending = next(groups, None)
            else:
                yield {**control, "resources": iter(())}


def load_evidence_pack(
    svc: Services, tenant_id: str, scan_id: str, framework_id: str, *, base_url: str
) -> EvidencePack:
    """404 for an unknown or another tenant's scan or framework, 409 while the scan is not finished."""
    with svc.db.session() as session:
        scan = service.get_scan(session, tenant_id, scan_id)
        if scan.status not in TERMINAL_STATUSES:
            raise Conflict(f"Scan {scan_id} is {scan.status}; its evidence pack is available once it ends")
        catalog = catalog_for(session, tenant_id)
        framework = catalog.frameworks.get(framework_id)
        if framework is None:
            raise NotFound(f"Framework {framework_id} does not exist")
        stats = scan_stats(session, scan.id)
        controls, counts = results.control_results(session, scan, catalog, framework, stats=stats, failing_limit=1)
        attested = attestations.current_attestations(session, tenant_id, framework.id)
    by_id = {c.id: c for c in framework.controls}
    for control in controls:
        definition = by_id[control["id"]]
        control.update({name: getattr(definition, name) for name in CONTROL_FIELDS})
        del control["failing_resources"]  # the pack lists them all, streamed
        attestation = attested.get(control["id"])
        control["attestation"] = (
            None if attestation is None else attestations.render(attestation, None, base_url=base_url)
        )
    failing = [(c.id, pid) for c in framework.controls for pid in c.policy_ids if stats.get(pid, (0, 0))[1]]
    errors = (scan.results or {}).get("errors") or []
    state = ("partial" if errors else "completed") if scan.status == "completed" else scan.status
    return EvidencePack(
        scan=scan,
        state=state,
        framework=framework,
        summary={**results.framework_summary(framework, controls, counts), "source": framework.source},
        controls=controls,
        failing_policies=failing,
        generated_at=utcnow(),
        db=svc.db,
    )


def _scan_summary(pack: EvidencePack) -> dict[str, Any]:
    scan = pack.scan
    return {
        "id": scan.id,
        "name": scan.name,
        "status": scan.status,
        "state": pack.state,
        "environment": scan.environment,
        "cloud_providers": scan.cloud_providers,
        "created_at": iso(scan.created_at),
        "completed_at": iso(scan.completed_at),
        "compliance_score": scan.compliance_score,
    }


def render_json(pack: EvidencePack) -> Iterator[str]:
    head = {
        "report": {
            "kind": "evidence_pack",
            "version": FORMAT_VERSION,
            "generated_at": iso(pack.generated_at),
            "state": pack.state,
            "partial": pack.state != "completed",
        },
        "scan": _scan_summary(pack),
        "framework": pack.summary,
    }
    opening = json.dumps(head, indent=2)
    yield opening[: opening.rindex("}")].rstrip() + ',\n  "controls": ['
    separator = "\n    "
    for control in pack.controls_with_resources():
        resources = control.pop("resources")
        text = json.dumps(control)
        yield separator + text[:-1] + ', "failing_resources": ['
        yield ", ".join(json.dumps(resource) for resource in resources)
        yield "]}"
        separator = ",\n    "
    yield "\n  ]\n}\n"


CSV_COLUMNS = (
    "scan_id",
    "scan_state",
    "framework",
    "framework_version",
    "control_id",
    "control_title",
    "section",
    "requirement",
    "level",
    "coverage",
    "status",
    "control_score",
    "policies",
    "rationale",
    "checks_evaluated",
    "checks_failed",
    "failing_resources_total",
    "resource_uid",
    "resource_name",
    "resource_type",
    "provider",
    "account_id",
    "region",
    "failed_policies",
    "attestation_id",
    "attestation_status",
    "attestation_justification",
    "attestation_valid_until",
    "attested_by",
    "evidence_text",
    "evidence_url",
    "evidence_file_url",
    "evidence_file_sha256",
)


def _attestation_cells(attestation: dict[str, Any] | None) -> tuple:
    if attestation is None:
        return ("",) * 9
    evidence, by = attestation["evidence"], attestation["attested_by"]
    file = evidence["file"] or {}
    return (
        attestation["id"],
        attestation["status"],
        attestation["justification"],
        attestation["valid_until"],
        f"{by['key_name']} ({by['key_id']})",
        evidence["text"],
        evidence["url"],
        file.get("download_url"),
        file.get("sha256"),
    )


def render_csv(pack: EvidencePack) -> Iterator[str]:
    """A row per control and failing resource (a control with none has one row without a resource)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for control in pack.controls_with_resources():
        policies = control["policies"]
        head = (
            pack.scan.id,
            pack.state,
            pack.framework.id,
            pack.framework.version,
            control["id"],
            control["title"],
            control["section"],
            control["requirement"],
            control["level"],
            control["coverage"],
            control["status"],
            control["score"],
            " ".join(p["id"] for p in policies),
            "; ".join(f"{p['id']}: {p['rationale']}" for p in policies if p["rationale"]),
            control["checks_evaluated"],
            control["checks_failed"],
            control["failing_resources_total"],
        )
        tail = _attestation_cells(control["attestation"])
        written = False
        for r in control["resources"]:
            resource = (*(r[key] for key in RESOURCE_KEYS), " ".join(r["policies"]))
            writer.writerow([cell(value) for value in (*head, *resource, *tail)])
            written = True
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        if not written:
            writer.writerow([cell(value) for value in (*head, *("",) * (len(RESOURCE_KEYS) + 1), *tail)])
    yield buffer.getvalue()


def render_html(pack: EvidencePack) -> Iterator[str]:
    yield from (
        environment()
        .get_template("evidence.html")
        .generate(
            pack=pack,
            scan=_scan_summary(pack),
            framework=pack.summary,
            banner=BANNERS.get(pack.state),
            controls=pack.controls_with_resources(),
            generated_at=pack.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        )
    )


@dataclass(frozen=True)
class PackFormat:
    media_type: str
    extension: str
    inline: bool
    render: Callable[[EvidencePack], Iterator[str]]
    headers: tuple[tuple[str, str], ...] = ()


PACK_FORMATS = {
    "json": PackFormat("application/json", "json", True, render_json),
    "csv": PackFormat("text/csv; charset=utf-8", "csv", False, render_csv),
    "html": PackFormat(
        "text/html; charset=utf-8", "html", True, render_html, (("Content-Security-Policy", CONTENT_SECURITY_POLICY),)
    ),
}


def response_headers(pack: EvidencePack, format_name: str) -> dict[str, str]:
    chosen = PACK_FORMATS[format_name]
    disposition = "inline" if chosen.inline else "attachment"
    return {
        "Content-Disposition": f'{disposition}; filename="{pack.filename_stem}.{chosen.extension}"',
        "X-Content-Type-Options": "nosniff",
        **dict(chosen.headers),
    }
