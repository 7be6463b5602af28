"""Known AWS estates built through the real AWS API (moto here): for the demo, tests and benches.

Each builder returns the violations a correct scan must find, as (policy id, resource name, region).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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


# -- A multi-provider estate of a chosen size, for the scale bench and the shard-split tests ---------

# One policy set for every scale estate: each resource either passes all of its type's policies or
# fails exactly one, so the violations a correct scan finds are known in advance.
SCALE_POLICIES = (
    "pol_ec2_sg_ssh_open",
    "pol_ec2_sg_rdp_open",
    "pol_ec2_sg_all_ports_open",
    "pol_ec2_default_sg_closed",
    "pol_azure_storage_secure_transfer",
    "pol_azure_storage_min_tls",
    "pol_azure_storage_public_blob_access",
    "pol_azure_storage_default_network_deny",
    "pol_azure_nsg_ssh_open",
    "pol_azure_nsg_rdp_open",
    "pol_gcp_firewall_ssh_open",
    "pol_gcp_firewall_rdp_open",
    "pol_gcp_firewall_all_open",
    "pol_gcp_bucket_uniform_access",
    "pol_gcp_bucket_public_access_prevention",
)
# Two AWS accounts on one moto server: disjoint regions keep their resources apart.
SCALE_AWS_ACCOUNTS = {"aws-a": ("us-east-1", "eu-west-1"), "aws-b": ("us-west-2", "ap-southeast-2")}
SCALE_AZURE_SUBSCRIPTIONS = (
    "5c1d0e2f-0000-4000-8000-00000000000a",
    "5c1d0e2f-0000-4000-8000-00000000000b",
    "5c1d0e2f-0000-4000-8000-00000000000c",
)
SCALE_GCP_PROJECTS = (("scale-a", "410000000001"), ("scale-b", "410000000002"), ("scale-c", "410000000003"))
AZURE_LOCATIONS = ("westeurope", "eastus", "southeastasia")
GCP_LOCATIONS = ("EU", "US", "ASIA")


def is_noncompliant(index: int, share: float) -> bool:
    """Exactly floor(n * share) of the first n indexes are non-compliant, spread evenly."""
    return int((index + 1) * share) > int(index * share)


@dataclass
class ScaleEstate:
    """What a scale estate holds: security group counts per (AWS account, region), Resource Graph
    rows per subscription and Cloud Asset Inventory assets, and the violations they carry (AWS
    default groups, which moto creates, are counted when the groups are seeded)."""

    size: int
    share: float
    aws: dict[tuple[str, str], int]
    azure_rows: list[dict]
    gcp_assets: list
    expected_violations: int

    def by_provider(self) -> dict[str, int]:
        return {"aws": sum(self.aws.values()), "azure": len(self.azure_rows), "gcp": len(self.gcp_assets)}


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def ssh_rule(*, open_to_world: bool) -> dict:
    """An Azure NSG rule allowing SSH, from anywhere (non-compliant) or from a private range."""
    return {
        "name": "ssh",
        "properties": {
            "access": "Allow",
            "direction": "Inbound",
            "protocol": "Tcp",
            "sourceAddressPrefix": "*" if open_to_world else "10.0.0.0/8",
            "destinationPortRange": "22",
            "priority": 100,
        },
    }


def scale_estate(size: int, share: float = 0.25, *, aws_share: float = 0.05) -> ScaleEstate:
    """An estate of `size` resources: `aws_share` of them security groups on moto (slow to seed and
    to list), the rest evenly Azure (storage accounts, NSGs in three subscriptions) and GCP
    (firewalls, buckets in three projects). A `share` of each kind in each account (rounded down)
    fails exactly one policy."""
    from devkit.fakes.azure import row
    from devkit.fakes.gcp import make_asset

    aws_total = round(size * aws_share)
    azure_total = (size - aws_total) // 2
    gcp_total = size - aws_total - azure_total
    units = [(name, region) for name, regions in SCALE_AWS_ACCOUNTS.items() for region in regions]
    aws = dict(zip(units, _split(aws_total, len(units)), strict=True))
    bad = sum(is_noncompliant(i, share) for count in aws.values() for i in range(count))

    azure_rows = []
    for subscription, count in zip(SCALE_AZURE_SUBSCRIPTIONS, _split(azure_total, 3), strict=True):
        for index in range(count):
            failing = is_noncompliant(index // 2, share)  # each of the two kinds gets its share
            location = AZURE_LOCATIONS[index % len(AZURE_LOCATIONS)]
            if index % 2:
                properties = {
                    "supportsHttpsTrafficOnly": not failing,
                    "minimumTlsVersion": "TLS1_2",
                    "allowBlobPublicAccess": False,
                    "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"},
                    "provisioningState": "Succeeded",
                }
                kind, name = "Microsoft.Storage/storageAccounts", f"st{index:07d}"
            else:
                properties = {"securityRules": [ssh_rule(open_to_world=failing)], "defaultSecurityRules": []}
                kind, name = "Microsoft.Network/networkSecurityGroups", f"nsg{index:07d}"
            azure_rows.append(row(subscription, "rg-scale", kind, name, location=location, properties=properties))
            bad += failing

    gcp_assets = []
    for (project, number), count in zip(SCALE_GCP_PROJECTS, _split(gcp_total, 3), strict=True):
        for index in range(count):
            failing = is_noncompliant(index // 2, share)  # each of the two kinds gets its share
            if index % 2:
                name = f"{project}-bucket-{index:07d}"
                data = {
                    "kind": "storage#bucket",
                    "id": name,
                    "name": name,
                    "projectNumber": number,
                    "location": GCP_LOCATIONS[index % len(GCP_LOCATIONS)],
                    "iamConfiguration": {
                        "uniformBucketLevelAccess": {"enabled": not failing},
                        "publicAccessPrevention": "enforced",
                    },
                }
                asset_type, uid = "storage.googleapis.com/Bucket", f"//storage.googleapis.com/{name}"
                location = data["location"].lower()
            else:
                name = f"fw-{index:07d}"
                data = {
                    "name": name,
                    "direction": "INGRESS",
                    "disabled": False,
                    "sourceRanges": ["0.0.0.0/0" if failing else "10.0.0.0/8"],
                    "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
                    "network": f"https://www.googleapis.com/compute/v1/projects/{project}/global/networks/default",
                }
                asset_type = "compute.googleapis.com/Firewall"
                uid, location = f"//compute.googleapis.com/projects/{project}/global/firewalls/{name}", "global"
            gcp_assets.append(make_asset(project, number, asset_type, uid, data, location=location))
            bad += failing
    return ScaleEstate(size, share, aws, azure_rows, gcp_assets, bad)


def seed_security_groups(endpoint_url: str, region: str, count: int, share: float) -> int:
    """`count` security groups allowing SSH, from the world for a `share` of them (as counted in
    ScaleEstate). Returns the default groups moto keeps in the region: each is one more resource
    and one more violation (it allows all egress)."""
    ec2 = _client("ec2", endpoint_url, region)
    for index in range(count):
        cidr = WORLD if is_noncompliant(index, share) else [{"CidrIp": "10.0.0.0/8"}]
        _group(ec2, f"scale-sg-{index:07d}", [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": cidr}])
    return len(default_groups(endpoint_url, region))
