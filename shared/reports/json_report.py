"""The JSON report: the scan, its scope, compliance per framework, score trend and every violation,
each part shaped as the API renders it, streamed so that a large scan is never one big string."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from shared.platform.durations import iso
from shared.reports.base import ScanReport, report_format

FORMAT_VERSION = 1


def head(report: ScanReport) -> dict[str, Any]:
    """Everything but the violations."""
    return {
        "report": {
            "version": FORMAT_VERSION,
            "generated_at": iso(report.generated_at),
            "state": report.state,
            "partial": report.partial,
        },
        "scan": report.details,
        "accounts": list(report.accounts.values()),
        "compliance": report.compliance,
        "trend": report.trend,
    }


@report_format("json", media_type="application/json", extension="json", inline=True)
def render_json(report: ScanReport) -> Iterator[str]:
    opening = json.dumps(head(report), indent=2)
    yield opening[: opening.rindex("}")].rstrip() + ',\n  "violations": ['
    separator = "\n    "
    for row in report.violations():
        yield separator + json.dumps(report.render_violation(row))
        separator = ",\n    "
    yield "\n  ]\n}\n"
