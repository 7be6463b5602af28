"""The operator CLI against the real database: tenants and API keys."""

from __future__ import annotations

import os

from click.testing import CliRunner

from shared.apikeys import authenticate
from shared.cli import main


def run(settings, *args):
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "POLICYCORTEX_SECRET_KEYS": ",".join(settings.secret_keys),
    }
    return CliRunner().invoke(main, list(args), env={**os.environ, **env}, catch_exceptions=False)


def test_tenant_and_key_lifecycle(settings, database, svc):
    name = f"cli-{os.getpid()}-{id(run)}"
    assert run(settings, "tenant", "create", name, "--max-concurrent", "3").exit_code == 0
    created = run(settings, "apikey", "create", "--tenant", name, "--scope", "read", "--expires-in", "30")
    assert created.exit_code == 0
    key = created.stdout.strip()
    assert key.startswith("sk_live_")
    with svc.db.session() as session:
        principal = authenticate(session, key)
    assert principal.scopes == frozenset({"read"})
    listing = run(settings, "apikey", "list", "--tenant", name).stdout
    assert key[:12] in listing and key not in listing  # only the prefix is ever shown again
    key_id = listing.split()[0]
    assert run(settings, "apikey", "revoke", key_id).exit_code == 0
    with svc.db.session() as session:
        assert authenticate(session, key) is None
    assert "max_concurrent=3" in run(settings, "tenant", "list").stdout
    assert run(settings, "apikey", "create", "--tenant", "nobody-here").exit_code != 0
