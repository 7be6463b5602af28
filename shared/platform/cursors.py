"""Keyset cursors as callers see them: where a page ended, sealed with the vault (opaque: the
serial id inside tells nothing), and bound to what they page through (a scan, a tenant), so a
cursor of one list is refused by another."""

from __future__ import annotations

from shared.platform.crypto import CredentialsError, CredentialVault
from shared.platform.errors import InvalidRequest

PREFIX = "cur_"


def seal(vault: CredentialVault, scope: dict[str, str], after: int) -> str:
    return PREFIX + vault.encrypt({**scope, "after": after}).decode()


def unseal(vault: CredentialVault, scope: dict[str, str], value: str | None, refusal: str) -> int:
    """The id after which the page starts (0 without a cursor); a cursor that is not one of this
    list's is a 400 saying `refusal`."""
    if not value:
        return 0
    try:
        sealed = vault.decrypt(value.removeprefix(PREFIX).encode()) if value.startswith(PREFIX) else {}
    except (CredentialsError, ValueError):
        sealed = {}
    if any(sealed.get(key) != wanted for key, wanted in scope.items()) or not isinstance(sealed.get("after"), int):
        raise InvalidRequest(details=[{"field": "cursor", "message": refusal}])
    return sealed["after"]
