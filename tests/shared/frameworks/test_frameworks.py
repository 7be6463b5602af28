"""The built-in frameworks as data: each control list against the official structure, a rationale
beside every mapping, benchmarks that account for every recommendation."""

from __future__ import annotations

import pytest

from shared.frameworks.library import ORDER, FrameworkError, builtin_frameworks, framework_from_document
from shared.policies.policy import builtin_policies

FRAMEWORKS = builtin_frameworks()
POLICIES = builtin_policies()


def ids(framework_id: str) -> list[str]:
    return [control.id for control in FRAMEWORKS[framework_id].controls]


def numbered(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n}" for n in range(1, count + 1)]


def test_the_built_in_frameworks_in_their_order():
    assert tuple(FRAMEWORKS) == ORDER


def test_soc2_lists_the_2017_trust_services_criteria():
    common = [
        c for series, count in enumerate((5, 3, 4, 2, 3, 8, 5, 1, 2), start=1) for c in numbered(f"CC{series}.", count)
    ]
    privacy = [
        c for series, count in enumerate((1, 1, 2, 3, 2, 7, 1, 1), start=1) for c in numbered(f"P{series}.", count)
    ]
    expected = common + numbered("A1.", 3) + numbered("C1.", 2) + numbered("PI1.", 5) + privacy
    assert ids("soc2") == expected and len(expected) == 61


def test_iso27001_lists_the_93_annex_a_controls():
    expected = numbered("A.5.", 37) + numbered("A.6.", 8) + numbered("A.7.", 14) + numbered("A.8.", 34)
    assert ids("iso27001") == expected and len(expected) == 93
    titles = {c.id: c.title for c in FRAMEWORKS["iso27001"].controls}
    assert "audit testing" in titles["A.8.34"]  # protection of information systems during audit testing
    assert "capacity" in titles["A.8.6"] and "Malware" in titles["A.8.7"]


# 45 CFR 164.308-164.316: every standard and implementation specification, R(equired) or A(ddressable).
HIPAA = """
308(a)(1)(i) R, 308(a)(1)(ii)(A) R, 308(a)(1)(ii)(B) R, 308(a)(1)(ii)(C) R, 308(a)(1)(ii)(D) R, 308(a)(2) R,
308(a)(3)(i) R, 308(a)(3)(ii)(A) A, 308(a)(3)(ii)(B) A, 308(a)(3)(ii)(C) A, 308(a)(4)(i) R, 308(a)(4)(ii)(A) R,
308(a)(4)(ii)(B) A, 308(a)(4)(ii)(C) A, 308(a)(5)(i) R, 308(a)(5)(ii)(A) A, 308(a)(5)(ii)(B) A, 308(a)(5)(ii)(C) A,
308(a)(5)(ii)(D) A, 308(a)(6)(i) R, 308(a)(6)(ii) R, 308(a)(7)(i) R, 308(a)(7)(ii)(A) R, 308(a)(7)(ii)(B) R,
308(a)(7)(ii)(C) R, 308(a)(7)(ii)(D) A, 308(a)(7)(ii)(E) A, 308(a)(8) R, 308(b)(1) R, 308(b)(3) R,
310(a)(1) R, 310(a)(2)(i) A, 310(a)(2)(ii) A, 310(a)(2)(iii) A, 310(a)(2)(iv) A, 310(b) R, 310(c) R, 310(d)(1) R,
310(d)(2)(i) R, 310(d)(2)(ii) R, 310(d)(2)(iii) A, 310(d)(2)(iv) A,
312(a)(1) R, 312(a)(2)(i) R, 312(a)(2)(ii) R, 312(a)(2)(iii) A, 312(a)(2)(iv) A, 312(b) R, 312(c)(1) R, 312(c)(2) A,
312(d) R, 312(e)(1) R, 312(e)(2)(i) A, 312(e)(2)(ii) A,
314(a)(1) R, 314(a)(2)(i) R, 314(a)(2)(ii) R, 314(a)(2)(iii) R, 314(b)(1) R, 314(b)(2)(i) R, 314(b)(2)(ii) R,
314(b)(2)(iii) R, 314(b)(2)(iv) R,
316(a) R, 316(b)(1) R, 316(b)(2)(i) R, 316(b)(2)(ii) R, 316(b)(2)(iii) R
"""


def test_hipaa_lists_the_security_rule_with_required_and_addressable():
    expected = {}
    for item in HIPAA.split(","):
        paragraph, marking = item.split()
        expected[f"164.{paragraph}"] = {"R": "required", "A": "addressable"}[marking]
    assert {c.id: c.requirement for c in FRAMEWORKS["hipaa"].controls} == expected
    sections = {c.id.split("(")[0] for c in FRAMEWORKS["hipaa"].controls}
    assert sections == {"164.308", "164.310", "164.312", "164.314", "164.316"}


def test_pci_dss_lists_every_requirement_of_1_to_12():
    listed = ids("pci-dss")
    assert {c.split(".")[0] for c in listed} == {str(n) for n in range(1, 13)}
    for expected in ("1.3.1", "3.5.1", "4.2.1", "8.3.1", "8.4.2", "10.2.1", "10.5.1", "11.3.1", "12.1"):
        assert expected in listed


@pytest.mark.parametrize(
    "framework_id,version,count", [("cis-aws", "3.0.0", 62), ("cis-azure", "2.1.0", 149), ("cis-gcp", "2.0.0", 84)]
)
def test_cis_benchmarks_account_for_every_recommendation(framework_id, version, count):
    framework = FRAMEWORKS[framework_id]
    assert framework.version == version and len(framework.controls) == count
    for control in framework.controls:
        assert control.assessment in ("automated", "manual") and control.level in (1, 2), control.id
        assert control.coverage in ("covered", "not_covered", "manual"), control.id
        assert (control.coverage == "covered") == bool(control.policy_ids), control.id
    providers = {POLICIES[p].provider for p in framework.policy_ids}
    assert providers == {framework_id.removeprefix("cis-")}


@pytest.mark.parametrize("framework_id", ORDER)
def test_every_mapping_has_its_rationale(framework_id):
    framework = FRAMEWORKS[framework_id]
    assert framework.source, "every built-in framework says what its control list was checked against"
    for control in framework.controls:
        assert control.title and control.title == control.title.strip()
        for policy_id in control.policy_ids:
            assert policy_id in POLICIES, (control.id, policy_id)
            assert len(control.rationales.get(policy_id, "")) >= 20, (framework_id, control.id, policy_id)


def test_every_policy_is_evidence_somewhere_and_frameworks_differ():
    mapped = set().union(*(f.policy_ids for f in FRAMEWORKS.values()))
    assert mapped == set(POLICIES)
    soc2, hipaa, iso = (FRAMEWORKS[f].policy_ids for f in ("soc2", "hipaa", "iso27001"))
    assert len({soc2, hipaa, iso}) == 3, "the three frameworks must not rest on the same evidence"


def test_a_mapping_without_rationale_or_a_duplicate_control_is_refused():
    control = {"id": "X.1", "title": "t", "policies": {"pol_s3_versioning": " "}}
    with pytest.raises(FrameworkError, match="rationale"):
        framework_from_document({"id": "f", "name": "F", "controls": [control]})
    twice = [{"id": "X.1", "title": "t"}, {"id": "X.1", "title": "u"}]
    with pytest.raises(FrameworkError, match="twice"):
        framework_from_document({"id": "f", "name": "F", "controls": twice})
    covered = {"id": "X.1", "title": "t", "coverage": "covered"}
    with pytest.raises(FrameworkError, match="covered"):
        framework_from_document({"id": "f", "name": "F", "controls": [covered]})
