"""Authorization: role definitions (built-in and custom RBAC roles)."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.authorization.role-definition")
class RoleDefinition(AzureResource):
    """Rows of Resource Graph's AuthorizationResources table, the body of GET .../providers/
    Microsoft.Authorization/roleDefinitions/ID (2022-04-01): permissions and assignable scopes.
    properties.type tells a CustomRole from a BuiltInRole."""

    table = "AuthorizationResources"
    native_type = "microsoft.authorization/roledefinitions"
    volatile = ("properties.updatedOn",)
