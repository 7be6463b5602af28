"""Tags of AWS resources against moto: inline ones (EC2, RDS) and those a tagging call reads (S3,
Lambda, SQS, IAM, DynamoDB, SNS, KMS, ELBv2, log groups) all come out as one `tags` object."""

from __future__ import annotations

import json

from tests.shared.inventory.collectors.test_aws import _zip, aws, collect, make_collector

TEAM = [{"Key": "team", "Value": "payments"}, {"Key": "env", "Value": "prod"}]
EXPECTED = {"team": "payments", "env": "prod"}
TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}


def test_tagged_resources_carry_their_tags_and_untagged_ones_an_empty_object(moto):
    s3 = aws("s3", moto)
    s3.create_bucket(Bucket="tagged-bucket")
    s3.put_bucket_tagging(Bucket="tagged-bucket", Tagging={"TagSet": TEAM})
    s3.create_bucket(Bucket="plain-bucket")

    ec2 = aws("ec2", moto)
    ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [*TEAM, {"Key": "Name", "Value": "web-1"}]}],
    )

    iam = aws("iam", moto)
    role = iam.create_role(RoleName="lambda-exec", AssumeRolePolicyDocument=json.dumps(TRUST), Tags=TEAM)
    iam.create_user(UserName="alice", Tags=TEAM)
    functions = aws("lambda", moto)
    functions.create_function(
        FunctionName="tagged-fn",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="handler.handle",
        Code={"ZipFile": _zip()},
        Tags={"team": "payments", "env": "prod"},
    )

    aws("sqs", moto).create_queue(QueueName="tagged-queue", tags={"team": "payments", "env": "prod"})
    aws("sqs", moto).create_queue(QueueName="plain-queue")

    aws("rds", moto).create_db_instance(
        DBInstanceIdentifier="orders",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin1",
        MasterUserPassword="secret-password-1",
        AllocatedStorage=20,
        Tags=TEAM,
    )
    aws("dynamodb", moto).create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=TEAM,
    )
    aws("sns", moto).create_topic(Name="alerts", Tags=TEAM)
    aws("kms", moto).create_key(
        Tags=[{"TagKey": "team", "TagValue": "payments"}, {"TagKey": "env", "TagValue": "prod"}]
    )
    aws("logs", moto).create_log_group(logGroupName="/app/tagged", tags={"team": "payments", "env": "prod"})

    collector = make_collector(moto)
    buckets = collect(collector, "aws.s3.bucket", "global")
    assert buckets["tagged-bucket"].document["tags"] == EXPECTED
    assert buckets["plain-bucket"].document["tags"] == {}
    (instance,) = collect(collector, "aws.ec2.instance").values()
    assert instance.document["tags"] == {**EXPECTED, "Name": "web-1"} and instance.name == "web-1"
    assert collect(collector, "aws.lambda.function")["tagged-fn"].document["tags"] == EXPECTED
    queues = collect(collector, "aws.sqs.queue")
    assert queues["tagged-queue"].document["tags"] == EXPECTED
    assert queues["plain-queue"].document["tags"] == {}
    assert collect(collector, "aws.iam.role", "global")["lambda-exec"].document["tags"] == EXPECTED
    assert collect(collector, "aws.iam.user", "global")["alice"].document["tags"] == EXPECTED
    assert collect(collector, "aws.rds.instance")["orders"].document["tags"] == EXPECTED
    assert collect(collector, "aws.dynamodb.table")["ledger"].document["tags"] == EXPECTED
    assert collect(collector, "aws.sns.topic")["alerts"].document["tags"] == EXPECTED
    (key,) = collect(collector, "aws.kms.key").values()
    assert key.document["tags"] == EXPECTED
    assert collect(collector, "aws.logs.log-group")["/app/tagged"].document["tags"] == EXPECTED


def test_pseudo_resources_have_no_tags_field(moto):
    (block,) = collect(make_collector(moto), "aws.s3.account-public-access-block", "global").values()
    assert "tags" not in block.document
