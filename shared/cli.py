"""`policycortex`: the operator's command line (database, tenants, API keys) and the demo."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from shared.cli_scans import scans
from shared.settings import Settings, SettingsError


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _services():
    from shared.context import Services

    return Services(_settings())


@click.group()
def main() -> None:
    """PolicyCortex: cloud compliance scanning service."""


main.add_command(scans)


@main.command("secret-key")
def secret_key() -> None:
    """Print a new Fernet key for POLICYCORTEX_SECRET_KEYS."""
    from shared.crypto import CredentialVault

    click.echo(CredentialVault.generate_key())


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create the database if needed and migrate it to the latest schema."""
    from shared.migrations import upgrade

    upgrade(_settings().database_url, revision)
    click.echo(f"database at revision {revision}")


@main.group()
def tenant() -> None:
    """Tenants."""


@tenant.command("create")
@click.argument("name")
@click.option("--max-concurrent", type=click.IntRange(min=1), default=None)
@click.option("--max-queued", type=click.IntRange(min=0), default=None)
def tenant_create(name: str, max_concurrent: int | None, max_queued: int | None) -> None:
    from shared.tenants import create_tenant, tenant_by_name

    svc = _services()
    with svc.db.session() as session:
        if tenant_by_name(session, name):
            raise click.ClickException(f"tenant '{name}' exists")
        row = create_tenant(session, svc.settings, name, max_concurrent=max_concurrent, max_queued=max_queued)
        click.echo(f"{row.id}\t{row.name}\tmax_concurrent={row.max_concurrent}\tmax_queued={row.max_queued}")


@tenant.command("list")
def tenant_list() -> None:
    from shared.models import Tenant

    with _services().db.session() as session:
        for row in session.scalars(select(Tenant).order_by(Tenant.name)):
            click.echo(f"{row.id}\t{row.name}\tmax_concurrent={row.max_concurrent}\tmax_queued={row.max_queued}")


@main.group()
def apikey() -> None:
    """API keys (shown once, stored hashed)."""


@apikey.command("create")
@click.option("--tenant", "tenant_name", required=True, help="tenant name")
@click.option("--test", "test_mode", is_flag=True, help="an sk_test_ key instead of sk_live_")
@click.option("--name", default="", help="a label for listings")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["read", "write", "admin"]),
    default=("read", "write"),
    show_default=True,
)
@click.option("--create-tenant", is_flag=True, help="create the tenant when it does not exist")
@click.option("--expires-in", type=click.IntRange(min=1), default=None, help="days until the key stops working")
def apikey_create(
    tenant_name: str, test_mode: bool, name: str, scopes: tuple[str, ...], create_tenant: bool, expires_in: int | None
) -> None:
    """Create a key and print it once: it cannot be shown again."""
    from datetime import timedelta

    from shared.apikeys import create_key
    from shared.models import utcnow
    from shared.tenants import create_tenant as make_tenant
    from shared.tenants import tenant_by_name

    svc = _services()
    with svc.db.session() as session:
        row = tenant_by_name(session, tenant_name)
        if row is None and create_tenant:
            row = make_tenant(session, svc.settings, tenant_name)
        if row is None:
            raise click.ClickException(f"no tenant '{tenant_name}' (use --create-tenant)")
        expires_at = utcnow() + timedelta(days=expires_in) if expires_in else None
        key, plaintext = create_key(
            session, row, mode="test" if test_mode else "live", name=name, scopes=scopes, expires_at=expires_at
        )
    click.echo(plaintext)
    click.echo(f"created {key.id} for tenant {tenant_name}; store the key now, it is not shown again", err=True)


@apikey.command("list")
@click.option("--tenant", "tenant_name", required=True)
def apikey_list(tenant_name: str) -> None:
    from shared.models import ApiKey
    from shared.tenants import tenant_by_name

    with _services().db.session() as session:
        row = tenant_by_name(session, tenant_name)
        if row is None:
            raise click.ClickException(f"no tenant '{tenant_name}'")
        for key in session.scalars(select(ApiKey).where(ApiKey.tenant_id == row.id).order_by(ApiKey.created_at)):
            state = "revoked" if key.revoked_at else "active"
            click.echo(f"{key.id}\t{key.prefix}...\t{','.join(key.scopes)}\t{state}\t{key.name}")


@apikey.command("revoke")
@click.argument("key_id")
def apikey_revoke(key_id: str) -> None:
    from shared.apikeys import revoke_key

    with _services().db.session() as session:
        if not revoke_key(session, key_id):
            raise click.ClickException(f"no active key {key_id}")
    click.echo(f"revoked {key_id}")


@main.command()
@click.option("--keep-running", is_flag=True, help="leave the API, worker and moto server running")
def demo(keep_running: bool) -> None:
    """Run a real scan end to end through the REST API against a local moto estate."""
    from shared.demo import run_demo

    sys.exit(run_demo(_settings(), keep_running=keep_running))


if __name__ == "__main__":
    main()
