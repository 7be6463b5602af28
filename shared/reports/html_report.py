"""The HTML report: one self-contained page an auditor can read and print (inline CSS, charts drawn
here as inline SVG, no script, no external URL), rendered by an autoescaping Jinja2 template and
streamed policy by policy."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from datetime import datetime
from operator import attrgetter
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from shared.platform.durations import format_effort
from shared.policies.severities import SEVERITIES
from shared.reports.base import ScanReport, report_format

# What the page may load: nothing but its own inline styles and data: images. Anything else a
# browser refuses (and says so in its console, which the browser test checks).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
)
BANNERS = {
    "partial": "Partial results: some listings failed, so resources in them were not checked.",
    "cancelled": "Cancelled: the scan was stopped before it finished; these are partial results.",
    "timed_out": "Timed out: the scan ran past its time limit; these are partial results.",
    "failed": "Failed: the scan could not evaluate the estate; the results below are not a compliance verdict.",
}
# The trend chart's geometry, in SVG user units.
CHART_WIDTH, CHART_HEIGHT = 720, 230
CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 44, 16, 22, 48
BAR_WIDTH = 460
SEVERITY_COLORS = {"critical": "#8e1b1b", "high": "#c2410c", "medium": "#a16207", "low": "#2f6f8f"}  # as the CSS


@functools.cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("shared.reports.service", "templates"),
        autoescape=True,  # every value is text, never markup: resource names come from the cloud
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def trend_chart(trend: list[dict[str, Any]]) -> dict[str, Any]:
    """Points, line and axes of the score trend, evenly spaced oldest to newest on a 0-100 scale."""
    plot_width = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    step = plot_width / max(1, len(trend))
    points = []
    for index, entry in enumerate(trend):
        score = entry["compliance_score"]
        created = datetime.fromisoformat(entry["created_at"])
        points.append(
            {
                **entry,
                "x": round(CHART_LEFT + (index + 0.5) * step, 1),
                "y": None if score is None else round(CHART_TOP + (100 - score) / 100 * plot_height, 1),
                "date": created.strftime("%b %d"),
                "time": created.strftime("%H:%M"),
            }
        )
    scored = [p for p in points if p["y"] is not None]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_RIGHT,
        "baseline": CHART_TOP + plot_height,
        "grid": [{"value": v, "y": round(CHART_TOP + (100 - v) / 100 * plot_height, 1)} for v in (0, 25, 50, 75, 100)],
        "points": points,
        "line": " ".join(f"{p['x']},{p['y']}" for p in scored),
        "scored": len(scored),
    }


def severity_bars(breakdown: dict[str, int]) -> list[dict[str, Any]]:
    largest = max(breakdown.values(), default=0)
    return [
        {
            "severity": severity,
            "color": SEVERITY_COLORS[severity],
            "count": breakdown.get(severity, 0),
            "width": round(BAR_WIDTH * breakdown.get(severity, 0) / largest, 1) if largest else 0,
        }
        for severity in SEVERITIES
    ]


def policy_groups(report: ScanReport) -> Iterator[dict[str, Any]]:
    """The violations policy by policy (most severe first), each with its remediation once. A
    group's rows stay a lazy stream: the page is written row by row, whatever a policy's count."""
    totals = report.policy_totals()
    for policy_id, rows in itertools.groupby(report.violations(), key=attrgetter("policy_id")):
        violations = (report.render_violation(row) for row in rows)
        first = next(violations)
        count, effort_minutes = totals[policy_id]
        yield {
            "policy_id": policy_id,
            "title": first["title"],
            "severity": first["severity"],
            "remediation": first["remediation"],
            "controls": report.requirements(first["frameworks"]),
            "count": count,
            "effort_total": format_effort(effort_minutes),
            "violations": itertools.chain([first], violations),
        }


def context(report: ScanReport) -> dict[str, Any]:
    details = report.details
    return {
        "report": report,
        "scan": details,
        "results": details["results"],
        "remediation": details["remediation"],
        "state": report.state,
        "banner": BANNERS.get(report.state),
        "accounts": list(report.accounts.values()),
        "framework_names": [framework["name"] for framework in report.compliance["frameworks"]],
        "policies_evaluated": len(report.scan.policy_ids),
        "compliance": report.compliance,
        "chart": trend_chart(report.trend),
        "bars": severity_bars(details["results"]["violation_breakdown"]),
        "groups": policy_groups(report),
        "generated_at": report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
    }


@report_format(
    "html",
    media_type="text/html; charset=utf-8",
    extension="html",
    inline=True,
    headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
)
def render_html(report: ScanReport) -> Iterator[str]:
    yield from environment().get_template("report.html").generate(**context(report))
