"""VPC networking (EC2 API): network ACLs, subnets, transit gateways and Site-to-Site VPN
connections. VPCs themselves and security groups are declared in ec2.py."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, field_equals, probe
from shared.inventory.collectors.base import resource_types

probe("ec2:DescribeNetworkAcls", "ec2", "describe_network_acls", {"MaxResults": 5})


def _entry_ports(entry: dict) -> str | None:
    """A network ACL entry's ports as the port specs policies compare: "*" for every protocol,
    "From-To" for TCP (6) and UDP (17), None for ICMP and other protocols, which have no ports."""
    protocol = str(entry.get("Protocol", ""))
    if protocol in ("-1", "all"):
        return "*"
    if protocol in ("6", "17", "tcp", "udp"):
        ports = entry.get("PortRange") or {}
        low, high = ports.get("From"), ports.get("To")
        return "*" if low is None or high is None else f"{low}-{high}"
    return None


@resource_types.register("aws.ec2.network-acl")
class NetworkAcl(AwsResource):
    """Network ACLs with their entries; each entry gets `Ports` (see _entry_ports)."""

    service = "ec2"
    list_operation = "describe_network_acls"
    list_key = "NetworkAcls"
    id_template = "{NetworkAclId}"
    arn = "arn:aws:ec2:{region}:{account}:network-acl/{NetworkAclId}"

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        for entry in item.get("Entries") or []:
            entry["Ports"] = _entry_ports(entry)
        return item


@resource_types.register("aws.ec2.subnet")
class Subnet(AwsResource):
    service = "ec2"
    list_operation = "describe_subnets"
    list_key = "Subnets"
    id_template = "{SubnetId}"
    arn = "arn:aws:ec2:{region}:{account}:subnet/{SubnetId}"
    volatile = ("AvailableIpAddressCount",)  # changes with every interface created or deleted


@resource_types.register("aws.ec2.transit-gateway")
class TransitGateway(AwsResource):
    service = "ec2"
    list_operation = "describe_transit_gateways"
    list_key = "TransitGateways"
    id_template = "{TransitGatewayId}"
    arn = "arn:aws:ec2:{region}:{account}:transit-gateway/{TransitGatewayId}"
    skip_when = staticmethod(field_equals("State", "deleted"))  # listed for a while after deletion
    volatile = ("State",)


@resource_types.register("aws.ec2.vpn-connection")
class VpnConnection(AwsResource):
    """Site-to-Site VPN connections with their tunnels' telemetry; the API lists them in one answer."""

    service = "ec2"
    list_operation = "describe_vpn_connections"
    list_key = "VpnConnections"
    paging = None
    page_size_param = None
    id_template = "{VpnConnectionId}"
    arn = "arn:aws:ec2:{region}:{account}:vpn-connection/{VpnConnectionId}"
    skip_when = staticmethod(field_equals("State", "deleted"))  # listed for a while after deletion
    # The tunnels' Status is what pol_ec2_vpn_tunnels_up reads: VgwTelemetry is not volatile
    # (a tunnel going down must reach the policy); CustomerGatewayConfiguration is a large XML
    # document with the tunnels' pre-shared keys, which no policy needs and none is stored.

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item.pop("CustomerGatewayConfiguration", None)
        for tunnel in (item.get("Options") or {}).get("TunnelOptions") or []:
            tunnel.pop("PreSharedKey", None)
        return item
