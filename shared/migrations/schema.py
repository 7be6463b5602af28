"""Every table of the schema, gathered from the domain packages that own them: what migrations
compare against."""

from shared.accounts.models import CloudAccount
from shared.attestations.models import Attestation, AttestationRevocation
from shared.catalog.models import CustomFramework, CustomPolicy
from shared.findings.models import Finding, FindingEvent, MuteRule, MuteRuleChange
from shared.inventory.models import Resource, ResourceVersion
from shared.notifications.models import NotificationChannel, NotificationDelivery
from shared.platform.db import Base
from shared.remediation.models import RemediationAttempt
from shared.scans.models import Scan, ScanShard, Violation
from shared.schedules.models import Schedule, ScheduleRun
from shared.tenants.models import ApiKey, Tenant

__all__ = [
    "ApiKey",
    "Attestation",
    "AttestationRevocation",
    "Base",
    "CloudAccount",
    "CustomFramework",
    "CustomPolicy",
    "Finding",
    "FindingEvent",
    "MuteRule",
    "MuteRuleChange",
    "NotificationChannel",
    "NotificationDelivery",
    "RemediationAttempt",
    "Resource",
    "ResourceVersion",
    "Scan",
    "ScanShard",
    "Schedule",
    "ScheduleRun",
    "Tenant",
    "Violation",
]
