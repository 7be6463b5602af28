"""AWS remediation actions. Each reads the current setting, changes it unless dry-running, and
reads it again, so the recorded before/after is what AWS says, not what we meant to do."""

from __future__ import annotations

from botocore.exceptions import ClientError

from shared.inventory.collectors.base import GLOBAL_REGION
from shared.platform.ports import port_spec_includes
from shared.remediation.base import RemediationFailed, Target, actions

WORLD_V4, WORLD_V6 = "0.0.0.0/0", "::/0"
ADMIN_PORTS = (22, 3389)
STRICT_PASSWORD_POLICY = {
    "MinimumPasswordLength": 14,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "AllowUsersToChangePassword": True,
    "MaxPasswordAge": 90,
    "PasswordReusePrevention": 24,
}


def _get(call, *missing: str) -> dict:
    """An AWS read whose 'not configured' error codes mean an empty setting."""
    try:
        answer = call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in missing:
            return {}
        raise
    answer.pop("ResponseMetadata", None)
    return answer


def _field(target: Target, *names: str) -> str:
    for name in names:
        if target.document.get(name):
            return str(target.document[name])
    raise RemediationFailed(f"{target.uid}: the inventory has none of {', '.join(names)}")


def _bucket(target: Target) -> str:
    return target.document.get("Name") or target.uid.removeprefix("arn:aws:s3:::")


@actions.register("s3-enable-default-encryption")
def s3_enable_default_encryption(collector, target: Target, dry_run: bool):
    s3, bucket = collector.client("s3", GLOBAL_REGION), _bucket(target)

    def read():
        return _get(
            lambda: s3.get_bucket_encryption(Bucket=bucket),
            "ServerSideEncryptionConfigurationNotFoundError",
        )

    before = read()
    wanted = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]}
    if dry_run:
        return before, {"ServerSideEncryptionConfiguration": wanted}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=wanted)
    return before, read()


@actions.register("s3-block-public-access")
def s3_block_public_access(collector, target: Target, dry_run: bool):
    s3, bucket = collector.client("s3", GLOBAL_REGION), _bucket(target)

    def read():
        return _get(
            lambda: s3.get_public_access_block(Bucket=bucket),
            "NoSuchPublicAccessBlockConfiguration",
        )

    before = read()
    wanted = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
    if dry_run:
        return before, {"PublicAccessBlockConfiguration": wanted}
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=wanted)
    return before, read()


@actions.register("s3-enable-versioning")
def s3_enable_versioning(collector, target: Target, dry_run: bool):
    s3, bucket = collector.client("s3", GLOBAL_REGION), _bucket(target)
    before = _get(lambda: s3.get_bucket_versioning(Bucket=bucket))
    if dry_run:
        return before, {"Status": "Enabled"}
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return before, _get(lambda: s3.get_bucket_versioning(Bucket=bucket))


def _world_open(permission: dict) -> dict | None:
    """The part of an ingress permission that opens admin ports (or everything) to the internet."""
    protocol = str(permission.get("IpProtocol"))
    if protocol == "-1":
        ports = "*"
    elif permission.get("FromPort") is None:
        return None
    else:
        ports = f"{permission['FromPort']}-{permission['ToPort']}"
    if not any(port_spec_includes(ports, port) for port in ADMIN_PORTS):
        return None
    v4 = [r for r in permission.get("IpRanges", []) if r.get("CidrIp") == WORLD_V4]
    v6 = [r for r in permission.get("Ipv6Ranges", []) if r.get("CidrIpv6") == WORLD_V6]
    if not v4 and not v6:
        return None
    keep = {k: permission[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in permission}
    return {
        **keep,
        "IpRanges": [{"CidrIp": WORLD_V4}] if v4 else [],
        "Ipv6Ranges": [{"CidrIpv6": WORLD_V6}] if v6 else [],
    }


@actions.register("ec2-revoke-world-ingress")
def ec2_revoke_world_ingress(collector, target: Target, dry_run: bool):
    """Revoke only the internet-facing ranges of rules reaching SSH, RDP or every port; other
    rules and other sources stay."""
    ec2, group_id = collector.client("ec2", target.region), _field(target, "GroupId")

    def read() -> dict:
        group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
        return {"IpPermissions": group.get("IpPermissions", [])}

    before = read()
    revoke = [p for p in (_world_open(p) for p in before["IpPermissions"]) if p]
    if not revoke:
        return before, before  # another violation of the same group already closed it
    if dry_run:
        return before, {"revoke": revoke}
    ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=revoke)
    return before, read()


@actions.register("ebs-enable-default-encryption")
def ebs_enable_default_encryption(collector, target: Target, dry_run: bool):
    ec2 = collector.client("ec2", target.region)
    before = _get(ec2.get_ebs_encryption_by_default)
    if dry_run:
        return before, {"EbsEncryptionByDefault": True}
    ec2.enable_ebs_encryption_by_default()
    return before, _get(ec2.get_ebs_encryption_by_default)


@actions.register("kms-enable-rotation")
def kms_enable_rotation(collector, target: Target, dry_run: bool):
    kms, key_id = collector.client("kms", target.region), _field(target, "KeyId", "KeyArn")
    before = _get(lambda: kms.get_key_rotation_status(KeyId=key_id))
    if dry_run:
        return before, {"KeyRotationEnabled": True}
    kms.enable_key_rotation(KeyId=key_id)
    return before, _get(lambda: kms.get_key_rotation_status(KeyId=key_id))


@actions.register("iam-set-password-policy")
def iam_set_password_policy(collector, target: Target, dry_run: bool):
    """Raise the account password policy to CIS strength, keeping any stricter existing values."""
    iam = collector.client("iam", GLOBAL_REGION)

    def read():
        return _get(iam.get_account_password_policy, "NoSuchEntity").get("PasswordPolicy", {})

    before = read()
    wanted = dict(STRICT_PASSWORD_POLICY)
    for name in ("MinimumPasswordLength", "PasswordReusePrevention"):
        wanted[name] = max(wanted[name], before.get(name) or 0)
    if before.get("MaxPasswordAge"):
        wanted["MaxPasswordAge"] = min(wanted["MaxPasswordAge"], before["MaxPasswordAge"])
    if dry_run:
        return before, wanted
    iam.update_account_password_policy(**wanted)
    return before, read()


@actions.register("cloudtrail-enable-log-validation")
def cloudtrail_enable_log_validation(collector, target: Target, dry_run: bool):
    trail = _field(target, "TrailARN", "Name")
    cloudtrail = collector.client("cloudtrail", target.document.get("HomeRegion") or target.region)

    def read() -> dict:
        [found] = cloudtrail.describe_trails(trailNameList=[trail])["trailList"] or [{}]
        return {"LogFileValidationEnabled": found.get("LogFileValidationEnabled")}

    before = read()
    if dry_run:
        return before, {"LogFileValidationEnabled": True}
    cloudtrail.update_trail(Name=trail, EnableLogFileValidation=True)
    return before, read()
