"""Pure pieces of a scan: the score formula, progress estimates, scope globs, fingerprints."""

import pytest

from shared.inventory.collectors.base import CollectedResource
from shared.scans.summary import compliance_score
from shared.scans.runner import fingerprint
from shared.scans.scope import ResourceScope


def test_score_weights_severities():
    severities = {"a": "critical", "b": "low"}
    # 10 critical checks with 1 failure, 10 low checks all passing: 100 * (4*9 + 1*10) / (4*10 + 1*10)
    assert compliance_score({"a": [10, 1], "b": [10, 0]}, severities) == 92.0
    assert compliance_score({"a": [10, 0], "b": [10, 10]}, severities) == 80.0
    assert compliance_score({}, severities) is None
    assert compliance_score({"a": [4, 4]}, severities) == 0.0


def resource(uid, rid):
    return CollectedResource(uid=uid, id=rid, name=rid, resource_type="aws.s3.bucket", region="us-east-1", document={})


@pytest.mark.parametrize(
    "include,exclude,uid,rid,admitted",
    [
        ([], [], "arn:aws:s3:::a", "a", True),
        (["arn:aws:s3:::*"], ["arn:aws:s3:::test-*"], "arn:aws:s3:::logs", "logs", True),
        (["arn:aws:s3:::*"], ["arn:aws:s3:::test-*"], "arn:aws:s3:::test-1", "test-1", False),
        (["sg-0*"], [], "arn:aws:ec2:us-east-1:1:security-group/sg-01", "sg-01", True),
        ([], ["*prod*"], "arn:aws:s3:::x-prod", "x-prod", False),
    ],
)
def test_scope_globs(include, exclude, uid, rid, admitted):
    assert ResourceScope(include, exclude).admits(resource(uid, rid)) is admitted


def test_scope_skips_types_that_cannot_match():
    scope = ResourceScope(["arn:aws:s3:::*"])
    assert scope.may_contain("arn:aws:s3:::") and not scope.may_contain("arn:aws:ec2:")
    assert ResourceScope(["sg-*"]).may_contain("arn:aws:ec2:")
    assert ResourceScope(["arn:aws:*"]).may_contain("arn:aws:ec2:")


def test_fingerprint_is_stable_and_distinct():
    assert fingerprint("p", "acc", "arn") == fingerprint("p", "acc", "arn")
    assert len({fingerprint("p", "acc", "arn"), fingerprint("q", "acc", "arn"), fingerprint("p", "acc2", "arn")}) == 3


def test_a_policy_judges_only_the_resources_it_applies_to():
    """A Defender plan policy applies to its own plan's row of the subscription's pricings: the
    other plans' rows are neither passed nor failed, so they never count as evidence."""
    from shared.policies.policy import builtin_policies
    from shared.scans.runner import ShardEvaluator

    policy = builtin_policies()["pol_azure_defender_servers_on"]
    rows = {
        name: CollectedResource(
            uid=f"/subscriptions/s/providers/Microsoft.Security/pricings/{name}",
            id=name,
            name=name,
            resource_type="azure.security.pricing",
            region="global",
            document={"name": name, "properties": {"pricingTier": tier}},
        )
        for name, tier in (("VirtualMachines", "Free"), ("Containers", "Free"), ("KeyVaults", "Standard"))
    }
    evaluator = ShardEvaluator([policy], ResourceScope(), scan_id="scan_x", shard_id=1, account_id="acc_x")
    violations, _ = evaluator.evaluate(list(rows.values()))
    assert [v["resource_name"] for v in violations] == ["VirtualMachines"]
    assert evaluator.stats == {policy.id: [1, 1]}  # one row checked, one failed: not three checked
    assert policy.fails(rows["Containers"].document) is False and policy.applies(rows["Containers"].document) is False
