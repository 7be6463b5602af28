"""Separation of duties in a project's IAM policy: principals that hold both halves of a pair of
roles CIS asks to keep apart (service account admin and user; KMS admin and key user)."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import PROJECT_ASSET_TYPE, GcpIamPolicy

# Derived field -> (roles on one side, roles on the other): CIS Google Cloud Platform Foundation 1.8 and 1.11.
DUTY_PAIRS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "serviceAccountAdminAndUser": (
        frozenset({"roles/iam.serviceAccountAdmin"}),
        frozenset({"roles/iam.serviceAccountUser"}),
    ),
    "kmsAdminAndKeyUser": (
        frozenset({"roles/cloudkms.admin"}),
        frozenset(
            {
                "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                "roles/cloudkms.cryptoKeyEncrypter",
                "roles/cloudkms.cryptoKeyDecrypter",
            }
        ),
    ),
}


def _members_with(bindings: list, roles: frozenset[str]) -> set[str]:
    # A conditional binding still grants the role (under its condition): it counts.
    return {
        member
        for binding in bindings
        if isinstance(binding, dict) and binding.get("role") in roles
        for member in binding.get("members") or []
        if isinstance(member, str)
    }


def duty_conflicts(policy: dict) -> dict[str, list[str]]:
    """Derived field -> the principals holding roles from both sides of its pair, sorted."""
    bindings = policy.get("bindings") if isinstance(policy.get("bindings"), list) else []
    return {
        field: sorted(_members_with(bindings, one) & _members_with(bindings, other))
        for field, (one, other) in DUTY_PAIRS.items()
    }


@resource_types.register("gcp.resourcemanager.project-duty-separation")
class ProjectDutySeparation(GcpIamPolicy):
    """The project's IAM policy with `dutyConflicts` (DUTY_PAIRS) derived; the policy itself is
    gcp.resourcemanager.project-iam-policy."""

    asset_type = PROJECT_ASSET_TYPE

    @classmethod
    def uid(cls, asset_name: str) -> str:
        # The same asset gives the project's row and its IAM policy's row: this one needs its own.
        return f"{asset_name}#dutySeparation"

    @classmethod
    def normalise(cls, document: dict) -> dict:
        document["dutyConflicts"] = duty_conflicts(document)
        return document

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str | None) -> str:
        return project or asset_name.rsplit("/", 1)[-1]
