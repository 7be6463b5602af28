"""Cloud credentials encrypted at rest with Fernet; several keys allow rotation without downtime."""

from __future__ import annotations

import json
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class CredentialsError(ValueError):
    """Stored credentials cannot be decrypted with any configured key."""


class CredentialVault:
    """Encrypts with the first key, decrypts with any of them (newest first)."""

    def __init__(self, keys: Sequence[str]):
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except (ValueError, TypeError) as exc:
            raise CredentialsError("POLICYCORTEX_SECRET_KEYS holds an invalid Fernet key") from exc

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, credentials: dict) -> bytes:
        return self._fernet.encrypt(json.dumps(credentials, sort_keys=True).encode())

    def decrypt(self, token: bytes | None) -> dict:
        if not token:
            return {}
        try:
            return json.loads(self._fernet.decrypt(bytes(token)))
        except InvalidToken as exc:
            raise CredentialsError("credentials cannot be decrypted with the configured keys") from exc

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt a token under the newest key."""
        return self._fernet.rotate(bytes(token))
