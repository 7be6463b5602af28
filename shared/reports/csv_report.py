"""The CSV report: one row per violation, for spreadsheets and ticketing imports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from shared.reports.base import ScanReport, report_format

COLUMNS = (
    "scan_id",
    "scan_state",
    "violation_id",
    "severity",
    "policy_id",
    "title",
    "status_extended",
    "is_new",
    "provider",
    "account_id",
    "account_name",
    "region",
    "resource_type",
    "resource_uid",
    "resource_name",
    "frameworks",
    "remediation",
    "effort",
    "remediation_action",
    "remediation_status",
    "muted_by",
)
# A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection): resource
# names come from the cloud, so such cells are written with a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def frameworks_cell(mappings: dict[str, list[str]]) -> str:
    """`soc2 CC6.1 CC6.7; hipaa 164.312(a)(2)(iv)`."""
    return "; ".join(f"{framework} {' '.join(controls)}" for framework, controls in mappings.items())


@report_format("csv", media_type="text/csv; charset=utf-8", extension="csv")
def render_csv(report: ScanReport) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(COLUMNS)
    for row in report.violations():
        violation = report.render_violation(row)
        resource, remediation = violation["resource"], violation["remediation"]
        values = (
            report.scan.id,
            report.state,
            violation["id"],
            violation["severity"],
            violation["policy_id"],
            violation["title"],
            violation["status_extended"],
            "true" if violation["is_new"] else "false",
            resource["provider"],
            resource["account_id"],
            report.account_name(resource["account_id"]),
            resource["region"],
            resource["type"],
            resource["uid"],
            resource["name"],
            frameworks_cell(violation["frameworks"]),
            remediation["text"],
            remediation["effort"],
            remediation["action"],
            remediation["status"],
            (violation["muted"] or {}).get("rule_id"),
        )
        writer.writerow([cell(value) for value in values])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
