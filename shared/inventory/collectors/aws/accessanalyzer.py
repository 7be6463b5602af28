"""IAM Access Analyzer: whether each region has an analyzer, and each analyzer's active findings."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, field_equals, probe
from shared.inventory.collectors.base import resource_types

probe("access-analyzer:ListAnalyzers", "accessanalyzer", "list_analyzers")


@resource_types.register("aws.accessanalyzer.status")
class AccessAnalyzerStatus(AwsResource):
    """One pseudo-resource per region: the region's analyzers. A region without any yields a
    document whose `analyzers` list is empty, which the policy fails."""

    service = "accessanalyzer"
    list_operation = "list_analyzers"
    singleton = True
    paging = ("nextToken", "nextToken")  # every page's analyzers in the one document
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:access-analyzer:{region}:{account}:analyzer-status"


@resource_types.register("aws.accessanalyzer.analyzer")
class AccessAnalyzer(AwsResource):
    """Analyzers with their active findings (the first page of them: enough to tell none from some)."""

    service = "accessanalyzer"
    list_operation = "list_analyzers"
    list_key = "analyzers"
    paging = ("nextToken", "nextToken")
    page_size_param = None  # the API documents no bounds for maxResults: its default page is used
    id_template = "{name}"
    name_template = "{name}"
    arn = "{arn}"
    arn_prefix = "arn:aws:access-analyzer:"
    details = (
        Detail(
            "list_findings_v2",
            {"analyzerArn": Ref("arn"), "filter": {"status": {"eq": ["ACTIVE"]}}},
            "ActiveFindings",
            "findings",
            # A creating, disabled or failed analyzer has no findings worth reading.
            when=field_equals("status", "ACTIVE"),
        ),
    )
    volatile = ("lastResourceAnalyzed", "lastResourceAnalyzedAt")
