"""`policycortex policies`: what the built-in library covers, read from its files. The README's
per-service counts are this command's output (a test keeps them in step with the library)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import click

from shared.inventory.collectors.providers import resource_types
from shared.policies.policy import builtin_policies


def service_counts() -> list[dict[str, Any]]:
    """Per provider and service (`aws.s3.bucket` -> aws, s3): the resource types collected and the
    built-in policies over them, sorted by provider then service."""
    types: dict[tuple[str, str], set[str]] = defaultdict(set)
    policies: dict[tuple[str, str], int] = defaultdict(int)
    for name in resource_types.names():
        provider, service = name.split(".")[:2]
        types[provider, service].add(name)
    for policy in builtin_policies().values():
        provider, service = policy.resource_type.split(".")[:2]
        policies[provider, service] += 1
    return [
        {
            "provider": provider,
            "service": service,
            "resource_types": len(types[provider, service]),
            "policies": policies[provider, service],
        }
        for provider, service in sorted(set(types) | set(policies))
    ]


def counts_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| Provider | Service | Resource types | Policies |", "|---|---|---:|---:|"]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        lines.append(f"| {row['provider']} | {row['service']} | {row['resource_types']} | {row['policies']} |")
        totals[row["provider"]][0] += row["resource_types"]
        totals[row["provider"]][1] += row["policies"]
    for provider, (type_count, policy_count) in totals.items():
        lines.append(f"| **{provider}** | **all** | **{type_count}** | **{policy_count}** |")
    return "\n".join(lines) + "\n"


@click.group()
def policies() -> None:
    """The built-in policy library (its data, no server needed)."""


@policies.command("coverage")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--markdown", is_flag=True, help="Print the README's table.")
@click.option("--provider", type=click.Choice(["aws", "azure", "gcp", "hybrid"]), help="Only this provider.")
def policies_coverage(as_json: bool, markdown: bool, provider: str | None) -> None:
    """Resource types and built-in policies per provider and service."""
    rows = [row for row in service_counts() if not provider or row["provider"] == provider]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif markdown:
        click.echo(counts_markdown(rows), nl=False)
    else:
        for row in rows:
            types, count = row["resource_types"], row["policies"]
            click.echo(f"{row['provider']:<6} {row['service']:<16} {types:>3} types {count:>4} policies")
