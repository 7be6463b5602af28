"""Meta-tests over the built-in library and frameworks, and policy validation."""

import copy
import re

import pytest

from shared.catalog.service import Catalog, SelectionError
from shared.frameworks.library import builtin_frameworks
from shared.inventory.collectors.providers import resource_types
from shared.policies.policy import PolicyError, builtin_policies, load_policy
from shared.policies.severities import SEVERITIES

POLICIES = builtin_policies()


@pytest.mark.parametrize("policy", POLICIES.values(), ids=list(POLICIES))
def test_policy_is_complete(policy):
    assert policy.severity in SEVERITIES
    assert policy.remediation_text and policy.effort_minutes > 0
    assert Catalog.builtin().mappings(policy.id), "every policy maps to at least one framework control"
    assert policy.resource_type in resource_types, "the policy's resource type must have a collector"
    assert policy.examples, "every policy has a passing and a failing example"


@pytest.mark.parametrize("policy", POLICIES.values(), ids=list(POLICIES))
def test_policy_examples(policy):
    assert policy.fails(policy.examples["fail"]) is True
    assert policy.fails(policy.examples["pass"]) is False
    # Examples are resources the policy judges: a pass must not be a resource it skips.
    assert all(policy.applies(example) for example in policy.examples.values())


# Providers whose built-in policies each say what a missing field means (Azure and GCP: issue 19).
ABSENT_DECIDED = ("aws", "azure", "gcp", "hybrid")


@pytest.mark.parametrize("policy", [p for p in POLICIES.values() if p.provider in ABSENT_DECIDED], ids=lambda p: p.id)
def test_policy_says_what_an_absent_field_means(policy):
    assert policy.absent, "absent: {verdict, because}: the API's default for the fields it reads"
    assert "absent" in policy.examples, "examples.absent: the document as the API gives it without them"
    assert policy.fails(policy.examples["absent"]) is (policy.absent["verdict"] == "fail")


# "CIS AWS Foundations 5.2", "CIS Microsoft Azure Foundations 4.3.2 and 4.3.3", "CIS Google Cloud
# Platform Foundations 4.1, 4.2 and 4.3" (a description's line breaks count as spaces).
CITATIONS = {
    "aws": ("cis-aws", r"CIS AWS Foundations"),
    "azure": ("cis-azure", r"CIS Microsoft Azure Foundations"),
    "gcp": ("cis-gcp", r"CIS Google Cloud Platform Foundations?"),
}
NUMBERS = r" (\d+(?:\.\d+)+(?:(?:, | and )\d+(?:\.\d+)+)*)"
NUMBER = re.compile(r"\d+(?:\.\d+)+")


@pytest.mark.parametrize("policy", [p for p in POLICIES.values() if p.provider in CITATIONS], ids=lambda p: p.id)
def test_cis_citations_are_the_cis_mappings(policy):
    """A description cites "CIS <provider> Foundations X.Y" exactly where the provider's CIS
    benchmark maps the policy to X.Y."""
    benchmark, name = CITATIONS[policy.provider]
    description = " ".join(policy.description.split())
    cited = {number for found in re.findall(name + NUMBERS, description) for number in NUMBER.findall(found)}
    assert cited == set(Catalog.builtin().mappings(policy.id).get(benchmark, [])), policy.description


def test_frameworks_name_existing_policies():
    for framework in builtin_frameworks().values():
        assert framework.controls
        for control in framework.controls:
            assert set(control.policy_ids) <= set(POLICIES), (framework.id, control.id)


def test_reference_policy_names_exist():
    ids, unknown = Catalog.builtin().expand(["pol_encryption", "pol_access_control"])
    assert not unknown and "pol_s3_default_encryption" in ids and "pol_ec2_sg_ssh_open" in ids


def test_status_extended_names_the_resource():
    policy = POLICIES["pol_s3_default_encryption"]
    assert (
        policy.status_extended(True, name="logs-prod") == "S3 bucket logs-prod has no default server-side encryption."
    )
    assert policy.status_extended(False, name="logs-prod") == (
        "S3 bucket logs-prod has default server-side encryption enabled."
    )


def document(**changes):
    base = {
        "id": "pol_custom_check",
        "title": "t",
        "provider": "aws",
        "resource_type": "aws.s3.bucket",
        "severity": "low",
        "description": "d",
        "fails_when": {"key": "Name", "eq": "x"},
        "status_extended": {"pass": "ok {name}", "fail": "bad {name}"},
        "remediation": {"text": "fix it", "effort": "30m"},
    }
    result = copy.deepcopy(base)
    result.update(changes)
    return result


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"severity": "urgent"}, "severity"),
        ({"id": "custom"}, "id"),
        ({"fails_when": {"key": "Name", "equals": "x"}}, "fails_when.equals"),
        ({"remediation": {"text": "x", "effort": "soon"}}, "remediation.effort"),
        ({"status_extended": {"pass": "ok"}}, "status_extended.fail"),
        ({"script": "import os"}, "script"),
    ],
)
def test_invalid_policy_names_the_field(changes, field):
    with pytest.raises(PolicyError) as error:
        load_policy(document(**changes))
    assert error.value.field == field


def test_valid_custom_policy_compiles():
    policy = load_policy(document())
    assert policy.fails({"Name": "x"}) and not policy.fails({"Name": "y"})
    assert policy.effort == "30m"


def test_selection():
    catalog = Catalog.builtin()
    selected = {p.id for p in catalog.select(["aws"], ["hipaa"], ["pol_encryption"])}
    assert "pol_s3_default_encryption" in selected
    assert selected == catalog.groups["pol_encryption"] & catalog.frameworks["hipaa"].policy_ids & {
        p.id for p in catalog.policies.values() if p.provider == "aws"
    }
    assert len(catalog.select(["aws"])) == sum(p.provider == "aws" for p in POLICIES.values())
    assert len(catalog.select(["hybrid"])) == len(POLICIES)  # uploads may hold any provider's resources
    with pytest.raises(SelectionError) as error:
        catalog.select(["aws"], ["pci"])
    assert error.value.field == "frameworks"
    with pytest.raises(SelectionError) as error:
        catalog.select(["aws"], [], ["pol_nope"])
    assert error.value.field == "scope.include_policies"
