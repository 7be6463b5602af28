"""IAM: users, roles, customer managed policies, the password policy and the account summary."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref
from shared.inventory.collectors.aws.shaping import days_since, policy_document
from shared.inventory.collectors.base import resource_types


class _IamResource(AwsResource):
    service = "iam"
    global_service = True
    paging = ("Marker", "Marker")
    page_size_param = "MaxItems"
    page_size_limits = (1, 1000)
    arn = "{Arn}"
    arn_prefix = "arn:aws:iam::"


@resource_types.register("aws.iam.user")
class IamUser(_IamResource):
    list_operation = "list_users"
    list_key = "Users"
    id_template = "{UserName}"
    name_template = "{UserName}"
    details = (
        Detail("list_mfa_devices", {"UserName": Ref("UserName")}, "MFADevices", "MFADevices"),
        Detail("list_access_keys", {"UserName": Ref("UserName")}, "AccessKeys", "AccessKeyMetadata"),
        Detail(
            "get_access_key_last_used",
            {"AccessKeyId": Ref("AccessKeyId")},
            "LastUsed",
            "AccessKeyLastUsed",
            each="AccessKeys",
        ),
        Detail("get_login_profile", {"UserName": Ref("UserName")}, "LoginProfile", "LoginProfile", ("NoSuchEntity",)),
        Detail("list_attached_user_policies", {"UserName": Ref("UserName")}, "AttachedPolicies", "AttachedPolicies"),
        Detail("list_user_policies", {"UserName": Ref("UserName")}, "InlinePolicyNames", "PolicyNames"),
    )
    volatile = ("PasswordLastUsed",)

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        # Ages in whole days at collection time, so policies compare numbers (`gt: 90`).
        item["HasConsolePassword"] = item.get("LoginProfile") is not None
        item["MFAEnabled"] = bool(item.get("MFADevices"))
        for key in item.get("AccessKeys", []):
            key["AgeDays"] = days_since(key.get("CreateDate"), now)
            last_used = (key.get("LastUsed") or {}).get("LastUsedDate")
            # A key never used has been unused since it was created.
            key["DaysSinceLastUse"] = days_since(last_used, now) if last_used else key["AgeDays"]
        item["ActiveAccessKeyCount"] = sum(1 for k in item.get("AccessKeys", []) if k.get("Status") == "Active")
        return item


@resource_types.register("aws.iam.role")
class IamRole(_IamResource):
    list_operation = "list_roles"
    list_key = "Roles"
    id_template = "{RoleName}"
    name_template = "{RoleName}"
    volatile = ("RoleLastUsed",)

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["AssumeRolePolicyDocument"] = policy_document(item.get("AssumeRolePolicyDocument"))
        return item


@resource_types.register("aws.iam.policy")
class IamPolicy(_IamResource):
    """Customer-managed policies with the document of their default version."""

    list_operation = "list_policies"
    list_key = "Policies"
    list_params = {"Scope": "Local"}
    id_template = "{PolicyName}"
    name_template = "{PolicyName}"
    details = (
        Detail(
            "get_policy_version",
            {"PolicyArn": Ref("Arn"), "VersionId": Ref("DefaultVersionId")},
            "Document",
            "PolicyVersion.Document",
        ),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["Document"] = policy_document(item.get("Document"))
        return item


@resource_types.register("aws.iam.password-policy")
class IamPasswordPolicy(_IamResource):
    """One pseudo-resource per account. Without a policy the document has no `PasswordPolicy`,
    so the password policies fail rather than find nothing to check."""

    list_operation = "get_account_password_policy"
    singleton = True
    paging = None
    page_size_param = None
    missing_codes = ("NoSuchEntity",)
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:iam::{account}:account-password-policy"
    arn_prefix = None


@resource_types.register("aws.iam.account-summary")
class IamAccountSummary(_IamResource):
    """One pseudo-resource per account: the root user's MFA and access keys, among other counts."""

    list_operation = "get_account_summary"
    singleton = True
    paging = None
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn = "arn:aws:iam::{account}:root"
    arn_prefix = None
