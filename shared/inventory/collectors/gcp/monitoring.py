"""Cloud Monitoring: alert policies, and each project's log-based alerts (a log metric for an
event, watched by an enabled alert policy), the CIS "changes raise a log-based alert" evidence."""

from __future__ import annotations

import re

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import PROJECT_ASSET_TYPE, GcpResource

LOG_METRIC_ASSET_TYPE = "logging.googleapis.com/LogMetric"
ALERT_POLICY_ASSET_TYPE = "monitoring.googleapis.com/AlertPolicy"

# Event -> what a log metric's filter must contain (compared without spaces or case) to count
# every such change: the CIS Google Cloud Platform Foundation 2.0 filters, section 2.4 to 2.11.
EVENTS: dict[str, tuple[str, ...]] = {
    "projectOwnership": (
        'protoPayload.serviceName="cloudresourcemanager.googleapis.com"',
        "ProjectOwnership",
        "projectOwnerInvitee",
        'protoPayload.serviceData.policyDelta.bindingDeltas.action="REMOVE"',
        'protoPayload.serviceData.policyDelta.bindingDeltas.action="ADD"',
        'protoPayload.serviceData.policyDelta.bindingDeltas.role="roles/owner"',
    ),
    "auditConfiguration": (
        'protoPayload.methodName="SetIamPolicy"',
        "protoPayload.serviceData.policyDelta.auditConfigDeltas:*",
    ),
    "customRoles": (
        'resource.type="iam_role"',
        "google.iam.admin.v1.CreateRole",
        "google.iam.admin.v1.DeleteRole",
        "google.iam.admin.v1.UpdateRole",
    ),
    "firewallRules": (
        'resource.type="gce_firewall_rule"',
        "compute.firewalls.patch",
        "compute.firewalls.insert",
        "compute.firewalls.delete",
    ),
    "routes": ('resource.type="gce_route"', "compute.routes.delete", "compute.routes.insert"),
    "networks": (
        'resource.type="gce_network"',
        "compute.networks.insert",
        "compute.networks.patch",
        "compute.networks.delete",
        "compute.networks.removePeering",
        "compute.networks.addPeering",
    ),
    "storageIam": ('resource.type="gcs_bucket"', 'protoPayload.methodName="storage.setIamPermissions"'),
    "sqlConfiguration": ('protoPayload.methodName="cloudsql.instances.update"',),
}
METRIC_TYPE = re.compile(r'metric\.type\s*=\s*"logging\.googleapis\.com/user/([^"]+)"')


def _squeezed(text: object) -> str:
    return re.sub(r"\s+", "", text).lower() if isinstance(text, str) else ""


def _watched_metrics(alert_policies: list[dict]) -> set[str]:
    """Names of the user log metrics that some enabled alert policy's condition filters on."""
    names: set[str] = set()
    for policy in alert_policies:
        # AlertPolicy.enabled: "on write, unset means enabled"; reads always return it.
        if policy.get("enabled") is False:
            continue
        for condition in policy.get("conditions") or []:
            for value in condition.values() if isinstance(condition, dict) else ():
                if isinstance(value, dict):
                    names.update(METRIC_TYPE.findall(str(value.get("filter", ""))))
    return names


def log_alerts(metrics: list[dict], alert_policies: list[dict]) -> dict[str, bool]:
    """Event -> whether a metric counting it is watched by an enabled alert policy."""
    watched = _watched_metrics(alert_policies)
    alerted = {}
    for event, required in EVENTS.items():
        needles = [_squeezed(part) for part in required]
        alerted[event] = any(
            metric.get("name") in watched and all(needle in _squeezed(metric.get("filter")) for needle in needles)
            for metric in metrics
            if isinstance(metric, dict)
        )
    return alerted


@resource_types.register("gcp.monitoring.alert-policy")
class AlertPolicy(GcpResource):
    asset_type = ALERT_POLICY_ASSET_TYPE
    name_field = "displayName"
    volatile = ("mutationRecord",)


@resource_types.register("gcp.monitoring.project-log-alerts")
class ProjectLogAlerts(GcpResource):
    """One document per project: its log metrics and alert policies, and `logAlerts`, the events
    (EVENTS) that raise an alert."""

    asset_type = PROJECT_ASSET_TYPE
    name_field = "projectId"
    related = {"logMetrics": LOG_METRIC_ASSET_TYPE, "alertPolicies": ALERT_POLICY_ASSET_TYPE}

    @classmethod
    def uid(cls, asset_name: str) -> str:
        # The Project asset also gives the project's own row: this one needs a uid of its own.
        return f"{asset_name}#logAlerts"

    @classmethod
    def normalise(cls, document: dict) -> dict:
        document["logAlerts"] = log_alerts(document.get("logMetrics") or [], document.get("alertPolicies") or [])
        return document
