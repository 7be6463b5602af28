"""Tags as one `tags` object on every provider: each shape the providers answer in, the limits
applied to what an upload claims, and Azure and GCP documents shaped from real payloads."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from shared.inventory.collectors.azure.engine import from_rows
from shared.inventory.collectors.gcp.engine import from_export
from shared.inventory.collectors.providers import resource_types
from shared.inventory.tags import tags_of, with_tags

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.mark.parametrize(
    "document",
    [
        {"Tags": [{"Key": "team", "Value": "web"}, {"Key": "env", "Value": "prod"}]},  # EC2, S3 after our call
        {"TagList": [{"Key": "team", "Value": "web"}, {"Key": "env", "Value": "prod"}]},  # RDS
        {"TagSet": [{"Key": "team", "Value": "web"}, {"Key": "env", "Value": "prod"}]},  # S3 GetBucketTagging
        {"tags": [{"key": "team", "value": "web"}, {"key": "env", "value": "prod"}]},  # ECS
        {"Tags": [{"TagKey": "team", "TagValue": "web"}, {"TagKey": "env", "TagValue": "prod"}]},  # KMS
        {"Tags": {"team": "web", "env": "prod"}},  # Lambda, SQS
        {"tags": {"team": "web", "env": "prod"}},  # EKS, API Gateway
    ],
)
def test_aws_list_and_map_forms_give_one_object(document):
    assert tags_of("aws", document) == {"team": "web", "env": "prod"}


def test_aws_without_tags_and_odd_elements():
    assert tags_of("aws", {}) == {}
    assert tags_of("aws", {"Tags": None, "TagList": [{"Key": "a", "Value": "1"}]}) == {"a": "1"}
    odd = {"Tags": ["text", {"Value": "no key"}, {"Key": "empty"}, {"Key": 7, "Value": True}]}
    assert tags_of("aws", odd) == {"empty": "", "7": "True"}


def test_azure_tags_and_gcp_labels():
    assert tags_of("azure", {"tags": {"owner": "ops"}}) == {"owner": "ops"}
    assert tags_of("azure", {"tags": None}) == {}
    assert tags_of("gcp", {"labels": {"env": "prod"}, "tags": {"items": ["web"]}}) == {"env": "prod"}
    assert tags_of("gcp", {}) == {}


def test_claims_beyond_the_provider_limits_are_dropped_or_cut():
    claimed = {"Tags": {f"k{i:03}": "v" for i in range(80)}}
    assert list(tags_of("aws", claimed)) == [f"k{i:03}" for i in range(50)]  # the first 50 kept
    long = tags_of("aws", {"Tags": {"k" * 300: "v" * 300}})
    assert long == {"k" * 128: "v" * 256}
    assert len(tags_of("gcp", {"labels": {f"l{i}": "x" * 100 for i in range(70)}})) == 64
    assert set(tags_of("gcp", {"labels": {"a": "x" * 100}}).values()) == {"x" * 63}


def test_with_tags_keeps_gcp_network_tags_and_is_idempotent():
    instance = {"labels": {"env": "prod", "items": "x"}, "tags": {"items": ["web"], "fingerprint": "abc"}}
    once = with_tags("gcp", copy.deepcopy(instance))
    assert once["tags"] == {"env": "prod", "items": "x"}
    assert once["networkTags"] == {"items": ["web"], "fingerprint": "abc"}
    assert with_tags("gcp", copy.deepcopy(once)) == once
    aws = with_tags("aws", {"Tags": [{"Key": "team", "Value": "web"}]})
    assert with_tags("aws", copy.deepcopy(aws)) == aws and aws["tags"] == {"team": "web"}


def test_azure_rows_shape_with_tags():
    assert resource_types.get("azure.storage.account")  # the declarations are registered
    fixture = json.loads((FIXTURES / "azure" / "azure.storage.account.json").read_text())
    rows = copy.deepcopy(fixture["rows"])
    rows[0]["tags"] = {"owner": "data-platform", "cost-center": "cc-42"}
    rows[1]["tags"] = None
    documents = {r.name: r.document for r in from_rows(rows)}
    assert documents[rows[0]["name"]]["tags"] == {"owner": "data-platform", "cost-center": "cc-42"}
    assert documents[rows[1]["name"]]["tags"] == {}


def test_gcp_assets_shape_with_labels():
    topics = json.loads((FIXTURES / "gcp" / "gcp.pubsub.topic.json").read_text())["assets"]
    documents = {r.uid: r.document for r in from_export(topics) if r.resource_type == "gcp.pubsub.topic"}
    assert documents["//pubsub.googleapis.com/projects/acme-prod/topics/events"]["tags"] == {"team": "data"}
    assert documents["//pubsub.googleapis.com/projects/acme-prod/topics/orders"]["tags"] == {}
    projects = json.loads((FIXTURES / "gcp" / "gcp.resourcemanager.project.json").read_text())["assets"]
    shaped = [r for r in from_export(projects) if r.resource_type == "gcp.resourcemanager.project"]
    assert shaped and shaped[0].document["tags"] == {"env": "production"}
    # Every shaped document carries the field, IAM policies included.
    assert all(isinstance(r.document.get("tags"), dict) for r in from_export(projects))


def test_a_hybrid_document_keeps_its_own_tags_as_a_map_or_pairs():
    assert tags_of("hybrid", {"tags": {"env": "prod", "owner": "dc-ops"}}) == {"env": "prod", "owner": "dc-ops"}
    assert tags_of("hybrid", {"tags": [{"Key": "env", "Value": "prod"}]}) == {"env": "prod"}
    assert tags_of("hybrid", {"hostname": "db-01"}) == {}
