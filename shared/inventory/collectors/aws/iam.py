"""IAM: users, groups, roles (with their inline policy documents and attached policies), customer
managed policies, server certificates, and the account-level pseudo-resources: password policy,
account summary, credential report and who holds the AWSSupportAccess and AWSCloudShellFullAccess
policies."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from shared.inventory.collectors.aws.declare import THROTTLING_CODES, AwsResource, Detail, Ref, probe
from shared.inventory.collectors.aws.shaping import days_since, moment, policy_document
from shared.inventory.collectors.base import resource_types

probe("iam:GetAccountSummary", "iam", "get_account_summary")

ROOT_ROW = "<root_account>"  # the credential report's line for the root user


class _IamResource(AwsResource):
    service = "iam"
    global_service = True
    paging = ("Marker", "Marker")
    page_size_param = "MaxItems"
    page_size_limits = (1, 1000)
    arn = "{Arn}"
    arn_prefix = "arn:aws:iam::"


def _inline_policies(kind: str, name_field: str) -> tuple[Detail, Detail]:
    """The inline policies of a user, group or role as [{PolicyName, PolicyDocument}]: their names,
    then each one's document."""
    return (
        Detail(
            f"list_{kind}_policies", {name_field: Ref(name_field)}, "InlinePolicies", "PolicyNames", wrap="PolicyName"
        ),
        Detail(
            f"get_{kind}_policy",
            {name_field: Ref(name_field), "PolicyName": Ref("PolicyName")},
            "PolicyDocument",
            "PolicyDocument",
            each="InlinePolicies",
        ),
    )


def _shape_inline_policies(item: dict) -> None:
    for inline in item.get("InlinePolicies") or []:
        inline["PolicyDocument"] = policy_document(inline.get("PolicyDocument"))


def _account_of(principal: str) -> str | None:
    """The account an AWS principal belongs to: a bare account id or the one in its ARN; None for
    "*" and for unique ids (what a trust policy shows once the principal it named is deleted)."""
    if principal.isdigit() and len(principal) == 12:
        return principal
    parts = principal.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[4].isdigit():
        return parts[4]
    return None


def _condition_entries(condition: Any) -> list[dict]:
    """A statement's Condition block as a list of {Operator, Key, Values}: keys in lower case (IAM
    compares them case-insensitively), values always a list."""
    entries = []
    if not isinstance(condition, dict):
        return entries
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            continue
        for key, values in tests.items():
            values = values if isinstance(values, list) else [values]
            entries.append({"Operator": operator, "Key": str(key).lower(), "Values": [str(v) for v in values]})
    return entries


def _shape_trust_policy(document: Any, own_account: str | None) -> Any:
    """The trust policy with, on each statement, ExternalAccounts (the accounts other than the
    role's own whose principals it names) and ConditionEntries."""
    document = policy_document(document)
    for statement in document.get("Statement", []) if isinstance(document, dict) else []:
        principal = statement.get("Principal")
        aws = principal.get("AWS", []) if isinstance(principal, dict) else []
        accounts = {_account_of(str(p)) for p in (aws if isinstance(aws, list) else [aws])}
        statement["ExternalAccounts"] = sorted(a for a in accounts if a and a != own_account)
        statement["ConditionEntries"] = _condition_entries(statement.get("Condition"))
    return document


@resource_types.register("aws.iam.user")
class IamUser(_IamResource):
    list_operation = "list_users"
    list_key = "Users"
    id_template = "{UserName}"
    name_template = "{UserName}"
    details = (
        Detail("list_mfa_devices", {"UserName": Ref("UserName")}, "MFADevices", "MFADevices"),
        Detail("list_access_keys", {"UserName": Ref("UserName")}, "AccessKeys", "AccessKeyMetadata"),
        Detail("get_login_profile", {"UserName": Ref("UserName")}, "LoginProfile", "LoginProfile", ("NoSuchEntity",)),
        Detail("list_attached_user_policies", {"UserName": Ref("UserName")}, "AttachedPolicies", "AttachedPolicies"),
        *_inline_policies("user", "UserName"),
        Detail(
            "get_access_key_last_used",
            {"AccessKeyId": Ref("AccessKeyId")},
            "LastUsed",
            "AccessKeyLastUsed",
            each="AccessKeys",
        ),
        Detail("list_user_tags", {"UserName": Ref("UserName")}, "Tags", "Tags", after=True),
    )
    # Clocks, not configuration: when the password and each key were last used, and the ages in
    # days derived from them and from the keys' creation.
    volatile = (
        "PasswordLastUsed",
        "DaysSincePasswordUse",
        "AccessKeys.*.LastUsed",
        "AccessKeys.*.AgeDays",
        "AccessKeys.*.DaysSinceLastUse",
    )
    # Ages are counted from today: incremental scans evaluate it every time (shared.scans.runner).
    clock_dependent = True

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
        if item["HasConsolePassword"]:
            # A password never used has been unused since it was set (the login profile's creation).
            last_sign_in = item.get("PasswordLastUsed") or item["LoginProfile"].get("CreateDate")
            item["DaysSincePasswordUse"] = days_since(last_sign_in, now)
        _shape_inline_policies(item)
        item["InlinePolicyNames"] = [p.get("PolicyName") for p in item.get("InlinePolicies") or []]
        return item


@resource_types.register("aws.iam.group")
class IamGroup(_IamResource):
    """Groups with their members, inline policy documents and attached managed policies."""

    list_operation = "list_groups"
    list_key = "Groups"
    id_template = "{GroupName}"
    name_template = "{GroupName}"
    details = (
        Detail("get_group", {"GroupName": Ref("GroupName"), "MaxItems": 1000}, "Users", "Users"),
        Detail("list_attached_group_policies", {"GroupName": Ref("GroupName")}, "AttachedPolicies", "AttachedPolicies"),
        *_inline_policies("group", "GroupName"),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        _shape_inline_policies(item)
        return item


def _not_service_linked(item: dict) -> bool:
    # Service-linked roles carry only AWS-managed permissions nobody in the account can change.
    return not str(item.get("Path", "")).startswith("/aws-service-role/")


@resource_types.register("aws.iam.role")
class IamRole(_IamResource):
    list_operation = "list_roles"
    list_key = "Roles"
    id_template = "{RoleName}"
    name_template = "{RoleName}"
    details = (
        Detail(
            "list_attached_role_policies",
            {"RoleName": Ref("RoleName")},
            "AttachedPolicies",
            "AttachedPolicies",
            when=_not_service_linked,
        ),
        Detail(
            "list_role_policies",
            {"RoleName": Ref("RoleName")},
            "InlinePolicies",
            "PolicyNames",
            wrap="PolicyName",
            when=_not_service_linked,
        ),
        Detail(
            "get_role_policy",
            {"RoleName": Ref("RoleName"), "PolicyName": Ref("PolicyName")},
            "PolicyDocument",
            "PolicyDocument",
            each="InlinePolicies",
            when=_not_service_linked,
        ),
        Detail("list_role_tags", {"RoleName": Ref("RoleName")}, "Tags", "Tags", after=True),
    )
    volatile = ("RoleLastUsed",)

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        arn = str(item.get("Arn", "")).split(":")
        own_account = arn[4] if len(arn) > 4 else None
        item["AssumeRolePolicyDocument"] = _shape_trust_policy(item.get("AssumeRolePolicyDocument"), own_account)
        _shape_inline_policies(item)
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
        Detail("list_policy_tags", {"PolicyArn": Ref("Arn")}, "Tags", "Tags"),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["Document"] = policy_document(item.get("Document"))
        return item


@resource_types.register("aws.iam.server-certificate")
class IamServerCertificate(_IamResource):
    """SSL/TLS certificates uploaded to IAM (for load balancers and CloudFront where ACM is not used)."""

    list_operation = "list_server_certificates"
    list_key = "ServerCertificateMetadataList"
    id_template = "{ServerCertificateName}"
    name_template = "{ServerCertificateName}"
    volatile = ("DaysToExpiration",)  # a count from today, not configuration
    # Ages are counted from today: incremental scans evaluate it every time (shared.scans.runner).
    clock_dependent = True

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        expiration = moment(item.get("Expiration"))
        if expiration is not None:
            # Negative once expired: whole days left before (or since) the certificate's NotAfter.
            item["DaysToExpiration"] = (expiration - now).days
        return item


class _IamAccountResource(_IamResource):
    singleton = True
    paging = None
    page_size_param = None
    id_template = "{account}"
    name_template = "{account}"
    arn_prefix = None


@resource_types.register("aws.iam.password-policy")
class IamPasswordPolicy(_IamAccountResource):
    """One pseudo-resource per account. Without a policy the document has no `PasswordPolicy`,
    so the password policies fail rather than find nothing to check."""

    list_operation = "get_account_password_policy"
    missing_codes = ("NoSuchEntity",)
    arn = "arn:aws:iam::{account}:account-password-policy"


@resource_types.register("aws.iam.account-summary")
class IamAccountSummary(_IamAccountResource):
    """One pseudo-resource per account: the root user's MFA and access keys, among other counts,
    and the assigned virtual MFA devices (to tell a root virtual device from a hardware one)."""

    list_operation = "get_account_summary"
    arn = "arn:aws:iam::{account}:root"
    details = (
        Detail(
            "list_virtual_mfa_devices",
            {"AssignmentStatus": "Assigned", "MaxItems": 1000},
            "VirtualMFADevices",
            "VirtualMFADevices",
        ),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        # Only what tells whose device it is: never a seed or QR code (moto returns them; AWS does
        # only when a device is created).
        item["VirtualMFADevices"] = [
            {key: device[key] for key in ("SerialNumber", "User", "EnableDate") if key in device}
            for device in item.get("VirtualMFADevices") or []
            if isinstance(device, dict)
        ]
        item["RootVirtualMFA"] = any(
            str((device.get("User") or {}).get("Arn", "")).endswith(":root")
            or str(device.get("SerialNumber", "")).endswith(":mfa/root-account-mfa-device")
            for device in item.get("VirtualMFADevices") or []
        )
        return item


@resource_types.register("aws.iam.credential-report")
class IamCredentialReport(_IamAccountResource):
    """One pseudo-resource per account: the credential report, generated first (a report less than
    four hours old is reused by IAM). Its CSV becomes `Root` (the root user's line) and `Users`
    (one object per IAM user, the report's column names as keys and its text values), and the
    root user's last use is derived from its password and access key columns."""

    list_operation = "get_credential_report"
    prepare_operation = "generate_credential_report"
    arn = "arn:aws:iam::{account}:credential-report"
    # The report is generated asynchronously: a read while it is being written is tried again.
    retryable_codes = (*THROTTLING_CODES, "ReportInProgress", "LimitExceeded")
    volatile = ("GeneratedTime",)
    # Ages are counted from today: incremental scans evaluate it every time (shared.scans.runner).
    clock_dependent = True

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        rows = list(csv.DictReader(io.StringIO(str(item.pop("Content", "") or ""))))
        item["Users"] = [row for row in rows if row.get("user") != ROOT_ROW]
        root = next((row for row in rows if row.get("user") == ROOT_ROW), None)
        if root is not None:
            item["Root"] = root
            # N/A, no_information and not_supported are not dates: they mean "never" or "unknown".
            uses = [
                used
                for column in ("password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date")
                if (used := moment(root.get(column))) is not None
            ]
            if uses:
                item["RootLastUsed"] = max(uses).isoformat()
                item["RootDaysSinceLastUse"] = days_since(item["RootLastUsed"], now)
        return item


class _AwsPolicyAttachments(_IamAccountResource):
    """One pseudo-resource per account: the users, groups and roles an AWS managed policy is
    attached to (up to 1,000 of each, more than any account gives one policy)."""

    list_operation = "list_entities_for_policy"


@resource_types.register("aws.iam.support-policy-attachments")
class IamSupportPolicyAttachments(_AwsPolicyAttachments):
    list_params = {"PolicyArn": "arn:aws:iam::aws:policy/AWSSupportAccess", "MaxItems": 1000}
    arn = "arn:aws:iam::{account}:policy-attachments/AWSSupportAccess"


@resource_types.register("aws.iam.cloudshell-policy-attachments")
class IamCloudShellPolicyAttachments(_AwsPolicyAttachments):
    list_params = {"PolicyArn": "arn:aws:iam::aws:policy/AWSCloudShellFullAccess", "MaxItems": 1000}
    arn = "arn:aws:iam::{account}:policy-attachments/AWSCloudShellFullAccess"
