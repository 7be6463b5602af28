"""OpenSearch Service: domains (OpenSearch and legacy Elasticsearch engines)."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.aws.shaping import policy_document
from shared.inventory.collectors.base import resource_types

probe("es:ListDomainNames", "opensearch", "list_domain_names")


@resource_types.register("aws.opensearch.domain")
class OpenSearchDomain(AwsResource):
    """Domains as DescribeDomain gives them (the DomainStatus's fields at the top, with the listing's
    EngineType); `AccessPolicies` parsed into a policy document."""

    service = "opensearch"
    list_operation = "list_domain_names"
    list_key = "DomainNames"
    paging = None
    page_size_param = None
    id_template = "{DomainName}"
    name_template = "{DomainName}"
    arn = "arn:aws:es:{region}:{account}:domain/{DomainName}"
    details = (
        Detail("describe_domain", {"DomainName": Ref("DomainName")}, "DomainStatus", "DomainStatus"),
        Detail("list_tags", {"ARN": Ref("DomainStatus.ARN")}, "TagList", "TagList", after=True),
    )
    volatile = (
        "Processing",
        "UpgradeProcessing",
        "ChangeProgressDetails",
        "DomainProcessingStatus",
        "ModifyingProperties",
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        status = item.pop("DomainStatus", None) or {}
        item = {**item, **status}
        if item.get("AccessPolicies"):
            item["AccessPolicies"] = policy_document(item["AccessPolicies"])
        return item
