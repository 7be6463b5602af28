"""The database and storage service types (RDS clusters, snapshots, parameter groups and event
subscriptions, DynamoDB, DAX, ElastiCache, Redshift, OpenSearch, EFS) against moto's server: what
each policy fails on documents in the shape the collector really produces."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.inventory.collectors.aws.rds import RdsClusterParameterGroup
from shared.inventory.collectors.aws.redshift import RedshiftCluster
from shared.policies.policy import builtin_policies
from tests.shared.inventory.collectors.test_aws import ACCOUNT, HOME, aws, collect, failing, make_collector

PASSWORD = "not-a-real-password"
KEY = f"arn:aws:kms:{HOME}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def assert_failing(resources, policy_ids, names: set[str]) -> None:
    """Each of the policies fails exactly the resources `names`."""
    assert {policy_id: failing(policy_id, resources) for policy_id in policy_ids} == dict.fromkeys(policy_ids, names)


def test_rds_instance_settings(moto):
    rds = aws("rds", moto)
    rds.create_db_instance(
        DBInstanceIdentifier="ledger",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="ledger_owner",
        MasterUserPassword=PASSWORD,
        AllocatedStorage=20,
        Port=6543,
        EnableIAMDatabaseAuthentication=True,
        MonitoringInterval=60,
        MonitoringRoleArn=f"arn:aws:iam::{ACCOUNT}:role/rds-monitoring-role",
        EnableCloudwatchLogsExports=["postgresql", "upgrade"],
        CopyTagsToSnapshot=True,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="legacy",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
        AllocatedStorage=20,
    )
    instances = collect(make_collector(moto), "aws.rds.instance")
    assert set(instances) == {"ledger", "legacy"}
    assert instances["legacy"].document["Endpoint"]["Port"] == 3306
    policies = (
        "pol_rds_instance_iam_auth",
        "pol_rds_instance_enhanced_monitoring",
        "pol_rds_instance_log_exports",
        "pol_rds_instance_copy_tags_to_snapshots",
        "pol_rds_instance_default_admin_username",
        "pol_rds_instance_default_port",
    )
    assert_failing(instances, policies, {"legacy"})
    assert failing("pol_rds_instance_minor_upgrades", instances) == set()  # moto's default: true


def test_rds_clusters_and_their_members(moto):
    rds = aws("rds", moto)
    rds.create_db_cluster(
        DBClusterIdentifier="orders",
        Engine="aurora-mysql",
        MasterUsername="orders_owner",
        MasterUserPassword=PASSWORD,
        StorageEncrypted=True,
        KmsKeyId=KEY,
        DeletionProtection=True,
        BackupRetentionPeriod=14,
        EnableIAMDatabaseAuthentication=True,
        EnableCloudwatchLogsExports=["audit", "error"],
        BacktrackWindow=86400,
        CopyTagsToSnapshot=True,
    )
    for index, zone in enumerate(("us-east-1a", "us-east-1b")):
        rds.create_db_instance(
            DBInstanceIdentifier=f"orders-{index}",
            DBClusterIdentifier="orders",
            Engine="aurora-mysql",
            DBInstanceClass="db.r6g.large",
            AvailabilityZone=zone,
        )
    rds.create_db_cluster(
        DBClusterIdentifier="reports",
        Engine="aurora-postgresql",
        MasterUsername="postgres",
        MasterUserPassword=PASSWORD,
    )
    aws("neptune", moto).create_db_cluster(DBClusterIdentifier="graph", Engine="neptune")
    collector = make_collector(moto)

    clusters = collect(collector, "aws.rds.cluster")
    assert set(clusters) == {"orders", "reports", "graph"}  # Neptune's clusters come through the RDS API
    assert clusters["orders"].uid == f"arn:aws:rds:{HOME}:{ACCOUNT}:cluster:orders"
    assert clusters["orders"].document["MultiAZ"] is True  # readers in two zones
    policies = (
        "pol_rds_cluster_encrypted",
        "pol_rds_cluster_deletion_protection",
        "pol_rds_cluster_backups",
        "pol_rds_cluster_iam_auth",
        "pol_rds_cluster_multi_az",
        "pol_rds_cluster_log_exports",
        "pol_rds_cluster_copy_tags_to_snapshots",
    )
    assert_failing(clusters, policies, {"reports", "graph"})
    assert failing("pol_rds_cluster_default_admin_username", clusters) == {"reports"}  # Neptune has no master user
    assert failing("pol_rds_cluster_backtracking", clusters) == set()  # only Aurora MySQL can backtrack

    # Cluster members are judged on their cluster for the settings that live there.
    members = collect(collector, "aws.rds.instance")
    assert set(members) == {"orders-0", "orders-1"}
    for policy_id in (
        "pol_rds_instance_iam_auth",
        "pol_rds_instance_log_exports",
        "pol_rds_instance_copy_tags_to_snapshots",
        "pol_rds_instance_multi_az",
        "pol_rds_instance_default_admin_username",
    ):
        assert failing(policy_id, members) == set(), policy_id


def test_aurora_mysql_without_backtracking(moto):
    aws("rds", moto).create_db_cluster(
        DBClusterIdentifier="orders", Engine="aurora-mysql", MasterUsername="admin", MasterUserPassword=PASSWORD
    )
    clusters = collect(make_collector(moto), "aws.rds.cluster")
    assert failing("pol_rds_cluster_backtracking", clusters) == {"orders"}
    assert failing("pol_rds_cluster_default_admin_username", clusters) == {"orders"}
    assert failing("pol_rds_cluster_log_exports", clusters) == {"orders"}


def test_rds_cluster_snapshots(moto):
    rds = aws("rds", moto)
    rds.create_db_cluster(
        DBClusterIdentifier="sealed",
        Engine="aurora-postgresql",
        MasterUsername="owner",
        MasterUserPassword=PASSWORD,
        StorageEncrypted=True,
        KmsKeyId=KEY,
    )
    rds.create_db_cluster(
        DBClusterIdentifier="plain", Engine="aurora-postgresql", MasterUsername="owner", MasterUserPassword=PASSWORD
    )
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="sealed-shared", DBClusterIdentifier="sealed")
    rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="sealed-shared", AttributeName="restore", ValuesToAdd=["all"]
    )
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="plain-manual", DBClusterIdentifier="plain")
    snapshots = collect(make_collector(moto), "aws.rds.cluster-snapshot")
    manual = {"sealed-shared", "plain-manual"}
    automated = set(snapshots) - manual
    assert manual <= set(snapshots) and len(automated) == 2  # moto's automated snapshot of each cluster
    assert snapshots["sealed-shared"].document["SnapshotAttributes"] == [
        {"AttributeName": "restore", "AttributeValues": ["all"]}
    ]
    # Automated snapshots cannot be shared: their attributes are not read.
    assert all("SnapshotAttributes" not in snapshots[name].document for name in automated)
    assert failing("pol_rds_cluster_snapshot_not_public", snapshots) == {"sealed-shared"}
    assert failing("pol_rds_cluster_snapshot_encrypted", snapshots) == {"plain-manual"} | {
        name for name in automated if name.startswith("rds:plain")
    }


def test_rds_parameter_groups_require_tls(moto):
    rds = aws("rds", moto)
    groups = (("orders-pg", "postgres16"), ("legacy-mysql", "mysql8.0"), ("quiet-mariadb", "mariadb10.11"))
    for name, family in groups + (("ledger-oracle", "oracle-ee-19"),):
        rds.create_db_parameter_group(DBParameterGroupName=name, DBParameterGroupFamily=family, Description=name)
    for name, parameter, value in (
        ("orders-pg", "rds.force_ssl", "1"),
        ("legacy-mysql", "require_secure_transport", "0"),
    ):
        rds.modify_db_parameter_group(
            DBParameterGroupName=name,
            Parameters=[{"ParameterName": parameter, "ParameterValue": value, "ApplyMethod": "immediate"}],
        )
    for name, family, value in (
        ("orders-aurora", "aurora-mysql8.0", "ON"),
        ("reports-aurora", "aurora-postgresql15", None),
    ):
        rds.create_db_cluster_parameter_group(
            DBClusterParameterGroupName=name, DBParameterGroupFamily=family, Description=name
        )
        if value:
            rds.modify_db_cluster_parameter_group(
                DBClusterParameterGroupName=name,
                Parameters=[
                    {"ParameterName": "require_secure_transport", "ParameterValue": value, "ApplyMethod": "immediate"}
                ],
            )
    collector = make_collector(moto)

    instance_groups = collect(collector, "aws.rds.parameter-group")
    assert set(instance_groups) == {"orders-pg", "legacy-mysql", "quiet-mariadb", "ledger-oracle"}
    assert instance_groups["orders-pg"].document["ParameterValues"] == {"rds_force_ssl": "1"}
    assert instance_groups["orders-pg"].uid == f"arn:aws:rds:{HOME}:{ACCOUNT}:pg:orders-pg"
    assert "Parameters" not in instance_groups["ledger-oracle"].document  # no TLS parameter: no call
    assert failing("pol_rds_parameter_group_require_tls", instance_groups) == {"legacy-mysql", "quiet-mariadb"}

    cluster_groups = collect(collector, "aws.rds.cluster-parameter-group")
    assert set(cluster_groups) == {"orders-aurora", "reports-aurora"}
    assert cluster_groups["orders-aurora"].document["ParameterValues"] == {"require_secure_transport": "ON"}
    assert failing("pol_rds_cluster_parameter_group_require_tls", cluster_groups) == {"reports-aurora"}


EVENT_POLICIES = (
    "pol_rds_event_subscription_instance_events",
    "pol_rds_event_subscription_cluster_events",
    "pol_rds_event_subscription_parameter_group_events",
)


def _event_subscriptions(moto):
    (pseudo,) = collect(make_collector(moto), "aws.rds.event-subscriptions").values()
    return pseudo, {policy_id: failing(policy_id, {"region": pseudo}) for policy_id in EVENT_POLICIES}


def test_rds_event_subscriptions(moto):
    pseudo, fails = _event_subscriptions(moto)
    assert pseudo.uid == f"arn:aws:rds:{HOME}:{ACCOUNT}:event-subscriptions" and pseudo.name == ACCOUNT
    assert pseudo.document == {"EventSubscriptionsList": [], "HasDBInstances": False, "HasDBClusters": False}
    assert fails == dict.fromkeys(EVENT_POLICIES, set())  # no databases, nothing to be told about

    rds = aws("rds", moto)
    rds.create_db_cluster(
        DBClusterIdentifier="orders", Engine="aurora-postgresql", MasterUsername="owner", MasterUserPassword=PASSWORD
    )
    rds.create_db_instance(
        DBInstanceIdentifier="orders-0",
        DBClusterIdentifier="orders",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    topic = f"arn:aws:sns:{HOME}:{ACCOUNT}:database-alerts"
    # Only one instance's events, and a disabled subscription: neither covers the region.
    rds.create_event_subscription(
        SubscriptionName="one-instance",
        SnsTopicArn=topic,
        SourceType="db-instance",
        SourceIds=["orders-0"],
        Enabled=True,
    )
    rds.create_event_subscription(SubscriptionName="muted", SnsTopicArn=topic, SourceType="db-cluster", Enabled=False)
    pseudo, fails = _event_subscriptions(moto)
    assert pseudo.document["HasDBInstances"] is True and pseudo.document["HasDBClusters"] is True
    assert len(pseudo.document["EventSubscriptionsList"]) == 2
    assert fails == dict.fromkeys(EVENT_POLICIES, {"region"})

    rds.create_event_subscription(
        SubscriptionName="instances",
        SnsTopicArn=topic,
        SourceType="db-instance",
        EventCategories=["failure", "maintenance", "configuration change"],
        Enabled=True,
    )
    rds.create_event_subscription(SubscriptionName="everything", SnsTopicArn=topic, Enabled=False)
    pseudo, fails = _event_subscriptions(moto)
    assert fails == {
        "pol_rds_event_subscription_instance_events": set(),
        "pol_rds_event_subscription_cluster_events": {"region"},
        "pol_rds_event_subscription_parameter_group_events": {"region"},
    }
    # Every source type and every category (moto has no ModifyEventSubscription).
    rds.delete_event_subscription(SubscriptionName="everything")
    rds.create_event_subscription(SubscriptionName="everything", SnsTopicArn=topic, Enabled=True)
    pseudo, fails = _event_subscriptions(moto)
    assert fails == dict.fromkeys(EVENT_POLICIES, set())


def test_dynamodb_tables(moto):
    dynamodb = aws("dynamodb", moto)
    schema = {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    dynamodb.create_table(
        TableName="orders",
        DeletionProtectionEnabled=True,
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": KEY},
        **schema,
    )
    dynamodb.update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    for index in range(3):
        dynamodb.create_table(TableName=f"scratch-{index}", **schema)
    tables = collect(make_collector(moto, page_size=2), "aws.dynamodb.table")  # pages of two names
    assert set(tables) == {"orders", "scratch-0", "scratch-1", "scratch-2"}
    orders = tables["orders"]
    assert orders.uid == f"arn:aws:dynamodb:{HOME}:{ACCOUNT}:table/orders"
    assert orders.document["TableArn"] == orders.uid and orders.document["KeySchema"][0]["AttributeName"] == "id"
    assert "Table" not in orders.document  # the TableDescription's fields are the document's
    recovery = orders.document["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED" and "LatestRestorableDateTime" not in recovery
    scratch = {f"scratch-{index}" for index in range(3)}
    policies = (
        "pol_dynamodb_table_pitr",
        "pol_dynamodb_table_deletion_protection",
        "pol_dynamodb_table_kms_encryption",
    )
    assert_failing(tables, policies, scratch)


def test_dax_clusters(moto):
    dax = aws("dax", moto)
    role = f"arn:aws:iam::{ACCOUNT}:role/dax-access"
    dax.create_cluster(
        ClusterName="orders-cache",
        NodeType="dax.t3.small",
        ReplicationFactor=1,
        IamRoleArn=role,
        SSESpecification={"Enabled": True},
        ClusterEndpointEncryptionType="TLS",
    )
    dax.create_cluster(ClusterName="scratch-cache", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=role)
    clusters = collect(make_collector(moto), "aws.dax.cluster")
    assert set(clusters) == {"orders-cache", "scratch-cache"}
    assert clusters["orders-cache"].uid == f"arn:aws:dax:{HOME}:{ACCOUNT}:cache/orders-cache"
    assert failing("pol_dax_cluster_encrypted", clusters) == {"scratch-cache"}
    assert failing("pol_dax_cluster_tls", clusters) == {"scratch-cache"}


def test_elasticache_replication_groups_and_clusters(moto):
    elasticache = aws("elasticache", moto)
    elasticache.create_cache_subnet_group(
        CacheSubnetGroupName="cache-private", CacheSubnetGroupDescription="private subnets", SubnetIds=["subnet-1"]
    )
    elasticache.create_replication_group(
        ReplicationGroupId="sessions",
        ReplicationGroupDescription="user sessions",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=2,
        AtRestEncryptionEnabled=True,
        TransitEncryptionEnabled=True,
        AuthToken="a-long-enough-auth-token",
        AutomaticFailoverEnabled=True,
        MultiAZEnabled=True,
        SnapshotRetentionLimit=7,
        CacheSubnetGroupName="cache-private",
    )
    elasticache.create_replication_group(
        ReplicationGroupId="scratch",
        ReplicationGroupDescription="scratch",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
    )
    elasticache.create_cache_cluster(
        CacheClusterId="pages",
        Engine="memcached",
        CacheNodeType="cache.t3.micro",
        NumCacheNodes=1,
        CacheSubnetGroupName="cache-private",
    )
    elasticache.create_cache_cluster(
        CacheClusterId="stale",
        Engine="memcached",
        CacheNodeType="cache.t3.micro",
        NumCacheNodes=1,
        CacheSubnetGroupName="default",
        AutoMinorVersionUpgrade=False,
    )
    collector = make_collector(moto)

    groups = collect(collector, "aws.elasticache.replication-group")
    assert set(groups) == {"sessions", "scratch"}
    assert groups["sessions"].uid == f"arn:aws:elasticache:{HOME}:{ACCOUNT}:replicationgroup:sessions"
    policies = (
        "pol_elasticache_replication_group_encrypted_at_rest",
        "pol_elasticache_replication_group_encrypted_in_transit",
        "pol_elasticache_replication_group_auth",
        "pol_elasticache_replication_group_automatic_failover",
        "pol_elasticache_replication_group_multi_az",
        "pol_elasticache_replication_group_backups",
    )
    assert_failing(groups, policies, {"scratch"})

    clusters = collect(collector, "aws.elasticache.cache-cluster")
    assert set(clusters) == {"pages", "stale"}  # moto keeps no member clusters for replication groups
    assert clusters["pages"].uid == f"arn:aws:elasticache:{HOME}:{ACCOUNT}:cluster:pages"
    assert failing("pol_elasticache_cluster_default_subnet_group", clusters) == {"stale"}
    assert failing("pol_elasticache_cluster_minor_upgrades", clusters) == {"stale"}


def test_redshift_clusters(moto):
    redshift = aws("redshift", moto)
    redshift.create_cluster(
        ClusterIdentifier="analytics",
        ClusterType="single-node",
        NodeType="ra3.xlplus",
        MasterUsername="warehouse_admin",
        MasterUserPassword="Passw0rd-not-real",
        Encrypted=True,
        KmsKeyId=KEY,
        PubliclyAccessible=False,
        EnhancedVpcRouting=True,
        AutomatedSnapshotRetentionPeriod=14,
        AllowVersionUpgrade=True,
    )
    redshift.enable_logging(
        ClusterIdentifier="analytics", LogDestinationType="cloudwatch", LogExports=["connectionlog", "userlog"]
    )
    redshift.create_cluster(
        ClusterIdentifier="sandbox",
        ClusterType="single-node",
        NodeType="ra3.xlplus",
        MasterUsername="awsuser",
        MasterUserPassword="Passw0rd-not-real",
        PubliclyAccessible=True,
        AutomatedSnapshotRetentionPeriod=1,
        AllowVersionUpgrade=False,
    )
    clusters = collect(make_collector(moto), "aws.redshift.cluster")
    assert set(clusters) == {"analytics", "sandbox"}
    analytics = clusters["analytics"].document
    assert clusters["analytics"].uid == f"arn:aws:redshift:{HOME}:{ACCOUNT}:cluster:analytics"
    assert analytics["LoggingStatus"]["LoggingEnabled"] is True and "LastFailureTime" not in analytics["LoggingStatus"]
    (group,) = analytics["ClusterParameterGroups"]
    assert group["ParameterGroupName"] == "default.redshift-1.0" and group["Parameters"]
    assert analytics["ParameterValues"]["require_ssl"] == "false"
    policies = (
        "pol_redshift_cluster_encrypted",
        "pol_redshift_cluster_not_public",
        "pol_redshift_cluster_audit_logging",
        "pol_redshift_cluster_enhanced_vpc_routing",
        "pol_redshift_cluster_automatic_snapshots",
        "pol_redshift_cluster_version_upgrade",
        "pol_redshift_cluster_default_admin_username",
    )
    assert_failing(clusters, policies, {"sandbox"})
    # moto cannot change a parameter group (no ModifyClusterParameterGroup): both keep the default.
    assert failing("pol_redshift_cluster_require_ssl", clusters) == {"analytics", "sandbox"}


def test_opensearch_domains(moto):
    opensearch = aws("opensearch", moto)
    log_group = f"arn:aws:logs:{HOME}:{ACCOUNT}:log-group:/aws/opensearch/search"
    opensearch.create_domain(
        DomainName="search",
        ClusterConfig={"InstanceType": "r6g.large.search", "InstanceCount": 3, "ZoneAwarenessEnabled": True},
        EncryptionAtRestOptions={"Enabled": True},
        NodeToNodeEncryptionOptions={"Enabled": True},
        DomainEndpointOptions={"EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10"},
        VPCOptions={"SubnetIds": ["subnet-0a1b2c3d"], "SecurityGroupIds": ["sg-0a1b2c3d"]},
        AdvancedSecurityOptions={"Enabled": True, "InternalUserDatabaseEnabled": False},
        LogPublishingOptions={
            "AUDIT_LOGS": {"CloudWatchLogsLogGroupArn": log_group, "Enabled": True},
            "ES_APPLICATION_LOGS": {"CloudWatchLogsLogGroupArn": log_group, "Enabled": True},
        },
    )
    open_to_all = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:*", "Resource": "*"}],
    }
    opensearch.create_domain(DomainName="open-logs", AccessPolicies=json.dumps(open_to_all))
    domains = collect(make_collector(moto), "aws.opensearch.domain")
    assert set(domains) == {"search", "open-logs"}
    assert domains["search"].uid == f"arn:aws:es:{HOME}:{ACCOUNT}:domain/search"
    assert domains["search"].document["EngineType"] == "OpenSearch"  # from the listing
    assert "DomainStatus" not in domains["search"].document  # its fields are the document's
    assert domains["open-logs"].document["AccessPolicies"]["Statement"][0]["Principals"] == ["*"]
    policies = (
        "pol_opensearch_domain_encrypted_at_rest",
        "pol_opensearch_domain_node_to_node_encryption",
        "pol_opensearch_domain_https_required",
        "pol_opensearch_domain_tls_policy",
        "pol_opensearch_domain_in_vpc",
        "pol_opensearch_domain_fine_grained_access",
        "pol_opensearch_domain_audit_logs",
        "pol_opensearch_domain_error_logs",
        "pol_opensearch_domain_policy_not_public",
        "pol_opensearch_domain_fault_tolerant",
    )
    assert_failing(domains, policies, {"open-logs"})


def test_efs_file_systems_and_access_points(moto):
    efs = aws("efs", moto)
    home = efs.create_file_system(
        CreationToken="home", Encrypted=True, Backup=True, Tags=[{"Key": "Name", "Value": "shared-home"}]
    )["FileSystemId"]
    scratch = efs.create_file_system(CreationToken="scratch")["FileSystemId"]
    efs.create_access_point(
        FileSystemId=home,
        PosixUser={"Uid": 1000, "Gid": 1000},
        RootDirectory={"Path": "/orders"},
        Tags=[{"Key": "Name", "Value": "orders-app"}],
    )
    efs.create_access_point(FileSystemId=home, Tags=[{"Key": "Name", "Value": "anything-goes"}])
    collector = make_collector(moto)

    file_systems = collect(collector, "aws.efs.file-system")
    assert set(file_systems) == {"shared-home", scratch}  # the Name tag, else the id
    assert file_systems["shared-home"].uid == f"arn:aws:elasticfilesystem:{HOME}:{ACCOUNT}:file-system/{home}"
    assert file_systems["shared-home"].document["BackupPolicy"] == {"Status": "ENABLED"}
    assert "BackupPolicy" not in file_systems[scratch].document  # PolicyNotFound: never turned on
    assert failing("pol_efs_file_system_encrypted", file_systems) == {scratch}
    assert failing("pol_efs_file_system_backups", file_systems) == {scratch}

    access_points = collect(collector, "aws.efs.access-point")
    assert set(access_points) == {"orders-app", "anything-goes"}
    assert access_points["anything-goes"].document["RootDirectory"] == {"Path": "/"}
    assert failing("pol_efs_access_point_root_directory", access_points) == {"anything-goes"}
    assert failing("pol_efs_access_point_user_identity", access_points) == {"anything-goes"}


@pytest.mark.parametrize(
    "resource_type",
    [
        "aws.rds.cluster",
        "aws.rds.cluster-snapshot",
        "aws.rds.parameter-group",
        "aws.rds.cluster-parameter-group",
        "aws.dynamodb.table",
        "aws.dax.cluster",
        "aws.elasticache.replication-group",
        "aws.elasticache.cache-cluster",
        "aws.redshift.cluster",
        "aws.opensearch.domain",
        "aws.efs.file-system",
        "aws.efs.access-point",
    ],
)
def test_an_empty_region_lists_nothing(moto, resource_type):
    assert collect(make_collector(moto), resource_type) == {}


def test_shapes_moto_cannot_produce():
    """Documents in the API's published shape (botocore's service model) where moto cannot make them:
    DocumentDB cluster parameter groups (moto's RDS refuses the docdb engine) and a Redshift parameter
    group with require_ssl on (moto has no ModifyClusterParameterGroup)."""
    now = datetime.now(UTC)

    def docdb_group(value: str) -> dict:
        return RdsClusterParameterGroup.normalise(
            {
                "DBClusterParameterGroupName": "documents-params",
                "DBParameterGroupFamily": "docdb5.0",
                "Description": "documents cluster settings",
                "DBClusterParameterGroupArn": f"arn:aws:rds:{HOME}:{ACCOUNT}:cluster-pg:documents-params",
                "Parameters": [
                    {
                        "ParameterName": "tls",
                        "ParameterValue": value,
                        "Description": "Config to enable/disable TLS",
                        "Source": "user",
                        "ApplyType": "static",
                        "DataType": "string",
                        "AllowedValues": "disabled,enabled,fips-140-3,tls1.2+,tls1.3+",
                        "IsModifiable": True,
                        "ApplyMethod": "pending-reboot",
                    }
                ],
            },
            now,
        )

    tls_policy = builtin_policies()["pol_rds_cluster_parameter_group_require_tls"]
    assert tls_policy.fails(docdb_group("disabled")) and not tls_policy.fails(docdb_group("tls1.2+"))

    def redshift_cluster(require_ssl: str) -> dict:
        parameters = [
            {"ParameterName": "enable_user_activity_logging", "ParameterValue": "true", "Source": "user"},
            {"ParameterName": "require_ssl", "ParameterValue": require_ssl, "Source": "user", "DataType": "boolean"},
        ]
        group = {"ParameterGroupName": "analytics-params", "ParameterApplyStatus": "in-sync", "Parameters": parameters}
        return RedshiftCluster.normalise({"ClusterIdentifier": "analytics", "ClusterParameterGroups": [group]}, now)

    ssl_policy = builtin_policies()["pol_redshift_cluster_require_ssl"]
    assert ssl_policy.fails(redshift_cluster("false")) and not ssl_policy.fails(redshift_cluster("true"))
