"""AWS Config: configuration recorders."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource, Detail, probe
from shared.inventory.collectors.base import resource_types

probe("config:DescribeConfigurationRecorders", "config", "describe_configuration_recorders")


@resource_types.register("aws.config.recorder")
class ConfigRecorder(AwsResource):
    """One pseudo-resource per region, with the region's configuration recorders and their status:
    a region without a recorder yields a document with empty lists, which the policies fail."""

    service = "config"
    list_operation = "describe_configuration_recorders"
    singleton = True
    paging = None
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:config:{region}:{account}:configuration-recorder"
    details = (
        Detail(
            "describe_configuration_recorder_status", {}, "ConfigurationRecordersStatus", "ConfigurationRecordersStatus"
        ),
    )
