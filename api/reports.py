"""/v1/scans/<id>/report: a finished scan's report as json, csv, ocsf or a printable html page."""

from __future__ import annotations

from flask import Blueprint, Response, request

from api.context import base_url, load, services, tenant_id
from shared.reports import service as reports

bp = Blueprint("reports", __name__, url_prefix="/v1/scans")


@bp.get("/<scan_id>/report")
def get_report(scan_id: str):
    """A finished scan's report (?format=json, csv, ocsf or html), streamed."""
    query = load(reports.ReportQuerySchema(), request.args.to_dict())
    report = reports.render_report(services(), tenant_id(), scan_id, query["format"], base_url=base_url())
    return Response(report.chunks, content_type=report.format.media_type, headers=report.headers)
