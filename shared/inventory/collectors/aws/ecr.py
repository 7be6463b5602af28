"""ECR: private repositories with their repository policy and lifecycle policy."""

from __future__ import annotations

import json
from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.aws.shaping import policy_document
from shared.inventory.collectors.base import resource_types

probe("ecr:DescribeRepositories", "ecr", "describe_repositories", {"maxResults": 1})


@resource_types.register("aws.ecr.repository")
class EcrRepository(AwsResource):
    """`Policy` is the repository policy and `LifecyclePolicy` the lifecycle policy, both parsed;
    each is absent when the repository has none."""

    service = "ecr"
    list_operation = "describe_repositories"
    list_key = "repositories"
    paging = ("nextToken", "nextToken")
    page_size_param = "maxResults"
    page_size_limits = (1, 1000)
    id_template = "{repositoryName}"
    name_template = "{repositoryName}"
    arn = "{repositoryArn}"
    arn_prefix = "arn:aws:ecr:"
    details = (
        Detail(
            "get_repository_policy",
            {"repositoryName": Ref("repositoryName")},
            "Policy",
            "policyText",
            missing_codes=("RepositoryPolicyNotFoundException",),
        ),
        Detail(
            "get_lifecycle_policy",
            {"repositoryName": Ref("repositoryName")},
            "LifecyclePolicy",
            "lifecyclePolicyText",
            missing_codes=("LifecyclePolicyNotFoundException",),
        ),
        Detail("list_tags_for_resource", {"resourceArn": Ref("repositoryArn")}, "Tags", "tags"),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        if "Policy" in item:
            item["Policy"] = policy_document(item["Policy"])
        if isinstance(item.get("LifecyclePolicy"), str):
            try:
                item["LifecyclePolicy"] = json.loads(item["LifecyclePolicy"])
            except ValueError:
                pass  # kept as text: it is there, which is what the lifecycle policy check reads
        return item
