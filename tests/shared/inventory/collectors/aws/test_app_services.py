"""AWS application services against moto: KMS, Lambda, SQS, Secrets Manager, SSM, API Gateway,
CloudFront, Route 53, ECR, ECS, EKS, Kinesis, SageMaker, Backup and WAFv2. Each resource type is
collected from resources made with boto3, and each policy's failing names are asserted. Where moto
lacks an operation a type calls (Backup's vault access policy, SSM's service settings, Route 53's
query logging configurations per zone) the client is stubbed with answers in the shape botocore's
service model defines (Stubber refuses any other); where moto ignores a setting (Lambda dead-letter
queues, CloudFront custom certificates, domain transfer locks, API Gateway client certificates)
the policy is also checked on a document in the API reference's shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber

from shared.inventory.collectors.base import GLOBAL_REGION
from shared.policies.policy import builtin_policies
from tests.shared.inventory.collectors.test_aws import ACCOUNT, HOME, _zip, aws, collect, failing, make_collector

LAMBDA_TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}


def fails(policy_id: str, document: dict) -> bool:
    return builtin_policies()[policy_id].fails(document)


def _role(endpoint: str, name: str = "app-exec") -> str:
    iam = aws("iam", endpoint)
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]


def _network(endpoint: str) -> tuple[list[str], str]:
    ec2 = aws("ec2", endpoint)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    return subnets, ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]


def test_kms_key_policy_and_lambda_settings(moto):
    kms = aws("kms", moto)
    private = kms.create_key(Description="private")["KeyMetadata"]["KeyId"]
    public = kms.create_key(Description="public")["KeyMetadata"]["KeyId"]
    statement = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}
    kms.put_key_policy(KeyId=public, PolicyName="default", Policy=json.dumps({"Statement": [statement]}))
    key_arn = kms.describe_key(KeyId=private)["KeyMetadata"]["Arn"]

    role = _role(moto)
    subnets, group = _network(moto)
    sqs = aws("sqs", moto)
    dlq = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName="fn-dlq")["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    functions = aws("lambda", moto)
    common = {"Runtime": "python3.12", "Role": role, "Handler": "handler.handle", "Code": {"ZipFile": _zip()}}
    functions.create_function(
        FunctionName="orders",
        VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [group]},
        DeadLetterConfig={"TargetArn": dlq},
        TracingConfig={"Mode": "Active"},
        KMSKeyArn=key_arn,
        Environment={"Variables": {"TABLE": "orders"}},
        **common,
    )
    functions.put_function_concurrency(FunctionName="orders", ReservedConcurrentExecutions=20)
    functions.create_function(FunctionName="webhook", Environment={"Variables": {"TOKEN_NAME": "hook"}}, **common)
    functions.create_function_url_config(FunctionName="webhook", AuthType="NONE")
    functions.create_function(FunctionName="internal-api", **common)
    functions.create_function_url_config(FunctionName="internal-api", AuthType="AWS_IAM")

    collector = make_collector(moto)
    keys = {r.document["KeyMetadata"]["Description"]: r for r in collect(collector, "aws.kms.key").values()}
    assert keys["public"].document["Policy"]["Statement"][0]["Principals"] == ["*"]
    assert failing("pol_kms_key_policy_not_public", keys) == {"public"}

    found = collect(collector, "aws.lambda.function")
    assert set(found) == {"orders", "webhook", "internal-api"}
    assert found["orders"].document["Concurrency"] == {"ReservedConcurrentExecutions": 20}
    assert found["webhook"].document["Concurrency"] == {} and "FunctionUrlConfig" not in found["orders"].document
    assert found["webhook"].document["FunctionUrlConfig"]["AuthType"] == "NONE"
    assert failing("pol_lambda_url_auth", found) == {"webhook"}
    assert failing("pol_lambda_in_vpc", found) == {"webhook", "internal-api"}
    assert failing("pol_lambda_xray_tracing", found) == {"webhook", "internal-api"}
    assert failing("pol_lambda_env_cmk_encryption", found) == {"webhook"}  # internal-api has no variables
    assert failing("pol_lambda_concurrency_limit", found) == {"webhook", "internal-api"}
    # moto drops DeadLetterConfig: every function fails here; the configured case is checked on
    # a GetFunctionConfiguration-shaped document.
    assert failing("pol_lambda_dead_letter_queue", found) == set(found)
    configured = {**found["orders"].document, "DeadLetterConfig": {"TargetArn": dlq}}
    assert not fails("pol_lambda_dead_letter_queue", configured)


def test_sqs_secrets_and_ssm(moto):
    sqs = aws("sqs", moto)
    sqs.create_queue(QueueName="jobs-dlq")
    dlq_arn = f"arn:aws:sqs:{HOME}:{ACCOUNT}:jobs-dlq"
    sqs.create_queue(
        QueueName="jobs",
        Attributes={
            "KmsMasterKeyId": "alias/jobs",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}),
        },
    )
    public = {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}
    sqs.create_queue(
        QueueName="plain",
        Attributes={"SqsManagedSseEnabled": "false", "Policy": json.dumps({"Statement": [public]})},
    )

    secrets = aws("secretsmanager", moto)
    functions = aws("lambda", moto)
    rotator = functions.create_function(
        FunctionName="rotator",
        Runtime="python3.12",
        Role=_role(moto),
        Handler="handler.handle",
        Code={"ZipFile": _zip()},
    )["FunctionArn"]
    secrets.create_secret(Name="db-password", SecretString="x", KmsKeyId="alias/secrets")
    secrets.rotate_secret(
        SecretId="db-password",
        RotationLambdaARN=rotator,
        RotationRules={"AutomaticallyAfterDays": 30},
        RotateImmediately=False,
    )
    secrets.create_secret(Name="api-token", SecretString="x")

    ssm = aws("ssm", moto)
    ssm.put_parameter(Name="/app/db-url", Value="x", Type="SecureString", KeyId="alias/params")
    ssm.put_parameter(Name="/app/password", Value="x", Type="SecureString")  # aws/ssm
    ssm.put_parameter(Name="feature-flags", Value="x", Type="String")
    content = {
        "schemaVersion": "2.2",
        "description": "Lists files",
        "mainSteps": [{"action": "aws:runShellScript", "name": "list", "inputs": {"runCommand": ["ls"]}}],
    }
    for name in ("inventory", "shared-inventory"):
        ssm.create_document(Name=name, Content=json.dumps(content), DocumentType="Command")
    ssm.modify_document_permission(Name="shared-inventory", PermissionType="Share", AccountIdsToAdd=["all"])

    collector = make_collector(moto)
    queues = collect(collector, "aws.sqs.queue")
    assert set(queues) == {"jobs", "jobs-dlq", "plain"}
    assert queues["jobs"].uid == f"arn:aws:sqs:{HOME}:{ACCOUNT}:jobs"
    assert queues["jobs"].document["Attributes"]["RedrivePolicy"]["maxReceiveCount"] == 5
    assert "DeadLetterSourceQueues" not in queues["jobs"].document  # has a redrive policy: not asked
    assert queues["jobs-dlq"].document["DeadLetterSourceQueues"] == [queues["jobs"].document["QueueUrl"]]
    assert queues["plain"].document["Attributes"]["SqsManagedSseEnabled"] is False
    assert failing("pol_sqs_queue_encrypted", queues) == {"plain"}
    assert failing("pol_sqs_queue_not_public", queues) == {"plain"}
    assert failing("pol_sqs_queue_dead_letter_queue", queues) == {"plain"}

    found = collect(collector, "aws.secretsmanager.secret")
    assert set(found) == {"db-password", "api-token"}
    assert found["api-token"].document["DaysSinceRotation"] == 0
    assert failing("pol_secretsmanager_rotation_enabled", found) == {"api-token"}
    assert failing("pol_secretsmanager_cmk_encryption", found) == {"api-token"}
    assert failing("pol_secretsmanager_rotated_90_days", found) == set()
    assert failing("pol_secretsmanager_unused_90_days", found) == set()
    later = collect(make_collector(moto, now=datetime.now(UTC) + timedelta(days=100)), "aws.secretsmanager.secret")
    # moto records neither a rotation nor an access: both count from the creation date.
    assert failing("pol_secretsmanager_rotated_90_days", later) == {"db-password", "api-token"}
    assert failing("pol_secretsmanager_unused_90_days", later) == {"db-password", "api-token"}

    parameters = collect(collector, "aws.ssm.parameter")
    assert set(parameters) == {"/app/db-url", "/app/password", "feature-flags"}
    assert parameters["/app/db-url"].uid == f"arn:aws:ssm:{HOME}:{ACCOUNT}:parameter/app/db-url"
    assert parameters["feature-flags"].uid == f"arn:aws:ssm:{HOME}:{ACCOUNT}:parameter/feature-flags"
    assert failing("pol_ssm_parameter_cmk_encryption", parameters) == {"/app/password"}

    documents = collect(collector, "aws.ssm.document")
    assert set(documents) == {"inventory", "shared-inventory"}  # the account's own, not AWS's
    assert documents["shared-inventory"].document["SharePermission"]["AccountIds"] == ["all"]
    assert failing("pol_ssm_document_not_public", documents) == {"shared-inventory"}


def test_api_gateway_rest_and_http_apis(moto):
    gateway = aws("apigateway", moto)
    api = gateway.create_rest_api(name="shop")["id"]
    root = gateway.get_resources(restApiId=api)["items"][0]["id"]
    orders = gateway.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    for resource, verb, authorization in (
        (root, "GET", "NONE"),
        (orders, "POST", "AWS_IAM"),
        (orders, "OPTIONS", "NONE"),
    ):
        gateway.put_method(restApiId=api, resourceId=resource, httpMethod=verb, authorizationType=authorization)
        gateway.put_integration(restApiId=api, resourceId=resource, httpMethod=verb, type="MOCK")
    gateway.create_deployment(restApiId=api, stageName="prod")
    gateway.update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
            {"op": "replace", "path": "/tracingEnabled", "value": "true"},
            {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
            {"op": "replace", "path": "/*/*/caching/dataEncrypted", "value": "true"},
        ],
    )
    deployment = gateway.get_deployments(restApiId=api)["items"][0]["id"]
    gateway.create_stage(restApiId=api, stageName="dev", deploymentId=deployment)
    gateway.update_stage(
        restApiId=api,
        stageName="dev",
        patchOperations=[
            {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
            {"op": "replace", "path": "/*/*/caching/dataEncrypted", "value": "false"},  # moto's default is true
        ],
    )
    private = gateway.create_rest_api(name="private")["id"]
    root = gateway.get_resources(restApiId=private)["items"][0]["id"]
    gateway.put_method(restApiId=private, resourceId=root, httpMethod="GET", authorizationType="AWS_IAM")
    waf = aws("wafv2", moto)
    acl = waf.create_web_acl(
        Name="api",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "api"},
    )["Summary"]["ARN"]
    waf.associate_web_acl(WebACLArn=acl, ResourceArn=f"arn:aws:apigateway:{HOME}::/restapis/{api}/stages/prod")

    http = aws("apigatewayv2", moto)
    open_api = http.create_api(Name="public-http", ProtocolType="HTTP")["ApiId"]
    http.create_route(ApiId=open_api, RouteKey="GET /items", AuthorizationType="NONE")
    http.create_route(ApiId=open_api, RouteKey="POST /items", AuthorizationType="JWT", AuthorizerId="jwt1")
    closed_api = http.create_api(Name="private-http", ProtocolType="HTTP")["ApiId"]
    http.create_route(ApiId=closed_api, RouteKey="GET /items", AuthorizationType="AWS_IAM")
    sockets = http.create_api(Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")
    http.create_route(ApiId=sockets["ApiId"], RouteKey="$connect", AuthorizationType="AWS_IAM")
    http.create_route(ApiId=sockets["ApiId"], RouteKey="sendMessage")  # only $connect can have authorization
    logs = {"DestinationArn": f"arn:aws:logs:{HOME}:{ACCOUNT}:log-group:http-access", "Format": "$context.requestId"}
    http.create_stage(ApiId=open_api, StageName="$default", AccessLogSettings=logs)
    http.create_stage(ApiId=closed_api, StageName="beta")

    collector = make_collector(moto)
    apis = collect(collector, "aws.apigateway.rest-api")
    assert set(apis) == {"shop", "private"}
    assert apis["shop"].uid == f"arn:aws:apigateway:{HOME}::/restapis/{api}"
    assert apis["shop"].document["UnauthorizedMethods"] == ["GET /"]  # OPTIONS is open by design
    assert failing("pol_apigateway_rest_api_method_authorization", apis) == {"shop"}

    stages = collect(collector, "aws.apigateway.stage")
    assert set(stages) == {"shop/prod", "shop/dev"}
    prod = stages["shop/prod"]
    assert prod.id == f"{api}/prod" and prod.document["restApiName"] == "shop"
    assert prod.uid == f"arn:aws:apigateway:{HOME}::/restapis/{api}/stages/prod"
    assert prod.document["methodSettingsList"][0]["path"] == "*/*"
    assert failing("pol_apigateway_stage_execution_logging", stages) == {"shop/dev"}
    assert failing("pol_apigateway_stage_xray_tracing", stages) == {"shop/dev"}
    assert failing("pol_apigateway_stage_cache_encrypted", stages) == {"shop/dev"}
    assert failing("pol_apigateway_stage_waf", stages) == {"shop/dev"}
    # moto cannot attach client certificates: both fail; a stage with one passes.
    assert failing("pol_apigateway_stage_client_certificate", stages) == {"shop/prod", "shop/dev"}
    assert not fails("pol_apigateway_stage_client_certificate", {**prod.document, "clientCertificateId": "k4l1ag"})

    http_apis = collect(collector, "aws.apigatewayv2.api")
    assert set(http_apis) == {"public-http", "private-http", "chat"}
    assert failing("pol_apigateway_v2_route_authorization", http_apis) == {"public-http"}
    http_stages = collect(collector, "aws.apigatewayv2.stage")
    assert set(http_stages) == {"public-http/$default", "private-http/beta"}
    assert http_stages["private-http/beta"].document["ApiId"] == closed_api
    assert failing("pol_apigateway_v2_stage_access_logging", http_stages) == {"private-http/beta"}


def _distribution(reference: str, origin: dict, viewer_policy: str, **extra) -> dict:
    return {
        "CallerReference": reference,
        "Comment": reference,
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": origin["Id"],
            "ViewerProtocolPolicy": viewer_policy,
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        },
        **extra,
    }


def test_cloudfront_route53_domains_and_global_web_acls(moto):
    cloudfront = aws("cloudfront", moto)
    s3_origin = {
        "Id": "assets",
        "DomainName": "assets.s3.us-east-1.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
        "OriginAccessControlId": "E2QWRUHAPOMQZL",
    }
    waf = aws("wafv2", moto)
    visibility = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "edge"}
    rule = {
        "Name": "common",
        "Priority": 0,
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}},
        "OverrideAction": {"None": {}},
        "VisibilityConfig": {**visibility, "MetricName": "common"},
    }
    edge = waf.create_web_acl(
        Name="edge", Scope="CLOUDFRONT", DefaultAction={"Allow": {}}, Rules=[rule], VisibilityConfig=visibility
    )["Summary"]
    waf.create_web_acl(
        Name="empty",
        Scope="CLOUDFRONT",
        DefaultAction={"Allow": {}},
        VisibilityConfig={**visibility, "CloudWatchMetricsEnabled": False, "MetricName": "empty"},
    )
    aws("logs", moto).create_log_group(logGroupName="aws-waf-logs-edge")
    waf.put_logging_configuration(
        LoggingConfiguration={
            "ResourceArn": edge["ARN"],
            "LogDestinationConfigs": [f"arn:aws:logs:{HOME}:{ACCOUNT}:log-group:aws-waf-logs-edge"],
        }
    )
    site = cloudfront.create_distribution(
        DistributionConfig=_distribution(
            "site",
            s3_origin,
            "redirect-to-https",
            DefaultRootObject="index.html",
            Logging={"Enabled": True, "IncludeCookies": False, "Bucket": "logs.s3.amazonaws.com", "Prefix": "cf/"},
            WebACLId=edge["ARN"],
        )
    )["Distribution"]["Id"]
    legacy_origin = {
        "Id": "shop",
        "DomainName": "shop.example.com",
        "CustomOriginConfig": {
            "HTTPPort": 80,
            "HTTPSPort": 443,
            "OriginProtocolPolicy": "http-only",
            "OriginSslProtocols": {"Quantity": 2, "Items": ["SSLv3", "TLSv1"]},
        },
    }
    legacy = cloudfront.create_distribution(DistributionConfig=_distribution("legacy", legacy_origin, "allow-all"))
    legacy = legacy["Distribution"]["Id"]
    bare_s3 = {**s3_origin, "Id": "media", "OriginAccessControlId": ""}
    media = cloudfront.create_distribution(DistributionConfig=_distribution("media", bare_s3, "https-only"))
    media = media["Distribution"]["Id"]

    domains = aws("route53domains", moto)
    contact = {
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "ContactType": "PERSON",
        "AddressLine1": "1 Main St",
        "City": "Springfield",
        "CountryCode": "US",
        "ZipCode": "12345",
        "PhoneNumber": "+1.5555555555",
        "Email": "ada@example.com",
    }
    for name, renew in (("example-shop.com", True), ("example-old.com", False)):
        contacts = {"AdminContact": contact, "RegistrantContact": contact, "TechContact": contact}
        domains.register_domain(DomainName=name, DurationInYears=2, AutoRenew=renew, **contacts)

    collector = make_collector(moto)
    found = collect(collector, "aws.cloudfront.distribution", GLOBAL_REGION)
    assert set(found) == {site, legacy, media}  # named by their ids
    assert found[site].region == GLOBAL_REGION
    assert found[site].uid == f"arn:aws:cloudfront::{ACCOUNT}:distribution/{site}"
    assert found[site].document["DistributionConfig"]["Logging"]["Enabled"] is True
    assert failing("pol_cloudfront_viewer_https", found) == {legacy}
    assert failing("pol_cloudfront_origin_https", found) == {legacy}
    assert failing("pol_cloudfront_origin_tls_protocols", found) == {legacy}
    assert failing("pol_cloudfront_s3_origin_access_control", found) == {media}
    assert failing("pol_cloudfront_logging", found) == {legacy, media}
    assert failing("pol_cloudfront_waf", found) == {legacy, media}
    assert failing("pol_cloudfront_default_root_object", found) == {legacy, media}
    # moto reports the default *.cloudfront.net certificate for every distribution, which passes;
    # a custom certificate allowing TLS 1.0 fails (DistributionSummary.ViewerCertificate shape).
    assert failing("pol_cloudfront_viewer_tls_policy", found) == set()
    custom = {
        "CloudFrontDefaultCertificate": False,
        "ACMCertificateArn": f"arn:aws:acm:{HOME}:{ACCOUNT}:certificate/9f8e7d6c-5b4a-3c2d-1e0f-a1b2c3d4e5f6",
        "SSLSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1",
        "Certificate": f"arn:aws:acm:{HOME}:{ACCOUNT}:certificate/9f8e7d6c-5b4a-3c2d-1e0f-a1b2c3d4e5f6",
        "CertificateSource": "acm",
    }
    assert fails("pol_cloudfront_viewer_tls_policy", {**found[site].document, "ViewerCertificate": custom})
    modern = {**custom, "MinimumProtocolVersion": "TLSv1.2_2021"}
    assert not fails("pol_cloudfront_viewer_tls_policy", {**found[site].document, "ViewerCertificate": modern})

    registered = collect(collector, "aws.route53domains.domain", GLOBAL_REGION)
    assert set(registered) == {"example-shop.com", "example-old.com"}
    assert registered["example-old.com"].uid == f"arn:aws:route53domains::{ACCOUNT}:domain/example-old.com"
    assert failing("pol_route53_domain_auto_renew", registered) == {"example-old.com"}
    # moto locks every domain; an unlocked one (ListDomains' DomainSummary) fails.
    assert failing("pol_route53_domain_transfer_lock", registered) == set()
    assert fails("pol_route53_domain_transfer_lock", {**registered["example-old.com"].document, "TransferLock": False})

    acls = collect(collector, "aws.wafv2.cloudfront-web-acl", GLOBAL_REGION)
    assert set(acls) == {"edge", "empty"}
    assert acls["edge"].uid == edge["ARN"] and acls["edge"].region == GLOBAL_REGION
    assert failing("pol_wafv2_cloudfront_web_acl_logging", acls) == {"empty"}
    assert failing("pol_wafv2_cloudfront_web_acl_has_rules", acls) == {"empty"}
    assert failing("pol_wafv2_cloudfront_web_acl_metrics", acls) == {"empty"}
    assert collect(collector, "aws.wafv2.web-acl") == {}  # CloudFront's are not regional


def test_containers_ecr_ecs_eks(moto):
    ecr = aws("ecr", moto)
    ecr.create_repository(
        repositoryName="api",
        imageScanningConfiguration={"scanOnPush": True},
        imageTagMutability="IMMUTABLE",
        encryptionConfiguration={"encryptionType": "KMS"},
    )
    ecr.put_lifecycle_policy(
        repositoryName="api",
        lifecyclePolicyText=json.dumps(
            {
                "rules": [
                    {
                        "rulePriority": 1,
                        "selection": {
                            "tagStatus": "untagged",
                            "countType": "sinceImagePushed",
                            "countUnit": "days",
                            "countNumber": 14,
                        },
                        "action": {"type": "expire"},
                    }
                ]
            }
        ),
    )
    ecr.create_repository(repositoryName="legacy")
    pull = {"Sid": "pull", "Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]}
    ecr.set_repository_policy(repositoryName="legacy", policyText=json.dumps({"Statement": [pull]}))

    ecs = aws("ecs", moto)
    ecs.create_cluster(clusterName="prod", settings=[{"name": "containerInsights", "value": "enabled"}])
    ecs.create_cluster(clusterName="dev")
    logged = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}}
    ecs.register_task_definition(
        family="web",
        networkMode="host",
        containerDefinitions=[{"name": "web", "image": "nginx", "memory": 256, "privileged": True}],
    )
    # The latest active revision is the one evaluated.
    ecs.register_task_definition(
        family="web",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "web",
                "image": "nginx",
                "user": "1000",
                "readonlyRootFilesystem": True,
                "logConfiguration": logged,
            }
        ],
    )
    ecs.register_task_definition(
        family="agent",
        networkMode="host",
        pidMode="host",
        containerDefinitions=[{"name": "agent", "image": "datadog/agent", "memory": 256, "user": "root"}],
    )
    ecs.register_task_definition(
        family="batch",
        networkMode="host",
        containerDefinitions=[
            {"name": "job", "image": "busybox", "memory": 128, "user": "1000", "logConfiguration": logged}
        ],
    )

    eks = aws("eks", moto)
    subnets, _ = _network(moto)
    role = f"arn:aws:iam::{ACCOUNT}:role/eks"
    eks.create_cluster(
        name="prod",
        version="1.35",
        roleArn=role,
        resourcesVpcConfig={"subnetIds": subnets, "endpointPublicAccess": False, "endpointPrivateAccess": True},
        encryptionConfig=[
            {"resources": ["secrets"], "provider": {"keyArn": f"arn:aws:kms:{HOME}:{ACCOUNT}:key/eks-secrets"}}
        ],
        logging={"clusterLogging": [{"types": ["api", "audit", "authenticator"], "enabled": True}]},
    )
    eks.create_cluster(name="dev", version="1.32", roleArn=role, resourcesVpcConfig={"subnetIds": subnets})

    collector = make_collector(moto)
    repositories = collect(collector, "aws.ecr.repository")
    assert set(repositories) == {"api", "legacy"}
    assert repositories["api"].document["LifecyclePolicy"]["rules"][0]["action"] == {"type": "expire"}
    assert repositories["legacy"].document["Policy"]["Statement"][0]["Principals"] == ["*"]
    for policy_id in (
        "pol_ecr_scan_on_push",
        "pol_ecr_tag_immutability",
        "pol_ecr_lifecycle_policy",
        "pol_ecr_repository_not_public",
        "pol_ecr_kms_encryption",
    ):
        assert failing(policy_id, repositories) == {"legacy"}, policy_id

    clusters = collect(collector, "aws.ecs.cluster")
    assert set(clusters) == {"prod", "dev"}
    assert clusters["prod"].uid == f"arn:aws:ecs:{HOME}:{ACCOUNT}:cluster/prod"
    assert failing("pol_ecs_cluster_container_insights", clusters) == {"dev"}

    tasks = collect(collector, "aws.ecs.task-definition")
    assert set(tasks) == {"web", "agent", "batch"}
    assert tasks["web"].document["revision"] == 2
    assert tasks["web"].uid == f"arn:aws:ecs:{HOME}:{ACCOUNT}:task-definition/web"
    assert failing("pol_ecs_task_no_privileged", tasks) == set()  # revision 1 was privileged
    assert failing("pol_ecs_task_host_network_non_root", tasks) == {"agent"}
    assert failing("pol_ecs_task_no_host_pid", tasks) == {"agent"}
    assert failing("pol_ecs_task_readonly_root_fs", tasks) == {"agent", "batch"}
    assert failing("pol_ecs_task_logging", tasks) == {"agent"}

    clusters = collect(collector, "aws.eks.cluster")
    assert set(clusters) == {"prod", "dev"}
    assert clusters["dev"].uid == f"arn:aws:eks:{HOME}:{ACCOUNT}:cluster/dev"
    # moto leaves endpointPublicAccess out when it was not set: the API's default is public.
    for policy_id in ("pol_eks_endpoint_not_public", "pol_eks_secrets_encryption", "pol_eks_audit_logging"):
        assert failing(policy_id, clusters) == {"dev"}, policy_id
    assert failing("pol_eks_supported_version", clusters) == {"dev"}


def test_kinesis_sagemaker_backup_plans_and_regional_web_acls(moto):
    kinesis = aws("kinesis", moto)
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    kinesis.start_stream_encryption(StreamName="orders", EncryptionType="KMS", KeyId="alias/aws/kinesis")

    sagemaker = aws("sagemaker", moto)
    subnets, group = _network(moto)
    role = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
    sagemaker.create_notebook_instance(NotebookInstanceName="open", InstanceType="ml.t3.medium", RoleArn=role)
    sagemaker.create_notebook_instance(
        NotebookInstanceName="locked-down",
        InstanceType="ml.t3.medium",
        RoleArn=role,
        SubnetId=subnets[0],
        SecurityGroupIds=[group],
        KmsKeyId=f"arn:aws:kms:{HOME}:{ACCOUNT}:key/notebooks",
        DirectInternetAccess="Disabled",
        RootAccess="Disabled",
    )

    backup = aws("backup", moto)
    backup.create_backup_vault(BackupVaultName="main")
    for name, days in (("daily", 7), ("monthly", 365)):
        rule = {
            "RuleName": name,
            "TargetBackupVaultName": "main",
            "ScheduleExpression": "cron(0 5 * * ? *)",
            "Lifecycle": {"DeleteAfterDays": days},
        }
        backup.create_backup_plan(BackupPlan={"BackupPlanName": name, "Rules": [rule]})
    forever = {"RuleName": "forever", "TargetBackupVaultName": "main", "ScheduleExpression": "cron(0 5 * * ? *)"}
    backup.create_backup_plan(BackupPlan={"BackupPlanName": "archive", "Rules": [forever]})

    waf = aws("wafv2", moto)
    visibility = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "api"}
    rate = {
        "Name": "rate",
        "Priority": 0,
        "Statement": {"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "IP"}},
        "Action": {"Block": {}},
        "VisibilityConfig": {**visibility, "CloudWatchMetricsEnabled": False, "MetricName": "rate"},
    }
    waf.create_web_acl(
        Name="api", Scope="REGIONAL", DefaultAction={"Allow": {}}, Rules=[rate], VisibilityConfig=visibility
    )

    collector = make_collector(moto)
    streams = collect(collector, "aws.kinesis.stream")
    assert set(streams) == {"clicks", "orders"}
    assert streams["orders"].document["EncryptionType"] == "KMS"
    assert failing("pol_kinesis_stream_encrypted", streams) == {"clicks"}

    notebooks = collect(collector, "aws.sagemaker.notebook-instance")
    assert set(notebooks) == {"open", "locked-down"}
    assert "RootAccess" not in notebooks["open"].document  # left at its default, Enabled
    for policy_id in (
        "pol_sagemaker_notebook_no_direct_internet",
        "pol_sagemaker_notebook_no_root_access",
        "pol_sagemaker_notebook_kms",
        "pol_sagemaker_notebook_in_vpc",
    ):
        assert failing(policy_id, notebooks) == {"open"}, policy_id

    plans = collect(collector, "aws.backup.plan")
    assert set(plans) == {"daily", "monthly", "archive"}
    assert plans["daily"].document["BackupPlan"]["Rules"][0]["Lifecycle"] == {"DeleteAfterDays": 7}
    assert failing("pol_backup_plan_min_retention", plans) == {"daily"}

    acls = collect(collector, "aws.wafv2.web-acl")
    assert set(acls) == {"api"}
    assert "LoggingConfiguration" not in acls["api"].document
    assert failing("pol_wafv2_web_acl_logging", acls) == {"api"}
    assert failing("pol_wafv2_web_acl_has_rules", acls) == set()
    assert failing("pol_wafv2_web_acl_metrics", acls) == {"api"}  # its rule publishes no metrics


@pytest.fixture()
def stubbed(moto):
    """A collector whose client for one service answers from a Stubber (the account number still
    comes from moto); detail calls run one at a time so that answers come in the queued order."""
    collector = make_collector(moto, detail_concurrency=1)
    stubbers = []

    def stub(service: str, region: str = HOME) -> Stubber:
        stubber = Stubber(collector.client(service, region))
        stubber.activate()
        stubbers.append(stubber)
        return stubber

    yield collector, stub
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def test_route53_query_logging_from_the_published_shapes(stubbed):
    """moto's ListQueryLoggingConfigs refuses a zone id without "/hostedzone/" (which botocore
    strips) and ignores the zone filter, so Route 53 answers come from a stub."""
    collector, stub = stubbed
    route53 = stub("route53", HOME)
    zones = [
        {
            "Id": "/hostedzone/Z1D633PJN98FT9",
            "Name": "example.com.",
            "CallerReference": "2014-04-01-18:47",
            "Config": {"Comment": "public", "PrivateZone": False},
            "ResourceRecordSetCount": 9,
        },
        {
            "Id": "/hostedzone/Z2ABCDEFG12345",
            "Name": "shop.example.com.",
            "CallerReference": "2014-04-02-09:15",
            "Config": {"PrivateZone": False},
            "ResourceRecordSetCount": 4,
        },
        {
            "Id": "/hostedzone/Z3PRIVATE67890",
            "Name": "internal.example.",
            "CallerReference": "2014-04-03-11:00",
            "Config": {"PrivateZone": True},
            "ResourceRecordSetCount": 12,
        },
    ]
    listing = {"HostedZones": zones, "Marker": "", "IsTruncated": False, "MaxItems": "100"}
    route53.add_response("list_hosted_zones", listing, {})
    logging_config = {
        "Id": "87654321-dcba-1234-abcd-1a2b3c4d5e6f",
        "HostedZoneId": "Z1D633PJN98FT9",
        "CloudWatchLogsLogGroupArn": f"arn:aws:logs:{HOME}:{ACCOUNT}:log-group:/aws/route53/example.com:*",
    }
    # The stub sees the zone's Id as the engine passes it; botocore strips "/hostedzone/" after.
    tags = {"Z1D633PJN98FT9": [{"Key": "team", "Value": "web"}], "Z2ABCDEFG12345": [], "Z3PRIVATE67890": []}
    for zone, configs in (("Z1D633PJN98FT9", [logging_config]), ("Z2ABCDEFG12345", []), ("Z3PRIVATE67890", None)):
        if configs is not None:  # a private zone is not asked
            expected = {"HostedZoneId": f"/hostedzone/{zone}"}
            route53.add_response("list_query_logging_configs", {"QueryLoggingConfigs": configs}, expected)
        tag_set = {"ResourceType": "hostedzone", "ResourceId": zone, **({"Tags": tags[zone]} if tags[zone] else {})}
        answer = {"ResourceTagSet": tag_set}
        route53.add_response("list_tags_for_resource", answer, {"ResourceType": "hostedzone", "ResourceId": zone})

    found = collect(collector, "aws.route53.hosted-zone", GLOBAL_REGION)
    assert set(found) == {"example.com.", "shop.example.com.", "internal.example."}
    assert found["example.com."].id == "Z1D633PJN98FT9"
    assert found["example.com."].uid == "arn:aws:route53:::hostedzone/Z1D633PJN98FT9"
    assert "QueryLoggingConfigs" not in found["internal.example."].document  # private: not asked
    assert found["example.com."].document["tags"] == {"team": "web"}
    assert failing("pol_route53_zone_query_logging", found) == {"shop.example.com."}


def test_backup_vaults_and_document_sharing_from_the_published_shapes(stubbed):
    """moto has neither GetBackupVaultAccessPolicy nor GetServiceSetting."""
    collector, stub = stubbed
    backup = stub("backup")
    created = datetime(2024, 3, 1, tzinfo=UTC)
    vaults = [
        {
            "BackupVaultName": name,
            "BackupVaultArn": f"arn:aws:backup:{HOME}:{ACCOUNT}:backup-vault:{name}",
            "VaultType": "BACKUP_VAULT",
            "CreationDate": created,
            "EncryptionKeyArn": f"arn:aws:kms:{HOME}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "CreatorRequestId": f"{name}-request",
            "NumberOfRecoveryPoints": 42,
            **lock,
        }
        for name, lock in (
            ("prod", {"Locked": True, "MinRetentionDays": 35, "MaxRetentionDays": 365}),
            ("open", {"Locked": False}),
            ("default", {"Locked": False}),
        )
    ]
    backup.add_response("list_backup_vaults", {"BackupVaultList": vaults}, {"MaxResults": 5})
    deny_delete = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
        "Resource": "*",
    }
    anyone_deletes = {"Effect": "Allow", "Principal": "*", "Action": "backup:DeleteRecoveryPoint", "Resource": "*"}
    for name, statement in (("prod", deny_delete), ("open", anyone_deletes)):
        answer = {
            "BackupVaultName": name,
            "BackupVaultArn": f"arn:aws:backup:{HOME}:{ACCOUNT}:backup-vault:{name}",
            "Policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        }
        backup.add_response("get_backup_vault_access_policy", answer, {"BackupVaultName": name})
        arn = {"ResourceArn": f"arn:aws:backup:{HOME}:{ACCOUNT}:backup-vault:{name}"}
        backup.add_response("list_tags", {"Tags": {"owner": name}}, arn)
    backup.add_client_error(
        "get_backup_vault_access_policy", "ResourceNotFoundException", expected_params={"BackupVaultName": "default"}
    )
    arn = {"ResourceArn": f"arn:aws:backup:{HOME}:{ACCOUNT}:backup-vault:default"}
    backup.add_response("list_tags", {"Tags": {}}, arn)

    vault_documents = collect(collector, "aws.backup.vault")
    assert set(vault_documents) == {"prod", "open", "default"}
    assert "Policy" not in vault_documents["default"].document
    assert vault_documents["prod"].document["tags"] == {"owner": "prod"}
    assert vault_documents["default"].document["tags"] == {}
    assert vault_documents["open"].document["Policy"]["Statement"][0]["Principals"] == ["*"]
    assert failing("pol_backup_vault_policy_not_public", vault_documents) == {"open"}
    assert failing("pol_backup_vault_locked", vault_documents) == {"open", "default"}

    ssm = stub("ssm")
    setting = {
        "SettingId": "/ssm/documents/console/public-sharing-permission",
        "SettingValue": "Enable",
        "LastModifiedDate": created,
        "LastModifiedUser": "System",
        "ARN": f"arn:aws:ssm:{HOME}:{ACCOUNT}:servicesetting/ssm/documents/console/public-sharing-permission",
        "Status": "Default",
    }
    expected = {"SettingId": "/ssm/documents/console/public-sharing-permission"}
    ssm.add_response("get_service_setting", {"ServiceSetting": setting}, expected)
    ssm.add_response("get_service_setting", {"ServiceSetting": {**setting, "SettingValue": "Disable"}}, expected)
    (default,) = collect(collector, "aws.ssm.document-sharing-setting").values()
    assert default.uid == setting["ARN"] and default.name == ACCOUNT
    assert failing("pol_ssm_document_public_sharing_blocked", {"d": default}) == {"d"}
    (blocked,) = collect(collector, "aws.ssm.document-sharing-setting").values()
    assert failing("pol_ssm_document_public_sharing_blocked", {"b": blocked}) == set()


def test_document_sharing_on_the_local_endpoint(moto):
    """devkit's local endpoint answers GetServiceSetting (which moto lacks) as AWS does: public
    sharing allowed by default, blocked once updated."""
    collector = make_collector(moto)
    (default,) = collect(collector, "aws.ssm.document-sharing-setting").values()
    assert default.document["ServiceSetting"]["Status"] == "Default"
    assert failing("pol_ssm_document_public_sharing_blocked", {"d": default}) == {"d"}
    aws("ssm", moto).update_service_setting(
        SettingId="/ssm/documents/console/public-sharing-permission", SettingValue="Disable"
    )
    (blocked,) = collect(collector, "aws.ssm.document-sharing-setting").values()
    assert failing("pol_ssm_document_public_sharing_blocked", {"b": blocked}) == set()
