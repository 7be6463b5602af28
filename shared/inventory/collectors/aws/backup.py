"""AWS Backup: vaults with their access policy and lock, and backup plans with their rules."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.aws.shaping import policy_document
from shared.inventory.collectors.base import resource_types

probe("backup:ListBackupVaults", "backup", "list_backup_vaults", {"MaxResults": 1})


class _BackupResource(AwsResource):
    service = "backup"
    page_size_limits = (1, 1000)


@resource_types.register("aws.backup.vault")
class BackupVault(_BackupResource):
    """The listing carries the KMS key and the Vault Lock state; `Policy` is the vault's access
    policy, parsed, absent when it has none."""

    list_operation = "list_backup_vaults"
    list_key = "BackupVaultList"
    id_template = "{BackupVaultName}"
    name_template = "{BackupVaultName}"
    arn = "{BackupVaultArn}"
    arn_prefix = "arn:aws:backup:"
    details = (
        Detail(
            "get_backup_vault_access_policy",
            {"BackupVaultName": Ref("BackupVaultName")},
            "Policy",
            "Policy",
            missing_codes=("ResourceNotFoundException",),  # no access policy
        ),
        Detail("list_tags", {"ResourceArn": Ref("BackupVaultArn")}, "Tags", "Tags"),
    )
    volatile = ("NumberOfRecoveryPoints", "VaultState")

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        if "Policy" in item:
            item["Policy"] = policy_document(item["Policy"])
        return item


@resource_types.register("aws.backup.plan")
class BackupPlan(_BackupResource):
    """Plans with their rules: `BackupPlan` is GetBackupPlan's plan (name, rules, lifecycles)."""

    list_operation = "list_backup_plans"
    list_key = "BackupPlansList"
    id_template = "{BackupPlanId}"
    name_template = "{BackupPlanName}"
    arn = "{BackupPlanArn}"
    arn_prefix = "arn:aws:backup:"
    details = (
        Detail("get_backup_plan", {"BackupPlanId": Ref("BackupPlanId")}, "BackupPlan", "BackupPlan"),
        Detail("list_tags", {"ResourceArn": Ref("BackupPlanArn")}, "Tags", "Tags"),
    )
    volatile = ("LastExecutionDate", "VersionId")
