"""Known AWS estates built through the real AWS API (moto here): for the demo, tests and benches.

Each builder returns the violations a correct scan must find, as (policy id, resource name, region).
"""

from __future__ import annotations

from collections.abc import Iterable

import boto3

DEMO_CREDENTIALS = {"access_key_id": "AKIADEMODEMODEMO0000", "secret_access_key": "demo-secret"}
# The policies whose findings seed_demo_estate's answer lists exactly (the library has more).
DEMO_POLICIES = (
    "pol_s3_default_encryption",
    "pol_s3_public_access_block",
    "pol_s3_versioning",
    "pol_ec2_sg_ssh_open",
    "pol_ec2_sg_rdp_open",
    "pol_ec2_sg_all_ports_open",
    "pol_ec2_default_sg_closed",
)
BUCKET_POLICIES = ("pol_s3_default_encryption", "pol_s3_public_access_block", "pol_s3_versioning")
WORLD = [{"CidrIp": "0.0.0.0/0"}]


def _client(service: str, endpoint_url: str, region: str):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=DEMO_CREDENTIALS["access_key_id"],
        aws_secret_access_key=DEMO_CREDENTIALS["secret_access_key"],
    )


def secure_bucket(s3, name: str) -> None:
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def _group(ec2, name: str, permissions: list[dict]) -> str:
    group_id = ec2.create_security_group(GroupName=name, Description=name)["GroupId"]
    if permissions:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
    return group_id


def default_groups(endpoint_url: str, region: str) -> list[str]:
    """moto (like AWS) gives each VPC a default group that allows all egress: a CIS 5.4 finding."""
    ec2 = _client("ec2", endpoint_url, region)
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    return [g["GroupName"] for g in groups]


def seed_demo_estate(
    endpoint_url: str, regions: Iterable[str] = ("us-east-1", "eu-west-1")
) -> set[tuple[str, str, str]]:
    """A small, deliberately insecure estate; returns every (policy, resource name, region) of
    DEMO_POLICIES it violates."""
    regions = list(regions)
    expected: set[tuple[str, str, str]] = set()
    home = "us-east-1"
    s3 = _client("s3", endpoint_url, home)
    secure_bucket(s3, "secure-data")
    for name in ("logs-prod", "test-scratch"):
        s3.create_bucket(Bucket=name)
        expected |= {(policy, name, home) for policy in BUCKET_POLICIES}
    partially = "payroll-exports"
    s3.create_bucket(Bucket=partially)
    s3.put_bucket_versioning(Bucket=partially, VersioningConfiguration={"Status": "Enabled"})
    expected |= {("pol_s3_default_encryption", partially, home), ("pol_s3_public_access_block", partially, home)}
    for region in regions:
        ec2 = _client("ec2", endpoint_url, region)
        _group(ec2, f"ssh-open-{region}", [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": WORLD}])
        _group(ec2, f"rdp-open-{region}", [{"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": WORLD}])
        _group(ec2, f"all-open-{region}", [{"IpProtocol": "-1", "IpRanges": WORLD}])
        _group(ec2, f"web-{region}", [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": WORLD}])
        _group(
            ec2,
            f"ssh-office-{region}",
            [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}],
        )
        expected.add(("pol_ec2_sg_ssh_open", f"ssh-open-{region}", region))
        expected.add(("pol_ec2_sg_rdp_open", f"rdp-open-{region}", region))
        expected |= {
            (p, f"all-open-{region}", region)
            for p in ("pol_ec2_sg_all_ports_open", "pol_ec2_sg_ssh_open", "pol_ec2_sg_rdp_open")
        }
        expected |= {("pol_ec2_default_sg_closed", name, region) for name in default_groups(endpoint_url, region)}
    return expected


def seed_synthetic_estate(
    endpoint_url: str, *, regions: Iterable[str], groups_per_region: int, buckets: int, insecure_every: int = 4
) -> int:
    """A larger estate for benches: every `insecure_every`-th resource is non-compliant.
    Returns the number of resources created (default groups included)."""
    regions = list(regions)
    s3 = _client("s3", endpoint_url, regions[0])
    for index in range(buckets):
        name = f"bench-bucket-{index:06d}"
        if index % insecure_every:
            secure_bucket(s3, name)
        else:
            s3.create_bucket(Bucket=name)
    created = buckets
    for region in regions:
        ec2 = _client("ec2", endpoint_url, region)
        for index in range(groups_per_region):
            cidr = WORLD if index % insecure_every == 0 else [{"CidrIp": "10.0.0.0/8"}]
            _group(
                ec2, f"bench-sg-{index:06d}", [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": cidr}]
            )
        created += groups_per_region + len(default_groups(endpoint_url, region))
    return created
