"""SageMaker: notebook instances (network access, root access, KMS key)."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("sagemaker:ListNotebookInstances", "sagemaker", "list_notebook_instances", {"MaxResults": 1})


@resource_types.register("aws.sagemaker.notebook-instance")
class NotebookInstance(AwsResource):
    """The document is DescribeNotebookInstance's answer, which omits SubnetId and KmsKeyId
    when none was set, and RootAccess when it was left at its default (Enabled)."""

    service = "sagemaker"
    list_operation = "list_notebook_instances"
    list_key = "NotebookInstances"
    page_size_limits = (1, 100)
    id_template = "{NotebookInstanceName}"
    name_template = "{NotebookInstanceName}"
    arn = "{NotebookInstanceArn}"
    arn_prefix = "arn:aws:sagemaker:"
    details = (
        Detail("describe_notebook_instance", {"NotebookInstanceName": Ref("NotebookInstanceName")}, "Description"),
        Detail("list_tags", {"ResourceArn": Ref("NotebookInstanceArn")}, "Tags", "Tags"),
    )
    volatile = ("NotebookInstanceStatus", "LastModifiedTime", "FailureReason")

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item.update(item.pop("Description", None) or {})
        return item
