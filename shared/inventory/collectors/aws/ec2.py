"""EC2: security groups, instances, EBS volumes and snapshots, EBS default encryption, VPCs, Elastic
IPs, the account's AMIs and launch templates (network ACLs, subnets and gateways: vpc.py)."""

from __future__ import annotations

import re
from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, field_equals, probe
from shared.inventory.collectors.aws.shaping import days_since, port_spec
from shared.inventory.collectors.base import resource_types

probe("ec2:DescribeSecurityGroups", "ec2", "describe_security_groups", {"MaxResults": 5})


@resource_types.register("aws.ec2.security-group")
class SecurityGroup(AwsResource):
    service = "ec2"
    list_operation = "describe_security_groups"
    list_key = "SecurityGroups"
    id_template = "{GroupId}"
    name_template = "{GroupName}"
    arn = "arn:aws:ec2:{region}:{account}:security-group/{GroupId}"

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        for key in ("IpPermissions", "IpPermissionsEgress"):
            for permission in item.get(key, []):
                permission["Ports"] = port_spec(permission)
        return item


# When a stopped instance stopped: "User initiated (2024-01-31 09:15:02 GMT)" (moto writes UTC).
_STOPPED_AT = re.compile(r"\((\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)")


@resource_types.register("aws.ec2.instance")
class Ec2Instance(AwsResource):
    service = "ec2"
    list_operation = "describe_instances"
    list_key = "Reservations.Instances"  # instances come grouped by the reservation that launched them
    id_template = "{InstanceId}"
    arn = "arn:aws:ec2:{region}:{account}:instance/{InstanceId}"
    skip_when = staticmethod(field_equals("State.Name", "terminated"))  # listed for an hour after termination
    volatile = ("State", "StateReason", "StateTransitionReason")
    # Ages are counted from today: incremental scans evaluate it every time (shared.scans.runner).
    clock_dependent = True

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        # StoppedDays is not volatile (State and the reason are): a change must reach the policies.
        if (item.get("State") or {}).get("Name") == "stopped":
            found = _STOPPED_AT.search(str(item.get("StateTransitionReason") or ""))
            if found:
                item["StoppedDays"] = days_since(f"{found.group(1)}T{found.group(2)}+00:00", now)
        return item


@resource_types.register("aws.ec2.volume")
class EbsVolume(AwsResource):
    service = "ec2"
    list_operation = "describe_volumes"
    list_key = "Volumes"
    page_size_limits = (5, 500)
    id_template = "{VolumeId}"
    arn = "arn:aws:ec2:{region}:{account}:volume/{VolumeId}"
    # State is not volatile: it changes on attach and detach (in-use, available), which
    # pol_ebs_volume_unattached reads; the attachments' own times and states churn.
    volatile = ("Attachments",)


@resource_types.register("aws.ec2.snapshot")
class EbsSnapshot(AwsResource):
    service = "ec2"
    list_operation = "describe_snapshots"
    list_key = "Snapshots"
    # Without an owner the listing includes every public snapshot. The same as a filter too:
    # AWS-compatible endpoints such as moto honour the filter where they ignore OwnerIds.
    list_params = {"OwnerIds": ["self"], "Filters": [{"Name": "owner-id", "Values": [Ref("account")]}]}
    id_template = "{SnapshotId}"
    arn = "arn:aws:ec2:{region}::snapshot/{SnapshotId}"
    details = (
        Detail(
            "describe_snapshot_attribute",
            {"SnapshotId": Ref("SnapshotId"), "Attribute": "createVolumePermission"},
            "CreateVolumePermissions",
            "CreateVolumePermissions",
        ),
    )
    volatile = ("State", "Progress")


@resource_types.register("aws.ec2.ebs-encryption-default")
class EbsEncryptionDefault(AwsResource):
    """One pseudo-resource per region: the account's default encryption of new EBS volumes."""

    service = "ec2"
    list_operation = "get_ebs_encryption_by_default"
    singleton = True
    paging = None
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:ec2:{region}:{account}:ebs-encryption-by-default"


@resource_types.register("aws.ec2.vpc")
class Vpc(AwsResource):
    service = "ec2"
    list_operation = "describe_vpcs"
    list_key = "Vpcs"
    id_template = "{VpcId}"
    arn = "arn:aws:ec2:{region}:{account}:vpc/{VpcId}"
    details = (
        Detail(
            "describe_flow_logs",
            {"Filters": [{"Name": "resource-id", "Values": [Ref("VpcId")]}]},
            "FlowLogs",
            "FlowLogs",
        ),
        # Whether the default VPC is in use: one page of its network interfaces (the API's
        # smallest), asked of default VPCs only. Nothing beyond "is there one" is kept.
        Detail(
            "describe_network_interfaces",
            {"Filters": [{"Name": "vpc-id", "Values": [Ref("VpcId")]}], "MaxResults": 5},
            "NetworkInterfaces",
            "NetworkInterfaces",
            when=field_equals("IsDefault", True),
        ),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        # Interfaces come and go with the workloads: only whether there is one is kept, so the
        # VPC's configuration hash does not change with every launch.
        interfaces = item.pop("NetworkInterfaces", None)
        if interfaces is not None:
            item["HasNetworkInterfaces"] = bool(interfaces)
        return item


@resource_types.register("aws.ec2.elastic-ip")
class ElasticIp(AwsResource):
    """Elastic IP addresses of the region (VPC allocations); the API lists them in one answer."""

    service = "ec2"
    list_operation = "describe_addresses"
    list_key = "Addresses"
    paging = None
    page_size_param = None
    id_template = "{AllocationId}"
    arn = "arn:aws:ec2:{region}:{account}:elastic-ip/{AllocationId}"


@resource_types.register("aws.ec2.image")
class Ami(AwsResource):
    """AMIs the account owns (not the public catalogue), with their age in days."""

    service = "ec2"
    list_operation = "describe_images"
    list_key = "Images"
    # As for snapshots: the owner filter too, which AWS-compatible endpoints such as moto honour.
    list_params = {"Owners": ["self"], "Filters": [{"Name": "owner-id", "Values": [Ref("account")]}]}
    id_template = "{ImageId}"
    name_template = "{Name}"
    arn = "arn:aws:ec2:{region}::image/{ImageId}"
    volatile = ("AgeDays",)  # a count from today, not configuration
    # Ages are counted from today: incremental scans evaluate it every time (shared.scans.runner).
    clock_dependent = True

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["AgeDays"] = days_since(item.get("CreationDate"), now)
        return item


@resource_types.register("aws.ec2.launch-template")
class LaunchTemplate(AwsResource):
    """Launch templates with the data of their default and latest versions (one call for both,
    one element when they are the same version): what launches without a version and what
    launches with $Latest, as Auto Scaling groups often do."""

    service = "ec2"
    list_operation = "describe_launch_templates"
    list_key = "LaunchTemplates"
    page_size_limits = (1, 200)
    id_template = "{LaunchTemplateId}"
    name_template = "{LaunchTemplateName}"
    arn = "arn:aws:ec2:{region}:{account}:launch-template/{LaunchTemplateId}"
    details = (
        Detail(
            "describe_launch_template_versions",
            {"LaunchTemplateId": Ref("LaunchTemplateId"), "Versions": ["$Default", "$Latest"]},
            "Versions",
            "LaunchTemplateVersions",
        ),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        versions, seen = [], set()
        for version in item.get("Versions") or []:
            if version.get("VersionNumber") in seen:
                continue
            seen.add(version.get("VersionNumber"))
            # User data is often a script with secrets in it; no policy reads it, so it is not stored.
            (version.get("LaunchTemplateData") or {}).pop("UserData", None)
            versions.append(version)
        item["Versions"] = versions
        return item
