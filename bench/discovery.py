"""Discovery throughput per provider at two estate sizes, one ten times the other: resources per
second for one shard's listing (the collector alone) and for a whole scan through the REST API,
and the ratio of the two sizes' times (linear growth would be 10).

AWS is a moto server; Azure and GCP are the local fakes of the test suite (real SDK clients).

    python -m bench.discovery [--size 300]
"""

from __future__ import annotations

import argparse
import time
import types

import requests

from devkit.devstack import DevStack, say
from devkit.estates import DEMO_CREDENTIALS, seed_synthetic_estate, ssh_rule
from devkit.fakes.azure import SUBSCRIPTION, FakeAzure, row
from devkit.fakes.gcp import FakeAssetInventory, make_asset
from shared.inventory.collectors.providers import collector_for
from shared.platform.context import Services
from shared.platform.settings import Settings

GCP_PROJECT, GCP_NUMBER = "bench-project", "998877665544"


def azure_estate(size: int) -> FakeAzure:
    rows = []
    for index in range(size):
        if index % 2:
            rows.append(
                row(
                    SUBSCRIPTION,
                    "bench",
                    "Microsoft.Storage/storageAccounts",
                    f"bench{index:06d}",
                    properties={
                        "supportsHttpsTrafficOnly": index % 4 != 1,
                        "minimumTlsVersion": "TLS1_2",
                        "allowBlobPublicAccess": False,
                    },
                )
            )
        else:
            rule = ssh_rule(open_to_world=index % 4 == 0)
            rows.append(
                row(
                    SUBSCRIPTION,
                    "bench",
                    "Microsoft.Network/networkSecurityGroups",
                    f"nsg{index:06d}",
                    properties={"securityRules": [rule], "defaultSecurityRules": []},
                )
            )
    return FakeAzure(rows)


def gcp_estate(size: int) -> FakeAssetInventory:
    assets = []
    for index in range(size):
        name = f"//compute.googleapis.com/projects/{GCP_PROJECT}/global/firewalls/fw-{index:06d}"
        data = {
            "name": f"fw-{index:06d}",
            "direction": "INGRESS",
            "disabled": False,
            "sourceRanges": ["0.0.0.0/0" if index % 4 == 0 else "10.0.0.0/8"],
            "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
            "network": "default",
        }
        assets.append(make_asset(GCP_PROJECT, GCP_NUMBER, "compute.googleapis.com/Firewall", name, data))
    return FakeAssetInventory(assets)


def list_shard(svc: Services, account, resource_types: list[str], region: str) -> tuple[int, float]:
    """Resources one shard lists, and the seconds it takes, with the collector alone."""
    collector = collector_for(account, svc)
    started, count = time.perf_counter(), 0
    for resource_type in resource_types:
        for page in collector.pages(resource_type, region):
            count += len(page)
    return count, time.perf_counter() - started


def scan(stack: DevStack, headers: dict, body: dict) -> tuple[int, float]:
    started = time.perf_counter()
    created = requests.post(f"{stack.api_url}/v1/scans", headers=headers, json=body, timeout=30)
    created.raise_for_status()
    result = stack.wait_for_scan(created.json()["id"], headers, poll=0.1)
    if result["status"] != "completed":
        raise SystemExit(f"scan {result['id']} ended {result['status']}: {result.get('status_reason')}")
    return result["progress"]["scanned_resources"], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=300, help="resources in the small estate of each provider")
    args = parser.parse_args()
    settings = Settings.from_env()
    svc = Services(settings)
    rows = []
    with DevStack(settings) as stack:
        stack.start_worker()
        stack.start_api()
        moto = stack.start_moto()
        headers = stack.api_key(f"bench-discovery-{int(time.time())}", max_concurrent=1)
        sizes = (("small", args.size), ("large", args.size * 10))
        for provider, (label, size) in [(p, s) for p in ("aws", "azure", "gcp") for s in sizes]:
            environment = f"{provider}-{label}"
            if provider == "aws":
                requests.post(f"{moto}/moto-api/reset", timeout=30).raise_for_status()
                seed_synthetic_estate(moto, regions=("us-east-1",), groups_per_region=size, buckets=0)
                endpoint, credentials, shard_types, fake = moto, DEMO_CREDENTIALS, ["aws.ec2.security-group"], None
                body_policies, region = ["pol_ec2_sg_ssh_open"], "us-east-1"
            elif provider == "azure":
                fake = azure_estate(size).__enter__()
                endpoint, credentials = fake.url, {"access_token": "t", "subscription_id": SUBSCRIPTION}
                shard_types = ["azure.storage.account", "azure.network.nsg"]
                body_policies, region = ["pol_azure_storage_secure_transfer", "pol_azure_nsg_ssh_open"], "global"
            else:
                fake = gcp_estate(size).__enter__()
                endpoint, credentials = fake.url, {"project_id": GCP_PROJECT}
                shard_types, body_policies, region = ["gcp.compute.firewall"], ["pol_gcp_firewall_ssh_open"], "global"
            try:
                account = requests.post(
                    f"{stack.api_url}/v1/accounts",
                    headers=headers,
                    timeout=30,
                    json={
                        "provider": provider,
                        "name": environment,
                        "environment": environment,
                        "regions": [region] if provider == "aws" else [],
                        "credentials": credentials,
                        "endpoint_url": endpoint,
                    },
                ).json()
                record = types.SimpleNamespace(
                    id=account["id"],
                    provider=provider,
                    collection="api",
                    endpoint_url=endpoint,
                    regions=[region] if provider == "aws" else [],
                    credentials_encrypted=svc.vault.encrypt(credentials),
                )
                listed, shard_seconds = list_shard(svc, record, shard_types, region)
                scanned, scan_seconds = scan(
                    stack,
                    headers,
                    {
                        "name": f"discovery {environment}",
                        "scan_type": "policy_specific",
                        "environment": environment,
                        "cloud_providers": [provider],
                        "scope": {"include_policies": body_policies},
                    },
                )
            finally:
                if fake is not None:
                    fake.__exit__(None, None, None)
            say(
                f"{provider} {label}: {listed} listed in {shard_seconds:.2f}s, scan of {scanned} in {scan_seconds:.2f}s"
            )
            rows.append((provider, label, listed, shard_seconds, scanned, scan_seconds))
    print()
    print("Discovery throughput (one shard listing with the collector alone; whole scan through the REST API)")
    print(
        f"{'provider':<9}{'estate':<8}{'resources':>10}{'shard s':>9}{'shard res/s':>13}{'scan s':>9}{'scan res/s':>12}"
    )
    for provider, label, listed, shard_seconds, scanned, scan_seconds in rows:
        print(
            f"{provider:<9}{label:<8}{listed:>10}{shard_seconds:>9.2f}{listed / shard_seconds:>13.0f}"
            f"{scan_seconds:>9.2f}{scanned / scan_seconds:>12.0f}"
        )
    for provider in ("aws", "azure", "gcp"):
        small, large = [r for r in rows if r[0] == provider]
        print(
            f"{provider}: 10x the estate took {large[3] / small[3]:.1f}x the shard time and "
            f"{large[5] / small[5]:.1f}x the scan time"
        )


if __name__ == "__main__":
    main()
