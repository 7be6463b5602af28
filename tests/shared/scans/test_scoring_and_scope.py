"""Pure pieces of a scan: the score formula, progress estimates, scope globs, fingerprints."""

import pytest

from shared.inventory.collectors.base import CollectedResource
from shared.scans.finalizer import compliance_score
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
