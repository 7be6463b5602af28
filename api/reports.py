"""/v1/scans/<id>/report: a finished scan's report as json, csv, ocsf or a printable html page; and
/v1/scans/<id>/compliance/<framework>/report: one framework's evidence pack (json, csv or html)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from api.context import base_url, load, services, tenant_id
from shared.reports import evidence
from shared.reports import service as reports

bp = Blueprint("reports", __name__, url_prefix="/v1/scans")


@bp.get("/<scan_id>/report")
def get_report(scan_id: str):
    """A finished scan's report (?format=json, csv, ocsf or html), streamed."""
    query = load(reports.ReportQuerySchema(), request.args.to_dict())
    include_muted = query["muted"] == "include"
    report = reports.render_report(
        services(), tenant_id(), scan_id, query["format"], base_url=base_url(), include_muted=include_muted
    )
    return Response(report.chunks, content_type=report.format.media_type, headers=report.headers)


@bp.get("/<scan_id>/compliance/<framework_id>/report")
def get_evidence_pack(scan_id: str, framework_id: str):
    """One framework's evidence pack for a finished scan (?format=json, csv or html), streamed."""
    query = load(evidence.EvidenceQuerySchema(), request.args.to_dict())
    pack = evidence.load_evidence_pack(services(), tenant_id(), scan_id, framework_id, base_url=base_url())
    chosen = evidence.PACK_FORMATS[query["format"]]
    return Response(
        reports.coalesce(chosen.render(pack)),
        content_type=chosen.media_type,
        headers=evidence.response_headers(pack, query["format"]),
    )
