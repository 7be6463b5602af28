"""Amazon Inspector: per region, which resource types the account's scanning covers."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("inspector2:BatchGetAccountStatus", "inspector2", "batch_get_account_status", {"accountIds": []})


@resource_types.register("aws.inspector2.account")
class InspectorAccount(AwsResource):
    """One pseudo-resource per region: BatchGetAccountStatus's answer for the scanned account,
    `accounts[].resourceState.{ec2,ecr,lambda,lambdaCode}.status`. An account that never turned
    Inspector on is answered as DISABLED (or, by some endpoints, not at all): both fail."""

    service = "inspector2"
    list_operation = "batch_get_account_status"
    list_params = {"accountIds": [Ref("account")]}
    singleton = True
    paging = None
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:inspector2:{region}:{account}:account-status"
