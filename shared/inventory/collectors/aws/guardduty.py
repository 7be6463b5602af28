"""GuardDuty: per region, the account's detector with its status and protection plans."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("guardduty:ListDetectors", "guardduty", "list_detectors", {"MaxResults": 1})

# Protection plans the older DataSources answer also reports, by the feature name that replaced them.
DATA_SOURCE_FEATURES = {
    "S3_DATA_EVENTS": ("S3Logs", "Status"),
    "EKS_AUDIT_LOGS": ("Kubernetes", "AuditLogs", "Status"),
    "EBS_MALWARE_PROTECTION": ("MalwareProtection", "ScanEc2InstanceWithFindings", "EbsVolumes", "Status"),
}


@resource_types.register("aws.guardduty.detector")
class GuardDutyDetector(AwsResource):
    """One pseudo-resource per region. An account has at most one detector per region; the
    document carries it as `Detector` (GetDetector's answer with its id), with `FeatureStatus`,
    each protection plan's status by feature name. A region without a detector yields a document
    without `Detector`, which the policies fail.

    The listing's detector ids are plain strings, and a detail can only run once per element of a
    list of objects: so the ids are listed a second time as objects (only where there is one)."""

    service = "guardduty"
    list_operation = "list_detectors"
    singleton = True
    paging = None
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:guardduty:{region}:{account}:detector-status"
    details = (
        Detail(
            "list_detectors",
            {},
            "Detectors",
            "DetectorIds",
            wrap="DetectorId",
            when=lambda item: bool(item.get("DetectorIds")),
        ),
        Detail("get_detector", {"DetectorId": Ref("DetectorId")}, "Configuration", each="Detectors"),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        detectors = [d for d in item.pop("Detectors", None) or [] if isinstance(d, dict) and d.get("Configuration")]
        if not detectors:
            return item
        detector = {"DetectorId": detectors[0].get("DetectorId"), **detectors[0]["Configuration"]}
        status: dict[str, str] = {}
        for feature, path in DATA_SOURCE_FEATURES.items():
            value = detector.get("DataSources")
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, str):
                status[feature] = value
        for feature in detector.get("Features") or []:  # the current API, authoritative where present
            if isinstance(feature, dict) and feature.get("Name"):
                status[feature["Name"]] = feature.get("Status")
        detector["FeatureStatus"] = status
        item["Detector"] = detector
        return item
