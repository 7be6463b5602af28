"""EC2: security groups, instances, EBS volumes and snapshots, EBS default encryption, VPCs."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, field_equals
from shared.inventory.collectors.aws.shaping import port_spec
from shared.inventory.collectors.base import resource_types


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


@resource_types.register("aws.ec2.instance")
class Ec2Instance(AwsResource):
    service = "ec2"
    list_operation = "describe_instances"
    list_key = "Reservations.Instances"  # instances come grouped by the reservation that launched them
    id_template = "{InstanceId}"
    arn = "arn:aws:ec2:{region}:{account}:instance/{InstanceId}"
    skip_when = staticmethod(field_equals("State.Name", "terminated"))  # listed for an hour after termination
    volatile = ("State", "StateReason", "StateTransitionReason")


@resource_types.register("aws.ec2.volume")
class EbsVolume(AwsResource):
    service = "ec2"
    list_operation = "describe_volumes"
    list_key = "Volumes"
    page_size_limits = (5, 500)
    id_template = "{VolumeId}"
    arn = "arn:aws:ec2:{region}:{account}:volume/{VolumeId}"
    volatile = ("State", "Attachments")


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
    )
