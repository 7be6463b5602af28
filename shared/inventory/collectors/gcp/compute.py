"""Compute Engine: firewalls, networks, subnetworks, instances and disks."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource
from shared.inventory.collectors.gcp.shaping import internet_ingress, renamed

FIREWALL_ASSET_TYPE = "compute.googleapis.com/Firewall"
# Older Cloud Asset Inventory data named repeated fields in the singular (the proto field names of
# its v1beta1 resources); policies read the current REST names.
FIREWALL_RENAMES = {
    "sourceRange": "sourceRanges",
    "destinationRange": "destinationRanges",
    "sourceTag": "sourceTags",
    "targetTag": "targetTags",
    "sourceServiceAccount": "sourceServiceAccounts",
    "targetServiceAccount": "targetServiceAccounts",
    "allowed.port": "ports",
    "denied.port": "ports",
    "allowed.ipProtocol": "IPProtocol",
    "denied.ipProtocol": "IPProtocol",
}
INSTANCE_RENAMES = {
    "networkInterface": "networkInterfaces",
    "serviceAccount": "serviceAccounts",
    "disk": "disks",
    "networkInterfaces.accessConfig": "accessConfigs",
    "networkInterfaces.ipv6AccessConfig": "ipv6AccessConfigs",
    "serviceAccounts.scope": "scopes",
    "metadata.item": "items",
    "tags.item": "items",
}


@resource_types.register("gcp.compute.firewall")
class ComputeFirewall(GcpResource):
    asset_type = FIREWALL_ASSET_TYPE
    # Every rule of the project, to evaluate this one among the rules of its network; dropped
    # once `internetIngress` is derived.
    related = {"projectFirewalls": FIREWALL_ASSET_TYPE}

    @classmethod
    def normalise(cls, document: dict) -> dict:
        rules = document.pop("projectFirewalls", None) or []
        for rule in rules:
            renamed(rule, FIREWALL_RENAMES)
        renamed(document, FIREWALL_RENAMES)
        document["internetIngress"] = internet_ingress(document, rules)
        return document

    @classmethod
    def pushed(cls, document: dict) -> dict:
        """A pushed rule without `internetIngress` is evaluated alone: a deny rule of the project
        that would shadow it is not known, so it errs toward open."""
        return document if "internetIngress" in document else cls.normalise(dict(document))


@resource_types.register("gcp.compute.network")
class ComputeNetwork(GcpResource):
    asset_type = "compute.googleapis.com/Network"


@resource_types.register("gcp.compute.subnetwork")
class ComputeSubnetwork(GcpResource):
    asset_type = "compute.googleapis.com/Subnetwork"
    volatile = ("fingerprint",)


@resource_types.register("gcp.compute.instance")
class ComputeInstance(GcpResource):
    asset_type = "compute.googleapis.com/Instance"
    volatile = ("status", "lastStartTimestamp", "lastStopTimestamp", "fingerprint", "labelFingerprint")

    @classmethod
    def normalise(cls, document: dict) -> dict:
        renamed(document, INSTANCE_RENAMES)
        return document


@resource_types.register("gcp.compute.disk")
class ComputeDisk(GcpResource):
    asset_type = "compute.googleapis.com/Disk"
    volatile = ("status", "lastAttachTimestamp", "lastDetachTimestamp", "users", "labelFingerprint")
