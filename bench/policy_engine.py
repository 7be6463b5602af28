"""Policy-engine throughput on the same 100,000 synthetic resources, three ways, in one run:
(a) our compiled conditions, (b) the same checks hand-written in Python, (c) JMESPath.
All three must agree on every verdict before any figure is printed.

    python -m bench.policy_engine [--resources 100000]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

import jmespath

from devkit.estates import DEMO_POLICIES
from shared.platform.ports import port_spec_includes
from shared.policies.policy import builtin_policies

POLICIES = DEMO_POLICIES  # the seven checks also written by hand and in JMESPath below
FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def synthetic(count: int, seed: int = 7) -> list[tuple[str, dict]]:
    rng = random.Random(seed)
    resources = []
    for index in range(count):
        if index % 2:
            bucket = {"Name": f"bucket-{index}", "Versioning": {"Status": rng.choice(["Enabled", "Suspended"])}}
            if rng.random() < 0.7:
                bucket["ServerSideEncryptionConfiguration"] = {"Rules": [{"ApplyServerSideEncryptionByDefault": {}}]}
            if rng.random() < 0.8:
                bucket["PublicAccessBlockConfiguration"] = {flag: rng.random() < 0.9 for flag in FLAGS}
            resources.append(("aws.s3.bucket", bucket))
        else:
            permissions = []
            for _ in range(rng.randint(0, 4)):
                if rng.random() < 0.1:
                    permission = {"IpProtocol": "-1", "Ports": "*"}
                else:
                    low = rng.choice([22, 80, 443, 3389, 1024, 0])
                    high = low if rng.random() < 0.8 else low + rng.randint(1, 5000)
                    permission = {"IpProtocol": "tcp", "FromPort": low, "ToPort": high, "Ports": f"{low}-{high}"}
                permission["IpRanges"] = [{"CidrIp": rng.choice(["0.0.0.0/0", "10.0.0.0/8", "203.0.113.0/24"])}]
                permission["Ipv6Ranges"] = [{"CidrIpv6": "::/0"}] if rng.random() < 0.05 else []
                permissions.append(permission)
            group = {
                "GroupName": "default" if rng.random() < 0.1 else f"sg-{index}",
                "IpPermissions": permissions,
                "IpPermissionsEgress": [] if rng.random() < 0.5 else [{"IpProtocol": "-1"}],
            }
            resources.append(("aws.ec2.security-group", group))
    return resources


def _world(permission: dict) -> bool:
    return any(r.get("CidrIp") == "0.0.0.0/0" for r in permission.get("IpRanges", ())) or any(
        r.get("CidrIpv6") == "::/0" for r in permission.get("Ipv6Ranges", ())
    )


def _port_open(port: int) -> Callable[[dict], bool]:
    def check(group: dict) -> bool:
        return any(port_spec_includes(p.get("Ports"), port) and _world(p) for p in group.get("IpPermissions", ()))

    return check


HAND_WRITTEN: dict[str, Callable[[dict], bool]] = {
    "pol_s3_default_encryption": lambda b: not (b.get("ServerSideEncryptionConfiguration") or {}).get("Rules"),
    "pol_s3_public_access_block": lambda b: (
        not all((b.get("PublicAccessBlockConfiguration") or {}).get(flag) is True for flag in FLAGS)
    ),
    "pol_s3_versioning": lambda b: (b.get("Versioning") or {}).get("Status") != "Enabled",
    "pol_ec2_sg_ssh_open": _port_open(22),
    "pol_ec2_sg_rdp_open": _port_open(3389),
    "pol_ec2_sg_all_ports_open": lambda g: any(p.get("Ports") == "*" and _world(p) for p in g.get("IpPermissions", ())),
    "pol_ec2_default_sg_closed": lambda g: (
        g.get("GroupName") == "default" and bool(g.get("IpPermissions") or g.get("IpPermissionsEgress"))
    ),
}

_WORLD = "(IpRanges[?CidrIp=='0.0.0.0/0'] || Ipv6Ranges[?CidrIpv6=='::/0'])"


def _jmes_port(port: int) -> str:
    return f"length(IpPermissions[?(Ports=='*' || (FromPort <= `{port}` && ToPort >= `{port}`)) && {_WORLD}]) > `0`"


JMESPATH = {
    "pol_s3_default_encryption": "!(ServerSideEncryptionConfiguration.Rules[0])",
    "pol_s3_public_access_block": "!(PublicAccessBlockConfiguration.BlockPublicAcls == `true` && "
    "PublicAccessBlockConfiguration.IgnorePublicAcls == `true` && "
    "PublicAccessBlockConfiguration.BlockPublicPolicy == `true` && "
    "PublicAccessBlockConfiguration.RestrictPublicBuckets == `true`)",
    "pol_s3_versioning": "Versioning.Status != 'Enabled'",
    "pol_ec2_sg_ssh_open": _jmes_port(22),
    "pol_ec2_sg_rdp_open": _jmes_port(3389),
    "pol_ec2_sg_all_ports_open": f"length(IpPermissions[?Ports=='*' && {_WORLD}]) > `0`",
    "pol_ec2_default_sg_closed": "GroupName == 'default' && (length(IpPermissions) > `0` || "
    "length(IpPermissionsEgress) > `0`)",
}


def run(
    resources: list[tuple[str, dict]], checks_by_type: dict[str, list[Callable[[dict], bool]]]
) -> tuple[list[bool], float]:
    started = time.perf_counter()
    verdicts = [check(document) for rtype, document in resources for check in checks_by_type[rtype]]
    return verdicts, time.perf_counter() - started


def by_type(make: Callable[[str], Callable[[dict], bool]]) -> dict[str, list[Callable[[dict], bool]]]:
    policies = builtin_policies()
    grouped: dict[str, list] = {}
    for policy_id in POLICIES:
        grouped.setdefault(policies[policy_id].resource_type, []).append(make(policy_id))
    return grouped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resources", type=int, default=100_000)
    args = parser.parse_args()
    resources = synthetic(args.resources)
    policies = builtin_policies()
    compiled = {pid: jmespath.compile(expression) for pid, expression in JMESPATH.items()}
    engines = {
        "compiled conditions": by_type(lambda pid: policies[pid].check),
        "hand-written Python": by_type(lambda pid: HAND_WRITTEN[pid]),
        "JMESPath": by_type(lambda pid: lambda doc, expr=compiled[pid]: bool(expr.search(doc))),
    }
    results = {name: run(resources, checks) for name, checks in engines.items()}
    reference = results["compiled conditions"][0]
    for name, (verdicts, _) in results.items():
        if verdicts != reference:
            raise SystemExit(
                f"{name} disagrees with the compiled conditions on "
                f"{sum(a != b for a, b in zip(verdicts, reference, strict=True))} verdicts"
            )
    evaluations = len(reference)
    print(
        f"Policy engine: {len(resources):,} resources, {len(POLICIES)} policies, {evaluations:,} evaluations, "
        f"{sum(reference):,} failures (all three agree on every verdict)"
    )
    rates = {}
    for name, (_, seconds) in results.items():
        rates[name] = evaluations / seconds
        print(f"  {name:<22}{seconds:>8.3f} s{rates[name]:>14,.0f} evaluations/s")
    a, b, c = rates.values()
    print(f"  a/b (compiled / hand-written) = {a / b:.2f}   (target >= 0.5)")
    print(f"  a/c (compiled / JMESPath)     = {a / c:.1f}   (target >= 10)")


if __name__ == "__main__":
    main()
