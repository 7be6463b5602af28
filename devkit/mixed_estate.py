"""A mixed AWS estate built through the real AWS API (moto here), for the coverage bench: a little
of each service a real account holds, some of it compliant and some not.

    seed_mixed_aws_estate(endpoint, regions=("us-east-1", "eu-west-1"), scale=10) -> resources created
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable

from devkit.estates import _client, secure_bucket

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    return buffer.getvalue()


def _global(endpoint: str, home: str, scale: int) -> int:
    created = 0
    s3 = _client("s3", endpoint, home)
    for index in range(2 * scale):
        name = f"mixed-bucket-{index:04d}"
        if index % 2:
            secure_bucket(s3, name)
        else:
            s3.create_bucket(Bucket=name)
        created += 1
    iam = _client("iam", endpoint, home)
    for index in range(scale):
        user = f"mixed-user-{index:04d}"
        iam.create_user(UserName=user)
        iam.put_user_policy(
            UserName=user, PolicyName="inline", PolicyDocument=json.dumps(ADMIN if index % 3 == 0 else READ_ONLY)
        )
        if index % 2:
            iam.create_access_key(UserName=user)
        iam.create_role(RoleName=f"mixed-role-{index:04d}", AssumeRolePolicyDocument=json.dumps(TRUST))
        created += 2
    for index in range(max(1, scale // 2)):
        iam.create_group(GroupName=f"mixed-group-{index:04d}")
        iam.create_policy(PolicyName=f"mixed-policy-{index:04d}", PolicyDocument=json.dumps(READ_ONLY))
        created += 2
    return created


def _regional(endpoint: str, region: str, scale: int) -> int:
    created = 0
    ec2 = _client("ec2", endpoint, region)
    ec2.run_instances(ImageId="ami-12345678", MinCount=scale, MaxCount=scale, InstanceType="t3.micro")
    created += scale
    for index in range(scale):
        group = ec2.create_security_group(GroupName=f"mixed-sg-{index:04d}", Description="mixed")["GroupId"]
        if index % 4 == 0:
            ec2.authorize_security_group_ingress(
                GroupId=group,
                IpPermissions=[
                    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                ],
            )
        volume = ec2.create_volume(AvailabilityZone=f"{region}a", Size=8, Encrypted=bool(index % 2))["VolumeId"]
        if index % 2 == 0:
            ec2.create_snapshot(VolumeId=volume)
            created += 1
        created += 2
    kms = _client("kms", endpoint, region)
    sqs = _client("sqs", endpoint, region)
    sns = _client("sns", endpoint, region)
    logs = _client("logs", endpoint, region)
    dynamodb = _client("dynamodb", endpoint, region)
    secrets = _client("secretsmanager", endpoint, region)
    lambda_ = _client("lambda", endpoint, region)
    iam = _client("iam", endpoint, region)
    role = iam.get_role(RoleName="mixed-role-0000")["Role"]["Arn"]
    for index in range(scale):
        key = kms.create_key(Description=f"mixed-{index}")["KeyMetadata"]["KeyId"]
        if index % 2:
            kms.enable_key_rotation(KeyId=key)
        attributes = {"SqsManagedSseEnabled": "true"} if index % 2 else {"SqsManagedSseEnabled": "false"}
        sqs.create_queue(QueueName=f"mixed-queue-{index:04d}", Attributes=attributes)
        sns.create_topic(Name=f"mixed-topic-{index:04d}")
        logs.create_log_group(logGroupName=f"/mixed/{index:04d}")
        if index % 2:
            logs.put_retention_policy(logGroupName=f"/mixed/{index:04d}", retentionInDays=365)
        dynamodb.create_table(
            TableName=f"mixed-table-{index:04d}",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        secrets.create_secret(Name=f"mixed-secret-{index:04d}", SecretString="s3cr3t")
        lambda_.create_function(
            FunctionName=f"mixed-fn-{index:04d}",
            Runtime="python3.12" if index % 2 else "python3.7",
            Role=role,
            Handler="handler.handle",
            Code={"ZipFile": _code()},
        )
        created += 8
    rds = _client("rds", endpoint, region)
    for index in range(max(1, scale // 2)):
        rds.create_db_instance(
            DBInstanceIdentifier=f"mixed-db-{index:04d}",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="dbadmin",
            MasterUserPassword="not-a-real-password",
            AllocatedStorage=20,
            StorageEncrypted=bool(index % 2),
        )
        created += 1
    return created


def seed_mixed_aws_estate(
    endpoint: str, *, regions: Iterable[str] = ("us-east-1", "eu-west-1"), scale: int = 10
) -> int:
    """Returns the number of resources created (moto's own defaults, such as default VPCs and
    security groups, come on top)."""
    regions = list(regions)
    created = _global(endpoint, regions[0], scale)
    for region in regions:
        created += _regional(endpoint, region, scale)
    return created
