"""/v1/scans: trigger, list, inspect and cancel scans."""

from __future__ import annotations

from flask import Blueprint, request

from api.context import base_url, json_body, load, pagination, services, tenant_id
from api.idempotency import idempotent
from shared.catalog.service import catalog_for
from shared.platform.errors import InvalidScanConfig
from shared.scans import remediate, render, results, service
from shared.scans.schemas import ScanListQuerySchema, ScanRequestSchema

bp = Blueprint("scans", __name__, url_prefix="/v1/scans")


@bp.post("")
@idempotent
def trigger_scan():
    body = load(ScanRequestSchema(), json_body(), InvalidScanConfig)
    scan = service.create_scan(services(), tenant_id(), body)
    with services().db.session() as session:
        position = service.queue_position(session, scan)
    return render.created(scan, queue_position=position, base_url=base_url()), 202


@bp.get("")
def list_scans():
    query = load(ScanListQuerySchema(), request.args.to_dict())
    with services().db.session() as session:
        scans, total = service.list_scans(session, tenant_id(), query)
    counts = render.live_counts(services().redis, scans)
    return {
        "scans": [render.list_item(scan, counts[scan.id]) for scan in scans],
        "pagination": pagination(total, query["limit"], query["offset"], len(scans)),
    }


@bp.get("/<scan_id>")
def get_scan(scan_id: str):
    with services().db.session() as session:
        scan = service.get_scan(session, tenant_id(), scan_id)
        position = service.queue_position(session, scan)
    counts = render.live_counts(services().redis, [scan])[scan.id]
    return render.details(scan, counts, queue_position=position, base_url=base_url())


@bp.delete("/<scan_id>")
def cancel_scan(scan_id: str):
    scan = service.cancel_scan(services(), tenant_id(), scan_id)
    counts = render.live_counts(services().redis, [scan])[scan.id]
    return render.cancelled(scan, counts)


@bp.get("/<scan_id>/violations")
def list_violations(scan_id: str):
    query = load(results.ViolationQuerySchema(), request.args.to_dict())
    with services().db.session() as session:
        scan = service.get_scan(session, tenant_id(), scan_id)
        catalog = catalog_for(session, scan.tenant_id)
        after = results.decode_cursor(services().vault, scan.id, query.get("cursor"))
        rows, total, more = results.list_violations(session, scan, catalog, query, after, cache=services().redis)
    return {
        "violations": results.render_violations(rows, catalog),
        "pagination": {
            "total": total,
            "limit": query["limit"],
            "has_more": more,
            "next_cursor": results.encode_cursor(services().vault, scan.id, rows[-1].id) if more else None,
        },
    }


@bp.get("/<scan_id>/compliance")
def get_compliance(scan_id: str):
    with services().db.session() as session:
        scan = service.get_scan(session, tenant_id(), scan_id)
        return results.compliance(session, scan, catalog_for(session, scan.tenant_id))


@bp.get("/<scan_id>/remediations")
def list_remediations(scan_id: str):
    with services().db.session() as session:
        scan = service.get_scan(session, tenant_id(), scan_id)
        return {"remediations": remediate.attempts(session, scan.id)}
