"""EC2, VPC, load balancing, Auto Scaling and ACM types against moto: what each collects and which
resources each policy of the group fails. Where moto does not return a field the real API does
(VPN tunnel telemetry, Encrypted on AMI block devices), the policy is also run on a document in
the shape of the EC2 API reference."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore import xform_name
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared.inventory.collectors.aws.acm import AcmCertificate
from shared.inventory.collectors.aws.vpc import VpnConnection
from shared.inventory.collectors.base import resource_types
from shared.policies.policy import builtin_policies
from tests.aws_faults import FaultyCloud
from tests.shared.inventory.collectors.test_aws import ACCOUNT, HOME, aws, collect, failing, make_collector

WORLD = [{"CidrIp": "0.0.0.0/0"}]
WORLD_V6 = [{"CidrIpv6": "::/0"}]

# Each per-service security group policy and the ports it watches.
SERVICE_PORTS = {
    "pol_ec2_sg_telnet_open": [23],
    "pol_ec2_sg_ftp_open": [20, 21],
    "pol_ec2_sg_smtp_open": [25],
    "pol_ec2_sg_dns_open": [53],
    "pol_ec2_sg_windows_rpc_smb_open": [135, 139, 445],
    "pol_ec2_sg_mssql_open": [1433, 1434],
    "pol_ec2_sg_oracle_open": [1521, 2483, 2484],
    "pol_ec2_sg_mysql_open": [3306],
    "pol_ec2_sg_postgres_open": [5432],
    "pol_ec2_sg_redis_open": [6379],
    "pol_ec2_sg_mongodb_open": [27017, 27018],
    "pol_ec2_sg_elasticsearch_open": [9200, 9300],
    "pol_ec2_sg_kibana_open": [5601],
    "pol_ec2_sg_memcached_open": [11211],
    "pol_ec2_sg_kafka_open": [9092],
    "pol_ec2_sg_cassandra_open": [7000, 7001, 7199, 9042, 9160],
}

NEW_TYPES = (
    "aws.ec2.elastic-ip",
    "aws.ec2.image",
    "aws.ec2.launch-template",
    "aws.ec2.network-acl",
    "aws.ec2.subnet",
    "aws.ec2.transit-gateway",
    "aws.ec2.vpn-connection",
    "aws.elb.load-balancer",
    "aws.autoscaling.group",
    "aws.autoscaling.launch-configuration",
    "aws.acm.certificate",
)


def _tags(resource_type: str, name: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}]}]


def _default_vpc(ec2) -> str:
    return ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]


def _subnets(ec2, vpc: str) -> list[dict]:
    found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    return sorted(found, key=lambda s: s["AvailabilityZone"])


def _hvm_image(ec2) -> str:
    return ec2.describe_images(Filters=[{"Name": "virtualization-type", "Values": ["hvm"]}])["Images"][0]["ImageId"]


def test_new_types_page_as_botocore_defines_their_listing():
    """Paging tokens and page sizes as the service models define them: a page size outside the
    API's bounds is a 400 from real AWS, which moto does not check."""
    session = botocore.session.get_session()
    for name in NEW_TYPES:
        spec = resource_types.get(name)
        assert spec.provider == "aws" and not spec.global_service, name
        model = session.get_service_model(spec.service)
        operations = {xform_name(o): o for o in model.operation_names}
        operation = model.operation_model(operations[spec.list_operation])
        members = operation.input_shape.members
        if spec.paging is None:
            assert "NextToken" not in members and "Marker" not in members, name
            continue
        request_token, answer_token = spec.paging
        assert request_token in members and answer_token in operation.output_shape.members, name
        size = members[spec.page_size_param]
        low, high = spec.page_size_limits
        assert size.metadata.get("min", low) <= low <= high <= size.metadata.get("max", high), name
    key_types = session.get_service_model("acm").shape_for("KeyAlgorithm").enum
    assert sorted(AcmCertificate.list_params["Includes"]["keyTypes"]) == sorted(key_types)


def test_security_groups_per_service(moto):
    ec2 = aws("ec2", moto)
    vpc = _default_vpc(ec2)

    def group(name: str, *permissions: dict) -> None:
        group_id = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        if permissions:
            ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=list(permissions))

    # One group per watched port, open to the world (UDP for DNS, IPv6 for every other one).
    for ports in SERVICE_PORTS.values():
        for index, port in enumerate(ports):
            protocol = "udp" if port == 53 else "tcp"
            ranges = {"Ipv6Ranges": WORLD_V6} if index % 2 else {"IpRanges": WORLD}
            group(f"port-{port}", {"IpProtocol": protocol, "FromPort": port, "ToPort": port, **ranges})
    group("all-open", {"IpProtocol": "-1", "IpRanges": WORLD})
    group("range-9000", {"IpProtocol": "tcp", "FromPort": 9000, "ToPort": 9400, "IpRanges": WORLD})
    group(
        "web",
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": WORLD, "Ipv6Ranges": WORLD_V6},
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": WORLD},
        {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]},
        {"IpProtocol": "icmp", "FromPort": 3, "ToPort": 4, "IpRanges": WORLD},
    )

    groups = collect(make_collector(moto), "aws.ec2.security-group")
    assert {"all-open", "range-9000", "web", "port-23"} <= set(groups)
    in_range = {9042, 9092, 9160, 9200, 9300}
    for policy_id, ports in SERVICE_PORTS.items():
        expected = {f"port-{port}" for port in ports} | {"all-open"}
        if in_range & set(ports):
            expected.add("range-9000")
        assert failing(policy_id, groups) == expected, policy_id
    every_port = {f"port-{port}" for ports in SERVICE_PORTS.values() for port in ports}
    assert failing("pol_ec2_sg_unauthorized_ports_open", groups) == every_port | {"all-open", "range-9000"}
    # The existing SSH, RDP and all-ports policies read the same documents.
    assert failing("pol_ec2_sg_all_ports_open", groups) == {"all-open"}


def test_instances(moto):
    ec2 = aws("ec2", moto)
    iam = aws("iam", moto)
    subnets = _subnets(ec2, _default_vpc(ec2))
    profile = iam.create_instance_profile(InstanceProfileName="app-server")["InstanceProfile"]
    hvm = _hvm_image(ec2)
    ec2.run_instances(
        ImageId=hvm,
        MinCount=1,
        MaxCount=1,
        InstanceType="m5.large",
        Monitoring={"Enabled": True},
        IamInstanceProfile={"Arn": profile["Arn"]},
        TagSpecifications=_tags("instance", "modern"),
    )
    ec2.run_instances(
        ImageId="ami-12345678",  # moto's default image is paravirtual
        MinCount=1,
        MaxCount=1,
        InstanceType="m3.medium",
        NetworkInterfaces=[
            {"DeviceIndex": 0, "SubnetId": subnets[0]["SubnetId"]},
            {"DeviceIndex": 1, "SubnetId": subnets[1]["SubnetId"]},
        ],
        TagSpecifications=_tags("instance", "legacy"),
    )
    parked = ec2.run_instances(
        ImageId=hvm, MinCount=1, MaxCount=1, InstanceType="t3.micro", TagSpecifications=_tags("instance", "parked")
    )["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[parked])

    instances = collect(make_collector(moto), "aws.ec2.instance")
    assert set(instances) == {"modern", "legacy", "parked"}
    assert instances["parked"].document["StoppedDays"] == 0
    assert "StoppedDays" not in instances["modern"].document
    assert failing("pol_ec2_instance_detailed_monitoring", instances) == {"legacy", "parked"}
    assert failing("pol_ec2_instance_profile_attached", instances) == {"legacy", "parked"}
    assert failing("pol_ec2_instance_stopped_30_days", instances) == set()
    assert failing("pol_ec2_instance_current_generation", instances) == {"legacy"}
    assert failing("pol_ec2_instance_not_paravirtual", instances) == {"legacy"}
    assert failing("pol_ec2_instance_single_eni", instances) == {"legacy"}

    later = collect(make_collector(moto, now=datetime.now(UTC) + timedelta(days=45)), "aws.ec2.instance")
    assert later["parked"].document["StoppedDays"] in (44, 45)
    assert failing("pol_ec2_instance_stopped_30_days", later) == {"parked"}
    # The age is part of the configuration hash: a stopped instance is evaluated again as it ages.
    assert later["parked"].config_hash != instances["parked"].config_hash


def test_volumes_images_and_elastic_ips(moto):
    ec2 = aws("ec2", moto)
    instance = ec2.run_instances(
        ImageId=_hvm_image(ec2),
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        TagSpecifications=_tags("instance", "app"),
    )["Instances"][0]["InstanceId"]
    zone = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["Placement"]
    loose = ec2.create_volume(
        Size=1, AvailabilityZone=zone["AvailabilityZone"], TagSpecifications=_tags("volume", "loose")
    )
    mounted = ec2.create_volume(
        Size=1, AvailabilityZone=zone["AvailabilityZone"], TagSpecifications=_tags("volume", "mounted")
    )["VolumeId"]
    ec2.attach_volume(VolumeId=mounted, InstanceId=instance, Device="/dev/sdf")

    volumes = collect(make_collector(moto), "aws.ec2.volume")
    assert volumes["loose"].document["State"] == "available" and volumes["loose"].id == loose["VolumeId"]
    assert failing("pol_ebs_volume_unattached", volumes) == {"loose"}
    # State is not volatile any more: attaching the volume changes its hash, so it is evaluated again.
    before = volumes["loose"].config_hash
    ec2.attach_volume(VolumeId=loose["VolumeId"], InstanceId=instance, Device="/dev/sdg")
    after = collect(make_collector(moto), "aws.ec2.volume")
    assert failing("pol_ebs_volume_unattached", after) == set() and after["loose"].config_hash != before

    private = ec2.create_image(InstanceId=instance, Name="golden")["ImageId"]
    shared = ec2.create_image(InstanceId=instance, Name="shared")["ImageId"]
    ec2.modify_image_attribute(ImageId=shared, LaunchPermission={"Add": [{"Group": "all"}]})
    images = collect(make_collector(moto), "aws.ec2.image")
    assert set(images) == {"golden", "shared"}  # only the account's own, not moto's catalogue
    assert images["golden"].uid == f"arn:aws:ec2:{HOME}::image/{private}"
    assert images["golden"].document["AgeDays"] == 0
    assert failing("pol_ec2_ami_not_public", images) == {"shared"}
    assert failing("pol_ec2_ami_age", images) == set()
    # moto leaves Encrypted out of AMI block devices, which reads as not encrypted (the absent verdict).
    assert "Encrypted" not in images["golden"].document["BlockDeviceMappings"][0]["Ebs"]
    assert failing("pol_ec2_ami_encrypted", images) == {"golden", "shared"}
    aged = collect(make_collector(moto, now=datetime.now(UTC) + timedelta(days=200)), "aws.ec2.image")
    assert failing("pol_ec2_ami_age", aged) == {"golden", "shared"}

    spare = ec2.allocate_address(Domain="vpc", TagSpecifications=_tags("elastic-ip", "spare"))["AllocationId"]
    bound = ec2.allocate_address(Domain="vpc", TagSpecifications=_tags("elastic-ip", "bound"))["AllocationId"]
    ec2.associate_address(AllocationId=bound, InstanceId=instance)
    addresses = collect(make_collector(moto), "aws.ec2.elastic-ip")
    assert set(addresses) == {"spare", "bound"}
    assert addresses["spare"].uid == f"arn:aws:ec2:{HOME}:{ACCOUNT}:elastic-ip/{spare}"
    assert failing("pol_ec2_eip_unattached", addresses) == {"spare"}


def test_ami_encryption_on_a_documented_answer():
    """DescribeImages as the EC2 API reference gives it: Encrypted on every EBS mapping."""
    policy = builtin_policies()["pol_ec2_ami_encrypted"]
    mapping = {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-0123456789abcdef0", "VolumeSize": 8}}
    image = {"ImageId": "ami-0123456789abcdef0", "RootDeviceType": "ebs", "BlockDeviceMappings": [mapping]}
    mapping["Ebs"]["Encrypted"] = True
    assert not policy.fails(image)
    image["BlockDeviceMappings"].append({"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"})
    assert not policy.fails(image)  # instance-store mappings have nothing to encrypt
    mapping["Ebs"]["Encrypted"] = False
    assert policy.fails(image)


def test_network_acls_subnets_and_the_default_vpc(moto):
    ec2 = aws("ec2", moto)
    default_vpc = _default_vpc(ec2)
    isolated = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=_tags("vpc", "isolated"))["Vpc"]["VpcId"]
    private = ec2.create_subnet(VpcId=isolated, CidrBlock="10.9.1.0/24", TagSpecifications=_tags("subnet", "private"))[
        "Subnet"
    ]["SubnetId"]
    public = ec2.create_subnet(VpcId=isolated, CidrBlock="10.9.2.0/24", TagSpecifications=_tags("subnet", "public"))
    ec2.modify_subnet_attribute(SubnetId=public["Subnet"]["SubnetId"], MapPublicIpOnLaunch={"Value": True})

    def acl(name: str, *entries: dict) -> str:
        acl_id = ec2.create_network_acl(VpcId=isolated, TagSpecifications=_tags("network-acl", name))["NetworkAcl"][
            "NetworkAclId"
        ]
        for number, entry in enumerate(entries, start=1):
            ec2.create_network_acl_entry(
                NetworkAclId=acl_id, RuleNumber=number * 10, Egress=False, RuleAction="allow", **entry
            )
        return acl_id

    acl("ssh-world", {"Protocol": "6", "PortRange": {"From": 22, "To": 22}, "CidrBlock": "0.0.0.0/0"})
    acl("rdp-v6", {"Protocol": "17", "PortRange": {"From": 3000, "To": 4000}, "Ipv6CidrBlock": "::/0"})
    locked = acl(
        "locked",
        {"Protocol": "6", "PortRange": {"From": 443, "To": 443}, "CidrBlock": "0.0.0.0/0"},
        {"Protocol": "6", "PortRange": {"From": 22, "To": 22}, "CidrBlock": "10.0.0.0/8"},
        {"Protocol": "1", "IcmpTypeCode": {"Type": -1, "Code": -1}, "CidrBlock": "0.0.0.0/0"},
    )
    association = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [private]}])
    current = next(
        a["NetworkAclAssociationId"] for a in association["NetworkAcls"][0]["Associations"] if a["SubnetId"] == private
    )
    ec2.replace_network_acl_association(AssociationId=current, NetworkAclId=locked)
    defaults = {
        a["NetworkAclId"]
        for a in ec2.describe_network_acls(Filters=[{"Name": "default", "Values": ["true"]}])["NetworkAcls"]
    }
    assert len(defaults) == 2  # the default VPC's and the isolated VPC's

    collector = make_collector(moto)
    acls = collect(collector, "aws.ec2.network-acl")
    assert set(acls) == {"ssh-world", "rdp-v6", "locked"} | defaults
    entries = {e["RuleNumber"]: e for e in acls["locked"].document["Entries"] if not e["Egress"]}
    assert (entries[10]["Ports"], entries[30]["Ports"]) == ("443-443", None)
    # Default network ACLs allow everything in: CIS 5.1 fails them, as Security Hub's EC2.21 does.
    assert failing("pol_vpc_nacl_admin_ports_open", acls) == {"ssh-world", "rdp-v6"} | defaults
    assert failing("pol_vpc_nacl_unused", acls) == {"ssh-world", "rdp-v6"}

    subnets = collect(collector, "aws.ec2.subnet")
    default_subnets = {s["SubnetId"] for s in _subnets(ec2, default_vpc)}
    assert set(subnets) == {"private", "public"} | default_subnets
    assert subnets["private"].uid == f"arn:aws:ec2:{HOME}:{ACCOUNT}:subnet/{private}"
    assert failing("pol_vpc_subnet_no_auto_public_ip", subnets) == {"public"} | default_subnets

    with FaultyCloud(moto) as cloud:
        vpcs = collect(make_collector(cloud.url), "aws.ec2.vpc")
    # Only the default VPC is asked for its network interfaces, once.
    (call,) = cloud.operations("DescribeNetworkInterfaces")
    assert call.params.get("Filter.1.Value.1") == default_vpc
    assert vpcs[default_vpc].document["HasNetworkInterfaces"] is False
    assert "HasNetworkInterfaces" not in vpcs["isolated"].document
    assert failing("pol_vpc_default_not_in_use", vpcs) == set()
    ec2.run_instances(ImageId=_hvm_image(ec2), MinCount=1, MaxCount=1, InstanceType="t3.micro")
    vpcs = collect(make_collector(moto), "aws.ec2.vpc")
    assert "NetworkInterfaces" not in vpcs[default_vpc].document
    assert failing("pol_vpc_default_not_in_use", vpcs) == {default_vpc}


def test_transit_gateways_and_vpn_connections(moto):
    ec2 = aws("ec2", moto)
    hub = ec2.create_transit_gateway(
        Options={"AutoAcceptSharedAttachments": "enable"}, TagSpecifications=_tags("transit-gateway", "hub")
    )["TransitGateway"]["TransitGatewayId"]
    ec2.create_transit_gateway(TagSpecifications=_tags("transit-gateway", "spoke"))
    gone = ec2.create_transit_gateway(TagSpecifications=_tags("transit-gateway", "gone"))["TransitGateway"]
    ec2.delete_transit_gateway(TransitGatewayId=gone["TransitGatewayId"])
    gateways = collect(make_collector(moto), "aws.ec2.transit-gateway")
    assert set(gateways) == {"hub", "spoke"}  # deleted gateways are skipped
    assert gateways["hub"].uid == f"arn:aws:ec2:{HOME}:{ACCOUNT}:transit-gateway/{hub}"
    assert failing("pol_ec2_transit_gateway_auto_accept", gateways) == {"hub"}

    customer = ec2.create_customer_gateway(Type="ipsec.1", PublicIp="203.0.113.1", BgpAsn=65000)
    ec2.create_vpn_connection(
        Type="ipsec.1",
        CustomerGatewayId=customer["CustomerGateway"]["CustomerGatewayId"],
        TransitGatewayId=hub,
        TagSpecifications=_tags("vpn-connection", "office"),
    )
    connections = collect(make_collector(moto), "aws.ec2.vpn-connection")
    assert set(connections) == {"office"}
    assert "CustomerGatewayConfiguration" not in connections["office"].document
    # moto reports no tunnel telemetry: nothing is known to be down.
    assert failing("pol_ec2_vpn_tunnels_up", connections) == set()


def test_vpn_tunnels_on_a_documented_answer():
    """A DescribeVpnConnections element in the shape of the EC2 API reference (VpnConnection,
    VgwTelemetry, TunnelOption), through the type's normalise: tunnel secrets are not kept."""
    connection = {
        "VpnConnectionId": "vpn-0123456789abcdef0",
        "State": "available",
        "Type": "ipsec.1",
        "CustomerGatewayId": "cgw-0123456789abcdef0",
        "VpnGatewayId": "vgw-0123456789abcdef0",
        "Category": "VPN",
        "CustomerGatewayConfiguration": '<?xml version="1.0"?><vpn_connection>...</vpn_connection>',
        "Options": {
            "StaticRoutesOnly": False,
            "TunnelOptions": [
                {"OutsideIpAddress": "203.0.113.10", "PreSharedKey": "pre-shared-key-1"},
                {"OutsideIpAddress": "203.0.113.11", "PreSharedKey": "pre-shared-key-2"},
            ],
        },
        "VgwTelemetry": [
            {
                "AcceptedRouteCount": 2,
                "LastStatusChange": "2024-03-01T09:15:02+00:00",
                "OutsideIpAddress": "203.0.113.10",
                "Status": "UP",
                "StatusMessage": "2 BGP ROUTES",
            },
            {
                "AcceptedRouteCount": 0,
                "LastStatusChange": "2024-03-02T22:01:13+00:00",
                "OutsideIpAddress": "203.0.113.11",
                "Status": "DOWN",
                "StatusMessage": "",
            },
        ],
    }
    document = VpnConnection.normalise(connection, datetime.now(UTC))
    assert "CustomerGatewayConfiguration" not in document
    assert all("PreSharedKey" not in tunnel for tunnel in document["Options"]["TunnelOptions"])
    policy = builtin_policies()["pol_ec2_vpn_tunnels_up"]
    assert policy.fails(document)
    document["VgwTelemetry"][1]["Status"] = "UP"
    assert not policy.fails(document)


def test_launch_templates(moto):
    ec2 = aws("ec2", moto)
    hardened = {
        "ImageId": "ami-12345678",
        "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
        "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": False}],
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "Encrypted": True}}],
        "UserData": "ZWNobyBzZWNyZXQ=",
    }
    ec2.create_launch_template(LaunchTemplateName="hardened", LaunchTemplateData=hardened)
    ec2.create_launch_template(
        LaunchTemplateName="legacy",
        LaunchTemplateData={
            "ImageId": "ami-12345678",
            "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": True}],
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
        },
    )
    # The default version is hardened, the latest (not the default) allows IMDSv1.
    ec2.create_launch_template(LaunchTemplateName="drifted", LaunchTemplateData=hardened)
    ec2.create_launch_template_version(
        LaunchTemplateName="drifted",
        SourceVersion="1",
        LaunchTemplateData={"MetadataOptions": {"HttpTokens": "optional", "HttpEndpoint": "enabled"}},
    )
    ec2.create_launch_template(
        LaunchTemplateName="no-disks",
        LaunchTemplateData={"ImageId": "ami-12345678", "MetadataOptions": {"HttpTokens": "required"}},
    )

    templates = collect(make_collector(moto), "aws.ec2.launch-template")
    assert set(templates) == {"hardened", "legacy", "drifted", "no-disks"}
    assert [v["VersionNumber"] for v in templates["hardened"].document["Versions"]] == [1]  # $Default = $Latest
    assert [v["VersionNumber"] for v in templates["drifted"].document["Versions"]] == [1, 2]
    assert all("UserData" not in v["LaunchTemplateData"] for v in templates["hardened"].document["Versions"])
    assert failing("pol_ec2_launch_template_imdsv2", templates) == {"legacy", "drifted"}
    assert failing("pol_ec2_launch_template_no_public_ip", templates) == {"legacy"}
    assert failing("pol_ec2_launch_template_ebs_encrypted", templates) == {"legacy"}


def test_classic_load_balancers(moto):
    elb = aws("elb", moto)
    acm = aws("acm", moto)
    s3 = aws("s3", moto)
    s3.create_bucket(Bucket="elb-logs")
    certificate = acm.request_certificate(DomainName="shop.example.com")["CertificateArn"]
    elb.create_load_balancer(
        LoadBalancerName="plain",
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 80}],
        AvailabilityZones=["us-east-1a"],
    )
    tls = {"Protocol": "HTTPS", "LoadBalancerPort": 443, "InstanceProtocol": "HTTP", "InstancePort": 80}
    elb.create_load_balancer(
        LoadBalancerName="secure",
        Listeners=[{**tls, "SSLCertificateId": certificate}],
        AvailabilityZones=["us-east-1a", "us-east-1b"],
    )
    elb.create_load_balancer(
        LoadBalancerName="iam-cert",
        Listeners=[{**tls, "SSLCertificateId": f"arn:aws:iam::{ACCOUNT}:server-certificate/shop-2019"}],
        AvailabilityZones=["us-east-1a", "us-east-1b"],
    )
    good = {
        "CrossZoneLoadBalancing": {"Enabled": True},
        "AccessLog": {"Enabled": True, "S3BucketName": "elb-logs", "EmitInterval": 5},
        "ConnectionDraining": {"Enabled": True, "Timeout": 300},
    }
    elb.modify_load_balancer_attributes(
        LoadBalancerName="secure",
        LoadBalancerAttributes={
            **good,
            "AdditionalAttributes": [{"Key": "elb.http.desyncmitigationmode", "Value": "strictest"}],
        },
    )
    elb.modify_load_balancer_attributes(
        LoadBalancerName="iam-cert",
        LoadBalancerAttributes={
            **good,
            "AdditionalAttributes": [{"Key": "elb.http.desyncmitigationmode", "Value": "monitor"}],
        },
    )

    balancers = collect(make_collector(moto), "aws.elb.load-balancer")
    assert set(balancers) == {"plain", "secure", "iam-cert"}
    assert balancers["secure"].uid == f"arn:aws:elasticloadbalancing:{HOME}:{ACCOUNT}:loadbalancer/secure"
    assert balancers["secure"].document["LoadBalancerAttributes"]["AdditionalAttributes"] == {
        "elb_http_desyncmitigationmode": "strictest"
    }
    assert failing("pol_elb_listener_https", balancers) == {"plain"}
    assert failing("pol_elb_acm_certificate", balancers) == {"iam-cert"}
    assert failing("pol_elb_access_logs", balancers) == {"plain"}
    assert failing("pol_elb_cross_zone", balancers) == {"plain"}
    assert failing("pol_elb_connection_draining", balancers) == {"plain"}
    assert failing("pol_elb_desync_mitigation", balancers) == {"iam-cert"}  # "plain" has the default
    assert failing("pol_elb_multi_az", balancers) == {"plain"}


def test_elbv2_load_balancer_settings(moto):
    ec2 = aws("ec2", moto)
    elbv2 = aws("elbv2", moto)
    subnets = [s["SubnetId"] for s in _subnets(ec2, _default_vpc(ec2))]

    def balancer(name: str, subnet_ids: list[str], kind: str = "application", **attributes: str) -> None:
        arn = elbv2.create_load_balancer(Name=name, Subnets=subnet_ids, Type=kind)["LoadBalancers"][0][
            "LoadBalancerArn"
        ]
        if attributes:
            elbv2.modify_load_balancer_attributes(
                LoadBalancerArn=arn, Attributes=[{"Key": k, "Value": v} for k, v in attributes.items()]
            )

    balancer("alb", subnets[:2])
    balancer("alb-monitor", subnets[:2], **{"routing.http.desync_mitigation_mode": "monitor"})
    balancer("nlb", subnets[:2], "network")
    balancer("nlb-single", subnets[:1], "network", **{"load_balancing.cross_zone.enabled": "true"})

    balancers = collect(make_collector(moto), "aws.elbv2.load-balancer")
    assert balancers["alb-monitor"].document["Attributes"]["routing_http_desync_mitigation_mode"] == "monitor"
    assert failing("pol_elbv2_desync_mitigation", balancers) == {"alb-monitor"}
    assert failing("pol_elbv2_multi_az", balancers) == {"nlb-single"}
    assert failing("pol_elbv2_cross_zone", balancers) == {"nlb"}


def test_auto_scaling(moto):
    ec2 = aws("ec2", moto)
    autoscaling = aws("autoscaling", moto)
    elbv2 = aws("elbv2", moto)
    vpc = _default_vpc(ec2)
    subnets = [s["SubnetId"] for s in _subnets(ec2, vpc)]
    target_group = elbv2.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="lc-legacy",
        ImageId="ami-12345678",
        InstanceType="t3.micro",
        AssociatePublicIpAddress=True,
        UserData="echo secret",
    )
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="lc-hardened",
        ImageId="ami-12345678",
        InstanceType="t3.micro",
        AssociatePublicIpAddress=False,
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
    )
    template = ec2.create_launch_template(
        LaunchTemplateName="web", LaunchTemplateData={"ImageId": "ami-12345678", "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    sizes = {"MinSize": 0, "MaxSize": 2, "DesiredCapacity": 0}
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="asg-legacy",
        LaunchConfigurationName="lc-legacy",
        VPCZoneIdentifier=subnets[0],
        TargetGroupARNs=[target_group["TargetGroupArn"]],
        **sizes,
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="asg-web",
        LaunchTemplate={"LaunchTemplateId": template, "Version": "$Default"},
        VPCZoneIdentifier=",".join(subnets[:2]),
        TargetGroupARNs=[target_group["TargetGroupArn"]],
        HealthCheckType="ELB",
        HealthCheckGracePeriod=300,
        **sizes,
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="asg-workers",
        LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"},
        VPCZoneIdentifier=",".join(subnets[:2]),
        **sizes,
    )

    collector = make_collector(moto)
    groups = collect(collector, "aws.autoscaling.group")
    assert set(groups) == {"asg-legacy", "asg-web", "asg-workers"}
    assert groups["asg-web"].uid.startswith(f"arn:aws:autoscaling:{HOME}:{ACCOUNT}:autoScalingGroup:")
    assert failing("pol_autoscaling_group_multi_az", groups) == {"asg-legacy"}
    assert failing("pol_autoscaling_group_elb_health_check", groups) == {"asg-legacy"}
    assert failing("pol_autoscaling_group_launch_template", groups) == {"asg-legacy"}

    configurations = collect(collector, "aws.autoscaling.launch-configuration")
    assert set(configurations) == {"lc-legacy", "lc-hardened"}
    assert "UserData" not in configurations["lc-legacy"].document
    assert failing("pol_autoscaling_launch_config_imdsv2", configurations) == {"lc-legacy"}
    assert failing("pol_autoscaling_launch_config_no_public_ip", configurations) == {"lc-legacy"}


def _certificate(bits: int, days: int, name: str) -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), private


@pytest.fixture(scope="module")
def imported_certificates() -> dict[str, tuple[bytes, bytes]]:
    return {
        "legacy.example.com": _certificate(1024, 10, "legacy.example.com"),
        "partner.example.com": _certificate(2048, 400, "partner.example.com"),
    }


def test_acm_certificates(moto, imported_certificates):
    acm = aws("acm", moto)
    acm.request_certificate(DomainName="shop.example.com")
    acm.request_certificate(
        DomainName="internal.example.com", Options={"CertificateTransparencyLoggingPreference": "DISABLED"}
    )
    for certificate, key in imported_certificates.values():
        acm.import_certificate(Certificate=certificate, PrivateKey=key)

    with FaultyCloud(moto) as cloud:
        certificates = collect(make_collector(cloud.url), "aws.acm.certificate")
    assert set(certificates) == {
        "shop.example.com",
        "internal.example.com",
        "legacy.example.com",
        "partner.example.com",
    }
    # Every key type is asked for (ListCertificates alone lists RSA 2048 only), and only the
    # Amazon-issued certificates are described, for their transparency logging option.
    assert len(cloud.operations("ListCertificates")) == 1
    assert len(cloud.operations("DescribeCertificate")) == 2
    assert "Options" not in certificates["legacy.example.com"].document
    shop = certificates["shop.example.com"]
    assert shop.id == shop.uid.rsplit("/", 1)[-1] and shop.uid.startswith(f"arn:aws:acm:{HOME}:{ACCOUNT}:certificate/")
    assert certificates["legacy.example.com"].document["DaysToExpiry"] in (9, 10)
    assert failing("pol_acm_certificate_expiry", certificates) == {"legacy.example.com"}
    assert failing("pol_acm_certificate_rsa_key_length", certificates) == {"legacy.example.com"}
    assert failing("pol_acm_certificate_transparency_logging", certificates) == {"internal.example.com"}

    later = collect(make_collector(moto, now=datetime.now(UTC) + timedelta(days=380)), "aws.acm.certificate")
    assert later["legacy.example.com"].document["DaysToExpiry"] < 0  # expired certificates fail too
    assert failing("pol_acm_certificate_expiry", later) == set(later)
