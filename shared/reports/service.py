"""Rendering a scan's report in the format asked for, as a lazy stream of text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from marshmallow import RAISE, Schema, fields, validate

from shared.platform.context import Services
from shared.reports import csv_report, html_report, json_report, ocsf  # noqa: F401  (they register the formats)
from shared.reports.base import ReportFormat, ScanReport, formats, load_report

__all__ = ["FORMATS", "RenderedReport", "ReportQuerySchema", "ScanReport", "formats", "load_report", "render_report"]

FORMATS = tuple(formats)  # json, csv, ocsf, html
CHUNK_SIZE = 64 * 1024  # bytes-ish per write to the client: few syscalls, flat memory


class ReportQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    format = fields.String(
        load_default="json",
        validate=validate.OneOf(FORMATS),
        metadata={"description": "json (default), csv, ocsf (OCSF 1.1 Compliance Findings) or html"},
    )
    muted = fields.String(
        load_default="include",
        validate=validate.OneOf(("include", "exclude")),
        metadata={"description": "violations mute rules cover: listed as muted (OCSF Suppressed), or left out"},
    )


@dataclass(frozen=True)
class RenderedReport:
    format: ReportFormat
    scan_id: str
    chunks: Iterator[str]

    @property
    def filename(self) -> str:
        return f"policycortex-{self.scan_id}.{self.format.extension}"

    @property
    def headers(self) -> dict[str, str]:
        disposition = "inline" if self.format.inline else "attachment"
        return {
            "Content-Disposition": f'{disposition}; filename="{self.filename}"',
            "X-Content-Type-Options": "nosniff",
            **dict(self.format.headers),
        }


def coalesce(chunks: Iterable[str], size: int = CHUNK_SIZE) -> Iterator[str]:
    """Join small chunks into writes of about `size` characters."""
    pending: list[str] = []
    length = 0
    for chunk in chunks:
        pending.append(chunk)
        length += len(chunk)
        if length >= size:
            yield "".join(pending)
            pending, length = [], 0
    if pending:
        yield "".join(pending)


def render_report(
    svc: Services, tenant_id: str, scan_id: str, format_name: str, *, base_url: str, include_muted: bool = True
) -> RenderedReport:
    """Load the scan's report now (so a missing or running scan fails before anything is sent) and
    return its document as a lazy stream of text."""
    report_format = formats.get(format_name)
    report = load_report(svc, tenant_id, scan_id, base_url=base_url, include_muted=include_muted)
    return RenderedReport(report_format, report.scan.id, coalesce(report_format.render(report)))
