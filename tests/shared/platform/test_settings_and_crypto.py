import pytest

from shared.platform.crypto import CredentialsError, CredentialVault
from shared.platform.settings import Settings, SettingsError

KEY = CredentialVault.generate_key()


def test_settings_from_env():
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://u@h/db",
            "REDIS_URL": "redis://h:1/2",
            "POLICYCORTEX_SECRET_KEYS": f"{KEY}, x",
            "POLICYCORTEX_MAX_CONCURRENT_SCANS": "3",
        }
    )
    assert settings.database_url == "postgresql://u@h/db" and settings.secret_keys == (KEY, "x")
    assert settings.default_max_concurrent == 3
    assert settings.visibility_timeout > settings.shard_time_limit


@pytest.mark.parametrize(
    "env",
    [
        {"POLICYCORTEX_SECRET_KEYS": KEY, "POLICYCORTEX_MAX_CONCURRENT_SCANS": "many"},
        {"POLICYCORTEX_SECRET_KEYS": KEY, "POLICYCORTEX_MAX_CONCURRENT_SCANS": "0"},
        {"POLICYCORTEX_SECRET_KEYS": KEY, "DATABASE_URL": "mysql://x"},
        {
            "POLICYCORTEX_SECRET_KEYS": KEY,
            "POLICYCORTEX_SHARD_SOFT_TIME_LIMIT": "99",
            "POLICYCORTEX_SHARD_TIME_LIMIT": "50",
        },
        {},
    ],
)
def test_bad_settings_fail_loudly(env):
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_vault_round_trip_and_rotation():
    old, new = CredentialVault.generate_key(), CredentialVault.generate_key()
    token = CredentialVault([old]).encrypt({"secret": "s"})
    rotated_vault = CredentialVault([new, old])
    assert rotated_vault.decrypt(token) == {"secret": "s"}
    rotated = rotated_vault.rotate(token)
    assert CredentialVault([new]).decrypt(rotated) == {"secret": "s"}
    with pytest.raises(CredentialsError):
        CredentialVault([new]).decrypt(token)
    with pytest.raises(CredentialsError):
        CredentialVault(["not-a-key"])


def test_models_and_migrations_agree(database):
    """Autogenerate finds nothing: every model change came with its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from shared.migrations.schema import Base

    engine = create_engine(database)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
