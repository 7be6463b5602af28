"""AWS Account Management: the account's security contact."""

from __future__ import annotations

from shared.inventory.collectors.aws.declare import AwsResource, probe
from shared.inventory.collectors.base import resource_types

probe(
    "account:GetAlternateContact",
    "account",
    "get_alternate_contact",
    {"AlternateContactType": "SECURITY"},
    not_set_up_codes=("ResourceNotFoundException",),  # no security contact yet
)


@resource_types.register("aws.account.security-contact")
class SecurityContact(AwsResource):
    """One pseudo-resource per account: its SECURITY alternate contact (GetAlternateContact).
    An account without one answers ResourceNotFoundException: an empty document, which fails."""

    service = "account"
    global_service = True
    list_operation = "get_alternate_contact"
    list_params = {"AlternateContactType": "SECURITY"}
    singleton = True
    paging = None
    page_size_param = None
    missing_codes = ("ResourceNotFoundException",)
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:account::{account}:alternate-contact/security"
