"""EFS: file systems with their backup policy, and access points."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("elasticfilesystem:DescribeFileSystems", "efs", "describe_file_systems", {"MaxItems": 1})


@resource_types.register("aws.efs.file-system")
class EfsFileSystem(AwsResource):
    service = "efs"
    list_operation = "describe_file_systems"
    list_key = "FileSystems"
    paging = ("Marker", "NextMarker")
    page_size_param = "MaxItems"
    page_size_limits = (1, 100)
    id_template = "{FileSystemId}"
    arn = "{FileSystemArn}"
    arn_prefix = "arn:aws:elasticfilesystem:"
    details = (
        Detail(
            "describe_backup_policy",
            {"FileSystemId": Ref("FileSystemId")},
            "BackupPolicy",
            "BackupPolicy",
            missing_codes=("PolicyNotFound",),  # automatic backups were never turned on
        ),
    )
    volatile = ("LifeCycleState", "SizeInBytes", "NumberOfMountTargets")


@resource_types.register("aws.efs.access-point")
class EfsAccessPoint(AwsResource):
    """Access points of every file system in the region (DescribeAccessPoints without a file system)."""

    service = "efs"
    list_operation = "describe_access_points"
    list_key = "AccessPoints"
    page_size_limits = (1, 100)
    id_template = "{AccessPointId}"
    arn = "{AccessPointArn}"
    arn_prefix = "arn:aws:elasticfilesystem:"
    volatile = ("LifeCycleState",)
