"""Systems Manager: parameters, the account's own documents and the public-sharing setting."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("ssm:DescribeParameters", "ssm", "describe_parameters", {"MaxResults": 1})

PUBLIC_SHARING_SETTING = "/ssm/documents/console/public-sharing-permission"


class _SsmResource(AwsResource):
    service = "ssm"
    page_size_limits = (1, 50)


@resource_types.register("aws.ssm.parameter")
class SsmParameter(_SsmResource):
    """Parameter metadata (never values): DescribeParameters gives the type and KMS key."""

    list_operation = "describe_parameters"
    list_key = "Parameters"
    id_template = "{Name}"
    name_template = "{Name}"
    # A hierarchical name's leading slash is not repeated after "parameter/" in its ARN.
    arn = "arn:aws:ssm:{region}:{account}:parameter/{NameInArn}"
    arn_prefix = "arn:aws:ssm:"
    details = (
        Detail(
            "list_tags_for_resource", {"ResourceType": "Parameter", "ResourceId": Ref("Name")}, "TagList", "TagList"
        ),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["NameInArn"] = str(item.get("Name", "")).lstrip("/")
        return item


@resource_types.register("aws.ssm.document")
class SsmDocument(_SsmResource):
    """Documents the account owns (AWS's and shared ones are not its to fix), with whom each is
    shared: `SharePermission` is DescribeDocumentPermission's answer ("all" means public)."""

    list_operation = "list_documents"
    list_key = "DocumentIdentifiers"
    list_params = {"Filters": [{"Key": "Owner", "Values": ["Self"]}]}
    id_template = "{Name}"
    name_template = "{Name}"
    arn = "arn:aws:ssm:{region}:{account}:document/{Name}"
    details = (
        Detail("describe_document_permission", {"Name": Ref("Name"), "PermissionType": "Share"}, "SharePermission"),
    )


@resource_types.register("aws.ssm.document-sharing-setting")
class SsmDocumentSharingSetting(_SsmResource):
    """One pseudo-resource per region: whether documents may be shared publicly at all (the
    service setting behind "Block public sharing" in the console; "Enable" by default)."""

    list_operation = "get_service_setting"
    list_params = {"SettingId": PUBLIC_SHARING_SETTING}
    singleton = True
    paging = None
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = f"arn:aws:ssm:{{region}}:{{account}}:servicesetting{PUBLIC_SHARING_SETTING}"
    arn_prefix = None
