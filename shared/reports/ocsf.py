"""The OCSF report: one OCSF 1.1 Compliance Finding (class 2003, category Findings) per violation,
as a JSON array, for security data lakes and SIEMs (Amazon Security Lake, Splunk, ...).

Mapping: `finding_info.uid` is the violation's fingerprint, the same for the same finding in every
scan, so a finding first seen in this scan is a Create (activity 1) and one carried over from the
previous scan of the scope an Update (2). `compliance.control` is the policy that checks the
requirements (`compliance.requirements`) of the frameworks (`compliance.standards`)."""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from shared.reports.base import ScanReport, report_format
from shared.scans.models import Violation

OCSF_VERSION = "1.1.0"
CATEGORY_UID, CATEGORY_NAME = 2, "Findings"
CLASS_UID, CLASS_NAME = 2003, "Compliance Finding"
ACTIVITIES = {True: (1, "Create"), False: (2, "Update")}  # by is_new
SEVERITY_IDS = {"low": (2, "Low"), "medium": (3, "Medium"), "high": (4, "High"), "critical": (5, "Critical")}
STATUS_NEW, STATUS_SUPPRESSED, STATUS_RESOLVED = (1, "New"), (3, "Suppressed"), (4, "Resolved")
COMPLIANCE_FAIL = (3, "Fail")
# provider -> (cloud.provider, account.type_id, account.type)
CLOUDS = {
    "aws": ("AWS", 10, "AWS Account"),
    "azure": ("Azure", 13, "Azure Subscription"),
    "gcp": ("GCP", 11, "GCP Project"),
}


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def product() -> dict[str, str]:
    return {
        "name": "PolicyCortex",
        "vendor_name": "PolicyCortex",
        "version": importlib.metadata.version("policycortex"),
    }


def finding(report: ScanReport, row: Violation, product_info: dict[str, str]) -> dict[str, Any]:
    violation = report.render_violation(row)
    resource, remediation = violation["resource"], violation["remediation"]
    activity_id, activity = ACTIVITIES[row.is_new is not False]
    severity_id, severity = SEVERITY_IDS.get(row.severity, (99, row.severity))
    if row.remediation_status == "fixed":
        status_id, status = STATUS_RESOLVED
    else:
        status_id, status = STATUS_SUPPRESSED if row.muted_by else STATUS_NEW
    provider, account_type_id, account_type = CLOUDS.get(row.provider, (row.provider, 99, "Inventory"))
    detected = epoch_ms(row.created_at)
    document: dict[str, Any] = {
        "activity_id": activity_id,
        "activity_name": activity,
        "category_uid": CATEGORY_UID,
        "category_name": CATEGORY_NAME,
        "class_uid": CLASS_UID,
        "class_name": CLASS_NAME,
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": f"{CLASS_NAME}: {activity}",
        "time": detected,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        **({"status_detail": f"Muted by rule {row.muted_by}"} if row.muted_by else {}),
        "message": row.status_extended,
        "metadata": {
            "version": OCSF_VERSION,
            "product": product_info,
            "profiles": ["cloud"],
            "uid": violation["id"],
            "correlation_uid": report.scan.id,
            "event_code": row.policy_id,
        },
        "finding_info": {
            "uid": row.fingerprint,
            "title": violation["title"],
            "desc": row.status_extended,
            "types": ["Compliance"],
            "created_time": detected,
        },
        "compliance": {
            "standards": [report.framework_name(framework_id) for framework_id in violation["frameworks"]],
            "requirements": report.requirements(violation["frameworks"]),
            "control": row.policy_id,
            "status_id": COMPLIANCE_FAIL[0],
            "status": COMPLIANCE_FAIL[1],
            "status_detail": row.status_extended,
        },
        "resources": [
            {
                "uid": resource["uid"],
                "name": resource["name"],
                "type": resource["type"],
                "region": resource["region"],
            }
        ],
        "cloud": {
            "provider": provider,
            "region": resource["region"],
            "account": {
                "uid": resource["account_id"],
                "name": report.account_name(resource["account_id"]),
                "type_id": account_type_id,
                "type": account_type,
            },
        },
        "unmapped": {
            "scan_state": report.state,
            "remediation_effort": remediation["effort"],
            "remediation_action": remediation["action"],
            "remediation_status": remediation["status"],
        },
    }
    if remediation["text"]:
        document["remediation"] = {"desc": remediation["text"]}
    return document


@report_format("ocsf", media_type="application/json", extension="ocsf.json")
def render_ocsf(report: ScanReport) -> Iterator[str]:
    product_info = product()
    separator = "[\n"
    for row in report.violations():
        yield separator + json.dumps(finding(report, row, product_info))
        separator = ",\n"
    yield "[]\n" if separator == "[\n" else "\n]\n"
